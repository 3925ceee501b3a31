"""Every hand-written fast path against its library twin (``MUSFORMS_FAST_PATHS=0``).

The PDF form personalised from a pre-rendered template against the form reportlab's canvas
renders on its own; the Word form filled in from the one prepared with markers against the
form python-docx builds and saves from the employee's values; the minutes draft from the
compiled template against docxtpl's own render and save. Each pair is compared by what can be
read from it — field values and dictionaries, appearance streams, page text and its position,
rendered pixels, Word paragraphs, tables, content controls, headers, footers and properties —
never by the files' bytes. ``make test`` also runs every real-client test again with the switch
off.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import io
import json
import re
import subprocess
import zipfile
from pathlib import Path
from typing import Any

import pytest
from docx import Document
from lxml import etree
from pypdf import PdfReader
from pypdf.generic import ArrayObject, DictionaryObject, IndirectObject, StreamObject

from musforms import fastpath
from musforms.docx import _sdt as sdt
from musforms.docx.reader import read_controls, read_docx
from musforms.docx.writer import DEFAULT_TEMPLATE as WORD_TEMPLATE
from musforms.docx.writer import DocxFormWriter
from musforms.errors import ConfigError
from musforms.formats import Issued
from musforms.formdata import make_form_data
from musforms.models import Agreement, Employee, FormData, Organisation, QuestionSet
from musforms.outputs import followup, minutes
from musforms.outputs.minutes import DEFAULT_TEMPLATE, minutes_name, write_minutes
from musforms.outputs.views import AgreementRow, QuestionSets
from musforms.pdf.reader import read_pdf
from musforms.pdf.writer import PdfFormWriter
from musforms.response import Response
from tests.clients.pdf import FILLERS
from tests.conftest import DANISH
from tests.outputs_data import TODAY, responses
from tests.test_pdf_clients import ANSWERS

CREATED = dt.datetime(2026, 11, 23, 13, 0, tzinfo=dt.UTC)


# --- the switch ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "on"),
    [(None, True), ("", True), ("1", True), ("on", True), ("0", False), (" Off ", False)],
)
def test_switch(value: str | None, on: bool, monkeypatch: pytest.MonkeyPatch) -> None:
    """Fast paths are on unless MUSFORMS_FAST_PATHS says 0 (or false, no, off)."""
    if value is None:
        monkeypatch.delenv(fastpath.ENV, raising=False)
    else:
        monkeypatch.setenv(fastpath.ENV, value)
    assert fastpath.enabled() is on


def test_switch_refuses_a_typo(monkeypatch: pytest.MonkeyPatch) -> None:
    """A value that is neither on nor off is an error, never silently the default."""
    monkeypatch.setenv(fastpath.ENV, "O")
    with pytest.raises(ConfigError, match="MUSFORMS_FAST_PATHS must be 0"):
        fastpath.enabled()


# --- PDF forms -------------------------------------------------------------------------------


def _render(
    writer: PdfFormWriter, form: FormData, fast: bool, monkeypatch: pytest.MonkeyPatch
) -> bytes:
    with monkeypatch.context() as m:
        m.setenv(fastpath.ENV, "1" if fast else "0")
        return writer.render(form)


def _both(
    form: FormData, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, org: Organisation
) -> tuple[Path, Path]:
    """The form written by the fast path and by reportlab alone, each by its own writer."""
    paths = []
    for fast in (True, False):
        writer = PdfFormWriter(form.question_set, form.lang, org, created=CREATED)
        path = tmp_path / ("fast.pdf" if fast else "library.pdf")
        path.write_bytes(_render(writer, form, fast, monkeypatch))
        # The library path never builds a template; the fast path does.
        assert bool(writer._templates) is fast
        paths.append(path)
    return paths[0], paths[1]


_WIDGET_KEYS = ("/FT", "/Ff", "/F", "/Rect", "/DA", "/MK", "/Opt", "/V", "/DV", "/AS", "/TU")
_WIDGET_KEYS += ("/MaxLen", "/Q", "/BS", "/Border", "/T")


def _plain(obj: Any) -> Any:
    """A pypdf object as plain Python values; streams as their decoded data."""
    if isinstance(obj, IndirectObject):
        obj = obj.get_object()
    if isinstance(obj, StreamObject):
        entries = {str(k): _plain(v) for k, v in obj.items() if k not in ("/Length", "/Filter")}
        return ("stream", entries, obj.get_data())
    if isinstance(obj, DictionaryObject):
        return {str(k): _plain(v) for k, v in obj.items()}
    if isinstance(obj, ArrayObject):
        return [_plain(v) for v in obj]
    if isinstance(obj, float):
        return round(obj, 3)
    return obj if isinstance(obj, int | str | bytes) else str(obj)


def _widgets(path: Path) -> list[list[dict[str, Any]]]:
    """Per page, each widget's field and appearance entries, in page order."""
    pages = []
    for page in PdfReader(path).pages:
        widgets = []
        for ref in page.get("/Annots", []):
            annot = ref.get_object()
            entry = {key: _plain(annot[key]) for key in _WIDGET_KEYS if key in annot}
            if "/Parent" in annot:
                parent = annot["/Parent"].get_object()
                entry["parent"] = {k: _plain(parent[k]) for k in _WIDGET_KEYS if k in parent}
            entry["/AP"] = _plain(annot.get("/AP", {}))
            widgets.append(entry)
        pages.append(widgets)
    return pages


