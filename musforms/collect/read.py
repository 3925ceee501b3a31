"""Reading returned files: finding them, reading each within the limits by the format its
content shows, and spreading the reading over the cores."""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import functools
import hashlib
import json
import os
import signal
import threading
import traceback
from collections.abc import Callable, Generator, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from stat import S_ISDIR, S_ISREG
from typing import Any

from pydantic import ValidationError

from musforms import formats
from musforms.blob import Blob, Source
from musforms.collect.cache import CONTENTS, MESSAGES, RESULTS, STATS, ReadCache, Row
from musforms.collect.context import Context, FileResult
from musforms.collect.identify import identify, resolver
from musforms.errors import FormReadError, NotMusformsError
from musforms.i18n import _
from musforms.mail import inbox
from musforms.models import Problem, RawForm
from musforms.nospace import FULL, raise_if_full
from musforms.pool import Task, ordered_map
from musforms.report import INTERNAL_ERROR, FileEntry, Status

POOL_THRESHOLD = 32
# Files per task sent to a worker: a task's round trip costs the main process about a
# millisecond, as much as a few files known from the cache (a morning's re-run is mostly
# those). Messages carry their bytes, so fewer of them go in one task.
CHUNK = 32
MESSAGES_PER_CHUNK = 8


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
        raise _TimeUp(
            _("took longer than {seconds} s to read; it is damaged or hostile").format(
                seconds=seconds
            )
        )

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


def _guarded(entry: FileEntry, read: Callable[[], FileResult]) -> FileResult:
    try:
        return read()
    except NotMusformsError as exc:
        entry.status = "not_musforms"
        entry.reason = str(exc) or _("not a musforms form")
        return FileResult(entry)
    except FormReadError as exc:
        entry.status = "unreadable"
        entry.reason = str(exc)
        return FileResult(entry)
    except OSError as exc:
        if exc.errno in FULL:
            raise  # a full disk, no fault of the file: the run stops, and says so
        entry.status = "unreadable"
        entry.reason = _("cannot be opened ({value})").format(
            value=exc.strerror or exc.__class__.__name__
        )
        return FileResult(entry)
    except Exception as exc:  # a bug in musforms, met on one file: said so, never hidden
        raise_if_full(exc)
        return internal_error(entry, exc)


def _read_path(path: Path, entry: FileEntry, ctx: Context) -> FileResult:
    if path.is_symlink():
        entry.reason = _("a link to another place; links are not followed")
        return FileResult(entry)
    if not path.is_file():
        entry.reason = _("not a regular file")
        return FileResult(entry)
    stat = path.stat()
    too_large = ctx.limits.too_large(stat.st_size)
    if too_large:
        entry.reason = too_large
        return FileResult(entry)
    data = path.read_bytes()
    entry.sha256 = sha = hashlib.sha256(data).hexdigest()
    mtime = dt.datetime.fromtimestamp(stat.st_mtime, tz=dt.UTC)
    with time_limit(ctx.limits.seconds):
        text = ctx.cache.get(CONTENTS, sha) if ctx.cache is not None else None
        outcome = Outcome.from_json(text) if text is not None else None
        cached = outcome is not None
        if outcome is None:
            outcome = _outcome(path, data, ctx)
            text = outcome.to_json() if outcome.keep else None
        result = _finish(outcome, entry, mtime, ctx)
    if text is not None and _keepable([result]):
        result.rows.append((CONTENTS, sha, text))
        stat_key = _stat_key(entry.file, stat)
        if ctx.kind == "preparation" and (
            _stat_key(entry.file, os.stat(path, follow_symlinks=False)) == stat_key
        ):
            # Not changed while it was read: known by how it stands, the next run need not
            # read it at all.
            result.rows.append((STATS, stat_key, sha))
            done = _result_key(sha, entry.file, stat, ctx.kind)
            result.rows.append((RESULTS, done, _result_json(result)))
    result.cached = cached
    return result


def _stat_key(name: str, st: os.stat_result) -> str:
    """A file on disk as it stands: a write to it, even one that keeps its size and sets its
    modification time back, changes its change time (which no one can set)."""
    marks = (st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino, st.st_dev)
    return "\0".join([name, *map(str, marks)])


