"""One pass over a results folder for the report: who is expected, who returned, the
wellbeing answers counted per group, the open agreements counted per leader.

Everything is read a line or a response at a time (report.json and manifest.json by ijson,
the responses one file at a time); the people of the round wait in a scratch SQLite
database, and in memory there are only counters: per group and answer, per leader.
"""

from __future__ import annotations

import datetime as dt
import sqlite3
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from musforms.errors import ConfigError
from musforms.i18n import _
from musforms.models import Employee, Question, QuestionSet
from musforms.outputs.checkins import checkin_of, with_checkin
from musforms.report import (
    NEEDS_A_LOOK,
    RETURNED_BLANK,
    UNUSABLE,
    earlier_cycle,
    iter_entries,
    iter_returned,
    no_results,
)
from musforms.response import Response, ResponseEmployee
from musforms.results import iter_responses, read_responses

# --by: the roster columns kept in the manifest that a report may group by. Names, e-mail
# addresses and ids are no groups.
GROUPINGS = {
    "department": "department",
    "leader": "manager",
    "manager": "manager",
    "language": "language",
    "meeting_date": "meeting_date",
}
# The Employee fields a response carries too (for a results folder without its forms folder,
# and for the previous round).
_ON_RESPONSE = ("department", "manager", "meeting_date")
WELLBEING_TYPES = ("scale", "choice")
DUE_SOON_DAYS = 30
QUESTION_SETS_DIR = "question_sets"

_SCHEMA = """
CREATE TABLE people (
  id TEXT PRIMARY KEY, name TEXT NOT NULL, leader TEXT NOT NULL,
  department TEXT NOT NULL, grp TEXT NOT NULL, status TEXT, problems INTEGER NOT NULL DEFAULT 0
);
"""

Value = int | str
Key = tuple[str | None, str]  # (group, or None for the whole organisation; question id)


def grouping(by: str) -> str:
    """The Employee field ``--by`` names; a ConfigError listing the choices otherwise."""
    field_name = GROUPINGS.get(by.strip().lower())
    if field_name is None:
        raise ConfigError(
            _("--by {by!r} is no column the report can group by; use one of {groupings}").format(
                by=by, groupings=", ".join(GROUPINGS)
            )
        )
    return field_name


def _text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value).strip()


@dataclass
class Wellbeing:
    """Scale and choice answers counted: (group, question) → Counter of answers; the group
    None is the whole organisation."""

    questions: dict[str, Question] = field(default_factory=dict)
    counts: dict[Key, Counter[Value]] = field(default_factory=dict)
    groups: set[str] = field(default_factory=set)
    unknown_sets: int = 0

    def add(self, group: str, qs: QuestionSet, response: Response) -> None:
        self.groups.add(group)
        for section in qs.sections:
            for q in section.questions:
                if q.type not in WELLBEING_TYPES:
                    continue
                self.questions.setdefault(q.id, q)
                value = response.answers.get(q.id)
                if not _valid(q, value):
                    continue
                assert isinstance(value, int | str)
                for g in (group, None):
                    self.counts.setdefault((g, q.id), Counter())[value] += 1

    def sizes(self, qid: str) -> dict[str, int]:
        """Answers to ``qid`` per group (every group, also those with none)."""
        return {g: sum(self.counts.get((g, qid), Counter()).values()) for g in self.groups}


def _valid(q: Question, value: object) -> bool:
    if q.type == "scale" and q.scale is not None:
        return (
            isinstance(value, int)
            and not isinstance(value, bool)
            and q.scale.min <= value <= q.scale.max
        )
    return isinstance(value, str) and any(o.id == value for o in q.options or [])


@dataclass
class Gathered:
    cycle: str
    collected_at: dt.datetime | None
    db: sqlite3.Connection
    by: str  # the Employee field grouped by
    named: bool  # the forms folder's manifest gave everyone's name and groups
    unusable_files: int = 0  # files that could not be used and name no employee
    wellbeing: Wellbeing = field(default_factory=Wellbeing)
    # leader → [open, due within DUE_SOON_DAYS, overdue]
    agreements: dict[str, list[int]] = field(default_factory=dict)
    conclusions: int = 0  # conclusions collected (conclusions/responses/)
    approved: int = 0  # of those, approved by both the employee and the leader


