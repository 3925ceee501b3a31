"""A full disk, on a real small disk (tmpfs): the results folder's or the temporary folder's.

Whatever step it stops at, collect says which files it had updated and which are still as
the last run left them, and that is exactly what is on disk; a full temporary folder is
called that, whatever exception it came as, never "an unexpected problem"; and once there
is space again, the same collect leaves what it would have left without the interruption.
"""

from __future__ import annotations

import errno
import gc
import os
import pickle
import re
import shutil
import sqlite3
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from musforms.cli import cli
from musforms.generate import generate
from musforms.manifest import load_manifest
from musforms.models import Organisation, QuestionSet
from musforms.nospace import no_space
from musforms.outputs import write_followup
from musforms.outputs.spool import AgreementSpool, spool_db
from musforms.outputs.views import iter_agreement_rows
from tests.clients.pdf import fill_pdfium
from tests.conftest import EVERY_TYPE
from tests.mounts import fill, tmpfs
from tests.outputs_data import responses
from tests.trust_data import answers, write_config

ROSTER = "id;name;department;manager;meeting_date\r\n" + "".join(
    f"{i};Person {i};Afdeling {i % 3};Leder {i % 2};{10 + i}-01-2027\r\n" for i in range(1, 13)
)


class Round:
    """Twelve employees' filled forms: the first six returned first, the others later."""

    def __init__(self, root: Path) -> None:
        questions, roster = write_config(root, ROSTER)
        self.forms, self.key = root / "forms", root / "key"
        generate(questions, roster, self.forms, "2026", formats=["pdf"], key_file=self.key)
        self.first, self.later = root / "first", root / "later"
        for folder in (self.first, self.later):
            folder.mkdir()
        for form in load_manifest(self.forms).forms:
            folder = self.first if int(form.employee_id) <= 6 else self.later
            fill_pdfium(
                self.forms / form.files["pdf"],
                folder / f"{form.employee_id}.pdf",
                answers(f"Svar {form.employee_id}", previous=False),
            )

    def collect(self, returned: Path, out: Path, env: dict[str, str] | None = None) -> object:
        args = [str(returned), "--forms", str(self.forms), "--out", str(out), "--workers", "1"]
        args += ["--key-file", str(self.key)]
        return CliRunner(env=env).invoke(cli, ["collect", *args])


@pytest.fixture(scope="module")
def round_(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Round]:
    yield Round(tmp_path_factory.mktemp("round"))


def _files(folder: Path) -> dict[str, bytes]:
    """Every file under ``folder`` (hidden ones aside) by its path there, with its bytes."""
    return {
        str(p.relative_to(folder)): p.read_bytes()
        for p in sorted(folder.rglob("*"))
        if p.is_file() and not any(part.startswith(".") for part in p.relative_to(folder).parts)
    }


_SAID = re.compile(
    r"stopped part way\. Already updated in (?P<folder>\S+): (?P<updated>.*?)\."
    r"(?: Still as they were before this run: (?P<kept>.*?)\.)?"
    r"(?: Not written yet: (?P<absent>.*?)\.)? "
)


def _items(text: str | None) -> list[str]:
    if not text:
        return []
    head, _, last = text.rpartition(" and ")
    return [*head.split(", "), last] if head else [last]


def _check_what_it_says(said: str, before: dict[str, bytes], out: Path) -> set[str]:
    """What the message says was updated, and was not, is what is on disk; which of the
    single files it said were updated."""
    now = _files(out)
    changed = {name for name in now if before.get(name) != now[name]}
    if "stopped before it changed anything" in said:
        assert changed == set(), said
        assert set(now) == set(before), said
        return set()
    match = _SAID.search(said)
    assert match is not None, said
    assert match["folder"] == str(out), said
    updated, kept, absent = (_items(match[k]) for k in ("updated", "kept", "absent"))
    told: set[str] = set()
    counted = {"responses/": 0, "minutes/": 0, "conclusions/": 0}
    for item in updated:
        if m := re.fullmatch(r"the answers of (\d+) returned forms? \(in responses/\)", item):
            counted["responses/"] = int(m[1])
        elif m := re.fullmatch(r"(\d+) conclusion forms? \(in conclusions/\)", item):
            counted["conclusions/"] = int(m[1])
        elif m := re.fullmatch(r"(\d+) minutes drafts?", item):
            counted["minutes/"] = int(m[1])
        else:
            assert item in changed, (item, said)
            told.add(item)
    for folder, n in counted.items():
        # Of the conclusions folder, the forms are counted; its manifest and question set
        # are written with them.
        forms = (n for n in changed if n.startswith(folder) and n.endswith((".docx", ".pdf")))
        of_folder = (n for n in changed if n.startswith(folder))
        found = forms if folder == "conclusions/" else of_folder
        assert sum(1 for _name in found) == n, (folder, said)
    for item in kept:
        if item in ("the minutes drafts", "the other minutes drafts"):
            continue  # counted above: every other draft is as it was
        assert item in before and item not in changed, (item, said)
    for item in absent:
        if item in ("the minutes drafts", "the other minutes drafts"):
            continue
        assert item not in now, (item, said)
    single = {"responses.json", "report.json", "agreements.xlsx", "agreements.csv", "followup.ics"}
    assert single <= set(updated) | set(kept) | set(absent), said
    kinds = ("responses/", "minutes/", "conclusions/")
    other = {n for n in changed if n not in single and not n.startswith(kinds)}
    assert other <= {"outputs.json"} | {n for n in changed if n.startswith("question_sets/")}, said
    return told


