"""Roster × question set → one personalised PDF and Word form per employee, and a manifest.

Layout work is done once per (question set, language) in each worker process; each employee
then costs only their personal values. Forms are independent, so a process pool spreads them
over the cores; the output does not depend on how many workers ran.

Memory stays the same for 500 employees or 50,000: the roster, last round's agreements and
each issued form's manifest entry wait in a SQLite file in a private temporary folder
(see :class:`_Spool`) rather than in lists, and manifest.json is written from there one form
at a time.

A form is issued whole or not at all, whatever stops the run (a full disk, Ctrl-C, a kill):
its files are written under a hidden name first (``.<name>.<mark>.pending``, the mark a
digest of the form's manifest entry), manifest.json is written with every form of the run,
and only then does each file get its own name. A run that stopped before that removes its
files again; one killed leaves them, and the next run settles them first: a file whose
entry manifest.json holds (the same mark) gets its name, any other is removed, and is
written again if its employee is on the roster. Either way collect never meets a form that
manifest.json does not list.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import errno
import hashlib
import json
import os
import re
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from pydantic import TypeAdapter

from musforms import formats as registry
from musforms.errors import ConfigError
from musforms.files import (
    id_slug,
    inside,
    private_folders,
    remove_leftovers,
    scratch_space,
    slug,
)
from musforms.formats import FormWriter
from musforms.formdata import make_form_data, question_set_digest
from musforms.i18n import _, ngettext
from musforms.identity import default_key_path, load_key
from musforms.lock import folder_lock
from musforms.manifest import (
    ARCHIVE_DIR,
    MANIFEST,
    Manifest,
    ManifestForm,
    ManifestQuestionSet,
    archive_question_set,
    form_entry,
    iter_manifest_forms,
    manifest_head,
    save_organisation,
    write_manifest,
)
from musforms.models import (
    Agreement,
    Employee,
    FormKind,
    Organisation,
    PreviousAgreement,
    QuestionSet,
)
from musforms.pool import Task, ordered_map
from musforms.scratch import connect, pages
from musforms.written import Stopped, tell

# Below this many forms a process pool costs more than it saves.
POOL_THRESHOLD = 24
CHUNK = 16

# A roster row on its way to be rendered: the employee and their carried agreements, as JSON,
# and for a check-in the preparation form it follows up.
Item = tuple[str, str | None, str | None]
# A rendered form on its way back: the employee id and the form's manifest entry.
Issued = tuple[str, str]
_AGREEMENTS = TypeAdapter(list[PreviousAgreement])


@dataclass(frozen=True)
class Job:
    """What every worker needs to render forms; sent once per worker."""

    question_set: QuestionSet
    qs_digest: str
    organisation: Organisation
    key: bytes
    cycle: str
    out: Path
    formats: tuple[str, ...]
    lang: Literal["da", "en"] | None
    template: Path | None
    created: dt.datetime  # one creation date for every file of the run
    kind: FormKind = "preparation"


@dataclass
class GenerateResult:
    out: Path
    count: int = 0  # employees given a form this run
    formats: tuple[str, ...] = ()
    key_path: Path | None = None
    key_created: bool = False
    warnings: list[str] = field(default_factory=list)  # for the HR officer: loose modes
    # Files an interrupted run had left unfinished: completed now (given their names, or
    # written again), or removed (never issued, and no longer on the roster).
    completed: int = 0
    completed_first: list[str] = field(default_factory=list)
    removed: int = 0
    removed_first: list[str] = field(default_factory=list)
    # The agreements put into the forms: from last round's results (--previous), or those
    # the check-ins ask about (--followup); how many had their status from a check-in.
    carried: int = 0
    carried_from_checkins: int = 0
    # With --previous: employees whose agreements came from their conclusion (agreed), and
    # those whose came from their proposals (no conclusion back).
    carried_agreed: int = 0
    carried_proposed: int = 0


SHOWN = 20  # file names shown of those an interrupted run left
_PENDING = re.compile(r"\.(?P<final>.+)\.(?P<mark>[0-9a-f]{12})\.pending")


def _mark(entry: str) -> str:
    """What ties a form's files to its manifest entry while they wait for their names."""
    return hashlib.sha256(entry.encode("utf-8")).hexdigest()[:12]


