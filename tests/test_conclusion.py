"""The conclusion form, filled by real clients: collect issues one per returned preparation,
LibreOffice and pdf.js fill them as the leader and employee would, and collect reads them
back from the same folder as the preparations. The follow-up list (XLSX and CSV), the
calendar and next year's forms then hold the agreed agreements, row by row."""

from __future__ import annotations

import contextlib
import csv
import datetime as dt
import io
import json
import os
import re
import shutil
import subprocess
import time
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from icalendar import Calendar
from openpyxl import load_workbook
from pypdf import PdfReader

from musforms.cli import cli
from musforms.docx.reader import read_docx
from musforms.manifest import iter_manifest_forms, load_manifest
from musforms.models import Agreement
from tests.clients.pdf import fill_pdfjs
from tests.clients.word import fill_libreoffice, stop_libreoffice

pytestmark = [pytest.mark.realclient, pytest.mark.slow]

ROOT = Path(__file__).resolve().parent.parent
QUESTIONS = ROOT / "config" / "questions.yaml"
ROSTER = (
    "id;name;department;manager;meeting_date\n"
    "1042;Søren Ærø;Økonomi;Åse Østergård;14-01-2027\n"
    "1043;Mette Kjær;Økonomi;Åse Østergård;15-01-2027\n"
)
PREPARED = "Årsafslutningen kom i mål til tiden.\nOg vi fik ryddet op i bilagene — æøå."
# What 1042 proposed, and what 1043 proposed, in their preparations.
PREPARATIONS: dict[str, dict[str, object]] = {
    "1042": {
        "lykkedes": PREPARED,
        "trivsel": "4",
        "aftaler__1__what": "Kursus i Excel",
        "aftaler__1__owner": "Søren",
        "aftaler__1__due": "01-03-2027",
        "aftaler__2__what": "Mindre overarbejde",
        "aftaler__2__owner": "Åse",
    },
    "1043": {
        "lykkedes": "Budgetopfølgningen kører nu hver måned.",
        "aftaler__1__what": "Kursus i budgetlægning",
        "aftaler__1__owner": "Mette",
        "aftaler__1__due": "01-05-2027",
    },
}
CONCLUDED = (
    "Vi drøftede året, trivslen og arbejdsmængden.\nSøren går på kursus i foråret — æøå ÆØÅ."
)
# The leader and employee settle 1042's agreements: the first edited, the second deleted,
# one added; both tick their approval and date it (one typed, one picked).
CONCLUSION_1042: dict[str, object] = {
    "konklusion": CONCLUDED,
    "aftaler__1__what": "Kursus i Excel for øvede",
    "aftaler__2__what": "",
    "aftaler__2__owner": "",
    "aftaler__3__what": "Månedlig sparring med Åse",
    "aftaler__3__owner": "Åse Østergård",
    "aftaler__3__due": "2027-02-01",
    "godkendt_medarbejder": True,
    "dato_medarbejder": "20-01-2027",
    "godkendt_leder": True,
    "dato_leder": "2027-01-21",
}
AGREED_1042 = [
    ("Kursus i Excel for øvede", "Søren", "01-03-2027", "Aftalt 21-01-2027"),
    ("Månedlig sparring med Åse", "Åse Østergård", "01-02-2027", "Aftalt 21-01-2027"),
]
PROPOSED_1043 = [("Kursus i budgetlægning", "Mette", "01-05-2027", "Foreslået")]


@dataclass
class Round:
    root: Path
    key_file: Path
    forms: Path
    returned: Path
    results: Path

    def conclusion_form(self, eid: str, suffix: str = ".docx") -> Path:
        return next((self.results / "conclusions").glob(f"{eid}-*{suffix}"))

    def collect(self, **env: str) -> Result:
        """collect run in the round's folder, with the folders given as relative paths (as
        report.json names the files), so a copy of the round collects as the round does."""
        with contextlib.chdir(self.root):
            return self._collect(env)

    def _collect(self, env: dict[str, str]) -> Result:
        return CliRunner().invoke(
            cli,
            [
                "collect",
                "returned",
                "--forms",
                "forms",
                "--out",
                "results",
                "--key-file",
                str(self.key_file),
                "--conclusion-format",
                "pdf,docx",
            ],
            env=env or None,
        )