def test_a_full_results_disk_is_told_exactly(round_: Round, tmp_path: Path) -> None:
    """Stopped by a full disk early (among the responses) and late (among the minutes),
    collect names the disk and says exactly what it had updated and what not."""
    reference = tmp_path / "reference"
    assert round_.collect(round_.first, reference).exit_code == 0
    saved = tmp_path / "saved"
    shutil.copytree(reference, saved)
    assert round_.collect(round_.later, reference).exit_code == 0
    with tmpfs(tmp_path / "disk", "8m") as disk:
        out = disk / "results"
        shutil.copytree(saved, out)
        used = _used(disk)
        assert round_.collect(round_.later, out).exit_code == 0
        needed = _used(disk) - used
        stages = set()
        for share in (0.05, 0.3, 0.6, 0.85):
            shutil.rmtree(out)
            (disk / ".filler").unlink(missing_ok=True)
            shutil.copytree(saved, out)
            before = _files(out)
            fill(disk, int(needed * share))
            result = round_.collect(round_.later, out)
            said = result.output
            assert result.exit_code == 1, said
            assert "Traceback" not in said and "unchanged" not in said, said
            assert re.search(rf"no space left on the disk of {re.escape(str(out))}/\S+\. ", said)
            stages.add(frozenset(_check_what_it_says(said, before, out)))
            assert said.rstrip().endswith(
                "Free space on that disk (or write to a folder on another disk), then run the "
                "same collect again, with the same files."
            ), said
        assert frozenset() in stages or any("report.json" not in s for s in stages)
        assert any("report.json" in s for s in stages), stages
        # With space again, the same collect leaves what an uninterrupted run left.
        (disk / ".filler").unlink()
        assert round_.collect(round_.later, out).exit_code == 0
        assert _without_times(_files(out)) == _without_times(_files(reference))


def _used(folder: Path) -> int:
    st = os.statvfs(folder)
    return (st.f_blocks - st.f_bfree) * st.f_frsize


def _without_times(files: dict[str, bytes]) -> dict[str, object]:
    """The files, but for what holds the time it was written: report.json's collected_at,
    the workbook's and the calendar's own dates, the day on the minutes."""
    import json

    kept: dict[str, object] = {}
    for name, data in files.items():
        if name == "report.json":
            report = json.loads(data)
            report.pop("collected_at")
            kept[name] = report
        elif name in ("agreements.xlsx", "followup.ics") or name.startswith("minutes/"):
            kept[name] = "(written)"
        elif name.startswith("conclusions/") and name.endswith((".docx", ".pdf")):
            kept[name] = "(written)"  # a conclusion form holds the time it was made
        else:
            kept[name] = data
    return kept


# --- the temporary folder ----------------------------------------------------------------------


