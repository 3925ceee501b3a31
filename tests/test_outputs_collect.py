"""Through a real round: generate, fill with PDFium (Chrome's engine), collect; the minutes,
follow-up list and calendar collect writes hold every agreement. Then the next round with
--previous: last round's agreements come back with the statuses the employee chose."""

from __future__ import annotations

import csv
import datetime as dt
import io
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner
from docx import Document
from icalendar import Calendar
from openpyxl import load_workbook

from musforms.cli import cli
from musforms.collect import collect, load_responses
from musforms.generate import generate
from musforms.manifest import load_manifest
from tests.clients.pdf import Values, fill_pdfium
from tests.conftest import DANISH, EVERY_TYPE, MULTILINE

pytestmark = pytest.mark.realclient

ROSTER = (
    "id;name;department;manager;meeting_date\r\n"
    "1042;Søren Ærø;Økonomi;Åse Østergård;14-01-2027\r\n"
    "1043;Ida Holm;IT;Bo Berg;20-01-2027\r\n"
)

ANSWERS: dict[str, Values] = {
    "1042": {
        "lykkedes": MULTILINE,
        "arbejdsmaengde": "5",
        "fokus": "ledelse",
        "fokus_flere__samarbejde": True,
        "kursus": True,
        "startdato": "15/2 2027",
        "aftaler__1__what": "Kursus i Excel & <Power BI>",
        "aftaler__1__owner": "Søren",
        "aftaler__1__due": "1/3 2027",
        "aftaler__2__what": "=1+1",
        "aftaler__2__owner": "Åse",
        "aftaler__3__what": "Mentor hver måned",
        "aftaler__3__due": "30.6.2027",
    },
    "1043": {
        "lykkedes": DANISH,
        "aftaler__1__what": "@ugentligt møde",
        "aftaler__1__owner": "Bo",
        "aftaler__1__due": "01-02-2027",
    },
}


def _docx_text(path: Path) -> str:
    doc = Document(str(path))
    parts = [p.text for p in doc.paragraphs]
    for table in doc.tables:
        for row in table.rows:
            parts.append(" | ".join(cell.text for cell in row.cells))
    return "\n".join(parts)


def _round(
    tmp_path: Path, cycle: str, answers: dict[str, Values], previous: Path | None = None
) -> Path:
    questions = tmp_path / "config" / "questions.yaml"
    if not questions.exists():
        questions.parent.mkdir()
        questions.write_text(yaml.safe_dump(EVERY_TYPE, allow_unicode=True), encoding="utf-8")
        (tmp_path / "roster.csv").write_text(ROSTER, encoding="utf-8")
    forms = tmp_path / "forms" / cycle
    generate(questions, tmp_path / "roster.csv", forms, cycle, formats=["pdf"], previous=previous)
    returned = tmp_path / "returned" / cycle
    returned.mkdir(parents=True)
    for form in load_manifest(forms).forms:
        fill_pdfium(
            forms / form.files["pdf"],
            returned / f"svar fra {form.employee_id}.pdf",
            answers[form.employee_id],
        )
    out = tmp_path / "results" / cycle
    result = collect([returned], forms, out)
    assert not result.unusable, result.unusable
    assert result.outputs is not None
    return out


