"""Read a returned PDF form: its identity and the raw value of every field.

Values come from the field dictionaries, never from appearance streams. The objects are
read with pikepdf (qpdf). Every page's widgets are walked (macOS Preview is known to leave
``/AcroForm/Fields`` incomplete), a button's ``/AS`` wins over ``/V`` (Preview detaches a
chosen radio kid from its group), text arrives as UTF-16BE or PDFDocEncoding and line
breaks are normalised to ``\\n``. A file printed to PDF keeps no fields: then the visible
form code is read from the page text and, given the question set it was issued with, what
the layout allows is recovered. qpdf extracts no text, so that one case goes to pypdf, which
is given the file as qpdf rewrote it.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import io
import logging
import os
import re
import resource
import sys
import threading
import unicodedata
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any, BinaryIO, Protocol, TypeGuard

import pikepdf
import pypdfium2 as pdfium
from pikepdf import Array, Dictionary, Name, Object, Stream, String
from pypdf import PdfReader, apply_configuration
from pypdf.errors import PyPdfError

from musforms import fieldnames as fn
from musforms import texts
from musforms.blob import Source
from musforms.errors import FormReadError, NotMusformsError
from musforms.formats import Issued, Resolver
from musforms.i18n import _
from musforms.identity import form_code, form_id_from_code
from musforms.limits import DEFAULT_LIMITS, Limits
from musforms.models import QuestionSet, RawForm, RawValue, localize
from musforms.pdf._acroform import (
    ACROFORM,
    FIELDS,
    INFO_CREATION_DATE,
    INFO_IDENTITY,
    INFO_KEYWORDS,
    INFO_MOD_DATE,
    INFO_PRODUCER,
    OFF,
    XFA,
    Annot,
    Field,
    FieldFlag,
    FieldType,
)
from musforms.pdf._placed import Placed, issued_widgets, placed
from musforms.pdf.page import read_pages
from musforms.pdf.renamed import TOKEN_RE, by_order, by_position, find_token
from musforms.pdf.wordpage import WordRead, read_word_pages

__all__ = ["read_pdf"]

MAX_PARENT_DEPTH = 32  # a /Parent chain longer than this is hostile or broken
MAX_WARNINGS = 1000  # qpdf gives up on a file it has to repair this often


_log = logging.getLogger(__name__)


def read_pdf(
    path: Source, resolve: Resolver | None = None, limits: Limits = DEFAULT_LIMITS
) -> RawForm:
    """The identity and raw field values of the PDF form at ``path`` (a file, or one held
    in memory: musforms.blob).

    ``resolve`` gives the question set a form was issued with; it is asked only when the
    file has lost its fields (printed to PDF) and answers must be recovered from the text.
    Raises FormReadError when the file cannot be read as a form and NotMusformsError when
    it is a readable PDF that carries neither a musforms identity nor a form code.
    """
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise _cannot_open(path, exc) from exc
    if size == 0:
        raise FormReadError(
            _("{name}: the file is empty; ask for the form to be sent again").format(name=path.name)
        )
    too_large = limits.too_large(size)
    if too_large:
        raise FormReadError(f"{path.name}: {too_large}")
    _qpdf_limits(limits)
    try:
        with _memory_cap(limits.memory_bytes):
            return _read(path, resolve, limits)
    except pikepdf.PasswordError as exc:
        raise _encrypted(path) from exc
    except MemoryError as exc:  # qpdf's allocation failed under the cap (std::bad_alloc)
        raise _too_much_memory(path) from exc
    except (pikepdf.PdfError, PyPdfError, RecursionError) as exc:
        # qpdf repairs what it can and raises PdfError for the rest; pypdf, reading the
        # page text of a printed form, raises PyPdfError (its stream limits among them).
        raise _unreadable(path) from exc
    except OSError as exc:  # the file went away or became unreadable while being read
        raise _cannot_open(path, exc) from exc


def _cannot_open(path: Source, exc: OSError) -> FormReadError:
    return FormReadError(
        _("{name}: the file cannot be opened ({value})").format(
            name=path.name, value=exc.strerror or exc.__class__.__name__
        )
    )


def _unreadable(path: Source) -> FormReadError:
    return FormReadError(
        _(
            "{name}: the file is damaged or not a PDF; ask for the form to be saved and sent again"
        ).format(name=path.name)
    )


def _encrypted(path: Source) -> FormReadError:
    return FormReadError(
        _(
            "{name}: the file is protected with a password; ask for it to be "
            "saved again without one"
        ).format(name=path.name)
    )


def _too_much_memory(path: Source) -> FormReadError:
    return FormReadError(
        _(
            "{name}: reading it takes more memory than any form could; the "
            "file is damaged or made to harm; ask for the form to be saved and "
            "sent again"
        ).format(name=path.name)
    )


# --- bounds -----------------------------------------------------------------------------

_applied: Limits | None = None


def _qpdf_limits(limits: Limits) -> None:
    """qpdf's own bounds for this process: how much one stream (an object or cross-reference
    stream) may inflate to, and how many repairs a file may need. They are process-wide, as
    qpdf keeps them, and set again only when another Limits asks for other values."""
    global _applied
    if _applied is not None and _applied.stream_bytes == limits.stream_bytes:
        return
    pikepdf.settings.set_qpdf_limits(
        flate_max_memory=limits.stream_bytes,
        run_length_max_memory=limits.stream_bytes,
        png_max_memory=limits.stream_bytes,
        tiff_max_memory=limits.stream_bytes,
        doc_max_warnings=MAX_WARNINGS,
    )
    _applied = limits


_statm_fd: tuple[int, int] | None = None  # (the process it was opened in, the descriptor)


def _statm(field: int) -> int | None:
    """One figure of /proc/self/statm (0: address space, 1: resident), in bytes.

    The file stays open, read again from its start each time (opening it costs several
    times more than reading it); a process forked since opens its own."""
    global _statm_fd
    try:
        if _statm_fd is None or _statm_fd[0] != os.getpid():
            _statm_fd = (os.getpid(), os.open("/proc/self/statm", os.O_RDONLY | os.O_CLOEXEC))
        return int(os.pread(_statm_fd[1], 256, 0).split()[field]) * _PAGE_SIZE
    except (OSError, ValueError, IndexError):
        return None


_PAGE_SIZE = os.sysconf("SC_PAGE_SIZE")


def _rss() -> int:
    """The process's resident memory now, in bytes (its peak where /proc is missing)."""
    resident = _statm(1)
    if resident is not None:
        return resident
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak if sys.platform == "darwin" else peak * 1024


