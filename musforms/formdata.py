"""Build the signed FormData for one employee: what every writer renders.

The prefilled values (name, department, leader, meeting date, last cycle's agreements with
their latest status) are put into reserved ``mf_`` fields and covered by the identity's signature.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Literal

from musforms import fieldnames as fn
from musforms import texts
from musforms.dates import danish_date
from musforms.identity import canonical_json, digest, make_form_id, sign
from musforms.models import (
    Agreement,
    Employee,
    FormData,
    FormIdentity,
    FormKind,
    Organisation,
    PreviousAgreement,
    QuestionSet,
)


def question_set_digest(qs: QuestionSet) -> str:
    """A digest of what the question set means, not how its YAML is spelled."""
    return digest(canonical_json(qs.model_dump(mode="json")))


def latest_text(agreement: Agreement, lang: str) -> str:
    """What a form shows of an agreement's latest status and comment, as a check-in gave
    them: ``I gang – halvvejs med kurset``; blank where no check-in did. One line: the form
    shows it under the agreement, and the comment is there in full in the check-in."""
    if not isinstance(agreement, PreviousAgreement) or agreement.status is None:
        return ""
    status = texts.status_label(agreement.status, lang)
    comment = " ".join((agreement.comment or "").split())
    return f"{status} – {comment}" if comment else status


def prefill_values(
    employee: Employee, previous: Sequence[Agreement] = (), lang: str = "da"
) -> dict[str, str]:
    """The reserved fields every form carries read-only, by field name; ``lang`` is the
    form's language (the words of an agreement's latest status)."""
    values = {
        fn.PREFILL_NAME: employee.name,
        fn.PREFILL_DEPARTMENT: employee.department or "",
        fn.PREFILL_MANAGER: employee.manager or "",
        fn.PREFILL_MEETING_DATE: danish_date(employee.meeting_date)
        if employee.meeting_date
        else "",
    }
    latest = [latest_text(agreement, lang) for agreement in previous]
    for row, agreement in enumerate(previous, start=1):
        values[fn.previous_field(row, "what")] = agreement.what
        values[fn.previous_field(row, "owner")] = agreement.owner or ""
        values[fn.previous_field(row, "due")] = danish_date(agreement.due) if agreement.due else ""
        # Where a check-in gave any of them a status, each shows its latest (blank: none).
        if any(latest):
            values[fn.previous_field(row, fn.PREVIOUS_LATEST)] = latest[row - 1]
    return values


def make_form_data(
    qs: QuestionSet,
    employee: Employee,
    *,
    key: bytes,
    cycle: str,
    lang: Literal["da", "en"] | None = None,
    organisation: Organisation | None = None,
    previous: Sequence[Agreement] = (),
    qs_digest: str | None = None,
    kind: FormKind = "preparation",
    of_form: str | None = None,
    preparation: str | None = None,
    answers: Mapping[str, str] | None = None,
) -> FormData:
    """Everything a writer needs for ``employee``'s form in round ``cycle``, signed.

    A conclusion form (``kind``) names the preparation form it concludes (``of_form``),
    carries the preparation as a signed read-only part and its answer fields filled in with
    ``answers`` (editable)."""
    org = organisation or Organisation()
    identity = FormIdentity(
        form_id=make_form_id(key, cycle, employee.id, qs.id),
        employee_id=employee.id,
        cycle=cycle,
        question_set_id=qs.id,
        question_set_version=qs.version,
        question_set_digest=qs_digest or question_set_digest(qs),
        kind=kind,
        of_form=of_form,
    )
    form_lang = employee.language or lang or org.default_language
    prefill = prefill_values(employee, previous, form_lang)
    if preparation:
        prefill[fn.PREFILL_PREPARATION] = preparation
    return FormData(
        question_set=qs,
        employee=employee,
        identity=identity,
        token=sign(key, identity, prefill),
        lang=form_lang,
        organisation=org,
        previous_agreements=list(previous),
        prefill=prefill,
        answers=dict(answers or {}),
    )
