"""Fault injection: real ``musforms`` processes killed, run two at once, starved of disk,
denied writes and handed copies, then run again; the results compared with a clean run.

A :class:`Lab` holds one *round*: a roster, forms generated with a key, and the returned
files of that round arriving in *waves* (``returned/wave-<n>/<mailbox>/…``, two mailboxes
a and b), filled by the benchmarks' direct filler (``benchmarks/fill.py``). HR collects
after each wave. A clean history is a sequence of operations (:class:`Arrive`,
:class:`Collect`, :class:`Purge`); the results after any prefix of it are computed once,
without faults, and kept (a *reference*).

A *case* (one kind of fault, see :data:`KINDS`) starts from a reference, injects its fault
into real subprocesses of the installed CLI (once, or a few times where the kind repeats: a
run killed again, a disk still full), runs the command again as HR would ("fix the cause and
run it again"), and checks:

- every answer on record before the fault is still on record, byte for byte, right after
  the fault and after the re-run (unless the clean run itself replaces it: a newer return,
  a purge);
- the results equal the reference for the same history without the fault: responses/*.json
  and responses.json byte for byte, report.json's returned and missing lists and each file's
  status, the minutes' text, agreements.csv, and the list of files in the results folder;
- nothing private is left: no temporary file or scratch database in the results folder,
  the forms folder or the run's own TMPDIR;
- no process of a killed or failed run outlives it (each run is tagged by an environment
  variable its workers inherit; the process table is polled a bounded number of times);
- a run that fails says so in one ``Error:`` line, never a traceback.

"The same history without the fault" is what makes both demands hold at once: a copy that
arrives after its original was collected must not change the answer on record, so its
reference is the history without the copy; two runs at once must equal one of the two
orders in which they could have run one after the other.

Everything a case does follows from ``(seed, employees, waves, kind, index)``; a failing
case prints them with a command that runs it alone again. The moment a kill lands is a
fraction of a clean run's duration (or an event: the first worker, the first temporary
file), so the same case kills at about the same point, never at the same instruction.

Needs root (tmpfs and read-only mounts); see tests/test_faults.py and benchmarks/soak.py.
"""

from __future__ import annotations

import contextlib
import csv
import datetime as dt
import functools
import importlib.util
import json
import os
import random
import re
import shutil
import signal
import stat
import subprocess
import sys
import threading
import time
import uuid
import zipfile
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
STANDARD = ROOT / "musforms" / "sets" / "standard.yaml"
MUSFORMS = Path(sys.executable).parent / "musforms"
CYCLE = "2026"
FORMS = f"forms/{CYCLE}"  # as every command is given it, from its case folder
RESULTS = f"results/{CYCLE}"
EPOCH = 1_790_000_000  # generate's SOURCE_DATE_EPOCH, and the base of every returned mtime
PURGE_BEFORE = "2027-01-20"  # meetings are 4 January to 25 March 2027: about a fifth go
TAG = "MUSFORMS_FAULTS_RUN"  # inherited by every process a run starts
POLLS = 80  # looks at the process table for survivors of a run
POLL_SECONDS = 0.025
BIG = 8 << 30  # tmpfs size that is never the limit (tmpfs takes memory only as used)
USABLE = ("ok", "recovered")
LOCK_FILE = ".musforms.lock"  # a folder's lock: there after any run, holding who ran last
SHOWN = 6  # examples given per kind of difference

KINDS = (
    "kill_collect",
    "kill_generate",
    "kill_purge",
    "two_collects",
    "purge_during_collect",
    "full_results",
    "full_tmpdir",
    "readonly_results",
    "copies",
    "wrong_key",
)

FIRST = (
    "Søren", "Mette", "Anne", "Jens", "Kirsten", "Peter", "Hanne", "Lars", "Susanne", "Niels",
    "Maja", "Ida", "Åse", "Øjvind", "Karen", "Mikkel", "Signe", "Thomas", "Line", "Bjørn",
)  # fmt: skip
LAST = (
    "Jensen", "Nielsen", "Hansen", "Pedersen", "Andersen", "Larsen", "Sørensen", "Madsen",
    "Møller", "Østergaard", "Ærø", "Dahl", "Bøgh", "Kjær", "Holm",
)  # fmt: skip
DEPARTMENTS = ("Økonomi", "Borgerservice", "Løn og personale", "Teknik og miljø", "Skoler")


