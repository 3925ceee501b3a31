"""collect's working state on disk, so its memory does not grow with the round.

A round of 50,000 employees means 50,000 issued forms to look returned files up in and a
report line for every returned file (often two per employee: the PDF and the Word form).
Held in dictionaries they cost memory in proportion to the round; here they live in two
SQLite databases in a private temporary folder that is removed when collect is done:

- :class:`IssuedIndex` — the issued forms by form id (and the roster, when one is given),
  built once from manifest.json and read by every worker process;
- :class:`Ledger` — every file's report entry, which form each winning file answers, and the
  files seen this run by their SHA-256; written by the main process only.

The temporary folder is made by :func:`musforms.files.scratch_folder` (readable by its owner
alone) in the results folder's private space; it holds names and report lines, never a
form's answers.
"""

from __future__ import annotations

import datetime as dt
import itertools
import json
import os
import sqlite3
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from musforms.scratch import connect, open_read_only
from musforms.scratch import id_key as id_key

if TYPE_CHECKING:
    from musforms.manifest import ManifestForm
    from musforms.report import FileEntry


@dataclass(frozen=True, slots=True)
class IssuedForm:
    """What reading a returned form needs of its line in the manifest, and no more."""

    form_id: str
    employee_id: str
    question_set_digest: str
    language: str
    name: str
    department: str | None
    manager: str | None
    email: str | None
    meeting_date: dt.date | None
    files: dict[str, str]  # format name → the issued file's name in the forms folder


_ISSUED_COLUMNS = (
    "form_id, employee_id, question_set_digest, language, name, department, manager, email, "
    "meeting_date, files"
)


class IssuedIndex:
    """The round's issued forms, looked up by form id from any process.

    Pickles to its path alone; each process opens its own read-only connection.
    """

    def __init__(self, path: Path, cycle: str, has_roster: bool) -> None:
        self.path = path
        self.cycle = cycle
        self.has_roster = has_roster
        self._conn: sqlite3.Connection | None = None
        self._pid = 0

    @classmethod
    def build(
        cls,
        path: Path,
        cycle: str,
        forms: Iterable[ManifestForm],
        roster_ids: Iterable[str] | None = None,
        elsewhere: Iterable[str] = (),
    ) -> IssuedIndex:
        """The index at ``path`` of ``forms``; ``elsewhere``: the ids of the round's forms of
        another kind, collected by a pass of their own (:meth:`is_elsewhere`)."""
        conn = connect(path, begin=False)
        try:
            conn.execute(
                f"CREATE TABLE issued ({_ISSUED_COLUMNS}, PRIMARY KEY (form_id)) WITHOUT ROWID"
            )
            conn.execute("CREATE TABLE roster (employee_id TEXT PRIMARY KEY) WITHOUT ROWID")
            conn.execute("CREATE TABLE elsewhere (form_id TEXT PRIMARY KEY) WITHOUT ROWID")
            conn.execute("BEGIN")
            conn.executemany(
                "INSERT OR IGNORE INTO elsewhere VALUES (?)", ((i,) for i in elsewhere)
            )
            conn.executemany(
                "INSERT OR REPLACE INTO issued VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (_issued_row(form) for form in forms),
            )
            if roster_ids is not None:
                conn.executemany(
                    "INSERT OR IGNORE INTO roster VALUES (?)", ((i,) for i in roster_ids)
                )
            conn.execute("CREATE INDEX issued_name ON issued (name)")
            conn.execute("CREATE INDEX issued_employee ON issued (employee_id)")
            conn.execute("COMMIT")
        finally:
            conn.close()
        return cls(path, cycle, roster_ids is not None)

    def __getstate__(self) -> dict[str, Any]:
        return {"path": self.path, "cycle": self.cycle, "has_roster": self.has_roster}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__init__(state["path"], state["cycle"], state["has_roster"])  # type: ignore[misc]

    def _db(self) -> sqlite3.Connection:
        if self._conn is None or self._pid != os.getpid():
            self._conn = open_read_only(self.path)
            self._pid = os.getpid()
        return self._conn

    def close(self) -> None:
        if self._conn is not None and self._pid == os.getpid():
            self._conn.close()
        self._conn = None

    def get(self, form_id: str) -> IssuedForm | None:
        query = f"SELECT {_ISSUED_COLUMNS} FROM issued WHERE form_id = ?"  # noqa: S608 (constant)
        row = self._db().execute(query, (form_id,)).fetchone()
        if row is None:
            return None
        fid, eid, digest, language, name, department, manager, email, meeting, files = row
        return IssuedForm(
            fid,
            eid,
            digest,
            language,
            name,
            department,
            manager,
            email,
            dt.date.fromisoformat(meeting) if meeting else None,
            json.loads(files),
        )

    def is_elsewhere(self, form_id: str) -> bool:
        """Whether ``form_id`` is of the round's forms of another kind: a form known only by
        its printed form code (no signed identity left) is collected by the pass of its kind."""
        query = "SELECT 1 FROM elsewhere WHERE form_id = ?"
        return self._db().execute(query, (form_id,)).fetchone() is not None

    def has_name(self, name: str) -> bool:
        """Whether a form was issued to someone of this name."""
        query = "SELECT 1 FROM issued WHERE name = ? LIMIT 1"
        return self._db().execute(query, (name,)).fetchone() is not None

    def in_roster(self, employee_id: str) -> bool:
        """Whether the employee is in the roster given to collect (always, with none)."""
        if not self.has_roster:
            return True
        query = "SELECT 1 FROM roster WHERE employee_id = ?"
        return self._db().execute(query, (employee_id,)).fetchone() is not None


