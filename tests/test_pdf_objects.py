"""The PDF object layer: read_pdf reads the field dictionaries as ISO 32000 describes them
and as the viewers show them, whatever shape a viewer saved them in; files padded to cost
memory are read within the bounds or refused."""

from __future__ import annotations

import datetime as dt
import os
import re
import shutil
import subprocess
import sys
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pypdf import PdfReader, PdfWriter
from pypdf.generic import (
    ArrayObject,
    DictionaryObject,
    IndirectObject,
    NameObject,
    NumberObject,
    PdfObject,
    TextStringObject,
)

from musforms.errors import FormReadError
from musforms.formdata import make_form_data
from musforms.models import Agreement, Employee, FormData, QuestionSet, RawValue
from musforms.pdf.reader import read_pdf
from musforms.pdf.writer import write_pdf
from tests.conftest import DANISH, EVERY_TYPE, MULTILINE

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def blank_form(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One generated form, shared by the examples of the property test."""
    employee = Employee(id="1042", name="Søren Ærø", meeting_date=dt.date(2027, 1, 14))
    previous = [Agreement(what="Kursus i Excel", owner="Søren", due=dt.date(2026, 6, 1))]
    data = make_form_data(
        QuestionSet.model_validate(EVERY_TYPE),
        employee,
        key=b"k" * 32,
        cycle="2026",
        previous=previous,
    )
    path = tmp_path_factory.mktemp("objects") / "form.pdf"
    write_pdf(data, path)
    return path


@pytest.fixture
def form_pdf(form_data: FormData, tmp_path: Path) -> Path:
    path = tmp_path / "form.pdf"
    write_pdf(form_data, path)
    return path


# --- a reference reading, with pypdf ----------------------------------------------------


def _obj(value: Any) -> Any:
    return value.get_object() if isinstance(value, IndirectObject) else value


def _text(value: Any) -> str | None:
    value = _obj(value)
    if value is None:
        return None
    if isinstance(value, NameObject):
        return str(value)[1:]
    return str(value)


def reference_fields(path: Path) -> dict[str, RawValue]:
    """Each field's value as ISO 32000 §12.7 defines it, read with pypdf: the widgets on the
    pages and those only /AcroForm/Fields lists, names joined up the /Parent chain, inherited
    /FT, /V, /Ff and /Opt, a button's state from its /AS first."""
    reader = PdfReader(path)
    widgets: list[DictionaryObject] = []
    seen: set[int] = set()
    for page in reader.pages:
        for annot in _obj(page.get("/Annots")) or []:
            annot = _obj(annot)
            if annot.get("/Subtype") == "/Widget" and id(annot) not in seen:
                seen.add(id(annot))
                widgets.append(annot)
    stack = list(_obj(_obj(reader.trailer["/Root"].get("/AcroForm", {})).get("/Fields", [])))
    while stack:
        node = _obj(stack.pop())
        if id(node) in seen:
            continue
        seen.add(id(node))
        kids = _obj(node.get("/Kids"))
        if kids:
            stack.extend(kids)
        else:
            widgets.append(node)

    def chain(widget: DictionaryObject) -> list[DictionaryObject]:
        out = [widget]
        while "/Parent" in out[-1]:
            out.append(_obj(out[-1]["/Parent"]))
        return out

    def inherited(widget: DictionaryObject, key: str) -> Any:
        return next((_obj(n[key]) for n in chain(widget) if key in n), None)

    groups: dict[str, list[DictionaryObject]] = {}
    for w in widgets:
        name = ".".join(reversed([_text(n["/T"]) or "" for n in chain(w) if "/T" in n]))
        if name:
            groups.setdefault(name, []).append(w)
    out: dict[str, RawValue] = {}
    for name, group in groups.items():
        kind = next((inherited(w, "/FT") for w in group if inherited(w, "/FT")), None)
        flags = 0
        for w in group:
            flags |= int(inherited(w, "/Ff") or 0)
        value = inherited(group[0], "/V")
        if kind == "/Tx":
            text = _text(value)
            text = text.replace("\r\n", "\n").replace("\r", "\n") if text else text
            out[name] = text if text and text.strip() else None
        elif kind == "/Btn" and (flags & (1 << 15) or len(group) > 1):
            states = [_text(w.get("/AS")) for w in group]
            on = [(w, s) for w, s in zip(group, states, strict=True) if s and s != "Off"]
            state = on[0] if on else (group[0], _text(value))
            out[name] = state[1] if state[1] and state[1] != "Off" else None
        elif kind == "/Btn":
            state = _text(group[0].get("/AS")) if "/AS" in group[0] else _text(value)
            out[name] = state not in (None, "", "Off")
        elif kind == "/Ch":
            if isinstance(value, ArrayObject):
                value = _obj(value[0]) if value else None
            text = _text(value)
            opt = [[_text(i) for i in _obj(o)] for o in inherited(group[0], "/Opt") or []]
            labels = {o[1]: o[0] for o in reversed(opt) if len(o) >= 2 and o[0]}
            exports = {o[0] for o in opt if len(o) >= 2}
            out[name] = (text if text in exports else labels.get(text, text)) if text else None
    return out


# --- how viewers reshape a form --------------------------------------------------------

Edit = Callable[[PdfWriter, Any], None]

TEXTS = st.lists(
    st.sampled_from([*"aøÆå é—«»'\"()\\\r\n\t☒😀ﬁ", "\r\n", "Dvořák"]), max_size=12
).map("".join)


def _widgets(writer: PdfWriter) -> list[DictionaryObject]:
    return [_obj(ref) for page in writer.pages for ref in page.get("/Annots", [])]


def _by_name(writer: PdfWriter, name: str) -> list[DictionaryObject]:
    out = []
    for w in _widgets(writer):
        parent = _obj(w.get("/Parent"))
        if w.get("/T") == name or (parent is not None and parent.get("/T") == name):
            out.append(w)
    return out


def _text_value(name: str) -> st.SearchStrategy[Edit]:
    def edit(writer: PdfWriter, text: str) -> None:
        _by_name(writer, name)[0][NameObject("/V")] = TextStringObject(text)

    return st.builds(lambda t: lambda w, _: edit(w, t), TEXTS)


def _split(name: str) -> Edit:
    """The field becomes a parent holding /T, /FT and /V, the widget its only kid."""

    def edit(writer: PdfWriter, _: Any) -> None:
        widget = _by_name(writer, name)[0]
        if "/Parent" in widget:
            return
        parent = DictionaryObject()
        for key in ("/T", "/FT", "/V", "/Ff"):
            if key in widget:
                parent[NameObject(key)] = widget.pop(key)
        ref = writer._add_object(parent)
        parent[NameObject("/Kids")] = ArrayObject([widget.indirect_reference])
        widget[NameObject("/Parent")] = ref
        acro = writer._root_object["/AcroForm"]
        acro[NameObject("/Fields")] = ArrayObject(
            ref if _obj(f) is widget else f for f in acro["/Fields"]
        )

    return edit


def _box(name: str) -> st.SearchStrategy[Edit]:
    states = st.sampled_from(["/Yes", "/Off", "/On", None])

    def edit(writer: PdfWriter, state: str | None, value: str | None) -> None:
        box = _by_name(writer, name)[0]
        for key, new in (("/AS", state), ("/V", value)):
            if new is None:
                box.pop(key, None)
            else:
                box[NameObject(key)] = NameObject(new)

    return st.builds(lambda s, v: lambda w, _: edit(w, s, v), states, states)


def _radio(name: str) -> st.SearchStrategy[Edit]:
    """A kid chosen (its /AS), the parent's /V stale, gone or right, the kid maybe detached
    from /Kids as Preview leaves it."""

    def edit(writer: PdfWriter, pick: int, stale: int | None, detach: bool) -> None:
        kids = _by_name(writer, name)
        on = [next(k for k in _obj(kid["/AP"])["/N"] if k != "/Off") for kid in kids]
        chosen = pick % len(kids)
        for i, kid in enumerate(kids):
            kid[NameObject("/AS")] = NameObject(on[i] if i == chosen else "/Off")
        parent = _obj(kids[0]["/Parent"])
        if stale is None:
            parent.pop("/V", None)
        else:
            parent[NameObject("/V")] = NameObject(on[stale % len(kids)])
        if detach:
            parent[NameObject("/Kids")] = ArrayObject(
                k for k in parent["/Kids"] if _obj(k) is not kids[chosen]
            )

    return st.builds(
        lambda p, s, d: lambda w, _: edit(w, p, s, d),
        st.integers(0, 4),
        st.none() | st.integers(0, 4),
        st.booleans(),
    )


OPTIONS = [("a", "Alfa"), ("b", "Beta"), ("c", "Alfa")]  # two exports share a label


def _set_choice(writer: PdfWriter, name: str, value: str | None, as_array: bool) -> None:
    """The text field ``name`` turned into a drop-down of OPTIONS holding ``value``."""
    widget = _by_name(writer, name)[0]
    widget[NameObject("/FT")] = NameObject("/Ch")
    widget[NameObject("/Ff")] = NumberObject(1 << 17)
    widget[NameObject("/Opt")] = ArrayObject(
        ArrayObject([TextStringObject(e), TextStringObject(label)]) for e, label in OPTIONS
    )
    if value is None:
        widget.pop("/V", None)
        return
    v: PdfObject = TextStringObject(value)
    widget[NameObject("/V")] = ArrayObject([v]) if as_array else v


def _choice(name: str) -> st.SearchStrategy[Edit]:
    """A drop-down whose value is an export value or a label (as some viewers store it)."""
    return st.builds(
        lambda v, a: lambda w, _: _set_choice(w, name, v, a),
        st.sampled_from(["a", "b", "Alfa", "Beta", "other", ""]) | st.none(),
        st.booleans(),
    )


def _fields_cut(keep: int) -> Edit:
    """/AcroForm/Fields lists only its first few fields (Preview's rewrite)."""

    def edit(writer: PdfWriter, _: Any) -> None:
        acro = writer._root_object["/AcroForm"]
        acro[NameObject("/Fields")] = ArrayObject(acro["/Fields"][:keep])

    return edit


EDITS = st.lists(
    st.one_of(
        _text_value("titel"),
        _text_value("lykkedes"),
        _text_value("mf_name"),
        st.just(_split("titel")),
        st.just(_split("startdato")),
        _box("kursus"),
        _box("fokus_flere__balance"),
        _radio("arbejdsmaengde"),
        _radio("fokus"),
        _choice("aftaler__1__owner"),
        st.builds(_fields_cut, st.integers(0, 40)),
    ),
    max_size=6,
)


def _save(writer: PdfWriter, path: Path, how: str) -> None:
    writer.write(path)
    if how != "plain":  # as Acrobat and qpdf write: object and cross-reference streams
        packed = path.with_suffix(".packed.pdf")
        subprocess.run(["qpdf", "--object-streams=generate", str(path), str(packed)], check=True)
        packed.replace(path)


@given(edits=EDITS, how=st.sampled_from(["plain", "object-streams"]))
@settings(
    max_examples=50,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
def test_fields_read_as_the_reference_reads_them(
    blank_form: Path, tmp_path: Path, edits: list[Edit], how: str
) -> None:
    """Protects every answer against a viewer's reshaping of the form: after any mix of new
    values (Danish, UTF-16, CRLF), split fields, stale /V, detached radio kids, drop-downs
    storing labels and a cut /AcroForm/Fields, saved plain or with object streams, read_pdf
    gives each field the value an independent pypdf reading of the same rules gives."""
    writer = PdfWriter(clone_from=blank_form)
    for edit in edits:
        edit(writer, None)
    path = tmp_path / "edited.pdf"
    _save(writer, path, how)
    assert read_pdf(path).fields == reference_fields(path)


# --- cases decided one by one -----------------------------------------------------------


@pytest.mark.parametrize(
    ("stored", "expected"),
    [("a", "a"), ("Alfa", "a"), ("Beta", "b"), ("other", "other"), ("", None), (None, None)],
)
def test_drop_down_value_reads_as_its_export_value(
    blank_form: Path, tmp_path: Path, stored: str | None, expected: str | None
) -> None:
    """A drop-down holding an export value reads as it; one holding the label a viewer
    showed reads as that label's export value (the first, when two share it)."""
    for as_array in (False, True):
        writer = PdfWriter(clone_from=blank_form)
        _set_choice(writer, "aftaler__1__owner", stored, as_array)
        path = tmp_path / "choice.pdf"
        writer.write(path)
        assert read_pdf(path).fields["aftaler__1__owner"] == expected
        assert reference_fields(path)["aftaler__1__owner"] == expected


def test_duplicated_value_key_reads_as_viewers_show_it(form_pdf: Path, tmp_path: Path) -> None:
    """A field dictionary with /V twice is read as PDFium (Chrome), pdf.js (Firefox), poppler
    (Evince) and qpdf read it, and as the employee saw it: the last one."""
    data = form_pdf.read_bytes()
    start = data.index(b"/TU (", data.index(b"/T (titel)"))
    stop = data.index(b"/V ()", start) + len(b"/V ()")
    assert b"endobj" not in data[start:stop]
    twice = b"/Type /Annot /V (first) /V (second)"  # in the room of /TU, /Type and /V
    path = tmp_path / "twice.pdf"
    path.write_bytes(data[:start] + twice.ljust(stop - start) + data[stop:])
    assert read_pdf(path).fields["titel"] == "second"


def _handmade(objects: list[bytes]) -> bytes:
    out = bytearray(b"%PDF-1.7\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        xref,
    )
    return bytes(out)


def test_strings_names_and_numbers_decode_as_written(tmp_path: Path) -> None:
    """Escapes, octal codes, nested parentheses, hex strings, UTF-16BE, #-escaped names and
    line continuations decode to what the writer meant."""
    path = tmp_path / "strings.pdf"
    path.write_bytes(
        _handmade(
            [
                b"<< /Type /Catalog /Pages 2 0 R >>",
                b"<< /Type /Pages /Kids [ 3 0 R ] /Count 1 >>",
                b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] "
                b"/Annots [4 0 R 5 0 R 6 0 R 7 0 R] >>",
                b"<< /Type /Annot /Subtype /Widget /FT /Tx /T (a\\(b\\)c) "
                b"/V (S\\370ren \\(og\\) (\\305se) \\\nnext\\nline\\t\\\\) /Rect [0 0 1 1] >>",
                b"<< /Type /Annot /Subtype /Widget /FT /Tx /T <6669656C64> "
                b"/V <FEFF00C600D800C5> /Rect [0 0 1 1] >>",
                b"<< /Type /Annot /Subtype /Widget /FT /Btn /T (box) /V /Y#65s /AS /Y#65s "
                b"/MK << /CA (\\)) /BC [0.5 -.5 +1] >> /Rect [0 0 1 1] >>",
                b"<< /Type /Annot /Sub#74ype /Wid#67et /FT /Tx /T (mf_identity) "
                b"/V (MF1.token) /Rect [0 0 1 1] >>",
            ]
        )
    )
    assert read_pdf(path).fields == {
        "a(b)c": "Søren (og) (Åse) next\nline\t\\",
        "field": "ÆØÅ",
        "box": True,
        "mf_identity": "MF1.token",
    }
    assert read_pdf(path).fields == reference_fields(path)


def test_names_that_are_not_utf8_are_read_not_raised(tmp_path: Path) -> None:
    """A name whose bytes are not UTF-8, as a key or as a button's state (damage the fuzzing
    found), neither stops the reading nor turns a ticked box off."""
    path = tmp_path / "names.pdf"
    path.write_bytes(
        _handmade(
            [
                b"<< /Type /Catalog /Pages 2 0 R >>",
                b"<< /Type /Pages /Kids [ 3 0 R ] /Count 1 >>",
                b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] "
                b"/Annots [4 0 R 5 0 R 6 0 R] >>",
                b"<< /Type /Annot /Subtype /Widget /FT /Btn /T (box) /AS /#80es /Rect [0 0 1 1] >>",
                b"<< /Type /Annot /Subtype /Widget /FT /Tx /T (text) /V (svar) /K#FFey /#80 "
                b"/Rect [0 0 1 1] >>",
                b"<< /Type /Annot /Subtype /Widget /FT /Tx /T (mf_identity) /V (MF1.token) >>",
            ]
        )
    )
    assert read_pdf(path).fields == {"box": True, "text": "svar", "mf_identity": "MF1.token"}


