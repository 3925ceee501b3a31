"""The follow-up list: agreements.xlsx as openpyxl reads it, agreements.csv as Danish Excel
reads it, and the open/overdue listing by leader."""

from __future__ import annotations

import csv
import datetime as dt
import io
from pathlib import Path

import pytest
from click.testing import CliRunner
from openpyxl import load_workbook

from musforms.cli import cli
from musforms.errors import MusformsError
from musforms.models import Organisation, QuestionSet
from musforms.outputs import write_outputs
from musforms.outputs.followup import (
    csv_text,
    followup_lines,
    neutralise,
    open_agreements,
    parse_period,
    write_csv,
    write_xlsx,
)
from musforms.outputs.views import agreement_rows
from musforms.response import Response
from tests.outputs_data import TODAY, every_what, responses, results_folder


@pytest.fixture
def sample(every_type: QuestionSet) -> list[Response]:
    return responses(every_type)


def _sheet_rows(path: Path) -> dict[str, list[tuple[object, ...]]]:
    wb = load_workbook(path)
    return {ws.title: list(ws.iter_rows(values_only=True)) for ws in wb.worksheets}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("=1+1", "'=1+1"),
        ("+45 1234", "'+45 1234"),
        ("-klaret", "'-klaret"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\tskjult", "'\tskjult"),
        ("\rskjult", "'\rskjult"),
        ("Kursus = godt", "Kursus = godt"),
        ("", ""),
    ],
)
def test_neutralise(text: str, expected: str) -> None:
    """Only text that starts like a formula gets the leading apostrophe."""
    assert neutralise(text) == expected


def test_xlsx_has_every_agreement_with_real_dates(tmp_path: Path, sample: list[Response]) -> None:
    """One row per agreement (this round's and last round's), due dates as Excel dates shown
    dd-mm-yyyy, a frozen header with filters, and no formula anywhere."""
    path = tmp_path / "agreements.xlsx"
    write_xlsx(path, agreement_rows(sample), "da")
    wb = load_workbook(path)
    ws = wb.active
    assert ws is not None
    header = [c.value for c in ws[1]]
    assert header[:8] == [
        "Medarbejdernr.", "Navn", "Afdeling", "Leder", "Aftale", "Hvem", "Hvornår", "Status",
    ]  # fmt: skip
    assert ws.freeze_panes == "A2"
    assert ws.auto_filter.ref == f"A1:L{ws.max_row}"
    assert ws.column_dimensions["E"].width >= 40
    assert wb.properties.creator == "musforms"

    body = list(ws.iter_rows(min_row=2))
    whats = [row[4].value for row in body]
    for what in every_what(sample):
        assert neutralise(what) in whats
    assert len(body) == len(every_what(sample))

    soeren_excel = next(row for row in body if row[4].value == "Kursus i Excel & <Power BI>")
    due = soeren_excel[6]
    assert isinstance(due.value, dt.datetime)
    assert due.value.date() == dt.date(2027, 3, 1)
    assert due.number_format == "dd-mm-yyyy"
    assert soeren_excel[7].value == "Åben"
    assert soeren_excel[9].value == "Denne samtale"
    assert soeren_excel[10].value == "AAAABBBBCCCC"
    assert soeren_excel[11].value == "Foreslået"  # no conclusion back yet

    by_what = {row[4].value: row for row in body}
    assert by_what["Gammel aftale om ferie"][7].value == "Gennemført"
    assert by_what["Gammel aftale om ferie"][8].value == "'-klaret i juni"
    assert by_what["Gammel aftale om ferie"][9].value == "Sidste samtale"
    assert by_what["Gammel aftale om ferie"][11].value is None
    assert by_what["Halvfærdig aftale"][7].value == "I gang"
    assert by_what["Aftale uden status"][7].value == "Ikke angivet"
    assert by_what["Droppet aftale"][7].value == "Droppet"
    assert by_what["Mentorordning\nmed Åse"][5].value == "Åse"

    for row in body:
        for cell in row:
            assert cell.data_type != "f", f"{cell.coordinate} is a formula"
    assert by_what['\'=HYPERLINK("http://x.dk","klik")'][5].value == "'+45 1234"
    assert by_what["'@møde hver uge"][0].value == "1043"


