"""Write a personalised, fillable Word form (content controls) for one employee.

One piece of layout code builds a form as a python-docx document: the template with the
organisation's header, the footer with the form code, the document properties (the identity
among the custom ones) and the body. What differs per employee (name, department, leader, date,
last year's agreements, identity, form code) comes from a ``_Personal``: the employee's values,
or markers standing in for them.

Two ways to render, with that same code:

- by default (a hand-written fast path) the document is built once per (question set, language,
  organisation, template) with markers, saved by python-docx and zipped, and ``render`` only
  substitutes each employee's values into the XML text and appends the parts that differ
  (document, footers, custom properties) to the prepared zip;
- with ``MUSFORMS_FAST_PATHS=0`` (see ``musforms.fastpath``) each form is built from its own
  values and saved by python-docx's ``Document.save``
  (:meth:`DocxFormWriter.render_direct`), the reference the fast path is tested against.
"""

from __future__ import annotations

import datetime as dt
import io
import re
import zipfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

from docx import Document
from docx.opc.constants import RELATIONSHIP_TYPE as RT
from docx.opc.packuri import PackURI
from docx.opc.part import Part
from lxml import etree

from musforms import fastpath, texts
from musforms import fieldnames as fn
from musforms.docx import _sdt as sdt
from musforms.docx import layout
from musforms.docx._package import parse_xml
from musforms.errors import MusformsError
from musforms.files import write_bytes
from musforms.formats import FormWriterBase
from musforms.i18n import _
from musforms.models import FormData, Question, localize

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


# The document's language (w:lang), by the form's language: spell checking, and the voice a
# screen reader reads it in.
LANGUAGE_TAGS = {"da": "da-DK", "en": "en-GB"}


def _set_language(doc: Any, tag: str) -> None:
    """Every language the template's styles name, their defaults' first, set to ``tag``;
    the settings' theme font language with them."""
    styles = doc.styles.element
    defaults = _child(styles, "docDefaults")
    _child(_child(_child(defaults, "rPrDefault"), "rPr"), "lang")
    for lang in styles.iter(sdt.w("lang")):
        lang.set(sdt.w("val"), tag)
    theme = doc.settings.element.find(sdt.w("themeFontLang"))
    if theme is not None:
        theme.set(sdt.w("val"), tag)


_CORE_KEYWORDS = "{http://schemas.openxmlformats.org/package/2006/metadata/core-properties}keywords"


def _set_keywords(core: Any, text: str) -> None:
    """The core properties' keywords set to ``text``, written into their XML: python-docx
    refuses more than 255 characters, and a token is longer (Word and LibreOffice take it)."""
    element = core._element
    keywords = element.find(_CORE_KEYWORDS)
    if keywords is None:
        keywords = etree.SubElement(element, _CORE_KEYWORDS)
    keywords.text = text


def _child(parent: etree._Element, name: str) -> etree._Element:
    """``parent``'s ``w:name`` child, made as its first when it has none."""
    child = parent.find(sdt.w(name))
    if child is None:
        child = etree.Element(sdt.w(name), nsmap=sdt.NSMAP)
        parent.insert(0, child)
    return child


def _marker(name: str) -> str:
    return f"@@V:{name}@@"


def _shown(value: str | None) -> str:
    """A prefilled value as its control shows it: ``\\n`` line breaks, a dash when blank."""
    value = (value or "").replace("\r\n", "\n").replace("\r", "\n")
    return value if value.strip() else layout.EMPTY_PREFILL


def _blank(value: str | None) -> bool:
    return not (value or "").strip()