class _Budget:
    """Refuses a file once reading it has grown the process's memory too much: many
    objects, each small, still add up."""

    def __init__(self, path: Source, allowed: int) -> None:
        self.path = path
        self.allowed = allowed
        self.start = _rss()

    def check(self) -> None:
        if _rss() - self.start > self.allowed:
            raise _too_much_memory(self.path)


class _Cap:
    """The address space the process may grow by while files are read (RLIMIT_AS).

    qpdf builds the cross-reference table of a file inside one call, where no budget check
    can run: a table padded with millions of entries, or a cross-reference stream that
    inflates to them, costs about 76 bytes an entry. Under the cap, qpdf's allocation fails
    (MemoryError) instead of the machine running short. Reads at the same time in several
    threads share one cap, set by the first and lifted by the last.
    """

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.readers = 0
        self.previous: tuple[int, int] | None = None

    def enter(self, allowed: int) -> None:
        with self.lock:
            self.readers += 1
            if self.readers == 1:
                self.previous = self._set(allowed)

    def leave(self) -> None:
        with self.lock:
            self.readers -= 1
            if self.readers == 0 and self.previous is not None:
                with contextlib.suppress(ValueError, OSError):
                    resource.setrlimit(resource.RLIMIT_AS, self.previous)
                self.previous = None

    @staticmethod
    def _set(allowed: int) -> tuple[int, int] | None:
        """Lower the soft limit to the address space now plus ``allowed``; the limit it
        replaces, or None when none was set (no /proc, or a lower limit already)."""
        now = _statm(0)
        if now is None:
            return None
        try:
            soft, hard = resource.getrlimit(resource.RLIMIT_AS)
            cap = now + allowed
            if hard != resource.RLIM_INFINITY:
                cap = min(cap, hard)
            if soft != resource.RLIM_INFINITY and soft <= cap:
                return None
            resource.setrlimit(resource.RLIMIT_AS, (cap, hard))
        except (ValueError, OSError):
            return None
        return soft, hard


