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
import email.errors
import itertools
import re
import warnings
import zipfile
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from email.headerregistry import Address
from pathlib import Path
from typing import Any, BinaryIO

from musforms.dates import parse_date
from musforms.errors import ConfigError
from musforms.i18n import _, ngettext
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


Warn = Callable[[str], None]


def _ignore(_line: str) -> None:
    pass


def load_roster(path: Path, warn: Warn = _ignore) -> list[Employee]:
    """Read the employees in a roster file (CSV or XLSX), in the file's order.

    Raises ``ConfigError`` with every problem found, one per line, each naming the file
    and the row. What was fixed on the way (a title row above the column names passed over,
    control characters removed) is told to ``warn``, a line each.
    """
    return list(iter_roster(path, warn))


def iter_roster(path: Path, warn: Warn = _ignore) -> Iterator[Employee]:
    """The employees in a roster file one at a time, in the file's order, the file read as a
    stream: a roster of 50,000 never sits in memory whole.

    Every problem in the file is raised at the end, together, as ``load_roster`` raises them.
    Employees are yielded only until the first problem, but one found further down still
    raises: read to the end before acting on any of them.
    """
    for row in iter_rows(path, warn):
        yield row.employee


def iter_rows(path: Path, warn: Warn = _ignore) -> Iterator[Row]:
    """As :func:`iter_roster`, each employee with their row and the columns' letters."""
    if not path.exists():
        raise ConfigError(_("{path}: file not found").format(path=path))
    if path.is_dir():
        raise ConfigError(
            _("{path}: is a folder; give the roster file (.csv or .xlsx)").format(path=path)
        )
    suffix = path.suffix.lower()
    if suffix == ".xls":
        raise ConfigError(
            _(
                "{path}: old Excel format (.xls); in Excel choose Save as → Excel "
                "workbook (.xlsx) or CSV"
            ).format(path=path)
        )
    with _open(path) as fh:
        head = fh.read(4)
    xlsx = suffix in (".xlsx", ".xlsm") or head == b"PK\x03\x04"
    with _xlsx_rows(path) if xlsx else _csv_rows(path) as rows:
        yield from _employees(path, rows, warn)


def _open(path: Path) -> BinaryIO:
    try:
        return path.open("rb")
    except OSError as exc:
        raise ConfigError(
            _("{path}: cannot be read ({strerror})").format(path=path, strerror=exc.strerror)
        ) from None


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
            raise ConfigError(
                _("{path}: cannot be read ({strerror})").format(path=path, strerror=exc.strerror)
            ) from None
    return "utf-8-sig", "strict"


def _first_lines(path: Path, encoding: str, errors: str) -> list[str]:
    """The first lines that are not blank (as many as :data:`TITLE_ROWS`, fewer in a short
    file), as ``str.splitlines`` splits the text."""
    text = ""
    try:
        fh = path.open(encoding=encoding, errors=errors, newline="")
    except OSError as exc:
        raise ConfigError(
            _("{path}: cannot be read ({strerror})").format(path=path, strerror=exc.strerror)
        ) from None
    with fh:
        while True:
            chunk = _read_text(path, fh, encoding)
            text += chunk
            # Unless the file has ended, the last line may go on in the next chunk.
            lines = text.splitlines() if not chunk else text.splitlines()[:-1]
            filled = [line for line in lines if line.strip()]
            if len(filled) >= TITLE_ROWS or not chunk:
                return filled[:TITLE_ROWS]


def _read_text(path: Path, fh: Any, encoding: str) -> str:
    try:
        return str(fh.read(1 << 16))
    except UnicodeDecodeError:
        raise _not_text(path, encoding) from None


def _not_text(path: Path, encoding: str) -> ConfigError:
    return ConfigError(
        _(
            "{path}: cannot be read as {upper} text (damaged, or cut off): "
            "save it again from Excel as 'CSV UTF-8' or as an Excel workbook"
        ).format(path=path, upper=encoding.upper())
    )


def _delimiter(lines: list[str]) -> str:
    """The separator: whichever of ; , tab splits one of the first lines into most columns.
    The widest line is the header; a title above it is one cell, whatever the separator."""
    widths = {
        d: max((len(next(csv.reader([line], delimiter=d), [])) for line in lines), default=0)
        for d in (";", ",", "\t")
    }
    return max(widths, key=lambda d: widths[d])


