"""Nothing private is left behind when a run is killed: its scratch databases and half-written
files sit in the results (or forms) folder's private ``.musforms-tmp`` or beside their target
under a name musforms knows as its own, and the next run on that folder, or ``musforms purge``,
removes them. Nothing goes to the shared temporary folder (TMPDIR) on the way.

The crashes are real: a process that SIGKILLs itself in the middle of a write or a run.
"""

from __future__ import annotations

import gc
import os
import signal
import stat
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from click.testing import CliRunner

from benchmarks.fill import answers_for, fill_pdf
from musforms.cli import cli
from musforms.collect import collect, collected
from musforms.generate import generate
from musforms.manifest import load_manifest
from musforms.models import Organisation
from musforms.outputs import write_outputs
from musforms.questionset import load_question_set
from tests.conftest import EVERY_TYPE
from tests.outputs_data import responses

ROOT = Path(__file__).resolve().parents[1]
QUESTIONS = ROOT / "config" / "questions.yaml"
SPACE = ".musforms-tmp"
# multiprocessing's own folder for its server's socket (pymp-…) holds nothing of ours.
PYMP = "pymp-"


def _roster(folder: Path, n: int) -> Path:
    path = folder / "roster.csv"
    rows = "".join(
        f"{1000 + i};Medarbejder Nr {i};Afdeling {i % 4};Leder {i % 4};14-01-2027\r\n"
        for i in range(n)
    )
    path.write_bytes(("id;name;department;manager;meeting_date\r\n" + rows).encode("utf-8-sig"))
    return path


def _fill(forms: Path, returned: Path) -> None:
    qs = load_question_set(QUESTIONS)
    returned.mkdir(parents=True, exist_ok=True)
    for form in load_manifest(forms).forms:
        answers = answers_for(qs, form.employee_id)
        fill_pdf(forms / form.files["pdf"], returned / f"svar {form.employee_id}.pdf", answers)


def _run(script: str, *args: Path | str, env: dict[str, str] | None = None) -> int:
    """Run ``script`` in a Python process of its own; its exit code (-9: it was killed)."""
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(script), *map(str, args)],
        cwd=ROOT,
        env={**os.environ, **(env or {})},
        capture_output=True,
        check=False,
    )
    if done.returncode not in (0, -signal.SIGKILL):
        raise AssertionError(done.stderr.decode("utf-8", "replace"))
    return done.returncode


def _partials(folder: Path) -> list[Path]:
    """Files of an unfinished write anywhere in ``folder``."""
    return sorted(p for p in folder.rglob("*") if p.name.endswith(".tmp"))


def _ours_in(tmp: Path) -> list[str]:
    return sorted(p.name for p in tmp.iterdir() if not p.name.startswith(PYMP))


def _space_is_clean(folder: Path) -> bool:
    space = folder / SPACE
    return not space.exists() or not any(space.iterdir())


@pytest.fixture
def sys_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The shared temporary folder (TMPDIR) of this test and the processes it starts."""
    import tempfile

    tmp = tmp_path / "sys-tmp"
    tmp.mkdir()
    monkeypatch.setenv("TMPDIR", str(tmp))
    monkeypatch.setattr(tempfile, "tempdir", str(tmp))
    return tmp


@pytest.fixture
def small(tmp_path: Path) -> tuple[Path, Path, Path]:
    """A round of four, generated, returned and collected once: (forms, returned, results)."""
    forms, returned, out = tmp_path / "forms", tmp_path / "returned", tmp_path / "results"
    generate(QUESTIONS, _roster(tmp_path, 4), forms, "2026", formats=["pdf"], workers=1)
    _fill(forms, returned)
    collect([returned], forms, out, workers=1)
    return forms, returned, out


KILLED_WRITE = """
    import os, signal, sys
    from pathlib import Path
    from musforms.results import write_responses_json

    def ids():
        yield from ["1000", "1001"]
        os.kill(os.getpid(), signal.SIGKILL)

    write_responses_json(Path(sys.argv[1]), ids())
