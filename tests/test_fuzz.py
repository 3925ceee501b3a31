"""Fuzzing the readers with mutated real returned forms.

The seeds are forms musforms generated and real clients filled (PDFium; LibreOffice), plus
the PDF rewritten uncompressed by qpdf so that mutations reach the object syntax. Mutations:
bit flips, byte overwrites, truncations, deletions, insertions of PDF/XML syntax, splices of
one part of a file into another, and for Word files edits of single zip entries (mutated,
dropped, duplicated, stored uncompressed).

What must hold: ``read_pdf`` and ``read_docx`` raise nothing but musforms' own errors
(MusformsError subclasses), and ``collect.read_file`` never raises at all, whatever the bytes.

A short, deterministic run is part of every test run. ``make fuzz`` runs the long one:
``MUSFORMS_FUZZ_SECONDS=600 pytest -m fuzz tests/test_fuzz.py``; without that variable the
long test runs a short random budget, so it is never skipped. No example database is kept:
every crash found becomes a regression test at the end of this file.
"""

from __future__ import annotations

import io
import os
import struct
import subprocess
import time
import warnings
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import seed as hypothesis_seed
from hypothesis import strategies as st

from musforms.collect import Context, collect, open_context, read_file, time_limit
from musforms.docx.reader import read_docx
from musforms.errors import FormReadError, MusformsError
from musforms.identity import load_key
from musforms.limits import Limits
from musforms.models import QuestionSet, RawForm
from musforms.pdf.reader import read_pdf
from musforms.questionset import load_question_set
from tests.clients.pdf import fill_pdfium
from tests.clients.word import fill_libreoffice
from tests.trust_data import Round, answers, make_round

pytestmark = pytest.mark.realclient

SHORT_EXAMPLES = 300  # per target; the three short runs together stay well under a minute
SECONDS_PER_FILE = 10

# --- seeds -------------------------------------------------------------------------------------


@dataclass
class Seeds:
    round: Round
    pdfs: list[bytes]
    docxs: list[bytes]
    qs: QuestionSet
    ctx: Context
    work: Path


@pytest.fixture(scope="module")
def seeds(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Seeds]:
    root = tmp_path_factory.mktemp("fuzz")
    r = make_round(root, key_file=root / "key")
    filled = root / "filled.pdf"
    fill_pdfium(r.form("1042", "pdf"), filled, answers("Svar æøå"))
    qdf = root / "filled-qdf.pdf"
    subprocess.run(
        ["qpdf", "--qdf", "--object-streams=disable", str(filled), str(qdf)],
        check=True,
        capture_output=True,
    )
    word = root / "filled.docx"
    fill_libreoffice(
        r.form("1042", "docx"),
        word,
        {"lykkedes": "Svar æøå\nlinje to", "titel": "Titel", "aftaler__1__what": "Aftale"},
    )
    work = root / "work"
    work.mkdir()
    limits = Limits(seconds=SECONDS_PER_FILE)
    with open_context(load_key(r.key_file), r.forms, limits=limits) as ctx:
        yield Seeds(
            r,
            [filled.read_bytes(), qdf.read_bytes()],
            [word.read_bytes(), r.form("1042", "docx").read_bytes()],
            load_question_set(r.questions),
            ctx,
            work,
        )


# --- mutations ---------------------------------------------------------------------------------

TOKENS = [
    b"<<",
    b">>",
    b"[",
    b"]",
    b"(",
    b")",
    b"<",
    b">",
    b" 0 R ",
    b" 1 0 R",
    b"obj",
    b"endobj",
    b"stream\n",
    b"endstream",
    b"/Kids",
    b"/Parent",
    b"/Annots",
    b"/V",
    b"/AS",
    b"/FT /Btn",
    b"/Opt",
    b"/Length 99999999",
    b"/Filter /FlateDecode",
    b"xref",
    b"trailer",
    b"%%EOF",
    b"startxref\n0",
    b"-1",
    b"99999999999999999999",
    b"\x00",
    b"\xff\xfe",
    b"</w:sdt>",
    b"<w:sdt>",
    b'<w:tag w:val="mf_identity"/>',
    b"&amp;",
    b"&#0;",
    b"<!DOCTYPE x>",
    b"]]>",
    b"MF1.",
    b"MF-ABCD-EFGH-JKMN",
]

# One mutation: (kind, position, argument); positions are taken modulo the data's length.
_mutation = st.one_of(
    st.tuples(st.just("flip"), st.integers(0, 2**31), st.integers(0, 7)),
    st.tuples(st.just("set"), st.integers(0, 2**31), st.integers(0, 255)),
    st.tuples(st.just("truncate"), st.integers(0, 2**31), st.just(0)),
    st.tuples(st.just("delete"), st.integers(0, 2**31), st.integers(1, 4096)),
    st.tuples(st.just("token"), st.integers(0, 2**31), st.integers(0, len(TOKENS) - 1)),
    st.tuples(st.just("splice"), st.integers(0, 2**31), st.integers(0, 2**31)),
    st.tuples(st.just("repeat"), st.integers(0, 2**31), st.integers(1, 64)),
)
mutations = st.lists(_mutation, min_size=1, max_size=6)


