"""Retention: delete collected answers older than a date, and every trace of them.

A response is dated by its meeting date, else by when its form was saved. Purging an
employee removes their response, minutes, conclusion, check-in, report lines and follow-up
rows; the combined files (responses.json, report.json, agreements.xlsx/csv, followup.ics,
and the conclusions' and check-ins' own) are rewritten without them.

Purging also removes what runs that were killed halfway left in the results folder: their
half-written files and scratch databases (see musforms.files), which hold answers and names
as much as the rest; and collect's cache of what it read (musforms.collect.cache), which
holds answers too.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from musforms.collect.cache import cache_path, remove_cache
from musforms.errors import ConfigError
from musforms.files import find_leftovers, remove_leftovers, scratch_space, write_text
from musforms.i18n import _
from musforms.outputs.checkins import checkins_folder
from musforms.report import Report, write_report_json
from musforms.response import Response
from musforms.results import response_path, write_responses_json


@dataclass
class PurgePlan:
    results: Path
    before: dt.date
    employee_ids: list[str] = field(default_factory=list)
    files: list[Path] = field(default_factory=list)  # files deleted outright
    report_lines: int = 0  # report.json lines that go
    kept: int = 0  # employees whose answers stay
    leftovers: list[Path] = field(default_factory=list)  # of runs killed halfway
    cache: Path | None = None  # collect's cache of what it read (deleted with any answers)

    @property
    def empty(self) -> bool:
        """Whether there is nothing to delete."""
        return not self.employee_ids and not self.leftovers


def _dated(response: Response) -> dt.date | None:
    if response.employee.meeting_date:
        return response.employee.meeting_date
    if response.source and response.source.saved_at:
        return response.source.saved_at.date()
    return None


def _minutes_for(results: Path, response: Response) -> list[Path]:
    """The minutes drafted from ``response``: its exact file name, never a prefix (which
    would also match another employee whose id starts the same way), and the name earlier
    versions gave it, if a draft of that name is there too."""
    from musforms.outputs.minutes import earlier_minutes_names, minutes_name

    names = [minutes_name(response), *earlier_minutes_names(response)]
    return [p for p in (results / "minutes" / n for n in names) if p.is_file()]


def _conclusion_files(results: Path, employee_id: str) -> list[Path]:
    """An employee's conclusion form(s) (they show the preparation) and collected conclusion."""
    from musforms.conclusions import conclusions_dir
    from musforms.manifest import MANIFEST, iter_manifest_forms

    folder = conclusions_dir(results)
    found = [response_path(folder, employee_id)]
    if (folder / MANIFEST).is_file():
        for form in iter_manifest_forms(folder):
            if form.employee_id == employee_id:
                found.extend(folder / name for name in form.files.values())
    return [p for p in found if p.is_file()]


def plan_purge(results: Path, before: dt.date) -> PurgePlan:
    """What purging ``results`` of everything dated before ``before`` would delete.

    The responses are gone through one at a time; only what goes is listed.
    """
    from musforms.jsonstream import items
    from musforms.results import iter_responses

    plan = PurgePlan(results, before)
    try:
        responses = iter_responses(results)
    except ConfigError:
        raise ConfigError(
            _("{results} holds no collected results (no report.json)").format(results=results)
        ) from None
    for response in responses:
        date = _dated(response)
        if date is not None and date < before:
            plan.employee_ids.append(response.employee.id)
            plan.files.append(response_path(results, response.employee.id))
            plan.files.extend(_minutes_for(results, response))
            plan.files.extend(_conclusion_files(results, response.employee.id))
            checkin = response_path(checkins_folder(results), response.employee.id)
            if checkin.is_file():
                plan.files.append(checkin)
        else:
            plan.kept += 1
    gone = set(plan.employee_ids)
    report = results / "report.json"
    plan.report_lines = sum(
        1 for e in items(report, "files.item", "the collect report") if e.get("employee_id") in gone
    )
    plan.leftovers = find_leftovers(results)
    if cache_path(results).is_file():  # what collect read, answers among it
        plan.cache = cache_path(results)
    pending = _pending(results)
    for eid in pending.get("employee_ids", []):
        if eid not in gone:
            plan.employee_ids.append(eid)
    plan.files.extend(Path(f) for f in pending.get("files", []) if Path(f).exists())
    return plan