_CAP = _Cap()


@contextlib.contextmanager
def _memory_cap(allowed: int) -> Iterator[None]:
    _CAP.enter(allowed)
    try:
        yield
    finally:
        _CAP.leave()


# --- the document -----------------------------------------------------------------------


def _read(path: Source, resolve: Resolver | None, limits: Limits) -> RawForm:
    budget = _Budget(path, limits.memory_bytes)
    limit_errors = pikepdf.settings.qpdf_limit_errors()
    with path.open("rb") as fh, _for_qpdf(path, fh) as source:
        if b"%PDF-" not in fh.read(1024):
            raise _unreadable(path)
        if not _ends_whole(fh):
            raise _cut_short(path)
        fh.seek(0)
        # pikepdf reads a file it opened by its path through the descriptor, and one given
        # open through Python calls, many times slower on a large or damaged file; but it
        # hands qpdf the path as text, which a name that is not UTF-8 (made on another
        # system) cannot be. Stream access, not a memory map: a file cut short meanwhile is
        # an error, not a crash. An owner password alone (empty user password) still lets
        # every viewer open the file; a password to open it raises PasswordError.
        with pikepdf.open(
            source,
            password="",
            access_mode=pikepdf.AccessMode.stream,
            inherit_page_attributes=False,
            conversion_mode="implicit",
        ) as pdf:
            found = _read_document(path, pdf, budget, limits, limit_errors)
            raw, printed, widgets, bounded = found
    if widgets is not None:
        _from_renamed(raw, widgets, printed, resolve, budget, limits)
    elif printed is not None:
        _from_layout(printed, raw, resolve, budget, limits, bounded)
    if raw.token is None and raw.form_code is None:
        raise NotMusformsError(
            _(
                "{name}: this PDF is not a musforms form (it has no form identity and no form code)"
            ).format(name=path.name)
        )
    return raw


@contextlib.contextmanager
def _for_qpdf(path: Source, fh: BinaryIO) -> Iterator[Path | str | BinaryIO]:
    """What pikepdf opens: a file on disk by its path (when its name is UTF-8); a file held
    in memory (a mail attachment) as an anonymous file in memory (memfd, never on a disk),
    which qpdf reads by its descriptor like any file, about twice as fast as through
    Python's read calls; the open file otherwise."""
    if isinstance(path, Path):
        yield path if _utf8(path) else fh
        return
    make = getattr(os, "memfd_create", None)
    if make is None or not os.path.isdir("/proc/self/fd"):
        yield fh
        return
    fd = make("musforms-attachment", getattr(os, "MFD_CLOEXEC", 0))
    try:
        view = memoryview(path.data)
        while view:
            view = view[os.write(fd, view) :]
        yield f"/proc/self/fd/{fd}"
    finally:
        os.close(fd)


def _ends_whole(fh: BinaryIO) -> bool:
    """Whether the file ends as every saved PDF does, with ``%%EOF`` (trailing blanks
    allowed). One cut short by a mail client or a full disk does not: qpdf would rebuild
    it from what is left, an earlier save or part of one, and that is not what was sent."""
    end = fh.seek(0, os.SEEK_END)
    fh.seek(max(0, end - _TAIL))
    return fh.read().rstrip(b" \t\r\n\f\x00").endswith(b"%%EOF")


_TAIL = 1024  # the end searched for "%%EOF", past blanks a mail client may add


def _cut_short(path: Source) -> FormReadError:
    return FormReadError(
        _(
            "{name}: the file is cut short (its end is missing); ask for the form to be sent again"
        ).format(name=path.name)
    )


