"""Zipped XML packages, opened safely: the .docx, and the .odt LibreOffice saves from it.

Both are a zip of XML parts. A returned file may be damaged, a zip bomb or hostile XML, so
the package is checked against the :class:`~musforms.limits.Limits` before any part is
inflated, every part is read with a bound, and XML is parsed without DTDs, entities or
network access.
"""

from __future__ import annotations

import contextlib
import zipfile
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from lxml import etree

from musforms.blob import Source, as_stream
from musforms.errors import FormReadError
from musforms.formats import OLE_MAGIC
from musforms.i18n import _
from musforms.limits import Limits


def qualified(namespace: str) -> Callable[[str], str]:
    """Names in ``namespace`` as lxml spells them: ``qualified(W_NS)("p")`` is ``{W_NS}p``."""
    return lambda tag: f"{{{namespace}}}{tag}"


# A part this small inflates to little, whatever its ratio: no bomb.
_RATIO_FLOOR = 2**20


class UnsafeXmlError(FormReadError):
    """Raised when an XML part declares a DTD or entities."""


_PARSER = etree.XMLParser(
    resolve_entities=False,
    no_network=True,
    load_dtd=False,
    dtd_validation=False,
    huge_tree=False,
    remove_comments=False,
)


def parse_xml(data: bytes, part: str) -> etree._Element:
    """Parse one package part, refusing DTDs and entity declarations outright."""
    head = data[:4096].lower()
    if b"<!doctype" in head or b"<!entity" in head:
        raise UnsafeXmlError(
            _("{part} declares a DTD or entities, which forms never do").format(part=part)
        )
    try:
        root = etree.fromstring(data, _PARSER)
    except etree.XMLSyntaxError as exc:
        # Where, not lxml's own words: those are English whatever the HR officer reads.
        line, column = exc.position
        if exc.code == etree.ErrorTypes.ERR_RESOURCE_LIMIT:
            raise FormReadError(
                _(
                    "{part} nests its elements deeper, or holds longer text, than any form "
                    "(past the reader's depth and size limits, at line {line}, column "
                    "{column}): not read"
                ).format(part=part, line=line, column=column)
            ) from exc
        raise FormReadError(
            _(
                "{part} is not well-formed XML (broken at line {line}, column {column}): "
                "the file is damaged"
            ).format(part=part, line=line, column=column)
        ) from exc
    docinfo = root.getroottree().docinfo
    if docinfo.doctype or docinfo.internalDTD is not None:
        raise UnsafeXmlError(
            _("{part} declares a DTD or entities, which forms never do").format(part=part)
        )
    return root


@dataclass
class ZipPackage:
    """An open zip package whose sizes were checked; parts are read on demand, each bounded."""

    zf: zipfile.ZipFile
    names: frozenset[str]
    limits: Limits
    kind: str  # what the file should be, for messages: "a Word document (.docx)"
    name: str = ""  # the file's name, for messages

    def read(self, member: str) -> bytes:
        """The bytes of one part, never more than ``limits.zip_part_bytes``."""
        return read_part(self.zf, member, self.limits)

    def xml(self, member: str) -> etree._Element:
        """One part, parsed safely; messages name the file and the part."""
        return parse_xml(self.read(member), f"{self.name}: {member}")


@contextlib.contextmanager
def open_package(path: Source, limits: Limits, kind: str) -> Iterator[ZipPackage]:
    """Open ``path`` as a zip package of ``kind`` within ``limits``.

    Raises FormReadError for a file that cannot be opened, an old Office binary or an
    encrypted Office file, a file over the size limit, a damaged zip, too many parts, parts
    that unpack to more than a form could hold, or a suspicious compression ratio.
    """
    name = path.name
    try:
        size = path.stat().st_size
        with path.open("rb") as fh:
            head = fh.read(8)
    except OSError as exc:
        raise FormReadError(
            _("{name} cannot be opened: {strerror}").format(name=name, strerror=exc.strerror)
        ) from exc
    if head == OLE_MAGIC:
        raise FormReadError(
            _(
                "{name} is an old Word 97–2003 (.doc) file or an encrypted "
                "document; ask for it to be saved as {kind} without a password"
            ).format(name=name, kind=kind)
        )
    too_large = limits.too_large(size)
    if too_large:
        raise FormReadError(f"{name}: {too_large}")
    try:
        zf = zipfile.ZipFile(as_stream(path))
    except (zipfile.BadZipFile, OSError, ValueError, EOFError, NotImplementedError) as exc:
        # NotImplementedError: a damaged header asking for a zip version nobody writes.
        raise FormReadError(
            _("{name} is not {kind}: the file is damaged").format(name=name, kind=kind)
        ) from exc
    with zf:
        infos = zf.infolist()
        if len(infos) > limits.zip_entries:
            raise FormReadError(
                _("{name} holds too many parts ({infos}) to be a form").format(
                    name=name, infos=len(infos)
                )
            )
        total = 0
        for info in infos:
            total += info.file_size
            if info.file_size > limits.zip_part_bytes or total > limits.zip_total_bytes:
                raise FormReadError(
                    _("{name} unpacks to more than a form could ever hold").format(name=name)
                )
            if info.file_size > _RATIO_FLOOR and info.file_size > limits.zip_ratio * max(
                info.compress_size, 1
            ):
                raise FormReadError(
                    _("{name} is compressed suspiciously well (a zip bomb?)").format(name=name)
                )
        yield ZipPackage(zf, frozenset(i.filename for i in infos), limits, kind, name)


def read_part(zf: zipfile.ZipFile, member: str, limits: Limits) -> bytes:
    """One part of an open zip, read with a bound (its header may lie about its size)."""
    info = zf.getinfo(member)
    if info.flag_bits & 0x1:
        raise FormReadError(_("the document is password protected; ask for an unprotected copy"))
    try:
        with zf.open(info) as fh:
            data = fh.read(limits.zip_part_bytes + 1)
    except (
        zipfile.BadZipFile,
        zlib.error,
        OSError,
        EOFError,
        ValueError,
        NotImplementedError,
    ) as exc:
        raise FormReadError(
            _("the part {member} is damaged ({exc})").format(member=member, exc=exc)
        ) from exc
    if len(data) > limits.zip_part_bytes:
        raise FormReadError(
            _("the part {member} is larger than a form could ever be").format(member=member)
        )
    return data
