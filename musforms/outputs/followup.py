"""The follow-up list: every agreement as a row, for Excel (XLSX and CSV) and for the terminal.

Both files hold what employees typed. A text that starts with ``=``, ``+``, ``-``, ``@``, a tab
or a carriage return would be run as a formula when the sheet is opened, so it is written with
a leading ``'`` (see :func:`neutralise`).
"""

from __future__ import annotations

import contextlib
import csv
import datetime as dt
import functools
import io
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from musforms.errors import MusformsError
from musforms.files import atomic_writer, library_temp_files
from musforms.i18n import _, ngettext
from musforms.nospace import FULL
from musforms.outputs.spool import AgreementSpool, spool_db
from musforms.outputs.views import AgreementRow, danish_date
from musforms.texts import t

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")

# (header text key, width in characters) per column, in order.
COLUMNS: tuple[tuple[str, int], ...] = (
    ("employee_id", 14),
    ("name", 24),
    ("department", 18),
    ("manager", 22),
    ("agreement", 50),
    ("owner", 18),
    ("due", 12),
    ("status", 14),
    ("comment", 36),
    ("origin", 16),
    ("form_id", 20),
    ("basis", 20),
)
DATE_FORMAT = "dd-mm-yyyy"


def neutralise(text: str) -> str:
    """``=1+1`` → ``'=1+1``: text a spreadsheet would otherwise run as a formula."""
    return "'" + text if text.startswith(_FORMULA_START) else text


def headers(lang: str) -> list[str]:
    return [t(key, lang) for key, _ in COLUMNS]


def _values(row: AgreementRow, lang: str) -> list[str | dt.date | None]:
    texts = [row.employee_id, row.name, row.department, row.leader, row.what, row.owner]
    tail = [
        row.status_text(lang),
        row.comment,
        row.origin_text(lang),
        row.form_id,
        row.basis_text(lang),
    ]
    # A due date that could not be read is shown as typed, in the same column.
    due = row.due if row.due is not None else (neutralise(row.due_typed) or None)
    return [
        *(neutralise(v) for v in texts),
        due,
        *(neutralise(v) for v in tail),
    ]


# --- XLSX --------------------------------------------------------------------------------------


def write_xlsx(
    path: Path,
    rows: Sequence[AgreementRow] | AgreementSpool,
    lang: str = "da",
    *,
    by_department: bool = False,
) -> None:
    """``agreements.xlsx``: frozen header, filters, real dates; a sheet per department if asked.

    Written row by row: a list of 100,000 agreements does not sit in memory as cells. A sheet
    per department takes the rows department by department from the spool. The fast path
    (musforms.fastpath) writes the rows' XML by hand into the workbook openpyxl lays out
    around them; the plain way is openpyxl's write-only workbook, a cell object per value.
    Either keeps what it writes meanwhile in a scratch folder of the run's, gone afterwards
    whatever happens."""
    from musforms import fastpath

    with AgreementSpool.of(rows) as spool:
        sheets = _sheets(spool, lang, by_department)
        if fastpath.enabled():
            _write_xlsx_by_hand(path, sheets, lang)
        else:
            _write_xlsx_library(path, sheets, lang)


# A sheet: its title, its rows (a fresh pass on each call) and how many there are.
_Sheet = tuple[str, Callable[[], Iterable[AgreementRow]], int]


def _sheets(spool: AgreementSpool, lang: str, by_department: bool) -> list[_Sheet]:
    if not by_department:
        return [(t("agreements", lang), spool.rows, len(spool))]
    used: set[str] = set()
    sheets: list[_Sheet] = []
    for department in sorted(spool.departments(), key=str.casefold):
        title = _sheet_title(department or t("no_department", lang), used)
        count = spool.count_in_department(department)
        sheets.append((title, functools.partial(spool.in_department, department), count))
    return sheets or [(t("agreements", lang), list, 0)]


