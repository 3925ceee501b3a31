"""A PDF whose form fields are all there under other names comes back exactly.

Two real cases: a Word form filled in LibreOffice and exported to PDF with "Create PDF form"
(its fields are named ``Widget``, ``_2``… in document order, matched by the Word form's
control order), and a PDF form re-saved under other field names (matched by position to the
issued PDF form).
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pikepdf
import pytest

from musforms.collect import collect, response_path
from musforms.formats import Issued
from musforms.models import RawForm
from musforms.pdf.reader import read_pdf
from tests.clients.pdf import fill_pdfjs
from tests.clients.word import convert_to_pdf, fill_libreoffice, stop_libreoffice
from tests.test_contract import EXPECTED, FULL, SPARSE, TYPED, Round, issue_round

pytestmark = pytest.mark.realclient

ARABIC = "مرحبا بالعالم، هذه جملة عربية قصيرة"
# What the employee types: every question type, æøå, Polish, Cyrillic, 2,000+ characters,
# line breaks and blank lines, and an Arabic sentence.
VALUES = {**TYPED[FULL], "aftaler__3__owner": ARABIC}
# A paragraph the page wraps over several lines, then a blank line, then Greek and Cyrillic
# lines; and a Greek title.
WRAPPED = (
    "Et afsnit der er så langt, at siden bryder det over flere linjer, med æøå og ÆØÅ. " * 4
).strip() + "\n\nΚαλημέρα κόσμε, ελληνικά\nЗдравствуй, мир"
GREEK = "Λογιστής (Ελληνικά) — ŻÓŁW"


def expected() -> dict[str, Any]:
    out = copy.deepcopy(EXPECTED[FULL])
    out["agreements"][2]["owner"] = ARABIC
    return out


@pytest.fixture(scope="module")
def issued(tmp_path_factory: pytest.TempPathFactory) -> Round:
    return issue_round(tmp_path_factory.mktemp("renamed"))


@pytest.fixture(scope="module")
def word_exports(issued: Round) -> Iterator[dict[str, Path]]:
    """The Word form filled in LibreOffice, exported to PDF with and without form fields."""
    folder = issued.forms.parent / "word"
    folder.mkdir()
    filled = folder / "filled.docx"
    sparse = folder / "sparse.docx"
    wrapped = folder / "wrapped.docx"
    try:
        fill_libreoffice(issued.blanks[FULL]["docx"], filled, VALUES)
        fill_libreoffice(issued.blanks[SPARSE]["docx"], sparse, TYPED[SPARSE])
        fill_libreoffice(
            issued.blanks[FULL]["docx"], wrapped, {**VALUES, "lykkedes": WRAPPED, "titel": GREEK}
        )
    finally:
        stop_libreoffice()
    with_fields = convert_to_pdf(filled, folder / "with-fields", form_fields=True)
    plain = convert_to_pdf(filled, folder / "plain")
    plain_sparse = convert_to_pdf(sparse, folder / "plain-sparse")
    yield {
        "with_fields": with_fields,
        "plain": plain,
        "plain_sparse": plain_sparse,
        "plain_wrapped": convert_to_pdf(wrapped, folder / "plain-wrapped"),
    }


def _collected(
    issued: Round, path: Path, out: Path, employee: str = FULL
) -> tuple[dict[str, Any], dict[str, Any]]:
    collect([path], issued.forms, out, key_file=issued.key_file, workers=1)
    report = json.loads((out / "report.json").read_text(encoding="utf-8"))
    (entry,) = report["files"]
    response = json.loads(response_path(out, employee).read_text(encoding="utf-8"))
    return entry, response


def _assert_every_answer(response: dict[str, Any]) -> None:
    want = expected()
    assert response["answers"] == want["answers"]
    assert response["agreements"] == want["agreements"]
    assert response["previous_agreements"] == want["previous_agreements"]


def test_word_form_exported_with_form_fields(
    issued: Round, word_exports: dict[str, Path], tmp_path: Path
) -> None:
    """LibreOffice's PDF export of a filled Word form renames every field; each is matched to
    the Word form's control order, kind by kind, and every value comes back exactly; the
    identity (kept as the value of a renamed field) and the prefilled part verify."""
    pdf = word_exports["with_fields"]
    with pikepdf.open(pdf) as doc:  # what LibreOffice did: no musforms name left
        names = {str(a.get("/T")) for p in doc.pages for a in p.obj.get("/Annots") or []}
    assert "Widget" in names and not any(n.startswith("mf_") for n in names)
    entry, response = _collected(issued, pdf, tmp_path / "out")
    assert entry["status"] == "ok", entry
    assert entry["read_by"] == "fields-by-position"
    assert entry["employee_id"] == FULL
    assert [p["code"] for p in entry["problems"]] == ["reader_note"]
    _assert_every_answer(response)
    assert response["source"]["read_by"] == "fields-by-position"


def test_word_form_export_with_edited_prefill_is_rejected(
    issued: Round, word_exports: dict[str, Path], tmp_path: Path
) -> None:
    """The prefilled name in a renamed field is still checked: edited, the form is rejected."""
    edited = tmp_path / "edited.pdf"
    with pikepdf.open(word_exports["with_fields"]) as doc:
        for page in doc.pages:
            for annot in page.obj.get("/Annots") or []:
                if str(annot.get("/V")) == "Søren Ærø":
                    annot.V = pikepdf.String("Søren Ørsted")
        doc.save(edited)
    entry, _ = _collected_report(issued, edited, tmp_path / "out")
    assert entry["status"] == "rejected"
    assert "prefilled" in entry["reason"]


def _collected_report(issued: Round, path: Path, out: Path) -> tuple[dict[str, Any], Path]:
    collect([path], issued.forms, out, key_file=issued.key_file, workers=1)
    report = json.loads((out / "report.json").read_text(encoding="utf-8"))
    (entry,) = report["files"]
    return entry, out


def test_pdf_form_with_renamed_fields_is_matched_by_position(issued: Round, tmp_path: Path) -> None:
    """A PDF form filled in pdf.js, then saved by a tool that gave every field its own name,
    is matched widget by widget to the issued form by page, rectangle and kind (the hidden
    identity and prefilled fields by their order): every value exactly."""
    filled = tmp_path / "filled.pdf"
    fill_pdfjs(issued.blanks[FULL]["pdf"], filled, VALUES)
    renamed = tmp_path / "renamed.pdf"
    with pikepdf.open(filled) as doc:
        acro = doc.Root.AcroForm
        for i, field in enumerate(acro.Fields):
            field.T = pikepdf.String(f"Felt{i + 1}")
        doc.save(renamed)
    raw = read_pdf(renamed, _resolver(issued))
    assert raw.read_by == "fields-by-position"
    assert not any(name.startswith("Felt") for name in raw.fields)
    entry, response = _collected(issued, renamed, tmp_path / "out")
    assert entry["status"] == "ok", entry
    assert entry["read_by"] == "fields-by-position"
    _assert_every_answer(response)


def _resolver(issued: Round) -> Any:
    def resolve(raw: RawForm) -> Issued:
        return Issued(issued.question_set, "da", issued.blanks[FULL]["pdf"])

    return resolve


def _cells(response: dict[str, Any]) -> dict[str, Any]:
    """Every value of a response by where it is: each answer (a multiple choice by option),
    each agreement's and each of last year's agreements' cell."""
    out: dict[str, Any] = {}
    for question, value in response["answers"].items():
        if isinstance(value, list):
            for option in ("faglig", "samarbejde", "balance"):
                out[f"{question}__{option}"] = option in value
        else:
            out[question] = value
    for key in ("agreements", "previous_agreements"):
        for number, row in enumerate(response[key], start=1):
            for part, value in row.items():
                out[f"{key}__{number}__{part}"] = value
    return out


