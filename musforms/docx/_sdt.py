"""Raw WordprocessingML: content controls (``w:sdt``), legacy form fields, document properties.

Everything that knows element names and namespaces lives here, below the writer and the reader.
Builders return lxml elements; ``parse_controls`` turns a document body back into ``Control``
values. Spec: ECMA-376 Part 1 §17.5.2 (structured document tags), §17.16 (fields); the w14
checkbox is [MS-DOCX] 2.6.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Literal
from xml.sax.saxutils import escape

from lxml import etree

from musforms.docx._package import qualified

W_NS = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
W14_NS = "http://schemas.microsoft.com/office/word/2010/wordml"
CUSTOM_NS = "http://schemas.openxmlformats.org/officeDocument/2006/custom-properties"
VT_NS = "http://schemas.openxmlformats.org/officeDocument/2006/docPropsVTypes"
EXT_NS = "http://schemas.openxmlformats.org/officeDocument/2006/extended-properties"
DCTERMS_NS = "http://purl.org/dc/terms/"
CUSTOM_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/custom-properties"
CUSTOM_TYPE = "application/vnd.openxmlformats-officedocument.custom-properties+xml"
# The FMTID every custom document property carries (ECMA-376 Part 1 §22.3.2.2).
CUSTOM_FMTID = "{D5CDD505-2E9C-101B-9397-08002B2CF9AE}"

NSMAP = {"w": W_NS, "w14": W14_NS}
w = qualified(W_NS)
w14 = qualified(W14_NS)

CHECKED_GLYPH = "☒"
UNCHECKED_GLYPH = "☐"
GLYPH_FONT = "MS Gothic"
DATE_FORMAT = "dd-MM-yyyy"
PLACEHOLDER_STYLE = "PlaceholderText"
# Legacy empty FORMTEXT results are five EN SPACEs (U+2002).
_LEGACY_BLANK = "\u2002"


# ---------------------------------------------------------------------------------------------
# Building


def _el(tag: str, parent: etree._Element | None = None, **attrs: str) -> etree._Element:
    el = etree.Element(tag, nsmap=NSMAP) if parent is None else etree.SubElement(parent, tag)
    for key, value in attrs.items():
        el.set(w(key) if ":" not in key else key, value)
    return el


def _val(parent: etree._Element, tag: str, value: str) -> etree._Element:
    el = etree.SubElement(parent, tag)
    el.set(w("val") if tag.startswith(f"{{{W_NS}}}") else w14("val"), value)
    return el


def run(
    text: str,
    *,
    style: str | None = None,
    bold: bool = False,
    italic: bool = False,
    size_half_points: int | None = None,
    color: str | None = None,
    font: str | None = None,
    hidden: bool = False,
) -> etree._Element:
    """A ``w:r`` with ``text``; ``\\n`` becomes ``w:br`` (a line break inside the paragraph).
    ``hidden``: hidden text (``w:vanish``), neither shown nor printed."""
    r = etree.Element(w("r"), nsmap=NSMAP)
    rpr = etree.SubElement(r, w("rPr"))
    if style:
        _val(rpr, w("rStyle"), style)
    if font:
        fonts = etree.SubElement(rpr, w("rFonts"))
        for attr in ("ascii", "hAnsi", "eastAsia", "cs"):
            fonts.set(w(attr), font)
    if bold:
        etree.SubElement(rpr, w("b"))
    if italic:
        etree.SubElement(rpr, w("i"))
    if color:
        _val(rpr, w("color"), color)
    if size_half_points:
        _val(rpr, w("sz"), str(size_half_points))
    if hidden:
        etree.SubElement(rpr, w("vanish"))
    if not len(rpr):
        r.remove(rpr)
    for i, line in enumerate(text.split("\n")):
        if i:
            etree.SubElement(r, w("br"))
        t = etree.SubElement(r, w("t"))
        t.text = line
        t.set("{http://www.w3.org/XML/1998/namespace}space", "preserve")
    return r


def paragraph(
    runs: Iterable[etree._Element] = (),
    *,
    style: str | None = None,
    keep_next: bool = False,
    hidden: bool = False,
) -> etree._Element:
    """A ``w:p`` of ``runs``; ``hidden``: its paragraph mark is hidden text too, so a
    paragraph of hidden runs takes no line."""
    p = etree.Element(w("p"), nsmap=NSMAP)
    if style or keep_next or hidden:
        ppr = etree.SubElement(p, w("pPr"))
        if style:
            _val(ppr, w("pStyle"), style)
        if keep_next:
            etree.SubElement(ppr, w("keepNext"))
        if hidden:
            etree.SubElement(etree.SubElement(ppr, w("rPr")), w("vanish"))
    for r in runs:
        p.append(r)
    return p


def _sdt(tag: str, alias: str, *, content_locked: bool, placeholder: bool) -> etree._Element:
    sdt = etree.Element(w("sdt"), nsmap=NSMAP)
    pr = etree.SubElement(sdt, w("sdtPr"))
    _val(pr, w("alias"), alias)
    _val(pr, w("tag"), tag)
    # sdtLocked: the control cannot be deleted, its content is editable. sdtContentLocked: the
    # prefilled musforms controls, readable but not editable.
    _val(pr, w("lock"), "sdtContentLocked" if content_locked else "sdtLocked")
    if placeholder:
        etree.SubElement(pr, w("showingPlcHdr"))
    etree.SubElement(sdt, w("sdtContent"))
    return sdt


def _pr(sdt: etree._Element) -> etree._Element:
    return sdt[0]


def _content(sdt: etree._Element) -> etree._Element:
    return sdt[1]


def text_control(
    tag: str,
    alias: str,
    value: str | None,
    placeholder: str,
    *,
    multiline: bool = False,
    locked: bool = False,
    hidden: bool = False,
) -> etree._Element:
    """A plain-text control; an empty value shows ``placeholder`` (w:showingPlcHdr).
    ``hidden``: its text is hidden text (w:vanish), kept in the file, never shown or printed."""
    sdt = _sdt(tag, alias, content_locked=locked, placeholder=not value)
    if hidden:  # sdtPr's rPr comes first (ECMA-376 CT_SdtPr)
        rpr = etree.Element(w("rPr"), nsmap=NSMAP)
        etree.SubElement(rpr, w("vanish"))
        _pr(sdt).insert(0, rpr)
    text = etree.SubElement(_pr(sdt), w("text"))
    if multiline:
        text.set(w("multiLine"), "1")
    if value:
        _content(sdt).append(run(value, hidden=hidden))
    else:
        _content(sdt).append(run(placeholder, style=PLACEHOLDER_STYLE))
    return sdt


def dropdown_control(
    tag: str,
    alias: str,
    items: Sequence[tuple[str, str]],
    value: str | None,
    placeholder: str,
) -> etree._Element:
    """A drop-down list of ``(value, display text)`` items; ``value`` None shows the placeholder."""
    sdt = _sdt(tag, alias, content_locked=False, placeholder=value is None)
    ddl = etree.SubElement(_pr(sdt), w("dropDownList"))
    shown = placeholder
    for item_value, display in items:
        li = etree.SubElement(ddl, w("listItem"))
        li.set(w("displayText"), display)
        li.set(w("value"), item_value)
        if item_value == value:
            shown = display
            ddl.set(w("lastValue"), item_value)
    style = PLACEHOLDER_STYLE if value is None else None
    _content(sdt).append(run(shown, style=style))
    return sdt


def checkbox_control(tag: str, alias: str, checked: bool) -> etree._Element:
    """A Word 2010 (w14) checkbox showing ☒ or ☐."""
    sdt = _sdt(tag, alias, content_locked=False, placeholder=False)
    box = etree.SubElement(_pr(sdt), w14("checkbox"))
    _val(box, w14("checked"), "1" if checked else "0")
    for name, code in (("checkedState", "2612"), ("uncheckedState", "2610")):
        state = etree.SubElement(box, w14(name))
        state.set(w14("val"), code)
        state.set(w14("font"), GLYPH_FONT)
    glyph = CHECKED_GLYPH if checked else UNCHECKED_GLYPH
    _content(sdt).append(run(glyph, font=GLYPH_FONT))
    return sdt


def date_control(
    tag: str, alias: str, value: dt.date | None, placeholder: str, *, lang: str = "da"
) -> etree._Element:
    """A date picker shown as dd-MM-yyyy, storing ``w:fullDate`` once a date is chosen."""
    sdt = _sdt(tag, alias, content_locked=False, placeholder=value is None)
    date = etree.SubElement(_pr(sdt), w("date"))
    if value is not None:
        date.set(w("fullDate"), f"{value.isoformat()}T00:00:00Z")
    _val(date, w("dateFormat"), DATE_FORMAT)
    _val(date, w("lid"), "da-DK" if lang == "da" else "en-GB")
    _val(date, w("storeMappedDataAs"), "dateTime")
    _val(date, w("calendar"), "gregorian")
    if value is None:
        _content(sdt).append(run(placeholder, style=PLACEHOLDER_STYLE))
    else:
        _content(sdt).append(run(value.strftime("%d-%m-%Y")))
    return sdt


def page_field(instr: str) -> etree._Element:
    """A simple field such as PAGE or NUMPAGES."""
    fld = etree.Element(w("fldSimple"), nsmap=NSMAP)
    fld.set(w("instr"), f" {instr} ")
    fld.append(run("1"))
    return fld


def custom_properties_xml(props: dict[str, str]) -> bytes:
    """``docProps/custom.xml`` holding ``props`` as text properties."""
    parts = [
        "<?xml version='1.0' encoding='UTF-8' standalone='yes'?>\n",
        f'<Properties xmlns="{CUSTOM_NS}" xmlns:vt="{VT_NS}">',
    ]
    for pid, (name, value) in enumerate(props.items(), start=2):
        quoted = escape(name, {'"': "&quot;"})
        parts.append(
            f'<property fmtid="{CUSTOM_FMTID}" pid="{pid}" name="{quoted}">'
            f"<vt:lpwstr>{escape(value)}</vt:lpwstr></property>"
        )
    parts.append("</Properties>")
    return "".join(parts).encode("utf-8")


def tostring(el: etree._Element) -> str:
    return str(etree.tostring(el, encoding="unicode"))


# ---------------------------------------------------------------------------------------------
# Reading

ControlKind = Literal[
    "text",
    "richtext",
    "checkbox",
    "dropdown",
    "combobox",
    "date",
    "legacy_text",
    "legacy_checkbox",
    "legacy_dropdown",
    "other",
]


@dataclass
class Control:
    """One fillable thing found in a document, in reading order, with its raw value.

    ``value`` is what the control holds: text (``\\n`` line breaks), a bool for checkboxes, the
    list item value for drop-downs, an ISO date for dates with ``w:fullDate``; None when unfilled
    (showing its placeholder).
    """

    kind: ControlKind
    tag: str | None
    alias: str | None
    value: str | bool | None
    text: str  # the visible text
    placeholder: bool = False
    locked: str | None = None
    items: list[tuple[str, str]] = field(default_factory=list)  # (value, display text)
    nested: bool = False  # holds other controls (a container, not an answer)
    tables: int = 0  # tables whose cells are part of the value, read as text (see table_text)


# Tracked changes (ECMA-376 Part 1 §17.13.5): what a deletion or the source of a move holds
# is no longer part of the text, whatever it is (w:delText, w:br, w:tab, w:cr, whole runs);
# insertions (w:ins) and move targets (w:moveTo) are. A deleted paragraph mark (w:del in the
# paragraph's w:pPr/w:rPr) joins the paragraph to the next; a deleted table row (w:del in
# w:trPr) is gone with its cells.
_REMOVED = ("del", "moveFrom")


def _tracked(root: etree._Element) -> tuple[set[etree._Element], set[etree._Element]]:
    """What tracked changes under ``root`` took away: every element removed from the text,
    and the paragraphs whose mark (their end) was deleted or moved away."""
    gone: set[etree._Element] = set()
    joined: set[etree._Element] = set()
    for mark in root.iter(*(w(name) for name in _REMOVED)):
        parent = mark.getparent()
        if parent is not None and parent.tag == w("trPr"):
            row = parent.getparent()
            if row is not None:
                gone.update(row.iter())
        elif parent is not None and parent.tag == w("rPr"):
            ppr = parent.getparent()
            if ppr is not None and ppr.tag == w("pPr") and ppr.getparent() is not None:
                joined.add(ppr.getparent())
        else:
            gone.update(mark.iter())
    return gone, joined


def removed_by_tracking(root: etree._Element) -> set[etree._Element]:
    """Every element under ``root`` that a tracked deletion or move removed from the text."""
    return _tracked(root)[0]


def text_of(el: etree._Element) -> str:
    """Visible text of an element: w:t, tabs, line breaks, paragraph ends as ``\\n``, a table
    as :func:`table_text`; what a tracked change deleted or moved away is left out, what it
    inserted is kept."""
    return _text(el, *_tracked(el))


# Element names looked up once: text_of runs over every control and the whole body.
_P, _R, _T, _TAB, _BR, _CR = w("p"), w("r"), w("t"), w("tab"), w("br"), w("cr")
_SYM, _HYPHEN, _TBL, _TYPE = w("sym"), w("noBreakHyphen"), w("tbl"), w("type")
_NOT_TEXT = (w("instrText"), w("delText"))


def _text(el: etree._Element, gone: set[etree._Element], joined: set[etree._Element]) -> str:
    out: list[str] = []
    paragraphs = 0
    join = False  # the paragraph before ended in a deleted paragraph mark
    for node in el.iter(_T, _TAB, _BR, _CR, _P, _SYM, _HYPHEN, _TBL):
        if gone and node in gone:
            continue
        tag = node.tag
        if tag == _T:
            if not _inside(node, _NOT_TEXT):
                out.append(node.text or "")
        elif tag == _P:
            if paragraphs and not join:
                out.append("\n")
            paragraphs += 1
            join = bool(joined) and node in joined
        elif tag == _TAB:
            parent = node.getparent()
            if parent is not None and parent.tag == _R:
                out.append("\t")
        elif tag in (_BR, _CR):
            if node.get(_TYPE, "textWrapping") == "textWrapping":
                out.append("\n")
        elif tag == _TBL:
            # A table is a block of its own, read as text; what it holds is read no further.
            if paragraphs and not join:
                out.append("\n")
            out.append(_table_text(node, gone, joined))
            paragraphs += 1
            join = False
            gone.update(node.iter())
        elif tag == _HYPHEN:
            out.append("-")
        elif tag == _SYM:
            out.append(_sym_char(node))
    return "".join(out)


def table_text(tbl: etree._Element) -> str:
    """A table as text: a line per row, its cells separated by tabs, each cell's paragraphs
    and line breaks joined by spaces (so the rows stay rows); rows deleted with changes
    tracked are left out."""
    return _table_text(tbl, *_tracked(tbl))


def _table_text(tbl: etree._Element, gone: set[etree._Element], joined: set[etree._Element]) -> str:
    rows = []
    for tr in tbl.iterchildren(w("tr")):
        if tr in gone:
            continue
        cells = [" ".join(_text(tc, gone, joined).split("\n")) for tc in tr.iterchildren(w("tc"))]
        rows.append("\t".join(cells))
    return "\n".join(rows)


def _style(p: etree._Element) -> str | None:
    style = p.find(f"{w('pPr')}/{w('pStyle')}")
    return None if style is None else style.get(w("val"))


def spilled_blocks(control: etree._Element) -> list[etree._Element]:
    """What an answer control's text runs on into, outside the control: the tables and
    paragraphs that follow the control's paragraph, when the control ends it.

    Inserting a table into an answer (LibreOffice) splits the answer's paragraph at the
    cursor: the control keeps the text before, the table comes after the paragraph, and the
    text after the cursor moves into a new paragraph of the same style; pressing Enter in an
    answer does the same without the table. The form itself never has a table without
    controls, nor a paragraph of an answer's style without its control, so these are the
    employee's."""
    p = control.getparent()
    if p is None or p.tag != w("p") or p.find(f".//{w('sdt')}") is not control:
        return []
    if any(True for _ in control.itersiblings(w("sdt"))):
        return []  # not the paragraph's last control
    style = _style(p)
    found: list[etree._Element] = []
    for sibling in p.itersiblings():
        if sibling.tag in (w("bookmarkStart"), w("bookmarkEnd"), w("proofErr")):
            continue
        if sibling.find(f".//{w('sdt')}") is not None:
            break
        if sibling.tag == w("tbl") or (sibling.tag == w("p") and _style(sibling) == style):
            found.append(sibling)
        else:
            break
    while found and found[-1].tag == w("p") and not text_of(found[-1]).strip():
        found.pop()  # the empty paragraph a table leaves after it belongs to nothing
    return found


