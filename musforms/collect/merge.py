"""Which return of a form is on record: this run's files merged with what earlier runs
collected, in the ledger (musforms.workdb)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from musforms.collect.context import FileResult
from musforms.files import write_text
from musforms.report import USABLE, FileEntry, iter_entries
from musforms.results import response_path
from musforms.workdb import Ledger


def saved_key(entry: FileEntry) -> tuple[int, dt.datetime]:
    saved = entry.saved_at or dt.datetime.min.replace(tzinfo=dt.UTC)
    if saved.tzinfo is None:
        saved = saved.replace(tzinfo=dt.UTC)
    # A form read from its fields beats one recovered from the layout saved at the same time.
    return (1 if entry.status == "ok" else 0, saved)


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
    # The same file read again replaces its earlier line, and its earlier answers with it.
    ledger.drop_winner_file(entry.file)
    try:
        if entry.sha256 and entry.status in USABLE:
            first = ledger.first_seen(entry.sha256, entry.file)
            if first is not None:
                entry.status = "duplicate"
                entry.reason = f"an identical copy of {first}"
                return
        elif entry.sha256:
            ledger.first_seen(entry.sha256, entry.file)
        if entry.status not in USABLE or result.text is None or not entry.form_id:
            return
        current = ledger.winner(entry.form_id)
        if current is not None and current.sha256 == entry.sha256:
            entry.status = "duplicate"
            entry.reason = f"an identical copy of {current.file}"
            return
        if current is None or saved_key(entry) > saved_key(current):
            if current is not None:
                current.status = "duplicate"
                current.reason = f"an older return of the same form; {entry.file} is newer"
                ledger.update(current)
            ledger.set_winner(entry.form_id, entry.file)
            assert entry.employee_id is not None
            write_text(response_path(out, entry.employee_id), result.text)
        else:
            entry.status = "duplicate"
            entry.reason = f"an older return of the same form; {current.file} is newer"
    finally:
        ledger.put(entry)
