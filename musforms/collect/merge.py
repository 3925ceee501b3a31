"""Which return of a form is on record: this run's files merged with what earlier runs
collected, in the ledger (musforms.workdb).

The rules, so that nothing collected is ever lost by a later run:

- Of two different returns of one form, the one saved last wins; a return read from its
  fields beats one recovered from the page saved at the same moment. When their answers
  differ, the older is ``superseded`` and both carry the problem ``conflicting_returns``
  naming the other (of more than two, each superseded one names the return that counts, and
  that one names them all); when they are the same, the older is a ``duplicate``.
- A return with no answer at all never replaces one with answers: it is a ``duplicate`` of
  the file whose answers are on record, or, when none are, ``blank`` (it does not count as
  returned: the employee stays missing).
- An identical copy of the return on record (or of a file read earlier in this run) is a
  duplicate, whichever of the two sorts first, and however often the folder is read.
- A return with no answer at all carries no "required, but not answered" problems, however
  it was met.
- An older return found to hold the same answers as another return stays its duplicate
  when that one is outdated too: a file's line does not depend on how many runs read it.
- Answers are compared with those of the file the report names as counting: when a run
  stopped before its report, its employee's response may hold another file's (its source
  says so), and the file that counts is read again instead.
- A file whose answers are on record and that cannot be used when read again (changed on
  disk, cut short, another key) keeps its answers on record; its line says what happened.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import stat
from collections.abc import Callable
from pathlib import Path
from typing import Any

from musforms.collect.context import FileResult
from musforms.files import FILE_MODE, write_bytes
from musforms.models import Problem
from musforms.report import CONFLICTING, USABLE, FileEntry, iter_entries
from musforms.results import response_path
from musforms.workdb import Ledger

KEPT = "answers_kept"  # problem code: a file's earlier answers stay on record
SAME_ANSWERS = "an older return with the same answers as "  # a duplicate's reason, + the file


def saved_key(entry: FileEntry) -> tuple[int, dt.datetime]:
    saved = entry.saved_at or dt.datetime.min.replace(tzinfo=dt.UTC)
    if saved.tzinfo is None:
        saved = saved.replace(tzinfo=dt.UTC)
    # A form read from its fields beats one recovered from the layout saved at the same time.
    return (1 if entry.status == "ok" else 0, saved)


def has_answers(data: dict[str, Any]) -> bool:
    """Whether a response (as its JSON data) holds any answer at all: a text, a choice, a
    ticked box, a date typed that could not be read, an agreement, or a status or comment on
    last round's agreements."""
    answers = data.get("answers") or {}
    if any(value not in (None, False, "", []) for value in answers.values()):
        return True
    if data.get("typed") or data.get("agreements"):
        return True
    return any(a.get("status") or a.get("comment") for a in data.get("previous_agreements") or [])


def load_earlier(out: Path, ledger: Ledger) -> None:
    """Earlier runs' report lines, one at a time, with the answers they put on record."""
    for entry in iter_entries(out):
        ledger.put(entry, this_run=False)
        if entry.status in USABLE and entry.form_id:
            ledger.set_winner(entry.form_id, entry.file)


Reread = Callable[[FileEntry], str | None]


