"""The generated PDF form: valid structure, the agreed field names, any name renders."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from pypdf import PdfReader

from musforms import fieldnames as fn
from musforms.formdata import make_form_data
from musforms.models import Employee, FormData, Organisation, QuestionSet
from musforms.pdf.reader import read_pdf
from musforms.pdf.writer import PdfFormWriter, write_pdf


@pytest.fixture
def form_pdf(form_data: FormData, tmp_path: Path) -> Path:
    path = tmp_path / "form.pdf"
    write_pdf(form_data, path)
    return path


def _pdftotext(path: Path) -> str:
    return subprocess.run(
        ["pdftotext", str(path), "-"], check=True, capture_output=True, text=True
    ).stdout


def test_qpdf_check_passes(form_pdf: Path) -> None:
    """qpdf finds no structural error in a generated form."""
    result = subprocess.run(["qpdf", "--check", str(form_pdf)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "No syntax or stream encoding errors" in result.stdout


def test_written_privately(form_pdf: Path) -> None:
    """write_pdf leaves a file only its owner can read."""
    assert form_pdf.stat().st_mode & 0o777 == 0o600


def test_field_names_and_kinds(form_pdf: Path, form_data: FormData) -> None:
    """Every field fieldnames promises is there with the right kind; nothing else but mf_."""
    fields = PdfReader(form_pdf).get_fields() or {}
    expected = {f.name: f for f in fn.all_fields(form_data.question_set)}
    for row in range(1, len(form_data.previous_agreements) + 1):
        expected[fn.previous_status_field(row)] = fn.FieldSpec(
            fn.previous_status_field(row),
            "",
            "radio",
            choices=("done", "in_progress", "not_started", "dropped"),
        )
        expected[fn.previous_comment_field(row)] = fn.FieldSpec(
            fn.previous_comment_field(row), "", "multiline"
        )
    reserved = {fn.IDENTITY, *form_data.prefill}
    assert set(fields) == set(expected) | reserved
    for name, spec in expected.items():
        field = fields[name]
        flags = int(field.get("/Ff", 0))
        if spec.kind in ("text", "multiline", "date"):
            assert field["/FT"] == "/Tx", name
            assert bool(flags & (1 << 12)) == (spec.kind == "multiline"), name
            assert "/MaxLen" not in field, f"{name} must not cap answers"
        elif spec.kind == "checkbox":
            assert field["/FT"] == "/Btn" and not flags & (1 << 15), name
        else:
            assert field["/FT"] == "/Btn" and flags & (1 << 15), name
            states = set(field.get("/_States_", [])) - {"/Off"}
            assert states == {f"/{c}" for c in spec.choices}, name
        assert not flags & 1, f"{name} must be editable"
        assert not flags & 2, f"{name} must not be flagged required (viewers nag)"
    for name in reserved:
        assert int(fields[name].get("/Ff", 0)) & 1, f"{name} must be read-only"


def test_every_widget_has_an_appearance(form_pdf: Path) -> None:
    """No widget relies on NeedAppearances: each ships /AP, and the form does not ask for it."""
    reader = PdfReader(form_pdf)
    assert "/NeedAppearances" not in reader.trailer["/Root"]["/AcroForm"]
    count = 0
    for page in reader.pages:
        for ref in page["/Annots"]:
            annot = ref.get_object()
            assert "/AP" in annot, annot.get("/T")
            count += 1
    assert count > 40


def test_names_outside_winansi_render_and_read_back(
    every_type: QuestionSet, key: bytes, tmp_path: Path
) -> None:
    """Names like Dvořák and Łukasz appear on the page and come back exactly from the fields."""
    employee = Employee(
        id="7",
        name="Zoë Ñúñez Dvořák",
        department="Łódź – Øst",
        manager="Łukasz Ćwik",
        language="da",
    )
    form = make_form_data(every_type, employee, key=key, cycle="2026")
    path = tmp_path / "unicode.pdf"
    write_pdf(form, path)
    text = _pdftotext(path)
    for value in ("Zoë Ñúñez Dvořák", "Łódź – Øst", "Łukasz Ćwik"):
        assert value in text
    raw = read_pdf(path)
    assert raw.fields[fn.PREFILL_NAME] == "Zoë Ñúñez Dvořák"
    assert raw.fields[fn.PREFILL_DEPARTMENT] == "Łódź – Øst"
    assert raw.fields[fn.PREFILL_MANAGER] == "Łukasz Ćwik"
    assert raw.token == form.token


def test_page_text_header_footer_and_previous(form_pdf: Path, form_data: FormData) -> None:
    """The header shows the employee; every page shows its number and the form code;
    last year's agreements are listed for follow-up; questions are numbered 1…n."""
    reader = PdfReader(form_pdf)
    pages = [page.extract_text() for page in reader.pages]
    assert len(pages) >= 2
    for number, text in enumerate(pages, start=1):
        assert f"Side {number} af {len(pages)}" in text
        assert f"Formkode {form_data.form_code}" in text
    first = pages[0]
    for value in ("Søren Ærø", "Økonomi", "Åse Østergård", "14-01-2027", "Forberedelse til MUS"):
        assert value in first
    assert "Opfølgning på sidste års aftaler" in first
    assert "Kursus i Excel" in first and "Mentorordning" in first
    everything = "\n".join(pages)
    assert "skal udfyldes" in everything and "dd-mm-åååå" in everything
    count = len(form_data.question_set.questions())
    assert f"{count}. Forslag til aftaler" in everything.replace("\n", " ")


