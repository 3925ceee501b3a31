"""The employee roster: CSV the way Danish Excel saves it, or an XLSX workbook.

CSV may be ``;``- or ``,``-separated (or tab-separated, as Excel's "Unicode text"), UTF-8
with or without BOM, UTF-16, or cp1252 (Excel's plain "CSV"). Column names may be English
(``id``, ``name``…) or Danish (``medarbejdernr``, ``navn``…), in any case and spacing. Every
problem is reported at once, one per line, with the file and the row number as Excel shows
it (the header is the first row that is not blank, row 1 in most files).
"""

from __future__ import annotations

import codecs
import contextlib
import csv
import datetime as dt
import itertools
import re
import warnings
import zipfile
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, BinaryIO

from musforms.dates import parse_date
from musforms.errors import ConfigError
from musforms.models import Employee
from musforms.scratch import connect

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
    return list(iter_roster(path))


def iter_roster(path: Path) -> Iterator[Employee]:
    """The employees in a roster file one at a time, in the file's order, the file read as a
    stream: a roster of 50,000 never sits in memory whole.

    Every problem in the file is raised at the end, together, as ``load_roster`` raises them.
    Employees are yielded only until the first problem, but one found further down still
    raises: read to the end before acting on any of them.
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
    with _open(path) as fh:
        head = fh.read(4)
    xlsx = suffix in (".xlsx", ".xlsm") or head == b"PK\x03\x04"
    with _xlsx_rows(path) if xlsx else _csv_rows(path) as rows:
        yield from _employees(path, rows)


def _open(path: Path) -> BinaryIO:
    try:
        return path.open("rb")
    except OSError as exc:
        raise ConfigError(f"{path}: cannot be read ({exc.strerror})") from None


def _encoding(path: Path) -> tuple[str, str]:
    """The encoding to read a CSV file with, and how to treat bytes it cannot decode."""
    with _open(path) as fh:
        if fh.read(2) in (b"\xff\xfe", b"\xfe\xff"):
            return "utf-16", "strict"
        fh.seek(0)
        decoder = codecs.getincrementaldecoder("utf-8")()
        try:
            while chunk := fh.read(1 << 16):
                decoder.decode(chunk)
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            # Danish Excel's plain "CSV (semikolonsepareret)" is Windows-1252.
            return "cp1252", "replace"
        except OSError as exc:
            raise ConfigError(f"{path}: cannot be read ({exc.strerror})") from None
    return "utf-8-sig", "strict"


def _first_line(path: Path, encoding: str, errors: str) -> str:
    """The first line that is not blank, as ``str.splitlines`` splits the text."""
    text = ""
    try:
        fh = path.open(encoding=encoding, errors=errors, newline="")
    except OSError as exc:
        raise ConfigError(f"{path}: cannot be read ({exc.strerror})") from None
    with fh:
        while True:
            chunk = _read_text(path, fh, encoding)
            text += chunk
            # Unless the file has ended, the last line may go on in the next chunk.
            lines = text.splitlines() if not chunk else text.splitlines()[:-1]
            line = next((line for line in lines if line.strip()), None)
            if line is not None or not chunk:
                return line or ""


def _read_text(path: Path, fh: Any, encoding: str) -> str:
    try:
        return str(fh.read(1 << 16))
    except UnicodeDecodeError:
        raise _not_text(path, encoding) from None


def _not_text(path: Path, encoding: str) -> ConfigError:
    return ConfigError(
        f"{path}: cannot be read as {encoding.upper()} text (damaged, or cut off): save it "
        "again from Excel as 'CSV UTF-8' or as an Excel workbook"
    )


def _delimiter(first: str) -> str:
    """The separator of the header line: whichever of ; , tab splits it into most columns."""
    widths = {d: len(next(csv.reader([first], delimiter=d), [])) for d in (";", ",", "\t")}
    return max(widths, key=lambda d: widths[d])


@contextlib.contextmanager
def _csv_rows(path: Path) -> Iterator[Iterator[list[str]]]:
    encoding, errors = _encoding(path)
    delimiter = _delimiter(_first_line(path, encoding, errors))
    try:
        fh = path.open(encoding=encoding, errors=errors, newline="")
    except OSError as exc:
        raise ConfigError(f"{path}: cannot be read ({exc.strerror})") from None
    with fh:
        yield _csv_records(path, csv.reader(fh, delimiter=delimiter), encoding)


def _csv_records(path: Path, reader: Any, encoding: str) -> Iterator[list[str]]:
    try:
        for _, row in zip(range(MAX_ROWS + 2), reader, strict=False):
            yield row
    except UnicodeDecodeError:
        raise _not_text(path, encoding) from None
    except csv.Error as exc:
        raise ConfigError(f"{path}, row {reader.line_num}: cannot be read as CSV ({exc})") from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot be read ({exc.strerror})") from None


_XLSX_ERRORS = (zipfile.BadZipFile, KeyError, ValueError, OSError, IndexError)


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    # openpyxl warns about styles and extensions it ignores; they don't matter here.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        yield


def _unreadable_xlsx(path: Path, exc: Exception) -> ConfigError:
    return ConfigError(
        f"{path}: not a readable Excel workbook ({exc.__class__.__name__}); open it in "
        "Excel and save it again as .xlsx, or as CSV"
    )


@contextlib.contextmanager
def _xlsx_rows(path: Path) -> Iterator[Iterator[list[Any]]]:
    from openpyxl import load_workbook

    try:
        with _quiet():
            wb = load_workbook(path, read_only=True, data_only=True)
    except _XLSX_ERRORS as exc:
        raise _unreadable_xlsx(path, exc) from None
    try:
        yield _xlsx_records(path, wb)
    finally:
        wb.close()


def _xlsx_records(path: Path, wb: Any) -> Iterator[list[Any]]:
    """The first sheet's rows, read a few hundred at a time with openpyxl's warnings off."""
    try:
        with _quiet():
            cells = wb.worksheets[0].iter_rows(values_only=True)
        left = MAX_ROWS + 2
        while left > 0:
            with _quiet():
                batch = [list(r) for r in itertools.islice(cells, min(left, 500))]
            if not batch:
                return
            left -= len(batch)
            yield from batch
    except _XLSX_ERRORS as exc:
        raise _unreadable_xlsx(path, exc) from None


def _cell(value: Any) -> str:
    """A cell as text: numbers as Excel shows them (1042, not 1042.0)."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    return str(value).strip()


