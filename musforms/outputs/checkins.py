"""The check-ins of a round: what the employees said of their agreements some months after the
conversation, laid over the round's agreement rows.

A round's check-ins are collected into a results folder of their own inside the round's,
``results/2026/checkins/`` (responses, report.json, collect's cache), so the preparation's
responses are never touched. Each check-in response lists the agreements it was issued with
(``previous_agreements``, the check-in form's prefilled rows) with the status and comment
given; :func:`round_rows` gives the round's agreement rows with them, matched by what was
agreed, who and by when. Collect keeps the latest return of a check-in form, so the latest
check-in wins.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from musforms.outputs.views import AgreementRow, clean, iter_agreement_rows
from musforms.response import Response, ResponsePreviousAgreement

CHECKINS = "checkins"


def checkins_folder(out: Path) -> Path:
    """Where the check-ins of the round collected in ``out`` are kept."""
    return out / CHECKINS


def checkin_of(out: Path, employee_id: str) -> Response | None:
    """The check-in on record for ``employee_id`` in the round collected in ``out``, if any."""
    from musforms.results import response_path

    folder = checkins_folder(out)
    if not folder.is_dir():
        return None
    path = response_path(folder, employee_id)
    if not path.is_file():
        return None
    data: Any = json.loads(path.read_text(encoding="utf-8"))
    return Response.model_validate(data)


def returned_at(checkin: Response | None) -> dt.datetime | None:
    """When the check-in on record was saved (or collected): what dates its calendar update."""
    if checkin is None or checkin.source is None:
        return None
    return checkin.source.saved_at


def _key(what: str, owner: str | None, due: dt.date | None) -> tuple[str, str, str]:
    return (" ".join(what.split()), " ".join((owner or "").split()), due.isoformat() if due else "")


def with_checkin(rows: Iterable[AgreementRow], checkin: Response | None) -> Iterator[AgreementRow]:
    """``rows`` with the status and comment the check-in gives each, where it gives one.

    A row and a check-in row are the same agreement when what, who and by when are the
    same (the check-in form was prefilled from the rows); two alike are paired in order."""
    if checkin is None:
        yield from rows
        return
    given: dict[tuple[str, str, str], list[ResponsePreviousAgreement]] = {}
    for one in checkin.previous_agreements:
        given.setdefault(_key(one.what, one.owner, one.due), []).append(one)
    for row in rows:
        alike = given.get(_key(row.what, row.owner, row.due))
        said = alike.pop(0) if alike else None
        if said is None or (said.status is None and not said.comment):
            yield row
            continue
        yield dataclasses.replace(
            row,
            status=said.status or row.status,
            comment=clean(said.comment) or row.comment,
        )


def round_rows(out: Path, responses: Iterable[Response]) -> Iterator[AgreementRow]:
    """Every agreement of the round collected in ``out``, each with its latest status and
    comment: the check-in's where one came back."""
    for response in responses:
        yield from response_rows(out, response)


def response_rows(out: Path, response: Response) -> Iterator[AgreementRow]:
    """One response's agreement rows, with its check-in laid over them."""
    return with_checkin(iter_agreement_rows([response]), checkin_of(out, response.employee.id))
