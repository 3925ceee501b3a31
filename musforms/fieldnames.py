"""Question ↔ field name, both ways: the one place field names are formed (docs/ARCHITECTURE.md).

| question type          | field(s)                                                   |
| text, textarea, date   | ``<id>``                                                   |
| scale, choice          | ``<id>`` (radio group / drop-down; value = number or id)   |
| checkbox               | ``<id>``                                                   |
| multichoice            | ``<id>__<option id>``, one checkbox per option             |
| agreements             | ``<id>__<row>__what``, ``__owner``, ``__due`` (row from 1) |

Names starting with ``mf_`` are reserved for musforms (identity and prefilled data).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from musforms.models import Question, QuestionSet

SEP = "__"
RESERVED_PREFIX = "mf_"
AGREEMENT_PARTS = ("what", "owner", "due")

# Reserved fields. The identity token is signed; the prefill fields are covered by it.
IDENTITY = "mf_identity"
PREFILL_NAME = "mf_name"
PREFILL_DEPARTMENT = "mf_department"
PREFILL_MANAGER = "mf_manager"
PREFILL_MEETING_DATE = "mf_meeting_date"
# A conclusion form's copy of the employee's preparation, as the minutes show it: read-only.
PREFILL_PREPARATION = "mf_preparation"
PREVIOUS = "mf_prev"  # mf_prev__<row>__what / __owner / __due: last cycle's agreements
# mf_prev__<row>__latest: the agreement's latest status and comment, as a check-in gave them
# ("I gang – halvvejs"), shown under it; blank where no check-in did.
PREVIOUS_LATEST = "latest"
# What the employee says about last cycle's agreements: editable, not signed.
PREVIOUS_STATUS = "prev_status"  # prev_status__<row>: done | in_progress | not_started | dropped
PREVIOUS_COMMENT = "prev_comment"  # prev_comment__<row>

FieldKind = Literal["text", "multiline", "radio", "checkbox", "date"]


@dataclass(frozen=True)
class FieldSpec:
    """One fillable field of a form, as a writer lays it out and a reader finds it."""

    name: str
    question: str
    kind: FieldKind
    option: str | None = None  # multichoice option id
    row: int | None = None  # agreements row, from 1
    part: str | None = None  # agreements part: what / owner / due
    choices: tuple[str, ...] = ()  # radio / drop-down export values


def fields_for(question: Question) -> list[FieldSpec]:
    """Every field a question puts into a form, in reading order."""
    q = question
    match q.type:
        case "text":
            return [FieldSpec(q.id, q.id, "text")]
        case "textarea":
            return [FieldSpec(q.id, q.id, "multiline")]
        case "date":
            return [FieldSpec(q.id, q.id, "date")]
        case "checkbox":
            return [FieldSpec(q.id, q.id, "checkbox")]
        case "scale":
            assert q.scale is not None
            values = tuple(str(v) for v in q.scale.values())
            return [FieldSpec(q.id, q.id, "radio", choices=values)]
        case "choice":
            return [FieldSpec(q.id, q.id, "radio", choices=tuple(q.option_ids()))]
        case "multichoice":
            return [
                FieldSpec(f"{q.id}{SEP}{opt}", q.id, "checkbox", option=opt)
                for opt in q.option_ids()
            ]
        case "agreements":
            assert q.rows is not None
            return [
                FieldSpec(
                    agreement_field(q.id, row, part),
                    q.id,
                    "date" if part == "due" else "text",
                    row=row,
                    part=part,
                )
                for row in range(1, q.rows + 1)
                for part in AGREEMENT_PARTS
            ]
    raise AssertionError(f"unhandled question type {q.type}")


def all_fields(qs: QuestionSet) -> list[FieldSpec]:
    """Every answer field of a question set, in reading order."""
    return [f for q in qs.questions() for f in fields_for(q)]


def agreement_field(qid: str, row: int, part: str) -> str:
    return f"{qid}{SEP}{row}{SEP}{part}"


def previous_field(row: int, part: str) -> str:
    return f"{PREVIOUS}{SEP}{row}{SEP}{part}"


def previous_status_field(row: int) -> str:
    return f"{PREVIOUS_STATUS}{SEP}{row}"


def previous_comment_field(row: int) -> str:
    return f"{PREVIOUS_COMMENT}{SEP}{row}"


def is_reserved(name: str) -> bool:
    return name.startswith(RESERVED_PREFIX)


def spec_by_name(qs: QuestionSet) -> dict[str, FieldSpec]:
    return {f.name: f for f in all_fields(qs)}
