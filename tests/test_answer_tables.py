"""A table put into an answer becomes text: a line per row, cells separated by tabs, in its
place among the answer's text; the response says so with the problem ``table_as_text``.

LibreOffice 25 does not let a table into a content control: Table > Insert Table with the
cursor in an answer splits the answer's paragraph there, puts the table after it and the rest
of the answer in a new paragraph, all outside the control. The LibreOffice tests do exactly
that (saved as .docx and .odt, the form written with the fast paths on and off). Word lets a
table into a rich-text control only, which it then saves as a block-level control holding
paragraphs and the table: that file is built here with lxml from a generated form, as Word
would save it, since Word does not run here.
"""

from __future__ import annotations

import json
import os
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from lxml import etree

from musforms.collect import collect
from musforms.docx.reader import TABLE_AS_TEXT, read_docx
from musforms.docx.writer import write_docx
from musforms.fastpath import ENV as FAST_PATHS
from musforms.formats import Issued
from musforms.formdata import make_form_data
from musforms.models import Employee, FormData, QuestionSet
from musforms.odt.reader import read_odt
from tests.clients.word import (
    fill_and_save_odt,
    fill_libreoffice,
    google_docs_copy,
    odt_without_controls,
    stop_libreoffice,
)
from tests.conftest import EVERY_TYPE
from tests.trust_data import Round, make_round

W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"

BEFORE = "Mit år i tal: "
AFTER = "og det gik fint — Ærø"
CELLS = [["Opgave", "Timer"], ["Budget æøå", "12"], ["Zażółć gęślą", "Съешь ещё"]]
TYPED: dict[str, object] = {
    "lykkedes": {
        "text": BEFORE + AFTER,
        "record": False,
        "edits": [{"at": len(BEFORE), "table": CELLS}],
    },
    "aftaler__1__what": {
        "text": "Kurser",
        "record": False,
        "edits": [{"at": len("Kurser"), "table": [["Excel", "Word"]]}],
    },
    "aftaler__1__owner": "Søren Ærø",
    "titel": "Fuldmægtig",
}
TABLE = "Opgave\tTimer\nBudget æøå\t12\nZażółć gęślą\tСъешь ещё"
VALUES = {
    "lykkedes": f"{BEFORE}\n{TABLE}\n{AFTER}",
    "aftaler__1__what": "Kurser\nExcel\tWord",
    "aftaler__1__owner": "Søren Ærø",
    "titel": "Fuldmægtig",
}


@pytest.fixture(scope="module", autouse=True)
def _libreoffice() -> Iterator[None]:
    yield
    stop_libreoffice()


@pytest.fixture(scope="module")
def form_data() -> FormData:
    employee = Employee(id="1042", name="Søren Ærø", department="Økonomi", manager="Åse")
    return make_form_data(
        QuestionSet.model_validate(EVERY_TYPE), employee, key=b"k" * 32, cycle="2026"
    )


def _resolver(qs: QuestionSet):  # type: ignore[no-untyped-def]
    return lambda raw: Issued(qs, None, None)


@pytest.fixture(scope="module", params=["1", "0"], ids=["fast-paths", "library"])
def with_tables(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, form_data: FormData
) -> tuple[Path, Path]:
    """The form (written with the fast paths on or off) with tables inserted into two answers
    in LibreOffice, saved as .docx and as .odt."""
    folder = tmp_path_factory.mktemp("tables")
    blank = folder / "blank.docx"
    before = os.environ.get(FAST_PATHS)
    os.environ[FAST_PATHS] = request.param
    try:
        write_docx(form_data, blank)
    finally:
        if before is None:
            del os.environ[FAST_PATHS]
        else:
            os.environ[FAST_PATHS] = before
    docx, odt = folder / "tables.docx", folder / "tables.odt"
    fill_libreoffice(blank, docx, TYPED)
    fill_and_save_odt(blank, TYPED, odt)
    return docx, odt


