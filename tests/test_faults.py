"""Fault injection, the short run: each kind of fault a few times on a small round.

The real CLI is killed, run twice at once, given a full or read-only disk and copies of
returns; after each fault and a re-run, what was collected must still be there, byte for
byte, and the results must be those of a clean run (see tests/faults.py for what is
compared). One test per kind of fault, so a failure names it; each failing case prints its
seed, what was done and a command that runs it alone again.

    FAULTS_SEED=7 .venv/bin/pytest tests/test_faults.py          # another set of cases
    FAULTS_PER_KIND=10 .venv/bin/pytest tests/test_faults.py     # more of each kind
    make soak                                                    # 200+ faults, 1,000 employees

Needs root, for the tmpfs and read-only mounts (CI runs as root; with CI=true a skip fails).
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests import faults

SEED = int(os.environ.get("FAULTS_SEED", "2026"))
# Cases per kind: one, injecting two faults or more before its re-run, where the kind repeats
# (kills, full disks, read-only turns, copies); two of the kinds that inject one.
PER_KIND = os.environ.get("FAULTS_PER_KIND")
CASES = {"two_collects": 2, "purge_during_collect": 2}
ONLY = os.environ.get("FAULTS_ONLY", "")  # kind#index: one case alone, as a failure prints it
EMPLOYEES = 60
WAVES = 2

pytestmark = [pytest.mark.faults, pytest.mark.slow]


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[faults.Lab]:
    scratch = tmp_path_factory.mktemp("faults")
    why = faults.can_mount(scratch)
    if why:
        pytest.skip(why)  # CI=true: a failure
    replay = "FAULTS_SEED={seed} FAULTS_ONLY={name} .venv/bin/pytest tests/test_faults.py -k {kind}"
    with faults.Lab(
        scratch,
        seed=SEED,
        employees=EMPLOYEES,
        waves=WAVES,
        last_wave=True,
        least=2,
        replay=replay,
    ) as lab:
        yield lab


def check(lab: faults.Lab, kind: str) -> None:
    if ONLY:
        only_kind, _, index = ONLY.partition("#")
        if only_kind != kind:
            pytest.skip(f"FAULTS_ONLY={ONLY}")  # CI=true: a failure
        cases = [(kind, int(index))]
    else:
        cases = [(kind, i) for i in range(int(PER_KIND or CASES.get(kind, 1)))]
    outcomes = [lab.run_case(k, i) for k, i in cases]
    for o in outcomes:
        print(f"{o.name}: faults {o.faults}, took effect {o.bit}, compared {o.compared}")
    failed = [o for o in outcomes if o.problems]
    if failed:
        pytest.fail("\n\n".join(o.describe() for o in failed), pytrace=False)


def test_kill_collect(lab: faults.Lab) -> None:
    """SIGKILL of collect at a random moment (sometimes twice), then collect again."""
    check(lab, "kill_collect")


def test_kill_generate(lab: faults.Lab) -> None:
    """SIGKILL of generate (first issue, or issuing again), then generate again."""
    check(lab, "kill_generate")


def test_kill_purge(lab: faults.Lab) -> None:
    check(lab, "kill_purge")


def test_two_collects(lab: faults.Lab) -> None:
    """Two collects into one results folder at once."""
    check(lab, "two_collects")


def test_purge_during_collect(lab: faults.Lab) -> None:
    check(lab, "purge_during_collect")


def test_full_results_disk(lab: faults.Lab) -> None:
    check(lab, "full_results")


def test_full_tmpdir(lab: faults.Lab) -> None:
    check(lab, "full_tmpdir")


def test_read_only_results(lab: faults.Lab) -> None:
    check(lab, "readonly_results")


def test_copies_beside_returns(lab: faults.Lab) -> None:
    """Identical copies sorting before the original, a backup folder, an unfilled form,
    a truncated file: none of them changes an answer on record."""
    check(lab, "copies")


def test_wrong_key(lab: faults.Lab) -> None:
    check(lab, "wrong_key")


# --- the checks themselves can fail ----------------------------------------------------------


def _results(folder: Path, answers: dict[str, str], statuses: dict[str, str]) -> Path:
    (folder / "responses").mkdir(parents=True)
    items = [{"employee": {"id": eid}, "a": text} for eid, text in answers.items()]
    for item in items:
        (folder / "responses" / f"{item['employee']['id']}.json").write_text(json.dumps(item))
    (folder / "responses.json").write_text(json.dumps(items))
    files = [{"file": f, "status": s, "employee_id": None} for f, s in statuses.items()]
    report = {"files": files, "returned": sorted(answers), "missing": []}
    (folder / "report.json").write_text(json.dumps(report))
    return folder


@pytest.mark.faults
def test_the_comparisons_see_a_lost_changed_or_extra_answer(tmp_path: Path) -> None:
    clean = faults.State.read(_results(tmp_path / "clean", {"1": "x", "2": "y"}, {"f1": "ok"}))
    same = faults.State.read(_results(tmp_path / "same", {"1": "x", "2": "y"}, {"f1": "ok"}))
    assert faults.differences(same, clean) == []
    assert faults.lost_answers(clean, same, clean, settled=True) == []

    gone = faults.State.read(_results(tmp_path / "gone", {"1": "x"}, {"f1": "duplicate"}))
    found = " ".join(faults.differences(gone, clean))
    assert "returned list lacks 2" in found and "f1: duplicate" in found
    assert faults.lost_answers(clean, gone, clean, settled=True) == [
        "2 (its response file is gone)"
    ]

    changed = faults.State.read(_results(tmp_path / "changed", {"1": "x", "2": "z"}, {"f1": "ok"}))
    assert any("responses differ" in d for d in faults.differences(changed, clean))
    assert faults.lost_answers(clean, changed, clean, settled=True) == [
        "2 (its response file changed)"
    ]
    # a copy given only to this run may be listed, as long as its answers do not count
    copy = _results(tmp_path / "copy", {"1": "x", "2": "y"}, {"f1": "ok", "f1 (1)": "ok"})
    found = faults.differences(faults.State.read(copy), clean, extra_files=["f1 (1)"])
    assert any("copies whose answers count" in d for d in found)

    left = tmp_path / "left"
    shutil.copytree(tmp_path / "clean", left)
    (left / "responses" / ".2.json.x1y2.tmp").write_text("half")
    found = faults.differences(faults.State.read(left), clean)
    assert any("left in the results folder: responses/.2.json.x1y2.tmp" in d for d in found)