@dataclass(frozen=True)
class _Personal:
    """What a form shows of its employee: the values by field name (the prefilled ones, the
    identity and the form code) and how many of last cycle's agreements it carries. Without
    values it stands for the markers the fast path fills in per form."""

    values: Mapping[str, str] | None = None
    previous: int = 0
    # Answer fields filled in beforehand (a conclusion form's agreements), by field name.
    answers: Mapping[str, str] = field(default_factory=dict)
    checkin: bool = False  # a check-in's agreements are this round's, not last round's

    @property
    def latest(self) -> bool:
        """Whether its agreements show their latest status (a check-in gave one)."""
        return self.values is not None and _has_latest(self.values)

    def answer(self, name: str) -> str | None:
        """The value an answer field starts with, if any."""
        return self.answers.get(name) or None

    def answer_date(self, name: str) -> dt.date | None:
        value = self.answer(name)
        try:
            return dt.date.fromisoformat(value) if value else None
        except ValueError:
            return None

    @property
    def markers(self) -> bool:
        return self.values is None

    def text(self, name: str) -> str:
        """What the form shows for the value ``name``."""
        return _marker(name) if self.values is None else _shown(self.values.get(name))

    def flag_blank(self, control: etree._Element, name: str) -> None:
        """A prefilled control whose value is blank shows it is unfilled (w:showingPlcHdr)."""
        pr = control.find(sdt.w("sdtPr"))
        assert pr is not None
        if self.values is None:
            pr.append(etree.Comment(f"@@P:{name}@@"))
        elif _blank(self.values.get(name)):
            etree.SubElement(pr, sdt.w("showingPlcHdr"))


_MARKERS = _Personal()


def _values(form: FormData) -> dict[str, str]:
    """Every value a form shows of its employee, by field name."""
    values = dict(form.prefill)
    values[fn.IDENTITY] = form.token
    values[_FORM_CODE] = form.form_code
    return values


def _has_latest(values: Mapping[str, str]) -> bool:
    """Whether a form's previous agreements show their latest status: all of them do where
    a check-in gave any a status (formdata.prefill_values)."""
    return fn.previous_field(1, fn.PREVIOUS_LATEST) in values


@dataclass(frozen=True)
class _Prepared:
    """A form with markers, saved once: the zip of the parts every form shares, and the parts
    that differ per employee as text to fill in."""

    static_zip: bytes
    document: str
    previous_block: str
    # One of last cycle's agreements, by whether it shows its latest status.
    previous_row: dict[bool, str]
    footers: dict[str, str]
    custom: str
    core: str

    def fill(self, values: dict[str, str], previous: int, token: str) -> bytes:
        """The .docx bytes with ``values`` and ``previous`` of last cycle's agreements."""
        rows = ""
        if previous:
            row = self.previous_row[_has_latest(values)]
            rows = "".join(row.replace(_ROW, str(r)) for r in range(1, previous + 1))
        block = self.previous_block.replace(_ROWS, rows) if previous else ""
        document = self.document.replace(_PREVIOUS, block)
        fill = _filler(values)
        empty = _placeholder_flag(values)
        out = io.BytesIO(self.static_zip)
        out.seek(0, io.SEEK_END)
        with zipfile.ZipFile(out, "a", zipfile.ZIP_DEFLATED) as zf:
            zf.writestr(
                _entry("word/document.xml"),
                _PLACEHOLDER.sub(empty, _VALUE.sub(fill, document)).encode(),
            )
            for name, xml in self.footers.items():
                zf.writestr(_entry(name), _VALUE.sub(fill, xml).encode())
            for name, xml in (
                ("docProps/custom.xml", self.custom),
                ("docProps/core.xml", self.core),
            ):
                zf.writestr(_entry(name), xml.replace(_TOKEN, escape(token)).encode())
        return out.getvalue()


