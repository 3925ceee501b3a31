"""Fast fillers for the benchmark: answer a generated form the way a viewer saves it.

These are not the real clients (tests/clients drive pdf.js, PDFium, poppler and
LibreOffice); they exist so a benchmark can fill ten thousand forms in a minute and still
hand collect files whose answers it must read back.

- PDF: the answer fields' dictionaries get ``/V`` (and ``/AS`` for buttons) and are appended
  as an incremental update, as a viewer's "save" does; nothing else is rewritten.
- Word: each tagged content control's content is replaced with the answer, the placeholder
  flag removed, checkboxes ticked and dates given ``w:fullDate``, as Word saves them.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import random
import zipfile
from pathlib import Path
from typing import Any

from lxml import etree
from pypdf import PdfReader
from pypdf.generic import (
    ArrayObject,
    DictionaryObject,
    IndirectObject,
    NameObject,
    TextStringObject,
)

from musforms import fieldnames as fn
from musforms.models import QuestionSet

Answers = dict[str, str | bool]

SENTENCES = (
    "Jeg har fået styr på årsafslutningen og lært to nye kolleger op i lønsystemet.",
    "Samarbejdet med økonomiafdelingen er blevet bedre, især omkring budgetopfølgningen.",
    "Jeg vil gerne have mere ansvar for projekterne i næste år.",
    "Mængden af opgaver er for stor i perioder, særligt i marts og september.",
    "Jeg savner sparring fra min leder om prioriteringer, når der er travlt.",
    "Kurset i klarsprog gav mig meget; jeg bruger det hver dag i mine breve til borgerne.",
    "Vi har fået en god kultur på holdet, hvor man hjælper hinanden – også på tværs.",
    "Jeg kunne tænke mig at prøve kræfter med sagsbehandling på børne- og ungeområdet.",
)
WHATS = (
    "Kursus i projektledelse",
    "Fast sparring med leder hver måned",
    "Overtage ansvaret for årshjulet",
    "Følordning hos Borgerservice i to uger",
    "Afklare muligheden for nedsat tid",
)
OWNERS = ("Medarbejder", "Leder", "Begge", "HR")


def answers_for(qs: QuestionSet, employee_id: str) -> Answers:
    """The answers a given employee types; the same every time for the same id."""
    rnd = random.Random(f"{qs.id}/{employee_id}")  # noqa: S311 (test data)
    out: Answers = {}
    for spec in fn.all_fields(qs):
        if spec.kind == "multiline":
            out[spec.name] = "\n".join(rnd.sample(SENTENCES, rnd.randint(1, 3)))
        elif spec.kind == "text":
            if spec.part == "what" and spec.row is not None and spec.row <= 2:
                out[spec.name] = rnd.choice(WHATS)
            elif spec.part == "owner" and spec.row is not None and spec.row <= 2:
                out[spec.name] = rnd.choice(OWNERS)
            elif spec.part is None:
                out[spec.name] = rnd.choice(SENTENCES)
        elif spec.kind == "date":
            if spec.part is None or (spec.row is not None and spec.row <= 2):
                day = dt.date(2027, 1, 4) + dt.timedelta(days=rnd.randint(0, 300))
                out[spec.name] = day.strftime("%d-%m-%Y")
        elif spec.kind == "radio":
            out[spec.name] = rnd.choice(spec.choices)
        elif spec.kind == "checkbox":
            out[spec.name] = rnd.random() < 0.5
    return out


# --- PDF -----------------------------------------------------------------------------------


def _pdf_string(obj: Any) -> bytes:
    buf = io.BytesIO()
    obj.write_to_stream(buf)
    return buf.getvalue()


def _on_state(widget: DictionaryObject) -> str | None:
    ap = widget.get("/AP")
    normal = ap.get_object().get("/N") if ap is not None else None
    normal = normal.get_object() if normal is not None else None
    if not isinstance(normal, DictionaryObject):
        return None
    return next((str(k) for k in normal if k != "/Off"), None)


def fill_pdf(source: Path, target: Path, answers: Answers) -> None:
    """Write ``source`` with ``answers`` to ``target`` as one incremental update."""
    data = source.read_bytes()
    reader = PdfReader(io.BytesIO(data))
    changed: dict[int, DictionaryObject] = {}
    for page in reader.pages:
        for ref in page.get("/Annots", ArrayObject()):
            annot = ref.get_object()
            parent_ref = annot.get("/Parent")
            field = parent_ref.get_object() if parent_ref is not None else annot
            name = str(field.get("/T", ""))
            if name not in answers:
                continue
            value = answers[name]
            kind = field.get("/FT")
            if kind in ("/Tx", "/Ch"):
                field[NameObject("/V")] = TextStringObject(str(value))
                changed[_num(parent_ref, ref)] = field
            elif kind == "/Btn":
                on = _on_state(annot)
                if parent_ref is not None:  # a radio kid: on when its state is the answer
                    chosen = f"/{value}"
                    annot[NameObject("/AS")] = NameObject(chosen if on == chosen else "/Off")
                    field[NameObject("/V")] = NameObject(chosen)
                    changed[ref.idnum] = annot
                    changed[parent_ref.idnum] = field
                else:
                    state = on if value is True and on else "/Off"
                    annot[NameObject("/V")] = NameObject(state)
                    annot[NameObject("/AS")] = NameObject(state)
                    changed[ref.idnum] = annot
    out = bytearray(data)
    if not out.endswith(b"\n"):
        out += b"\n"
    offsets: dict[int, int] = {}
    for num in sorted(changed):
        offsets[num] = len(out)
        out += b"%d 0 obj\n" % num + _pdf_string(changed[num]) + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n"
    for num in sorted(offsets):
        out += b"%d 1\n%010d 00000 n \n" % (num, offsets[num])
    trailer = reader.trailer
    size = int(trailer["/Size"])  # type: ignore[call-overload]
    prev = reader.xref_location if hasattr(reader, "xref_location") else _startxref(data)
    tail = b"<< /Size %d /Root %s /Info %s /Prev %d >>" % (
        size,
        _ref(trailer.raw_get("/Root")),
        _ref(trailer.raw_get("/Info")),
        prev,
    )
    out += b"trailer\n" + tail + b"\nstartxref\n%d\n%%%%EOF\n" % xref
    target.write_bytes(bytes(out))


def _num(parent_ref: IndirectObject | None, ref: IndirectObject) -> int:
    return (parent_ref if parent_ref is not None else ref).idnum


def _ref(value: Any) -> bytes:
    return b"%d %d R" % (value.idnum, value.generation)


def _startxref(data: bytes) -> int:
    tail = data[-64:]
    return int(tail.split(b"startxref")[-1].split()[0])


# --- Word ----------------------------------------------------------------------------------

W = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
W14 = "http://schemas.microsoft.com/office/word/2010/wordml"


def _w(tag: str) -> str:
    return f"{{{W}}}{tag}"


def _set_runs(content: etree._Element, text: str) -> None:
    """Replace the control's content with one run per line, joined by breaks."""
    parent_is_run_level = content.find(_w("p")) is None
    for child in list(content):
        content.remove(child)
    holder = content if parent_is_run_level else etree.SubElement(content, _w("p"))
    r = etree.SubElement(holder, _w("r"))
    for i, line in enumerate(text.split("\n")):
        if i:
            etree.SubElement(r, _w("br"))
        t = etree.SubElement(r, _w("t"))
        t.text = line
        t.set("{http://www.w3.org/XML/1998/namespace}space", "preserve")


