"""Make musforms/fonts/DejaVuSans-Fields.ttf, the font every PDF form's text fields use.

A viewer builds a text field's appearance from the font its /DA names in /AcroForm /DR, so
that font is embedded whole in every form: whatever an employee types must be in it. The
whole DejaVu Sans (760 kB, 380 kB compressed) would make each form five times as large, so
this keeps the scripts people in Danish workplaces write in: Latin with every European
extension (Polish, Czech, Turkish, Vietnamese …), Greek, Cyrillic, Hebrew and Arabic, with
common punctuation, currency signs, arrows and check marks, and drops the hinting and the
OpenType layout tables (no viewer shapes text in a form field). About 130 kB, 77 kB
compressed.

    .venv/bin/pip install fonttools   # only needed to remake the font
    .venv/bin/python scripts/make_field_font.py

tests/test_pdf_fieldfont.py checks that the committed font holds exactly the characters of
DejaVu Sans in RANGES, so a change here without remaking the font fails.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SOURCE = ROOT / "musforms" / "fonts" / "DejaVuSans.ttf"
TARGET = ROOT / "musforms" / "fonts" / "DejaVuSans-Fields.ttf"

# Unicode blocks kept (first, last code point, inclusive).
RANGES: tuple[tuple[int, int], ...] = (
    (0x0020, 0x007E),  # Basic Latin
    (0x00A0, 0x052F),  # Latin-1, Latin Extended-A/B, IPA, modifiers, combining marks,
    #                    Greek and Coptic, Cyrillic, Cyrillic Supplement
    (0x0591, 0x05F4),  # Hebrew
    (0x0600, 0x06FF),  # Arabic
    (0x1E00, 0x1EFF),  # Latin Extended Additional (Vietnamese, Welsh …)
    (0x2000, 0x20CF),  # General Punctuation, super- and subscripts, currency signs
    (0x2100, 0x21FF),  # letterlike symbols, number forms, arrows
    (0x2212, 0x2212),  # minus sign
    (0x25A0, 0x25CF),  # squares and circles
    (0x2713, 0x2718),  # check marks and crosses
    (0xFB00, 0xFB06),  # Latin ligatures
    (0xFFFD, 0xFFFD),  # replacement character
)


def code_points() -> list[int]:
    return [c for first, last in RANGES for c in range(first, last + 1)]


def main() -> int:
    try:
        from fontTools import subset
        from fontTools.ttLib import TTFont
    except ImportError:
        print("fontTools is needed to remake the font: .venv/bin/pip install fonttools")
        return 1
    options = subset.Options()
    options.hinting = False
    options.layout_features = []
    options.drop_tables += ["GSUB", "GPOS", "GDEF", "MATH", "kern", "FFTM"]
    options.name_IDs = ["*"]
    options.name_languages = ["*"]
    options.notdef_outline = True
    options.glyph_names = False
    font = TTFont(SOURCE)
    subsetter = subset.Subsetter(options)
    subsetter.populate(unicodes=code_points())
    subsetter.subset(font)
    font.save(TARGET)
    print(f"wrote {TARGET.relative_to(ROOT)}: {TARGET.stat().st_size} bytes")
    return 0


if __name__ == "__main__":
    sys.exit(main())
