"""Small rules of the wording of command output, kept in one place for the translations."""

from __future__ import annotations


def counted(n: int, one: str, many: str) -> str:
    """A count with its noun in the number it takes: ``1 form``, ``2 forms``, ``0 forms``.
    One call with both forms, so that a translation can take ngettext's place."""
    return f"{n} {one if n == 1 else many}"
