"""Responses for the output tests: awkward agreements, last round's statuses, three leaders."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

from musforms.models import QuestionSet
from musforms.response import (
    Response,
    ResponseAgreement,
    ResponseEmployee,
    ResponseForm,
    ResponsePreviousAgreement,
    ResponseQuestionSet,
)
from tests.conftest import DANISH, MULTILINE

TODAY = dt.date(2027, 1, 20)

SOEREN_AGREEMENTS = [
    ResponseAgreement(what="Kursus i Excel & <Power BI>", owner="Søren", due=dt.date(2027, 3, 1)),
    ResponseAgreement(what='=HYPERLINK("http://x.dk","klik")', owner="+45 1234", due=None),
    ResponseAgreement(what="Mentorordning\nmed Åse", owner="Åse", due=dt.date(2027, 1, 31)),
]
SOEREN_PREVIOUS = [
    ResponsePreviousAgreement(
        what="Gammel aftale om ferie", owner="Søren", due=dt.date(2026, 6, 1), status="done",
        comment="-klaret i juni",
    ),
    ResponsePreviousAgreement(
        what="Halvfærdig aftale", owner="Åse", due=dt.date(2026, 9, 1), status="in_progress",
        comment=MULTILINE,
    ),
    ResponsePreviousAgreement(what="Aftale uden status", owner=None, due=None, status=None),
    ResponsePreviousAgreement(what="Droppet aftale", status="dropped", comment="@ikke aktuel"),
]  # fmt: skip
IDA_AGREEMENTS = [
    ResponseAgreement(what="@møde hver uge", owner="Ida", due=dt.date(2026, 12, 1)),
    ResponseAgreement(what=DANISH, owner="Bo", due=dt.date(2027, 5, 31)),
]


def _form(form_id: str, qs: QuestionSet) -> ResponseForm:
    return ResponseForm(
        form_id=form_id,
        cycle="2026",
        question_set=ResponseQuestionSet(id=qs.id, version=qs.version),
    )


def responses(qs: QuestionSet) -> list[Response]:
    """Søren (answers of every type, three agreements, four of last round's), Ida (no
    meeting date, one overdue agreement) and Ulla (no agreements, no department)."""
    return [
        Response(
            employee=ResponseEmployee(
                id="1042",
                name="Søren Ærø",
                department="Økonomi",
                manager="Åse Østergård",
                meeting_date=dt.date(2027, 1, 14),
            ),
            form=_form("AAAABBBBCCCC", qs),
            answers={
                "lykkedes": "Budgettet <b>kom</b> i mål & «til tiden»\nNæste linje",
                "titel": None,
                "arbejdsmaengde": 4,
                "fokus": "personlig",
                "fokus_flere": ["faglig", "balance"],
                "kursus": True,
                "startdato": "2027-02-15",
            },
            agreements=SOEREN_AGREEMENTS,
            previous_agreements=SOEREN_PREVIOUS,
        ),
        Response(
            employee=ResponseEmployee(
                id="1043", name="Ida Holm", department="IT", manager="Bo Berg"
            ),
            form=_form("DDDDEEEEFFFF", qs),
            answers={"lykkedes": "Driften", "arbejdsmaengde": 1, "kursus": False},
            agreements=IDA_AGREEMENTS,
        ),
        Response(
            employee=ResponseEmployee(
                id="1044",
                name="Ulla Ørsted",
                manager="Åse Østergård",
                meeting_date=dt.date(2026, 11, 30),
            ),
            form=_form("GGGGHHHHJJJJ", qs),
            answers={"lykkedes": "Alt"},
        ),
    ]


def every_what(items: list[Response]) -> list[str]:
    return [a.what for r in items for a in [*r.agreements, *r.previous_agreements]]


def results_folder(tmp_path: Path, items: list[Response]) -> Path:
    """A results folder as collect leaves it: report.json and one JSON per employee."""
    out = tmp_path / "results"
    (out / "responses").mkdir(parents=True)
    for r in items:
        (out / "responses" / f"{r.employee.id}.json").write_text(r.to_json(), encoding="utf-8")
    report = {
        "schema": "musforms/report/1",
        "cycle": "2026",
        "files": [],
        "returned": [r.employee.id for r in items],
        "missing": [],
    }
    (out / "report.json").write_text(json.dumps(report), encoding="utf-8")
    return out
