"""The three-month check-in: generate --followup writes a short form per employee with each
agreement of the round, a real client fills it (pdf.js, LibreOffice), collect lays the
statuses and comments over the round's follow-up list and calendar, and next year's form
takes each agreement by its latest status."""

from __future__ import annotations

import csv
import datetime as dt
import email
import email.policy
import io
import json
import os
import sqlite3
import subprocess
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner
from icalendar import Calendar
from openpyxl import load_workbook

from musforms.cli import cli
from musforms.collect import collect
from musforms.docx.reader import read_docx
from musforms.errors import ConfigError
from musforms.generate import generate, generate_followup
from musforms.htmlreport.gather import gather
from musforms.manifest import load_manifest, manifest_head
from musforms.pdf.reader import read_pdf
from musforms.purge import execute, plan_purge
from musforms.report import load_report
from tests.clients.pdf import Values, fill_pdfjs
from tests.clients.scenario import _edit_pdf_field
from tests.clients.word import fill_libreoffice
from tests.conftest import DANISH, EVERY_TYPE, MULTILINE
from tests.test_outputs_collect import ANSWERS, _round

pytestmark = pytest.mark.realclient

TODAY = dt.date(2027, 4, 1)
SOEREN_COMMENT = "Første møde holdt — næste i maj\nÅse booker lokalet"
IDA_COMMENT = "Vi mødes i stedet hver anden uge\nfra april, på Ærø"


def _fill(forms: Path, eid: str, fmt: str, dst: Path, values: Values, when: int) -> Path:
    """The check-in of ``eid`` filled by pdf.js (pdf) or LibreOffice (docx), saved at ``when``."""
    form = next(f for f in load_manifest(forms).forms if f.employee_id == eid)
    dst.parent.mkdir(parents=True, exist_ok=True)
    if fmt == "pdf":
        fill_pdfjs(forms / form.files["pdf"], dst, values)
    else:
        fill_libreoffice(forms / form.files["docx"], dst, values)
    os.utime(dst, (when, when))
    return dst


def _xlsx(out: Path) -> dict[tuple[str, str], tuple[object, object]]:
    ws = load_workbook(out / "agreements.xlsx").active
    assert ws is not None
    return {(str(r[0]), str(r[4])): (r[7], r[8]) for r in ws.iter_rows(min_row=2, values_only=True)}


def _csv(out: Path) -> dict[tuple[str, str], tuple[str, str]]:
    text = (out / "agreements.csv").read_bytes().decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text, newline=""), delimiter=";"))[1:]
    return {(r[0], r[4]): (r[7], r[8]) for r in rows}


def _pdf_text(path: Path) -> str:
    """The PDF's text as poppler's pdftotext lays it out, each line's spaces made one."""
    done = subprocess.run(
        ["pdftotext", "-layout", str(path), "-"], capture_output=True, check=True, timeout=60
    )
    return "\n".join(" ".join(line.split()) for line in done.stdout.decode("utf-8").splitlines())


def _check_in_events(out: Path) -> dict[str, Calendar]:
    cal = Calendar.from_ical((out / "followup.ics").read_bytes())
    events = [ev for ev in cal.walk("VEVENT") if str(ev["UID"]).endswith("-checkin@musforms")]
    by_uid = {str(ev["UID"]): ev for ev in events}
    assert len(by_uid) == len(events), "a check-in event is doubled"
    return by_uid


