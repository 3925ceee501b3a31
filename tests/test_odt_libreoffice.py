"""LibreOffice 25 fills a generated Word form like a person and saves it as .odt; the reader
returns exactly what was typed, and collect turns it into the right answers."""

from __future__ import annotations

import datetime as dt
import json
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from musforms.collect import collect
from musforms.docx.reader import read_docx
from musforms.docx.writer import write_docx
from musforms.formats import Issued
from musforms.formdata import make_form_data
from musforms.models import Agreement, Employee, FormData, QuestionSet, RawForm
from musforms.odt.reader import read_odt
from tests.clients.word import (
    fill_and_save_odt,
    fill_libreoffice,
    odt_strip_tags,
    odt_without_controls,
    stop_libreoffice,
)
from tests.conftest import DANISH, EVERY_TYPE, LONG, MULTILINE
from tests.trust_data import Round, make_round

pytestmark = [pytest.mark.realclient, pytest.mark.slow]

SCRIPTS = {
    "polish": "Zażółć gęślą jaźń — Łódź, Gdańsk",
    "cyrillic": "Съешь же ещё этих мягких французских булок, да выпей чаю",
    "greek": "Ξεσκεπάζω την ψυχοφθόρα βδελυγμία",
    "arabic": "نص حكيم له سر قاطع وذو شأن عظيم",
    "chinese": "我能吞下玻璃而不伤身体。",
}
# Spaces where ODF collapses them unless written as text:s: leading, doubled, after a break.
SPACES = "  to mellemrum foran,  to i midten\n efter et linjeskift\tog en tab  "
VERY_LONG = "\n".join([*SCRIPTS.values(), "", LONG, LONG[:700]])
assert len(VERY_LONG) > 2700

TYPED: dict[str, str | bool] = {
    "lykkedes": MULTILINE,
    "titel": DANISH,
    "arbejdsmaengde": "5",
    "fokus": "ledelse",
    "fokus_flere__faglig": True,
    "fokus_flere__balance": True,
    "kursus": True,
    "startdato": "2027-01-15",  # picked from the calendar
    "aftaler__1__what": LONG,
    "aftaler__1__owner": "Søren Ærø",
    "aftaler__1__due": "15-01-2027",  # typed by hand
    "aftaler__2__what": "Mentor — æøå ÆØÅ",
    "aftaler__3__what": SPACES,
    "aftaler__3__owner": SCRIPTS["arabic"],
    "prev_status__1": "done",
    "prev_comment__1": "Gennemført i foråret\nmed god hjælp",
    "prev_status__2": "dropped",
}


@pytest.fixture(scope="module", autouse=True)
def _libreoffice() -> Iterator[None]:
    """One soffice for the module, always stopped afterwards."""
    yield
    stop_libreoffice()


def _resolver(qs: QuestionSet):  # type: ignore[no-untyped-def]
    return lambda raw: Issued(qs, None, None)


@pytest.fixture(scope="module")
def form_data() -> FormData:
    """A form of every question type with two of last round's agreements, made once."""
    employee = Employee(
        id="1042",
        name="Søren Ærø",
        department="Økonomi",
        manager="Åse Østergård",
        meeting_date=dt.date(2027, 1, 14),
    )
    previous = [
        Agreement(what="Kursus i Excel", owner="Søren", due=dt.date(2026, 6, 1)),
        Agreement(what="Mentorordning", owner="Åse", due=None),
    ]
    return make_form_data(
        QuestionSet.model_validate(EVERY_TYPE),
        employee,
        key=b"k" * 32,
        cycle="2026",
        previous=previous,
    )


@pytest.fixture(scope="module")
def blank(tmp_path_factory: pytest.TempPathFactory, form_data: FormData) -> Path:
    path = tmp_path_factory.mktemp("odt") / "blank.docx"
    write_docx(form_data, path)
    return path


@pytest.fixture(scope="module")
def filled(blank: Path) -> Path:
    """The generated Word form, filled in LibreOffice and saved as .odt."""
    out = blank.with_name("filled.odt")
    fill_and_save_odt(blank, TYPED, out)
    return out


def _expected() -> dict[str, object]:
    expected: dict[str, object] = dict(TYPED)
    expected["fokus_flere__samarbejde"] = False
    for name in ("aftaler__2__owner", "aftaler__2__due", "aftaler__3__due", "prev_comment__2"):
        expected[name] = None
    return expected


