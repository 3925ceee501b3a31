"""The roster protects the round: musforms roster, generate and send share one set of checks,
each problem a line naming the file, the row, the column and what to do."""

from __future__ import annotations

import datetime as dt
import zipfile
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner
from docx import Document
from lxml import etree
from openpyxl import Workbook

from musforms.cli import cli
from musforms.generate import generate
from musforms.roster import Checks, check_roster, load_roster
from tests.conftest import EVERY_TYPE

TODAY = dt.date(2026, 12, 2)
HEADER = "Medarbejdernr;Navn;E-mail;Afdeling;Leder;Leders e-mail;Mødedato;Sprog"


def _csv(tmp_path: Path, rows: list[str], name: str = "roster.csv") -> Path:
    path = tmp_path / name
    path.write_text("\r\n".join([HEADER, *rows]) + "\r\n", encoding="utf-8-sig")
    return path


def _lines(path: Path, **checks: object) -> list[str]:
    return check_roster(path, Checks(**{"today": TODAY, **checks}))  # type: ignore[arg-type]


def test_two_employees_with_one_address_in_other_case_are_named_with_both_rows(
    tmp_path: Path,
) -> None:
    """A form would reach the wrong person: the second row names the first."""
    path = _csv(tmp_path, [
        "1;Søren Ærø;soeren@eksempel.dk;Økonomi;;;14-01-2027;da",
        "2;Мария Иванова;maria@eksempel.dk;Økonomi;;;14-01-2027;en",
        "3;Søren Ærø Jensen;Soeren@Eksempel.DK;Løn;;;14-01-2027;da",
    ])  # fmt: skip
    assert _lines(path) == [
        f"{path}, row 4, column C (e-mail): Soeren@Eksempel.DK is also the address on row 2, "
        "so one of them would get the other's form. Give each employee their own address."
    ]


def test_an_address_that_is_not_one_is_named(tmp_path: Path) -> None:
    path = _csv(tmp_path, [
        "1;Søren Ærø;soeren(at)eksempel.dk;Økonomi;Åse;aase@eksempel;14-01-2027;da",
        "2;Zofia Żółkiewska;zofia@eksempel.dk;Økonomi;Åse;aase@eksempel.dk;14-01-2027;da",
    ])  # fmt: skip
    lines = _lines(path)
    assert len(lines) == 2
    assert lines[0].startswith(f"{path}, row 2, column C (e-mail): 'soeren(at)eksempel.dk' is ")
    assert lines[0].endswith("no form can be mailed to it. Correct the address.")
    assert lines[1].startswith(f"{path}, row 2, column F (leders e-mail): 'aase@eksempel' is ")


@pytest.mark.parametrize(
    ("date", "what"),
    [
        ("01-12-2026", "the meeting date 01-12-2026 is in the past"),
        ("03-06-2028", "the meeting date 03-06-2028 is more than 18 months ahead; check the year"),
        ("2. december 2027", ""),
    ],
)
def test_a_meeting_date_in_the_past_or_too_far_ahead(tmp_path: Path, date: str, what: str) -> None:
    path = _csv(tmp_path, [f"1;Νίκος Παπαδόπουλος;nikos@eksempel.dk;;;;{date};en"])
    lines = _lines(path)
    if date.startswith("2. december"):
        # 2 December 2027 is 12 months ahead: neither past nor too far.
        assert lines == []
        return
    assert len(lines) == 1
    assert lines[0].startswith(f"{path}, row 2, column G (mødedato): {what}")


def test_the_edges_of_the_meeting_date_window_pass(tmp_path: Path) -> None:
    """Today and exactly 18 months ahead are good dates; a day before and a day after not."""
    path = _csv(tmp_path, [
        "1;A;a@eksempel.dk;;;;02-12-2026;",
        "2;B;b@eksempel.dk;;;;02-06-2028;",
        "3;C;c@eksempel.dk;;;;01-12-2026;",
        "4;D;d@eksempel.dk;;;;03-06-2028;",
    ])  # fmt: skip
    assert [line.split(",")[1] for line in _lines(path)] == [" row 4", " row 5"]