def _utf8(path: Path) -> bool:
    try:
        str(path).encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _read_document(
    path: Source, pdf: pikepdf.Pdf, budget: _Budget, limits: Limits, limit_errors: int
) -> tuple[RawForm, io.BytesIO | None, list[Placed] | None, bool]:
    """The form's fields and identity; the file as qpdf rewrites it when no answer field is
    left or the identity is not found (its page text is read next); and, when the form's
    fields have all been renamed, where each widget is (to match them to the issued form);
    and whether the pages may be read by PDFium (see _bounded_pages)."""
    notes: list[str] = []
    if pdf.is_encrypted:
        notes.append(_("the file was encrypted without a password to open it"))
    pages = len(pdf.pages)
    if pages > limits.pages:
        raise FormReadError(
            _(
                "{name}: the file has {pages} pages, far more than a form; ask for the form alone"
            ).format(name=path.name, pages=pages)
        )
    fields = _fields(pdf, budget, limits)
    info = _info(pdf)
    xfa = not fields and _has_xfa(pdf)
    for warning in pdf.get_warnings():  # qpdf's repairs, for --debug
        _log.debug("%s: %s", path.name, warning)
    if pikepdf.settings.qpdf_limit_errors() != limit_errors:
        # qpdf met an object past one of its parser limits (nested too deep, for one) and
        # read it as null: what is left is not the form that was sent.
        raise _unreadable(path)
    token = _str(fields.get(fn.IDENTITY)) or _str(info.get(INFO_IDENTITY))
    raw = RawForm(
        format="pdf",
        token=token.strip() if token else None,
        fields=fields,
        saved_at=_saved_at(info),
        application=_str(info.get(INFO_PRODUCER)),
        notes=notes,
    )
    if xfa:
        raise FormReadError(
            _(
                "{name}: the form was saved as an XFA form (Adobe LiveCycle), "
                "which musforms cannot read; ask for it to be saved as an ordinary "
                "PDF"
            ).format(name=path.name)
        )
    answered = any(not fn.is_reserved(name) for name in fields)
    if answered and not any(fn.is_reserved(name) for name in fields):
        # Every field renamed (a Word form exported to PDF with its fields, for one): the
        # values are all there, under names musforms did not give them.
        widgets = placed(pdf, limits.fields)
        raw.token = raw.token or find_token(widgets) or _keyword_token(info)
        return raw, None if raw.token else _rewritten(pdf), widgets, False
    if answered:
        return raw, None, None, False
    bounded = _bounded_pages(pdf, limits)
    if not bounded:
        raw.notes.append(
            _(
                "the pages hold more than a form could (content that inflates past the limits, "
                "or an image far larger than a page): they were not read by the form's layout"
            )
        )
    return raw, _rewritten(pdf), None, bounded


def _keyword_token(info: Any) -> str | None:
    """The identity in the document's keywords: a Word form exported to PDF with its fields
    by LibreOffice carries it there (its identity control is hidden text, which has no
    field). Only for such a form: without fields, the Word form's pages are read by its
    layout, found by the printed form code."""
    keywords = _str(info.get(INFO_KEYWORDS))
    match = TOKEN_RE.fullmatch(keywords.strip()) if keywords else None
    return match.group(0) if match else None


MAX_IMAGE_PIXELS = 50_000_000  # a page scanned at 600 dpi is 35 million
MAX_XOBJECT_DEPTH = 8


def _bounded_pages(pdf: pikepdf.Pdf, limits: Limits) -> bool:
    """Whether the pages may be given to PDFium, which renders them and allocates what a
    page asks for (beyond a memory cap it aborts the process): every content stream and form
    XObject decodes within the limits (qpdf stops one that inflates past them), in all not
    more than one stream may, and no image is larger than a page scanned at 600 dpi."""
    total = 0
    seen: set[tuple[int, int]] = set()

    def streams(obj: Object, depth: int) -> bool:
        nonlocal total
        contents = obj.get("/Contents")
        for item in contents if isinstance(contents, Array) else [contents]:
            if isinstance(item, Stream):
                total += len(item.read_bytes())
        resources = obj.get("/Resources")
        xobjects = resources.get("/XObject") if _is_dict(resources) else None
        if not _is_dict(xobjects):
            return total <= limits.stream_bytes
        for xobj in xobjects.values():
            if not isinstance(xobj, Stream) or xobj.objgen in seen:
                continue
            if xobj.objgen != (0, 0):
                seen.add(xobj.objgen)
            if xobj.get("/Subtype") == "/Image":
                w, h = xobj.get("/Width"), xobj.get("/Height")
                if not isinstance(w, int) or not isinstance(h, int) or w * h > MAX_IMAGE_PIXELS:
                    return False
            elif xobj.get("/Subtype") == "/Form":
                if depth >= MAX_XOBJECT_DEPTH:
                    return False
                total += len(xobj.read_bytes())
                if not streams(xobj, depth + 1):
                    return False
            if total > limits.stream_bytes:
                return False
        return total <= limits.stream_bytes

    try:
        return all(streams(page.obj, 0) for page in pdf.pages)
    except (pikepdf.PdfError, RecursionError, ValueError, TypeError):
        return False


