"""Read a returned PDF form: its identity and the raw value of every field.

Values come from the field dictionaries, never from appearance streams. Every page's
widgets are walked (macOS Preview is known to leave ``/AcroForm/Fields`` incomplete), a
button's ``/AS`` wins over ``/V`` (Preview detaches a chosen radio kid from its group),
text arrives as UTF-16BE or PDFDocEncoding and line breaks are normalised to ``\\n``.
A file printed to PDF keeps no fields: then the visible form code is read from the page
text and, given the question set it was issued with, what the layout allows is recovered.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import re
import resource
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from pypdf import PdfReader, apply_configuration
from pypdf.errors import PdfReadError
from pypdf.generic import ArrayObject, DictionaryObject, IndirectObject, NameObject

from musforms import fieldnames as fn
from musforms import texts
from musforms.errors import FormReadError, NotMusformsError
from musforms.identity import form_code, form_id_from_code
from musforms.limits import DEFAULT_LIMITS, Limits
from musforms.models import QuestionSet, RawForm, RawValue, localize
from musforms.pdf._acroform import (
    ACROFORM,
    FIELDS,
    INFO_CREATION_DATE,
    INFO_IDENTITY,
    INFO_MOD_DATE,
    INFO_PRODUCER,
    OFF,
    ROOT,
    XFA,
    Annot,
    Field,
    FieldFlag,
    FieldType,
)
from musforms.pdf._fastpdf import FastPdf

__all__ = ["read_pdf"]

MAX_PARENT_DEPTH = 32  # a /Parent chain longer than this is hostile or broken
MAX_WIDGETS = 20_000
MAX_PAGES = 100  # a returned form has a handful
# A form's largest stream (page content, object stream) is well under 1 MB decoded; pypdf's
# own limit is 75 MB per stream, which a file of many such streams turns into gigabytes.
MAX_STREAM_BYTES = 8 * 2**20
# What reading one file may add to the process's memory before it is refused as hostile.
MAX_MEMORY_GROWTH = 256 * 2**20

_LIMITS: dict[str, Any] = {
    "zlib_maximum_output_length": MAX_STREAM_BYTES,
    "lzw_maximum_output_length": MAX_STREAM_BYTES,
    "run_length_maximum_output_length": MAX_STREAM_BYTES,
    "brotli_maximum_output_length": MAX_STREAM_BYTES,
    "jbig2_maximum_output_length": MAX_STREAM_BYTES,
    "array_based_stream_maximum_output_length": MAX_STREAM_BYTES,
    "image_maximum_buffer_size": MAX_STREAM_BYTES,
    "stream_decoding_work_maximum_length": 4 * MAX_STREAM_BYTES,
}

Resolver = Callable[[RawForm], QuestionSet | None]

_log = logging.getLogger(__name__)


def read_pdf(
    path: Path, resolve: Resolver | None = None, limits: Limits = DEFAULT_LIMITS
) -> RawForm:
    """The identity and raw field values of the PDF form at ``path``.

    ``resolve`` gives the question set a form was issued with; it is asked only when the
    file has lost its fields (printed to PDF) and answers must be recovered from the text.
    Raises FormReadError when the file cannot be read as a form and NotMusformsError when
    it is a readable PDF that carries neither a musforms identity nor a form code.
    """
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise FormReadError(f"{path.name}: the file cannot be opened ({exc.strerror})") from exc
    if size == 0:
        raise FormReadError(f"{path.name}: the file is empty; ask for the form to be sent again")
    too_large = limits.too_large(size)
    if too_large:
        raise FormReadError(f"{path.name}: {too_large}")
    try:
        with apply_configuration(**_LIMITS):
            return _read(path, resolve)
    except FormReadError:
        raise
    except (PdfReadError, RecursionError, MemoryError) as exc:
        raise _unreadable(path) from exc
    except Exception as exc:  # pypdf raises many kinds for hostile files; none may escape
        raise _unreadable(path) from exc


def _rss() -> int:
    """The process's resident memory now, in bytes (its peak where /proc is missing)."""
    try:
        with open("/proc/self/statm", "rb") as fh:
            return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        return peak if sys.platform == "darwin" else peak * 1024


