"""Reading returned files: finding them, reading each within the limits by the format its
content shows, and spreading the reading over the cores."""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import hashlib
import os
import signal
import threading
import traceback
from collections.abc import Callable, Generator, Iterable, Iterator, Sequence
from pathlib import Path

from musforms import formats
from musforms.blob import Blob, Source
from musforms.collect.context import Context, FileResult
from musforms.collect.identify import identify, resolver
from musforms.errors import FormReadError, NotMusformsError
from musforms.mail import inbox
from musforms.models import Problem
from musforms.nospace import FULL, raise_if_full
from musforms.pool import Task, ordered_map
from musforms.report import INTERNAL_ERROR, FileEntry

POOL_THRESHOLD = 32
CHUNK = 8  # files per task sent to a worker


# --- finding files -------------------------------------------------------------------------


def iter_inputs(inputs: Sequence[Path]) -> Iterator[Path]:
    """Every file under the given files and folders, in a stable order; links are not
    followed. A Maildir folder is one input (its messages are read by musforms.mail)."""
    for given in inputs:
        if given.is_symlink() or not given.is_dir() or inbox.is_maildir(given):
            yield given
            continue
        for root, dirs, files in os.walk(given, followlinks=False):
            dirs.sort()
            for name in sorted(files):
                yield Path(root) / name
            for name in list(dirs):
                if (Path(root) / name).is_symlink():
                    yield Path(root) / name
                elif inbox.is_maildir(Path(root) / name):
                    yield Path(root) / name
                    dirs.remove(name)


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
    return _guarded(entry, lambda: _read_path(path, entry, ctx))


def read_blob(blob: Blob, entry: FileEntry, sent: dt.datetime | None, ctx: Context) -> FileResult:
    """As :func:`read_file`, for a file held in memory (a mail attachment): ``entry`` names
    it, ``sent`` (the message's date) stands in for the time it was saved."""

    def read() -> FileResult:
        too_large = ctx.limits.too_large(len(blob.data))
        if too_large:
            entry.reason = too_large
            return FileResult(entry)
        entry.sha256 = hashlib.sha256(blob.data).hexdigest()
        when = sent or dt.datetime.now(dt.UTC).replace(microsecond=0)
        with time_limit(ctx.limits.seconds):
            return _read_bytes(blob, blob.data, entry, when, ctx)

    return _guarded(entry, read)


def _guarded(entry: FileEntry, read: Callable[[], FileResult]) -> FileResult:
    try:
        return read()
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


def _read_path(path: Path, entry: FileEntry, ctx: Context) -> FileResult:
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
    path: Source, data: bytes, entry: FileEntry, mtime: dt.datetime, ctx: Context
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


# --- mail --------------------------------------------------------------------------------------

Item = Path | inbox.Letter | inbox.Broken  # what one read takes: a file, a message, a failed input


def read_input(item: Item, ctx: Context) -> list[FileResult]:
    """Every result one input gives: a returned file's one, a mail message's one per
    attachment (or one for the message when it has none), a mail input that cannot be
    read its one, with the reason."""
    if isinstance(item, inbox.Broken):
        entry = FileEntry(file=item.where, status="unreadable", message=item.where)
        entry.reason = item.reason
        return [FileResult(entry)]
    if isinstance(item, inbox.Letter):
        return read_letter(item, ctx)
    letter = _mail_file(item, ctx)
    if letter is None:
        return [read_file(item, ctx)]
    return read_input(letter, ctx)


def _mail_file(path: Path, ctx: Context) -> inbox.Letter | inbox.Broken | None:
    """A mail file (.eml, Outlook .msg, by their content) as its message, or None for any
    other file (and for one that cannot be opened: read_file says why)."""
    try:
        if path.is_symlink() or not path.is_file():
            return None
        with path.open("rb") as fh:
            kind = inbox.kind_of(fh.read(formats.HEAD_BYTES))
            if kind not in ("eml", "msg"):
                return None
            size = os.fstat(fh.fileno()).st_size
            bound = inbox.message_bound(ctx.limits)
            if size > bound:
                if kind == "msg":
                    return None  # an Office binary, perhaps: read_file says it is too large
                return inbox.Broken(display_name(path), inbox.too_large_message(ctx.limits))
            fh.seek(0)
            data = fh.read(bound + 1)
    except OSError as exc:
        raise_if_full(exc)
        return None
    if kind == "msg" and not inbox.is_outlook_message(data):
        return None
    return inbox.Letter(display_name(path), data)