@pytest.mark.realclient
@pytest.mark.slow
def test_libreoffice_puts_the_table_outside_the_control(with_tables: tuple[Path, Path]) -> None:
    """What the reader is tested on: the table follows the answer's paragraph, not inside the
    control, and the rest of the answer is in a paragraph of its own."""
    with zipfile.ZipFile(with_tables[0]) as z:
        body = etree.fromstring(z.read("word/document.xml")).find(f"{W}body")
    assert body is not None
    (tag,) = [t for t in body.iter(f"{W}tag") if t.get(f"{W}val") == "lykkedes"]
    paragraph = tag.getparent().getparent().getparent()  # tag → sdtPr → sdt → p
    assert paragraph.tag == f"{W}p"
    table = paragraph.getnext()
    assert table.tag == f"{W}tbl"
    assert table.find(f".//{W}sdt") is None
    after = table.getnext()
    assert "".join(after.itertext()) == AFTER


@pytest.mark.realclient
@pytest.mark.slow
@pytest.mark.parametrize("fmt", ["docx", "odt"])
def test_libreoffice_table_reads_as_text(
    with_tables: tuple[Path, Path], form_data: FormData, fmt: str
) -> None:
    """The answers hold the text before the table, the table (rows by line, cells by tab) and
    the text after it, in that order; each answer with a table has a table_as_text problem
    naming its question."""
    path = with_tables[0] if fmt == "docx" else with_tables[1]
    reader = read_docx if fmt == "docx" else read_odt
    raw = reader(path, _resolver(form_data.question_set))
    assert raw.read_by == "tags", raw.notes
    for name, value in VALUES.items():
        assert raw.fields[name] == value, name
    assert [(p.code, p.question) for p in raw.problems] == [
        (TABLE_AS_TEXT, "lykkedes"),
        (TABLE_AS_TEXT, "aftaler"),
    ]
    assert "agreement 1 of 'aftaler'" in raw.problems[1].message


@pytest.mark.realclient
@pytest.mark.slow
@pytest.mark.parametrize("fmt", ["docx", "odt"])
def test_table_in_a_copy_without_controls_reads_as_text(
    with_tables: tuple[Path, Path], form_data: FormData, fmt: str, tmp_path: Path
) -> None:
    """The same files with every control gone (a Google Docs copy of the .docx, an .odt as a
    LibreOffice without content controls saves it) are read from the page layout: the text
    answer holds its table as text with the problem, and the table put into the agreement's
    cell does not push the row's other cells out of place."""
    if fmt == "docx":
        copy_ = tmp_path / "gdocs.docx"
        google_docs_copy(with_tables[0], copy_)
        raw = read_docx(copy_, _resolver(form_data.question_set))
    else:
        copy_ = tmp_path / "plain.odt"
        odt_without_controls(with_tables[1], copy_)
        raw = read_odt(copy_, _resolver(form_data.question_set))
    assert raw.read_by == "layout"
    assert raw.fields["lykkedes"] == VALUES["lykkedes"]
    assert raw.fields["titel"] == "Fuldmægtig"
    assert raw.fields["aftaler__1__owner"] == "Søren Ærø"
    what = raw.fields["aftaler__1__what"]
    assert isinstance(what, str) and what.startswith(VALUES["aftaler__1__what"])
    assert [(p.code, p.question) for p in raw.problems] == [(TABLE_AS_TEXT, "lykkedes")]


@pytest.fixture(scope="module")
def collected(tmp_path_factory: pytest.TempPathFactory) -> tuple[Round, Path]:
    root = tmp_path_factory.mktemp("round")
    r = make_round(root, previous=False, key_file=root / "key")
    inbox = root / "returned"
    inbox.mkdir()
    fill_libreoffice(r.form("1042", "docx"), inbox / "søren.docx", TYPED)
    out = root / "results"
    collect([inbox], r.forms, out, key_file=r.key_file, workers=1)
    return r, out