@pytest.fixture(scope="module", autouse=True)
def _libreoffice() -> Iterator[None]:
    yield
    stop_libreoffice()


@pytest.fixture(scope="module")
def prepared(tmp_path_factory: pytest.TempPathFactory) -> Round:
    """Two employees' preparations, filled in LibreOffice and collected: each gets a
    conclusion form (Word and PDF)."""
    root = tmp_path_factory.mktemp("conclusion")
    key_file = root / "key"
    roster = root / "roster.csv"
    roster.write_text(ROSTER, encoding="utf-8")
    forms = root / "forms"
    result = CliRunner().invoke(
        cli,
        [
            "generate",
            "--questions",
            str(QUESTIONS),
            "--roster",
            str(roster),
            "--cycle",
            "2026",
            "--out",
            str(forms),
            "--key-file",
            str(key_file),
            "--format",
            "docx",
        ],
    )
    assert result.exit_code == 0, result.output
    returned = root / "returned"
    returned.mkdir()
    for eid, values in PREPARATIONS.items():
        form = next(forms.glob(f"{eid}-*.docx"))
        fill_libreoffice(form, returned / f"forberedelse {eid}.docx", values)
    done = Round(root, key_file, forms, returned, root / "results")
    result = done.collect()
    assert result.exit_code == 0, result.output
    return done


@pytest.fixture
def round_(prepared: Round, tmp_path: Path) -> Round:
    """The prepared round, copied for one test."""
    copy = shutil.copytree(prepared.root, tmp_path / "round", symlinks=True)
    return Round(copy, copy / "key", copy / "forms", copy / "returned", copy / "results")


def _csv_rows(results: Path) -> list[tuple[str, ...]]:
    text = (results / "agreements.csv").read_text(encoding="utf-8-sig")
    rows = list(csv.reader(io.StringIO(text), delimiter=";"))
    assert rows[0][4:7] == ["Aftale", "Hvem", "Hvornår"] and rows[0][-1] == "Aftalt / foreslået"
    return [(r[0], r[4], r[5], r[6], r[-1]) for r in rows[1:]]


def _xlsx_rows(results: Path) -> list[tuple[Any, ...]]:
    ws = load_workbook(results / "agreements.xlsx").active
    assert ws is not None
    out = []
    for row in ws.iter_rows(min_row=2, values_only=True):
        due = row[6].strftime("%d-%m-%Y") if isinstance(row[6], dt.datetime) else row[6]
        out.append((row[0], row[4], row[5], due or "", row[11]))
    return out


def _events(results: Path) -> set[str]:
    cal = Calendar.from_ical((results / "followup.ics").read_bytes())
    return {
        str(ev["summary"])
        for ev in cal.walk("VEVENT")
        if str(ev["summary"]).startswith("MUS-aftale")
    }