def pending_name(final: str, entry: str) -> str:
    """The hidden name a form's file has until manifest.json lists ``entry``."""
    return f".{final}.{_mark(entry)}.pending"


def form_basename(employee: Employee) -> str:
    """``1042-soeren-aeroe``: readable, safe, and unique by the employee id."""
    return f"{id_slug(employee.id, 20)}-{slug(employee.name, 40)}"


class _Renderer:
    """Writers per language, built once per process."""

    def __init__(self, job: Job) -> None:
        self.job = job
        self._writers: dict[tuple[str, str], FormWriter] = {}

    def writer(self, fmt: str, lang: Literal["da", "en"]) -> FormWriter:
        key = (fmt, lang)
        if key not in self._writers:
            job = self.job
            self._writers[key] = registry.get(fmt).new_writer(
                job.question_set,
                lang,
                job.organisation,
                template=job.template if fmt == "docx" else None,
                created=job.created,
            )
        return self._writers[key]

    def render(
        self, employee: Employee, previous: Sequence[Agreement], of_form: str | None = None
    ) -> ManifestForm:
        from musforms.files import write_bytes

        job = self.job
        form = make_form_data(
            job.question_set,
            employee,
            key=job.key,
            cycle=job.cycle,
            lang=job.lang,
            organisation=job.organisation,
            previous=previous,
            qs_digest=job.qs_digest,
            kind=job.kind,
            of_form=of_form,
        )
        base = form_basename(employee)
        files = {fmt: base + registry.get(fmt).suffix for fmt in job.formats}
        issued = ManifestForm(
            form_id=form.identity.form_id,
            employee_id=employee.id,
            files=files,
            employee=employee,
            question_set_digest=job.qs_digest,
            language=form.lang,
            previous_agreements=list(previous),
            of_form=of_form,
        )
        # Under a hidden name until manifest.json lists the form (see the module's doc).
        entry = form_entry(issued)
        for fmt, name in files.items():
            target = inside(job.out, name)
            if target.is_dir():  # found now, not once manifest.json lists the form
                raise IsADirectoryError(errno.EISDIR, os.strerror(errno.EISDIR), str(target))
            data = self.writer(fmt, form.lang).render(form)
            write_bytes(inside(job.out, pending_name(name, entry)), data)
        return issued

    def issue(self, item: Item) -> Issued:
        """Render one roster row's form(s); its manifest entry, already as manifest text."""
        # Parsed apart from pydantic's JSON reader, whose cache of strings would keep the
        # latest few thousand names and addresses.
        employee = Employee.model_validate(json.loads(item[0]))
        previous = _AGREEMENTS.validate_python(json.loads(item[1])) if item[1] else []
        return employee.id, form_entry(self.render(employee, previous, item[2]))


_WORKER: _Renderer | None = None


def _init_worker(job: Job) -> None:
    global _WORKER
    _WORKER = _Renderer(job)


def _render_chunk(items: list[Item]) -> list[Issued]:
    assert _WORKER is not None
    return [_WORKER.issue(item) for item in items]


_RENDERING: Task[Item, Issued, Job] = Task(_render_chunk, _init_worker, POOL_THRESHOLD)

_SCHEMA = """
CREATE TABLE roster (seq INTEGER PRIMARY KEY, id TEXT NOT NULL, employee TEXT NOT NULL);
CREATE TABLE carried (id TEXT PRIMARY KEY, agreements TEXT NOT NULL) WITHOUT ROWID;
CREATE TABLE of_form (id TEXT PRIMARY KEY, form_id TEXT NOT NULL) WITHOUT ROWID;
CREATE TABLE earlier (id TEXT PRIMARY KEY, pos INTEGER NOT NULL) WITHOUT ROWID;
CREATE TABLE issued (seq INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE, entry TEXT NOT NULL);
CREATE TABLE leftover (pending TEXT PRIMARY KEY, final TEXT NOT NULL, mark TEXT NOT NULL,
                       outcome TEXT) WITHOUT ROWID;
CREATE INDEX leftover_final ON leftover (final);
CREATE TABLE named (name TEXT PRIMARY KEY) WITHOUT ROWID;
"""


