"""What a filled PDF form shows on paper: every script, and the whole of a long answer.

Each real engine (pdf.js, PDFium, poppler) types into the form and saves; the saved file is
then flattened (qpdf's command line, qpdf's library through pikepdf) or printed
(``pdftocairo -pdf``), as employees' viewers and printers do, and what poppler draws and
extracts *inside each field's box* is compared with what was typed. Text that runs past
the box's edge is cut off on paper, so it does not count.
"""

from __future__ import annotations

import re
import subprocess
from collections.abc import Callable
from pathlib import Path

import pikepdf
import pytest
from PIL import Image

from musforms.formdata import make_form_data
from musforms.models import Employee, FormData, QuestionSet
from musforms.pdf import _fieldfont
from musforms.pdf.writer import write_pdf
from tests.clients.pdf import FILLERS
from tests.conftest import EVERY_TYPE

pytestmark = pytest.mark.realclient

CLIENTS = sorted(FILLERS)

# One text field per script (single-line and multi-line fields both).
SCRIPTS = {
    "titel": "Zażółć gęślą jaźń",  # Polish
    "aftaler__1__what": "Příliš žluťoučký kůň",  # Czech
    "aftaler__1__owner": "İstanbul'da ğüşiöç",  # Turkish
    "aftaler__2__what": "Ξεσκεπάζω την ψυχοφθόρα",  # Greek
    "aftaler__3__what": "Съешь же ещё этих булок",  # Cyrillic
    "aftaler__2__owner": "مرحبا بالعالم",  # Arabic
    "aftaler__3__owner": "שלום עולם",  # Hebrew
    "lykkedes": "Łódź, Kraków\nΑθήνα, Москва\nİzmir, Brno",
}
RIGHT_TO_LEFT = {"aftaler__2__owner", "aftaler__3__owner"}

_WORDS = [
    "trivsel",
    "udvikling",
    "samarbejde",
    "opgaver",
    "kollegaer",
    "ledelse",
    "kursus",
    "mål",
    "ønsker",
    "Århus",
    "søndag",
    "æbler",
    "grød",
    "fokus",
    "balance",
]


def _long_answer(length: int = 2000) -> str:
    """About ``length`` characters of Danish words, each numbered, so each is unique."""
    words: list[str] = []
    while len(" ".join(words)) < length:
        words.append(f"{_WORDS[len(words) % len(_WORDS)]}{len(words)}")
    return " ".join(words[:-1])


LONG_ANSWER = _long_answer()


@pytest.fixture
def form_pdf(form_data: FormData, tmp_path: Path) -> Path:
    path = tmp_path / "form.pdf"
    write_pdf(form_data, path)
    return path


def _boxes(path: Path) -> dict[str, tuple[int, tuple[float, float, float, float], float]]:
    """Each text field's page, rectangle and page height."""
    out = {}
    with pikepdf.open(path) as pdf:
        for number, page in enumerate(pdf.pages):
            height = float(page.mediabox[3])
            for annot in page.get("/Annots", []):
                if annot.get("/FT") == "/Tx" and "/T" in annot:
                    rect = tuple(float(v) for v in annot.Rect)
                    out[str(annot.T)] = (number, rect, height)
    return out  # type: ignore[return-value]


def _flatten_qpdf(src: Path, dst: Path) -> None:
    subprocess.run(["qpdf", "--flatten-annotations=all", str(src), str(dst)], check=True)


def _flatten_libqpdf(src: Path, dst: Path) -> None:
    with pikepdf.open(src) as pdf:
        pdf.flatten_annotations("all")
        pdf.save(dst)


def _print(src: Path, dst: Path) -> None:
    subprocess.run(["pdftocairo", "-pdf", str(src), str(dst)], check=True)


FLATTEN: dict[str, Callable[[Path, Path], None]] = {
    "qpdf": _flatten_qpdf,
    "libqpdf": _flatten_libqpdf,
    "print": _print,
}


def _text_in_box(path: Path, box: tuple[int, tuple[float, float, float, float], float]) -> str:
    """What pdftotext finds inside the box (72 dpi: one pixel a point), white space gone."""
    page, (x0, y0, x1, y1), height = box
    crop = ["-x", str(int(x0)), "-y", str(int(height - y1)), "-W", str(int(x1 - x0) + 1)]
    crop += ["-H", str(int(y1 - y0) + 1), "-f", str(page + 1), "-l", str(page + 1)]
    result = subprocess.run(
        ["pdftotext", "-r", "72", *crop, str(path), "-"], check=True, capture_output=True
    )
    return "".join(result.stdout.decode("utf-8").split())