@contextlib.contextmanager
def _csv_rows(path: Path) -> Iterator[Iterator[list[str]]]:
    encoding, errors = _encoding(path)
    delimiter = _delimiter(_first_lines(path, encoding, errors))
    try:
        fh = path.open(encoding=encoding, errors=errors, newline="")
    except OSError as exc:
        raise ConfigError(
            _("{path}: cannot be read ({strerror})").format(path=path, strerror=exc.strerror)
        ) from None
    with fh:
        yield _csv_records(path, csv.reader(fh, delimiter=delimiter), encoding)


def _csv_records(path: Path, reader: Any, encoding: str) -> Iterator[list[str]]:
    try:
        for _n, row in zip(range(MAX_ROWS + 2), reader, strict=False):
            yield row
    except UnicodeDecodeError:
        raise _not_text(path, encoding) from None
    except csv.Error as exc:
        raise ConfigError(
            _("{path}, row {line_num}: cannot be read as CSV ({exc})").format(
                path=path, line_num=reader.line_num, exc=exc
            )
        ) from None
    except OSError as exc:
        raise ConfigError(
            _("{path}: cannot be read ({strerror})").format(path=path, strerror=exc.strerror)
        ) from None


_XLSX_ERRORS = (zipfile.BadZipFile, KeyError, ValueError, OSError, IndexError)


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    # openpyxl warns about styles and extensions it ignores; they don't matter here.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        yield


