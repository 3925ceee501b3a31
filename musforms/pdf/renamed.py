"""A returned PDF whose form fields are all there but renamed: give each its musforms name.

Two ways, both exact (the values still come from the field dictionaries):

- **By position**, against the issued PDF form: a returned widget is the issued widget on the
  same page, of the same kind, that its rectangle covers most. A tool that re-saves the PDF
  form under its own field names keeps where each field is.
- **By order**, for a Word form exported to PDF with its fields (LibreOffice's "Export as
  PDF" with "Create PDF form" names them ``Widget``, ``_2``, ``_3``… in document order): the
  Word form's layout is no file collect has, but its controls come in an order fixed by
  ``musforms.docx.layout`` and each keeps its kind (text, drop-down, checkbox), so the
  returned widgets are matched to that order and their kinds checked one by one.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from musforms import fieldnames as fn
from musforms.docx import layout
from musforms.models import LANGUAGES, QuestionSet, RawValue
from musforms.pdf._placed import Kind, Placed, overlap

__all__ = ["by_order", "by_position", "find_token"]

MIN_OVERLAP = 0.5  # of a returned widget's rectangle with the issued one it is taken for
TOKEN_RE = re.compile(r"MF1\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+")


def find_token(widgets: Sequence[Placed]) -> str | None:
    """The identity token when a renamed field still holds it as its value."""
    for w in widgets:
        if isinstance(w.value, str):
            m = TOKEN_RE.fullmatch(w.value.strip())
            if m:
                return m.group(0)
    return None


def by_position(returned: Sequence[Placed], issued: Sequence[Placed]) -> dict[str, RawValue] | None:
    """The raw values by musforms name, each returned widget matched to the issued widget
    it lies on; None when the returned widgets do not lie on the issued form's (most of the
    issued answer widgets must be found, and no returned widget may be left over)."""
    answers = [w for w in issued if not w.hidden and not fn.is_reserved(w.name)]
    if not answers:
        return None
    out: dict[str, RawValue] = {}
    for w in issued:  # every field, as a freshly issued form reads
        out.setdefault(w.name, False if w.kind == "checkbox" else None)
    # Hidden widgets (the identity and the prefilled values, kept in fields of no size) have
    # no place to match: they are taken in their order, when the same number are there.
    hidden = [w for w in issued if w.hidden]
    hidden_returned = [r for r in returned if r.hidden]
    if len(hidden) == len(hidden_returned):
        for r, w in zip(hidden_returned, hidden, strict=True):
            if r.kind == w.kind:
                out[w.name] = r.value
    matched = 0
    used: set[int] = set()
    for r in returned:
        if r.hidden:
            continue
        best, best_i = 0.0, -1
        for i, w in enumerate(issued):
            if w.page != r.page or w.kind != r.kind or w.hidden or i in used:
                continue
            score = overlap(r.rect, w.rect)
            if score > best:
                best, best_i = score, i
        if best < MIN_OVERLAP:
            return None  # a widget the issued form does not have there
        used.add(best_i)
        w = issued[best_i]
        matched += 1
        if w.kind == "radio":
            if r.value is not None and w.on is not None:
                out[w.name] = w.on
        elif w.kind == "choice":
            out[w.name] = _choice_export(r.value, w.options)
        else:
            out[w.name] = r.value
    if matched < 0.9 * len(answers):
        return None
    return out


def _choice_export(value: RawValue, options: Sequence[tuple[str, str]]) -> RawValue:
    if not isinstance(value, str):
        return None
    for export, _shown in options:
        if value == export:
            return export
    for export, shown in options:
        if value == shown:
            return export
    return value


# What kind of widget each kind of Word control becomes in LibreOffice's PDF export.
_WIDGET_KIND: dict[str, Kind] = {
    "text": "text",
    "multiline": "text",
    "date": "text",
    "checkbox": "checkbox",
    "radio": "choice",  # a scale or choice is a drop-down in the Word form
}


def _ordered(returned: Sequence[Placed]) -> list[Placed]:
    """The widgets in document order: LibreOffice numbers its names in that order
    (``Widget``, ``_2``, ``_3``…), which /Annots does not keep where a table row spans pages."""
    numbers: list[int] = []
    for w in returned:
        if w.name == "Widget":
            numbers.append(1)
        elif re.fullmatch(r"_\d{1,6}", w.name):
            numbers.append(int(w.name[1:]))
        else:
            return list(returned)
    if len(set(numbers)) != len(numbers):
        return list(returned)
    return [w for _, w in sorted(zip(numbers, returned, strict=True), key=lambda p: p[0])]


def by_order(returned: Sequence[Placed], qs: QuestionSet) -> dict[str, RawValue] | None:
    """The raw values of a Word form exported to PDF, matched to the Word form's control
    order and checked kind by kind; None when the widgets do not fit that order."""
    widgets = [w for w in _ordered(returned) if not w.hidden]
    # A form issued with its identity shown exports a field for it; one where it is hidden
    # text exports none. Its previous agreements show their latest status or not
    # (layout.field_orders). The first order whose kinds fit is taken.
    for identity in (True, False):
        for names in layout.field_orders(qs, len(widgets), identity):
            out = _in_order(widgets, names, qs)
            if out is not None:
                return out
    return None


def _in_order(
    widgets: Sequence[Placed], names: list[str], qs: QuestionSet
) -> dict[str, RawValue] | None:
    specs = fn.spec_by_name(qs)
    questions = {q.id: q for q in qs.questions()}
    placeholders = layout.placeholders()
    out: dict[str, RawValue] = {}
    for name, w in zip(names, widgets, strict=True):
        if name in specs:
            spec = specs[name]
            kind: Kind = _WIDGET_KIND[spec.kind]
        elif name.startswith(fn.PREVIOUS_STATUS):
            kind = "choice"
        else:
            kind = "text"  # the prefilled values, last year's comments, the identity
        if w.kind != kind:
            return None
        value = w.value
        if isinstance(value, str):
            value = value if value.strip() and value.strip() not in placeholders else None
        if kind == "choice" and isinstance(value, str):
            if name in specs:
                q = questions[specs[name].question]
                items = [layout.dropdown_items(q, lg) for lg in LANGUAGES]
            else:
                items = [layout.status_items(lg) for lg in LANGUAGES]
            value = layout.display_to_value(items, value) or value
        out[name] = value
    return out
