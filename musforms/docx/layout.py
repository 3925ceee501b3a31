"""What the Word form shows, shared by the writer and the reader.

The order of the controls, the drop-down display texts and the placeholders are decided here
once, so a reader that has lost the tags (or the controls) can find the answers where the
writer put them.
"""

from __future__ import annotations

from musforms import fieldnames as fn
from musforms import texts
from musforms.conclusion import is_conclusion_set
from musforms.models import LANGUAGES, Question, QuestionSet, localize

PREFILL_FIELDS = (
    fn.PREFILL_NAME,
    fn.PREFILL_DEPARTMENT,
    fn.PREFILL_MANAGER,
    fn.PREFILL_MEETING_DATE,
)
PREFILL_LABELS = {
    fn.PREFILL_NAME: "name",
    fn.PREFILL_DEPARTMENT: "department",
    fn.PREFILL_MANAGER: "manager",
    fn.PREFILL_MEETING_DATE: "meeting_date",
}
PREVIOUS_PARTS = ("what", "owner", "due")
# What an empty prefilled control shows (it carries w:showingPlcHdr as well).
EMPTY_PREFILL = "–"
IDENTITY_PROPERTY = "musforms_identity"


def previous_row_fields(row: int, latest: bool = True) -> list[str]:
    """The controls of one of last cycle's agreements, in the order the form shows them:
    what (with its latest status under it, in the same cell), who, by when, the status and
    the comment. ``latest``: forms issued before musforms showed the latest status have no
    control for it."""
    names = [fn.previous_field(row, "what")]
    if latest:
        names.append(fn.previous_field(row, fn.PREVIOUS_LATEST))
    names += [fn.previous_field(row, part) for part in PREVIOUS_PARTS[1:]]
    return [*names, fn.previous_status_field(row), fn.previous_comment_field(row)]


def field_order(
    qs: QuestionSet, previous_count: int, identity: bool = True, latest: bool = True
) -> list[str]:
    """Every control of a Word form, in document order: the writer lays them out this way.

    ``identity``: with the identity's control, last. Since the identity is hidden text, a PDF
    exported from the form with its fields (LibreOffice's "Create PDF form") has none for it;
    forms issued before show it, and have one. ``latest``: see :func:`previous_row_fields`."""
    names = list(PREFILL_FIELDS)
    if is_conclusion_set(qs):
        names.append(fn.PREFILL_PREPARATION)
    for row in range(1, previous_count + 1):
        names.extend(previous_row_fields(row, latest))
    names.extend(spec.name for spec in fn.all_fields(qs))
    if identity:
        names.append(fn.IDENTITY)
    return names


def previous_count_for(
    qs: QuestionSet, control_count: int, identity: bool = True, latest: bool = True
) -> int | None:
    """How many previous agreements a form with ``control_count`` controls carries, if any fit."""
    rest = control_count - len(field_order(qs, 0, identity))
    per_row = len(previous_row_fields(1, latest))
    if rest < 0 or rest % per_row:
        return None
    return rest // per_row


def field_orders(qs: QuestionSet, control_count: int, identity: bool = True) -> list[list[str]]:
    """The control orders a Word form with ``control_count`` controls may have: with each
    previous agreement's latest status (the forms musforms writes) first, then without (forms
    issued before it showed one). A reader takes the first whose kinds fit."""
    orders: list[list[str]] = []
    for latest in (True, False):
        count = previous_count_for(qs, control_count, identity, latest)
        if count is not None:
            order = field_order(qs, count, identity, latest)
            if order not in orders:
                orders.append(order)
    return orders


def scale_display(value: int, label: str) -> str:
    return f"{value} – {label}" if label else str(value)


def dropdown_items(question: Question, lang: str) -> list[tuple[str, str]]:
    """``(value, display text)`` of a scale or choice drop-down."""
    if question.type == "scale":
        assert question.scale is not None
        labels = question.scale.labels
        return [
            (str(v), scale_display(v, localize(labels.get(v), lang)))
            for v in question.scale.values()
        ]
    return [(o.id, localize(o.label, lang)) for o in question.options or []]


def status_items(lang: str) -> list[tuple[str, str]]:
    return [(s, texts.status_label(s, lang)) for s in texts.AGREEMENT_STATUSES]


def placeholders() -> set[str]:
    """Every placeholder text a form may show, in every language."""
    out = {EMPTY_PREFILL}
    for lang in LANGUAGES:
        for key in ("placeholder_text", "placeholder_choice", "placeholder_date", "date_hint"):
            out.add(texts.t(key, lang))
    return out


def display_to_value(items_by_lang: list[list[tuple[str, str]]], text: str) -> str | None:
    """The value whose display text (in any language) is ``text``."""
    wanted = text.strip()
    for items in items_by_lang:
        for value, display in items:
            if display.strip() == wanted or value == wanted:
                return value
    return None
