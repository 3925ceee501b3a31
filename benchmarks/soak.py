"""The long fault-injection run: hundreds of random faults on a round of 1,000 employees.

Kills of collect, generate and purge at random moments, two commands at once, a full or
read-only results disk, a full TMPDIR, copies beside returns and a wrong key (the kinds in
tests/faults.py), each followed by the re-run HR would do and compared with a clean run.
Writes its figures into the "Fault injection" section of benchmarks/RESULTS.md (the rest of
the file is kept) and exits 1 when any case failed; every failing case is printed with its
seed and a command that runs it alone again.

    make soak                                             # 200 faults, 1,000 employees
    make soak FAULTS=500
    .venv/bin/python benchmarks/soak.py --employees 200 --faults 30 --no-write
    .venv/bin/python benchmarks/soak.py --seed 2026 --employees 1000 --only kill_collect#3

Needs root (tmpfs mounts). About 15–25 s per fault on two cores at 1,000 employees.
"""

from __future__ import annotations

import argparse
import itertools
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))

from sections import replace_section  # noqa: E402

from tests import faults  # noqa: E402

HEADING = "## Fault injection (make soak)"

COLUMNS = (
    ("cases", "cases"),
    ("faults", "faults injected"),
    ("bit", "took effect"),
    ("compared", "runs compared with a clean run"),
    ("lost", "answers lost"),
    ("leftovers", "leftover private files"),
    ("survivors", "surviving processes"),
    ("failed", "cases failed"),
)
EXPLAINED = {
    "kill_collect": "SIGKILL of `musforms collect` (once or twice), then collect again",
    "kill_generate": "SIGKILL of `musforms generate` (first issue or issuing again), then again",
    "kill_purge": "SIGKILL of `musforms purge`, then purge again",
    "two_collects": "two collects into one results folder at once",
    "purge_during_collect": "a purge while a collect runs",
    "full_results": "the results folder's disk fills up (tmpfs), then has room again",
    "full_tmpdir": "TMPDIR is full (tmpfs): collect keeps nothing there, so runs as if it had room",
    "readonly_results": "the results folder is read-only (before or during the run)",
    "copies": "identical, blank and truncated copies beside collected returns",
    "wrong_key": "collect with another installation's key, then the right one",
}