def test_xlsx_one_sheet_per_department(tmp_path: Path, sample: list[Response]) -> None:
    """--by-department: a sheet per department (those without one together), each with its
    own header, filters and rows."""
    path = tmp_path / "agreements.xlsx"
    write_xlsx(path, agreement_rows(sample), "da", by_department=True)
    sheets = _sheet_rows(path)
    assert list(sheets) == ["IT", "Økonomi"]  # Ulla (no department) has no agreements
    assert len(sheets["Økonomi"]) == 1 + 3 + 4
    assert len(sheets["IT"]) == 1 + 2
    wb = load_workbook(path)
    for ws in wb.worksheets:
        assert ws.freeze_panes == "A2"
        assert ws.auto_filter.ref


def test_xlsx_sheet_names_excel_accepts(tmp_path: Path, sample: list[Response]) -> None:
    """Department names Excel cannot use as sheet names (too long, [ ] : * ? / \\, twice in
    different case, empty) still give distinct, valid sheets."""
    rows = agreement_rows(sample)
    renamed = [
        r.__class__(**{**r.__dict__, "department": d})
        for r, d in zip(
            rows,
            ["Løn/Personale: [HR]*?", "løn/personale: [hr]*?", "", "A" * 40, "IT", "IT"]
            + ["IT"] * 10,
            strict=False,
        )
    ]
    path = tmp_path / "agreements.xlsx"
    write_xlsx(path, renamed, "da", by_department=True)
    names = list(_sheet_rows(path))
    assert len(names) == len({n.casefold() for n in names}) == 5
    assert "Uden afdeling" in names
    for name in names:
        assert len(name) <= 31
        assert not set(name) & set("[]:*?/\\")


def test_csv_reads_as_danish_excel_does(tmp_path: Path, sample: list[Response]) -> None:
    """UTF-8 with BOM, ';' between fields, CRLF line ends, dates dd-mm-yyyy, every agreement,
    line breaks kept inside quoted fields, formulas neutralised."""
    path = tmp_path / "agreements.csv"
    write_csv(path, agreement_rows(sample), "da")
    data = path.read_bytes()
    assert data.startswith(b"\xef\xbb\xbf")
    assert data.endswith(b"\r\n")
    assert data.split(b"\r\n")[0].endswith(";Formular-id;Aftalt / foreslået".encode())
    text = data.decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text, newline=""), delimiter=";"))
    assert len(rows) == 1 + len(every_what(sample))
    assert rows[0][:5] == ["Medarbejdernr.", "Navn", "Afdeling", "Leder", "Aftale"]
    whats = [row[4] for row in rows[1:]]
    for what in every_what(sample):
        assert neutralise(what) in whats
    by_what = {row[4]: row for row in rows[1:]}
    assert by_what["Kursus i Excel & <Power BI>"][6] == "01-03-2027"
    assert by_what["Kursus i Excel & <Power BI>"][1] == "Søren Ærø"
    assert by_what["Aftale uden status"][6] == ""
    assert by_what['\'=HYPERLINK("http://x.dk","klik")'][5] == "'+45 1234"
    assert by_what["Droppet aftale"][8] == "'@ikke aktuel"
    for row in rows[1:]:
        for value in row:
            assert not value.startswith(("=", "+", "-", "@", "\t", "\r"))


def test_csv_in_english(sample: list[Response]) -> None:
    """With English as the organisation's language the headers and statuses are English."""
    text = csv_text(agreement_rows(sample), "en")
    header = text.splitlines()[0].split(";")
    assert header[:5] == ["Employee no.", "Name", "Department", "Leader", "Agreement"]
    assert ";Open;" in text and ";Done;" in text