def _rewritten(pdf: pikepdf.Pdf) -> io.BytesIO:
    """The document as qpdf writes it: repaired, decrypted, streams copied as they are.

    pypdf, which reads the page text of a printed form, so never meets the file's own
    damage or encryption."""
    out = io.BytesIO()
    pdf.save(
        out,
        encryption=False,
        stream_decode_level=pikepdf.StreamDecodeLevel.none,
        fix_metadata_version=False,
    )
    out.seek(0)
    return out


def _is_dict(value: object) -> TypeGuard[Object]:
    """A dictionary, or a stream (whose dictionary pypdf and viewers read the same way)."""
    return isinstance(value, Dictionary | Stream)


def _str(value: Any) -> str | None:
    """Text as a viewer shows it: a string decoded (PDFDocEncoding or UTF-16BE with its
    BOM, which qpdf tells apart), a name with its slash, a number or boolean as written."""
    if value is None:
        return None
    if isinstance(value, str | bool | int | Decimal):
        return str(value)
    if isinstance(value, String):
        return str(value)
    if isinstance(value, Name):
        return _name_text(value)
    return None


def _name_text(value: Object) -> str:
    """A name with its slash. One that is not UTF-8 (which str() cannot decode) is spelled
    as in the file, its odd bytes #-escaped: a damaged name still differs from /Off."""
    try:
        return str(value)
    except UnicodeDecodeError:
        return value.unparse().decode("ascii", "replace")


def _info(pdf: pikepdf.Pdf) -> dict[str, Any]:
    info = pdf.trailer.get("/Info")
    if not _is_dict(info):
        return {}
    return {
        key: info.get(key)
        for key in (INFO_IDENTITY, INFO_MOD_DATE, INFO_CREATION_DATE, INFO_PRODUCER, INFO_KEYWORDS)
    }


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


def _acroform(pdf: pikepdf.Pdf) -> Object | None:
    acro = pdf.Root.get(ACROFORM)
    return acro if _is_dict(acro) else None


def _has_xfa(pdf: pikepdf.Pdf) -> bool:
    acro = _acroform(pdf)
    return acro is not None and XFA in acro


# --- fields -----------------------------------------------------------------------------


class Node(Protocol):
    """A dictionary's entries, taken from qpdf at once (pikepdf's as_dict())."""

    def __contains__(self, key: str, /) -> bool: ...
    def __getitem__(self, key: str, /) -> Any: ...
    def get(self, key: str, /) -> Any: ...


# The keys of a field or widget dictionary the reader looks at.
_KEYS = (
    Annot.SUBTYPE,
    Annot.PARENT,
    Annot.AS,
    Field.T,
    Field.FT,
    Field.V,
    Field.FF,
    Field.KIDS,
    Field.OPT,
)


class _Nodes:
    """The entries of each field dictionary met in one read, taken from qpdf in one call
    each rather than one call a key; a parent shared by many widgets is read once."""

    def __init__(self) -> None:
        self.cache: dict[tuple[int, int], Node] = {}

    def __call__(self, obj: Object) -> Node:
        key = obj.objgen
        if key != (0, 0) and key in self.cache:
            return self.cache[key]
        target = obj.stream_dict if isinstance(obj, Stream) else obj
        try:
            node: Node = target.as_dict()
        except UnicodeDecodeError:
            # A key that is not UTF-8 (damage, or made so): pikepdf's as_dict() decodes keys
            # strictly. None the reader looks up is one; those are read one by one.
            node = {k: target.get(k) for k in _KEYS if k in target}
        if key != (0, 0):
            self.cache[key] = node
        return node


