"""Fill PDF forms with real third-party engines, each saving the way its viewer does.

``fill_pdfjs`` (pdf.js, Firefox), ``fill_pdfium`` (PDFium, Chrome) and ``fill_poppler``
(poppler, Evince and Okular) all take ``values`` keyed by field name: text → str,
checkbox → bool, radio group or drop-down → the export value (str). A field that does not
exist, or a value a field cannot take, fails loudly; a missing client fails with a message
that says how to install it.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Literal

from pypdf import PdfReader
from pypdf.generic import ArrayObject, DictionaryObject

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
SYSTEM_PYTHON = "/usr/bin/python3"  # Debian's, where python3-gi and Poppler's GIR live

Values = dict[str, str | bool]


class ClientMissing(AssertionError):
    """A real client the tests need is not installed (run ``make clients`` / ``npm install``)."""


@dataclass
class Target:
    """Where and how one field is filled: the widget to click and what to put in it."""

    name: str
    kind: Literal["text", "checkbox", "radio", "choice"]
    page: int
    rect: tuple[float, float, float, float]
    page_height: float
    value: str | bool
    index: int | None = None  # drop-down: the option to select

    @property
    def centre(self) -> tuple[float, float]:
        x0, y0, x1, y1 = self.rect
        return (x0 + x1) / 2, (y0 + y1) / 2


def _inherited(node: DictionaryObject, key: str) -> object:
    for _ in range(32):
        if key in node:
            return node[key].get_object()
        parent = node.get("/Parent")
        if parent is None:
            return None
        node = parent.get_object()
    return None


def _full_name(node: DictionaryObject) -> str:
    names = []
    for _ in range(32):
        if "/T" in node:
            names.append(str(node["/T"]))
        parent = node.get("/Parent")
        if parent is None:
            break
        node = parent.get_object()
    return ".".join(reversed(names))


def plan(src: Path, values: Values) -> list[Target]:
    """Find, for each value, the widget a user would click (independent of musforms' reader)."""
    reader = PdfReader(src)
    widgets: dict[str, list[tuple[int, DictionaryObject, float]]] = {}
    for number, page in enumerate(reader.pages):
        height = float(page.mediabox.height)
        for ref in page.get("/Annots") or []:
            annot = ref.get_object()
            if annot.get("/Subtype") == "/Widget":
                widgets.setdefault(_full_name(annot), []).append((number, annot, height))
    targets = []
    for name, value in values.items():
        if name not in widgets:
            raise AssertionError(f"the form has no field named {name}")
        found = widgets[name]
        number, annot, height = found[0]
        ft = _inherited(annot, "/FT")
        flags = int(_inherited(annot, "/Ff") or 0)  # type: ignore[call-overload]
        rect = tuple(float(v) for v in annot["/Rect"])
        if ft == "/Tx":
            assert isinstance(value, str), f"{name} is a text field: give a str"
            targets.append(Target(name, "text", number, rect, height, value))  # type: ignore[arg-type]
        elif ft == "/Btn" and flags & (1 << 15):
            assert isinstance(value, str), f"{name} is a radio group: give its export value"
            for number, annot, height in found:
                states = [str(k)[1:] for k in annot["/AP"]["/N"] if k != "/Off"]
                if value in states:
                    rect = tuple(float(v) for v in annot["/Rect"])
                    targets.append(Target(name, "radio", number, rect, height, value))  # type: ignore[arg-type]
                    break
            else:
                raise AssertionError(f"radio group {name} has no button for {value!r}")
        elif ft == "/Btn":
            assert isinstance(value, bool), f"{name} is a checkbox: give a bool"
            targets.append(Target(name, "checkbox", number, rect, height, value))  # type: ignore[arg-type]
        elif ft == "/Ch":
            assert isinstance(value, str), f"{name} is a drop-down: give its export value"
            opt = _inherited(annot, "/Opt")
            assert isinstance(opt, ArrayObject)
            exports = [
                str(o.get_object()[0]) if isinstance(o.get_object(), ArrayObject) else str(o)
                for o in opt
            ]
            if value not in exports:
                raise AssertionError(f"drop-down {name} has no option {value!r}")
            targets.append(
                Target(name, "choice", number, rect, height, value, exports.index(value))  # type: ignore[arg-type]
            )
        else:
            raise AssertionError(f"field {name} has a type ({ft}) the fillers do not handle")
    return targets


# --- pdf.js -----------------------------------------------------------------------------


def fill_pdfjs(src: Path, dst: Path, values: Values) -> None:
    """Fill with pdf.js in Node (getFieldObjects → annotationStorage → saveDocument)."""
    node = shutil.which("node")
    if node is None:
        raise ClientMissing("Node.js is not installed; pdf.js needs it (install nodejs)")
    if not (ROOT / "node_modules" / "pdfjs-dist").is_dir():
        raise ClientMissing("pdfjs-dist is not installed: run `npm install` in the project")
    with tempfile.TemporaryDirectory() as tmp:
        vfile = Path(tmp) / "values.json"
        vfile.write_text(json.dumps(values, ensure_ascii=False), encoding="utf-8")
        result = subprocess.run(
            [node, str(HERE / "pdfjs_fill.mjs"), str(src), str(dst), str(vfile)],
            capture_output=True,
            text=True,
            timeout=120,
            cwd=ROOT,
        )
    if result.returncode != 0:
        raise AssertionError(f"pdf.js could not fill {src.name}:\n{result.stderr}")


# --- PDFium -----------------------------------------------------------------------------


def fill_pdfium(src: Path, dst: Path, values: Values) -> None:
    """Fill with PDFium as Chrome does: click each field, type each UTF-16 code unit, save
    as an incremental update."""
    try:
        import pypdfium2 as pdfium
        import pypdfium2.raw as raw
    except ImportError as exc:  # pragma: no cover - a broken test install
        raise ClientMissing("pypdfium2 is not installed: pip install -e '.[test]'") from exc
    targets = plan(src, values)
    pdf = pdfium.PdfDocument(src)
    try:
        pdf.init_forms()
        env = pdf.formenv
        if env is None:
            raise AssertionError(f"PDFium finds no form in {src.name}")
        pages: dict[int, object] = {}
        for t in targets:
            if t.page not in pages:
                pages[t.page] = pdf[t.page]
            page = pages[t.page]
            x, y = t.centre
            if t.kind in ("checkbox", "radio"):
                if t.kind == "checkbox" and _pdfium_checked(raw, env, page, x, y) == t.value:
                    continue
                _pdfium_click(raw, env, page, x, y)
            elif t.kind == "choice":
                _pdfium_click(raw, env, page, x, y)
                assert t.index is not None
                if not raw.FORM_SetIndexSelected(env, page, t.index, True):
                    raise AssertionError(f"PDFium would not select option {t.index} of {t.name}")
            else:
                _pdfium_click(raw, env, page, x, y)
                raw.FORM_SelectAllText(env, page)
                text = str(t.value).encode("utf-16-le")
                for i in range(0, len(text), 2):
                    unit = int.from_bytes(text[i : i + 2], "little")
                    # Enter is a carriage return, as the keyboard sends it.
                    raw.FORM_OnChar(env, page, 13 if unit == 10 else unit, 0)
            raw.FORM_ForceToKillFocus(env)
        for page in pages.values():
            page.close()  # type: ignore[attr-defined]
        pdf.save(dst, flags=raw.FPDF_INCREMENTAL)
    finally:
        pdf.close()


def _pdfium_click(raw: object, env: object, page: object, x: float, y: float) -> None:
    r = raw
    r.FORM_OnMouseMove(env, page, 0, x, y)  # type: ignore[attr-defined]
    r.FORM_OnLButtonDown(env, page, 0, x, y)  # type: ignore[attr-defined]
    r.FORM_OnLButtonUp(env, page, 0, x, y)  # type: ignore[attr-defined]


def _pdfium_checked(raw: object, env: object, page: object, x: float, y: float) -> bool:
    r = raw
    annot = r.FPDFAnnot_GetFormFieldAtPoint(env, page, r.FS_POINTF(x, y))  # type: ignore[attr-defined]
    try:
        return bool(r.FPDFAnnot_IsChecked(env, annot))  # type: ignore[attr-defined]
    finally:
        r.FPDFPage_CloseAnnot(annot)  # type: ignore[attr-defined]


# --- poppler ----------------------------------------------------------------------------


def fill_poppler(src: Path, dst: Path, values: Values) -> None:
    """Fill with poppler's GLib API (Evince, Okular) under Debian's Python, then save."""
    check = subprocess.run(
        [
            SYSTEM_PYTHON,
            "-c",
            "import gi; gi.require_version('Poppler', '0.18'); from gi.repository import Poppler",
        ],
        capture_output=True,
        text=True,
    )
    if check.returncode != 0:
        raise ClientMissing(
            "poppler's GObject bindings are missing: apt-get install gir1.2-poppler-0.18 "
            f"python3-gi (or run `make clients`)\n{check.stderr}"
        )
    targets = plan(src, values)
    with tempfile.TemporaryDirectory() as tmp:
        pfile = Path(tmp) / "plan.json"
        pfile.write_text(json.dumps([asdict(t) for t in targets], ensure_ascii=False), "utf-8")
        result = subprocess.run(
            [SYSTEM_PYTHON, str(HERE / "poppler_fill.py"), str(src), str(dst), str(pfile)],
            capture_output=True,
            text=True,
            timeout=120,
        )
    if result.returncode != 0:
        raise AssertionError(f"poppler could not fill {src.name}:\n{result.stderr}")


FILLERS = {"pdfjs": fill_pdfjs, "pdfium": fill_pdfium, "poppler": fill_poppler}
