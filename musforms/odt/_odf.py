"""Raw OpenDocument text: element names, visible text, and content controls as ``Control``.

Everything that knows ODF element names and namespaces lives here, below the reader. Spec:
OASIS OpenDocument 1.3 Part 3 §5 (paragraph content), §6.1.2 (white space); content controls
are LibreOffice's extension ``loext:content-control`` (LibreOffice 7.5 and later), which is
how it stores a Word form's content controls (``w:sdt``) in an .odt.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field

from lxml import etree

from musforms.docx import _sdt as sdt
from musforms.docx._package import qualified
from musforms.docx._sdt import Control, ControlKind
from musforms.errors import FormReadError
from musforms.i18n import _
from musforms.odt import TEXT_MEDIA_TYPE

__all__ = ["TEXT_MEDIA_TYPE", "control_from_element", "parse_controls", "text_of"]

OFFICE_NS = "urn:oasis:names:tc:opendocument:xmlns:office:1.0"
TEXT_NS = "urn:oasis:names:tc:opendocument:xmlns:text:1.0"
TABLE_NS = "urn:oasis:names:tc:opendocument:xmlns:table:1.0"
STYLE_NS = "urn:oasis:names:tc:opendocument:xmlns:style:1.0"
META_NS = "urn:oasis:names:tc:opendocument:xmlns:meta:1.0"
DC_NS = "http://purl.org/dc/elements/1.1/"
MANIFEST_NS = "urn:oasis:names:tc:opendocument:xmlns:manifest:1.0"
LOEXT_NS = "urn:org:documentfoundation:names:experimental:office:xmlns:loext:1.0"

office = qualified(OFFICE_NS)
text = qualified(TEXT_NS)
table = qualified(TABLE_NS)
style = qualified(STYLE_NS)
meta = qualified(META_NS)
dc = qualified(DC_NS)
manifest = qualified(MANIFEST_NS)
loext = qualified(LOEXT_NS)


CONTENT_CONTROL = loext("content-control")
ENCRYPTION_DATA = manifest("encryption-data")
_PARAGRAPHS = (text("p"), text("h"))
# Not part of the visible text: comments, footnotes and endnotes (Word keeps both in parts of
# their own), tracked deletions, a drop-down's item list.
_HIDDEN = frozenset(
    {
        office("annotation"),
        office("annotation-end"),
        text("note"),
        text("tracked-changes"),
        loext("list-item"),
    }
)
# Character data counts as text only in text elements (spans, links, fields, controls); the
# alternative text of an image (svg:desc) or the name of a frame never does.
_TEXTUAL = (TEXT_NS, LOEXT_NS)
_WHITESPACE = re.compile(r"[ \t\n\r]+")


def _namespace(tag: str) -> str:
    return tag[1:].partition("}")[0] if tag.startswith("{") else ""


@dataclass
class _Open:
    """A content control being read: where its text starts, and whether it holds another."""

    start: int
    slot: int
    nested: bool = False


@dataclass
class _Reader:
    """Walks ODF content once: the visible text, and each content control with its text.

    White space follows ODF 1.3 §6.1.2 as LibreOffice reads it: within a paragraph a run of
    spaces, tabs and line ends is one space, none at the paragraph's start; ``text:s`` (with
    ``text:c``), ``text:tab`` and ``text:line-break`` are literal. Paragraphs are separated
    by ``\\n``, as in the Word reader. The text is bounded by ``max_chars``: ``text:s
    text:c`` can ask for any number of spaces.
    """

    max_chars: int
    out: list[str] = field(default_factory=list)
    size: int = 0
    paragraphs: int = 0
    skip_space: bool = True
    opened: list[_Open] = field(default_factory=list)
    controls: list[Control | None] = field(default_factory=list)
    styles: dict[str, str] | None = None  # paragraph_styles, once needed

    def room(self, count: int) -> None:
        if self.size + count > self.max_chars:
            raise FormReadError(_("the document holds more text than a form could ever hold"))

    def emit(self, chars: str) -> None:
        if not chars:
            return
        self.room(len(chars))
        self.size += len(chars)
        self.out.append(chars)

    def chars(self, data: str | None) -> None:
        if not data:
            return
        collapsed = _WHITESPACE.sub(" ", data)
        if self.skip_space and collapsed.startswith(" "):
            collapsed = collapsed[1:]
        if collapsed:
            self.skip_space = collapsed.endswith(" ")
            self.emit(collapsed)

    def literal(self, chars: str) -> None:
        self.emit(chars)
        self.skip_space = False

    def walk(self, el: etree._Element, in_paragraph: bool) -> None:
        tag = el.tag
        if not isinstance(tag, str) or tag in _HIDDEN:
            return  # a comment or processing instruction, or hidden content
        if tag == CONTENT_CONTROL:
            self.control(el)
        elif tag == TABLE and el.find(f".//{CONTENT_CONTROL}") is None:
            # A table of the employee's (the form's own hold controls): read as text, a line
            # per row and cells by tabs, a block of its own as in the Word reader.
            if self.paragraphs:
                self.emit("\n")
            self.paragraphs += 1
            self.literal(table_text(el, self.max_chars))
        elif tag in _PARAGRAPHS:
            if self.paragraphs:
                self.emit("\n")
            self.paragraphs += 1
            self.skip_space = True
            self.children(el, textual=True)
        elif not in_paragraph:
            self.children(el, textual=False)
        elif tag == text("s"):
            count = _count(el.get(text("c")))
            self.room(count)  # before the spaces are made: text:c may ask for billions
            self.literal(" " * count)
        elif tag == text("tab"):
            self.literal("\t")
        elif tag == text("line-break"):
            self.literal("\n")
        else:
            self.children(el, textual=_namespace(tag) in _TEXTUAL)

    def children(self, el: etree._Element, *, textual: bool) -> None:
        in_paragraph = textual or el.tag in _PARAGRAPHS
        if textual:
            self.chars(el.text)
        for child in el:
            self.walk(child, in_paragraph)
            if textual:
                self.chars(child.tail)

    def control(self, el: etree._Element) -> None:
        for outer in self.opened:
            outer.nested = True
        current = _Open(len(self.out), len(self.controls))
        self.controls.append(None)
        self.opened.append(current)
        try:
            self.children(el, textual=True)
        finally:
            self.opened.pop()
        shown = "".join(self.out[current.start :])
        ctl = control_from_element(el, shown, current.nested)
        if ctl.kind in ("text", "richtext") and not ctl.nested:
            self.spilled(el, ctl)
        self.controls[current.slot] = ctl

    def spilled(self, el: etree._Element, ctl: Control) -> None:
        """Add what the control's text runs on into (:func:`spilled_blocks`) to its value."""
        if self.styles is None:
            self.styles = paragraph_styles(el)
        blocks = spilled_blocks(el, self.max_chars, self.styles)
        if not blocks:
            return
        parts = [] if ctl.placeholder else [ctl.text]
        for block in blocks:
            part = (
                table_text(block, self.max_chars)
                if block.tag == TABLE
                else text_of(block, self.max_chars)
            )
            self.room(len(part))  # the whole document's text stays within the bound
            self.size += len(part)
            parts.append(part)
        ctl.text = "\n".join(parts)
        ctl.value = sdt.text_value(ctl.text)
        ctl.placeholder = ctl.value is None
        ctl.tables += sum(1 for b in blocks if b.tag == TABLE)

    def text(self) -> str:
        return "".join(self.out)


