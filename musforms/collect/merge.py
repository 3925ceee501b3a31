"""Which return of a form is on record: this run's files merged with what earlier runs
collected, in the ledger (musforms.workdb).

The rules, so that nothing collected is ever lost by a later run:

- Of two different returns of one form, the one saved last wins; a return read from its
  fields beats one recovered from the page saved at the same moment.
- A return with no answer at all never replaces one with answers.
- An identical copy of the return on record (or of a file read earlier in this run) is a
  duplicate, whichever of the two sorts first, and however often the folder is read.
- A file whose answers are on record and that cannot be used when read again (changed on
  disk, cut short, another key) keeps its answers on record; its line says what happened.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

from musforms.collect.context import FileResult
from musforms.files import write_text
from musforms.models import Problem
from musforms.report import USABLE, FileEntry, iter_entries
from musforms.results import response_path
from musforms.workdb import Ledger

KEPT = "answers_kept"  # problem code: a file's earlier answers stay on record


def saved_key(entry: FileEntry) -> tuple[int, dt.datetime]:
    saved = entry.saved_at or dt.datetime.min.replace(tzinfo=dt.UTC)
    if saved.tzinfo is None:
        saved = saved.replace(tzinfo=dt.UTC)
    # A form read from its fields beats one recovered from the layout saved at the same time.
    return (1 if entry.status == "ok" else 0, saved)


def has_answers(data: dict[str, Any]) -> bool:
    """Whether a response (as its JSON data) holds any answer at all: a text, a choice, a
    ticked box, an agreement, or a status or comment on last round's agreements."""
    answers = data.get("answers") or {}
    if any(value not in (None, False, "", []) for value in answers.values()):
        return True
    if data.get("agreements"):
        return True
    return any(a.get("status") or a.get("comment") for a in data.get("previous_agreements") or [])


def load_earlier(out: Path, ledger: Ledger) -> None:
    """Earlier runs' report lines, one at a time, with the answers they put on record."""
    for entry in iter_entries(out):
        ledger.put(entry, this_run=False)
        if entry.status in USABLE and entry.form_id:
            ledger.set_winner(entry.form_id, entry.file)


def record(out: Path, ledger: Ledger, result: FileResult) -> None:
    """Put one file's result on record: its report line and, when its answers are the newest
    for its form, its response."""
    entry = result.entry
    usable = entry.status in USABLE and result.text is not None and bool(entry.form_id)
    if (not usable or not _answered(result)) and _keep_earlier(out, ledger, entry, usable):
        return
    if not usable:
        if entry.sha256:
            ledger.first_seen(entry.sha256, entry.file)
        ledger.put(entry)
        return
    assert entry.form_id is not None and entry.employee_id is not None
    assert entry.sha256 is not None and result.text is not None
    current = ledger.winner(entry.form_id)
    first = ledger.first_seen(entry.sha256, entry.file)
    if current is not None and current.file == entry.file:
        pass  # the file on record, read again (changed or not): still the one on record
    elif current is not None and current.sha256 == entry.sha256:
        _duplicate(entry, f"an identical copy of {current.file}")
    elif first is not None:
        _duplicate(entry, f"an identical copy of {first}")
    elif current is not None and not _answered(result) and _on_record_answered(out, current):
        _duplicate(
            entry,
            f"a copy of the form with no answer at all; the answers from {current.file} are kept",
        )
    elif current is not None and saved_key(entry) <= saved_key(current):
        _duplicate(entry, f"an older return of the same form; {current.file} is newer")
    if entry.status in USABLE:
        if current is not None and current.file != entry.file:
            current.status = "duplicate"
            current.reason = f"an older return of the same form; {entry.file} is newer"
            ledger.update(current)
        ledger.set_winner(entry.form_id, entry.file)
        write_text(response_path(out, entry.employee_id), result.text)
    ledger.put(entry)


def _duplicate(entry: FileEntry, reason: str) -> None:
    entry.status = "duplicate"
    entry.reason = reason


def _answered(result: FileResult) -> bool:
    if result.text is None:
        return False
    data: dict[str, Any] = json.loads(result.text)
    return has_answers(data)


def _on_record_answered(out: Path, current: FileEntry) -> bool:
    if current.employee_id is None:
        return False
    path = response_path(out, current.employee_id)
    try:
        data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return has_answers(data)


def _keep_earlier(out: Path, ledger: Ledger, entry: FileEntry, usable: bool) -> bool:
    """When ``entry``'s file holds the answers on record and this read gives none (it could
    not be used, or holds no answer), keep the earlier line and answers, noting this read.
    Whether it did."""
    form_id = ledger.form_won_by(entry.file)
    if form_id is None:
        return False
    earlier = ledger.entry(entry.file)
    if earlier is None or earlier.status not in USABLE:
        return False
    if usable and not _on_record_answered(out, earlier):
        return False  # empty then, empty now: nothing to keep
    what = (
        "holds no answer now" if usable else f"could not be used ({entry.reason or entry.status})"
    )
    when = earlier.saved_at.date().isoformat() if earlier.saved_at else "an earlier run"
    earlier.problems = [p for p in earlier.problems if p.code != KEPT]
    earlier.problems.append(
        Problem(
            code=KEPT,
            question=None,
            message=f"read again this time, the file {what}; the answers read from it "
            f"before (saved {when}) stay on record",
        )
    )
    ledger.put(earlier)
    return True