class _Spool:
    """What a run works through, in a SQLite file rather than in memory.

    ``roster``: the checked roster, in its order. ``carried``: last round's open agreements
    by employee. ``earlier``: where each employee stands in the manifest already in the
    folder. ``issued``: each form rendered this run, as its manifest entry, in roster order.
    ``leftover``: the files an interrupted run left under their hidden names, and what
    became of each (``completed`` or ``dropped``). ``named``: the files given their names
    this run.
    Held in lists and dicts, with the manifest built whole at the end, they grew the main
    process by about 8 MB per 1,000 employees (and each forked worker with it); here they
    cost a page cache of at most 2 MB. Nothing of it needs to outlive the run, so nothing is
    ever committed or synced to disk.
    """

    def __init__(self, path: Path) -> None:
        self._db = connect(path, _SCHEMA)

    def close(self) -> None:
        self._db.close()

    def add_roster(self, employees: Iterable[Employee]) -> int:
        """Keep the employees in order; how many there are."""
        count = 0
        for count, employee in enumerate(employees, 1):
            self._db.execute(
                "INSERT INTO roster VALUES (?, ?, ?)",
                (count, employee.id, employee.model_dump_json()),
            )
        return count

    def add_carried(self, carried: Iterable[tuple[str, list[PreviousAgreement]]]) -> int:
        """Keep each employee's carried agreements; how many there are in all."""
        count = 0
        for employee_id, agreements in carried:
            self._db.execute(
                "INSERT OR REPLACE INTO carried VALUES (?, ?)",
                (employee_id, _AGREEMENTS.dump_json(agreements).decode("utf-8")),
            )
            count += len(agreements)
        return count

    def add_of_form(self, employee_id: str, form_id: str) -> None:
        self._db.execute("INSERT OR REPLACE INTO of_form VALUES (?, ?)", (employee_id, form_id))

    def add_earlier(self, forms: Iterable[ManifestForm]) -> None:
        """Note where each employee's form stands in the earlier manifest; an employee listed
        twice (a hand-edited file) counts where they stand last, as ``Manifest.merge`` has it."""
        for pos, form in enumerate(forms):
            self._db.execute(
                "INSERT OR REPLACE INTO earlier VALUES (?, ?)", (form.employee_id, pos)
            )

    def items(self, size: int) -> Iterator[list[Item]]:
        """The roster, ``size`` rows at a time, each with the agreements carried to it."""
        last = 0
        while rows := self._db.execute(
            "SELECT r.seq, r.employee, c.agreements, o.form_id FROM roster r"
            " LEFT JOIN carried c ON c.id = r.id LEFT JOIN of_form o ON o.id = r.id"
            " WHERE r.seq > ? ORDER BY r.seq LIMIT ?",
            (last, size),
        ).fetchall():
            last = rows[-1][0]
            yield [(employee, agreements, of) for _, employee, agreements, of in rows]

    def add_issued(self, issued: Iterable[Issued]) -> None:
        self._db.executemany("INSERT INTO issued (id, entry) VALUES (?, ?)", issued)

    def reissued(self, employee_id: str, pos: int) -> str | None:
        """The entry issued this run in place of the earlier manifest's form ``pos``."""
        row = self._db.execute(
            "SELECT i.entry FROM issued i JOIN earlier e ON e.id = i.id"
            " WHERE i.id = ? AND e.pos = ?",
            (employee_id, pos),
        ).fetchone()
        return None if row is None else str(row[0])

    def issued_entries(self) -> Iterator[str]:
        """Every entry issued this run, in roster order."""
        for _seq, entry in pages(
            self._db, "SELECT seq, entry FROM issued WHERE seq > ? ORDER BY seq LIMIT ?"
        ):
            yield str(entry)

    def add_leftover(self, pending: str, final: str, mark: str) -> None:
        self._db.execute(
            "INSERT OR IGNORE INTO leftover VALUES (?, ?, ?, NULL)", (pending, final, mark)
        )

    def has_leftovers(self) -> bool:
        return self._db.execute("SELECT 1 FROM leftover LIMIT 1").fetchone() is not None

    def listed(self, final: str, mark: str) -> Iterator[str]:
        """The leftovers of ``final`` whose entry is the one manifest.json lists (``mark``),
        marked completed."""
        rows = self._db.execute(
            "SELECT pending FROM leftover WHERE final = ? AND mark = ?", (final, mark)
        ).fetchall()
        for (pending,) in rows:
            self._db.execute(
                "UPDATE leftover SET outcome = 'completed' WHERE pending = ?", (pending,)
            )
            yield str(pending)

    def unlisted(self) -> Iterator[str]:
        """The leftovers manifest.json does not list, marked dropped."""
        rows = self._db.execute("SELECT pending FROM leftover WHERE outcome IS NULL").fetchall()
        self._db.execute("UPDATE leftover SET outcome = 'dropped' WHERE outcome IS NULL")
        return (str(pending) for (pending,) in rows)

    def completed_before(self) -> int:
        query = "SELECT count(*) FROM leftover WHERE outcome = 'completed'"
        return int(self._db.execute(query).fetchone()[0])

    def name(self, final: str) -> None:
        self._db.execute("INSERT OR IGNORE INTO named VALUES (?)", (final,))

    def settled(self, completed: bool) -> tuple[int, list[str]]:
        """How many leftovers were completed (or removed), and the first few names."""
        done = (
            "outcome = 'completed' OR (outcome = 'dropped' AND final IN (SELECT name FROM named))"
        )
        where = done if completed else f"NOT ({done})"
        count = self._db.execute(f"SELECT count(DISTINCT final) FROM leftover WHERE {where}")  # noqa: S608
        first = self._db.execute(
            f"SELECT DISTINCT final FROM leftover WHERE {where} ORDER BY final LIMIT ?",  # noqa: S608
            (SHOWN,),
        )
        return int(count.fetchone()[0]), [str(name) for (name,) in first]

    def new_entries(self) -> Iterator[str]:
        """The entries of employees the earlier manifest did not list, in roster order."""
        for (entry,) in self._db.execute(
            "SELECT entry FROM issued WHERE id NOT IN (SELECT id FROM earlier) ORDER BY seq"
        ):
            yield entry


