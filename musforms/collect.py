"""Returned files → one validated response per employee, and a report of every file.

Each file is identified by the identity embedded in it (never by its name), verified against
the signing key, and interpreted against the question set it was issued with. A problem in
one file is recorded on that file and collection goes on. Results are merged with those of
earlier runs, so collecting again as more forms arrive never loses anything.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import itertools
import json
import multiprocessing
import os
import signal
import textwrap
import threading
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from musforms import fieldnames as fn
from musforms.errors import (
    ConfigError,
    FormReadError,
    IdentityError,
    MusformsError,
    NotMusformsError,
)
from musforms.files import atomic_writer, inside, private_dir, write_text
from musforms.identity import default_key_path, form_id_from_code, load_key, peek, verify
from musforms.interpret import interpret, unknown_fields
from musforms.manifest import issued_question_set, iter_manifest_forms, manifest_head
from musforms.models import Problem, QuestionSet, RawForm
from musforms.response import (
    Response,
    ResponseEmployee,
    ResponseForm,
    ResponseQuestionSet,
    Responses,
    ResponseSource,
)
from musforms.workdb import IssuedForm, IssuedIndex, Ledger, scratch_folder

if TYPE_CHECKING:
    from musforms.outputs import OutputPaths

REPORT_SCHEMA = "musforms/report/1"
DEFAULT_MAX_BYTES = 50 * 1024 * 1024
DEFAULT_SECONDS = 60
POOL_THRESHOLD = 32
CHUNK = 8  # files per task sent to a worker

Status = Literal["ok", "recovered", "duplicate", "not_musforms", "unreadable", "rejected"]
USABLE = ("ok", "recovered")


class FileEntry(BaseModel):
    """One returned file's line in report.json."""

    model_config = ConfigDict(extra="forbid")

    file: str
    sha256: str | None = None
    status: Status
    employee_id: str | None = None
    form_id: str | None = None
    read_by: str | None = None
    format: str | None = None
    saved_at: dt.datetime | None = None
    reason: str | None = None
    problems: list[Problem] = Field(default_factory=list)


