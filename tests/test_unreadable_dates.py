"""A date that cannot be read keeps its typed text: in the response (``typed``, an agreement's
``due_typed``), the minutes, agreements.xlsx and .csv, and the calendar's check-in.

One real round: the PDF forms filled with PDFium as Chrome does, collected, and every output
read back with the library that reads it (python-docx, openpyxl, csv, icalendar).
"""

from __future__ import annotations

import csv
import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest

from musforms.collect import collect
from musforms.response import Response
from tests.clients.pdf import Values, fill_pdfium
from tests.trust_data import Round, make_round

SPRING = "næste forår"
WEEK = "uge 12 — Łódź"
FILLED: Values = {
    "lykkedes": "Året gik godt\nmed æøå",
    "startdato": SPRING,
    "aftaler__1__what": "Kursus i Excel",
    "aftaler__1__owner": "Søren Ærø",
    "aftaler__1__due": "d. 3. marts 2027",  # read: Danish month names
    "aftaler__2__what": "Mentorordning",
    "aftaler__2__owner": "Åse",
    "aftaler__2__due": WEEK,  # not a date: kept as typed
    "aftaler__3__what": "Bedre møder",
    "aftaler__3__due": "=1+1",  # kept as typed, and never run as a formula
}


@pytest.fixture(scope="module")
def collected(tmp_path_factory: pytest.TempPathFactory) -> tuple[Round, Path]:
    root = tmp_path_factory.mktemp("dates")
    r = make_round(root, previous=False, key_file=root / "key")
    inbox = root / "returned"
    inbox.mkdir()
    fill_pdfium(r.form("1042", "pdf"), inbox / "søren.pdf", FILLED)
    out = root / "results"
    collect([inbox], r.forms, out, key_file=r.key_file, workers=1)
    return r, out