def test_a_leader_without_an_address_matters_only_when_leaders_are_mailed(tmp_path: Path) -> None:
    path = _csv(tmp_path, [
        "1;Søren Ærø;soeren@eksempel.dk;Økonomi;Åse Østergård;;14-01-2027;da",
        "2;ليلى حداد;laila@eksempel.dk;Økonomi;;;14-01-2027;en",
    ])  # fmt: skip
    assert _lines(path) == []
    assert _lines(path, leaders=True) == [
        f"{path}, row 2, column F (leders e-mail): the leader Åse Østergård has no e-mail "
        "address, so their employee's minutes cannot be mailed to them. Add the leader's e-mail."
    ]


def test_a_roster_without_a_leaders_email_column_names_no_column_letter(tmp_path: Path) -> None:
    path = tmp_path / "roster.csv"
    path.write_text("id;navn;leder\n1;Søren;Åse\n", encoding="utf-8")
    (line,) = _lines(path, leaders=True)
    assert line.startswith(f"{path}, row 2, column ? (leders e-mail): the leader Åse has no")


def test_control_characters_are_removed_with_a_line_saying_where(tmp_path: Path) -> None:
    """A bell or a form feed pasted into a name is removed (the Word form could not hold it);
    the line names the row, the column and the characters."""
    path = _csv(tmp_path, ["1;Søren\x07 Ærø;soeren@eksempel.dk;Øko\x0cnomi;;;14-01-2027;da"])
    told: list[str] = []
    (employee,) = load_roster(path, told.append)
    assert employee.name == "Søren Ærø"
    assert employee.department == "Økonomi"
    assert told == [
        f"{path}, row 2, column B (navn): removed 1 control character (U+0007) that a form "
        "cannot hold; check the cell in Excel, it was probably pasted from another system",
        f"{path}, row 2, column D (afdeling): removed 1 control character (U+000C) that a "
        "form cannot hold; check the cell in Excel, it was probably pasted from another system",
    ]


def test_a_control_character_in_a_cell_gives_a_word_form_that_opens(tmp_path: Path) -> None:
    """The whole way: a CSV cell with U+0001 in the name (pasted from another system),
    generated into a Word form that is well-formed XML and that python-docx opens, the name
    in it without the character."""
    roster = _csv(tmp_path, ["1042;Мария\x01 Иванова;maria@eksempel.dk;;;;14-01-2027;en"])
    questions = tmp_path / "questions.yaml"
    questions.write_text(yaml.safe_dump(EVERY_TYPE, allow_unicode=True), encoding="utf-8")
    result = generate(questions, roster, tmp_path / "forms", "2026", formats=["docx"], workers=1)
    assert any("row 2, column B (navn): removed 1 control character (U+0001)" in w
               for w in result.warnings)  # fmt: skip
    (form,) = (tmp_path / "forms").glob("*.docx")
    with zipfile.ZipFile(form) as z:
        root = etree.fromstring(z.read("word/document.xml"))
    text = "".join(root.itertext())
    assert "Мария Иванова" in text
    assert "\x01" not in text
    Document(str(form))


