"""The form made accessible (PDF/UA-1, as EN 301 549 asks): tagged, in reading order.

reportlab writes no structure, so this runs on its finished output with pikepdf, the same
way whichever path rendered the form (the template or reportlab's canvas alone):

- every text object on a page (``BT … ET``) becomes marked content with an MCID, every
  path and image an ``/Artifact``, the footer (the page number, the form code) a pagination
  artifact;
- the structure tree holds, in reading order (top to bottom, a line left to right), the
  headings as ``H1`` (the form's title) and ``H2`` (the sections), the other text as ``P``
  (lines of one paragraph, and a label with the value below it, in one element), and every
  widget in a ``Form`` element of its own (``OBJR``, ``/StructParent``), next to its
  question;
- each page's tab order follows that structure (``/Tabs /S``); the catalogue says the
  document's language (``/Lang``), shows its title in the viewer's title bar, and carries
  XMP metadata with the title, the language and the PDF/UA identification.

The order is found from where things stand on the page, not from the order of the content
stream, so the template's per-employee text (drawn by a stream of its own after the page's)
lands where it is read.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any
from xml.sax.saxutils import escape

import pikepdf
from pikepdf import Array, Dictionary, Name, Operator

__all__ = ["FOOTER_TOP", "tag_pdf", "tag_template", "xmp"]

FOOTER_TOP = 50.0  # text whose baseline is below this is the footer: a pagination artifact
LINE_TOLERANCE = 6.0  # tops closer than this are on one line
TAB_ORDER_STRUCTURE = Name.S
HEADINGS = {Decimal(18): "/H1", Decimal(13): "/H2"}  # bold text of these sizes

_PATH_START = frozenset({"m", "re"})
_PATH_END = frozenset({"S", "s", "f", "F", "f*", "B", "B*", "b", "b*", "n"})
_SHOW = frozenset({"Tj", "TJ", "'", '"'})
_HIDDEN = 2  # annotation flag bit 2 (ISO 32000-1 Table 165)


@dataclass
class _Item:
    """A text object or a widget on a page, placed for the reading order."""

    top: float
    x: float
    right: float
    mcid: int | None = None  # a text object's
    widget: Any = None
    role: str = "/P"
    size: Decimal = Decimal(0)
    baseline: float = 0.0
    chars: int = 0


@dataclass
class _Element:
    role: str
    page: Any
    mcids: list[int] = field(default_factory=list)
    widget: Any = None
    x: float = 0.0
    bottom: float = 0.0
    size: Decimal = Decimal(0)


def tag_pdf(pdf: bytes, *, lang: str, title: str) -> bytes:
    """``pdf`` (reportlab's output) tagged for screen readers and keyboards."""
    with pikepdf.open(io.BytesIO(pdf)) as doc:
        _tag(doc, lang, split=False)
        info = doc.docinfo
        metadata = xmp(title, lang, str(info.get("/Producer", "")), str(info.get("/Creator", "")))
        _metadata(doc, metadata)
        out = io.BytesIO()
        doc.save(out, deterministic_id=True)
        return out.getvalue()


def tag_template(pdf: bytes, *, lang: str) -> tuple[bytes, list[list[bytes]]]:
    """A form template (``_template.py``) tagged: the same as :func:`tag_pdf`, but each page's
    per-employee text stays a stream of its own, to be drawn per form.

    Every page of ``pdf`` has ``/Contents [q static Q personal]``, the personal stream one
    text object per line. Returns the tagged file with each page's ``/Contents`` its static
    stream alone, and per page the marked-content operator that opens each personal line
    (``/P <</MCID 7>> BDC``, or a pagination artifact for the footer's), in order. The XMP
    metadata is a placeholder the template writes per form.
    """
    with pikepdf.open(io.BytesIO(pdf)) as doc:
        marks = _tag(doc, lang, split=True)
        _metadata(doc, xmp("", lang, "", ""))
        out = io.BytesIO()
        doc.save(out, object_stream_mode=pikepdf.ObjectStreamMode.disable)
        return out.getvalue(), marks


def _metadata(doc: pikepdf.Pdf, packet: bytes) -> None:
    stream = doc.make_stream(packet)
    stream.Type = Name.Metadata
    stream.Subtype = Name.XML
    doc.Root.Metadata = stream


def _tag(doc: pikepdf.Pdf, lang: str, split: bool) -> list[list[bytes]]:
    """Tag ``doc`` in place; returns the personal lines' marks per page when ``split``."""
    root = doc.Root
    bold = _bold_fonts(doc)
    parent_tree: list[Any] = []  # by StructParent(s) key: a page's array or a Form element
    page_elements: list[list[_Element]] = []
    marks: list[list[bytes]] = []
    for number, page in enumerate(doc.pages):
        if split:
            contents = page.obj.Contents
            static, personal = contents[1], contents[3]
            items = _retag_stream(doc, page, static, number, bold, [])
            page_marks: list[bytes] = []
            items += _retag_stream(doc, page, personal, number, bold, page_marks, len(items))
            page.obj.Contents = static
            marks.append(page_marks)
        else:
            page.contents_coalesce()
            items = _retag_stream(doc, page, page.obj.Contents, number, bold, [])
        for annot in page.obj.get("/Annots", Array()):
            if annot.get("/Subtype") != Name.Widget:
                continue
            rect = [float(v) for v in annot.Rect]
            hidden = int(annot.get("/F", 0)) & _HIDDEN
            top = -1.0 if hidden else max(rect[1], rect[3])
            items.append(_Item(top=top, x=min(rect[0], rect[2]), right=rect[2], widget=annot))
        on_page = _group(_reading_order(items), page)
        page_elements.append(on_page)
        page.obj.Tabs = TAB_ORDER_STRUCTURE
        # The widgets in /Annots in the same order, for viewers that tab by it.
        annots = page.obj.get("/Annots")
        if annots is not None:
            widgets = [e.widget for e in on_page if e.widget is not None]
            seen = {w.objgen for w in widgets}
            others = [a for a in annots if a.objgen not in seen]
            page.obj.Annots = Array([*widgets, *others])
    struct_root = doc.make_indirect(Dictionary(Type=Name.StructTreeRoot))
    document = doc.make_indirect(
        Dictionary(Type=Name.StructElem, S=Name.Document, P=struct_root, K=Array())
    )
    struct_root.K = Array([document])
    for page, on_page in zip(doc.pages, page_elements, strict=True):
        by_mcid: dict[int, Any] = {}
        for element in on_page:
            # /Type /StructElem is optional; left out, as is an /Alt repeating the field's /TU.
            se = doc.make_indirect(Dictionary(S=Name(element.role), P=document))
            se.Pg = page.obj
            if element.widget is not None:
                element.widget.StructParent = len(parent_tree)
                parent_tree.append(se)
                se.K = Array([Dictionary(Type=Name.OBJR, Obj=element.widget, Pg=page.obj)])
            else:
                se.K = Array(element.mcids) if len(element.mcids) > 1 else element.mcids[0]
                for mcid in element.mcids:
                    by_mcid[mcid] = se
            document.K.append(se)
        page.obj.StructParents = len(parent_tree)
        parent_tree.append(doc.make_indirect(Array([by_mcid[i] for i in sorted(by_mcid)])))
    nums = Array()
    for key, value in enumerate(parent_tree):
        nums.append(key)
        nums.append(value)
    struct_root.ParentTree = doc.make_indirect(Dictionary(Nums=nums))
    struct_root.ParentTreeNextKey = len(parent_tree)
    root.StructTreeRoot = struct_root
    root.MarkInfo = Dictionary(Marked=True)
    root.Lang = pikepdf.String(lang)
    root.ViewerPreferences = Dictionary(DisplayDocTitle=True)
    _drop_null_unicode(doc)
    return marks


def _bold_fonts(doc: pikepdf.Pdf) -> set[tuple[int, str]]:
    """(page number, resource name) of every bold font, per page."""
    bold: set[tuple[int, str]] = set()
    for n, page in enumerate(doc.pages):
        fonts = page.obj.get("/Resources", Dictionary()).get("/Font", Dictionary())
        for name, font in fonts.items():
            if "Bold" in str(font.get("/BaseFont", "")):
                bold.add((n, name))
    return bold


def _retag_stream(
    doc: pikepdf.Pdf,
    page: pikepdf.Page,
    stream: Any,
    number: int,
    bold: set[tuple[int, str]],
    marks: list[bytes],
    first_mcid: int = 0,
) -> list[_Item]:
    """Mark one content stream of a page: text objects with MCIDs from ``first_mcid`` on
    (the footer's as pagination artifacts), paths and images as artifacts. Each text
    object's opening mark is also added to ``marks``. Returns the marked text objects."""
    ops = pikepdf.parse_content_stream(stream)
    out: list[Any] = []
    items: list[_Item] = []
    i = 0
    while i < len(ops):
        op = str(ops[i].operator)
        if op == "BT":
            j = i
            while str(ops[j].operator) != "ET":
                j += 1
            text = ops[i : j + 1]
            i = j + 1
            item = _text_item(text, number, bold)
            if item is None:
                out.extend(text)
                continue
            if item.baseline < FOOTER_TOP:
                tag, props = Name.Artifact, Dictionary(Type=Name.Pagination)
            else:
                item.mcid = first_mcid + len(items)
                items.append(item)
                tag, props = Name(item.role), Dictionary(MCID=item.mcid)
            bdc = pikepdf.ContentStreamInstruction([tag, props], Operator("BDC"))
            marks.append(pikepdf.unparse_content_stream([bdc]))
            out.append(bdc)
            out.extend(text)
            out.append(pikepdf.ContentStreamInstruction([], Operator("EMC")))
            continue
        if op in _PATH_START or op == "Do":
            j = i
            if op != "Do":
                while j < len(ops) and str(ops[j].operator) not in _PATH_END:
                    j += 1
            out.append(pikepdf.ContentStreamInstruction([Name.Artifact], Operator("BMC")))
            out.extend(ops[i : j + 1])
            out.append(pikepdf.ContentStreamInstruction([], Operator("EMC")))
            i = j + 1
            continue
        out.append(ops[i])
        i += 1
    # Saved compressed: qpdf flates every stream that has no filter.
    stream.write(pikepdf.unparse_content_stream(out))
    return items


def _text_item(text: list[Any], page: int, bold: set[tuple[int, str]]) -> _Item | None:
    """Where a text object stands, how big and bold its text is; None when it shows none."""
    x = y = 0.0
    size = Decimal(0)
    font = ""
    chars = shows = 0
    for instruction in text:
        op, operands = str(instruction.operator), instruction.operands
        if op == "Tm":
            x, y = float(operands[4]), float(operands[5])
        elif op == "Td":
            x, y = x + float(operands[0]), y + float(operands[1])
        elif op == "Tf":
            font, size = str(operands[0]), Decimal(str(operands[1]))
        elif op in _SHOW:
            shown = operands[-1]
            chars += len(bytes(shown)) if isinstance(shown, pikepdf.String) else 1
            shows += 1
    if not shows:
        return None
    role = HEADINGS.get(size, "/P") if (page, font) in bold else "/P"
    width = chars * float(size) * 0.55
    return _Item(
        top=y + float(size) * 0.75,
        x=x,
        right=x + width,
        role=role,
        size=size,
        baseline=y,
        chars=chars,
    )


def _reading_order(items: list[_Item]) -> list[_Item]:
    """Top to bottom; things on one line (tops within LINE_TOLERANCE) left to right."""
    ordered = sorted(items, key=lambda it: -it.top)
    lines: list[list[_Item]] = []
    for item in ordered:
        if lines and lines[-1][0].top - item.top < LINE_TOLERANCE:
            lines[-1].append(item)
        else:
            lines.append([item])
    return [item for line in lines for item in sorted(line, key=lambda it: it.x)]


def _group(items: list[_Item], page: Any) -> list[_Element]:
    """Text objects into elements: a paragraph's lines, a small label with the value below
    it, the number before a question. Smaller text below (a question's help) is an element
    of its own, and a widget closes every open paragraph."""
    elements: list[_Element] = []
    open_: list[_Element] = []
    last: _Item | None = None
    for item in items:
        if item.widget is not None:
            elements.append(_Element("/Form", page, widget=item.widget))
            open_ = []
            last = item
            continue
        assert item.mcid is not None
        target = None
        if last is not None and last.widget is None and item.role == "/P" == last.role:
            same_line = abs(last.top - item.top) < LINE_TOLERANCE
            # a question's number and its label; nothing longer (a name) runs on
            if same_line and last.chars <= 4 and 0 <= item.x - last.right < 20 and open_:
                target = open_[-1]
                target.x = item.x  # the label's further lines stand under it, not the number
        if target is None:
            for element in reversed(open_):
                below = element.bottom - item.top
                if (
                    element.role == item.role
                    and abs(element.x - item.x) < 0.5
                    and item.size >= element.size  # a paragraph's next line, a label's value
                    and -1 < below < float(max(element.size, item.size)) * 0.8
                ):
                    target = element
                    break
        if target is None:
            target = _Element(item.role, page, x=item.x)
            elements.append(target)
            open_.append(target)
        target.mcids.append(item.mcid)
        target.bottom = item.baseline
        target.size = item.size
        last = item
    return elements


def xmp(title: str, lang: str, producer: str, creator: str) -> bytes:
    """The XMP packet: the title and language (Dublin Core), and PDF/UA-1 identification."""
    producer, creator = escape(producer), escape(creator)
    return (
        '<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?>\n'
        '<x:xmpmeta xmlns:x="adobe:ns:meta/">\n'
        '<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">\n'
        '<rdf:Description rdf:about=""'
        ' xmlns:dc="http://purl.org/dc/elements/1.1/"'
        ' xmlns:pdf="http://ns.adobe.com/pdf/1.3/"'
        ' xmlns:xmp="http://ns.adobe.com/xap/1.0/"'
        ' xmlns:pdfuaid="http://www.aiim.org/pdfua/ns/id/">\n'
        f'<dc:title><rdf:Alt><rdf:li xml:lang="x-default">{escape(title)}</rdf:li>'
        "</rdf:Alt></dc:title>\n"
        f"<dc:language><rdf:Bag><rdf:li>{escape(lang)}</rdf:li></rdf:Bag></dc:language>\n"
        "<dc:format>application/pdf</dc:format>\n"
        f"<pdf:Producer>{producer}</pdf:Producer>\n"
        f"<xmp:CreatorTool>{creator}</xmp:CreatorTool>\n"
        "<pdfuaid:part>1</pdfuaid:part>\n"
        "</rdf:Description>\n</rdf:RDF>\n</x:xmpmeta>\n"
        '<?xpacket end="w"?>'
    ).encode()


_NULL_MAPPING = re.compile(rb"<([0-9A-Fa-f]{2,4})>\s*<(?:0000|FEFF|FFFE)>\s*")


def _drop_null_unicode(doc: pikepdf.Pdf) -> None:
    """Remove ToUnicode entries that map a code to U+0000 (reportlab's TrueType subsets map
    their unused code 0 so): a screen reader would read them as nothing, PDF/UA forbids it."""
    seen: set[tuple[int, int]] = set()
    for page in doc.pages:
        fonts = page.obj.get("/Resources", Dictionary()).get("/Font", Dictionary())
        for font in fonts.values():
            cmap = font.get("/ToUnicode")
            if cmap is None or cmap.objgen in seen:
                continue
            seen.add(cmap.objgen)
            data = cmap.read_bytes()
            fixed = _fix_cmap(data)
            if fixed != data:
                cmap.write(fixed)


def _fix_cmap(data: bytes) -> bytes:
    """A bfchar section without its null mappings, its count corrected."""

    def section(match: re.Match[bytes]) -> bytes:
        body = _NULL_MAPPING.sub(b"", match.group(2))
        count = len(re.findall(rb"<[0-9A-Fa-f]+>\s*<[0-9A-Fa-f]+>", body))
        if not count:
            return b""
        return b"%d beginbfchar" % count + body + b"endbfchar"

    return re.sub(rb"(\d+) beginbfchar(.*?)endbfchar", section, data, flags=re.S)
