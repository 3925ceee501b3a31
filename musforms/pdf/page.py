"""Read a musforms PDF form whose fields are gone, from its pages, by the issued layout.

A form flattened (``qpdf --flatten-annotations``, Preview's "export as flat", iOS) or printed
to PDF (``pdftocairo -pdf``, Chrome's "Save as PDF") keeps what each field showed as page
content at the field's place, and nothing else. The issued form says where every field is
(musforms.pdf._placed); this module takes, on the returned page, the characters drawn inside
each text field's rectangle, and looks inside each checkbox and radio button's box for a mark.

PDFium (pypdfium2) does both: its text page gives every character with its position and the
text object that draws it, in the order the page draws them; its renderer gives the page as
pixels. Measured on flattened and printed returns (benchmarks/RESULTS.md) against PDFium's own
``get_text_bounded``, pypdf (``extract_text`` with a visitor: runs with their matrices) and
pdfminer.six (characters with boxes), only reading by text object tells text a field drew past
its box's edge (hidden there, but still in the page) from the answer of the field it ran into:
each of the others returned wrong values for 6 to 9 of 14 text fields.

What may not come back exactly, and is then reported instead of guessed:

- an answer longer than its box: the viewer drew it past the edge, where the box hid it. It is
  not read (the answer is null) and a note names the question.
- letters the viewer could not draw (it wrote ``?`` for them): not read, and said so.
- line breaks: a break the field's own wrapping made is told from one typed by where the line
  ends; blank lines by the gap between lines.
- right-to-left text (Arabic, Hebrew): read, one line, only where the page tells the order
  it was typed in (_rtl_line); else not read, and said so.
"""

from __future__ import annotations

import ctypes
import itertools
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field

import pypdfium2 as pdfium
import pypdfium2.raw as pdfium_c
from bidi import get_display

from musforms import fieldnames as fn
from musforms.models import QuestionSet, RawValue, localize
from musforms.pdf._placed import Placed, Rect

__all__ = ["PageRead", "read_pages"]

RENDER_SCALE = 2.0  # pixels per point when looking for marks in boxes
DARK = 200  # a grey level (0 black … 255 white) that counts as ink (pdf.js's radio dot is grey)
MARK_SHARE = 0.08  # of a box's inner pixels inked, beyond the blank form's, that is a mark
# The height of a line of text at about 6 pt (a loose character box is some 1.2 times the
# font size), the smallest size viewers shrink a field's text to.
SMALLEST_TEXT = 7.6
EDGE = 1.0  # points a character's origin may lie outside its field's rectangle
# qpdf and other viewers draw "?" for a letter their font has not got.
_UNDRAWN = re.compile(r"\?\?|(?<=\w)\?(?=\w)")


@dataclass
class _Char:
    index: int
    text: str
    x: float  # origin
    y: float
    left: float  # loose box
    right: float
    bottom: float
    top: float
    group: int = -1
    advance: float = 0.0  # how far the font moves on after it (0: not known)
    space: float = 0.0  # the advance of a space in its font (0: not known)
    drawn: int = -1  # where its text object comes in the page's content (-1: not known)


@dataclass
class PageRead:
    """What the pages gave: raw values by field name, and what could not be read, by
    question (field name → why)."""

    fields: dict[str, RawValue] = field(default_factory=dict)
    unreadable: dict[str, str] = field(default_factory=dict)
    # Read, but with something to check by hand (field name → what).
    doubtful: dict[str, str] = field(default_factory=dict)
    static_matches: bool = False  # the page text outside the fields is the issued form's


