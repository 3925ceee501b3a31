"""Raw field values (from any reader) → typed answers, agreements and problems.

One interpreter for every format: a PDF and a Word form with the same answers give the
same response. Types per the response contract (docs/ARCHITECTURE.md): text → str with
``\\n``; scale → int; choice → option id; multichoice → list of option ids; checkbox →
bool; date → ISO date; unanswered → absent. A date that cannot be read is null, and its text
as typed goes into ``typed`` (an agreement's into its ``due_typed``), with a problem.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from musforms import fieldnames as fn
from musforms.dates import parse_date
from musforms.i18n import _
from musforms.models import AgreementStatus, Problem, Question, QuestionSet, RawValue, localize
from musforms.response import (
    AnswerValue,
    ResponseAgreement,
    ResponsePreviousAgreement,
)
from musforms.texts import AGREEMENT_STATUSES, status_label

_PREV_ROW = re.compile(rf"^{fn.PREVIOUS}{fn.SEP}(\d+){fn.SEP}(what|owner|due)$")
_STATUS_ROW = re.compile(rf"^{fn.PREVIOUS_STATUS}{fn.SEP}(\d+)$")
_COMMENT_ROW = re.compile(rf"^{fn.PREVIOUS_COMMENT}{fn.SEP}(\d+)$")


@dataclass
class Interpreted:
    answers: dict[str, AnswerValue] = field(default_factory=dict)
    typed: dict[str, str] = field(default_factory=dict)  # question id → unreadable text
    agreements: list[ResponseAgreement] = field(default_factory=list)
    previous_agreements: list[ResponsePreviousAgreement] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)


def _text(value: RawValue) -> str | None:
    """Text as typed, line breaks normalised; blank counts as unanswered."""
    if value is None or isinstance(value, bool):
        return None
    text = value.replace("\r\n", "\n").replace("\r", "\n")
    return text if text.strip() else None


def _truthy(value: RawValue) -> bool:
    if isinstance(value, bool):
        return value
    if value is None:
        return False
    return value.strip().lower() in {"1", "true", "yes", "ja", "on", "x", "☒", "☑"}


def _label(q: Question, lang: str) -> str:
    return localize(q.label, lang)


def _choice(q: Question, raw: str, lang: str) -> str | None:
    """An option id from its id or, when a layout was read, its visible label."""
    wanted = raw.strip()
    ids = q.option_ids()
    if wanted in ids:
        return wanted
    folded = wanted.casefold()
    for opt in q.options or []:
        if folded in {v.casefold() for v in opt.label.values()}:
            return opt.id
    return None


def _scale(q: Question, raw: str) -> int | None:
    assert q.scale is not None
    m = re.match(r"^\s*(-?\d+)", raw)  # "4", or a display text like "4 – Enig"
    if not m:
        return None
    value = int(m.group(1))
    return value if q.scale.min <= value <= q.scale.max else None


def _note(problems: list[Problem], code: str, question: str | None, message: str) -> None:
    problems.append(Problem(code=code, question=question, message=message))


@dataclass(frozen=True)
class _Date:
    """A date answer: the date, or the text as typed when it is none."""

    value: dt.date | None = None
    typed: str | None = None

    @property
    def blank(self) -> bool:
        return self.value is None and self.typed is None


def _date(raw: RawValue, q: Question, lang: str, problems: list[Problem], where: str) -> _Date:
    text = _text(raw)
    if text is None:
        return _Date()
    try:
        return _Date(parse_date(text))
    except ValueError as exc:
        _note(
            problems,
            "bad_date",
            q.id,
            _("{where}: the date {text!r} cannot be read ({exc}); kept as typed").format(
                where=where, text=text, exc=exc
            ),
        )
        return _Date(typed=text.strip())


def interpret(qs: QuestionSet, raw: Mapping[str, RawValue], lang: str = "da") -> Interpreted:
    """Turn one form's raw field values into typed answers and problems."""
    out = Interpreted()
    problems = out.problems
    for q in qs.questions():
        where = f"question '{q.id}' ({_label(q, lang)[:60]})"
        value: AnswerValue = None
        match q.type:
            case "text" | "textarea":
                value = _text(raw.get(q.id))
            case "date":
                date = _date(raw.get(q.id), q, lang, problems, where)
                value = date.value.isoformat() if date.value else None
                if date.typed is not None:
                    out.answers[q.id] = None
                    out.typed[q.id] = date.typed
            case "checkbox":
                value = _truthy(raw.get(q.id))
            case "multichoice":
                value = [opt for opt in q.option_ids() if _truthy(raw.get(f"{q.id}{fn.SEP}{opt}"))]
            case "scale" | "choice":
                text = _text(raw.get(q.id))
                if text is not None:
                    value = _scale(q, text) if q.type == "scale" else _choice(q, text, lang)
                    if value is None:
                        _note(
                            problems,
                            "bad_value",
                            q.id,
                            _("{where}: {text!r} is not one of the choices").format(
                                where=where, text=text
                            ),
                        )
            case "agreements":
                out.agreements.extend(_agreements(q, raw, lang, problems))
                if q.required and not out.agreements:
                    problems.append(_missing(q, where))
                continue
        if value is not None:
            out.answers[q.id] = value
        answered = value is not None and value is not False and value != []
        if q.required and not answered and q.id not in out.typed:
            problems.append(_missing(q, where))
    out.previous_agreements = _previous(raw, lang, problems)
    return out