@contextlib.contextmanager
def _spool() -> Iterator[_Spool]:
    """A spool in a folder only this user can read (it holds the roster's personal data),
    removed when the run ends, whether it succeeded or not."""
    from musforms.files import scratch_folder

    with scratch_folder() as folder:
        spool = _Spool(folder / "spool.sqlite")
        try:
            yield spool
        finally:
            spool.close()


def generate(
    questions: Path,
    roster: Path,
    out: Path,
    cycle: str,
    *,
    formats: Sequence[str] | None = None,
    lang: Literal["da", "en"] | None = None,
    settings: Path | None = None,
    key_file: Path | None = None,
    previous: Path | None = None,
    template: Path | None = None,
    workers: int | None = None,
    progress: Callable[[int], None] | None = None,
) -> GenerateResult:
    """Write every employee's form(s) into ``out`` and merge them into its manifest.json."""
    from musforms.previous import Tally, iter_open_agreements
    from musforms.questionset import load_question_set
    from musforms.roster import Checks, Lines, check_rows, iter_rows, organisation_problem
    from musforms.settings import find_settings, load_settings

    formats = _formats(formats)
    qs = load_question_set(questions)
    organisation = load_settings(settings, near=questions)
    told = Lines(roster)
    placeholder = organisation_problem(
        organisation.name, str(settings or find_settings(questions) or questions)
    )
    tally = Tally()
    with scratch_space(out, sweep=False), _spool() as spool:
        checked = check_rows(roster, iter_rows(roster, told), Checks(dt.date.today()), told)
        count = spool.add_roster(row.employee for row in checked)
        if not count:
            raise ConfigError(_("{roster} lists no employees").format(roster=roster))
        basis = Counter[str]()
        if previous:
            spool.add_carried(iter_open_agreements(previous, basis, tally))
        warnings = [placeholder, *told.all()] if placeholder else told.all()
        job = _Setup(qs, questions, organisation, out, cycle, formats, lang, template, key_file)
        result = _run(job, spool, count, warnings, workers, progress)
    result.carried, result.carried_from_checkins = tally.carried, tally.from_checkins
    result.carried_agreed, result.carried_proposed = basis["agreed"], basis["proposed"]
    return result


