"""Real small disks for the tests: a tmpfs of a given size (a disk that fills up) or mounted
read-only (a folder that cannot be written, which mode bits cannot make for root).

Mounting needs root, which is how CI runs the tests; elsewhere the test is skipped, and with
CI=true a skip fails (tests/conftest.py).
"""

from __future__ import annotations

import contextlib
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest


def _mount(*args: str) -> None:
    done = subprocess.run(["mount", *args], capture_output=True, text=True, check=False)
    if done.returncode != 0:
        pytest.fail(f"mount {' '.join(args)} failed: {done.stderr.strip()}")


@contextlib.contextmanager
def tmpfs(folder: Path, size: str, *, mode: int = 0o700, read_only: bool = False) -> Iterator[Path]:
    """``folder`` as a tmpfs of ``size`` (``"300k"``) for the block, unmounted afterwards."""
    if os.geteuid() != 0:
        pytest.skip("mounting a small disk needs root")  # CI=true: a failure
    folder.mkdir(parents=True, exist_ok=True)
    options = f"size={size},mode={mode:o}" + (",ro" if read_only else "")
    _mount("-t", "tmpfs", "-o", options, "tmpfs", str(folder))
    try:
        yield folder
    finally:
        subprocess.run(["umount", "-l", str(folder)], check=False)


def resize(folder: Path, size: str) -> None:
    """Give a mounted tmpfs another size (never below what it holds)."""
    _mount("-o", f"remount,size={size}", str(folder))


def read_only(folder: Path) -> None:
    """Make a mounted tmpfs read-only, as it is."""
    _mount("-o", "remount,ro", str(folder))


def fill(folder: Path, leave: int) -> None:
    """Fill the disk of ``folder`` until only about ``leave`` bytes are free."""
    free = os.statvfs(folder).f_bavail * os.statvfs(folder).f_frsize
    if free > leave:
        with open(folder / ".filler", "wb") as fh:
            fh.write(b"\0" * (free - leave))