"""


def _kill_a_write(out: Path) -> None:
    """responses.json being rewritten when the process is killed: half of it stays behind."""
    assert _run(KILLED_WRITE, out) == -signal.SIGKILL
    assert _partials(out), "the killed write left nothing to clean up"


KILLED_COLLECT = """
    import os, signal, sys
    from pathlib import Path
    from musforms.collect import collect

    def progress(n):
        os.kill(os.getpid(), signal.SIGKILL)

    returned, forms, out = map(Path, sys.argv[1:])
    collect([returned], forms, out, workers=1, progress=progress)
"""

KILLED_GENERATE = """
    import os, signal, sys
    from pathlib import Path
    from musforms.generate import generate

    def progress(n):
        os.kill(os.getpid(), signal.SIGKILL)

    questions, roster, out = map(Path, sys.argv[1:])
    generate(questions, roster, out, "2026", formats=["pdf"], workers=1, progress=progress)
"""


@pytest.mark.parametrize("rerun", ["collect", "minutes"])
def test_the_next_run_removes_a_killed_write(
    small: tuple[Path, Path, Path], sys_tmp: Path, rerun: str
) -> None:
    forms, returned, out = small
    _kill_a_write(out)
    if rerun == "collect":
        collect([returned], forms, out, workers=1)
    else:
        write_outputs(out, collected(out), forms)
    assert _partials(out) == []
    assert _space_is_clean(out)


def test_a_killed_collect_leaves_its_scratch_where_the_next_run_removes_it(
    small: tuple[Path, Path, Path], sys_tmp: Path
) -> None:
    """The issued forms' index and the ledger (names, e-mail addresses, report lines) wait in
    the results folder's private space, not in TMPDIR; the next collect removes them."""
    forms, returned, out = small
    assert _run(KILLED_COLLECT, returned, forms, out) == -signal.SIGKILL
    assert _ours_in(sys_tmp) == []
    left = sorted((out / SPACE).glob("*/*.sqlite"))
    # The issued forms, the ledger, and the cache of what was read (musforms.collect.cache)
    # on its way: the earlier cache stays as it was until a run puts a new one in its place.
    assert sorted(p.name for p in left) == ["collect.sqlite", "issued.sqlite", "ledger.sqlite"]
    assert stat.S_IMODE((out / SPACE).stat().st_mode) == 0o700
    assert {stat.S_IMODE(p.stat().st_mode) for p in left} == {0o600}
    collect([returned], forms, out, workers=1)
    assert not (out / SPACE).exists()
    assert _ours_in(sys_tmp) == []


def test_a_killed_generate_leaves_its_spool_where_the_next_run_removes_it(
    tmp_path: Path, sys_tmp: Path
) -> None:
    """generate's spool of the roster waits in the forms folder's private space."""
    roster, forms = _roster(tmp_path, 30), tmp_path / "forms"
    assert _run(KILLED_GENERATE, QUESTIONS, roster, forms) == -signal.SIGKILL
    assert _ours_in(sys_tmp) == []
    assert [p.name for p in (forms / SPACE).glob("*/*.sqlite")] == ["spool.sqlite"]
    generate(QUESTIONS, roster, forms, "2026", formats=["pdf"], workers=1)
    assert not (forms / SPACE).exists()
    assert _partials(forms) == []


def test_purge_removes_what_killed_runs_left(small: tuple[Path, Path, Path], sys_tmp: Path) -> None:
    """Retention means every trace: purge deletes a killed run's half-written files and
    scratch databases too, and says so; and with nothing old enough to purge as well."""
    forms, returned, out = small
    _kill_a_write(out)
    assert _run(KILLED_COLLECT, returned, forms, out) == -signal.SIGKILL
    result = CliRunner().invoke(cli, ["purge", str(out), "--before", "2020-01-01", "--yes"])
    assert result.exit_code == 0, result.output
    assert "temporary" in result.output
    assert _partials(out) == []
    assert _space_is_clean(out)
    assert _ours_in(sys_tmp) == []


