"""How the contract suite (tests/test_contract.py) gets a filled file of each format.

``FILLERS`` maps a format's name (``musforms.formats.Format.name``) to a function that fills
one employee's issued form in a real third-party client and saves the result to ``dst``:

    filler(blanks, dst, values)

``blanks`` holds the blank form written for the employee by every writable format, keyed by
format name (``blanks["pdf"]``, ``blanks["docx"]``); a format that writes forms fills its
own, a read-only format fills the one its files are made from. ``values`` maps field names
(DESIGN.md, "Field names inside the forms") to what a person enters: text (``\\n`` for a
line break) and dates as typed → str; checkbox → bool; radio group or drop-down → the export
value (scale number or option id) as str. ``dst`` has the format's own suffix.

Every registered format must have an entry here: the contract suite fails for a format
without one. A missing client fails too (each driver raises with how to install it); no
test is ever skipped for it, on CI or anywhere else.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path

from tests.clients.pdf import Values, fill_pdfjs
from tests.clients.word import fill_and_save_odt, fill_libreoffice

Filler = Callable[[Mapping[str, Path], Path, Values], None]


def fill_pdf(blanks: Mapping[str, Path], dst: Path, values: Values) -> None:
    """The PDF form filled in Firefox's viewer (pdf.js) and saved as Firefox saves it."""
    fill_pdfjs(blanks["pdf"], dst, values)


def fill_docx(blanks: Mapping[str, Path], dst: Path, values: Values) -> None:
    """The Word form filled in LibreOffice 25 by typing into its controls, saved as .docx."""
    fill_libreoffice(blanks["docx"], dst, values)


def fill_odt(blanks: Mapping[str, Path], dst: Path, values: Values) -> None:
    """The Word form (odt is read only: its files are Word forms saved as .odt) filled in
    LibreOffice 25 like fill_docx, saved as OpenDocument Text ("writer8")."""
    fill_and_save_odt(blanks["docx"], values, dst)


FILLERS: dict[str, Filler] = {
    "pdf": fill_pdf,
    "docx": fill_docx,
    "odt": fill_odt,
}