class QuestionSets:
    """The question sets the responses were answered with, by (id, version)."""

    def __init__(self, *folders: Path | None) -> None:
        from musforms.questionset import load_question_set

        self.by_version: dict[tuple[str, str], QuestionSet] = {}
        for folder in folders:
            if folder is None:
                continue
            for path in sorted((folder / QUESTION_SETS_DIR).glob("*.yaml")):
                qs = load_question_set(path)
                self.by_version.setdefault((qs.id, qs.version), qs)
            if (folder / "questions.yaml").is_file():
                qs = load_question_set(folder / "questions.yaml")
                self.by_version.setdefault((qs.id, qs.version), qs)

    def of(self, response: Response) -> QuestionSet | None:
        ref = response.form.question_set
        return self.by_version.get((ref.id, ref.version))


def _head(results: Path) -> tuple[str, dt.datetime | None]:
    from musforms.jsonstream import head
    from musforms.report import REPORT

    cycle = earlier_cycle(results)
    if cycle is None:
        raise no_results(results)
    top = head(
        results / REPORT,
        "the collect report",
        skip=("files", "returned", "missing", "missing_notes"),
    )
    when = top.get("collected_at")
    try:
        collected = dt.datetime.fromisoformat(when) if isinstance(when, str) else None
    except ValueError:
        collected = None
    return cycle, collected


def _missing(results: Path) -> Iterator[tuple[str, str | None]]:
    """(employee id, note) of everyone report.json lists as missing."""
    from musforms.jsonstream import items
    from musforms.report import REPORT

    path = results / REPORT
    notes: dict[str, str] = {}
    # The notes are few (files returned blank); the missing list may be long.
    for note in items(path, "missing_notes", "the collect report"):
        if isinstance(note, dict):
            notes = {str(k): str(v) for k, v in note.items()}
    for eid in items(path, "missing.item", "the collect report"):
        yield str(eid), notes.get(str(eid))


def _employee_group(employee: Employee | ResponseEmployee, by: str) -> str:
    return _text(getattr(employee, by, None))


def gather(
    results: Path,
    db: sqlite3.Connection,
    *,
    forms_dir: Path | None,
    by: str,
    today: dt.date,
) -> Gathered:
    """Read the results folder (and the forms folder's manifest, for who is who) into
    ``db`` and counters."""
    from musforms.manifest import iter_manifest_forms

    db.executescript(_SCHEMA)
    cycle, collected_at = _head(results)
    got = Gathered(cycle, collected_at, db, by, named=forms_dir is not None)
    if forms_dir is not None:
        db.executemany(
            "INSERT OR REPLACE INTO people (id, name, leader, department, grp) VALUES (?,?,?,?,?)",
            (
                (
                    f.employee_id,
                    _text(f.employee.name),
                    _text(f.employee.manager),
                    _text(f.employee.department),
                    _employee_group(f.employee, by),
                )
                for f in iter_manifest_forms(forms_dir)
            ),
        )
    for eid, note in _missing(results):
        status = "blank" if note == RETURNED_BLANK else "missing"
        _set_status(db, eid, status)
    for entry in iter_entries(results):
        looks = entry.status in NEEDS_A_LOOK and entry.status != "blank"
        if entry.employee_id is None:
            got.unusable_files += entry.status in UNUSABLE
        elif looks or entry.problems:
            _ensure(db, entry.employee_id)
            db.execute("UPDATE people SET problems = 1 WHERE id = ?", (entry.employee_id,))
    sets = QuestionSets(results, forms_dir)
    # Each with its conclusion where it came back: the agreements counted are the agreed ones,
    # each by its latest status (a check-in's, where one came back).
    for response in iter_responses(results):
        _returned(got, response, sets, today, checkin_of(results, response.employee.id))
        if response.conclusion is not None:
            got.conclusions += 1
            got.approved += response.conclusion.approved
    return got


def _ensure(db: sqlite3.Connection, eid: str) -> None:
    db.execute(
        "INSERT OR IGNORE INTO people (id, name, leader, department, grp) VALUES (?,?,?,?,?)",
        (eid, "", "", "", ""),
    )


def _set_status(db: sqlite3.Connection, eid: str, status: str) -> None:
    _ensure(db, eid)
    db.execute("UPDATE people SET status = ? WHERE id = ?", (status, eid))


