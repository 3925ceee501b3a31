"""Nothing collected is lost by a later run: not by an identical copy, a blank or cut-short
copy, a file changed on disk, nor a second command writing into the same folder."""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from musforms.collect import collect, load_report
from musforms.lock import LOCK_FILE, FolderBusyError, folder_lock
from musforms.purge import execute, plan_purge
from tests.clients.pdf import fill_pdfium
from tests.trust_data import Round, answers, make_round

pytestmark = pytest.mark.realclient

ANSWER = "SVAR-Q7"


@pytest.fixture(scope="module")
def round_(tmp_path_factory: pytest.TempPathFactory) -> Round:
    root = tmp_path_factory.mktemp("round")
    return make_round(root, previous=False, key_file=root / "key")


@pytest.fixture(scope="module")
def filled(round_: Round) -> Path:
    """1042's filled PDF return."""
    path = round_.root / "filled-1042.pdf"
    fill_pdfium(round_.form("1042", "pdf"), path, answers(ANSWER, previous=False))
    return path


def _run(round_: Round, inbox: Path, out: Path) -> dict[str, str]:
    collect([inbox], round_.forms, out, key_file=round_.key_file, workers=1)
    report = load_report(out)
    assert report is not None
    return {Path(e.file).name: e.status for e in report.files}


def _answers(out: Path, employee_id: str = "1042") -> dict[str, object]:
    data = json.loads((out / "responses" / f"{employee_id}.json").read_text(encoding="utf-8"))
    answers: dict[str, object] = data["answers"]
    return answers


def _contents(folder: Path) -> dict[Path, bytes]:
    """Every file's bytes, but the lock's note of who last held it."""
    return {
        p: p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file() and p.name != LOCK_FILE
    }


def _touch(path: Path, offset: float) -> None:
    """Give ``path`` a modification time ``offset`` seconds from its current one."""
    st = path.stat()
    os.utime(path, (st.st_atime, st.st_mtime + offset))


def test_an_identical_copy_that_sorts_first_never_hides_the_return(
    round_: Round, filled: Path, tmp_path: Path
) -> None:
    """Protects against the employee vanishing when a second identical copy of a collected
    return ("Kopi af …", "svar (1).pdf", a backup folder) sorts before it: run after run,
    one of the two is on record and the other is its duplicate."""
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    out = tmp_path / "results"
    shutil.copy(filled, inbox / "svar.pdf")
    assert _run(round_, inbox, out) == {"svar.pdf": "ok"}
    shutil.copy(filled, inbox / "Kopi af svar.pdf")  # sorts before svar.pdf
    for _ in range(3):
        statuses = _run(round_, inbox, out)
        assert sorted(statuses.values()) == ["duplicate", "ok"], statuses
        report = load_report(out)
        assert report is not None and report.returned == ["1042"]
        assert _answers(out)["titel"] == f"{ANSWER} titel"


def test_a_later_blank_copy_never_replaces_the_answers(
    round_: Round, filled: Path, tmp_path: Path
) -> None:
    """Protects filled answers against the unfilled form sent again later (a newer file
    with no answer at all): the answers on record stay, the blank copy is a duplicate that
    says so, and deleting it changes nothing."""
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    out = tmp_path / "results"
    shutil.copy(filled, inbox / "svar.pdf")
    _run(round_, inbox, out)
    blank = inbox / "svar igen.pdf"
    shutil.copy(round_.form("1042", "pdf"), blank)
    _touch(blank, 3600)
    statuses = _run(round_, inbox, out)
    assert statuses == {"svar.pdf": "ok", "svar igen.pdf": "duplicate"}
    report = load_report(out)
    assert report is not None
    reason = next(e.reason for e in report.files if e.file.endswith("svar igen.pdf"))
    assert reason and "no answer at all" in reason
    assert _answers(out)["titel"] == f"{ANSWER} titel"
    blank.unlink()
    _run(round_, inbox, out)
    assert _answers(out)["titel"] == f"{ANSWER} titel"


@pytest.fixture(scope="module")
def saved_twice(round_: Round, filled: Path) -> Path:
    """1042's return saved a second time (an incremental update on top of the first save),
    with one answer changed: cut inside that update, what is left is the earlier save."""
    path = round_.root / "filled-1042-twice.pdf"
    fill_pdfium(filled, path, {"titel": f"{ANSWER} titel, rettet"})
    return path


