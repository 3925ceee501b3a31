"""What ``musforms report`` costs at a large employer: time and peak memory at 10,000 and
50,000 employees. Writes its section of benchmarks/RESULTS.md.

Generating, filling and collecting 50,000 forms takes most of an hour, and the report reads
only what collect leaves, so the results folders are made directly: one response file per
employee who returned (85 %), report.json with the returned, the missing and those returned
blank, the forms folder's manifest.json with everyone, and the question set. Departments are
of 3 to 300 people (so some fall under the threshold), ten employees to a leader. Each size
is reported in a process of its own (``musforms report`` as HR runs it), its peak resident
memory from ``wait4``.

    .venv/bin/python benchmarks/report.py --sizes 10000,50000
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import shutil
import subprocess
import sys
import time
from pathlib import Path

import yaml

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))

from sections import replace_section  # noqa: E402

HEADING = "## The status report (musforms report)"
STANDARD = ROOT / "musforms" / "sets" / "standard.yaml"
WORDS = ["Budgettet kom i mål", "Mere tid til faglig sparring", "Ærligt talt: travlt",
         "Samarbejdet i teamet er godt", "Kursus i projektledelse"]  # fmt: skip


def _questions() -> tuple[dict, list[tuple[str, str, list]]]:
    data = yaml.safe_load(STANDARD.read_text(encoding="utf-8"))
    typed = []
    for section in data["sections"]:
        for q in section["questions"]:
            if q["type"] == "scale":
                scale = q.get("scale", {})
                typed.append(
                    (q["id"], "scale", list(range(scale.get("min", 1), scale.get("max", 5) + 1)))
                )
            elif q["type"] in ("choice", "multichoice"):
                typed.append((q["id"], q["type"], [o["id"] for o in q["options"]]))
            elif q["type"] in ("text", "textarea"):
                typed.append((q["id"], "text", []))
    return data, typed


def make_round(root: Path, size: int, seed: int = 1) -> tuple[Path, Path]:
    """results/<cycle> and forms/<cycle> of a round of ``size`` employees, written directly."""
    rnd = random.Random(seed)  # noqa: S311 (made-up figures, not secrets)
    data, typed = _questions()
    qs_id, version = data["id"], str(data["version"])
    results, forms = root / "results" / "2026", root / "forms" / "2026"
    (results / "responses").mkdir(parents=True)
    (results / "question_sets").mkdir()
    forms.mkdir(parents=True)
    shutil.copy(STANDARD, results / "question_sets" / "standard.yaml")
    departments: list[str] = []
    while sum(int(d.split("|")[1]) for d in departments) < size:
        departments.append(
            f"Afdeling {len(departments) + 1:04d} Ærø|{rnd.choice([3, 4, 12, 40, 90, 300])}"
        )
    people = []
    for d in departments:
        name, n = d.split("|")
        people += [name] * int(n)
    people = people[:size]
    returned, missing, notes, files = [], [], {}, []
    with (forms / "manifest.json").open("w", encoding="utf-8") as manifest:
        head = {"schema": "musforms/manifest/1", "cycle": "2026",
                "question_set": {"id": qs_id, "version": version, "digest": "0"}}  # fmt: skip
        manifest.write(json.dumps(head)[:-1])
        manifest.write(', "forms": [')
        for i, department in enumerate(people):
            eid = str(100000 + i)
            leader = f"Leder {i // 10:05d} Østergård"
            employee = {"id": eid, "name": f"Medarbejder {eid} Ærø", "department": department,
                        "manager": leader}  # fmt: skip
            form = {"form_id": f"F{eid}", "employee_id": eid, "files": {}, "employee": employee,
                    "question_set_digest": "sha256:0", "language": "da"}  # fmt: skip
            manifest.write(("," if i else "") + json.dumps(form, ensure_ascii=False))
            draw = rnd.random()
            if draw < 0.85:
                returned.append(eid)
                files.append({"file": f"svar/{eid}.pdf", "status": "ok", "employee_id": eid})
                answers: dict[str, object] = {}
                for qid, kind, values in typed:
                    if kind == "scale" or kind == "choice":
                        answers[qid] = rnd.choice(values)
                    elif kind == "multichoice":
                        answers[qid] = rnd.sample(values, k=min(2, len(values)))
                    else:
                        answers[qid] = f"{rnd.choice(WORDS)} ({eid})"
                response = {
                    "schema": "musforms/response/2", "employee": employee,
                    "form": {"form_id": f"F{eid}", "cycle": "2026",
                             "question_set": {"id": qs_id, "version": version}},
                    "answers": answers,
                    "agreements": [{"what": "Kursus", "owner": "Medarbejder",
                                    "due": f"2027-0{rnd.randint(1, 9)}-15"}],
                    "previous_agreements": [], "problems": [],
                }  # fmt: skip
                (results / "responses" / f"{eid}.json").write_text(
                    json.dumps(response, ensure_ascii=False), encoding="utf-8"
                )
            else:
                missing.append(eid)
                if draw > 0.98:
                    notes[eid] = "returned blank"
        manifest.write("]}\n")
    report = {"schema": "musforms/report/2", "cycle": "2026", "files": files,
              "returned": returned, "missing": missing, "missing_notes": notes}  # fmt: skip
    (results / "report.json").write_text(json.dumps(report), encoding="utf-8")
    return results, forms


def measure(results: Path, forms: Path) -> tuple[float, float, float, int]:
    """Seconds, CPU seconds, peak resident MB and the report's bytes of one
    ``musforms report`` run."""
    out = results.parent.parent / "report.html"
    start = time.perf_counter()
    proc = subprocess.Popen(
        [str(ROOT / ".venv" / "bin" / "musforms"), "report", str(results), "--forms", str(forms),
         "--out", str(out), "--today", "20-01-2027"],
        stdout=subprocess.DEVNULL,
    )  # fmt: skip
    _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - start
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"musforms report failed on {results}")
    cpu = usage.ru_utime + usage.ru_stime
    return seconds, cpu, usage.ru_maxrss / 1024, out.stat().st_size


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,50000")
    parser.add_argument("--work", type=Path, default=ROOT / "bench-out" / "report")
    parser.add_argument("--results", type=Path, default=HERE / "RESULTS.md")
    args = parser.parse_args()
    rows = []
    for size in (int(s) for s in args.sizes.split(",")):
        root = args.work / str(size)
        shutil.rmtree(root, ignore_errors=True)
        start = time.perf_counter()
        results, forms = make_round(root, size)
        made = time.perf_counter() - start
        load = os.getloadavg()[0]
        seconds, cpu_s, peak, size_bytes = measure(results, forms)
        print(f"{size}: made in {made:.0f} s; report {seconds:.1f} s ({cpu_s:.1f} s CPU, load "
              f"{load:.1f}), {peak:.0f} MB peak, {size_bytes / 1e6:.1f} MB file")  # fmt: skip
        rows.append(f"| {size:,} | {seconds:.1f} s | {cpu_s:.1f} s | {load:.1f} | {peak:.0f} MB "
                    f"| {size_bytes / 1e6:.1f} MB |")  # fmt: skip
        shutil.rmtree(root, ignore_errors=True)
    cpu = platform.processor() or platform.machine()
    text = "\n".join([
        HEADING, "",
        f"`python benchmarks/report.py --sizes {args.sizes}` "
        f"({time.strftime('%Y-%m-%d')}). Machine: {os.cpu_count()} cores ({cpu}), Python "
        f"{platform.python_version()}, shared with other work while measuring (the load "
        "average before each run is in the table: the CPU time is the figure to compare).", "",
        "The results folders are made directly by the benchmark, not by generate and collect "
        "(which take most of an hour at 50,000): a response file for each of the 85 % who "
        "returned (the standard question set's scale, choice and text answers, one agreement), "
        "report.json with the returned, missing and blank, the forms folder's manifest.json "
        "with everyone. Departments of 3 to 300 people, ten employees to a leader. One "
        "`musforms report` process per size, grouped by department; peak resident memory from "
        "wait4.", "",
        "| employees | time | CPU time | load before | peak memory | report.html |",
        "| ---: | ---: | ---: | ---: | ---: | ---: |",
        *rows, "",
        "Memory stays flat: the people wait in a scratch SQLite database, the responses are "
        "read one at a time, and only counters (per group and answer, per leader) are held; "
        "most of the peak is Python, pydantic and matplotlib themselves.", "",
    ])  # fmt: skip
    replace_section(args.results, HEADING, text)


if __name__ == "__main__":
    main()