def _unreadable_xlsx(path: Path, exc: Exception) -> ConfigError:
    return ConfigError(
        _(
            "{path}: not a readable Excel workbook ({name}); open it in Excel "
            "and save it again as .xlsx, or as CSV"
        ).format(path=path, name=exc.__class__.__name__)
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
                batch = [
                    [_unescaped(c) for c in r] for r in itertools.islice(cells, min(left, 500))
                ]
            if not batch:
                return
            left -= len(batch)
            yield from batch
    except _XLSX_ERRORS as exc:
        raise _unreadable_xlsx(path, exc) from None


def _unescaped(value: Any) -> Any:
    """A workbook's text as typed: Excel writes a control character in a cell as _x0007_
    (ECMA-376's escape), which openpyxl's read-only mode leaves as it is; unescaped, it is
    found and removed like one in a CSV file."""
    if isinstance(value, str) and "_x" in value:
        from openpyxl.utils.escape import unescape

        return unescape(value)
    return value


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
                _(
                    "{path}, row {row}: unknown column {name!r} (column "
                    "{column_letter}); the columns are {known}"
                ).format(
                    path=path, row=row, name=name, column_letter=_column_letter(index), known=known
                )
            )
        elif field in seen:
            errors.append(
                _(
                    "{path}, row {row}: columns {column_letter} and {column_letter2} "
                    "both give {field!r}; keep one"
                ).format(
                    path=path,
                    row=row,
                    column_letter=_column_letter(seen[field]),
                    column_letter2=_column_letter(index),
                    field=field,
                )
            )
        else:
            seen[field] = index
            columns[index] = field
    for field in REQUIRED:
        if field not in seen:
            errors.append(
                _("{path}, row {row}: the column {field!r} ({danish_names}) is missing").format(
                    path=path, row=row, field=field, danish_names=DANISH_NAMES[field]
                )
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
            raise ConfigError(
                _("{path}: more than {max_rows} rows; split the roster").format(
                    path=path, max_rows=MAX_ROWS
                )
            )
        yield index + 1, row


# How many filled rows above the column names are looked through for them: a title, a date,
# a note the roster's maker put at the top.
TITLE_ROWS = 10


def _names_columns(row: Sequence[Any]) -> bool:
    """Whether ``row`` names the required columns (id and name), in any of their names."""
    fields = {_BY_ALIAS.get(_norm(_cell(c))) for c in row}
    return all(f in fields for f in REQUIRED)


def _find_header(
    path: Path, numbered: Iterator[tuple[int, Sequence[Any]]], warn: Warn
) -> tuple[int, Sequence[Any] | None, Iterator[tuple[int, Sequence[Any]]]]:
    """The header's row number, the header, and the rows after it.

    The header is the first of the first filled rows that names the id and name columns; a
    title or note above it is passed over, with a line saying so. Without such a row, the
    first filled row is taken as the header, and its unknown columns are the errors.
    """
    filled: list[tuple[int, Sequence[Any]]] = []
    for number, row in numbered:
        if not any(_cell(c) for c in row):
            continue
        filled.append((number, row))
        if _names_columns(row) or len(filled) >= TITLE_ROWS:
            break
    if not filled:
        return 0, None, numbered
    at = next((i for i, (_n, row) in enumerate(filled) if _names_columns(row)), 0)
    header_row, header = filled[at]
    if at:
        above = filled[:at]
        first = next(_cell(c) for c in above[0][1] if _cell(c))
        rows = _row_span([n for n, _r in above])
        warn(
            ngettext(
                "{path}: the column names are on row {header_row}; {rows} above them "
                "(starting {first!r}) was passed over as a title. If that row holds an "
                "employee, put it below the column names.",
                "{path}: the column names are on row {header_row}; {rows} above them "
                "(starting {first!r}) were passed over as a title. If one of them holds an "
                "employee, put it below the column names.",
                len(above),
            ).format(path=path, header_row=header_row, rows=rows, first=first[:40])
        )
    return header_row, header, itertools.chain(filled[at + 1 :], numbered)


def _row_span(numbers: list[int]) -> str:
    if len(numbers) == 1:
        return f"row {numbers[0]}"
    return f"rows {', '.join(str(n) for n in numbers[:-1])} and {numbers[-1]}"


@dataclass(frozen=True)
class Row:
    """One employee of the roster, with where they are in it."""

    number: int  # the row, as Excel numbers it
    employee: Employee
    columns: dict[str, str]  # field → its column letter


def _employees(path: Path, rows: Iterator[Sequence[Any]], warn: Warn) -> Iterator[Row]:
    numbered = _numbered(path, rows)
    header_row, header, numbered = _find_header(path, numbered, warn)
    if header is None:
        raise ConfigError(
            _(
                "{path}: the file is empty; the first row names the columns "
                "(medarbejdernr;navn;e-mail;afdeling;leder;leders "
                "e-mail;mødedato;sprog)"
            ).format(path=path)
        )
    errors: list[str] = []
    columns = _header(path, header, header_row, errors)
    letters = {field: _column_letter(index) for index, field in columns.items()}
    with contextlib.closing(_FirstRows()) as first_row:
        for row_number, cells in numbered:
            if not any(_cell(c) for c in cells):
                continue
            where = f"{path}, row {row_number}"
            values = _values(cells, columns, header, header_row, where, errors, warn)
            row_ok = True
            for field in REQUIRED:
                if field in columns.values() and not values.get(field):
                    errors.append(
                        _("{where}: no {field} ({danish_names})").format(
                            where=where, field=field, danish_names=DANISH_NAMES[field]
                        )
                    )
                    row_ok = False
            emp_id = values.get("id")
            if emp_id:
                seen = first_row.see(emp_id, row_number)
                if seen is not None:
                    errors.append(
                        _(
                            "{where}: employee id {emp_id!r} is also on row {seen}; every "
                            "employee needs their own id"
                        ).format(where=where, emp_id=emp_id, seen=seen)
                    )
                    row_ok = False
            if row_ok and not errors:
                yield Row(row_number, Employee(**values), letters)
    if errors:
        raise ConfigError("\n".join(errors))


def _values(
    cells: Sequence[Any], columns: dict[int, str], header: Sequence[Any], header_row: int,
    where: str, errors: list[str], warn: Warn,
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
                    _(
                        "{where}: a value in column {column_letter}, which has no name in "
                        "row {header_row}"
                    ).format(where=where, column_letter=_column_letter(col), header_row=header_row)
                )
            continue
        if isinstance(cell, str):
            cell = _without_controls(cell, f"{where}, column {_column_letter(col)}", field, warn)
        if field == "meeting_date":
            values[field] = _date(cell, where, errors)
        elif field == "language":
            values[field] = _language(_cell(cell), where, errors)
        else:
            values[field] = _cell(cell) or None
    return values


# Characters XML 1.0 cannot hold at all (C0 controls but tab and line breaks), and the C1
# controls and DEL, which no one types on purpose: a cell with one, pasted from another
# system, would make the Word form a file Word refuses to open.
_CONTROLS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ufffe\uffff]")
_BREAKS = re.compile("[\t\r\n]+")


def _without_controls(text: str, where: str, field: str, warn: Warn) -> str:
    """``text`` without control characters, with a line saying where they were removed.
    Tabs and line breaks (Alt+Enter in Excel) become one space: a roster value is one line."""
    found = _CONTROLS.findall(text)
    if found:
        codes = ", ".join(dict.fromkeys(f"U+{ord(c):04X}" for c in found))
        warn(
            ngettext(
                "{where} ({danish_names}): removed {found} control character ({codes}) that "
                "a form cannot hold; check the cell in Excel, it was probably pasted from "
                "another system",
                "{where} ({danish_names}): removed {found} control characters ({codes}) that "
                "a form cannot hold; check the cell in Excel, it was probably pasted from "
                "another system",
                len(found),
            ).format(where=where, danish_names=DANISH_NAMES[field], found=len(found), codes=codes)
        )
        text = _CONTROLS.sub("", text)
    return _BREAKS.sub(" ", text) if field != "meeting_date" else text


