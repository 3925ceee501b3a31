"""Remake samples/returned/: the sample round's forms filled by real clients.

pdf.js, PDFium, poppler and LibreOffice fill forms generated from config/questions.yaml and
samples/roster.csv, signed with samples/demo.key (a key for the fictional samples only —
never use it for real forms). The result, with a duplicate, a printed copy, a tampered form
and a few foreign files, is what `make demo` collects.

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


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="musforms-samples-") as tmp:
        try:
            made = scenario.build(Path(tmp), KEY)
        finally:
            stop_libreoffice()
        if TARGET.exists():
            shutil.rmtree(TARGET)
        TARGET.mkdir(parents=True)
        lines = ["# What is in samples/returned/", "", "| file | what it is |", "| --- | --- |"]
        for name, what in sorted(made.files.items()):
            shutil.copy2(made.returned / name, TARGET / name)
            lines.append(f"| {name} | {what} |")
        (ROOT / "samples" / "RETURNED.md").write_text("\n".join(lines) + "\n", encoding="utf-8")
    print(f"wrote {len(made.files)} files to {TARGET}")


if __name__ == "__main__":
    main()
