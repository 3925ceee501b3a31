"""Read a Word form exported to PDF without form fields, from its pages.

LibreOffice's "Export as PDF" of a filled musforms Word form (without "Create PDF form")
keeps only what the page shows. Its structure is the Word form's (musforms.docx.writer): the
header table, per question a numbered label, its help and the answer, the agreements tables.
This module turns the pages back into the docx reader's blocks, paragraphs and tables, and
the docx layout reader (musforms.docx.reader, reading by layout) finds the answers in them.

PDFium's text page gives every character with its box. Characters on one baseline make a
printed line. A line that ends with a drawn space was wrapped by the layout (the next line
goes on the same paragraph); one that does not ended where a line break was typed. Blank lines
are told by the gap to the next line, a whole number of line pitches. Tables are found by their
header row (what, owner, due …, in any of the form's languages); their columns start where the
header's cells start, their rows are between the border lines drawn across the table, and the
table's extent on the page is that of its left border. A table continued on the next page
repeats its header row there, which is dropped. The page footer (form code, page number) and
the small print of the identity are left out.
"""

from __future__ import annotations

import ctypes
import itertools
import unicodedata
from collections import Counter
from dataclasses import dataclass

import pypdfium2 as pdfium
import pypdfium2.raw as pdfium_c

from musforms import texts
from musforms.docx.reader import Block, _Layout
from musforms.models import LANGUAGES, QuestionSet, RawValue, form_id_from_code

__all__ = ["WordRead", "page_blocks", "read_word_pages"]

_SAME_LINE = 1.5  # points two baselines of one printed line may differ by
_THIN = 1.6  # a border line is at most this thick
_CELL_EDGE = 4.0  # points a cell's text may start left of its header's text


@dataclass
class _Char:
    text: str
    x: float
    y: float
    height: float
    right: float


@dataclass
class _Line:
    chars: list[_Char]
    page: int

    @property
    def y(self) -> float:
        return self.chars[0].y

    @property
    def x(self) -> float:
        return self.chars[0].x

    @property
    def height(self) -> float:
        return Counter(round(c.height, 1) for c in self.chars).most_common(1)[0][0]

    @property
    def text(self) -> str:
        return "".join(c.text for c in self.chars)


def _chars(page: pdfium.PdfPage) -> list[_Char]:
    text = page.get_textpage()
    out: list[_Char] = []
    try:
        x, y = ctypes.c_double(), ctypes.c_double()
        box = pdfium_c.FS_RECTF()
        for i in range(pdfium_c.FPDFText_CountChars(text)):
            if pdfium_c.FPDFText_IsGenerated(text, i):
                continue
            code = pdfium_c.FPDFText_GetUnicode(text, i)
            if code == 0 or chr(code) in "\r\n":
                continue
            pdfium_c.FPDFText_GetCharOrigin(text, i, x, y)
            pdfium_c.FPDFText_GetLooseCharBox(text, i, box)
            out.append(_Char(chr(code), x.value, y.value, box.top - box.bottom, box.right))
    finally:
        text.close()
    return out


def _lines(chars: list[_Char], page: int) -> list[_Line]:
    """The page's printed lines, top to bottom, each left to right."""
    rows: list[list[_Char]] = []
    for c in sorted(chars, key=lambda c: -c.y):
        if rows and abs(rows[-1][0].y - c.y) <= _SAME_LINE:
            rows[-1].append(c)
        else:
            rows.append([c])
    return [_Line(sorted(r, key=lambda c: c.x), page) for r in rows]


def _runs(line: _Line, gap: float) -> list[list[_Char]]:
    """A line cut where the characters stand more than ``gap`` points apart."""
    out: list[list[_Char]] = []
    for c in line.chars:
        if c.text.isspace() and out and out[-1] and out[-1][-1].text.isspace():
            continue
        if out and out[-1] and c.x - out[-1][-1].right > gap:
            out.append([c])
        elif out:
            out[-1].append(c)
        else:
            out.append([c])
    return [r for r in out if "".join(ch.text for ch in r).strip()]


@dataclass
class _Borders:
    horizontal: list[tuple[float, float, float]]  # (y, left, right)
    vertical: list[tuple[float, float, float]]  # (x, bottom, top)


def _borders(page: pdfium.PdfPage) -> _Borders:
    out = _Borders([], [])
    for obj in page.get_objects(max_depth=3):
        if obj.type != pdfium_c.FPDF_PAGEOBJ_PATH:
            continue
        left, bottom, right, top = obj.get_bounds()
        if top - bottom <= _THIN and right - left > 20:
            out.horizontal.append(((top + bottom) / 2, left, right))
        elif right - left <= _THIN and top - bottom > 5:
            out.vertical.append(((left + right) / 2, bottom, top))
    return out


