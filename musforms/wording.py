"""Small rules of the wording of command output, kept in one place for the translations."""

from __future__ import annotations

from musforms.i18n import ngettext


def counted(n: int, one: str, many: str) -> str:
    """A count with its noun in the number it takes: ``1 form``, ``2 forms``, ``0 forms``, in
    the HR officer's language. ``one`` and ``many`` are the English singular and plural; the
    catalogues take them as one ngettext message (``make translations`` extracts every
    ``counted()`` call)."""
    return f"{n} {ngettext(one, many, n)}"
