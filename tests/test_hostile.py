"""Hostile files get bounded work: decompression bombs, deep nesting, huge object counts,
oversized and slow files are refused one by one; memory stays bounded, and the good forms
beside them are still collected."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from musforms.docx.reader import read_docx
from musforms.errors import FormReadError, MusformsError
from musforms.pdf.reader import read_pdf
from tests.bombs import docx_bomb, many_objects_pdf, nested_pdf, pdf_bomb, slow_pdf
from tests.clients.pdf import fill_pdfium
from tests.trust_data import answers, make_round

pytestmark = pytest.mark.realclient

ROOT = Path(__file__).resolve().parents[1]
PEAK_LIMIT_MB = 500

# Runs collect as a child and reports the child's peak memory (ru_maxrss, KiB on Linux).
MEASURE = """
import resource, subprocess, sys
done = subprocess.run(sys.argv[1:], capture_output=True, text=True)
peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
print(peak, done.returncode)
sys.stderr.write(done.stdout + done.stderr)
"""


@pytest.mark.slow
def test_bombs_beside_a_good_form_stay_bounded(tmp_path: Path) -> None:
    """Protects the run and the machine: collect, in a process of its own, reads a folder with
    a .docx inflating to 2 GiB (honest and lying zip headers), a PDF whose 32 pages inflate to
    2 GiB, a single 2 GiB PDF stream, deep nesting, 300,000 objects, a file over the size
    limit and a file too slow to read, beside a good form: its peak memory stays under
    500 MB, every hostile file is refused with a reason, and the good form is collected."""
    r = make_round(tmp_path / "round", previous=False, key_file=tmp_path / "key")
    inbox = tmp_path / "returned"
    inbox.mkdir()
    fill_pdfium(r.form("1042", "pdf"), inbox / "god.pdf", answers("Godt", previous=False))
    docx_bomb(inbox / "bombe.docx")
    docx_bomb(inbox / "bombe-lyver.docx", lie=True)
    pdf_bomb(inbox / "bombe-sider.pdf")
    pdf_bomb(inbox / "bombe-en.pdf", pages=1, per_page=2 << 30)
    nested_pdf(inbox / "dyb.pdf")
    nested_pdf(inbox / "dyb-ordbog.pdf", kind="dict")
    many_objects_pdf(inbox / "mange.pdf")
    slow_pdf(inbox / "langsom.pdf")
    with open(inbox / "stor.pdf", "wb") as fh:  # sparse: costs no disk
        fh.write(b"%PDF-1.7\n")
        fh.truncate(60 << 20)

    out = tmp_path / "results"
    command = [sys.executable, "-m", "musforms", "collect", str(inbox), "--forms", str(r.forms)]
    command += ["--out", str(out), "--key-file", str(r.key_file), "--max-size", "40"]
    command += ["--time-limit", "5", "--workers", "1"]
    started = time.monotonic()
    measured = subprocess.run(
        [sys.executable, "-c", MEASURE, *command],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=ROOT,
        env={**os.environ, "COLUMNS": "200"},
    )
    elapsed = time.monotonic() - started
    peak_kib, code = (int(v) for v in measured.stdout.split())
    assert code == 1, measured.stderr  # unusable files: exit 1, never a crash
    assert "Traceback" not in measured.stderr
    assert peak_kib < PEAK_LIMIT_MB * 1024, f"peak {peak_kib // 1024} MB"
    assert elapsed < 300

    report = json.loads((out / "report.json").read_text(encoding="utf-8"))
    status = {Path(f["file"]).name: (f["status"], f.get("reason", "")) for f in report["files"]}
    assert status["god.pdf"][0] == "ok"
    assert report["returned"] == ["1042"]
    assert status["stor.pdf"] == ("unreadable", "too large (63 MB; the limit is 42 MB)")
    assert "took longer than 5 s" in status["langsom.pdf"][1]
    assert "unpacks to more than a form" in status["bombe.docx"][1]
    for name in ("bombe-lyver.docx", "dyb.pdf", "mange.pdf"):
        assert status[name][0] == "unreadable", (name, status[name])
    for name in ("bombe-sider.pdf", "bombe-en.pdf", "dyb-ordbog.pdf"):
        assert status[name][0] in ("unreadable", "not_musforms"), (name, status[name])


def test_many_streams_each_under_pypdfs_limit_are_cheap(tmp_path: Path) -> None:
    """Protects against a PDF of many pages whose content streams each inflate to just under
    pypdf's per-stream limit (75 MB): read_pdf caps what one stream may inflate to, so this
    takes well under a few seconds instead of minutes and gigabytes."""
    path = pdf_bomb(tmp_path / "bombe.pdf", pages=16, per_page=64 << 20)
    started = time.monotonic()
    with pytest.raises(MusformsError):
        read_pdf(path)
    assert time.monotonic() - started < 10


@pytest.mark.parametrize("kind", ["array", "dict"])
def test_deep_nesting_is_refused_quickly(tmp_path: Path, kind: str) -> None:
    """200,000 levels of nested arrays or dictionaries: a read error, not a crash or a hang
    (qpdf stops parsing at its nesting limit; read_pdf refuses a file that reached it)."""
    path = nested_pdf(tmp_path / "dyb.pdf", kind=kind)
    started = time.monotonic()
    with pytest.raises(MusformsError, match="damaged"):
        read_pdf(path)
    assert time.monotonic() - started < 20


def test_huge_object_count_is_refused(tmp_path: Path) -> None:
    """300,000 form fields on a page: refused by musforms' limit on form fields, never read
    one by one into memory."""
    path = many_objects_pdf(tmp_path / "mange.pdf")
    with pytest.raises(FormReadError):
        read_pdf(path)
    few = many_objects_pdf(tmp_path / "faerre.pdf", count=30_000)
    with pytest.raises(FormReadError, match="more form fields than any form"):
        read_pdf(few)


def test_lying_zip_header_reads_no_more_than_declared(tmp_path: Path) -> None:
    """A part whose zip header claims 4 KB but which inflates to 2 GiB is read no further
    than a part may be, and refused."""
    path = docx_bomb(tmp_path / "lyver.docx", lie=True)
    with pytest.raises(FormReadError, match="damaged"):
        read_docx(path)
