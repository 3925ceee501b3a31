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
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from musforms.files import write_bytes
from musforms.models import Organisation
from musforms.outputs.views import QuestionSets, agreement_rows
from musforms.response import Response

MINUTES_DIR = "minutes"
QUESTION_SETS_DIR = "question_sets"
XLSX = "agreements.xlsx"
CSV = "agreements.csv"
ICS = "followup.ics"


@dataclass
class OutputPaths:
    """Where the outputs landed, and what the HR officer should know about them."""

    minutes: list[Path] = field(default_factory=list)
    minutes_dir: Path | None = None
    xlsx: Path | None = None
    csv: Path | None = None
    ics: Path | None = None
    agreements: int = 0
    notes: list[str] = field(default_factory=list)


def load_organisation(forms_dir: Path | None) -> Organisation:
    """The organisation settings beside the forms' question set, else the defaults."""
    if forms_dir is None:
        return Organisation()
    from musforms.settings import load_settings

    return load_settings(None, near=forms_dir / "questions.yaml")


def question_sets_for(
    out: Path, forms_dir: Path | None, questions: Sequence[Path] = ()
) -> QuestionSets:
    """The question sets the responses in ``out`` were answered against: from the forms
    folder, from the copies kept in the results folder, and from any files given."""
    from musforms.questionset import load_question_set

    kept = sorted((out / QUESTION_SETS_DIR).glob("*.yaml"))
    sets = QuestionSets.from_forms(forms_dir, list(questions))
    for path in kept:
        qs = load_question_set(path)
        sets.by_version.setdefault((qs.id, qs.version), qs)
    return sets


def _keep_question_sets(out: Path, forms_dir: Path | None) -> None:
    """Copy the issued question sets into the results, so the minutes can be drafted again
    from the results folder alone."""
    if forms_dir is None:
        return
    from musforms.manifest import ARCHIVE_DIR, MANIFEST, QUESTIONS_FILE, archive_name, load_manifest

    if not (forms_dir / MANIFEST).is_file():
        return
    for digest in {f.question_set_digest for f in load_manifest(forms_dir).forms}:
        name = archive_name(digest)
        for source in (forms_dir / ARCHIVE_DIR / name, forms_dir / QUESTIONS_FILE):
            if source.is_file():
                target = out / QUESTION_SETS_DIR / name
                data = source.read_bytes()
                if not target.is_file() or target.read_bytes() != data:
                    write_bytes(target, data)
                break


def write_outputs(
    out: Path,
    responses: list[Response],
    forms_dir: Path | None,
    organisation: Organisation | None = None,
    *,
    template: Path | None = None,
    questions: Sequence[Path] = (),
    by_department: bool = False,
    today: dt.date | None = None,
    now: dt.datetime | None = None,
) -> OutputPaths:
    """Write the minutes, agreements.xlsx, agreements.csv and followup.ics into ``out``.

    ``forms_dir`` is the folder generate wrote the forms to (for the question sets, so
    scales and choices show as their labels); ``organisation`` defaults to the settings
    beside it. ``template`` is a minutes template to use instead of the built-in one.
    """
    from musforms.outputs.calendar import write_calendar
    from musforms.outputs.followup import write_csv, write_xlsx
    from musforms.outputs.minutes import write_minutes

    org = organisation if organisation is not None else load_organisation(forms_dir)
    lang = org.default_language
    _keep_question_sets(out, forms_dir)
    sets = question_sets_for(out, forms_dir, questions)
    result = OutputPaths(minutes_dir=out / MINUTES_DIR)
    missing = sorted(
        {r.employee.id for r in responses if sets.for_response(r) is None},
    )
    if missing:
        result.notes.append(
            f"the question set of {len(missing)} response(s) was not found (first: employee "
            f"{missing[0]}); their minutes show answers by question id. Give the forms folder "
            "or the question set file."
        )
    result.minutes = write_minutes(
        out / MINUTES_DIR, responses, sets, org, template=template, today=today
    )
    rows = agreement_rows(responses)
    result.agreements = len(rows)
    result.xlsx, result.csv, result.ics = out / XLSX, out / CSV, out / ICS
    write_xlsx(result.xlsx, rows, lang, by_department=by_department)
    write_csv(result.csv, rows, lang)
    write_calendar(
        result.ics, responses, rows, followup_months=org.followup_months, lang=lang, now=now
    )
    return result


__all__ = ["OutputPaths", "load_organisation", "question_sets_for", "write_outputs"]