class _Widget:
    """One widget annotation with what its field chain says (inheritable keys resolved)."""

    __slots__ = ("chain", "name")

    def __init__(self, widget: Node, nodes: _Nodes) -> None:
        # The widget and its field's /Parent chain, nearest first.
        self.chain = [widget]
        node = widget
        for _i in range(MAX_PARENT_DEPTH):
            parent = node.get(Annot.PARENT)
            if not _is_dict(parent):
                break
            node = nodes(parent)
            self.chain.append(node)
        # The full name joins /T up the whole chain (§12.7.3.2).
        names = [_str(n[Field.T]) or "" for n in self.chain if Field.T in n]
        self.name = ".".join(reversed(names))

    def inherited(self, key: str) -> Any:
        for node in self.chain:
            if key in node:
                return node[key]
        return None

    @property
    def flags(self) -> int:
        value = self.inherited(Field.FF)
        return int(value) if isinstance(value, int | Decimal) else 0

    @property
    def state(self) -> str | None:
        """The appearance state (/AS) of a button widget, as a name without the slash."""
        return _name(self.chain[0].get(Annot.AS))


def _name(value: Any) -> str | None:
    if isinstance(value, Name):
        return _name_text(value)[1:]
    return _str(value)


def _widgets(pdf: pikepdf.Pdf, nodes: _Nodes, budget: _Budget, limits: Limits) -> Iterator[Node]:
    seen: set[tuple[int, int]] = set()

    def first_time(obj: Object) -> bool:
        """False for an object met before; a direct object is met once, where it is."""
        key = obj.objgen
        if key == (0, 0):
            return True
        if key in seen:
            return False
        seen.add(key)
        return True

    count = 0
    for page in pdf.pages:
        budget.check()
        annots = page.obj.get(Annot.ANNOTS)
        if not isinstance(annots, Array):
            continue
        for annot in annots:
            if not _is_dict(annot) or not first_time(annot):
                continue
            node = nodes(annot)
            if node.get(Annot.SUBTYPE) != Annot.WIDGET:
                continue
            count += 1
            if count % 64 == 0:
                budget.check()
            if count > limits.fields:
                raise FormReadError(_("the file has more form fields than any form musforms makes"))
            yield node
    # Fields the form lists but no page shows (rare; keep their values too).
    acro = _acroform(pdf)
    top = acro.get(FIELDS) if acro is not None else None
    if not isinstance(top, Array):
        return
    stack = list(top)
    visited = 0
    while stack and count <= limits.fields:
        obj = stack.pop()
        if not _is_dict(obj) or not first_time(obj):
            continue
        visited += 1
        if visited % 64 == 0:
            budget.check()
        node = nodes(obj)
        kids = node.get(Field.KIDS)
        if isinstance(kids, Array) and len(kids):
            stack.extend(kids)
        else:
            count += 1
            yield node


def _fields(pdf: pikepdf.Pdf, budget: _Budget, limits: Limits) -> dict[str, RawValue]:
    groups: dict[str, list[_Widget]] = {}
    nodes = _Nodes()
    for node in _widgets(pdf, nodes, budget, limits):
        w = _Widget(node, nodes)
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
    if isinstance(value, Array):
        text: str | None = "\n".join(_str(v) or "" for v in value)
    else:
        text = _str(value)
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
    if isinstance(opt, Array) and state.isascii() and state.isdigit() and len(state) < 6:
        index = int(state)
        if index < len(opt):
            return _str(opt[index]) or state
    return state


def _choice_value(w: _Widget) -> str | None:
    value = w.inherited(Field.V)
    if isinstance(value, Array):
        value = value[0] if len(value) else None
    text = _str(value)
    if not text:
        return None
    # A viewer may store the shown label instead of the export value: map it back.
    opt = w.inherited(Field.OPT)
    if isinstance(opt, Array):
        exports: list[str] = []
        for item in opt:
            if isinstance(item, Array) and len(item) >= 2:
                export, label = _str(item[0]), _str(item[1])
                if text == export:
                    return text
                if text == label and export:
                    exports.append(export)
        if exports:
            return exports[0]
    return text


# --- printed to PDF: read the layout ----------------------------------------------------