def _header(
    path: Path, header: Sequence[Any], row: int, errors: list[str]
) -> dict[int, str]:  # fmt: skip
    """Column index → field; unknown and repeated columns are errors. ``row`` is the header's
    row number (blank rows above it are passed over)."""
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
                f"{path}, row {row}: unknown column {name!r} (column {_column_letter(index)}); "
                f"the columns are {known}"
            )
        elif field in seen:
            errors.append(
                f"{path}, row {row}: columns {_column_letter(seen[field])} and "
                f"{_column_letter(index)} both give {field!r}; keep one"
            )
        else:
            seen[field] = index
            columns[index] = field
    for field in REQUIRED:
        if field not in seen:
            errors.append(
                f"{path}, row {row}: the column {field!r} ({DANISH_NAMES[field]}) is missing"
            )
    return columns


def _column_letter(index: int) -> str:
    letters = ""
    index += 1
    while index:
        index, rem = divmod(index - 1, 26)
        letters = chr(65 + rem) + letters
    return letters


def _numbered(path: Path, rows: Iterator[Sequence[Any]]) -> Iterator[tuple[int, Sequence[Any]]]:
    """Each row with its number as Excel shows it (the first row is 1)."""
    for index, row in enumerate(rows):
        if index > MAX_ROWS:
            raise ConfigError(f"{path}: more than {MAX_ROWS} rows; split the roster")
        yield index + 1, row


def _employees(path: Path, rows: Iterator[Sequence[Any]]) -> Iterator[Employee]:
    numbered = _numbered(path, rows)
    header_row, header = next(
        ((number, row) for number, row in numbered if any(_cell(c) for c in row)), (0, None)
    )
    if header is None:
        raise ConfigError(
            f"{path}: the file is empty; the first row names the columns "
            "(medarbejdernr;navn;e-mail;afdeling;leder;leders e-mail;mødedato;sprog)"
        )
    errors: list[str] = []
    columns = _header(path, header, header_row, errors)
    with contextlib.closing(_FirstRows()) as first_row:
        for row_number, cells in numbered:
            if not any(_cell(c) for c in cells):
                continue
            where = f"{path}, row {row_number}"
            values = _values(cells, columns, header, header_row, where, errors)
            row_ok = True
            for field in REQUIRED:
                if field in columns.values() and not values.get(field):
                    errors.append(f"{where}: no {field} ({DANISH_NAMES[field]})")
                    row_ok = False
            emp_id = values.get("id")
            if emp_id:
                seen = first_row.see(emp_id, row_number)
                if seen is not None:
                    errors.append(
                        f"{where}: employee id {emp_id!r} is also on row {seen}; "
                        "every employee needs their own id"
                    )
                    row_ok = False
            if row_ok and not errors:
                yield Employee(**values)
    if errors:
        raise ConfigError("\n".join(errors))


def _values(
    cells: Sequence[Any], columns: dict[int, str], header: Sequence[Any], header_row: int,
    where: str, errors: list[str],
) -> dict[str, Any]:  # fmt: skip
    """One row's values by field; problems in it are added to ``errors``."""
    values: dict[str, Any] = {}
    for col, cell in enumerate(cells):
        field = columns.get(col)
        if field is None:
            # Unknown columns are reported once, on the header's row; a value under no name
            # is not.
            if _cell(cell) and not _cell_header(header, col):
                errors.append(
                    f"{where}: a value in column {_column_letter(col)}, which has no name in "
                    f"row {header_row}"
                )
            continue
        if field == "meeting_date":
            values[field] = _date(cell, where, errors)
        elif field == "language":
            values[field] = _language(_cell(cell), where, errors)
        else:
            values[field] = _cell(cell) or None
    return values


class _FirstRows:
    """Employee id → the row it is first on, to find ids used twice.

    Kept in a temporary SQLite database rather than a dict: a dict of 50,000 ids costs about
    6 MB, the database a page cache of at most 2 MB, whatever the roster's size. SQLite
    removes the file when it is closed.
    """

    def __init__(self) -> None:
        self._db = connect(
            "", "CREATE TABLE ids (id TEXT PRIMARY KEY, row INTEGER NOT NULL) WITHOUT ROWID"
        )

    def see(self, emp_id: str, row: int) -> int | None:
        """Note that ``emp_id`` is on ``row``; the row it was on before, or None."""
        if self._db.execute("INSERT OR IGNORE INTO ids VALUES (?, ?)", (emp_id, row)).rowcount:
            return None
        found = self._db.execute("SELECT row FROM ids WHERE id = ?", (emp_id,)).fetchone()
        return int(found[0])

    def close(self) -> None:
        self._db.close()


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