def generate_followup(
    results: Path,
    out: Path,
    *,
    questions: Path | None = None,
    formats: Sequence[str] | None = None,
    lang: Literal["da", "en"] | None = None,
    settings: Path | None = None,
    key_file: Path | None = None,
    template: Path | None = None,
    workers: int | None = None,
    progress: Callable[[int], None] | None = None,
) -> GenerateResult:
    """Write a check-in form for every employee of the round collected in ``results`` who has
    an agreement still open: each agreement prefilled and signed, with a status to choose and
    a comment (the built-in set ``opfoelgning`` unless ``questions`` says another). The forms
    and their manifest.json go into ``out``, a forms folder of its own."""
    from musforms.outputs import round_organisation
    from musforms.previous import Tally, iter_checkin_agreements
    from musforms.questionset import CHECKIN_SET, builtin_sets, load_question_set
    from musforms.report import earlier_cycle
    from musforms.settings import load_settings

    formats = _formats(formats)
    questions = questions or builtin_sets()[CHECKIN_SET]
    qs = load_question_set(questions)
    cycle = earlier_cycle(results)
    if cycle is None:
        raise ConfigError(
            _(
                "{results} holds no collected results (no report.json): give --followup the "
                "results folder collect wrote the round to, e.g. results/2026"
            ).format(results=results)
        )
    kept = round_organisation(results)
    if settings is not None or kept is None:
        organisation = load_settings(settings, near=questions)
    else:
        organisation = kept
    tally = Tally()
    with scratch_space(out, sweep=False), _spool() as spool:

        def employees() -> Iterator[Employee]:
            for employee, of_form, agreements in iter_checkin_agreements(results, tally):
                spool.add_carried([(employee.id, agreements)])
                spool.add_of_form(employee.id, of_form)
                yield employee

        count = spool.add_roster(employees())
        if not count:
            raise ConfigError(
                _(
                    "{results} holds no open agreements to follow up: no check-in form was written"
                ).format(results=results)
            )
        job = _Setup(
            qs, questions, organisation, out, cycle, formats, lang, template, key_file, "checkin"
        )
        result = _run(job, spool, count, [], workers, progress)
    result.carried, result.carried_from_checkins = tally.carried, tally.from_checkins
    return result


@dataclass(frozen=True)
class _Setup:
    """What a run of generate issues: which forms, for which round, into which folder."""

    qs: QuestionSet
    questions: Path
    organisation: Organisation
    out: Path
    cycle: str
    formats: tuple[str, ...]
    lang: Literal["da", "en"] | None
    template: Path | None
    key_file: Path | None
    kind: FormKind = "preparation"


