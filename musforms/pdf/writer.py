"""The fillable PDF form: reportlab lays out the page and writes real AcroForm fields.

The costly part — fonts, wrapping every label, placing every field — is done once per
(question set, language) in :class:`PdfFormWriter`; :meth:`PdfFormWriter.render` only adds
the employee's header, last cycle's agreements, pagination and the identity.

Two ways to render, with the same layout code: by default reportlab renders each layout once
as a template that is personalised by substitution (``_template.py``, a hand-written fast
path); with ``MUSFORMS_FAST_PATHS=0`` (see ``musforms.fastpath``) reportlab's canvas renders
every form with its own values, as the reference the fast path is tested against.

Page text uses the embedded DejaVu Sans, so any name or label renders ("Dvořák", "Łukasz").
Text fields name the field font of ``_fieldfont.py`` (DejaVu Sans in Latin, Greek, Cyrillic,
Hebrew and Arabic, embedded once per file) in their /DA, so the appearance a viewer makes for
what was typed draws every letter; a multi-line field's /DA asks for auto-sized text, so a long
answer shrinks to fit its box when the form is printed or flattened. The prefilled values are
drawn as page text and kept, exactly, in hidden read-only ``mf_`` fields that collect verifies.
"""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

from reportlab.lib.colors import Color, HexColor
from reportlab.lib.pagesizes import A4
from reportlab.lib.rl_accel import fp_str
from reportlab.lib.utils import ImageReader, simpleSplit
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.pdfdoc import (
    PDFArray,
    PDFDictionary,
    PDFInfo,
    PDFName,
    PDFObject,
    PDFString,
)
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen.canvas import Canvas

from musforms import fastpath, texts
from musforms import fieldnames as fn
from musforms.errors import ConfigError
from musforms.files import write_bytes
from musforms.formats import FormWriterBase
from musforms.i18n import _
from musforms.models import FormData, Question, localize
from musforms.pdf import _acroform as af
from musforms.pdf import _fieldfont, _template, tagging

__all__ = ["PdfFormWriter", "write_pdf"]

SANS = "MusformsSans"
SANS_BOLD = "MusformsSans-Bold"
CHOICE_FONT = "Helvetica"  # reportlab's drop-downs take one of the standard 14 fonts

PAGE_W, PAGE_H = A4
MARGIN_X = 54.0
MARGIN_TOP = 50.0
MARGIN_BOTTOM = 62.0  # room for the footer
NUM_W = 22.0  # the question-number column
CONTENT_W = PAGE_W - 2 * MARGIN_X
FIELD_X = MARGIN_X + NUM_W
FIELD_W = PAGE_W - MARGIN_X - FIELD_X

INK = HexColor("#1F2933")
MUTED = HexColor("#52606D")
ACCENT = HexColor("#1F5F6B")
RULE = HexColor("#CBD2D9")
FIELD_BORDER = HexColor("#9AA5B1")
FIELD_FILL = HexColor("#F5F7FA")
HEADER_FILL = HexColor("#EEF3F4")
REQUIRED_INK = HexColor("#9B2C2C")

BODY = 9.5
BODY_LEAD = 13.0
LABEL = 10.5
LABEL_LEAD = 14.0
HELP = 8.8
HELP_LEAD = 11.5
FIELD_SIZE = 10  # text in single-line fields, and the largest in multi-line ones
MIN_FIELD_SIZE = 6.0  # the smallest text musforms sets in a multi-line field
FIELD_LEAD = 1.15  # line height per point of text size in the fields' appearances
FIELD_PAD = 2.0  # between a field's edge and its text
BOX = 13.0  # checkbox and radio size
ROW = 18.0  # height of one option row
TEXT_H = 20.0
TEXTAREA_H = 112.0
COMMENT_H = 44.0
GAP = 16.0  # between questions
DROPDOWN_MIN_OPTIONS = 7
FOOTER_Y = 34.0
MAX_TEMPLATES = 64  # distinct layouts kept per writer (last cycle's agreements vary them)
_BASE_CHARS = frozenset(_template.PERSONAL_CHARS)
# The document's language as the catalogue's /Lang says it (BCP 47), by the form's language.
LANGUAGE_TAGS = {"da": "da-DK", "en": "en-GB"}

Draw = Callable[[Canvas, float], None]  # draws part of a block whose top is at y


@cache
def _fonts() -> tuple[str, str]:
    """Register the embedded DejaVu Sans once per process."""
    folder = resources.files("musforms") / "fonts"
    for name, file in ((SANS, "DejaVuSans.ttf"), (SANS_BOLD, "DejaVuSans-Bold.ttf")):
        with resources.as_file(folder / file) as path:
            pdfmetrics.registerFont(TTFont(name, str(path)))
    return SANS, SANS_BOLD


# How every tick box and radio button looks (square: reportlab draws round ones right only
# at size 20).
# How text fields and drop-downs look and print.
_FIELD_LOOK: dict[str, Any] = {
    "annotationFlags": af.RL_ANNOT_PRINT,
    "fontName": CHOICE_FONT,
    "fontSize": FIELD_SIZE,
    "borderColor": FIELD_BORDER,
    "fillColor": FIELD_FILL,
    "textColor": INK,
    "borderWidth": 0.75,
}
_BUTTON_LOOK: dict[str, Any] = {
    "shape": "square",
    "size": BOX,
    "annotationFlags": af.RL_ANNOT_PRINT,
    "borderColor": FIELD_BORDER,
    "fillColor": FIELD_FILL,
    "textColor": INK,
    "borderWidth": 0.75,
}


@dataclass
class Block:
    """A piece of a page that is never split: its height and how to draw it."""

    height: float
    ops: list[Draw] = field(default_factory=list)
    keep_with_next: bool = False
    sig: tuple[Any, ...] = ()


