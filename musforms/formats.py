"""The registry of form formats: one writer and one reader per format, behind one interface.

Each format is a package (``musforms.pdf``, ``musforms.docx``, …) whose ``__init__`` defines
``FORMAT``, a :class:`Format`: its name, how to recognise its files by their content, and
where its reader and writer live. The package's ``__init__`` imports no format library, so
recognising a file or listing the formats costs nothing; the reader and writer modules are
imported when first used.

A new format is a new package and one line in :data:`REGISTRY`. collect, generate, the
report and the contract tests (tests/test_contract.py) take every format from here.
"""

from __future__ import annotations

import datetime as dt
import importlib
import zipfile
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any, Protocol

from musforms.blob import Source, as_stream
from musforms.errors import ConfigError
from musforms.i18n import _
from musforms.limits import Limits
from musforms.models import FormData, Organisation, QuestionSet, RawForm

# Every format package, in the order files are tried; the first whose detect() says yes reads.
REGISTRY: tuple[str, ...] = ("musforms.pdf", "musforms.docx", "musforms.odt")

HEAD_BYTES = 4096  # what detection sees of a file's start
# Old Office binaries (.doc, .xls) and password-protected Office files are OLE containers.
OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"


@dataclass(frozen=True)
class Issued:
    """What collect knows of the form a returned file claims to be, for a reader that must
    fall back to the issued layout (a printed page, renamed fields)."""

    question_set: QuestionSet  # the question set the form was issued with
    language: str | None  # the language it was issued in (None: not issued from here)
    form: Path | None  # the issued file of the returned file's format, if still on disk


Resolver = Callable[[RawForm], Issued | None]


class FormReader(Protocol):
    """Turns a returned file back into its identity and raw field values."""

    def __call__(self, path: Source, resolve: Resolver | None, limits: Limits) -> RawForm:
        """Read ``path`` (a file, or one held in memory: musforms.blob) within ``limits``.
        ``resolve`` gives what was issued for the form the file claims to be
        (:class:`Issued`), for readers that fall back to the issued layout.

        Raises FormReadError when the file cannot be read as a form and NotMusformsError
        when it is readable but no musforms form. Any other exception is a bug."""
        ...


class FormWriter(Protocol):
    """Renders one question set in one language, for one employee's form at a time."""

    def render(self, form: FormData) -> bytes: ...


class WriterFactory(Protocol):
    def __call__(
        self,
        question_set: QuestionSet,
        lang: str,
        organisation: Organisation,
        *,
        template: Path | None,
        created: dt.datetime,
    ) -> FormWriter: ...


class FormWriterBase(ABC):
    """What every format's writer is made with, stored once: the WriterFactory's arguments.

    A subclass prepares what it can once per (question set, language, organisation, template)
    in :meth:`_setup` and renders each employee's form in :meth:`render`.
    """

    def __init__(
        self,
        question_set: QuestionSet,
        lang: str,
        organisation: Organisation,
        *,
        template: Path | None = None,
        created: dt.datetime | None = None,
    ) -> None:
        self.question_set = question_set
        self.lang = lang
        self.organisation = organisation
        self.template = template  # HR's own template, None for the format's built-in one
        # The files' creation date; one value for a whole run keeps output reproducible.
        self.created = created or dt.datetime.now(dt.UTC).replace(microsecond=0)
        self._setup()

    @abstractmethod
    def _setup(self) -> None:
        """Prepare, once, what every form of this writer shares, from the arguments stored."""

    @abstractmethod
    def render(self, form: FormData) -> bytes:
        """The file's bytes for ``form``, an employee's form of this writer's question set."""


