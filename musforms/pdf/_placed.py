"""Where each widget of a PDF form sits: its page, rectangle, kind and value.

A returned file whose fields were renamed, or whose fields are gone, is read against the
issued form by position; this is the one place that lists a form's widgets that way, for the
returned file and for the issued one alike.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Literal

import pikepdf
from pikepdf import Array, Dictionary, Name, Stream, String

from musforms.models import RawValue
from musforms.pdf._acroform import OFF, Annot, AnnotFlag, Field, FieldFlag, FieldType

Kind = Literal["text", "checkbox", "radio", "choice"]
Rect = tuple[float, float, float, float]  # x0, y0, x1, y1 in PDF points, y up

MAX_PARENT_DEPTH = 32
# A checkbox's state when it is not ticked: /Off, and the empty-box glyph LibreOffice names
# the off-state of a Word checkbox after.
_UNTICKED = (None, "", "Off", "\u2610")


@dataclass(frozen=True)
class Placed:
    """One widget: its field's full name, kind, page (from 0), rectangle and value.

    ``value``: text and choice → the field's text (None when empty); checkbox → ticked;
    radio → this kid's on-state when it is the chosen one, else None. ``on`` is a button's
    on-state name (its export value), ``options`` a choice's (export, shown) pairs.
    """

    name: str
    kind: Kind
    page: int
    rect: Rect
    value: RawValue
    on: str | None = None
    hidden: bool = False
    multiline: bool = False
    options: tuple[tuple[str, str], ...] = ()
    auto_size: bool = False  # its text is drawn at the size that fits (font size 0 in /DA)

    @property
    def area(self) -> float:
        x0, y0, x1, y1 = self.rect
        return max(0.0, x1 - x0) * max(0.0, y1 - y0)


def overlap(a: Rect, b: Rect) -> float:
    """How much two rectangles cover each other: intersection over union, 0 to 1."""
    w = min(a[2], b[2]) - max(a[0], b[0])
    h = min(a[3], b[3]) - max(a[1], b[1])
    if w <= 0 or h <= 0:
        return 0.0
    inter = w * h
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def _text(value: Any) -> str | None:
    if isinstance(value, String):
        return str(value)
    if isinstance(value, Name):
        try:
            return str(value)[1:]
        except UnicodeDecodeError:
            return None
    if isinstance(value, str | int | Decimal):
        return str(value)
    return None


def _chain(widget: Any) -> list[Any]:
    chain = [widget]
    node = widget
    for _ in range(MAX_PARENT_DEPTH):
        parent = node.get(Annot.PARENT)
        if not isinstance(parent, Dictionary):
            break
        chain.append(parent)
        node = parent
    return chain


def _inherited(chain: list[Any], key: str) -> Any:
    for node in chain:
        if key in node:
            return node[key]
    return None


def _rect(value: Any) -> Rect | None:
    if not isinstance(value, Array) or len(value) != 4:
        return None
    try:
        x0, y0, x1, y1 = (float(v) for v in value)
    except (TypeError, ValueError):
        return None
    return min(x0, x1), min(y0, y1), max(x0, x1), max(y0, y1)


def _on_state(widget: Any) -> str | None:
    ap = widget.get(Annot.AP)
    normal = ap.get(Annot.N) if isinstance(ap, Dictionary) else None
    if not isinstance(normal, Dictionary | Stream):
        return None
    for key in normal.keys():  # noqa: SIM118 - pikepdf dictionaries iterate this way
        if key != OFF:
            return key[1:]
    return None


def _options(value: Any) -> tuple[tuple[str, str], ...]:
    if not isinstance(value, Array):
        return ()
    out = []
    for item in value:
        if isinstance(item, Array) and len(item) >= 2:
            export, shown = _text(item[0]), _text(item[1])
        else:
            export = shown = _text(item)
        if export is not None:
            out.append((export, shown or export))
    return tuple(out)


def placed(pdf: pikepdf.Pdf, limit: int) -> list[Placed]:
    """Every widget on the pages of ``pdf``, page by page in /Annots order (at most
    ``limit``)."""
    return list(_iter(pdf, limit))


def _iter(pdf: pikepdf.Pdf, limit: int) -> Iterator[Placed]:
    count = 0
    for number, page in enumerate(pdf.pages):
        annots = page.obj.get(Annot.ANNOTS)
        if not isinstance(annots, Array):
            continue
        for annot in annots:
            if not isinstance(annot, Dictionary) or annot.get(Annot.SUBTYPE) != Annot.WIDGET:
                continue
            count += 1
            if count > limit:
                return
            found = _one(annot, number)
            if found is not None:
                yield found


def _one(annot: Any, page: int) -> Placed | None:
    chain = _chain(annot)
    names = [_text(n[Field.T]) or "" for n in chain if Field.T in n]
    name = ".".join(reversed(names))
    rect = _rect(annot.get(Annot.RECT))
    if rect is None:
        return None
    ft = _inherited(chain, Field.FT)
    flags_value = _inherited(chain, Field.FF)
    flags = int(flags_value) if isinstance(flags_value, int | Decimal) else 0
    f_value = annot.get(Annot.F)
    hidden = bool(int(f_value) & AnnotFlag.HIDDEN) if isinstance(f_value, int | Decimal) else False
    hidden = hidden or rect[2] - rect[0] < 1 or rect[3] - rect[1] < 1
    value = _inherited(chain, Field.V)
    if ft == FieldType.TEXT:
        if isinstance(value, Array):
            text: str | None = "\n".join(_text(v) or "" for v in value)
        else:
            text = _text(value)
        if text is not None:
            text = text.replace("\r\n", "\n").replace("\r", "\n")
            text = text if text.strip() else None
        multiline = bool(flags & FieldFlag.MULTILINE)
        da = _text(_inherited(chain, "/DA")) or ""
        auto = bool(re.search(r"(?:^|\s)0(?:\.0*)?\s+Tf", da))
        return Placed(
            name, "text", page, rect, text, hidden=hidden, multiline=multiline, auto_size=auto
        )
    if ft == FieldType.CHOICE:
        if isinstance(value, Array):
            value = value[0] if len(value) else None
        options = _options(_inherited(chain, Field.OPT))
        text = _text(value) or None
        return Placed(name, "choice", page, rect, text, hidden=hidden, options=options)
    if ft == FieldType.BUTTON and not flags & FieldFlag.PUSH_BUTTON:
        on = _on_state(annot)
        state = _text(annot.get(Annot.AS))
        radio = bool(flags & FieldFlag.RADIO)
        if radio:
            chosen = state if state and state != OFF[1:] else None
            return Placed(name, "radio", page, rect, chosen, on, hidden)
        if state is None:
            state = _text(value)
        return Placed(name, "checkbox", page, rect, state not in _UNTICKED, on, hidden)
    return None


def issued_widgets(path: Any, limit: int) -> list[Placed]:
    """The widgets of the issued form at ``path`` (as generate wrote it)."""
    with pikepdf.open(path) as pdf:
        return placed(pdf, limit)