class _FirstRows:
    """Employee id → the row it is first on, to find ids used twice.

    Kept in a temporary SQLite database rather than a dict: a dict of 50,000 ids costs about
    6 MB, the database a page cache of at most 2 MB, whatever the roster's size. SQLite
    removes the file when it is closed.
    """

    def __init__(self) -> None:
        self._db = connect(
            "",
            "CREATE TABLE ids (kind TEXT NOT NULL, id TEXT NOT NULL, row INTEGER NOT NULL, "
            "PRIMARY KEY (kind, id)) WITHOUT ROWID",
        )

    def see(self, emp_id: str, row: int, *, kind: str = "id") -> int | None:
        """Note that ``emp_id`` (an id, or another ``kind`` of value) is on ``row``; the row
        it was on before, or None."""
        if self._db.execute(
            "INSERT OR IGNORE INTO ids VALUES (?, ?, ?)", (kind, emp_id, row)
        ).rowcount:
            return None
        found = self._db.execute(
            "SELECT row FROM ids WHERE kind = ? AND id = ?", (kind, emp_id)
        ).fetchone()
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
        errors.append(_("{where}: meeting date {exc}").format(where=where, exc=exc))
        return None


def _language(text: str, where: str, errors: list[str]) -> str | None:
    if not text:
        return None
    lang = LANGUAGE_WORDS.get(text.lower())
    if lang is None:
        errors.append(
            _("{where}: unknown language {text!r}; write da or en").format(where=where, text=text)
        )
    return lang


# --- checks that protect the round ----------------------------------------------------------
#
# A roster that reads is not yet a roster to send forms by: two employees with one address
# would each get the other's form. These checks are shared by musforms roster, generate and
# send; each finds a line to show for a row, naming the file, row and column.

PLACEHOLDER_ORGANISATION = "Min organisation"  # what musforms init writes without --organisation
AHEAD_MONTHS = 18


def check_address(raw: str | None) -> tuple[str, str]:
    """``(address, "")`` for one plain e-mail address, else ``("", what is wrong)``.

    Only the address itself passes: no display name, no brackets, no second address, nothing
    that could make one roster cell reach someone else. A domain in other letters (æøå) is
    written in its ASCII (IDNA) form; a local part in other letters is refused, since most
    mail servers cannot take it.
    """
    text = (raw or "").strip()
    if not text:
        return "", _("has no e-mail address in the roster")
    if any(c in text for c in '<>,;:"()[]\\') or any(c.isspace() or ord(c) < 32 for c in text):
        return "", (
            _(
                "{text!r} is not one plain e-mail address (it holds a name, "
                "brackets, spaces or more than one address)"
            ).format(text=text)
        )
    try:
        parsed = Address(addr_spec=text)
    except (ValueError, IndexError, TypeError, email.errors.MessageError):
        return "", _("{text!r} is not an e-mail address").format(text=text)
    user, domain = parsed.username, parsed.domain
    labels = domain.split(".")
    if not user or len(labels) < 2 or not all(labels) or domain.replace(".", "").isdigit():
        return "", _(
            "{text!r} is not an e-mail address (the part after @ must be a domain)"
        ).format(text=text)
    if not user.isascii():
        return "", _(
            "{text!r} has letters outside A–Z before the @, which mail servers refuse"
        ).format(text=text)
    try:
        ascii_domain = domain.encode("idna").decode("ascii")
    except UnicodeError:
        return "", _("{text!r} is not an e-mail address (its domain cannot be written)").format(
            text=text
        )
    return f"{user}@{ascii_domain}", ""


@dataclass(frozen=True)
class Checks:
    """What a round checks its roster for, besides what makes it unreadable.

    ``today``: meeting dates before it, or more than 18 months after it, are told (None: not
    checked, as when leaders are mailed the minutes after the meetings). ``leaders``: the round
    mails leaders their minutes (send --leaders), so every leader needs an e-mail address.
    """

    today: dt.date | None = None
    leaders: bool = False


