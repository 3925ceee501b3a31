"""The worker pool: each worker starts with the modules of the pool's tasks imported once, by
the server that starts the workers, rather than importing them itself."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from musforms.pool import PRELOAD

ROOT = Path(__file__).resolve().parent.parent

# Run in a Python of its own: the server that starts the workers is started once per process,
# and this one's may have been started before (then it does as it was told then).
SCRIPT = """
from musforms.pool import Task, ordered_map
from tests.test_pool import imported, ready

if __name__ == "__main__":
    print(list(ordered_map(Task(imported, ready, 1), None, [[1], [2], [3]], 2)))
"""


def imported(_items: list[int]) -> list[list[str]]:
    """In a worker: which of the pool's task modules it holds, before its task imports any
    (this module imports none of them)."""
    return [[name for name in PRELOAD if name in sys.modules]]


def ready(_arg: None) -> None:
    return None


def test_workers_start_with_the_task_modules_imported(tmp_path: Path) -> None:
    script = tmp_path / "probe.py"
    script.write_text(SCRIPT, encoding="utf-8")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [sys.executable, str(script)], cwd=ROOT, env=env, capture_output=True, text=True,
        timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == repr([[list(PRELOAD)]] * 3)
