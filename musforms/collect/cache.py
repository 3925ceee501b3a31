"""What collect read before, so that a morning's run reads only what is new.

collect is run again and again over a round: the folder of returned files grows, the
mailbox fills. What a returned file gives (the reader's raw values, or why it cannot be
read) depends only on its bytes and on the round's set-up; so it is kept, by the file's
SHA-256, and a mail message's by its Message-ID (with its size; by the SHA-256 of its bytes
when it has none). A later run hashes each file, reads only those it has not seen, and
still does everything else (merging, the report, the outputs) as a run without the cache
does: the results are the same byte for byte. A file on disk that is as it was (the same
path, size, modification and change times, inode) is not even read and hashed: its SHA-256
and its identified result (its report line and response, which depend only on its bytes,
its path and its modification time besides the key) are kept too. What a rejected file
holds (altered, another's, another round's) is kept nowhere, here neither: it is read
again each run.

What a result depends on besides the bytes is in the cache's key, and a cache made under
another key is not used (everything is read again): the signing key (a digest of it), the
manifest, the question sets and the issued form files, the roster given to collect, the
limits, musforms' version and the reading libraries' versions. A file's name and place are
not in what is kept: whatever depends on them (its name in the report, its modification
time where the form records no save time, a message's place in its mailbox) is worked out
again on every run.

The cache holds answers: it lives in a private folder of the results folder's own
(``.musforms-cache/collect.sqlite``, folder 0700, file 0600; not in ``.musforms-tmp``, which
holds only what a run needs while it runs), is written whole in a scratch folder of the
run's and then put in place in one step, by a run that holds the folder's lock, and
``musforms purge`` removes it. One that cannot be opened, is damaged, is someone
else's or open to other users, or was made under another key is ignored, never an error.
``collect --full`` reads everything again (and makes the cache anew).
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import json
import os
import shutil
import sqlite3
import stat
from collections.abc import Iterator
from importlib import metadata
from pathlib import Path
from typing import Any

from musforms.files import CACHE_FOLDER, FILE_MODE, private_folder, scratch_folder
from musforms.i18n import LOCALE_DIR, language
from musforms.limits import Limits
from musforms.nospace import FULL, raise_if_full
from musforms.scratch import connect, open_kept

SCHEMA = "musforms/collect-cache/2"
FOLDER = CACHE_FOLDER  # in the results folder
NAME = "collect.sqlite"
CONTENTS = "contents"  # a returned file's outcome by the SHA-256 of its bytes
MESSAGES = "messages"  # a mail message's outcome by its Message-ID and size
# A file on disk as it stood (path, size, modification and change times, inode, device) →
# the SHA-256 its bytes had then: a file still so is not read and hashed again.
STATS = "stats"
# A file's result as read and identified (its report line, its response, whether its key
# verified) by its SHA-256, path and modification time: all it depends on besides the key.
RESULTS = "results"
TABLES = (CONTENTS, MESSAGES, STATS, RESULTS)
# The libraries whose reading a file's outcome depends on.
_LIBRARIES = ("pikepdf", "pypdf", "pypdfium2", "python-docx", "lxml", "python-oxmsg", "pydantic")

# (table, key, the outcome as JSON); None: the outcome as the earlier cache holds it (a file
# known from there), which the new cache keeps without its text passing through the run.
Row = tuple[str, str, str | None]


def cache_path(out: Path) -> Path:
    """Where the results folder ``out`` keeps its cache."""
    return out / FOLDER / NAME


def cache_key(
    key: bytes, forms_dir: Path, roster: Path | None, limits: Limits, *, quick: bool = False
) -> str:
    """A digest of everything a file's outcome depends on besides its bytes. The key itself
    is never stored, nor anything from which it could be found."""
    from musforms import __version__

    parts: dict[str, Any] = {
        "schema": SCHEMA,
        "musforms": __version__,
        "libraries": {name: _version(name) for name in _LIBRARIES},
        "fast_paths": os.environ.get("MUSFORMS_FAST_PATHS", ""),
        "key": hashlib.sha256(b"musforms collect cache\0" + key).hexdigest(),
        "forms": _folder_digest(forms_dir),
        "question_sets": _folder_digest(forms_dir / "question_sets"),
        "roster": _file_digest(roster) if roster is not None else None,
        "limits": dataclasses.asdict(limits),
        # The reasons and problems a file's outcome holds are in the HR officer's language.
        "language": language(),
        "catalogue": _file_digest(LOCALE_DIR / language() / "LC_MESSAGES" / "musforms.mo"),
    }
    text = json.dumps(parts, sort_keys=True, ensure_ascii=True, default=str)
    return hashlib.sha256(text.encode("ascii")).hexdigest()


def _version(name: str) -> str | None:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None


def _file_digest(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


_HASHED = (".json", ".yaml", ".yml")  # the manifest, the question sets: by their bytes


def _folder_digest(folder: Path) -> str | None:
    """The files of ``folder`` (not deeper): the manifest and question sets by their bytes,
    the issued forms (thousands, each written once) by name, size and modification time."""
    try:
        with os.scandir(folder) as it:
            entries = sorted(it, key=lambda e: e.name)
    except (FileNotFoundError, NotADirectoryError):
        return None
    digest = hashlib.sha256()
    for entry in entries:
        if entry.name.startswith(".") or not entry.is_file(follow_symlinks=False):
            continue
        st = entry.stat(follow_symlinks=False)
        if entry.name.endswith(_HASHED):
            mark = _file_digest(Path(entry.path))
        else:
            mark = f"{st.st_size}:{st.st_mtime_ns}"
        digest.update(f"{os.fsencode(entry.name).hex()} {mark}\n".encode("ascii"))
    return digest.hexdigest()


class ReadCache:
    """An earlier run's cache, read only, from any process (it pickles to its path)."""

    def __init__(self, path: Path | None) -> None:
        self.path = path  # None: nothing usable was found (or a full read was asked for)
        self._conn: sqlite3.Connection | None = None
        self._pid = 0

    def __getstate__(self) -> dict[str, Any]:
        return {"path": self.path}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__init__(state["path"])  # type: ignore[misc]

    def _db(self) -> sqlite3.Connection | None:
        if self.path is None:
            return None
        if self._conn is None or self._pid != os.getpid():
            try:
                self._conn = _open(self.path)
            except sqlite3.Error:
                self.path = None
                return None
            self._pid = os.getpid()
        return self._conn

    def get(self, table: str, key: str) -> str | None:
        """The outcome kept under ``key``, as JSON text; None when there is none (or the
        cache cannot be read after all)."""
        assert table in TABLES
        db = self._db()
        if db is None:
            return None
        try:
            row = db.execute(
                f"SELECT outcome FROM {table} WHERE key = ?",  # noqa: S608 (a constant)
                (key,),
            ).fetchone()
        except sqlite3.Error:
            return None
        return row[0] if row is not None and isinstance(row[0], str) else None

    def close(self) -> None:
        if self._conn is not None and self._pid == os.getpid():
            self._conn.close()
        self._conn = None