def _run(
    setup: _Setup,
    spool: _Spool,
    count: int,
    warnings: list[str],
    workers: int | None,
    progress: Callable[[int], None] | None,
) -> GenerateResult:
    """Issue the forms of the employees in ``spool`` (the key, the lock, the forms, the
    manifest, the names), as the module's doc says."""
    out, cycle, qs, questions = setup.out, setup.cycle, setup.qs, setup.questions
    with contextlib.ExitStack() as held:
        key_path = setup.key_file or default_key_path()
        if key_path.resolve().is_relative_to(out.resolve()):
            raise ConfigError(
                _(
                    "the signing key {key_path} would sit among the forms in {out}: "
                    "keep it elsewhere"
                ).format(key_path=key_path, out=out)
            )
        key_created = not key_path.exists()
        key = load_key(key_path, create=True, warn=warnings.append)

        digest = question_set_digest(qs)
        # Made and held only once the roster and key are good: a refused run leaves no folder.
        held.enter_context(folder_lock(out, "generate"))
        remove_leftovers(out)  # what killed runs left; this one's spool is held, and stays
        earlier = _earlier_manifest(out, cycle, spool, setup.kind)
        warnings += private_folders(out, ARCHIVE_DIR)
        _settle_leftovers(out, spool, earlier is not None)
        template = setup.template or _template_near(questions)
        job = Job(
            qs, digest, setup.organisation, key, cycle, out, setup.formats, setup.lang,
            template, run_time(), setup.kind,
        )  # fmt: skip
        try:
            _issue(job, spool, count, workers, progress)
            archive_question_set(out, questions, digest, qs)
            save_organisation(out, setup.organisation)
            issued_with = ManifestQuestionSet(id=qs.id, version=qs.version, digest=digest)
            kind = None if setup.kind == "preparation" else setup.kind
            head = earlier or Manifest(cycle=cycle, kind=kind, question_set=issued_with)
            head.question_set = issued_with
            write_manifest(out, head, _entries(out, spool, earlier is not None))
            _sync(out)
        except BaseException as exc:
            _remove_pending(out)  # not issued: this run's files are removed again
            tell(exc, _not_issued(out, spool))
            raise
        try:
            _give_names(out, spool)
        except BaseException as exc:
            tell(exc, _not_named(out, count))
            raise
        result = GenerateResult(out, count, setup.formats, key_path, key_created, warnings)
        result.completed, result.completed_first = spool.settled(completed=True)
        result.removed, result.removed_first = spool.settled(completed=False)
    return result


def _settle_leftovers(out: Path, spool: _Spool, earlier: bool) -> None:
    """The files an interrupted run left under their hidden names: each whose entry
    manifest.json lists (the same mark) gets its own name now, the others are removed (and
    this run writes them again if their employees are on the roster)."""
    for name in _pending_files(out):
        match = _PENDING.fullmatch(name)
        assert match is not None
        spool.add_leftover(name, match["final"], match["mark"])
    if not spool.has_leftovers():
        return
    if earlier:
        for form in iter_manifest_forms(out):
            mark = _mark(form_entry(form))
            for final in form.files.values():
                for pending in spool.listed(final, mark):
                    os.replace(out / pending, inside(out, final))
    for pending in spool.unlisted():
        (out / pending).unlink(missing_ok=True)


def _pending_files(out: Path) -> Iterator[str]:
    """The names of the files in ``out`` that wait for their own names."""
    try:
        entries = list(os.scandir(out))
    except FileNotFoundError:
        return
    for entry in entries:
        if _PENDING.fullmatch(entry.name) and entry.is_file(follow_symlinks=False):
            yield entry.name


def _remove_pending(out: Path) -> None:
    for name in _pending_files(out):
        with contextlib.suppress(OSError):
            (out / name).unlink()


def _give_names(out: Path, spool: _Spool) -> None:
    """Each file of every form issued this run gets its own name, now that manifest.json
    lists the form."""
    track = spool.has_leftovers()
    folder = os.fspath(out)
    for entry in spool.issued_entries():
        files: dict[str, str] = json.loads(entry)["files"]
        for final in files.values():  # names the worker checked (files.inside)
            # Joined as text: a Path per name would keep every name in pathlib's cache.
            with contextlib.suppress(FileNotFoundError):  # named already
                os.replace(
                    os.path.join(folder, pending_name(final, entry)), os.path.join(folder, final)
                )
            if track:
                spool.name(final)


def _sync(folder: Path) -> None:
    """Make what was renamed in ``folder`` so far stay renamed, even after a power cut."""
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _not_issued(out: Path, spool: _Spool) -> Stopped:
    completed = spool.completed_before()
    if completed:
        said = _(
            "musforms generate stopped before it issued any form: manifest.json and the forms "
            "in {out} are as they were before this run (it did give their names to {completed} "
            "files of forms an interrupted run had issued); the forms it had begun are removed "
            "again."
        ).format(out=out, completed=completed)
    else:
        said = _(
            "musforms generate stopped before it issued any form: manifest.json and the forms "
            "in {out} are as they were before this run; the forms it had begun are removed "
            "again."
        ).format(out=out)
    return Stopped(said, changed=False, again=_("run the same generate again"))