def fill_docx(source: Path, target: Path, answers: Answers) -> None:
    """Write ``source`` with ``answers`` typed into its content controls to ``target``."""
    parser = etree.XMLParser(resolve_entities=False, no_network=True)
    with zipfile.ZipFile(source) as zin:
        root = etree.fromstring(zin.read("word/document.xml"), parser)
        for sdt in root.iter(_w("sdt")):
            pr = sdt.find(_w("sdtPr"))
            tag = pr.find(_w("tag")) if pr is not None else None
            name = tag.get(_w("val")) if tag is not None else None
            if pr is None or name not in answers:
                continue
            value = answers[name]
            content = sdt.find(_w("sdtContent"))
            plc = pr.find(_w("showingPlcHdr"))
            if plc is not None:
                pr.remove(plc)
            box = pr.find(f"{{{W14}}}checkbox")
            if box is not None:
                checked = box.find(f"{{{W14}}}checked")
                if checked is not None:
                    checked.set(f"{{{W14}}}val", "1" if value is True else "0")
                for t in content.iter(_w("t")):
                    t.text = "☒" if value is True else "☐"
                continue
            lst = pr.find(_w("dropDownList"))
            if lst is not None:
                shown = next(
                    li.get(_w("displayText"))
                    for li in lst.findall(_w("listItem"))
                    if li.get(_w("value")) == value
                )
                _set_runs(content, shown or str(value))
                continue
            date = pr.find(_w("date"))
            if date is not None:
                d, m, y = str(value).split("-")
                date.set(_w("fullDate"), f"{y}-{m}-{d}T00:00:00Z")
            _set_runs(content, str(value))
        document = etree.tostring(root, xml_declaration=True, encoding="UTF-8", standalone=True)
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zout:
            for info in zin.infolist():
                data = document if info.filename == "word/document.xml" else zin.read(info)
                zout.writestr(info, data, compress_type=zipfile.ZIP_DEFLATED)
    target.write_bytes(buf.getvalue())


def checksum(answers: Answers) -> str:
    return hashlib.sha256(repr(sorted(answers.items())).encode()).hexdigest()[:12]
