"""Retention: delete collected answers older than a date, and every trace of them.

A response is dated by its meeting date, else by when its form was saved. Purging an
employee removes their response, minutes, report lines and follow-up rows; the combined
files (responses.json, report.json, agreements.xlsx/csv, followup.ics) are rewritten
without them.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field
from pathlib import Path

from musforms.collect import (
    Report,
    load_report,
    response_path,
    write_report_json,
    write_responses_json,
)
from musforms.errors import ConfigError
from musforms.response import Response


@dataclass
class PurgePlan:
    results: Path
    before: dt.date
    employee_ids: list[str] = field(default_factory=list)
    files: list[Path] = field(default_factory=list)  # files deleted outright
    report_lines: int = 0  # report.json lines that go
    keep: list[Response] = field(default_factory=list)


def _dated(response: Response) -> dt.date | None:
    if response.employee.meeting_date:
        return response.employee.meeting_date
    if response.source and response.source.saved_at:
        return response.source.saved_at.date()
    return None


def _minutes_for(results: Path, response: Response) -> list[Path]:
    """The minutes drafted from ``response``: its exact file name, never a prefix (which
    would also match another employee whose id starts the same way)."""
    from musforms.outputs.minutes import minutes_name

    path = results / "minutes" / minutes_name(response)
    return [path] if path.is_file() else []


def plan_purge(results: Path, before: dt.date) -> PurgePlan:
    """What purging ``results`` of everything dated before ``before`` would delete."""
    report = load_report(results)
    if report is None:
        raise ConfigError(f"{results} holds no collected results (no report.json)")
    plan = PurgePlan(results, before)
    for eid in report.returned:
        path = response_path(results, eid)
        if not path.is_file():
            continue
        response = Response.model_validate(json.loads(path.read_text(encoding="utf-8")))
        date = _dated(response)
        if date is not None and date < before:
            plan.employee_ids.append(eid)
            plan.files.append(path)
            plan.files.extend(_minutes_for(results, response))
        else:
            plan.keep.append(response)
    gone = set(plan.employee_ids)
    plan.report_lines = sum(1 for e in report.files if e.employee_id in gone)
    return plan


def execute(plan: PurgePlan) -> None:
    """Delete what ``plan`` lists and rewrite the combined files without it."""
    results = plan.results
    report = load_report(results)
    assert report is not None
    gone = set(plan.employee_ids)
    for path in plan.files:
        path.unlink(missing_ok=True)
    remaining = Report(
        cycle=report.cycle,
        collected_at=report.collected_at,
        files=[e for e in report.files if e.employee_id not in gone],
        returned=[e for e in report.returned if e not in gone],
        missing=report.missing,
    )
    write_responses_json(results, remaining.returned)
    write_report_json(results, remaining)
    _rewrite_outputs(results, plan.keep)


def _rewrite_outputs(results: Path, keep: list[Response]) -> None:
    """The follow-up list and calendar, rebuilt from what is kept."""
    from musforms.outputs import rewrite_followup

    rewrite_followup(results, keep)