def test_libreoffice_odt_is_an_odt_with_content_controls(filled: Path) -> None:
    """What is being read is what LibreOffice writes: an ODF text package whose answers are
    tagged loext:content-control elements and whose identity is a user-defined property."""
    with zipfile.ZipFile(filled) as zf:
        assert zf.infolist()[0].filename == "mimetype"
        assert zf.read("mimetype") == b"application/vnd.oasis.opendocument.text"
        content = zf.read("content.xml").decode("utf-8")
        meta = zf.read("meta.xml").decode("utf-8")
    assert 'loext:tag="lykkedes"' in content
    assert "loext:checkbox" in content and "loext:dropdown" in content
    assert 'meta:name="musforms_identity"' in meta


def test_libreoffice_odt_reads_back_exactly(filled: Path, form_data: FormData) -> None:
    """Every question type, æøå, Arabic, line breaks, tabs, runs of spaces and 2,000
    characters come back as typed, by tag; the identity and the prefilled values survive."""
    raw: RawForm = read_odt(filled, _resolver(form_data.question_set))
    assert raw.format == "odt"
    assert raw.read_by == "tags", raw.notes
    assert raw.token == form_data.token
    assert raw.form_code == form_data.form_code
    assert raw.application and raw.application.startswith("LibreOffice")
    assert raw.saved_at is not None
    for name, value in _expected().items():
        assert raw.fields[name] == value, name
    for name, value in form_data.prefill.items():
        assert raw.fields[name] == (value or None), name
    assert raw.fields["mf_identity"] == form_data.token


def test_odt_reads_as_the_docx_saved_from_the_same_typing(
    filled: Path, blank: Path, form_data: FormData
) -> None:
    """The same typing saved as .docx and as .odt gives the same fields, value for value."""
    docx = blank.with_name("filled.docx")
    fill_libreoffice(blank, docx, TYPED)
    resolve = _resolver(form_data.question_set)
    from_docx, from_odt = read_docx(docx, resolve), read_odt(filled, resolve)
    assert from_odt.fields == from_docx.fields
    assert (from_odt.token, from_odt.form_code) == (from_docx.token, from_docx.form_code)
    assert from_odt.read_by == from_docx.read_by == "tags"


def test_unfilled_odt_reads_as_placeholders(blank: Path, form_data: FormData) -> None:
    """A form saved as .odt with one answer typed: every other control reads as unanswered
    (None, unticked boxes False), not as its placeholder text."""
    out = blank.with_name("almost-empty.odt")
    fill_and_save_odt(blank, {"titel": "x"}, out)
    raw = read_odt(out, _resolver(form_data.question_set))
    assert raw.read_by == "tags"
    assert raw.fields["titel"] == "x"
    for name, value in raw.fields.items():
        if name.startswith("mf_") or name == "titel":
            continue
        expected = False if name.startswith(("fokus_flere__", "kursus")) else None
        assert value is expected, name


def test_odt_without_tags_reads_by_order(filled: Path, form_data: FormData, tmp_path: Path) -> None:
    """Controls that lost their tags are matched by position against the issued form."""
    copy_ = tmp_path / "untagged.odt"
    odt_strip_tags(filled, copy_)
    raw = read_odt(copy_, _resolver(form_data.question_set))
    assert raw.read_by == "order", raw.notes
    for name, value in _expected().items():
        assert raw.fields[name] == value, name


def test_odt_without_controls_reads_by_layout(
    filled: Path, form_data: FormData, tmp_path: Path
) -> None:
    """An .odt with no controls left (as a LibreOffice before 7.5 saves it) still yields the
    answers from the page layout, and the identity from the document properties."""
    copy_ = tmp_path / "plain.odt"
    odt_without_controls(filled, copy_)
    raw = read_odt(copy_, _resolver(form_data.question_set))
    assert raw.read_by == "layout"
    assert raw.token == form_data.token
    expected = _expected()
    expected["startdato"] = "15-01-2027"  # the date as shown; the picked value went with it
    for name, value in expected.items():
        assert raw.fields[name] == value, name


# --- collect, end to end -----------------------------------------------------------------------

FOREIGN: dict[str, str | bool] = {
    "lykkedes": VERY_LONG,
    "titel": SCRIPTS["polish"],
    "arbejdsmaengde": "1",
    "fokus": "faglig",
    "fokus_flere__samarbejde": True,
    "kursus": False,
    "startdato": "1.3.2027",
    "aftaler__1__what": SCRIPTS["chinese"],
    "aftaler__1__owner": SCRIPTS["cyrillic"],
    "aftaler__1__due": "2027-06-30",
    "aftaler__2__what": SCRIPTS["greek"],
    "prev_status__1": "in_progress",
    "prev_comment__1": SCRIPTS["greek"] + "\n" + SCRIPTS["arabic"],
}


