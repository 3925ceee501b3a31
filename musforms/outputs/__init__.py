"""What leaders and HR work from after collect: minutes, the follow-up list and a calendar.

Pure functions of the collected responses; :func:`write_outputs` writes them all into a
results folder::

    results/2026/minutes/<id>-<name>.docx   a minutes draft per employee
    results/2026/agreements.xlsx            every agreement, for Excel
    results/2026/agreements.csv             the same, as Danish Excel reads a CSV
    results/2026/followup.ics               due dates and check-ins, for a calendar
"""

from __future__ import annotations

import datetime as dt
import functools
import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from pydantic import BaseModel, ConfigDict

from musforms.files import private_folders, scratch_space, write_bytes, write_text
from musforms.i18n import N_, Nn_, _
from musforms.models import Organisation
from musforms.nospace import raise_if_full
from musforms.outputs.calendar import check_in
from musforms.outputs.spool import AgreementSpool, database_path, read_only, spool_db
from musforms.outputs.views import QuestionSets
from musforms.response import Response
from musforms.wording import counted
from musforms.written import Written

MINUTES_DIR = "minutes"
QUESTION_SETS_DIR = "question_sets"
SETTINGS = "outputs.json"
XLSX = "agreements.xlsx"
CSV = "agreements.csv"
ICS = "followup.ics"
# From this many agreement rows, the follow-up list is written by a process of its own.
FOLLOWUP_PROCESS_ROWS = 2000


@dataclass
class OutputPaths:
    """Where the outputs landed, and what the HR officer should know about them."""

    minutes: int = 0  # drafts in minutes_dir, one per response
    minutes_dir: Path | None = None
    xlsx: Path | None = None
    csv: Path | None = None
    ics: Path | None = None
    agreements: int = 0
    notes: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)  # loose folder modes, made private


def output_lines(paths: OutputPaths) -> list[str]:
    """Where the minutes and the follow-up list landed, for the HR officer."""
    lines = []
    if paths.minutes_dir is not None:  # none when only the follow-up list was written again
        lines.append(
            _("Minutes: {drafts} in {folder}").format(
                drafts=counted(paths.minutes, "draft", "drafts"), folder=paths.minutes_dir
            )
        )
    lines += [
        _("Follow-up list: {agreements} in {xlsx} and {csv}").format(
            agreements=counted(paths.agreements, "agreement", "agreements"),
            xlsx=paths.xlsx,
            csv=paths.csv,
        ),
        _("Calendar: {ics}").format(ics=paths.ics),
    ]
    return lines + [_("Note: {note}").format(note=note) for note in paths.notes]


def load_organisation(forms_dir: Path | None) -> Organisation:
    """The settings the forms were generated with, else those beside the forms' question
    set, else the defaults."""
    if forms_dir is None:
        return Organisation()
    from musforms.manifest import load_organisation as kept
    from musforms.settings import load_settings

    if (organisation := kept(forms_dir)) is not None:
        return organisation
    return load_settings(None, near=forms_dir / "questions.yaml")


def round_organisation(out: Path) -> Organisation | None:
    """The settings the outputs of the round in ``out`` were last written with, if any."""
    earlier = _load_settings(out)
    return earlier.organisation if earlier is not None else None


def _has_settings(forms_dir: Path | None) -> bool:
    from musforms.manifest import SETTINGS_FILE
    from musforms.settings import find_settings

    if forms_dir is None:
        return False
    kept = (forms_dir / SETTINGS_FILE).is_file()
    return kept or find_settings(forms_dir / "questions.yaml") is not None


def question_sets_for(
    out: Path, forms_dir: Path | None, questions: Sequence[Path] = (), *, db: sqlite3.Connection
) -> QuestionSets:
    """The question sets the responses in ``out`` were answered against: from the forms
    folder, from the copies kept in the results folder, and from any files given. The
    forms folder's manifest is read into ``db`` (see :class:`QuestionSets`)."""
    from musforms.questionset import load_question_set

    kept = sorted((out / QUESTION_SETS_DIR).glob("*.yaml"))
    sets = QuestionSets.from_forms(forms_dir, list(questions), db=db)
    for path in kept:
        qs = load_question_set(path)
        sets.by_version.setdefault((qs.id, qs.version), qs)
    return sets


def _keep_question_sets(out: Path, forms_dir: Path | None) -> None:
    """Copy the issued question sets into the results, so the minutes can be drafted again
    from the results folder alone."""
    if forms_dir is None:
        return
    from musforms.manifest import ARCHIVE_DIR

    # The archive holds exactly the question sets forms were issued with, by digest; copying
    # it needs no look at the manifest (tens of MB at a large employer).
    archive = forms_dir / ARCHIVE_DIR
    if not archive.is_dir():
        return
    for source in sorted(archive.glob("*.yaml")):
        target = out / QUESTION_SETS_DIR / source.name
        data = source.read_bytes()
        if not target.is_file() or target.read_bytes() != data:
            write_bytes(target, data)