def _ink(path: Path, box: tuple[int, tuple[float, float, float, float], float], tmp: Path) -> int:
    """Dark pixels poppler draws inside the box (its border left out)."""
    page, (x0, y0, x1, y1), height = box
    out = tmp / f"ink-{path.stem}-{page}"
    subprocess.run(
        [
            *("pdftoppm", "-r", "144", "-gray", "-png", "-singlefile"),
            *("-f", str(page + 1), "-l", str(page + 1), str(path), str(out)),
        ],
        check=True,
    )
    with Image.open(f"{out}.png") as image:
        crop = image.crop(
            (
                int(2 * x0) + 4,
                int(2 * (height - y1)) + 4,
                int(2 * x1) - 4,
                int(2 * (height - y0)) - 4,
            )
        )
        return sum(crop.histogram()[:128])


def _drawn(path: Path, name: str) -> list[tuple[str, bool, bytes]]:
    """(font subtype, font embedded, string) of each string the field's saved appearance
    draws."""
    with pikepdf.open(path) as pdf:
        for page in pdf.pages:
            for annot in page.get("/Annots", []):
                if str(annot.get("/T", "")) != name:
                    continue
                ap = annot.AP.N
                fonts = ap.Resources.Font
                font: pikepdf.Object | None = None
                drawn = []
                for operands, operator in pikepdf.parse_content_stream(ap):
                    op = str(operator)
                    if op == "Tf":
                        font = fonts[operands[0]]
                    elif op in ("Tj", "TJ") and font is not None:
                        strings = operands[0] if op == "TJ" else [operands[0]]
                        for item in strings:
                            if isinstance(item, pikepdf.String) and bytes(item):
                                drawn.append((_kind(font), _embedded(font), bytes(item)))
                return drawn
    raise AssertionError(f"no field {name}")


def _kind(font: pikepdf.Object) -> str:
    return str(font.get("/Subtype"))


def _embedded(font: pikepdf.Object) -> bool:
    if font.get("/Subtype") == "/Type0":
        font = font.DescendantFonts[0]
    descriptor = font.get("/FontDescriptor")
    return descriptor is not None and any(
        key in descriptor for key in ("/FontFile", "/FontFile2", "/FontFile3")
    )


@pytest.mark.parametrize("client", CLIENTS)
def test_every_script_is_drawn_and_kept_when_flattened(
    client: str, form_pdf: Path, tmp_path: Path
) -> None:
    """Each engine draws typed Polish, Czech, Turkish, Greek, Cyrillic, Arabic and Hebrew
    with the form's embedded field font — real glyphs, no .notdef, no system font — and a
    flattened copy still holds each text inside its box. pdf.js and poppler set right-to-
    left text left to right (they do no bidi), so Arabic and Hebrew may come back reversed."""
    filled, flat = tmp_path / "filled.pdf", tmp_path / "flat.pdf"
    FILLERS[client](form_pdf, filled, SCRIPTS)
    _flatten_libqpdf(filled, flat)
    boxes = _boxes(form_pdf)
    n_cids = len(_fieldfont.field_font().cids)
    for name, value in SCRIPTS.items():
        drawn = _drawn(filled, name)
        assert drawn, f"{client} drew nothing for {name}"
        for kind, embedded, data in drawn:
            assert kind == "/Type0" and embedded, f"{client}: {name} drawn in a {kind} font"
            codes = [int.from_bytes(data[i : i + 2], "big") for i in range(0, len(data), 2)]
            assert all(1 <= c <= n_cids for c in codes), f"{client}: {name} has .notdef"
        assert _ink(filled, boxes[name], tmp_path) > _ink(form_pdf, boxes[name], tmp_path) + 40
        text = _text_in_box(flat, boxes[name])
        want = "".join(value.split())
        if name in RIGHT_TO_LEFT:
            assert want in text or want[::-1] in text, f"{client}: {name}: {text!r}"
        else:
            assert want in text, f"{client}: {name}: {text!r}"


