"""Workers die with their parent: a real ``musforms collect`` or ``generate``, on a round big
enough for worker processes, is killed (SIGKILL) while they are at work; then no process of it
is left (workers, multiprocessing's server, its resource tracker) and nothing in its output
changes any more.

The processes of a run are found by a marker in their environment, which every one of them
inherits: the killed run's workers are no longer its children (they never were: their parent
is the server) and are found all the same.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from benchmarks.fill import answers_for, fill_pdf
from musforms.generate import generate
from musforms.manifest import load_manifest
from musforms.questionset import load_question_set

pytestmark = [
    pytest.mark.slow,
    # A failure under CI=true.
    pytest.mark.skipif(not Path("/proc/self/environ").exists(), reason="needs Linux's /proc"),
]

ROOT = Path(__file__).resolve().parents[1]
QUESTIONS = ROOT / "config" / "questions.yaml"
MARKER = "MUSFORMS_TEST_RUN"
EMPLOYEES = 150  # forms enough for worker processes, and for them to be caught at work
PAUSE = 0.05  # seconds between two looks
BUSY_LOOKS = 2400  # looks for the workers at work before giving up
GONE_LOOKS = 200  # looks for every process of the run to be gone after the kill
STILL_LOOKS = 20  # looks at the output, which must stay as it is


def _roster(folder: Path, n: int) -> Path:
    path = folder / "roster.csv"
    rows = "".join(
        f"{1000 + i};Medarbejder Nr {i};Afdeling {i % 4};Leder {i % 4};14-01-2027\r\n"
        for i in range(n)
    )
    path.write_bytes(("id;name;department;manager;meeting_date\r\n" + rows).encode("utf-8-sig"))
    return path


def _processes(tag: str) -> dict[int, int]:
    """The live processes of the run marked ``tag``: pid → parent pid."""
    marker = f"{MARKER}={tag}".encode()
    found = {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            environ = Path(f"/proc/{name}/environ").read_bytes()
            fields = Path(f"/proc/{name}/stat").read_text().rpartition(")")[2].split()
        except OSError:  # gone meanwhile, or not ours to read
            continue
        if marker in environ.split(b"\0") and fields[0] not in ("Z", "X"):  # a zombie is dead
            found[int(name)] = int(fields[1])
    return found


def _workers(tag: str, main: int) -> list[int]:
    """The run's workers: started by its server process, the one process it started itself
    that starts others."""
    procs = _processes(tag)
    return [pid for pid, parent in procs.items() if parent in procs and parent != main]


def _look(ready: Callable[[], bool], looks: int) -> bool:
    """Whether ``ready`` comes true within ``looks`` looks, PAUSE apart."""
    for _ in range(looks):
        if ready():
            return True
        time.sleep(PAUSE)
    return ready()


def _snapshot(folder: Path) -> dict[str, tuple[int, int, int]]:
    found = {}
    for path in folder.rglob("*"):
        try:
            st = path.lstat()
        except FileNotFoundError:
            continue
        found[str(path.relative_to(folder))] = (st.st_ino, st.st_size, st.st_mtime_ns)
    return found


def _kill_at_work(args: list[str], out: Path, started: Callable[[], bool], tmp: Path) -> None:
    """Run ``musforms args``; once its workers are at work and ``started`` says it has begun
    writing into ``out``, kill it, and check that it leaves nothing running nor writing."""
    tag = uuid.uuid4().hex
    env = {**os.environ, MARKER: tag, "TMPDIR": str(tmp)}
    run = subprocess.Popen(
        [sys.executable, "-m", "musforms", *args],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        at_work = _look(
            lambda: run.poll() is not None or (len(_workers(tag, run.pid)) >= 2 and started()),
            BUSY_LOOKS,
        )
        assert at_work, "the workers were never seen at work"
        assert run.poll() is None, "the run ended before it was killed: give it a bigger round"
        os.kill(run.pid, signal.SIGKILL)
        assert run.wait() == -signal.SIGKILL
        left: dict[int, int] = {}

        def all_gone() -> bool:
            left.clear()
            left.update(_processes(tag))
            return not left

        assert _look(all_gone, GONE_LOOKS), f"still running after the run was killed: {left}"
        before = _snapshot(out)
        for _ in range(STILL_LOOKS):
            time.sleep(PAUSE)
            assert _snapshot(out) == before, "the output changed after the run was killed"
        assert [p.name for p in tmp.iterdir() if not p.name.startswith("pymp-")] == []
    finally:
        # Only processes this test started (by their marker), should any be left.
        for pid in _processes(tag):
            os.kill(pid, signal.SIGKILL)
        if run.poll() is None:
            run.kill()
        run.wait()
        assert run.stderr is not None
        run.stderr.close()


@pytest.fixture
def tmp(tmp_path: Path) -> Path:
    folder = tmp_path / "tmp"
    folder.mkdir()
    return folder


def test_a_killed_generate_takes_its_workers_with_it(tmp_path: Path, tmp: Path) -> None:
    roster, forms = _roster(tmp_path, EMPLOYEES), tmp_path / "forms"
    args = ["generate", "-q", str(QUESTIONS), "-r", str(roster), "-o", str(forms)]
    _kill_at_work(
        [*args, "--cycle", "2026", "--workers", "2"],
        forms,
        lambda: any(forms.glob("*.pdf")),
        tmp,
    )
    assert not (forms / "manifest.json").exists()


@pytest.fixture(scope="module")
def returned(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, Path, Path]]:
    """A round's forms, each of them returned filled in, and its key: (forms, returned, key)."""
    root = tmp_path_factory.mktemp("round")
    forms, returned = root / "forms", root / "returned"
    key = root / "key"
    generate(QUESTIONS, _roster(root, EMPLOYEES), forms, "2026", formats=["pdf"], key_file=key)
    qs = load_question_set(QUESTIONS)
    returned.mkdir()
    for form in load_manifest(forms).forms:
        answers = answers_for(qs, form.employee_id)
        fill_pdf(forms / form.files["pdf"], returned / f"svar {form.employee_id}.pdf", answers)
    yield forms, returned, key


@pytest.mark.parametrize("stage", ["responses", "minutes"])
def test_a_killed_collect_takes_its_workers_with_it(
    tmp_path: Path, tmp: Path, returned: tuple[Path, Path, Path], stage: str
) -> None:
    """Killed while its workers read the returned files, or while they draft the minutes."""
    forms, inbox, key = returned
    out = tmp_path / "results"
    written = {"responses": "responses/*.json", "minutes": "minutes/*.docx"}[stage]
    args = ["collect", str(inbox), "--forms", str(forms), "--out", str(out)]
    _kill_at_work(
        [*args, "--workers", "2", "--key-file", str(key)],
        out,
        lambda: any(out.glob(written)),
        tmp,
    )
    if stage == "responses":
        assert not (out / "report.json").exists()