def _write_xlsx_library(path: Path, sheets: Sequence[_Sheet], lang: str) -> None:
    """openpyxl's write-only workbook: each sheet waits in a temporary file until the
    workbook is saved."""
    from openpyxl import Workbook

    wb = Workbook(write_only=True)
    wb.properties.creator = "musforms"  # shown as the author in Excel, not the library
    with library_temp_files(), _discarded_on_error(wb):
        for title, rows, count in sheets:
            _fill_sheet(wb.create_sheet(title), rows(), count, lang)
        with atomic_writer(path) as tmp:
            wb.save(tmp)


class _NotByHand(Exception):
    """A value the hand-written rows do not write (a text openpyxl refuses, cuts short or
    takes for an error code): the workbook is written by openpyxl instead."""


# Texts the hand-written rows leave to openpyxl: characters it refuses or that XML cannot
# hold (none reach here from a response, musforms.outputs.views.clean takes them out).
_NOT_BY_HAND = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
_ERROR_CODES = frozenset(("#NULL!", "#DIV/0!", "#VALUE!", "#REF!", "#NAME?", "#NUM!", "#N/A"))
_MAX_TEXT = 32767  # the most a cell holds; openpyxl cuts a longer text short
_LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
# The cell styles openpyxl numbers them with in a workbook of these sheets: the header's,
# a value's, a due date's (checked against the workbook it lays out).
_VALUE_STYLE, _DUE_STYLE = "2", "3"


def _write_xlsx_by_hand(path: Path, sheets: Sequence[_Sheet], lang: str) -> None:
    """The rows' XML written by hand, a sheet at a time into a scratch file, and put into
    the workbook openpyxl writes with the header and only the rows that decide its styles
    (the first, and the first with a due date). The same workbook, part by part, as
    :func:`_write_xlsx_library` writes; a value it does not write is left to that."""
    import shutil
    import zipfile

    with library_temp_files() as folder:
        try:
            deciding = _rows_by_hand(folder, sheets, lang)
        except _NotByHand:
            _write_xlsx_library(path, sheets, lang)
            return
        except OSError as exc:
            if exc.errno not in FULL or exc.filename is not None:
                raise
            # A write names no file: the full disk is the one the scratch folder is on, named
            # as when openpyxl's own sheet files fill it (musforms.nospace).
            raise OSError(exc.errno, exc.strerror, str(folder.parent)) from None
        laid_out = io.BytesIO()
        _write_xlsx_library_to(laid_out, _laid_out(sheets, deciding), lang)
        with zipfile.ZipFile(laid_out) as source:
            names = [f"xl/worksheets/sheet{i}.xml" for i in range(1, len(sheets) + 1)]
            parts = {name: _split_sheet(source.read(name)) for name in names}
            if any(part is None for part in parts.values()) or not _styles_as_expected(
                parts, deciding
            ):
                _write_xlsx_library(path, sheets, lang)  # an openpyxl unlike the one known
                return
            with atomic_writer(path) as tmp, zipfile.ZipFile(tmp, "w") as target:
                for info in source.infolist():
                    split = parts.get(info.filename)
                    if split is None:
                        target.writestr(info, source.read(info))
                        continue
                    head, tail = split[0], split[2]
                    number = names.index(info.filename)
                    entry = zipfile.ZipInfo(info.filename, info.date_time)
                    entry.compress_type = info.compress_type
                    entry.external_attr = info.external_attr
                    with (
                        target.open(entry, "w") as out,
                        (folder / f"rows-{number}.xml").open("rb") as rows,
                    ):
                        out.write(head)
                        shutil.copyfileobj(rows, out, 1 << 16)
                        out.write(tail)


def _write_xlsx_library_to(target: IO[bytes], sheets: Sequence[_Sheet], lang: str) -> None:
    from openpyxl import Workbook

    wb = Workbook(write_only=True)
    wb.properties.creator = "musforms"
    with _discarded_on_error(wb):
        for title, rows, count in sheets:
            _fill_sheet(wb.create_sheet(title), rows(), count, lang)
        wb.save(target)


# Per sheet, the rows that decide the workbook's styles: the first row of all (its cells
# give the styles their numbers) and the first with a due date (a date's own number format
# is numbered where it is first met), by sheet.
_Deciding = list[list[AgreementRow]]