def _pypdf_limits(stream_bytes: int) -> dict[str, Any]:
    """pypdf's bounds on decoding one stream. Its own limit is 75 MB per stream, which a
    file of many such streams turns into gigabytes."""
    return {
        "zlib_maximum_output_length": stream_bytes,
        "lzw_maximum_output_length": stream_bytes,
        "run_length_maximum_output_length": stream_bytes,
        "brotli_maximum_output_length": stream_bytes,
        "jbig2_maximum_output_length": stream_bytes,
        "array_based_stream_maximum_output_length": stream_bytes,
        "image_maximum_buffer_size": stream_bytes,
        "stream_decoding_work_maximum_length": 4 * stream_bytes,
    }


def _page_lines(reader: PdfReader, budget: _Budget) -> list[str]:
    """The pages' text in reading order, one printed line per item (blank lines kept)."""
    lines: list[str] = []
    for page in reader.pages:
        budget.check()
        try:
            text = page.extract_text(extraction_mode="layout")
        except PyPdfError as exc:  # a page whose text cannot be read adds nothing
            _log.debug("no text from a page: %s", exc)
            continue
        lines.extend(line.strip() for line in text.splitlines())
    return lines


def _from_renamed(
    raw: RawForm,
    widgets: list[Placed],
    rewritten: io.BytesIO | None,
    resolve: Resolver | None,
    budget: _Budget,
    limits: Limits,
) -> None:
    """Name each renamed field after the issued form's field it stands for: by position
    against the issued PDF, else by the Word form's control order (musforms.pdf.renamed)."""
    if raw.token is None and rewritten is not None:
        with apply_configuration(**_pypdf_limits(limits.stream_bytes)):
            lines = _page_lines(PdfReader(rewritten, strict=False), budget)
        form_id = form_id_from_code("\n".join(lines))
        if form_id is not None:
            raw.form_code = form_code(form_id)
    if raw.token is None and raw.form_code is None:
        return  # a stranger's form: not musforms
    issued = resolve(raw) if resolve is not None else None
    if issued is None:
        raw.notes.append(
            _(
                "the form's fields have other names than musforms gave them, and the form it "
                "claims to be is not known here: its answers could not be matched"
            )
        )
        return
    values = None
    if issued.form is not None and issued.form.suffix.lower() == ".pdf":
        values = by_position(widgets, issued_widgets(issued.form, limits.fields))
    how = "by where each field is on the page"
    if values is None:
        values = by_order(widgets, issued.question_set)
        how = "by the order of the Word form's fields (exported to PDF)"
    if values is None:
        raw.notes.append(
            _(
                "the form's fields have other names than musforms gave them and do not match "
                "the issued form: its answers could not be read; ask for the form to be filled "
                "in again"
            )
        )
        return
    if raw.token and fn.IDENTITY in values:
        values[fn.IDENTITY] = raw.token
    raw.fields = values
    raw.read_by = "fields-by-position"
    raw.notes.append(
        _("the form's fields had been renamed; they were matched to the form {how}").format(how=how)
    )


def _from_layout(
    data: io.BytesIO,
    raw: RawForm,
    resolve: Resolver | None,
    budget: _Budget,
    limits: Limits,
    bounded: bool,
) -> None:
    # A flattened form keeps its identity: its pages go to the page reader at once. A
    # printed one is found by its form code, in pypdf's page text (bounded by the limits).
    if raw.token and bounded:
        issued = resolve(raw) if resolve is not None else None
        if issued is not None and _from_page(data, raw, issued, budget, limits):
            return
    with apply_configuration(**_pypdf_limits(limits.stream_bytes)):
        lines = _page_lines(PdfReader(data, strict=False), budget)
    form_id = form_id_from_code("\n".join(lines))
    if form_id is None:
        return
    raw.form_code = form_code(form_id)
    issued = resolve(raw) if resolve is not None else None
    qs = issued.question_set if issued is not None else None
    # The Word form exported to PDF is told from the printed PDF form by what only the Word
    # form shows (its header table's labels, its numbered labels): it is read by the Word
    # form's layout, never by the PDF form's, whatever its page count.
    word = (
        _from_word_pages(data, qs, budget) if qs is not None and bounded and not raw.token else None
    )
    if (
        word is None
        and issued is not None
        and bounded
        and not raw.token
        and _from_page(data, raw, issued, budget, limits)
    ):
        return
    raw.read_by = "layout"
    raw.notes.append(
        _(
            "the file has no form fields left (printed to PDF?): the form code was read from "
            "the page text; check the answers by hand"
        )
    )
    if qs is None:
        return
    recovered = word.fields if word is not None else _recover_answers(qs, lines)
    for qid, value in list(recovered.items()):
        if isinstance(value, str) and any(
            unicodedata.bidirectional(ch) in ("R", "AL") for ch in value
        ):
            # The page's text order of right-to-left script is the viewer's, not the typed.
            del recovered[qid]
            raw.notes.append(
                _(
                    "question {qid!r}: the answer is in a right-to-left script, which "
                    "the page text gives in the order it was drawn, not typed: it was "
                    "not read; read it on the page"
                ).format(qid=qid)
            )
    raw.fields.update(recovered)
    if word is not None:
        raw.notes.append(
            _(
                "the pages are the Word form's, exported to PDF: the answers were read from them "
                "by the Word form's layout"
            )
        )
        raw.notes.extend(word.notes)
        return
    raw.notes.append(
        _("{recovered} text answer(s) were recovered from the page layout").format(
            recovered=len(recovered)
        )
        if recovered
        else _("no answers could be recovered from the page layout")
    )


