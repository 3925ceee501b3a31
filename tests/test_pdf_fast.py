"""The small PDF parser reads exactly what pypdf reads, and hands pypdf what it cannot."""

from __future__ import annotations

import re
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pypdf import PdfReader, PdfWriter

from musforms.models import FormData, RawForm
from musforms.pdf import reader
from musforms.pdf._fastpdf import FastPdf, Unsupported
from musforms.pdf.reader import read_pdf
from musforms.pdf.writer import write_pdf
from tests.clients.pdf import FILLERS
from tests.test_pdf_clients import ANSWERS


@pytest.fixture
def form_pdf(form_data: FormData, tmp_path: Path) -> Path:
    path = tmp_path / "form.pdf"
    write_pdf(form_data, path)
    return path


@pytest.fixture
def form_objects(form_pdf: Path, tmp_path: Path) -> list[bytes]:
    """The objects of a generated form, blank and filled by PDFium."""
    filled = tmp_path / "filled.pdf"
    FILLERS["pdfium"](form_pdf, filled, ANSWERS)
    return _Objects(_objects(form_pdf) + _objects(filled))


def _both(path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[RawForm, RawForm]:
    """read_pdf as it runs, and read_pdf with pypdf alone."""
    fast = read_pdf(path)
    with monkeypatch.context() as m:
        m.setattr(reader, "_read_fast", lambda *args: None)
        slow = read_pdf(path)
    return fast, slow


def _took_fast_path(path: Path) -> bool:
    return reader._read_fast(path, reader._Budget(path)) is not None


@pytest.mark.realclient
@pytest.mark.parametrize("client", sorted(FILLERS))
def test_same_answers_as_pypdf_after_real_clients(
    client: str, form_pdf: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A form filled and saved by pdf.js, PDFium or poppler reads the same either way."""
    filled = tmp_path / f"{client}.pdf"
    FILLERS[client](form_pdf, filled, ANSWERS)
    fast, slow = _both(filled, monkeypatch)
    assert fast == slow
    assert fast.fields["titel"] == ANSWERS["titel"]


def test_fresh_form_uses_the_fast_path(form_pdf: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A form as generated is read by the small parser, with pypdf's result."""
    assert _took_fast_path(form_pdf)
    fast, slow = _both(form_pdf, monkeypatch)
    assert fast == slow


def test_rewritten_files_go_to_pypdf(form_pdf: Path, tmp_path: Path) -> None:
    """Object streams and cross-reference streams (qpdf, Acrobat) and encryption are left to
    pypdf, and still read."""
    streams = tmp_path / "streams.pdf"
    subprocess.run(["qpdf", "--object-streams=generate", str(form_pdf), str(streams)], check=True)
    with pytest.raises(Unsupported):
        FastPdf(streams.read_bytes())
    assert not _took_fast_path(streams)
    assert read_pdf(streams).fields == read_pdf(form_pdf).fields

    writer = PdfWriter(clone_from=form_pdf)
    writer.encrypt("", "owner-secret")
    locked = tmp_path / "locked.pdf"
    writer.write(locked)
    assert not _took_fast_path(locked)
    assert read_pdf(locked).fields == read_pdf(form_pdf).fields


@pytest.mark.parametrize(
    "damage",
    [
        lambda d: d[: len(d) // 2],  # cut short
        lambda d: d.replace(b"startxref", b"startxerf"),
        lambda d: d.replace(b"/Annots [", b"/Annots [ (", 1),  # an unterminated string
        lambda d: d.replace(b" 0 obj", b" 0 jbo", 3),  # objects not where the xref says
        lambda d: (
            d
            + b"\nxref\n0 1\n0000000000 65535 f \ntrailer\n<< /Prev 0 >>\nstartxref\n"
            + str(len(d) + 1).encode()
            + b"\n%%EOF\n"
        ),  # a /Prev chain into nowhere
    ],
)
def test_damage_never_gives_a_different_answer(
    damage: object, form_pdf: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Whatever is wrong with a file, the small parser either reads what pypdf reads or steps
    aside; it never raises anything but the reader's own errors."""
    bad = tmp_path / "bad.pdf"
    bad.write_bytes(damage(form_pdf.read_bytes()))  # type: ignore[operator]
    try:
        fast, slow = _both(bad, monkeypatch)
    except reader.FormReadError:
        with pytest.raises(reader.FormReadError), monkeypatch.context() as m:
            m.setattr(reader, "_read_fast", lambda *args: None)
            read_pdf(bad)
        return
    assert fast == slow


def test_strings_names_and_numbers_as_pypdf_reads_them(tmp_path: Path) -> None:
    """Escapes, octal codes, nested parentheses, hex strings, #-escaped names and
    line continuations decode exactly as pypdf decodes them."""
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [ 3 0 R ] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Annots [4 0 R 5 0 R 6 0 R] >>",
        b"<< /Type /Annot /Subtype /Widget /FT /Tx /T (a\\(b\\)c) "
        b"/V (S\\370ren \\(og\\) (\\305se) \\\nnext\\nline\\t\\\\) /Rect [0 0 1 1] >>",
        b"<< /Type /Annot /Subtype /Widget /FT /Tx /T <6669656C64> "
        b"/V <FEFF00C600D800C5> /Rect [0 0 1 1] >>",
        b"<< /Type /Annot /Subtype /Widget /FT /Btn /T (box) /V /Y#65s /AS /Y#65s "
        b"/MK << /CA (\\)) /BC [0.5 -.5 +1] >> /Rect [0 0 1 1] >>",
    ]
    out = bytearray(b"%PDF-1.7\n")
    offsets = []
    for i, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (i, body)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % o for o in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        xref,
    )
    path = tmp_path / "strings.pdf"
    path.write_bytes(bytes(out))
    doc = FastPdf(bytes(out))
    budget = reader._Budget(path)
    assert reader._fields(doc, budget) == reader._fields(PdfReader(path), budget)
    assert reader._fields(doc, budget) == {
        "a(b)c": "Søren (og) (Åse) next\nline\t\\",
        "field": "ÆØÅ",
        "box": True,
    }


_SYNTAX = [
    b"(", b")", b"\\", b"<", b">", b"<<", b">>", b"[", b"]", b"/", b"%", b"{", b"\n", b" ",
    b"#", b"0 R", b"1", b".", b"true", b"(a(b)c)", b"<4F>", b"<< /A [ << >> ] >>",
]  # fmt: skip


class _Objects(list[bytes]):
    def __repr__(self) -> str:  # shown when a test fails: the count, not the bytes
        return f"<{len(self)} PDF objects>"


def _objects(path: Path) -> _Objects:
    """Each object's value in the file, as the bytes from its start (a few hundred)."""
    data = path.read_bytes()
    out = _Objects()
    for num, offset in FastPdf(data).offsets.items():
        if offset is not None:
            m = re.compile(rb"\s*%d\s+\d+\s+obj" % num).match(data, offset)
            assert m is not None
            out.append(data[m.end() : m.end() + 800])
    return out


@given(
    choice=st.integers(0, 10_000),
    edits=st.lists(
        st.tuples(st.integers(0, 600), st.integers(0, 3), st.sampled_from(_SYNTAX)), max_size=4
    ),
)
@settings(
    max_examples=400,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@pytest.mark.realclient
def test_whole_dictionaries_read_as_token_by_token(
    form_objects: list[bytes], choice: int, edits: list[tuple[int, int, bytes]]
) -> None:
    """Where the one-match-per-key path reads a dictionary at all, it reads what the token
    parser reads, to the same end, however the dictionary's syntax is damaged."""
    obj = bytearray(form_objects[choice % len(form_objects)])
    for at, cut, insert in edits:
        at = min(at, len(obj))
        obj[at : at + cut] = insert
    doc = FastPdf.__new__(FastPdf)
    doc.data, doc.offsets, doc._cache = bytes(obj), {}, {}

    def read(parse: Callable[[int], object]) -> object:
        try:
            return parse(0)
        except Unsupported:
            return Unsupported

    fast = read(doc._dictionary)
    if fast is not None:  # None: left to the token parser
        assert read(doc._tokens) == fast