def _open(path: Path) -> sqlite3.Connection:
    return sqlite3.connect(f"{path.as_uri()}?mode=ro", uri=True, check_same_thread=False)


def open_cache(out: Path, digest: str, *, full: bool = False) -> ReadCache:
    """The cache of ``out`` when it can be trusted: musforms' own, this user's alone, whole,
    and made under ``digest``; else an empty one (everything is read)."""
    path = cache_path(out)
    if full or not _trusted(path, digest):
        return ReadCache(None)
    return ReadCache(path.absolute())


def _trusted(path: Path, digest: str) -> bool:
    db = open_kept(path)
    if db is None:
        return False
    try:
        with contextlib.closing(db):
            meta = dict(db.execute("SELECT name, value FROM meta").fetchall())
            for table in TABLES:  # all there, with the columns looked up
                db.execute(f"SELECT key, outcome FROM {table} LIMIT 1").fetchall()  # noqa: S608
    except (sqlite3.Error, ValueError, TypeError):
        return False
    return meta.get("schema") == SCHEMA and meta.get("key") == digest


_TABLE_SCHEMA = "".join(
    f"CREATE TABLE {t} (key TEXT PRIMARY KEY, outcome TEXT NOT NULL) WITHOUT ROWID;" for t in TABLES
)


_LIVE_SCHEMA = "CREATE TABLE live (tbl TEXT, key TEXT, PRIMARY KEY (tbl, key)) WITHOUT ROWID"
_LIVE_BATCH = 2048  # keys noted at a time