def _issued_row(form: ManifestForm) -> tuple[Any, ...]:
    e = form.employee
    meeting = e.meeting_date.isoformat() if e.meeting_date else None
    return (
        form.form_id,
        form.employee_id,
        form.question_set_digest,
        form.language,
        e.name,
        e.department,
        e.manager,
        e.email,
        meeting,
        json.dumps(form.files, ensure_ascii=False),
    )


class Ledger:
    """Every returned file's report entry, and which file's answers are on record per form."""

    def __init__(self, path: Path, index: IssuedIndex) -> None:
        self._conn = conn = connect(path, begin=False)
        conn.execute(
            "CREATE TABLE files (file TEXT PRIMARY KEY, seq INTEGER, this_run INTEGER, "
            "status TEXT, employee_id TEXT, flagged INTEGER, required_missing INTEGER, "
            "entry TEXT, form_id TEXT) WITHOUT ROWID"
        )
        conn.execute("CREATE INDEX files_run ON files (this_run, seq)")
        conn.execute("CREATE INDEX files_form ON files (form_id, status)")
        conn.execute("CREATE TABLE winners (form_id TEXT PRIMARY KEY, file TEXT) WITHOUT ROWID")
        conn.execute("CREATE INDEX winners_file ON winners (file)")
        # Forms of which this run found two returns with different answers.
        conn.execute("CREATE TABLE conflicts (form_id TEXT PRIMARY KEY, seq INTEGER)")
        conn.execute("CREATE TABLE seen (sha256 TEXT PRIMARY KEY, file TEXT) WITHOUT ROWID")
        conn.execute("CREATE TABLE inputs (seq INTEGER PRIMARY KEY, path TEXT)")
        # The employees whose response file this run wrote (or found holding) the text it made.
        conn.execute("CREATE TABLE made (employee_id TEXT PRIMARY KEY) WITHOUT ROWID")
        conn.execute("ATTACH DATABASE ? AS issued", (f"{index.path.as_uri()}?mode=ro",))
        self._has_roster = index.has_roster
        self._seq = 0
        # The response the merge wrote last, as its employee id and data: the other returns of
        # that form, which come next, are compared with it without reading it back.
        self.last_response: tuple[str, dict[str, Any]] | None = None
        conn.execute("BEGIN")

    def close(self) -> None:
        self._conn.close()

    # --- the files to read

    def add_inputs(self, paths: Iterable[Path]) -> int:
        """Note the files to read, in order; how many there are."""
        numbered = enumerate(paths, 1)
        n = 0
        while batch := [(n, os.fsencode(path)) for n, path in itertools.islice(numbered, 512)]:
            self._conn.executemany("INSERT INTO inputs VALUES (?, ?)", batch)
            n = batch[-1][0]
        return n

    def inputs(self) -> Iterator[Path]:
        """The files noted by :meth:`add_inputs`, in order, a batch at a time."""
        last = 0
        while True:
            rows = self._conn.execute(
                "SELECT seq, path FROM inputs WHERE seq > ? ORDER BY seq LIMIT 512", (last,)
            ).fetchall()
            if not rows:
                return
            last = rows[-1][0]
            for _, path in rows:
                yield Path(os.fsdecode(path))

    # --- entries

    def put(self, entry: FileEntry, *, this_run: bool = True) -> None:
        """Record ``entry`` as the report line of its file, replacing any earlier one."""
        from musforms.report import CONFLICTING, USABLE

        self._seq += 1
        # As JSON text (what model_dump gives, as json.dumps writes it, but made in one go).
        data = entry.model_dump_json(exclude_none=True)
        usable = entry.status in USABLE
        # A conflict between two returns is listed on its own, not as answers to check.
        to_check = any(p.code != CONFLICTING for p in entry.problems)
        self._conn.execute(
            "INSERT OR REPLACE INTO files VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                entry.file,
                self._seq,
                int(this_run),
                entry.status,
                entry.employee_id,
                int(usable and to_check),
                int(any(p.code == "required_missing" for p in entry.problems)),
                data,
                entry.form_id,
            ),
        )

    def update(self, entry: FileEntry) -> None:
        """Store a changed status or reason of an entry already recorded, keeping its place."""
        from musforms.report import CONFLICTING, USABLE

        data = entry.model_dump_json(exclude_none=True)
        to_check = any(p.code != CONFLICTING for p in entry.problems)
        self._conn.execute(
            "UPDATE files SET status = ?, entry = ?, flagged = ? WHERE file = ?",
            (entry.status, data, int(entry.status in USABLE and to_check), entry.file),
        )

    def of_form(self, form_id: str, statuses: tuple[str, ...]) -> list[FileEntry]:
        """The report lines of ``form_id``'s files that have one of ``statuses``, in the
        order they were recorded (a form has a few files, not thousands)."""
        from musforms.report import FileEntry

        marks = ", ".join("?" * len(statuses))
        rows = self._conn.execute(
            f"SELECT entry FROM files WHERE form_id = ? AND status IN ({marks}) "  # noqa: S608
            "ORDER BY seq",
            (form_id, *statuses),
        )
        return [FileEntry.model_validate_json(text) for (text,) in rows]

    def entry(self, file: str) -> FileEntry | None:
        from musforms.report import FileEntry

        row = self._conn.execute("SELECT entry FROM files WHERE file = ?", (file,)).fetchone()
        return FileEntry.model_validate_json(row[0]) if row else None

    def entries(self) -> Iterator[dict[str, Any]]:
        """Every report line, by file name (in the order Python sorts strings)."""
        for (text,) in self._conn.execute("SELECT entry FROM files ORDER BY file"):
            yield json.loads(text)

    # --- winners

    def winner(self, form_id: str) -> FileEntry | None:
        row = self._conn.execute(
            "SELECT f.entry FROM winners w JOIN files f ON f.file = w.file WHERE w.form_id = ?",
            (form_id,),
        ).fetchone()
        if row is None:
            return None
        from musforms.report import FileEntry

        return FileEntry.model_validate_json(row[0])

    def set_winner(self, form_id: str, file: str) -> None:
        self._conn.execute("INSERT OR REPLACE INTO winners VALUES (?, ?)", (form_id, file))

    def clear_winner(self, form_id: str) -> None:
        """No file's answers are on record for ``form_id`` any more."""
        self._conn.execute("DELETE FROM winners WHERE form_id = ?", (form_id,))

    # --- returns that differ

    def note_conflict(self, form_id: str) -> None:
        """Note that this run found returns of ``form_id`` whose answers differ."""
        self._seq += 1
        self._conn.execute("INSERT OR IGNORE INTO conflicts VALUES (?, ?)", (form_id, self._seq))

    def conflicts(self, limit: int) -> tuple[int, list[tuple[str, list[str]]]]:
        """How many forms this run found differing returns of, and for the first ``limit``
        of them the file that counts and the superseded files, in the order found."""
        total = int(self._conn.execute("SELECT count(*) FROM conflicts").fetchone()[0])
        shown: list[tuple[str, list[str]]] = []
        query = "SELECT form_id FROM conflicts ORDER BY seq LIMIT ?"
        for (form_id,) in self._conn.execute(query, (limit,)).fetchall():
            winner = self.winner(form_id)
            older = [e.file for e in self.of_form(form_id, ("superseded",))]
            if winner is not None and older:
                shown.append((winner.file, older))
        return total, shown

    def forms_in_conflict(self) -> list[str]:
        """The forms with a superseded return or a line naming one (a few, not thousands)."""
        rows = self._conn.execute(
            "SELECT DISTINCT form_id FROM files WHERE form_id IS NOT NULL AND "
            "(status = 'superseded' OR entry LIKE '%\"conflicting_returns\"%') ORDER BY form_id"
        )
        return [str(form_id) for (form_id,) in rows]

    def form_won_by(self, file: str) -> str | None:
        """The form whose answers on record were read from ``file``, if any."""
        row = self._conn.execute("SELECT form_id FROM winners WHERE file = ?", (file,)).fetchone()
        return str(row[0]) if row else None

    # --- identical copies within this run

    def first_seen(self, sha256: str, file: str) -> str | None:
        """The other file with these bytes seen first this run, or None (and ``file`` is
        noted as the first)."""
        row = self._conn.execute("SELECT file FROM seen WHERE sha256 = ?", (sha256,)).fetchone()
        if row is not None:
            return str(row[0]) if row[0] != file else None
        self._conn.execute("INSERT INTO seen VALUES (?, ?)", (sha256, file))
        return None

    # --- responses as this run made them

    def made(self, employee_id: str, *, made: bool = True) -> None:
        """Note that ``employee_id``'s response file holds the text this run made of the
        response (``made`` false: no longer, it was removed)."""
        if made:
            self._conn.execute("INSERT OR IGNORE INTO made VALUES (?)", (employee_id,))
        else:
            self._conn.execute("DELETE FROM made WHERE employee_id = ?", (employee_id,))

    def as_made(self, employee_id: str) -> bool:
        query = "SELECT 1 FROM made WHERE employee_id = ?"
        return self._conn.execute(query, (employee_id,)).fetchone() is not None

    # --- the round as a whole

    def returned(self) -> Iterator[str]:
        """The employees whose answers are on record, in id order."""
        query = (
            "SELECT DISTINCT f.employee_id FROM winners w JOIN files f ON f.file = w.file "
            "WHERE f.employee_id IS NOT NULL ORDER BY f.employee_id COLLATE employee"
        )
        for (eid,) in self._conn.execute(query):
            yield eid

    def missing(self) -> Iterator[str]:
        """The expected employees (the roster's, else every one issued a form) with nothing on
        record, in id order."""
        query = _MISSING_FROM_ROSTER if self._has_roster else _MISSING_FROM_ISSUED
        for (eid,) in self._conn.execute(query):
            yield eid

    def missing_notes(self) -> Iterator[tuple[str, str]]:
        """(employee id, note) for the missing employees who returned a blank form, in id
        order: ``missing`` says who, this says why a file of theirs did not count."""
        from musforms.report import RETURNED_BLANK

        query = (
            "SELECT DISTINCT employee_id FROM files WHERE status = 'blank' "
            "AND employee_id IS NOT NULL AND employee_id NOT IN ("
            "SELECT f.employee_id FROM winners w JOIN files f ON f.file = w.file "
            "WHERE f.employee_id IS NOT NULL) ORDER BY employee_id COLLATE employee"
        )
        for (eid,) in self._conn.execute(query):
            yield eid, RETURNED_BLANK

    def strict_failures(self) -> int:
        """Answers on record that lack a required answer."""
        query = (
            "SELECT count(*) FROM winners w JOIN files f ON f.file = w.file "
            "WHERE f.required_missing"
        )
        return int(self._conn.execute(query).fetchone()[0])

    def run_counts(self) -> dict[str, int]:
        """This run's files by status."""
        query = "SELECT status, count(*) FROM files WHERE this_run GROUP BY status"
        return {status: int(n) for status, n in self._conn.execute(query)}

    def run_flagged(self) -> int:
        """This run's usable files with answers to check."""
        query = "SELECT count(*) FROM files WHERE this_run AND flagged"
        return int(self._conn.execute(query).fetchone()[0])

    def flagged_first(self, limit: int) -> list[tuple[FileEntry, str | None]]:
        """The first ``limit`` of this run's usable files with answers to check, by employee
        id, each with the employee's name as issued."""
        from musforms.report import FileEntry

        rows = self._conn.execute(
            "SELECT f.entry, i.name FROM files f LEFT JOIN issued.issued i "
            "ON i.form_id = f.form_id WHERE f.this_run AND f.flagged "
            "ORDER BY f.employee_id COLLATE employee, f.file LIMIT ?",
            (limit,),
        )
        return [(FileEntry.model_validate_json(text), name) for text, name in rows]

    def hints(self, limit: int) -> tuple[int, list[FileEntry]]:
        """How many of this run's lines carry a hint for HR (a mail attachment's sender who
        is not the employee), and the first ``limit`` of them, in reading order."""
        from musforms.report import FileEntry

        where = "FROM files WHERE this_run AND json_extract(entry, '$.hint') IS NOT NULL"
        count = int(self._conn.execute(f"SELECT count(*) {where}").fetchone()[0])
        rows = self._conn.execute(f"SELECT entry {where} ORDER BY seq LIMIT ?", (limit,))
        return count, [FileEntry.model_validate_json(text) for (text,) in rows]

    def need_a_look(self, limit: int) -> list[FileEntry]:
        """The first ``limit`` of this run's files that could not be used or were recovered
        from the layout, in reading order."""
        from musforms.report import NEEDS_A_LOOK, FileEntry

        marks = ", ".join("?" * len(NEEDS_A_LOOK))
        rows = self._conn.execute(
            f"SELECT entry FROM files WHERE this_run AND status IN ({marks}) "  # noqa: S608
            "ORDER BY seq LIMIT ?",
            (*NEEDS_A_LOOK, limit),
        )
        return [FileEntry.model_validate_json(text) for (text,) in rows]


_MISSING_FROM_ROSTER = (
    "SELECT employee_id FROM issued.roster WHERE employee_id NOT IN ("
    "SELECT f.employee_id FROM winners w JOIN files f ON f.file = w.file "
    "WHERE f.employee_id IS NOT NULL) ORDER BY employee_id COLLATE employee"
)
_MISSING_FROM_ISSUED = (
    "SELECT DISTINCT employee_id FROM issued.issued WHERE employee_id NOT IN ("
    "SELECT f.employee_id FROM winners w JOIN files f ON f.file = w.file "
    "WHERE f.employee_id IS NOT NULL) ORDER BY employee_id COLLATE employee"
)