def _rows_by_hand(folder: Path, sheets: Sequence[_Sheet], lang: str) -> _Deciding:
    due_col = next(i for i, (key, _) in enumerate(COLUMNS) if key == "due")
    deciding: _Deciding = []
    first, dated = False, False
    for number, (_title, rows, _count) in enumerate(sheets):
        kept: list[AgreementRow] = []
        with (folder / f"rows-{number}.xml").open("w", encoding="ascii", newline="") as fh:
            for r, row in enumerate(rows(), 2):
                values = _values(row, lang)
                is_date = isinstance(values[due_col], dt.date)
                if not first or (is_date and not dated):
                    kept.append(row)
                first, dated = True, dated or is_date
                fh.write(_row_xml(r, values, due_col))
        deciding.append(kept)
    return deciding


def _laid_out(sheets: Sequence[_Sheet], deciding: _Deciding) -> list[_Sheet]:
    return [
        (title, functools.partial(list, kept), count)
        for (title, _rows, count), kept in zip(sheets, deciding, strict=True)
    ]


def _row_xml(r: int, values: Sequence[str | dt.date | None], due_col: int) -> str:
    from openpyxl.utils.datetime import to_excel

    cells = []
    for c, value in enumerate(values):
        ref = f"{_LETTERS[c]}{r}"
        style = _DUE_STYLE if c == due_col else _VALUE_STYLE
        if value is None:
            cells.append(f'<c r="{ref}" s="{style}" t="n"></c>')
        elif isinstance(value, dt.date):
            serial = f"{to_excel(value):.16g}"  # as openpyxl writes a number
            cells.append(f'<c r="{ref}" s="{style}" t="n"><v>{serial}</v></c>')
        elif value == "":
            cells.append(f'<c r="{ref}" s="{style}" t="inlineStr"></c>')
        else:
            if (
                len(value) > _MAX_TEXT
                or value in _ERROR_CODES
                or value.startswith("=")
                or _NOT_BY_HAND.search(value)
            ):
                raise _NotByHand
            space = ' xml:space="preserve"' if value != value.strip() else ""
            cells.append(
                f'<c r="{ref}" s="{style}" t="inlineStr"><is><t{space}>{_xml_text(value)}'
                "</t></is></c>"
            )
    return f'<row r="{r}">{"".join(cells)}</row>'


def _xml_text(text: str) -> str:
    """A text as openpyxl's XML writer puts it in a cell: ``&``, ``<``, ``>`` and a carriage
    return escaped, every character beyond ASCII as its decimal reference."""
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    text = text.replace("\r", "&#13;")
    return text if text.isascii() else text.encode("ascii", "xmlcharrefreplace").decode("ascii")


def _split_sheet(xml: bytes) -> tuple[bytes, bytes, bytes] | None:
    """A sheet's XML as openpyxl laid it out: up to the end of its header row, its data rows,
    and from the end of its rows on; None when it is not laid out so."""
    end_of_header = xml.find(b"</row>")
    end_of_rows = xml.rfind(b"</sheetData>")
    if end_of_header < 0 or end_of_rows < end_of_header:
        return None
    cut = end_of_header + len(b"</row>")
    return xml[:cut], xml[cut:end_of_rows], xml[end_of_rows:]


def _styles_as_expected(
    parts: dict[str, tuple[bytes, bytes, bytes] | None], deciding: _Deciding
) -> bool:
    """Whether openpyxl numbered the value and due-date styles as the hand-written rows do."""
    value = f'<c r="A2" s="{_VALUE_STYLE}" '.encode()
    due = f'<c r="G2" s="{_DUE_STYLE}" '.encode()
    for split, kept in zip(parts.values(), deciding, strict=True):
        if kept and (split is None or value not in split[1] or due not in split[1]):
            return False
    return True


@contextlib.contextmanager
def _discarded_on_error(wb: object) -> Iterator[None]:
    """On an error (a full temporary folder: each write-only sheet waits in a file there),
    close the sheets' half-written streams at once, quietly: left to the garbage collector,
    each would print its error again, as a traceback on stderr."""
    try:
        yield
    except BaseException:
        for ws in getattr(wb, "worksheets", []):
            writer = getattr(ws, "_writer", None)
            for stream in (getattr(ws, "_rows", None), getattr(writer, "xf", None)):
                if stream is not None:
                    with contextlib.suppress(Exception):
                        stream.close()
        raise


