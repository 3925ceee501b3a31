"""Scratch databases: a run's working lists (roster, issued forms, report lines, agreement
rows) in SQLite rather than in memory, so memory does not grow with the round.

Every scratch database is opened here, alike: in a private temporary folder
(:func:`musforms.files.scratch_folder`: in the private space of the folder the run writes,
where the next run removes it if this one is killed), the file readable by its owner alone,
with no journal and no syncing (nothing in it needs to outlive the run), and with the
``employee`` collation that orders employee ids the way HR expects.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from musforms.files import FILE_MODE, scratch_folder

MEMORY = ":memory:"
PAGE = 512  # rows read back per query: few enough to stay small, enough to cost little per row


def id_key(employee_id: str) -> tuple[int, str]:
    """Employee ids in the order HR expects: numbers by value, then the rest by text."""
    if employee_id.isascii() and employee_id.isdigit():
        return (int(employee_id), "")
    return (1 << 62, employee_id)


def _compare_ids(a: str, b: str) -> int:
    ka, kb = id_key(a), id_key(b)
    return (ka > kb) - (ka < kb)


def connect(path: Path | str, schema: str = "", *, begin: bool = True) -> sqlite3.Connection:
    """A scratch database at ``path`` (or :data:`MEMORY`), with ``schema`` made in it; in a
    transaction that is never committed unless ``begin`` is false."""
    if str(path) not in (MEMORY, ""):
        # Made private before SQLite opens it: it holds names, and may hold answers.
        os.close(os.open(path, os.O_RDWR | os.O_CREAT, FILE_MODE))
    db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    db.execute("PRAGMA journal_mode = OFF")
    db.execute("PRAGMA synchronous = OFF")
    db.create_collation("employee", _compare_ids)
    if schema:
        db.executescript(schema)
    if begin:
        db.execute("BEGIN")
    return db


def open_read_only(path: Path) -> sqlite3.Connection:
    """A committed scratch database opened again, to read only (from another process)."""
    db = sqlite3.connect(f"{path.as_uri()}?mode=ro", uri=True, check_same_thread=False)
    db.create_collation("employee", _compare_ids)
    return db


@contextlib.contextmanager
def read_only(path: Path) -> Iterator[sqlite3.Connection]:
    with contextlib.closing(open_read_only(path)) as db:
        yield db


@contextlib.contextmanager
def scratch_db(
    name: str = "scratch.sqlite", schema: str = "", *, in_memory: bool = False
) -> Iterator[sqlite3.Connection]:
    """A scratch database for one run in a private folder of its own, gone afterwards
    whatever happens. ``in_memory`` keeps it in memory instead: for lists that are in
    memory already."""
    if in_memory:
        with contextlib.closing(connect(MEMORY, schema)) as db:
            yield db
        return
    with scratch_folder() as folder, contextlib.closing(connect(folder / name, schema)) as db:
        yield db


def database_path(db: sqlite3.Connection) -> Path:
    """Where a scratch database is, for another process to read once it is committed."""
    return Path(db.execute("PRAGMA database_list").fetchone()[2])


def pages(db: sqlite3.Connection, query: str, args: tuple[Any, ...] = ()) -> Iterator[Any]:
    """The rows of ``query``, :data:`PAGE` at a time: ``query`` takes ``args``, then the last
    ``seq`` seen and a limit, and selects ``seq`` first. No statement stays open between
    pages, so the caller may write to the database while it reads."""
    last = 0
    while True:
        rows = db.execute(query, (*args, last, PAGE)).fetchall()
        yield from rows
        if len(rows) < PAGE:
            return
        last = rows[-1][0]


def open_kept(path: Path) -> sqlite3.Connection | None:
    """A database musforms keeps between runs (a cache), opened to read only when it can be
    trusted: a regular file (not a link), this user's, open to no one else, whole (SQLite's
    quick check); else None, and the caller does without it."""
    import stat

    try:
        st = os.stat(path, follow_symlinks=False)
    except OSError:
        return None
    if not stat.S_ISREG(st.st_mode) or st.st_uid != os.getuid() or st.st_mode & 0o077:
        return None
    db: sqlite3.Connection | None = None
    try:
        db = sqlite3.connect(
            f"{path.absolute().as_uri()}?mode=ro", uri=True, check_same_thread=False
        )
        if db.execute("PRAGMA quick_check").fetchone() != ("ok",):
            db.close()
            return None
    except sqlite3.Error:
        if db is not None:
            db.close()
        return None
    return db