@pytest.fixture(scope="module")
def collected(tmp_path_factory: pytest.TempPathFactory) -> tuple[Round, Path]:
    """A round whose forms carry last round's agreement; two employees return their Word
    form saved as .odt by LibreOffice, one of them named .docx; collect reads them."""
    root = tmp_path_factory.mktemp("round")
    r = make_round(root, key_file=root / "key")
    inbox = root / "returned" / "2026"
    inbox.mkdir(parents=True)
    fill_and_save_odt(r.form("1042", "docx"), TYPED_ROUND, inbox / "MUS Søren.odt")
    fill_and_save_odt(r.form("1043", "docx"), FOREIGN, inbox / "ida svar.docx")
    out = root / "results" / "2026"
    collect([inbox], r.forms, out, key_file=r.key_file, workers=1)
    return r, out


# The round's forms carry one agreement of last round.
TYPED_ROUND = {k: v for k, v in TYPED.items() if not k.endswith("__2")}


def _response(out: Path, employee_id: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(
        (out / "responses" / f"{employee_id}.json").read_text(encoding="utf-8")
    )
    return data


def test_collect_reads_odt_returns(collected: tuple[Round, Path]) -> None:
    """Both .odt returns are collected ok, read by tag, reported as odt, nobody missing,
    whatever the file is named."""
    _, out = collected
    report = json.loads((out / "report.json").read_text(encoding="utf-8"))
    files = {Path(f["file"]).name: f for f in report["files"]}
    for name in ("MUS Søren.odt", "ida svar.docx"):
        entry = files[name]
        assert entry["status"] == "ok", entry
        assert entry["format"] == "odt"
        assert entry["read_by"] == "tags"
        assert entry["problems"] == []
    assert files["MUS Søren.odt"]["employee_id"] == "1042"
    assert files["ida svar.docx"]["employee_id"] == "1043"
    assert report["returned"] == ["1042", "1043"]
    assert report["missing"] == []


def test_collect_odt_answers_are_exact(collected: tuple[Round, Path]) -> None:
    """The responses hold the typed answers in their JSON types: text with line breaks and
    spaces as typed, scale as a number, choices as ids, boxes as booleans, dates as ISO,
    agreements in order, last round's agreement with its status and comment."""
    _, out = collected
    soeren = _response(out, "1042")
    assert soeren["source"]["format"] == "odt"
    assert soeren["answers"] == {
        "lykkedes": MULTILINE,
        "titel": DANISH,
        "arbejdsmaengde": 5,
        "fokus": "ledelse",
        "fokus_flere": ["faglig", "balance"],
        "kursus": True,
        "startdato": "2027-01-15",
    }
    assert soeren["agreements"] == [
        {"what": LONG, "owner": "Søren Ærø", "due": "2027-01-15"},
        {"what": "Mentor — æøå ÆØÅ", "owner": None, "due": None},
        {"what": SPACES, "owner": SCRIPTS["arabic"], "due": None},
    ]
    assert soeren["previous_agreements"] == [
        {
            "what": "Kursus i Excel",
            "owner": "Søren",
            "due": "2026-03-01",
            "status": "done",
            "comment": "Gennemført i foråret\nmed god hjælp",
        }
    ]
    assert soeren["problems"] == []

    ida = _response(out, "1043")
    assert ida["employee"]["name"] == "Ida Holm"
    assert ida["answers"] == {
        "lykkedes": VERY_LONG,
        "titel": SCRIPTS["polish"],
        "arbejdsmaengde": 1,
        "fokus": "faglig",
        "fokus_flere": ["samarbejde"],
        "kursus": False,
        "startdato": "2027-03-01",
    }
    assert ida["agreements"] == [
        {"what": SCRIPTS["chinese"], "owner": SCRIPTS["cyrillic"], "due": "2027-06-30"},
        {"what": SCRIPTS["greek"], "owner": None, "due": None},
    ]
    assert ida["previous_agreements"][0]["status"] == "in_progress"
    assert ida["previous_agreements"][0]["comment"] == FOREIGN["prev_comment__1"]
    assert ida["problems"] == []