def test_checkins_update_the_follow_up_list_calendar_and_next_year(tmp_path: Path) -> None:
    """A check-in filled in pdf.js and one in LibreOffice (Word): each agreement's status
    and comment reach agreements.xlsx/.csv and the calendar's one event per check-in; the
    preparation's answers stay as they were; a later check-in wins and updates the event
    instead of adding one; next year's form carries what is still open, row by row."""
    out = _round(tmp_path, "2026", ANSWERS)
    prepared = {p.name: p.read_bytes() for p in (out / "responses").iterdir()}
    forms = tmp_path / "forms" / "2026-opfoelgning"
    issued = generate_followup(out, forms)
    assert (issued.count, issued.carried, issued.carried_from_checkins) == (2, 4, 0)
    assert manifest_head(forms).kind == "checkin"
    entries = {f.employee_id: f for f in load_manifest(forms).forms}
    assert [a.what for a in entries["1042"].previous_agreements] == [
        "Kursus i Excel & <Power BI>",
        "=1+1",
        "Mentor hver måned",
    ]
    prep_ids = {
        json.loads(prepared[n])["employee"]["id"]: json.loads(prepared[n]) for n in prepared
    }
    assert entries["1042"].of_form == prep_ids["1042"]["form"]["form_id"]

    returned = tmp_path / "returned" / "opfoelgning"
    soeren: Values = {
        "prev_status__1": "done",
        "prev_comment__1": MULTILINE,
        "prev_status__2": "not_started",
        "prev_status__3": "in_progress",
        "prev_comment__3": SOEREN_COMMENT,
        "brug_for": DANISH,
    }
    _fill(forms, "1042", "pdf", returned / "opfølgning søren.pdf", soeren, 1_800_000_000)
    ida = {"prev_status__1": "dropped", "prev_comment__1": IDA_COMMENT, "snak": True}
    _fill(forms, "1043", "docx", returned / "Ida opfølgning.docx", ida, 1_800_000_100)

    result = collect([returned], forms, out)
    assert result.counts == {"ok": 2}, load_report(out / "checkins")
    assert result.out == out / "checkins"
    # The preparation's answers are untouched; the check-ins have a folder of their own.
    assert {p.name: p.read_bytes() for p in (out / "responses").iterdir()} == prepared
    kept = json.loads((out / "checkins" / "responses" / "1042.json").read_text("utf-8"))
    assert [(p["status"], p["comment"]) for p in kept["previous_agreements"]] == [
        ("done", MULTILINE),
        ("not_started", None),
        ("in_progress", SOEREN_COMMENT),
    ]
    assert kept["answers"]["brug_for"] == DANISH

    expected = {
        ("1042", "Kursus i Excel & <Power BI>"): ("Gennemført", MULTILINE),
        ("1042", "'=1+1"): ("Ikke påbegyndt", None),
        ("1042", "Mentor hver måned"): ("I gang", SOEREN_COMMENT),
        ("1043", "'@ugentligt møde"): ("Droppet", IDA_COMMENT),
    }
    assert _xlsx(out) == expected
    assert _csv(out) == {k: (s, c or "") for k, (s, c) in expected.items()}

    events = _check_in_events(out)
    assert len(events) == 2
    first = {uid: int(ev["SEQUENCE"]) for uid, ev in events.items()}
    soeren_uid = f"{prep_ids['1042']['form']['form_id']}-checkin@musforms"
    description = str(events[soeren_uid]["DESCRIPTION"])
    assert "sendte opfølgningsskemaet" in description
    assert "• Kursus i Excel & <Power BI> (01-03-2027) [Gennemført]" in description
    assert "• =1+1 [Ikke påbegyndt]" in description
    assert "[I gang] – Første møde holdt — næste i maj Åse booker lokalet" in description
    assert "LAST-MODIFIED" in events[soeren_uid]

    # A later check-in from Søren wins; the calendar updates his event rather than adding one.
    later: Values = {**soeren, "prev_status__2": "in_progress", "prev_comment__2": "Startet nu"}
    _fill(forms, "1042", "pdf", returned / "opfølgning søren igen.pdf", later, 1_800_090_000)
    CliRunner().invoke(cli, ["collect", str(returned), "--forms", str(forms), "--out", str(out)])
    assert _xlsx(out)[("1042", "'=1+1")] == ("I gang", "Startet nu")
    assert {p.name: p.read_bytes() for p in (out / "responses").iterdir()} == prepared
    again = _check_in_events(out)
    assert again.keys() == first.keys()
    assert int(again[soeren_uid]["SEQUENCE"]) > first[soeren_uid]

    # The status report counts as open what the check-ins left open: Søren's two in
    # progress (one of them due 30-06-2027); his done one and Ida's dropped one are not.
    got = gather(out, sqlite3.connect(":memory:"), forms_dir=None, by="department", today=TODAY)
    assert sum(counts[0] for counts in got.agreements.values()) == 2, got.agreements

    # Next year: what is still open, each by its latest status; done and dropped stay behind.
    questions = tmp_path / "config" / "questions.yaml"
    next_year = tmp_path / "forms" / "2027"
    carried = generate(
        questions,
        tmp_path / "roster.csv",
        next_year,
        "2027",
        formats=["pdf", "docx"],
        previous=out,
    )
    assert (carried.carried, carried.carried_from_checkins) == (2, 2)
    forms_2027 = {f.employee_id: f for f in load_manifest(next_year).forms}
    assert forms_2027["1043"].previous_agreements == []
    # Each row with its latest status and comment, signed with the rest, in both formats.
    latest = {
        1: ("=1+1", None, "I gang – Startet nu"),
        2: ("Mentor hver måned", "30-06-2027", f"I gang – {' '.join(SOEREN_COMMENT.split())}"),
        3: (None, None, None),
    }
    form_2027 = forms_2027["1042"]
    for raw in (
        read_pdf(next_year / form_2027.files["pdf"]).fields,
        read_docx(next_year / form_2027.files["docx"]).fields,
    ):
        rows = {
            n: tuple(raw.get(f"mf_prev__{n}__{part}") for part in ("what", "due", "latest"))
            for n in latest
        }
        assert rows == latest
    # Where the employee sees it: the page under each agreement (poppler's text of the PDF).
    page = _pdf_text(next_year / form_2027.files["pdf"])
    assert "Ved opfølgningen: I gang – Startet nu" in page
    assert "Ved opfølgningen: I gang – Første møde holdt — næste i maj Åse booker" in page
    # The employee fills next year's form in LibreOffice (Word) and in pdf.js: collected,
    # the latest statuses verify with the rest, and the statuses chosen now are recorded.
    now: Values = {"prev_status__1": "done", "prev_comment__1": IDA_COMMENT}
    now |= {"prev_status__2": "in_progress"}
    for fmt in ("docx", "pdf"):
        back = tmp_path / "returned-2027" / fmt
        _fill(next_year, "1042", fmt, back / f"søren.{fmt}", now, 1_800_200_000)
        results = collect([back], next_year, tmp_path / "results-2027" / fmt)
        assert results.counts == {"ok": 1}, fmt
        response = json.loads(
            (tmp_path / "results-2027" / fmt / "responses" / "1042.json").read_text("utf-8")
        )
        assert [
            (p["what"], p["status"], p["comment"]) for p in response["previous_agreements"]
        ] == [
            ("=1+1", "done", IDA_COMMENT),
            ("Mentor hver måned", "in_progress", None),
        ], fmt

    # Purging Søren (met 14-01-2027) deletes his check-in with the rest; Ida's stays.
    plan = plan_purge(out, dt.date(2027, 1, 15))
    assert out / "checkins" / "responses" / "1042.json" in plan.files
    execute(plan)
    assert sorted(p.name for p in (out / "checkins" / "responses").iterdir()) == ["1043.json"]
    report = load_report(out / "checkins")
    assert report is not None
    assert report.returned == ["1043"]
    assert {f.employee_id for f in report.files} == {"1043"}
    checkins = json.loads((out / "checkins" / "responses.json").read_text("utf-8"))
    assert [r["employee"]["id"] for r in checkins] == ["1043"]
    assert _xlsx(out) == {("1043", "'@ugentligt møde"): ("Droppet", IDA_COMMENT)}


