"""The employee roster: CSV the way Danish Excel saves it, or an XLSX workbook.

CSV may be ``;``- or ``,``-separated (or tab-separated, as Excel's "Unicode text"), UTF-8
with or without BOM, UTF-16, or cp1252 (Excel's plain "CSV"). Column names may be English
(``id``, ``name``…) or Danish (``medarbejdernr``, ``navn``…), in any case and spacing. Every
problem is reported at once, one per line, with the file and the row number as Excel shows
it (the header is row 1).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
import warnings
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from musforms.dates import parse_date
from musforms.errors import ConfigError
from musforms.models import Employee

FIELDS = (
    "id",
    "name",
    "email",
    "department",
    "manager",
    "manager_email",
    "meeting_date",
    "language",
)
REQUIRED = ("id", "name")

# Column names HR may use, normalised (see _norm); the first of each is the English one.
ALIASES: dict[str, tuple[str, ...]] = {
    "id": ("id", "medarbejdernr", "medarbejdernummer", "medarbejderid", "medarbnr", "mednr",
           "employeeid", "nr"),
    "name": ("name", "navn", "fuldtnavn", "fuldenavn", "medarbejder", "employee"),
    "email": ("email", "mail", "emailadresse", "mailadresse"),
    "department": ("department", "afdeling", "enhed"),
    "manager": ("manager", "leder", "naermesteleder", "nærmesteleder"),
    "manager_email": ("manageremail", "ledersemail", "lederemail", "ledersmail", "ledermail"),
    "meeting_date": ("meetingdate", "dato", "mødedato", "moededato", "samtaledato", "date"),
    "language": ("language", "sprog", "lang"),
}  # fmt: skip
DANISH_NAMES = {
    "id": "medarbejdernr",
    "name": "navn",
    "email": "e-mail",
    "department": "afdeling",
    "manager": "leder",
    "manager_email": "leders e-mail",
    "meeting_date": "mødedato",
    "language": "sprog",
}
LANGUAGE_WORDS = {
    "da": "da", "dansk": "da", "danish": "da", "dk": "da",
    "en": "en", "engelsk": "en", "english": "en", "uk": "en", "gb": "en",
}  # fmt: skip

_BY_ALIAS = {alias: field for field, names in ALIASES.items() for alias in names}
MAX_ROWS = 200_000


def _norm(header: str) -> str:
    return re.sub(r"[\s_\-.:]+", "", header.strip().lower())


def load_roster(path: Path) -> list[Employee]:
    """Read the employees in a roster file (CSV or XLSX), in the file's order.

    Raises ``ConfigError`` with every problem found, one per line, each naming the file
    and the row.
    """
    if not path.exists():
        raise ConfigError(f"{path}: file not found")
    if path.is_dir():
        raise ConfigError(f"{path}: is a folder; give the roster file (.csv or .xlsx)")
    suffix = path.suffix.lower()
    if suffix == ".xls":
        raise ConfigError(
            f"{path}: old Excel format (.xls); in Excel choose Save as → Excel workbook "
            "(.xlsx) or CSV"
        )
    head = _read(path)[:4]
    rows = _xlsx_rows(path) if suffix in (".xlsx", ".xlsm") or head == b"PK\x03\x04" else None
    if rows is None:
        rows = _csv_rows(path)
    return _employees(path, rows)


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise ConfigError(f"{path}: cannot be read ({exc.strerror})") from None


def _decode(path: Path, raw: bytes) -> str:
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        return raw.decode("utf-16")
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        # Danish Excel's plain "CSV (semikolonsepareret)" is Windows-1252.
        return raw.decode("cp1252", errors="replace")


def _delimiter(text: str) -> str:
    """The separator of the header line: whichever of ; , tab splits it into most columns."""
    first = next((line for line in text.splitlines() if line.strip()), "")
    widths = {d: len(next(csv.reader([first], delimiter=d), [])) for d in (";", ",", "\t")}
    return max(widths, key=lambda d: widths[d])


def _csv_rows(path: Path) -> list[list[Any]]:
    text = _decode(path, _read(path))
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=_delimiter(text))
    try:
        return [row for _, row in zip(range(MAX_ROWS + 2), reader, strict=False)]
    except csv.Error as exc:
        raise ConfigError(f"{path}, row {reader.line_num}: cannot be read as CSV ({exc})") from None


def _xlsx_rows(path: Path) -> list[list[Any]]:
    import zipfile

    from openpyxl import load_workbook

    try:
        with warnings.catch_warnings():
            # openpyxl warns about styles and extensions it ignores; they don't matter here.
            warnings.simplefilter("ignore")
            wb = load_workbook(path, read_only=True, data_only=True)
            try:
                ws = wb.worksheets[0]
                cells = ws.iter_rows(values_only=True)
                rows = [list(r) for _, r in zip(range(MAX_ROWS + 2), cells, strict=False)]
            finally:
                wb.close()
    except (zipfile.BadZipFile, KeyError, ValueError, OSError, IndexError) as exc:
        raise ConfigError(
            f"{path}: not a readable Excel workbook ({exc.__class__.__name__}); open it in "
            "Excel and save it again as .xlsx, or as CSV"
        ) from None
    return rows


def _cell(value: Any) -> str:
    """A cell as text: numbers as Excel shows them (1042, not 1042.0)."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    return str(value).strip()


