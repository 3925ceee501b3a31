"""A pre-serialised form: reportlab's output cut into objects, personalised by substitution.

reportlab lays a form out and serialises a few hundred objects (fields, appearance streams,
the embedded font); doing that for every employee is what made writing slow. A
:class:`Template` is one such file rendered with placeholders: every personal string in a
field or annotation dictionary is a marker ``(MFSLOT00012X)``, and every personal line of
page text is left out and drawn instead by a small per-form content stream appended to its
page (``/Contents [q static Q personal]``). Filling a template joins the objects with the
personal values in place and writes a fresh cross-reference table, document information
dictionary and ``/ID``; viewers see an ordinary, single-revision PDF.

Page text is set in an embedded TrueType subset, so the template reserves codes for a set of
characters (:data:`PERSONAL_CHARS`, plus any others a given form needs) and the per-form
stream encodes personal text with exactly the codes reportlab assigned.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

from reportlab.lib.rl_accel import fp_str

# Characters that names, departments and agreements in Danish workplaces use, reserved in
# every template's font subsets; a form needing others gets a template of its own.
PERSONAL_CHARS = (
    "".join(chr(c) for c in range(0x20, 0x7F))
    + "ÀÁÂÃÄÅÆÇÈÉÊËÌÍÎÏÐÑÒÓÔÕÖØÙÚÛÜÝÞßàáâãäåæçèéêëìíîïðñòóôõöøùúûüýþÿ"
    + "–—…·’‘“”«»§°½"
)

_MARKER = re.compile(rb"\(MFSLOT(\d{5})X\)")


def marker(slot: int) -> str:
    """The placeholder a template carries where slot ``slot``'s value goes."""
    return f"MFSLOT{slot:05d}X"


@dataclass(frozen=True)
class FontCodes:
    """How one embedded TrueType font encodes characters in one template."""

    name: str  # the resource name without subset, e.g. "/F2"
    codes: dict[int, int]  # code point → (subset << 8) | code

    def encode(self, text: str) -> list[tuple[str, bytes]]:
        """``text`` as (font resource, string bytes) runs, as reportlab would encode it."""
        runs: list[tuple[str, bytes]] = []
        cur_subset, cur = -1, bytearray()
        for ch in text:
            code = ord(ch)
            n = self.codes.get(32 if code == 0xA0 else code, 0)
            if n >> 8 != cur_subset:
                if cur:
                    runs.append((f"{self.name}+{cur_subset}", bytes(cur)))
                cur_subset, cur = n >> 8, bytearray()
            cur.append(n & 0xFF)
        if cur:
            runs.append((f"{self.name}+{cur_subset}", bytes(cur)))
        return runs


@dataclass(frozen=True)
class PlacedText:
    """One line of personal page text: where, how, and which slot holds it."""

    page: int  # from 0
    x: float
    y: float
    font: str
    size: float
    rgb: tuple[float, float, float]
    slot: int


def literal(data: bytes) -> bytes:
    """A PDF literal string of ``data``, every byte outside printable ASCII escaped."""
    out = bytearray(b"(")
    for b in data:
        if b in b"()\\":
            out += b"\\" + bytes([b])
        elif 32 <= b < 127:
            out.append(b)
        else:
            out += b"\\%03o" % b
    return bytes(out + b")")


def text_string(value: str) -> bytes:
    """A PDF text string: literal when plain ASCII, else UTF-16BE with its byte order mark."""
    if value.isascii() and value.isprintable():
        return literal(value.encode("ascii"))
    return b"<FEFF" + value.encode("utf-16-be").hex().upper().encode("ascii") + b">"


