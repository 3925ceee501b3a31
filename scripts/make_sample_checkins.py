"""Remake samples/checkins/: the sample round's check-in forms filled by real clients.

The sample round is generated and collected as `make demo` does it (config/questions.yaml,
samples/roster.csv, samples/returned/ and then samples/konklusion/ with it, signed with
samples/demo.key — a key for the fictional samples only), then `generate --followup`
writes its check-in forms, and pdf.js and LibreOffice fill them. `make demo` collects the
result into the round's results folder; samples/CHECKINS.md lists each file with the status
it must get.

Run after changing samples/returned/ or samples/konklusion/, the check-in question set or
the form writers:
    .venv/bin/python scripts/make_sample_checkins.py
"""

from __future__ import annotations

import shutil
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from musforms.collect import collect  # noqa: E402
from musforms.generate import generate, generate_followup  # noqa: E402
from musforms.manifest import load_manifest  # noqa: E402
from tests.clients.pdf import fill_pdfjs  # noqa: E402
from tests.clients.word import fill_libreoffice, stop_libreoffice  # noqa: E402

TARGET = ROOT / "samples" / "checkins"
KEY = ROOT / "samples" / "demo.key"
ROSTER = ROOT / "samples" / "roster.csv"
CYCLE = "2026"

# Each check-in: the file it is returned as, who fills it how, what it is, its status, and
# the values typed (prev_status__<row>, prev_comment__<row>, the set's own questions).
CHECKINS: list[tuple[str, str, str, str, str, dict[str, str | bool]]] = [
    (
        "Opfølgning Søren.pdf",
        "1042",
        "pdf",
        "1042's check-in filled in Firefox (pdf.js)",
        "ok",
        {
            "prev_status__1": "done",
            "prev_comment__1": "Bestået i marts.\nDashboardet bruges nu på månedsmødet.",
            "prev_status__2": "in_progress",
            "prev_comment__2": "Vi har mødtes tre gange; næste gang i maj på Ærø.",
            "brug_for": "Tid i kalenderen til at øve Power BI på rigtige data.",
        },
    ),
    (
        "Anne-Mette opfølgning (udfyldt).docx",
        "1045",
        "docx",
        "1045's check-in filled in LibreOffice (Word)",
        "ok",
        {
            "prev_status__1": "not_started",
            "prev_comment__1": "Kurset er flyttet til efteråret.\nJeg er tilmeldt.",
            "snak": True,
        },
    ),
]
HEAD = [
    "# What is in samples/checkins/",
    "",
    "The sample round's check-in forms (`musforms generate --followup`), filled by real",
    "clients. `make demo` collects them into the round's results folder and fails unless each",
    "gets the status in the last column (scripts/check_samples.py). Made by",
    "scripts/make_sample_checkins.py.",
    "",
]


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="musforms-checkins-") as tmp:
        root = Path(tmp)
        key = root / "demo.key"
        shutil.copyfile(KEY, key)
        key.chmod(0o600)
        forms = root / "forms" / CYCLE
        generate(ROOT / "config" / "questions.yaml", ROSTER, forms, CYCLE, key_file=key)
        results = root / "results" / CYCLE
        returned = ROOT / "samples" / "returned"
        collect([returned], forms, results, roster=ROSTER, key_file=key)
        # Then with the conversations' conclusions, as make demo does: their agreed
        # agreements are the ones the check-ins ask about.
        conclusions = ROOT / "samples" / "konklusion"
        collect([returned, conclusions], forms, results, roster=ROSTER, key_file=key)
        checkins = root / "forms" / f"{CYCLE}-opfoelgning"
        generate_followup(results, checkins, key_file=key)
        issued = {f.employee_id: f for f in load_manifest(checkins).forms}
        if TARGET.exists():
            shutil.rmtree(TARGET)
        TARGET.mkdir(parents=True)
        lines = [*HEAD, "| file | what it is | status |", "| --- | --- | --- |"]
        try:
            for name, eid, fmt, what, status, values in CHECKINS:
                form = checkins / issued[eid].files[fmt]
                if fmt == "pdf":
                    fill_pdfjs(form, TARGET / name, values)
                else:
                    fill_libreoffice(form, TARGET / name, values)
                lines.append(f"| {name} | {what} | {status} |")
        finally:
            stop_libreoffice()
        (ROOT / "samples" / "CHECKINS.md").write_text("\n".join(lines) + "\n", encoding="utf-8")
    print(f"wrote {len(CHECKINS)} files to {TARGET}")


if __name__ == "__main__":
    main()