def _response(out: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((out / "responses" / "1042.json").read_text(encoding="utf-8"))
    return data


@pytest.mark.realclient
@pytest.mark.slow
def test_response_keeps_the_typed_text(collected: tuple[Round, Path]) -> None:
    """The unreadable date is null with its text beside it; an agreement's unreadable due
    date is null with ``due_typed``; "d. 3. marts 2027" is a date; each unreadable one has a
    problem that names its question and quotes it."""
    _, out = collected
    data = _response(out)
    assert data["schema"] == "musforms/response/3"
    assert "startdato" in data["answers"] and data["answers"]["startdato"] is None
    assert data["typed"] == {"startdato": SPRING}
    assert data["agreements"] == [
        {"what": "Kursus i Excel", "owner": "Søren Ærø", "due": "2027-03-03"},
        {"what": "Mentorordning", "owner": "Åse", "due": None, "due_typed": WEEK},
        {"what": "Bedre møder", "owner": None, "due": None, "due_typed": "=1+1"},
    ]
    bad = [(p["code"], p["question"]) for p in data["problems"]]
    assert bad == [("bad_date", "startdato"), ("bad_date", "aftaler"), ("bad_date", "aftaler")]
    assert SPRING in data["problems"][0]["message"]
    assert WEEK in data["problems"][1]["message"]
    # The file is a valid response: the model the JSON Schema is made from reads it back.
    assert Response.model_validate(data).typed == {"startdato": SPRING}


@pytest.mark.realclient
@pytest.mark.slow
def test_minutes_print_the_typed_text(collected: tuple[Round, Path]) -> None:
    """The minutes draft shows "næste forår" as the answer, and the agreements' due dates as
    dd-mm-åååå or as typed."""
    from docx import Document

    _, out = collected
    (draft,) = (out / "minutes").glob("1042-*.docx")
    doc = Document(str(draft))
    paragraphs = [p.text for p in doc.paragraphs]
    cells = [[c.text for c in row.cells] for t in doc.tables for row in t.rows]
    every = "\n".join(paragraphs + ["\t".join(row) for row in cells])
    assert SPRING in every
    rows = {row[1]: row for row in cells if len(row) >= 4}
    assert "03-03-2027" in rows["Kursus i Excel"]
    assert WEEK in rows["Mentorordning"]
    assert "=1+1" in rows["Bedre møder"]


@pytest.mark.realclient
@pytest.mark.slow
def test_agreements_xlsx_and_csv_show_the_typed_due_date(collected: tuple[Round, Path]) -> None:
    """agreements.xlsx holds a real date where one was read and the typed text where not (a
    formula-like text with a leading '); agreements.csv the same as text."""
    from openpyxl import load_workbook

    _, out = collected
    ws = load_workbook(out / "agreements.xlsx").active
    assert ws is not None
    rows = list(ws.iter_rows(values_only=True))
    due = rows[0].index("Hvornår")
    what = rows[0].index("Aftale")
    by_what = {row[what]: row for row in rows[1:]}
    assert by_what["Kursus i Excel"][due] == dt.datetime(2027, 3, 3)
    assert by_what["Mentorordning"][due] == WEEK
    assert by_what["Bedre møder"][due] == "'=1+1"

    with (out / "agreements.csv").open(encoding="utf-8-sig", newline="") as fh:
        lines = list(csv.reader(fh, delimiter=";"))
    by_what_csv = {line[what]: line for line in lines[1:]}
    assert by_what_csv["Kursus i Excel"][due] == "03-03-2027"
    assert by_what_csv["Mentorordning"][due] == WEEK
    assert by_what_csv["Bedre møder"][due] == "'=1+1"


@pytest.mark.realclient
@pytest.mark.slow
def test_calendar_lists_undated_agreements_at_the_check_in(collected: tuple[Round, Path]) -> None:
    """Only the dated agreement has an event of its own (a calendar event needs a day); the
    check-in lists all three, the undated ones with their due date as typed."""
    from icalendar import Calendar

    _, out = collected
    cal = Calendar.from_ical((out / "followup.ics").read_bytes())
    events = [c for c in cal.walk("VEVENT")]
    due_events = [e for e in events if "-agr-" in str(e["uid"])]
    assert [e["dtstart"].dt for e in due_events] == [dt.date(2027, 3, 3)]
    (checkin,) = [e for e in events if str(e["uid"]).endswith("-checkin@musforms")]
    description = str(checkin["description"])
    assert "• Kursus i Excel (03-03-2027)" in description
    assert f"• Mentorordning ({WEEK})" in description
    assert "• Bedre møder (=1+1)" in description


def test_earlier_response_files_are_read() -> None:
    """A response written by an earlier version (musforms/response/1) reads as the current one."""
    old = {
        "schema": "musforms/response/1",
        "employee": {"id": "1042", "name": "Søren Ærø"},
        "form": {
            "form_id": "f1",
            "cycle": "2025",
            "question_set": {"id": "mus-standard", "version": "2025.1"},
        },
        "answers": {"startdato": "2026-01-15"},
        "agreements": [{"what": "Kursus", "owner": None, "due": None}],
    }
    response = Response.model_validate(old)
    assert response.schema_ == "musforms/response/3"
    assert response.typed == {}
    dumped = json.loads(response.to_json())
    assert "typed" not in dumped and "due_typed" not in dumped["agreements"][0]
    assert Response.model_validate({**old, "schema": "musforms/response/2"}).conclusion is None
    with pytest.raises(ValueError, match="response/3"):
        Response.model_validate({**old, "schema": "musforms/response/4"})


@pytest.mark.realclient
@pytest.mark.slow
def test_followup_listing_shows_the_typed_due_date(collected: tuple[Round, Path]) -> None:
    """``musforms followup`` lists an agreement whose due date could not be read with that
    text, among the undated ones."""
    from musforms.outputs.followup import followup_lines, open_agreements
    from musforms.outputs.views import agreement_rows

    _, out = collected
    rows = agreement_rows([Response.model_validate(_response(out))])
    lines = followup_lines(open_agreements(rows, dt.date(2027, 1, 1)))
    (mentor,) = [line for line in lines if "Mentorordning" in line]
    assert f"no date    (typed: {WEEK})" in mentor


@pytest.mark.realclient
@pytest.mark.slow
def test_collect_names_who_needs_attention_without_quoting_answers(
    collected: tuple[Round, Path], tmp_path: Path
) -> None:
    """The collect summary names the employee (id and name), the file and each question
    with its problem in words, and never shows what was typed (a problem's message quotes
    an unreadable date as typed; the summary does not)."""
    from click.testing import CliRunner

    from musforms.cli import cli

    r, out = collected
    inbox = out.parent / "returned"
    result = CliRunner().invoke(
        cli,
        ["collect", str(inbox), "--forms", str(r.forms), "--out", str(tmp_path / "again")],
        env={"MUSFORMS_KEY_FILE": str(r.key_file)},
    )
    assert result.exit_code == 0, result.output
    (line,) = [s for s in result.output.splitlines() if s.startswith("  1042 ")]
    assert line.startswith("  1042 Søren Ærø (")
    assert "søren.pdf" in line
    assert "startdato: a date that could not be read (kept as typed)" in line
    assert "aftaler: a date that could not be read (kept as typed)" in line
    typed = {SPRING, WEEK, "=1+1", *(v for v in FILLED.values() if isinstance(v, str))}
    for text in typed - {"Søren Ærø"}:  # an agreement's who is the employee's own name here
        assert text not in result.output