def _count(value: str | None) -> int:
    try:
        return max(int(value), 0) if value is not None else 1
    except ValueError:
        return 1


def text_of(el: etree._Element, max_chars: int) -> str:
    """Visible text of ODF content: spaces, tabs and line breaks as shown, paragraphs ended by
    ``\\n`` (none after the last), white space collapsed as ODF says."""
    reader = _Reader(max_chars)
    reader.walk(el, in_paragraph=False)
    return reader.text()


def parse_controls(root: etree._Element, max_chars: int) -> tuple[list[Control], str]:
    """Every content control under ``root`` in document order, and the visible text."""
    reader = _Reader(max_chars)
    reader.walk(root, in_paragraph=False)
    return [c for c in reader.controls if c is not None], reader.text()


TABLE = table("table")
_ROW_GROUPS = frozenset({table("table-header-rows"), table("table-rows"), table("table-row-group")})
# Marks between paragraphs that are no text of their own.
_BETWEEN = frozenset(
    {text("soft-page-break"), text("bookmark"), text("bookmark-start"), text("bookmark-end")}
)


def _rows(tbl: etree._Element) -> Iterator[etree._Element]:
    for child in tbl:
        if child.tag == table("table-row"):
            yield child
        elif child.tag in _ROW_GROUPS:
            yield from _rows(child)