@dataclass(frozen=True)
class _Personal:
    """A line of page text that differs per employee, drawn from a slot of the form's values.

    Templates leave it out of their page content and draw it per form; see _template.py.
    Rendered directly, the form draws it with :meth:`draw`.
    """

    x: float
    dy: float
    font: str
    size: float
    color: Color
    slot: int
    text: str

    def __call__(self, c: Canvas, top: float) -> None:
        raise AssertionError("personal text is drawn by the template, not by reportlab")

    def draw(self, c: Canvas, top: float, value: str) -> None:
        """Draw ``value`` where the template would (the direct rendering)."""
        c.setFont(self.font, self.size)
        c.setFillColor(self.color)
        c.drawString(self.x, top - self.dy, value)


class _Builder:
    """Stacks text and fields downwards from a block's top; ``y`` is the depth used so far."""

    def __init__(self, slots: list[str] | None = None, direct: bool = False) -> None:
        self.y = 0.0
        self.ops: list[Draw] = []
        # What the block draws, without personal values: equal signatures, equal templates.
        self.sig: list[tuple[Any, ...]] = []
        self.slots = slots if slots is not None else []
        self.direct = direct  # rendered per form: personal strings go in as they are

    def block(self, keep_with_next: bool = False) -> Block:
        return Block(self.y, self.ops, keep_with_next, (self.y, keep_with_next, *self.sig))

    def mark(self, value: str) -> str:
        """A personal string inside a field dictionary: a template marker for ``value``
        (``value`` itself when the form is rendered directly)."""
        self.slots.append(value)
        return value if self.direct else _template.marker(len(self.slots) - 1)

    def text(
        self,
        x: float,
        dy: float,
        line: str,
        font: str = SANS,
        size: float = BODY,
        color: Color = INK,
        align: str = "left",
        personal: bool = False,
    ) -> None:
        if personal:
            assert align == "left"
            self.slots.append(line)
            self.ops.append(_Personal(x, dy, font, size, color, len(self.slots) - 1, line))
            self.sig.append(("personal", x, dy, font, size, color.hexval()))
            return
        self.sig.append(("text", x, dy, line, font, size, color.hexval(), align))

        def op(c: Canvas, top: float) -> None:
            c.setFont(font, size)
            c.setFillColor(color)
            if align == "right":
                c.drawRightString(x, top - dy, line)
            elif align == "center":
                c.drawCentredString(x, top - dy, line)
            else:
                c.drawString(x, top - dy, line)

        self.ops.append(op)

    def para(
        self,
        text: str,
        x: float,
        width: float,
        font: str = SANS,
        size: float = BODY,
        lead: float = BODY_LEAD,
        color: Color = INK,
        personal: bool = False,
    ) -> int:
        """Wrap ``text`` into ``width`` below the cursor; returns the number of lines."""
        lines = simpleSplit(text, font, size, width)
        for line in lines:
            self.y += lead
            dy = self.y - (lead - size) / 2 - 1
            self.text(x, dy, line, font, size, color, personal=personal)
        return len(lines)

    def rect(self, x: float, dy: float, w: float, h: float, fill: Color, stroke: bool) -> None:
        self.sig.append(("rect", x, dy, w, h, fill.hexval(), stroke))

        def op(c: Canvas, top: float) -> None:
            c.setFillColor(fill)
            c.setStrokeColor(RULE)
            c.setLineWidth(0.6)
            c.rect(x, top - dy - h, w, h, stroke=int(stroke), fill=1)

        self.ops.append(op)

    def rule(self, x: float, dy: float, w: float, color: Color = RULE, width: float = 0.6) -> None:
        self.sig.append(("rule", x, dy, w, color.hexval(), width))

        def op(c: Canvas, top: float) -> None:
            c.setStrokeColor(color)
            c.setLineWidth(width)
            c.line(x, top - dy, x + w, top - dy)

        self.ops.append(op)

    def textfield(
        self,
        name: str,
        x: float,
        dy: float,
        w: float,
        h: float,
        multiline: bool,
        tip: str,
        value: str = "",
        note: str = "",
    ) -> None:
        """A text field; ``value`` is drawn in its appearance, shrunk to fit, and ``note``
        ends it when even the smallest text does not fit (see :func:`text_field`)."""
        self.sig.append(("textfield", name, x, dy, w, h, multiline, tip, value, note))

        def op(c: Canvas, top: float) -> None:
            text_field(c, name, tip, x, top - dy - h, w, h, multiline, value, note)

        self.ops.append(op)

    def checkbox(self, name: str, x: float, dy: float, tip: str) -> None:
        self.sig.append(("checkbox", name, x, dy, tip))
        self._button(
            "checkbox", x, dy, name=name, tooltip=tip, checked=False, buttonStyle="check",
            fieldFlags=af.RL_CHECKBOX,
        )  # fmt: skip

    def radio(self, name: str, value: str, x: float, dy: float, tip: str) -> None:
        """A radio button: round with a dot, where a checkbox is square with a tick."""
        self.sig.append(("radio", name, value, x, dy, tip))
        self._button(
            "radio", x, dy, name=name, tooltip=tip, value=value, selected=False,
            buttonStyle="circle", fieldFlags=af.RL_RADIO, shape="circle",
        )  # fmt: skip

    def _button(self, kind: str, x: float, dy: float, **field: Any) -> None:
        """A checkbox or radio button (reportlab's ``acroForm.checkbox`` / ``.radio``)."""
        look = {**_BUTTON_LOOK, **({"shape": field.pop("shape")} if "shape" in field else {})}

        def op(c: Canvas, top: float) -> None:
            form = c.acroForm
            form.circleArcStream = _circle_arcs  # this form's circles drawn at any size
            getattr(form, kind)(x=x, y=top - dy - BOX, **field, **look)

        self.ops.append(op)

    def dropdown(
        self,
        name: str,
        options: Sequence[tuple[str, str]],
        x: float,
        dy: float,
        w: float,
        tip: str,
        placeholder: str,
    ) -> None:
        # reportlab needs a selected option; a placeholder whose export value is empty
        # leaves the field unanswered (/V is the empty string).
        opts = [(placeholder, ""), *options]
        self.sig.append(("dropdown", name, tuple(opts), x, dy, w, tip))

        def op(c: Canvas, top: float) -> None:
            c.acroForm.choice(
                name=name,
                tooltip=tip,
                value=placeholder,
                options=opts,
                x=x,
                y=top - dy - TEXT_H,
                width=w,
                height=TEXT_H,
                fieldFlags=af.RL_COMBO,
                **_FIELD_LOOK,
            )
            # reportlab draws the placeholder in Helvetica; the option a viewer draws once
            # one is picked ("Łódź", "Αθήνα") needs the field font, as typed text does.
            widget = c._doc.idToObject[c.acroForm.fields[-1].name]
            widget.dict["DA"] = PDFString(f"/{_fieldfont.NAME} {FIELD_SIZE} Tf {_rgb(INK)}")
            _field_setup(c)

        self.ops.append(op)