@dataclass
class Probe:
    """What detection may look at: the file's first bytes and, for a zip, its part names."""

    path: Source
    head: bytes
    _names: frozenset[str] | None = field(default=None, repr=False)

    @classmethod
    def of(cls, path: Source, head: bytes | None = None) -> Probe:
        if head is None:
            with path.open("rb") as fh:
                head = fh.read(HEAD_BYTES)
        return cls(path, head[:HEAD_BYTES])

    @property
    def is_zip(self) -> bool:
        return self.head.startswith(b"PK\x03\x04")

    def zip_names(self) -> frozenset[str]:
        """The part names of a zip package (its central directory only), empty when the file
        is no readable zip."""
        if self._names is None:
            names: frozenset[str] = frozenset()
            if self.is_zip:
                try:
                    with zipfile.ZipFile(as_stream(self.path)) as zf:
                        names = frozenset(zf.namelist())
                except (zipfile.BadZipFile, OSError, ValueError, EOFError, NotImplementedError):
                    names = frozenset()
            self._names = names
        return self._names

    def opendocument(self) -> str | None:
        """The media type an OpenDocument package names in its first, stored part."""
        # ODF 1.2 §3.3: "mimetype" comes first, uncompressed, so it stands in the head.
        if not self.is_zip or self.head[30:38] != b"mimetype":
            return None
        start = 30 + int.from_bytes(self.head[26:28], "little")
        start += int.from_bytes(self.head[28:30], "little")
        end = start + int.from_bytes(self.head[18:22], "little")
        return self.head[start:end].decode("ascii", "replace") or None


@dataclass(frozen=True)
class Format:
    """One form format: recognised by content; its reader and writer imported on first use."""

    name: str  # as in the manifest, the report and --formats: "pdf"
    title: str  # as HR calls it: "PDF", "Word"
    suffixes: tuple[str, ...]  # the usual file endings, first is the one written
    detect: Callable[[Probe], bool]
    reader: str  # "module:callable" of a FormReader
    writer: str | None = None  # "module:callable" of a WriterFactory, None for read-only

    @property
    def suffix(self) -> str:
        return self.suffixes[0]

    def read(self, path: Source, resolve: Resolver | None, limits: Limits) -> RawForm:
        reader: FormReader = _load(self.reader)
        return reader(path, resolve, limits)

    def new_writer(
        self,
        question_set: QuestionSet,
        lang: str,
        organisation: Organisation,
        *,
        template: Path | None = None,
        created: dt.datetime,
    ) -> FormWriter:
        """A writer for this format that refuses a form of another question set."""
        if self.writer is None:
            raise ConfigError(
                _("musforms reads {title} forms but does not write them").format(title=self.title)
            )
        factory: WriterFactory = _load(self.writer)
        inner = factory(question_set, lang, organisation, template=template, created=created)
        return _Checked(inner, question_set, self.title)


@dataclass(frozen=True)
class _Checked:
    """Every writer refuses a form of another question set than it was prepared for."""

    inner: FormWriter
    question_set: QuestionSet
    title: str

    def render(self, form: FormData) -> bytes:
        qs, mine = form.question_set, self.question_set
        if (qs.id, qs.version) != (mine.id, mine.version):
            raise ConfigError(
                _(
                    "this {title} writer was prepared for question set {id} {version}, "
                    "not {id2} {version2}"
                ).format(
                    title=self.title,
                    id=mine.id,
                    version=mine.version,
                    id2=qs.id,
                    version2=qs.version,
                )
            )
        return self.inner.render(form)


def _load(spec: str) -> Any:
    module, _sep, name = spec.partition(":")
    return getattr(importlib.import_module(module), name)


@cache
def all_formats() -> tuple[Format, ...]:
    """Every registered format, in the order files are tried."""
    found = []
    for package in REGISTRY:
        fmt = importlib.import_module(package).FORMAT
        assert isinstance(fmt, Format), package
        found.append(fmt)
    return tuple(found)


def names() -> tuple[str, ...]:
    return tuple(f.name for f in all_formats())


def writable() -> tuple[Format, ...]:
    """The formats generate can write, in the order it writes them."""
    return tuple(f for f in all_formats() if f.writer is not None)


def get(name: str) -> Format:
    for fmt in all_formats():
        if fmt.name == name:
            return fmt
    raise ConfigError(
        _("unknown format {name!r}: use {names}").format(name=name, names=", ".join(names()))
    )


def detect(probe: Probe) -> Format | None:
    """The format whose content ``probe`` shows, or None."""
    return next((f for f in all_formats() if f.detect(probe)), None)


def by_suffix(path: Source) -> Format | None:
    """The format a file's name claims (for the message when its content is no such file)."""
    suffix = path.suffix.lower()
    return next((f for f in all_formats() if suffix in f.suffixes), None)