class CacheWriter:
    """The cache this run leaves: what it read and what it found in the earlier cache,
    made in a scratch folder and put in place whole by :meth:`save`.

    Made from a copy of the earlier cache when there is one: a morning's run, which finds
    nearly every file there, then writes only what it read anew, notes the keys of what it
    found, and at the end removes what it did not meet (a file gone or changed), with
    SQLite's secure delete (what is removed is overwritten, not left in free pages). The
    cache is the same as one written row by row: what this run read and found, and no more.
    """

    def __init__(self, folder: Path, digest: str, earlier: ReadCache | None = None) -> None:
        self.digest = digest
        self.file = folder / NAME
        self._earlier = earlier
        self._live: list[tuple[str, str]] = []
        self._db = self._copy(earlier.path) if earlier is not None and earlier.path else None
        self.grown = self._db is not None  # made from the earlier cache
        if self._db is None:
            self._db = connect(
                self.file, "CREATE TABLE meta (name TEXT PRIMARY KEY, value TEXT);" + _TABLE_SCHEMA
            )

    def _copy(self, earlier: Path) -> sqlite3.Connection | None:
        """The earlier cache copied (whole: open_cache checked it), to be written on; None
        when it cannot be (then the cache is written row by row)."""
        try:
            fd = os.open(self.file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE)
            with open(earlier, "rb") as source, open(fd, "wb") as target:
                shutil.copyfileobj(source, target, 1 << 16)
            db = connect(self.file, begin=False)
            try:
                db.execute("PRAGMA secure_delete = ON")
                db.execute("BEGIN")
                db.execute("DELETE FROM meta")
                db.execute(_LIVE_SCHEMA)
            except sqlite3.Error:
                db.close()
                raise
        except (OSError, sqlite3.Error) as exc:
            raise_if_full(exc)
            if isinstance(exc, OSError) and exc.errno in FULL:
                if exc.filename is None:  # a write names no file: the copy being written
                    exc.filename = str(self.file)
                raise
            with contextlib.suppress(OSError):
                self.file.unlink()
            return None
        return db

    def add(self, rows: list[Row]) -> None:
        assert self._db is not None
        for table, key, outcome in rows:
            assert table in TABLES
            if outcome is None:
                if self.grown:
                    self._note(table, key)
                    continue
                # Written row by row: the outcome as the earlier cache holds it (none when
                # that cannot be read after all: the next run reads the file again).
                outcome = self._earlier.get(table, key) if self._earlier is not None else None
                if outcome is None:
                    continue
            self._db.execute(
                f"INSERT OR REPLACE INTO {table} VALUES (?, ?)",  # noqa: S608 (a constant)
                (key, outcome),
            )
            if self.grown:
                self._note(table, key)

    def _note(self, table: str, key: str) -> None:
        self._live.append((table, key))
        if len(self._live) >= _LIVE_BATCH:
            self._flush()

    def _flush(self) -> None:
        assert self._db is not None
        self._db.executemany("INSERT OR IGNORE INTO live VALUES (?, ?)", self._live)
        self._live.clear()

    def save(self, out: Path) -> None:
        """Put the cache in place in one step (written to disk first): a run killed before
        leaves the earlier cache, one killed after leaves this one, whole either way."""
        assert self._db is not None
        if self.grown:
            self._flush()
            for table in TABLES:  # what this run did not meet
                self._db.execute(
                    f"DELETE FROM {table} WHERE key NOT IN "  # noqa: S608 (a constant)
                    "(SELECT key FROM live WHERE tbl = ?)",
                    (table,),
                )
            self._db.execute("DROP TABLE live")
        self._db.executemany(
            "INSERT INTO meta VALUES (?, ?)", (("schema", SCHEMA), ("key", self.digest))
        )
        self._db.execute("COMMIT")
        self._db.close()
        os.chmod(self.file, FILE_MODE)
        with open(self.file, "rb") as fh:
            os.fsync(fh.fileno())
        target = cache_path(out)
        private_folder(target.parent)
        os.replace(self.file, target)
        fd = os.open(target.parent, os.O_RDONLY | os.O_DIRECTORY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)

    def close(self) -> None:
        if self._db is not None:
            with contextlib.suppress(sqlite3.Error):
                self._db.close()


@contextlib.contextmanager
def cache_writer(digest: str, earlier: ReadCache | None = None) -> Iterator[CacheWriter]:
    """A new cache for this run, in a scratch folder of its own (removed afterwards; a killed
    run's is removed by the next, as every scratch folder is), made from ``earlier`` (the
    earlier cache, when usable) and what this run reads."""
    with scratch_folder() as folder:
        writer = CacheWriter(folder, digest, earlier)
        try:
            yield writer
        finally:
            writer.close()


def remove_cache(out: Path) -> bool:
    """Remove ``out``'s caches (``musforms purge``): collect's, and the calendar's events
    (musforms.outputs.calendar); whether collect's was there."""
    from musforms.outputs.calendar import EVENTS

    found = False
    for path in (cache_path(out), out / FOLDER / EVENTS):
        try:
            st = os.stat(path, follow_symlinks=False)
        except OSError:
            continue
        if stat.S_ISDIR(st.st_mode):
            continue
        path.unlink()
        found = found or path == cache_path(out)
    with contextlib.suppress(OSError):
        (out / FOLDER).rmdir()
    return found
