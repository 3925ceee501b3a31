"""A round's agreements, carried into later forms: next round's (``generate --previous``) and
the round's own check-ins (``generate --followup``).

Both take each agreement with its latest status: the one the check-in gave, where a check-in
came back (musforms.outputs.checkins). The forms show that status and comment under the
agreement (``mf_prev__<row>__latest``, signed with the rest).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, cast

from musforms.models import AgreementStatus, Employee, PreviousAgreement
from musforms.outputs.views import AgreementRow
from musforms.texts import AGREEMENT_STATUSES

if TYPE_CHECKING:
    from musforms.response import Response

FINISHED = ("done", "dropped")


@dataclass
class Tally:
    """What the latest statuses did to the agreements carried."""

    carried: int = 0  # agreements put into the forms
    from_checkins: int = 0  # of those, with the status a check-in gave
    finished: int = 0  # left out: done or dropped at a check-in


def _rows(results: Path) -> Iterator[tuple[Response, list[tuple[AgreementRow, bool]]]]:
    """Per response, its agreement rows with the check-in's statuses, each with whether a
    check-in gave it."""
    from musforms.outputs.checkins import checkin_of, with_checkin
    from musforms.outputs.views import iter_agreement_rows
    from musforms.results import iter_responses

    for response in iter_responses(results):
        plain = list(iter_agreement_rows([response]))
        rows = with_checkin(plain, checkin_of(results, response.employee.id))
        yield response, [(row, row != before) for before, row in zip(plain, rows, strict=True)]


def _agreement(row: AgreementRow, checked: bool) -> PreviousAgreement:
    """The agreement as the form carries it; with the status and comment a check-in gave
    it (``checked``), which the form shows under it (formdata.latest_text)."""
    status = row.status if checked and row.status in AGREEMENT_STATUSES else None
    return PreviousAgreement(
        what=row.what,
        owner=row.owner or None,
        due=row.due,
        status=cast("AgreementStatus | None", status),
        comment=(row.comment or None) if status else None,
    )


def iter_open_agreements(
    results: Path, basis: Counter[str] | None = None, tally: Tally | None = None
) -> Iterator[tuple[str, list[PreviousAgreement]]]:
    """Per employee with any: the agreements made last round, plus older ones still not done
    or dropped, each by its latest status (a check-in's, where one came back). One employee
    at a time, read from the results folder as they are wanted.

    Last round's agreements are those agreed in the conclusion where it came back, else the
    employee's proposals (``outputs.views.iter_agreement_rows``); ``basis`` counts the
    employees of each ("agreed", "proposed")."""
    tally = tally if tally is not None else Tally()
    for response, rows in _rows(results):
        if basis is not None and response.followed_agreements():
            basis["agreed" if response.conclusion is not None else "proposed"] += 1
        kept = []
        for row, checked in rows:
            if row.status in FINISHED:
                tally.finished += checked
            elif row.what.strip():
                kept.append(_agreement(row, checked))
                tally.carried += 1
                tally.from_checkins += checked
        if kept:
            yield response.employee.id, kept


def open_agreements(results: Path) -> dict[str, list[PreviousAgreement]]:
    """:func:`iter_open_agreements` gathered by employee id."""
    return dict(iter_open_agreements(results))


def iter_checkin_agreements(
    results: Path, tally: Tally | None = None
) -> Iterator[tuple[Employee, str, list[PreviousAgreement]]]:
    """Per employee with an agreement still open: who they are, their preparation form and
    the agreements a check-in asks about (those not done or dropped yet)."""
    tally = tally if tally is not None else Tally()
    for response, rows in _rows(results):
        open_rows = [(row, checked) for row, checked in rows if row.is_open and row.what.strip()]
        tally.finished += sum(checked for row, checked in rows if row.status in FINISHED)
        if not open_rows:
            continue
        tally.carried += len(open_rows)
        tally.from_checkins += sum(checked for _row, checked in open_rows)
        kept = [_agreement(row, checked) for row, checked in open_rows]
        e = response.employee
        employee = Employee(
            id=e.id,
            name=e.name,
            email=e.email,
            department=e.department,
            manager=e.manager,
            meeting_date=e.meeting_date,
            language=response.form.language,
        )
        yield employee, response.form.form_id, kept
