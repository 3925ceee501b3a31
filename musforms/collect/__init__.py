"""Returned files → one validated response per employee, and a report of every file.

Each file is identified by the identity embedded in it (never by its name), verified against
the signing key, and interpreted against the question set it was issued with. A problem in
one file is recorded on that file and collection goes on. Results are merged with those of
earlier runs, so collecting again as more forms arrive never loses anything.

The jobs, one module each: :mod:`.read` finds and reads the files (by the format registry,
within the limits, over the cores); :mod:`.identify` verifies and interprets one file;
:mod:`.merge` decides which return of a form is on record. report.json lives in
musforms.report, the results folder in musforms.results.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import os
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from musforms.collect.cache import cache_key, cache_writer, open_cache
from musforms.collect.context import Context, FileResult, open_context
from musforms.collect.merge import load_earlier, record, settle_conflicts
from musforms.collect.read import (
    POOL_THRESHOLD,
    display_name,
    expand,
    iter_inputs,
    read_file,
    read_files,
    time_limit,
)
from musforms.errors import ConfigError, KeyFileError
from musforms.files import private_dir, private_folders, scratch_space
from musforms.i18n import Nn_, _
from musforms.identity import KEY_ENV, default_key_path, load_key, make_form_id
from musforms.limits import DEFAULT_LIMITS, Limits
from musforms.lock import folder_lock
from musforms.manifest import Manifest, iter_manifest_forms, manifest_head
from musforms.models import FormKind
from musforms.report import (
    NEEDS_A_LOOK,
    REPORT,
    UNUSABLE,
    USABLE,
    FileEntry,
    Report,
    earlier_cycle,
    load_report,
    write_report_json,
)
from musforms.results import (
    CONCLUSIONS,
    RESPONSES,
    RESPONSES_JSON,
    collected,
    iter_responses,
    load_responses,
    response_path,
    write_responses_json,
)
from musforms.wording import counted
from musforms.workdb import Ledger
from musforms.written import Written

if TYPE_CHECKING:
    from musforms.outputs import OutputPaths

__all__ = [
    "POOL_THRESHOLD",
    "USABLE",
    "CollectResult",
    "Context",
    "FileEntry",
    "FileResult",
    "Report",
    "collect",
    "collected",
    "display_name",
    "iter_inputs",
    "iter_responses",
    "load_report",
    "load_responses",
    "open_context",
    "read_file",
    "read_files",
    "response_path",
    "time_limit",
    "write_report_json",
    "write_responses_json",
]


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
    # Of those, the ones whose note in report.json's missing_notes says why ("returned blank").
    missing_notes: dict[str, str] = field(default_factory=dict)
    # Forms of which this run found returns with different answers: how many, and for the
    # first SHOWN the file that counts and the superseded ones.
    conflicts: list[tuple[str, list[str]]] = field(default_factory=list)
    conflict_count: int = 0
    need_a_look: list[FileEntry] = field(default_factory=list)  # this run's, first SHOWN
    need_a_look_count: int = 0
    # This run's mail attachments with a hint for HR (a sender who is not the employee).
    hints: list[FileEntry] = field(default_factory=list)  # the first SHOWN
    hint_count: int = 0
    flagged: int = 0  # this run's usable files with answers to check
    # The first SHOWN of them, by employee, each with the employee's name.
    to_check: list[tuple[FileEntry, str | None]] = field(default_factory=list)
    strict_failures: int = 0
    # This run's lines whose file or message was not read again: what it gives was in the
    # cache of what earlier runs read (musforms.collect.cache).
    from_cache: int = 0
    outputs: OutputPaths | None = None  # minutes, follow-up list, calendar
    warnings: list[str] = field(default_factory=list)  # for the HR officer: loose modes
    # The conclusion forms: how many are issued (written this run), and the returned ones
    # collected (their own report in conclusions/report.json), if any was issued.
    conclusions_listed: int = 0
    conclusions_written: int = 0
    conclusions: CollectResult | None = None

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


def collect(
    inputs: Sequence[Path | str],
    forms_dir: Path,
    out: Path,
    *,
    roster: Path | None = None,
    key_file: Path | None = None,
    limits: Limits = DEFAULT_LIMITS,
    workers: int | None = None,
    progress: Callable[[int], None] | None = None,
    on_total: Callable[[int], None] | None = None,
    full: bool = False,
    conclusion_formats: Sequence[str] | None = ("docx",),
    conclusion_questions: Path | None = None,
) -> CollectResult:
    """Collect the returned files into ``out``, merged with what earlier runs collected.

    Returned conclusion forms among them are collected into ``out/conclusions`` (see
    musforms.conclusions), and every employee whose preparation is on record gets a
    conclusion form there, in ``conclusion_formats`` (None: none issued).

    ``inputs`` are files and folders (mail files, mbox files and Maildir folders among
    them) and IMAP folders as ``imaps://USER@HOST/FOLDER`` (musforms.mail.imap).

    What earlier runs read is not read again (musforms.collect.cache: files by their
    SHA-256, mail by its Message-ID), with the same results as reading it; ``full`` reads
    everything again.

    Memory does not grow with the round: the issued forms and the report lines live in
    scratch databases (musforms.workdb), and responses are written one at a time.
    """
    from musforms.mail.imap import is_imap_url, parse_url

    for given in inputs:
        if isinstance(given, str) and is_imap_url(given):
            parse_url(given)  # a mistyped address is said before anything is read
    head = manifest_head(forms_dir)
    cycle = head.cycle
    warnings: list[str] = []
    key_path = key_file or default_key_path()
    key = load_key(key_path, warn=warnings.append)
    if _made_with(key, forms_dir, head) is False:
        # Said before a file is read: every signed form would fail, one by one.
        raise _wrong_key(key_path, out, forms_dir=forms_dir)
    if head.kind == "checkin":
        return _collect_checkins(
            inputs, forms_dir, out, roster, (cycle, key_path, key, warnings), limits, workers,
            progress, on_total, full,
        )  # fmt: skip
    # Held only once the forms folder and the key are good: a refused run makes no folder.
    with folder_lock(out, "collect"):
        from musforms import outputs

        written = _watch(out)
        result, others = _collect(
            inputs, forms_dir, out, roster, (cycle, key_path, key, warnings), limits, workers,
            progress, on_total, full, written=written,
        )  # fmt: skip
        with written.told():
            _conclude(
                result, others, inputs, forms_dir, out, (cycle, key_path, key, warnings),
                limits, workers, full, conclusion_formats, conclusion_questions, written,
            )  # fmt: skip
            # One response at a time from disk: a round's responses are never in memory.
            result.outputs = outputs.write_outputs(
                out, collected(out), forms_dir, None, workers=workers, written=written
            )
        result.warnings += [w for w in result.outputs.warnings if w not in result.warnings]
        return result


def _collect_checkins(
    inputs: Sequence[Path | str],
    forms_dir: Path,
    out: Path,
    roster: Path | None,
    keyed: tuple[str, Path, bytes, list[str]],
    limits: Limits,
    workers: int | None,
    progress: Callable[[int], None] | None,
    on_total: Callable[[int], None] | None,
    full: bool,
) -> CollectResult:
    """Returned check-ins, collected like any form into the round's ``checkins/`` folder;
    then the round's follow-up list and calendar with their statuses. The round's own
    responses and minutes stay as they are."""
    from musforms.outputs.checkins import checkins_folder

    cycle = keyed[0]
    earlier = earlier_cycle(out)
    if earlier != cycle:
        held = (
            _("holds results for round {earlier}").format(earlier=earlier)
            if earlier is not None
            else _("holds no collected results")
        )
        raise ConfigError(
            _(
                "the check-ins in {forms_dir} are of round {cycle}, but {out} {held}: give "
                "--out the results folder of round {cycle}, where its preparation forms "
                "were collected"
            ).format(forms_dir=forms_dir, cycle=cycle, out=out, held=held)
        )
    # Those expected are those given a check-in: the roster of the conversations named
    # everyone (also those with no open agreement, or new since), and says nothing more here.
    del roster
    with folder_lock(out, "collect"), folder_lock(checkins_folder(out), "collect"):
        result, _others = _collect(
            inputs, forms_dir, checkins_folder(out), None, keyed, limits, workers, progress,
            on_total, full, kind="checkin",
        )  # fmt: skip
        result.outputs = _round_followup(out, checkins_folder(out))
        return result


def _watch(out: Path) -> Written:
    """What a collect into ``out`` writes, as it stands before the run (musforms.written)."""
    from musforms import outputs

    written = Written(out, "musforms collect", _("run the same collect again, with the same files"))
    written.kind(
        "responses",
        RESPONSES,
        Nn_(
            "the answers of {n} returned form (in responses/)",
            "the answers of {n} returned forms (in responses/)",
        ),
    )
    written.files(RESPONSES_JSON, REPORT)
    written.kind(
        "conclusions",
        CONCLUSIONS,
        Nn_("{n} conclusion form (in conclusions/)", "{n} conclusion forms (in conclusions/)"),
    )
    outputs.watch(written)
    return written


def _conclude(
    result: CollectResult,
    others: list[str] | None,
    inputs: Sequence[Path | str],
    forms_dir: Path,
    out: Path,
    keyed: tuple[str, Path, bytes, list[str]],
    limits: Limits,
    workers: int | None,
    full: bool,
    formats: Sequence[str] | None,
    questions: Path | None,
    written: Written,
) -> None:
    """Issue the conclusion forms of the preparations on record, and collect the returned
    conclusion forms this run met (``others``: the files they came in; None: look in every
    input) into ``out/conclusions``."""
    from musforms.conclusions import conclusions_dir, issue_conclusions
    from musforms.manifest import MANIFEST

    folder = conclusions_dir(out)
    if formats:
        issued = issue_conclusions(
            out, forms_dir, keyed[2], formats=formats, questions=questions, workers=workers,
            on_written=functools.partial(written.count, "conclusions"), cycle=keyed[0],
        )  # fmt: skip
        result.conclusions_listed, result.conclusions_written = issued.listed, issued.written
    if not (folder / MANIFEST).is_file():
        return
    given: Sequence[Path | str] = inputs if others is None else others
    if not given and not (folder / REPORT).is_file():
        return
    cycle, key_path, key, _warnings = keyed
    result.conclusions, _others = _collect(
        given, folder, folder, None, (cycle, key_path, key, []), limits, workers, None, None,
        full, kind="conclusion",
    )  # fmt: skip


def _collect(
    inputs: Sequence[Path | str],
    forms_dir: Path,
    out: Path,
    roster: Path | None,
    keyed: tuple[str, Path, bytes, list[str]],
    limits: Limits,
    workers: int | None,
    progress: Callable[[int], None] | None,
    on_total: Callable[[int], None] | None,
    full: bool = False,
    kind: FormKind = "preparation",
    written: Written | None = None,
) -> tuple[CollectResult, list[str] | None]:
    """One pass over the inputs for forms of ``kind``; the result, and the files of forms of
    another kind met (None when some came in mail: then every input is to be read again)."""
    cycle, key_path, key, warnings = keyed
    from musforms.conclusions import conclusions_dir
    from musforms.purge import finish_pending

    finish_pending(out)  # a purge killed part way is finished before anything is read
    earlier = earlier_cycle(out)
    if earlier is not None and earlier != cycle:
        raise ConfigError(
            _(
                "{out} holds results for round {earlier}, not {cycle}: use a "
                "results folder per round"
            ).format(out=out, earlier=earlier, cycle=cycle)
        )
    if written is None:
        written = _watch(out)
    digest = cache_key(key, forms_dir, roster, limits)
    with (
        scratch_space(out),
        written.told(),
        contextlib.closing(open_cache(out, digest, full=full)) as cache,
        cache_writer(digest, cache) as kept,
        open_context(
            key,
            forms_dir,
            roster=roster,
            limits=limits,
            cache=cache,
            kind=kind,
            elsewhere=[conclusions_dir(out)] if kind == "preparation" else [],
        ) as ctx,
        contextlib.closing(Ledger(ctx.index.path.with_name("ledger.sqlite"), ctx.index)) as ledger,
    ):
        if earlier is not None:
            load_earlier(out, ledger)
        out_resolved = out.resolve()
        from musforms.mail.imap import is_imap_url

        mailboxes = [i for i in inputs if isinstance(i, str) and is_imap_url(i)]
        paths = [Path(i) for i in inputs if not (isinstance(i, str) and is_imap_url(i))]
        # The list of files waits on disk too: 100,000 paths are tens of MB as objects.
        inside_out = _within(out_resolved)
        total = ledger.add_inputs(p for p in iter_inputs(paths) if not inside_out(p))
        if on_total:
            on_total(total)
        warnings += private_folders(out, RESPONSES)
        private_dir(out / RESPONSES)
        signed = Counter[bool]()
        from_cache = 0
        others: list[str] | None = []
        # Closed here however the loop ends: a reading left to the garbage collector would
        # stop its workers from whatever thread collects it, even the pool's own.
        with contextlib.closing(
            read_files(
                expand(ledger.inputs(), mailboxes, ctx), ctx, workers=workers, progress=progress
            )
        ) as reads:
            for read in reads:
                kept.add(read.rows)
                from_cache += read.cached
                if read.key_ok is not None:
                    signed[read.key_ok] += 1
                if read.elsewhere:
                    if read.entry.message is not None or others is None:
                        others = None
                    else:
                        others.append(read.entry.file)
                    continue
                if record(out, ledger, read, functools.partial(_read_again, ctx)):
                    written.count("responses")
        if signed[False] and not signed[True]:
            raise _wrong_key(key_path, out, count=signed[False])
        settle_conflicts(ledger)
        cache.close()
        kept.save(out)  # what was read, for the next run: whole, whatever happens next
        result = _summarise(out, cycle, ledger)
        result.warnings = warnings
        result.from_cache = from_cache
        _write_results(out, cycle, ledger)
    return result, others


def _round_followup(round_out: Path, checkins: Path) -> OutputPaths:
    """The round's follow-up list and calendar again, with the statuses of its check-ins; a
    note for each check-in whose employee the round has no answers of."""
    from musforms import outputs

    paths = outputs.rewrite_followup(round_out, collected(round_out))
    unknown = [
        eid for eid in ledger_returned(checkins) if not response_path(round_out, eid).is_file()
    ]
    if unknown:
        paths.notes.append(
            _(
                "{count} in {out} are of employees whose answers {round_out} does not hold "
                "(first: employee {first}): their statuses are kept, and reach the follow-up "
                "list once those preparation forms are collected into {round_out}"
            ).format(
                count=counted(len(unknown), "check-in", "check-ins"),
                out=checkins,
                round_out=round_out,
                first=unknown[0],
            )
        )
    return paths


def ledger_returned(out: Path) -> list[str]:
    """The employees whose forms are on record in ``out``, by report.json."""
    report = load_report(out)
    return list(report.returned) if report is not None else []


def _summarise(out: Path, cycle: str, ledger: Ledger) -> CollectResult:
    missing_count, missing_first = 0, []
    for eid in ledger.missing():
        if missing_count < 20:
            missing_first.append(eid)
        missing_count += 1
    shown = set(missing_first)
    notes = {eid: note for eid, note in ledger.missing_notes() if eid in shown}
    conflict_count, conflicts = ledger.conflicts(SHOWN)
    counts = ledger.run_counts()
    hint_count, hints = ledger.hints(SHOWN)
    return CollectResult(
        out,
        cycle,
        counts=counts,
        returned=sum(1 for _ in ledger.returned()),
        missing=missing_count,
        missing_first=missing_first,
        missing_notes=notes,
        conflicts=conflicts,
        conflict_count=conflict_count,
        need_a_look=ledger.need_a_look(SHOWN),
        need_a_look_count=sum(counts.get(status, 0) for status in NEEDS_A_LOOK),
        hints=hints,
        hint_count=hint_count,
        flagged=ledger.run_flagged(),
        to_check=ledger.flagged_first(SHOWN),
        strict_failures=ledger.strict_failures(),
    )


def _made_with(key: bytes, forms_dir: Path, head: Manifest) -> bool | None:
    """Whether the forms in ``forms_dir`` were generated with ``key``: a form id is an HMAC
    of the key (identity.make_form_id), so one form of the question set on record tells.
    None when no form of it is listed (nothing to tell by)."""
    qs = head.question_set
    told = None
    for form in iter_manifest_forms(forms_dir):
        if form.question_set_digest != qs.digest:
            continue  # issued with an earlier question set, perhaps of another id
        if make_form_id(key, head.cycle, form.employee_id, qs.id) == form.form_id:
            return True
        told = False
    return told


def _wrong_key(
    key_path: Path, out: Path, *, count: int = 0, forms_dir: Path | None = None
) -> KeyFileError:
    if forms_dir is not None:
        which = (
            f"the forms in {forms_dir} were made with another key, so not one signed form "
            "verifies with it"
        )
    else:
        forms = "the signed form read was" if count == 1 else f"all {count} signed forms read were"
        which = f"not one signed form verifies with it: {forms} made with another key (or altered)"
    return KeyFileError(
        _(
            "wrong signing key {key_path}: {which}. Nothing in {out} was "
            "changed. Collect again with the key the forms were generated "
            "with: --key-file FILE (or {key_env}=FILE)"
        ).format(key_path=key_path, which=which, out=out, key_env=KEY_ENV)
    )


def _read_again(ctx: Context, entry: FileEntry) -> str | None:
    """The response read once more from ``entry``'s file, when it is still there as it was
    (not a mail attachment: those are read with their message)."""
    if entry.message is not None:
        return None
    path = Path(entry.file)
    if not path.is_file():
        return None
    again = read_file(path, ctx)
    if again.entry.sha256 != entry.sha256 or again.entry.status not in USABLE:
        return None
    return again.text


def _within(folder: Path) -> Callable[[Path], bool]:
    """Whether a path, links followed, is inside ``folder``: a file that is not a link is
    where its folder (resolved once for all the files in it) is."""

    @functools.lru_cache(maxsize=256)
    def where(parent: Path) -> str:
        """Where a folder is, links followed: "inside" ``folder``, "beside" it (in its
        parent), or "outside"."""
        resolved = parent.resolve()
        if resolved.is_relative_to(folder):
            return "inside"
        return "beside" if resolved == folder.parent else "outside"

    def within(path: Path) -> bool:
        try:
            if path.name in ("", ".", "..") or os.path.islink(path):
                return path.resolve().is_relative_to(folder)
            # A plain name in a folder inside ``folder`` is inside it, as ``folder`` is.
            found = where(path.parent)
            return found == "inside" or (found == "beside" and path.name == folder.name)
        except (OSError, RuntimeError):  # a link loop (RuntimeError before Python 3.13)
            return False

    return within


def _write_results(out: Path, cycle: str, ledger: Ledger) -> None:
    head = Report(cycle=cycle, collected_at=dt.datetime.now(dt.UTC).replace(microsecond=0))
    write_responses_json(out, ledger.returned(), as_made=ledger.as_made)
    write_report_json(
        out,
        head,
        files=ledger.entries(),
        returned=ledger.returned(),
        missing=ledger.missing(),
        missing_notes=ledger.missing_notes(),
    )