def test_write_outputs_writes_all_four(tmp_path: Path, sample: list[Response]) -> None:
    """write_outputs puts the minutes, the XLSX, the CSV and the calendar in the results
    folder and says where, even without a forms folder."""
    paths = write_outputs(tmp_path, sample, None, Organisation(), today=TODAY)
    assert paths.xlsx == tmp_path / "agreements.xlsx" and paths.xlsx.is_file()
    assert paths.csv == tmp_path / "agreements.csv" and paths.csv.is_file()
    assert paths.ics == tmp_path / "followup.ics" and paths.ics.is_file()
    minutes = sorted((tmp_path / "minutes").glob("*.docx"))
    assert [p.name for p in minutes] == [
        "1042-soeren-aeroe.docx",
        "1043-ida-holm.docx",
        "1044-ulla-oersted.docx",
    ]
    assert paths.minutes == 3 and paths.minutes_dir == tmp_path / "minutes"
    assert paths.agreements == len(every_what(sample))
    assert paths.notes and "question set" in paths.notes[0]
    for path in [paths.xlsx, paths.csv, paths.ics, *minutes]:
        assert path.stat().st_mode & 0o077 == 0, f"{path} is readable by others"


# --- open and overdue ----------------------------------------------------------------------


def test_open_agreements_grouped_by_leader(sample: list[Response]) -> None:
    """Open means this round's, last round's in progress or without status; done and
    dropped are left out. Leaders in alphabetical order; overdue ones (due before today) first."""
    groups = open_agreements(agreement_rows(sample), TODAY)
    assert [g.leader for g in groups] == ["Bo Berg", "Åse Østergård"]  # Å after Z, as in Danish
    by_leader = {g.leader: g for g in groups}
    aase = by_leader["Åse Østergård"]
    assert [r.what for r in aase.rows] == [
        "Halvfærdig aftale",  # due 01-09-2026: overdue
        "Mentorordning\nmed Åse",  # 31-01-2027
        "Kursus i Excel & <Power BI>",  # 01-03-2027
        '=HYPERLINK("http://x.dk","klik")',  # no date
        "Aftale uden status",  # no date
    ]
    assert [r.what for r in aase.overdue] == ["Halvfærdig aftale"]
    bo = by_leader["Bo Berg"]
    assert [r.what for r in bo.overdue] == ["@møde hver uge"]
    assert len(bo.rows) == 2


def test_due_within_and_leader_filter(sample: list[Response]) -> None:
    """--due-within keeps overdue ones and those due within the period (undated left out);
    --leader matches a part of the name, ignoring case."""
    rows = agreement_rows(sample)
    groups = open_agreements(rows, TODAY, due_within=parse_period("30d"))
    whats = {r.what for g in groups for r in g.rows}
    assert whats == {"Halvfærdig aftale", "Mentorordning\nmed Åse", "@møde hver uge"}
    only_aase = open_agreements(rows, TODAY, leader="åse")
    assert [g.leader for g in only_aase] == ["Åse Østergård"]
    assert open_agreements(rows, TODAY, leader="nobody") == []
    # the day an agreement is due it is not overdue yet
    on_the_day = open_agreements(rows, dt.date(2027, 1, 31), leader="Åse")
    assert "Mentorordning\nmed Åse" not in {r.what for r in on_the_day[0].overdue}


def test_followup_lines(sample: list[Response]) -> None:
    """Each leader gets a heading with counts; overdue lines are marked; an agreement's line
    breaks do not break the listing."""
    lines = followup_lines(open_agreements(agreement_rows(sample), TODAY))
    text = "\n".join(lines)
    assert "Åse Østergård: 5 open, 1 overdue" in lines
    assert "Bo Berg: 2 open, 1 overdue" in lines
    assert "OVERDUE 01-09-2026  Søren Ærø (1042): Halvfærdig aftale (who: Åse) [last round]" in text
    assert "31-01-2027  Søren Ærø (1042): Mentorordning med Åse (who: Åse)" in text


@pytest.mark.parametrize(("text", "days"), [("30d", 30), ("30", 30), ("2w", 14), ("3m", 90)])
def test_parse_period(text: str, days: int) -> None:
    """Periods as an HR officer writes them."""
    assert parse_period(text) == days


def test_parse_period_refuses_nonsense() -> None:
    """A period that is not one is an error that shows how to write it."""
    with pytest.raises(MusformsError, match="30d"):
        parse_period("en måned")