def _musforms(*args: str, tmpdir: Path) -> subprocess.CompletedProcess[str]:
    """musforms as HR runs it, in a process of its own, with ``tmpdir`` as TMPDIR."""
    env = {**os.environ, "TMPDIR": str(tmpdir)}
    return subprocess.run(
        [sys.executable, "-m", "musforms", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
        check=False,
    )


def _said_of_a_full_temporary_folder(done: subprocess.CompletedProcess[str], tmpdir: Path) -> str:
    assert done.returncode == 1, done.stderr
    said = done.stderr
    assert said.startswith(
        f"Error: no space left in the temporary folder (TMPDIR={tmpdir}), where musforms "
        "keeps its working files while it runs."
    ), said
    assert "Free space there, or point TMPDIR at a folder on a disk with room" in said
    assert "Traceback" not in said and "unexpected problem" not in said, said
    assert said.count("\n") == 1, said  # one line, nothing printed by a library
    return said


def test_collect_with_a_full_temporary_folder_is_not_stopped(round_: Round, tmp_path: Path) -> None:
    """collect keeps its working files (scratch databases, the follow-up list's sheet) in
    the results folder's private space, not in TMPDIR: a full temporary folder neither
    stops it nor receives anything from it."""
    out = tmp_path / "results"
    with tmpfs(tmp_path / "tmp", "1m") as tmpdir:
        fill(tmpdir, 4_096)
        args = [str(round_.later), "--forms", str(round_.forms), "--out", str(out)]
        done = _musforms("collect", *args, "--key-file", str(round_.key), tmpdir=tmpdir)
        assert done.returncode in (0, 1), done.stderr
        assert "no space left" not in done.stderr
        assert [p.name for p in tmpdir.iterdir()] == [".filler"]
    assert (out / "report.json").is_file()


def test_generate_with_a_full_temporary_folder_is_not_stopped(
    round_: Round, tmp_path: Path
) -> None:
    """generate keeps its spool in the forms folder's private space: a full TMPDIR does not
    stop it, and nothing of it lands there."""
    questions, roster = write_config(tmp_path, ROSTER)
    with tmpfs(tmp_path / "tmp", "64k") as tmpdir:
        fill(tmpdir, 4_096)
        args = ["-q", str(questions), "-r", str(roster), "-o", str(tmp_path / "forms")]
        done = _musforms("generate", *args, "--cycle", "2026", tmpdir=tmpdir)
        assert done.returncode == 0, done.stderr
        assert [p.name for p in tmpdir.iterdir()] == [".filler"]
    assert (tmp_path / "forms" / "manifest.json").is_file()


def test_the_follow_up_list_on_a_full_temporary_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """openpyxl keeps agreements.xlsx's sheet in a temporary file while it is written: on a
    full disk lxml raises a SerialisationError, which cannot be pickled (from a drafting
    process it came back as "TypeError: cannot pickle ..."), and the half-written sheet
    raised it again when the garbage collector took it, printed as a traceback. Now: an
    OSError naming the temporary folder, which pickles, and nothing left to raise."""
    qs = QuestionSet.model_validate(EVERY_TYPE)
    unraisable: list[object] = []
    monkeypatch.setattr(sys, "unraisablehook", unraisable.append)
    with tmpfs(tmp_path / "tmp", "64k") as tmpdir, spool_db(in_memory=True) as db:
        spool = AgreementSpool(db)
        for _ in range(200):
            spool.add(iter_agreement_rows(responses(qs)))
        monkeypatch.setattr(tempfile, "tempdir", str(tmpdir))
        with pytest.raises(OSError) as caught:
            write_followup(tmp_path, spool, Organisation(), by_department=False, now=None)
        told = (caught.value.errno, caught.value.filename)
        sent = pickle.loads(pickle.dumps(caught.value))
        del caught  # with it the frames that hold the workbook
        gc.collect()
    assert told == (errno.ENOSPC, str(tmpdir))
    assert (sent.errno, sent.filename) == (errno.ENOSPC, str(tmpdir))
    assert [str(u.exc_value) for u in unraisable] == []  # type: ignore[attr-defined]
    assert not (tmp_path / "agreements.xlsx").exists()


class SerialisationError(Exception):
    """As lxml names it (lxml is imported only where a format is read or written)."""


@pytest.mark.parametrize(
    "raised",
    [
        OSError(errno.ENOSPC, "No space left on device"),
        OSError(errno.EDQUOT, "Disk quota exceeded"),
        sqlite3.OperationalError("database or disk is full"),
        SerialisationError("IO_ENOSPC"),
    ],
    ids=["ENOSPC", "EDQUOT", "sqlite", "lxml"],
)
def test_a_full_disk_is_found_in_every_guise(raised: Exception) -> None:
    assert no_space(raised) is not None
    try:
        try:
            raise raised
        except Exception as exc:
            raise TypeError("something else went wrong on the way") from exc
    except TypeError as outer:
        assert no_space(outer) is not None
    assert no_space(OSError(errno.EACCES, "Permission denied")) is None
    assert no_space(sqlite3.OperationalError("no such table: x")) is None
    assert no_space(SerialisationError("IO_EIO")) is None