def check_rows(path: Path, rows: Iterable[Row], checks: Checks, warn: Warn) -> Iterator[Row]:
    """``rows`` as they come, each checked on the way: a line to ``warn`` for each problem."""
    latest = _months_after(checks.today, AHEAD_MONTHS) if checks.today else None
    with contextlib.closing(_FirstRows()) as first_row:
        for row in rows:
            for line in _row_problems(path, row, checks, latest, first_row):
                warn(line)
            yield row


class Lines:
    """Lines told about a roster, the first ``limit`` kept: a roster of 5,000 with last year's
    dates would otherwise bury the rest of a command's output."""

    def __init__(self, path: Path, limit: int = 50) -> None:
        self.path = path
        self.limit = limit
        self.lines: list[str] = []
        self.more = 0

    def __call__(self, line: str) -> None:
        if len(self.lines) < self.limit:
            self.lines.append(line)
        else:
            self.more += 1

    def all(self) -> list[str]:
        """The lines kept, and one saying how many more there were."""
        if not self.more:
            return list(self.lines)
        return [
            *self.lines,
            f"{self.path}: {self.more} more line{'s' * (self.more != 1)} like these; "
            f"'musforms roster {self.path}' lists them all",
        ]


def check_roster(path: Path, checks: Checks, warn: Warn = _ignore) -> list[str]:
    """Every line the roster at ``path`` gives: what was fixed reading it, then the checks'.
    Raises ``ConfigError`` as :func:`load_roster` does."""
    lines: list[str] = []
    for _row in check_rows(path, iter_rows(path, lines.append), checks, lines.append):
        pass
    for line in lines:
        warn(line)
    return lines


def _row_problems(
    path: Path, row: Row, checks: Checks, latest: dt.date | None, first_row: _FirstRows
) -> Iterator[str]:
    e = row.employee

    def where(field: str) -> str:
        column = row.columns.get(field, "?")
        return f"{path}, row {row.number}, column {column} ({DANISH_NAMES[field]})"

    if e.email:
        address, problem = check_address(e.email)
        if problem:
            yield f"{where('email')}: {problem}; no form can be mailed to it. Correct the address."
        else:
            seen = first_row.see(address.casefold(), row.number, kind="email")
            if seen is not None:
                yield (
                    f"{where('email')}: {e.email} is also the address on row {seen}, so one "
                    "of them would get the other's form. Give each employee their own address."
                )
    if e.manager_email:
        _address, problem = check_address(e.manager_email)
        if problem:
            yield (
                f"{where('manager_email')}: {problem}; the leader's mail cannot be sent. "
                "Correct the address."
            )
    elif checks.leaders and e.manager:
        yield (
            f"{where('manager_email')}: the leader {e.manager} has no e-mail address, so "
            "their employee's minutes cannot be mailed to them. Add the leader's e-mail."
        )
    day = e.meeting_date
    if day is not None and checks.today is not None and latest is not None:
        if day < checks.today:
            yield (
                f"{where('meeting_date')}: the meeting date {day:%d-%m-%Y} is in the past. "
                "Correct it, or leave the cell empty if no date is set yet."
            )
        elif day > latest:
            yield (
                f"{where('meeting_date')}: the meeting date {day:%d-%m-%Y} is more than "
                f"{AHEAD_MONTHS} months ahead; check the year."
            )


def _months_after(day: dt.date, months: int) -> dt.date:
    month = day.month - 1 + months
    year, month = day.year + month // 12, month % 12 + 1
    for last in (31, 30, 29, 28):
        with contextlib.suppress(ValueError):
            return dt.date(year, month, min(day.day, last))
    raise AssertionError("unreachable")  # pragma: no cover


def organisation_problem(name: str, where: str, then: str = "") -> str | None:
    """A line when the organisation's name is still the one ``musforms init`` wrote;
    ``then`` says what to do after correcting it, if anything."""
    if name.strip().casefold() != PLACEHOLDER_ORGANISATION.casefold():
        return None
    return (
        f"{where}: the organisation is still called {PLACEHOLDER_ORGANISATION!r}, as musforms "
        "init wrote it; the forms and mails print it. Write your own name, e.g. organisation "
        f'= "Eksempel Kommune"{then}.'
    )


def shared_addresses(addresses: Iterable[tuple[str, str]]) -> list[list[str]]:
    """The keys that share an address (case does not count), for each address more than one
    has: ``[("a", "x@y.dk"), ("b", "X@y.dk")]`` → ``[["a", "b"]]``. The one rule for
    "the same address" in roster and send."""
    groups: dict[str, list[str]] = {}
    for key, address in addresses:
        groups.setdefault(address.casefold(), []).append(key)
    return [keys for keys in groups.values() if len(keys) > 1]
