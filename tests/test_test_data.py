"""The tests' own files live in the repository: a fresh clone runs every test."""

from __future__ import annotations

import re
from pathlib import Path

from tests.conftest import WORD_MADE

TESTS = Path(__file__).resolve().parent
# A path to somewhere beside or above the checkout, where a fresh clone has nothing.
OUTSIDE = re.compile(r"""/work/|["']shared["']|/shared/""")


def test_no_test_reads_files_from_outside_the_checkout() -> None:
    """Protects a fresh clone: no test names a folder outside the repository (the Word-made
    forms once lived in a folder beside the checkout)."""
    found = [
        f"{path.relative_to(TESTS)}:{number}: {line.strip()}"
        for path in sorted(TESTS.rglob("*.py"))
        if path != Path(__file__).resolve()
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1)
        if OUTSIDE.search(line)
    ]
    assert not found, "\n".join(found)


def test_every_word_made_form_names_its_source_and_licence() -> None:
    """Each Word-made form in tests/data has its row in SOURCES.md, with a licence."""
    sources = (WORD_MADE / "SOURCES.md").read_text(encoding="utf-8")
    rows = {
        cells[0]: cells
        for line in sources.splitlines()
        if line.startswith("| ") and not line.startswith(("| file ", "| ---"))
        for cells in [[c.strip() for c in line.strip("|").split("|")]]
    }
    files = sorted(p.name for p in WORD_MADE.glob("*.docx"))
    assert len(files) == 10
    assert sorted(rows) == files
    for name, cells in rows.items():
        assert len(cells) == 5 and cells[3], f"{name}: no licence in SOURCES.md"