def test_a_title_row_above_the_header_is_passed_over_and_named_csv(tmp_path: Path) -> None:
    """A title and a date above the column names: the header is found on row 4, the rows
    above are named, and the employees are read (not 23 lines of unknown columns)."""
    path = tmp_path / "roster.csv"
    path.write_text(
        "MUS 2026 – medarbejdere, Økonomi;;;;;;;\r\n"
        "Udtrukket 01-11-2026;;;;;;;\r\n"
        ";;;;;;;\r\n"
        f"{HEADER}\r\n"
        "1042;Søren Ærø;soeren@eksempel.dk;Økonomi;;;14-01-2027;da\r\n"
        "1043;Zofia Żółkiewska;zofia@eksempel.dk;Økonomi;;;15-01-2027;en\r\n",
        encoding="cp1252",
        errors="replace",
    )
    told: list[str] = []
    employees = load_roster(path, told.append)
    assert [e.id for e in employees] == ["1042", "1043"]
    assert told == [
        f"{path}: the column names are on row 4; rows 1 and 2 above them (starting "
        "'MUS 2026 – medarbejdere, Økonomi') were passed over as a title. If one of them "
        "holds an employee, put it below the column names."
    ]


def test_a_title_row_above_the_header_is_passed_over_and_named_xlsx(tmp_path: Path) -> None:
    wb = Workbook()
    ws = wb.active
    ws.append(["Medarbejderliste MUS 2026"])
    ws.append(["Medarbejdernr", "Navn", "E-mail"])
    ws.append([1042, "Søren Ærø", "soeren@eksempel.dk"])
    path = tmp_path / "roster.xlsx"
    wb.save(path)
    result = CliRunner().invoke(cli, ["roster", str(path), "--today", "02-12-2026"])
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("OK: 1 employee in 1 department, 1 warning")
    assert result.stderr == (
        f"Warning: {path}: the column names are on row 2; row 1 above them (starting "
        "'Medarbejderliste MUS 2026') was passed over as a title. If that row holds an "
        "employee, put it below the column names.\n"
    )


def test_a_comma_csv_with_a_title_row_is_split_on_its_commas(tmp_path: Path) -> None:
    """The separator is judged on the widest of the first rows, not on a title of one cell."""
    path = tmp_path / "roster.csv"
    path.write_text("Roster 2026\nid,name,email\n1,Søren Ærø,soeren@eksempel.dk\n", "utf-8")
    (employee,) = load_roster(path)
    assert employee.email == "soeren@eksempel.dk"


def test_without_a_header_anywhere_the_first_row_is_still_the_one_named(tmp_path: Path) -> None:
    path = tmp_path / "roster.csv"
    path.write_text("Fornavn;Efternavn\nSøren;Ærø\n", encoding="utf-8")
    result = CliRunner().invoke(cli, ["roster", str(path)])
    assert result.exit_code == 1
    assert f"{path}, row 1: unknown column 'Fornavn'" in result.stderr


def test_the_roster_command_tells_every_check_and_the_init_organisation(tmp_path: Path) -> None:
    """musforms init's folder, its roster filled in with mistakes: each is a Warning line,
    the organisation name still as init wrote it too; the command still counts (exit 0)."""
    runner = CliRunner()
    project = tmp_path / "mus2026"
    assert runner.invoke(cli, ["init", str(project)]).exit_code == 0
    roster = _csv(project, [
        "1;Søren Ærø;soeren@eksempel.dk;Økonomi;Åse;;14-01-2027;da",
        "2;Zofia Żółkiewska;SOEREN@eksempel.dk;Økonomi;Åse;aase@eksempel.dk;14-01-2025;en",
    ])  # fmt: skip
    result = runner.invoke(cli, ["roster", str(roster), "--leaders", "--today", "02-12-2026"])
    assert result.exit_code == 0, result.output
    warnings = result.stderr.splitlines()
    assert warnings == [
        f"Warning: {roster}, row 2, column F (leders e-mail): the leader Åse has no e-mail "
        "address, so their employee's minutes cannot be mailed to them. Add the leader's e-mail.",
        f"Warning: {roster}, row 3, column C (e-mail): SOEREN@eksempel.dk is also the address "
        "on row 2, so one of them would get the other's form. Give each employee their own "
        "address.",
        f"Warning: {roster}, row 3, column G (mødedato): the meeting date 14-01-2025 is in the "
        "past. Correct it, or leave the cell empty if no date is set yet.",
        f"Warning: {project / 'config' / 'musforms.toml'}: the organisation is still called "
        "'Min organisation', as musforms init wrote it; the forms and mails print it. Write "
        'your own name, e.g. organisation = "Eksempel Kommune".',
    ]
    assert result.stdout.startswith("OK: 2 employees in 1 department, 4 warnings")


