"""What reading a form from its pages costs, beside reading its fields.

Generates forms with the built-in standard question set, fills each in PDFium (the real
client, so every field has an appearance), flattens it with ``qpdf --flatten-annotations=all
--generate-appearances`` and prints it with ``pdftocairo -pdf``, then times ``read_pdf`` on
each (with the issued form to read by) and counts the answers read exactly, reported as not
readable, or wrong. Writes its section of benchmarks/RESULTS.md.

    .venv/bin/python benchmarks/pages.py --forms 12 --repeat 5
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(ROOT))

from fill import answers_for  # noqa: E402
from sections import replace_section  # noqa: E402

from musforms import fieldnames as fn  # noqa: E402
from musforms.formats import Issued  # noqa: E402
from musforms.generate import generate  # noqa: E402
from musforms.manifest import load_manifest  # noqa: E402
from musforms.pdf.reader import read_pdf  # noqa: E402
from musforms.questionset import load_question_set  # noqa: E402
from tests.clients.pdf import fill_pdfium  # noqa: E402

STANDARD = ROOT / "musforms" / "sets" / "standard.yaml"
HEADING = "## Reading flattened and printed forms"
WAYS: dict[str, list[str] | None] = {
    "fields (as filled)": None,
    "page (flattened)": ["qpdf", "--flatten-annotations=all", "--generate-appearances"],
    "page (printed)": ["pdftocairo", "-pdf"],
}


def _expected(answers: dict[str, Any], name: str) -> Any:
    value = answers.get(name)
    if value is None:
        return False if name in _CHECKBOXES else None
    return value


_CHECKBOXES: set[str] = set()


def run(forms: int, repeat: int, work: Path) -> dict[str, dict[str, float]]:
    qs = load_question_set(STANDARD)
    _CHECKBOXES.update(s.name for s in fn.all_fields(qs) if s.kind == "checkbox")
    roster = work / "roster.csv"
    rows = ["id,name,department,manager"]
    rows += [f"{9000 + i},Ansat {i} Ærø,Økonomi,Åse Østergård" for i in range(forms)]
    roster.write_text("\n".join(rows) + "\n", encoding="utf-8")
    out = work / "forms"
    generate(STANDARD, roster, out, "2026", formats=["pdf"], key_file=work / "key", workers=1)
    manifest = load_manifest(out)
    files: dict[str, list[tuple[Path, Path, dict[str, Any]]]] = {way: [] for way in WAYS}
    for entry in manifest.forms:
        issued = out / entry.files["pdf"]
        answers = answers_for(qs, entry.employee_id)
        filled = work / f"{entry.employee_id}-filled.pdf"
        fill_pdfium(issued, filled, answers)
        for way, command in WAYS.items():
            target = filled
            if command is not None:
                target = work / f"{entry.employee_id}-{command[0]}.pdf"
                subprocess.run([*command, str(filled), str(target)], capture_output=True)
            files[way].append((target, issued, answers))
    names = [s.name for s in fn.all_fields(qs)]
    results: dict[str, dict[str, float]] = {}
    for way, items in files.items():
        times: list[float] = []
        exact = unreadable = breaks = wrong = 0
        for path, issued, answers in items:

            def resolve(raw: Any, issued: Path = issued) -> Issued:
                return Issued(qs, "da", issued)

            for _ in range(repeat):
                started = time.perf_counter()
                raw = read_pdf(path, resolve)
                times.append(time.perf_counter() - started)
            notes = " ".join(raw.notes)
            for name in names:
                got, want = raw.fields.get(name), _expected(answers, name)
                named = f"question {name!r}" in notes or f"{name}'" in notes
                if got == want:
                    exact += 1
                elif got is None and named:
                    unreadable += 1
                elif (
                    isinstance(got, str)
                    and isinstance(want, str)
                    and got.split() == want.split()
                    and named
                    and "check its line breaks" in notes
                ):
                    breaks += 1  # a typed line break where the field wraps, said so
                else:
                    wrong += 1
        results[way] = {
            "median_ms": statistics.median(times) * 1000,
            "min_ms": min(times) * 1000,
            "exact": exact,
            "unreadable": unreadable,
            "breaks": breaks,
            "wrong": wrong,
            "values": len(items) * len(names),
        }
    return results


def section(results: dict[str, dict[str, float]], forms: int, repeat: int) -> str:
    cpu = platform.processor() or platform.machine()
    lines = [
        HEADING,
        "",
        "Written by `benchmarks/pages.py`. The built-in standard question set; "
        f"{forms} forms filled in PDFium (each with its own answers), read {repeat} times "
        "each in one process by `read_pdf` with the issued form to read by. A value is exact, "
        "not readable (null, with a note naming its question), exact but for a line break "
        "typed where the field wraps anyway (read as a space, with a note naming its "
        "question), or wrong.",
        "",
        f"- Machine: {os.cpu_count()} cores ({cpu}), Python {platform.python_version()} on "
        f"{platform.system()} {platform.release()}",
        f"- Date: {time.strftime('%Y-%m-%d')}",
        "",
        "| read by | ms per form (median) | (fastest) | values exact | not readable "
        "| line breaks to check | wrong |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for way, r in results.items():
        lines.append(
            f"| {way} | {r['median_ms']:.1f} | {r['min_ms']:.1f} | "
            f"{int(r['exact'])} of {int(r['values'])} | {int(r['unreadable'])} | "
            f"{int(r['breaks'])} | {int(r['wrong'])} |"
        )
    lines += [
        "",
        "Which library reads the page (measured once by hand, 2026-12-01, on the test suite's "
        "form of every question type: 14 text fields, filled in PDFium, poppler or pdf.js, "
        "flattened or printed; exact / wrong of 14, per file): PDFium's "
        "`get_text_bounded` over each field's rectangle 5–6 / 7–9; pypdf's `extract_text` "
        "with a visitor, each run placed by its matrices, 2–8 / 0–6; pdfminer.six's "
        "characters by their boxes 5–7 / 7–9; musforms' page reader (PDFium's characters by "
        "the text object that draws them, and its rendering for the boxes) 9–10 / 0, but 3 "
        "wrong on the copy printed from pdf.js, where poppler left letters out (that was "
        "before the form embedded its field font; it draws them now). The others fail on "
        "text a one-line "
        "field drew past its edge (hidden there, still in the page), which runs into the next "
        "field's rectangle.",
        "",
        "Reading the page renders every page twice (the returned one and the issued form, to "
        "see the marks in the boxes) and walks every character: it is the slow path, taken "
        "only for a file whose fields are gone.",
    ]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--forms", type=int, default=12)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--results", type=Path, default=HERE / "RESULTS.md")
    parser.add_argument("--no-write", action="store_true", help="leave RESULTS.md alone")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="musforms-pages-") as tmp:
        results = run(args.forms, args.repeat, Path(tmp))
    text = section(results, args.forms, args.repeat)
    print(text)
    if not args.no_write:
        replace_section(args.results, HEADING, text)


if __name__ == "__main__":
    main()
