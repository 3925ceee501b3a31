"""The font of the form's text fields: embedded once per file, usable by every viewer.

A viewer draws what an employee types from the field's default appearance (/DA) and the
font it names in /AcroForm /DR: pdf.js (Firefox) and poppler (Evince, Okular) find the
character codes through the font's /ToUnicode map, PDFium (Chrome) too, and each falls back
to something of its own (pdf.js: no appearance at all; PDFium and poppler: a system font)
for a character the font cannot encode. So the font must hold every letter people type, be
embedded whole, not as a subset of the letters on the page, and map each character to a
code of its own.

It is a composite font (/Type0, /Identity-H: two-byte codes) over DejaVu Sans reduced to
the scripts of ``scripts/make_field_font.py`` (Latin with its extensions, Greek, Cyrillic,
Hebrew, Arabic). Codes (CIDs) run 1…n over the font's characters in code point order, so
/ToUnicode is a short list of ranges and two characters drawn by one glyph still get a code
each; /CIDToGIDMap maps them to the glyphs. The font's streams are compressed once per
process; :func:`resource` adds them to a reportlab document once.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from importlib import resources

from reportlab.pdfbase.pdfdoc import PDFArray, PDFDictionary, PDFName, PDFStream, PDFString
from reportlab.pdfbase.ttfonts import TTFontFile

__all__ = ["NAME", "FieldFont", "field_font", "resource"]

# The font's name in /DR and in every /DA. PDFium (Chrome) uses a form's own font only for
# the characters of the font's "charset", which for an embedded font is Windows' Western one,
# unless the font is named like one of Windows' symbol fonts: then it takes every character
# the font has (CPDF_BAFontMap: the default font's charset is FX_Charset::kSymbol for the
# names Wingdings, Wingdings2, Wingdings3 and Webdings). Any other name, and PDFium draws
# Polish or Cyrillic in a system font it does not embed, and a Turkish İ not at all. The name
# is only a key: pdf.js, poppler and every other reader find the font by it in /DR.
NAME = "Wingdings"
FILE = "DejaVuSans-Fields.ttf"
_BASE_FONT = "DejaVuSans"  # no subset tag: viewers may use the font for any typed text
_FLAG_NONSYMBOLIC = 1 << 5  # font descriptor /Flags (ISO 32000-1 §9.8.2, Table 123)


@dataclass(frozen=True)
class FieldFont:
    """The field font's metrics and codes, and its PDF streams, compressed."""

    cids: dict[int, int]  # code point → CID (from 1)
    widths: dict[int, float]  # code point → advance width per 1000 units of text space
    default_width: float
    ascent: float
    descent: float
    bbox: tuple[float, float, float, float]
    cap_height: float
    italic_angle: float
    stem_v: float
    font_file: bytes  # the TrueType file, FlateDecode
    font_file_length: int  # its length before compression (/Length1)
    to_unicode: bytes  # the /ToUnicode CMap, FlateDecode
    cid_to_gid: bytes  # the /CIDToGIDMap, FlateDecode
    w: list[int | list[int]]  # the /W array

    def covers(self, ch: str) -> bool:
        return ord(ch) in self.cids

    def encode(self, text: str) -> bytes:
        """``text`` as Identity-H codes; a character the font lacks becomes ``?``."""
        fallback = self.cids[ord("?")]
        return b"".join(self.cids.get(ord(ch), fallback).to_bytes(2, "big") for ch in text)

    def width(self, text: str, size: float) -> float:
        """The width of ``text`` set at ``size`` points."""
        fallback = self.widths[ord("?")]
        return sum(self.widths.get(ord(ch), fallback) for ch in text) * size / 1000


def _runs(points: list[int]) -> Iterator[tuple[int, int, int]]:
    """(first CID, last CID, first code point) of each run of consecutive code points in
    which neither the CID's nor the code point's high byte changes: a /ToUnicode bfrange
    counts up only the last byte of both (PDFium maps nothing past a carry)."""
    start = 0
    for i in range(1, len(points) + 1):
        cid = i + 1
        if (
            i == len(points)
            or points[i] != points[i - 1] + 1
            or cid % 256 == 0
            or points[i] % 256 == 0
        ):
            yield start + 1, i, points[start]
            start = i


