"""How much the hand-written fast paths save: each measured with and without
``MUSFORMS_FAST_PATHS=0`` (see musforms/fastpath.py).

- PDF forms rendered per second in one process, by one writer (the standard question set,
  a third of the employees with two of last year's agreements);
- Word forms rendered per second in one process, by one writer (the same forms);
- minutes drafts rendered per second in one process (the built-in template);
- ``musforms generate --format pdf`` over a roster, all cores, as HR runs it.

    .venv/bin/python benchmarks/fastpaths.py --forms 400 --word 400 --drafts 400 --roster 1000
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(ROOT))

from bench import STANDARD, write_roster  # noqa: E402

from musforms import fastpath  # noqa: E402

if TYPE_CHECKING:
    from musforms.formats import WriterFactory
    from musforms.models import FormData


def rate(n: int, work: Callable[[int], object], fast: bool) -> float:
    """``n`` calls of ``work`` per second, with the switch set, after a warm-up call on each
    of the first three items (both shapes of form: with and without last year's agreements)."""
    os.environ[fastpath.ENV] = "1" if fast else "0"
    for i in range(3):
        work(i)
    start = time.perf_counter()
    for i in range(n):
        work(i)
    return n / (time.perf_counter() - start)


def _forms(n: int) -> list[FormData]:
    """``n`` forms of the standard question set, every third with two of last year's
    agreements."""
    from musforms.formdata import make_form_data
    from musforms.identity import load_key
    from musforms.models import Agreement, Employee
    from musforms.questionset import load_question_set

    qs = load_question_set(STANDARD)
    key = load_key(Path(tempfile.mkdtemp()) / "key", create=True)
    previous = [
        Agreement(what="Kursus i Excel", owner="Søren", due=dt.date(2026, 6, 1)),
        Agreement(what="Mentorordning med Åse", owner="Åse", due=None),
    ]
    return [
        make_form_data(
            qs,
            Employee(id=str(10_000 + i), name=f"Søren Ærø {i}", department="Økonomi"),
            key=key,
            cycle="2026",
            previous=previous if i % 3 == 0 else (),
        )
        for i in range(n)
    ]


def _writer_rates(n: int, factory: WriterFactory) -> dict[bool, float]:
    """Forms per second by one writer made by ``factory``, with the fast paths and without;
    a new writer each way, so neither reuses what the other prepared."""
    from musforms.models import Organisation

    forms = _forms(n)
    qs = forms[0].question_set
    created = dt.datetime.now(dt.UTC)
    rates = {}
    for fast in (True, False):
        writer = factory(qs, "da", Organisation(name="Kommunen"), template=None, created=created)
        rates[fast] = rate(n, lambda i: writer.render(forms[i]), fast)  # noqa: B023
    return rates


def pdf_forms(n: int) -> dict[bool, float]:
    from musforms.pdf.writer import PdfFormWriter

    return _writer_rates(n, PdfFormWriter)


def word_forms(n: int) -> dict[bool, float]:
    from musforms.docx.writer import DocxFormWriter

    return _writer_rates(n, DocxFormWriter)


def minutes_drafts(n: int) -> dict[bool, float]:
    from musforms.models import Organisation, QuestionSet
    from musforms.outputs.minutes import DEFAULT_TEMPLATE, context, render_minutes
    from musforms.outputs.views import QuestionSets
    from tests.conftest import EVERY_TYPE
    from tests.outputs_data import TODAY, responses

    qs = QuestionSet.model_validate(EVERY_TYPE)
    sets = QuestionSets()
    sets.add(qs)
    items = responses(qs)
    contexts = [
        context(r, sets.for_response(r), "da", Organisation(), TODAY)
        for r in (items[i % len(items)] for i in range(n))
    ]
    data = DEFAULT_TEMPLATE.read_bytes()
    return {
        fast: rate(n, lambda i: render_minutes(data, contexts[i]), fast) for fast in (True, False)
    }


def generate(n: int) -> dict[bool, float]:
    folder = Path(tempfile.mkdtemp(prefix="musforms-fastpaths-"))
    roster = folder / "roster.csv"
    write_roster(roster, n)
    rates = {}
    for fast in (True, False):
        out = folder / ("fast" if fast else "library")
        env = {**os.environ, fastpath.ENV: "1" if fast else "0"}
        env["MUSFORMS_KEY_FILE"] = str(folder / "key")
        command = [sys.executable, "-m", "musforms", "generate", "--questions", str(STANDARD)]
        command += ["--roster", str(roster), "--out", str(out), "--cycle", "2026"]
        command += ["--format", "pdf"]
        start = time.perf_counter()
        subprocess.run(command, env=env, check=True, capture_output=True)
        rates[fast] = n / (time.perf_counter() - start)
    return rates


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--forms", type=int, default=300)
    parser.add_argument("--word", type=int, default=300)
    parser.add_argument("--drafts", type=int, default=300)
    parser.add_argument("--roster", type=int, default=1000)
    args = parser.parse_args()
    for what, unit, measure, n in (
        ("PDF forms, one process", "forms/s", pdf_forms, args.forms),
        ("Word forms, one process", "forms/s", word_forms, args.word),
        ("minutes drafts, one process", "drafts/s", minutes_drafts, args.drafts),
        ("musforms generate --format pdf", "forms/s", generate, args.roster),
    ):
        rates = measure(n)
        print(
            f"{what} (n={n}): fast paths {rates[True]:.1f} {unit}, "
            f"{fastpath.ENV}=0 {rates[False]:.1f} {unit} ({rates[True] / rates[False]:.1f}×)",
            flush=True,
        )


if __name__ == "__main__":
    main()
