"""Hostile files get bounded work: decompression bombs, deep nesting, huge object counts,
oversized and slow files are refused one by one; memory stays bounded, and the good forms
beside them are still collected."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zlib
from pathlib import Path
from typing import Any

import pytest

from musforms.docx.reader import read_docx
from musforms.errors import FormReadError
from musforms.limits import DEFAULT_LIMITS
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
    measured = subprocess.run(
        [sys.executable, "-c", MEASURE, *command],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=ROOT,
        env={**os.environ, "COLUMNS": "200"},
    )
    peak_kib, code = (int(v) for v in measured.stdout.split())
    assert code == 1, measured.stderr  # unusable files: exit 1, never a crash
    assert "Traceback" not in measured.stderr
    assert peak_kib < PEAK_LIMIT_MB * 1024, f"peak {peak_kib // 1024} MB"

    report = json.loads((out / "report.json").read_text(encoding="utf-8"))
    status = {Path(f["file"]).name: (f["status"], f.get("reason", "")) for f in report["files"]}
    assert status["god.pdf"][0] == "ok"
    assert report["returned"] == ["1042"]
    assert status["stor.pdf"][0] == "unreadable"
    assert "63 MB, more than the 40 MB" in status["stor.pdf"][1]
    assert "--max-size" in status["stor.pdf"][1]
    assert "took longer than 5 s" in status["langsom.pdf"][1]
    assert "unpacks to more than a form" in status["bombe.docx"][1]
    assert "damaged" in status["bombe-lyver.docx"][1]
    for name in ("bombe-lyver.docx", "dyb.pdf", "mange.pdf"):
        assert status[name][0] == "unreadable", (name, status[name])
    for name in ("bombe-sider.pdf", "bombe-en.pdf", "dyb-ordbog.pdf"):
        assert status[name][0] in ("unreadable", "not_musforms"), (name, status[name])


class _InflateCounter:
    """Counts what zlib inflates, per stream, while installed (pypdf inflates through it)."""

    def __init__(self) -> None:
        self.streams: list[int] = []

    def install(self, monkeypatch: pytest.MonkeyPatch) -> None:
        real_decompressobj, real_decompress = zlib.decompressobj, zlib.decompress
        counter = self

        class Counted:
            def __init__(self, *args: Any, **kwargs: Any) -> None:
                self._inner = real_decompressobj(*args, **kwargs)
                self._index = len(counter.streams)
                counter.streams.append(0)

            def decompress(self, data: bytes, max_length: int = 0) -> bytes:
                out = self._inner.decompress(data, max_length)
                counter.streams[self._index] += len(out)
                return out

            def flush(self, *args: Any) -> bytes:
                out = self._inner.flush(*args)
                counter.streams[self._index] += len(out)
                return out

            def __getattr__(self, name: str) -> Any:
                return getattr(self._inner, name)

        def decompress(data: bytes, *args: Any, **kwargs: Any) -> bytes:
            out = real_decompress(data, *args, **kwargs)
            counter.streams.append(len(out))
            return out

        monkeypatch.setattr(zlib, "decompressobj", Counted)
        monkeypatch.setattr(zlib, "decompress", decompress)


def test_many_streams_each_under_pypdfs_limit_are_capped(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Protects against a PDF of many pages whose content streams each inflate to just under
    pypdf's own per-stream limit (75 MB): read_pdf caps what one stream may inflate to, so
    16 streams of 64 MiB cost a few MB each, not a GiB in all. A counter on zlib shows the
    work that was done."""
    pages, per_page = 16, 64 << 20
    path = pdf_bomb(tmp_path / "bombe.pdf", pages=pages, per_page=per_page)
    counter = _InflateCounter()
    counter.install(monkeypatch)
    with pytest.raises(FormReadError):
        read_pdf(path)
    monkeypatch.undo()
    cap = 2 * DEFAULT_LIMITS.stream_bytes  # the limit on one decoded stream, with room
    assert counter.streams, "no stream was inflated through zlib: the counter saw nothing"
    assert max(counter.streams) <= cap < per_page, max(counter.streams)
    assert sum(counter.streams) <= pages * cap, sum(counter.streams)


@pytest.mark.parametrize("kind", ["array", "dict"])
def test_deep_nesting_is_refused(tmp_path: Path, kind: str) -> None:
    """200,000 levels of nested arrays or dictionaries: a read error, not a crash (qpdf
    stops parsing at its nesting limit; read_pdf refuses a file that reached it). That such
    a file cannot hold up a run is collect's time limit, shown firing in
    test_bombs_beside_a_good_form_stay_bounded."""
    path = nested_pdf(tmp_path / "dyb.pdf", kind=kind)
    with pytest.raises(FormReadError, match="damaged"):
        read_pdf(path)


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
