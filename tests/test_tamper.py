"""Tamper evidence end to end: a returned form whose identity, employee, round or prefilled part
was edited, or that was signed with another key or issued elsewhere, is rejected with a
reason; its answers reach no response, and the employee's earlier good return stays on record.

The edits are made the way they happen: pdf.js (Firefox) writes read-only fields without
complaint, LibreOffice lets a person type into a locked control, and by hand on the bytes.
"""

from __future__ import annotations

import json
import re
import shutil
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest

from musforms.collect import collect, load_report
from musforms.errors import KeyFileError
from musforms.generate import generate
from musforms.identity import load_key
from musforms.lock import LOCK_FILE
from musforms.pdf.reader import read_pdf
from tests.clients.pdf import fill_pdfium, fill_pdfjs
from tests.clients.word import fill_libreoffice
from tests.trust_data import (
    Round,
    answers,
    docx_edit,
    forge_token,
    make_round,
    pdf_set,
    pdf_token,
    write_config,
)

pytestmark = pytest.mark.realclient

GOOD = "GODT-SVAR-7Q"
PREFILL = r"prefilled part of the form .* was altered"
FORGED = r"does not verify: it was altered, or signed with another key"
SWAPPED = r"carries the identity of another employee's form \(issued to employee 1043\)"


@pytest.fixture(scope="module")
def round_(tmp_path_factory: pytest.TempPathFactory) -> Round:
    root = tmp_path_factory.mktemp("round")
    return make_round(root, key_file=root / "key")


@pytest.fixture(scope="module")
def good_results(round_: Round) -> Path:
    """Employee 1042's genuine return, collected before anything tampered arrives."""
    back = round_.root / "returned-good"
    back.mkdir()
    fill_pdfium(round_.form("1042", "pdf"), back / "søren.pdf", answers(GOOD))
    out = round_.root / "results-good"
    result = collect([back], round_.forms, out, key_file=round_.key_file)
    assert [e.status for e in result.report().files] == ["ok"]
    return out


def _contents(folder: Path) -> dict[Path, bytes]:
    """Every file's bytes, but the lock's note of who last held the folder."""
    files = sorted(p for p in folder.rglob("*") if p.is_file() and p.name != LOCK_FILE)
    return {p: p.read_bytes() for p in files}


def _texts(folder: Path) -> dict[str, str]:
    """Every file musforms wrote, as text (Word and Excel files unpacked)."""
    out: dict[str, str] = {}
    for path in sorted(folder.rglob("*")):
        if not path.is_file():
            continue
        data = path.read_bytes()
        if data.startswith(b"PK"):
            with zipfile.ZipFile(path) as zf:
                data = b"".join(zf.read(n) for n in zf.namelist())
        out[str(path.relative_to(folder))] = data.decode("utf-8", "replace")
    return out


# --- the edits: each writes the tampered return into ``dst`` and gives its marker --------------


def pdfjs_edits_name(r: Round, dst: Path, mark: str) -> None:
    """pdf.js fills the hidden read-only name field like any other."""
    fill_pdfjs(r.form("1042", "pdf"), dst, {**answers(mark), "mf_name": "Søren Snyd"})
    assert read_pdf(dst).fields["mf_name"] == "Søren Snyd"


def pdfjs_edits_last_years_agreement(r: Round, dst: Path, mark: str) -> None:
    fill_pdfjs(r.form("1042", "pdf"), dst, {**answers(mark), "mf_prev__1__what": "Intet aftalt"})
    assert read_pdf(dst).fields["mf_prev__1__what"] == "Intet aftalt"


def identity_of_colleague(r: Round, dst: Path, mark: str) -> None:
    """Ida's (genuine) identity put into Søren's filled form, in the field and the metadata."""
    filled = dst.with_suffix(".tmp")
    fill_pdfium(r.form("1042", "pdf"), filled, answers(mark))
    theirs = pdf_token(r.form("1043", "pdf"))
    pdf_set(filled, dst, fields={"mf_identity": theirs}, info=theirs)
    filled.unlink()