class _Budget:
    """Refuses a file once reading it has grown the process's memory too much: many
    streams, each under pypdf's per-stream limit, still add up."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.start = _rss()

    def check(self) -> None:
        if _rss() - self.start > MAX_MEMORY_GROWTH:
            raise FormReadError(
                f"{self.path.name}: reading it takes more memory than any form could; the "
                "file is damaged or made to harm; ask for the form to be saved and sent again"
            )


class _Sparse(_Budget):
    """The budget checked at every 16th call: the small parser inflates no streams, and
    reading /proc/self/statm costs more than parsing a page of widgets."""

    def __init__(self, budget: _Budget) -> None:
        self.path, self.start, self.calls = budget.path, budget.start, 0

    def check(self) -> None:
        self.calls += 1
        if self.calls % 16 == 0:
            super().check()


def _unreadable(path: Path) -> FormReadError:
    return FormReadError(
        f"{path.name}: the file is damaged or not a PDF; ask for the form to be saved "
        "and sent again"
    )


def _read(path: Path, resolve: Resolver | None) -> RawForm:
    with path.open("rb") as fh:
        head = fh.read(1024)
    if b"%PDF-" not in head:
        raise _unreadable(path)
    budget = _Budget(path)
    fast = _read_fast(path, budget)
    if fast is not None:
        return fast
    reader = PdfReader(path, strict=False)
    notes: list[str] = []
    if reader.is_encrypted:
        # An owner password alone (empty user password) still lets every viewer open it.
        try:
            opened = reader.decrypt("")
        except Exception as exc:
            raise _encrypted(path) from exc
        if not opened:
            raise _encrypted(path)
        notes.append("the file was encrypted without a password to open it")
    if len(reader.pages) > MAX_PAGES:
        raise FormReadError(
            f"{path.name}: the file has {len(reader.pages)} pages, far more than a form; "
            "ask for the form alone"
        )
    fields = _fields(reader, budget)
    info = _info(reader)
    token = _str(fields.get(fn.IDENTITY)) or _str(info.get(INFO_IDENTITY))
    raw = RawForm(
        format="pdf",
        token=token.strip() if token else None,
        fields=fields,
        saved_at=_saved_at(info),
        application=_str(info.get(INFO_PRODUCER)),
        notes=notes,
    )
    if not fields and _has_xfa(reader):
        raise FormReadError(
            f"{path.name}: the form was saved as an XFA form (Adobe LiveCycle), which musforms "
            "cannot read; ask for it to be saved as an ordinary PDF"
        )
    answer_fields = [name for name in fields if not fn.is_reserved(name)]
    if not answer_fields:
        _from_layout(reader, raw, resolve, budget)
    if raw.token is None and raw.form_code is None:
        raise NotMusformsError(
            f"{path.name}: this PDF is not a musforms form (it has no form identity and no "
            "form code)"
        )
    return raw


def _read_fast(path: Path, budget: _Budget) -> RawForm | None:
    """The form read by the small parser (_fastpdf.py), when it can and the fields are there.

    None sends the file to pypdf: cross-reference streams, encryption, printed forms, too
    many pages, anything unusual. Both read the same dictionaries the same way.
    """
    try:
        doc = FastPdf(path.read_bytes())
        if len(doc.pages) > MAX_PAGES:
            return None
        fields = _fields(doc, _Sparse(budget))
        if all(fn.is_reserved(name) for name in fields):
            return None
        info = _info(doc)
    except FormReadError:
        raise
    except Exception as exc:  # Unsupported, or a surprise: pypdf gets the last word
        _log.debug("%s: read with pypdf (%s)", path.name, exc)
        return None
    token = _str(fields.get(fn.IDENTITY)) or _str(info.get(INFO_IDENTITY))
    return RawForm(
        format="pdf",
        token=token.strip() if token else None,
        fields=fields,
        saved_at=_saved_at(info),
        application=_str(info.get(INFO_PRODUCER)),
    )


def _encrypted(path: Path) -> FormReadError:
    return FormReadError(
        f"{path.name}: the file is protected with a password; ask for it to be saved "
        "again without one"
    )


def _str(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, bytes):
        return _decode_bytes(value)
    return str(value)


def _decode_bytes(data: bytes) -> str:
    if data.startswith(b"\xfe\xff"):
        return data[2:].decode("utf-16-be", "replace")
    if data.startswith(b"\xef\xbb\xbf"):
        return data[3:].decode("utf-8", "replace")
    from pypdf.generic import create_string_object

    return str(create_string_object(data))


def _info(reader: PdfReader | FastPdf) -> dict[str, Any]:
    try:
        info = reader.trailer.get("/Info")
        info = info.get_object() if info is not None else None
    except Exception:
        return {}
    if not isinstance(info, DictionaryObject):
        return {}
    out: dict[str, Any] = {}
    for key in (INFO_IDENTITY, INFO_MOD_DATE, INFO_CREATION_DATE, INFO_PRODUCER):
        try:
            value = info.get(key)
            out[key] = value.get_object() if isinstance(value, IndirectObject) else value
        except Exception as exc:  # a damaged /Info entry only loses that entry
            _log.debug("unreadable document information %s: %s", key, exc)
    return out


_PDF_DATE = re.compile(
    r"^D?:?(\d{4})(\d{2})?(\d{2})?(\d{2})?(\d{2})?(\d{2})?\s*([Zz+\-])?(\d{2})?'?(\d{2})?'?"
)


def _saved_at(info: dict[str, Any]) -> dt.datetime | None:
    """When the file was last saved by a person's viewer; None when it never was.

    A form nobody re-saved still carries its generation time in both dates, which says
    nothing about when it was returned.
    """
    modified = _pdf_date(info.get(INFO_MOD_DATE))
    if modified is None or modified == _pdf_date(info.get(INFO_CREATION_DATE)):
        return None
    return modified


def _pdf_date(value: Any) -> dt.datetime | None:
    """``D:20270114093000+01'00'`` → an aware datetime; None when it cannot be read."""
    text = _str(value)
    if not text:
        return None
    m = _PDF_DATE.match(text.strip())
    if not m:
        return None
    year, month, day, hour, minute, second, sign, tzh, tzm = m.groups()
    try:
        offset = dt.timedelta(hours=int(tzh or 0), minutes=int(tzm or 0))
        tz = dt.UTC if sign in (None, "Z", "z") else dt.timezone(-offset if sign == "-" else offset)
        return dt.datetime(
            int(year),
            int(month or 1),
            int(day or 1),
            int(hour or 0),
            int(minute or 0),
            int(second or 0),
            tzinfo=tz,
        )
    except (ValueError, OverflowError):
        return None


def _acroform(reader: PdfReader | FastPdf) -> DictionaryObject | None:
    root = reader.trailer[ROOT].get_object()
    acro = root.get(ACROFORM) if isinstance(root, DictionaryObject) else None
    acro = acro.get_object() if acro is not None else None
    return acro if isinstance(acro, DictionaryObject) else None


def _has_xfa(reader: PdfReader) -> bool:
    acro = _acroform(reader)
    return acro is not None and XFA in acro


# --- fields -----------------------------------------------------------------------------


class _Widget:
    """One widget annotation with what its field chain says (inheritable keys resolved)."""

    def __init__(self, widget: DictionaryObject) -> None:
        self.widget = widget
        # The full name joins /T up the whole /Parent chain (§12.7.3.2).
        names: list[str] = []
        node: Any = widget
        for _ in range(MAX_PARENT_DEPTH + 1):
            if not isinstance(node, DictionaryObject):
                break
            if Field.T in node:
                names.append(_str(node[Field.T].get_object()) or "")
            parent = node.get(Annot.PARENT)
            node = parent.get_object() if parent is not None else None
        self.name = ".".join(reversed(names))

    def inherited(self, key: str) -> Any:
        node: Any = self.widget
        for _ in range(MAX_PARENT_DEPTH + 1):
            if not isinstance(node, DictionaryObject):
                return None
            if key in node:
                value = node[key]
                return value.get_object() if isinstance(value, IndirectObject) else value
            parent = node.get(Annot.PARENT)
            node = parent.get_object() if parent is not None else None
        return None

    @property
    def flags(self) -> int:
        try:
            return int(self.inherited(Field.FF) or 0)
        except (TypeError, ValueError):
            return 0

    @property
    def state(self) -> str | None:
        """The appearance state (/AS) of a button widget, as a name without the slash."""
        value = self.widget.get(Annot.AS)
        return _name(value.get_object()) if value is not None else None


def _name(value: Any) -> str | None:
    if value is None:
        return None
    text = str(value)
    return text[1:] if isinstance(value, NameObject) and text.startswith("/") else text


def _widgets(reader: PdfReader | FastPdf, budget: _Budget) -> Iterator[DictionaryObject]:
    seen: set[int] = set()
    count = 0
    for page in reader.pages:
        budget.check()
        annots = page.get(Annot.ANNOTS)
        annots = annots.get_object() if annots is not None else None
        if not isinstance(annots, ArrayObject):
            continue
        for ref in annots:
            annot = ref.get_object()
            if not isinstance(annot, DictionaryObject):
                continue
            if annot.get(Annot.SUBTYPE) != Annot.WIDGET:
                continue
            if id(annot) in seen:
                continue
            seen.add(id(annot))
            count += 1
            if count % 64 == 0:
                budget.check()
            if count > MAX_WIDGETS:
                raise FormReadError("the file has more form fields than any form musforms makes")
            yield annot
    # Fields the form lists but no page shows (rare; keep their values too).
    try:
        acro = _acroform(reader)
        top = acro.get(FIELDS) if acro is not None else None
        top = top.get_object() if top is not None else None
    except Exception:
        return
    if not isinstance(top, ArrayObject):
        return
    stack = list(top)
    while stack and count <= MAX_WIDGETS:
        node = stack.pop().get_object()
        if not isinstance(node, DictionaryObject) or id(node) in seen:
            continue
        seen.add(id(node))
        budget.check()
        kids = node.get(Field.KIDS)
        kids = kids.get_object() if kids is not None else None
        if isinstance(kids, ArrayObject) and kids:
            stack.extend(kids)
        else:
            count += 1
            yield node


def _fields(reader: PdfReader | FastPdf, budget: _Budget) -> dict[str, RawValue]:
    groups: dict[str, list[_Widget]] = {}
    for annot in _widgets(reader, budget):
        w = _Widget(annot)
        if w.name:
            groups.setdefault(w.name, []).append(w)
    out: dict[str, RawValue] = {}
    for name, widgets in groups.items():
        kind = next((w.inherited(Field.FT) for w in widgets if w.inherited(Field.FT)), None)
        if kind == FieldType.TEXT:
            out[name] = _text_value(widgets[0].inherited(Field.V))
        elif kind == FieldType.BUTTON:
            flags = 0
            for w in widgets:
                flags |= w.flags
            if flags & FieldFlag.PUSH_BUTTON:
                continue
            if flags & FieldFlag.RADIO or len(widgets) > 1:
                out[name] = _radio_value(widgets)
            else:
                out[name] = _checkbox_value(widgets[0])
        elif kind == FieldType.CHOICE:
            out[name] = _choice_value(widgets[0])
    return out


def _text_value(value: Any) -> str | None:
    text = _str(value)
    if isinstance(value, ArrayObject):
        text = "\n".join(_str(v.get_object()) or "" for v in value)
    if text is None:
        return None
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    return text if text.strip() else None


def _checkbox_value(w: _Widget) -> bool:
    state = w.state
    if state is None:
        state = _name(w.inherited(Field.V))
    return state not in (None, "", "Off")


def _radio_value(widgets: list[_Widget]) -> str | None:
    # /AS of a kid is what a viewer shows; /V on the parent may lag (or be lost with it).
    for w in widgets:
        state = w.state
        if state and state != OFF[1:]:
            return _export(w, state)
    value = _name(widgets[0].inherited(Field.V))
    if value and value != OFF[1:]:
        return _export(widgets[0], value)
    return None


def _export(w: _Widget, state: str) -> str:
    """A kid's on-state is its export value, or an index into the parent's /Opt."""
    opt = w.inherited(Field.OPT)
    if isinstance(opt, ArrayObject) and state.isdigit() and int(state) < len(opt):
        item = opt[int(state)].get_object()
        return _str(item) or state
    return state


def _choice_value(w: _Widget) -> str | None:
    value = w.inherited(Field.V)
    if isinstance(value, ArrayObject):
        value = value[0].get_object() if value else None
    text = _str(value)
    if not text:
        return None
    # A viewer may store the shown label instead of the export value: map it back.
    opt = w.inherited(Field.OPT)
    if isinstance(opt, ArrayObject):
        exports: list[str] = []
        for item in opt:
            item = item.get_object()
            if isinstance(item, ArrayObject) and len(item) >= 2:
                export, label = _str(item[0].get_object()), _str(item[1].get_object())
                if text == export:
                    return text
                if text == label and export:
                    exports.append(export)
        if exports:
            return exports[0]
    return text


# --- printed to PDF: read the layout ----------------------------------------------------


def _page_lines(reader: PdfReader, budget: _Budget) -> list[str]:
    """The pages' text in reading order, one printed line per item (blank lines kept)."""
    lines: list[str] = []
    for page in reader.pages:
        budget.check()
        try:
            text = page.extract_text(extraction_mode="layout")
        except FormReadError:  # the time limit, among others: stop, do not skip the page
            raise
        except Exception as exc:  # a page whose text cannot be read adds nothing
            _log.debug("no text from a page: %s", exc)
            continue
        lines.extend(line.strip() for line in text.splitlines())
    return lines