def _result_key(sha: str, name: str, st: os.stat_result, kind: str) -> str:
    """What a file's identified result depends on besides the cache's key: its bytes, its
    name in the report, its modification time (a form's save time when it records none) and
    the kind of form the pass collects."""
    return f"{sha}\0{name}\0{st.st_mtime_ns}\0{kind}"


def _result_json(result: FileResult) -> str:
    data = {
        "entry": result.entry.model_dump(mode="json"),
        "text": result.text,
        "key_ok": result.key_ok,
        "elsewhere": result.elsewhere,
    }
    return json.dumps(data, ensure_ascii=False, sort_keys=True)


def _known_file(path: Path, ctx: Context) -> FileResult | None:
    """A file on disk as it was when an earlier run read it: its result as that run read and
    identified it, without reading it again; None when it is not so (then it is read)."""
    cache = ctx.cache
    # A conclusion's result depends on its employee's preparation on record too (the
    # proposals it was issued with): it is identified again on every run.
    if cache is None or cache.path is None or ctx.kind != "preparation":
        return None
    try:
        st = os.stat(path, follow_symlinks=False)
    except OSError:
        return None
    if not S_ISREG(st.st_mode):
        return None
    name = display_name(path)
    stat_key = _stat_key(name, st)
    sha = cache.get(STATS, stat_key)
    if sha is None:
        return None
    done = _result_key(sha, name, st, ctx.kind)
    kept, outcome = cache.get(RESULTS, done), cache.get(CONTENTS, sha)
    if kept is None or outcome is None or Outcome.from_json(outcome) is None:
        return None
    try:
        data = json.loads(kept)
        entry = FileEntry.model_validate(data["entry"])
        text, key_ok, elsewhere = data["text"], data["key_ok"], data["elsewhere"]
    except (ValueError, TypeError, KeyError, ValidationError):
        return None  # damaged: the file is read
    if entry.file != name or entry.sha256 != sha or not isinstance(text, str | None):
        return None
    if not isinstance(key_ok, bool | None) or not isinstance(elsewhere, bool):
        return None
    # Kept as the earlier cache holds them: their texts need not come back from a worker.
    rows: list[Row] = [(CONTENTS, sha, None), (STATS, stat_key, None), (RESULTS, done, None)]
    return FileResult(entry, None, text, key_ok, rows, cached=True, elsewhere=elsewhere)


def _keepable(results: list[FileResult]) -> bool:
    """Whether what was read may be kept for the next run: not when a file was rejected
    (altered, another's, another round's): its values are kept nowhere, and it is read
    again each run."""
    return all(r.entry.status != "rejected" for r in results)


