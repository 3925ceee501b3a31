"""Rounds for the report tests: a results folder as collect leaves it, with its forms
folder's manifest, built from responses (tests/outputs_data.results_folder)."""

from __future__ import annotations

import datetime as dt
import json
import random
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from musforms.manifest import Manifest, ManifestForm, ManifestQuestionSet
from musforms.models import Employee, QuestionSet
from musforms.response import (
    Response,
    ResponseAgreement,
    ResponseEmployee,
    ResponseForm,
    ResponsePreviousAgreement,
    ResponseQuestionSet,
)
from tests.conftest import DANISH, EVERY_TYPE, LONG, MULTILINE
from tests.outputs_data import results_folder

QS = QuestionSet.model_validate(EVERY_TYPE)
TODAY = dt.date(2027, 1, 20)
# Free text in other scripts, as people write it.
SCRIPTS = [
    "Zażółć gęślą jaźń — praca zespołowa",
    "Съешь же ещё этих мягких французских булок",
    "Ξεσκεπάζω την ψυχοφθόρα βδελυγμία",
    "نص عربي عن العمل والتوازن",
]


@dataclass
class Person:
    id: str
    name: str
    department: str | None
    leader: str | None
    language: str = "da"
    status: str = "returned"  # returned | missing | blank
    scale: int | None = None
    choice: str | None = None


@dataclass
class Round:
    results: Path
    forms: Path
    people: list[Person]
    responses: list[Response] = field(default_factory=list)

    def texts(self) -> list[str]:
        """Every answer text and agreement text of the round."""
        out: list[str] = []
        for r in self.responses:
            out += [v for v in r.answers.values() if isinstance(v, str) and len(v) > 3]
            for a in [*r.agreements, *r.previous_agreements]:
                out += [a.what, *(x for x in (a.owner,) if x)]
                if isinstance(a, ResponsePreviousAgreement) and a.comment:
                    out.append(a.comment)
        return out


def people_of(
    plan: dict[tuple[str | None, str | None], tuple[int, int]], seed: int = 7
) -> list[Person]:
    """(department, leader) → (returned, missing): people with random answers."""
    rnd = random.Random(seed)
    out: list[Person] = []
    n = 1000
    for (department, leader), (returned, missing) in plan.items():
        for i in range(returned + missing):
            n += 1
            status = "returned" if i < returned else ("blank" if i == returned else "missing")
            out.append(Person(
                str(n), f"Medarbejder {n} Ærø", department, leader, status=status,
                scale=rnd.randint(1, 5), choice=rnd.choice(["faglig", "personlig", "ledelse"]),
            ))  # fmt: skip
    return out


def _due(k: int) -> dt.date:
    """Every third overdue, the rest due within 0 to 60 days."""
    return TODAY - dt.timedelta(days=3) if k % 3 == 0 else TODAY + dt.timedelta(days=10 * (k % 7))


def response_of(p: Person, k: int, cycle: str = "2026") -> Response:
    texts = [DANISH, MULTILINE, LONG, *SCRIPTS]
    return Response(
        employee=ResponseEmployee(id=p.id, name=p.name, department=p.department, manager=p.leader),
        form=ResponseForm(
            form_id=f"F{p.id}", cycle=cycle,
            question_set=ResponseQuestionSet(id=QS.id, version=QS.version),
        ),
        answers={
            "lykkedes": f"{texts[k % len(texts)]} (svar {p.id})",
            "titel": f"Stilling nr. {p.id} hos os",
            "arbejdsmaengde": p.scale,
            "fokus": p.choice,
            "fokus_flere": ["faglig", "balance"],
            "kursus": k % 2 == 0,
            "startdato": "2027-02-15",
        },
        agreements=[
            ResponseAgreement(what=f"Aftale om kursus {p.id} «Excel»", owner=f"Ejer{p.id}",
                              due=_due(k)),
            ResponseAgreement(what=f"Mentor for {p.id}\nmed opfølgning", owner=None, due=None),
        ],
        previous_agreements=[
            ResponsePreviousAgreement(what=f"Sidste års aftale {p.id}", status="in_progress",
                                      comment=f"Kommentar om {p.id}: næsten færdig"),
            ResponsePreviousAgreement(what=f"Afsluttet aftale {p.id}", status="done"),
        ],
    )  # fmt: skip


def build(root: Path, people: list[Person], *, cycle: str = "2026", manifest: bool = True) -> Round:
    """The results folder (results/<cycle>) and forms folder (forms/<cycle>) of a round."""
    root.mkdir(parents=True, exist_ok=True)
    returned = [p for p in people if p.status == "returned"]
    responses = [response_of(p, k, cycle) for k, p in enumerate(returned)]
    made = results_folder(root / "tmp", responses)
    results = root / "results" / cycle
    results.parent.mkdir(parents=True, exist_ok=True)
    made.rename(results)
    (root / "tmp").rmdir()
    report = json.loads((results / "report.json").read_text(encoding="utf-8"))
    report["schema"] = "musforms/report/2"
    report["cycle"] = cycle
    report["collected_at"] = "2027-01-19T10:00:00+01:00"
    report["missing"] = [p.id for p in people if p.status != "returned"]
    report["missing_notes"] = {p.id: "returned blank" for p in people if p.status == "blank"}
    report["files"] = [
        {"file": f"svar {p.id}.pdf", "status": "ok", "employee_id": p.id} for p in returned
    ] + [{"file": "ødelagt.pdf", "status": "unreadable"}]
    if returned:  # one return read from the page: to be checked by hand
        report["files"][0]["status"] = "recovered"
    (results / "report.json").write_text(json.dumps(report, ensure_ascii=False), encoding="utf-8")
    (results / "question_sets").mkdir()
    (results / "question_sets" / "abc.yaml").write_text(
        yaml.safe_dump(EVERY_TYPE, allow_unicode=True), encoding="utf-8"
    )
    forms = root / "forms" / cycle
    forms.mkdir(parents=True)
    if manifest:
        m = Manifest(
            cycle=cycle,
            question_set=ManifestQuestionSet(id=QS.id, version=QS.version, digest="sha256:abc"),
            forms=[
                ManifestForm(
                    form_id=f"F{p.id}", employee_id=p.id, files={}, language=p.language,
                    employee=Employee(id=p.id, name=p.name, department=p.department,
                                      manager=p.leader, language=p.language),  # type: ignore[arg-type]
                    question_set_digest="sha256:abc",
                )
                for p in people
            ],
        )  # fmt: skip
        (forms / "manifest.json").write_text(m.model_dump_json(by_alias=True), encoding="utf-8")
    return Round(results, forms, people, responses)