def _circle_arcs(
    size: float, r: float, arcs: Sequence[int] = (0, 1, 2, 3), rotated: bool = False
) -> str:
    """The path of a circle of radius ``r`` in the middle of a ``size`` box, as reportlab's
    ``AcroForm.circleArcStream`` makes it, but right at any size (reportlab's is right at
    size 20 only, scaling by size / 20 twice)."""
    cp, rr, half = fp_str(0.55231 * r), fp_str(r), fp_str(size * 0.5)
    mx = "0.7071 0.7071 -0.7071 0.7071" if rotated else "1 0 0 1"
    path = [f"{mx} {half} {half} cm"]
    starts = {0: f"{rr} 0 m", 1: f"0 {rr} m", 2: f"-{rr} 0 m", 3: f"0 -{rr} m"}
    curves = {
        0: f"{rr} {cp} {cp} {rr} 0 {rr} c",
        1: f"-{cp} {rr} -{rr} {cp} -{rr} 0 c",
        2: f"-{rr} -{cp} -{cp} -{rr} 0 -{rr} c",
        3: f"{cp} -{rr} {rr} -{cp} {rr} 0 c",
    }
    for arc in arcs:
        if len(path) == 1:
            path.append(starts[arc])
        path.append(curves[arc])
    return "\n".join(path)


class _FieldResources(PDFObject):  # type: ignore[misc]  # reportlab ships no type hints
    """/AcroForm /DR: reportlab's fonts (the drop-downs' Helvetica) and the field font."""

    def __init__(self, c: Canvas) -> None:
        self.form = c.acroForm
        self.font = _fieldfont.resource(c._doc)

    def format(self, document: Any) -> bytes:
        form = self.form
        fonts: dict[str, Any] = {name: _Raw(ref) for name, ref in sorted(form.fonts.items())}
        fonts[_fieldfont.NAME] = self.font
        entries: dict[str, Any] = {"Font": PDFDictionary(fonts)}
        if form.fonts:  # the encoding reportlab's Helvetica refers to by name
            entries["Encoding"] = PDFDictionary({"RLAFencoding": _Raw(form.encRefStr)})
        return bytes(PDFDictionary(entries).format(document))


class _Raw(PDFObject):  # type: ignore[misc]
    """A piece of PDF reportlab already wrote as text (an ``N 0 R`` reference)."""

    def __init__(self, text: str) -> None:
        self.text = text

    def format(self, document: Any) -> bytes:
        return self.text.encode("ascii")


def _field_setup(c: Canvas) -> Any:
    """The field font in this document, with /AcroForm /DR and /DA naming it (once)."""
    form = c.acroForm
    if "DR" not in form.extras:
        form.extras["DR"] = _FieldResources(c)
        form.extras["DA"] = PDFString(f"/{_fieldfont.NAME} 0 Tf 0 g")
    return form.extras["DR"].font


def _rgb(color: Color) -> str:
    return f"{fp_str(color.red, color.green, color.blue)} rg"


def _wrap(text: str, size: float, width: float) -> list[str]:
    """``text`` broken into lines no wider than ``width`` at ``size`` points: at spaces,
    and inside a word only when the word alone is too wide."""
    font = _fieldfont.field_font()
    lines: list[str] = []
    for paragraph in text.split("\n"):
        line = ""
        for word in paragraph.split(" "):
            candidate = f"{line} {word}" if line else word
            if font.width(candidate, size) <= width:
                line = candidate
                continue
            if line:
                lines.append(line)
            line = ""
            for ch in word:
                if line and font.width(line + ch, size) > width:
                    lines.append(line)
                    line = ""
                line += ch
        lines.append(line)
    return lines