def read_letter(letter: inbox.Letter, ctx: Context) -> list[FileResult]:
    """One mail message: each attachment read in memory as a returned file, under the same
    limits; the message's sender and date on each line."""
    head = FileEntry(file=letter.where, status="unreadable", message=letter.where)
    try:
        with time_limit(ctx.limits.seconds):
            opened = inbox.open_letter(letter, ctx.limits)
    except (inbox.MailReadError, FormReadError) as exc:
        head.reason = str(exc)
        return [FileResult(head)]
    except RecursionError:
        head.reason = "the message is nested too deeply to read; it is damaged or hostile"
        return [FileResult(head)]
    except Exception as exc:  # a bug in musforms, met on one message
        raise_if_full(exc)
        return [internal_error(head, exc)]
    mail = {
        "message": letter.where,
        "sender": opened.sender,
        "sent_at": opened.sent_at,
        "message_id": opened.message_id,
    }
    if not opened.attachments:
        entry = FileEntry(file=letter.where, status="not_musforms", **mail)
        entry.reason = inbox.NO_FILE
        return [FileResult(entry)]
    results = []
    for att in opened.attachments:
        entry = FileEntry(
            file=att.label,
            status="unreadable",
            attachment=att.label[len(letter.where) + len(inbox.SEP) :],
            forwarded_from=att.forwarded_from,
            **mail,
        )
        if att.blob is None:
            entry.reason = att.refused
            if att.refused == inbox.NO_FILE_FORWARDED:
                entry.status = "not_musforms"
            results.append(FileResult(entry))
            continue
        result = read_blob(att.blob, entry, opened.sent_at, ctx)
        result.entry.hint = _sender_hint(result.entry, ctx)
        results.append(result)
    return results


def _sender_hint(entry: FileEntry, ctx: Context) -> str | None:
    """For HR, when a form came from someone other than the employee it is issued to (by
    the e-mail address generate had from the roster, in any case)."""
    if not entry.form_id or not entry.sender:
        return None
    issued = ctx.index.get(entry.form_id)
    if issued is None or not issued.email:
        return None
    employee = issued.email.strip().lower()
    if entry.sender == employee:
        return None
    if entry.forwarded_from == employee:
        return (
            f"forwarded by {entry.sender}; the employee ({issued.email}) sent it first. The "
            "form's signed identity says whose it is"
        )
    return (
        f"sent by {entry.sender}, not by the employee ({issued.email}). The form's signed "
        "identity says whose it is: check with the employee that these are their answers"
    )


def expand(paths: Iterable[Path], mailboxes: Sequence[str], ctx: Context) -> Iterator[Item]:
    """The inputs as read: a Maildir folder or an mbox file as its messages (one at a
    time), then each IMAP folder's messages; every other file as it is."""
    from musforms.mail.imap import iter_folder

    for path in paths:
        if path.is_dir() and not path.is_symlink() and inbox.is_maildir(path):
            yield from inbox.iter_maildir(path, display_name(path), ctx.limits)
        elif _is_mbox(path):
            yield from inbox.iter_mbox(path, display_name(path), ctx.limits)
        else:
            yield path
    for url in mailboxes:
        for item in iter_folder(url, ctx.limits):
            yield dataclasses.replace(item, tick=False)


def _is_mbox(path: Path) -> bool:
    try:
        if path.is_symlink() or not path.is_file():
            return False
        with path.open("rb") as fh:
            return inbox.kind_of(fh.read(formats.HEAD_BYTES)) == "mbox"
    except OSError:
        return False  # read_file says why


# --- many files --------------------------------------------------------------------------------

_CTX: Context | None = None


def _init_worker(ctx: Context) -> None:
    global _CTX
    _CTX = ctx


def _read_chunk(items: list[Item]) -> list[tuple[bool, list[FileResult]]]:
    assert _CTX is not None
    return [(_ticks(item), [r.shipped() for r in read_input(item, _CTX)]) for item in items]


def _ticks(item: Item) -> bool:
    return item.tick if isinstance(item, inbox.Letter | inbox.Broken) else True


_READING: Task[Item, tuple[bool, list[FileResult]], Context] = Task(
    _read_chunk, _init_worker, POOL_THRESHOLD
)


def read_files(
    paths: Iterable[Item],
    ctx: Context,
    *,
    workers: int | None = None,
    progress: Callable[[int], None] | None = None,
) -> Generator[FileResult, None, None]:
    """Read every file and message, spread over the cores when there are many; results in
    input order. ``progress`` counts the inputs done (a mailbox once, at its last message)."""
    it = iter(paths)
    chunks = iter(lambda: list(_take(it, CHUNK)), [])
    with contextlib.closing(ordered_map(_READING, ctx, chunks, workers)) as done:
        for results in done:
            for tick, found in results:
                if progress and tick:
                    progress(1)
                yield from found


def _take(it: Iterator[Item], n: int) -> Iterator[Item]:
    for _ in range(n):
        try:
            yield next(it)
        except StopIteration:
            return