def test_identity_in_metadata(form_pdf: Path, form_data: FormData) -> None:
    """The signed token is in the document information too, not only in the hidden field."""
    info = PdfReader(form_pdf).metadata
    assert info is not None
    assert info["/MusformsIdentity"] == form_data.token
    assert form_data.employee.name in str(info["/Title"])


def test_english_form(every_type: QuestionSet, employee: Employee, key: bytes) -> None:
    """lang=en gives English fixed texts and labels."""
    form = make_form_data(
        every_type, employee.model_copy(update={"language": "en"}), key=key, cycle="2026"
    )
    writer = PdfFormWriter(every_type, "en", Organisation(name="Acme"))
    data = writer.render(form)
    from io import BytesIO

    text = "\n".join(p.extract_text() for p in PdfReader(BytesIO(data)).pages)
    assert "Preparing for your development conversation" in text
    assert "Page 1 of" in text and "Form code" in text and "What went well?" in text


def test_one_writer_many_employees(
    every_type: QuestionSet, employee: Employee, key: bytes, tmp_path: Path
) -> None:
    """A writer prepared once renders different employees, each with their own identity."""
    writer = PdfFormWriter(every_type, "da", Organisation())
    tokens = set()
    for n in range(3):
        emp = employee.model_copy(update={"id": str(n), "name": f"Medarbejder {n}"})
        form = make_form_data(every_type, emp, key=key, cycle="2026")
        path = tmp_path / f"{n}.pdf"
        path.write_bytes(writer.render(form))
        raw = read_pdf(path)
        assert raw.fields[fn.PREFILL_NAME] == f"Medarbejder {n}"
        tokens.add(raw.token)
    assert len(tokens) == 3


def _field_with(value: str, path: Path, multiline: bool = True) -> tuple[float, float]:
    """A page with one 465 × 112 pt text field holding ``value`` in musforms' own appearance;
    returns the field's lower left corner."""
    import io

    from reportlab.pdfgen.canvas import Canvas

    from musforms import texts
    from musforms.pdf.writer import text_field

    buf = io.BytesIO()
    c = Canvas(buf, pagesize=(600, 300))
    text_field(
        c, "svar", "Svar", 60, 100, 465, 112, multiline, value, texts.t("answer_continues", "da")
    )
    c.showPage()
    c.save()
    path.write_bytes(buf.getvalue())
    return 60, 100


def _flat_text_in(path: Path, x: float, y: float, w: float, h: float) -> str:
    """The field flattened by qpdf, then what pdftotext finds inside its box (no spaces)."""
    flat = path.with_name(f"flat-{path.name}")
    subprocess.run(["qpdf", "--flatten-annotations=all", str(path), str(flat)], check=True)
    crop = ["-x", str(int(x)), "-y", str(int(300 - y - h)), "-W", str(int(w)), "-H", str(int(h))]
    out = subprocess.run(["pdftotext", *crop, str(flat), "-"], check=True, capture_output=True)
    return "".join(out.stdout.decode("utf-8").split())


def _numbered(length: int) -> list[str]:
    words: list[str] = []
    while len(" ".join(words)) < length:
        words.append(f"trivsel{len(words)}æø")
    return words


@pytest.mark.parametrize("length", [40, 1000, 2000])
def test_own_appearance_shrinks_a_long_value_to_fit(length: int, tmp_path: Path) -> None:
    """A value musforms sets itself is drawn whole, in the field font, shrunk as far as
    needed but never below 6 pt: up to 2,000 characters fit a textarea's box."""
    from musforms.pdf.writer import MIN_FIELD_SIZE, field_layout

    words = _numbered(length)
    value = " ".join(words)
    size, _lines, cut = field_layout(value, 465, 112, True, "…")
    assert not cut and MIN_FIELD_SIZE <= size <= 10
    assert (size == 10) == (length == 40)
    path = tmp_path / "field.pdf"
    x, y = _field_with(value, path)
    text = _flat_text_in(path, x, y, 465, 112)
    assert all(word in text for word in words), "a word is missing from the box"


def test_own_appearance_says_the_answer_continues(tmp_path: Path) -> None:
    """Past what fits at the smallest size, the box shows the first lines and then says the
    answer goes on and the minutes hold it whole."""
    words = _numbered(4000)
    path = tmp_path / "field.pdf"
    x, y = _field_with(" ".join(words), path)
    text = _flat_text_in(path, x, y, 465, 112)
    assert words[0] in text and words[100] in text
    assert words[-1] not in text
    assert "svaretfortsætter–helesvaretstårireferatet" in text


def test_own_appearance_of_every_script(tmp_path: Path) -> None:
    """musforms draws Polish, Greek, Cyrillic and Hebrew values with the field font."""
    value = "Zażółć gęślą jaźń Ωμέγα Жёлтый İstanbul"
    path = tmp_path / "field.pdf"
    x, y = _field_with(value, path, multiline=False)
    assert "".join(value.split()) in _flat_text_in(path, x, y, 465, 112)