def _returned(
    got: Gathered,
    response: Response,
    sets: QuestionSets,
    today: dt.date,
    checkin: Response | None = None,
) -> None:
    """Count what ``response`` says: its status, wellbeing and open agreements, each
    agreement by the status its ``checkin`` gives it where one came back."""
    from musforms.outputs.views import iter_agreement_rows

    db, emp = got.db, response.employee
    row = db.execute("SELECT grp FROM people WHERE id = ?", (emp.id,)).fetchone()
    if row is None or not got.named:
        group = _employee_group(emp, got.by) if got.by in _ON_RESPONSE else ""
        db.execute(
            "INSERT OR REPLACE INTO people (id, name, leader, department, grp, problems) "
            "VALUES (?,?,?,?,?, COALESCE((SELECT problems FROM people WHERE id = ?), 0))",
            (emp.id, _text(emp.name), _text(emp.manager), _text(emp.department), group, emp.id),
        )
    else:
        group = row[0]
    db.execute(
        "UPDATE people SET status = 'returned', problems = MAX(problems, ?) WHERE id = ?",
        (1 if response.problems else 0, emp.id),
    )
    qs = sets.of(response)
    if qs is None:
        got.wellbeing.unknown_sets += 1
    else:
        got.wellbeing.add(group, qs, response)
    soon = today + dt.timedelta(days=DUE_SOON_DAYS)
    for agreement in with_checkin(iter_agreement_rows([response]), checkin):
        if not agreement.is_open:
            continue
        counts = got.agreements.setdefault(agreement.leader.strip(), [0, 0, 0])
        counts[0] += 1
        if agreement.due is not None and agreement.due < today:
            counts[2] += 1
        elif agreement.due is not None and agreement.due <= soon:
            counts[1] += 1


def previous_wellbeing(results: Path, by: str) -> tuple[str, Wellbeing] | None:
    """The previous round's wellbeing counts, grouped by what its responses say of each
    employee (None when the grouping is not on a response)."""
    if by not in _ON_RESPONSE:
        return None
    cycle = earlier_cycle(results)
    if cycle is None:
        raise no_results(results)
    sets = QuestionSets(results)
    wellbeing = Wellbeing()
    for response in read_responses(results, iter_returned(results)):
        qs = sets.of(response)
        if qs is None:
            wellbeing.unknown_sets += 1
            continue
        wellbeing.add(_employee_group(response.employee, by), qs, response)
    return cycle, wellbeing


_STATUS_BY = {
    column: f"SELECT {column}, COUNT(*), SUM(status = 'returned'), SUM(status = 'blank'), "  # noqa: S608 (two fixed column names)
    "SUM(status = 'missing'), SUM(problems) FROM people WHERE status IS NOT NULL "
    f"GROUP BY {column}"
    for column in ("grp", "leader")
}


@dataclass(frozen=True)
class StatusRow:
    group: str
    expected: int
    returned: int
    blank: int
    missing: int
    problems: int


def status_rows(db: sqlite3.Connection, column: str) -> list[StatusRow]:
    """Round status per value of ``column`` (grp or leader), by name; the one without a name
    last."""
    rows = db.execute(_STATUS_BY[column]).fetchall()
    out = [StatusRow(str(r[0]), *(int(v or 0) for v in r[1:])) for r in rows]
    return sorted(out, key=lambda r: (r.group == "", r.group.casefold(), r.group))


def total_row(db: sqlite3.Connection) -> StatusRow:
    r = db.execute(
        "SELECT COUNT(*), SUM(status = 'returned'), SUM(status = 'blank'), "
        "SUM(status = 'missing'), SUM(problems) FROM people WHERE status IS NOT NULL"
    ).fetchone()
    return StatusRow("", *(int(v or 0) for v in r))


def missing_people(db: sqlite3.Connection) -> Iterator[tuple[str, str, str, str]]:
    """(leader, name, id, status) of everyone missing, by leader and name, a page at a time."""
    last: tuple[str, str, str] = ("", "", "")
    first = True
    while True:
        rows = db.execute(
            "SELECT leader, name, id, status FROM people WHERE status IN ('missing', 'blank') "
            "AND (? OR (leader, name, id) > (?, ?, ?)) ORDER BY leader, name, id LIMIT 512",
            (first, *last),
        ).fetchall()
        yield from rows
        if len(rows) < 512:
            return
        first = False
        last = (rows[-1][0], rows[-1][1], rows[-1][2])