class Template:
    """One rendered form cut into objects, ready to be filled for any number of employees."""

    def __init__(
        self,
        pdf: bytes,
        texts: list[PlacedText],
        fonts: dict[str, FontCodes],
        marks: list[list[bytes]] | None = None,
    ) -> None:
        """``marks``: per page, the marked-content operator that opens each personal line,
        in the order of ``texts`` (a tagged template, see tagging.py); its XMP metadata
        stream is then written per form."""
        xref_at = int(pdf[pdf.rindex(b"startxref") + 9 :].split()[0])
        table = pdf[xref_at:].split(b"trailer", 1)
        lines = table[0].split(b"\n")
        count = int(lines[1].split()[1])
        offsets = [int(line[:10]) for line in lines[3 : 3 + count - 1]]
        trailer = table[1]
        root = int(re.search(rb"/Root (\d+) 0 R", trailer).group(1))  # type: ignore[union-attr]
        info = int(re.search(rb"/Info (\d+) 0 R", trailer).group(1))  # type: ignore[union-attr]
        self.head = pdf[: offsets[0]]
        ends = [*offsets[1:], xref_at]
        chunks = [pdf[a:b] for a, b in zip(offsets, ends, strict=True)]
        # Page objects in reading order, from the page tree's /Kids.
        pages_obj = next(c for c in chunks if b"/Type /Pages" in c)
        kids = re.search(rb"/Kids \[([^\]]*)\]", pages_obj).group(1)  # type: ignore[union-attr]
        page_nums = [int(n) for n in re.findall(rb"(\d+) 0 R", kids)]
        self.root = root
        self.info = info
        root_obj = chunks[root - 1]
        meta = re.search(rb"/Metadata (\d+) 0 R", root_obj)
        self.metadata = int(meta.group(1)) if meta and marks is not None else 0
        self.size = count  # objects 1..count-1 come from reportlab
        self.q_num, self.big_q_num = count, count + 1
        self.page_stream = {num: count + 2 + i for i, num in enumerate(page_nums)}
        self.pages = page_nums
        self.total = count + 2 + len(page_nums)
        # Each object as literal parts and slot numbers, in object order.
        self.parts: list[list[bytes | int]] = []
        for num, chunk in enumerate(chunks, start=1):
            if num == info:
                self.parts.append([])
                continue
            if num in self.page_stream:
                chunk = re.sub(
                    rb"/Contents (\d+) 0 R",
                    b"/Contents [ %d 0 R \\1 0 R %d 0 R %d 0 R ]"
                    % (self.q_num, self.big_q_num, self.page_stream[num]),
                    chunk,
                    count=1,
                )
            pieces: list[bytes | int] = []
            last = 0
            for m in _MARKER.finditer(chunk):
                pieces.append(chunk[last : m.start()])
                pieces.append(int(m.group(1)))
                last = m.end()
            pieces.append(chunk[last:])
            self.parts.append(pieces)
        # Per page: (font, operators before the string, font size) for each personal line.
        self.texts: list[list[tuple[FontCodes, bytes, bytes, int, bytes]]] = [[] for _ in page_nums]
        for t in texts:
            head = b"BT %s rg 1 0 0 1 %s Tm" % (fp_str(*t.rgb).encode(), fp_str(t.x, t.y).encode())
            line = self.texts[t.page]
            mark = marks[t.page][len(line)] if marks is not None else b""
            line.append((fonts[t.font], head, fp_str(t.size).encode(), t.slot, mark))

    def fill(
        self, values: list[str], info: dict[str, bytes], doc_id: str, metadata: bytes = b""
    ) -> bytes:
        """The form with ``values`` in its slots, ``info`` as its document information and
        ``metadata`` as its XMP packet (a tagged template's)."""
        encoded = [text_string(v) for v in values]
        out = [self.head]
        pos = len(self.head)
        offsets: list[int] = []
        for num, pieces in enumerate(self.parts, start=1):
            if num == self.info:
                body = b" ".join(b"/%s %s" % (k.encode("ascii"), v) for k, v in info.items())
                chunk = b"%d 0 obj\n<< %s >>\nendobj\n" % (num, body)
            elif num == self.metadata:
                chunk = (
                    b"%d 0 obj\n<< /Length %d /Subtype /XML /Type /Metadata >>\nstream\n%s"
                    b"\nendstream\nendobj\n" % (num, len(metadata), metadata)
                )
            elif len(pieces) == 1:
                chunk = pieces[0]  # type: ignore[assignment]
            else:
                chunk = b"".join(encoded[p] if isinstance(p, int) else p for p in pieces)
            offsets.append(pos)
            out.append(chunk)
            pos += len(chunk)
        for num, content in (
            (self.q_num, b"q"),
            (self.big_q_num, b"Q"),
            *((self.page_stream[p], self._page_text(i, values)) for i, p in enumerate(self.pages)),
        ):
            chunk = b"%d 0 obj\n<< /Length %d >>\nstream\n%s\nendstream\nendobj\n" % (
                num,
                len(content),
                content,
            )
            offsets.append(pos)
            out.append(chunk)
            pos += len(chunk)
        ident = hashlib.md5(doc_id.encode("utf-8"), usedforsecurity=False).hexdigest()
        xref = [b"xref\n0 %d\n0000000000 65535 f \n" % self.total]
        xref.extend(b"%010d 00000 n \n" % off for off in offsets)
        xref.append(
            b"trailer\n<< /ID [<%s><%s>] /Info %d 0 R /Root %d 0 R /Size %d >>\n"
            b"startxref\n%d\n%%%%EOF\n"
            % (ident.encode(), ident.encode(), self.info, self.root, self.total, pos)
        )
        return b"".join(out + xref)

    def _page_text(self, page: int, values: list[str]) -> bytes:
        ops: list[bytes] = []
        for font, head, size, slot, mark in self.texts[page]:
            runs = font.encode(values[slot])
            if not runs and not mark:
                continue
            if mark:
                ops.append(mark)
            ops.append(head)
            for resource, data in runs:
                ops.append(b"%s %s Tf %s Tj" % (resource.encode(), size, literal(data)))
            ops.append(b"ET")
            if mark:
                ops.append(b"EMC")
        return b"q\n" + b"\n".join(ops) + b"\nQ"