def say(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def cases(lab: faults.Lab, only: str | None) -> Iterator[tuple[str, int]]:
    if only:
        kind, _, index = only.partition("#")
        yield kind, int(index or 0)
        return
    size = len(faults.KINDS)
    for block in itertools.count():
        yield from lab.plan(size * (block + 1))[size * block :]


def section(
    outcomes: list[faults.Outcome], args: argparse.Namespace, lab: faults.Lab, seconds: float
) -> str:
    table = faults.summary(outcomes)
    total = {key: sum(row[key] for row in table.values()) for key, _ in COLUMNS}
    machine = faults.machine()
    files = sum(len(fs) for fs in lab.round.files.values())
    commit = _git("rev-parse", "--short", "HEAD")
    lines = [
        HEADING,
        "",
        "Written by `make soak` (`benchmarks/soak.py`; the short run of the same cases is "
        "`tests/test_faults.py` in `make test`). Each case takes a clean history of the round "
        "(waves of returns arriving, collect after each), injects one fault into real "
        "subprocesses of the installed CLI, runs the command again as HR would, and compares "
        "with the same history run without the fault: responses/*.json and responses.json "
        "byte for byte, report.json's returned and missing lists and each file's status, the "
        "minutes' text, agreements.csv and the list of files in the results folder; answers "
        "collected before must be as they were right after the fault and after the re-run; no "
        "temporary file or scratch database may be left in the results folder, the forms "
        "folder or the run's TMPDIR, and no process of a killed or failed run may outlive it.",
        "",
        "### Machine",
        "",
        f"- CPU: {machine['cpu']}, {machine['cores']} cores",
        f"- Memory: {machine['memory']}",
        f"- Python {machine['python']} on {machine['system']}",
        f"- Date: {machine['date']}; musforms at commit {commit}",
        "",
        "### Figures",
        "",
        f"Round: {lab.round.employees:,} employees, {files:,} returned files in "
        f"{lab.waves} waves, seed {args.seed}; {len(outcomes)} cases in "
        f"{seconds / 60:.0f} minutes, {len(lab.refs)} clean histories computed once each.",
        "",
        "| fault | " + " | ".join(title for _, title in COLUMNS) + " |",
        "| --- |" + " ---: |" * len(COLUMNS),
    ]
    for kind in faults.KINDS:
        if kind in table:
            row = table[kind]
            cells = " | ".join(f"{row[key]:,}" for key, _ in COLUMNS)
            lines.append(f"| {EXPLAINED[kind]} | {cells} |")
    cells = " | ".join(f"**{total[key]:,}**" for key, _ in COLUMNS)
    lines += [f"| all | {cells} |", ""]
    lines += [
        '"Took effect": the run was killed before it ended, failed on the full or '
        "read-only disk, or overlapped the other run; a fault that came too late still has "
        'its re-run compared. "Answers lost": employees whose answers, on record before the '
        "fault or in the clean run, were missing or changed after it (must be 0). Python's "
        "own multiprocessing folders (pymp-*, a socket) and empty probe files (what "
        "`tempfile.gettempdir()` writes and removes once) left in TMPDIR by a killed run: "
        f"{sum(len(o.other_tmp) for o in outcomes)} (not counted as leftovers).",
        "",
    ]
    failed = [o for o in outcomes if o.problems]
    if failed:
        lines += ["### What failed", ""]
        lines.append(
            "The first cases of each kind that failed, with their first problems (all of them: "
            "`soak-out/failures.txt`). Replay one with "
            f"`.venv/bin/python benchmarks/soak.py --seed {args.seed} --employees "
            f"{args.employees} --waves {args.waves} --only <case>`."
        )
        lines.append("")
        for kind in faults.KINDS:
            mine = [o for o in failed if o.kind == kind]
            for o in mine[:3]:
                lines.append(f"- `{o.name}` ({o.settings()}):")
                lines += [f"  - {_short(p)}" for p in o.problems[:3]]
            if len(mine) > 3:
                lines.append(f"- … and {len(mine) - 3} more `{kind}` cases")
        lines.append("")
    else:
        lines += ["No case failed.", ""]
    return "\n".join(lines)


def _short(text: str, limit: int = 400) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _git(*args: str) -> str:
    done = subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True, check=False)
    return done.stdout.strip() or "unknown"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--employees", type=int, default=1000)
    parser.add_argument("--faults", type=int, default=200, help="faults to inject, at least")
    parser.add_argument("--waves", type=int, default=3)
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--only", help="one case alone, e.g. kill_collect#3")
    parser.add_argument("--work", type=Path, default=ROOT / "soak-out")
    parser.add_argument("--results", type=Path, default=HERE / "RESULTS.md")
    parser.add_argument("--no-write", action="store_true", help="leave RESULTS.md alone")
    parser.add_argument("--keep", action="store_true", help="keep the round and every case")
    args = parser.parse_args()

    shutil.rmtree(args.work, ignore_errors=True)
    args.work.mkdir(parents=True)
    why = faults.can_mount(args.work)
    if why:
        say(f"soak: {why}")
        return 2
    started = time.monotonic()
    outcomes: list[faults.Outcome] = []
    lab = faults.Lab(
        args.work / "lab",
        seed=args.seed,
        employees=args.employees,
        waves=args.waves,
        keep_failed=args.keep,
    )
    say(f"soak: building a round of {args.employees} employees (seed {args.seed})")
    # SIGTERM ends the run as Ctrl-C does: the case's disks are unmounted and its commands
    # stopped on the way out, and the figures of the cases that ran are still printed.
    signal.signal(signal.SIGTERM, _interrupt)
    interrupted = False
    with lab:
        say(f"soak: round ready after {time.monotonic() - started:.0f} s")
        for kind, index in cases(lab, args.only):
            try:
                out = lab.run_case(kind, index)
            except KeyboardInterrupt:
                say("soak: interrupted; the cases that ran are summed up, nothing is written")
                interrupted = True
                break
            outcomes.append(out)
            injected = sum(o.faults for o in outcomes)
            failed = sum(bool(o.problems) for o in outcomes)
            say(
                f"{out.name}: {'FAIL' if out.problems else 'ok'} ({out.seconds:.0f} s); "
                f"{injected} faults, {failed} cases failed, "
                f"{(time.monotonic() - started) / 60:.0f} min"
            )
            if args.only or injected >= args.faults:
                break
    seconds = time.monotonic() - started
    failed_cases = [o for o in outcomes if o.problems]
    report = "\n\n".join(o.describe() for o in failed_cases)
    (args.work / "failures.txt").write_text(report + "\n", encoding="utf-8")
    text = section(outcomes, args, lab, seconds)
    print(text)
    if report:
        print(report)
    if not args.no_write and not args.only and not interrupted:
        replace_section(args.results, HEADING, text)
        say(f"soak: figures written to {args.results}")
    if not args.keep:
        shutil.rmtree(args.work / "lab", ignore_errors=True)
    return 1 if failed_cases or interrupted else 0


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


if __name__ == "__main__":
    sys.exit(main())