def mutate(data: bytes, ops: list[tuple[str, int, int]]) -> bytes:
    """Apply ``ops`` to ``data``; deterministic, so a failing list is a regression test."""
    buf = bytearray(data)
    for kind, pos, arg in ops:
        if not buf:
            break
        i = pos % len(buf)
        if kind == "flip":
            buf[i] ^= 1 << arg
        elif kind == "set":
            buf[i] = arg
        elif kind == "truncate":
            del buf[i:]
        elif kind == "delete":
            del buf[i : i + arg]
        elif kind == "token":
            buf[i:i] = TOKENS[arg]
        elif kind == "splice":  # a chunk from elsewhere in the file, inserted here
            j = arg % len(buf)
            buf[i:i] = buf[j : j + 256]
        elif kind == "repeat":  # a chunk repeated: deep nesting, long runs
            buf[i:i] = bytes(buf[i : i + 8]) * arg
    return bytes(buf)


# One zip-entry edit: (kind, entry index, mutations of that entry).
_entry_edit = st.tuples(
    st.sampled_from(["mutate", "mutate", "mutate", "drop", "duplicate", "store"]),
    st.integers(0, 2**31),
    mutations,
)


def edit_zip(data: bytes, edits: list[tuple[str, int, list[tuple[str, int, int]]]]) -> bytes:
    """Apply entry edits to a .docx; the result is a well-formed zip with altered parts."""
    with zipfile.ZipFile(io.BytesIO(data)) as zin:
        entries = [(info, zin.read(info)) for info in zin.infolist()]
    for kind, index, ops in edits:
        if not entries:
            break
        i = index % len(entries)
        info, body = entries[i]
        if kind == "mutate":
            entries[i] = (info, mutate(body, ops))
        elif kind == "drop":
            del entries[i]
        elif kind == "duplicate":
            entries.insert(i, (info, mutate(body, ops)))
        elif kind == "store":
            info.compress_type = zipfile.ZIP_STORED
    out = io.BytesIO()
    with warnings.catch_warnings(), zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zout:
        warnings.simplefilter("ignore")  # a duplicated entry is the point
        for info, body in entries:
            zout.writestr(info, body)
    return out.getvalue()


@st.composite
def pdf_cases(draw: Any, n_seeds: int = 2) -> tuple[int, list[tuple[str, int, int]]]:
    return draw(st.integers(0, n_seeds - 1)), draw(mutations)


@st.composite
def docx_cases(draw: Any, n_seeds: int = 2) -> tuple[int, str, Any]:
    which = draw(st.integers(0, n_seeds - 1))
    if draw(st.booleans()):
        return which, "entries", draw(st.lists(_entry_edit, min_size=1, max_size=3))
    return which, "bytes", draw(mutations)


def pdf_bytes(s: Seeds, case: tuple[int, list[tuple[str, int, int]]]) -> bytes:
    which, ops = case
    return mutate(s.pdfs[which], ops)


def docx_bytes(s: Seeds, case: tuple[int, str, Any]) -> bytes:
    which, how, ops = case
    seed = s.docxs[which]
    return edit_zip(seed, ops) if how == "entries" else mutate(seed, ops)


# --- targets -----------------------------------------------------------------------------------


def _resolver(s: Seeds) -> Callable[[RawForm], QuestionSet | None]:
    return lambda raw: s.qs


def check_read_pdf(s: Seeds, data: bytes) -> None:
    path = s.work / "mutated.pdf"
    path.write_bytes(data)
    try:
        with time_limit(SECONDS_PER_FILE):
            read_pdf(path, _resolver(s))
    except MusformsError:
        pass


def check_read_docx(s: Seeds, data: bytes) -> None:
    path = s.work / "mutated.docx"
    path.write_bytes(data)
    try:
        with time_limit(SECONDS_PER_FILE):
            read_docx(path, _resolver(s))
    except MusformsError:
        pass


def check_read_file(s: Seeds, data: bytes, suffix: str) -> None:
    path = s.work / f"returned{suffix}"
    path.write_bytes(data)
    result = read_file(path, s.ctx)  # must never raise
    assert result.entry.status in (
        "ok",
        "recovered",
        "not_musforms",
        "unreadable",
        "rejected",
    ), result.entry
    assert (result.response is not None) == (result.entry.status in ("ok", "recovered"))


