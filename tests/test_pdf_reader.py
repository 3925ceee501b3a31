"""read_pdf on what comes back in practice: rewritten forms, printouts, strangers, damage."""

from __future__ import annotations

import io
import subprocess
from pathlib import Path

import pytest
from pypdf import PdfReader, PdfWriter
from pypdf.generic import ArrayObject, DictionaryObject, NameObject, TextStringObject
from reportlab.pdfgen.canvas import Canvas

from musforms.errors import FormReadError, NotMusformsError
from musforms.formats import Issued
from musforms.limits import Limits
from musforms.models import FormData, RawForm
from musforms.pdf.reader import read_pdf
from musforms.pdf.writer import write_pdf
from tests.clients import hostile
from tests.clients.pdf import fill_pdfium, fill_poppler
from tests.conftest import DANISH, MULTILINE


@pytest.fixture
def form_pdf(form_data: FormData, tmp_path: Path) -> Path:
    path = tmp_path / "form.pdf"
    write_pdf(form_data, path)
    return path


def _widgets(writer: PdfWriter) -> list[DictionaryObject]:
    out = []
    for page in writer.pages:
        for ref in page.get("/Annots", []):
            out.append(ref.get_object())
    return out


def _field(writer: PdfWriter, name: str) -> DictionaryObject:
    return next(w for w in _widgets(writer) if w.get("/T") == name)


def _radio_kid(writer: PdfWriter, group: str, state: str) -> DictionaryObject:
    for w in _widgets(writer):
        parent = w.get("/Parent")
        if (
            parent is not None
            and parent.get_object().get("/T") == group
            and NameObject("/" + state) in w["/AP"]["/N"]
        ):
            return w
    raise AssertionError(f"no kid {state} in {group}")


def test_fresh_form_has_identity_and_empty_answers(form_pdf: Path, form_data: FormData) -> None:
    """An untouched form yields its token, every field (None/False) and the prefill."""
    raw = read_pdf(form_pdf)
    assert raw.format == "pdf" and raw.read_by == "fields"
    assert raw.token == form_data.token
    assert raw.fields["mf_identity"] == form_data.token
    for name, value in form_data.prefill.items():
        assert raw.fields[name] == (value or None)
    assert raw.fields["lykkedes"] is None
    assert raw.fields["kursus"] is False
    assert raw.fields["arbejdsmaengde"] is None
    assert raw.saved_at is None  # never re-saved: its dates are the generation time
    assert raw.application and "ReportLab" in raw.application


def test_detached_radio_kid_with_only_as(form_pdf: Path, tmp_path: Path) -> None:
    """A chosen radio kid whose parent lost /V (and the kid itself lost from /Kids and
    /AcroForm/Fields, as Preview leaves it) still gives the chosen value from /AS."""
    writer = PdfWriter(clone_from=form_pdf)
    kid = _radio_kid(writer, "arbejdsmaengde", "3")
    kid[NameObject("/AS")] = NameObject("/3")
    parent = kid["/Parent"].get_object()
    parent.pop("/V", None)
    parent[NameObject("/Kids")] = ArrayObject(
        k for k in parent["/Kids"] if k.get_object() is not kid
    )
    acro = writer._root_object["/AcroForm"]
    acro[NameObject("/Fields")] = ArrayObject(acro["/Fields"][:3])
    out = tmp_path / "preview.pdf"
    writer.write(out)
    raw = read_pdf(out)
    assert raw.fields["arbejdsmaengde"] == "3"
    assert raw.fields["lykkedes"] is None  # found by walking the page, not /Fields
    assert "titel" in raw.fields


def test_as_wins_over_stale_v(form_pdf: Path, tmp_path: Path) -> None:
    """When /V and /AS disagree, the state the viewer shows (/AS) is the answer."""
    writer = PdfWriter(clone_from=form_pdf)
    kid = _radio_kid(writer, "fokus", "ledelse")
    kid[NameObject("/AS")] = NameObject("/ledelse")
    kid["/Parent"].get_object()[NameObject("/V")] = NameObject("/faglig")
    box = _field(writer, "kursus")
    box[NameObject("/V")] = NameObject("/Yes")
    box[NameObject("/AS")] = NameObject("/Off")
    out = tmp_path / "stale.pdf"
    writer.write(out)
    raw = read_pdf(out)
    assert raw.fields["fokus"] == "ledelse"
    assert raw.fields["kursus"] is False


def test_line_breaks_and_encodings(form_pdf: Path, tmp_path: Path) -> None:
    """CRLF and CR become LF; UTF-16BE and PDFDocEncoding strings decode to the same text."""
    writer = PdfWriter(clone_from=form_pdf)
    _field(writer, "lykkedes")[NameObject("/V")] = TextStringObject("a\r\nb\rc\n\nd")
    utf16 = TextStringObject("Dvořák – Łukasz")
    utf16.autodetect_utf16 = True
    _field(writer, "titel")[NameObject("/V")] = utf16
    _field(writer, "startdato")[NameObject("/V")] = TextStringObject("Ærø ÆØÅ")
    out = tmp_path / "enc.pdf"
    writer.write(out)
    data = out.read_bytes()
    assert b"\\376\\377\\000D" in data or b"\xfe\xff\x00D" in data  # the UTF-16BE BOM
    raw = read_pdf(out)
    assert raw.fields["lykkedes"] == "a\nb\nc\n\nd"
    assert raw.fields["titel"] == "Dvořák – Łukasz"
    assert raw.fields["startdato"] == "Ærø ÆØÅ"