def write_outputs(
    out: Path,
    responses: Iterable[Response],
    forms_dir: Path | None,
    organisation: Organisation | None = None,
    *,
    template: Path | None = None,
    questions: Sequence[Path] = (),
    by_department: bool | None = None,
    today: dt.date | None = None,
    now: dt.datetime | None = None,
    workers: int | None = None,
    written: Written | None = None,
) -> OutputPaths:
    """Write the minutes, agreements.xlsx, agreements.csv and followup.ics into ``out``.

    ``responses`` are gone through twice, so they must allow it (a list, or
    :class:`Responses` reading them from disk each time): the agreement rows, the check-in
    dates and the manifest's forms wait in scratch databases on disk, so memory does not
    grow with the round. ``forms_dir`` is the folder generate wrote the
    forms to (for the question sets, so scales and choices show as their labels);
    ``organisation`` defaults to the settings beside it, else those of the last run.
    ``template`` is a minutes template to use instead of the built-in one; ``by_department``
    puts each department on its own sheet. Left out, both are as the last run in ``out`` had
    them. ``workers``: processes drafting the minutes (default: one per core).

    If it stops part way, the exception says which outputs were written and which not (see
    :mod:`musforms.written`); ``written`` is the record of a job that writes them as part of
    its own (collect), whose files are then told as well.
    """
    if written is None:
        written = Written(out, "musforms minutes", _("run the same musforms minutes command again"))
        watch(written)
    with written.told():
        return _write_outputs(
            out, responses, forms_dir, organisation, template, questions, by_department,
            today, now, workers, written,
        )  # fmt: skip


def watch(written: Written) -> None:
    """Note how the outputs stand before a job writes them: the minutes drafts, the follow-up
    list and the calendar."""
    written.kind(
        "minutes",
        MINUTES_DIR,
        Nn_("{n} minutes draft", "{n} minutes drafts"),
        rest=N_("the other minutes drafts"),
        rest_without=N_("the minutes drafts"),
    )
    written.files(XLSX, CSV, ICS)


def _write_outputs(
    out: Path,
    responses: Iterable[Response],
    forms_dir: Path | None,
    organisation: Organisation | None,
    template: Path | None,
    questions: Sequence[Path],
    by_department: bool | None,
    today: dt.date | None,
    now: dt.datetime | None,
    workers: int | None,
    written: Written,
) -> OutputPaths:
    from musforms.outputs.minutes import write_minutes

    earlier = _load_settings(out)
    if organisation is not None:
        org = organisation
    elif earlier is not None and not _has_settings(forms_dir):
        org = earlier.organisation
    else:
        org = load_organisation(forms_dir)
    result = OutputPaths(minutes_dir=out / MINUTES_DIR)
    result.warnings = private_folders(out, MINUTES_DIR, QUESTION_SETS_DIR)
    if template is None and earlier is not None and earlier.template is not None:
        template = Path(earlier.template)
        if not template.is_file():
            result.notes.append(
                f"the minutes template used last time, {template}, is gone; the built-in "
                "one was used (give --template to 'musforms minutes' to choose another)"
            )
            template = None
    if by_department is None:
        by_department = earlier is not None and earlier.by_department
    _keep_question_sets(out, forms_dir)
    with scratch_space(out), spool_db() as db, spool_db() as followup_db:
        sets = question_sets_for(out, forms_dir, questions, db=db)
        spool = AgreementSpool(followup_db)
        missing = _Missing()
        # First pass: the follow-up list's rows and the check-ins. The list and the calendar
        # are then written by one of the processes that draft the minutes in the second
        # pass, beside the drafting rather than after it.
        for response in _again(responses):
            if sets.for_response(response) is None:
                missing.add(response.employee.id)
            _add_response(spool, out, response, org)
        followup_db.execute("COMMIT")
        result.xlsx, result.csv, result.ics = out / XLSX, out / CSV, out / ICS
        result.minutes = write_minutes(
            out / MINUTES_DIR,
            _again(responses),
            sets,
            org,
            template=template,
            today=today,
            workers=workers,
            scratch=db,
            # The workbook with the csv, and the calendar, each by a drafting process beside
            # the drafting; a long list in processes of their own from the start, even when
            # few drafts are to be made (a morning's re-run): starting them costs less.
            alongside=[
                functools.partial(
                    _write_followup,
                    database_path(followup_db),
                    out,
                    org,
                    by_department,
                    now,
                    parts,
                )
                for parts in ((XLSX, CSV), (ICS,))
            ],
            alongside_early=len(spool) >= FOLLOWUP_PROCESS_ROWS,
            drafted=functools.partial(written.count, "minutes"),
            all_drafted=functools.partial(written.finished, "minutes"),
        )
        result.agreements = len(spool)
    if missing.count:
        result.notes.append(
            f"the question set of {counted(missing.count, 'response', 'responses')} was not found "
            f"(first: employee "
            f"{missing.first}); their minutes show answers by question id. Give the forms "
            "folder or the question set file."
        )
    _save_settings(
        out, _Settings(organisation=org, template=_str(template), by_department=by_department)
    )
    return result