def _with_spilled(control: etree._Element, ctl: Control) -> Control:
    """The control's value with what it runs on into (:func:`spilled_blocks`) after it."""
    if ctl.kind not in ("text", "richtext") or ctl.nested:
        return ctl
    blocks = spilled_blocks(control)
    if not blocks:
        return ctl
    parts = [] if ctl.placeholder else [ctl.text]
    parts += [table_text(b) if b.tag == w("tbl") else text_of(b) for b in blocks]
    ctl.text = "\n".join(parts)
    ctl.value = text_value(ctl.text)
    ctl.placeholder = ctl.value is None
    ctl.tables += sum(1 for b in blocks if b.tag == w("tbl"))
    return ctl


def _sym_char(node: etree._Element) -> str:
    code = node.get(w("char")) or ""
    try:
        n = int(code, 16)
    except ValueError:
        return ""
    # Symbol fonts map U+F0xx to their private area; ☒/☐ come through as themselves.
    return chr(n - 0xF000) if 0xF000 <= n <= 0xF0FF else chr(n)


def _inside(node: etree._Element, tags: tuple[str, ...]) -> bool:
    parent = node.getparent()
    while parent is not None:
        tag = parent.tag
        if tag in tags:
            return True
        if tag in (_R, _P):
            return False
        parent = parent.getparent()
    return False


