"""Build the default minutes template ``musforms/templates/minutes.docx``.

Run ``.venv/bin/python scripts/make_minutes_template.py`` after changing the look below, and
commit the resulting file. The template is an ordinary Word document with Jinja tags in its
text (docxtpl): HR can open it in Word, restyle it, move things around and put in their own
wording; ``musforms/outputs/minutes.py`` lists every variable a template may use.

Tags used here: ``{{ … }}`` prints a value, ``{%p … %}`` on a paragraph of its own repeats or
hides paragraphs, ``{%tr … %}`` in a table row repeats table rows.
"""

from __future__ import annotations

import io
from pathlib import Path

from docx import Document
from docx.enum.table import WD_TABLE_ALIGNMENT
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Cm, Pt, RGBColor
from docx.table import Table

OUT = Path(__file__).resolve().parent.parent / "musforms" / "templates" / "minutes.docx"

FONT = "Calibri"
INK = RGBColor(0x22, 0x2B, 0x36)
ACCENT = RGBColor(0x1F, 0x4E, 0x79)
MUTED = RGBColor(0x5F, 0x6B, 0x7A)
HEADER_FILL = "DDE6F0"


def _shade(cell: object, fill: str) -> None:
    tcpr = cell._tc.get_or_add_tcPr()  # type: ignore[attr-defined]
    shd = OxmlElement("w:shd")
    shd.set(qn("w:val"), "clear")
    shd.set(qn("w:color"), "auto")
    shd.set(qn("w:fill"), fill)
    tcpr.append(shd)


def _no_borders(table: Table) -> None:
    tblpr = table._tbl.tblPr
    borders = OxmlElement("w:tblBorders")
    for side in ("top", "left", "bottom", "right", "insideH", "insideV"):
        el = OxmlElement(f"w:{side}")
        el.set(qn("w:val"), "nil")
        borders.append(el)
    tblpr.append(borders)


def _widths(table: Table, widths_cm: list[float]) -> None:
    """Column widths Word and LibreOffice both keep: the grid and every cell."""
    table.autofit = False
    for col, width in zip(table.columns, widths_cm, strict=True):
        col.width = Cm(width)
        for cell in col.cells:
            cell.width = Cm(width)


def _loop_table(
    doc: object, headers: list[str], cells: list[str], loop: str, widths_cm: list[float]
) -> Table:
    """A table with a header row and one row repeated per item of ``loop``."""
    table: Table = doc.add_table(rows=4, cols=len(headers))  # type: ignore[attr-defined]
    table.style = "Table Grid"
    table.alignment = WD_TABLE_ALIGNMENT.LEFT
    _widths(table, widths_cm)
    # an agreement's row stays on one page
    table.rows[2]._tr.get_or_add_trPr().append(OxmlElement("w:cantSplit"))
    for i, text in enumerate(headers):
        cell = table.rows[0].cells[i]
        cell.text = text
        cell.paragraphs[0].runs[0].bold = True
        _shade(cell, HEADER_FILL)
    # mark the header row to repeat on every page
    trpr = table.rows[0]._tr.get_or_add_trPr()
    header = OxmlElement("w:tblHeader")
    trpr.append(header)
    table.rows[1].cells[0].text = f"{{%tr for a in {loop} %}}"
    for i, text in enumerate(cells):
        table.rows[2].cells[i].text = text
    table.rows[3].cells[0].text = "{%tr endfor %}"
    return table