def test_collect_writes_minutes_and_follow_up(tmp_path: Path) -> None:
    """Every agreement typed into the forms is in the XLSX, the CSV, the calendar and the
    employee's minutes; scales and choices show as labels."""
    out = _round(tmp_path, "2026", ANSWERS)
    responses = load_responses(out)
    agreements = {r.employee.id: [a.what for a in r.agreements] for r in responses}
    assert agreements == {
        "1042": ["Kursus i Excel & <Power BI>", "=1+1", "Mentor hver måned"],
        "1043": ["@ugentligt møde"],
    }
    every = [(eid, what) for eid, whats in agreements.items() for what in whats]

    ws = load_workbook(out / "agreements.xlsx").active
    assert ws is not None
    xlsx = [(row[0], row[4], row[6]) for row in ws.iter_rows(min_row=2, values_only=True)]
    assert [(eid, what.removeprefix("'")) for eid, what, _ in xlsx] == every
    assert xlsx[0][2] == dt.datetime(2027, 3, 1)
    assert xlsx[1][1] == "'=1+1"

    text = (out / "agreements.csv").read_bytes().decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text, newline=""), delimiter=";"))[1:]
    assert [(r[0], r[4].removeprefix("'")) for r in rows] == every
    assert rows[2][6] == "30-06-2027"

    cal = Calendar.from_ical((out / "followup.ics").read_bytes())
    events = {str(ev["SUMMARY"]): ev.decoded("DTSTART") for ev in cal.walk("VEVENT")}
    assert events["MUS-aftale med Søren Ærø: Kursus i Excel & <Power BI>"] == dt.date(2027, 3, 1)
    assert events["MUS-aftale med Ida Holm: @ugentligt møde"] == dt.date(2027, 2, 1)
    assert events["Opfølgning på MUS-aftaler med Søren Ærø"] == dt.date(2027, 4, 14)

    minutes = sorted((out / "minutes").glob("*.docx"))
    assert [p.name for p in minutes] == ["1042-soeren-aeroe.docx", "1043-ida-holm.docx"]
    soeren = _docx_text(minutes[0])
    for what in agreements["1042"]:
        assert what in soeren
    assert "5 – I høj grad" in soeren
    assert "Ledelse" in soeren
    assert "• Samarbejde" in soeren
    assert "15-02-2027" in soeren
    assert MULTILINE in soeren
    assert DANISH in _docx_text(minutes[1])

    # collecting again from the command line says where all this landed
    result = CliRunner().invoke(
        cli,
        [
            "collect",
            str(tmp_path / "returned" / "2026"),
            "--forms",
            str(tmp_path / "forms" / "2026"),
            "--out",
            str(out),
        ],
    )
    assert result.exit_code == 0, result.output
    assert f"Minutes: 2 drafts in {out / 'minutes'}" in result.output
    assert f"Follow-up list: 4 agreements in {out / 'agreements.xlsx'}" in result.output
    assert f"Calendar: {out / 'followup.ics'}" in result.output


def test_next_round_shows_last_rounds_statuses(tmp_path: Path) -> None:
    """generate --previous carries the agreements into next year's form; the statuses and
    comments the employee gives there come back in the follow-up list and the minutes."""
    first = _round(tmp_path, "2026", ANSWERS)
    second_answers: dict[str, Values] = {
        "1042": {
            "lykkedes": "Året gik godt",
            "prev_status__1": "done",
            "prev_comment__1": "Bestået i marts",
            "prev_status__2": "dropped",
            "prev_comment__2": "-ikke relevant",
            "prev_status__3": "in_progress",
            "aftaler__1__what": "Ny aftale 2027",
            "aftaler__1__due": "01-03-2028",
        },
        "1043": {"lykkedes": "Fint", "prev_status__1": "in_progress"},
    }
    out = _round(tmp_path, "2027", second_answers, previous=first)
    [soeren, _ida] = load_responses(out)
    assert [(p.what, p.status, p.comment) for p in soeren.previous_agreements] == [
        ("Kursus i Excel & <Power BI>", "done", "Bestået i marts"),
        ("=1+1", "dropped", "-ikke relevant"),
        ("Mentor hver måned", "in_progress", None),
    ]

    ws = load_workbook(out / "agreements.xlsx").active
    assert ws is not None
    rows = [row for row in ws.iter_rows(min_row=2, values_only=True)]
    status = {(row[0], row[4]): (row[7], row[8], row[9]) for row in rows}
    assert status[("1042", "Ny aftale 2027")] == ("Åben", None, "Denne samtale")
    assert status[("1042", "Kursus i Excel & <Power BI>")] == (
        "Gennemført",
        "Bestået i marts",
        "Sidste samtale",
    )
    assert status[("1042", "'=1+1")] == ("Droppet", "'-ikke relevant", "Sidste samtale")
    assert status[("1042", "Mentor hver måned")][0] == "I gang"
    assert status[("1043", "'@ugentligt møde")][0] == "I gang"

    minutes = _docx_text(out / "minutes" / "1042-soeren-aeroe.docx")
    assert "Opfølgning på sidste års aftaler" in minutes
    assert "Kursus i Excel & <Power BI> | Søren | 01-03-2027 | Gennemført | Bestået i marts" in (
        minutes
    )
    assert "Mentor hver måned |  | 30-06-2027 | I gang | " in minutes