def record(out: Path, ledger: Ledger, result: FileResult, reread: Reread | None = None) -> bool:
    """Put one file's result on record: its report line and, when its answers are the newest
    for its form, its response. ``reread`` reads a file on record again (its response as
    text, or None), for when the answers saved for it were overwritten by a run that then
    stopped before its report. Whether the response file was written or removed."""
    entry = result.entry
    usable = entry.status in USABLE and result.text is not None and bool(entry.form_id)
    # The response as data, parsed once for every comparison below.
    data = _data(result)
    answered = data is not None and has_answers(data)
    if (not usable or not answered) and _keep_earlier(out, ledger, entry, usable):
        return False
    if not usable:
        if entry.sha256:
            ledger.first_seen(entry.sha256, entry.file)
        ledger.put(entry)
        return False
    changed = False
    assert entry.form_id is not None and entry.employee_id is not None
    assert entry.sha256 is not None and result.text is not None
    current = ledger.winner(entry.form_id)
    first = ledger.first_seen(entry.sha256, entry.file)
    other = current is not None and current.file != entry.file
    # The response on record, read only when this file is not a byte-identical copy of it.
    same_bytes = current is not None and (current.sha256 == entry.sha256 or first is not None)
    on_record = (
        _on_record(out, current, reread, ledger)
        if current is not None and other and not same_bytes
        else None
    )
    # Answers beat none, whenever saved: a blank on record is left from report/1, which had
    # no ``blank`` status.
    blank_on_record = on_record is not None and not has_answers(on_record)
    if current is not None and current.file == entry.file:
        # The file on record, read again (changed or not): still the one on record, and still
        # in conflict with the returns it was found to differ from.
        if answered:
            earlier = ledger.entry(entry.file)
            kept = [p for p in earlier.problems if p.code == CONFLICTING] if earlier else []
            entry.problems = [*entry.problems, *kept]
        else:  # held nothing then (else it was kept above) and holds nothing now
            ledger.clear_winner(entry.form_id)
            gone = response_path(out, entry.employee_id)
            changed = os.path.lexists(gone)
            gone.unlink(missing_ok=True)
            ledger.last_response = None
            ledger.made(entry.employee_id, made=False)
            _blank(entry)
    elif current is not None and current.sha256 == entry.sha256:
        _duplicate(entry, f"an identical copy of {current.file}")
    elif first is not None:
        _duplicate(entry, f"an identical copy of {first}")
    elif not answered:
        if current is not None and on_record is not None and not blank_on_record:
            _duplicate(
                entry,
                f"a copy of the form with no answer at all; the answers from {current.file} "
                "are kept",
            )
        else:
            _blank(entry)
    elif (
        current is not None
        and saved_key(entry) <= saved_key(current)
        and (same_as := _same_answers_as_before(ledger, entry)) is not None
    ):
        # Found in an earlier run to hold the answers of a return that was later outdated
        # too: still so, as a run over every file at once finds it.
        _duplicate(entry, same_as)
    elif current is not None and not blank_on_record and saved_key(entry) <= saved_key(current):
        if _same_answers(data, on_record):
            _duplicate(entry, f"{SAME_ANSWERS}{current.file}")
        else:
            _conflict(ledger, older=entry, newer=current)
            ledger.update(current)
    if entry.status in USABLE:
        if current is not None and other:
            if blank_on_record:
                _blank(current)  # and, the answers now on record named, a duplicate (below)
            elif _same_answers(data, on_record):
                current.status = "duplicate"
                current.reason = f"{SAME_ANSWERS}{entry.file}"
            else:
                _conflict(ledger, older=current, newer=entry)
            ledger.update(current)
        ledger.set_winner(entry.form_id, entry.file)
        ledger.last_response = None  # until the file holds it
        changed = _write_response(response_path(out, entry.employee_id), result.text) or changed
        if data is not None:
            ledger.last_response = (entry.employee_id, data)
        ledger.made(entry.employee_id)
        _behind(ledger, entry)
    if not answered and entry.status in ("blank", "duplicate"):
        _no_required_missing(entry)
    ledger.put(entry)
    return changed


def settle_conflicts(ledger: Ledger) -> None:
    """Once every file is merged: of each form with returns whose answers differ, every
    superseded return names the one that counts, and that one names them all, in the order
    of their names. Each merge step names the returns it compared, which, met over several
    runs, are not those a run over every file compares; this makes the lines the same
    however many runs met the returns, and in whichever order."""
    for form_id in ledger.forms_in_conflict():
        winner = ledger.winner(form_id)
        if winner is None:
            continue
        older = sorted(ledger.of_form(form_id, ("superseded",)), key=lambda e: e.file)
        lines = [*ledger.of_form(form_id, ("duplicate", "blank")), *older, winner]
        for entry in lines:
            entry.problems = [p for p in entry.problems if p.code != CONFLICTING]
        for entry in older:
            _name_other(entry, winner.file, "newer, and counts")
            _name_other(winner, entry.file, "older, and does not count")
        for entry in lines:
            ledger.update(entry)


def _write_response(path: Path, text: str) -> bool:
    """The response written, unless the file holds these very bytes already (its own,
    private, not a link): a morning's run over files read before rewrites no answer. Whether
    it was written."""
    data = text.encode("utf-8")
    try:
        st = os.stat(path, follow_symlinks=False)
        same = (
            stat.S_ISREG(st.st_mode)
            and st.st_uid == os.getuid()
            and stat.S_IMODE(st.st_mode) == FILE_MODE
            and st.st_size == len(data)
            and path.read_bytes() == data
        )
    except OSError:
        same = False
    if not same:
        write_bytes(path, data)
    return not same


def _blank(entry: FileEntry) -> None:
    entry.status = "blank"
    entry.reason = (
        "returned with no answer at all (the form as issued, or every answer emptied): it "
        "does not count as returned; ask the employee for the filled-in form"
    )
    _no_required_missing(entry)