def table_text(tbl: etree._Element, max_chars: int) -> str:
    """A table as text, as the Word reader's ``table_text``: a line per row, cells separated
    by tabs, each cell's paragraphs joined by spaces."""
    lines = []
    for row in _rows(tbl):
        cells = [
            " ".join(text_of(cell, max_chars).split("\n"))
            for cell in row.iterchildren(table("table-cell"))
        ]
        lines.append("\t".join(cells))
    return "\n".join(lines)


def paragraph_styles(el: etree._Element) -> dict[str, str]:
    """Each automatic paragraph style of ``el``'s document (``P4``) → the named style it is
    made from (``MF_20_Answer``)."""
    automatic = el.getroottree().getroot().find(office("automatic-styles"))
    out: dict[str, str] = {}
    if automatic is not None:
        for st in automatic.iterchildren(style("style")):
            name, parent = st.get(style("name")), st.get(style("parent-style-name"))
            if name is not None and parent is not None:
                out[str(name)] = str(parent)
    return out


def _paragraph_style(p: etree._Element, styles: dict[str, str]) -> str | None:
    """A paragraph's style, by the named style an automatic one is made from."""
    name = p.get(text("style-name"))
    return None if name is None else styles.get(str(name), str(name))


def spilled_blocks(
    control: etree._Element, max_chars: int, styles: dict[str, str]
) -> list[etree._Element]:
    """The tables and paragraphs an answer control's text runs on into, outside the control,
    as the Word reader's ``spilled_blocks`` finds them: LibreOffice, asked to insert a table
    into an answer, splits its paragraph at the cursor, puts the table after it and the rest
    of the text in a new paragraph of the same style."""
    p = control.getparent()
    while p is not None and p.tag not in _PARAGRAPHS:
        if p.tag == CONTENT_CONTROL:
            return []
        p = p.getparent()
    if p is None:
        return []
    controls = list(p.iter(CONTENT_CONTROL))
    if controls[-1] is not control:
        return []
    kind = _paragraph_style(p, styles)
    found: list[etree._Element] = []
    for sibling in p.itersiblings():
        if sibling.tag in _BETWEEN:
            continue
        if (
            sibling.tag not in (TABLE, *_PARAGRAPHS)
            or sibling.find(f".//{CONTENT_CONTROL}") is not None
        ):
            break
        if sibling.tag != TABLE and _paragraph_style(sibling, styles) != kind:
            break
        found.append(sibling)
    while found and found[-1].tag != TABLE and not text_of(found[-1], max_chars).strip():
        found.pop()  # the empty paragraph a table leaves after it belongs to nothing
    return found


def _flag(el: etree._Element, name: str) -> bool:
    return (el.get(loext(name)) or "").strip().lower() == "true"


def control_from_element(el: etree._Element, shown: str, nested: bool = False) -> Control:
    """A ``loext:content-control`` as the Word reader's ``Control``, with the same values:
    text as shown, a bool for a checkbox, a drop-down's item value, a picked date as ISO;
    None while it shows its placeholder."""
    placeholder = _flag(el, "showing-place-holder")
    kind: ControlKind = "richtext"
    items: list[tuple[str, str]] = []
    value: str | bool | None = None
    if _flag(el, "checkbox"):
        kind, placeholder = "checkbox", False
        value = _flag(el, "checked")
    elif _flag(el, "dropdown") or _flag(el, "combobox"):
        kind = "dropdown" if _flag(el, "dropdown") else "combobox"
        for item in el.iter(loext("list-item")):
            shown_as = item.get(loext("display-text"))
            stored = item.get(loext("value"))
            items.append((stored or shown_as or "", shown_as or stored or ""))
        if not placeholder:
            value = sdt.dropdown_value(items, shown)
    elif _flag(el, "date"):
        kind = "date"
        if not placeholder:
            value = sdt.date_value(el.get(loext("current-date")), shown)
    elif _flag(el, "picture"):
        kind = "other"
    else:
        kind = "text" if _flag(el, "plain-text") else "richtext"
        if not placeholder:
            value = sdt.text_value(shown)
    return Control(
        kind,
        el.get(loext("tag")) or None,
        el.get(loext("alias")),
        value,
        shown,
        placeholder,
        el.get(loext("lock")),
        items=items,
        nested=nested,
    )