def _attr(el: etree._Element | None, name: str) -> str | None:
    if el is None:
        return None
    value = el.get(w(name))
    if value is None:
        value = el.get(w14(name))
    return None if value is None else str(value)


def _truthy(value: str | None, default: bool = True) -> bool:
    if value is None:
        return default
    return value.strip().lower() not in ("0", "false", "off")


def _map_display(items: Sequence[tuple[str, str]], text: str) -> str | None:
    stripped = text.strip()
    for value, display in items:
        if display.strip() == stripped:
            return value
    for value, _display in items:
        if value.strip() == stripped:
            return value
    return None


def iter_sdts(root: etree._Element) -> Iterator[etree._Element]:
    yield from root.iter(w("sdt"))


def control_from_sdt(sdt: etree._Element) -> Control:
    pr = sdt.find(w("sdtPr"))
    content = sdt.find(w("sdtContent"))
    tag = _attr(pr.find(w("tag")) if pr is not None else None, "val") or None
    alias = _attr(pr.find(w("alias")) if pr is not None else None, "val")
    lock = _attr(pr.find(w("lock")) if pr is not None else None, "val")
    placeholder = pr is not None and pr.find(w("showingPlcHdr")) is not None
    if placeholder and pr is not None:
        placeholder = _truthy(_attr(pr.find(w("showingPlcHdr")), "val"))
    text = text_of(content) if content is not None else ""
    nested = content is not None and next(iter_sdts(content), None) is not None
    ctl = Control("other", tag, alias, None, text, placeholder, lock, nested=nested)
    if content is not None:
        ctl.tables = sum(1 for _ in content.iter(w("tbl")))
    if pr is None:
        return ctl
    box = pr.find(w14("checkbox"))
    if box is not None:
        ctl.kind = "checkbox"
        checked = box.find(w14("checked"))
        if checked is not None:
            ctl.value = _truthy(_attr(checked, "val"))
        else:
            ctl.value = CHECKED_GLYPH in text
        ctl.placeholder = False
        return ctl
    for kind, el_name in (("dropdown", "dropDownList"), ("combobox", "comboBox")):
        lst = pr.find(w(el_name))
        if lst is not None:
            ctl.kind = "dropdown" if kind == "dropdown" else "combobox"
            ctl.items = [
                (
                    _attr(li, "value") or _attr(li, "displayText") or "",
                    _attr(li, "displayText") or _attr(li, "value") or "",
                )
                for li in lst.findall(w("listItem"))
            ]
            if not placeholder:
                ctl.value = dropdown_value(ctl.items, text)
            return ctl
    date = pr.find(w("date"))
    if date is not None:
        ctl.kind = "date"
        if not placeholder:
            ctl.value = date_value(_attr(date, "fullDate"), text)
        return ctl
    if pr.find(w("text")) is not None:
        ctl.kind = "text"
    elif pr.find(w("richText")) is not None or not _has_special(pr):
        ctl.kind = "richtext"
    else:
        return ctl
    if not placeholder:
        ctl.value = text_value(text)
    return ctl