class Report(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    schema_: str = Field(REPORT_SCHEMA, alias="schema")
    cycle: str
    collected_at: dt.datetime | None = None
    files: list[FileEntry] = Field(default_factory=list)
    returned: list[str] = Field(default_factory=list)
    missing: list[str] = Field(default_factory=list)


@dataclass(frozen=True)
class Context:
    """What reading one file needs; sent once to each worker process.

    The issued forms stay on disk in ``index`` (see musforms.workdb): a worker looks up the
    form a file claims to be, and nothing of the round is copied into each process.
    """

    key: bytes
    index: IssuedIndex
    forms_dir: Path
    max_bytes: int = DEFAULT_MAX_BYTES
    seconds: int = DEFAULT_SECONDS

    @property
    def cycle(self) -> str:
        return self.index.cycle


@contextlib.contextmanager
def open_context(
    key: bytes,
    forms_dir: Path,
    *,
    roster: Path | None = None,
    max_bytes: int = DEFAULT_MAX_BYTES,
    seconds: int = DEFAULT_SECONDS,
) -> Iterator[Context]:
    """The context for reading files returned for the forms in ``forms_dir``, with its index
    of issued forms in a private temporary folder that is removed afterwards."""
    head = manifest_head(forms_dir)
    roster_ids: Iterable[str] | None = None
    if roster is not None:
        from musforms.roster import load_roster

        roster_ids = [e.id for e in load_roster(roster)]
    with scratch_folder() as scratch:
        index = IssuedIndex.build(
            scratch / "issued.sqlite", head.cycle, iter_manifest_forms(forms_dir), roster_ids
        )
        del roster_ids
        try:
            yield Context(key, index, forms_dir, max_bytes, seconds)
        finally:
            index.close()


@dataclass
class FileResult:
    entry: FileEntry
    response: Response | None = None
    text: str | None = None  # the response as its file holds it, made where it was read

    def shipped(self) -> FileResult:
        """What a worker sends back: the response as text only, cheaper to pass between
        processes than the model, and serialised on the worker's core."""
        return FileResult(self.entry, None, self.text)


UNUSABLE = ("not_musforms", "unreadable", "rejected")
SHOWN = 50  # files that need a look, named in the summary (the rest are in report.json)


@dataclass
class CollectResult:
    """What a run did, in counts and the first few names: the whole is in report.json."""

    out: Path
    cycle: str
    counts: dict[str, int] = field(default_factory=dict)  # this run's files by status
    returned: int = 0
    missing: int = 0
    missing_first: list[str] = field(default_factory=list)  # the first few missing ids
    need_a_look: list[FileEntry] = field(default_factory=list)  # this run's, first SHOWN
    need_a_look_count: int = 0
    flagged: int = 0  # this run's usable files with answers to check
    strict_failures: int = 0
    outputs: OutputPaths | None = None  # minutes, follow-up list, calendar

    @property
    def files_read(self) -> int:
        return sum(self.counts.values())

    @property
    def unusable(self) -> int:
        return sum(self.counts.get(status, 0) for status in UNUSABLE)

    def report(self) -> Report:
        """report.json as written, loaded whole (for a look at a small round)."""
        report = load_report(self.out)
        assert report is not None
        return report


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


def _sniff(head: bytes) -> str:
    if not head:
        return "empty"
    if b"%PDF-" in head[:1024]:
        return "pdf"
    if head.startswith(b"PK\x03\x04"):
        return "zip"
    if head.startswith(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"):
        return "ole"
    return "other"


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


class _QuestionSets:
    """Issued question sets by digest, loaded once per process."""

    def __init__(self, forms_dir: Path) -> None:
        self.forms_dir = forms_dir
        self._cache: dict[str, QuestionSet | None] = {}

    def get(self, digest: str) -> QuestionSet | None:
        if digest not in self._cache:
            self._cache[digest] = issued_question_set(self.forms_dir, digest)
        return self._cache[digest]


_QS: dict[Path, _QuestionSets] = {}


def _question_sets(ctx: Context) -> _QuestionSets:
    if ctx.forms_dir not in _QS:
        _QS[ctx.forms_dir] = _QuestionSets(ctx.forms_dir)
    return _QS[ctx.forms_dir]


def _resolver(ctx: Context) -> Callable[[RawForm], QuestionSet | None]:
    forms = ctx.index

    def resolve(raw: RawForm) -> QuestionSet | None:
        digest = None
        if raw.token:
            try:
                digest = peek(raw.token).question_set_digest
            except IdentityError:
                digest = None
        if digest is None and raw.form_code:
            form = forms.get(form_id_from_code(raw.form_code) or raw.form_code)
            digest = form.question_set_digest if form else None
        return _question_sets(ctx).get(digest) if digest else None

    return resolve


def read_file(path: Path, ctx: Context) -> FileResult:
    """Read, identify, verify and interpret one returned file. Never raises for bad input."""
    name = display_name(path)
    entry = FileEntry(file=name, status="unreadable")
    try:
        if path.is_symlink():
            entry.reason = "a link to another place; links are not followed"
            return FileResult(entry)
        if not path.is_file():
            entry.reason = "not a regular file"
            return FileResult(entry)
        size = path.stat().st_size
        if size > ctx.max_bytes:
            entry.reason = (
                f"too large ({size / 1e6:.0f} MB; the limit is {ctx.max_bytes / 1e6:.0f} MB)"
            )
            return FileResult(entry)
        data = path.read_bytes()
        entry.sha256 = hashlib.sha256(data).hexdigest()
        mtime = dt.datetime.fromtimestamp(path.stat().st_mtime, tz=dt.UTC)
        with time_limit(ctx.seconds):
            return _read_bytes(path, data, entry, mtime, ctx)
    except MusformsError as exc:
        entry.status = "unreadable"
        entry.reason = str(exc)
        return FileResult(entry)
    except OSError as exc:
        entry.reason = f"cannot be opened ({exc.strerror or exc.__class__.__name__})"
        return FileResult(entry)
    except Exception as exc:  # a reader bug on one hostile file must not stop the run
        entry.status = "unreadable"
        entry.reason = (
            f"could not be read ({exc.__class__.__name__} in musforms); the file is damaged "
            "or unusual: ask for it to be saved and sent again, and report this file"
        )
        return FileResult(entry)


def display_name(path: Path) -> str:
    """The file's path as text; bytes that are not UTF-8 (a name made on another system)
    shown as ``\\xff`` escapes, so the report can be written and read back."""
    return os.fsencode(path).decode("utf-8", "backslashreplace")


def _read_bytes(
    path: Path, data: bytes, entry: FileEntry, mtime: dt.datetime, ctx: Context
) -> FileResult:
    kind = _sniff(data[:1024])
    if kind == "empty":
        entry.reason = "the file is empty"
        return FileResult(entry)
    if kind == "ole":
        entry.reason = (
            "an old Word 97–2003 file (.doc) or other Office binary: ask for it saved as "
            ".docx or PDF"
        )
        return FileResult(entry)
    if kind == "other":
        suffix = path.suffix.lower()
        if suffix in (".pdf", ".docx"):
            entry.reason = f"not a real {suffix[1:].upper()} file (damaged, or a different kind)"
        else:
            entry.status = "not_musforms"
            entry.reason = "not a PDF or Word file"
        return FileResult(entry)

    resolve = _resolver(ctx)
    try:
        if kind == "pdf":
            from musforms.pdf.reader import read_pdf

            raw = read_pdf(path, resolve)
        else:
            from musforms.docx.reader import read_docx

            raw = read_docx(path, resolve)
    except NotMusformsError as exc:
        entry.status = "not_musforms"
        entry.reason = str(exc) or "not a musforms form"
        return FileResult(entry)
    except FormReadError as exc:
        entry.reason = str(exc)
        return FileResult(entry)

    entry.format = raw.format
    entry.read_by = raw.read_by
    entry.saved_at = raw.saved_at or mtime
    return _identify(raw, entry, ctx)


def _prefill(raw: RawForm) -> dict[str, str | None]:
    return {
        name: (value if isinstance(value, str) else None)
        for name, value in raw.fields.items()
        if fn.is_reserved(name) and name != fn.IDENTITY
    }


def _swapped_identity(raw: RawForm, form_id: str, ctx: Context) -> str | None:
    """Say so when a form carries another employee's identity, not just an edited field."""
    claimed = ctx.index.get(form_id)
    printed = raw.fields.get(fn.PREFILL_NAME)
    if claimed is None or not isinstance(printed, str) or printed == claimed.name:
        return None
    if not ctx.index.has_name(printed):
        return None
    return (
        f"the form printed for {printed} carries the identity of another employee's form "
        f"(issued to employee {claimed.employee_id}): not merged into anyone's answers"
    )


def _reject(entry: FileEntry, reason: str) -> FileResult:
    entry.status = "rejected"
    entry.reason = reason
    return FileResult(entry)


def _identify(raw: RawForm, entry: FileEntry, ctx: Context) -> FileResult:
    forms = ctx.index
    recovered = False
    if raw.token:
        try:
            identity = verify(ctx.key, raw.token, _prefill(raw))
        except IdentityError as exc:
            reason = str(exc)
            try:
                claimed = peek(raw.token)
                entry.form_id, entry.employee_id = claimed.form_id, claimed.employee_id
                reason = _swapped_identity(raw, claimed.form_id, ctx) or reason
            except IdentityError:
                pass
            return _reject(entry, reason)
        form = forms.get(identity.form_id)
        entry.form_id, entry.employee_id = identity.form_id, identity.employee_id
        if identity.cycle != ctx.cycle:
            return _reject(
                entry,
                f"a form from round {identity.cycle}, not {ctx.cycle}: "
                "collect it with that round's forms folder",
            )
        if form is None or form.employee_id != identity.employee_id:
            return _reject(entry, "a form that was not issued in this round (unknown form id)")
        if form.question_set_digest != identity.question_set_digest:
            return _reject(
                entry,
                "issued with another version of the question set than the one now on record "
                "for this employee (an older copy of a form that was generated again)",
            )
    elif raw.form_code:
        fid = form_id_from_code(raw.form_code) or raw.form_code
        found = forms.get(fid)
        if found is None:
            entry.form_id = fid
            return _reject(entry, f"the form code {raw.form_code} was not issued in this round")
        form = found
        entry.form_id, entry.employee_id = form.form_id, form.employee_id
        recovered = True
    else:
        entry.status = "not_musforms"
        entry.reason = "no musforms identity or form code in the file"
        return FileResult(entry)

    if not ctx.index.in_roster(form.employee_id):
        return _reject(entry, f"employee {form.employee_id} is not in the roster for this round")
    qs = _question_sets(ctx).get(form.question_set_digest)
    if qs is None:
        return _reject(
            entry,
            "the question set this form was issued with is missing from the forms folder",
        )
    return _respond(raw, entry, form, qs, recovered, ctx.cycle)


def _respond(
    raw: RawForm,
    entry: FileEntry,
    form: IssuedForm,
    qs: QuestionSet,
    recovered: bool,
    cycle: str,
) -> FileResult:
    result = interpret(qs, raw.fields, form.language)
    problems = list(result.problems)
    for name in unknown_fields(qs, raw.fields):
        problems.append(
            Problem(code="unknown_field", question=None, message=f"unexpected field {name!r}")
        )
    if raw.read_by in ("fields", "tags"):
        missing = [
            s.name for s in fn.all_fields(qs) if s.kind != "checkbox" and s.name not in raw.fields
        ]
        if missing:
            problems.append(
                Problem(
                    code="missing_fields",
                    question=None,
                    message=f"{len(missing)} answer fields are gone from the file "
                    f"(first: {missing[0]}); those answers could not be read",
                )
            )
    if recovered:
        problems.insert(
            0,
            Problem(
                code="recovered",
                question=None,
                message="the form's fields were gone (printed or converted); answers were "
                "read from the page layout — check them by hand",
            ),
        )
    for note in raw.notes:
        problems.append(Problem(code="reader_note", question=None, message=note))
    status: Literal["ok", "recovered"] = "recovered" if recovered else "ok"
    entry.status = status
    entry.problems = problems
    response = Response(
        employee=ResponseEmployee(
            id=form.employee_id,
            name=form.name,
            department=form.department,
            manager=form.manager,
            email=form.email,
            meeting_date=form.meeting_date,
        ),
        form=ResponseForm(
            form_id=form.form_id,
            cycle=cycle,
            question_set=ResponseQuestionSet(id=qs.id, version=qs.version),
        ),
        answers=result.answers,
        agreements=result.agreements,
        previous_agreements=result.previous_agreements,
        problems=problems,
        source=ResponseSource(
            file=entry.file,
            sha256=entry.sha256 or "",
            format=raw.format,
            read_by=raw.read_by,
            saved_at=entry.saved_at,
            status=status,
        ),
    )
    return FileResult(entry, response, response.to_json())


# --- many files --------------------------------------------------------------------------------

_CTX: Context | None = None


def pool_context() -> multiprocessing.context.BaseContext:
    """Workers started from a small server process, not forked from this one: a fork would
    give each worker a copy of everything the main process holds by then."""
    return multiprocessing.get_context("forkserver")


def _init_worker(ctx: Context) -> None:
    global _CTX
    _CTX = ctx


def _read_chunk_in_worker(paths: list[Path]) -> list[FileResult]:
    assert _CTX is not None
    return [read_file(path, _CTX).shipped() for path in paths]


def read_files(
    paths: Iterable[Path],
    ctx: Context,
    *,
    total: int | None = None,
    workers: int | None = None,
    progress: Callable[[int], None] | None = None,
) -> Iterator[FileResult]:
    """Read every file, spread over the cores when there are many (``total``, when the paths
    are not a list); results in input order."""
    n_workers = workers if workers is not None else (os.cpu_count() or 1)
    if total is None:
        paths = list(paths)
        total = len(paths)
    if n_workers > 1 and total >= POOL_THRESHOLD:
        # At most a few chunks per worker under way: pool.map would queue every file at once
        # and keep each result the main process has not yet taken, memory in proportion to
        # the round whenever writing the responses is slower than reading the files.
        it = iter(paths)
        chunks = iter(lambda: list(itertools.islice(it, CHUNK)), [])
        pending: deque[Future[list[FileResult]]] = deque()
        with ProcessPoolExecutor(
            n_workers, mp_context=pool_context(), initializer=_init_worker, initargs=(ctx,)
        ) as pool:
            for chunk in itertools.chain(chunks, [None]):
                if chunk is not None:
                    pending.append(pool.submit(_read_chunk_in_worker, chunk))
                while pending and (chunk is None or len(pending) >= 4 * n_workers):
                    for result in pending.popleft().result():
                        if progress:
                            progress(1)
                        yield result
    else:
        for path in paths:
            result = read_file(path, ctx)
            if progress:
                progress(1)
            yield result


def _saved_key(entry: FileEntry) -> tuple[int, dt.datetime]:
    saved = entry.saved_at or dt.datetime.min.replace(tzinfo=dt.UTC)
    if saved.tzinfo is None:
        saved = saved.replace(tzinfo=dt.UTC)
    # A form read from its fields beats one recovered from the layout saved at the same time.
    return (1 if entry.status == "ok" else 0, saved)


def load_report(out: Path) -> Report | None:
    path = out / "report.json"
    if not path.is_file():
        return None
    try:
        return Report.model_validate(json.loads(path.read_text(encoding="utf-8")))
    except (ValueError, ValidationError) as exc:
        raise ConfigError(
            f"{path} from an earlier run is damaged; move it away and collect all files again"
        ) from exc


def response_path(out: Path, employee_id: str) -> Path:
    from musforms.files import id_slug

    return inside(out / "responses", f"{id_slug(employee_id)}.json")


def collect(
    inputs: Sequence[Path],
    forms_dir: Path,
    out: Path,
    *,
    roster: Path | None = None,
    key_file: Path | None = None,
    max_bytes: int = DEFAULT_MAX_BYTES,
    seconds: int = DEFAULT_SECONDS,
    workers: int | None = None,
    progress: Callable[[int], None] | None = None,
    on_total: Callable[[int], None] | None = None,
) -> CollectResult:
    """Collect the returned files into ``out``, merged with what earlier runs collected.

    Memory does not grow with the round: the issued forms and the report lines live in
    scratch databases (musforms.workdb), and responses are written one at a time.
    """
    cycle = manifest_head(forms_dir).cycle
    key = load_key(key_file or default_key_path())
    earlier = _earlier_cycle(out)
    if earlier is not None and earlier != cycle:
        raise ConfigError(
            f"{out} holds results for round {earlier}, not {cycle}: use a results folder per round"
        )
    with (
        open_context(key, forms_dir, roster=roster, max_bytes=max_bytes, seconds=seconds) as ctx,
        contextlib.closing(Ledger(ctx.index.path.with_name("ledger.sqlite"), ctx.index)) as ledger,
    ):
        if earlier is not None:
            _load_earlier(out, ledger)
        out_resolved = out.resolve()
        # The list of files waits on disk too: 100,000 paths are tens of MB as objects.
        total = ledger.add_inputs(p for p in iter_inputs(inputs) if not _is_within(p, out_resolved))
        if on_total:
            on_total(total)
        private_dir(out / "responses")
        reads = read_files(ledger.inputs(), ctx, total=total, workers=workers, progress=progress)
        for read in reads:
            _record(out, ledger, read)
        result = _summarise(out, cycle, ledger)
        _write_results(out, cycle, ledger)
    from musforms.outputs import write_outputs

    # One response at a time from disk, twice: a round's responses are never in memory together.
    result.outputs = write_outputs(out, collected(out), forms_dir, None, workers=workers)
    return result


def _record(out: Path, ledger: Ledger, result: FileResult) -> None:
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
        if current is None or _saved_key(entry) > _saved_key(current):
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


def _earlier_cycle(out: Path) -> str | None:
    """The round of the results already in ``out``, or None when there are none."""
    from musforms.jsonstream import head

    path = out / "report.json"
    if not path.is_file():
        return None
    try:
        cycle = head(path, "the collect report", skip=_REPORT_LISTS).get("cycle")
    except ConfigError as exc:
        raise _damaged_report(path) from exc
    if not isinstance(cycle, str):
        raise _damaged_report(path)
    return cycle


def _load_earlier(out: Path, ledger: Ledger) -> None:
    """Earlier runs' report lines, one at a time, with the answers they put on record."""
    from musforms.jsonstream import items

    path = out / "report.json"
    try:
        for data in items(path, "files.item", "the collect report"):
            entry = FileEntry.model_validate(data)
            ledger.put(entry, this_run=False)
            if entry.status in USABLE and entry.form_id:
                ledger.set_winner(entry.form_id, entry.file)
    except (ConfigError, ValidationError) as exc:
        raise _damaged_report(path) from exc


def _damaged_report(path: Path) -> ConfigError:
    return ConfigError(
        f"{path} from an earlier run is damaged; move it away and collect all files again"
    )


def _summarise(out: Path, cycle: str, ledger: Ledger) -> CollectResult:
    missing_count, missing_first = 0, []
    for eid in ledger.missing():
        if missing_count < 20:
            missing_first.append(eid)
        missing_count += 1
    counts = ledger.run_counts()
    look = (*UNUSABLE, "recovered")
    return CollectResult(
        out,
        cycle,
        counts=counts,
        returned=sum(1 for _ in ledger.returned()),
        missing=missing_count,
        missing_first=missing_first,
        need_a_look=ledger.need_a_look(SHOWN),
        need_a_look_count=sum(counts.get(status, 0) for status in look),
        flagged=ledger.run_flagged(),
        strict_failures=ledger.strict_failures(),
    )


def _is_within(path: Path, folder: Path) -> bool:
    try:
        return path.resolve().is_relative_to(folder)
    except (OSError, RuntimeError):  # a link loop (RuntimeError before Python 3.13)
        return False


_REPORT_LISTS = ("files", "returned", "missing")


def _write_results(out: Path, cycle: str, ledger: Ledger) -> None:
    head = Report(cycle=cycle, collected_at=dt.datetime.now(dt.UTC).replace(microsecond=0))
    write_responses_json(out, ledger.returned())
    write_report_json(
        out, head, files=ledger.entries(), returned=ledger.returned(), missing=ledger.missing()
    )


def write_report_json(
    out: Path,
    report: Report,
    *,
    files: Iterable[dict[str, Any]] | None = None,
    returned: Iterable[str] | None = None,
    missing: Iterable[str] | None = None,
) -> None:
    """report.json, one item at a time: the whole text is never built in memory.

    The lists come from ``report`` unless given as iterables (``files`` as the entries'
    JSON data). The same text ``json.dumps(report.model_dump(...), indent=2)`` would give.
    """
    lists: dict[str, Iterable[Any]] = {
        "files": files
        if files is not None
        else (e.model_dump(mode="json", exclude_none=True) for e in report.files),
        "returned": returned if returned is not None else report.returned,
        "missing": missing if missing is not None else report.missing,
    }
    head = report.model_dump(mode="json", by_alias=True, exclude_none=True, exclude=set(lists))
    with atomic_writer(out / "report.json") as tmp, tmp.open("w", encoding="utf-8") as fh:
        fh.write("{")
        first = True
        for name, info in Report.model_fields.items():
            key = info.alias or name
            if name in lists:
                fh.write(("\n" if first else ",\n") + f"  {json.dumps(key)}: [")
                empty = True
                for item in lists[name]:
                    fh.write(("\n" if empty else ",\n") + "    " + _dumps(item, 2))
                    empty = False
                fh.write("]" if empty else "\n  ]")
            elif key in head:
                fh.write(
                    ("\n" if first else ",\n") + f"  {json.dumps(key)}: {_dumps(head[key], 1)}"
                )
            else:
                continue
            first = False
        fh.write("\n}\n")


def _dumps(value: object, level: int) -> str:
    # json.dumps escapes line breaks inside strings, so every "\n" is between items.
    text = json.dumps(value, ensure_ascii=False, indent=2)
    return text.replace("\n", "\n" + "  " * level)


def write_responses_json(out: Path, employee_ids: Iterable[str]) -> None:
    """responses.json, one response at a time: a round of 50,000 never sits in memory whole.

    The same text ``json.dumps(list, indent=2)`` would give.
    """
    with atomic_writer(out / "responses.json") as tmp, tmp.open("w", encoding="utf-8") as fh:
        fh.write("[")
        first = True
        for response in _iter_responses(out, employee_ids):
            data = response.model_dump(mode="json", by_alias=True)
            fh.write("\n" if first else ",\n")
            fh.write(textwrap.indent(json.dumps(data, ensure_ascii=False, indent=2), "  "))
            first = False
        fh.write("]\n" if first else "\n]\n")


def _iter_responses(out: Path, employee_ids: Iterable[str]) -> Iterator[Response]:
    for eid in employee_ids:
        path = response_path(out, eid)
        if path.is_file():
            data: Any = json.loads(path.read_text(encoding="utf-8"))
            yield Response.model_validate(data)


def _load_responses(out: Path, employee_ids: Iterable[str]) -> list[Response]:
    return list(_iter_responses(out, employee_ids))


def iter_responses(out: Path) -> Iterator[Response]:
    """Every collected response in a results folder, in employee order, one at a time: a
    round's responses never sit in memory together."""
    from musforms.jsonstream import items

    path = out / "report.json"
    if not path.is_file():
        raise ConfigError(
            f"{out} holds no collected results (no report.json): run 'musforms collect' first"
        )
    return _iter_responses(out, items(path, "returned.item", "the collect report"))


def collected(out: Path) -> Responses:
    """Every collected response in a results folder, to be gone through as often as needed,
    each time one at a time from disk."""
    iter_responses(out)  # no results: says so now
    return Responses(lambda: iter_responses(out))


def load_responses(out: Path) -> list[Response]:
    """Every collected response in a results folder, in employee order."""
    report = load_report(out)
    if report is None:
        raise ConfigError(
            f"{out} holds no collected results (no report.json): run 'musforms collect' first"
        )
    return _load_responses(out, report.returned)
