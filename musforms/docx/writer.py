"""Write a personalised, fillable Word form (content controls) for one employee.

The costly part — loading the template and laying out every question — happens once per
(question set, language, organisation, template) in ``DocxFormWriter``. What differs per
employee (name, department, leader, date, last year's agreements, identity, form code) is left
as markers in the prepared XML and filled in by ``render``, which only substitutes text and
appends three parts to a prepared zip.
"""

from __future__ import annotations

import datetime as dt
import io
import re
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

from docx import Document
from lxml import etree

from musforms import fieldnames as fn
from musforms import texts
from musforms.docx import _sdt as sdt
from musforms.docx import layout
from musforms.docx._package import parse_xml
from musforms.errors import MusformsError
from musforms.files import write_bytes
from musforms.formats import FormWriterBase
from musforms.models import FormData, Organisation, Question, QuestionSet, localize

DEFAULT_TEMPLATE = Path(__file__).resolve().parent.parent / "templates" / "form.docx"

# Per-employee markers left in the prepared XML (never valid musforms text or field names).
_VALUE = re.compile(r"@@V:([A-Za-z0-9_]+)@@")
_PLACEHOLDER = re.compile(r"<!--@@P:([A-Za-z0-9_]+)@@-->")
_PREVIOUS = "<!--@@PREV@@-->"
_ROWS = "<!--@@ROWS@@-->"
_ROW = "@@ROW@@"
_FORM_CODE = "form_code"
_TOKEN = "@@TOKEN@@"  # noqa: S105 - a marker, not a secret
_BREAK = '</w:t><w:br/><w:t xml:space="preserve">'

# Text width of an A4 page with the default margins, in twentieths of a point.
_TEXT_WIDTH = 9300
MUTED = "5F6B7A"
_PREVIOUS_WIDTHS = (2900, 1400, 1500, 1500, 2000)

_STYLE_NAMES = {
    "title": "Title",
    "heading": "Heading 1",
    "question": "MF Question",
    "help": "MF Help",
    "answer": "MF Answer",
    "option": "MF Option",
    "intro": "MF Intro",
    "cell": "MF Cell",
    "cell_heading": "MF Cell Heading",
    "small": "MF Small",
}


def _marker(name: str) -> str:
    return f"@@V:{name}@@"


