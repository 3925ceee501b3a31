"""Responses as people read them: answers as labels, agreements as rows.

Shared by the minutes, the follow-up list and the calendar, so each shows a scale, a choice,
a date or an agreement's status the same way.
"""

from __future__ import annotations

import datetime as dt
import re
import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from musforms import dates
from musforms.models import Question, QuestionSet, localize
from musforms.response import AnswerValue, Response, ResponseForm
from musforms.texts import status_label, t

# Characters XML 1.0 cannot hold (a form may carry them); tab and line feed stay.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")

OPEN_STATUSES = ("open", "in_progress", "not_started", "none")


def danish_date(value: dt.date | str | None) -> str:
    """:func:`musforms.dates.danish_date`, safe for a document cell."""
    return clean(dates.danish_date(value))


def clean(text: str | None) -> str:
    """Text safe for a document cell: ``\\n`` line breaks, no control characters."""
    if not text:
        return ""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    return _NOT_XML.sub("", text)


@dataclass(frozen=True)
class AnswerView:
    """One question with its answer, ready to print."""

    question_id: str
    label: str
    type: str
    text: str  # the answer as one text; line breaks as ``\\n``; "" when unanswered
    items: tuple[str, ...] = ()  # multichoice: the chosen options' labels
    answered: bool = False


@dataclass(frozen=True)
class SectionView:
    section_id: str
    title: str
    answers: tuple[AnswerView, ...]


def _scale_text(q: Question, value: int, lang: str) -> str:
    scale = q.scale
    if scale is None:
        return str(value)
    label = scale.labels.get(value)
    if label:
        return f"{value} – {localize(label, lang)}"
    return t("of_scale", lang, value=value, min=scale.min, max=scale.max)


def _option_label(q: Question, option_id: str, lang: str) -> str:
    for opt in q.options or []:
        if opt.id == option_id:
            return localize(opt.label, lang)
    return option_id


def answer_view(q: Question, value: AnswerValue, lang: str, typed: str | None = None) -> AnswerView:
    """How one answer reads: a scale as ``4 – Enig``, a choice as its label, a date dd-mm-åååå;
    a date that could not be read as it was typed (``typed``)."""
    label = clean(localize(q.label, lang))
    items: tuple[str, ...] = ()
    if (value is None or value == "") and typed:
        return AnswerView(q.id, label, q.type, clean(typed), answered=True)
    if value is None or value == "" or value == []:
        return AnswerView(q.id, label, q.type, "")
    if q.type == "checkbox":
        text = t("yes", lang) if value is True else t("no", lang)
    elif q.type == "scale" and isinstance(value, int) and not isinstance(value, bool):
        text = _scale_text(q, value, lang)
    elif q.type == "choice" and isinstance(value, str):
        text = _option_label(q, value, lang)
    elif q.type == "multichoice" and isinstance(value, list):
        items = tuple(clean(_option_label(q, v, lang)) for v in value)
        text = "\n".join(f"• {item}" for item in items)
    elif q.type == "date" and isinstance(value, str):
        text = danish_date(value)
    elif isinstance(value, list):
        text = ", ".join(value)
    else:
        text = str(value)
    return AnswerView(q.id, label, q.type, clean(text), items, answered=True)


def raw_answer_view(
    qid: str, value: AnswerValue, lang: str, typed: str | None = None
) -> AnswerView:
    """An answer whose question set is not at hand: shown by its id, as stored (as typed, when
    it could not be read)."""
    if value is None and typed:
        text = typed
    elif isinstance(value, bool):
        text = t("yes", lang) if value else t("no", lang)
    elif isinstance(value, list):
        text = "\n".join(f"• {v}" for v in value)
    elif value is None:
        text = ""
    else:
        text = str(value)
    return AnswerView(qid, qid, "unknown", clean(text), answered=bool(text))


