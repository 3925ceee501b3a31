"""Broken and hostile files, made on the spot: what lands in an HR inbox on a bad day."""

from __future__ import annotations

import zipfile
from pathlib import Path

from pypdf import PdfWriter
from pypdf.generic import ArrayObject, DictionaryObject, NameObject, TextStringObject

W_NS = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"

BILLION_LAUGHS = f"""<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>
<w:document xmlns:w="{W_NS}">
<w:body><w:p><w:r><w:t>&lol3;</w:t></w:r></w:p></w:body></w:document>""".encode()


def docx_with_document(path: Path, xml: bytes) -> Path:
    """A minimal .docx whose body is ``xml``."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("[Content_Types].xml", b"<Types/>")
        zf.writestr("word/document.xml", xml)
    return path


def external_entity_docx(path: Path, secret: Path) -> Path:
    xml = (
        f'<?xml version="1.0"?><!DOCTYPE d [<!ENTITY x SYSTEM "{secret.as_uri()}">]>'
        f'<w:document xmlns:w="{W_NS}">'
        "<w:body><w:p><w:r><w:t>&x; MF-ABCD-EFGH-JKMN</w:t></w:r></w:p></w:body></w:document>"
    ).encode()
    return docx_with_document(path, xml)


def zip_bomb_docx(path: Path, megabytes: int = 32) -> Path:
    """A .docx whose document part inflates to ``megabytes`` MB of zeros."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as zf:
        zf.writestr("[Content_Types].xml", b"<Types/>")
        with zf.open("word/document.xml", "w", force_zip64=True) as fh:
            chunk = b"\0" * 2**20
            for _ in range(megabytes):
                fh.write(chunk)
    return path


def truncated(src: Path, dst: Path) -> Path:
    data = src.read_bytes()
    dst.write_bytes(data[: len(data) // 2])
    return dst


def encrypted_pdf(src: Path, dst: Path, password: str = "hemmelig") -> Path:
    writer = PdfWriter(clone_from=src)
    writer.encrypt(password)
    writer.write(dst)
    return dst


def xfa_pdf(dst: Path) -> Path:
    """A LiveCycle-style form: XFA data and no AcroForm widgets."""
    writer = PdfWriter()
    writer.add_blank_page(595, 842)
    writer._root_object[NameObject("/AcroForm")] = DictionaryObject(
        {
            NameObject("/Fields"): ArrayObject(),
            NameObject("/XFA"): TextStringObject("<xdp:xdp/>"),
        }
    )
    writer.write(dst)
    return dst


def huge_file(dst: Path, megabytes: int) -> Path:
    """A sparse file of ``megabytes`` MB starting like a PDF (costs no disk)."""
    with open(dst, "wb") as fh:
        fh.write(b"%PDF-1.7\n")
        fh.truncate(megabytes * 2**20)
    return dst
