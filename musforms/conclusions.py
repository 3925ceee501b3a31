"""The conclusion forms collect issues: one per employee whose preparation came back.

Each is a form of the conclusion question set (built-in ``konklusion``, or HR's own) made by
the same writers as the preparation forms: the employee's preparation, as the minutes show
it, as a signed read-only part, and the agreements table filled in with the employee's
proposals (editable). They go into ``<results>/conclusions/`` with a manifest.json of their
own, so collect reads them back like any form, from the same folder of returned files.

A conclusion form is written again only when its employee's preparation on record is newer
than the form (or the form is missing): a form already mailed stays valid, since its signed
part is the preparation it shows.
"""

from __future__ import annotations

import datetime as dt
import itertools
import json
import sqlite3
import stat
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from pydantic import BaseModel, ConfigDict

from musforms import fieldnames as fn
from musforms import formats as registry
from musforms.files import inside, private_dir, write_bytes
from musforms.formdata import make_form_data, question_set_digest
from musforms.identity import make_form_id
from musforms.manifest import (
    MANIFEST,
    Manifest,
    ManifestForm,
    ManifestQuestionSet,
    archive_question_set,
    form_entry,
    iter_manifest_forms,
    manifest_entries,
    manifest_holds,
    save_organisation,
    write_manifest,
)
from musforms.models import Employee, Organisation, QuestionSet
from musforms.pool import Task, ordered_map
from musforms.response import Response, ResponseEmployee, ResponseForm
from musforms.results import CONCLUSIONS  # the folder in a results folder

if TYPE_CHECKING:
    from musforms.outputs.views import QuestionSets

DEFAULT_FORMATS: tuple[str, ...] = ("docx",)

# The word a conclusion form's file name ends with, in the form's language, so that the
# leader tells it from the minutes draft of the same employee (``1042-soeren-aeroe.docx``).
NAME_WORD = {"da": "konklusion", "en": "conclusion"}


def conclusions_dir(results: Path) -> Path:
    """Where a results folder keeps its conclusion forms and their collected answers."""
    return results / CONCLUSIONS


def conclusion_basename(employee: Employee, lang: str | None) -> str:
    """``1042-soeren-aeroe-konklusion``: the form's name, and the conclusion's word."""
    from musforms.generate import form_basename

    return f"{form_basename(employee)}-{NAME_WORD[_language(lang)]}"


def issued_conclusions(results: Path) -> dict[str, ManifestForm]:
    """The conclusion forms issued into ``results``, by employee id (none before any)."""
    return _earlier(conclusions_dir(results))


@dataclass
class Issued:
    """What issuing did: how many forms are listed, and how many were written this run."""

    folder: Path
    listed: int = 0
    written: int = 0


def conclusion_questions(questions: Path | None = None) -> tuple[Path, QuestionSet]:
    """The conclusion question set: ``questions``, else the built-in ``konklusion``."""
    from musforms.conclusion import BUILTIN
    from musforms.questionset import builtin_sets, load_question_set

    path = questions or builtin_sets()[BUILTIN]
    return path, load_question_set(path)


def preparation_text(response: Response, qs: QuestionSet | None, lang: str) -> str:
    """The employee's preparation as the minutes show it: each section's title, then each
    question and its answer; the proposed agreements are left out (they fill the agreements
    table), last round's agreements are listed with their status and comment."""
    from musforms.outputs.views import clean, section_views
    from musforms.texts import status_label, t

    parts: list[str] = []
    for section in section_views(response, qs, lang):
        lines = [section.title.upper()] if section.title else []
        for answer in section.answers:
            lines.append(f"{answer.label}")
            lines.append(answer.text if answer.answered else "–")
        parts.append("\n".join(lines))
    if response.previous_agreements:
        lines = [t("previous_title", lang).upper()]
        for p in response.previous_agreements:
            status = status_label(p.status, lang) if p.status else "–"
            line = f"{clean(p.what)} ({t('status', lang)}: {status})"
            lines.append(line + (f": {clean(p.comment)}" if p.comment else ""))
        parts.append("\n".join(lines))
    return "\n\n".join(parts)


def prefilled_agreements(response: Response, qs: QuestionSet) -> dict[str, str]:
    """The conclusion form's agreement fields filled in with the employee's proposals, as
    many as the table has rows for."""
    from musforms.conclusion import AGREEMENTS

    question = qs.question(AGREEMENTS)
    rows = question.rows or 0 if question is not None else 0
    values: dict[str, str] = {}
    for row, agreement in enumerate(response.agreements[:rows], start=1):
        values[fn.agreement_field(AGREEMENTS, row, "what")] = agreement.what
        if agreement.owner:
            values[fn.agreement_field(AGREEMENTS, row, "owner")] = agreement.owner
        due = agreement.due.isoformat() if agreement.due else agreement.due_typed
        if due:
            values[fn.agreement_field(AGREEMENTS, row, "due")] = due
    return values