def read_pages(
    data: bytes, issued_pdf: bytes, widgets: Sequence[Placed], qs: QuestionSet
) -> PageRead | None:
    """The answers drawn on the pages of ``data``, a flattened or printed copy of the issued
    form ``issued_pdf`` whose widgets are ``widgets``; None when the pages are not the
    issued form's (another page count or size)."""
    doc = pdfium.PdfDocument(data)
    blank = pdfium.PdfDocument(issued_pdf)
    blank.init_forms()  # the issued form is drawn with its (empty) fields, as it was sent
    try:
        if len(doc) != len(blank):
            return None
        result = PageRead()
        static_same = True
        pages = [doc[number] for number in range(len(doc))]
        for page, issued_page in zip(pages, (blank[n] for n in range(len(blank))), strict=True):
            if abs(page.get_width() - issued_page.get_width()) > 2 or (
                abs(page.get_height() - issued_page.get_height()) > 2
            ):
                return None
        every = [_chars(page) for page in pages]
        leading = _line_pitch(every, widgets)
        for number, page in enumerate(pages):
            issued_page = blank[number]
            on_page = [w for w in widgets if w.page == number and not w.hidden]
            chars = every[number]
            owned = _assign(chars, on_page)
            issued_text = _static(_chars(issued_page), {}, on_page)
            static_same &= _static(chars, owned, on_page) == issued_text
            for w in on_page:
                if w.kind == "text":
                    _text_field(w, owned.get(w.name, []), leading, result)
            _look(page, issued_page, on_page, owned, result)
        result.static_matches = static_same
        _name_questions(result, qs)
        return result
    finally:
        doc.close()
        blank.close()


# --- characters -------------------------------------------------------------------------


def _chars(page: pdfium.PdfPage) -> list[_Char]:
    """Every character the page draws, in drawing order, each with the text object it is
    drawn by (``group``: a line of a field's text is one or a few text objects)."""
    # The order the content draws its text objects in (PDFium's text page puts them in its
    # own reading order, reordering right-to-left runs).
    drawn: dict[int | None, int] = {}  # text object → its place in the content
    for obj in page.get_objects(filter=(pdfium_c.FPDF_PAGEOBJ_TEXT,)):
        drawn.setdefault(ctypes.cast(obj.raw, ctypes.c_void_p).value, len(drawn))
    text = page.get_textpage()
    out: list[_Char] = []
    try:
        n = pdfium_c.FPDFText_CountChars(text)
        x, y = ctypes.c_double(), ctypes.c_double()
        box = pdfium_c.FS_RECTF()
        objects: dict[int, int] = {}
        fonts: dict[int, tuple[object, float, float]] = {}
        width = ctypes.c_float()
        for i in range(n):
            if pdfium_c.FPDFText_IsGenerated(text, i):
                continue  # a space or line end PDFium made up, not drawn
            code = pdfium_c.FPDFText_GetUnicode(text, i)
            if code == 0:
                continue
            pdfium_c.FPDFText_GetCharOrigin(text, i, x, y)
            pdfium_c.FPDFText_GetLooseCharBox(text, i, box)
            obj = pdfium_c.FPDFText_GetTextObject(text, i)
            # A character of no text object (a space PDFium's text page put in, where it
            # may reorder a line) is a group of its own: it ties no text together.
            key = (ctypes.cast(obj, ctypes.c_void_p).value or 0) if obj else -1 - i
            group = objects.setdefault(key, len(objects))
            if key not in fonts:
                fonts[key] = _font(obj, width) if obj else (None, 0.0, 0.0)
            font, scale, space = fonts[key]
            advance = 0.0
            if font is not None and pdfium_c.FPDFFont_GetGlyphWidth(font, code, 1.0, width):
                advance = width.value * scale
            out.append(
                _Char(i, chr(code), x.value, y.value, box.left, box.right, box.bottom, box.top)
            )
            out[-1].group = group
            out[-1].advance = advance
            out[-1].space = space
            out[-1].drawn = drawn.get(key, -1)
    finally:
        text.close()
    return out


