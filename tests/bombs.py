"""Decompression bombs, built in seconds without ever holding what they expand to.

Deflating one chunk of zeros with a full flush gives the same bytes every time, so a stream
that inflates to gigabytes is that block repeated, plus an empty final block.
"""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

CHUNK = 1 << 24  # 16 MiB of zeros per repeated block


def _zero_block() -> bytes:
    c = zlib.compressobj(9, zlib.DEFLATED, -15)
    return c.compress(b"\0" * CHUNK) + c.flush(zlib.Z_FULL_FLUSH)


def _final_block() -> bytes:
    c = zlib.compressobj(9, zlib.DEFLATED, -15)
    return c.flush(zlib.Z_FINISH)


def deflated_zeros(size: int) -> tuple[bytes, int]:
    """Raw deflate data inflating to ``size`` zeros (a multiple of 16 MiB), and its CRC-32."""
    n = size // CHUNK
    crc = 0
    zeros = b"\0" * CHUNK
    for _ in range(n):
        crc = zlib.crc32(zeros, crc)
    return _zero_block() * n + _final_block(), crc


def _zlib_zeros(size: int) -> bytes:
    """The same in zlib format (as a PDF's /FlateDecode stream holds it)."""
    raw, _ = deflated_zeros(size)
    adler = 1
    zeros = b"\0" * CHUNK
    for _ in range(size // CHUNK):
        adler = zlib.adler32(zeros, adler)
    return b"\x78\xda" + raw + struct.pack(">I", adler)


def _zip(entries: list[tuple[str, bytes, int, int, int]]) -> bytes:
    """A zip from (name, data, method, crc, declared uncompressed size) without zip64."""
    body = bytearray()
    central = bytearray()
    for name, data, method, crc, size in entries:
        encoded = name.encode()
        offset = len(body)
        body += struct.pack(
            "<IHHHHHIIIHH",
            0x04034B50,
            20,
            0,
            method,
            0,
            0x21,
            crc,
            len(data),
            size,
            len(encoded),
            0,
        )
        body += encoded + data
        central += struct.pack(
            "<IHHHHHHIIIHHHHHII",
            0x02014B50,
            20,
            20,
            0,
            method,
            0,
            0x21,
            crc,
            len(data),
            size,
            len(encoded),
            0,
            0,
            0,
            0,
            0,
            offset,
        )
        central += encoded
    end = struct.pack(
        "<IHHHHIIH", 0x06054B50, 0, 0, len(entries), len(entries), len(central), len(body), 0
    )
    return bytes(body + central + end)


CONTENT_TYPES = (
    b'<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/'
    b'package/2006/content-types"/>'
)


def docx_bomb(path: Path, size: int = 2 << 30, *, lie: bool = False) -> Path:
    """A .docx whose document part inflates to ``size`` bytes (2 GiB). With ``lie`` the zip
    headers declare a small part, so only reading it shows what it is."""
    data, crc = deflated_zeros(size)
    declared = 4096 if lie else size
    entries = [
        ("[Content_Types].xml", CONTENT_TYPES, 0, zlib.crc32(CONTENT_TYPES), len(CONTENT_TYPES)),
        ("word/document.xml", data, 8, crc, declared),
    ]
    path.write_bytes(_zip(entries))
    return path


ODT_MIMETYPE = b"application/vnd.oasis.opendocument.text"


def odt_bomb(path: Path, size: int = 2 << 30, *, lie: bool = False) -> Path:
    """An .odt whose content.xml inflates to ``size`` bytes (2 GiB); with ``lie`` the zip
    headers declare a small part."""
    data, crc = deflated_zeros(size)
    declared = 4096 if lie else size
    entries = [
        ("mimetype", ODT_MIMETYPE, 0, zlib.crc32(ODT_MIMETYPE), len(ODT_MIMETYPE)),
        ("content.xml", data, 8, crc, declared),
    ]
    path.write_bytes(_zip(entries))
    return path


def pdf_bomb(path: Path, pages: int = 32, per_page: int = 64 << 20, code: str = "") -> Path:
    """A PDF of ``pages`` pages whose content streams each inflate to ``per_page`` bytes
    (2 GiB in all by default), each just under pypdf's own limit for one stream. No form
    fields, so a reader looks at the page text (``code``, a form code, is on page 1)."""
    stream = _zlib_zeros(per_page)
    objects: list[bytes] = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids ["
        + b" ".join(f"{3 + 2 * i} 0 R".encode() for i in range(pages))
        + f"] /Count {pages} >>".encode(),
    ]
    for i in range(pages):
        objects.append(
            f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents {4 + 2 * i} 0 R "
            "/Resources << /Font << /F1 << /Type /Font /Subtype /Type1 /BaseFont /Helvetica "
            ">> >> >> >>".encode()
        )
        text = f"BT /F1 10 Tf 40 800 Td ({code}) Tj ET\n".encode() if code and i == 0 else b""
        if text:
            objects.append(b"<< /Length %d >>\nstream\n" % len(text) + text + b"\nendstream")
        else:
            objects.append(
                b"<< /Length %d /Filter /FlateDecode >>\nstream\n" % len(stream)
                + stream
                + b"\nendstream"
            )
    path.write_bytes(_pdf(objects))
    return path


def slow_pdf(path: Path, pages: int = 60) -> Path:
    """A small PDF whose pages are slow to read: each holds a million tiny text operations."""
    ops = zlib.compress(b"BT /F1 1 Tf 1 1 Td (a) Tj ET\n" * 140_000, 9)
    objects: list[bytes] = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids ["
        + b" ".join(f"{3 + 2 * i} 0 R".encode() for i in range(pages))
        + f"] /Count {pages} >>".encode(),
    ]
    for i in range(pages):
        objects.append(
            f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents {4 + 2 * i} 0 R "
            "/Resources << /Font << /F1 << /Type /Font /Subtype /Type1 /BaseFont /Helvetica "
            ">> >> >> >>".encode()
        )
        objects.append(
            b"<< /Length %d /Filter /FlateDecode >>\nstream\n" % len(ops) + ops + b"\nendstream"
        )
    path.write_bytes(_pdf(objects))
    return path


def _pdf(objects: list[bytes]) -> bytes:
    out = bytearray(b"%PDF-1.7\n")
    offsets = []
    for number, obj in enumerate(objects, start=1):
        offsets.append(len(out))
        out += f"{number} 0 obj\n".encode() + obj + b"\nendobj\n"
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    for offset in offsets:
        out += f"{offset:010d} 00000 n \n".encode()
    out += (
        f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    )
    return bytes(out)


def nested_pdf(path: Path, depth: int = 200_000, kind: str = "array") -> Path:
    """A page whose /Annots is an array (or dictionary) nested ``depth`` deep."""
    nested = b"[" * depth + b"]" * depth if kind == "array" else b"<< /A " * depth + b">>" * depth
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 10 10] /Annots 4 0 R >>",
        nested,
    ]
    path.write_bytes(_pdf(objects))
    return path


def many_objects_pdf(path: Path, count: int = 300_000) -> Path:
    """A page with ``count`` form fields, each its own object."""
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 10 10] /Annots 4 0 R >>",
        b"[" + b" ".join(f"{5 + i} 0 R".encode() for i in range(count)) + b"]",
    ]
    objects += [b"<< /Subtype /Widget /FT /Tx /T (f%d) /V (x) >>" % i for i in range(count)]
    path.write_bytes(_pdf(objects))
    return path