def _from_word_pages(data: io.BytesIO, qs: QuestionSet, budget: _Budget) -> WordRead | None:
    """The answers of a Word form exported to PDF (LibreOffice's "Export as PDF" without
    form fields), read from its pages by the Word form's layout (musforms.pdf.wordpage);
    None when the pages are not the Word form's."""
    budget.check()
    try:
        found = read_word_pages(data.getvalue(), qs)
    except pdfium.PdfiumError as exc:
        _log.debug("PDFium cannot read the pages: %s", exc)
        return None
    budget.check()
    return found


def _from_page(
    data: io.BytesIO, raw: RawForm, issued: Issued, budget: _Budget, limits: Limits
) -> bool:
    """Read the answers from the pages by the issued PDF form's layout (musforms.pdf.page);
    False when there is no issued PDF form to read by, or the pages are not its pages."""
    if issued.form is None or issued.form.suffix.lower() != ".pdf":
        return False
    budget.check()
    widgets = issued_widgets(issued.form, limits.fields)
    try:
        found = read_pages(data.getvalue(), issued.form.read_bytes(), widgets, issued.question_set)
    except pdfium.PdfiumError as exc:
        _log.debug("PDFium cannot read the pages: %s", exc)
        return False
    budget.check()
    if found is None:
        return False
    fields = dict(found.fields)
    raw.read_by = "page"
    if raw.token is None:
        raw.notes.append(
            _(
                "the file has no form fields and no identity left (printed to PDF?): the form "
                "code was read from the page; check the answers by hand"
            )
        )
    else:
        raw.notes.append(
            _(
                "the file's form fields are gone (flattened or printed to PDF): the answers were "
                "read from the page, by where each field is on the issued form; check them by hand"
            )
        )
        fields[fn.IDENTITY] = raw.token
    if found.static_matches:
        # The page shows the issued form's own text, prefilled values included, unchanged:
        # those values are the issued ones, and so are checked with the signed identity.
        for w in widgets:
            if fn.is_reserved(w.name) and w.name != fn.IDENTITY and w.kind == "text":
                fields[w.name] = w.value
    else:
        raw.notes.append(
            _(
                "the form's printed text (name, department, leader, date or last year's "
                "agreements) on the page differs from the issued form's: check it by hand"
            )
        )
    raw.notes.extend(found.unreadable.values())
    raw.notes.extend(found.doubtful.values())
    raw.fields = fields
    return True


_NUMBERED = re.compile(r"^(\d+)\.\s+(\S.*)$")


def _recover_answers(qs: QuestionSet, lines: list[str]) -> dict[str, RawValue]:
    """Text answers printed below their numbered labels, up to the next printed element.

    Only text, textarea and date questions are recovered; blank-line runs shrink to one.
    """
    langs = [*qs.declared_languages(), "da", "en"]
    static: set[str] = set()
    for lang in langs:
        for key in (
            "required",
            "date_hint",
            "confidential",
            "previous_title",
            "checkin_previous_title",
            "choose_one",
            "choose_any",
        ):
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