# The value of a filled control (one not showing its placeholder), from what it holds. Shared
# with the OpenDocument reader, whose controls hold the same things under other names.


def text_value(text: str) -> str | None:
    """A text control's value: its text as it stands, None when blank."""
    return text if text.strip() else None


def dropdown_value(items: Sequence[tuple[str, str]], text: str) -> str | None:
    """A drop-down's value: the value of the item whose display text is shown, else the text
    itself (typed into a combo box, or an item renamed)."""
    mapped = _map_display(items, text)
    if mapped is not None:
        return mapped
    return text.strip() or None


def date_value(full: str | None, text: str) -> str | None:
    """A date control's value: the ISO date it stores (``2027-01-15T00:00:00Z``) when a date
    was picked, else the text as typed, for the interpreter to read."""
    if full and len(full) >= 10 and _is_iso(full[:10]):
        return full[:10]
    return text.strip() or None


def _has_special(pr: etree._Element) -> bool:
    specials = (
        "picture",
        "docPartObj",
        "docPartList",
        "group",
        "citation",
        "bibliography",
        "equation",
        "repeatingSection",
        "repeatingSectionItem",
    )
    return any(pr.find(w(s)) is not None for s in specials)


def _is_iso(text: str) -> bool:
    try:
        dt.date.fromisoformat(text)
    except ValueError:
        return False
    return True


