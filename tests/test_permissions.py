"""Who else may read or change what musforms uses: the signing key and the folders it writes.

The checks go by the mode bits, so they hold for root too (who may read any file whatever
its mode, and is who CI runs the tests as).
"""

from __future__ import annotations

import multiprocessing
import stat
from pathlib import Path

import pytest
from click.testing import CliRunner

from musforms.cli import cli
from musforms.collect import collect
from musforms.collect.read import POOL_THRESHOLD
from musforms.errors import KeyFileError
from musforms.files import private_folder
from musforms.generate import generate
from musforms.identity import load_key
from musforms.outputs import write_outputs
from musforms.results import collected
from tests.clients.pdf import fill_pdfium
from tests.mounts import read_only, tmpfs

ROOT = Path(__file__).resolve().parents[1]
QUESTIONS = ROOT / "config" / "questions.yaml"


def _roster(folder: Path) -> Path:
    path = folder / "roster.csv"
    path.write_text("id;navn\n1;Person 1\n2;Person 2\n", encoding="utf-8")
    return path


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def made_key(key_file: Path) -> Path:
    load_key(key_file, create=True)
    return key_file


# --- the signing key ---------------------------------------------------------------------------


def test_a_private_key_is_used_without_a_word(made_key: Path) -> None:
    said: list[str] = []
    load_key(made_key, warn=said.append)
    assert said == []


@pytest.mark.parametrize("mode", [0o640, 0o604, 0o644, 0o444], ids=oct)
def test_a_key_others_can_read_is_used_with_a_warning(made_key: Path, mode: int) -> None:
    """The warning names the file, its mode and the command that makes it private."""
    key = load_key(made_key)
    made_key.chmod(mode)
    said: list[str] = []
    assert load_key(made_key, warn=said.append) == key
    assert len(said) == 1
    assert str(made_key) in said[0] and f"mode {mode:04o}" in said[0]
    assert f"chmod 600 {made_key}" in said[0]


@pytest.mark.parametrize("mode", [0o620, 0o602, 0o660, 0o666, 0o777], ids=oct)
def test_a_key_others_can_change_is_refused(made_key: Path, mode: int) -> None:
    """Whoever can replace the key can sign forms collect accepts: it is not used at all."""
    made_key.chmod(mode)
    with pytest.raises(KeyFileError) as caught:
        load_key(made_key, warn=lambda _: None)
    said = str(caught.value)
    assert str(made_key) in said and f"mode {mode:04o}" in said
    assert f"chmod 600 {made_key}" in said


def test_the_chmod_to_run_is_quoted_for_the_shell(tmp_path: Path) -> None:
    path = tmp_path / "HR nøgler" / "key"
    load_key(path, create=True)
    path.chmod(0o644)
    said: list[str] = []
    load_key(path, warn=said.append)
    assert f"chmod 600 '{path}'" in said[0]


def test_generate_and_collect_warn_of_a_readable_key(made_key: Path, tmp_path: Path) -> None:
    """Each command says it on stderr, as a warning, and does its job."""
    made_key.chmod(0o644)
    forms, out = tmp_path / "forms", tmp_path / "out"
    runner = CliRunner()
    args = ["-q", str(QUESTIONS), "-r", str(_roster(tmp_path)), "-o", str(forms)]
    made = runner.invoke(cli, ["generate", *args, "--cycle", "2026", "--format", "pdf"])
    assert made.exit_code == 0, made.output
    assert made.stderr.startswith(f"Warning: the signing key {made_key} can be read by other")
    assert f"chmod 600 {made_key}" in made.stderr
    got = runner.invoke(cli, ["collect", str(forms), "--forms", str(forms), "--out", str(out)])
    assert got.exit_code in (0, 1), got.output
    assert f"Warning: the signing key {made_key} can be read by other" in got.stderr
    assert (out / "report.json").is_file()


def test_generate_and_collect_refuse_a_key_others_can_change(
    made_key: Path, tmp_path: Path
) -> None:
    """One Error line naming the file, its mode and the chmod; nothing written."""
    forms, out = tmp_path / "forms", tmp_path / "out"
    generate(QUESTIONS, _roster(tmp_path), forms, "2026", formats=["pdf"])
    before = sorted(p.name for p in forms.iterdir())
    made_key.chmod(0o666)
    runner = CliRunner()
    args = ["-q", str(QUESTIONS), "-r", str(_roster(tmp_path)), "-o", str(forms)]
    made = runner.invoke(cli, ["generate", *args, "--cycle", "2026"])
    got = runner.invoke(cli, ["collect", str(forms), "--forms", str(forms), "--out", str(out)])
    for result in (made, got):
        assert result.exit_code == 1
        assert result.stderr.startswith(f"Error: the signing key {made_key} can be changed")
        assert "mode 0666" in result.stderr and f"chmod 600 {made_key}" in result.stderr
        assert "Traceback" not in result.output
    assert sorted(p.name for p in forms.iterdir()) == before
    assert not out.exists()


# --- the folders written into --------------------------------------------------------------------


@pytest.mark.parametrize("mode", [0o777, 0o755, 0o750, 0o701], ids=oct)
def test_an_open_folder_is_made_private_and_said(tmp_path: Path, mode: int) -> None:
    folder = tmp_path / "results"
    folder.mkdir()
    folder.chmod(mode)
    said = private_folder(folder)
    assert _mode(folder) == 0o700
    assert said is not None and str(folder) in said
    assert f"{mode:04o} → 0700" in said


def test_a_private_or_new_folder_is_left_without_a_word(tmp_path: Path) -> None:
    assert private_folder(tmp_path / "new" / "folder") is None
    assert _mode(tmp_path / "new" / "folder") == 0o700
    (tmp_path / "mine").mkdir(mode=0o700)
    assert private_folder(tmp_path / "mine") is None