def test_purge_asks_before_removing_leftovers(small: tuple[Path, Path, Path]) -> None:
    *_, out = small
    _kill_a_write(out)
    result = CliRunner().invoke(cli, ["purge", str(out), "--before", "2020-01-01"], input="n\n")
    assert result.exit_code == 0, result.output
    assert "Nothing was deleted." in result.output
    assert _partials(out)
    result = CliRunner().invoke(cli, ["purge", str(out), "--before", "2020-01-01"], input="y\n")
    assert result.exit_code == 0, result.output
    assert _partials(out) == []


# --- openpyxl's own temporary files -------------------------------------------------------------


# openpyxl's generators for the sheet that failed complain as they are collected; not ours.
@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
@pytest.mark.filterwarnings("ignore::ResourceWarning")
def test_a_failed_xlsx_write_leaves_no_temporary_file(
    tmp_path: Path, sys_tmp: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """openpyxl keeps each sheet in a temporary file of its own until the workbook is saved;
    a write that fails halfway leaves it neither in TMPDIR nor in the results folder."""
    from musforms.models import QuestionSet
    from musforms.outputs import followup

    values = followup._values
    calls = 0

    def failing(*args: object, **kwargs: object) -> object:
        nonlocal calls
        calls += 1
        if calls == 2:
            raise RuntimeError("the disk is full")
        return values(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(followup, "_values", failing)
    out = tmp_path / "results"
    with pytest.raises(RuntimeError, match="disk is full"):
        write_outputs(out, responses(QuestionSet.model_validate(EVERY_TYPE)), None, Organisation())
    assert calls == 2
    gc.collect()  # while the warnings above are ignored
    assert _ours_in(sys_tmp) == []
    assert _space_is_clean(out)
    assert _partials(out) == []


# The follow-up list of a round with drafting processes is written by one of them. This script
# is also what multiprocessing's server process imports before it starts them, so the fault it
# sets up at the top is in every drafting process too.
FAILED_XLSX_IN_A_WORKER = """
    import sys
    import tempfile
    from pathlib import Path
    from musforms.models import Organisation, QuestionSet
    from musforms.outputs import followup, write_outputs
    from musforms.outputs.minutes import POOL_THRESHOLD
    from tests.conftest import EVERY_TYPE
    from tests.outputs_data import responses
    from tests.test_outputs_spool import _round

    values = followup._values
    calls = 0

    def failing(*args, **kwargs):
        global calls
        calls += 1
        if calls == 2:
            raise RuntimeError(f"the disk is full in {tempfile.gettempdir()}")
        return values(*args, **kwargs)

    followup._values = failing

    if __name__ == "__main__":
        many = _round(responses(QuestionSet.model_validate(EVERY_TYPE)), POOL_THRESHOLD + 8)
        out = Path(sys.argv[1])
        try:
            write_outputs(out, many, None, Organisation(), workers=2)
        except RuntimeError as exc:
            assert calls == 0, "the follow-up list was written here, not by a drafting process"
            where = Path(str(exc).removeprefix("the disk is full in "))
            assert where.parent == out / ".musforms-tmp", where
        else:
            raise SystemExit("the follow-up list was written")
"""


def test_a_failed_xlsx_write_in_a_drafting_process_leaves_no_temporary_file(
    tmp_path: Path, sys_tmp: Path
) -> None:
    script = tmp_path / "failing_xlsx.py"
    script.write_text(textwrap.dedent(FAILED_XLSX_IN_A_WORKER), encoding="utf-8")
    out = tmp_path / "results"
    done = subprocess.run(
        [sys.executable, str(script), str(out)],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr.decode("utf-8", "replace")
    assert _ours_in(sys_tmp) == []
    assert _space_is_clean(out)
    assert _partials(out) == []