# A purge notes what it deletes here before it deletes anything, and removes the note when
# it is done: a purge that was killed part way is finished by the next purge or collect.
PENDING = ".musforms-purge.json"


def _pending(results: Path) -> dict[str, list[str]]:
    path = results / PENDING
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as exc:
        raise ConfigError(
            _(
                "{path}, the note of an unfinished purge, is damaged: run "
                "'musforms purge' again with the same date"
            ).format(path=path)
        ) from exc
    return {k: [str(v) for v in data.get(k, [])] for k in ("employee_ids", "files")}


def finish_pending(results: Path) -> bool:
    """Finish a purge that was stopped part way (its note is still there); whether there
    was one. The caller holds the results folder's lock."""
    pending = _pending(results)
    if not pending:
        return False
    plan = PurgePlan(results, dt.date.min, employee_ids=pending.get("employee_ids", []))
    plan.files = [Path(f) for f in pending.get("files", [])]
    _purge(plan)
    return True


def execute(plan: PurgePlan) -> int:
    """Delete what ``plan`` lists and rewrite the combined files without it, one item at a
    time, holding the results folder's lock; how many files and folders that killed runs had
    left it removed (those the plan lists, and any left since)."""
    from musforms.lock import folder_lock

    with folder_lock(plan.results, "purge"):
        return _execute(plan)


def _execute(plan: PurgePlan) -> int:
    results = plan.results
    removed = remove_leftovers(results)
    with scratch_space(results, sweep=False):
        if plan.employee_ids:
            _purge(plan)
    return len(removed)


def _purge(plan: PurgePlan) -> None:
    from musforms.results import iter_responses

    results = plan.results
    gone = set(plan.employee_ids)
    # What collect read holds the answers that go: deleted first (the next collect reads
    # the returned files again and makes it anew).
    remove_cache(results)
    note = results / PENDING
    if not note.exists():
        files = [str(p) for p in plan.files]
        write_text(note, json.dumps({"employee_ids": sorted(gone), "files": files}))
    for path in plan.files:
        path.unlink(missing_ok=True)
    _rewrite_report(results, gone)
    _purge_conclusions(results, gone)
    _purge_checkins(results, gone)
    _rewrite_outputs(results, iter_responses(results))
    note.unlink(missing_ok=True)


def _purge_checkins(results: Path, gone: set[str]) -> None:
    """The check-ins folder without the employees ``gone``: its report and its cache of what
    collect read."""
    folder = checkins_folder(results)
    if (folder / "report.json").is_file():
        remove_cache(folder)
        _rewrite_report(folder, gone)


def _rewrite_report(results: Path, gone: set[str]) -> None:
    """report.json and responses.json of ``results`` without the employees ``gone``."""
    from musforms.jsonstream import head, items

    report = results / "report.json"
    what = "the collect report"
    kept = Report.model_validate(head(report, what, skip=("files", "returned", "missing")))

    def returned() -> Iterator[str]:
        return (e for e in items(report, "returned.item", what) if e not in gone)

    write_responses_json(results, returned())
    write_report_json(
        results,
        kept,
        files=(e for e in items(report, "files.item", what) if e.get("employee_id") not in gone),
        returned=returned(),
        missing=(e for e in items(report, "missing.item", what) if e not in gone),
    )


def _purge_conclusions(results: Path, gone: set[str]) -> None:
    """The conclusions folder without the employees ``gone``: its report, its cache of what
    collect read, and its manifest (which names them)."""
    from musforms.conclusions import conclusions_dir
    from musforms.manifest import MANIFEST, form_entry, iter_manifest_forms, manifest_head
    from musforms.manifest import write_manifest as write

    folder = conclusions_dir(results)
    if (folder / "report.json").is_file():
        remove_cache(folder)
        _rewrite_report(folder, gone)
    if (folder / MANIFEST).is_file():
        entries = [form_entry(f) for f in iter_manifest_forms(folder) if f.employee_id not in gone]
        write(folder, manifest_head(folder), iter(entries))


def _rewrite_outputs(results: Path, keep: Iterable[Response]) -> None:
    """The follow-up list and calendar, rebuilt from what is kept."""
    from musforms.outputs import rewrite_followup

    rewrite_followup(results, keep)