def test_incremental_update_wins(form_pdf: Path, tmp_path: Path) -> None:
    """A form saved twice as incremental updates reads as its last save."""
    first = tmp_path / "first.pdf"
    fill_pdfium(form_pdf, first, {"titel": "Første udgave", "kursus": True})
    second = tmp_path / "second.pdf"
    fill_pdfium(first, second, {"titel": DANISH, "kursus": False})
    assert second.read_bytes().count(b"%%EOF") >= 3
    raw = read_pdf(second)
    assert raw.fields["titel"] == DANISH
    assert raw.fields["kursus"] is False


def test_identity_from_metadata_when_field_is_gone(form_pdf: Path, tmp_path: Path) -> None:
    """A file that lost the mf_identity field still carries the token in its metadata."""
    token = read_pdf(form_pdf).token
    writer = PdfWriter(clone_from=form_pdf)
    _field(writer, "mf_identity")[NameObject("/T")] = TextStringObject("renamed")
    out = tmp_path / "renamed.pdf"
    writer.write(out)
    assert read_pdf(out).token == token


def test_printed_form_yields_form_code_and_text_answers(
    form_pdf: Path, form_data: FormData, tmp_path: Path
) -> None:
    """A filled form printed to PDF has no fields left; the form code and the text answers
    that follow their labels are recovered from the page, with a note."""
    filled = tmp_path / "filled.pdf"
    typed = {"titel": "Økonomimedarbejder", "lykkedes": MULTILINE, "startdato": "15-01-2027"}
    fill_poppler(form_pdf, filled, typed)
    printed = tmp_path / "printed.pdf"
    subprocess.run(["pdftocairo", "-pdf", str(filled), str(printed)], check=True)
    assert not PdfReader(printed).get_fields()

    asked: list[RawForm] = []

    def resolve(raw: RawForm) -> Issued:
        asked.append(raw)
        return Issued(form_data.question_set, None, None)

    raw = read_pdf(printed, resolve)
    assert raw.read_by == "layout"
    assert raw.form_code == form_data.form_code
    assert raw.token is None
    assert asked and asked[0].form_code == form_data.form_code
    assert raw.fields["titel"] == "Økonomimedarbejder"
    assert raw.fields["startdato"] == "15-01-2027"
    # Printed glyphs are placed one by one; a multi-line answer keeps its lines and blank
    # line, though an extra space may creep in between letters.
    recovered = raw.fields["lykkedes"]
    assert isinstance(recovered, str) and recovered.count("\n") == MULTILINE.count("\n")
    assert "".join(recovered.split()) == "".join(MULTILINE.split())
    assert raw.notes
    without = read_pdf(printed)
    assert without.form_code == form_data.form_code and "titel" not in without.fields


def _plain_pdf(text: str) -> bytes:
    buf = io.BytesIO()
    c = Canvas(buf)
    c.drawString(72, 720, text)
    c.save()
    return buf.getvalue()


def test_foreign_pdf_is_not_musforms(tmp_path: Path) -> None:
    """A readable PDF with neither identity nor form code is NotMusformsError."""
    path = tmp_path / "invoice.pdf"
    path.write_bytes(_plain_pdf("Faktura 1042"))
    with pytest.raises(NotMusformsError, match=r"invoice\.pdf.*not a musforms form"):
        read_pdf(path)


@pytest.mark.parametrize(
    "content",
    [b"", b"not a pdf at all", b"%PDF-1.7\n\x00\xff garbage", b"%PDF-1.4\n1 0 obj <<"],
    ids=["empty", "text", "garbage", "cut-short"],
)
def test_damaged_files_are_form_read_errors(content: bytes, tmp_path: Path) -> None:
    """Empty, corrupt or truncated bytes raise FormReadError, never anything else."""
    path = tmp_path / "svar.pdf"
    path.write_bytes(content)
    with pytest.raises(FormReadError) as info:
        read_pdf(path)
    assert not isinstance(info.value, NotMusformsError)
    assert "svar.pdf" in str(info.value)


def test_truncated_form_is_form_read_error_or_still_readable(
    form_pdf: Path, tmp_path: Path
) -> None:
    """Half a form never crashes: it is read (pypdf repairs) or raises FormReadError."""
    data = form_pdf.read_bytes()
    for cut in (len(data) // 3, len(data) // 2, len(data) - 40):
        path = tmp_path / f"cut{cut}.pdf"
        path.write_bytes(data[:cut])
        try:
            raw = read_pdf(path)
        except FormReadError:
            continue
        assert raw.format == "pdf"


def test_encrypted_is_form_read_error(form_pdf: Path, tmp_path: Path) -> None:
    """A form protected with a password to open cannot be read and says so."""
    writer = PdfWriter(clone_from=form_pdf)
    writer.encrypt("hemmelig")
    path = tmp_path / "locked.pdf"
    writer.write(path)
    with pytest.raises(FormReadError, match="password"):
        read_pdf(path)


def test_too_large_is_form_read_error(form_pdf: Path) -> None:
    """The size limit is a parameter; a file above it is refused before parsing."""
    with pytest.raises(FormReadError, match="MB"):
        read_pdf(form_pdf, limits=Limits(max_bytes=1024))


def test_xfa_only_form_is_form_read_error(tmp_path: Path) -> None:
    """An XFA form without AcroForm widgets cannot be read and says what it is."""
    path = hostile.xfa_pdf(tmp_path / "xfa.pdf")
    with pytest.raises(FormReadError, match="XFA"):
        read_pdf(path)
