"""Fuzzing the readers with mutated real returned forms.

The seeds are forms musforms generated and real clients filled (PDFium; LibreOffice), plus
the PDF rewritten uncompressed by qpdf so that mutations reach the object syntax. Mutations:
bit flips, byte overwrites, truncations, deletions, insertions of PDF/XML syntax, splices of
one part of a file into another, and for Word files edits of single zip entries (mutated,
dropped, duplicated, stored uncompressed).

What must hold, whatever the bytes: each registered format's reader (``musforms.formats``)
returns a RawForm or raises FormReadError / NotMusformsError, the two kinds its contract
names, and nothing else (not another MusformsError either); ``collect.read_file`` never
raises and never reports a file with the ``internal_error`` problem (a bug in musforms).
The check functions (``check_reader``, ``check_read_file``) say so by an AssertionError, and
``test_the_checks_fail_on_a_reader_bug`` shows they do when a reader has a bug.

A short, deterministic run is part of every test run. ``make fuzz`` runs the long one:
``MUSFORMS_FUZZ_SECONDS=600 pytest -m fuzz tests/test_fuzz.py``; without that variable the
long test runs a short random budget, so it is never skipped. No example database is kept:
every crash found becomes a regression test at the end of this file.
"""

from __future__ import annotations

import importlib
import io
import os
import struct
import subprocess
import sysconfig
import time
import traceback
import warnings
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NoReturn

import pytest
from hypothesis import HealthCheck, Phase, example, given, settings
from hypothesis import seed as hypothesis_seed
from hypothesis import strategies as st

from musforms import formats
from musforms.collect import Context, collect, open_context, read_file, time_limit
from musforms.docx.reader import read_docx
from musforms.errors import ConfigError, FormReadError, IdentityError
from musforms.formats import Format, Issued, Resolver
from musforms.identity import load_key
from musforms.limits import Limits
from musforms.models import QuestionSet, RawForm
from musforms.questionset import load_question_set
from musforms.report import INTERNAL_ERROR, USABLE
from tests.clients.pdf import fill_pdfium
from tests.clients.word import fill_and_save_odt, fill_libreoffice
from tests.trust_data import Round, answers, make_round

pytestmark = pytest.mark.realclient

SHORT_EXAMPLES = 200  # per target: the short run of every `make test`
SECONDS_PER_FILE = 10

# --- seeds -------------------------------------------------------------------------------------


