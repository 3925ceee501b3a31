"""Read a returned Word form that was saved as OpenDocument text (.odt).

An employee opens the Word form in LibreOffice and saves it as .odt. LibreOffice 25 keeps each
content control, tag and all, as a ``loext:content-control`` in ``content.xml``; the custom
document property holding the identity as ``meta:user-defined`` in ``meta.xml``; the footer
with the form code in ``styles.xml``. So the .odt is read like the .docx it came from: its
controls, texts and metadata go to the Word reader's ``form_from_controls``, which reads the
fields by tag, by order or from the page layout, and the values come back exactly as from a
.docx (text with ``\\n``, a checkbox as a bool, a drop-down as its item value, a picked date
as ISO, a placeholder as None).

Parsing is defensive: bounded zip reading (``musforms.docx._package``, shared with the Word
reader), no DTDs or entities, no network, and the number of controls and the amount of text
bounded by the limits.
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Iterator
from dataclasses import dataclass

from lxml import etree

from musforms.blob import Source
from musforms.docx import layout
from musforms.docx._package import ZipPackage, open_package
from musforms.docx.reader import Block, Found, form_from_controls
from musforms.errors import FormReadError, NotMusformsError
from musforms.formats import Resolver
from musforms.i18n import _
from musforms.limits import DEFAULT_LIMITS, Limits
from musforms.models import RawForm
from musforms.odt import _odf as odf

__all__ = ["read_odt"]

KIND = "an OpenDocument text document (.odt)"
# LibreOffice 24.2 and later encrypt the whole package into one part (ODF 1.4 wholesome
# encryption); earlier versions encrypt each part and say so in the manifest.
_ENCRYPTED_PACKAGE = "encrypted-package"
_MANIFEST = "META-INF/manifest.xml"
_PROTECTED = "is password protected; ask for an unprotected copy"


@dataclass
class _Package:
    body: etree._Element  # office:text
    styles: etree._Element | None
    meta: etree._Element | None


def _open(path: Source, limits: Limits) -> _Package:
    name = path.name
    with open_package(path, limits, KIND) as package:
        names = package.names
        if _ENCRYPTED_PACKAGE in names:
            raise FormReadError(f"{name} {_PROTECTED}")
        manifest = package.xml(_MANIFEST) if _MANIFEST in names else None
        if manifest is not None and manifest.find(f".//{odf.ENCRYPTION_DATA}") is not None:
            raise FormReadError(f"{name} {_PROTECTED}")
        media = _media_type(package, manifest)
        if media is not None and media != odf.TEXT_MEDIA_TYPE:
            raise NotMusformsError(
                _(
                    "{name} is an OpenDocument file ({media}) but no text document, so "
                    "no musforms form"
                ).format(name=name, media=media)
            )
        if "content.xml" not in names:
            raise FormReadError(
                _("{name} is not {kind}: it has no content").format(name=name, kind=KIND)
            )
        content = package.xml("content.xml")
        styles = package.xml("styles.xml") if "styles.xml" in names else None
        meta = package.xml("meta.xml") if "meta.xml" in names else None
    body = content.find(f"{odf.office('body')}/{odf.office('text')}")
    if content.tag != odf.office("document-content") or body is None:
        raise FormReadError(_("{name} is not {kind}: it has no text").format(name=name, kind=KIND))
    return _Package(body, styles, meta)


def _media_type(package: ZipPackage, manifest: etree._Element | None) -> str | None:
    """The package's media type: its ``mimetype`` part, else the manifest's entry for "/"."""
    if "mimetype" in package.names:
        media = package.read("mimetype").decode("ascii", "replace").strip()
        if media:
            return media
    if manifest is not None:
        for entry in manifest.iter(odf.manifest("file-entry")):
            if entry.get(odf.manifest("full-path")) == "/":
                media = entry.get(odf.manifest("media-type"))
                return str(media) if media else None
    return None


# ---------------------------------------------------------------------------------------------
# Metadata


def _user_defined(meta: etree._Element | None) -> dict[str, str]:
    """Name → text of each custom document property (``meta:user-defined``)."""
    out: dict[str, str] = {}
    if meta is None:
        return out
    for prop in meta.iter(odf.meta("user-defined")):
        name = prop.get(odf.meta("name"))
        if name is not None:
            out[name] = prop.text or ""
    return out


def _meta_text(meta: etree._Element | None, tag: str) -> str | None:
    node = meta.find(f"{odf.office('meta')}/{tag}") if meta is not None else None
    text = (node.text or "").strip() if node is not None else ""
    return text or None


def _date(text: str | None) -> dt.datetime | None:
    if text is None:
        return None
    try:
        when = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    # LibreOffice writes its local time without a zone here, and the same local time marked
    # "Z" in a .docx; taken as UTC, an .odt and a .docx saved alike compare alike.
    return when if when.tzinfo else when.replace(tzinfo=dt.UTC)


def _saved_at(meta: etree._Element | None) -> dt.datetime | None:
    modified = _date(_meta_text(meta, odf.dc("date")))
    # A date equal to the creation date says nothing of when the form was returned.
    if modified is None or modified == _date(_meta_text(meta, odf.meta("creation-date"))):
        return None
    return modified


# ---------------------------------------------------------------------------------------------
# Reading


def read_odt(
    path: Source, resolve: Resolver | None = None, limits: Limits = DEFAULT_LIMITS
) -> RawForm:
    """Identity and raw field values of a Word form saved as OpenDocument text (a
    :class:`~musforms.formats.FormReader`), read as the Word reader reads the same controls."""
    package = _open(path, limits)
    # Counted before any is read: a hostile file's controls cost no more than the limit.
    found = package.body.iter(odf.CONTENT_CONTROL)
    if sum(1 for _ in itertools.islice(found, limits.fields + 1)) > limits.fields:
        raise FormReadError(
            _("{name} has more form fields than any form musforms makes").format(name=path.name)
        )
    max_chars = limits.zip_part_bytes
    controls, body_text = odf.parse_controls(package.body, max_chars)
    page_texts = []
    if package.styles is not None:
        for master in package.styles.iter(odf.style("master-page")):
            page_texts.append(odf.text_of(master, max_chars))
    body = package.body
    return form_from_controls(
        Found(
            name=path.name,
            format="odt",
            what=_("an OpenDocument text document"),
            controls=controls,
            body_text=body_text,
            page_texts=page_texts,
            blocks=lambda: list(_blocks(body, max_chars)),
            identity=_user_defined(package.meta).get(layout.IDENTITY_PROPERTY),
            saved_at=_saved_at(package.meta),
            application=_meta_text(package.meta, odf.meta("generator")),
        ),
        resolve,
    )


_CONTAINERS = frozenset(
    {
        odf.text("list"),
        odf.text("list-item"),
        odf.text("list-header"),
        odf.text("section"),
    }
)


def _blocks(container: etree._Element, max_chars: int) -> Iterator[Block]:
    """The paragraphs and tables of the text, in order, as the Word reader's layout reads them."""
    for child in container:
        if child.tag in (odf.text("p"), odf.text("h")):
            yield Block(odf.text_of(child, max_chars))
        elif child.tag == odf.table("table"):
            rows = [
                [odf.text_of(cell, max_chars) for cell in _own(row, "table-cell", child)]
                for row in _own(child, "table-row", child)
            ]
            yield Block("", rows)
        elif child.tag in _CONTAINERS:
            yield from _blocks(child, max_chars)


def _own(el: etree._Element, name: str, table: etree._Element) -> Iterator[etree._Element]:
    """The rows or cells (``name``) under ``el`` that are ``table``'s own, not a nested
    table's (one an employee put into a cell)."""
    for node in el.iter(odf.table(name)):
        if next(node.iterancestors(odf.table("table")), None) is table:
            yield node
