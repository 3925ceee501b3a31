"""Remake samples/returned/: the sample round's forms filled by real clients.

pdf.js, PDFium, poppler and LibreOffice fill forms generated from config/questions.yaml and
samples/roster.csv, signed with samples/demo.key (a key for the fictional samples only —
never use it for real forms). The result, with a duplicate, a printed copy, a tampered form
and a few foreign files, is what `make demo` collects. samples/RETURNED.md lists each file
with the status it must get (EXPECTED_STATUS in tests/clients/scenario.py).

Run after changing the standard question set or the form writers:
    .venv/bin/python scripts/make_sample_returns.py
"""

from __future__ import annotations

import shutil
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.clients import scenario  # noqa: E402
from tests.clients.word import stop_libreoffice  # noqa: E402

TARGET = ROOT / "samples" / "returned"
KEY = ROOT / "samples" / "demo.key"
HEAD = [
    "# What is in samples/returned/",
    "",
    "`make demo` collects these files and fails unless each gets the status in the last",
    "column (scripts/check_samples.py; tests/test_samples.py checks the same). Of two",
    "identical files, the first in name order is used and the other is a duplicate.",
    "",
]


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="musforms-samples-") as tmp:
        try:
            made = scenario.build(Path(tmp), KEY)
        finally:
            stop_libreoffice()
        if TARGET.exists():
            shutil.rmtree(TARGET)
        TARGET.mkdir(parents=True)
        if sorted(made.files) != sorted(scenario.EXPECTED_STATUS):
            raise SystemExit("tests/clients/scenario.py: EXPECTED_STATUS and the files differ")
        lines = [*HEAD, "| file | what it is | status |", "| --- | --- | --- |"]
        for name, what in sorted(made.files.items()):
            shutil.copy2(made.returned / name, TARGET / name)
            lines.append(f"| {name} | {what} | {scenario.EXPECTED_STATUS[name]} |")
        (ROOT / "samples" / "RETURNED.md").write_text("\n".join(lines) + "\n", encoding="utf-8")
    print(f"wrote {len(made.files)} files to {TARGET}")


if __name__ == "__main__":
    main()
