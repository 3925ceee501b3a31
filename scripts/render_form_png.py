"""Render page 1 of a generated PDF form to docs/form-page1.png (shown in the README).

    .venv/bin/python scripts/render_form_png.py [--out docs/form-page1.png] [--dpi 80]

Uses the built-in standard question set and a made-up employee; needs pdftoppm
(poppler-utils, installed by `make clients`).
"""

from __future__ import annotations

import argparse
import datetime as dt
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from musforms.formdata import make_form_data
from musforms.models import Agreement, Employee, Organisation
from musforms.pdf.writer import write_pdf
from musforms.questionset import builtin_sets, load_question_set

ROOT = Path(__file__).resolve().parents[1]
# A fixed key only so the picture (its form code) is the same on every run.
DEMO_KEY = b"musforms demo key: not for real forms"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "form-page1.png")
    parser.add_argument("--dpi", type=int, default=80)
    args = parser.parse_args()
    if shutil.which("pdftoppm") is None:
        print("pdftoppm is missing: run `make clients` (poppler-utils)", file=sys.stderr)
        return 1
    qs = load_question_set(builtin_sets()["standard"])
    employee = Employee(
        id="1042",
        name="Søren Ærø",
        department="Økonomi",
        manager="Åse Østergård",
        meeting_date=dt.date(2027, 1, 14),
        language="da",
    )
    previous = [
        Agreement(what="Kursus i Excel (videregående)", owner="Søren", due=dt.date(2026, 6, 1)),
        Agreement(what="Mentorordning med en erfaren kollega", owner="Åse"),
    ]
    form = make_form_data(
        qs,
        employee,
        key=DEMO_KEY,
        cycle="2026",
        organisation=Organisation(name="Eksempel Kommune"),
        previous=previous,
    )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        pdf = Path(tmp) / "form.pdf"
        write_pdf(form, pdf)
        stem = Path(tmp) / "page"
        page1 = ["-f", "1", "-l", "1", "-singlefile"]
        subprocess.run(
            ["pdftoppm", "-png", "-r", str(args.dpi), *page1, str(pdf), str(stem)], check=True
        )
        shutil.copyfile(stem.with_suffix(".png"), args.out)
    print(args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