def _font(obj: object, width: ctypes.c_float) -> tuple[object, float, float]:
    """A text object's font, its size on the page (font size times the text matrix), and
    the advance of a space in it there."""
    font = pdfium_c.FPDFTextObj_GetFont(obj)
    size = ctypes.c_float()
    matrix = pdfium_c.FS_MATRIX()
    if not font or not pdfium_c.FPDFTextObj_GetFontSize(obj, size):
        return None, 0.0, 0.0
    if not pdfium_c.FPDFPageObj_GetMatrix(obj, matrix):
        return None, 0.0, 0.0
    scale = size.value * (matrix.a**2 + matrix.b**2) ** 0.5
    space = width.value * scale if pdfium_c.FPDFFont_GetGlyphWidth(font, 32, 1.0, width) else 0.0
    return font, scale, space


def _inside(x: float, y: float, rect: Rect, edge: float = EDGE) -> bool:
    return rect[0] - edge <= x <= rect[2] + edge and rect[1] - edge <= y <= rect[3] + edge


def _field_at(c: _Char, widgets: Sequence[Placed]) -> Placed | None:
    for w in widgets:
        if w.kind == "text" and _inside(c.x, c.y, w.rect):
            return w
    return None


def _assign(chars: list[_Char], widgets: Sequence[Placed]) -> dict[str, list[_Char]]:
    """The characters of each text field.

    A text object belongs to the field its first character lies in, unless it goes on from
    the text object before it: on the same line where that one ended (a line drawn in
    pieces), or as the next line just below a multi-line field's box (text that ran past its
    bottom edge). So text a field drew past its edge stays its own, and shows the answer was
    cut, instead of joining the answer of the field it ran into."""
    by_name = {w.name: w for w in widgets if w.kind == "text"}
    owned: dict[str, list[_Char]] = {}
    owner: dict[int, str | None] = {}
    current: str | None = None
    last: _Char | None = None
    for c in chars:
        if c.group not in owner:
            here = _field_at(c, widgets)
            name = here.name if here else None
            if last is not None and current is not None:
                w = by_name[current]
                height = max(1.0, last.top - last.bottom)
                same_line = abs(last.y - c.y) < 0.3 * height and -height < c.x - last.right < height
                next_line_below = (
                    w.multiline
                    and not _inside(c.x, c.y, w.rect)
                    and 0 < last.y - c.y < 1.8 * height
                    and abs(c.x - w.rect[0]) < 8
                )
                if same_line or next_line_below:
                    name = current
            owner[c.group] = name
        current = owner[c.group]
        last = c
        if current is not None:
            owned.setdefault(current, []).append(c)
    return owned


def _static(chars: list[_Char], owned: dict[str, list[_Char]], widgets: Sequence[Placed]) -> str:
    """The page's text outside every field, without spaces: the printed form itself, with
    the prefilled name, department, leader, date and last year's agreements."""
    taken = {id(c) for cs in owned.values() for c in cs}
    out = []
    for c in chars:
        if id(c) in taken or any(_inside(c.x, c.y, w.rect, 0.0) for w in widgets):
            continue
        if not c.text.isspace():
            out.append(c.text)
    return unicodedata.normalize("NFC", "".join(out))


# --- text fields ------------------------------------------------------------------------


def _lines(chars: list[_Char], pitch: float) -> list[list[_Char]]:
    """Characters by printed line, top to bottom, each line in drawing order."""
    lines: list[list[_Char]] = []
    tolerance = max(1.0, 0.3 * pitch)
    for c in sorted(chars, key=lambda c: (-c.y, c.index)):
        if lines and abs(lines[-1][0].y - c.y) <= tolerance:
            lines[-1].append(c)
        else:
            lines.append([c])
    for line in lines:
        line.sort(key=lambda c: c.index)
    return lines