def _missing(q: Question, where: str) -> Problem:
    return Problem(
        code="required_missing",
        question=q.id,
        message=_("{where}: required, but not answered").format(where=where),
    )


def _agreements(
    q: Question, raw: Mapping[str, RawValue], lang: str, problems: list[Problem]
) -> list[ResponseAgreement]:
    assert q.rows is not None
    rows: list[ResponseAgreement] = []
    for row in range(1, q.rows + 1):
        what = _text(raw.get(fn.agreement_field(q.id, row, "what")))
        owner = _text(raw.get(fn.agreement_field(q.id, row, "owner")))
        where = f"agreement {row} of '{q.id}'"
        due = _date(raw.get(fn.agreement_field(q.id, row, "due")), q, lang, problems, where)
        if what is None and owner is None and due.blank:
            continue  # an empty row
        if what is None:
            _note(
                problems,
                "agreement_without_what",
                q.id,
                _("{where} has a who or a date but no 'what'").format(where=where),
            )
        rows.append(
            ResponseAgreement(what=what or "", owner=owner, due=due.value, due_typed=due.typed)
        )
    return rows


def _status(raw: RawValue, lang: str) -> AgreementStatus | None:
    text = _text(raw)
    if text is None:
        return None
    text = text.strip()
    for status in AGREEMENT_STATUSES:
        labels = {status, status_label(status, "da").casefold(), status_label(status, "en")}
        if text.casefold() in {label.casefold() for label in labels}:
            return status  # type: ignore[return-value]
    return None


def _previous(
    raw: Mapping[str, RawValue], lang: str, problems: list[Problem]
) -> list[ResponsePreviousAgreement]:
    rows: dict[int, dict[str, str | None]] = {}
    for name, value in raw.items():
        if m := _PREV_ROW.match(name):
            rows.setdefault(int(m.group(1)), {})[m.group(2)] = _text(value)
    result = []
    for row in sorted(rows):
        parts = rows[row]
        what = parts.get("what")
        if not what:
            continue
        due_text = parts.get("due")
        due_typed = None
        try:
            due = parse_date(due_text) if due_text else None
        except ValueError:
            due, due_typed = None, (due_text or "").strip() or None
        status_raw = raw.get(fn.previous_status_field(row))
        status = _status(status_raw, lang)
        if status is None and _text(status_raw) is not None:
            _note(
                problems,
                "bad_value",
                None,
                _("last year's agreement {row}: status {status_raw!r} is unknown").format(
                    row=row, status_raw=status_raw
                ),
            )
        result.append(
            ResponsePreviousAgreement(
                what=what,
                owner=parts.get("owner"),
                due=due,
                due_typed=due_typed,
                status=status,
                comment=_text(raw.get(fn.previous_comment_field(row))),
            )
        )
    return result


def unknown_fields(qs: QuestionSet, raw: Mapping[str, RawValue]) -> list[str]:
    """Field names in a file that its question set does not define (not counting mf_ ones)."""
    known = set(fn.spec_by_name(qs))
    return sorted(
        name
        for name in raw
        if name not in known
        and not fn.is_reserved(name)
        and not _STATUS_ROW.match(name)
        and not _COMMENT_ROW.match(name)
    )
