"""The text fields' font: the scripts it promises, embedded once per form, named by every field."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pikepdf
import pytest
from reportlab.pdfbase.ttfonts import TTFontFile

from musforms.models import FormData
from musforms.pdf import _fieldfont
from musforms.pdf.writer import write_pdf

ROOT = Path(__file__).resolve().parents[1]
FONTS = ROOT / "musforms" / "fonts"


@pytest.fixture
def form_pdf(form_data: FormData, tmp_path: Path) -> Path:
    path = tmp_path / "form.pdf"
    write_pdf(form_data, path)
    return path


def _script() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "make_field_font", ROOT / "scripts" / "make_field_font.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def test_font_holds_exactly_the_scripts_the_script_keeps() -> None:
    """The committed field font has every character of DejaVu Sans in RANGES and no other,
    so the font and scripts/make_field_font.py never drift apart."""
    wanted = set(_script().code_points())
    full = set(TTFontFile(str(FONTS / "DejaVuSans.ttf")).charToGlyph)
    kept = {c for c, g in TTFontFile(str(FONTS / _fieldfont.FILE)).charToGlyph.items() if g}
    assert kept - {0x0D, 0x00} == full & wanted


def test_every_letter_of_the_test_scripts_has_a_code() -> None:
    """Polish, Czech, Turkish, Greek, Cyrillic, Hebrew and Arabic letters each get a code of
    their own (two characters drawn by one glyph too), and no code is 0, which PDFium reads
    as "not in the font"."""
    font = _fieldfont.field_font()
    text = "Zażółć gęślą jaźń Příliš žluťoučký kůň İstanbul'da ğüşiöç Ωμέγα Жёлтый שלום مرحبا"
    assert all(font.covers(ch) for ch in text)
    assert len(set(font.cids.values())) == len(font.cids)
    assert min(font.cids.values()) == 1


def test_one_embedded_font_named_by_every_text_field(form_pdf: Path) -> None:
    """/AcroForm /DR holds the field font once, embedded whole (no subset tag), with a
    /ToUnicode map; every text field's /DA and appearance name that one object."""
    with pikepdf.open(form_pdf) as pdf:
        acroform = pdf.Root.AcroForm
        font = acroform.DR.Font[f"/{_fieldfont.NAME}"]
        assert font.Subtype == "/Type0" and font.Encoding == "/Identity-H"
        assert "+" not in str(font.BaseFont)
        assert "/ToUnicode" in font
        descendant = font.DescendantFonts[0]
        assert descendant.Subtype == "/CIDFontType2"
        program = descendant.FontDescriptor.FontFile2
        assert len(program.read_bytes()) == (FONTS / _fieldfont.FILE).stat().st_size
        size = (FONTS / _fieldfont.FILE).stat().st_size
        copies = [
            obj
            for obj in pdf.objects
            if isinstance(obj, pikepdf.Stream) and obj.get("/Length1") == size
        ]
        assert len(copies) == 1, "the field font must be one stream, shared by every field"
        texts = 0
        for page in pdf.pages:
            for annot in page.get("/Annots", []):
                if annot.get("/FT") != "/Tx" or annot.get("/F", 0) & 2:
                    continue
                texts += 1
                assert str(annot.DA).startswith(f"/{_fieldfont.NAME} ")
                used = annot.AP.N.Resources.Font[f"/{_fieldfont.NAME}"]
                assert used.objgen == font.objgen
                multiline = int(annot.get("/Ff", 0)) & (1 << 12)
                assert (" 0 Tf " in str(annot.DA)) == bool(multiline), annot.T
        assert texts > 10


def test_form_size(form_pdf: Path) -> None:
    """Each form carries the field font once: a form stays under 210 kB (a second copy of
    the font would add about 90 kB; the four statuses per agreement took it past 200 kB)."""
    assert form_pdf.stat().st_size < 210_000
