"""Remake samples/konklusion/: the sample round's conclusion forms filled in LibreOffice.

Generates the sample round's forms (config/questions.yaml, samples/roster.csv, signed with
samples/demo.key), collects samples/returned/ as `make demo` does, and fills the conclusion
forms collect issues, as leaders and employees would after the conversation: one approved by
both, one returned without the approvals, two for one employee, and one whose copy of the
preparation was edited. samples/KONKLUSION.md lists each file with the status it must get.

A conclusion form is signed over the preparation it shows, so run this again after
remaking samples/returned/ (scripts/make_sample_returns.py) or changing the standard
question set:
    .venv/bin/python scripts/make_sample_conclusions.py
"""

from __future__ import annotations

import shutil
import sys
import tempfile
import time
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from musforms.collect import collect  # noqa: E402
from musforms.docx.reader import read_docx  # noqa: E402
from musforms.generate import generate  # noqa: E402
from tests.clients.word import fill_libreoffice, stop_libreoffice  # noqa: E402

TARGET = ROOT / "samples" / "konklusion"
LISTING = ROOT / "samples" / "KONKLUSION.md"
KEY = ROOT / "samples" / "demo.key"
HEAD = [
    "# What is in samples/konklusion/",
    "",
    "The conclusion forms of the sample round, filled in LibreOffice after the conversations.",
    "`make demo` collects them with samples/returned/ and fails unless each gets the status",
    "in the last column in `results/2026/conclusions/report.json` (scripts/check_samples.py;",
    "tests/test_samples.py checks the same). Remake them with",
    "`scripts/make_sample_conclusions.py` whenever samples/returned/ is remade.",
    "",
]
APPROVED = {
    "godkendt_medarbejder": True,
    "dato_medarbejder": "20-01-2027",
    "godkendt_leder": True,
    "dato_leder": "2027-01-21",
}


def _free_row(form: Path) -> int:
    """The first row of the agreements table the employee's proposals left empty."""
    fields = read_docx(form).fields
    row = 1
    while fields.get(f"aftaler__{row}__what"):
        row += 1
    return row


def _conclusion(form: Path, text: str, new: str, *, approved: bool = True) -> dict[str, object]:
    row = _free_row(form)
    values: dict[str, object] = {
        "konklusion": text,
        f"aftaler__{row}__what": new,
        f"aftaler__{row}__owner": "Åse Østergård",
        f"aftaler__{row}__due": "2027-04-01",
    }
    return {**values, **(APPROVED if approved else {})}


def _edit_preparation(src: Path, dst: Path) -> None:
    """``src`` with a word of the locked preparation changed, as an editor that ignores the
    lock would."""
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w", zipfile.ZIP_DEFLATED) as zout:
        for item in zin.infolist():
            data = zin.read(item.filename)
            if item.filename == "word/document.xml":
                text = data.decode("utf-8")
                control = text.index('w:val="mf_preparation"')
                content = text.index("<w:sdtContent>", control)
                word = text.index(">", text.index("<w:t", content)) + 1
                data = (text[:word] + "IKKE " + text[word:]).encode("utf-8")
            zout.writestr(item, data)


def _saved_later(path: Path) -> None:
    while int(time.time()) <= int(path.stat().st_mtime):
        time.sleep(0.1)


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="musforms-samples-") as tmp:
        root = Path(tmp)
        key = root / "demo.key"
        shutil.copyfile(KEY, key)
        key.chmod(0o600)
        forms = root / "forms" / "2026"
        roster = ROOT / "samples" / "roster.csv"
        generate(ROOT / "config" / "questions.yaml", roster, forms, "2026", key_file=key)
        results = root / "results" / "2026"
        collect([ROOT / "samples" / "returned"], forms, results, roster=roster, key_file=key)
        issued = results / "conclusions"

        def form(eid: str) -> Path:
            return next(issued.glob(f"{eid}-*.docx"))

        out = root / "konklusion"
        out.mkdir()
        made: dict[str, tuple[str, str]] = {}
        try:
            name = "1042 konklusion (udfyldt).docx"
            values = _conclusion(
                form("1042"),
                "Vi drøftede året og arbejdsmængden.\nSøren tager Excel-kurset i foråret.",
                "Fast sparring hver anden uge",
            )
            fill_libreoffice(form("1042"), out / name, values)
            made[name] = ("1042's conclusion, approved by both", "ok")

            name = "Mette referat uden godkendelse.docx"
            values = _conclusion(
                form("1043"), "Vi aftalte at vente med kurset.", "Ny snak i juni", approved=False
            )
            fill_libreoffice(form("1043"), out / name, values)
            made[name] = ("1043's conclusion, returned without the approvals", "ok")

            first, second = "1045 konklusion første.docx", "1045 konklusion rettet.docx"
            values = _conclusion(form("1045"), "Første udgave.", "Mentor fra IT")
            fill_libreoffice(form("1045"), out / first, values)
            made[first] = ("1045's first conclusion (older, other agreements)", "superseded")
            _saved_later(out / first)
            values = _conclusion(form("1045"), "Rettet udgave — æøå.", "Mentor fra økonomi")
            fill_libreoffice(form("1045"), out / second, values)
            made[second] = ("1045's second conclusion (newer): counts", "ok")

            name = "Jens konklusion - rettet forberedelse.docx"
            filled = root / "jens.docx"
            fill_libreoffice(form("1044"), filled, _conclusion(form("1044"), "OK.", "Kursus"))
            _edit_preparation(filled, out / name)
            made[name] = ("1044's conclusion with the locked preparation edited", "rejected")
        finally:
            stop_libreoffice()
        if TARGET.exists():
            shutil.rmtree(TARGET)
        TARGET.mkdir(parents=True)
        lines = [*HEAD, "| file | what it is | status |", "| --- | --- | --- |"]
        for name, (what, status) in sorted(made.items()):
            shutil.copy2(out / name, TARGET / name)
            lines.append(f"| {name} | {what} | {status} |")
        LISTING.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print(f"wrote {len(made)} files to {TARGET}")


if __name__ == "__main__":
    main()