def build() -> bytes:
    doc = Document()
    section = doc.sections[0]
    section.page_width, section.page_height = Cm(21.0), Cm(29.7)
    section.top_margin, section.bottom_margin = Cm(2.2), Cm(2.0)
    section.left_margin = section.right_margin = Cm(2.2)

    styles = doc.styles
    normal = styles["Normal"]
    normal.font.name = FONT
    normal.font.size = Pt(10.5)
    normal.font.color.rgb = INK
    normal.paragraph_format.space_after = Pt(4)
    for name, size in (("Title", 20), ("Heading 1", 14), ("Heading 2", 12)):
        style = styles[name]
        style.font.name = FONT
        style.font.size = Pt(size)
        style.font.color.rgb = ACCENT
        style.font.bold = True
        style.paragraph_format.space_before = Pt(14 if name != "Title" else 0)
        style.paragraph_format.space_after = Pt(4)
    # Title has a bottom border and other decoration in the default template; keep it plain.
    title_ppr = styles["Title"].element.pPr
    if title_ppr is not None:
        for child in list(title_ppr):
            if child.tag == qn("w:pBdr"):
                title_ppr.remove(child)

    doc.core_properties.title = "{{ labels.minutes_title }} – {{ employee.name }}"
    doc.core_properties.author = "{{ organisation }}"
    doc.core_properties.comments = ""

    footer = section.footer.paragraphs[0]
    run = footer.add_run(
        "{{ labels.confidential }} · {{ employee.name }} · {{ labels.form_code }} {{ form_code }}"
    )
    run.font.size = Pt(8)
    run.font.color.rgb = MUTED

    doc.add_paragraph("{{ labels.minutes_title }}", style="Title")
    sub = doc.add_paragraph("{{ title }}{% if organisation %} · {{ organisation }}{% endif %}")
    sub.runs[0].font.color.rgb = MUTED

    facts = doc.add_table(rows=4, cols=2)
    _no_borders(facts)
    _widths(facts, [4.0, 12.6])
    for i, (label, value) in enumerate(
        (
            ("{{ labels.employee }}", "{{ employee.name }} ({{ employee.id }})"),
            ("{{ labels.department }}", "{{ employee.department }}"),
            ("{{ labels.manager }}", "{{ leader }}"),
            ("{{ labels.meeting_date }}", "{{ meeting_date }}"),
        )
    ):
        facts.rows[i].cells[0].text = label
        facts.rows[i].cells[0].paragraphs[0].runs[0].bold = True
        facts.rows[i].cells[1].text = value

    doc.add_paragraph("{{ labels.preparation }}", style="Heading 1")
    doc.add_paragraph("{%p for s in sections %}")
    doc.add_paragraph("{{ s.title }}", style="Heading 2")
    doc.add_paragraph("{%p for a in s.answers %}")
    q = doc.add_paragraph()
    q.add_run("{{ a.label }}").bold = True
    q.paragraph_format.space_after = Pt(1)
    q.paragraph_format.keep_with_next = True
    doc.add_paragraph("{{ a.answer }}")
    doc.add_paragraph("{%p endfor %}")
    doc.add_paragraph("{%p endfor %}")

    doc.add_paragraph("{{ labels.conversation }}", style="Heading 1")
    intro = doc.add_paragraph("{{ labels.conversation_intro }}")
    intro.runs[0].italic = True
    intro.runs[0].font.color.rgb = MUTED
    for _ in range(6):
        doc.add_paragraph()

    doc.add_paragraph("{{ labels.agreements }}", style="Heading 1")
    _loop_table(
        doc,
        ["#", "{{ labels.what }}", "{{ labels.owner }}", "{{ labels.due }}", "{{ labels.status }}"],
        ["{{ a.number }}", "{{ a.what }}", "{{ a.owner }}", "{{ a.due }}", "{{ a.status }}"],
        "agreements",
        [0.8, 7.2, 3.0, 2.6, 3.0],
    )
    doc.add_paragraph("{%p if not agreements %}")
    doc.add_paragraph("{{ labels.no_agreements }}")
    doc.add_paragraph("{%p endif %}")

    doc.add_paragraph("{%p if previous_agreements %}")
    doc.add_paragraph("{{ labels.previous_title }}", style="Heading 1")
    _loop_table(
        doc,
        [
            "{{ labels.what }}",
            "{{ labels.owner }}",
            "{{ labels.due }}",
            "{{ labels.status }}",
            "{{ labels.comment }}",
        ],
        ["{{ a.what }}", "{{ a.owner }}", "{{ a.due }}", "{{ a.status }}", "{{ a.comment }}"],
        "previous_agreements",
        [4.6, 2.4, 2.6, 3.0, 4.0],
    )
    doc.add_paragraph("{%p endif %}")

    doc.add_paragraph("{{ labels.signatures }}", style="Heading 1")
    signs = doc.add_table(rows=3, cols=2)
    _no_borders(signs)
    _widths(signs, [8.3, 8.3])
    for col, (who, name) in enumerate(
        (("{{ labels.employee }}", "{{ employee.name }}"), ("{{ labels.manager }}", "{{ leader }}"))
    ):
        signs.rows[0].cells[col].text = "\n\n______________________________"
        signs.rows[1].cells[col].text = "{{ labels.date_signature }}"
        signs.rows[2].cells[col].text = f"{who}: {name}"

    buf = io.BytesIO()
    doc.save(buf)
    return buf.getvalue()


def main() -> None:
    OUT.write_bytes(build())
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