def round_edited(r: Round, dst: Path, mark: str) -> None:
    filled = dst.with_suffix(".tmp")
    fill_pdfium(r.form("1042", "pdf"), filled, answers(mark))
    forged = forge_token(pdf_token(filled), cycle="2027")
    pdf_set(filled, dst, fields={"mf_identity": forged}, info=forged)
    filled.unlink()


def employee_edited(r: Round, dst: Path, mark: str) -> None:
    filled = dst.with_suffix(".tmp")
    fill_pdfium(r.form("1042", "pdf"), filled, answers(mark))
    forged = forge_token(pdf_token(filled), employee_id="1043")
    pdf_set(filled, dst, fields={"mf_identity": forged}, info=forged)
    filled.unlink()


def metadata_edited(r: Round, dst: Path, mark: str) -> None:
    """The identity field emptied and the document metadata's identity edited."""
    filled = dst.with_suffix(".tmp")
    fill_pdfium(r.form("1042", "pdf"), filled, answers(mark))
    forged = forge_token(pdf_token(filled), employee_id="1043")
    pdf_set(filled, dst, drop_field=True, info=forged)
    filled.unlink()
    assert read_pdf(dst).token == forged


def signed_with_another_key(r: Round, dst: Path, mark: str) -> None:
    other = r.root / "other-key"
    forms = other / "forms"
    if not forms.exists():
        generate(r.questions, r.roster, forms, "2026", formats=["pdf"], key_file=other / "key")
    fill_pdfium(next(forms.glob("1042-*.pdf")), dst, answers(mark, previous=False))


def from_another_round(r: Round, dst: Path, mark: str) -> None:
    """A genuine form, signed with HR's key, but issued for round 2027."""
    forms = r.root / "forms-2027"
    if not forms.exists():
        generate(r.questions, r.roster, forms, "2027", formats=["pdf"], key_file=r.key_file)
    fill_pdfium(next(forms.glob("1042-*.pdf")), dst, answers(mark, previous=False))


def never_issued(r: Round, dst: Path, mark: str) -> None:
    """Genuinely signed for this round, but never issued into this forms folder."""
    other = r.root / "not-issued"
    if not other.exists():
        questions, roster = write_config(other, "id;name\r\n9999;Ukendt Person\r\n")
        generate(questions, roster, other / "forms", "2026", formats=["pdf"], key_file=r.key_file)
    fill_pdfium(next((other / "forms").glob("9999-*.pdf")), dst, answers(mark, previous=False))


def libreoffice_edits_locked_name(r: Round, dst: Path, mark: str) -> None:
    """LibreOffice lets a person type into the locked name control."""
    values: dict[str, str | bool] = {
        "lykkedes": f"{mark} lykkedes",
        "aftaler__1__what": f"{mark} aftale",
        "mf_name": "Søren Snyd",
    }
    fill_libreoffice(r.form("1042", "docx"), dst, values)


def word_previous_edited_by_hand(r: Round, dst: Path, mark: str) -> None:
    docx_edit(
        r.form("1042", "docx"),
        dst,
        controls={"titel": f"{mark} titel", "mf_prev__1__what": "Intet aftalt"},
    )


def word_identity_of_colleague(r: Round, dst: Path, mark: str) -> None:
    theirs = _docx_token(r.form("1043", "docx"))
    docx_edit(
        r.form("1042", "docx"),
        dst,
        controls={"titel": f"{mark} titel", "mf_identity": theirs},
        custom_token=theirs,
    )


def word_round_edited(r: Round, dst: Path, mark: str) -> None:
    forged = forge_token(_docx_token(r.form("1042", "docx")), cycle="2025")
    docx_edit(
        r.form("1042", "docx"),
        dst,
        controls={"titel": f"{mark} titel", "mf_identity": forged},
        custom_token=forged,
    )