def section_views(response: Response, qs: QuestionSet | None, lang: str) -> list[SectionView]:
    """The preparation answers by section, in the order of the form; agreements are left out
    (they have their own table). Without the question set, one section of raw answers."""
    if qs is None:
        rows = tuple(
            raw_answer_view(k, v, lang, response.typed.get(k)) for k, v in response.answers.items()
        )
        return [SectionView("answers", "", rows)] if rows else []
    sections = []
    for section in qs.sections:
        rows = tuple(
            answer_view(q, response.answers.get(q.id), lang, response.typed.get(q.id))
            for q in section.questions
            if q.type != "agreements"
        )
        if rows:
            sections.append(SectionView(section.id, clean(localize(section.title, lang)), rows))
    return sections


# --- agreements ----------------------------------------------------------------------------


@dataclass(frozen=True)
class AgreementRow:
    """One agreement of one employee, this round's or last round's."""

    employee_id: str
    name: str
    department: str
    leader: str
    what: str
    owner: str
    due: dt.date | None
    # open | done | in_progress | not_started | dropped | none (last round's, no status given)
    status: str
    previous: bool  # made at last round's conversation
    comment: str
    form_id: str
    number: int  # 1-based within this round's or last round's list
    cycle: str
    meeting_date: dt.date | None
    due_typed: str = ""  # the due date as typed, when it could not be read as a date
    # What this round's agreement rests on: "agreed" in the conclusion both approved,
    # "unapproved" (a conclusion not approved by both), "proposed" by the employee (no
    # conclusion back yet); "" for last round's. With the day the conclusion was approved.
    basis: str = ""
    agreed_on: dt.date | None = None

    @property
    def due_text(self) -> str:
        """The due date as the lists show it: dd-mm-åååå, else as typed, else blank."""
        return danish_date(self.due) if self.due is not None else self.due_typed

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES

    def status_text(self, lang: str) -> str:
        if self.status in ("open", "none"):
            return t(f"status_{self.status}", lang)
        return status_label(self.status, lang)

    def basis_text(self, lang: str) -> str:
        """ "Aftalt 21-01-2027", "Foreslået", "Ikke godkendt", or blank for last round's."""
        if self.basis == "agreed":
            text = t("origin_agreed", lang)
            return f"{text} {danish_date(self.agreed_on)}" if self.agreed_on else text
        if self.basis in ("proposed", "unapproved"):
            return t(f"origin_{self.basis}", lang)
        return ""

    def origin_text(self, lang: str) -> str:
        return t("origin_previous" if self.previous else "origin_current", lang)

    @property
    def uid(self) -> str:
        """Stable across runs: the same agreement of the same form keeps its id."""
        kind = "prev" if self.previous else "agr"
        return f"{self.form_id}-{kind}-{self.number}@musforms"


def agreement_rows(responses: Iterable[Response]) -> list[AgreementRow]:
    """Every agreement of every response: this round's first, then last round's, per employee."""
    return list(iter_agreement_rows(responses))


def iter_agreement_rows(responses: Iterable[Response]) -> Iterator[AgreementRow]:
    """:func:`agreement_rows` one row at a time, as the responses come."""
    for r in responses:
        basis, agreed_on = _basis(r)
        current = [(a, "open", False, None) for a in r.followed_agreements()]
        previous = [(p, p.status or "none", True, p.comment) for p in r.previous_agreements]
        for rows_of_kind in (current, previous):
            for i, (agreement, status, prev, comment) in enumerate(rows_of_kind, 1):
                yield AgreementRow(
                    employee_id=r.employee.id,
                    name=clean(r.employee.name),
                    department=clean(r.employee.department),
                    leader=clean(r.employee.manager),
                    what=clean(agreement.what),
                    owner=clean(agreement.owner),
                    due=agreement.due,
                    status=status,
                    previous=prev,
                    comment=clean(comment),
                    form_id=r.form.form_id,
                    number=i,
                    cycle=r.form.cycle,
                    meeting_date=r.employee.meeting_date,
                    due_typed=clean(agreement.due_typed) if agreement.due is None else "",
                    basis="" if prev else basis,
                    agreed_on=None if prev else agreed_on,
                )


def _basis(response: Response) -> tuple[str, dt.date | None]:
    """What a response's agreements rest on (see AgreementRow.basis), and since when."""
    conclusion = response.conclusion
    if conclusion is None:
        return "proposed", None
    if not conclusion.approved:
        return "unapproved", None
    dates = [d for d in (conclusion.employee.date, conclusion.leader.date) if d is not None]
    return "agreed", max(dates) if dates else None


