"""How fast musforms generates and collects, and how much memory it takes.

For each roster size N: build a roster of N employees, generate a PDF and a Word form for
each with the built-in standard question set, fill every form with realistic Danish
answers (a fast filler, see fill.py), collect every returned file, check a sample of the
collected answers, collect again over the same files (as HR does every morning; nothing
may change), and time the same work done the naive way (a new writer per form in
one process; a plain pypdf / python-docx loop). Writes benchmarks/RESULTS.md.

    make bench                                  # N = 1,000 and 10,000
    .venv/bin/python benchmarks/bench.py --sizes 200
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import hashlib
import itertools
import json
import os
import platform
import random
import shutil
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))

from fill import answers_for, fill_docx, fill_pdf  # noqa: E402

from musforms.questionset import load_question_set  # noqa: E402

STANDARD = ROOT / "musforms" / "sets" / "standard.yaml"
CYCLE = "2026"

FIRST = (
    "Søren", "Mette", "Anne", "Jens", "Kirsten", "Peter", "Hanne", "Lars", "Susanne", "Niels",
    "Maja", "Mads", "Ida", "Frederik", "Sofie", "Rasmus", "Louise", "Jørgen", "Birgitte",
    "Bjørn", "Åse", "Ærenpris", "Øjvind", "Karen", "Mikkel", "Signe", "Thomas", "Line",
)  # fmt: skip
LAST = (
    "Jensen", "Nielsen", "Hansen", "Pedersen", "Andersen", "Christensen", "Larsen",
    "Sørensen", "Rasmussen", "Jørgensen", "Madsen", "Kristensen", "Olsen", "Thomsen",
    "Poulsen", "Møller", "Østergaard", "Ærø", "Dahl", "Bøgh", "Lauritsen", "Kjær", "Holm",
)  # fmt: skip
DEPARTMENTS = (
    "Økonomi", "Borgerservice", "Løn og personale", "Teknik og miljø", "Skoler",
    "Ældreplejen", "Børn og unge", "Kultur og fritid", "IT", "Jobcenter",
)  # fmt: skip


# --- memory: the whole process tree ----------------------------------------------------------

PAGE = os.sysconf("SC_PAGE_SIZE")


def _children() -> dict[int, list[int]]:
    tree: dict[int, list[int]] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat", "rb") as fh:
                stat = fh.read()
        except OSError:
            continue
        ppid = int(stat.rsplit(b")", 1)[1].split()[1])
        tree.setdefault(ppid, []).append(int(entry.name))
    return tree


def tree_rss(root: int) -> int:
    """Resident memory of ``root`` and all its descendants, in bytes."""
    tree = _children()
    total, stack = 0, [root]
    while stack:
        pid = stack.pop()
        try:
            with open(f"/proc/{pid}/statm", "rb") as fh:
                total += int(fh.read().split()[1]) * PAGE
        except OSError:
            pass
        stack.extend(tree.get(pid, []))
    return total


class Sampler:
    """Samples the process tree's resident memory every 50 ms in a thread; keeps the peak."""

    def __init__(self, interval: float = 0.05) -> None:
        self.interval = interval
        self.peak = 0
        self.phase = ""
        self.peaks: dict[str, int] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        me = os.getpid()
        while not self._stop.is_set():
            now = tree_rss(me)
            self.peak = max(self.peak, now)
            self.peaks[self.phase] = max(self.peaks.get(self.phase, 0), now)
            self._stop.wait(self.interval)

    def __enter__(self) -> Sampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, tree_rss(os.getpid()))


@contextmanager
def timed() -> Iterator[list[float]]:
    out: list[float] = []
    start = time.perf_counter()
    yield out
    out.append(time.perf_counter() - start)


# --- the work ----------------------------------------------------------------------------------


