"""Roster × question set → one personalised PDF and Word form per employee, and a manifest.

Layout work is done once per (question set, language) in each worker process; each employee
then costs only their personal values. Forms are independent, so a process pool spreads them
over the cores; the output does not depend on how many workers ran.
"""

from __future__ import annotations

import datetime as dt
import os
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from musforms.errors import ConfigError
from musforms.files import id_slug, inside, private_dir, slug
from musforms.formdata import make_form_data, question_set_digest
from musforms.identity import default_key_path, load_key
from musforms.manifest import (
    Manifest,
    ManifestForm,
    ManifestQuestionSet,
    archive_question_set,
    load_manifest,
    save_manifest,
    save_organisation,
)
from musforms.models import Agreement, Employee, Organisation, QuestionSet

FORMATS = ("pdf", "docx")
Format = Literal["pdf", "docx"]
# Below this many forms a process pool costs more than it saves.
POOL_THRESHOLD = 24
CHUNK = 16


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


@dataclass
class GenerateResult:
    out: Path
    forms: list[ManifestForm] = field(default_factory=list)
    formats: tuple[str, ...] = FORMATS
    key_path: Path | None = None
    key_created: bool = False


def form_basename(employee: Employee) -> str:
    """``1042-soeren-aeroe``: readable, safe, and unique by the employee id."""
    return f"{id_slug(employee.id, 20)}-{slug(employee.name, 40)}"


class _Renderer:
    """Writers per language, built once per process."""

    def __init__(self, job: Job) -> None:
        self.job = job
        self._writers: dict[tuple[str, str], Any] = {}

    def writer(self, fmt: str, lang: Literal["da", "en"]) -> Any:
        key = (fmt, lang)
        if key not in self._writers:
            job = self.job
            if fmt == "pdf":
                from musforms.pdf.writer import PdfFormWriter

                self._writers[key] = PdfFormWriter(
                    job.question_set, lang, job.organisation, created=job.created
                )
            else:
                from musforms.docx.writer import DocxFormWriter

                self._writers[key] = DocxFormWriter(
                    job.question_set,
                    lang,
                    job.organisation,
                    template=job.template,
                    created=job.created,
                )
        return self._writers[key]

    def render(self, employee: Employee, previous: Sequence[Agreement]) -> ManifestForm:
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
        )
        base = form_basename(employee)
        files: dict[str, str] = {}
        for fmt in job.formats:
            name = f"{base}.{fmt}"
            write_bytes(inside(job.out, name), self.writer(fmt, form.lang).render(form))
            files[fmt] = name
        return ManifestForm(
            form_id=form.identity.form_id,
            employee_id=employee.id,
            files=files,
            employee=employee,
            question_set_digest=job.qs_digest,
            language=form.lang,
            previous_agreements=list(previous),
        )


_WORKER: _Renderer | None = None


def _init_worker(job: Job) -> None:
    global _WORKER
    _WORKER = _Renderer(job)


def _render_chunk(items: list[tuple[Employee, list[Agreement]]]) -> list[ManifestForm]:
    assert _WORKER is not None
    return [_WORKER.render(e, p) for e, p in items]


def _in_order(
    pool: ProcessPoolExecutor, chunks: Iterable[list[Any]], window: int
) -> Iterator[list[ManifestForm]]:
    """Each chunk's forms, in roster order, with at most ``window`` chunks under way.

    ``pool.map`` would queue the whole roster at once and keep every result until it is
    read: memory in proportion to the round.
    """
    pending: deque[Future[list[ManifestForm]]] = deque()
    for chunk in chunks:
        pending.append(pool.submit(_render_chunk, chunk))
        if len(pending) >= window:
            yield pending.popleft().result()
    while pending:
        yield pending.popleft().result()


def _chunks(items: Sequence[Any], size: int) -> Iterable[list[Any]]:
    for i in range(0, len(items), size):
        yield list(items[i : i + size])


def generate(
    questions: Path,
    roster: Path,
    out: Path,
    cycle: str,
    *,
    formats: Sequence[str] = FORMATS,
    lang: Literal["da", "en"] | None = None,
    settings: Path | None = None,
    key_file: Path | None = None,
    previous: Path | None = None,
    template: Path | None = None,
    workers: int | None = None,
    progress: Callable[[int], None] | None = None,
) -> GenerateResult:
    """Write every employee's form(s) into ``out`` and merge them into its manifest.json."""
    from musforms.questionset import load_question_set
    from musforms.roster import load_roster
    from musforms.settings import load_settings

    bad = [f for f in formats if f not in FORMATS]
    if bad or not formats:
        raise ConfigError(f"unknown format {', '.join(bad) or '(none)'}: use pdf, docx or pdf,docx")
    qs = load_question_set(questions)
    organisation = load_settings(settings, near=questions)
    employees = load_roster(roster)
    if not employees:
        raise ConfigError(f"{roster} lists no employees")
    carried = load_previous_agreements(previous) if previous else {}

    key_path = key_file or default_key_path()
    out_resolved = out.resolve()
    if key_path.resolve().is_relative_to(out_resolved):
        raise ConfigError(
            f"the signing key {key_path} would sit among the forms in {out}: keep it elsewhere"
        )
    key_created = not key_path.exists()
    key = load_key(key_path, create=True)

    digest = question_set_digest(qs)
    existing: Manifest | None = None
    if (out / "manifest.json").exists():
        existing = load_manifest(out)
        if existing.cycle != cycle:
            raise ConfigError(
                f"{out} holds forms for round {existing.cycle}, not {cycle}: "
                "use a folder per round, e.g. forms/" + cycle
            )
    private_dir(out)
    template = template or _template_near(questions)
    job = Job(
        qs, digest, organisation, key, cycle, out, tuple(formats), lang, template, _run_time()
    )
    items = [(e, carried.get(e.id, [])) for e in employees]

    forms: list[ManifestForm] = []
    n_workers = workers if workers is not None else (os.cpu_count() or 1)
    if n_workers > 1 and len(items) >= POOL_THRESHOLD:
        with ProcessPoolExecutor(n_workers, initializer=_init_worker, initargs=(job,)) as pool:
            for chunk in _in_order(pool, _chunks(items, CHUNK), 4 * n_workers):
                forms.extend(chunk)
                if progress:
                    progress(len(chunk))
    else:
        renderer = _Renderer(job)
        for employee, prev in items:
            forms.append(renderer.render(employee, prev))
            if progress:
                progress(1)

    archive_question_set(out, questions, digest)
    save_organisation(out, organisation)
    manifest = existing or Manifest(
        cycle=cycle,
        question_set=ManifestQuestionSet(id=qs.id, version=qs.version, digest=digest),
    )
    manifest.question_set = ManifestQuestionSet(id=qs.id, version=qs.version, digest=digest)
    manifest.merge(forms)
    save_manifest(out, manifest)
    return GenerateResult(out, forms, tuple(formats), key_path, key_created)


def _run_time() -> dt.datetime:
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


def load_previous_agreements(results: Path) -> dict[str, list[Agreement]]:
    """Last round's open agreements per employee, from a collect results folder."""
    from musforms.previous import open_agreements

    return open_agreements(results)