def _words(path: Path) -> str:
    """Every word on the pages with its box, as poppler extracts it."""
    return subprocess.run(
        ["pdftotext", "-bbox", str(path), "-"], check=True, capture_output=True, text=True
    ).stdout


def _pixels(path: Path) -> list[bytes]:
    """Each page as PDFium draws it, form fields included."""
    import pypdfium2 as pdfium

    pdf = pdfium.PdfDocument(path)
    try:
        pdf.init_forms()
        return [
            bytes(page.render(scale=0.8, may_draw_forms=True).to_pil().convert("L").tobytes())
            for page in pdf
        ]
    finally:
        pdf.close()


def _assert_same_form(fast: Path, library: Path) -> None:
    assert read_pdf(fast) == read_pdf(library)
    assert PdfReader(fast).metadata == PdfReader(library).metadata
    assert _widgets(fast) == _widgets(library)
    assert _words(fast) == _words(library)
    assert _pixels(fast) == _pixels(library)
    for path in (fast, library):
        check = subprocess.run(["qpdf", "--check", str(path)], capture_output=True, text=True)
        assert check.returncode == 0, check.stdout + check.stderr


def test_pdf_form_same_both_ways(
    form_data: FormData, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every question type, last year's agreements, an organisation: the same fields, values,
    identity, appearances, page text and pixels from the template as from reportlab alone."""
    fast, library = _both(form_data, tmp_path, monkeypatch, Organisation(name="Kommunen"))
    _assert_same_form(fast, library)
    assert read_pdf(library).token == form_data.token


def test_pdf_form_same_both_ways_awkward_values(
    every_type: QuestionSet, key: bytes, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Names outside WinAnsi, brackets and backslashes, a name too long for its box and
    agreements whose letters are not among the template's reserved ones, in English."""
    employee = Employee(
        id="7",
        name="Zoë Ñúñez Dvořák " + "Langenavnsen " * 8,
        department="Łódź – Øst (Afd. \\ 2)",
        manager="Łukasz Ćwik",
        meeting_date=dt.date(2027, 2, 1),
        language="en",
    )
    previous = [
        Agreement(what=DANISH, owner="Şule", due=dt.date(2026, 6, 1)),
        Agreement(what="Ünïcødé ☃ snowman", owner=None, due=None),
        Agreement(what="Tredje (uden ejer)", owner="Bo", due=None),
    ]
    form = make_form_data(every_type, employee, key=key, cycle="2026", previous=previous)
    fast, library = _both(form, tmp_path, monkeypatch, Organisation())
    _assert_same_form(fast, library)


def _checkin(every_type: QuestionSet, employee: Employee, key: bytes) -> FormData:
    """A check-in form: this round's agreements under the check-in's own heading."""
    previous = [
        Agreement(what="Kursus i Power BI", owner="Søren", due=dt.date(2027, 3, 1)),
        Agreement(what="Sparring med Åse hver anden uge", owner="Åse", due=None),
    ]
    return make_form_data(
        every_type, employee, key=key, cycle="2026", previous=previous, kind="checkin",
        of_form="ABCDEFGHJKMN",
    )  # fmt: skip


def test_pdf_checkin_same_both_ways(
    every_type: QuestionSet,
    employee: Employee,
    key: bytes,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A check-in (its own heading over the agreements): the same from the template as from
    reportlab alone."""
    form = _checkin(every_type, employee, key)
    fast, library = _both(form, tmp_path, monkeypatch, Organisation())
    _assert_same_form(fast, library)
    assert "Jeres aftaler fra MUS" in " ".join(p.extract_text() for p in PdfReader(fast).pages)


@pytest.mark.realclient
@pytest.mark.parametrize("client", sorted(FILLERS))
def test_pdf_form_filled_by_real_clients_same_both_ways(
    client: str, form_data: FormData, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """pdf.js, PDFium and poppler fill either form alike: the same answers, exactly those
    typed, and the same appearance of what they typed."""
    fast, library = _both(form_data, tmp_path, monkeypatch, Organisation(name="Kommunen"))
    filled = []
    for path in (fast, library):
        out = path.with_name(f"{path.stem}-{client}.pdf")
        FILLERS[client](path, out, ANSWERS)
        filled.append(out)
    raw_fast, raw_library = (read_pdf(p) for p in filled)
    assert raw_fast == raw_library
    for name, value in ANSWERS.items():
        assert raw_library.fields.get(name) == value, f"{client}: {name}"
    assert _words(filled[0]) == _words(filled[1])
    assert _pixels(filled[0]) == _pixels(filled[1])


# --- Word forms ------------------------------------------------------------------------------


def _word_both(
    form: FormData,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    org: Organisation,
    template: Path | None = None,
) -> tuple[Path, Path]:
    """The Word form filled in from the prepared one with markers, and built by python-docx
    from the employee's values, each by its own writer."""
    paths = []
    for fast in (True, False):
        writer = DocxFormWriter(
            form.question_set, form.lang, org, template=template, created=CREATED
        )
        path = tmp_path / ("fast.docx" if fast else "library.docx")
        with monkeypatch.context() as m:
            m.setenv(fastpath.ENV, "1" if fast else "0")
            path.write_bytes(writer.render(form))
        # The library path never prepares the form with markers; the fast path does.
        assert bool(writer._prepared) is fast
        paths.append(path)
    return paths[0], paths[1]


def _xml(path: Path, name: str) -> etree._Element:
    with zipfile.ZipFile(path) as zf:
        return etree.fromstring(zf.read(name))


def _package(path: Path) -> dict[str, Any]:
    """The parts with their content types, and what the package relates to."""
    types = _xml(path, "[Content_Types].xml")
    defaults = {el.get("Extension"): el.get("ContentType") for el in types if "Default" in el.tag}
    overrides = {el.get("PartName"): el.get("ContentType") for el in types if "Override" in el.tag}
    with zipfile.ZipFile(path) as zf:
        names = [n for n in zf.namelist() if n != "[Content_Types].xml"]
    parts = {n: overrides.get("/" + n, defaults.get(n.rpartition(".")[2])) for n in names}
    rels = sorted((el.get("Type"), el.get("Target")) for el in _xml(path, "_rels/.rels"))
    return {"parts": parts, "rels": rels}


def _paragraphs(container: Any) -> list[tuple[str, str]]:
    """Each paragraph's style and visible text, content controls' text included."""
    return [(p.style.name if p.style is not None else "", sdt.text_of(p._p)) for p in container]


def _word_content(path: Path, form: FormData) -> dict[str, Any]:
    """What can be read from a Word form: the docx reader's fields and identity, the text and
    style of every paragraph, the tables cell by cell with their column widths, every content
    control (kind, tag, lock, value, items) and its properties, headers and footers, the core,
    extended and custom document properties, and the package's parts."""
    doc = Document(str(path))
    body = doc.element.body
    core = doc.core_properties
    app = _xml(path, "docProps/app.xml")
    with zipfile.ZipFile(path) as zf:
        custom = sdt.custom_properties(etree.fromstring(zf.read("docProps/custom.xml")))
    sections = []
    for section in doc.sections:
        sections.append(
            {
                "page": (section.page_width, section.page_height),
                "first_page": section.different_first_page_header_footer,
                "header": _paragraphs(section.header.paragraphs),
                "footer": _paragraphs(section.footer.paragraphs),
                "first_header": _paragraphs(section.first_page_header.paragraphs),
                "first_footer": _paragraphs(section.first_page_footer.paragraphs),
            }
        )
    return {
        "raw": read_docx(path, lambda raw: Issued(form.question_set, None, None)).model_dump(),
        "text": sdt.text_of(body),
        "body": _paragraphs(doc.paragraphs),
        "every_paragraph": [
            (p.xpath("string(w:pPr/w:pStyle/@w:val)"), bool(p.xpath("w:pPr/w:keepNext")))
            for p in body.iter(sdt.w("p"))
        ],
        "tables": [
            {
                "widths": [c.get(sdt.w("w")) for c in table._tbl.iter(sdt.w("gridCol"))],
                "cells": [
                    [_paragraphs(cell.paragraphs) for cell in row.cells] for row in table.rows
                ],
            }
            for table in doc.tables
        ],
        "controls": read_controls(path),
        "control_properties": [
            etree.tostring(el, method="c14n") for el in body.iter(sdt.w("sdtPr"))
        ],
        "sections": sections,
        "core": {
            name: getattr(core, name)
            for name in (
                "author",
                "title",
                "subject",
                "keywords",
                "comments",
                "category",
                "language",
                "last_modified_by",
                "created",
                "modified",
                "revision",
                "identifier",
                "version",
            )
        },
        "app": {etree.QName(el).localname: el.text for el in app},
        "custom": custom,
        "package": _package(path),
    }


def _assert_same_word_form(fast: Path, library: Path, form: FormData) -> dict[str, Any]:
    content = _word_content(fast, form)
    assert content == _word_content(library, form)
    # Not vacuous: what each form must show of its employee is there.
    raw = content["raw"]
    assert raw["token"] == form.token == content["custom"]["musforms_identity"]
    assert raw["form_code"] == form.form_code and raw["application"] == "musforms"
    assert raw["read_by"] == "tags"
    footers = str([s["footer"] for s in content["sections"]])
    assert form.form_code in footers and "@@" not in str(content)
    for name, value in form.prefill.items():
        assert raw["fields"][name] == (value.replace("\r\n", "\n") or None), name
    return content


@pytest.fixture
def awkward(every_type: QuestionSet, key: bytes) -> FormData:
    """An English form for a name outside Latin-1, XML's own characters, a line break from
    Windows, a blank leader and no meeting date, and agreements without owner or date."""
    employee = Employee(
        id="7",
        name="Дмитрий Ωμέγα 山田 Dvořák",
        department='Løn & HR <Øst>\r\nAfd. "2"',
        manager="",
        language="en",
    )
    previous = [
        Agreement(what=DANISH, owner="Şule", due=dt.date(2026, 6, 1)),
        Agreement(what="Ünïcødé ☃ snowman\nsecond line", owner=None, due=None),
        Agreement(what="Tredje — æøå ÆØÅ", owner="Bo", due=None),
    ]
    return make_form_data(every_type, employee, key=key, cycle="2026", previous=previous)


def _hr_word_template(path: Path) -> Path:
    """HR's own Word template: a letterhead paragraph, a first page with its own footer, a
    custom property of its own, and a document root that does not declare the w14 prefix."""
    doc = Document(str(WORD_TEMPLATE))
    doc.add_paragraph("Brevhoved: Ærø Kommune, HR & Løn")
    section = doc.sections[0]
    section.different_first_page_header_footer = True
    section.first_page_footer.paragraphs[0].text = "Første side — fortroligt"
    buf = io.BytesIO()
    doc.save(buf)
    with zipfile.ZipFile(buf) as zf:
        parts = {name: zf.read(name) for name in zf.namelist()}
    w14 = f' xmlns:w14="{sdt.W14_NS}"'.encode()
    document = parts["word/document.xml"]
    assert w14 in document
    parts["word/document.xml"] = document.replace(w14, b"").replace(b'"w14 wp14"', b'"wp14"')
    parts["docProps/custom.xml"] = sdt.custom_properties_xml({"Afdeling": "HR & Løn"})
    parts["[Content_Types].xml"] = parts["[Content_Types].xml"].replace(
        b"</Types>",
        f'<Override PartName="/docProps/custom.xml" ContentType="{sdt.CUSTOM_TYPE}"/>'
        "</Types>".encode(),
    )
    parts["_rels/.rels"] = parts["_rels/.rels"].replace(
        b"</Relationships>",
        f'<Relationship Id="rId99" Type="{sdt.CUSTOM_REL}" Target="docProps/custom.xml"/>'
        "</Relationships>".encode(),
    )
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in parts.items():
            zf.writestr(name, data)
    return path


def test_word_form_same_both_ways(
    form_data: FormData, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every question type, Danish æøå, last year's agreements and an organisation in the
    header: the same fields, identity, text, styles, tables, controls, headers, footers and
    properties from the prepared form as from python-docx alone."""
    fast, library = _word_both(form_data, tmp_path, monkeypatch, Organisation(name="Kommunen"))
    content = _assert_same_word_form(fast, library, form_data)
    assert "Kommunen" in str([s["header"] for s in content["sections"]])
    assert "Søren Ærø" in content["text"] and "Åse Østergård" in content["text"]
    assert "Kursus i Excel" in content["text"]
    assert content["raw"]["fields"]["mf_prev__2__due"] is None


def test_word_checkin_same_both_ways(
    every_type: QuestionSet,
    employee: Employee,
    key: bytes,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A check-in: the form prepared with markers gives what python-docx gives, under the
    check-in's own heading."""
    form = _checkin(every_type, employee, key)
    fast, library = _word_both(form, tmp_path, monkeypatch, Organisation())
    content = _assert_same_word_form(fast, library, form)
    assert "Jeres aftaler fra MUS" in content["text"]
    assert "Opfølgning på sidste års aftaler" not in content["text"]


def test_word_form_same_both_ways_awkward_values(
    awkward: FormData, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """In English, a name outside Latin-1, ``&<>"`` and a CRLF line break in prefilled values,
    blank ones (shown as unfilled) and agreements without owner or date."""
    fast, library = _word_both(awkward, tmp_path, monkeypatch, Organisation())
    content = _assert_same_word_form(fast, library, awkward)
    assert "Дмитрий Ωμέγα 山田 Dvořák" in content["text"]
    # The header table's text, as text_of gives a table: a cell's lines joined by a space.
    assert 'Department\tLøn & HR <Øst> Afd. "2"' in content["text"]
    assert "Follow-up on last year's agreements" in content["text"]
    blank = {c.tag: c.placeholder for c in content["controls"] if c.tag}
    assert blank["mf_manager"] and blank["mf_meeting_date"] and not blank["mf_name"]


def test_word_form_same_both_ways_hr_template(
    every_type: QuestionSet,
    employee: Employee,
    key: bytes,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """HR's own template: its letterhead, first-page footer and custom property stay, the
    form code goes into both footers, w14 is declared for the checkboxes; no agreements."""
    form = make_form_data(every_type, employee, key=key, cycle="2026")
    template = _hr_word_template(tmp_path / "hr.docx")
    fast, library = _word_both(form, tmp_path, monkeypatch, Organisation(name="R&D"), template)
    content = _assert_same_word_form(fast, library, form)
    assert content["custom"]["Afdeling"] == "HR & Løn"
    [section] = content["sections"]
    assert section["first_page"] and form.form_code in str(section["first_footer"])
    assert content["body"][0][1] == "Brevhoved: Ærø Kommune, HR & Løn"
    assert "Follow-up" not in content["text"] and "Opfølgning" not in content["text"]
    assert _xml(library, "word/document.xml").nsmap["w14"] == sdt.W14_NS


@pytest.mark.realclient
@pytest.mark.slow
def test_word_form_filled_in_libreoffice_same_both_ways(
    form_data: FormData, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """LibreOffice fills either form alike: the same answers, exactly those typed, the same
    controls and text in the files it saves, and the same pages when it prints them."""
    from tests.clients.word import convert_to_pdf, fill_libreoffice, stop_libreoffice
    from tests.test_docx_libreoffice import TYPED

    fast, library = _word_both(form_data, tmp_path, monkeypatch, Organisation(name="Kommunen"))
    filled = []
    try:
        for path in (fast, library):
            out = path.with_name(f"{path.stem}-libreoffice.docx")
            fill_libreoffice(path, out, TYPED)
            filled.append(out)
    finally:
        stop_libreoffice()
    contents = []
    for path in filled:
        content = _word_content(path, form_data)
        # LibreOffice stamps its own save time and revision on each.
        for volatile in ("modified", "revision", "last_modified_by"):
            content["core"].pop(volatile)
        content["raw"].pop("saved_at")
        content["app"] = content["app"].get("Application")
        contents.append(content)
    assert contents[0] == contents[1]
    raw = contents[1]["raw"]
    assert raw["token"] == form_data.token and raw["read_by"] == "tags"
    assert raw["application"].startswith("LibreOffice")
    for name, value in TYPED.items():
        assert raw["fields"][name] == value, name
    pages = []
    for path in filled:
        pdf = convert_to_pdf(path, path.parent / "pdf")
        pages.append([page.extract_text() for page in PdfReader(pdf).pages])
    assert pages[0] == pages[1]
    assert "Søren Ærø" in " ".join(pages[1])


# --- minutes ---------------------------------------------------------------------------------


def _hr_template(path: Path) -> Path:
    """HR's own template: loops over paragraphs and table rows, a header, a footer and a
    document property with tags."""
    doc = Document()
    doc.add_paragraph("Referat for {{ employee.name }} – {{ organisation }}")
    doc.add_paragraph("{%p for a in agreements %}")
    doc.add_paragraph("{{ a.number }}. {{ a.what }} ({{ a.owner }}, {{ a.due }})")
    doc.add_paragraph("{%p endfor %}")
    table = doc.add_table(rows=3, cols=2)
    table.cell(0, 0).text = "{%tr for a in previous_agreements %}"
    table.cell(1, 0).text = "{{ a.what }}"
    table.cell(1, 1).text = "{{ a.status }}: {{ a.comment }}"
    table.cell(2, 0).text = "{%tr endfor %}"
    doc.sections[0].header.paragraphs[0].text = "{{ employee.name }} ({{ form_code }})"
    doc.sections[0].footer.paragraphs[0].text = "{{ labels.confidential }} {{ today }}"
    doc.core_properties.title = "{{ title }} – {{ employee.name }}"
    doc.core_properties.subject = "{{ cycle }}"
    doc.save(str(path))
    return path


def _docx_content(path: Path) -> dict[str, Any]:
    """What a reader of the draft sees: paragraphs with their styles and line breaks, tables
    cell by cell, headers and footers, and the document properties."""
    doc = Document(str(path))

    def paragraphs(container: Any) -> list[tuple[str, str]]:
        return [(p.style.name if p.style is not None else "", p.text) for p in container]

    core = doc.core_properties
    return {
        "body": paragraphs(doc.paragraphs),
        "tables": [
            [[paragraphs(cell.paragraphs) for cell in row.cells] for row in table.rows]
            for table in doc.tables
        ],
        "headers": [paragraphs(s.header.paragraphs) for s in doc.sections],
        "footers": [paragraphs(s.footer.paragraphs) for s in doc.sections],
        "properties": {
            name: getattr(core, name)
            for name in ("author", "title", "subject", "keywords", "comments", "language")
        },
        "breaks": [
            len(p._p.xpath(".//w:br")) + len(p._p.xpath(".//w:tab")) for p in doc.paragraphs
        ],
    }


def _draft_both_ways(
    tmp_path: Path,
    items: list[Response],
    sets: QuestionSets,
    template: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> list[tuple[Path, Path]]:
    """Each response's draft by the compiled template and by docxtpl alone."""
    folders = {}
    for fast in (True, False):
        folder = tmp_path / ("fast" if fast else "library")
        with monkeypatch.context() as m:
            m.setenv(fastpath.ENV, "1" if fast else "0")
            if not fast:
                # Proof the library path ran: the compiled template is never used.
                m.setattr(minutes, "_compiled", _never)
            count = write_minutes(
                folder, items, sets, Organisation(name="R&D"), template=template, today=TODAY
            )
        assert count == len(items)
        folders[fast] = folder
    return [(folders[True] / minutes_name(r), folders[False] / minutes_name(r)) for r in items]


def _never(template: bytes) -> None:
    raise AssertionError("the compiled template ran with the fast paths off")


@pytest.fixture
def sample(every_type: QuestionSet) -> list[Response]:
    items = responses(every_type)
    tabbed = items[0].model_copy(
        update={
            "employee": items[0].employee.model_copy(update={"id": "1099"}),
            "answers": {**items[0].answers, "titel": "Kolonne\tto\fNy side\x07Afsnit"},
        }
    )
    return [*items, tabbed]


@pytest.fixture
def sets(every_type: QuestionSet) -> QuestionSets:
    found = QuestionSets()
    found.add(every_type)
    return found


@pytest.mark.parametrize("which", ["built-in", "hr"])
def test_minutes_same_both_ways(
    which: str,
    tmp_path: Path,
    sample: list[Response],
    sets: QuestionSets,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The built-in template and HR's own give the same drafts, paragraph by paragraph and
    cell by cell, from the compiled template as from docxtpl's render and save."""
    template = DEFAULT_TEMPLATE if which == "built-in" else _hr_template(tmp_path / "hr.docx")
    pairs = _draft_both_ways(tmp_path, sample, sets, template, monkeypatch)
    for fast, library in pairs:
        assert _docx_content(fast) == _docx_content(library), fast.name
    # Not vacuous: the drafts hold the employee and their agreements.
    content = str(_docx_content(pairs[0][1]))
    assert "Søren Ærø" in content and "Kursus i Excel & <Power BI>" in content


@pytest.mark.realclient
@pytest.mark.slow
def test_minutes_open_alike_in_libreoffice(
    tmp_path: Path, sample: list[Response], sets: QuestionSets, monkeypatch: pytest.MonkeyPatch
) -> None:
    """LibreOffice opens both drafts and prints the same text from each."""
    from tests.clients.word import convert_to_pdf

    [(fast, library)] = _draft_both_ways(tmp_path, sample[:1], sets, DEFAULT_TEMPLATE, monkeypatch)
    texts = []
    for path in (fast, library):
        pdf = convert_to_pdf(path, path.parent / "pdf")
        texts.append([page.extract_text() for page in PdfReader(pdf).pages])
    assert texts[0] == texts[1]
    assert "Søren Ærø (1042)" in " ".join(" ".join(texts[1]).split())


# --- the follow-up workbook --------------------------------------------------------------------

_WORKBOOK_TIMES = re.compile(
    rb"<dcterms:(created|modified)[^>]*>[^<]*</dcterms:(created|modified)>"
)


def _workbook_parts(path: Path) -> tuple[list[str], dict[str, bytes]]:
    """A workbook's parts in order, each byte for byte but for the time it was written."""
    with zipfile.ZipFile(path) as z:
        names = z.namelist()
        return names, {n: _WORKBOOK_TIMES.sub(b"", z.read(n)) for n in names}


def _agreement(n: int, **changes: Any) -> AgreementRow:
    row = AgreementRow(
        employee_id=f"{1000 + n}", name="Søren Ærø", department="Økonomi", leader="Åse Bøgh",
        what=f"Aftale {n}", owner="Søren", due=dt.date(2027, 3, 1), status="not_started",
        previous=False, comment="", form_id=f"F-{n}", number=n, cycle="2026",
        meeting_date=dt.date(2027, 1, 20),
    )  # fmt: skip
    return dataclasses.replace(row, **changes)


_AWKWARD_ROWS = [
    _agreement(1, due=None, due_typed="i foråret", what='Kursus i Excel & <Power BI> ]]> "x"'),
    _agreement(2, what='=HYPERLINK("http://x.dk","klik")', owner="+45 1234", comment="-klaret"),
    _agreement(3, what="  mellem\trum  ", comment="Linje 1\nlinje 2\r", department=""),
    _agreement(4, what="😀 ℵ Ω ЖЖ مرحبا", owner="@Ida", due=dt.date(1900, 1, 1), previous=True),
    _agreement(5, due=None, status="done", basis="proposed", comment=" ", department="IT"),
    _agreement(6, what=DANISH, due=dt.date(1900, 3, 1), status="in_progress", leader=""),
]


def _workbooks_both_ways(
    tmp_path: Path, rows: list[AgreementRow], by_department: bool, monkeypatch: pytest.MonkeyPatch
) -> tuple[Path, Path]:
    """agreements.xlsx with its rows by hand and by openpyxl's cells alone."""
    paths = []
    for fast in (True, False):
        path = tmp_path / ("fast" if fast else "library") / "agreements.xlsx"
        with monkeypatch.context() as m:
            m.setenv(fastpath.ENV, "1" if fast else "0")
            # Proof of the path taken: by hand, openpyxl never writes the rows; with the
            # switch off, no row is written by hand.
            m.setattr(followup, "_write_xlsx_library" if fast else "_row_xml", _not_this_way)
            followup.write_xlsx(path, rows, "da", by_department=by_department)
        paths.append(path)
    return paths[0], paths[1]


def _not_this_way(*args: object) -> None:
    raise AssertionError("the follow-up workbook was written the other way")


@pytest.mark.parametrize("by_department", [False, True])
@pytest.mark.parametrize(
    "rows",
    [
        _AWKWARD_ROWS,
        _AWKWARD_ROWS[1:],  # the first row with a date: its format numbered first
        _AWKWARD_ROWS[4:],  # no date until the second row
        [_agreement(1, due=None)],  # no date at all
        [],  # no agreement
    ],
    ids=["awkward", "dated-first", "dated-later", "undated", "empty"],
)
def test_followup_workbook_same_both_ways(
    rows: list[AgreementRow], by_department: bool, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """agreements.xlsx with its rows written by hand is the workbook openpyxl's cells make,
    every part byte for byte (but the time it was written), in the same order."""
    fast, library = _workbooks_both_ways(tmp_path, rows, by_department, monkeypatch)
    assert _workbook_parts(fast) == _workbook_parts(library)
    if rows:
        sheet = _workbook_parts(library)[1]["xl/worksheets/sheet1.xml"]
        assert b'<row r="2">' in sheet  # not vacuous: the rows are there


@pytest.mark.parametrize(
    "odd",
    ["#N/A", "x" * 40_000, "=1+1", "kontrol\x07tegn", "halv \ud800 surrogat"],
    ids=["error-code", "too-long", "formula", "control", "surrogate"],
)
def test_followup_workbook_leaves_odd_texts_to_openpyxl(
    odd: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A text the hand-written rows do not write (an error code, one longer than a cell
    holds, a formula, a character openpyxl refuses or XML cannot hold) leaves the whole
    workbook to openpyxl: the same workbook, or the same error."""
    rows = [_agreement(1), _agreement(2, comment=odd)]
    outcomes = []
    for fast in (True, False):
        path = tmp_path / ("fast" if fast else "library") / "agreements.xlsx"
        with monkeypatch.context() as m:
            m.setenv(fastpath.ENV, "1" if fast else "0")
            try:
                followup.write_xlsx(path, rows, "da")
            except Exception as exc:  # compared: the same error both ways
                outcomes.append(type(exc).__name__)
                assert not path.exists()
                continue
        outcomes.append(_workbook_parts(path))
    assert outcomes[0] == outcomes[1]


# --- responses.json ------------------------------------------------------------------------------


def test_responses_json_same_both_ways(
    tmp_path: Path, sample: list[Response], monkeypatch: pytest.MonkeyPatch
) -> None:
    """responses.json from the response files' texts as collect made them is the file the
    responses read into models and written out again give, byte for byte."""
    from musforms.results import RESPONSES_JSON, response_path, write_responses_json

    odd = sample[0].model_copy(
        update={
            "employee": sample[0].employee.model_copy(update={"id": "1100", "name": 'Å "\\ 😀'}),
            "answers": {**sample[0].answers, "titel": "a\u2028b\x1f\x7f\tc\r\n</script>"},
        }
    )
    items = [*sample, odd]
    out = tmp_path / "results"
    for response in items:
        path = response_path(out, response.employee.id)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(response.to_json(), encoding="utf-8")
    ids = [r.employee.id for r in items]
    texts = []
    for fast in (True, False):
        asked: list[str] = []

        def as_made(eid: str, asked: list[str] = asked) -> bool:
            asked.append(eid)
            return True

        with monkeypatch.context() as m:
            m.setenv(fastpath.ENV, "1" if fast else "0")
            write_responses_json(out, ids, as_made=as_made)
        assert asked == (ids if fast else [])  # the texts were taken as they are, or not
        texts.append((out / RESPONSES_JSON).read_bytes())
    assert texts[0] == texts[1]
    assert json.loads(texts[1])[-1]["answers"]["titel"] == "a\u2028b\x1f\x7f\tc\r\n</script>"


# --- a form's entry in manifest.json ------------------------------------------------------------


def test_manifest_entry_same_both_ways(monkeypatch: pytest.MonkeyPatch) -> None:
    """A form's entry in manifest.json written by hand is the text json.dumps gives, for
    awkward names and empty lists too; a value with a number or a null in it is left to
    json.dumps, and comes out the same."""
    from musforms.manifest import ManifestForm, _indented, _NotPlain, _plain_json, form_entry

    odd = 'Å "\\ 😀 a\u2028b\x1f\x7f\tc\r\n</script> \ud800'
    form = ManifestForm(
        form_id="MF-1",
        employee_id=odd,
        files={"docx": f"{odd}.docx", "": ""},
        employee=Employee(id=odd, name=odd, meeting_date=dt.date(2027, 1, 14)),
        question_set_digest="sha256:ab",
        language="da",
        previous_agreements=[Agreement(what=odd, due=dt.date(2026, 3, 1)), Agreement(what="")],
    )
    values: list[object] = [
        form.model_dump(mode="json", by_alias=True, exclude_none=True),
        {"tal": 1, "liste": [1.5, None, True, "x"], "tom": {}, "": []},
        [],
        odd,
    ]
    texts = []
    for fast in (True, False):
        with monkeypatch.context() as m:
            m.setenv(fastpath.ENV, "1" if fast else "0")
            texts.append(
                [form_entry(form)] + [_indented(v, level) for v in values for level in (0, 2)]
            )
    assert texts[0] == texts[1]
    assert json.loads(texts[0][0]) == values[0]
    with pytest.raises(_NotPlain):
        _plain_json(values[1], "")