def test_a_checkin_with_an_edited_agreement_is_rejected(tmp_path: Path) -> None:
    """The agreements a check-in is prefilled with are signed: a form whose agreement was
    edited is rejected, and the follow-up list keeps what it had."""
    out = _round(tmp_path, "2026", ANSWERS)
    forms = tmp_path / "forms" / "2026-opfoelgning"
    generate_followup(out, forms, formats=["pdf"])
    before = _xlsx(out)
    filled = _fill(
        forms, "1042", "pdf", tmp_path / "filled.pdf", {"prev_status__1": "done"}, 1_800_000_000
    )
    returned = tmp_path / "returned" / "opfoelgning"
    returned.mkdir()
    _edit_pdf_field(filled, returned / "opfølgning.pdf", "mf_prev__1__what", "Kursus på Bali")
    result = collect([returned], forms, out)
    assert result.counts == {"rejected": 1}
    assert _xlsx(out) == before


def test_with_a_roster_only_those_given_a_checkin_are_missing(tmp_path: Path) -> None:
    """collect --roster on check-ins: an employee on the roster who was given no check-in
    (no open agreement, or new since the conversation) is not missing one."""
    out = _round(tmp_path, "2026", ANSWERS)
    forms = tmp_path / "forms" / "2026-opfoelgning"
    generate_followup(out, forms, formats=["pdf"])
    roster = tmp_path / "roster-december.csv"
    roster.write_text(
        (tmp_path / "roster.csv").read_text(encoding="utf-8")
        + "1099;Ny Medarbejder;IT;Bo Berg;01-03-2027\r\n",
        encoding="utf-8",
    )
    returned = tmp_path / "returned" / "opfoelgning"
    returned.mkdir()
    _fill(
        forms, "1042", "pdf", returned / "opfølgning.pdf", {"prev_status__1": "done"}, 1_800_000_000
    )
    result = collect([returned], forms, out, roster=roster)
    assert result.counts == {"ok": 1}
    assert (result.returned, result.missing, result.missing_first) == (1, 1, ["1043"])


