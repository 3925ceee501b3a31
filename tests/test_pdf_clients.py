"""Generated PDF forms filled by real engines (pdf.js, PDFium, poppler) read back exactly."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from musforms.formdata import make_form_data
from musforms.models import Employee, FormData, QuestionSet
from musforms.pdf.reader import read_pdf
from musforms.pdf.writer import write_pdf
from tests.clients.pdf import FILLERS, Values
from tests.conftest import DANISH, EVERY_TYPE, LONG, MULTILINE

pytestmark = pytest.mark.realclient

CLIENTS = sorted(FILLERS)

# Every question type, with awkward Danish text in every kind of text field.
ANSWERS: Values = {
    "lykkedes": MULTILINE,
    "titel": DANISH,
    "arbejdsmaengde": "4",
    "fokus": "personlig",
    "fokus_flere__faglig": True,
    "fokus_flere__samarbejde": False,
    "fokus_flere__balance": True,
    "kursus": True,
    "startdato": "15-01-2027",
    "aftaler__1__what": LONG,
    "aftaler__1__owner": "Søren (og Åse)",
    "aftaler__1__due": "1/3 2027",
    "aftaler__2__what": 'Opfølgning på "trivsel" \\ C:\\mapper',
    "prev_status__1": "done",
    "prev_status__2": "dropped",
    "prev_comment__1": "Gennemført i juni.\n\nGik godt.",
    "prev_comment__2": "Ikke relevant (ny stilling)",
}


@pytest.fixture
def form_pdf(form_data: FormData, tmp_path: Path) -> Path:
    path = tmp_path / "form.pdf"
    write_pdf(form_data, path)
    return path


@pytest.mark.parametrize("client", CLIENTS)
def test_filled_form_reads_back_exactly(client: str, form_pdf: Path, tmp_path: Path) -> None:
    """Whatever a real engine typed into every question type is exactly what read_pdf returns."""
    filled = tmp_path / f"filled-{client}.pdf"
    FILLERS[client](form_pdf, filled, ANSWERS)
    raw = read_pdf(filled)
    for name, value in ANSWERS.items():
        assert raw.fields.get(name) == value, f"{client}: {name}"
    # Untouched fields stay unanswered; the identity and the prefill survive the save.
    assert raw.fields["aftaler__3__what"] is None
    assert raw.fields["fokus_flere__samarbejde"] is False
    original = read_pdf(form_pdf)
    assert raw.token == original.token
    for name, value in original.fields.items():
        if name.startswith("mf_"):
            assert raw.fields[name] == value, f"{client} changed {name}"


@pytest.mark.parametrize("client", CLIENTS)
def test_drop_down_choice(client: str, key: bytes, employee: Employee, tmp_path: Path) -> None:
    """A choice with many options is a drop-down; each engine's pick reads back as its option id."""
    data = dict(EVERY_TYPE)
    many = {
        "id": "omraade",
        "type": "choice",
        "label": {"da": "Hvilket område?"},
        "options": [{"id": f"o{i}", "label": {"da": f"Område {i} (æøå)"}} for i in range(1, 9)],
    }
    data["sections"] = [{"id": "s", "title": {"da": "Valg"}, "questions": [many]}]
    qs = QuestionSet.model_validate(data)
    form = make_form_data(qs, employee, key=key, cycle="2026")
    src, filled = tmp_path / "form.pdf", tmp_path / "filled.pdf"
    write_pdf(form, src)
    assert read_pdf(src).fields["omraade"] is None
    FILLERS[client](src, filled, {"omraade": "o7"})
    assert read_pdf(filled).fields["omraade"] == "o7"


def _text_of_flattened(pdf: Path, tmp_path: Path) -> str:
    """Print the filled form to a new PDF (poppler draws the widgets' appearances), then
    extract the text a reader of the printout would see."""
    flat = tmp_path / "printed.pdf"
    subprocess.run(["pdftocairo", "-pdf", str(pdf), str(flat)], check=True, capture_output=True)
    text = subprocess.run(
        ["pdftotext", str(flat), "-"], check=True, capture_output=True, text=True
    ).stdout
    # Appearance streams kern letter by letter, so extracted words may split: compare
    # without white space.
    return "".join(text.split())


@pytest.mark.parametrize("client", CLIENTS)
def test_typed_text_is_visible(client: str, form_pdf: Path, tmp_path: Path) -> None:
    """Each engine saves an appearance for what was typed, so a printout shows the answer."""
    before = _text_of_flattened(form_pdf, tmp_path)
    answer = "Kursus i projektledelse på Ærø"
    assert "".join(answer.split()) not in before
    filled = tmp_path / "filled.pdf"
    FILLERS[client](form_pdf, filled, {"titel": answer, "aftaler__1__owner": "Åse"})
    after = _text_of_flattened(filled, tmp_path)
    assert "".join(answer.split()) in after


def test_rendered_pixels_change_where_typed(form_pdf: Path, tmp_path: Path) -> None:
    """PDFium with its form environment draws typed text inside the answer box."""
    import pypdfium2 as pdfium

    def box_ink(path: Path) -> int:
        pdf = pdfium.PdfDocument(path)
        pdf.init_forms()
        page = pdf[0]
        image = page.render(scale=1, may_draw_forms=True).to_pil().convert("L")
        # The "lykkedes" answer box, from the widget's rectangle (PDF y runs upwards).
        from pypdf import PdfReader

        annot = next(
            a.get_object()
            for a in PdfReader(path).pages[0]["/Annots"]
            if a.get_object().get("/T") == "lykkedes"
        )
        x0, y0, x1, y1 = (float(v) for v in annot["/Rect"])
        height = page.get_height()
        crop = image.crop((int(x0) + 3, int(height - y1) + 3, int(x1) - 3, int(height - y0) - 3))
        pdf.close()
        return sum(crop.histogram()[:128])  # dark pixels

    filled = tmp_path / "filled.pdf"
    FILLERS["pdfium"](form_pdf, filled, {"lykkedes": MULTILINE})
    assert box_ink(form_pdf) == 0
    assert box_ink(filled) > 200