def _docx_token(path: Path) -> str:
    from musforms.docx.reader import read_docx

    token = read_docx(path).token
    assert token
    return token


Edit = Callable[[Round, Path, str], None]
CASES: list[tuple[Edit, str, str]] = [
    (pdfjs_edits_name, "pdf", PREFILL),
    (pdfjs_edits_last_years_agreement, "pdf", PREFILL),
    (identity_of_colleague, "pdf", SWAPPED),
    (round_edited, "pdf", FORGED),
    (employee_edited, "pdf", FORGED),
    (metadata_edited, "pdf", FORGED),
    (signed_with_another_key, "pdf", FORGED),
    (from_another_round, "pdf", r"a form from round 2027, not 2026"),
    (never_issued, "pdf", r"not issued in this round"),
    (libreoffice_edits_locked_name, "docx", PREFILL),
    (word_previous_edited_by_hand, "docx", PREFILL),
    (word_identity_of_colleague, "docx", SWAPPED),
    (word_round_edited, "docx", FORGED),
]


@pytest.mark.parametrize(("edit", "fmt", "reason"), CASES, ids=[c[0].__name__ for c in CASES])
def test_tampered_return_is_rejected_and_merged_nowhere(
    edit: Edit, fmt: str, reason: str, round_: Round, good_results: Path, tmp_path: Path
) -> None:
    """Protects against a form edited (by a client or by hand) or issued elsewhere being taken
    as someone's answers: the file is 'rejected' with a reason, none of its text is in any
    response, the minutes or the follow-up list, and 1042's earlier good return stays. (The
    good return is read again beside it: a run in which no form verifies changes nothing,
    see test_a_run_where_no_form_verifies_changes_nothing.)"""
    mark = f"MANIPULERET-{edit.__name__}"
    inbox = tmp_path / "returned"
    inbox.mkdir()
    tampered = inbox / f"svar.{fmt}"
    edit(round_, tampered, mark)
    shutil.copy(round_.root / "returned-good" / "søren.pdf", inbox / "søren igen.pdf")
    out = shutil.copytree(good_results, tmp_path / "results")

    collect([inbox], round_.forms, out, key_file=round_.key_file)

    report = load_report(out)
    assert report is not None
    entry = next(e for e in report.files if e.file == str(tampered))
    assert entry.status == "rejected", entry
    assert entry.reason and re.search(reason, entry.reason), entry.reason
    for name, text in _texts(out).items():
        assert mark not in text, f"{mark} reached {name}"
    kept = json.loads((out / "responses" / "1042.json").read_text(encoding="utf-8"))
    assert kept["answers"]["titel"] == f"{GOOD} titel"
    assert kept["source"]["file"].endswith("søren.pdf")
    assert report.returned == ["1042"]


@pytest.mark.parametrize(
    "edit", [signed_with_another_key, round_edited], ids=["another_key", "round_edited"]
)
def test_a_run_where_no_form_verifies_changes_nothing(
    edit: Edit, round_: Round, good_results: Path, tmp_path: Path
) -> None:
    """Protects earlier results against a wrong key: when not one signed form read verifies
    (forms made with another key, or the key file swapped), collect stops with one line that
    names the key and --key-file, and every file in the results folder stays as it was."""
    inbox = tmp_path / "returned"
    inbox.mkdir()
    edit(round_, inbox / "svar.pdf", "MANIPULERET")
    # The good return read again too, but checked with another key: it no longer verifies.
    shutil.copy(round_.root / "returned-good" / "søren.pdf", inbox / "søren.pdf")
    out = shutil.copytree(good_results, tmp_path / "results")
    before = _contents(out)
    other_key = tmp_path / "other.key"
    load_key(other_key, create=True)

    with pytest.raises(KeyFileError, match="not one signed form verifies") as raised:
        collect([inbox], round_.forms, out, key_file=other_key)
    assert "--key-file" in str(raised.value) and "Nothing in" in str(raised.value)
    after = _contents(out)
    assert after == before