def test_a_file_name_that_is_not_utf8_reads(form_pdf: Path, tmp_path: Path) -> None:
    """A file whose name was made on another system (bytes that are not UTF-8) is read like
    any other: qpdf is never handed the name."""
    odd = Path(os.fsdecode(bytes(tmp_path) + b"/svar \xff\xe6.pdf"))
    shutil.copy(form_pdf, odd)
    assert read_pdf(odd).fields == read_pdf(form_pdf).fields


def test_rewritten_and_encrypted_forms_read_the_same(form_pdf: Path, tmp_path: Path) -> None:
    """Object and cross-reference streams (qpdf, Acrobat), and encryption with an owner
    password only (RC4 by pypdf, AES-256 by qpdf), read as the form itself reads."""
    writer = PdfWriter(clone_from=form_pdf)
    writer.update_page_form_field_values(None, {"titel": DANISH, "lykkedes": MULTILINE})
    filled = tmp_path / "filled.pdf"
    writer.write(filled)
    expected = read_pdf(filled).fields
    assert expected["titel"] == DANISH and expected["lykkedes"] == MULTILINE

    streams = tmp_path / "streams.pdf"
    subprocess.run(["qpdf", "--object-streams=generate", str(filled), str(streams)], check=True)
    assert b"/ObjStm" in streams.read_bytes()
    assert read_pdf(streams).fields == expected

    rc4 = PdfWriter(clone_from=filled)
    rc4.encrypt("", "owner-secret")
    locked = tmp_path / "rc4.pdf"
    rc4.write(locked)
    aes = tmp_path / "aes.pdf"
    subprocess.run(
        ["qpdf", "--encrypt", "", "owner-secret", "256", "--", str(filled), str(aes)], check=True
    )
    for path in (locked, aes):
        raw = read_pdf(path)
        assert raw.fields == expected
        assert raw.notes == ["the file was encrypted without a password to open it"]


