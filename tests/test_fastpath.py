"""Every hand-written fast path against its library twin (``MUSFORMS_FAST_PATHS=0``).

The PDF form personalised from a pre-rendered template against the form reportlab's canvas
renders on its own; the minutes draft from the compiled template against docxtpl's own render
and save. Each pair is compared by what can be read from it — field values and dictionaries,
appearance streams, page text and its position, rendered pixels, Word paragraphs, tables,
headers, footers and properties — never by the files' bytes. ``make test`` also runs every
real-client test again with the switch off.
"""

from __future__ import annotations

import datetime as dt
import subprocess
from pathlib import Path
from typing import Any

import pytest
from docx import Document
from pypdf import PdfReader
from pypdf.generic import ArrayObject, DictionaryObject, IndirectObject, StreamObject

from musforms import fastpath
from musforms.errors import ConfigError
from musforms.formdata import make_form_data
from musforms.models import Agreement, Employee, FormData, Organisation, QuestionSet
from musforms.outputs import minutes
from musforms.outputs.minutes import DEFAULT_TEMPLATE, minutes_name, write_minutes
from musforms.outputs.views import QuestionSets
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