def _headers() -> list[list[set[str]]]:
    """The header rows of the form's tables, a set of texts (every language) per column."""
    keys = [("what", "owner", "due", "status", "comment"), ("what", "owner", "due")]
    return [[{_norm(texts.t(k, lang)) for lang in LANGUAGES} for k in ks] for ks in keys]


def _norm(text: str) -> str:
    return " ".join(text.split()).casefold()


def _header(line: _Line) -> list[float] | None:
    """Where the columns start, if ``line`` is one of the form's table header rows."""
    runs = _runs(line, 0.6 * line.height)
    for head in _headers():
        if len(runs) == len(head) and all(
            _norm("".join(c.text for c in run)) in ok for run, ok in zip(runs, head, strict=True)
        ):
            return [run[0].x for run in runs]
    return None


def _pitch(lines: list[_Line]) -> float:
    """The most common distance between two lines of body text."""
    gaps = Counter(
        round(a.y - b.y, 1)
        for a, b in itertools.pairwise(lines)
        if a.page == b.page and 0.9 * a.height < a.y - b.y < 1.5 * a.height
    )
    return gaps.most_common(1)[0][0] if gaps else 13.5


def _text(lines: list[list[_Char]], ys: list[float], pitch: float) -> str:
    """The text of a paragraph or a cell printed on ``lines`` (top to bottom): a wrapped
    line goes on, a line that ends otherwise ends where a line break was typed, and a gap
    of several pitches holds blank lines."""
    out = ""
    for i, chars in enumerate(lines):
        line = "".join(c.text for c in chars)
        if i:
            if not out.endswith(" "):
                out += "\n"
            blank = round((ys[i - 1] - ys[i]) / pitch) - 1 if ys[i - 1] > ys[i] else 0
            out += "\n" * max(0, blank)
        out += line
    return out.rstrip(" ")


@dataclass
class _Table:
    columns: list[float]
    page: int
    bottom: float
    top: float
    rows: list[float]  # the border lines between rows, top to bottom


def _table_at(line: _Line, columns: list[float], borders: _Borders) -> _Table | None:
    left = columns[0]
    sides = [
        v for v in borders.vertical if v[0] < left and v[1] < line.y < v[2] and left - v[0] < 20
    ]
    if not sides:
        return None
    _x, bottom, top = max(sides, key=lambda v: v[0])
    rows = sorted(
        {
            round(h[0], 1)
            for h in borders.horizontal
            if h[1] <= left <= h[2] and bottom - 2 <= h[0] <= top + 2
        },
        reverse=True,
    )
    return _Table(columns, line.page, bottom, top, rows)


def _table_rows(table: _Table, lines: list[_Line], pitch: float) -> list[list[str]]:
    """The table's rows under its header row, each a list of cell texts."""
    bounds = [b for b in table.rows if table.bottom - 2 <= b <= table.top + 2]
    inner = [b for b in bounds if table.bottom + 2 < b < table.top - 2]
    edges = [table.top, *inner, table.bottom]
    out: list[list[str]] = []
    for upper, lower in itertools.pairwise(edges):
        inside = [ln for ln in lines if lower < ln.y < upper]
        if not inside or any(_header(ln) for ln in inside):
            continue
        cells: list[list[tuple[float, list[_Char]]]] = [[] for _ in table.columns]
        for ln in inside:
            per: list[list[_Char]] = [[] for _ in table.columns]
            for c in ln.chars:
                col = max(
                    (i for i, start in enumerate(table.columns) if c.x >= start - _CELL_EDGE),
                    default=0,
                )
                per[col].append(c)
            for col, chars in enumerate(per):
                if chars:
                    cells[col].append((ln.y, chars))
        out.append([_text([c for _, c in cell], [y for y, _ in cell], pitch) for cell in cells])
    return out


def _furniture(line: _Line, body: float) -> bool:
    """The page footer (form code, page number) and the identity's small print."""
    return form_id_from_code(line.text) is not None or line.height < 0.75 * body


def _rtl(text: str) -> bool:
    return any(unicodedata.bidirectional(ch) in ("R", "AL") for ch in text)


