"""generate stopped part way, by a kill, Ctrl-C or a full disk: each form is issued whole
(its files and its manifest entry) or not at all, and the next run says what it completed.

collect refuses a form that manifest.json does not list ("not issued in this round"), so a
form on disk without its entry is a form that will be sent and then rejected.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

import musforms.generate
from musforms.cli import cli
from musforms.collect import collect
from musforms.generate import generate
from musforms.manifest import load_manifest
from tests.mounts import fill, tmpfs

ROOT = Path(__file__).resolve().parents[1]
QUESTIONS = ROOT / "config" / "questions.yaml"
PENDING = re.compile(r"\.(?P<final>.+)\.[0-9a-f]{12}\.pending")
MANY = 160  # enough forms that a run is still under way when it is killed


def _roster(folder: Path, ids: range | list[int], name: str = "roster.csv") -> Path:
    path = folder / name
    rows = "".join(f"{i};Person {i};Afdeling {i % 4};Leder {i % 3}\r\n" for i in ids)
    path.write_text("id;navn;afdeling;leder\r\n" + rows, encoding="utf-8")
    return path


def _forms_on_disk(forms: Path) -> list[Path]:
    """The form files HR would mail: every PDF and Word file in the folder."""
    return sorted(p for p in forms.iterdir() if p.suffix in (".pdf", ".docx"))


def _pending(forms: Path) -> list[str]:
    return sorted(p.name for p in forms.iterdir() if PENDING.fullmatch(p.name))


def _unknown(forms: Path, out: Path, key_file: Path) -> list[str]:
    """The form files on disk that collect rejects as never issued (the report's reasons)."""
    files = _forms_on_disk(forms)
    assert files
    collect(files, forms, out, key_file=key_file, workers=1)
    report = json.loads((out / "report.json").read_text(encoding="utf-8"))
    assert len(report["files"]) == len(files)
    return [
        f"{Path(e['file']).name}: {e.get('reason')}"
        for e in report["files"]
        if e["status"] == "rejected"
    ]


def _employee(final: str) -> int:
    return int(final.split("-", 1)[0])


def test_a_killed_generate_leaves_no_form_collect_would_reject(
    tmp_path: Path, key_file: Path
) -> None:
    """A real SIGKILL of `musforms generate` (and its workers) while it writes forms; then
    every form file on disk is one manifest.json lists; the next run (with one employee fewer
    on the roster) says which forms it completed and which it removed; and collect rejects
    none of the forms then on disk."""
    forms = tmp_path / "forms"
    generate(QUESTIONS, _roster(tmp_path, range(1, 6), "first.csv"), forms, "2026")
    first = {p.name for p in _forms_on_disk(forms)}

    roster = _roster(tmp_path, range(1, MANY + 1))
    args = ["-q", str(QUESTIONS), "-r", str(roster), "-o", str(forms), "--cycle", "2026"]
    run = subprocess.Popen(
        [sys.executable, "-m", "musforms", "generate", *args, "--workers", "2"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,  # its own process group: the workers are killed with it
    )
    try:
        while run.poll() is None and len(list(forms.iterdir())) < len(first) + 40:
            time.sleep(0.02)
    finally:
        os.killpg(run.pid, signal.SIGKILL)
        run.wait()
    assert run.returncode == -signal.SIGKILL, "generate finished before it could be killed"

    # Killed: whatever it had written, no form file is one the manifest does not list.
    assert _unknown(forms, tmp_path / "results-killed", key_file) == []
    left = _pending(forms)
    assert left, "the killed run left no unfinished forms to complete"
    finals = {PENDING.fullmatch(name)["final"] for name in left}  # type: ignore[index]
    dropped = max(_employee(f) for f in finals)  # no longer on the roster next time
    assert dropped > 5

    again = _roster(tmp_path, [i for i in range(1, MANY + 1) if i != dropped], "again.csv")
    args = ["-q", str(QUESTIONS), "-r", str(again), "-o", str(forms), "--cycle", "2026"]
    result = CliRunner().invoke(cli, ["generate", *args])
    assert result.exit_code == 0, result.output
    completed = sorted(f for f in finals if _employee(f) != dropped)
    removed = sorted(f for f in finals if _employee(f) == dropped)
    said = result.stdout
    files = {1: "form file"}
    assert (
        f"  Completed {len(completed)} {files.get(len(completed), 'form files')} that an "
        "interrupted run had left unfinished: " in said
    ), said
    assert all(name in said for name in completed[:20])
    assert (
        f"  Removed {len(removed)} unfinished {files.get(len(removed), 'form files')} that an "
        "interrupted run had left, "
        f"never issued and of employees no longer on the roster: {', '.join(removed)}\n"
    ) in said, said

    assert _pending(forms) == []
    assert not any(p.name.startswith(f"{dropped}-") for p in forms.iterdir())
    issued = {f.employee_id for f in load_manifest(forms).forms}
    assert issued == {str(i) for i in range(1, MANY + 1) if i != dropped}
    assert _unknown(forms, tmp_path / "results", key_file) == []


def test_a_run_stopped_while_naming_its_forms_is_completed_next_time(
    tmp_path: Path, key_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Stopped after manifest.json lists its forms, while their files get their names: the
    next run gives those files their names even for employees it does not issue again (their
    entries are in manifest.json), and says so."""
    forms = tmp_path / "forms"
    entries = musforms.generate._Spool.issued_entries

    def stopped_after_two(self: musforms.generate._Spool) -> object:
        for n, entry in enumerate(entries(self)):
            if n == 2:
                raise KeyboardInterrupt
            yield entry

    args = ["-q", str(QUESTIONS), "-r", str(_roster(tmp_path, range(1, 7))), "-o", str(forms)]
    with monkeypatch.context() as patched:
        patched.setattr(musforms.generate._Spool, "issued_entries", stopped_after_two)
        result = CliRunner().invoke(cli, ["generate", *args, "--cycle", "2026", "--format", "pdf"])
    assert result.exit_code == 130
    assert result.stderr == (
        f"Stopped. musforms generate stopped part way: manifest.json in {forms} lists the 6 "
        "forms of this run, but some of their files still wait under a hidden name. To "
        "finish the job, run the same generate again: it gives them their names first.\n"
    )
    assert len(_forms_on_disk(forms)) == 2 and len(_pending(forms)) == 4

    # The next run issues forms to two others only; the four waiting get their names.
    args = [
        "-q",
        str(QUESTIONS),
        "-r",
        str(_roster(tmp_path, [7, 8], "more.csv")),
        "-o",
        str(forms),
    ]
    result = CliRunner().invoke(cli, ["generate", *args, "--cycle", "2026", "--format", "pdf"])
    assert result.exit_code == 0, result.output
    assert (
        "  Completed 4 form files that an interrupted run had left unfinished: "
        "3-person-3.pdf, 4-person-4.pdf, 5-person-5.pdf, 6-person-6.pdf\n"
    ) in result.stdout
    assert _pending(forms) == [] and len(_forms_on_disk(forms)) == 8
    assert _unknown(forms, tmp_path / "results", key_file) == []


def test_a_full_disk_while_generating_issues_no_form(tmp_path: Path, key_file: Path) -> None:
    """On a real full disk the forms begun are removed again, manifest.json and the forms
    issued before are as they were, and the message says so."""
    with tmpfs(tmp_path / "disk", "4m") as disk:
        forms = disk / "forms"
        generate(QUESTIONS, _roster(tmp_path, range(1, 4), "first.csv"), forms, "2026")
        before = {p.name: p.read_bytes() for p in forms.iterdir() if p.is_file()}
        fill(disk, 600_000)
        args = ["-q", str(QUESTIONS), "-r", str(_roster(tmp_path, range(1, 41))), "-o", str(forms)]
        result = CliRunner().invoke(cli, ["generate", *args, "--cycle", "2026"])
        assert result.exit_code == 1, result.output
        assert result.stderr.startswith(f"Error: no space left on the disk of {forms}/"), (
            result.stderr
        )
        assert (
            f"musforms generate stopped before it issued any form: manifest.json and the forms "
            f"in {forms} are as they were before this run; the forms it had begun are removed "
            "again. Free space on that disk (or write to a folder on another disk), then run "
            "the same generate again.\n"
        ) in result.stderr
        after = {p.name: p.read_bytes() for p in forms.iterdir() if p.is_file()}
        assert after == before
        assert _unknown(forms, tmp_path / "results", key_file) == []
