"""Rosters as Excel writes them (CSV in its encodings and separators, XLSX); every error at once."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from click.testing import CliRunner
from openpyxl import Workbook

from musforms.cli import cli
from musforms.errors import ConfigError
from musforms.models import Employee
from musforms.roster import load_roster

SAMPLE = Path(__file__).parent.parent / "samples" / "roster.csv"

DANISH_HEADER = "Medarbejdernr;Navn;E-mail;Afdeling;Leder;Leders e-mail;Mødedato;Sprog"
ROWS = [
    "1042;Søren Ærø;soeren@eksempel.example;Økonomi;Åse Østergård;aase@eksempel.example;"
    "14-01-2027;da",
    "1043;Åse Østergård;aase@eksempel.example;Ledelse;Bjørn Dæhli;;14.1.2027;en",
    "1044;Jens Møller;;Økonomi;Åse Østergård;;15/1 2027;",
]


def write(tmp_path: Path, lines: list[str], *, encoding: str = "utf-8", sep: str = ";",
          newline: str = "\r\n", name: str = "roster.csv") -> Path:  # fmt: skip
    path = tmp_path / name
    text = newline.join(line.replace(";", sep) for line in lines) + newline
    path.write_bytes(text.encode(encoding))
    return path


def check_three(employees: list[Employee]) -> None:
    assert [e.id for e in employees] == ["1042", "1043", "1044"]
    soeren, aase, jens = employees
    assert soeren.name == "Søren Ærø"
    assert soeren.department == "Økonomi"
    assert soeren.manager == "Åse Østergård"
    assert soeren.manager_email == "aase@eksempel.example"
    assert soeren.meeting_date == dt.date(2027, 1, 14)
    assert soeren.language == "da"
    assert aase.language == "en" and aase.manager_email is None
    assert aase.meeting_date == dt.date(2027, 1, 14)
    assert jens.email is None and jens.language is None
    assert jens.meeting_date == dt.date(2027, 1, 15)


@pytest.mark.parametrize(
    ("encoding", "sep", "newline"),
    [
        ("cp1252", ";", "\r\n"),  # Danish Excel: "CSV (semikolonsepareret)"
        ("utf-8-sig", ";", "\r\n"),  # "CSV UTF-8"
        ("utf-8", ",", "\n"),  # Google Sheets / LibreOffice with commas
        ("utf-8-sig", ",", "\r\n"),
        ("utf-16", "\t", "\r\n"),  # Excel's "Unicode text"
    ],
)
def test_csv_as_excel_writes_it(tmp_path: Path, encoding: str, sep: str, newline: str) -> None:
    """Separator, encoding and line endings are found; æøå come through."""
    path = write(tmp_path, [DANISH_HEADER, *ROWS], encoding=encoding, sep=sep, newline=newline)
    check_three(load_roster(path))


def test_english_headers_any_case_and_spacing(tmp_path: Path) -> None:
    header = " ID ; Name;EMAIL;department;Manager;manager_email;Meeting date;LANGUAGE"
    check_three(load_roster(write(tmp_path, [header, *ROWS])))


def test_quoted_cells_with_separators_and_blank_rows(tmp_path: Path) -> None:
    """Excel quotes cells holding ';' and leaves empty rows and trailing ';;' behind."""
    lines = [
        "Medarbejdernr;Navn;Afdeling;;",
        '1;"Hansen; Jens";"Børn og Unge";;',
        ";;;;",
        '2;"Anne ""Søs"" Bø";Økonomi;;',
        "",
    ]
    employees = load_roster(write(tmp_path, lines))
    assert [(e.id, e.name, e.department) for e in employees] == [
        ("1", "Hansen; Jens", "Børn og Unge"),
        ("2", 'Anne "Søs" Bø', "Økonomi"),
    ]


def test_xlsx_with_real_dates_and_numbers(tmp_path: Path) -> None:
    """An XLSX made with openpyxl: numeric ids and date cells as Excel stores them."""
    wb = Workbook()
    ws = wb.active
    ws.append(DANISH_HEADER.split(";"))
    ws.append([1042, "Søren Ærø", "soeren@eksempel.example", "Økonomi", "Åse Østergård",
               "aase@eksempel.example", dt.datetime(2027, 1, 14), "da"])  # fmt: skip
    ws.append([1043.0, "Åse Østergård", "aase@eksempel.example", "Ledelse", "Bjørn Dæhli",
               None, "14.1.2027", "EN"])  # fmt: skip
    ws.append([None] * 8)
    ws.append(["1044", "Jens Møller", None, "Økonomi", "Åse Østergård", None, dt.date(2027, 1, 15),
               None])  # fmt: skip
    path = tmp_path / "medarbejdere.xlsx"
    wb.save(path)
    check_three(load_roster(path))


def test_xlsx_errors_carry_row_numbers(tmp_path: Path) -> None:
    wb = Workbook()
    ws = wb.active
    ws.append(["id", "navn", "mødedato"])
    ws.append([1, "A", "31-02-2027"])
    ws.append([1, None, None])
    path = tmp_path / "r.xlsx"
    wb.save(path)
    with pytest.raises(ConfigError) as info:
        load_roster(path)
    assert str(info.value).splitlines() == [
        f"{path}, row 2: meeting date '31-02-2027' is not a day that exists",
        f"{path}, row 3: no name (navn)",
        f"{path}, row 3: employee id '1' is also on row 2; every employee needs their own id",
    ]


def test_every_problem_at_once_with_row_numbers(tmp_path: Path) -> None:
    """Header is row 1, as in Excel; all problems are listed together, one per line."""
    lines = [
        "Medarbejdernr;Navn;Afdeling;Mødedato;Sprog;Lønklasse",
        "1;Søren Ærø;Økonomi;14-01-2027;da;",
        ";Mangler Id;Økonomi;;;",
        "3;;Økonomi;;;",
        "1;Dobbelt Id;Økonomi;;;",
        "5;Dårlig Dato;Økonomi;næste uge;;",
        "6;Umulig Dato;Økonomi;31-02-2027;;",
        "7;Ukendt Sprog;Økonomi;;svensk;",
    ]
    path = write(tmp_path, lines)
    with pytest.raises(ConfigError) as info:
        load_roster(path)
    assert str(info.value).splitlines() == [
        f"{path}, row 1: unknown column 'Lønklasse' (column F); the columns are id "
        "(medarbejdernr), name (navn), email (e-mail), department (afdeling), manager (leder), "
        "manager_email (leders e-mail), meeting_date (mødedato), language (sprog)",
        f"{path}, row 3: no id (medarbejdernr)",
        f"{path}, row 4: no name (navn)",
        f"{path}, row 5: employee id '1' is also on row 2; every employee needs their own id",
        f"{path}, row 6: meeting date 'næste uge' is not a date; write it as dd-mm-åååå, "
        "e.g. 14-01-2027",
        f"{path}, row 7: meeting date '31-02-2027' is not a day that exists",
        f"{path}, row 8: unknown language 'svensk'; write da or en",
    ]


def test_missing_required_columns_and_repeated_column(tmp_path: Path) -> None:
    path = write(tmp_path, ["E-mail;Afdeling;Afdeling", "a@b.example;X;Y"])
    with pytest.raises(ConfigError) as info:
        load_roster(path)
    assert str(info.value).splitlines() == [
        f"{path}, row 1: columns B and C both give 'department'; keep one",
        f"{path}, row 1: the column 'id' (medarbejdernr) is missing",
        f"{path}, row 1: the column 'name' (navn) is missing",
    ]


def test_header_below_blank_rows_is_named_by_its_row(tmp_path: Path) -> None:
    """Blank rows above the header are passed over; its problems name the row it is on."""
    path = write(tmp_path, [";;", "", "E-mail;Afdeling;Afdeling;", "a@b.example;X;Y;glemt"])
    with pytest.raises(ConfigError) as info:
        load_roster(path)
    assert str(info.value).splitlines() == [
        f"{path}, row 3: columns B and C both give 'department'; keep one",
        f"{path}, row 3: the column 'id' (medarbejdernr) is missing",
        f"{path}, row 3: the column 'name' (navn) is missing",
        f"{path}, row 4: a value in column D, which has no name in row 3",
    ]


def test_value_under_a_column_without_name(tmp_path: Path) -> None:
    path = write(tmp_path, ["id;navn;", "1;A;glemt"])
    with pytest.raises(ConfigError, match=r"row 2: a value in column C, which has no name"):
        load_roster(path)


@pytest.mark.parametrize("content", [b"", b"\xef\xbb\xbf", b";;;\r\n\r\n"])
def test_empty_file(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "tom.csv"
    path.write_bytes(content)
    with pytest.raises(ConfigError, match=r"tom\.csv: the file is empty; the first row names"):
        load_roster(path)


def test_header_only_is_an_empty_roster(tmp_path: Path) -> None:
    assert load_roster(write(tmp_path, [DANISH_HEADER])) == []


def test_unreadable_files(tmp_path: Path) -> None:
    """Not found, old .xls, and a broken .xlsx are one readable line each."""
    with pytest.raises(ConfigError, match=r"nope\.csv: file not found"):
        load_roster(tmp_path / "nope.csv")
    old = tmp_path / "gammel.xls"
    old.write_bytes(b"\xd0\xcf\x11\xe0")
    with pytest.raises(ConfigError, match=r"old Excel format \(\.xls\)"):
        load_roster(old)
    broken = tmp_path / "broken.xlsx"
    broken.write_bytes(b"PK\x03\x04 not really a zip")
    with pytest.raises(ConfigError, match=r"broken\.xlsx: not a readable Excel workbook"):
        load_roster(broken)


def test_sample_roster_is_danish_excel_csv() -> None:
    """samples/roster.csv: cp1252, semicolons, CRLF, Danish headers, a dozen people."""
    raw = SAMPLE.read_bytes()
    assert raw.count(b"\r\n") == raw.count(b"\n")
    assert raw.decode("cp1252").startswith("Medarbejdernr;Navn;E-mail;Afdeling;")
    employees = load_roster(SAMPLE)
    assert len(employees) == 12
    assert len({e.department for e in employees}) >= 3
    assert any(e.language == "en" for e in employees)
    assert all(
        e.meeting_date and dt.date(2027, 1, 1) <= e.meeting_date <= dt.date(2027, 2, 28)
        for e in employees
    )
    assert {"Søren Ærø", "Åse Østergård"} <= {e.name for e in employees}


def test_roster_command_counts_per_department() -> None:
    result = CliRunner().invoke(cli, ["roster", str(SAMPLE)])
    assert result.exit_code == 0
    assert result.stdout.splitlines() == [
        "OK: 12 employees in 4 departments",
        "  Børn og Unge           4",
        "  Ledelsessekretariatet  1",
        "  Teknik og Miljø        3",
        "  Økonomi                4",
    ]


def test_roster_command_errors_exit_1(tmp_path: Path) -> None:
    path = write(tmp_path, ["id;navn", "1;", "1;B"])
    result = CliRunner().invoke(cli, ["roster", str(path)])
    assert result.exit_code == 1
    assert result.stderr == (
        f"Error: {path}, row 2: no name (navn)\n"
        f"{path}, row 3: employee id '1' is also on row 2; every employee needs their own id\n"
    )


def test_encoding_is_judged_on_the_whole_file(tmp_path: Path) -> None:
    """The file is read in pieces, but still as a whole: a Windows-1252 byte far down makes
    it cp1252 throughout, and a UTF-8 letter cut in two between pieces keeps it UTF-8."""
    filler = [f"{i};Person {i}" for i in range(10, 5000)]  # well past the first 64 KB
    cp1252 = write(tmp_path, ["id;navn", *filler, "1;Søren Ærø"], encoding="cp1252")
    assert load_roster(cp1252)[-1].name == "Søren Ærø"
    head = "id;navn\r\n"
    pad = "1;" + "a" * ((1 << 16) - len(head) - 3) + "\r\n"  # 'ø' will straddle byte 65,536
    straddling = tmp_path / "straddling.csv"
    straddling.write_bytes((head + pad + "2;Søren\r\n").encode("utf-8"))
    assert [e.name for e in load_roster(straddling)][-1] == "Søren"


def test_header_after_many_blank_lines(tmp_path: Path) -> None:
    """The separator is found on the first line that is not blank, however far down; row
    numbers still count every line."""
    blank = [""] * 40_000  # 80 KB, more than one piece
    path = write(tmp_path, [*blank, "id,navn", "1,A", "1,B"], sep=";")
    with pytest.raises(ConfigError) as info:
        load_roster(path)
    assert str(info.value) == (
        f"{path}, row 40003: employee id '1' is also on row 40002; every employee needs their "
        "own id"
    )


def test_too_many_rows(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A roster longer than the limit is refused as a whole, before its rows' own problems."""
    monkeypatch.setattr("musforms.roster.MAX_ROWS", 3)
    with pytest.raises(ConfigError, match=r"roster\.csv: more than 3 rows; split the roster"):
        load_roster(write(tmp_path, ["id;navn", "1;", "2;B", "3;C", "4;D"]))
    assert [e.id for e in load_roster(write(tmp_path, ["id;navn", "1;A", "2;B", "3;C"]))] == [
        "1",
        "2",
        "3",
    ]


def test_ids_used_twice_among_thousands(tmp_path: Path) -> None:
    """Every repeated id is reported with the row it was first on, wherever both are."""
    rows = [f"{i};Person {i}" for i in range(1, 3001)]
    rows[2999] = "17;Igen"
    rows[1500] = "2999;Også igen"
    path = write(tmp_path, ["id;navn", *rows])
    with pytest.raises(ConfigError) as info:
        load_roster(path)
    assert str(info.value).splitlines() == [
        f"{path}, row 3000: employee id '2999' is also on row 1502; every employee needs their "
        "own id",
        f"{path}, row 3001: employee id '17' is also on row 18; every employee needs their own id",
    ]


def test_a_cut_off_utf16_file_is_named_not_a_traceback(tmp_path: Path) -> None:
    """Excel's "Unicode text" cut off mid-character (an odd number of bytes)."""
    path = tmp_path / "roster.txt"
    path.write_bytes("id\tnavn\r\n1\tSøren Ærø\r\n".encode("utf-16")[:-1])
    with pytest.raises(ConfigError, match=r"roster\.txt: cannot be read as UTF-16 text"):
        load_roster(path)