def _settings(examples: int, *, derandomize: bool) -> settings:
    return settings(
        max_examples=examples,
        deadline=None,
        database=None,
        derandomize=derandomize,
        phases=[Phase.explicit, Phase.generate, Phase.shrink],
        suppress_health_check=list(HealthCheck),
        print_blob=True,
    )


def run_target(
    s: Seeds, target: str, examples: int, *, derandomize: bool, seed: int | None = None
) -> None:
    """Run one fuzz target for ``examples`` examples (hypothesis shrinks any failure)."""
    if target == "read_pdf":

        @_settings(examples, derandomize=derandomize)
        @given(pdf_cases())
        def run(case: Any) -> None:
            check_read_pdf(s, pdf_bytes(s, case))

    elif target == "read_docx":

        @_settings(examples, derandomize=derandomize)
        @given(docx_cases())
        def run(case: Any) -> None:
            check_read_docx(s, docx_bytes(s, case))

    else:

        @_settings(examples, derandomize=derandomize)
        @given(st.booleans(), pdf_cases(), docx_cases())
        def run(is_pdf: bool, pcase: Any, dcase: Any) -> None:
            if is_pdf:
                check_read_file(s, pdf_bytes(s, pcase), ".pdf")
            else:
                check_read_file(s, docx_bytes(s, dcase), ".docx")

    if seed is not None:
        run = hypothesis_seed(seed)(run)
    run()


TARGETS = ["read_pdf", "read_docx", "read_file"]


@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
@pytest.mark.parametrize("target", TARGETS)
def test_short_fuzz(target: str, seeds: Seeds) -> None:
    """Protects against a hostile or damaged return crashing the readers or collect: a fixed
    set of mutated real forms raises only musforms' errors (read_file: nothing at all)."""
    run_target(seeds, target, SHORT_EXAMPLES, derandomize=True)


# The per-file time limit is an alarm signal; when it fires inside hypothesis' own garbage
# collector callback, Python reports that exception as unraisable (the alarm fires again and
# the read stops all the same).
@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
@pytest.mark.fuzz
@pytest.mark.slow
def test_long_fuzz(seeds: Seeds) -> None:
    """The same targets with fresh random examples, round after round, for
    MUSFORMS_FUZZ_SECONDS (default: one short round each)."""
    budget = float(os.environ.get("MUSFORMS_FUZZ_SECONDS", "0"))
    deadline = time.monotonic() + budget
    round_no = 0
    while True:
        for target in TARGETS:
            run_target(seeds, target, 40, derandomize=False, seed=time.time_ns() % 2**32)
        round_no += 1
        if time.monotonic() >= deadline:
            break
    assert round_no >= 1


# --- regressions: crashes the fuzzing found --------------------------------------------------


def _corrupt_deflate(data: bytes, member: str) -> bytes:
    """``member``'s compressed data starting with a block of the reserved (invalid) type."""
    info = zipfile.ZipFile(io.BytesIO(data)).getinfo(member)
    start = info.header_offset
    name_len, extra_len = struct.unpack("<HH", data[start + 26 : start + 30])
    buf = bytearray(data)
    buf[start + 30 + name_len + extra_len] = 0x07  # final block, type 11: invalid
    return bytes(buf)


def test_regression_damaged_deflate_data(seeds: Seeds) -> None:
    """Found by fuzzing: a part whose compressed data is damaged raised zlib.error out of
    read_docx; it is a FormReadError, and collect reports the file as unreadable."""
    data = _corrupt_deflate(seeds.docxs[1], "word/document.xml")
    path = seeds.work / "deflate.docx"
    path.write_bytes(data)
    with pytest.raises(FormReadError, match=r"word/document\.xml is damaged"):
        read_docx(path)
    assert read_file(path, seeds.ctx).entry.status == "unreadable"


def test_a_reader_bug_does_not_stop_collect(
    seeds: Seeds, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Protects the run against a reader bug not yet found: an unexpected exception on one
    file makes that file 'unreadable' (no answer text in the reason) and the rest is read."""
    import musforms.docx.reader

    def broken(path: Path, resolve: object = None) -> RawForm:
        raise KeyError("Svar æøå")

    monkeypatch.setattr(musforms.docx.reader, "read_docx", broken)
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    (inbox / "a.docx").write_bytes(seeds.docxs[0])
    (inbox / "b.pdf").write_bytes(seeds.pdfs[0])
    out = tmp_path / "results"
    result = collect([inbox], seeds.round.forms, out, key_file=seeds.round.key_file)
    status = {Path(e.file).name: e for e in result.report().files}
    assert status["b.pdf"].status == "ok"
    assert status["a.docx"].status == "unreadable"
    assert "KeyError" in (status["a.docx"].reason or "")
    assert "Svar" not in (status["a.docx"].reason or "")