def _sheet_title(name: str, used: set[str]) -> str:
    # Excel: at most 31 characters, none of []:*?/\ , unique regardless of case.
    base = re.sub(r"[\[\]:*?/\\]", "-", name).strip("'") or "-"
    base = base[:31]
    title, n = base, 2
    while title.casefold() in used:
        suffix = f" ({n})"
        title, n = base[: 31 - len(suffix)] + suffix, n + 1
    used.add(title.casefold())
    return title


def _fill_sheet(ws: object, rows: Iterable[AgreementRow], count: int, lang: str) -> None:
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.utils import get_column_letter
    from openpyxl.worksheet._write_only import WriteOnlyWorksheet

    assert isinstance(ws, WriteOnlyWorksheet)
    # Column widths, the frozen header and the filter go before the first row.
    for i, (_name, width) in enumerate(COLUMNS, 1):
        ws.column_dimensions[get_column_letter(i)].width = width
    ws.freeze_panes = "A2"
    ws.auto_filter.ref = f"A1:{get_column_letter(len(COLUMNS))}{count + 1}"
    bold = Font(bold=True)
    fill = PatternFill("solid", fgColor="DDE6F0")

    def header(text: str) -> WriteOnlyCell:
        cell = WriteOnlyCell(ws, text)
        cell.font = bold
        cell.fill = fill
        return cell

    ws.append([header(text) for text in headers(lang)])
    due_col = next(i for i, (key, _) in enumerate(COLUMNS) if key == "due")
    wrap = Alignment(wrap_text=True, vertical="top")
    for row in rows:
        cells = []
        for c, value in enumerate(_values(row, lang)):
            cell = WriteOnlyCell(ws, value)
            cell.alignment = wrap
            if c == due_col:
                cell.number_format = DATE_FORMAT
            cells.append(cell)
        ws.append(cells)


# --- CSV ---------------------------------------------------------------------------------------


def csv_text(rows: Iterable[AgreementRow], lang: str = "da") -> str:
    """The follow-up list as Danish Excel reads a CSV: ``;`` between fields, CRLF, dd-mm-åååå."""
    buf = io.StringIO()
    _write_csv_rows(buf, rows, lang)
    return buf.getvalue()


def write_csv(path: Path, rows: Iterable[AgreementRow], lang: str = "da") -> None:
    """``agreements.csv``: UTF-8 with a byte-order mark, so Excel shows æøå right. Written a
    row at a time as the rows come."""
    with (
        atomic_writer(path) as tmp,
        tmp.open("w", encoding="utf-8-sig", newline="") as fh,
    ):
        _write_csv_rows(fh, rows, lang)


def _write_csv_rows(fh: IO[str], rows: Iterable[AgreementRow], lang: str) -> None:
    writer = csv.writer(fh, delimiter=";", lineterminator="\r\n", quoting=csv.QUOTE_MINIMAL)
    writer.writerow(headers(lang))
    for row in rows:
        writer.writerow(
            [danish_date(v) if isinstance(v, dt.date) else (v or "") for v in _values(row, lang)]
        )


# --- open and overdue, grouped by leader ---------------------------------------------------------


def parse_period(text: str) -> int:
    """``30d`` → 30, ``2w`` → 14, ``30`` → 30 days; ``3m`` counts a month as 30 days."""
    m = re.fullmatch(r"\s*(\d{1,4})\s*([dwm]?)\s*", text.lower())
    if not m:
        raise MusformsError(
            _("{text!r} is not a period: write it as e.g. 30d, 2w or 3m").format(text=text)
        )
    n = int(m.group(1))
    return n * {"": 1, "d": 1, "w": 7, "m": 30}[m.group(2)]


