"""``musforms report``: the round's status and wellbeing figures as one self-contained HTML
file, for HR and management.

Round status (returned, blank, missing, to check) per group and per leader, who is missing
per leader, open agreements per leader (counts only), and the scale and choice answers per
group under the anonymity threshold (:mod:`musforms.htmlreport.anonymity`). No answer text
and no agreement's content is ever in it; names of employees and leaders are, so the file is
written 0600 like every other result.

The results folder is read a line and a response at a time (:mod:`.gather`); the file is
written a part at a time, atomically.
"""

from __future__ import annotations

import contextlib
import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path

from musforms.errors import MusformsError
from musforms.files import atomic_writer, private_folders, scratch_space
from musforms.models import Organisation

REPORT_HTML = "report.html"


@dataclass
class HtmlReport:
    path: Path
    expected: int = 0
    returned: int = 0
    missing: int = 0
    named: bool = True  # the forms folder was found: names and groups of those missing
    forms_dir: Path | None = None
    warnings: list[str] = field(default_factory=list)


def guess_forms_dir(results: Path, cycle: str) -> Path | None:
    """The forms folder of the usual layout (``forms/2026`` beside ``results/2026``), when it
    holds this round's manifest."""
    from musforms.manifest import MANIFEST, manifest_head

    for candidate in (results.parent.parent / "forms" / results.name,
                      results.parent.parent / "forms" / cycle):  # fmt: skip
        if (candidate / MANIFEST).is_file():
            with contextlib.suppress(MusformsError):  # a damaged one is no guess to make
                if manifest_head(candidate).cycle == cycle:
                    return candidate
    return None


def write_html_report(
    results: Path,
    out: Path | None = None,
    *,
    forms_dir: Path | None = None,
    organisation: Organisation | None = None,
    by: str = "department",
    previous: Path | None = None,
    today: dt.date | None = None,
    remainder_protection: bool = True,
) -> HtmlReport:
    """Write the report of ``results`` to ``out`` (default ``results/report.html``).

    ``forms_dir`` (default: found beside the results, see :func:`guess_forms_dir`) gives the
    names and groups of those missing; ``organisation`` the language and the threshold
    (default: the settings the forms were made with). ``by``: department, leader or another
    roster column kept in the manifest. ``previous``: last round's results folder, for the
    changes. ``remainder_protection`` off only for the test that shows what it prevents.
    """
    from musforms.htmlreport.gather import gather, grouping, previous_wellbeing
    from musforms.htmlreport.page import Page, write_page
    from musforms.report import earlier_cycle, no_results
    from musforms.scratch import scratch_db

    field_name = grouping(by)
    cycle = earlier_cycle(results)
    if cycle is None:
        raise no_results(results)
    if forms_dir is None:
        forms_dir = guess_forms_dir(results, cycle)
    if organisation is None:
        from musforms.outputs import load_organisation

        organisation = load_organisation(forms_dir)
    day = today or dt.date.today()
    target = out if out is not None else results / REPORT_HTML
    result = HtmlReport(target, named=forms_dir is not None, forms_dir=forms_dir)
    with scratch_space(results), scratch_db("report.sqlite") as db:
        got = gather(results, db, forms_dir=forms_dir, by=field_name, today=day)
        before = previous_wellbeing(previous, field_name) if previous is not None else None
        page = Page(
            got, organisation, organisation.default_language, day, results, by, before,
            previous is not None, remainder_protection,
        )  # fmt: skip
        if out is None:
            result.warnings = private_folders(results)
        with atomic_writer(target) as tmp, tmp.open("w", encoding="utf-8", newline="\n") as fh:
            write_page(fh, page)
        total = db.execute(
            "SELECT COUNT(*), SUM(status = 'returned'), SUM(status IN ('missing', 'blank')) "
            "FROM people WHERE status IS NOT NULL"
        ).fetchone()
        result.expected, result.returned, result.missing = (int(v or 0) for v in total)
    return result