def _from_layout(
    reader: PdfReader, raw: RawForm, resolve: Resolver | None, budget: _Budget
) -> None:
    lines = _page_lines(reader, budget)
    form_id = form_id_from_code("\n".join(lines))
    if form_id is None:
        return
    raw.form_code = form_code(form_id)
    raw.read_by = "layout"
    raw.notes.append(
        "the file has no form fields left (printed to PDF?): the form code was read from "
        "the page text; check the answers by hand"
    )
    qs = resolve(raw) if resolve is not None else None
    if qs is None:
        return
    recovered = _recover_answers(qs, lines)
    raw.fields.update(recovered)
    raw.notes.append(
        f"{len(recovered)} text answer(s) were recovered from the page layout"
        if recovered
        else "no answers could be recovered from the page layout"
    )


_NUMBERED = re.compile(r"^(\d+)\.\s+(\S.*)$")


def _recover_answers(qs: QuestionSet, lines: list[str]) -> dict[str, RawValue]:
    """Text answers printed below their numbered labels, up to the next printed element.

    Only text, textarea and date questions are recovered; blank-line runs shrink to one.
    """
    langs = [*qs.declared_languages(), "da", "en"]
    static: set[str] = set()
    for lang in langs:
        for key in ("required", "date_hint", "confidential", "previous_title"):
            static.add(texts.t(key, lang))
        for section in qs.sections:
            static.add(localize(section.title, lang))
    questions = qs.questions()
    starts: dict[int, tuple[int, str]] = {}  # line index → (question index, its label)
    for i, line in enumerate(lines):
        m = _NUMBERED.match(line)
        if not m:
            continue
        n = int(m.group(1))
        if not 1 <= n <= len(questions):
            continue
        shown = m.group(2)
        for lang in langs:
            label = localize(questions[n - 1].label, lang)
            head = shown[: min(len(shown), len(label), 24)]
            if head and label.startswith(head):
                starts[i] = (n - 1, label)
                break
    out: dict[str, RawValue] = {}
    for i, (qi, label) in starts.items():
        q = questions[qi]
        if q.type not in ("text", "textarea", "date"):
            continue
        helps = {
            line.strip()
            for lang in langs
            for line in localize(q.help, lang).splitlines()
            if q.help and line.strip()
        }
        body: list[str] = []
        for line in lines[i + 1 :]:
            if _NUMBERED.match(line) or line in static or form_id_from_code(line):
                break
            if not body and (line in helps or (line and label.endswith(line))):
                continue  # the label's wrapped lines and the help text
            if line.endswith(texts.t("date_hint", "da")) or line.endswith(
                texts.t("date_hint", "en")
            ):
                line = line.rsplit(" ", 1)[0].strip() if " " in line else ""
            if line or (body and body[-1]):
                body.append(line)
        while body and not body[-1]:
            body.pop()
        while body and not body[0]:
            body.pop(0)
        if body:
            out[q.id] = "\n".join(body)
    return out