def issue_conclusions(
    results: Path,
    forms_dir: Path,
    key: bytes,
    *,
    formats: Sequence[str] = DEFAULT_FORMATS,
    questions: Path | None = None,
    workers: int | None = None,
    on_written: Callable[[int], None] | None = None,
    cycle: str | None = None,
) -> Issued:
    """Write a conclusion form for every employee with a preparation on record in
    ``results`` (answered against the forms in ``forms_dir``), into ``results/conclusions``.
    ``cycle``: the round of the forms in ``forms_dir``, when the caller has read it."""
    from musforms.generate import run_time
    from musforms.outputs import load_organisation
    from musforms.outputs.spool import spool_db

    folder = conclusions_dir(results)
    path, qs = conclusion_questions(questions)
    digest = question_set_digest(qs)
    organisation = load_organisation(forms_dir)
    private_dir(folder)
    issued: Issued = Issued(folder)
    with spool_db() as db:
        sets = _Sets(results, forms_dir, db)
        employees = _employees(forms_dir)
        earlier = _earlier_entries(folder)
        renamed: set[str] = set()  # files of forms issued before under another name
        listed: set[str] = set()
        cycle = cycle or _cycle(forms_dir)
        entries: list[str] = []
        todo: list[tuple[Path, ManifestForm]] = []
        for newest, source, response in _preparations(results):
            employee = employees.get(response.employee.id) or _employee(response.employee)
            lang = _language(sets.language(response.form, organisation.default_language))
            base = conclusion_basename(employee, lang)
            entry = ManifestForm(
                form_id=make_form_id(key, cycle, employee.id, qs.id),
                employee_id=employee.id,
                files={f: base + registry.get(f).suffix for f in formats},
                employee=employee,
                question_set_digest=digest,
                language=lang,
            )
            text = form_entry(entry)
            entries.append(text)
            listed.update(entry.files.values())
            issued.listed += 1
            before = earlier.pop(employee.id, None)
            if before is not None:
                renamed.update(set(before[0].files.values()) - set(entry.files.values()))
            if _stale(folder, entry, text, before, newest):
                todo.append((source, entry))
        # Forms issued before whose preparation is no longer on record stay listed: a
        # conclusion returned on one of them is still known (purge removes them itself).
        entries.extend(form_entry(form) for form, _text in earlier.values())
        listed.update(name for form, _text in earlier.values() for name in form.files.values())
        issued.listed += len(earlier)
        # The manifest first: a form file is never met that manifest.json does not list, and
        # a run stopped part way leaves forms that the next run writes (they are missing).
        # A manifest that already lists these very forms is left as it is.
        archive_question_set(folder, path, digest, qs)
        save_organisation(folder, organisation)
        head = Manifest(
            cycle=cycle,
            question_set=ManifestQuestionSet(id=qs.id, version=qs.version, digest=digest),
        )
        if not manifest_holds(folder, head, entries):
            write_manifest(folder, head, iter(entries))
        # Files no longer listed (named like the minutes drafts, as an earlier version did,
        # or of a format no longer asked for) go, so no copy of a preparation is left that
        # purge does not know of.
        for name in renamed - listed:
            inside(folder, name).unlink(missing_ok=True)
        job = _Job(qs, digest, organisation, key, folder, run_time())
        items = (_item(_response(path), e, qs, sets) for path, e in todo)
        chunks = iter(lambda: list(itertools.islice(items, CHUNK)), [])
        for written in ordered_map(_RENDERING, job, chunks, workers):
            issued.written += len(written)
            if on_written is not None:
                on_written(len(written))
    return issued


class _Sets:
    """The question sets the preparations were answered against (musforms.outputs), read
    only when first needed: a form's language is most often in its response, and the
    question sets are needed only for the forms to be written."""

    def __init__(self, results: Path, forms_dir: Path, db: sqlite3.Connection) -> None:
        self._args = (results, forms_dir, db)
        self._sets: QuestionSets | None = None

    def get(self) -> QuestionSets:
        from musforms.outputs import question_sets_for

        if self._sets is None:
            results, forms_dir, db = self._args
            self._sets = question_sets_for(results, forms_dir, db=db)
        return self._sets

    def language(self, form: ResponseForm, default: str) -> str:
        # QuestionSets.form_language: the language given for the form (question_sets_for
        # gives none by form), the response's own, that of the form as issued, or ``default``.
        if self._sets is None and form.language is not None:
            return form.language
        return self.get().form_language(form, default)


