"""What the outputs gather from a round, kept in a scratch SQLite database instead of in memory.

The follow-up list needs every agreement of the round before it can be written (a sheet per
department, the autofilter over every row), the calendar needs each employee's open
agreements beside their check-in, and the minutes need the question set and language of the
form each response answers, and what each draft was made from. Held in lists and dicts, with
the manifest parsed whole, this made the main process grow by about 30 MB from 1,000 to
10,000 employees; in SQLite it costs a page cache of at most 2 MB.

The database lives in a private temporary folder (musforms.scratch) in the results folder's
private space, removed when the outputs are written, also on an error (after a kill, by the
next run).
It holds the agreements with the names, departments and leaders they belong to; none of the
other answers.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import sqlite3
from collections.abc import Iterable, Iterator
from typing import Any

from musforms.outputs.views import AgreementRow, CheckIn
from musforms.scratch import PAGE as PAGE
from musforms.scratch import database_path as database_path
from musforms.scratch import pages as pages
from musforms.scratch import read_only as read_only
from musforms.scratch import scratch_db


def spool_db(*, in_memory: bool = False) -> contextlib.AbstractContextManager[sqlite3.Connection]:
    """The outputs' scratch database for one run (see musforms.scratch)."""
    return scratch_db("outputs.sqlite", in_memory=in_memory)


_FIELDS = tuple(f.name for f in dataclasses.fields(AgreementRow))
_ROW_COLUMNS = ", ".join(_FIELDS)
_AFTER = "seq > ? ORDER BY seq LIMIT ?"


class AgreementSpool:
    """Agreement rows and check-ins in the order they were added, read back all together, by
    department, by leader or by form."""

    def __init__(self, db: sqlite3.Connection, *, existing: bool = False) -> None:
        """A new spool in ``db``; ``existing``: the one already there (read only)."""
        self._db = db
        if existing:
            self._count = int(db.execute("SELECT count(*) FROM agreement_rows").fetchone()[0])
            return
        db.execute(f"CREATE TABLE agreement_rows (seq INTEGER PRIMARY KEY, {_ROW_COLUMNS})")
        db.execute("CREATE INDEX agreement_rows_department ON agreement_rows (department)")
        db.execute("CREATE INDEX agreement_rows_leader ON agreement_rows (leader)")
        db.execute("CREATE INDEX agreement_rows_form ON agreement_rows (form_id)")
        db.execute(
            "CREATE TABLE check_ins"
            " (seq INTEGER PRIMARY KEY, form_id, name, day, meeting_date, returned)"
        )
        self._count = 0

    @classmethod
    @contextlib.contextmanager
    def of(cls, rows: Iterable[AgreementRow] | AgreementSpool) -> Iterator[AgreementSpool]:
        """``rows`` as a spool: the spool itself, or the rows put in one held in memory."""
        if isinstance(rows, AgreementSpool):
            yield rows
            return
        with spool_db(in_memory=True) as db:
            spool = cls(db)
            spool.add(rows)
            yield spool

    def add(self, rows: Iterable[AgreementRow]) -> None:
        for row in rows:
            self._db.execute(
                f"INSERT INTO agreement_rows ({_ROW_COLUMNS}) "  # noqa: S608 (constant)
                f"VALUES ({', '.join('?' * len(_FIELDS))})",
                _row_values(row),
            )
            self._count += 1

    def add_check_in(self, check_in: CheckIn) -> None:
        self._db.execute(
            "INSERT INTO check_ins (form_id, name, day, meeting_date, returned)"
            " VALUES (?, ?, ?, ?, ?)",
            (
                check_in.form_id,
                check_in.name,
                check_in.day.isoformat(),
                _iso(check_in.meeting_date),
                check_in.returned.isoformat() if check_in.returned else None,
            ),
        )

    def __len__(self) -> int:
        return self._count

    def rows(self) -> Iterator[AgreementRow]:
        """Every row, in the order added."""
        query = f"SELECT seq, {_ROW_COLUMNS} FROM agreement_rows WHERE {_AFTER}"  # noqa: S608
        for values in pages(self._db, query):
            yield _row(values[1:])

    def departments(self) -> list[str]:
        """The departments rows have, in the order of each one's first row."""
        return self._distinct("department")

    def count_in_department(self, department: str) -> int:
        query = "SELECT count(*) FROM agreement_rows WHERE department = ?"
        return int(self._db.execute(query, (department,)).fetchone()[0])

    def in_department(self, department: str) -> Iterator[AgreementRow]:
        """The department's rows, in the order added."""
        return self._where("department", department)

    def leaders(self) -> list[str]:
        """The leaders rows have, in the order of each one's first row."""
        return self._distinct("leader")

    def of_leader(self, leader: str) -> Iterator[AgreementRow]:
        """The leader's rows, in the order added."""
        return self._where("leader", leader)

    def of_form(self, form_id: str) -> list[AgreementRow]:
        """The rows of one form (one employee's), in the order added."""
        return list(self._where("form_id", form_id))

    def check_ins(self) -> Iterator[CheckIn]:
        """Every check-in, in the order added."""

        query = (
            "SELECT seq, form_id, name, day, meeting_date, returned"  # noqa: S608 (constant)
            f" FROM check_ins WHERE {_AFTER}"
        )
        for _, form_id, name, day, meeting, returned in pages(self._db, query):
            back = dt.datetime.fromisoformat(returned) if returned else None
            yield CheckIn(form_id, name, dt.date.fromisoformat(day), _date(meeting), back)

    def _distinct(self, column: str) -> list[str]:
        # One entry per department or leader, not per row: a few thousand at the most.
        query = f"SELECT {column} FROM agreement_rows GROUP BY {column} ORDER BY min(seq)"  # noqa: S608
        return [str(value) for (value,) in self._db.execute(query)]

    def _where(self, column: str, value: str) -> Iterator[AgreementRow]:
        query = (
            f"SELECT seq, {_ROW_COLUMNS} FROM agreement_rows "  # noqa: S608 (constant)
            f"WHERE {column} = ? AND {_AFTER}"
        )
        for values in pages(self._db, query, (value,)):
            yield _row(values[1:])


def _iso(day: dt.date | None) -> str | None:
    return day.isoformat() if day is not None else None


def _date(text: str | None) -> dt.date | None:
    return dt.date.fromisoformat(text) if text else None


_DATES = ("due", "meeting_date", "agreed_on")


def _row_values(row: AgreementRow) -> tuple[Any, ...]:
    """A row as the database holds it: dates as ISO text, the flag as 0 or 1, in the order
    of :data:`_FIELDS`."""
    # Its fields are plain values (texts, dates, a number, a flag): taken as they are,
    # without the deep copy dataclasses.asdict makes of each.
    data = {name: getattr(row, name) for name in _FIELDS}
    for name in _DATES:
        data[name] = _iso(data[name])
    data["previous"] = int(data["previous"])
    return tuple(data[name] for name in _FIELDS)


def _row(values: tuple[Any, ...]) -> AgreementRow:
    data = dict(zip(_FIELDS, values, strict=True))
    for name in _DATES:
        data[name] = _date(data[name])
    data["previous"] = bool(data["previous"])
    return AgreementRow(**data)