class DocxFormWriter(FormWriterBase):
    """Renders Word forms of one question set in one language; ``render`` per employee."""

    def _setup(self) -> None:
        path = self.template or DEFAULT_TEMPLATE
        try:
            self._template_data = path.read_bytes()
            doc: Any = Document(io.BytesIO(self._template_data))
        except Exception as exc:  # python-docx raises several types for a bad package
            raise MusformsError(
                _(
                    "the Word template {path} cannot be opened ({exc}); use a .docx "
                    "saved by Word or LibreOffice"
                ).format(path=path, exc=exc)
            ) from exc
        self._styles = self._style_ids(doc)
        # The fast path's, made on its first form: one for forms, one for check-ins.
        self._prepared: dict[bool, _Prepared] = {}

    # -- the document -------------------------------------------------------------------------

    def _prepare(self, checkin: bool) -> _Prepared:
        """The form with markers, saved by python-docx and split into what every form shares
        and what ``render`` fills in."""
        buf = io.BytesIO()
        markers = _Personal(checkin=checkin) if checkin else _MARKERS
        self._document(markers, _TOKEN).save(buf)
        parts = _read_zip(buf.getvalue())
        document = parts.pop("word/document.xml").decode("utf-8")
        footers = {
            name: parts.pop(name).decode("utf-8")
            for name in list(parts)
            if name.startswith("word/footer") and name.endswith(".xml")
        }
        custom = parts.pop("docProps/custom.xml").decode("utf-8")
        core = parts.pop("docProps/core.xml").decode("utf-8")
        out = io.BytesIO()
        with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
            # [Content_Types].xml first: some readers expect it there.
            for name in sorted(parts, key=lambda n: n != "[Content_Types].xml"):
                zf.writestr(_entry(name), parts[name])
        block = self._previous_block([etree.Comment(_ROWS[4:-3])], checkin)
        rows = {
            latest: _inner([self._previous_row(0, _MARKERS, latest)]) for latest in (True, False)
        }
        return _Prepared(out.getvalue(), document, _inner(block), rows, footers, custom, core)

    def _document(self, personal: _Personal, token: str) -> Any:
        """The form as a python-docx document, showing ``personal`` and carrying ``token``."""
        doc: Any = Document(io.BytesIO(self._template_data))
        self._header_footer(doc, personal)
        core = doc.core_properties
        core.title = localize(self.question_set.title, self.lang)
        core.author = self.organisation.name or "musforms"
        core.last_modified_by = "musforms"
        now = self.created.astimezone(dt.UTC).replace(microsecond=0, tzinfo=None)
        core.created = now
        core.modified = now
        core.revision = 1
        core.language = LANGUAGE_TAGS[self.lang]
        # The identity in the keywords too: LibreOffice's PDF export keeps them (/Keywords),
        # where the hidden identity control has no field.
        _set_keywords(core, token)
        _set_language(doc, LANGUAGE_TAGS[self.lang])
        package = doc.part.package
        _name_application(package)
        _set_custom_properties(package, {layout.IDENTITY_PROPERTY: token})
        _insert_body(doc.element, self._body(personal))
        return doc

    def _style_ids(self, doc: Any) -> dict[str, str | None]:
        ids: dict[str, str | None] = {}
        for key, name in _STYLE_NAMES.items():
            try:
                ids[key] = doc.styles[name].style_id
            except KeyError:
                ids[key] = None
        return ids

    def _header_footer(self, doc: Any, personal: _Personal) -> None:
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
                p = self._footer_paragraph(personal)
                if ppr is not None:
                    p.insert(0, etree.fromstring(etree.tostring(ppr)))
                element.replace(paragraphs[0]._p, p)
            else:
                element.append(self._footer_paragraph(personal))

    def _footer_paragraph(self, personal: _Personal) -> etree._Element:
        lang = self.lang
        head = (
            f"{texts.t('confidential', lang)}   ·   "
            f"{texts.t('form_code', lang)}: {personal.text(_FORM_CODE)}   ·   "
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

    def _body(self, personal: _Personal) -> list[etree._Element]:
        qs, lang = self.question_set, self.lang
        out = [self._p("title", [sdt.run(localize(qs.title, lang))])]
        out.append(self._prefill_table(personal))
        if personal.values is not None and personal.values.get(fn.PREFILL_PREPARATION):
            out.extend(self._preparation(personal))
        for text in (localize(qs.intro, lang), texts.t("how_to", lang)):
            if text:
                out.append(self._p("intro", [sdt.run(text)]))
        if personal.markers:
            out.append(etree.Comment(_PREVIOUS[4:-3]))
        elif personal.previous:
            rows = range(1, personal.previous + 1)
            rows_xml = [self._previous_row(r, personal, personal.latest) for r in rows]
            out.extend(self._previous_block(rows_xml, personal.checkin))
        number = 0
        for section in qs.sections:
            out.append(self._p("heading", [sdt.run(localize(section.title, lang))], True))
            if section.intro:
                out.append(self._p("intro", [sdt.run(localize(section.intro, lang))]))
            for question in section.questions:
                number += 1
                out.extend(self._question(number, question, personal))
        # The signed identity, for a reader whose document properties were lost: hidden text,
        # so it is neither seen nor printed (and takes no line), yet Word and LibreOffice keep it.
        ident = sdt.text_control(
            fn.IDENTITY, "musforms", personal.text(fn.IDENTITY), "", locked=True, hidden=True
        )
        out.append(sdt.paragraph([ident], style=self._styles.get("small"), hidden=True))
        return out

    def _preparation(self, personal: _Personal) -> list[etree._Element]:
        """A conclusion form's copy of the employee's preparation: locked, signed."""
        lang, name = self.lang, fn.PREFILL_PREPARATION
        title = texts.t("preparation_title", lang)
        control = sdt.text_control(
            name, title, personal.text(name), "", multiline=True, locked=True
        )
        return [
            self._p("heading", [sdt.run(title)], True),
            self._p("intro", [sdt.run(texts.t("preparation_intro", lang))]),
            self._p("answer", [control]),
        ]

    def _previous_block(
        self, rows: list[etree._Element], checkin: bool = False
    ) -> list[etree._Element]:
        """Last cycle's agreements (a check-in's: this round's): a heading, a line of help and
        the table of ``rows``."""
        lang = self.lang
        title, intro = texts.previous_heading(checkin)
        heads = [texts.t(k, lang) for k in ("what", "owner", "due", "status", "comment")]
        table = self._table(list(_PREVIOUS_WIDTHS), heads)
        table.extend(rows)
        return [
            self._p("heading", [sdt.run(texts.t(title, lang))], True),
            self._p("intro", [sdt.run(texts.t(intro, lang))]),
            table,
        ]

    def _previous_row(self, row: int, personal: _Personal, latest: bool) -> etree._Element:
        """One of last cycle's agreements; with markers, row 0 with a marker for its number.
        ``latest``: with the status and comment a check-in gave it, under what was agreed."""

        def name(field: str) -> str:
            return field.replace(f"{fn.SEP}0", f"{fn.SEP}{_ROW}") if personal.markers else field

        lang = self.lang
        # Each control's title says which agreement it is of: "Status, aftale 2".
        number = _ROW if personal.markers else str(row)

        def alias(key: str) -> str:
            return f"{texts.t(key, lang)}, {texts.t('agreement', lang).lower()} {number}"

        cells: list[etree._Element] = []
        for part in layout.PREVIOUS_PARTS:
            cells.append(self._prefilled(name(fn.previous_field(row, part)), alias(part), personal))
        more = {}
        if latest:
            label = texts.t("latest_status", lang)
            control = self._prefilled(
                name(fn.previous_field(row, fn.PREVIOUS_LATEST)), alias("latest_status"), personal
            )
            more[0] = [self._p("cell", [sdt.run(f"{label}: ", italic=True), control])]
        cells.append(
            sdt.dropdown_control(
                name(fn.previous_status_field(row)),
                alias("status"),
                layout.status_items(lang),
                None,
                texts.t("placeholder_choice", lang),
            )
        )
        cells.append(
            sdt.text_control(
                name(fn.previous_comment_field(row)),
                alias("comment"),
                None,
                texts.t("placeholder_text", lang),
                multiline=True,
            )
        )
        return self._row([[c] for c in cells], list(_PREVIOUS_WIDTHS), more=more)

    def _prefilled(self, name: str, alias: str, personal: _Personal) -> etree._Element:
        control = sdt.text_control(name, alias, personal.text(name), "", locked=True)
        personal.flag_blank(control, name)
        return control

    def _prefill_table(self, personal: _Personal) -> etree._Element:
        table = self._table([2200, _TEXT_WIDTH - 2200], None, borders=False)
        for name in layout.PREFILL_FIELDS:
            label = texts.t(layout.PREFILL_LABELS[name], self.lang)
            table.append(
                self._row(
                    [[sdt.run(label)], [self._prefilled(name, label, personal)]],
                    [2200, _TEXT_WIDTH - 2200],
                    styles=("cell_heading", "cell"),
                )
            )
        return table

    def _question(
        self, number: int, q: Question, personal: _Personal = _MARKERS
    ) -> list[etree._Element]:
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
        how_many = {"choice": "choose_one", "multichoice": "choose_any"}.get(q.type)
        if how_many:
            head.append(sdt.run(f"  ({texts.t(how_many, lang)})", size_half_points=17, color=MUTED))
        out.append(self._p("question", head, keep_next=q.type != "checkbox"))
        if q.help:
            out.append(self._p("help", [sdt.run(localize(q.help, lang))], keep_next=True))
        text_ph = texts.t("placeholder_text", lang)
        match q.type:
            case "text" | "textarea":
                control = sdt.text_control(
                    q.id, label, personal.answer(q.id), text_ph, multiline=q.type == "textarea"
                )
                out.append(self._p("answer", [control]))
            case "date":
                control = sdt.date_control(
                    q.id,
                    label,
                    personal.answer_date(q.id),
                    texts.t("placeholder_date", lang),
                    lang=lang,
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
                    box = sdt.checkbox_control(spec.name, f"{label} – {text}", False)
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
                                name,
                                alias,
                                personal.answer_date(name),
                                texts.t("date_hint", lang),
                                lang=lang,
                            )
                        else:
                            control = sdt.text_control(name, alias, personal.answer(name), text_ph)
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
        more: Mapping[int, list[etree._Element]] | None = None,
    ) -> etree._Element:
        """A table row of ``cells``, each a paragraph of the runs and controls given;
        ``more``: paragraphs that follow it in the cell of that index."""
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
            tc.extend((more or {}).get(i, []))
        return tr

    # -- per employee ---------------------------------------------------------------------------

    def render(self, form: FormData) -> bytes:
        """The .docx bytes of ``form`` (an employee's form of this writer's question set).

        The form with markers is built and zipped once, on the first form, and each form fills
        in its own values; with the fast paths off, python-docx builds and saves this form
        alone (:meth:`render_direct`).
        """
        if not fastpath.enabled() or form.answers or form.prefill.get(fn.PREFILL_PREPARATION):
            # A conclusion form (answers filled in, the preparation shown) is laid out for
            # its employee alone: there are few of them, and each differs in length.
            return self.render_direct(form)
        checkin = form.identity.kind == "checkin"
        if checkin not in self._prepared:
            self._prepared[checkin] = self._prepare(checkin)
        prepared = self._prepared[checkin]
        return prepared.fill(_values(form), len(form.previous_agreements), form.token)

    def render_direct(self, form: FormData) -> bytes:
        """The same form as :meth:`render`, built by python-docx with the employee's values.

        The library twin of the prepared zip: the same layout code, given the values instead
        of markers, and python-docx's ``Document.save``; no text substituted, nothing zipped by
        hand. Its zip entries carry the time of saving, so unlike the fast path's its bytes
        differ from run to run; what they hold does not.
        """
        checkin = form.identity.kind == "checkin"
        personal = _Personal(
            _values(form), len(form.previous_agreements), form.answers, checkin=checkin
        )
        buf = io.BytesIO()
        self._document(personal, form.token).save(buf)
        return buf.getvalue()