@pytest.mark.realclient
@pytest.mark.slow
def test_collect_reports_the_table(collected: tuple[Round, Path]) -> None:
    """The response and report.json carry the answers with the tables as text, and a
    table_as_text problem per answer that held one; the minutes print the table's text."""
    from docx import Document

    _, out = collected
    data = json.loads((out / "responses" / "1042.json").read_text(encoding="utf-8"))
    assert data["answers"]["lykkedes"] == VALUES["lykkedes"]
    assert data["agreements"][0]["what"] == VALUES["aftaler__1__what"]
    codes = [(p["code"], p["question"]) for p in data["problems"]]
    assert codes == [(TABLE_AS_TEXT, "lykkedes"), (TABLE_AS_TEXT, "aftaler")]
    report = json.loads((out / "report.json").read_text(encoding="utf-8"))
    (entry,) = report["files"]
    assert entry["status"] == "ok"
    assert [p["code"] for p in entry["problems"]] == [TABLE_AS_TEXT, TABLE_AS_TEXT]
    (draft,) = (out / "minutes").glob("1042-*.docx")
    text = "\n".join(p.text for p in Document(str(draft)).paragraphs)
    assert "Budget æøå\t12" in text


# --- As Word saves a rich-text control holding a table -------------------------------------


def _word_block_control(blank: Path, dst: Path) -> None:
    """The form with the 'lykkedes' answer as Word saves a rich-text control after a table
    was pasted into it: a block-level w:sdt (body child) holding a paragraph, the table and
    a paragraph."""
    with zipfile.ZipFile(blank) as zin, zipfile.ZipFile(dst, "w", zipfile.ZIP_DEFLATED) as zout:
        for info in zin.infolist():
            data = zin.read(info.filename)
            if info.filename == "word/document.xml":
                root = etree.fromstring(data)
                (tag,) = [t for t in root.iter(f"{W}tag") if t.get(f"{W}val") == "lykkedes"]
                pr = tag.getparent()
                old = pr.getparent()
                paragraph = old.getparent()
                for name in ("text", "showingPlcHdr"):
                    for el in pr.findall(f"{W}{name}"):
                        pr.remove(el)
                etree.SubElement(pr, f"{W}richText")
                content = old.find(f"{W}sdtContent")
                for child in list(content):
                    content.remove(child)
                wns = W[1:-1]
                content.append(etree.fromstring(_para(BEFORE.strip(), wns)))
                content.append(etree.fromstring(_table(CELLS, wns)))
                content.append(etree.fromstring(_para(AFTER, wns)))
                paragraph.addprevious(old)  # the control becomes a block of its own
                paragraph.getparent().remove(paragraph)
                data = etree.tostring(root, xml_declaration=True, encoding="UTF-8")
            zout.writestr(info, data)


def _para(text: str, ns: str) -> str:
    return f'<w:p xmlns:w="{ns}"><w:r><w:t xml:space="preserve">{text}</w:t></w:r></w:p>'


def _table(rows: list[list[str]], ns: str) -> str:
    cells = "".join(
        "<w:tr>"
        + "".join(f"<w:tc><w:p><w:r><w:t>{c}</w:t></w:r></w:p></w:tc>" for c in row)
        + "</w:tr>"
        for row in rows
    )
    return f'<w:tbl xmlns:w="{ns}"><w:tblPr/><w:tblGrid/>{cells}</w:tbl>'


def test_word_block_control_with_a_table_reads_as_text(tmp_path: Path, form_data: FormData) -> None:
    """A block-level rich-text control holding paragraphs and a table reads as the paragraphs
    and the table's rows in order, with the table_as_text problem."""
    blank = tmp_path / "blank.docx"
    write_docx(form_data, blank)
    word = tmp_path / "word.docx"
    _word_block_control(blank, word)
    raw = read_docx(word, _resolver(form_data.question_set))
    assert raw.read_by == "tags", raw.notes
    assert raw.fields["lykkedes"] == f"{BEFORE.strip()}\n{TABLE}\n{AFTER}"
    assert [(p.code, p.question) for p in raw.problems] == [(TABLE_AS_TEXT, "lykkedes")]


def test_answer_without_table_has_no_problem(tmp_path: Path, form_data: FormData) -> None:
    """A form with no table in any answer carries no table_as_text problem."""
    blank = tmp_path / "blank.docx"
    write_docx(form_data, blank)
    raw = read_docx(blank, _resolver(form_data.question_set))
    assert raw.problems == []
    assert raw.fields["lykkedes"] is None