def test_generate_tells_the_same_lines_and_still_writes_the_forms(tmp_path: Path) -> None:
    runner = CliRunner()
    project = tmp_path / "mus2026"
    assert runner.invoke(cli, ["init", str(project), "--organisation", "Eksempel Kommune"]
                         ).exit_code == 0  # fmt: skip
    roster = _csv(project, [
        "1;Søren Ærø;soeren@eksempel.dk;;;;14-01-2027;da",
        "2;Zofia Żółkiewska;Soeren@eksempel.dk;;;;14-01-2027;da",
    ])  # fmt: skip
    result = runner.invoke(cli, [
        "generate", "-q", str(project / "config" / "questions.yaml"), "-r", str(roster),
        "-o", str(tmp_path / "forms"), "--cycle", "2026", "--format", "pdf", "--workers", "1",
    ])  # fmt: skip
    assert result.exit_code == 0, result.output
    assert result.stderr.splitlines() == [
        f"Warning: {roster}, row 3, column C (e-mail): Soeren@eksempel.dk is also the address "
        "on row 2, so one of them would get the other's form. Give each employee their own "
        "address."
    ]
    assert "Wrote 2 forms (PDF)" in result.stdout


def test_many_lines_are_capped_with_a_count_of_the_rest(tmp_path: Path) -> None:
    """A roster of last year's dates does not bury generate's output: 50 lines and a count."""
    rows = [f"{i};Person {i};p{i}@eksempel.dk;;;;14-01-2025;da" for i in range(1, 121)]
    roster = _csv(tmp_path, rows)
    questions = tmp_path / "questions.yaml"
    questions.write_text(yaml.safe_dump(EVERY_TYPE, allow_unicode=True), encoding="utf-8")
    result = generate(questions, roster, tmp_path / "forms", "2026", formats=["pdf"], workers=1)
    assert len(result.warnings) == 51
    assert result.warnings[-1] == (
        f"{roster}: 70 more lines like these; 'musforms roster {roster}' lists them all"
    )


def test_send_with_a_roster_tells_the_same_lines_before_it_sends(tmp_path: Path) -> None:
    """send --roster checks the roster as musforms roster does (the same lines), and the
    organisation name init wrote; the shared address is still not sent to."""
    from tests.test_send import _round

    forms = _round(tmp_path, 3)
    roster = tmp_path / "mus2026" / "roster.csv"
    text = roster.read_text(encoding="utf-8").replace("e1@example.dk", "E0@example.dk")
    roster.write_text(text.replace("14-01-2027", "14-01-2026", 1), encoding="utf-8")
    result = CliRunner().invoke(cli, [
        "send", str(forms), "--drafts", str(tmp_path / "outbox"), "--from", "hr@example.dk",
        "--roster", str(roster), "--deadline", "15-12-2026",
    ])  # fmt: skip
    warnings = [line for line in result.stderr.splitlines() if line.startswith("Warning:")]
    assert warnings == [
        "Warning: the settings the forms in "
        f"{forms} were made with: the organisation is still called 'Min organisation', as "
        "musforms init wrote it; the forms and mails print it. Write your own name, e.g. "
        'organisation = "Eksempel Kommune" in config/musforms.toml, then run musforms generate '
        "again.",
        f"Warning: {roster}, row 2, column F (mødedato): the meeting date 14-01-2026 is in the "
        "past. Correct it, or leave the cell empty if no date is set yet.",
        f"Warning: {roster}, row 3, column C (e-mail): E0@example.dk is also the address on "
        "row 2, so one of them would get the other's form. Give each employee their own "
        "address.",
    ]
    assert sum(line.startswith("Not sent: ") for line in result.stderr.splitlines()) == 2
    assert len(list((tmp_path / "outbox").glob("*.eml"))) == 1
    assert result.exit_code == 1