@functools.cache
def fill_module() -> ModuleType:
    """benchmarks/fill.py: answers a form the way a viewer saves it, without a real client."""
    spec = importlib.util.spec_from_file_location(
        "musforms_bench_fill", ROOT / "benchmarks" / "fill.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@functools.cache
def question_set() -> Any:
    from musforms.questionset import load_question_set

    return load_question_set(STANDARD)


def fill(form: Path, target: Path, answers_of: str) -> None:
    """``form`` filled with the answers ``answers_of`` types, written to ``target``."""
    f = fill_module()
    answers = f.answers_for(question_set(), answers_of)
    (f.fill_pdf if form.suffix == ".pdf" else f.fill_docx)(form, target, answers)


def _fill_chunk(items: list[tuple[str, str, str, int]]) -> int:
    for form, target, answers_of, mtime in items:
        fill(Path(form), Path(target), answers_of)
        os.utime(target, (mtime, mtime))
    return len(items)


# --- the history ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Arrive:
    """A wave of returned files is saved into returned/wave-<n>."""

    wave: int

    def __str__(self) -> str:
        return f"wave {self.wave} arrives"


@dataclass(frozen=True)
class Collect:
    inputs: tuple[str, ...] = ("returned",)
    key: str = "good"

    def __str__(self) -> str:
        key = "" if self.key == "good" else f" with the {self.key} key"
        return f"collect {' '.join(self.inputs)}{key}"


@dataclass(frozen=True)
class Purge:
    before: str = PURGE_BEFORE

    def __str__(self) -> str:
        return f"purge --before {self.before}"


Op = Arrive | Collect | Purge
Ops = tuple[Op, ...]


def history(waves: int) -> Ops:
    """HR's clean history for the first ``waves`` waves: each arrives, then collect."""
    ops: list[Op] = []
    for wave in range(1, waves + 1):
        ops += [Arrive(wave), Collect()]
    return tuple(ops)


@dataclass
class ReturnedFile:
    rel: str  # returned/wave-1/a/svar 10001.pdf
    employee: str | None
    form: str | None  # the issued form it was filled from, relative to the forms folder
    version: int
    wave: int
    mtime: int


# --- processes -----------------------------------------------------------------------------


def tagged(tag: str, session: int | None = None) -> list[tuple[int, str]]:
    """Living processes (not zombies) that carry ``tag``: a run and everything it started.

    With ``session`` (the run's pid: it leads its own session) only processes still in that
    session are looked at, which is cheaper; without it, every process is.
    """
    needle = f"{TAG}={tag}".encode()
    found: list[tuple[int, int, str]] = []
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat", "rb") as fh:
                fields = fh.read().rsplit(b")", 1)[1].split()
            if fields[0] in (b"Z", b"X"):
                continue
            if session is not None and int(fields[3]) != session:
                continue
            with open(f"/proc/{entry.name}/environ", "rb") as fh:
                if needle not in fh.read().split(b"\0"):
                    continue
            with open(f"/proc/{entry.name}/cmdline", "rb") as fh:
                cmdline = fh.read().replace(b"\0", b" ").decode("utf-8", "replace").strip()
        except OSError:
            continue
        found.append((int(entry.name), int(fields[1]), cmdline))
    pids = {pid for pid, _, _ in found}
    return [(pid, _label(cmd, ppid in pids)) for pid, ppid, cmd in found]


def _label(cmdline: str, parent_tagged: bool) -> str:
    """What a process of a run is: the run itself, its forkserver, a worker, the tracker."""
    if "multiprocessing.resource_tracker" in cmdline:
        return "resource tracker"
    if "multiprocessing.forkserver" in cmdline:
        return "worker" if parent_tagged else "forkserver"
    return cmdline[:80]


@dataclass
class Run:
    """One real CLI process, its output in files beside the case."""

    what: str
    argv: list[str]
    cwd: Path
    tag: str
    popen: subprocess.Popen[bytes]
    out_path: Path
    err_path: Path
    started: float
    ended: float | None = None
    killed: bool = False
    hung: bool = False

    @property
    def rc(self) -> int | None:
        return self.popen.returncode

    @property
    def seconds(self) -> float:
        return (self.ended or time.monotonic()) - self.started

    def running(self) -> bool:
        return self.popen.poll() is None

    def stderr(self) -> str:
        return self.err_path.read_text(encoding="utf-8", errors="replace")

    def stdout(self) -> str:
        return self.out_path.read_text(encoding="utf-8", errors="replace")

    def errored(self) -> bool:
        """Stopped on an error (as against exit 1 for files it could not use)."""
        if self.killed or self.hung:
            return True
        err = self.stderr()
        return self.rc not in (0, 1) or "Error:" in err or "Traceback" in err

    def wait(self, timeout: float) -> None:
        try:
            self.popen.wait(timeout)
        except subprocess.TimeoutExpired:
            self.hung = True
            for pid, _ in tagged(self.tag):
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
            self.popen.wait()
        self.ended = self.ended or time.monotonic()

    def kill(self) -> None:
        """SIGKILL the main process only, as the OOM killer or ``kill -9`` does."""
        os.kill(self.popen.pid, signal.SIGKILL)
        self.popen.wait()
        self.ended = time.monotonic()
        self.killed = True


def start(what: str, argv: list[str], cwd: Path, env: dict[str, str], logs: Path) -> Run:
    tag = uuid.uuid4().hex
    logs.mkdir(parents=True, exist_ok=True)
    stem = f"{len(list(logs.iterdir())) // 2:02d}-{what.split()[0]}"
    out_path, err_path = logs / f"{stem}.out", logs / f"{stem}.err"
    with out_path.open("wb") as out, err_path.open("wb") as err:
        popen = subprocess.Popen(
            argv,
            cwd=cwd,
            env={**env, TAG: tag},
            stdout=out,
            stderr=err,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
    return Run(what, argv, cwd, tag, popen, out_path, err_path, time.monotonic())


def survivors(run: Run) -> list[tuple[int, str]]:
    """The processes of ``run`` still alive after up to :data:`POLLS` looks; then ended."""
    left: list[tuple[int, str]] = []
    for _ in range(POLLS):
        left = tagged(run.tag)
        if not left:
            return []
        time.sleep(POLL_SECONDS)
    for pid, _ in left:  # ours: they carry the run's tag
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    return left


class PeakSampler:
    """The most bytes in use on some mounts while a run lasts, sampled every few ms."""

    def __init__(self, mounts: Sequence[Path]) -> None:
        self.mounts = list(mounts)
        self.peaks = [used_bytes(m) for m in self.mounts]
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def _loop(self) -> None:
        while not self._stop.is_set():
            for i, mount in enumerate(self.mounts):
                with contextlib.suppress(OSError):
                    self.peaks[i] = max(self.peaks[i], used_bytes(mount))
            self._stop.wait(0.003)

    def __enter__(self) -> PeakSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


FILLER = "filled-by-another-program"  # what fills a disk up in the full-disk faults


def fill_up(mount: Path, free: int) -> None:
    """Fill the file system at ``mount`` until only about ``free`` bytes are free (in whole
    pages; 0: full), with one file of :data:`FILLER`'s name."""
    fd = os.open(mount / FILLER, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    try:
        chunk = b"\0" * 65536
        with contextlib.suppress(OSError):  # ENOSPC: full
            while True:
                os.write(fd, chunk)
        size = os.fstat(fd).st_size
        os.ftruncate(fd, max(0, size - free))
    finally:
        os.close(fd)


def used_bytes(mount: Path) -> int:
    st = os.statvfs(mount)
    return (st.f_blocks - st.f_bfree) * st.f_frsize


# --- mounts --------------------------------------------------------------------------------


class Mounts:
    """tmpfs mounts made by the lab, each unmounted again whatever happens."""

    def __init__(self) -> None:
        self.active: list[Path] = []

    def tmpfs(self, path: Path, size: int) -> Path:
        path.mkdir(parents=True, exist_ok=True)
        size = max(size, 2 * 4096)
        _mount(["-t", "tmpfs", "-o", f"size={size},mode=0700", "tmpfs", str(path)])
        self.active.append(path)
        return path

    def resize(self, path: Path, size: int) -> None:
        _mount(["-o", f"remount,size={max(size, 2 * 4096)}", str(path)])

    def read_only(self, path: Path, attempts: int = 1) -> bool:
        """Remount ``path`` read-only; False when it stayed busy (files open for writing)."""
        for _ in range(attempts):
            done = subprocess.run(
                ["mount", "-o", "remount,ro", str(path)], capture_output=True, check=False
            )
            if done.returncode == 0:
                return True
            time.sleep(0.002)
        return False

    def bind_read_only(self, path: Path) -> None:
        """``path`` mounted over itself, read-only (the rest of its file system stays
        writable)."""
        _mount(["--bind", str(path), str(path)])
        self.active.append(path)
        _mount(["-o", "remount,bind,ro", str(path)])

    def writable(self, path: Path) -> None:
        _mount(["-o", "remount,rw", str(path)])

    def umount(self, path: Path) -> None:
        if path not in self.active:
            return
        self.active.remove(path)
        done = subprocess.run(["umount", str(path)], capture_output=True, check=False)
        if done.returncode != 0:
            subprocess.run(["umount", "-l", str(path)], capture_output=True, check=False)

    def close(self) -> None:
        for path in reversed(list(self.active)):
            self.umount(path)


def _mount(args: list[str]) -> None:
    done = subprocess.run(["mount", *args], capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"mount {' '.join(args)}: {done.stderr.strip()}")


def can_mount(scratch: Path) -> str | None:
    """None when this process may mount a tmpfs (and make it read-only), else why not."""
    if os.geteuid() != 0:
        return "the fault-injection suite mounts tmpfs file systems: it runs as root (CI does)"
    probe = scratch / "mount-probe"
    mounts = Mounts()
    try:
        mounts.tmpfs(probe, 1 << 20)
        if not mounts.read_only(probe):
            return "cannot remount a tmpfs read-only here"
    except RuntimeError as exc:
        return f"cannot mount a tmpfs here: {exc}"
    finally:
        mounts.close()
    return None


# --- what a results folder holds ------------------------------------------------------------


PRIVATE = re.compile(r"^\..*\.tmp$|\.tmp$|\.sqlite(-journal|-wal|-shm)?$|^musforms-|^tmp")


def listing(folder: Path) -> set[str]:
    """Every file and folder under ``folder``, as relative paths (folders end in /)."""
    found: set[str] = set()
    if not folder.is_dir():
        return found
    for root, dirs, files in os.walk(folder):
        rel = Path(root).relative_to(folder)
        found.update(f"{rel / d}/" for d in dirs)
        found.update(str(rel / f) for f in files)
    return {p.removeprefix("./") for p in found}


def private_files(names: set[str]) -> list[str]:
    return sorted(n for n in names if PRIVATE.search(Path(n.rstrip("/")).name))


def _read_json(path: Path) -> tuple[Any, str | None]:
    try:
        return json.loads(path.read_bytes()), None
    except FileNotFoundError:
        return None, "missing"
    except (OSError, ValueError) as exc:
        return None, f"damaged ({exc.__class__.__name__})"


@dataclass
class State:
    """A results folder as the comparisons see it."""

    folder: Path
    report: dict[str, Any] | None = None
    report_error: str | None = None
    responses_json: dict[str, Any] = field(default_factory=dict)
    responses_json_error: str | None = None

    @classmethod
    def read(cls, folder: Path) -> State:
        state = cls(folder)
        if not folder.is_dir():
            state.report_error = "missing"
            return state
        state.report, state.report_error = _read_json(folder / "report.json")
        data, state.responses_json_error = _read_json(folder / "responses.json")
        if isinstance(data, list):
            for item in data:
                with contextlib.suppress(KeyError, TypeError):
                    state.responses_json[str(item["employee"]["id"])] = item
        return state

    @property
    def returned(self) -> list[str]:
        return list(self.report.get("returned", [])) if self.report else []

    @property
    def missing(self) -> list[str]:
        return list(self.report.get("missing", [])) if self.report else []

    def statuses(self) -> dict[str, tuple[str, str | None]]:
        files = self.report.get("files", []) if self.report else []
        return {f["file"]: (f["status"], f.get("employee_id")) for f in files}

    def response(self, employee: str) -> bytes | None:
        try:
            return (self.folder / "responses" / f"{employee}.json").read_bytes()
        except OSError:
            return None

    def _files(self, name: str) -> list[Path]:
        """The files of a subfolder, temporary ones aside (those are leftovers)."""
        folder = self.folder / name
        if not folder.is_dir():
            return []
        return [p for p in sorted(folder.iterdir()) if p.is_file() and not PRIVATE.search(p.name)]

    def responses(self) -> dict[str, bytes]:
        return {p.name: p.read_bytes() for p in self._files("responses")}

    def minutes(self) -> dict[str, str]:
        return {p.name: docx_text(p) for p in self._files("minutes")}

    def file_bytes(self, name: str) -> bytes | None:
        try:
            return (self.folder / name).read_bytes()
        except OSError:
            return None


def docx_text(path: Path) -> str:
    """The text of a Word file's body, a line per paragraph."""
    from lxml import etree

    w = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
    try:
        with zipfile.ZipFile(path) as z:
            root = etree.fromstring(z.read("word/document.xml"))
    except (OSError, KeyError, zipfile.BadZipFile, etree.XMLSyntaxError) as exc:
        return f"<unreadable: {exc.__class__.__name__}>"
    return "\n".join("".join(t.text or "" for t in p.iter(f"{w}t")) for p in root.iter(f"{w}p"))


def _some(items: Sequence[str] | set[str], n: int = SHOWN) -> str:
    items = sorted(items)
    more = f" and {len(items) - n} more" if len(items) > n else ""
    return ", ".join(items[:n]) + more


def differences(actual: State, expected: State, *, extra_files: Sequence[str] = ()) -> list[str]:
    """How ``actual`` differs from the clean run's ``expected`` (timestamps aside).

    ``extra_files`` are returned files only ``actual`` was given (copies): each must have a
    status whose answers do not count; the rest of the report must be as in the clean run.
    """
    out: list[str] = []
    if actual.report_error or expected.report_error:
        if actual.report_error != expected.report_error:
            out.append(
                f"report.json is {actual.report_error or 'there'}; in the clean run it is "
                f"{expected.report_error or 'there'}"
            )
        if actual.report_error:
            return out
    got, want = listing(actual.folder), listing(expected.folder)
    leftovers = private_files(got - want)
    if leftovers:
        out.append(f"left in the results folder: {_some(leftovers)}")
    others = sorted((got - want) - set(leftovers))
    if others:
        out.append(f"files the clean run does not have: {_some(others)}")
    if want - got:
        out.append(f"files missing that the clean run has: {_some(want - got)}")
    a, e = actual.responses(), expected.responses()
    changed = [n for n in e if n in a and a[n] != e[n]]
    if changed:
        out.append(f"responses differ from the clean run: {_some(changed)}")
    for name in ("responses.json", "agreements.csv"):
        if actual.file_bytes(name) != expected.file_bytes(name):
            out.append(f"{name} differs from the clean run")
    for what, x, y in (
        ("returned", actual.returned, expected.returned),
        ("missing", actual.missing, expected.missing),
    ):
        if x != y:
            only_x, only_y = set(x) - set(y), set(y) - set(x)
            detail = []
            if only_y:
                detail.append(f"lacks {_some(only_y)}")
            if only_x:
                detail.append(f"also lists {_some(only_x)}")
            out.append(f"report.json's {what} list {'; '.join(detail) or 'is in another order'}")
    sa, se = actual.statuses(), expected.statuses()
    extra = set(extra_files)
    wrong = [
        f"{f}: {sa[f][0] if f in sa else 'absent'} (clean run: {se[f][0]})"
        for f in se
        if sa.get(f) != se[f]
    ]
    wrong += [f"{f}: listed, not in the clean run" for f in sa if f not in se and f not in extra]
    if wrong:
        out.append(f"report.json's file statuses differ: {_some(wrong, 4)}")
    used = [f"{f}: {sa[f][0]}" for f in extra if f in sa and sa[f][0] in USABLE]
    absent = [f for f in extra if f not in sa]
    if used:
        out.append(f"copies whose answers count, as if they were new returns: {_some(used, 4)}")
    if absent:
        out.append(f"returned files missing from report.json: {_some(absent, 4)}")
    ma, me = actual.minutes(), expected.minutes()
    if ma != me:
        diff = [n for n in set(ma) | set(me) if ma.get(n) != me.get(n)]
        out.append(f"minutes differ from the clean run: {_some(diff)}")
    return out


def lost_answers(pre: State, post: State, expected: State, *, settled: bool) -> list[str]:
    """Answers on record in ``pre`` that ``post`` no longer holds as they were.

    An answer the clean run (``expected``) keeps as it was must be byte for byte the same;
    one the clean run replaces (a newer return) may be either version until ``settled``;
    one the clean run drops (a purge) is not looked at.
    """
    lost: list[str] = []
    if pre.report is None:
        return lost
    if post.report is None:
        return [f"{eid} (report.json {post.report_error})" for eid in pre.returned]
    post_returned = set(post.returned)
    expected_returned = set(expected.returned)
    for eid in pre.returned:
        if eid not in expected_returned:
            continue
        before, after = pre.response(eid), expected.response(eid)
        allowed = {after} if settled or before == after else {before, after}
        now = post.response(eid)
        if now is None:
            lost.append(f"{eid} (its response file is gone)")
        elif now not in allowed:
            lost.append(f"{eid} (its response file changed)")
        elif eid not in post_returned:
            lost.append(f"{eid} (no longer in report.json's returned list)")
        elif post.responses_json_error:
            lost.append(f"{eid} (responses.json {post.responses_json_error})")
        elif post.responses_json.get(eid) not in [json.loads(b) for b in allowed if b]:
            lost.append(f"{eid} (not as it was in responses.json)")
    return lost


def missing_answers(post: State, expected: State) -> list[str]:
    """Answers the clean run has on record that ``post`` does not hold as it does."""
    if post.report is None:
        return list(expected.returned)
    returned = set(post.returned)
    return [
        eid
        for eid in expected.returned
        if eid not in returned or post.response(eid) != expected.response(eid)
    ]


# --- the round -------------------------------------------------------------------------------


class Round:
    """A roster, its forms and the returned files, made once per lab."""

    def __init__(self, folder: Path, seed: int, employees: int, waves: int) -> None:
        self.folder = folder
        self.seed = seed
        self.employees = employees
        self.waves = waves
        self.roster = folder / "roster.csv"
        self.roster_more = folder / "roster-more.csv"  # a later generate: new starters, a move
        self.key = folder / "keys" / "key"
        self.wrong_key = folder / "keys" / "another-key"
        self.forms = folder / "forms" / CYCLE
        self.pool = folder / "pool"  # returned/wave-<n>/<mailbox>/<file>, as linked into cases
        self.files: dict[int, list[ReturnedFile]] = {}
        self.generate_seconds = 0.0
        self.meeting: dict[str, dt.date] = {}
        self.moved = ""

    def env(self, home: Path, tmp: Path, key: str = "good") -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if k not in (TAG, "MUSFORMS_KEY_FILE")}
        env.update(
            MUSFORMS_KEY_FILE=str(self.key if key == "good" else self.wrong_key),
            TMPDIR=str(tmp),
            HOME=str(home),
            SOURCE_DATE_EPOCH=str(EPOCH),
            LC_ALL="C.UTF-8",
            # musforms' messages in English, which the checks read ("Error:", "space"), though
            # LC_ALL=C would give the default, Danish: LANGUAGE comes first (musforms.i18n).
            LANGUAGE="en",
        )
        return env

    def generate_argv(self, roster: Path) -> list[str]:
        return [
            *(str(MUSFORMS), "generate", "-q", str(STANDARD), "-r", str(roster)),
            *("-o", FORMS, "--cycle", CYCLE),
        ]

    def build(self) -> None:
        rnd = random.Random(f"{self.seed}/round")
        self.folder.mkdir(parents=True, exist_ok=True)
        rows = self._employees(rnd, self.employees, 10001)
        _write_roster(self.roster, rows)
        more = [dict(r) for r in rows]
        more[0]["department"] = "Jobcenter"  # moved: the form is issued again
        self.moved = more[0]["id"]
        more += self._employees(rnd, max(2, self.employees // 10), 10001 + self.employees)
        _write_roster(self.roster_more, more)
        from musforms.identity import load_key

        load_key(self.key, create=True)
        load_key(self.wrong_key, create=True)
        work = self.folder / "work"
        run = start(
            "generate",
            self.generate_argv(self.roster),
            self.folder,
            self.env(work / "home", _fresh(work / "tmp")),
            work / "logs",
        )
        run.wait(3600)
        if run.rc != 0:
            raise RuntimeError(f"generate failed: {run.stderr()}")
        self.generate_seconds = run.seconds
        self._returns(rnd, rows)

    def _employees(self, rnd: random.Random, n: int, first_id: int) -> list[dict[str, str]]:
        rows = []
        for i in range(n):
            first, last = rnd.choice(FIRST), rnd.choice(LAST)
            day = dt.date(2027, 1, 4) + dt.timedelta(days=rnd.randint(0, 80))
            eid = str(first_id + i)
            self.meeting[eid] = day
            rows.append(
                {
                    "id": eid,
                    "name": f"{first} {last}",
                    "email": f"{eid}@kommune.dk",
                    "department": rnd.choice(DEPARTMENTS),
                    "manager": f"{rnd.choice(FIRST)} {rnd.choice(LAST)}",
                    "meeting_date": day.strftime("%d-%m-%Y"),
                    "language": "en" if rnd.random() < 0.1 else "da",
                }
            )
        return rows

    def _returns(self, rnd: random.Random, rows: list[dict[str, str]]) -> None:
        """Who returns what, in which wave and mailbox; filled, with a save time each."""
        manifest = json.loads((self.forms / "manifest.json").read_text(encoding="utf-8"))
        issued = {f["employee_id"]: f["files"] for f in manifest["forms"]}
        self.files = {w: [] for w in range(1, self.waves + 1)}
        seq = 0
        jobs: list[tuple[str, str, str, int]] = []

        def add(wave: int, box: str, name: str, eid: str | None, form: str | None, v: int) -> str:
            nonlocal seq
            seq += 1
            rel = f"returned/wave-{wave}/{box}/{name}"
            mtime = EPOCH + wave * 86_400 + seq * 7
            self.files[wave].append(ReturnedFile(rel, eid, form, v, wave, mtime))
            return rel

        for row in rows:
            eid = row["id"]
            if rnd.random() < 0.12:
                continue  # never returns
            wave = rnd.randint(1, self.waves)
            box = rnd.choice("ab")
            r = rnd.random()
            kinds = ["pdf"] if r < 0.55 else ["docx"] if r < 0.8 else ["pdf", "docx"]
            stem = rnd.choice(
                [f"svar {eid}", Path(issued[eid]["pdf"]).stem, f"MUS {row['name']} {eid}"]
            )
            versions = [(wave, 1, stem)]
            if wave < self.waves and rnd.random() < 0.1:
                versions.append((rnd.randint(wave + 1, self.waves), 2, f"{stem} rettet"))
            for w, version, name in versions:
                for kind in kinds:
                    form = issued[eid][kind]
                    rel = add(w, box, f"{name}.{kind}", eid, form, version)
                    answers_of = eid if version == 1 else f"{eid}/{version}"
                    jobs.append((str(self.forms / form), str(self.pool / rel), answers_of, 0))
        for wave in self.files:  # what else arrives by mail
            add(wave, "a", "tom.pdf", None, None, 0)
            add(wave, "b", "noter.txt", None, None, 0)
        mtimes = {str(self.pool / f.rel): f.mtime for fs in self.files.values() for f in fs}
        for fs in self.files.values():
            for f in fs:
                (self.pool / f.rel).parent.mkdir(parents=True, exist_ok=True)
                if f.employee is None:
                    data = b"" if f.rel.endswith(".pdf") else "Husk mødet\n".encode()
                    (self.pool / f.rel).write_bytes(data)
                    os.utime(self.pool / f.rel, (f.mtime, f.mtime))
        jobs = [(a, b, c, mtimes[b]) for a, b, c, _ in jobs]
        if len(jobs) < 40:
            _fill_chunk(jobs)
            return
        from concurrent.futures import ProcessPoolExecutor
        from multiprocessing import get_context

        size = max(10, len(jobs) // (4 * (os.cpu_count() or 1)))
        chunks = [jobs[i : i + size] for i in range(0, len(jobs), size)]
        with ProcessPoolExecutor(os.cpu_count() or 1, mp_context=get_context("spawn")) as pool:
            assert sum(pool.map(_fill_chunk, chunks)) == len(jobs)

    def link_waves(self, case: Path, waves: set[int]) -> None:
        """Hard links of the waves' returned files into ``case``/returned (cheap, same bytes
        and times as in the pool)."""
        for wave in sorted(waves):
            for f in self.files[wave]:
                target = case / f.rel
                if target.exists():
                    continue
                target.parent.mkdir(parents=True, exist_ok=True)
                os.link(self.pool / f.rel, target)


def _write_roster(path: Path, rows: list[dict[str, str]]) -> None:
    with path.open("w", encoding="utf-8", newline="") as fh:
        out = csv.DictWriter(fh, fieldnames=list(rows[0]), delimiter=";")
        out.writeheader()
        out.writerows(rows)


def _fresh(path: Path) -> Path:
    shutil.rmtree(path, ignore_errors=True)
    path.mkdir(parents=True)
    return path


def _copy_results(src: Path | None, dst: Path) -> None:
    if src is not None and src.is_dir():
        shutil.copytree(src, dst, symlinks=True)


# --- outcomes --------------------------------------------------------------------------------


@dataclass
class Outcome:
    """What one case did and found."""

    kind: str
    index: int
    seed: int
    employees: int
    waves: int
    params: dict[str, Any] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)
    faults: int = 0  # faults injected (a double kill is two)
    bit: int = 0  # of them, those that took effect (the run was killed, failed, overlapped)
    compared: int = 0  # comparisons with a clean run
    lost: set[str] = field(default_factory=set)  # employees whose answers were lost
    leftovers: list[str] = field(default_factory=list)
    survivors: list[str] = field(default_factory=list)
    other_tmp: list[str] = field(default_factory=list)  # Python's own (pymp-*, probe), not failures
    seconds: float = 0.0

    @property
    def name(self) -> str:
        return f"{self.kind}#{self.index}"

    replay_as: str = ""  # the command that runs this case alone, with {name} and {kind}

    def replay(self) -> str:
        return self.replay_as.format(name=self.name, kind=self.kind, seed=self.seed)

    def settings(self) -> str:
        return ", ".join(
            f"{k}={'; '.join(v) if isinstance(v, list) else v}" for k, v in self.params.items()
        )

    def describe(self) -> str:
        lines = [f"{self.name} seed={self.seed}: {self.settings()}"]
        lines += [f"  - {p}" for p in self.problems]
        lines.append(f"  replay: {self.replay()}")
        return "\n".join(lines)


@dataclass
class Ref:
    """The results of a clean history, and how its last command ran."""

    results: Path | None  # a copy of results/<cycle>; None before anything was collected
    rc: int | None = None
    seconds: float = 0.0
    results_base: int = 0  # bytes in use on the results tmpfs before the last command
    results_peak: int = 0
    tmp_peak: int = 0


# --- the lab -------------------------------------------------------------------------------


class Lab:
    """A round, its clean references, and the cases run against them."""

    def __init__(
        self,
        folder: Path,
        *,
        seed: int,
        employees: int,
        waves: int,
        keep_failed: bool = True,
        last_wave: bool = False,
        least: int = 1,
        replay: str = "",
    ) -> None:
        """``last_wave``: every fault strikes at the last wave (something is on record
        before it, and the cases share most clean histories: the short run); else at any.
        ``least``: faults each case injects before its re-run, at least (where its kind can
        repeat: kills, full disks, read-only turns, copies). ``replay``: the command that
        runs one case alone, with ``{name}`` (kind#index), ``{kind}`` and ``{seed}``."""
        self.replay = replay or (
            ".venv/bin/python benchmarks/soak.py --seed {seed} "
            f"--employees {employees} --waves {waves} --only {{name}}"
        )
        self.folder = folder
        self.least = least
        self.seed = seed
        self.keep_failed = keep_failed
        self.last_wave = last_wave
        self.round = Round(folder / "round", seed, employees, waves)
        self.mounts = Mounts()
        self.refs: dict[Ops, Ref] = {}
        self._ref_count = 0
        self._forms_again: tuple[Path, float] | None = None
        self.forms_listing: set[str] = set()
        self.outcomes: list[Outcome] = []

    def __enter__(self) -> Lab:
        self.round.build()
        self.forms_listing = listing(self.round.forms)
        return self

    def __exit__(self, *exc: object) -> None:
        self.mounts.close()

    @property
    def waves(self) -> int:
        return self.round.waves

    # --- commands

    def argv(self, op: Collect | Purge) -> list[str]:
        if isinstance(op, Collect):
            return [str(MUSFORMS), "collect", *op.inputs, "--forms", FORMS, "--out", RESULTS]
        return [str(MUSFORMS), "purge", RESULTS, "--before", op.before, "--yes"]

    def start(self, case: Path, op: Collect | Purge, tmp: Path | None = None) -> Run:
        key = op.key if isinstance(op, Collect) else "good"
        env = self.round.env(case / "home", tmp or case / "tmp", key)
        return start(str(op), self.argv(op), case, env, case / "logs")

    def timeout(self, seconds: float) -> float:
        return 120 + 20 * seconds

    def setup(self, case: Path, ops: Ops, *, results_mount: int | None = None) -> Ref:
        """``case`` as the clean history ``ops`` leaves it: the waves arrived so far, the
        forms, the results (on a tmpfs of ``results_mount`` bytes when given)."""
        ref = self.ref(ops)
        _fresh(case)
        for sub in ("home", "tmp", "forms"):
            (case / sub).mkdir()
        (case / "forms" / CYCLE).symlink_to(self.round.forms)
        self.round.link_waves(case, {op.wave for op in ops if isinstance(op, Arrive)})
        if results_mount is not None:
            self.mounts.tmpfs(case / "results", results_mount)
        _copy_results(ref.results, case / RESULTS)
        return ref

    # --- references

    def ref(self, ops: Ops) -> Ref:
        """The results of the clean history ``ops``, computed once."""
        if ops in self.refs:
            return self.refs[ops]
        if not ops:
            self.refs[ops] = Ref(None)
            return self.refs[ops]
        before = self.ref(ops[:-1])
        last = ops[-1]
        if isinstance(last, Arrive):
            self.refs[ops] = Ref(before.results)
            return self.refs[ops]
        self._ref_count += 1
        work = self.folder / "refs" / f"{self._ref_count:03d}"
        case = work / "case"
        self.setup(case, ops[:-1], results_mount=BIG)
        tmp = self.mounts.tmpfs(case / "tmp", BIG)
        try:
            base = used_bytes(case / "results")
            with PeakSampler([case / "results", tmp]) as peaks:
                run = self.start(case, last)
                run.wait(3600)
            if run.errored():
                raise RuntimeError(
                    f"the clean run of {last} after {[str(o) for o in ops[:-1]]} failed: "
                    f"{run.stderr().strip()}"
                )
            snap = work / "results"
            _copy_results(case / RESULTS, snap)
        finally:
            self.mounts.umount(case / "tmp")
            self.mounts.umount(case / "results")
        ref = Ref(
            snap if snap.is_dir() else None,
            run.rc,
            run.seconds,
            base,
            peaks.peaks[0],
            peaks.peaks[1],
        )
        self.refs[ops] = ref
        return ref

    def forms_again(self) -> tuple[Path, float]:
        """The forms folder after a clean second generate (new starters, one moved), and how
        long that generate took."""
        if self._forms_again is None:
            case = _fresh(self.folder / "refs" / "generate-again")
            forms = case / FORMS
            shutil.copytree(self.round.forms, forms)
            run = start(
                "generate",
                self.round.generate_argv(self.round.roster_more),
                case,
                self.round.env(case / "home", _fresh(case / "tmp")),
                case / "logs",
            )
            run.wait(3600)
            if run.rc != 0:
                raise RuntimeError(f"the clean second generate failed: {run.stderr()}")
            self._forms_again = (forms, run.seconds)
        return self._forms_again

    # --- cases

    def run_case(self, kind: str, index: int) -> Outcome:
        out = Outcome(kind, index, self.seed, self.round.employees, self.waves)
        out.replay_as = self.replay
        case = Case(self, out)
        started = time.monotonic()
        try:
            getattr(case, kind)()
        except Exception as exc:  # a fault in the harness or in its set-up: a failure too
            out.problems.append(f"the case itself failed: {exc.__class__.__name__}: {exc}")
        finally:
            case.close()
        out.seconds = time.monotonic() - started
        self.outcomes.append(out)
        return out

    def plan(self, count: int, kinds: Sequence[str] = KINDS) -> list[tuple[str, int]]:
        """``count`` cases spread over ``kinds``: every kind in turn, in an order from the
        seed, so each kind gets its share."""
        rnd = random.Random(f"{self.seed}/plan")
        order: list[str] = []
        while len(order) < count:
            batch = list(kinds)
            rnd.shuffle(batch)
            order += batch
        seen: Counter[str] = Counter()
        cases = []
        for kind in order[:count]:
            cases.append((kind, seen[kind]))
            seen[kind] += 1
        return cases


class Case:
    """One fault of one kind, from a reference to a verdict (in ``out``)."""

    def __init__(self, lab: Lab, out: Outcome) -> None:
        self.lab = lab
        self.out = out
        self.rnd = random.Random(f"{lab.seed}/{out.kind}/{out.index}")
        self.dir = lab.folder / "cases" / out.name.replace("#", "-")
        self.runs: list[Run] = []
        self.mounted: list[Path] = []

    @property
    def results(self) -> Path:
        return self.dir / RESULTS

    def close(self) -> None:
        for run in self.runs:
            if run.running():
                run.kill()
            for pid, _ in tagged(run.tag):
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
        for path in reversed(self.mounted):
            self.lab.mounts.umount(path)
        if not self.out.problems:
            shutil.rmtree(self.dir, ignore_errors=True)
        elif not self.lab.keep_failed and self.dir.is_dir():  # the logs say enough
            for child in self.dir.iterdir():
                if child.name != "logs":
                    shutil.rmtree(child, ignore_errors=True)

    def problem(self, text: str) -> None:
        self.out.problems.append(text)

    # --- pieces every kind uses

    def setup(self, ops: Ops, *, results_mount: int | None = None) -> Ref:
        ref = self.lab.setup(self.dir, ops, results_mount=results_mount)
        if results_mount is not None:
            self.mounted.append(self.dir / "results")
        return ref

    def start(self, op: Collect | Purge, tmp: Path | None = None) -> Run:
        run = self.lab.start(self.dir, op, tmp)
        self.runs.append(run)
        return run

    def finish(self, run: Run, expected_seconds: float) -> Run:
        run.wait(self.lab.timeout(expected_seconds))
        if run.hung:
            self.problem(f"{run.what} did not finish (hung); it was stopped")
        return run

    def run(self, op: Collect | Purge, expected_seconds: float, tmp: Path | None = None) -> Run:
        return self.finish(self.start(op, tmp), expected_seconds)

    def trigger(self, seconds: float, watch: Path) -> Callable[[Run], bool]:
        """When to strike a run: at a fraction of a clean run's time, or at an event."""
        kind = self.rnd.choices(["time", "worker", "tempfile"], [6, 2, 2])[0]
        frac = round(self.rnd.uniform(0.02, 1.0), 3)
        if kind == "time":
            self.out.params.setdefault("strike", []).append(f"{frac:.0%} of a clean run")
            return lambda run: run.seconds >= frac * seconds
        if kind == "worker":
            self.out.params.setdefault("strike", []).append("when a worker starts")
            return lambda run: (
                len(tagged(run.tag, run.popen.pid)) >= 2 or run.seconds >= 2 * seconds
            )
        self.out.params.setdefault("strike", []).append("when a temporary file appears")
        return lambda run: _temp_file_in(watch) or run.seconds >= 2 * seconds

    def strike(self, run: Run, when: Callable[[Run], bool], action: Callable[[], None]) -> bool:
        """Do ``action`` once ``when`` holds while ``run`` runs; False when it ended first."""
        while run.running():
            if when(run):
                if not run.running():
                    return False
                action()
                return True
            time.sleep(0.005)
        return False

    def kill_at(self, run: Run, when: Callable[[Run], bool]) -> bool:
        killed = self.strike(run, when, run.kill)
        if not killed:
            run.wait(self.lab.timeout(run.seconds))
        return killed

    def check_survivors(self, run: Run) -> None:
        left = survivors(run)
        if left:
            self.out.survivors += [f"{pid} {cmd}" for pid, cmd in left]
            self.problem(
                f"{len(left)} processes of the {'killed' if run.killed else 'stopped'} "
                f"{run.what} still ran after {POLLS} looks: "
                + ", ".join(f"{cmd} (pid {pid})" for pid, cmd in left)
            )

    def check_friendly(self, run: Run, *, full: bool = False) -> None:
        err = run.stderr()
        if "Traceback" in err:
            self.problem(f"{run.what} failed with a traceback: {_last_line(err)}")
        elif "Error:" not in err:
            self.problem(f"{run.what} failed (exit {run.rc}) without an Error: line: {err!r}")
        elif full and not re.search(r"space|full", err, re.I):
            self.problem(
                f"{run.what} on a full disk does not say the disk is full: {_last_line(err)}"
            )

    def check_kept(
        self, pre: Ref, expected: Ref | Sequence[Ref], when: str, *, settled: bool = False
    ) -> None:
        """Nothing on record before the fault is lost (``when``: at which point); with
        several clean runs allowed (two commands at once), against the closest."""
        refs = [expected] if isinstance(expected, Ref) else list(expected)
        now, before = State.read(self.results), _state(pre)
        lost = min((lost_answers(before, now, _state(r), settled=settled) for r in refs), key=len)
        if lost:
            self.out.lost.update(x.split()[0] for x in lost)
            self.problem(f"{when}: {len(lost)} answers collected before are lost: {_some(lost, 4)}")

    def compare(
        self,
        expected: Ref | Sequence[Ref],
        when: str,
        *,
        extra_files: Sequence[str] = (),
        rc: tuple[Run, int | None] | None = None,
    ) -> None:
        """The results against the clean run (or the closest of several allowed ones)."""
        refs = [expected] if isinstance(expected, Ref) else list(expected)
        state = State.read(self.results)
        found = [differences(state, _state(r), extra_files=extra_files) for r in refs]
        best = min(range(len(refs)), key=lambda i: len(found[i]))
        self.out.compared += 1
        missing = missing_answers(state, _state(refs[best]))
        if missing:
            self.out.lost.update(missing)
        for diff in found[best]:
            self.problem(f"{when}: {diff}")
        self.out.leftovers += [
            f"{RESULTS}/{n}" for n in private_files(listing(self.results) - listing_of(refs[best]))
        ]
        if rc is not None:
            run, want = rc
            if run.rc != want:
                self.problem(f"{when}: {run.what} exits {run.rc}; the clean run exits {want}")

    def check_tmp(self, tmp: Path, when: str) -> None:
        names = listing(tmp)
        top = {n.split("/")[0] for n in names}
        python = {n for n in top if n.startswith("pymp-") or _python_probe(tmp / n)}
        ours = sorted(top - python)
        self.out.other_tmp += sorted(python)
        if ours:
            self.out.leftovers += [f"TMPDIR/{n}" for n in ours]
            self.problem(f"{when}: left in TMPDIR: {_some(ours)}")

    def check_forms(self, when: str) -> None:
        now = listing(self.lab.round.forms)
        extra = now - self.lab.forms_listing
        if extra:
            self.out.leftovers += [f"{FORMS}/{n}" for n in sorted(extra)]
            self.problem(f"{when}: left in the forms folder: {_some(extra)}")
            for name in sorted(extra, reverse=True):  # the next case starts clean
                path = self.lab.round.forms / name.rstrip("/")
                if path.is_dir():
                    shutil.rmtree(path, ignore_errors=True)
                else:
                    path.unlink(missing_ok=True)
        if now != self.lab.forms_listing and self.lab.forms_listing - now:
            self.problem(
                f"{when}: files gone from the forms folder: {_some(self.lab.forms_listing - now)}"
            )

    def finish_checks(self, tmp: Path | None = None) -> None:
        self.check_tmp(tmp or self.dir / "tmp", "after the re-run")
        self.check_forms("after the re-run")

    def times(self, most: int) -> int:
        """How many faults of its kind a case injects before the one re-run: 1 to ``most``,
        at least the lab's ``least``."""
        least = min(self.lab.least, most)
        return self.rnd.randint(least, most)

    def wave(self, low: int = 1) -> int:
        if self.lab.last_wave:
            return self.lab.waves
        return self.rnd.randint(min(low, self.lab.waves), self.lab.waves)

    def collect_op(self, wave: int) -> Collect:
        mode = self.rnd.choice(["all", "mailbox"])
        self.out.params["collect"] = "returned" if mode == "all" else f"returned/wave-{wave}"
        return Collect() if mode == "all" else Collect((f"returned/wave-{wave}",))

    # --- the kinds

    def kill_collect(self) -> None:
        """SIGKILL of collect at a random moment (once or twice), then collect again."""
        k = self.wave()
        pre_ops = (*history(k - 1), Arrive(k))
        op = self.collect_op(k)
        self.out.params["wave"] = k
        expected = self.lab.ref((*pre_ops, op))
        pre = self.setup(pre_ops)
        for i in range(self.times(3)):
            run = self.start(op)
            self.out.faults += 1
            if self.kill_at(run, self.trigger(expected.seconds, self.results)):
                self.out.bit += 1
            self.check_survivors(run)
            self.check_kept(pre, expected, f"after kill {i + 1}")
        rerun = self.run(op, expected.seconds)
        self.check_survivors(rerun)
        self.check_kept(pre, expected, "after the re-run", settled=True)
        self.compare(expected, "after the re-run", rc=(rerun, expected.rc))
        self.finish_checks()

    def kill_purge(self) -> None:
        """SIGKILL of purge at a random moment (once or twice), then purge again."""
        k = self.wave()
        pre_ops = history(k)
        op = Purge()
        self.out.params["after wave"] = k
        expected = self.lab.ref((*pre_ops, op))
        pre = self.setup(pre_ops)
        for i in range(self.times(2)):
            run = self.start(op)
            self.out.faults += 1
            if self.kill_at(run, self.trigger(expected.seconds, self.results)):
                self.out.bit += 1
            self.check_survivors(run)
            self.check_kept(pre, expected, f"after kill {i + 1}")
        rerun = self.run(op, expected.seconds)
        self.check_survivors(rerun)
        if rerun.errored():
            self.check_friendly(rerun)
        self.check_kept(pre, expected, "after the re-run", settled=True)
        self.compare(expected, "after the re-run")
        self.finish_checks()

    def _two_at_once(self, pre_ops: Ops, ops: tuple[Collect | Purge, Collect | Purge]) -> None:
        first, second = ops if self.rnd.random() < 0.5 else ops[::-1]
        alone = self.lab.ref((*pre_ops, first))
        frac = round(self.rnd.uniform(0.0, 0.9), 3)
        self.out.params["runs"] = f"{first}; {second} after {frac:.0%} of the first's time"
        pre = self.setup(pre_ops)
        a = self.start(first)
        while a.running() and a.seconds < frac * alone.seconds:
            time.sleep(0.002)
        b = self.start(second)
        self.out.faults += 1
        overlapped = a.running()
        for run in (a, b):
            self.finish(run, 2 * alone.seconds)
            self.check_survivors(run)
        if overlapped:
            self.out.bit += 1
        # The order they in effect ran in: the one refused (folder busy) ran after the other
        # once run again; else the one that ended first. Either order is a clean history;
        # the other is computed only when the results are not those of this one.
        if a.errored() != b.errored():
            order = (second, first) if a.errored() else (first, second)
        else:
            order = (
                (first, second)
                if a.errored() or (a.ended or 0) <= (b.ended or 0)
                else (second, first)
            )
        refs = [self.lab.ref((*pre_ops, *order))]

        def both() -> list[Ref]:
            if len(refs) == 1:
                refs.append(self.lab.ref((*pre_ops, *order[::-1])))
            return refs

        state = State.read(self.results)
        if lost_answers(_state(pre), state, _state(refs[0]), settled=False):
            both()
        self.check_kept(pre, refs, "after both ran")
        for run, op in ((a, first), (b, second)):
            if run.errored():  # e.g. the results folder is busy: HR runs it again
                self.check_friendly(run)
                self.out.params.setdefault("run again", []).append(str(op))
                again = self.run(op, alone.seconds)
                self.check_survivors(again)
        if differences(State.read(self.results), _state(refs[0])):
            both()
        self.check_kept(pre, refs, "after both (and any re-run)", settled=True)
        self.compare(refs, "after both (and any re-run)")
        self.finish_checks()

    def two_collects(self) -> None:
        """Two collects into one results folder at once (one per mailbox of a wave)."""
        k = self.wave()
        self.out.params["wave"] = k
        a = Collect((f"returned/wave-{k}/a",))
        b = Collect((f"returned/wave-{k}/b",))
        self._two_at_once((*history(k - 1), Arrive(k)), (a, b))

    def purge_during_collect(self) -> None:
        """A purge while a collect runs (either may start first)."""
        k = self.wave(low=2)
        self.out.params["wave"] = k
        self._two_at_once((*history(k - 1), Arrive(k)), (Collect(), Purge()))

    def full_results(self) -> None:
        """The results folder's disk fills up during collect (once or more, with a little
        more room each time); then there is room; collect again."""
        k = self.wave()
        pre_ops = (*history(k - 1), Arrive(k))
        op = self.collect_op(k)
        expected = self.lab.ref((*pre_ops, op))
        pre = self.setup(pre_ops, results_mount=BIG)
        mount = self.dir / "results"
        used = used_bytes(mount)
        need = max(expected.results_peak - expected.results_base, 4096)
        sizes = []
        for frac in sorted(round(self.rnd.uniform(0.0, 0.9), 3) for _ in range(self.times(2))):
            size = max(used_bytes(mount), used + int(frac * need))
            sizes.append(f"{size} bytes ({frac:.0%} of what the run needs)")
            self.lab.mounts.resize(mount, size)
            self._fail(pre, expected, op, full=True)
        self.out.params.update(wave=k, disk=sizes)
        self.lab.mounts.resize(mount, BIG)
        self._rerun(pre, expected, op)

    def full_tmpdir(self) -> None:
        """TMPDIR is full (once or more, with a little room each time): collect keeps its
        scratch files in the results folder's private space, so it must run as if there
        were room, with the clean run's results; then there is room; collect again."""
        k = self.wave()
        pre_ops = (*history(k - 1), Arrive(k))
        op = self.collect_op(k)
        expected = self.lab.ref((*pre_ops, op))
        pre = self.setup(pre_ops)
        tmp = self.lab.mounts.tmpfs(self.dir / "tmp", 1 << 20)
        self.mounted.append(tmp)
        room = []
        for i, frac in enumerate(
            sorted(round(self.rnd.uniform(0.0, 0.9), 3) for _ in range(self.times(2)))
        ):
            free = int(frac * expected.tmp_peak)
            room.append(f"{free} bytes free ({frac:.0%} of what a clean run used)")
            fill_up(tmp, free)
            run = self.run(op, expected.seconds, tmp)
            self.out.faults += 1
            self.check_survivors(run)
            if run.errored():
                self.out.bit += 1
                self.problem(
                    f"a full TMPDIR stopped {run.what}, which keeps nothing there: "
                    f"{_last_line(run.stderr())}"
                )
            self.check_kept(pre, expected, f"with TMPDIR full, run {i + 1}")
            self.compare(expected, f"with TMPDIR full, run {i + 1}", rc=(run, expected.rc))
        self.out.params.update(wave=k, tmpdir=room)
        (tmp / FILLER).unlink()
        self.lab.mounts.resize(tmp, BIG)
        self._rerun(pre, expected, op, tmp=tmp)

    def readonly_results(self) -> None:
        """The results folder, or a folder in it (responses/, minutes/), is read-only (a
        read-only mount: permission bits do not stop root), once or more; made writable
        again; collect again. (A mount cannot turn read-only while a file on it is open for
        writing, as musforms' lock file is during a run: so it is read-only before it.)"""
        k = self.wave()
        pre_ops = (*history(k - 1), Arrive(k))
        op = self.collect_op(k)
        expected = self.lab.ref((*pre_ops, op))
        pre = self.setup(pre_ops, results_mount=BIG)
        mount = self.dir / "results"
        self.out.params["wave"] = k
        for i in range(self.times(2)):
            inner = [d for d in ("responses", "minutes") if (self.results / d).is_dir()]
            where = self.rnd.choice(["the results folder", *inner])
            self.out.params.setdefault("read_only", []).append(where)
            self.out.faults += 1
            if where == "the results folder":
                if not self.lab.mounts.read_only(mount):
                    raise RuntimeError("cannot make the results folder read-only")
            else:
                self.lab.mounts.bind_read_only(self.results / where)
            run = self.run(op, expected.seconds)
            self.check_survivors(run)
            if run.errored():
                self.out.bit += 1
                self.check_friendly(run)
            self.check_kept(pre, expected, f"after read-only run {i + 1}")
            if where == "the results folder":
                self.lab.mounts.writable(mount)
            else:
                self.lab.mounts.umount(self.results / where)
        self._rerun(pre, expected, op)

    def _fail(
        self, pre: Ref, expected: Ref, op: Collect, *, full: bool, tmp: Path | None = None
    ) -> None:
        run = self.run(op, expected.seconds, tmp)
        self.out.faults += 1
        self.check_survivors(run)
        if run.errored():
            self.out.bit += 1
            self.check_friendly(run, full=full)
        left = private_files(listing(self.results) - listing_of(pre))
        if left:
            self.out.leftovers += left
            self.problem(f"after the failed run: left in the results folder: {_some(left)}")
        self.check_kept(pre, expected, "after the failed run")

    def _rerun(self, pre: Ref, expected: Ref, op: Collect, tmp: Path | None = None) -> None:
        rerun = self.run(op, expected.seconds, tmp)
        self.check_survivors(rerun)
        self.check_kept(pre, expected, "after the re-run", settled=True)
        self.compare(expected, "after the re-run", rc=(rerun, expected.rc))
        self.finish_checks(tmp)

    def wrong_key(self) -> None:
        """collect with another installation's key, then with the right one."""
        k = self.wave(low=2)
        pre_ops = (*history(k - 1), Arrive(k))
        op = Collect()
        self.out.params["wave"] = k
        expected = self.lab.ref((*pre_ops, op))
        pre = self.setup(pre_ops)
        bad = self.run(Collect(key="wrong"), expected.seconds)
        self.out.faults += 1
        self.out.bit += 1
        self.check_survivors(bad)
        if bad.errored():
            self.check_friendly(bad)
        self.check_kept(pre, expected, "after collect with the wrong key")
        self._rerun(pre, expected, op)

    def copies(self) -> None:
        """Identical, blank and truncated copies beside collected returns, then collect twice.

        The clean run is the same history without the copies: they hold nothing new."""
        k = self.wave()
        pre_ops = history(k)
        pre = self.setup(pre_ops)
        state = _state(pre)
        winners = sorted(
            f for f, (status, eid) in state.statuses().items() if status == "ok" and eid
        )
        kinds = ["beside", "backup", "blank", "truncated"]
        chosen = [kinds[self.out.index % 4]]
        chosen += self.rnd.sample(kinds, self.times(4) - 1)
        made: list[str] = []
        later = EPOCH + (self.lab.waves + 1) * 86_400
        for n, what in enumerate(chosen):
            original = self.dir / self.rnd.choice(winners)
            made.append(self._copy(what, original, later + n * 60))
        self.out.params.update(after_wave=k, copies="; ".join(made))
        self.out.faults += len(made)
        self.out.bit += len(made)
        op = Collect()
        expected = self.lab.ref((*pre_ops, op))
        run = self.run(op, expected.seconds)
        self.check_survivors(run)
        self.check_kept(pre, expected, "after collect with the copies", settled=True)
        self.compare(expected, "after collect with the copies", extra_files=made)
        expected = self.lab.ref((*pre_ops, op, op))
        run = self.run(op, expected.seconds)
        self.check_kept(pre, expected, "after collecting again", settled=True)
        self.compare(expected, "after collecting again", extra_files=made)
        self.finish_checks()

    def _copy(self, what: str, original: Path, mtime: int) -> str:
        rel = original.relative_to(self.dir)
        if what == "beside":  # "svar 1042 (1).pdf" sorts before "svar 1042.pdf"
            target = original.with_name(f"{original.stem} (1){original.suffix}")
            target.write_bytes(original.read_bytes())
        elif what == "backup":  # returned/Arkiv/… sorts before returned/wave-…
            target = self.dir / "returned" / "Arkiv" / rel.relative_to("returned")
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(original.read_bytes())
        elif what == "blank":  # the form as it was issued, sent back unfilled
            issued = self._issued_form(str(rel))
            target = original.with_name(f"{original.stem} (2){original.suffix}")
            target.write_bytes(issued.read_bytes())
        else:  # cut short by a mail client or a full disk, saved later
            data = original.read_bytes()
            target = original.with_name(f"{original.stem} (3){original.suffix}")
            target.write_bytes(data[: int(len(data) * self.rnd.uniform(0.2, 0.95))])
        os.utime(target, (mtime, mtime))
        return str(target.relative_to(self.dir))

    def _issued_form(self, rel: str) -> Path:
        for files in self.lab.round.files.values():
            for f in files:
                if f.rel == rel and f.form:
                    return self.lab.round.forms / f.form
        raise LookupError(rel)

    def kill_generate(self) -> None:
        """SIGKILL of generate at a random moment, the first time or when forms are issued
        again (new starters, one employee moved), then generate again."""
        rnd_round = self.lab.round
        variant = self.rnd.choice(["first", "again"])
        self.out.params["generate"] = variant
        forms = self.dir / FORMS
        _fresh(self.dir)
        (self.dir / "tmp").mkdir()
        if variant == "first":
            expected, seconds, roster = (
                rnd_round.forms,
                rnd_round.generate_seconds,
                rnd_round.roster,
            )
        else:
            expected, seconds = self.lab.forms_again()
            roster = rnd_round.roster_more
            shutil.copytree(rnd_round.forms, forms)
        before = {n: (forms / n).read_bytes() for n in listing(forms) if not n.endswith("/")}
        argv = rnd_round.generate_argv(roster)
        env = rnd_round.env(self.dir / "home", self.dir / "tmp")
        for i in range(self.times(2)):
            run = start("generate", argv, self.dir, env, self.dir / "logs")
            self.runs.append(run)
            self.out.faults += 1
            if self.kill_at(run, self.trigger(seconds, forms)):
                self.out.bit += 1
            self.check_survivors(run)
            self._forms_collect_accepts(forms, before, f"after kill {i + 1}")
        rerun = start("generate", argv, self.dir, env, self.dir / "logs")
        self.runs.append(rerun)
        self.finish(rerun, seconds)
        self.check_survivors(rerun)
        if rerun.rc != 0:
            self.problem(f"generate again exits {rerun.rc}: {_last_line(rerun.stderr())}")
        self.out.compared += 1
        got, want = listing(forms), listing(expected)
        left = private_files(got - want)
        self.out.leftovers += [f"{FORMS}/{n}" for n in left]
        if left:
            self.problem(f"after the re-run: left in the forms folder: {_some(left)}")
        if others := got - want - set(left):
            self.problem(f"after the re-run: forms the clean run does not have: {_some(others)}")
        if want - got:
            self.problem(
                f"after the re-run: forms missing that the clean run has: {_some(want - got)}"
            )
        changed = [
            n
            for n in want & got
            if not n.endswith(("/", LOCK_FILE))
            and (forms / n).read_bytes() != (expected / n).read_bytes()
        ]
        if changed:
            self.problem(f"after the re-run: files differ from the clean run: {_some(changed)}")
        self.check_tmp(self.dir / "tmp", "after the re-run")

    def _forms_collect_accepts(self, forms: Path, before: dict[str, bytes], when: str) -> None:
        """The forms a killed generate left are ones collect accepts: a few it wrote or
        changed, filled, and a few returns of forms issued before it ran."""
        names = [n for n in listing(forms) if n.endswith((".pdf", ".docx")) and "/" not in n]
        written = sorted(n for n in names if before.get(n) != _bytes(forms / n))
        sample = self.rnd.sample(written, min(4, len(written)))
        earlier = [
            f
            for fs in self.lab.round.files.values()
            for f in fs
            if f.employee and f.employee != self.lab.round.moved and f.version == 1
        ]
        old = self.rnd.sample(earlier, min(2, len(earlier))) if before else []
        if not sample and not old:
            return
        check = _fresh(self.dir / "check")
        (check / "returned").mkdir()
        for name in sample:
            eid = name.split("-", 1)[0]
            fill(forms / name, check / "returned" / f"ny {name}", eid)
        for f in old:
            shutil.copy2(self.lab.round.pool / f.rel, check / "returned" / Path(f.rel).name)
        argv = [str(MUSFORMS), "collect", "returned", "--forms", str(forms), "--out", RESULTS]
        env = self.lab.round.env(check / "home", _fresh(check / "tmp"))
        run = start("collect (check)", argv, check, env, check / "logs")
        self.runs.append(run)
        run.wait(self.lab.timeout(10))
        if run.errored():
            self.problem(
                f"{when}: collect refuses the forms folder the killed generate left "
                f"({len(sample)} forms it wrote, {len(old)} returns of forms issued before): "
                f"{_last_line(run.stderr())}"
            )
            return
        bad = [
            f"{Path(f).name}: {status}"
            for f, (status, _) in State.read(check / RESULTS).statuses().items()
            if status not in ("ok", "duplicate", "superseded")
        ]
        if bad:
            self.problem(f"{when}: forms in the folder collect does not accept: {_some(bad, 4)}")
        shutil.rmtree(check, ignore_errors=True)


def _bytes(path: Path) -> bytes | None:
    try:
        return path.read_bytes()
    except OSError:
        return None


def _state(ref: Ref) -> State:
    return (
        State.read(ref.results)
        if ref.results is not None
        else State(Path("/nonexistent"), report_error="missing")
    )


def listing_of(ref: Ref) -> set[str]:
    return listing(ref.results) if ref.results is not None else set()


def _python_probe(path: Path) -> bool:
    """The empty file Python's ``tempfile.gettempdir()`` writes and removes once to learn
    whether TMPDIR takes files (8 random characters, no prefix): a process killed between
    the two leaves it, holding nothing."""
    try:
        st = path.lstat()
    except OSError:
        return False
    return bool(_PROBE.fullmatch(path.name)) and stat.S_ISREG(st.st_mode) and st.st_size == 0


_PROBE = re.compile(r"[a-z0-9_]{8}")


def _temp_file_in(folder: Path) -> bool:
    """A temporary file in ``folder`` or one level down (responses/, minutes/)."""
    try:
        with os.scandir(folder) as top:
            for entry in top:
                if PRIVATE.search(entry.name):
                    return True
                if entry.is_dir(follow_symlinks=False) and entry.name in ("responses", "minutes"):
                    with os.scandir(entry.path) as sub:
                        if any(PRIVATE.search(e.name) for e in sub):
                            return True
    except OSError:
        return False
    return False


def _last_line(text: str) -> str:
    lines = [line for line in text.strip().splitlines() if line.strip()]
    return lines[-1][:300] if lines else "(nothing on stderr)"


# --- figures -------------------------------------------------------------------------------


def machine() -> dict[str, str]:
    model = "unknown"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    memory = "unknown"
    with contextlib.suppress(OSError, ValueError, IndexError):
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                memory = f"{int(line.split()[1]) / 1024 / 1024:.1f} GB"
    import platform

    return {
        "cpu": model,
        "cores": str(os.cpu_count() or 1),
        "memory": memory,
        "python": platform.python_version(),
        "system": f"{platform.system()} {platform.release()}",
        "date": dt.date.today().isoformat(),
    }


def summary(outcomes: Sequence[Outcome]) -> dict[str, dict[str, int]]:
    """Per kind: cases, faults injected and biting, comparisons, losses, leftovers, survivors."""
    table: dict[str, dict[str, int]] = {}
    for o in outcomes:
        row = table.setdefault(
            o.kind,
            dict.fromkeys(
                ("cases", "faults", "bit", "compared", "lost", "leftovers", "survivors", "failed"),
                0,
            ),
        )
        row["cases"] += 1
        row["faults"] += o.faults
        row["bit"] += o.bit
        row["compared"] += o.compared
        row["lost"] += len(o.lost)
        row["leftovers"] += len(set(o.leftovers))
        row["survivors"] += len(o.survivors)
        row["failed"] += bool(o.problems)
    return table


def run_cases(
    lab: Lab, cases: Sequence[tuple[str, int]], say: Callable[[str], None] = lambda _: None
) -> Iterator[Outcome]:
    for kind, index in cases:
        out = lab.run_case(kind, index)
        say(f"{out.name}: {'FAIL' if out.problems else 'ok'} ({out.seconds:.1f} s)")
        yield out