@dataclass
class LeaderGroup:
    """One leader's open agreements: overdue first, then by due date, undated last."""

    leader: str
    rows: list[AgreementRow] = field(default_factory=list)
    today: dt.date = field(default_factory=dt.date.today)

    @property
    def overdue(self) -> list[AgreementRow]:
        return [r for r in self.rows if r.due is not None and r.due < self.today]


def open_agreements(
    rows: Iterable[AgreementRow],
    today: dt.date,
    *,
    leader: str | None = None,
    due_within: int | None = None,
) -> list[LeaderGroup]:
    """Open agreements (new, in progress, or last round's without a status) by leader.

    ``leader`` keeps one leader (case-insensitive, a part of the name is enough);
    ``due_within`` keeps only agreements due within that many days from ``today`` (overdue
    ones included; undated ones left out).
    """
    with leader_groups(rows, today, leader=leader, due_within=due_within, in_memory=True) as groups:
        return list(groups)


@contextlib.contextmanager
def leader_groups(
    rows: Iterable[AgreementRow],
    today: dt.date,
    *,
    leader: str | None = None,
    due_within: int | None = None,
    in_memory: bool = False,
    proposed: bool = False,
) -> Iterator[Iterator[LeaderGroup]]:
    """:func:`open_agreements` one leader at a time: the open agreements wait in a scratch
    database (in memory with ``in_memory``), not in a list of the round's agreements.
    ``proposed``: only the proposals of employees whose conclusion is not back yet."""
    wanted = leader.casefold().strip() if leader else None
    last_day = today + dt.timedelta(days=due_within) if due_within is not None else None

    def kept(row: AgreementRow) -> bool:
        if not row.is_open or (wanted and wanted not in row.leader.casefold()):
            return False
        if proposed and row.basis != "proposed":
            return False
        return last_day is None or (row.due is not None and row.due <= last_day)

    with spool_db(in_memory=in_memory) as db:
        spool = AgreementSpool(db)
        spool.add(row for row in rows if kept(row))
        yield _by_leader(spool, today)


def _by_leader(spool: AgreementSpool, today: dt.date) -> Iterator[LeaderGroup]:
    # Leaders alphabetically (those without a name last); ties stay in order of first row.
    for name in sorted(spool.leaders(), key=lambda n: (n == "", n.casefold())):
        group = LeaderGroup(name, list(spool.of_leader(name)), today=today)
        group.rows.sort(key=lambda r: (r.due is None, r.due or today, r.name, r.number))
        yield group


def followup_lines(groups: Iterable[LeaderGroup], lang: str = "da") -> list[str]:
    """The terminal listing: a heading per leader, then one line per agreement."""
    return list(iter_followup_lines(groups, lang))


def iter_followup_lines(groups: Iterable[LeaderGroup], lang: str = "da") -> Iterator[str]:
    """:func:`followup_lines` a line at a time, as the groups come; a blank line between
    leaders."""
    for i, group in enumerate(groups):
        if i:
            yield ""
        n_over = len(group.overdue)
        who = group.leader or _("(no leader in the roster)")
        if n_over:
            yield ngettext(
                "{who}: {open} open, {overdue} overdue",
                "{who}: {open} open, {overdue} overdue",
                len(group.rows),
            ).format(who=who, open=len(group.rows), overdue=n_over)
        else:
            yield ngettext("{who}: {open} open", "{who}: {open} open", len(group.rows)).format(
                who=who, open=len(group.rows)
            )
        overdue, undated = _("OVERDUE"), _("no date")
        for row in group.rows:
            late = row.due is not None and row.due < group.today
            mark = f"{overdue} " if late else " " * (len(overdue) + 1)
            due = danish_date(row.due) or f"{undated:<10}"
            if row.due is None and row.due_typed:
                due += _(" (typed: {typed})").format(typed=" ".join(row.due_typed.split()))
            owner = _(" (who: {owner})").format(owner=row.owner) if row.owner else ""
            last = _(" [last round]") if row.previous else ""
            if row.basis == "proposed":
                last = _(" [proposed, no conclusion yet]")
            what = " ".join(row.what.split())
            yield f"  {mark}{due}  {row.name} ({row.employee_id}): {what}{owner}{last}"