def _add_response(spool: AgreementSpool, out: Path, response: Response, org: Organisation) -> None:
    """A response's agreement rows and check-in date, with its check-in laid over them."""
    from musforms.outputs.checkins import checkin_of, returned_at, with_checkin
    from musforms.outputs.views import iter_agreement_rows

    checkin = checkin_of(out, response.employee.id)
    spool.add(with_checkin(iter_agreement_rows([response]), checkin))
    if (c := check_in(response, org.followup_months, returned_at(checkin))) is not None:
        spool.add_check_in(c)


def _again(responses: Iterable[Response]) -> Iterator[Response]:
    """A fresh pass over ``responses``, which must allow more than one."""
    it = iter(responses)
    if it is responses:
        raise TypeError("the responses are gone through twice: give a list or a Responses")
    return it


class _Missing:
    """The employees whose question set was not found: how many, and the first by id."""

    def __init__(self) -> None:
        self.count = 0
        self.first: str | None = None

    def add(self, employee_id: str) -> None:
        # A round has one response per employee: counting responses counts employees,
        # without a set of every id.
        self.count += 1
        if self.first is None or employee_id < self.first:
            self.first = employee_id


def write_followup(
    out: Path,
    spool: AgreementSpool,
    org: Organisation,
    *,
    by_department: bool,
    now: dt.datetime | None,
    parts: tuple[str, ...] = (XLSX, CSV, ICS),
) -> None:
    """agreements.xlsx, agreements.csv and followup.ics (those of them in ``parts``) from the
    rows and check-ins in ``spool``."""
    from musforms.outputs.calendar import event_cache, write_check_ins
    from musforms.outputs.followup import write_csv, write_xlsx

    lang = org.default_language
    try:
        if XLSX in parts:
            write_xlsx(out / XLSX, spool, lang, by_department=by_department)
        if CSV in parts:
            write_csv(out / CSV, spool.rows(), lang)
        if ICS in parts:
            with event_cache(out) as events:
                write_check_ins(
                    out / ICS, spool.check_ins(), spool, lang=lang, now=now, events=events
                )
    except Exception as exc:
        # Often in a drafting process, whose errors must pickle to be told (lxml's do not).
        raise_if_full(exc)
        raise


def _write_followup(
    database: Path,
    out: Path,
    org: Organisation,
    by_department: bool,
    now: dt.datetime | None,
    parts: tuple[str, ...],
) -> None:
    # In a drafting process: the spool as the main process committed it.
    with read_only(database) as db:
        spool = AgreementSpool(db, existing=True)
        write_followup(out, spool, org, by_department=by_department, now=now, parts=parts)


def rewrite_followup(out: Path, responses: Iterable[Response]) -> OutputPaths:
    """Rewrite agreements.xlsx, agreements.csv and followup.ics from ``responses`` alone, with
    the settings of the last run (after purging employees from a results folder, or
    collecting check-ins)."""
    earlier = _load_settings(out)
    org = earlier.organisation if earlier else Organisation()
    with spool_db() as db:
        spool = AgreementSpool(db)
        for response in responses:
            _add_response(spool, out, response, org)
        by_department = bool(earlier and earlier.by_department)
        write_followup(out, spool, org, by_department=by_department, now=None)
        count = len(spool)
    index = out / MINUTES_DIR / ".index.json"
    if index.is_file():
        from musforms.outputs.minutes import prune_index

        prune_index(out / MINUTES_DIR)
    return OutputPaths(xlsx=out / XLSX, csv=out / CSV, ics=out / ICS, agreements=count)


class _Settings(BaseModel):
    """What the outputs were last written with, so drafting them again looks the same."""

    model_config = ConfigDict(extra="forbid")

    organisation: Organisation
    template: str | None = None
    by_department: bool = False


def _str(path: Path | None) -> str | None:
    return str(path.resolve()) if path is not None else None


def _load_settings(out: Path) -> _Settings | None:
    path = out / SETTINGS
    try:
        return _Settings.model_validate_json(path.read_bytes())
    except (OSError, ValueError):
        return None


def _save_settings(out: Path, settings: _Settings) -> None:
    write_text(out / SETTINGS, settings.model_dump_json(indent=2) + "\n")


__all__ = [
    "OutputPaths",
    "load_organisation",
    "output_lines",
    "question_sets_for",
    "rewrite_followup",
    "round_organisation",
    "watch",
    "write_outputs",
]