class DocxFormWriter(FormWriterBase):
    """Renders Word forms of one question set in one language; ``render`` per employee."""

    def __init__(
        self,
        question_set: QuestionSet,
        lang: str,
        organisation: Organisation,
        *,
        template: Path | None = None,
        created: dt.datetime | None = None,
    ) -> None:
        super().__init__(question_set, lang, organisation, template=template, created=created)
        self._template_path = template or DEFAULT_TEMPLATE
        self._prepare()

    # -- preparation (once) -------------------------------------------------------------------

    def _prepare(self) -> None:
        try:
            doc: Any = Document(str(self._template_path))
        except Exception as exc:  # python-docx raises several types for a bad package
            raise MusformsError(
                f"the Word template {self._template_path} cannot be opened ({exc}); "
                "use a .docx saved by Word or LibreOffice"
            ) from exc
        self._styles = self._style_ids(doc)
        self._header_footer(doc)
        doc.core_properties.title = localize(self.question_set.title, self.lang)
        doc.core_properties.author = self.organisation.name or "musforms"
        doc.core_properties.last_modified_by = "musforms"
        now = self.created.astimezone(dt.UTC).replace(microsecond=0, tzinfo=None)
        doc.core_properties.created = now
        doc.core_properties.modified = now
        doc.core_properties.revision = 1
        buf = io.BytesIO()
        doc.save(buf)
        parts = _read_zip(buf.getvalue())

        document = parts.pop("word/document.xml").decode("utf-8")
        document = _declare_w14(document)
        body, previous_block = self._body()
        cut = document.rindex("<w:sectPr")
        self._document = document[:cut] + body + document[cut:]
        self._previous_block = previous_block
        self._previous_row = self._previous_row_xml()
        self._dynamic = {
            name: parts.pop(name).decode("utf-8")
            for name in list(parts)
            if name.startswith("word/footer") and name.endswith(".xml")
        }
        existing = parts.pop("docProps/custom.xml", None)
        props: dict[str, str] = {}
        if existing is not None:
            props = sdt.custom_properties(parse_xml(existing, "docProps/custom.xml"))
        props[layout.IDENTITY_PROPERTY] = _TOKEN
        self._custom = sdt.custom_properties_xml(props).decode("utf-8")
        parts["[Content_Types].xml"] = _with_custom_type(parts["[Content_Types].xml"])
        parts["_rels/.rels"] = _with_custom_rel(parts["_rels/.rels"])
        if "docProps/app.xml" in parts:
            parts["docProps/app.xml"] = re.sub(
                rb"<Application>[^<]*</Application>",
                b"<Application>musforms</Application>",
                parts["docProps/app.xml"],
            )
        out = io.BytesIO()
        with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
            # [Content_Types].xml first: some readers expect it there.
            for name in sorted(parts, key=lambda n: n != "[Content_Types].xml"):
                zf.writestr(_entry(name), parts[name])
        self._static_zip = out.getvalue()

    def _style_ids(self, doc: Any) -> dict[str, str | None]:
        ids: dict[str, str | None] = {}
        for key, name in _STYLE_NAMES.items():
            try:
                ids[key] = doc.styles[name].style_id
            except KeyError:
                ids[key] = None
        return ids

    def _header_footer(self, doc: Any) -> None:
        section = doc.sections[-1]
        footers = [section.footer]
        if section.different_first_page_header_footer:
            footers.append(section.first_page_footer)
        org = self.organisation.name
        if org:
            header = section.header
            if org not in "\n".join(p.text for p in header.paragraphs):
                target = header.paragraphs[0] if header.paragraphs else header.add_paragraph()
                if target.text.strip():
                    target = header.add_paragraph()
                target.add_run(org)
        for footer in footers:
            element = footer._element
            paragraphs = footer.paragraphs
            if len(paragraphs) == 1 and not paragraphs[0].text.strip():
                ppr = paragraphs[0]._p.pPr
                p = self._footer_paragraph()
                if ppr is not None:
                    p.insert(0, etree.fromstring(etree.tostring(ppr)))
                element.replace(paragraphs[0]._p, p)
            else:
                element.append(self._footer_paragraph())

    def _footer_paragraph(self) -> etree._Element:
        lang = self.lang
        head = (
            f"{texts.t('confidential', lang)}   ·   "
            f"{texts.t('form_code', lang)}: {_marker(_FORM_CODE)}   ·   "
        )
        runs: list[etree._Element] = [sdt.run(head)]
        page = texts.t("page", lang, page="\x00PAGE\x00", pages="\x00NUMPAGES\x00")
        for piece in page.split("\x00"):
            if piece in ("PAGE", "NUMPAGES"):
                runs.append(sdt.page_field(piece))
            elif piece:
                runs.append(sdt.run(piece))
        return sdt.paragraph(runs)

    # -- the body -------------------------------------------------------------------------------

    def _p(self, key: str, runs: list[etree._Element], keep_next: bool = False) -> etree._Element:
        return sdt.paragraph(runs, style=self._styles.get(key), keep_next=keep_next)

    def _body(self) -> tuple[str, str]:
        qs, lang = self.question_set, self.lang
        wrapper = etree.Element(sdt.w("body"), nsmap=sdt.NSMAP)
        wrapper.append(self._p("title", [sdt.run(localize(qs.title, lang))]))
        wrapper.append(self._prefill_table())
        for text in (localize(qs.intro, lang), texts.t("how_to", lang)):
            if text:
                wrapper.append(self._p("intro", [sdt.run(text)]))
        wrapper.append(etree.Comment(_PREVIOUS[4:-3]))
        number = 0
        for section in qs.sections:
            wrapper.append(self._p("heading", [sdt.run(localize(section.title, lang))], True))
            if section.intro:
                wrapper.append(self._p("intro", [sdt.run(localize(section.intro, lang))]))
            for question in section.questions:
                number += 1
                for el in self._question(number, question):
                    wrapper.append(el)
        ident = sdt.text_control(fn.IDENTITY, "musforms", _marker(fn.IDENTITY), "", locked=True)
        wrapper.append(self._p("small", [ident]))

        prev = etree.Element(sdt.w("body"), nsmap=sdt.NSMAP)
        prev.append(self._p("heading", [sdt.run(texts.t("previous_title", lang))], True))
        prev.append(self._p("intro", [sdt.run(texts.t("previous_intro", lang))]))
        widths = list(_PREVIOUS_WIDTHS)
        heads = [texts.t(k, lang) for k in ("what", "owner", "due", "status", "comment")]
        table = self._table(widths, heads)
        table.append(etree.Comment(_ROWS[4:-3]))
        prev.append(table)
        return _inner(wrapper), _inner(prev)

    def _previous_row_xml(self) -> str:
        lang = self.lang
        cells: list[etree._Element] = []
        for part in layout.PREVIOUS_PARTS:
            name = fn.previous_field(0, part).replace("__0__", f"__{_ROW}__")
            cells.append(self._prefilled(name, texts.t(part, lang)))
        status = fn.previous_status_field(0).replace("__0", f"__{_ROW}")
        cells.append(
            sdt.dropdown_control(
                status,
                texts.t("status", lang),
                layout.status_items(lang),
                None,
                texts.t("placeholder_choice", lang),
            )
        )
        comment = fn.previous_comment_field(0).replace("__0", f"__{_ROW}")
        cells.append(
            sdt.text_control(
                comment,
                texts.t("comment", lang),
                None,
                texts.t("placeholder_text", lang),
                multiline=True,
            )
        )
        wrapper = etree.Element(sdt.w("body"), nsmap=sdt.NSMAP)
        wrapper.append(self._row([[c] for c in cells], list(_PREVIOUS_WIDTHS)))
        return _inner(wrapper)

    def _prefilled(self, name: str, alias: str) -> etree._Element:
        control = sdt.text_control(name, alias, _marker(name), "", locked=True)
        pr = control.find(sdt.w("sdtPr"))
        assert pr is not None
        pr.append(etree.Comment(f"@@P:{name}@@"))
        return control

    def _prefill_table(self) -> etree._Element:
        table = self._table([2200, _TEXT_WIDTH - 2200], None, borders=False)
        for name in layout.PREFILL_FIELDS:
            label = texts.t(layout.PREFILL_LABELS[name], self.lang)
            table.append(
                self._row(
                    [[sdt.run(label)], [self._prefilled(name, label)]],
                    [2200, _TEXT_WIDTH - 2200],
                    styles=("cell_heading", "cell"),
                )
            )
        return table

    def _question(self, number: int, q: Question) -> list[etree._Element]:
        lang = self.lang
        label = localize(q.label, lang)
        head: list[etree._Element] = [sdt.run(f"{number}. ")]
        out: list[etree._Element] = []
        if q.type == "checkbox":
            head += [sdt.checkbox_control(q.id, label, False), sdt.run(" " + label)]
        else:
            head.append(sdt.run(label))
        if q.required:
            head.append(
                sdt.run(f"  ({texts.t('required', lang)})", size_half_points=17, color=MUTED)
            )
        out.append(self._p("question", head, keep_next=q.type != "checkbox"))
        if q.help:
            out.append(self._p("help", [sdt.run(localize(q.help, lang))], keep_next=True))
        text_ph = texts.t("placeholder_text", lang)
        match q.type:
            case "text" | "textarea":
                control = sdt.text_control(
                    q.id, label, None, text_ph, multiline=q.type == "textarea"
                )
                out.append(self._p("answer", [control]))
            case "date":
                control = sdt.date_control(
                    q.id, label, None, texts.t("placeholder_date", lang), lang=lang
                )
                out.append(self._p("answer", [control]))
            case "scale" | "choice":
                control = sdt.dropdown_control(
                    q.id,
                    label,
                    layout.dropdown_items(q, lang),
                    None,
                    texts.t("placeholder_choice", lang),
                )
                out.append(self._p("answer", [control]))
            case "multichoice":
                for spec, option in zip(fn.fields_for(q), q.options or [], strict=True):
                    text = localize(option.label, lang)
                    box = sdt.checkbox_control(spec.name, text, False)
                    out.append(self._p("option", [box, sdt.run(" " + text)]))
            case "agreements":
                widths = [4700, 2500, 2100]
                heads = [texts.t(k, lang) for k in ("what", "owner", "due")]
                table = self._table(widths, heads)
                for row in range(1, (q.rows or 0) + 1):
                    cells = []
                    for part in ("what", "owner", "due"):
                        name = fn.agreement_field(q.id, row, part)
                        alias = f"{label} {row}: {texts.t(part, lang)}"
                        if part == "due":
                            control = sdt.date_control(
                                name, alias, None, texts.t("date_hint", lang), lang=lang
                            )
                        else:
                            control = sdt.text_control(name, alias, None, text_ph)
                        cells.append([control])
                    table.append(self._row(cells, widths))
                out.append(table)
                out.append(sdt.paragraph([]))
        return out

    # -- tables ---------------------------------------------------------------------------------

    def _table(
        self, widths: list[int], heads: list[str] | None, *, borders: bool = True
    ) -> etree._Element:
        tbl = etree.Element(sdt.w("tbl"), nsmap=sdt.NSMAP)
        pr = etree.SubElement(tbl, sdt.w("tblPr"))
        tw = etree.SubElement(pr, sdt.w("tblW"))
        tw.set(sdt.w("w"), str(sum(widths)))
        tw.set(sdt.w("type"), "dxa")
        bdr = etree.SubElement(pr, sdt.w("tblBorders"))
        for side in ("top", "left", "bottom", "right", "insideH", "insideV"):
            el = etree.SubElement(bdr, sdt.w(side))
            if borders:
                el.set(sdt.w("val"), "single")
                el.set(sdt.w("sz"), "4")
                el.set(sdt.w("space"), "0")
                el.set(sdt.w("color"), "B8C4D2")
            else:
                el.set(sdt.w("val"), "nil")
        layout_el = etree.SubElement(pr, sdt.w("tblLayout"))
        layout_el.set(sdt.w("type"), "fixed")
        mar = etree.SubElement(pr, sdt.w("tblCellMar"))
        for side, size in (("left", "80"), ("right", "80")):
            el = etree.SubElement(mar, sdt.w(side))
            el.set(sdt.w("w"), size)
            el.set(sdt.w("type"), "dxa")
        grid = etree.SubElement(tbl, sdt.w("tblGrid"))
        for width in widths:
            col = etree.SubElement(grid, sdt.w("gridCol"))
            col.set(sdt.w("w"), str(width))
        if heads:
            tbl.append(
                self._row(
                    [[sdt.run(h)] for h in heads],
                    widths,
                    styles=("cell_heading",) * len(heads),
                    header=True,
                )
            )
        return tbl

    def _row(
        self,
        cells: list[list[etree._Element]],
        widths: list[int],
        *,
        styles: tuple[str, ...] | None = None,
        header: bool = False,
    ) -> etree._Element:
        tr = etree.Element(sdt.w("tr"), nsmap=sdt.NSMAP)
        trpr = etree.SubElement(tr, sdt.w("trPr"))
        etree.SubElement(trpr, sdt.w("cantSplit"))
        if header:
            etree.SubElement(trpr, sdt.w("tblHeader"))
        for i, (content, width) in enumerate(zip(cells, widths, strict=True)):
            tc = etree.SubElement(tr, sdt.w("tc"))
            tcpr = etree.SubElement(tc, sdt.w("tcPr"))
            tcw = etree.SubElement(tcpr, sdt.w("tcW"))
            tcw.set(sdt.w("w"), str(width))
            tcw.set(sdt.w("type"), "dxa")
            if header:
                shd = etree.SubElement(tcpr, sdt.w("shd"))
                shd.set(sdt.w("val"), "clear")
                shd.set(sdt.w("color"), "auto")
                shd.set(sdt.w("fill"), "EEF2F6")
            style = styles[i] if styles else "cell"
            tc.append(self._p(style, content))
        return tr

    # -- per employee ---------------------------------------------------------------------------

    def render(self, form: FormData) -> bytes:
        """The .docx bytes of ``form`` (an employee's form of this writer's question set)."""
        values: dict[str, str] = dict(form.prefill)
        values[fn.IDENTITY] = form.token
        values[_FORM_CODE] = form.form_code
        count = len(form.previous_agreements)
        previous = ""
        if count:
            rows = "".join(
                self._previous_row.replace(_ROW, str(row)) for row in range(1, count + 1)
            )
            previous = self._previous_block.replace(_ROWS, rows)
        document = self._document.replace(_PREVIOUS, previous)
        fill = _filler(values)
        empty = _placeholder_flag(values)
        out = io.BytesIO(self._static_zip)
        out.seek(0, io.SEEK_END)
        with zipfile.ZipFile(out, "a", zipfile.ZIP_DEFLATED) as zf:
            zf.writestr(
                _entry("word/document.xml"),
                _PLACEHOLDER.sub(empty, _VALUE.sub(fill, document)).encode(),
            )
            for name, xml in self._dynamic.items():
                zf.writestr(_entry(name), _VALUE.sub(fill, xml).encode())
            zf.writestr(
                _entry("docProps/custom.xml"),
                self._custom.replace(_TOKEN, escape(form.token)).encode(),
            )
        return out.getvalue()