def _filler(values: dict[str, str]) -> Callable[[re.Match[str]], str]:
    def fill(m: re.Match[str]) -> str:
        return escape(_shown(values.get(m.group(1)))).replace("\n", _BREAK)

    return fill


def _placeholder_flag(values: dict[str, str]) -> Callable[[re.Match[str]], str]:
    def flag(m: re.Match[str]) -> str:
        return "<w:showingPlcHdr/>" if _blank(values.get(m.group(1))) else ""

    return flag


def _entry(name: str) -> zipfile.ZipInfo:
    # A fixed timestamp: the same form renders to the same bytes.
    info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
    info.compress_type = zipfile.ZIP_DEFLATED
    return info


def _read_zip(data: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        return {name: zf.read(name) for name in zf.namelist()}


def _inner(elements: list[etree._Element]) -> str:
    """The XML text of ``elements`` in a row, with the w and w14 prefixes undeclared."""
    wrapper = etree.Element(sdt.w("body"), nsmap=sdt.NSMAP)
    wrapper.extend(elements)
    etree.cleanup_namespaces(wrapper, top_nsmap=sdt.NSMAP)
    text = sdt.tostring(wrapper)
    return text[text.index(">") + 1 : text.rindex("</")]


def _insert_body(root: etree._Element, elements: list[etree._Element]) -> None:
    """Put ``elements`` at the end of the document body (before its section properties), with
    the w14 prefix the checkboxes use declared on the document root."""
    keep = None
    if root.nsmap.get("w14") != sdt.W14_NS:
        # Every prefix the template declares stays: mc:Ignorable names some that no element uses.
        keep = sorted({p for el in root.iter() if isinstance(el.tag, str) for p in el.nsmap if p})
    wrapper = etree.Element(sdt.w("body"), nsmap=sdt.NSMAP)
    wrapper.extend(elements)
    etree.cleanup_namespaces(wrapper, top_nsmap=sdt.NSMAP)
    body = root.find(sdt.w("body"))
    assert body is not None
    end = body.find(sdt.w("sectPr"))
    for el in list(wrapper):
        if end is None:
            body.append(el)
        else:
            end.addprevious(el)
    if keep is not None:
        etree.cleanup_namespaces(root, top_nsmap={"w14": sdt.W14_NS}, keep_ns_prefixes=keep)


def _part_related(package: Any, reltype: str) -> Any:
    """The package's part of ``reltype`` (python-docx keeps those it does not model, such as
    the extended and custom properties, as plain parts), or None."""
    for rel in package.rels.values():
        if rel.reltype == reltype and not rel.is_external:
            return rel.target_part
    return None


def _replace_part(package: Any, reltype: str, part: Part) -> None:
    """``part`` in place of the package's part of ``reltype``, if it had one."""
    for rid, rel in list(package.rels.items()):
        if rel.reltype == reltype:
            del package.rels[rid]
    package.relate_to(part, reltype)


def _name_application(package: Any) -> None:
    """docProps/app.xml names musforms as the application that wrote the file."""
    old = _part_related(package, RT.EXTENDED_PROPERTIES)
    if old is None:
        return
    root = parse_xml(old.blob, "docProps/app.xml")
    application = root.find(f"{{{sdt.EXT_NS}}}Application")
    if application is None:
        return
    application.text = "musforms"
    blob = etree.tostring(root, xml_declaration=True, encoding="UTF-8", standalone=True)
    new = Part(old.partname, old.content_type, blob, package)
    _replace_part(package, RT.EXTENDED_PROPERTIES, new)


def _set_custom_properties(package: Any, props: dict[str, str]) -> None:
    """docProps/custom.xml holds ``props`` beside the template's own custom properties."""
    old = _part_related(package, RT.CUSTOM_PROPERTIES)
    merged = {}
    if old is not None:
        merged = sdt.custom_properties(parse_xml(old.blob, "docProps/custom.xml"))
    merged.update(props)
    blob = sdt.custom_properties_xml(merged)
    new = Part(PackURI("/docProps/custom.xml"), sdt.CUSTOM_TYPE, blob, package)
    _replace_part(package, RT.CUSTOM_PROPERTIES, new)


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