def _no_required_missing(entry: FileEntry) -> None:
    """Every required answer is missing from a form with no answer at all (blank, or a copy
    of the form kept beside the answers on record): saying so per question adds nothing."""
    entry.problems = [p for p in entry.problems if p.code != "required_missing"]


def _conflict(ledger: Ledger, *, older: FileEntry, newer: FileEntry) -> None:
    """``older`` and ``newer`` are returns of one form whose answers differ: the newer counts,
    and each names the other so that HR can check which one the employee meant."""
    assert older.form_id is not None
    older.status = "superseded"
    older.reason = (
        f"an older return of the same form with other answers; the newer {newer.file} counts"
    )
    _name_other(older, newer.file, "newer, and counts")
    _name_other(newer, older.file, "older, and does not count")
    ledger.note_conflict(older.form_id)


def _name_other(entry: FileEntry, other: str, which: str) -> None:
    said = f"another return of this form, {other}, has other answers; "
    entry.problems = [
        p for p in entry.problems if not (p.code == CONFLICTING and p.message.startswith(said))
    ]
    entry.problems.append(
        Problem(
            code=CONFLICTING,
            question=None,
            message=f"{said}it is {which}: check with the employee which one they meant",
        )
    )


def _behind(ledger: Ledger, winner: FileEntry) -> None:
    """The lines of ``winner``'s form recorded before it won that must now name it: a blank
    copy becomes a duplicate of the file with the answers, an older superseded return says
    which file counts now."""
    assert winner.form_id is not None
    for other in ledger.of_form(winner.form_id, ("blank", "superseded")):
        if other.file == winner.file:
            continue
        if other.status == "blank":
            _duplicate(
                other,
                f"a copy of the form with no answer at all; the answers from {winner.file} "
                "are kept",
            )
        else:
            other.reason = (
                f"an older return of the same form with other answers; the newer {winner.file} "
                "counts"
            )
        ledger.update(other)


def _same_answers_as_before(ledger: Ledger, entry: FileEntry) -> str | None:
    """The reason an earlier run gave when it found ``entry``'s file, unchanged since, to hold
    the same answers as another, newer return of its form; else None."""
    earlier = ledger.entry(entry.file)
    if (
        earlier is None
        or earlier.status != "duplicate"
        or earlier.sha256 != entry.sha256
        or not (earlier.reason or "").startswith(SAME_ANSWERS)
    ):
        return None
    return earlier.reason


def _duplicate(entry: FileEntry, reason: str) -> None:
    entry.status = "duplicate"
    entry.reason = reason


def _on_record(
    out: Path, current: FileEntry, reread: Reread | None = None, ledger: Ledger | None = None
) -> dict[str, Any] | None:
    """The answers on record for ``current``, the file that counts for its form. They are
    in its employee's response, unless a run that stopped before writing its report put
    another file's answers there: then they are read again from the file itself (None when
    it is gone or has changed)."""
    if current.employee_id is None:
        return None
    last = ledger.last_response if ledger is not None else None
    if last is not None and last[0] == current.employee_id:
        data: dict[str, Any] | None = last[1]
    else:
        data = _response_data(out, current.employee_id)
    source = (data or {}).get("source")
    if data is None or not isinstance(source, dict) or source.get("sha256") == current.sha256:
        return data
    text = reread(current) if reread is not None else None
    if text is None:
        return None
    again: dict[str, Any] = json.loads(text)
    return again


def _response_data(out: Path, employee_id: str) -> dict[str, Any] | None:
    try:
        text = response_path(out, employee_id).read_text(encoding="utf-8")
        data: dict[str, Any] = json.loads(text)
    except (OSError, ValueError):
        return None
    return data


def _same_answers(data: dict[str, Any] | None, on_record: dict[str, Any] | None) -> bool:
    """Whether a response (as its JSON data) holds the same answers as the one on record
    (the same form saved again without a change, or filled alike in both formats)."""
    if on_record is None or data is None:
        return False
    return all(data.get(k) == on_record.get(k) for k in _ANSWERED)


_ANSWERED = ("answers", "typed", "agreements", "previous_agreements")


def _data(result: FileResult) -> dict[str, Any] | None:
    if result.text is None:
        return None
    data: dict[str, Any] = json.loads(result.text)
    return data


def _on_record_answered(out: Path, ledger: Ledger, current: FileEntry) -> bool:
    data = _on_record(out, current, None, ledger)
    return data is not None and has_answers(data)


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
    if usable and not _on_record_answered(out, ledger, earlier):
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