def page_blocks(data: bytes) -> list[Block]:
    """The exported Word form's pages as the docx reader's blocks, in reading order.

    A line with right-to-left letters is given as it is drawn, which is not the order it
    was typed: its text is kept, and the reader leaves such an answer out (see _rtl)."""
    doc = pdfium.PdfDocument(data)
    try:
        pages: list[tuple[list[_Line], _Borders]] = []
        for number in range(len(doc)):
            page = doc[number]
            pages.append((_lines(_chars(page), number), _borders(page)))
    finally:
        doc.close()
    every = [ln for lines, _ in pages for ln in lines]
    if not every:
        return []
    body = Counter(ln.height for ln in every).most_common(1)[0][0]
    kept = [ln for ln in every if not _furniture(ln, body)]
    pitch = _pitch(kept)
    blocks: list[Block] = []
    paragraph: list[_Line] = []
    last_table: list[float] | None = None
    last: list[_Line | None] = [None]  # the last paragraph's last line

    def flush() -> None:
        if paragraph:
            blocks.append(
                Block(_text([ln.chars for ln in paragraph], [ln.y for ln in paragraph], pitch))
            )
            paragraph.clear()

    for lines, borders in pages:
        lines = [ln for ln in lines if not _furniture(ln, body)]
        done: set[int] = set()
        for i, line in enumerate(lines):
            if i in done:
                continue
            columns = _header(line)
            table = _table_at(line, columns, borders) if columns else None
            if table is not None and columns is not None:
                flush()
                inside = [j for j, ln in enumerate(lines) if table.bottom < ln.y < table.top]
                done.update(inside)
                rows = _table_rows(table, [lines[j] for j in inside], pitch)
                head = ["".join(c.text for c in r) for r in _runs(line, 0.6 * line.height)]
                if (
                    last_table is not None
                    and blocks
                    and blocks[-1].rows
                    and len(columns) == len(last_table)
                ):
                    blocks[-1].rows.extend(rows)  # the table goes on from the last page
                else:
                    blocks.append(Block("", [head, *rows]))
                last_table = columns
                continue
            last_table = None
            if paragraph and _goes_on(paragraph[-1], line, pitch):
                paragraph.append(line)
                last[0] = line
                continue
            flush()
            if _prefill_row(line):
                runs = _runs(line, 2.0 * line.height)
                blocks.append(Block("", [["".join(c.text for c in r) for r in runs]]))
                continue
            if blocks and not blocks[-1].rows:
                blank = _blank_lines(last[0], line, pitch)
                blocks.extend(Block("") for _ in range(blank))
            paragraph.append(line)
            last[0] = line
        flush()
    return blocks


def _blank_lines(prev: _Line | None, line: _Line, pitch: float) -> int:
    """Blank lines typed between the one-line paragraph ``prev`` and ``line``."""
    if prev is None or prev.page != line.page or prev.y <= line.y:
        return 0
    ratio = (prev.y - line.y) / pitch
    if abs(ratio - round(ratio)) > 0.12 or abs(prev.height - line.height) > 0.3:
        return 0  # paragraph spacing, not typed blank lines
    return max(0, round(ratio) - 1)


def _goes_on(prev: _Line, line: _Line, pitch: float) -> bool:
    """Whether ``line`` goes on with ``prev``'s paragraph (the layout wrapped it there)."""
    if not prev.text.endswith(" ") or abs(prev.x - line.x) > 2:
        return False
    if prev.page != line.page:
        return True
    return abs(prev.y - line.y - pitch) < 0.15 * pitch


def _prefill_row(line: _Line) -> bool:
    labels = {
        _norm(texts.t(key, lang))
        for key in ("name", "department", "manager", "meeting_date")
        for lang in LANGUAGES
    }
    runs = _runs(line, 2.0 * line.height)
    return len(runs) == 2 and _norm("".join(c.text for c in runs[0])) in labels


@dataclass
class WordRead:
    """The answers read from an exported Word form's pages, and what could not be read."""

    fields: dict[str, RawValue]
    notes: list[str]


def read_word_pages(data: bytes, qs: QuestionSet) -> WordRead | None:
    """The answers on the pages of a Word form exported to PDF, by the Word form's layout;
    None when the pages do not show it: fewer than half its numbered questions ("3. " and
    the label), or not two of its header table's rows (a label, then its value; the PDF
    form prints the values alone)."""
    blocks = page_blocks(data)
    page = _Layout(blocks, qs)
    questions = qs.questions()
    found = [
        q
        for number, q in enumerate(questions, start=1)
        if page._find_label(number, q, 0) is not None
    ]
    if 2 * len(found) < len(questions) or _prefill_rows(blocks) < 2:
        return None
    notes = [
        f"question {q.id!r}: its label was not found on the page, so its answer was not "
        "read; read it on the page"
        for q in questions
        if q not in found
    ]
    fields = page.fields()
    return WordRead(fields, notes)


def _prefill_rows(blocks: list[Block]) -> int:
    labels = {
        _norm(texts.t(key, lang))
        for key in ("name", "department", "manager", "meeting_date")
        for lang in LANGUAGES
    }
    return sum(
        1
        for b in blocks
        if b.rows and len(b.rows) == 1 and len(b.rows[0]) == 2 and _norm(b.rows[0][0]) in labels
    )