class _Preparation(BaseModel):
    """What issuing needs of a response on record to tell whether its conclusion form is up
    to date: whose it is and the form it answers. The rest of the response is read (and
    checked) only for the forms to be written, and by the outputs written after them."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    employee: ResponseEmployee
    form: ResponseForm


def _preparations(results: Path) -> Iterator[tuple[int, Path, _Preparation]]:
    """The preparations on record, in employee order, each with the time its file was last
    written and the file (the conclusions collected are not looked up: issuing does not use
    them)."""
    from musforms.report import iter_returned
    from musforms.results import response_path

    for eid in iter_returned(results):
        source = response_path(results, eid)
        try:
            st = source.stat()
        except (FileNotFoundError, NotADirectoryError):
            continue
        if not stat.S_ISREG(st.st_mode):
            continue
        found = _Preparation.model_validate_json(source.read_bytes())
        if found.form.kind in (None, "preparation"):
            yield st.st_mtime_ns, source, found


def _response(source: Path) -> Response:
    return Response.model_validate_json(source.read_bytes())


# Below this many forms a process pool costs more than it saves.
POOL_THRESHOLD = 24
CHUNK = 1  # each form counted once written (musforms.written), whatever stops the run

# A form on its way to be rendered: its manifest entry, round, preparation form, the
# preparation's text and the agreement fields' values (JSON).
Item = tuple[str, str, str, str, str]


@dataclass(frozen=True)
class _Job:
    """What every worker needs to render conclusion forms; sent once per worker."""

    question_set: QuestionSet
    qs_digest: str
    organisation: Organisation
    key: bytes
    folder: Path
    created: dt.datetime


def _item(response: Response, entry: ManifestForm, qs: QuestionSet, sets: _Sets) -> Item:
    """What a worker needs to render ``response``'s conclusion form, as text."""
    lang = _language(entry.language)
    text = preparation_text(response, sets.get().for_response(response), lang) or "–"
    answers = json.dumps(prefilled_agreements(response, qs), ensure_ascii=False)
    return (entry.model_dump_json(), response.form.cycle, response.form.form_id, text, answers)


class _Renderer:
    """The writers of one worker, by format and language."""

    def __init__(self, job: _Job) -> None:
        self.job = job
        self._writers: dict[tuple[str, str], registry.FormWriter] = {}

    def render(self, item: Item) -> str:
        job = self.job
        entry_json, cycle, of_form, text, answers = item
        entry = ManifestForm.model_validate_json(entry_json)
        lang = _language(entry.language)
        form = make_form_data(
            job.question_set,
            entry.employee,
            key=job.key,
            cycle=cycle,
            lang=lang,
            organisation=job.organisation,
            qs_digest=job.qs_digest,
            kind="conclusion",
            of_form=of_form,
            preparation=text,
            answers=json.loads(answers),
        )
        for fmt, name in entry.files.items():
            if (fmt, lang) not in self._writers:
                self._writers[(fmt, lang)] = registry.get(fmt).new_writer(
                    job.question_set, lang, job.organisation, created=job.created
                )
            write_bytes(inside(job.folder, name), self._writers[(fmt, lang)].render(form))
        return entry.employee_id


_WORKER: _Renderer | None = None


def _init_worker(job: _Job) -> None:
    global _WORKER
    _WORKER = _Renderer(job)


def _render_chunk(items: list[Item]) -> list[str]:
    assert _WORKER is not None
    return [_WORKER.render(item) for item in items]


_RENDERING: Task[Item, str, _Job] = Task(_render_chunk, _init_worker, POOL_THRESHOLD)


def _language(lang: str | None) -> Literal["da", "en"]:
    return "en" if lang == "en" else "da"


def _stale(
    folder: Path,
    entry: ManifestForm,
    text: str,
    earlier: tuple[ManifestForm, str] | None,
    newest: int,
) -> bool:
    """Whether the form must be written (again): not issued yet, issued otherwise (``text``:
    its entry as manifest.json lists it; ``earlier``: the entry issued before, and its text
    as manifest.json held it), or older than the preparation on record (written at
    ``newest``, in ns)."""
    if earlier is None:
        return True
    # The text held is the one form_entry wrote, unless an earlier version wrote it.
    if earlier[1] != text and form_entry(earlier[0]) != text:
        return True
    try:
        return any(inside(folder, n).stat().st_mtime_ns < newest for n in entry.files.values())
    except FileNotFoundError:
        return True


def _employees(forms_dir: Path) -> dict[str, Employee]:
    """The employees as the preparation forms were issued to them."""
    return {form.employee_id: form.employee for form in iter_manifest_forms(forms_dir)}


def _earlier(folder: Path) -> dict[str, ManifestForm]:
    return {eid: form for eid, (form, _text) in _earlier_entries(folder).items()}


def _earlier_entries(folder: Path) -> dict[str, tuple[ManifestForm, str]]:
    """The forms issued before, by employee id, each with its text in manifest.json."""
    if not (folder / MANIFEST).is_file():
        return {}
    held = manifest_entries(folder)
    if held is None:  # not as this version writes it: read (and checked) form by form
        return {form.employee_id: (form, form_entry(form)) for form in iter_manifest_forms(folder)}
    return {form.employee_id: (form, text) for form, text in held}


def _employee(e: ResponseEmployee) -> Employee:
    return Employee(
        id=e.id,
        name=e.name,
        email=e.email,
        department=e.department,
        manager=e.manager,
        meeting_date=e.meeting_date,
    )


def _cycle(forms_dir: Path) -> str:
    from musforms.manifest import manifest_head

    return manifest_head(forms_dir).cycle