@pytest.mark.parametrize("keep", [0.5, 0.9, 0.99])
def test_a_later_cut_short_copy_never_replaces_the_answers(
    round_: Round, saved_twice: Path, tmp_path: Path, keep: float
) -> None:
    """Protects the answers on record against a newer copy of the return cut short (by a
    mail client or a full disk): even when what is left still opens as an earlier save of
    the form, the copy is unreadable, says it was cut short, and the answers stay."""
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    out = tmp_path / "results"
    shutil.copy(saved_twice, inbox / "svar.pdf")
    assert _run(round_, inbox, out) == {"svar.pdf": "ok"}
    data = saved_twice.read_bytes()
    cut = inbox / "svar (1).pdf"
    cut.write_bytes(data[: int(len(data) * keep)])
    _touch(cut, 3600)
    statuses = _run(round_, inbox, out)
    assert statuses == {"svar.pdf": "ok", "svar (1).pdf": "unreadable"}
    report = load_report(out)
    assert report is not None
    reason = next(e.reason for e in report.files if e.file.endswith("svar (1).pdf"))
    assert reason and "cut short" in reason
    assert _answers(out)["titel"] == f"{ANSWER} titel, rettet"


@pytest.mark.parametrize("how", ["truncated", "blank"])
def test_the_file_on_record_changed_on_disk_keeps_its_answers(
    round_: Round, filled: Path, tmp_path: Path, how: str
) -> None:
    """Protects the answers on record against their own file being overwritten by less (cut
    short in a copy, or replaced by the unfilled form): the earlier answers stay, and the
    file's line says it was read again and could not be used."""
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    out = tmp_path / "results"
    target = inbox / "svar.pdf"
    shutil.copy(filled, target)
    _run(round_, inbox, out)
    data = filled.read_bytes()
    if how == "truncated":
        target.write_bytes(data[: len(data) // 3])
    else:
        shutil.copy(round_.form("1042", "pdf"), target)
    _touch(target, 3600)
    statuses = _run(round_, inbox, out)
    assert statuses == {"svar.pdf": "ok"}
    report = load_report(out)
    assert report is not None and report.returned == ["1042"]
    problems = report.files[0].problems
    assert [p.code for p in problems] == ["answers_kept"], problems
    assert _answers(out)["titel"] == f"{ANSWER} titel"


def test_a_second_command_on_the_same_folder_is_refused(tmp_path: Path) -> None:
    """Protects a results folder against two commands writing at once: the second refuses
    with a line that names the folder and the command holding it, and writes nothing."""
    folder = tmp_path / "results"
    busy = pytest.raises(FolderBusyError, match=r"in use by another musforms command")
    with folder_lock(folder, "collect"), busy as e, folder_lock(folder, "purge"):
        pytest.fail("a second lock was given")
    assert "'musforms collect', process" in str(e.value)
    with folder_lock(folder, "purge"):
        pass  # free again once the first has let go


def test_a_killed_command_leaves_no_lock_behind(tmp_path: Path) -> None:
    """A process that holds the lock and is killed frees the folder at once: the next
    command is not refused."""
    folder = tmp_path / "results"
    code = (
        "import sys, time; from pathlib import Path; from musforms.lock import folder_lock\n"
        "with folder_lock(Path(sys.argv[1]), 'collect'):\n"
        "    print('held', flush=True); time.sleep(600)\n"
    )
    with subprocess.Popen(
        [sys.executable, "-c", code, str(folder)], stdout=subprocess.PIPE, text=True
    ) as child:
        try:
            assert child.stdout is not None and child.stdout.readline().strip() == "held"
            with pytest.raises(FolderBusyError), folder_lock(folder, "collect"):
                pass
        finally:
            child.kill()
    with folder_lock(folder, "collect"):
        assert (folder / LOCK_FILE).exists()


def test_collect_and_purge_take_the_lock(round_: Round, filled: Path, tmp_path: Path) -> None:
    """collect and purge both refuse a results folder another command is writing into, and
    leave what is there as it was."""
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    out = tmp_path / "results"
    shutil.copy(filled, inbox / "svar.pdf")
    _run(round_, inbox, out)
    before = _contents(out)
    plan = plan_purge(out, dt.date(2100, 1, 1))
    with folder_lock(out, "minutes"):
        with pytest.raises(FolderBusyError, match="'musforms minutes'"):
            collect([inbox], round_.forms, out, key_file=round_.key_file, workers=1)
        with pytest.raises(FolderBusyError):
            execute(plan)
    assert _contents(out) == before
    execute(plan)  # the lock is free again: the purge goes through
    assert load_report(out) is not None