def _not_named(out: Path, count: int) -> Stopped:
    said = ngettext(
        "musforms generate stopped part way: manifest.json in {out} lists the form of this "
        "run, but some of its files still wait under a hidden name.",
        "musforms generate stopped part way: manifest.json in {out} lists the {count} forms "
        "of this run, but some of their files still wait under a hidden name.",
        count,
    ).format(out=out, count=count)
    return Stopped(
        said,
        changed=True,
        again=_("run the same generate again: it gives them their names first"),
    )


def _earlier_manifest(
    out: Path, cycle: str, spool: _Spool, kind: FormKind = "preparation"
) -> Manifest | None:
    """The round and question set of the manifest already in ``out``, if any, with where each
    of its forms stands noted in the spool. Refuses a folder of another round, and reads
    every earlier form now, so a damaged manifest stops the run before any form is written."""
    if not (out / MANIFEST).exists():
        return None
    earlier = manifest_head(out)
    if earlier.cycle != cycle:
        raise ConfigError(
            _(
                "{out} holds forms for round {earlier}, not {cycle}: use a folder per round, "
                "e.g. forms/{cycle}"
            ).format(out=out, earlier=earlier.cycle, cycle=cycle)
        )
    if (earlier.kind or "preparation") != kind:
        raise ConfigError(
            _(
                "{out} holds other forms than these (preparation forms and check-ins go into "
                "folders of their own): use e.g. forms/{cycle}-opfoelgning for the check-ins"
            ).format(out=out, cycle=cycle)
        )
    spool.add_earlier(iter_manifest_forms(out))
    return earlier


def _issue(
    job: Job,
    spool: _Spool,
    count: int,
    workers: int | None,
    progress: Callable[[int], None] | None,
) -> None:
    """Render every form on the roster, keeping each one's manifest entry in the spool."""
    done = ordered_map(_RENDERING, job, spool.items(CHUNK), workers)
    try:
        for issued in done:
            spool.add_issued(issued)
            if progress:
                progress(len(issued))
    finally:  # whatever happens, no worker is still writing once this returns
        getattr(done, "close", lambda: None)()


def _formats(wanted: Sequence[str] | None) -> tuple[str, ...]:
    """The formats to write: those asked for, each one generate can write."""
    can = [f.name for f in registry.writable()]
    if wanted is None:
        return tuple(can)
    bad = [f for f in wanted if f not in can]
    if bad or not wanted:
        raise ConfigError(
            _("unknown format {value}: use {can} or {can2}").format(
                value=", ".join(bad) or "(none)", can=", ".join(can), can2=",".join(can)
            )
        )
    return tuple(dict.fromkeys(wanted))


def _entries(out: Path, spool: _Spool, earlier: bool) -> Iterator[str]:
    """The manifest's forms as ``Manifest.merge`` orders them: the earlier manifest's in its
    order, each replaced by the one issued this run for the same employee, if any; then those
    of employees it did not list, in roster order. Drops none."""
    if earlier:
        for pos, form in enumerate(iter_manifest_forms(out)):
            entry = spool.reissued(form.employee_id, pos)
            yield form_entry(form) if entry is None else entry
    yield from spool.new_entries()


def run_time() -> dt.datetime:
    """Now, or ``SOURCE_DATE_EPOCH`` when set, so a run can be repeated byte for byte."""
    epoch = os.environ.get("SOURCE_DATE_EPOCH", "").strip()
    if epoch.isdigit():
        return dt.datetime.fromtimestamp(int(epoch), dt.UTC)
    return dt.datetime.now(dt.UTC).replace(microsecond=0)


def _template_near(questions: Path) -> Path | None:
    """HR's own Word template: form_templates/form.docx beside the config folder, if any."""
    for folder in (questions.parent, questions.parent.parent):
        candidate = folder / "form_templates" / "form.docx"
        if candidate.is_file():
            return candidate
    return None
