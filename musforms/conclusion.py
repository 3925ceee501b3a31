"""The conclusion form: what the built-in set ``konklusion`` asks, and what its answers mean.

After the conversation the leader and the employee write what they concluded, settle the
agreements and both approve, in a form of the question set ``konklusion`` (HR may edit and
restyle it, keeping these question ids). Its response carries the conclusion; from then on
the follow-up list, the calendar and next round's forms hold the agreed agreements.
"""

from __future__ import annotations

import datetime as dt

from musforms.i18n import _
from musforms.models import Problem, QuestionSet
from musforms.response import (
    AnswerValue,
    ResponseAgreement,
    ResponseApproval,
    ResponseConclusion,
)

BUILTIN = "konklusion"  # the built-in question set's name (musforms sets)
CONCLUDED = "konklusion"  # what was discussed and concluded
AGREEMENTS = "aftaler"
EMPLOYEE_APPROVED = "godkendt_medarbejder"
EMPLOYEE_DATE = "dato_medarbejder"
LEADER_APPROVED = "godkendt_leder"
LEADER_DATE = "dato_leder"
QUESTIONS = (CONCLUDED, AGREEMENTS, EMPLOYEE_APPROVED, EMPLOYEE_DATE, LEADER_APPROVED, LEADER_DATE)

# Problem code of a conclusion returned without both parties' approval.
APPROVAL_MISSING = "approval_missing"


def is_conclusion_set(qs: QuestionSet) -> bool:
    """Whether ``qs`` is a conclusion form's question set (it asks every question above)."""
    ids = {q.id for q in qs.questions()}
    return all(qid in ids for qid in QUESTIONS) and (
        (q := qs.question(AGREEMENTS)) is not None and q.type == "agreements"
    )


def _date(value: AnswerValue) -> dt.date | None:
    if isinstance(value, str):
        try:
            return dt.date.fromisoformat(value)
        except ValueError:
            return None
    return None


def conclusion_of(
    form_id: str,
    answers: dict[str, AnswerValue],
    agreements: list[ResponseAgreement],
    saved_at: dt.datetime | None = None,
) -> ResponseConclusion:
    """The conclusion a conclusion form's answers give."""
    concluded = answers.get(CONCLUDED)
    return ResponseConclusion(
        form_id=form_id,
        concluded=concluded if isinstance(concluded, str) and concluded.strip() else None,
        agreements=agreements,
        employee=ResponseApproval(
            approved=answers.get(EMPLOYEE_APPROVED) is True, date=_date(answers.get(EMPLOYEE_DATE))
        ),
        leader=ResponseApproval(
            approved=answers.get(LEADER_APPROVED) is True, date=_date(answers.get(LEADER_DATE))
        ),
        saved_at=saved_at,
    )


def approval_problems(conclusion: ResponseConclusion) -> list[Problem]:
    """A problem naming whose approval is missing, when not both approved."""
    employee, leader = conclusion.employee.approved, conclusion.leader.approved
    if employee and leader:
        return []
    if not employee and not leader:
        message = _(
            "neither the employee nor the leader approved the conclusion: ask both to tick "
            "their approval and write the date, and return the form again"
        )
        question = EMPLOYEE_APPROVED
    elif not employee:
        message = _(
            "the employee did not approve the conclusion: ask the employee to tick the "
            "approval and write the date, and return the form again"
        )
        question = EMPLOYEE_APPROVED
    else:
        message = _(
            "the leader did not approve the conclusion: ask the leader to tick the approval "
            "and write the date, and return the form again"
        )
        question = LEADER_APPROVED
    return [Problem(code=APPROVAL_MISSING, question=question, message=message)]
