"""Word forms edited with changes tracked: what was deleted or moved away is not part of the
answer, what was inserted or moved there is.

The LibreOffice tests fill a generated form in LibreOffice 25 with Edit > Track Changes >
Record on, save it as .docx and as .odt, and read or collect it; they run with the form written
both ways (``MUSFORMS_FAST_PATHS`` on and off). The others hold the reader to the tracked-change
markup Word writes (ECMA-376 Part 1 §17.13.5) that LibreOffice does not make: moves, deleted
paragraph marks, deleted table rows, a deleted legacy field result.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from lxml import etree

from musforms.collect import collect
from musforms.docx import _sdt as sdt
from musforms.docx.reader import read_docx
from musforms.docx.writer import write_docx
from musforms.fastpath import ENV as FAST_PATHS
from musforms.formats import Issued
from musforms.formdata import make_form_data
from musforms.models import Employee, FormData, QuestionSet
from musforms.odt.reader import read_odt
from tests.clients.word import fill_and_save_odt, fill_libreoffice, stop_libreoffice
from tests.conftest import EVERY_TYPE
from tests.trust_data import Round, make_round

W_NS = sdt.W_NS

# --- What LibreOffice is asked to do -----------------------------------------------------

ANSWER = "Første linje\tmed tab\nAnden linje: Zażółć gęślą jaźń\nТретья строка — Ξεσκεπάζω"
TAB = ANSWER.index("\t")
BREAK = ANSWER.index("\n")
WORD = ANSWER.index("Zażółć")
EDITED: dict[str, Any] = {
    "text": ANSWER,
    "edits": [
        {"at": TAB, "delete": 1},  # the tab
        {"at": BREAK, "delete": 1},  # the first line break
        {"at": WORD, "insert": "æøå "},
        {"at": len(ANSWER), "insert": " og mere på Ærø"},
    ],
}
# What the employee sees once the changes are accepted, written out by hand.
EDITED_VALUE = (
    "Første linjemed tabAnden linje: æøå Zażółć gęślą jaźń\n"
    "Третья строка — Ξεσκεπάζω og mere på Ærø"
)
# Typed with recording on from the start: the placeholder is a recorded deletion.
TITLE = {"text": "Fuldmægtig\tøkonomi", "record_typing": True}
# A long answer: the line break between its halves is deleted, a sentence inserted.
LONG_HALF = "Lang besvarelse om trivsel og udvikling på arbejdspladsen. " * 17
LONG = {
    "text": f"{LONG_HALF}\n{LONG_HALF}",
    "edits": [
        {"at": len(LONG_HALF), "delete": 1},
        {"at": 0, "insert": "Tilføjet: "},
    ],
}
LONG_VALUE = f"Tilføjet: {LONG_HALF}{LONG_HALF}"
TYPED: dict[str, object] = {
    "lykkedes": EDITED,
    "titel": TITLE,
    "aftaler__1__what": LONG,
    "aftaler__1__owner": "Søren Ærø",
    "aftaler__1__due": "15-01-2027",
}
VALUES = {
    "lykkedes": EDITED_VALUE,
    "titel": "Fuldmægtig\tøkonomi",
    "aftaler__1__what": LONG_VALUE,
    "aftaler__1__owner": "Søren Ærø",
    "aftaler__1__due": "15-01-2027",
}
assert len(LONG_VALUE) > 2000


@pytest.fixture(scope="module", autouse=True)
def _libreoffice() -> Iterator[None]:
    """One soffice for the module, always stopped afterwards."""
    yield
    stop_libreoffice()


@pytest.fixture(scope="module")
def form_data() -> FormData:
    employee = Employee(id="1042", name="Søren Ærø", department="Økonomi", manager="Åse")
    return make_form_data(
        QuestionSet.model_validate(EVERY_TYPE), employee, key=b"k" * 32, cycle="2026"
    )


@pytest.fixture(scope="module", params=["1", "0"], ids=["fast-paths", "library"])
def edited(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, form_data: FormData
) -> tuple[Path, Path]:
    """The form written with the fast paths on or off, edited in LibreOffice with changes
    recorded, saved as .docx and as .odt."""
    folder = tmp_path_factory.mktemp("tracked")
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
    docx, odt = folder / "edited.docx", folder / "edited.odt"
    fill_libreoffice(blank, docx, TYPED)
    fill_and_save_odt(blank, TYPED, odt)
    return docx, odt


def _resolver(qs: QuestionSet):  # type: ignore[no-untyped-def]
    return lambda raw: Issued(qs, None, None)


@pytest.mark.realclient
@pytest.mark.slow
def test_libreoffice_docx_has_recorded_changes(edited: tuple[Path, Path]) -> None:
    """The .docx really holds recorded deletions of a tab, a line break and the placeholder,
    and recorded insertions: the reader is tested on them, not on plain text."""
    import zipfile

    with zipfile.ZipFile(edited[0]) as z:
        root = etree.fromstring(z.read("word/document.xml"))
    deleted = root.findall(f".//{{{W_NS}}}del")
    kinds = {child.tag.split("}")[1] for d in deleted for r in d for child in r}
    assert {"tab", "br", "delText"} <= kinds, kinds
    inserted = "".join(t.text or "" for t in root.iterfind(f".//{{{W_NS}}}ins//{{{W_NS}}}t"))
    assert "æøå " in inserted and "Tilføjet: " in inserted and "Fuldmægtig" in inserted


@pytest.mark.realclient
@pytest.mark.slow
def test_libreoffice_tracked_docx_reads_as_accepted(
    edited: tuple[Path, Path], form_data: FormData
) -> None:
    """Deleted tabs, line breaks and placeholder text are gone; insertions are in."""
    raw = read_docx(edited[0], _resolver(form_data.question_set))
    assert raw.read_by == "tags", raw.notes
    for name, value in VALUES.items():
        assert raw.fields[name] == value, name


@pytest.mark.realclient
@pytest.mark.slow
def test_libreoffice_tracked_odt_reads_as_accepted(
    edited: tuple[Path, Path], form_data: FormData
) -> None:
    """The same edits saved as .odt read the same (the deletions wait in text:tracked-changes,
    outside the controls)."""
    raw = read_odt(edited[1], _resolver(form_data.question_set))
    assert raw.read_by == "tags", raw.notes
    for name, value in VALUES.items():
        assert raw.fields[name] == value, name


@pytest.fixture(scope="module")
def collected(tmp_path_factory: pytest.TempPathFactory) -> tuple[Round, Path]:
    """A round in which one employee returns the form edited with changes recorded, as
    .docx, and another as .odt; collect reads both."""
    root = tmp_path_factory.mktemp("round")
    r = make_round(root, previous=False, key_file=root / "key")
    inbox = root / "returned"
    inbox.mkdir()
    fill_libreoffice(r.form("1042", "docx"), inbox / "søren.docx", TYPED)
    fill_and_save_odt(r.form("1043", "docx"), TYPED, inbox / "ida.odt")
    out = root / "results"
    collect([inbox], r.forms, out, key_file=r.key_file, workers=1)
    return r, out


@pytest.mark.realclient
@pytest.mark.slow
@pytest.mark.parametrize("employee_id", ["1042", "1043"])
def test_collect_tracked_returns(collected: tuple[Round, Path], employee_id: str) -> None:
    """The responses hold the edited answers exactly, with no problem."""
    _, out = collected
    data = json.loads((out / "responses" / f"{employee_id}.json").read_text(encoding="utf-8"))
    assert data["answers"]["lykkedes"] == EDITED_VALUE
    assert data["answers"]["titel"] == "Fuldmægtig\tøkonomi"
    assert data["agreements"] == [
        {"what": LONG_VALUE, "owner": "Søren Ærø", "due": "2027-01-15"},
    ]
    assert data["problems"] == []


# --- Markup Word writes ------------------------------------------------------------------------


def _control(content: str) -> sdt.Control:
    xml = (
        f'<w:sdt xmlns:w="{W_NS}"><w:sdtPr><w:tag w:val="lykkedes"/><w:text w:multiLine="1"/>'
        f"</w:sdtPr><w:sdtContent>{content}</w:sdtContent></w:sdt>"
    )
    return sdt.control_from_sdt(etree.fromstring(xml))


DEL = '<w:del w:id="1" w:author="Åse" w:date="2027-01-10T10:00:00Z">'


def test_deleted_breaks_tabs_and_carriage_returns_are_skipped() -> None:
    """w:del holding w:delText, w:br, w:tab and w:cr adds nothing; w:ins adds its text."""
    ctl = _control(
        "<w:r><w:t>Første</w:t></w:r>"
        f"{DEL}<w:r><w:delText>slettet</w:delText><w:br/><w:tab/><w:cr/></w:r></w:del>"
        '<w:ins w:id="2" w:author="Åse" w:date="2027-01-10T10:00:00Z">'
        "<w:r><w:t xml:space='preserve'> indsat æøå</w:t><w:br/><w:t>ny linje</w:t></w:r></w:ins>"
    )
    assert ctl.value == "Første indsat æøå\nny linje"


def test_moved_text_counts_once_where_it_went() -> None:
    """w:moveFrom is skipped, w:moveTo kept: moved text appears once, at its new place."""
    ctl = _control(
        '<w:moveFrom w:id="3" w:author="Åse" w:date="2027-01-10T10:00:00Z">'
        "<w:r><w:t>flyttet</w:t><w:tab/></w:r></w:moveFrom>"
        "<w:r><w:t>Først </w:t></w:r>"
        '<w:moveTo w:id="4" w:author="Åse" w:date="2027-01-10T10:00:00Z">'
        "<w:r><w:t>flyttet</w:t></w:r></w:moveTo>"
    )
    assert ctl.value == "Først flyttet"


def test_deleted_paragraph_mark_joins_paragraphs() -> None:
    """A block-level answer whose paragraph mark was deleted reads as one line with the next
    paragraph; a kept mark still ends a line."""
    ctl = _control(
        f"<w:p><w:pPr><w:rPr>{DEL}</w:del></w:rPr></w:pPr><w:r><w:t>Et </w:t></w:r></w:p>"
        "<w:p><w:r><w:t>afsnit</w:t></w:r></w:p>"
        "<w:p><w:r><w:t>Næste</w:t></w:r></w:p>"
    )
    assert ctl.value == "Et afsnit\nNæste"


def test_deleted_table_row_is_gone() -> None:
    """A table row deleted with changes tracked (w:del in w:trPr) leaves none of its text."""
    ctl = _control(
        "<w:tbl>"
        "<w:tr><w:tc><w:p><w:r><w:t>beholdt</w:t></w:r></w:p></w:tc></w:tr>"
        f"<w:tr><w:trPr>{DEL}</w:del></w:trPr>"
        "<w:tc><w:p><w:r><w:t>slettet</w:t></w:r></w:p></w:tc></w:tr>"
        "</w:tbl>"
    )
    assert "slettet" not in ctl.text
    assert "beholdt" in ctl.text


def test_legacy_field_result_skips_deletions() -> None:
    """A Word 97 text field whose result was edited with changes tracked reads as edited."""
    xml = (
        f'<w:body xmlns:w="{W_NS}"><w:p>'
        '<w:r><w:fldChar w:fldCharType="begin"><w:ffData><w:name w:val="felt"/>'
        "<w:textInput/></w:ffData></w:fldChar></w:r>"
        '<w:r><w:instrText xml:space="preserve"> FORMTEXT </w:instrText></w:r>'
        '<w:r><w:fldChar w:fldCharType="separate"/></w:r>'
        "<w:r><w:t>Svar</w:t></w:r>"
        f"{DEL}<w:r><w:tab/><w:br/><w:delText>gammelt</w:delText></w:r></w:del>"
        '<w:r><w:fldChar w:fldCharType="end"/></w:r>'
        "</w:p></w:body>"
    )
    (ctl,) = sdt.parse_controls(etree.fromstring(xml))
    assert ctl.kind == "legacy_text"
    assert ctl.value == "Svar"


def test_date_typed_with_changes_recorded() -> None:
    """A date typed with changes recorded reads as its inserted text."""
    ctl = sdt.control_from_sdt(
        etree.fromstring(
            f'<w:sdt xmlns:w="{W_NS}"><w:sdtPr><w:tag w:val="startdato"/><w:date/></w:sdtPr>'
            f"<w:sdtContent>{DEL}<w:r><w:delText>Vælg en dato</w:delText></w:r></w:del>"
            '<w:ins w:id="5" w:author="Åse" w:date="2027-01-10T10:00:00Z">'
            "<w:r><w:t>15-01-2027</w:t></w:r></w:ins></w:sdtContent></w:sdt>"
        )
    )
    assert ctl.value == "15-01-2027"
