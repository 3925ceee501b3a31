"""With CI=true a test that skips itself fails: a missing real client is never green there."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

SKIPPING = """
import pytest

def test_needs_a_client():
    pytest.skip("pdf.js is not installed")  # a failure under CI=true

@pytest.mark.skipif(True, reason="no LibreOffice")  # a failure under CI=true
def test_marked():
    pass

@pytest.mark.xfail(reason="a known bug", strict=True)
def test_known_bug():
    assert False
"""


def _run(folder: Path, ci: str | None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "CI"}
    if ci is not None:
        env["CI"] = ci
    env["PYTHONPATH"] = str(ROOT)
    return subprocess.run(
        [
            *(sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"),
            *("--continue-on-collection-errors", str(folder)),
        ],
        capture_output=True,
        text=True,
        cwd=folder,
        env=env,
        timeout=300,
        check=False,
    )


@pytest.fixture
def suite(tmp_path: Path) -> Path:
    """A suite with tests/conftest.py's hooks and tests that skip themselves."""
    (tmp_path / "conftest.py").write_text('pytest_plugins = ["tests.conftest"]\n')
    (tmp_path / "test_skipping.py").write_text(SKIPPING)
    (tmp_path / "test_module_skip.py").write_text(
        'import pytest\npytest.importorskip("no_such_client_module")\n'  # CI=true: fails
    )
    return tmp_path


def test_a_skip_fails_on_ci(suite: Path) -> None:
    """Protects CI from passing without the real clients: each kind of skip (pytest.skip,
    skipif, importorskip) fails there and says why; an expected failure stays what it is."""
    done = _run(suite, "true")
    summary = done.stdout.splitlines()[-1]
    assert done.returncode == 1, done.stdout + done.stderr
    # pytest.skip fails the test; skipif (at set-up) and importorskip (collecting) are errors
    assert "1 failed" in summary and "2 errors" in summary and "1 xfailed" in summary, summary
    assert "skipped" not in summary, summary
    for reason in ("pdf.js is not installed", "no LibreOffice", "no_such_client_module"):
        assert reason in done.stdout, reason
    assert "skipped, which CI=true does not allow" in done.stdout


@pytest.mark.parametrize("ci", [None, "false"])
def test_a_skip_is_a_skip_elsewhere(suite: Path, ci: str | None) -> None:
    done = _run(suite, ci)
    summary = done.stdout.splitlines()[-1]
    assert done.returncode == 0, done.stdout + done.stderr
    assert "3 skipped" in summary and "1 xfailed" in summary, summary
