"""The send log: what ``musforms send`` has handed to the mail server, so a re-run resumes.

``sent.jsonl`` in the forms folder, one JSON object a line, mode 0600. A line is appended
and flushed to disk (fsync) right after the server accepted the message, before the same
connection sends the next one (``send`` uses a few at once, one message at a time between
its end and its line): a run killed or cut off halfway leaves every accepted message on
record, and the next run sends only the rest. A line cut short by a crash (the last one) is
ignored; any other line that cannot be read is an error, since guessing could send someone
their form twice.

A line::

    {"kind": "invitation", "employee_id": "1042", "to": "soeren@example.dk",
     "files": [{"name": "1042-soeren-aeroe.pdf", "sha256": "…"}],
     "sent_at": "2026-12-02T09:14:03+01:00", "message_id": "<…@example.dk>"}

``kind`` is ``invitation``, ``reminder`` or ``leaders`` (then ``employee_id`` is null and
``to`` the leader's address).
"""

from __future__ import annotations

import datetime as dt
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from pydantic import BaseModel, ConfigDict, ValidationError

from musforms.errors import ConfigError
from musforms.files import FILE_MODE
from musforms.i18n import _

LOG_FILE = "sent.jsonl"
_TAIL = 1 << 20  # no line is near this long


class SentFile(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    sha256: str


class Entry(BaseModel):
    """One message the server accepted."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: str
    employee_id: str | None = None
    to: str
    files: list[SentFile]
    sent_at: dt.datetime
    message_id: str


def read_log(folder: Path) -> Iterator[Entry]:
    """The entries of ``folder``'s send log, oldest first (none when there is no log)."""
    path = folder / LOG_FILE
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return
    lines = data.split(b"\n")
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            yield Entry.model_validate(json.loads(line))
        except (ValueError, ValidationError):
            if number == len(lines):  # the last line, cut short by a crash: never accepted
                return
            raise ConfigError(
                _(
                    "{path}, line {number}, cannot be read. It records who was already "
                    "sent what; restore it from a backup, or move it away to send "
                    "everything again"
                ).format(path=path, number=number)
            ) from None


@dataclass
class Sent:
    """What the log says was sent, looked up per employee and per leader."""

    invitations: dict[str, set[frozenset[tuple[str, str]]]]
    reminders: dict[str, dt.datetime]  # employee id → the last reminder
    leaders: dict[str, set[tuple[str, str]]]  # leader address (lower case) → files sent

    def invited(self, employee_id: str, files: frozenset[tuple[str, str]]) -> bool:
        """Was the employee sent exactly these files (name, sha256) as an invitation?"""
        return files in self.invitations.get(employee_id, set())


def sent(folder: Path) -> Sent:
    log = Sent({}, {}, {})
    for entry in read_log(folder):
        files = frozenset((f.name, f.sha256) for f in entry.files)
        if entry.kind == "invitation" and entry.employee_id is not None:
            log.invitations.setdefault(entry.employee_id, set()).add(files)
        elif entry.kind == "reminder" and entry.employee_id is not None:
            last = log.reminders.get(entry.employee_id)
            if last is None or entry.sent_at > last:
                log.reminders[entry.employee_id] = entry.sent_at
        elif entry.kind == "leaders":
            log.leaders.setdefault(entry.to.lower(), set()).update(files)
    return log


class LogWriter:
    """Appends entries to the send log, each on disk before :meth:`add` returns."""

    def __init__(self, folder: Path) -> None:
        self.path = folder / LOG_FILE
        self._fd = os.open(
            self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_NOFOLLOW, FILE_MODE
        )
        os.fchmod(self._fd, FILE_MODE)
        size = os.fstat(self._fd).st_size
        if size:
            with open(self.path, "rb") as fh:
                fh.seek(max(0, size - _TAIL))
                tail = fh.read()
            if not tail.endswith(b"\n"):  # a line cut short by a crash: it goes
                end = tail.rfind(b"\n")
                os.ftruncate(self._fd, size - len(tail) + end + 1 if end >= 0 else 0)

    def add(self, entry: Entry) -> None:
        line = json.dumps(entry.model_dump(mode="json"), ensure_ascii=False) + "\n"
        os.write(self._fd, line.encode("utf-8"))
        os.fsync(self._fd)

    def close(self) -> None:
        os.close(self._fd)

    def __enter__(self) -> LogWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