def _qpdf_before_11_4() -> bool:
    version = subprocess.run(["qpdf", "--version"], capture_output=True, text=True).stdout
    found = re.search(r"qpdf version (\d+)\.(\d+)", version)
    assert found, version
    return (int(found.group(1)), int(found.group(2))) < (11, 4)


def _cases() -> list[object]:
    cases: list[object] = []
    for client in CLIENTS:
        for how in FLATTEN:
            marks = []
            if client == "pdfjs":
                marks.append(
                    pytest.mark.xfail(
                        strict=True,
                        reason="pdf.js (4.10, and 6.5 still) auto-sizes a multi-line field "
                        "by lines 1.0 x the size apart but draws them 1.35 x apart "
                        "(annotation.js _computeFontSize), so the last lines run out of "
                        "the box",
                    )
                )
            elif client == "poppler" and how == "qpdf" and _qpdf_before_11_4():
                marks.append(
                    pytest.mark.xfail(
                        strict=True,
                        reason="poppler saves text fields with /AS /N, and qpdf before 11.4 "
                        "then flattens them to nothing (qpdf#949)",
                    )
                )
            cases.append(pytest.param(client, how, marks=marks, id=f"{client}-{how}"))
    return cases


@pytest.mark.parametrize(("client", "how"), _cases())
def test_long_answer_prints_whole(client: str, how: str, form_pdf: Path, tmp_path: Path) -> None:
    """A 2,000-character answer typed into a multi-line field shrinks to fit its box:
    flattened or printed, every word is inside the box, in order."""
    filled, flat = tmp_path / "filled.pdf", tmp_path / "flat.pdf"
    FILLERS[client](form_pdf, filled, {"lykkedes": LONG_ANSWER})
    FLATTEN[how](filled, flat)
    text = _text_in_box(flat, _boxes(form_pdf)["lykkedes"])
    at, missing = 0, []
    for word in LONG_ANSWER.split():
        found = text.find(word, at)
        if found < 0:
            missing.append(word)
        else:
            at = found + len(word)
    assert not missing, f"{client}/{how}: {len(missing)} words missing, from {missing[0]}"


@pytest.mark.parametrize("client", CLIENTS)
def test_picked_option_is_drawn_in_any_script(
    client: str, key: bytes, employee: Employee, tmp_path: Path
) -> None:
    """A drop-down's picked option ("Łódź", "Αθήνα", "Москва") is drawn by each engine in
    the embedded field font and kept inside the box when flattened."""
    data = dict(EVERY_TYPE)
    cities = ["Łódź", "Αθήνα", "Москва", "İzmir", "Brno", "Ærø", "Kraków", "Žilina"]
    choice = {
        "id": "by",
        "type": "choice",
        "label": {"da": "Hvor arbejder du?"},
        "options": [{"id": f"o{i}", "label": {"da": city}} for i, city in enumerate(cities)],
    }
    data["sections"] = [{"id": "s", "title": {"da": "Sted"}, "questions": [choice]}]
    qs = QuestionSet.model_validate(data)
    src, filled, flat = tmp_path / "form.pdf", tmp_path / "filled.pdf", tmp_path / "flat.pdf"
    write_pdf(make_form_data(qs, employee, key=key, cycle="2026"), src)
    n_cids = len(_fieldfont.field_font().cids)
    for index in (0, 1, 2):
        FILLERS[client](src, filled, {"by": f"o{index}"})
        drawn = _drawn(filled, "by")
        assert drawn, f"{client} drew no option"
        for kind, embedded, data_ in drawn:
            assert kind == "/Type0" and embedded, f"{client} drew {cities[index]} in {kind}"
            codes = [int.from_bytes(data_[i : i + 2], "big") for i in range(0, len(data_), 2)]
            assert all(1 <= c <= n_cids for c in codes), f"{client}: .notdef"
        _flatten_libqpdf(filled, flat)
        assert cities[index] in _text_in_box(flat, _choice_box(src, "by"))


def _choice_box(path: Path, name: str) -> tuple[int, tuple[float, float, float, float], float]:
    with pikepdf.open(path) as pdf:
        for number, page in enumerate(pdf.pages):
            for annot in page.get("/Annots", []):
                if str(annot.get("/T", "")) == name:
                    rect = tuple(float(v) for v in annot.Rect)
                    return number, rect, float(page.mediabox[3])  # type: ignore[return-value]
    raise AssertionError(name)