@pytest.mark.parametrize(
    "damage",
    [
        lambda d: d[: len(d) // 2],  # cut short
        lambda d: d[:-40],  # the last save's trailer cut off
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
    ids=["half", "trailer", "startxref", "string", "offsets", "prev"],
)
def test_damage_never_gives_a_different_answer(
    damage: Callable[[bytes], bytes], form_pdf: Path, tmp_path: Path
) -> None:
    """Whatever is wrong with a filled form, read_pdf raises FormReadError or gives answers
    the employee typed: a field it reads has the value the undamaged file has."""
    writer = PdfWriter(clone_from=form_pdf)
    writer.update_page_form_field_values(None, {"titel": DANISH}, auto_regenerate=False)
    filled = tmp_path / "filled.pdf"
    writer.write(filled)
    expected = read_pdf(filled).fields
    bad = tmp_path / "bad.pdf"
    bad.write_bytes(damage(filled.read_bytes()))
    try:
        fields = read_pdf(bad).fields
    except FormReadError:
        return
    assert {name: value for name, value in fields.items() if name in expected} == {
        name: expected[name] for name in fields if name in expected
    }


# --- padded to cost memory ---------------------------------------------------------------

# Reads one file in a process of its own (the memory a process already holds and freed would
# hide what reading costs) after a warm-up read, and prints how far the peak grew and what
# came of it. The peak is VmHWM, which starts anew with the process (ru_maxrss keeps the
# parent's peak across fork and exec).
MEASURE = """
import sys
from pathlib import Path
from musforms.errors import FormReadError
from musforms.limits import Limits
from musforms.pdf.reader import read_pdf

def peak():
    with open("/proc/self/status") as fh:
        line = next(line for line in fh if line.startswith("VmHWM:"))
    return int(line.split()[1]) * 1024

read_pdf(Path(sys.argv[1]))
before = peak()
try:
    raw = read_pdf(Path(sys.argv[2]), limits=Limits(memory_bytes=int(sys.argv[3])))
    outcome = "read " + str(raw.fields.get("titel"))
except FormReadError as exc:
    outcome = str(exc)
print(peak() - before)
print(outcome)
"""


def _measure(form: Path, padded: Path, memory_bytes: int) -> tuple[int, str]:
    done = subprocess.run(
        [sys.executable, "-c", MEASURE, str(form), str(padded), str(memory_bytes)],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
        timeout=300,
    )
    grown, outcome = done.stdout.splitlines()
    return int(grown), outcome


def _last_save(data: bytes) -> tuple[int, bytes]:
    """Where the file's last cross-reference section starts, and its /Root entry."""
    prev = re.findall(rb"startxref\s+(\d+)", data)[-1]
    root = re.findall(rb"/Root\s+\d+\s+\d+\s+R", data)[-1]
    return int(prev), root


def _padded_table(form: Path, out: Path, entries: int) -> Path:
    """The form with one more save whose cross-reference table has ``entries`` entries,
    each pointing at the form's first object (20 bytes each in the file)."""
    data = form.read_bytes()
    prev, root = _last_save(data)
    first = data.index(b"1 0 obj")
    start = len(data)
    body = b"xref\n0 1\n0000000000 65535 f \n1000 %d\n" % entries
    body += b"%010d 00000 n \n" % first * entries
    body += b"trailer\n<< /Size %d %s /Prev %d >>\nstartxref\n%d\n%%%%EOF\n" % (
        entries + 1000,
        root,
        prev,
        start,
    )
    out.write_bytes(data + body)
    return out


def _padded_stream(form: Path, out: Path, entries: int) -> Path:
    """The form with one more save whose cross-reference stream inflates to ``entries``
    entries of one byte each, for object numbers no object uses; the file is padded so that
    qpdf deems that many objects possible (one for every 3 bytes of the file)."""
    data = bytearray(form.read_bytes())
    prev, root = _last_save(bytes(data))
    data += b"%" + b"x" * (3 * (entries + 1000)) + b"\n"
    table = zlib.compress(b"\x00" * entries, 9)
    start = len(data)
    data += (
        b"999 0 obj\n<< /Type /XRef /Size %d /W [0 1 0] /Index [1000 %d] %s /Prev %d "
        b"/Filter /FlateDecode /Length %d >>\nstream\n"
        % (entries + 1000, entries, root, prev, len(table))
    )
    data += table + b"\nendstream\nendobj\nstartxref\n%d\n%%%%EOF\n" % start
    out.write_bytes(bytes(data))
    return out


@pytest.mark.slow
@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="measures with /proc")
def test_padded_cross_reference_is_read_within_bounds_or_refused(
    form_pdf: Path, tmp_path: Path
) -> None:
    """Protects the machine against a file whose cross-reference table or stream is padded
    with millions of entries (qpdf holds some 76 bytes for each, inside one call). A 40 MB
    file with 2 million table entries is read, growing memory by less than the bound
    (memory_bytes, 256 MB); under a 64 MB bound the memory limit refuses it. A 23 MB file
    whose stream inflates to 7.5 million entries is refused by the memory limit; a stream
    inflating past stream_bytes (8 MB) is not inflated: qpdf rebuilds the table from the
    objects, and the form reads. No read grows memory past its bound."""
    table = _padded_table(form_pdf, tmp_path / "table.pdf", 2_000_000)
    stream = _padded_stream(form_pdf, tmp_path / "stream.pdf", 7_500_000)
    inflating = _padded_stream(form_pdf, tmp_path / "inflating.pdf", 9_000_000)
    refused = "reading it takes more memory than any form could"
    slack = 8_000_000  # what the read itself allocates once the bound is lifted

    grown, outcome = _measure(form_pdf, table, 256_000_000)
    assert outcome == "read None"  # the form itself, its padding skipped
    assert grown < 256_000_000

    grown, outcome = _measure(form_pdf, table, 64_000_000)
    assert refused in outcome
    assert grown < 64_000_000 + slack

    grown, outcome = _measure(form_pdf, stream, 256_000_000)
    assert refused in outcome
    assert grown < 256_000_000 + slack

    grown, outcome = _measure(form_pdf, inflating, 256_000_000)
    assert outcome == "read None"
    assert grown < 256_000_000
