"""Reading returned files: finding them, reading each within the limits by the format its
content shows, and spreading the reading over the cores."""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import os
import signal
import threading
import traceback
from collections.abc import Callable, Generator, Iterable, Iterator, Sequence
from pathlib import Path

from musforms import formats
from musforms.collect.context import Context, FileResult
from musforms.collect.identify import identify, resolver
from musforms.errors import FormReadError, NotMusformsError
from musforms.models import Problem
from musforms.nospace import FULL, raise_if_full
from musforms.pool import Task, ordered_map
from musforms.report import INTERNAL_ERROR, FileEntry

POOL_THRESHOLD = 32
CHUNK = 8  # files per task sent to a worker


# --- finding files -------------------------------------------------------------------------


def iter_inputs(inputs: Sequence[Path]) -> Iterator[Path]:
    """Every file under the given files and folders, in a stable order; links are not followed."""
    for given in inputs:
        if given.is_symlink() or not given.is_dir():
            yield given
            continue
        for root, dirs, files in os.walk(given, followlinks=False):
            dirs.sort()
            for name in sorted(files):
                yield Path(root) / name
            for name in dirs:
                if (Path(root) / name).is_symlink():
                    yield Path(root) / name


def display_name(path: Path) -> str:
    """The file's path as text; bytes that are not UTF-8 (a name made on another system)
    shown as ``\\xff`` escapes, so the report can be written and read back."""
    return os.fsencode(path).decode("utf-8", "backslashreplace")


class _TimeUp(FormReadError):
    """Raised inside a read that ran past its time limit."""


@contextlib.contextmanager
def time_limit(seconds: int) -> Iterator[None]:
    """Stop reading a file that takes longer than ``seconds`` (a hostile or broken file)."""
    if seconds <= 0 or threading.current_thread() is not threading.main_thread():
        yield
        return

    def expire(signum: int, frame: object) -> None:
        raise _TimeUp(f"took longer than {seconds} s to read; it is damaged or hostile")

    previous = signal.signal(signal.SIGALRM, expire)
    # Then again every second: an exception raised where Python cannot pass it on (a garbage
    # collector callback, a __del__) or a library's broad ``except`` would otherwise lose it.
    signal.setitimer(signal.ITIMER_REAL, seconds, 1.0)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


# --- one file --------------------------------------------------------------------------------


def read_file(path: Path, ctx: Context) -> FileResult:
    """Read, identify, verify and interpret one returned file. Raises only when a disk is
    full (musforms.nospace): a bad file is an entry with its reason, and a bug in musforms an
    entry with ``internal_error``."""
    entry = FileEntry(file=display_name(path), status="unreadable")
    try:
        if path.is_symlink():
            entry.reason = "a link to another place; links are not followed"
            return FileResult(entry)
        if not path.is_file():
            entry.reason = "not a regular file"
            return FileResult(entry)
        stat = path.stat()
        too_large = ctx.limits.too_large(stat.st_size)
        if too_large:
            entry.reason = too_large
            return FileResult(entry)
        data = path.read_bytes()
        entry.sha256 = hashlib.sha256(data).hexdigest()
        mtime = dt.datetime.fromtimestamp(stat.st_mtime, tz=dt.UTC)
        with time_limit(ctx.limits.seconds):
            return _read_bytes(path, data, entry, mtime, ctx)
    except NotMusformsError as exc:
        entry.status = "not_musforms"
        entry.reason = str(exc) or "not a musforms form"
        return FileResult(entry)
    except FormReadError as exc:
        entry.status = "unreadable"
        entry.reason = str(exc)
        return FileResult(entry)
    except OSError as exc:
        if exc.errno in FULL:
            raise  # a full disk, no fault of the file: the run stops, and says so
        entry.status = "unreadable"
        entry.reason = f"cannot be opened ({exc.strerror or exc.__class__.__name__})"
        return FileResult(entry)
    except Exception as exc:  # a bug in musforms, met on one file: said so, never hidden
        raise_if_full(exc)
        return internal_error(entry, exc)


def internal_error(entry: FileEntry, exc: BaseException) -> FileResult:
    """The entry of a file whose reading hit a bug in musforms: unreadable, with the code
    ``internal_error`` for whoever looks into it."""
    entry.status = "unreadable"
    entry.reason = (
        f"musforms could not read it ({exc.__class__.__name__}, a fault in musforms, not in "
        "the file's sender); keep the file and report it"
    )
    # Where it failed, not what it said: an exception's text may quote the file's answers.
    entry.problems = [
        Problem(
            code=INTERNAL_ERROR,
            question=None,
            message=f"{exc.__class__.__name__} in {_where(exc)}",
        )
    ]
    return FileResult(entry)


def _where(exc: BaseException) -> str:
    """The innermost place in musforms the exception passed through: ``module:line``."""
    place = "musforms"
    for frame, line in traceback.walk_tb(exc.__traceback__):
        module = frame.f_globals.get("__name__", "")
        if module.startswith("musforms"):
            place = f"{module}:{line}"
    return place


def _kinds() -> str:
    titles = [f.title for f in formats.all_formats()]
    return ", ".join(titles[:-1]) + " or " + titles[-1] if len(titles) > 1 else titles[0]


def _read_bytes(
    path: Path, data: bytes, entry: FileEntry, mtime: dt.datetime, ctx: Context
) -> FileResult:
    if not data:
        entry.reason = "the file is empty"
        return FileResult(entry)
    probe = formats.Probe(path, data[: formats.HEAD_BYTES])
    fmt = formats.detect(probe)
    if fmt is None:
        if data.startswith(formats.OLE_MAGIC):
            entry.reason = (
                "an old Word 97–2003 file (.doc), a password-protected Office file or another "
                "Office binary: ask for it saved as .docx or PDF, without a password"
            )
            return FileResult(entry)
        claimed = formats.by_suffix(path)
        if claimed is not None:
            entry.reason = (
                f"not a real {claimed.title} file ({path.suffix.lower()}): damaged, or a "
                "different kind of file"
            )
        else:
            entry.status = "not_musforms"
            entry.reason = f"not a {_kinds()} file"
        return FileResult(entry)
    raw = fmt.read(path, resolver(ctx), ctx.limits)
    entry.format = raw.format
    entry.read_by = raw.read_by
    entry.saved_at = raw.saved_at or mtime
    return identify(raw, entry, ctx)


# --- many files --------------------------------------------------------------------------------

_CTX: Context | None = None


def _init_worker(ctx: Context) -> None:
    global _CTX
    _CTX = ctx


def _read_chunk(paths: list[Path]) -> list[FileResult]:
    assert _CTX is not None
    return [read_file(path, _CTX).shipped() for path in paths]


_READING: Task[Path, FileResult, Context] = Task(_read_chunk, _init_worker, POOL_THRESHOLD)


def read_files(
    paths: Iterable[Path],
    ctx: Context,
    *,
    workers: int | None = None,
    progress: Callable[[int], None] | None = None,
) -> Generator[FileResult, None, None]:
    """Read every file, spread over the cores when there are many; results in input order."""
    it = iter(paths)
    chunks = iter(lambda: list(_take(it, CHUNK)), [])
    with contextlib.closing(ordered_map(_READING, ctx, chunks, workers)) as done:
        for results in done:
            for result in results:
                if progress:
                    progress(1)
                yield result


def _take(it: Iterator[Path], n: int) -> Iterator[Path]:
    for _ in range(n):
        try:
            yield next(it)
        except StopIteration:
            return
