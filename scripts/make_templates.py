"""Build the default Word template ``musforms/templates/form.docx``.

Run ``.venv/bin/python scripts/make_templates.py`` after changing the look below, and commit the
resulting file. HR can replace the template with their own (letterhead, logo, fonts, colours):
the Word writer keeps its page setup, header, footer and styles and only replaces the body. The
styles named in ``STYLES`` are the ones the writer uses; a template without them falls back to
the built-in ones.
"""

from __future__ import annotations

import io
import re
import zipfile
from pathlib import Path

from docx import Document
from docx.enum.style import WD_STYLE_TYPE
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Cm, Pt, RGBColor
from docx.styles.style import ParagraphStyle

OUT = Path(__file__).resolve().parent.parent / "musforms" / "templates" / "form.docx"

FONT = "Calibri"
INK = RGBColor(0x22, 0x2B, 0x36)
ACCENT = RGBColor(0x1F, 0x4E, 0x79)
MUTED = RGBColor(0x5F, 0x6B, 0x7A)
FIELD_BORDER = "B8C4D2"
FIELD_FILL = "F5F8FB"


# Declaring the font as sans-serif ("swiss") lets a machine without it pick a sans-serif
# substitute instead of a serif one.
SANS_FONT = (
    f'<w:font w:name="{FONT}"><w:panose1 w:val="020F0502020204030204"/><w:charset w:val="00"/>'
    '<w:family w:val="swiss"/><w:pitch w:val="variable"/></w:font>'
).encode()


def _border(style: ParagraphStyle, sides: tuple[str, ...], color: str, size: int = 4) -> None:
    ppr = style.element.get_or_add_pPr()
    pbdr = OxmlElement("w:pBdr")
    for side in sides:
        el = OxmlElement(f"w:{side}")
        el.set(qn("w:val"), "single")
        el.set(qn("w:sz"), str(size))
        el.set(qn("w:space"), "4")
        el.set(qn("w:color"), color)
        pbdr.append(el)
    ppr.append(pbdr)


def _shade(style: ParagraphStyle, fill: str) -> None:
    shd = OxmlElement("w:shd")
    shd.set(qn("w:val"), "clear")
    shd.set(qn("w:color"), "auto")
    shd.set(qn("w:fill"), fill)
    style.element.get_or_add_pPr().append(shd)