def _filler(values: dict[str, str]) -> Callable[[re.Match[str]], str]:
    def fill(m: re.Match[str]) -> str:
        value = (values.get(m.group(1)) or "").replace("\r\n", "\n").replace("\r", "\n")
        if not value.strip():
            return layout.EMPTY_PREFILL
        return escape(value).replace("\n", _BREAK)

    return fill


def _placeholder_flag(values: dict[str, str]) -> Callable[[re.Match[str]], str]:
    def flag(m: re.Match[str]) -> str:
        return "" if (values.get(m.group(1)) or "").strip() else "<w:showingPlcHdr/>"

    return flag


def _entry(name: str) -> zipfile.ZipInfo:
    # A fixed timestamp: the same form renders to the same bytes.
    info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
    info.compress_type = zipfile.ZIP_DEFLATED
    return info


def _read_zip(data: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        return {name: zf.read(name) for name in zf.namelist()}


def _inner(wrapper: etree._Element) -> str:
    etree.cleanup_namespaces(wrapper, top_nsmap=sdt.NSMAP)
    text = sdt.tostring(wrapper)
    return text[text.index(">") + 1 : text.rindex("</")]


def _declare_w14(document: str) -> str:
    """Make sure the document root declares the w14 prefix the checkboxes use."""
    root_end = document.index(">", document.index("<w:document"))
    root = document[:root_end]
    if f'xmlns:w14="{sdt.W14_NS}"' in root:
        return document
    return f'{root} xmlns:w14="{sdt.W14_NS}"{document[root_end:]}'


def _with_custom_type(types: bytes) -> bytes:
    if b"/docProps/custom.xml" in types:
        return types
    override = (
        f'<Override PartName="/docProps/custom.xml" ContentType="{sdt.CUSTOM_TYPE}"/>'
    ).encode()
    return types.replace(b"</Types>", override + b"</Types>")


def _with_custom_rel(rels: bytes) -> bytes:
    if b"docProps/custom.xml" in rels:
        return rels
    rel = (
        f'<Relationship Id="rIdMusforms" Type="{sdt.CUSTOM_REL}" Target="docProps/custom.xml"/>'
    ).encode()
    return rels.replace(b"</Relationships>", rel + b"</Relationships>")


_CACHE: dict[tuple[str, ...], DocxFormWriter] = {}
_CACHE_SIZE = 8


def write_docx(form: FormData, path: Path, template: Path | None = None) -> None:
    """Write ``form`` as a fillable Word form to ``path`` (atomic, private)."""
    key = (
        form.identity.question_set_id,
        form.identity.question_set_version,
        form.identity.question_set_digest,
        form.lang,
        form.organisation.model_dump_json(),
        str(template or ""),
    )
    writer = _CACHE.get(key)
    if writer is None:
        writer = DocxFormWriter(form.question_set, form.lang, form.organisation, template=template)
        if len(_CACHE) >= _CACHE_SIZE:
            _CACHE.pop(next(iter(_CACHE)))
        _CACHE[key] = writer
    write_bytes(path, writer.render(form))