def test_checkins_of_another_round_are_refused(tmp_path: Path) -> None:
    """Check-ins collected into a folder that holds no results of their round are refused
    with what to give instead, and nothing is written there."""
    out = _round(tmp_path, "2026", ANSWERS)
    forms = tmp_path / "forms" / "2026-opfoelgning"
    generate_followup(out, forms, formats=["pdf"])
    elsewhere = tmp_path / "results" / "tom"
    with pytest.raises(ConfigError, match="give --out the results folder of round 2026"):
        collect([tmp_path / "returned" / "2026"], forms, elsewhere)
    assert not elsewhere.exists()


def test_checkin_forms_are_mailed_with_their_own_text(tmp_path: Path) -> None:
    """send mails each employee their check-in forms like any forms folder, with the
    check-in's own text (config/mail/checkin.*.txt, built in until HR writes one)."""
    config = tmp_path / "config"
    config.mkdir()
    (config / "questions.yaml").write_text(
        yaml.safe_dump(EVERY_TYPE, allow_unicode=True), encoding="utf-8"
    )
    (tmp_path / "roster.csv").write_text(
        "id;name;email;manager;meeting_date\r\n"
        "1042;Søren Ærø;soeren@example.dk;Åse Østergård;14-01-2027\r\n"
        "1043;Ida Holm;ida@example.dk;Bo Berg;20-01-2027\r\n",
        encoding="utf-8",
    )
    out = _round(tmp_path, "2026", ANSWERS)
    forms = tmp_path / "forms" / "2026-opfoelgning"
    generate_followup(out, forms)
    outbox = tmp_path / "outbox"
    result = CliRunner().invoke(
        cli,
        ["send", str(forms), "--drafts", str(outbox), "--from", "hr@example.dk",
         "--deadline", "01-05-2027"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    drafts = sorted(outbox.glob("*.eml"))
    assert [d.name for d in drafts] == ["1042-soeren-aeroe.eml", "1043-ida-holm.eml"]
    message = email.message_from_bytes(drafts[0].read_bytes(), policy=email.policy.default)
    assert message["To"] == "Søren Ærø <soeren@example.dk>"
    assert message["Subject"] == "Opfølgning på dine MUS-aftaler"
    body = message.get_body(("plain",))
    assert body is not None
    assert "Hvordan går det med jeres aftaler?" in body.get_content()
    assert "01-05-2027" in body.get_content()
    names = sorted(str(a.get_filename()) for a in message.iter_attachments())
    assert names == ["1042-soeren-aeroe.docx", "1042-soeren-aeroe.pdf"]