def _header(path: Path, header: Sequence[Any], errors: list[str]) -> dict[int, str]:
    """Column index → field; unknown and repeated columns are errors."""
    columns: dict[int, str] = {}
    seen: dict[str, int] = {}
    for index, cell in enumerate(header):
        name = _cell(cell)
        if not name:
            continue
        field = _BY_ALIAS.get(_norm(name))
        if field is None:
            known = ", ".join(f"{f} ({DANISH_NAMES[f]})" for f in FIELDS)
            errors.append(
                f"{path}, row 1: unknown column {name!r} (column {_column_letter(index)}); "
                f"the columns are {known}"
            )
        elif field in seen:
            errors.append(
                f"{path}, row 1: columns {_column_letter(seen[field])} and "
                f"{_column_letter(index)} both give {field!r}; keep one"
            )
        else:
            seen[field] = index
            columns[index] = field
    for field in REQUIRED:
        if field not in seen:
            errors.append(f"{path}, row 1: the column {field!r} ({DANISH_NAMES[field]}) is missing")
    return columns


def _column_letter(index: int) -> str:
    letters = ""
    index += 1
    while index:
        index, rem = divmod(index - 1, 26)
        letters = chr(65 + rem) + letters
    return letters


def _employees(path: Path, rows: Iterable[Sequence[Any]]) -> list[Employee]:
    all_rows = list(rows)
    if len(all_rows) > MAX_ROWS + 1:
        raise ConfigError(f"{path}: more than {MAX_ROWS} rows; split the roster")
    header_at = next((i for i, r in enumerate(all_rows) if any(_cell(c) for c in r)), None)
    if header_at is None:
        raise ConfigError(
            f"{path}: the file is empty; the first row names the columns "
            "(medarbejdernr;navn;e-mail;afdeling;leder;leders e-mail;mødedato;sprog)"
        )
    errors: list[str] = []
    columns = _header(path, all_rows[header_at], errors)
    employees: list[Employee] = []
    first_row: dict[str, int] = {}
    for index in range(header_at + 1, len(all_rows)):
        row_number = index + 1  # as Excel numbers rows
        cells = all_rows[index]
        if not any(_cell(c) for c in cells):
            continue
        where = f"{path}, row {row_number}"
        values: dict[str, Any] = {}
        for col, cell in enumerate(cells):
            field = columns.get(col)
            if field is None:
                # Unknown columns are reported once, on row 1; a value under no name is not.
                if _cell(cell) and not _cell_header(all_rows[header_at], col):
                    errors.append(
                        f"{where}: a value in column {_column_letter(col)}, which has no "
                        "name in row 1"
                    )
                continue
            if field == "meeting_date":
                values[field] = _date(cell, where, errors)
            elif field == "language":
                values[field] = _language(_cell(cell), where, errors)
            else:
                values[field] = _cell(cell) or None
        row_ok = True
        for field in REQUIRED:
            if field in columns.values() and not values.get(field):
                errors.append(f"{where}: no {field} ({DANISH_NAMES[field]})")
                row_ok = False
        emp_id = values.get("id")
        if emp_id:
            if emp_id in first_row:
                errors.append(
                    f"{where}: employee id {emp_id!r} is also on row {first_row[emp_id]}; "
                    "every employee needs their own id"
                )
                row_ok = False
            else:
                first_row[emp_id] = row_number
        if row_ok and not errors:
            employees.append(Employee(**values))
    if errors:
        raise ConfigError("\n".join(errors))
    return employees


def _cell_header(header: Sequence[Any], col: int) -> str:
    return _cell(header[col]) if col < len(header) else ""


def _date(cell: Any, where: str, errors: list[str]) -> dt.date | None:
    if isinstance(cell, dt.datetime):
        return cell.date()
    if isinstance(cell, dt.date):
        return cell
    try:
        return parse_date(_cell(cell))
    except ValueError as exc:
        errors.append(f"{where}: meeting date {exc}")
        return None


def _language(text: str, where: str, errors: list[str]) -> str | None:
    if not text:
        return None
    lang = LANGUAGE_WORDS.get(text.lower())
    if lang is None:
        errors.append(f"{where}: unknown language {text!r}; write da or en")
    return lang