def internal_error(entry: FileEntry, exc: BaseException) -> FileResult:
    """The entry of a file whose reading hit a bug in musforms: unreadable, with the code
    ``internal_error`` for whoever looks into it."""
    entry.status = "unreadable"
    entry.reason = _(
        "musforms could not read it ({name}, a fault in musforms, not in "
        "the file's sender); keep the file and report it"
    ).format(name=exc.__class__.__name__)
    # Where it failed, not what it said: an exception's text may quote the file's answers.
    entry.problems = [
        Problem(
            code=INTERNAL_ERROR,
            question=None,
            message=_("{name} in {where}").format(name=exc.__class__.__name__, where=_where(exc)),
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
    if len(titles) == 1:
        return titles[0]
    return _("{kinds} or {last}").format(kinds=", ".join(titles[:-1]), last=titles[-1])


@dataclass
class Outcome:
    """What a file's bytes give, whatever its name or place: the raw values its reader
    found, or why it cannot be read. Kept in the cache (musforms.collect.cache) by the
    file's SHA-256; a file read afresh goes through the same JSON, so that a file read from
    the cache gives what reading it gives."""

    raw: RawForm | None = None
    status: Status = "unreadable"
    reason: str | None = None
    problems: list[Problem] = field(default_factory=list)
    # May be kept: not so for what depends on the file's name, a time-out (another time it
    # may be read), a file that could not be opened, a fault in musforms.
    keep: bool = True

    def to_json(self) -> str:
        data: dict[str, Any] = {
            "raw": self.raw.model_dump(mode="json") if self.raw is not None else None,
            "status": self.status,
            "reason": self.reason,
            "problems": [p.model_dump(mode="json") for p in self.problems],
        }
        return json.dumps(data, ensure_ascii=False, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> Outcome | None:
        """The outcome kept as ``text``; None when it is damaged (then the file is read)."""
        try:
            return cls._from(json.loads(text))
        except (ValueError, TypeError, KeyError, AttributeError, ValidationError):
            return None

    @classmethod
    def _from(cls, data: dict[str, Any]) -> Outcome:
        raw = RawForm.model_validate(data["raw"]) if data["raw"] is not None else None
        status, reason = data["status"], data["reason"]
        if status not in ("unreadable", "not_musforms") or not (
            reason is None or isinstance(reason, str)
        ):
            raise ValueError("not an outcome")
        problems = [Problem.model_validate(p) for p in data["problems"]]
        return cls(raw, status, reason, problems)


def _outcome(path: Source, data: bytes, ctx: Context) -> Outcome:
    """What reading ``data`` by the format its content shows gives (within the time limit
    the caller set)."""
    try:
        outcome = _outcome_of(path, data, ctx)
    except _TimeUp as exc:
        return Outcome(reason=str(exc), keep=False)
    except NotMusformsError as exc:
        return Outcome(status="not_musforms", reason=str(exc) or _("not a musforms form"))
    except FormReadError as exc:
        return Outcome(reason=str(exc))
    except OSError as exc:
        if exc.errno in FULL:
            raise  # a full disk, no fault of the file: the run stops, and says so
        reason = _("cannot be opened ({value})").format(
            value=exc.strerror or exc.__class__.__name__
        )
        return Outcome(reason=reason, keep=False)
    except Exception as exc:  # a bug in musforms, met on one file: said so, never hidden
        raise_if_full(exc)
        failed = internal_error(FileEntry(file="", status="unreadable"), exc).entry
        return Outcome(reason=failed.reason, problems=failed.problems, keep=False)
    if outcome.raw is not None:  # as it comes back from the cache
        outcome.raw = RawForm.model_validate_json(outcome.raw.model_dump_json())
    return outcome


def _outcome_of(path: Source, data: bytes, ctx: Context) -> Outcome:
    if not data:
        return Outcome(reason=_("the file is empty"))
    probe = formats.Probe(path, data[: formats.HEAD_BYTES])
    fmt = formats.detect(probe)
    if fmt is None:
        if data.startswith(formats.OLE_MAGIC):
            return Outcome(
                reason=_(
                    "an old Word 97–2003 file (.doc), a password-protected Office file or "
                    "another Office binary: ask for it saved as .docx or PDF, without a password"
                )
            )
        claimed = formats.by_suffix(path)
        if claimed is not None:
            reason = _(
                "not a real {title} file ({lower}): damaged, or a different kind of file"
            ).format(title=claimed.title, lower=path.suffix.lower())
            # Said by the file's name: a file on disk may be renamed, an attachment not.
            return Outcome(reason=reason, keep=isinstance(path, Blob))
        return Outcome(status="not_musforms", reason=_("not a {kinds} file").format(kinds=_kinds()))
    return Outcome(raw=fmt.read(path, resolver(ctx), ctx.limits))


def _finish(outcome: Outcome, entry: FileEntry, when: dt.datetime, ctx: Context) -> FileResult:
    """The file's result from its outcome: identified, verified and interpreted, on this
    run (``when``: the file's modification time or the message's date, for a form that
    records no save time)."""
    if outcome.raw is None:
        entry.status = outcome.status
        entry.reason = outcome.reason
        entry.problems = list(outcome.problems)
        return FileResult(entry)
    raw = outcome.raw.model_copy(deep=True)
    entry.format = raw.format
    entry.read_by = raw.read_by
    entry.saved_at = raw.saved_at or when
    return identify(raw, entry, ctx)


# --- mail --------------------------------------------------------------------------------------

# What one read takes: a file, a message, a message read before, a failed input.
Item = Path | inbox.Letter | inbox.Known | inbox.Broken


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
    if isinstance(item, inbox.Known):
        return _read_known(item, ctx)
    known = _known_file(item, ctx)
    if known is not None:
        return [known]
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
    limits; the message's sender and date on each line. A message read before (by its
    Message-ID, see musforms.collect.cache) is not opened again."""
    key = inbox.message_key(letter.data)
    text = ctx.cache.get(MESSAGES, key) if ctx.cache is not None else None
    opened = MessageOutcome.from_json(text) if text is not None else None
    cached = opened is not None
    if opened is None:
        opened = _open_letter(letter, ctx)
        text = opened.to_json() if opened.keep else None
    results = _letter_results(letter.where, opened, ctx)
    if text is not None and _keepable(results):
        results[0].rows.append((MESSAGES, key, text))
    for result in results:
        result.cached = cached
    return results


def _read_known(known: inbox.Known, ctx: Context) -> list[FileResult]:
    """A message on a server whose outcome is in the cache: its lines, from there."""
    text = ctx.cache.get(MESSAGES, known.key) if ctx.cache is not None else None
    opened = MessageOutcome.from_json(text) if text is not None else None
    if opened is None or text is None:  # checked before it was listed: the cache went bad
        entry = FileEntry(file=known.where, status="unreadable", message=known.where)
        entry.reason = _("what an earlier run read of it is lost; collect again with --full")
        return [FileResult(entry)]
    results = _letter_results(known.where, opened, ctx)
    results[0].rows.append((MESSAGES, known.key, text))
    for result in results:
        result.cached = True
    return results


def is_known(cache: ReadCache, key: str) -> bool:
    """Whether the cache holds a message's outcome that can be used."""
    text = cache.get(MESSAGES, key)
    return text is not None and MessageOutcome.from_json(text) is not None


@dataclass
class Attachment:
    """One attachment of a message, as kept: its name after the message's, and its outcome
    (None: the attachment could not be taken out, ``refused`` says why)."""

    tail: str
    forwarded_from: str | None = None
    refused: str | None = None
    sha256: str | None = None
    outcome: Outcome | None = None


@dataclass
class MessageOutcome:
    """What a message gives, wherever it is found: its sender, date and Message-ID and each
    attachment's outcome; or why it cannot be opened (``failed``). Kept in the cache by the
    message's key (inbox.message_key)."""

    failed: Outcome | None = None
    sender: str | None = None
    sent_at: dt.datetime | None = None
    message_id: str | None = None
    attachments: list[Attachment] = field(default_factory=list)

    @property
    def keep(self) -> bool:
        if self.failed is not None:
            return self.failed.keep
        return all(a.outcome is None or a.outcome.keep for a in self.attachments)

    def to_json(self) -> str:
        def outcome(o: Outcome | None) -> Any:
            return json.loads(o.to_json()) if o is not None else None

        data = {
            "failed": outcome(self.failed),
            "sender": self.sender,
            "sent_at": self.sent_at.isoformat() if self.sent_at else None,
            "message_id": self.message_id,
            "attachments": [
                {
                    "tail": a.tail,
                    "forwarded_from": a.forwarded_from,
                    "refused": a.refused,
                    "sha256": a.sha256,
                    "outcome": outcome(a.outcome),
                }
                for a in self.attachments
            ],
        }
        return json.dumps(data, ensure_ascii=False, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> MessageOutcome | None:
        """The message kept as ``text``; None when it is damaged (then it is read)."""
        try:
            data = json.loads(text)
            sent = data["sent_at"]
            opened = cls(
                Outcome._from(data["failed"]) if data["failed"] is not None else None,
                _optional_text(data["sender"]),
                dt.datetime.fromisoformat(sent) if sent is not None else None,
                _optional_text(data["message_id"]),
            )
            for a in data["attachments"]:
                outcome = a["outcome"]
                opened.attachments.append(
                    Attachment(
                        str(a["tail"]),
                        _optional_text(a["forwarded_from"]),
                        _optional_text(a["refused"]),
                        _optional_text(a["sha256"]),
                        Outcome._from(outcome) if outcome is not None else None,
                    )
                )
        except (ValueError, TypeError, KeyError, AttributeError, ValidationError):
            return None
        return opened


def _optional_text(value: object) -> str | None:
    if value is not None and not isinstance(value, str):
        raise TypeError("not a text")
    return value


def _open_letter(letter: inbox.Letter, ctx: Context) -> MessageOutcome:
    """A message opened, and each attachment read."""
    try:
        with time_limit(ctx.limits.seconds):
            opened = inbox.open_letter(letter, ctx.limits)
    except _TimeUp as exc:
        return MessageOutcome(failed=Outcome(reason=str(exc), keep=False))
    except (inbox.MailReadError, FormReadError) as exc:
        return MessageOutcome(failed=Outcome(reason=str(exc)))
    except RecursionError:
        reason = _("the message is nested too deeply to read; it is damaged or hostile")
        return MessageOutcome(failed=Outcome(reason=reason))
    except Exception as exc:  # a bug in musforms, met on one message
        raise_if_full(exc)
        failed = internal_error(FileEntry(file="", status="unreadable"), exc).entry
        said = Outcome(reason=failed.reason, problems=failed.problems, keep=False)
        return MessageOutcome(failed=said)
    found = MessageOutcome(None, opened.sender, opened.sent_at, opened.message_id)
    for att in opened.attachments:
        kept = Attachment(
            att.label[len(letter.where) + len(inbox.SEP) :], att.forwarded_from, att.refused
        )
        if att.blob is not None:
            kept.refused = None
            data = att.blob.data
            too_large = ctx.limits.too_large(len(data))
            if too_large:
                kept.outcome = Outcome(reason=too_large)
            else:
                kept.sha256 = hashlib.sha256(data).hexdigest()
                with time_limit(ctx.limits.seconds):
                    kept.outcome = _outcome(att.blob, data, ctx)
        found.attachments.append(kept)
    return found


def _letter_results(where: str, opened: MessageOutcome, ctx: Context) -> list[FileResult]:
    """The lines of a message found at ``where``."""
    head = FileEntry(file=where, status="unreadable", message=where)
    if opened.failed is not None:
        return [_finish(opened.failed, head, _now(), ctx)]
    mail = {
        "message": where,
        "sender": opened.sender,
        "sent_at": opened.sent_at,
        "message_id": opened.message_id,
    }
    if not opened.attachments:
        entry = FileEntry(file=where, status="not_musforms", **mail)
        entry.reason = inbox.NO_FILE
        return [FileResult(entry)]
    results = []
    for att in opened.attachments:
        entry = FileEntry(
            file=f"{where}{inbox.SEP}{att.tail}",
            status="unreadable",
            attachment=att.tail,
            forwarded_from=att.forwarded_from,
            **mail,
        )
        outcome = att.outcome
        if outcome is None:
            entry.reason = att.refused
            if att.refused == inbox.NO_FILE_FORWARDED:
                entry.status = "not_musforms"
            results.append(FileResult(entry))
            continue
        entry.sha256 = att.sha256
        when = opened.sent_at or _now()
        result = _guarded(entry, functools.partial(_finish_in_time, outcome, entry, when, ctx))
        result.entry.hint = _sender_hint(result.entry, ctx)
        results.append(result)
    return results


def _finish_in_time(
    outcome: Outcome, entry: FileEntry, when: dt.datetime, ctx: Context
) -> FileResult:
    with time_limit(ctx.limits.seconds):
        return _finish(outcome, entry, when, ctx)


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(microsecond=0)


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
        try:
            mode = os.lstat(path).st_mode  # once: a round's files are many
        except OSError:
            mode = 0  # read_file says why
        if S_ISDIR(mode) and inbox.is_maildir(path):
            yield from inbox.iter_maildir(path, display_name(path), ctx.limits)
        elif S_ISREG(mode) and _is_mbox(path):
            yield from inbox.iter_mbox(path, display_name(path), ctx.limits)
        else:
            yield path
    cache = ctx.cache
    known = functools.partial(is_known, cache) if cache is not None and cache.path else None
    for url in mailboxes:
        for item in iter_folder(url, ctx.limits, known=known):
            yield dataclasses.replace(item, tick=False)


def _is_mbox(path: Path) -> bool:
    """Whether a regular file (not a link) holds an mbox."""
    try:
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
    return item.tick if isinstance(item, inbox.Letter | inbox.Known | inbox.Broken) else True


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
    chunks = iter(lambda: list(_take(it, CHUNK, MESSAGES_PER_CHUNK)), [])
    with contextlib.closing(ordered_map(_READING, ctx, chunks, workers)) as done:
        for results in done:
            for tick, found in results:
                if progress and tick:
                    progress(1)
                yield from found


def _take(it: Iterator[Item], n: int, messages: int) -> Iterator[Item]:
    """Up to ``n`` items, of which up to ``messages`` are not files on disk."""
    for _i in range(n):
        try:
            item = next(it)
        except StopIteration:
            return
        yield item
        if not isinstance(item, Path):
            messages -= 1
            if messages <= 0:
                return