def say(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def write_roster(path: Path, n: int) -> None:
    rnd = random.Random(n)  # noqa: S311 (test data)
    with path.open("w", encoding="utf-8", newline="") as fh:
        out = csv.writer(fh, delimiter=";")
        out.writerow(["id", "name", "email", "department", "manager", "meeting_date", "language"])
        for i in range(n):
            first, last = rnd.choice(FIRST), rnd.choice(LAST)
            day = dt.date(2027, 1, 4) + dt.timedelta(days=rnd.randint(0, 80))
            out.writerow(
                [
                    str(10001 + i),
                    f"{first} {last}",
                    f"{first.lower()}.{last.lower()}@kommune.dk",
                    rnd.choice(DEPARTMENTS),
                    f"{rnd.choice(FIRST)} {rnd.choice(LAST)}",
                    day.strftime("%d-%m-%Y"),
                    "en" if rnd.random() < 0.1 else "da",
                ]
            )


def _fill_chunk(args: tuple[Path, Path, list[tuple[str, str, str]]]) -> int:
    forms, returned, items = args
    qs = load_question_set(STANDARD)
    for employee_id, pdf, docx in items:
        answers = answers_for(qs, employee_id)
        fill_pdf(forms / pdf, returned / f"svar {employee_id}.pdf", answers)
        fill_docx(forms / docx, returned / f"svar {employee_id}.docx", answers)
    return len(items)


def fill_all(forms: Path, returned: Path, workers: int) -> int:
    manifest = json.loads((forms / "manifest.json").read_text(encoding="utf-8"))
    items = [(f["employee_id"], f["files"]["pdf"], f["files"]["docx"]) for f in manifest["forms"]]
    chunks = [(forms, returned, items[i : i + 100]) for i in range(0, len(items), 100)]
    with ProcessPoolExecutor(workers) as pool:
        return sum(pool.map(_fill_chunk, chunks))


def fingerprint(results: Path, listing: Path) -> None:
    """Write each answer file and minutes draft with its SHA-256 to ``listing``, one a line:
    what a re-run must leave as it was (on disk, so the memory measured is collect's own)."""
    files = [results / "responses.json"]
    files += sorted((results / "responses").iterdir()) + sorted((results / "minutes").iterdir())
    with listing.open("w", encoding="utf-8") as out:
        for path in files:
            if path.is_file():
                digest = hashlib.sha256(path.read_bytes()).hexdigest()
                out.write(f"{digest} {path.relative_to(results)}\n")


def differences(before: Path, after: Path) -> list[str]:
    """The files whose lines differ between two listings. A file added or removed shifts
    every line after it, so those are counted too: the count is exact only when no file
    came or went; zero is exact either way."""
    with before.open(encoding="utf-8") as a, after.open(encoding="utf-8") as b:
        return [
            (x or y).rstrip("\n").split(" ", 1)[1]
            for x, y in itertools.zip_longest(a, b, fillvalue="")
            if x != y
        ]


def check_sample(forms: Path, results: Path, n: int) -> int:
    """Compare a sample of collected answers with what was typed; returns how many checked."""
    from musforms.interpret import interpret

    qs = load_question_set(STANDARD)
    manifest = json.loads((forms / "manifest.json").read_text(encoding="utf-8"))
    ids = [f["employee_id"] for f in manifest["forms"]]
    report = json.loads((results / "report.json").read_text(encoding="utf-8"))
    assert len(report["returned"]) == n, f"{len(report['returned'])} of {n} returned"
    assert not report["missing"], report["missing"][:5]
    bad = [f for f in report["files"] if f["status"] not in ("ok", "duplicate")]
    assert not bad, bad[:3]
    rnd = random.Random(0)  # noqa: S311 (a sample, not a secret)
    sample = rnd.sample(ids, min(25, len(ids)))
    for employee_id in sample:
        typed = answers_for(qs, employee_id)
        expected = interpret(qs, dict(typed), "da")
        got = json.loads((results / "responses" / f"{employee_id}.json").read_text("utf-8"))
        assert got["answers"] == json.loads(json.dumps(expected.answers, default=str)), (
            employee_id,
            got["answers"],
        )
        assert len(got["agreements"]) == 2, got["agreements"]
    return len(sample)


def naive_generate(roster: Path, out: Path, key: bytes, limit: int) -> tuple[int, float]:
    """A new writer per form, one process: what the work costs without any reuse."""
    from musforms.docx.writer import DocxFormWriter
    from musforms.formdata import make_form_data
    from musforms.generate import form_basename
    from musforms.models import Organisation
    from musforms.pdf.writer import PdfFormWriter
    from musforms.roster import load_roster

    out.mkdir(parents=True, exist_ok=True)
    employees = load_roster(roster)[:limit]
    start = time.perf_counter()
    qs = load_question_set(STANDARD)
    org = Organisation()
    for employee in employees:
        form = make_form_data(qs, employee, key=key, cycle=CYCLE, organisation=org)
        base = out / form_basename(employee)
        base.with_suffix(".pdf").write_bytes(PdfFormWriter(qs, form.lang, org).render(form))
        base.with_suffix(".docx").write_bytes(DocxFormWriter(qs, form.lang, org).render(form))
    return len(employees), time.perf_counter() - start


def naive_collect(returned: Path, limit: int) -> tuple[int, float]:
    """Plain pypdf ``get_fields()`` and python-docx over the returned files, one process."""
    import docx
    from docx.oxml.ns import qn
    from pypdf import PdfReader

    files = sorted(returned.iterdir())[:limit]
    start = time.perf_counter()
    values = 0
    for path in files:
        if path.suffix == ".pdf":
            fields = PdfReader(path).get_fields() or {}
            values += sum(1 for f in fields.values() if f.get("/V"))
        else:
            document = docx.Document(str(path))
            for sdt in document.element.body.iter(qn("w:sdt")):
                tag = sdt.find(f"{qn('w:sdtPr')}/{qn('w:tag')}")
                text = "".join(t.text or "" for t in sdt.iter(qn("w:t")))
                values += bool(tag is not None and text)
    assert values, "the naive loop read no values"
    return len(files), time.perf_counter() - start


def cli_startup(runs: int = 9) -> float:
    exe = Path(sys.executable).parent / "musforms"
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run([str(exe), "--help"], check=True, capture_output=True)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


@dataclass
class Run:
    n: int
    generate_s: float = 0.0
    generate_peak: int = 0
    collect_files: int = 0
    collect_s: float = 0.0
    collect_peak: int = 0
    checked: int = 0
    outputs_s: float = 0.0
    read_peak: int = 0
    outputs_peak: int = 0
    rerun_s: float = 0.0
    rerun_peak: int = 0
    rerun_changed: list[str] = field(default_factory=list)
    rerun_changes: int = 0
    naive_gen: tuple[int, float] = (0, 0.0)
    naive_col: tuple[int, float] = (0, 0.0)
    notes: list[str] = field(default_factory=list)

    @property
    def gen_rate(self) -> float:
        return self.n / self.generate_s

    @property
    def col_rate(self) -> float:
        return self.collect_files / self.collect_s

    @property
    def rerun_rate(self) -> float:
        return self.collect_files / self.rerun_s

    @property
    def read_rate(self) -> float:
        return self.collect_files / (self.collect_s - self.outputs_s)

    @property
    def naive_gen_rate(self) -> float:
        return self.naive_gen[0] / self.naive_gen[1]

    @property
    def naive_col_rate(self) -> float:
        return self.naive_col[0] / self.naive_col[1]


def run(n: int, base: Path, workers: int | None, naive_limit: int) -> Run:
    from musforms.collect import collect
    from musforms.generate import generate

    work = base / str(n)
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    roster, key_file = work / "roster.csv", work / "musforms.key"
    forms, returned, results = work / "forms", work / "returned", work / "results"
    write_roster(roster, n)
    result = Run(n)

    say(f"[{n}] generate …")
    with Sampler() as mem, timed() as t:
        generate(STANDARD, roster, forms, CYCLE, key_file=key_file, workers=workers)
    result.generate_s, result.generate_peak = t[0], mem.peak
    say(f"[{n}]   {result.gen_rate:.0f} pairs/s, peak {mem.peak / 2**20:.0f} MB")

    say(f"[{n}] filling every form …")
    returned.mkdir()
    fill_all(forms, returned, os.cpu_count() or 1)

    say(f"[{n}] collect …")
    result.collect_files = sum(1 for _ in returned.iterdir())
    import musforms.outputs

    write_outputs = musforms.outputs.write_outputs
    outputs_s: list[float] = []

    def timed_outputs(*args: Any, **kwargs: Any) -> Any:
        mem.phase = "outputs"
        start = time.perf_counter()
        try:
            return write_outputs(*args, **kwargs)
        finally:
            outputs_s.append(time.perf_counter() - start)

    musforms.outputs.write_outputs = timed_outputs
    try:
        with Sampler() as mem, timed() as t:
            mem.phase = "read"
            collect([returned], forms, results, key_file=key_file, workers=workers)
    finally:
        musforms.outputs.write_outputs = write_outputs
    result.collect_s, result.collect_peak = t[0], mem.peak
    result.outputs_s = outputs_s[0]
    result.read_peak = mem.peaks.get("read", 0)
    result.outputs_peak = mem.peaks.get("outputs", 0)
    say(f"[{n}]   {result.col_rate:.0f} files/s, peak {mem.peak / 2**20:.0f} MB")
    result.checked = check_sample(forms, results, n)

    # HR runs collect again every morning over the same folder, new files beside the old.
    say(f"[{n}] collect again over the same files …")
    fingerprint(results, work / "before.txt")
    with Sampler() as mem, timed() as t:
        collect([returned], forms, results, key_file=key_file, workers=workers)
    result.rerun_s, result.rerun_peak = t[0], mem.peak
    fingerprint(results, work / "after.txt")
    changed = differences(work / "before.txt", work / "after.txt")
    result.rerun_changed, result.rerun_changes = changed[:3], len(changed)
    say(f"[{n}]   {result.rerun_rate:.0f} files/s, peak {mem.peak / 2**20:.0f} MB")

    limit = min(n, naive_limit)
    say(f"[{n}] the naive way, {limit} forms …")
    key = key_file.read_bytes().strip()
    result.naive_gen = naive_generate(roster, work / "naive", key, limit)
    result.naive_col = naive_collect(returned, 2 * limit)
    return result


def machine() -> list[str]:
    model = "unknown"
    with open("/proc/cpuinfo", encoding="utf-8") as fh:
        for line in fh:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    with open("/proc/meminfo", encoding="utf-8") as fh:
        mem_kb = int(fh.readline().split()[1])
    return [
        f"- Cores: {os.cpu_count()} ({model})",
        f"- RAM: {mem_kb / 2**20:.1f} GB",
        f"- Python {platform.python_version()} on {platform.system()} {platform.release()}",
        f"- Date: {dt.date.today().isoformat()}",
    ]


def mb(value: int) -> str:
    return f"{value / 2**20:.0f} MB"


def _peaks(r: Run) -> tuple[int, int]:
    return r.generate_peak, max(r.collect_peak, r.rerun_peak)


def targets(runs: list[Run], startup: float) -> list[str]:
    """The targets beside what this run measured, each judged from the figures."""
    big = next((r for r in runs if r.n >= 10_000), runs[-1])
    first, last = runs[0], runs[-1]
    growth = [(b - a) / 2**20 for a, b in zip(_peaks(first), _peaks(last), strict=True)]
    flat = len(runs) > 1 and all(
        b <= 1.1 * a for a, b in zip(_peaks(first), _peaks(last), strict=True)
    )
    rows = [
        (
            "generate ≥ 100 pairs/s",
            min(r.gen_rate for r in runs) >= 100,
            ", ".join(f"{r.gen_rate:.0f}" for r in runs),
        ),
        (
            "collect ≥ 150 files/s",
            min(min(r.col_rate, r.rerun_rate) for r in runs) >= 150,
            ", ".join(f"{r.col_rate:.0f} (again: {r.rerun_rate:.0f})" for r in runs),
        ),
        (
            f"peak memory ≤ 300 MB at {big.n:,}",
            max(_peaks(big)) <= 300 * 2**20,
            f"generate {mb(_peaks(big)[0])}, collect {mb(_peaks(big)[1])}",
        ),
        (
            "peak memory not growing with N (at most 10 % more at the largest N)",
            flat if len(runs) > 1 else None,
            f"from {first.n:,} to {last.n:,}: generate {growth[0]:+.0f} MB, "
            f"collect {growth[1]:+.0f} MB"
            if len(runs) > 1
            else "needs two sizes in one run, e.g. `make bench SIZES=1000,10000`",
        ),
        (
            "collecting again over the same files changes no answers or minutes",
            all(r.rerun_changes == 0 for r in runs),
            ", ".join(_changed(r) for r in runs),
        ),
        ("`musforms --help` ≤ 0.2 s", startup <= 0.2, f"{startup * 1000:.0f} ms"),
    ]
    verdict = {True: "yes", False: "**no**", None: "–"}
    return [
        "## Targets (2-core machine)",
        "",
        "| target | measured | met |",
        "| --- | --- | --- |",
        *(f"| {name} | {measured} | {verdict[ok]} |" for name, ok, measured in rows),
    ]


def _changed(r: Run) -> str:
    if not r.rerun_changed:
        return "none"
    return f"**{r.rerun_changes}** (first: {r.rerun_changed[0]})"


def report(runs: list[Run], startup: float, naive_limit: int) -> str:
    lines = [
        "# Benchmark results",
        "",
        "Written by `make bench` (`benchmarks/bench.py`). Built-in standard question set, "
        "every employee gets a PDF and a Word form, every form is filled with Danish answers "
        "and returned, collect reads all of them (both formats, so half are duplicates) and "
        "writes the responses, report, minutes, follow-up list and calendar; then it runs "
        "again over the same files, as HR does each morning while forms arrive.",
        "",
        "## Machine",
        "",
        *machine(),
        "",
        "## Figures",
        "",
        "| | " + " | ".join(f"N = {r.n:,}" for r in runs) + " |",
        "| --- | " + " | ".join("---" for _ in runs) + " |",
        "| generate: PDF+Word pairs per second | "
        + " | ".join(f"**{r.gen_rate:.0f}** ({r.generate_s:.1f} s)" for r in runs)
        + " |",
        "| generate, naive (new writer per form, 1 process) | "
        + " | ".join(f"{r.naive_gen_rate:.1f}" for r in runs)
        + " |",
        "| generate speed-up | "
        + " | ".join(f"{r.gen_rate / r.naive_gen_rate:.0f}×" for r in runs)
        + " |",
        "| collect: returned files per second | "
        + " | ".join(
            f"**{r.col_rate:.0f}** ({r.collect_files:,} files, {r.collect_s:.1f} s)" for r in runs
        )
        + " |",
        "| collect without the outputs: read, verify, write responses (files/s) | "
        + " | ".join(f"{r.read_rate:.0f} ({r.collect_s - r.outputs_s:.1f} s)" for r in runs)
        + " |",
        "| collect's outputs: minutes, follow-up list, calendar | "
        + " | ".join(f"{r.outputs_s:.1f} s ({r.n / r.outputs_s:.0f} employees/s)" for r in runs)
        + " |",
        "| collect, naive (pypdf `get_fields()` / python-docx loop, 1 process) | "
        + " | ".join(f"{r.naive_col_rate:.0f}" for r in runs)
        + " |",
        "| collect speed-up (reading, against the naive loop) | "
        + " | ".join(f"{r.read_rate / r.naive_col_rate:.1f}×" for r in runs)
        + " |",
        "| collect again, the same files (a morning's re-run): files per second | "
        + " | ".join(f"{r.rerun_rate:.0f} ({r.rerun_s:.1f} s)" for r in runs)
        + " |",
        "| … answers and minutes the re-run changed | "
        + " | ".join(_changed(r) for r in runs)
        + " |",
        "| peak memory, generate (main + workers) | "
        + " | ".join(mb(r.generate_peak) for r in runs)
        + " |",
        "| peak memory, collect (main + workers) | "
        + " | ".join(mb(_peaks(r)[1]) for r in runs)
        + " |",
        "| … while reading the files | " + " | ".join(mb(r.read_peak) for r in runs) + " |",
        "| … while writing the outputs | " + " | ".join(mb(r.outputs_peak) for r in runs) + " |",
        "| … collecting again | " + " | ".join(mb(r.rerun_peak) for r in runs) + " |",
        "| collected answers checked against what was typed | "
        + " | ".join(f"{r.checked} employees" for r in runs)
        + " |",
        "",
        f"`musforms --help` starts in **{startup * 1000:.0f} ms** (median of 9 runs).",
        "",
        *targets(runs, startup),
        "",
        "Notes:",
        "",
        f"- The naive rates are measured on the first {naive_limit} employees (and their "
        f"{2 * naive_limit} returned files) of each run; doing all of them the naive way "
        "would take hours at 10,000.",
        "- Peak memory is the largest sum of resident memory over the main process and its "
        "workers, sampled every 50 ms. Pages the forked workers share with the main process "
        "are counted once per process, so the true figure is lower.",
        "- Collect's time includes writing the minutes (one Word file per employee), the "
        "follow-up list and the calendar.",
    ]
    return "\n".join(lines) + "\n"


# Sections other tools write into RESULTS.md (benchmarks/soak.py, benchmarks/pages.py,
# benchmarks/rerun.py).
KEPT = (
    "## Fault injection",
    "## Reading flattened and printed forms",
    "## Collecting again: only what is new",
)


def kept_sections(path: Path) -> str:
    """The sections of ``path`` that bench.py does not write, to put back after its own."""
    if not path.exists():
        return ""
    text = path.read_text(encoding="utf-8")
    kept = []
    for heading in KEPT:
        start = text.find(f"\n{heading}")
        if start >= 0:
            end = text.find("\n## ", start + 1)
            kept.append(text[start + 1 : end + 1 if end >= 0 else len(text)].rstrip("\n"))
    return "".join(f"\n{section}\n" for section in kept)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,10000", help="roster sizes, e.g. 200,1000")
    parser.add_argument("--out", type=Path, default=ROOT / "bench-out")
    parser.add_argument("--workers", type=int, default=None)
    parser.add_argument("--naive", type=int, default=200, help="forms done the naive way")
    parser.add_argument("--results", type=Path, default=HERE / "RESULTS.md")
    parser.add_argument(
        "--keep", action="store_true", help="keep each size's forms and returned files"
    )
    parser.add_argument("--one", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        # One size in this process, its figures as JSON on the last line of stdout.
        result = run(args.one, args.out, args.workers, args.naive)
        print(json.dumps(asdict(result)))
        return
    sizes = [int(s) for s in args.sizes.split(",") if s.strip()]
    runs = []
    for n in sizes:
        # Each size in a fresh process: forked workers share their parent's pages, which the
        # memory figures count once per process, so a parent grown by an earlier size would
        # inflate a later one.
        cmd = [sys.executable, __file__, "--one", str(n), "--out", str(args.out)]
        cmd += ["--naive", str(args.naive)]
        if args.workers is not None:
            cmd += ["--workers", str(args.workers)]
        proc = subprocess.run(cmd, check=True, stdout=subprocess.PIPE, text=True)
        data = json.loads(proc.stdout.strip().splitlines()[-1])
        data["naive_gen"] = tuple(data["naive_gen"])
        data["naive_col"] = tuple(data["naive_col"])
        runs.append(Run(**data))
        if not args.keep:  # 50,000 employees leave some 18 GB of forms and returned files
            shutil.rmtree(args.out / str(n), ignore_errors=True)
    startup = cli_startup()
    text = report(runs, startup, args.naive) + kept_sections(args.results)
    args.results.write_text(text, encoding="utf-8")
    print(text)


if __name__ == "__main__":
    main()