def field_layout(
    value: str, w: float, h: float, multiline: bool, note: str
) -> tuple[float, list[str], bool]:
    """How musforms sets ``value`` in a field of ``w`` × ``h`` points: the text size, the
    lines, and whether the text was cut and ends in ``note``.

    A multi-line field takes the largest size from FIELD_SIZE down to MIN_FIELD_SIZE (in half
    points) at which every line fits; when none does, the lines that fit at the smallest size
    and then ``note`` (the answer goes on; the minutes hold it whole). A single-line field
    shrinks its one line down to MIN_FIELD_SIZE and is cut at the box's edge after that, as
    every viewer cuts it.
    """
    inner_w, inner_h = w - 2 * FIELD_PAD, h - 2 * FIELD_PAD
    font = _fieldfont.field_font()
    if not multiline:
        line = value.replace("\r", "").replace("\n", " ")
        size = float(FIELD_SIZE)
        while size > MIN_FIELD_SIZE and font.width(line, size) > inner_w:
            size -= 0.5
        return size, [line], False
    size = float(FIELD_SIZE)
    while True:
        lines = _wrap(value.replace("\r\n", "\n").replace("\r", "\n"), size, inner_w)
        fit = int(inner_h // (size * FIELD_LEAD))
        if len(lines) <= fit:
            return size, lines, False
        if size <= MIN_FIELD_SIZE:
            break
        size -= 0.5
    end = _wrap(note, size, inner_w)
    kept = lines[: max(fit - len(end), 0)]
    return size, kept + end, True


def _field_appearance(c: Canvas, w: float, h: float, multiline: bool, value: str, note: str) -> Any:
    """A text field's normal appearance: its box, and ``value`` set in the field font."""
    font = _fieldfont.field_font()
    ops = [
        f"{_rgb(FIELD_FILL)}\n0 0 {fp_str(w)} {fp_str(h)} re\nf",
        f"{_rgb(FIELD_BORDER).replace(' rg', ' RG')}\n0.75 w\n"
        f"0.375 0.375 {fp_str(w - 0.75)} {fp_str(h - 0.75)} re\ns",
        f"/Tx BMC\nq\n1 1 {fp_str(w - 2)} {fp_str(h - 2)} re\nW\nn",
    ]
    if value:
        size, lines, cut = field_layout(value, w, h, multiline, note)
        lead = size * FIELD_LEAD
        ascent = font.ascent * size / 1000
        y = h - FIELD_PAD - ascent if multiline else (h - size * 0.72) / 2
        ops.append(f"BT\n/{_fieldfont.NAME} {fp_str(size)} Tf\n{_rgb(INK)}")
        ops.append(f"{fp_str(FIELD_PAD)} {fp_str(y)} Td")
        for i, line in enumerate(lines):
            if cut and i == len(lines) - len(_wrap(note, size, w - 2 * FIELD_PAD)):
                ops.append(_rgb(MUTED))
            if i:
                ops.append(f"0 {fp_str(-lead)} Td")
            ops.append(f"<{font.encode(line).hex().upper()}> Tj")
        ops.append("ET")
    ops.append("Q\nEMC\n")
    resources = PDFDictionary({"Font": PDFDictionary({_fieldfont.NAME: _field_setup(c)})})
    return c.acroForm.makeStream(w, h, "\n".join(ops), Resources=resources)


def text_field(
    c: Canvas,
    name: str,
    tip: str,
    x: float,
    y: float,
    w: float,
    h: float,
    multiline: bool,
    value: str = "",
    note: str = "",
) -> None:
    """A text field whose appearance and /DA use the field font.

    A multi-line field's /DA says size 0, auto: a viewer making the appearance of what was
    typed shrinks a long answer to fit (pdf.js down to any size, PDFium to 4 pt, poppler by
    whole points) instead of cutting it off at the box's edge when printed.
    """
    _field_setup(c)
    cache = c._doc.__dict__.setdefault("_musforms_field_aps", {})
    key = (fp_str(w), fp_str(h), multiline, value, note)
    ap = cache.get(key)
    if ap is None:
        ap = cache[key] = c.acroForm.getRef(_field_appearance(c, w, h, multiline, value, note))
    size = 0 if multiline else FIELD_SIZE
    widget = PDFDictionary(
        {
            "Type": PDFName("Annot"),
            "Subtype": PDFName("Widget"),
            "FT": PDFName("Tx"),
            "T": PDFString(name),
            "TU": PDFString(tip),
            "V": PDFString(value),
            "DV": PDFString(value),
            "Ff": af.FieldFlag.MULTILINE if multiline else 0,
            "F": af.AnnotFlag.PRINT,
            "DA": PDFString(f"/{_fieldfont.NAME} {size} Tf {_rgb(INK)}"),
            "Rect": PDFArray([x, y, x + w, y + h]),
            "P": c._doc.thisPageRef(),
            "AP": PDFDictionary({"N": ap}),
            "BS": PDFDictionary({"W": 0.75, "S": PDFName("S")}),
            "MK": PDFDictionary(
                {
                    "BG": PDFArray(c.acroForm.colorTuple(FIELD_FILL)),
                    "BC": PDFArray(c.acroForm.colorTuple(FIELD_BORDER)),
                }
            ),
        }
    )
    c._addAnnotation(widget)
    c.acroForm.fields.append(c.acroForm.getRef(widget))


def _hidden_field(c: Canvas, name: str, value: str) -> None:
    """A hidden, read-only text field holding ``value`` exactly (any Unicode, UTF-16)."""
    form = c.acroForm
    ap = form.getRef(form.makeStream(1, 1, ""))
    widget = PDFDictionary(
        {
            "Type": PDFName("Annot"),
            "Subtype": PDFName("Widget"),
            "FT": PDFName("Tx"),
            "T": PDFString(name),
            "V": PDFString(value),
            "Ff": af.FieldFlag.READ_ONLY,
            "F": af.AnnotFlag.HIDDEN,
            "Rect": PDFArray([0, 0, 0, 0]),
            "P": c._doc.thisPageRef(),
            "AP": PDFDictionary({"N": ap}),
        }
    )
    c._addAnnotation(widget)
    form.fields.append(form.getRef(widget))


class PdfFormWriter(FormWriterBase):
    """Renders one question set in one language for any number of employees."""

    def _setup(self) -> None:
        if self.template is not None:
            raise ConfigError(_("a PDF form has no template of its own; the template is for Word"))
        self._templates: dict[tuple[Any, ...], _template.Template] = {}
        self._header_block: Block | None = None
        _fonts()
        self._logo = self._load_logo(self.organisation.logo)
        self._blocks = self._question_blocks()

    # --- once per question set -------------------------------------------------------

    @staticmethod
    def _load_logo(logo: str | None) -> ImageReader | None:
        if not logo:
            return None
        try:
            return ImageReader(logo)
        except Exception as exc:  # reportlab/PIL raise many kinds for a bad image
            raise ConfigError(
                _(
                    "the logo {logo} cannot be read as an image ({exc}); use a PNG or "
                    "JPEG file, or remove 'logo' from the settings"
                ).format(logo=logo, exc=exc)
            ) from exc

    def _t(self, key: str, **values: object) -> str:
        return texts.t(key, self.lang, **values)

    def _question_blocks(self, answers: Mapping[str, str] | None = None) -> list[Block]:
        """The questions' blocks; ``answers``: values the fields start with, by field name."""
        blocks: list[Block] = []
        number = 0
        for section in self.question_set.sections:
            b = _Builder()
            b.y += 8
            b.para(
                localize(section.title, self.lang), MARGIN_X, CONTENT_W, SANS_BOLD, 13, 17, ACCENT
            )
            b.y += 4
            b.rule(MARGIN_X, b.y, CONTENT_W, ACCENT, 0.8)
            b.y += 6
            if section.intro:
                b.para(localize(section.intro, self.lang), MARGIN_X, CONTENT_W, color=MUTED)
            b.y += 6
            blocks.append(b.block(keep_with_next=True))
            for question in section.questions:
                number += 1
                blocks.append(self._question(question, number, answers or {}))
        return blocks

    def _question(self, q: Question, number: int, answers: Mapping[str, str]) -> Block:
        b = _Builder()
        label = localize(q.label, self.lang)
        tip = f"{number}. {label}"
        if q.type == "checkbox":
            spec = fn.fields_for(q)[0]
            b.text(MARGIN_X, LABEL + 1, f"{number}.", SANS_BOLD, LABEL)
            b.checkbox(spec.name, FIELD_X, 1, tip)
            b.para(label, FIELD_X + BOX + 8, FIELD_W - BOX - 8, SANS_BOLD, LABEL, LABEL_LEAD)
            self._required(b, q, LABEL + 1)
            self._help(b, q, FIELD_X + BOX + 8)
            b.y += GAP
            return b.block()
        b.text(MARGIN_X, LABEL + 1, f"{number}.", SANS_BOLD, LABEL)
        tag_w = self._required(b, q, LABEL + 1)
        b.para(label, FIELD_X, FIELD_W - tag_w, SANS_BOLD, LABEL, LABEL_LEAD)
        self._help(b, q, FIELD_X)
        b.y += 5
        match q.type:
            case "textarea":
                value = answers.get(q.id, "")
                b.textfield(q.id, FIELD_X, b.y, FIELD_W, TEXTAREA_H, True, tip, value)
                b.y += TEXTAREA_H
            case "text":
                b.textfield(q.id, FIELD_X, b.y, FIELD_W, TEXT_H, False, tip, answers.get(q.id, ""))
                b.y += TEXT_H
            case "date":
                value = _date_text(answers.get(q.id))
                b.textfield(q.id, FIELD_X, b.y, 110, TEXT_H, False, tip, value)
                b.text(FIELD_X + 118, b.y + 13.5, self._t("date_hint"), SANS, HELP, MUTED)
                b.y += TEXT_H
            case "scale":
                self._scale(b, q, tip)
            case "choice":
                assert q.options is not None
                self._hint(b, "choose_one")
                options = [(localize(o.label, self.lang), o.id) for o in q.options]
                if len(options) >= DROPDOWN_MIN_OPTIONS:
                    placeholder = self._t("placeholder_choice")
                    b.dropdown(q.id, options, FIELD_X, b.y, min(FIELD_W, 300), tip, placeholder)
                    b.y += TEXT_H
                else:
                    for text, value in options:
                        b.radio(q.id, value, FIELD_X, b.y + 2, tip)
                        self._option_label(b, text)
            case "multichoice":
                self._hint(b, "choose_any")
                for spec, option in zip(fn.fields_for(q), q.options or [], strict=True):
                    text = localize(option.label, self.lang)
                    b.checkbox(spec.name, FIELD_X, b.y + 2, f"{tip} – {text}")
                    self._option_label(b, text)
            case "agreements":
                self._agreements(b, q, tip, answers)
        b.y += GAP
        return b.block()

    def _required(self, b: _Builder, q: Question, dy: float) -> float:
        """Mark a required question at the right edge; returns the width it takes."""
        if not q.required:
            return 0.0
        tag = self._t("required")
        b.text(PAGE_W - MARGIN_X, dy, tag, SANS, HELP, REQUIRED_INK, "right")
        return float(pdfmetrics.stringWidth(tag, SANS, HELP)) + 12

    def _hint(self, b: _Builder, key: str) -> None:
        """How many to choose ("vælg én", "vælg gerne flere"), above the options."""
        b.para(self._t(key), FIELD_X, FIELD_W, SANS, HELP, HELP_LEAD, MUTED)
        b.y += 1

    def _help(self, b: _Builder, q: Question, x: float) -> None:
        if q.help:
            b.y += 1
            b.para(
                localize(q.help, self.lang), x, PAGE_W - MARGIN_X - x, SANS, HELP, HELP_LEAD, MUTED
            )

    def _option_label(self, b: _Builder, text: str) -> None:
        x = FIELD_X + BOX + 7
        lines = simpleSplit(text, SANS, BODY, PAGE_W - MARGIN_X - x)
        for i, line in enumerate(lines):
            b.text(x, b.y + 12.5 + i * BODY_LEAD, line, SANS, BODY)
        b.y += max(ROW, 4 + len(lines) * BODY_LEAD)

    def _scale(self, b: _Builder, q: Question, tip: str) -> None:
        assert q.scale is not None
        values = q.scale.values()
        step = min(56.0, (FIELD_W - 80) / max(len(values) - 1, 1))
        x0 = FIELD_X + 34
        b.y += 2
        for i, value in enumerate(values):
            cx = x0 + i * step
            b.text(cx, b.y + 9, str(value), SANS, HELP, MUTED, "center")
            b.radio(q.id, str(value), cx - BOX / 2, b.y + 12, tip)
        b.y += 12 + BOX + 3
        lines = 0
        for i, value in enumerate(values):
            if value not in q.scale.labels:
                continue
            text = localize(q.scale.labels[value], self.lang)
            cx = x0 + i * step
            wrapped = simpleSplit(text, SANS, HELP, max(step * 1.6, 70))
            for n, line in enumerate(wrapped):
                b.text(cx, b.y + 9 + n * HELP_LEAD, line, SANS, HELP, MUTED, "center")
            lines = max(lines, len(wrapped))
        b.y += lines * HELP_LEAD

    def _agreements(self, b: _Builder, q: Question, tip: str, answers: Mapping[str, str]) -> None:
        assert q.rows is not None
        gap = 6.0
        what_w = FIELD_W * 0.55
        owner_w = FIELD_W * 0.2
        due_w = FIELD_W - what_w - owner_w - 2 * gap
        xs = (FIELD_X, FIELD_X + what_w + gap, FIELD_X + what_w + owner_w + 2 * gap)
        widths = (what_w, owner_w, due_w)
        heads = (self._t("what"), self._t("owner"), self._t("due"))
        for x, head in zip(xs, heads, strict=True):
            b.text(x + 2, b.y + 9, head, SANS_BOLD, HELP, MUTED)
        hint_x = xs[2] + 4 + pdfmetrics.stringWidth(heads[2], SANS_BOLD, HELP) + 4
        b.text(hint_x, b.y + 9, self._t("date_hint"), SANS, 7.5, MUTED)
        b.y += 14
        for row in range(1, q.rows + 1):
            for x, w, part, head in zip(xs, widths, fn.AGREEMENT_PARTS, heads, strict=True):
                name = fn.agreement_field(q.id, row, part)
                # The question and the cell: "8. Forslag til aftaler – Aftale 1, hvad".
                cell = f"{self._t('agreement')} {row}, {head.lower()}"
                value = answers.get(name, "")
                value = _date_text(value) if part == "due" else value
                b.textfield(name, x, b.y, w, TEXT_H, False, f"{tip} – {cell}", value)
            b.y += TEXT_H + 5

    # --- per employee ----------------------------------------------------------------

    _HEADER_VALUES = (
        fn.PREFILL_NAME,
        fn.PREFILL_DEPARTMENT,
        fn.PREFILL_MANAGER,
        fn.PREFILL_MEETING_DATE,
    )

    def _header(self, form: FormData, slots: list[str]) -> Block:
        """The header: laid out once per writer, its four values fitted per employee."""
        assert not slots  # the header's values are always the first slots
        col_w = (CONTENT_W - 24) / 2
        for name in self._HEADER_VALUES:
            slots.append(_fit(form.prefill.get(name, ""), SANS_BOLD, 10.5, col_w - 6) or "—")
        if self._header_block is None:
            self._header_block = self._header_layout()
        return self._header_block

    def _header_layout(self) -> Block:
        slots: list[str] = []
        b = _Builder(slots)
        org = self.organisation.name
        if self._logo is not None:
            iw, ih = self._logo.getSize()
            h = 36.0
            w = min(140.0, iw * h / ih)
            h = w * ih / iw
            logo = self._logo

            def draw_logo(c: Canvas, top: float) -> None:
                c.drawImage(logo, PAGE_W - MARGIN_X - w, top - h, w, h, mask="auto")

            b.ops.append(draw_logo)
            b.sig.append(("logo", w, h))
        if org:
            b.para(org.upper(), MARGIN_X, CONTENT_W - 150, SANS_BOLD, 8.5, 11, MUTED)
        b.y += 4
        title = localize(self.question_set.title, self.lang)
        b.para(title, MARGIN_X, CONTENT_W - (150 if self._logo else 0), SANS_BOLD, 18, 23, INK)
        b.y += 10
        rows = (
            (("name", fn.PREFILL_NAME), ("department", fn.PREFILL_DEPARTMENT)),
            (("manager", fn.PREFILL_MANAGER), ("meeting_date", fn.PREFILL_MEETING_DATE)),
        )
        box_top = b.y
        box_h = 2 * 30 + 12
        b.rect(MARGIN_X, box_top, CONTENT_W, box_h, HEADER_FILL, False)
        col_w = (CONTENT_W - 24) / 2
        for r, row in enumerate(rows):
            for col, (key, name) in enumerate(row):
                x = MARGIN_X + 12 + col * (col_w + 12) if col else MARGIN_X + 12
                dy = box_top + 6 + r * 30
                b.text(x, dy + 9, self._t(key), SANS, 7.8, MUTED)
                assert name == self._HEADER_VALUES[len(slots)]
                b.text(x, dy + 23, name, SANS_BOLD, 10.5, INK, personal=True)
        b.y = box_top + box_h + 12
        if self.question_set.intro:
            b.para(localize(self.question_set.intro, self.lang), MARGIN_X, CONTENT_W)
            b.y += 3
        b.para(self._t("how_to"), MARGIN_X, CONTENT_W, color=MUTED)
        b.y += 10
        return b.block()

    def _preparation(self, form: FormData, slots: list[str]) -> list[Block]:
        """A conclusion form's copy of the employee's preparation, as page text (its value
        is in the signed, read-only ``mf_preparation`` field): a block per line, so a long
        one runs on over the pages."""
        text = form.prefill.get(fn.PREFILL_PREPARATION)
        if not text:
            return []
        b = _Builder(slots, True)
        b.y += 8
        b.para(self._t("preparation_title"), MARGIN_X, CONTENT_W, SANS_BOLD, 13, 17, ACCENT)
        b.y += 4
        b.rule(MARGIN_X, b.y, CONTENT_W, ACCENT, 0.8)
        b.y += 6
        b.para(self._t("preparation_intro"), MARGIN_X, CONTENT_W, color=MUTED)
        b.y += 4
        blocks = [b.block(keep_with_next=True)]
        for line in text.split("\n"):
            b = _Builder(slots, True)
            if line.strip():
                b.para(line, MARGIN_X, CONTENT_W, personal=True)
            else:
                b.y += BODY_LEAD / 2
            blocks.append(b.block())
        b = _Builder(slots, True)
        b.y += GAP
        blocks.append(b.block())
        return blocks

    def _previous(self, form: FormData, slots: list[str], direct: bool = False) -> list[Block]:
        if not form.previous_agreements:
            return []
        b = _Builder(slots, direct)
        b.y += 8
        title, intro = texts.previous_heading(form.identity.kind == "checkin")
        b.para(self._t(title), MARGIN_X, CONTENT_W, SANS_BOLD, 13, 17, ACCENT)
        b.y += 4
        b.rule(MARGIN_X, b.y, CONTENT_W, ACCENT, 0.8)
        b.y += 6
        b.para(self._t(intro), MARGIN_X, CONTENT_W, color=MUTED)
        b.y += 6
        blocks = [b.block(keep_with_next=True)]
        statuses = texts.AGREEMENT_STATUSES
        for row, _agreement in enumerate(form.previous_agreements, start=1):
            b = _Builder(slots, direct)
            what = form.prefill.get(fn.previous_field(row, "what"), "")
            owner = form.prefill.get(fn.previous_field(row, "owner"), "") or "—"
            due = form.prefill.get(fn.previous_field(row, "due"), "") or "—"
            # Lettered (A, B …): the questions below are numbered from 1.
            b.text(MARGIN_X, LABEL + 1, f"{letter(row)}.", SANS_BOLD, LABEL, ACCENT)
            b.para(what, FIELD_X, FIELD_W, SANS_BOLD, LABEL, LABEL_LEAD, personal=True)
            meta = f"{self._t('owner')}: {owner}  ·  {self._t('due')}: {due}"
            b.para(meta, FIELD_X, FIELD_W, SANS, HELP, HELP_LEAD, MUTED, personal=True)
            latest = form.prefill.get(fn.previous_field(row, fn.PREVIOUS_LATEST))
            if latest is not None:  # the status and comment a check-in gave it, if any
                line = f"{self._t('latest_status')}: {latest or '—'}"
                b.para(line, FIELD_X, FIELD_W, SANS, HELP, HELP_LEAD, MUTED, personal=True)
            b.y += 5
            tip = b.mark(f"{self._t('status')}: {what}")
            b.text(FIELD_X, b.y + 10.5, self._t("status"), SANS, HELP, MUTED)
            x = FIELD_X + 70
            for status in statuses:
                label = texts.status_label(status, self.lang)
                b.radio(fn.previous_status_field(row), status, x, b.y, tip)
                b.text(x + BOX + 5, b.y + 10.5, label, SANS, BODY)
                x += BOX + 5 + pdfmetrics.stringWidth(label, SANS, BODY) + 22
            b.y += ROW + 2
            b.text(FIELD_X, b.y + 9, self._t("comment"), SANS, HELP, MUTED)
            b.y += 12
            name = fn.previous_comment_field(row)
            b.textfield(
                name,
                FIELD_X,
                b.y,
                FIELD_W,
                COMMENT_H,
                True,
                b.mark(f"{self._t('comment')}: {what}"),
            )
            b.y += COMMENT_H + GAP
            blocks.append(b.block())
        return blocks

    @staticmethod
    def _paginate(blocks: Sequence[Block]) -> list[list[tuple[Block, float]]]:
        usable_top = PAGE_H - MARGIN_TOP
        pages: list[list[tuple[Block, float]]] = [[]]
        top = usable_top
        i = 0
        while i < len(blocks):
            # A title stays with the block after it.
            group = [blocks[i]]
            while group[-1].keep_with_next and i + len(group) < len(blocks):
                group.append(blocks[i + len(group)])
            need = sum(g.height for g in group)
            if top - need < MARGIN_BOTTOM and pages[-1]:
                pages.append([])
                top = usable_top
            for g in group:
                pages[-1].append((g, top))
                top -= g.height
            i += len(group)
        return pages

    def render(self, form: FormData) -> bytes:
        """The filled-in-by-nobody PDF form for one employee.

        The layout is rendered by reportlab once per distinct shape (the same for everyone
        without last cycle's agreements) and personalised per employee; see _template.py.
        With the fast paths off, reportlab renders this form alone (:meth:`render_direct`).
        """
        if not fastpath.enabled() or form.answers or form.prefill.get(fn.PREFILL_PREPARATION):
            # A conclusion form (answers filled in, the preparation shown) is laid out for
            # its employee alone: there are few of them, and each differs in length.
            return self.render_direct(form)
        slots: list[str] = []
        personal = [self._header(form, slots), *self._previous(form, slots)]
        code = f"{self._t('form_code')} {form.form_code}"
        values = [*slots, code, form.token, *form.prefill.values()]
        # Slots also hold tooltips, whose letters are those of the drawn agreements.
        drawn = set("".join(slots))
        drawn.update(code)
        extra = "".join(sorted(drawn - _BASE_CHARS))
        key = (tuple(b.sig for b in personal), tuple(form.prefill), extra)
        template = self._templates.get(key)
        if template is None:
            template = self._build_template(
                [*personal, *self._blocks], len(slots), list(form.prefill), extra
            )
            if len(self._templates) >= MAX_TEMPLATES:
                self._templates.pop(next(iter(self._templates)))
            self._templates[key] = template
        date = _template.literal(self._date().encode("ascii"))
        info = {key: _template.text_string(value) for key, value in self._info(form).items()}
        info.update(CreationDate=date, ModDate=date, Trapped=b"/False")
        # In the order reportlab's own writes them, musforms' identity last.
        order = sorted(info, key=lambda key: (key == af.INFO_IDENTITY[1:], key))
        title = self._info(form)["Title"]
        metadata = tagging.xmp(title, LANGUAGE_TAGS[self.lang], PDFInfo.producer, "musforms")
        return template.fill(
            values, {key: info[key] for key in order}, form.identity.form_id, metadata
        )

    def _tagged(self, pdf: bytes, form: FormData) -> bytes:
        """``pdf`` tagged for screen readers and keyboards (see tagging.py)."""
        title = self._info(form)["Title"]
        return tagging.tag_pdf(pdf, lang=LANGUAGE_TAGS[self.lang], title=title)

    def _date(self) -> str:
        """The files' creation date as PDF writes dates: ``D:20261123130000+00'00'``."""
        return self.created.astimezone(dt.UTC).strftime("D:%Y%m%d%H%M%S+00'00'")

    def _info(self, form: FormData) -> dict[str, str]:
        """The document information's text entries (the dates and /Trapped aside)."""
        title = localize(self.question_set.title, self.lang)
        return {
            "Author": self.organisation.name or "musforms",
            "Creator": "musforms",
            "Keywords": form.form_code,
            "Producer": PDFInfo.producer,
            "Subject": form.form_code,
            "Title": f"{title} – {form.employee.name}",
            af.INFO_IDENTITY[1:]: form.token,
        }

    def render_direct(self, form: FormData) -> bytes:
        """The same form as :meth:`render`, every value drawn by reportlab's canvas.

        The library twin of the template: the same blocks and pagination, the personal text
        drawn in place and the personal strings written into the field dictionaries by
        reportlab, with nothing cut out of its output or put back.
        """
        slots: list[str] = []
        questions = self._question_blocks(form.answers) if form.answers else self._blocks
        blocks = [
            self._header(form, slots),
            *self._preparation(form, slots),
            *self._previous(form, slots, True),
            *questions,
        ]
        pages = self._paginate(blocks)
        code = f"{self._t('form_code')} {form.form_code}"
        buf = io.BytesIO()
        c = Canvas(buf, pagesize=A4, pageCompression=1, invariant=1)
        c._doc.info = _Info(self._info(form), self._date())
        for number, on_page in enumerate(pages, start=1):
            if number == 1:
                _hidden_field(c, fn.IDENTITY, form.token)
                for name, value in form.prefill.items():
                    _hidden_field(c, name, value)
            for block, top in on_page:
                for op in block.ops:
                    if isinstance(op, _Personal):
                        op.draw(c, top, slots[op.slot])
                    else:
                        op(c, top)
            self._footer(c, number, len(pages))
            c.setFont(SANS, 8)
            c.setFillColor(MUTED)
            c.drawString(MARGIN_X, FOOTER_Y, code)
            c.showPage()
        c.save()
        return self._tagged(buf.getvalue(), form)

    def _build_template(
        self, blocks: list[Block], n_slots: int, prefill: list[str], extra: str
    ) -> _template.Template:
        """Render ``blocks`` with reportlab, personal values left as slots."""
        pages = self._paginate(blocks)
        code_slot, token_slot = n_slots, n_slots + 1
        buf = io.BytesIO()
        c = Canvas(buf, pagesize=A4, pageCompression=1, invariant=1)
        fonts = {}
        for name in (SANS, SANS_BOLD):
            font = pdfmetrics.getFont(name)
            font.splitString(_template.PERSONAL_CHARS + extra, c._doc)
            resource = font.getSubsetInternalName(0, c._doc)
            state = font.state[c._doc]
            fonts[name] = (resource.split("+")[0], state)
        placed: list[_template.PlacedText] = []
        for number, on_page in enumerate(pages, start=1):
            if number == 1:
                _hidden_field(c, fn.IDENTITY, _template.marker(token_slot))
                for i, name in enumerate(prefill):
                    _hidden_field(c, name, _template.marker(token_slot + 1 + i))
            for block, top in on_page:
                for op in block.ops:
                    if isinstance(op, _Personal):
                        placed.append(
                            self._placed(
                                number - 1, op.x, top - op.dy, op.font, op.size, op.color, op.slot
                            )
                        )
                    else:
                        op(c, top)
            self._footer(c, number, len(pages))
            placed.append(self._placed(number - 1, MARGIN_X, FOOTER_Y, SANS, 8, MUTED, code_slot))
            c.showPage()
        codes = {
            name: _template.FontCodes(resource, dict(state.assignments))
            for name, (resource, state) in fonts.items()
        }
        c.save()
        # Tagged once, with markers for every value: each form is then the template filled.
        untagged = _template.Template(buf.getvalue(), placed, codes)
        markers = [_template.marker(i) for i in range(token_slot + 1 + len(prefill))]
        tagged, marks = tagging.tag_template(
            untagged.fill(markers, {}, "template"), lang=LANGUAGE_TAGS[self.lang]
        )
        return _template.Template(tagged, placed, codes, marks)

    @staticmethod
    def _placed(
        page: int, x: float, y: float, font: str, size: float, color: Color, slot: int
    ) -> _template.PlacedText:
        rgb = (float(color.red), float(color.green), float(color.blue))
        return _template.PlacedText(page, x, y, font, size, rgb, slot)

    def _footer(self, c: Canvas, page: int, pages: int) -> None:
        """The footer but its form code, which is personal."""
        y = FOOTER_Y
        c.setStrokeColor(RULE)
        c.setLineWidth(0.6)
        c.line(MARGIN_X, y + 12, PAGE_W - MARGIN_X, y + 12)
        c.setFont(SANS, 8)
        c.setFillColor(MUTED)
        c.drawCentredString(PAGE_W / 2, y, self._t("confidential"))
        c.drawRightString(PAGE_W - MARGIN_X, y, self._t("page", page=page, pages=pages))


class _Info(PDFInfo):  # type: ignore[misc]  # reportlab ships no type hints
    """reportlab's document information with musforms' own entries: every entry of
    :meth:`PdfFormWriter._info`, and one date for both /CreationDate and /ModDate."""

    def __init__(self, entries: dict[str, str], date: str) -> None:
        super().__init__()
        self.entries = entries
        self.date = date

    def format(self, document: Any) -> bytes:
        values: dict[str, Any] = {k: PDFString(v) for k, v in self.entries.items()}
        values.update(
            CreationDate=PDFString(self.date),
            ModDate=PDFString(self.date),
            Trapped=PDFName(self.trapped),
        )
        return bytes(PDFDictionary(values).format(document))


def _date_text(value: str | None) -> str:
    """An ISO date as a form shows it (dd-mm-åååå); anything else as it is."""
    if not value:
        return ""
    try:
        return dt.date.fromisoformat(value).strftime("%d-%m-%Y")
    except ValueError:
        return value


def letter(row: int) -> str:
    """Row 1 as A, 26 as Z, 27 as AA: how last cycle's agreements are marked."""
    out = ""
    while row > 0:
        row, rest = divmod(row - 1, 26)
        out = chr(ord("A") + rest) + out
    return out


def _fit(text: str, font: str, size: float, width: float) -> str:
    """``text`` on one line, shortened with an ellipsis when it is wider than ``width``."""
    if pdfmetrics.stringWidth(text, font, size) <= width:
        return text
    while text and pdfmetrics.stringWidth(text + "…", font, size) > width:
        text = text[:-1]
    return text.rstrip() + "…"


def write_pdf(form: FormData, path: Path) -> None:
    """Write ``form`` as a fillable PDF to ``path`` (atomically, readable by the owner only)."""
    writer = PdfFormWriter(form.question_set, form.lang, form.organisation)
    write_bytes(path, writer.render(form))