def _conclusion_report(results: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((results / "conclusions" / "report.json").read_text())
    return data


def _later(path: Path) -> None:
    """Make sure the next file saved is saved at a later second than ``path``."""
    while int(time.time()) <= int(path.stat().st_mtime):
        time.sleep(0.1)


def test_collect_issues_a_conclusion_form_per_preparation(prepared: Round) -> None:
    """Each returned preparation gets a conclusion form in both formats: its identity says it
    concludes that employee's preparation form, it shows the preparation locked, and its
    agreements table starts with the employee's proposals."""
    folder = prepared.results / "conclusions"
    preparation_forms = {f.employee_id: f.form_id for f in iter_manifest_forms(prepared.forms)}
    issued = list(iter_manifest_forms(folder))
    assert [f.employee_id for f in issued] == ["1042", "1043"]
    assert load_manifest(folder).question_set.id == "mus-konklusion"
    word = prepared.conclusion_form("1042")
    raw = read_docx(word)
    from musforms.identity import peek

    assert raw.token is not None
    identity = peek(raw.token)
    assert (identity.kind, identity.of_form) == ("conclusion", preparation_forms["1042"])
    assert PREPARED in str(raw.fields["mf_preparation"])
    assert raw.fields["aftaler__1__what"] == "Kursus i Excel"
    assert raw.fields["aftaler__2__owner"] == "Åse"
    assert raw.fields["aftaler__3__what"] is None
    pdf = PdfReader(prepared.conclusion_form("1043", ".pdf"))
    fields = {name: f.get("/V") for name, f in (pdf.get_fields() or {}).items()}
    assert fields["aftaler__1__what"] == "Kursus i budgetlægning"
    assert fields["aftaler__1__due"] == "01-05-2027"
    assert "Budgetopfølgningen kører nu hver måned." in str(fields["mf_preparation"])
    assert fields["godkendt_leder"] in (None, "/Off")
    # Until a conclusion is back, the follow-up list holds the proposals, and says so.
    assert _csv_rows(prepared.results) == [
        ("1042", "Kursus i Excel", "Søren", "01-03-2027", "Foreslået"),
        ("1042", "Mindre overarbejde", "Åse", "", "Foreslået"),
        ("1043", *PROPOSED_1043[0]),
    ]


def test_libreoffice_conclusion_feeds_followup_calendar_and_next_year(round_: Round) -> None:
    """LibreOffice edits one proposed agreement, deletes one and adds one, writes the
    conclusion and both approvals; collected from the same folder as the preparations, it
    makes the follow-up list (XLSX, CSV), the calendar, `musforms followup` and next year's
    forms hold the agreed agreements for 1042, and the proposals still for 1043."""
    fill_libreoffice(
        round_.conclusion_form("1042"), round_.returned / "referat Søren.docx", CONCLUSION_1042
    )
    result = round_.collect()
    assert result.exit_code == 0, result.output
    assert "Returned conclusions:" in result.output
    assert "Returned: 1 of 2. Missing: 1." in result.output.split("Returned conclusions:")[1]

    report = json.loads((round_.results / "report.json").read_text())
    assert sorted(Path(f["file"]).name for f in report["files"]) == [
        "forberedelse 1042.docx", "forberedelse 1043.docx",
    ]  # fmt: skip
    [line] = _conclusion_report(round_.results)["files"]
    assert (Path(line["file"]).name, line["status"], line["problems"]) == (
        "referat Søren.docx", "ok", [],
    )  # fmt: skip
    response = json.loads((round_.results / "conclusions" / "responses" / "1042.json").read_text())
    assert response["schema"] == "musforms/response/3"
    assert response["form"]["kind"] == "conclusion"
    conclusion = response["conclusion"]
    conclusion.pop("saved_at")
    assert conclusion == {
        "form_id": line["form_id"],
        "concluded": CONCLUDED,
        "agreements": [
            {"what": "Kursus i Excel for øvede", "owner": "Søren", "due": "2027-03-01"},
            {"what": "Månedlig sparring med Åse", "owner": "Åse Østergård", "due": "2027-02-01"},
        ],
        "employee": {"approved": True, "date": "2027-01-20"},
        "leader": {"approved": True, "date": "2027-01-21"},
    }

    expected = [("1042", *row) for row in AGREED_1042] + [("1043", *PROPOSED_1043[0])]
    assert _csv_rows(round_.results) == expected
    assert _xlsx_rows(round_.results) == expected
    assert _events(round_.results) == {
        "MUS-aftale med Søren Ærø: Kursus i Excel for øvede",
        "MUS-aftale med Søren Ærø: Månedlig sparring med Åse",
        "MUS-aftale med Mette Kjær: Kursus i budgetlægning",
    }
    listing = CliRunner().invoke(
        cli, ["followup", str(round_.results), "--proposed", "--today", "2027-01-01"]
    )
    assert listing.exit_code == 0, listing.output
    assert "Kursus i budgetlægning" in listing.output
    assert "[proposed, no conclusion yet]" in listing.output
    assert "Kursus i Excel" not in listing.output

    roster = round_.root / "roster.csv"
    next_year = round_.root / "forms-2027"
    result = CliRunner().invoke(
        cli,
        [
            "generate",
            "--questions",
            str(QUESTIONS),
            "--roster",
            str(roster),
            "--cycle",
            "2027",
            "--out",
            str(next_year),
            "--key-file",
            str(round_.key_file),
            "--format",
            "docx",
            "--previous",
            str(round_.results),
        ],
    )
    assert result.exit_code == 0, result.output
    assert (
        "as agreed in the conclusion for 1 employee, as proposed (no conclusion came back) "
        "for 1 employee" in result.output
    )
    carried = {f.employee_id: f.previous_agreements for f in iter_manifest_forms(next_year)}
    assert carried == {
        "1042": [
            Agreement(what="Kursus i Excel for øvede", owner="Søren", due=dt.date(2027, 3, 1)),
            Agreement(
                what="Månedlig sparring med Åse", owner="Åse Østergård", due=dt.date(2027, 2, 1)
            ),
        ],
        "1043": [Agreement(what="Kursus i budgetlægning", owner="Mette", due=dt.date(2027, 5, 1))],
    }
    shown = read_docx(next(next_year.glob("1042-*.docx"))).fields
    rows = [
        (shown[f"mf_prev__{r}__what"], shown[f"mf_prev__{r}__owner"], shown[f"mf_prev__{r}__due"])
        for r in (1, 2)
    ]
    assert rows == [(what, owner, due) for what, owner, due, _basis in AGREED_1042]
    assert "mf_prev__3__what" not in shown


def test_conclusion_without_approvals_is_collected_and_says_whose_is_missing(
    round_: Round,
) -> None:
    """A conclusion returned without the approvals is collected; report.json carries
    approval_missing, and the summary (in Danish) says it is not approved; the follow-up
    list marks the agreements as not approved."""
    values = {"konklusion": "Vi nåede ikke at blive enige.", "aftaler__1__owner": "Mette Kjær"}
    fill_libreoffice(round_.conclusion_form("1043"), round_.returned / "konklusion.docx", values)
    result = round_.collect(LANGUAGE="da")
    assert result.exit_code == 0, result.output
    assert "Returnerede konklusioner:" in result.output
    assert (
        "godkendt_medarbejder: ikke godkendt (intet kryds): aftalerne er ikke aftalt endnu"
        in result.output
    )
    [line] = _conclusion_report(round_.results)["files"]
    assert line["status"] == "ok"
    assert [(p["code"], p["question"]) for p in line["problems"]] == [
        ("approval_missing", "godkendt_medarbejder")
    ]
    assert "hverken medarbejderen eller lederen" in line["problems"][0]["message"]
    rows = [r for r in _csv_rows(round_.results) if r[0] == "1043"]
    assert rows == [
        ("1043", "Kursus i budgetlægning", "Mette Kjær", "01-05-2027", "Konklusion ikke godkendt")
    ]


def test_conclusion_with_an_edited_preparation_is_rejected(round_: Round) -> None:
    """Protects the signed preparation: a conclusion whose copy of the preparation was
    changed (the lock ignored) is rejected as altered, and the follow-up list keeps the
    proposals."""
    filled = round_.root / "filled.docx"
    fill_libreoffice(round_.conclusion_form("1042"), filled, CONCLUSION_1042)
    edited = round_.returned / "konklusion rettet.docx"
    with zipfile.ZipFile(filled) as src, zipfile.ZipFile(edited, "w") as dst:
        for item in src.infolist():
            data = src.read(item.filename)
            if item.filename == "word/document.xml":
                text = data.decode("utf-8")
                assert "Årsafslutningen kom i mål til tiden." in text
                text = text.replace("kom i mål til tiden.", "kom slet ikke i mål.")
                data = text.encode("utf-8")
            dst.writestr(item, data)
    result = round_.collect()
    assert result.exit_code == 1, result.output
    [line] = _conclusion_report(round_.results)["files"]
    assert line["status"] == "rejected"
    assert "the employee's preparation" in line["reason"]
    assert "was altered" in line["reason"]
    assert not (round_.results / "conclusions" / "responses" / "1042.json").exists()
    assert [r[-1] for r in _csv_rows(round_.results) if r[0] == "1042"] == ["Foreslået"] * 2


def test_a_later_conclusion_replaces_the_agreed_agreements(round_: Round) -> None:
    """Two conclusions for one employee: the later one counts, both carry
    conflicting_returns, and its agreements replace the earlier ones in the follow-up list
    and the calendar (never added to them), however often collect runs."""
    first = round_.returned / "konklusion 1.docx"
    fill_libreoffice(round_.conclusion_form("1042"), first, CONCLUSION_1042)
    assert round_.collect().exit_code == 0
    assert [r[1] for r in _csv_rows(round_.results) if r[0] == "1042"] == [
        "Kursus i Excel for øvede", "Månedlig sparring med Åse",
    ]  # fmt: skip
    _later(first)
    second = round_.returned / "konklusion 2.docx"
    changed = {**CONCLUSION_1042, "aftaler__1__what": "Kursus i Excel, online"}
    fill_libreoffice(round_.conclusion_form("1042"), second, changed)
    for _run in range(2):
        result = round_.collect()
        assert result.exit_code == 0, result.output
        lines = {Path(f["file"]).name: f for f in _conclusion_report(round_.results)["files"]}
        assert {name: f["status"] for name, f in lines.items()} == {
            "konklusion 1.docx": "superseded",
            "konklusion 2.docx": "ok",
        }
        for f in lines.values():
            assert "conflicting_returns" in [p["code"] for p in f["problems"]]
        assert [r[1:] for r in _csv_rows(round_.results) if r[0] == "1042"] == [
            ("Kursus i Excel, online", *AGREED_1042[0][1:]),
            AGREED_1042[1],
        ]
        assert "MUS-aftale med Søren Ærø: Kursus i Excel for øvede" not in _events(round_.results)


# What a leader types into Mette's PDF conclusion form in pdf.js: an edited proposal, an
# added agreement, the conclusion over several lines and both approvals.
PDFJS_CONCLUSION: dict[str, Any] = {
    "konklusion": "Mette tager kurset i maj.\nVi følger op i august — æøå.",
    "aftaler__1__what": "Kursus i budgetlægning og prognoser",
    "aftaler__2__what": "Sparring med økonomichefen",
    "aftaler__2__due": "15-06-2027",
    "godkendt_medarbejder": True,
    "dato_medarbejder": "16-01-2027",
    "godkendt_leder": True,
    "dato_leder": "17-01-2027",
}


def _assert_pdfjs_conclusion(round_: Round) -> None:
    """Mette's collected conclusion is what PDFJS_CONCLUSION typed."""
    response = json.loads((round_.results / "conclusions" / "responses" / "1043.json").read_text())
    assert response["conclusion"]["concluded"] == PDFJS_CONCLUSION["konklusion"]
    assert response["conclusion"]["agreements"] == [
        {"what": "Kursus i budgetlægning og prognoser", "owner": "Mette", "due": "2027-05-01"},
        {"what": "Sparring med økonomichefen", "owner": None, "due": "2027-06-15"},
    ]
    assert response["conclusion"]["employee"] == {"approved": True, "date": "2027-01-16"}
    assert response["conclusion"]["leader"] == {"approved": True, "date": "2027-01-17"}


def test_pdfjs_fills_a_pdf_conclusion(round_: Round) -> None:
    """The PDF conclusion form, filled in pdf.js (Firefox): the edited proposal, the
    conclusion over several lines and both approvals come back as typed."""
    values = PDFJS_CONCLUSION
    fill_pdfjs(round_.conclusion_form("1043", ".pdf"), round_.returned / "1043.pdf", values)
    result = round_.collect()
    assert result.exit_code == 0, result.output
    [line] = _conclusion_report(round_.results)["files"]
    assert (line["status"], line["format"], line["read_by"]) == ("ok", "pdf", "fields")
    _assert_pdfjs_conclusion(round_)
    assert [r for r in _csv_rows(round_.results) if r[0] == "1043"] == [
        ("1043", "Kursus i budgetlægning og prognoser", "Mette", "01-05-2027", "Aftalt 17-01-2027"),
        ("1043", "Sparring med økonomichefen", "", "15-06-2027", "Aftalt 17-01-2027"),
    ]


def test_a_printed_conclusion_is_read_from_the_page(round_: Round) -> None:
    """A PDF conclusion filled in pdf.js and printed to PDF (pdftocairo: no fields, no
    signed identity left) is known by the form code printed on it: the preparation pass
    leaves it to the conclusions' pass, which reads the conclusion, the agreements and
    both approvals from the page, to be checked by hand."""
    values = PDFJS_CONCLUSION
    filled = round_.root / "filled.pdf"
    fill_pdfjs(round_.conclusion_form("1043", ".pdf"), filled, values)
    printed = round_.returned / "konklusion Mette.pdf"
    subprocess.run(["pdftocairo", "-pdf", str(filled), str(printed)], check=True, timeout=120)
    assert not PdfReader(printed).get_fields()
    result = round_.collect()
    assert result.exit_code == 0, result.output
    # Not the preparations' to judge: they report only the preparation forms.
    preparations = json.loads((round_.results / "report.json").read_text("utf-8"))
    assert "returned/konklusion Mette.pdf" not in {f["file"] for f in preparations["files"]}
    [line] = _conclusion_report(round_.results)["files"]
    assert (line["status"], line["read_by"], line["employee_id"]) == ("recovered", "page", "1043")
    _assert_pdfjs_conclusion(round_)


def test_purge_deletes_the_collected_conclusion(round_: Round) -> None:
    """purge deletes an employee's conclusion form and collected conclusion with the rest,
    and their line in conclusions/report.json."""
    fill_libreoffice(round_.conclusion_form("1042"), round_.returned / "k.docx", CONCLUSION_1042)
    assert round_.collect().exit_code == 0
    conclusions = round_.results / "conclusions"
    assert (conclusions / "responses" / "1042.json").is_file()
    result = CliRunner().invoke(
        cli, ["purge", str(round_.results), "--before", "15-01-2027", "--yes"]
    )
    assert result.exit_code == 0, result.output
    assert not (conclusions / "responses" / "1042.json").exists()
    assert [p.name.split("-")[0] for p in sorted(conclusions.glob("*-*.*"))] == ["1043", "1043"]
    assert _conclusion_report(round_.results)["files"] == []
    assert [f.employee_id for f in iter_manifest_forms(conclusions)] == ["1043"]
    leftover = [p for p in conclusions.rglob("*") if p.is_file() and re.search("1042", p.name)]
    assert leftover == []
    assert os.listdir(round_.results / "responses") == ["1043.json"]


def test_a_conclusion_returned_as_issued_is_blank(round_: Round) -> None:
    """A conclusion form sent back as it was issued (the proposals prefilled, nothing
    written, nothing ticked) is blank: not a conclusion, the employee's conclusion stays
    missing, and the follow-up list keeps the proposals."""
    shutil.copyfile(round_.conclusion_form("1042"), round_.returned / "konklusion tom.docx")
    result = round_.collect()
    assert result.exit_code == 0, result.output
    report = _conclusion_report(round_.results)
    assert [f["status"] for f in report["files"]] == ["blank"]
    assert report["missing_notes"] == {"1042": "returned blank"}
    assert not (round_.results / "conclusions" / "responses" / "1042.json").exists()
    assert [r[-1] for r in _csv_rows(round_.results) if r[0] == "1042"] == ["Foreslået"] * 2