def _to_unicode(points: list[int]) -> bytes:
    ranges = list(_runs(points))
    lines = [
        "/CIDInit /ProcSet findresource begin",
        "12 dict begin",
        "begincmap",
        "/CIDSystemInfo << /Registry (Adobe) /Ordering (UCS) /Supplement 0 >> def",
        "/CMapName /Adobe-Identity-UCS def",
        "/CMapType 2 def",
        "1 begincodespacerange",
        "<0000> <FFFF>",
        "endcodespacerange",
    ]
    for at in range(0, len(ranges), 100):  # at most 100 entries per block
        block = ranges[at : at + 100]
        lines.append(f"{len(block)} beginbfrange")
        lines.extend(f"<{a:04X}> <{b:04X}> <{u:04X}>" for a, b, u in block)
        lines.append("endbfrange")
    lines += ["endcmap", "CMapName currentdict /CMap defineresource pop", "end", "end"]
    return ("\n".join(lines) + "\n").encode("ascii")


@cache
def field_font() -> FieldFont:
    """Read the field font once per process."""
    with resources.as_file(resources.files("musforms") / "fonts" / FILE) as path:
        data = path.read_bytes()
        ttf = TTFontFile(str(path))
    glyphs: dict[int, int] = {
        c: g for c, g in ttf.charToGlyph.items() if g and c <= 0xFFFF and c >= 0x20
    }
    points = sorted(glyphs)
    cids = {c: i for i, c in enumerate(points, start=1)}
    gid_map = bytearray(2 * (len(points) + 1))
    for c, cid in cids.items():
        gid_map[2 * cid : 2 * cid + 2] = glyphs[c].to_bytes(2, "big")
    widths = {c: float(ttf.charWidths.get(c, ttf.defaultWidth)) for c in points}
    return FieldFont(
        cids=cids,
        widths=widths,
        default_width=float(ttf.defaultWidth),
        ascent=float(ttf.ascent),
        descent=float(ttf.descent),
        bbox=tuple(float(v) for v in ttf.bbox),  # type: ignore[arg-type]
        cap_height=float(ttf.capHeight),
        italic_angle=float(ttf.italicAngle),
        stem_v=float(ttf.stemV),
        font_file=zlib.compress(data, 9),
        font_file_length=len(data),
        to_unicode=zlib.compress(_to_unicode(points), 9),
        cid_to_gid=zlib.compress(bytes(gid_map), 9),
        w=[1, [round(widths[c]) for c in points]],
    )


def _stream(data: bytes, **entries: object) -> PDFStream:
    return PDFStream(PDFDictionary({"Filter": PDFName("FlateDecode"), **entries}), data)


def resource(doc: object) -> object:
    """The field font's /Type0 font dictionary in reportlab document ``doc``, as a
    reference; added on first use, the same object after that."""
    ref = getattr(doc, "_musforms_field_font", None)
    if ref is not None:
        return ref
    font = field_font()
    reference = doc.Reference  # type: ignore[attr-defined]
    descriptor = PDFDictionary(
        {
            "Type": PDFName("FontDescriptor"),
            "FontName": PDFName(_BASE_FONT),
            "Flags": _FLAG_NONSYMBOLIC,
            "FontBBox": PDFArray([round(v) for v in font.bbox]),
            "ItalicAngle": font.italic_angle,
            "Ascent": round(font.ascent),
            "Descent": round(font.descent),
            "CapHeight": round(font.cap_height),
            "StemV": round(font.stem_v),
            "FontFile2": reference(_stream(font.font_file, Length1=font.font_file_length)),
        }
    )
    widths = PDFArray([font.w[0], PDFArray(font.w[1])])
    cid_font = PDFDictionary(
        {
            "Type": PDFName("Font"),
            "Subtype": PDFName("CIDFontType2"),
            "BaseFont": PDFName(_BASE_FONT),
            "CIDSystemInfo": PDFDictionary(
                {
                    "Registry": PDFString("Adobe"),
                    "Ordering": PDFString("Identity"),
                    "Supplement": 0,
                }
            ),
            "FontDescriptor": reference(descriptor),
            "DW": round(font.default_width),
            "W": widths,
            "CIDToGIDMap": reference(_stream(font.cid_to_gid)),
        }
    )
    type0 = PDFDictionary(
        {
            "Type": PDFName("Font"),
            "Subtype": PDFName("Type0"),
            "BaseFont": PDFName(_BASE_FONT),
            "Encoding": PDFName("Identity-H"),
            "DescendantFonts": PDFArray([reference(cid_font)]),
            "ToUnicode": reference(_stream(font.to_unicode)),
        }
    )
    ref = reference(type0)
    doc._musforms_field_font = ref  # type: ignore[attr-defined]
    return ref