def test_followup_command(tmp_path: Path, sample: list[Response]) -> None:
    """`musforms followup RESULTS` prints open agreements by leader, counting from the given
    day; --leader and --due-within narrow it; a bad period is a usage error."""
    out = results_folder(tmp_path, sample)
    runner = CliRunner()
    result = runner.invoke(cli, ["followup", str(out), "--today", "20-01-2027"])
    assert result.exit_code == 0, result.output
    assert "Åse Østergård: 5 open, 1 overdue" in result.output
    assert "Bo Berg: 2 open, 1 overdue" in result.output

    result = runner.invoke(
        cli,
        ["followup", str(out), "--today", "2027-01-20", "--leader", "bo", "--due-within", "30d"],
    )
    assert result.exit_code == 0, result.output
    assert "Åse" not in result.output
    assert "OVERDUE 01-12-2026  Ida Holm (1043): @møde hver uge" in result.output
    assert "31-05-2027" not in result.output

    result = runner.invoke(cli, ["followup", str(out), "--leader", "Ingen Leder"])
    assert result.exit_code == 0
    assert result.output == "No open agreements for Ingen Leder.\n"

    result = runner.invoke(cli, ["followup", str(out), "--due-within", "snart"])
    assert result.exit_code == 1
    assert "is not a period" in result.output


def test_followup_command_without_results(tmp_path: Path) -> None:
    """A folder without collected results says to collect first."""
    result = CliRunner().invoke(cli, ["followup", str(tmp_path)])
    assert result.exit_code == 1
    assert "run 'musforms collect' first" in result.output


def test_rewrite_followup_after_purge(tmp_path: Path, sample: list[Response]) -> None:
    """Rewriting the follow-up files from the responses that are kept leaves no row, event or
    minutes index entry of the employees that were removed, and keeps the settings used."""
    from icalendar import Calendar

    from musforms.outputs import rewrite_followup

    org = Organisation(name="Ærø Kommune", followup_months=2)
    write_outputs(tmp_path, sample, None, org, by_department=True, today=TODAY)
    (tmp_path / "minutes" / "1042-soeren-aeroe.docx").unlink()
    rewrite_followup(tmp_path, sample[1:])

    sheets = _sheet_rows(tmp_path / "agreements.xlsx")
    assert list(sheets) == ["IT"]
    text = (tmp_path / "agreements.csv").read_text(encoding="utf-8-sig")
    assert "1042" not in text and "Søren" not in text
    ics = Calendar.from_ical((tmp_path / "followup.ics").read_bytes())
    uids = {str(ev["UID"]) for ev in ics.walk("VEVENT")}
    assert uids == {"DDDDEEEEFFFF-agr-1@musforms", "DDDDEEEEFFFF-agr-2@musforms"} | {
        "GGGGHHHHJJJJ-checkin@musforms"
    }
    [ulla] = [ev for ev in ics.walk("VEVENT") if "checkin" in str(ev["UID"])]
    assert ulla.decoded("DTSTART") == dt.date(2027, 1, 30)  # two months after 30 November
    index = (tmp_path / "minutes" / ".index.json").read_text(encoding="utf-8")
    assert "1042" not in index and "1043-ida-holm.docx" in index


@pytest.mark.parametrize(("period", "days"), [("30", "30 days"), ("30d", "30 days"),
                                              ("1w", "7 days"), ("1d", "1 day")])  # fmt: skip
def test_due_within_says_the_period_in_days_whatever_was_typed(
    tmp_path: Path, sample: list[Response], period: str, days: str
) -> None:
    """--due-within 30 (no unit) counts days, and the output says so, with the last day;
    --help says it too."""
    out = results_folder(tmp_path, sample)
    runner = CliRunner()
    args = ["followup", str(out), "--today", "20-01-2027", "--due-within", period]
    result = runner.invoke(cli, args)
    assert result.exit_code == 0, result.output
    first = result.output.splitlines()[0]
    assert first.startswith(f"Open agreements due within {days} (until ")
    assert first.endswith("), and overdue ones:")
    result = runner.invoke(cli, [*args, "--leader", "Ingen Leder"])
    assert result.output == f"No open agreements for Ingen Leder due within {days}.\n"
    assert "a number alone counts days" in " ".join(runner.invoke(cli, ["followup", "-h"])
                                                   .output.split())  # fmt: skip