def parse_controls(root: etree._Element) -> list[Control]:
    """Every content control and legacy form field under ``root``, in document order."""
    found: list[tuple[int, Control]] = []
    # Keep every proxy alive while positions are looked up: lxml hands out the same proxy
    # object for a node only as long as one exists, so id() is stable only meanwhile.
    nodes = list(root.iter())
    order = {id(el): i for i, el in enumerate(nodes)}
    for sdt in iter_sdts(root):
        found.append((order[id(sdt)], _with_spilled(sdt, control_from_sdt(sdt))))
    for pos, ctl in _legacy_fields(root, order):
        found.append((pos, ctl))
    found.sort(key=lambda pair: pair[0])
    return [c for _, c in found]


def _legacy_fields(root: etree._Element, order: dict[int, int]) -> Iterator[tuple[int, Control]]:
    """FORMTEXT / FORMCHECKBOX / FORMDROPDOWN complex fields (Word 97 form fields)."""
    stack: list[dict[str, object]] = []
    gone = removed_by_tracking(root)
    for node in root.iter(w("fldChar"), w("instrText"), w("t"), w("br"), w("tab")):
        if node in gone:
            continue
        if node.tag == w("fldChar"):
            kind = node.get(w("fldCharType"))
            if kind == "begin":
                stack.append(
                    {
                        "ff": node.find(w("ffData")),
                        "instr": "",
                        "text": [],
                        "result": False,
                        "pos": order[id(node)],
                    }
                )
            elif kind == "separate" and stack:
                stack[-1]["result"] = True
            elif kind == "end" and stack:
                fld = stack.pop()
                ctl = _legacy_control(fld)
                if ctl is not None:
                    yield int(str(fld["pos"])), ctl
            continue
        if not stack:
            continue
        top = stack[-1]
        if node.tag == w("instrText"):
            top["instr"] = str(top["instr"]) + (node.text or "")
        elif top["result"]:
            parts = top["text"]
            assert isinstance(parts, list)
            if node.tag == w("t"):
                parts.append(node.text or "")
            elif node.tag == w("br"):
                parts.append("\n")
            else:
                parts.append("\t")