def _height(chars: Sequence[_Char]) -> float:
    """The usual height of the characters' boxes (their font size, near enough)."""
    heights = sorted(c.top - c.bottom for c in chars if c.top > c.bottom and c.text.strip())
    return heights[len(heights) // 2] if heights else 0.0


def _line_pitch(pages: list[list[_Char]], widgets: Sequence[Placed]) -> float:
    """How far apart a viewer sets two lines of a multi-line field, in character heights.

    Fields drawn at the size that fits have each their own size, but one viewer leads its
    lines alike: the smallest gap between consecutive lines of any multi-line field, over
    the height of that field's characters. 1.15 when no field has two lines next to each
    other."""
    best = 0.0
    for number, chars in enumerate(pages):
        for w in widgets:
            if w.page != number or not w.multiline or w.hidden:
                continue
            inside = [c for c in chars if _inside(c.x, c.y, w.rect)]
            height = _height(inside)
            if not height:
                continue
            ys = sorted({round(c.y, 1) for c in inside}, reverse=True)
            for a, b in itertools.pairwise(ys):
                ratio = (a - b) / height
                if ratio > 0.5 and (best == 0.0 or ratio < best):
                    best = ratio
    return best or 1.15


class _Gap(Exception):
    """A line leaves more room between two characters than a space: something is drawn
    there that is no text (letters the viewer's font has not got, left out)."""


def _line_text(line: list[_Char]) -> str:
    """A printed line's text, with a space where the line leaves one undrawn.

    Between two text runs (a change of font) a viewer may move on instead of drawing a
    space: a gap of about half a space, by the font's own widths, is one. Within a run, a
    printed copy's glyphs stand apart by up to most of a space where its font's letters are
    narrower than the original's ("J" in a substituted Helvetica): only a gap of a whole
    space, by the glyph boxes, is one there. A gap after a drawn space, or of several
    spaces, is letters left out: _Gap."""
    drawn = [c.right - c.left for c in line if c.text == " " and c.right > c.left]
    out: list[str] = []
    prev: _Char | None = None
    for c in line:
        if prev is not None and not c.text.isspace():
            box_space = sum(drawn) / len(drawn) if drawn else 0.25 * max(1.0, c.top - c.bottom)
            box_gap = c.left - prev.right
            if prev.text.isspace():
                if box_gap > 0.8 * box_space:
                    raise _Gap
            elif box_gap > 2.5 * box_space:
                raise _Gap
            elif c.group != prev.group:
                width_gap = (
                    (c.x - prev.x - prev.advance) / prev.space
                    if prev.advance > 0 and prev.space > 0
                    else 0.0
                )
                if width_gap > 0.4 or box_gap > 0.8 * box_space:
                    out.append(" ")
            elif box_gap > 0.95 * box_space:
                out.append(" ")
        out.append(c.text)
        prev = c
    return "".join(out)


def _rtl(text: str) -> bool:
    return any(unicodedata.bidirectional(ch) in ("R", "AL") for ch in text)


# Letters a viewer may draw in their joined shapes (Arabic and Hebrew presentation forms,
# U+FB1D to U+FDFF and U+FE70 to U+FEFF): each stands for its base letter (NFKC).
_PRESENTATION = re.compile("[\ufb1d-\ufdff\ufe70-\ufeff]")


def _base_letters(text: str) -> str:
    return _PRESENTATION.sub(lambda m: unicodedata.normalize("NFKC", m.group()), text)


def _rtl_line(line: list[_Char]) -> str | None:
    """A line with right-to-left letters in the order typed, where the page shows it with
    certainty; None where it cannot.

    What viewers draw (measured: tests/test_pdf_page.py):

    - PDFium (Chrome) lays the line out for reading, by the Unicode bidirectional
      algorithm (the first letter typed at the right, digits and Latin left to right), and
      draws it in the order typed: each right-to-left letter a text object of its own. The
      content order is the typed text, and the positions are its bidirectional display.
    - pdf.js and poppler draw the letters in the order typed, left to right, as if they were
      Latin: the content order is the order of the positions. So does a viewer that
      reorders the line for reading itself and draws the result left to right, where the
      letters' order is the reverse of what was typed: the page cannot tell the two apart,
      and such a line is not read.
    - A printed copy (pdftocairo) draws the glyphs again in runs of its own, in an order
      that is neither the viewer's nor the typed one: only the positions remain, which the
      two layouts above read in opposite orders. Not read unless its content order
      displays as its positions do (as PDFium's own layout does).

    So a line is read only when its content order, laid out by the bidirectional algorithm
    (python-bidi), is exactly what the positions show, and that differs from the content
    order itself: the viewer laid the line out for reading from the text in the order
    typed."""
    inked = [c for c in line if not c.text.isspace()]
    if not inked or any(c.drawn < 0 for c in inked):
        return None
    # What the page shows, left to right, with a space where the glyphs leave one (viewers
    # draw some spaces as no character at all, and PDFium's text page puts the ones it
    # makes up anywhere).
    ordered = sorted(inked, key=lambda c: c.x)
    shown = ordered[0].text
    for prev, c in itertools.pairwise(ordered):
        space = prev.space or c.space or 0.25 * max(1.0, c.top - c.bottom)
        gap = c.left - prev.right
        if gap > 1.6 * space:
            return None  # more than one space, or letters left out: the count is not known
        shown += (" " if gap > 0.5 * space else "") + c.text
    shown = _base_letters(shown)
    # The page's text read right to left, its left-to-right runs (digits, Latin) kept in
    # their own order: the typed text, if the viewer laid the line out for reading.
    drawn = _base_letters("".join(c.text for c in sorted(inked, key=lambda c: (c.drawn, c.x))))
    if drawn == shown.replace(" ", ""):
        return None  # drawn left to right: as typed, or reordered by the viewer
    typed = {
        text
        for text in _reading_orders(shown)
        if get_display(text) == shown and text.replace(" ", "") == drawn
    }
    return typed.pop() if len(typed) == 1 else None


def _reading_orders(shown: str) -> set[str]:
    """The texts a right-to-left line shown left to right (``shown``) may have been typed
    as: read right to left, each left-to-right run (digits, Latin) in its own order, runs
    that a space parts either each alone or together."""
    parts = re.findall(r"[^\W\d_]+|\d+|.", shown[::-1])
    found = set()
    for join in (False, True):
        out: list[str] = []
        ltr: list[str] = []
        for part in parts:
            if all(unicodedata.bidirectional(ch) in ("L", "EN", "AN") for ch in part):
                ltr.append(part)
                continue
            if join and part == " " and ltr and ltr[-1] != " ":
                ltr.append(part)
                continue
            trailing = [" "] if ltr and ltr[-1] == " " else []
            out.append("".join(ltr[: len(ltr) - len(trailing)])[::-1])
            out.extend(trailing)
            ltr = []
            out.append(part)
        out.append("".join(ltr)[::-1])
        found.add("".join(out))
    return found


def _text_field(w: Placed, chars: list[_Char], leading: float, result: PageRead) -> None:
    visible = [c for c in chars if _inside(c.x, c.y, w.rect)]
    hidden = [c for c in chars if not _inside(c.x, c.y, w.rect) and c.text.strip()]
    if hidden:
        result.fields[w.name] = None
        result.unreadable[w.name] = (
            "the answer runs past the edge of its box on the page, where it cannot be seen: "
            "it was not read; read it in the returned file or ask for it again"
        )
        return
    if not any(c.text.strip() for c in visible):
        result.fields[w.name] = None
        return
    pitch = leading * (_height(visible) or 10.0)
    lines = _lines(visible, pitch)
    if _full(w, lines, pitch):
        result.fields[w.name] = None
        result.unreadable[w.name] = (
            "the answer fills its box to the edge, so it may go on past it, where the page "
            "cannot show it: it was not read; read it in the returned file or ask for it again"
        )
        return
    shown = "".join(c.text for c in visible)
    if _rtl(shown):
        # Viewers draw right-to-left text in different orders: read only where the page
        # tells which (_rtl_line), on one line.
        read = _rtl_line(lines[0]) if len(lines) == 1 else None
        if read is not None and not _UNDRAWN.search(read):
            result.fields[w.name] = unicodedata.normalize("NFC", read)
            return
        result.fields[w.name] = None
        result.unreadable[w.name] = (
            "the answer is in a right-to-left script, which this page does not show in an "
            "order that can be told (viewers draw it in different orders): it was not read; "
            "read it in the returned file"
        )
        return
    parts: list[str] = []
    for i, line in enumerate(lines):
        try:
            text = _line_text(line).rstrip()
        except _Gap:
            result.fields[w.name] = None
            result.unreadable[w.name] = (
                "part of the answer is not drawn as text on the page (letters the viewer "
                "could not draw were left out): it was not read; read it in the returned "
                "file or ask for it again"
            )
            return
        if i:
            prev = lines[i - 1]
            gap = prev[0].y - line[0].y
            blank = max(0, round(gap / pitch) - 1) if pitch > 0 else 0
            if blank == 0 and w.multiline and _wrapped(prev, line, w.rect):
                # The field wrapped here, or the person pressed Enter where it would have:
                # the page cannot tell. Read as wrapped, and said so.
                parts.append(" ")
                result.doubtful[w.name] = (
                    "its lines run to the edge of the box, so a line break typed where the "
                    "field wraps anyway reads as a space: check its line breaks"
                )
            else:
                parts.append("\n" * (blank + 1))
        parts.append(text.lstrip() if i and parts[-1] == " " else text)
    value = unicodedata.normalize("NFC", "".join(parts)).strip("\n").rstrip()
    value = value.lstrip(" ")
    if _UNDRAWN.search(value):
        result.fields[w.name] = None
        result.unreadable[w.name] = (
            "the page shows ? in place of letters the viewer could not draw: the answer "
            "was not read; read it in the returned file or ask for it again"
        )
        return
    result.fields[w.name] = value or None


def _full(w: Placed, lines: list[list[_Char]], pitch: float) -> bool:
    """Whether the text reaches the end of its box: the last line where no line fits below
    it (a multi-line field), or the line's end at the right edge (a one-line field). A
    printed copy leaves out what its box hid, so the text seen may not be all there is."""
    inked = [c for c in lines[-1] if not c.text.isspace()]
    if not inked:
        return False
    if w.multiline:
        # Text at the smallest size viewers shrink to may not all be there: at it, some
        # viewers (qpdf making appearances) leave out the lines that do not fit, anywhere.
        if max(c.top - c.bottom for c in inked) < SMALLEST_TEXT:
            return True
        if lines[-1][0].y - pitch >= w.rect[1] - EDGE:
            return False
        # A field drawn at the size that fits ends at its bottom edge when its text fits.
        return not w.auto_size
    width = max(c.right - c.left for c in inked)
    return max(c.right for c in inked) > w.rect[2] - 2.0 - width


def _wrapped(prev: list[_Char], line: list[_Char], rect: Rect) -> bool:
    """Whether the field's own wrapping broke ``prev`` before ``line``: the first word of
    ``line`` would not have fit at the end of ``prev``."""
    words = "".join(c.text for c in line).split(" ")
    first = len(words[0]) if words else 0
    if not first:
        return False
    word = [c for c in line if not c.text.isspace()][:first]
    width = (max(c.right for c in word) - min(c.left for c in word)) if word else 0.0
    space = (prev[-1].right - prev[-1].left) * 0.6
    end = max(c.right for c in prev)
    return end + space + width > rect[2] - 2.0


# --- boxes ------------------------------------------------------------------------------


def _ink(
    bitmap: pdfium.PdfBitmap,
    height_pt: float,
    rect: Rect,
    inset: float = 0.25,
    level: int = DARK,
) -> float:
    """The share of pixels darker than ``level`` in a box, its border (``inset`` of its
    size on each side) left out."""
    x0, y0, x1, y1 = rect
    inset_x, inset_y = (x1 - x0) * inset, (y1 - y0) * inset
    left = int((x0 + inset_x) * RENDER_SCALE)
    right = int((x1 - inset_x) * RENDER_SCALE)
    top = int((height_pt - (y1 - inset_y)) * RENDER_SCALE)
    bottom = int((height_pt - (y0 + inset_y)) * RENDER_SCALE)
    buf = bitmap.buffer
    stride, channels = bitmap.stride, bitmap.n_channels
    dark = total = 0
    for row in range(max(0, top), min(bitmap.height, bottom)):
        base = row * stride
        for col in range(max(0, left), min(bitmap.width, right)):
            total += 1
            if buf[base + col * channels] < level:
                dark += 1
    return dark / total if total else 0.0


def _look(
    page: pdfium.PdfPage,
    issued_page: pdfium.PdfPage,
    widgets: list[Placed],
    owned: dict[str, list[_Char]],
    result: PageRead,
) -> None:
    """What the rendered page shows in each field's box, against the issued form's page
    drawn with its empty fields: ticks and radio marks (a box more inked than the empty
    one), and text fields the viewer dropped altogether (the box itself is not drawn)."""
    height = page.get_height()
    bitmap = page.render(scale=RENDER_SCALE, grayscale=True)
    blank = issued_page.render(scale=RENDER_SCALE, grayscale=True, may_draw_forms=True)
    try:
        for w in widgets:
            if w.kind == "text":
                if owned.get(w.name) or w.name in result.unreadable:
                    continue
                drawn = _ink(blank, height, w.rect, 0.0, 250)
                if drawn > 0.02 and _ink(bitmap, height, w.rect, 0.0, 250) < 0.3 * drawn:
                    result.fields[w.name] = None
                    result.unreadable[w.name] = (
                        "the field is not drawn on the page at all (the viewer dropped it "
                        "when it flattened the form): its answer cannot be read; ask for the "
                        "form to be saved and sent again"
                    )
                continue
            if w.kind not in ("checkbox", "radio"):
                continue
            marked = _ink(bitmap, height, w.rect) - _ink(blank, height, w.rect) > MARK_SHARE
            if w.kind == "checkbox":
                result.fields[w.name] = marked
            elif marked:
                if result.fields.get(w.name) not in (None, w.on):
                    result.unreadable[w.name] = (
                        "more than one of its buttons is marked on the page: not read"
                    )
                    result.fields[w.name] = None
                elif w.name not in result.unreadable:
                    result.fields[w.name] = w.on
            else:
                result.fields.setdefault(w.name, None)
    finally:
        bitmap.close()
        blank.close()


def _name_questions(result: PageRead, qs: QuestionSet) -> None:
    """Say which question each unreadable or doubtful field belongs to, as the form shows
    it."""
    result.unreadable = _named(result.unreadable, qs)
    result.doubtful = {
        name: why
        for name, why in _named(result.doubtful, qs).items()
        if name not in result.unreadable
    }


def _named(found: dict[str, str], qs: QuestionSet) -> dict[str, str]:
    specs = fn.spec_by_name(qs)
    labels = {q.id: localize(q.label, "da") for q in qs.questions()}
    named: dict[str, str] = {}
    for name, why in found.items():
        spec = specs.get(name)
        if spec is not None:
            where = f"question {spec.question!r} ({labels.get(spec.question, '')})"
            if spec.row is not None:
                where += f", row {spec.row}, {spec.part}"
        elif name.startswith(fn.PREVIOUS_COMMENT + fn.SEP):
            where = f"last year's agreement {name.rsplit(fn.SEP, 1)[1]}, its comment"
        elif name.startswith(fn.PREVIOUS_STATUS + fn.SEP):
            where = f"last year's agreement {name.rsplit(fn.SEP, 1)[1]}, its status"
        else:
            where = f"field {name!r}"
        named[name] = f"{where}: {why}"
    return named
