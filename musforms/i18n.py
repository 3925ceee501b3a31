"""The language of what the HR officer reads: command output, errors, help, the summary.

Every user-facing message goes through :func:`_` (or :func:`ngettext` for a count), with the
English text as the message id. The catalogues in ``musforms/locale`` give the Danish (the
default) and the English. Texts on the forms, the minutes and the report are the form's
language and live in ``texts.yaml``, not here.
"""

from __future__ import annotations

import gettext as _gettext
from pathlib import Path

DOMAIN = "musforms"
LOCALE_DIR = Path(__file__).parent / "locale"

_translation: _gettext.NullTranslations = _gettext.NullTranslations()


def set_language(lang: str) -> None:
    """Use the catalogue of ``lang`` ("da" or "en") from now on."""
    global _translation
    _translation = _gettext.translation(DOMAIN, LOCALE_DIR, languages=[lang], fallback=True)


def _(message: str) -> str:
    """``message`` (English) in the HR officer's language."""
    return _translation.gettext(message)


def ngettext(singular: str, plural: str, n: int) -> str:
    """The singular or plural of a message with a count, in the HR officer's language."""
    return _translation.ngettext(singular, plural, n)


def N_(message: str) -> str:
    """Marks ``message`` for the catalogues where it is defined; translate it with :func:`_`
    where it is shown."""
    return message