def build() -> bytes:
    doc = Document()
    section = doc.sections[0]
    section.page_width, section.page_height = Cm(21.0), Cm(29.7)
    section.top_margin, section.bottom_margin = Cm(2.2), Cm(2.0)
    section.left_margin, section.right_margin = Cm(2.3), Cm(2.3)
    section.header_distance, section.footer_distance = Cm(1.0), Cm(1.0)

    styles = doc.styles
    normal = styles["Normal"]
    normal.font.name = FONT
    normal.font.size = Pt(10.5)
    normal.font.color.rgb = INK
    rfonts = normal.element.get_or_add_rPr().get_or_add_rFonts()
    for attr in ("w:ascii", "w:hAnsi", "w:cs", "w:eastAsia"):
        rfonts.set(qn(attr), FONT)
    # The document defaults name theme fonts (Cambria in python-docx's theme); name ours.
    defaults = doc.styles.element.find(qn("w:docDefaults"))
    for el in defaults.iter(qn("w:rFonts")):
        for attr in list(el.attrib):
            del el.attrib[attr]
        for attr in ("w:ascii", "w:hAnsi", "w:cs", "w:eastAsia"):
            el.set(qn(attr), FONT)
    for el in defaults.iter(qn("w:lang")):
        el.set(qn("w:val"), "da-DK")
    for name in ("Title", "Heading 1"):
        for el in styles[name].element.iter(qn("w:rFonts")):
            for attr in list(el.attrib):
                if attr.endswith("Theme") or attr.endswith("theme"):
                    del el.attrib[attr]
    lang = OxmlElement("w:lang")
    lang.set(qn("w:val"), "da-DK")
    normal.element.get_or_add_rPr().append(lang)
    normal.paragraph_format.space_after = Pt(4)
    normal.paragraph_format.line_spacing = 1.1

    title = styles["Title"]
    title.font.name = FONT
    title.font.size = Pt(22)
    title.font.bold = False
    title.font.color.rgb = ACCENT
    title.paragraph_format.space_after = Pt(6)
    # The built-in Title draws a coloured rule under itself; keep the page calm.
    title_ppr = title.element.get_or_add_pPr()
    for bdr in title_ppr.findall(qn("w:pBdr")):
        title_ppr.remove(bdr)

    h1 = styles["Heading 1"]
    h1.font.name = FONT
    h1.font.size = Pt(14)
    h1.font.bold = True
    h1.font.color.rgb = ACCENT
    h1.paragraph_format.space_before = Pt(16)
    h1.paragraph_format.space_after = Pt(6)
    h1.paragraph_format.keep_with_next = True
    _border(h1, ("bottom",), "D5DCE4", size=6)

    question = styles.add_style("MF Question", WD_STYLE_TYPE.PARAGRAPH)
    question.base_style = normal
    question.font.bold = True
    question.paragraph_format.space_before = Pt(10)
    question.paragraph_format.space_after = Pt(2)
    question.paragraph_format.keep_with_next = True

    help_ = styles.add_style("MF Help", WD_STYLE_TYPE.PARAGRAPH)
    help_.base_style = normal
    help_.font.italic = True
    help_.font.size = Pt(9.5)
    help_.font.color.rgb = MUTED
    help_.paragraph_format.space_after = Pt(3)
    help_.paragraph_format.keep_with_next = True

    answer = styles.add_style("MF Answer", WD_STYLE_TYPE.PARAGRAPH)
    answer.base_style = normal
    answer.paragraph_format.left_indent = Cm(0.15)
    answer.paragraph_format.right_indent = Cm(0.15)
    answer.paragraph_format.space_before = Pt(2)
    answer.paragraph_format.space_after = Pt(8)
    _border(answer, ("top", "left", "bottom", "right"), FIELD_BORDER)
    _shade(answer, FIELD_FILL)

    option = styles.add_style("MF Option", WD_STYLE_TYPE.PARAGRAPH)
    option.base_style = normal
    option.paragraph_format.left_indent = Cm(0.5)
    option.paragraph_format.space_after = Pt(2)

    intro = styles.add_style("MF Intro", WD_STYLE_TYPE.PARAGRAPH)
    intro.base_style = normal
    intro.font.color.rgb = MUTED
    intro.paragraph_format.space_before = Pt(6)
    intro.paragraph_format.space_after = Pt(4)

    cell = styles.add_style("MF Cell", WD_STYLE_TYPE.PARAGRAPH)
    cell.base_style = normal
    cell.paragraph_format.space_before = Pt(2)
    cell.paragraph_format.space_after = Pt(2)

    cell_head = styles.add_style("MF Cell Heading", WD_STYLE_TYPE.PARAGRAPH)
    cell_head.base_style = cell
    cell_head.font.bold = True
    cell_head.font.size = Pt(9.5)
    cell_head.font.color.rgb = MUTED

    small = styles.add_style("MF Small", WD_STYLE_TYPE.PARAGRAPH)
    small.base_style = normal
    small.font.size = Pt(6.5)
    small.font.color.rgb = RGBColor(0x9A, 0xA5, 0xB1)
    small.paragraph_format.space_before = Pt(18)

    placeholder = styles.add_style("Placeholder Text", WD_STYLE_TYPE.CHARACTER)
    # LibreOffice keeps this style on what is typed over a placeholder: grey, but readable.
    placeholder.font.color.rgb = RGBColor(0x6B, 0x77, 0x85)

    for name in ("Header", "Footer"):
        st = styles[name]
        st.font.size = Pt(8.5)
        st.font.color.rgb = MUTED
    section.header.paragraphs[0].style = styles["Header"]
    section.header.paragraphs[0].alignment = WD_ALIGN_PARAGRAPH.RIGHT
    section.footer.paragraphs[0].style = styles["Footer"]

    doc.core_properties.title = ""
    doc.core_properties.author = "musforms"
    doc.core_properties.comments = ""
    buf = io.BytesIO()
    doc.save(buf)
    return _without_thumbnail(buf.getvalue())


def _without_thumbnail(data: bytes) -> bytes:
    """python-docx's own template carries a thumbnail of itself: drop it."""
    src = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            if info.filename == "docProps/thumbnail.jpeg":
                continue
            body = src.read(info.filename)
            if info.filename == "_rels/.rels":
                body = re.sub(rb"<Relationship [^>]*thumbnail[^>]*/>", b"", body)
            if info.filename == "word/fontTable.xml":
                body = body.replace(b"</w:fonts>", SANS_FONT + b"</w:fonts>")
            dst.writestr(info.filename, body)
    return out.getvalue()


def main() -> None:
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_bytes(build())
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
