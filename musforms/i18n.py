"""The language of what the HR officer reads: command output, errors, help, the summary.

Every user-facing message goes through :func:`_` (or :func:`ngettext` for a count), with the
English text as the message id. The catalogues in ``musforms/locale`` give the Danish (the
default) and the English. Texts on the forms, the minutes and the report are the form's
language and live in ``texts.yaml``, not here.

Which language: English when the locale says English (the first of ``LANGUAGE``, ``LC_ALL``,
``LC_MESSAGES``, ``LANG`` that is set starts with ``en``) or when the organisation's
``default_language`` (``musforms.toml``) is ``en``; otherwise Danish. The command line finds
the settings before it prints anything (:func:`command_language`): ``--config FILE``; else
``musforms.toml`` beside the question set (``--questions``, ``-q``, or the file ``check`` and
``convert`` take); else ``config/musforms.toml`` in or above a folder the command is given;
else ``config/musforms.toml`` or ``musforms.toml`` in the current folder.
"""

from __future__ import annotations

import gettext as _gettext
import os
import re
import tomllib
from collections.abc import Iterable, Mapping
from pathlib import Path

DOMAIN = "musforms"
LOCALE_DIR = Path(__file__).parent / "locale"
LANGUAGES = ("da", "en")
DEFAULT = "da"
# The locale variables gettext itself looks at, in its order: the first one set counts.
LOCALE_VARIABLES = ("LANGUAGE", "LC_ALL", "LC_MESSAGES", "LANG")
SETTINGS_FILE = "musforms.toml"
# Options whose value is a musforms.toml, a question set (the settings beside it), or a
# folder of a round (config/musforms.toml in it or above it).
_CONFIG_OPTIONS = ("--config",)
_QUESTION_OPTIONS = ("--questions", "-q")
_FOLDER_OPTIONS = ("--forms", "--out", "-o", "--previous", "--remind", "--leaders")

_translation: _gettext.NullTranslations | None = None
_language: str | None = None


def set_language(lang: str) -> None:
    """Use the catalogue of ``lang`` ("da" or "en") from now on."""
    global _translation, _language
    _language = lang if lang in LANGUAGES else DEFAULT
    _translation = _gettext.translation(DOMAIN, LOCALE_DIR, languages=[_language], fallback=True)


def language() -> str:
    """The language messages are in now: as set, else as the locale says (Danish unless it
    says English)."""
    if _language is None:
        set_language(choose_language(None))
    assert _language is not None
    return _language


def _current() -> _gettext.NullTranslations:
    if _translation is None:
        language()
    assert _translation is not None
    return _translation


def _(message: str) -> str:
    """``message`` (English) in the HR officer's language."""
    return _current().gettext(message)


def ngettext(singular: str, plural: str, n: int) -> str:
    """The singular or plural of a message with a count, in the HR officer's language."""
    return _current().ngettext(singular, plural, n)


def Nn_(singular: str, plural: str) -> tuple[str, str]:
    """Marks a message with a count for the catalogues, its singular and plural; say it with
    :func:`ngettext` where it is shown."""
    return singular, plural


def N_(message: str) -> str:
    """Marks ``message`` for the catalogues where it is defined; translate it with :func:`_`
    where it is shown."""
    return message


def locale_language(environ: Mapping[str, str] | None = None) -> str | None:
    """ "en" or "da" as the locale variables say (the first one set), else None."""
    env = os.environ if environ is None else environ
    for name in LOCALE_VARIABLES:
        value = env.get(name, "")
        if value:
            # LANGUAGE may be a list (da:en); its first entry counts.
            first = value.split(":")[0].lower()
            for lang in LANGUAGES:
                if first == lang or first.startswith((lang + "_", lang + ".", lang + "-")):
                    return lang
            return None
    return None


def choose_language(settings_language: str | None, environ: Mapping[str, str] | None = None) -> str:
    """English when the locale or the organisation's default_language says English, else
    Danish."""
    if locale_language(environ) == "en" or settings_language == "en":
        return "en"
    return DEFAULT


def command_language(args: Iterable[str], cwd: Path | None = None) -> str:
    """The language of a command line's messages, decided before anything is printed: from
    the locale, and from the musforms.toml the command would use (see the module's
    docstring). A settings file that cannot be read counts as none here; the command
    itself says what is wrong with it."""
    return choose_language(_settings_language(find_command_settings(list(args), cwd)))


def find_command_settings(args: list[str], cwd: Path | None = None) -> Path | None:
    """The musforms.toml a command line points at, if any (see the module's docstring)."""
    here = Path.cwd() if cwd is None else cwd
    given = _option_values(args, _CONFIG_OPTIONS)
    if given:
        return here / given[0]
    command = next((a for a in args if not a.startswith("-")), "")
    questions = _option_values(args, _QUESTION_OPTIONS)
    if command in ("check", "convert"):
        questions += [a for a in args[args.index(command) + 1 :] if not a.startswith("-")][:1]
    for question_set in questions:
        beside = (here / question_set).parent / SETTINGS_FILE
        if beside.is_file():
            return beside
    folders = _option_values(args, _FOLDER_OPTIONS)
    if command:
        folders += [a for a in args[args.index(command) + 1 :] if not a.startswith("-")]
    for folder in folders:
        found = _config_above(here / folder)
        if found is not None:
            return found
    for candidate in (here / "config" / SETTINGS_FILE, here / SETTINGS_FILE):
        if candidate.is_file():
            return candidate
    return None


def _option_values(args: list[str], names: tuple[str, ...]) -> list[str]:
    values = []
    for i, arg in enumerate(args):
        if arg in names and i + 1 < len(args):
            values.append(args[i + 1])
        elif arg.startswith("--") and "=" in arg and arg.split("=", 1)[0] in names:
            values.append(arg.split("=", 1)[1])
    return values


def _config_above(path: Path) -> Path | None:
    """config/musforms.toml in ``path`` (a folder, or a file's folder) or the nearest folder
    above it."""
    try:
        folder = path.resolve()
        if not folder.is_dir():
            folder = folder.parent
        for candidate in (folder, *folder.parents):
            found = candidate / "config" / SETTINGS_FILE
            if found.is_file():
                return found
    except OSError:
        return None
    return None


def _settings_language(path: Path | None) -> str | None:
    if path is None:
        return None
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8-sig"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
        return None
    value = data.get("default_language")
    return value if isinstance(value, str) else None


_FIELD = re.compile(r"\{\{|\}\}|\{(\w+)(![rsa])?(?::[^{}]*)?\}")


def parse(msgid: str, text: str) -> dict[str, str] | None:
    """The values in ``text`` of the placeholders of ``msgid``, when ``text`` is that message
    as made in the current language (its translation, formatted), else None. A ``{x!r}``
    gives what stood in the quotes. For code that goes on from another's message (a model's
    validation error) without matching the words of one language."""
    template = _(msgid)
    pattern, position, named = "", 0, set()
    for m in _FIELD.finditer(template):
        pattern += re.escape(template[position : m.start()])
        position = m.end()
        token, name, conversion = m.group(0), m.group(1), m.group(2)
        if token in ("{{", "}}"):
            pattern += re.escape(token[0])
            continue
        group = f"(?P={name})" if name in named else f"(?P<{name}>.*?)"
        named.add(name)
        pattern += f"'{group}'" if conversion == "!r" else group
    pattern += re.escape(template[position:])
    found = re.fullmatch(pattern, text, re.DOTALL)
    return found.groupdict() if found else None