def test_word_form_exported_without_form_fields(
    issued: Round, word_exports: dict[str, Path], tmp_path: Path
) -> None:
    """Exported without form fields, the Word form keeps neither fields nor identity, and
    its layout is not the PDF form's: it is matched by its printed form code, and its pages
    are read by the Word form's layout (paragraphs, tables by their header row). At least
    90 % of the values come back exactly, none differently: every question type, æøå,
    Polish, Cyrillic, a multi-line answer, a 2,000-character agreement across a page break.
    What is not read (the Arabic owner, drawn in display order) is left empty, and a
    problem names it."""
    entry, response = _collected(issued, word_exports["plain"], tmp_path / "out")
    assert entry["status"] == "recovered", entry
    assert entry["read_by"] == "layout"
    assert entry["problems"][0]["code"] == "recovered"
    want = _cells(expected())
    got = _cells(response)
    assert set(got) <= set(want)
    got = {key: got.get(key) for key in want}  # an agreement not read at all: its cells None
    exact = [k for k in want if got[k] == want[k]]
    unread = [k for k in want if got[k] != want[k]]
    for key in unread:
        assert got[key] is None, f"{key}: read as {got[key]!r}, not {want[key]!r}"
    assert len(exact) >= 0.9 * len(want), unread
    for key in ("lykkedes", "titel", "arbejdsmaengde", "fokus", "kursus", "startdato"):
        assert key in exact, key
    assert "agreements__2__what" in exact and "agreements__2__owner" in exact  # Polish, Cyrillic
    assert "previous_agreements__2__comment" in exact
    # The one value not read: its problem names it and says to read it on the page.
    assert unread == ["agreements__3__owner"]
    messages = " ".join(p["message"] for p in entry["problems"])
    assert "aftaler__3__owner" in messages and "read it on the page" in messages


def test_word_form_exported_without_form_fields_little_answered(
    issued: Round, word_exports: dict[str, Path], tmp_path: Path
) -> None:
    """A little answered Word form exported the same way: the placeholders the pages show
    ("Skriv dit svar her", "Vælg", "dd-mm-åååå") are empty answers, the unticked box is
    False, last year's agreement has no status; every value exactly, nothing invented."""
    entry, response = _collected(
        issued, word_exports["plain_sparse"], tmp_path / "out", employee=SPARSE
    )
    assert entry["status"] == "recovered", entry
    assert entry["read_by"] == "layout"
    want = EXPECTED[SPARSE]
    assert response["answers"] == want["answers"]
    assert response["agreements"] == want["agreements"]
    assert response["previous_agreements"] == want["previous_agreements"]


def test_word_form_exported_without_form_fields_wrapped_paragraph(
    issued: Round, word_exports: dict[str, Path], tmp_path: Path
) -> None:
    """A paragraph wrapped over several printed lines is one line of the answer, the blank
    line typed after it one blank line; Greek and Cyrillic lines come back as typed."""
    entry, response = _collected(issued, word_exports["plain_wrapped"], tmp_path / "out")
    assert entry["status"] == "recovered", entry
    assert response["answers"]["lykkedes"] == WRAPPED
    assert response["answers"]["titel"] == GREEK
    want = {k: v for k, v in expected()["answers"].items() if k not in ("lykkedes", "titel")}
    assert {k: response["answers"][k] for k in want} == want