def test_generate_makes_an_open_forms_folder_private(tmp_path: Path) -> None:
    forms = tmp_path / "forms"
    (forms / "question_sets").mkdir(parents=True)
    for folder in (forms, forms / "question_sets"):
        folder.chmod(0o777)
    result = CliRunner().invoke(
        cli,
        [
            *("generate", "-q", str(QUESTIONS), "-r", str(_roster(tmp_path))),
            *("-o", str(forms), "--cycle", "2026", "--format", "pdf"),
        ],
    )
    assert result.exit_code == 0, result.output
    assert _mode(forms) == _mode(forms / "question_sets") == 0o700
    lines = result.stderr.splitlines()
    assert (
        f"Warning: the folder {forms} was open to other users; musforms made it yours "
        "alone (mode 0777 → 0700)" in lines
    )
    assert any(
        line.startswith(f"Warning: the folder {forms / 'question_sets'} was open") for line in lines
    )


def test_collect_makes_an_open_results_folder_private(tmp_path: Path) -> None:
    forms, out = tmp_path / "forms", tmp_path / "out"
    generate(QUESTIONS, _roster(tmp_path), forms, "2026", formats=["pdf"])
    collect([forms], forms, out)
    for name in ("", "responses", "minutes", "question_sets"):
        (out / name).chmod(0o777)
    result = CliRunner().invoke(
        cli, ["collect", str(forms), "--forms", str(forms), "--out", str(out)]
    )
    assert result.exit_code in (0, 1), result.output
    for name in ("", "responses", "minutes", "question_sets"):
        assert _mode(out / name) == 0o700, name
        assert (
            f"Warning: the folder {out / name if name else out} was open to other users"
            in result.stderr
        )
    assert result.stderr.count("Warning:") == 4


def test_minutes_makes_an_open_results_folder_private(tmp_path: Path) -> None:
    forms, out = tmp_path / "forms", tmp_path / "out"
    generate(QUESTIONS, _roster(tmp_path), forms, "2026", formats=["pdf"])
    collect([forms], forms, out)
    (out / "minutes").chmod(0o755)
    paths = write_outputs(out, collected(out), forms)
    assert _mode(out / "minutes") == 0o700
    assert paths.warnings == [
        f"the folder {out / 'minutes'} was open to other users; musforms made it yours alone "
        "(mode 0755 → 0700)"
    ]


def test_a_folder_that_cannot_be_made_private_is_said(tmp_path: Path) -> None:
    """A disk that refuses the change (here a read-only mount; a network share may keep no
    modes at all) gets a warning that says so, not a claim that it was made private."""
    with tmpfs(tmp_path / "open", "64k", mode=0o777, read_only=True) as folder:
        said = private_folder(folder)
        assert _mode(folder) == 0o777
    assert said == (
        f"the folder {folder} is open to other users (mode 0777) and could not be made "
        "private: check who can read it, or use a folder of your own"
    )


def test_a_results_folder_that_cannot_be_written_is_told(tmp_path: Path) -> None:
    """A results folder on a disk that takes no writes (a read-only mount: root may write
    any folder its modes forbid): one Error line that names the file and says, truly, that
    nothing of the earlier results was changed."""
    forms = tmp_path / "forms"
    generate(QUESTIONS, _roster(tmp_path), forms, "2026", formats=["pdf"])
    first = tmp_path / "first"
    first.mkdir()
    (first / "1.pdf").write_bytes((forms / "1-person-1.pdf").read_bytes())
    with tmpfs(tmp_path / "disk", "4m") as disk:
        out = disk / "results"
        collect([first], forms, out)
        before = {p: p.read_bytes() for p in out.rglob("*") if p.is_file()}
        read_only(disk)
        args = ["collect", str(forms), "--forms", str(forms), "--out", str(out)]
        result = CliRunner().invoke(cli, args)
        assert result.exit_code == 1
        assert result.stderr == (
            f"Error: cannot write into {out}: Read-only file system. musforms collect stopped "
            "before it changed anything there. Fix the cause (the folder's permissions, a disk "
            "read-only or not there), then run collect again\n"
        )
        assert {p: p.read_bytes() for p in out.rglob("*") if p.is_file()} == before


def test_a_run_stopped_by_a_folder_that_takes_no_writes_stops_its_readers_at_once(
    tmp_path: Path,
) -> None:
    """Protects against a traceback after the error line: when writing an answer fails part
    way (responses/ on a disk that takes no writes), the reading workers are stopped as the
    error leaves collect, not later by the garbage collector, which may run on the pool's own
    thread and then cannot stop it ("cannot join current thread")."""
    forms = tmp_path / "forms"
    roster = tmp_path / "roster.csv"
    people = POOL_THRESHOLD + 8  # enough for the reading to go to worker processes
    roster.write_text(
        "id;navn\n" + "".join(f"{i};Person {i}\n" for i in range(1, people + 1)),
        encoding="utf-8",
    )
    generate(QUESTIONS, roster, forms, "2026", formats=["pdf"])
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    for form in sorted(forms.glob("*.pdf")):
        fill_pdfium(form, inbox / form.name, {"lykkedes": f"Svar fra {form.stem} med æøå"})
    with tmpfs(tmp_path / "disk", "8m") as disk:
        out = disk / "results"
        (out / "responses").mkdir(parents=True, mode=0o700)
        with tmpfs(out / "responses", "1m", read_only=True):
            with pytest.raises(OSError, match="Read-only file system") as failed:
                collect([inbox], forms, out, workers=2)
            # The error (and its traceback, which holds collect's frames) is still here.
            assert multiprocessing.active_children() == []
            del failed