def _legacy_control(fld: dict[str, object]) -> Control | None:
    instr = str(fld["instr"]).strip().upper()
    ff = fld["ff"]
    text = "".join(str(p) for p in fld["text"])  # type: ignore[attr-defined]
    name = None
    if isinstance(ff, etree._Element):
        name = _attr(ff.find(w("name")), "val") or None
    if instr.startswith("FORMCHECKBOX"):
        checked: bool = False
        if isinstance(ff, etree._Element) and (box := ff.find(w("checkBox"))) is not None:
            state = box.find(w("checked"))
            if state is None:
                state = box.find(w("default"))
            checked = _truthy(_attr(state, "val")) if state is not None else False
        return Control("legacy_checkbox", name, None, checked, text)
    if instr.startswith("FORMDROPDOWN"):
        items: list[tuple[str, str]] = []
        value: str | None = None
        if isinstance(ff, etree._Element) and (dd := ff.find(w("ddList"))) is not None:
            entries = [_attr(e, "val") or "" for e in dd.findall(w("listEntry"))]
            items = [(e, e) for e in entries]
            result = _attr(dd.find(w("result")), "val")
            if result is None:
                result = _attr(dd.find(w("default")), "val")
            index = int(result) if result and result.isdigit() else 0
            value = entries[index] if 0 <= index < len(entries) else None
        return Control("legacy_dropdown", name, None, value, text or (value or ""), items=items)
    if instr.startswith("FORMTEXT"):
        blank = not text.replace(_LEGACY_BLANK, "").strip()
        return Control("legacy_text", name, None, None if blank else text, text, placeholder=blank)
    return None


def custom_properties(root: etree._Element) -> dict[str, str]:
    """Name → text of each custom document property."""
    out: dict[str, str] = {}
    for prop in root.findall(f"{{{CUSTOM_NS}}}property"):
        name = prop.get("name")
        if name is None or not len(prop):
            continue
        out[name] = prop[0].text or ""
    return out