# --- question sets -------------------------------------------------------------------------


@dataclass
class QuestionSets:
    """The question sets responses were answered against, by form id and by (id, version).

    ``by_form`` and ``languages`` are given form by form; ``issued`` looks the forms of a
    manifest up one at a time (see :class:`IssuedForms`)."""

    by_form: dict[str, QuestionSet] = field(default_factory=dict)
    by_version: dict[tuple[str, str], QuestionSet] = field(default_factory=dict)
    languages: dict[str, str] = field(default_factory=dict)  # form id → form language
    issued: IssuedForms | None = None

    def add(self, qs: QuestionSet) -> None:
        self.by_version[(qs.id, qs.version)] = qs

    def for_response(self, response: Response) -> QuestionSet | None:
        form_id = response.form.form_id
        found = self.by_form.get(form_id)
        if found is None and self.issued is not None:
            found = self.issued.question_set(form_id)
        if found is not None:
            return found
        ref = response.form.question_set
        return self.by_version.get((ref.id, ref.version))

    def language(self, response: Response, default: str) -> str:
        return self.form_language(response.form, default)

    def form_language(self, form: ResponseForm, default: str) -> str:
        """The language the form answered was issued in (else ``default``)."""
        form_id = form.form_id
        found = self.languages.get(form_id) or form.language
        if found is None and self.issued is not None:
            found = self.issued.language(form_id)
        return found if found is not None else default

    @classmethod
    def from_forms(
        cls, forms_dir: Path | None, extra: Sequence[Path] = (), *, db: sqlite3.Connection
    ) -> QuestionSets:
        """From a forms folder (manifest.json and the sets issued with it) and/or YAML files.
        The manifest's forms go into ``db``, a scratch database that must stay open while
        the question sets are used."""
        from musforms.manifest import MANIFEST
        from musforms.questionset import load_question_set

        sets = cls()
        for path in extra:
            sets.add(load_question_set(path))
        if forms_dir is not None and (forms_dir / MANIFEST).is_file():
            sets.issued = IssuedForms(db, forms_dir)
            for qs in sets.issued.question_sets():
                sets.add(qs)
        return sets


class IssuedForms:
    """The question set and language each form in a manifest was issued with, looked up a
    form at a time in a scratch database. The manifest is read form by form: parsed whole it
    costs tens of MB at a large employer, and a dict of every form id several more."""

    def __init__(self, db: sqlite3.Connection, forms_dir: Path) -> None:
        from musforms.manifest import issued_question_set, iter_manifest_forms

        self._db = db
        db.execute(
            "CREATE TABLE issued_forms (form_id TEXT PRIMARY KEY, digest TEXT, language TEXT)"
            " WITHOUT ROWID"
        )
        # One entry per question set issued (a handful), in the order first issued.
        self._sets: dict[str, QuestionSet | None] = {}
        for form in iter_manifest_forms(forms_dir):
            digest = form.question_set_digest
            if digest not in self._sets:
                self._sets[digest] = issued_question_set(forms_dir, digest)
            db.execute(
                "INSERT OR REPLACE INTO issued_forms VALUES (?, ?, ?)",
                (form.form_id, digest, form.language),
            )

    def question_sets(self) -> list[QuestionSet]:
        """The question sets found, in the order they were first issued."""
        return [qs for qs in self._sets.values() if qs is not None]

    def question_set(self, form_id: str) -> QuestionSet | None:
        row = self._db.execute(
            "SELECT digest FROM issued_forms WHERE form_id = ?", (form_id,)
        ).fetchone()
        return self._sets.get(row[0]) if row is not None else None

    def language(self, form_id: str) -> str | None:
        row = self._db.execute(
            "SELECT language FROM issued_forms WHERE form_id = ?", (form_id,)
        ).fetchone()
        return str(row[0]) if row is not None else None


@dataclass(frozen=True)
class CheckIn:
    """What the calendar needs of one response: whom to check in with, when."""

    form_id: str
    name: str
    day: dt.date
    meeting_date: dt.date | None
    returned: dt.datetime | None = None  # when the check-in form came back, if it did