def test_a_control_character_excel_escaped_in_an_xlsx_is_removed_too(tmp_path: Path) -> None:
    """Excel writes a bell in a cell as _x0007_ in the workbook's XML: it is read as the
    character and removed, with the line, not kept as '_x0007_' in the name; a typed
    '_x0041_' (which Excel escapes as _x005F_x0041_) stays as typed."""
    wb = Workbook()
    ws = wb.active
    ws.append(["id", "navn", "afdeling"])
    ws.append(["1", "MariaBELL Ivanova", "Løn UNDERSCORE"])
    plain = tmp_path / "plain.xlsx"
    wb.save(plain)
    path = tmp_path / "roster.xlsx"
    with zipfile.ZipFile(plain) as zin, zipfile.ZipFile(path, "w") as zout:
        for name in zin.namelist():
            data = (
                zin.read(name).replace(b"BELL", b"_x0007_").replace(b"UNDERSCORE", b"_x005F_x0041_")
            )
            zout.writestr(name, data)
    told: list[str] = []
    (employee,) = load_roster(path, told.append)
    assert employee.name == "Maria Ivanova"
    assert employee.department == "Løn _x0041_"
    assert told == [
        f"{path}, row 2, column B (navn): removed 1 control character (U+0007) that a form "
        "cannot hold; check the cell in Excel, it was probably pasted from another system"
    ]


def test_the_roster_command_tells_a_broken_musforms_toml_and_still_checks_the_roster(
    tmp_path: Path,
) -> None:
    (tmp_path / "config").mkdir()
    settings = tmp_path / "config" / "musforms.toml"
    settings.write_text("followup_months = tre\n", encoding="utf-8")
    roster = _csv(tmp_path, ["1;Søren Ærø;soeren@eksempel.dk;;;;14-01-2027;da"])
    result = CliRunner().invoke(cli, ["roster", str(roster), "--today", "02-12-2026"])
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("OK: 1 employee in 1 department, 1 warning")
    assert result.stderr == (
        f"Warning: {settings}, line 1: TOML syntax error: Invalid value (followup_months is a "
        "number of months, written as digits without quotes: followup_months = 3)\n"
    )


def test_send_leaders_with_a_roster_names_the_leader_without_an_address(tmp_path: Path) -> None:
    """With --leaders, a leader's name without an e-mail in the roster given is a line naming
    the row and column, besides the employee whose minutes went to no one; no meeting date
    is called past (the leaders' mail goes after the meetings)."""
    from tests.test_send import _collected, _round

    forms = _round(tmp_path, 2)
    results = _collected(tmp_path, forms, range(2), blank=[])
    roster = tmp_path / "mus2026" / "roster.csv"
    text = roster.read_text(encoding="utf-8").replace(";bjoern@example.dk;", ";;")
    roster.write_text(text.replace("14-01-2027", "14-01-2026"), encoding="utf-8")
    result = CliRunner().invoke(cli, [
        "send", str(forms), "--drafts", str(tmp_path / "outbox"), "--from", "hr@example.dk",
        "--leaders", str(results), "--roster", str(roster),
    ])  # fmt: skip
    warnings = [line for line in result.stderr.splitlines() if line.startswith("Warning:")]
    assert warnings[1:] == [
        f"Warning: {roster}, row 3, column E (leders e-mail): the leader Bjørn Ødegaard has no "
        "e-mail address, so their employee's minutes cannot be mailed to them. Add the "
        "leader's e-mail."
    ]
    assert "Not sent: employee 1001 (" in result.stderr
    assert len(list((tmp_path / "outbox").glob("*.eml"))) == 1