@dataclass
class Seeds:
    round: Round
    by_format: dict[str, list[bytes]]  # format name → real returned forms of that format
    qs: QuestionSet
    ctx: Context
    work: Path

    @property
    def pdfs(self) -> list[bytes]:
        return self.by_format["pdf"]

    @property
    def docxs(self) -> list[bytes]:
        return self.by_format["docx"]


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
    odt = root / "filled.odt"
    fill_and_save_odt(
        r.form("1042", "docx"),
        {"lykkedes": "Svar æøå\nlinje to", "titel": "Titel", "kursus": True},
        odt,
    )
    work = root / "work"
    work.mkdir()
    limits = Limits(seconds=SECONDS_PER_FILE)
    with open_context(load_key(r.key_file), r.forms, limits=limits) as ctx:
        yield Seeds(
            r,
            {
                "pdf": [filled.read_bytes(), qdf.read_bytes()],
                "docx": [word.read_bytes(), r.form("1042", "docx").read_bytes()],
                "odt": [odt.read_bytes()],
            },
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


# --- targets -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Mutator:
    """How one format's seeds are mutated: hypothesis cases, and the bytes a case makes."""

    cases: Callable[[int], st.SearchStrategy[Any]]  # given the number of seeds
    build: Callable[[bytes, Any], bytes]  # (seed, case) → bytes; case[0] is the seed's index
    unmutated: Callable[[int], Any]  # the case that leaves seed ``index`` as it is


def _pdf_build(seed: bytes, ops: list[tuple[str, int, int]]) -> bytes:
    return mutate(seed, ops)


def _docx_build(seed: bytes, case: tuple[str, Any]) -> bytes:
    how, ops = case
    return edit_zip(seed, ops) if how == "entries" else mutate(seed, ops)


MUTATORS: dict[str, Mutator] = {
    "pdf": Mutator(
        lambda n: pdf_cases(n),
        lambda seed, case: _pdf_build(seed, case[1]),
        lambda index: (index, []),
    ),
    "docx": Mutator(
        lambda n: docx_cases(n),
        lambda seed, case: _docx_build(seed, (case[1], case[2])),
        lambda index: (index, "bytes", []),
    ),
}
# An .odt is a zip of XML parts too: mutated as a .docx is, its bytes or its parts.
MUTATORS["odt"] = MUTATORS["docx"]


def case_bytes(s: Seeds, fmt: str, case: Any) -> bytes:
    return MUTATORS[fmt].build(s.by_format[fmt][case[0]], case)


def _resolver(s: Seeds) -> Resolver:
    return lambda raw: Issued(s.qs, None, None)


# Programming errors: a read error may be raised from a library's failure on a hostile file
# (pypdf raises many kinds), never from one of these raised by musforms' own code.
BUG_TYPES = (ArithmeticError, AssertionError, AttributeError, LookupError, NameError, TypeError)
LIBRARIES = tuple(
    {sysconfig.get_paths()[k] for k in ("stdlib", "platstdlib", "purelib", "platlib")}
)


def hidden_bug(error: FormReadError) -> BaseException | None:
    """The programming error, raised outside any library (in musforms' own code), that
    ``error`` was raised from (``raise ... from``), if any: a bug behind a catch-all."""
    seen: set[int] = set()
    link = error.__cause__
    while link is not None and id(link) not in seen:
        seen.add(id(link))
        if isinstance(link, BUG_TYPES):
            frames = traceback.extract_tb(link.__traceback__)
            where = frames[-1].filename if frames else "<unknown>"
            if not where.startswith((*LIBRARIES, "<")):
                return link
        link = link.__cause__
    return None


def check_reader(s: Seeds, fmt: Format, data: bytes) -> None:
    """``fmt``'s reader on ``data`` gives a RawForm or one of the two errors its contract
    names (FormReadError, NotMusformsError), and such an error does not hide a bug in
    musforms' code; anything else fails with an AssertionError."""
    path = s.work / f"mutated{fmt.suffix}"
    path.write_bytes(data)
    try:
        with time_limit(SECONDS_PER_FILE):
            # Through the registry, as collect reads: the reader its spec names, looked up now.
            raw = fmt.read(path, _resolver(s), s.ctx.limits)
    except FormReadError as exc:  # NotMusformsError is one too; so is the time limit
        bug = hidden_bug(exc)
        if bug is not None:
            raise AssertionError(
                f"the {fmt.title} reader hid a bug in musforms behind a read error: "
                f"{bug.__class__.__name__}: {bug}"
            ) from bug
        return
    except Exception as exc:
        raise AssertionError(
            f"the {fmt.title} reader raised {exc.__class__.__name__}, which its contract does "
            f"not allow: {exc}"
        ) from exc
    assert isinstance(raw, RawForm), f"the {fmt.title} reader returned {raw!r}"


def check_read_file(s: Seeds, data: bytes, suffix: str) -> None:
    """collect's ``read_file`` on ``data`` returns an entry and never raises, and the entry
    is never an internal error (a bug in musforms met on the file)."""
    path = s.work / f"returned{suffix}"
    path.write_bytes(data)
    try:
        result = read_file(path, s.ctx)
    except Exception as exc:
        raise AssertionError(f"read_file raised {exc.__class__.__name__}: {exc}") from exc
    entry = result.entry
    internal = [p for p in entry.problems if p.code == INTERNAL_ERROR]
    assert not internal, f"a bug in musforms: {entry.reason} ({internal[0].message})"
    assert entry.status in ("ok", "recovered", "not_musforms", "unreadable", "rejected"), entry
    assert (result.response is not None) == (entry.status in USABLE), entry


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


READ_FILE = "read_file"


def targets() -> list[str]:
    """One target per registered format (its reader) and one for collect's read_file."""
    return [*formats.names(), READ_FILE]


def run_target(
    s: Seeds, target: str, examples: int, *, derandomize: bool, seed: int | None = None
) -> None:
    """Run one fuzz target for ``examples`` examples (hypothesis shrinks any failure). The
    seeds themselves, unmutated, are always tried first."""
    names = formats.names() if target == READ_FILE else (formats.get(target).name,)
    cases = st.one_of(
        *(st.tuples(st.just(name), MUTATORS[name].cases(len(s.by_format[name]))) for name in names)
    )

    def check(name: str, case: Any) -> None:
        fmt = formats.get(name)
        data = case_bytes(s, name, case)
        if target == READ_FILE:
            check_read_file(s, data, fmt.suffix)
        else:
            check_reader(s, fmt, data)

    @_settings(examples, derandomize=derandomize)
    @given(cases)
    def run(named_case: tuple[str, Any]) -> None:
        check(*named_case)

    for name in names:
        for index in range(len(s.by_format[name])):
            run = example((name, MUTATORS[name].unmutated(index)))(run)
    if seed is not None:
        run = hypothesis_seed(seed)(run)
    run()


def test_every_format_is_fuzzed(seeds: Seeds) -> None:
    """A format added to the registry is fuzzed too: it has real seeds and a mutator here."""
    for name in formats.names():
        assert seeds.by_format.get(name), f"no seed forms of format {name} for the fuzzing"
        assert name in MUTATORS, f"no mutator for format {name}: add one to MUTATORS"


@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
@pytest.mark.parametrize("target", targets())
def test_short_fuzz(target: str, seeds: Seeds) -> None:
    """Protects against a hostile or damaged return crashing the readers or collect: a fixed
    set of mutated real forms gets only the errors each reader's contract names, and
    read_file answers every one without raising and without an internal error."""
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
        for target in targets():
            run_target(seeds, target, 40, derandomize=False, seed=time.time_ns() % 2**32)
        round_no += 1
        if time.monotonic() >= deadline:
            break
    assert round_no >= 1


# --- the checks can fail ---------------------------------------------------------------------

# What a reader bug looks like: an exception of a kind the reader contract does not name.
BUGS = [
    pytest.param(lambda: ZeroDivisionError("division by zero"), id="ZeroDivisionError"),
    pytest.param(lambda: KeyError("/Kids"), id="KeyError"),
    pytest.param(lambda: ConfigError("a musforms error, but not a read error"), id="ConfigError"),
    pytest.param(lambda: IdentityError("not a reader's to raise"), id="IdentityError"),
]


def _break_reader(
    monkeypatch: pytest.MonkeyPatch, fmt: Format, raise_: Callable[[], NoReturn]
) -> None:
    """Replace the callable ``fmt.reader`` names ("module:function") by one that raises."""
    module, _, name = fmt.reader.partition(":")

    def broken(*args: object, **kwargs: object) -> RawForm:
        raise_()

    monkeypatch.setattr(importlib.import_module(module), name, broken)


def _raise(bug: Callable[[], Exception]) -> Callable[[], NoReturn]:
    def raise_() -> NoReturn:
        raise bug()

    return raise_


def _hide_behind_a_read_error() -> NoReturn:
    """A catch-all as readers have had: the bug leaves the reader as a FormReadError."""
    try:
        raise ZeroDivisionError("division by zero")
    except Exception as exc:
        raise FormReadError("the file is damaged or not a PDF") from exc


def test_the_checks_pass_on_the_seeds(seeds: Seeds) -> None:
    """The other half of the proof below: unbroken readers pass every check on the seeds."""
    for fmt in formats.all_formats():
        for data in seeds.by_format[fmt.name]:
            check_reader(seeds, fmt, data)
            check_read_file(seeds, data, fmt.suffix)


@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
@pytest.mark.parametrize("bug", BUGS)
def test_the_checks_fail_on_a_reader_bug(
    seeds: Seeds, monkeypatch: pytest.MonkeyPatch, bug: Callable[[], Exception]
) -> None:
    """Protects the fuzzing itself from passing whatever happens: with a bug injected into
    each registered reader in turn, that reader's check, read_file's check and both fuzz
    targets fail."""
    for fmt in formats.all_formats():
        with monkeypatch.context() as m:
            _break_reader(m, fmt, _raise(bug))
            data = seeds.by_format[fmt.name][0]
            with pytest.raises(AssertionError, match="contract does not allow"):
                check_reader(seeds, fmt, data)
            with pytest.raises(AssertionError, match="a bug in musforms"):
                check_read_file(seeds, data, fmt.suffix)
            with pytest.raises(AssertionError):
                run_target(seeds, fmt.name, 3, derandomize=True)
            with pytest.raises(AssertionError):
                run_target(seeds, READ_FILE, 20, derandomize=True)


@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
def test_the_reader_check_fails_on_a_bug_behind_a_read_error(
    seeds: Seeds, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A reader that turns its own bug into a FormReadError (a catch-all) passes the contract
    by its type, not by its cause: its check and its fuzz target fail. (read_file reports
    such a file as unreadable, which is all it can know.)"""
    for fmt in formats.all_formats():
        with monkeypatch.context() as m:
            _break_reader(m, fmt, _hide_behind_a_read_error)
            data = seeds.by_format[fmt.name][0]
            with pytest.raises(AssertionError, match="hid a bug in musforms"):
                check_reader(seeds, fmt, data)
            with pytest.raises(AssertionError):
                run_target(seeds, fmt.name, 3, derandomize=True)


def test_the_read_file_check_fails_when_read_file_raises(
    seeds: Seeds, monkeypatch: pytest.MonkeyPatch
) -> None:
    """read_file must never raise: its check fails when it does (here: a bug before its
    reading starts, outside its own safety net)."""
    import musforms.collect.read

    def broken(path: Path) -> str:
        raise ZeroDivisionError("division by zero")

    monkeypatch.setattr(musforms.collect.read, "display_name", broken)
    with pytest.raises(AssertionError, match="read_file raised ZeroDivisionError"):
        check_read_file(seeds, seeds.pdfs[0], ".pdf")


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
    file makes that file 'unreadable' with the problem internal_error (no answer text in the
    report) and the rest is read."""
    import musforms.docx.reader

    def broken(path: Path, resolve: object = None, limits: object = None) -> RawForm:
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
    assert [p.code for p in status["a.docx"].problems] == [INTERNAL_ERROR]
    # Where it failed is kept for whoever looks into it; what the exception said is not.
    assert "Svar" not in (report := (out / "report.json").read_text(encoding="utf-8"))
    assert "KeyError in tests.test_fuzz" not in report and "KeyError in musforms" in report
