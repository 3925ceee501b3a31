"""A small, fast reader for the PDF objects a form's fields live in.

pypdf parses every object through a general stream reader, which made reading one returned
form cost some 50 ms. Forms as musforms writes them, and as most viewers save them
(incremental updates with classic cross-reference tables), need far less: the trailer, the
page tree and the widget dictionaries. :class:`FastPdf` parses exactly those, lazily: a
dictionary one key and value per regular-expression match (a value nobody reads is matched
whole and dropped), anything unusual token by token, and builds the same pypdf objects
(``DictionaryObject``, ``NameObject``, ``TextStringObject``…) so the reader's field logic is
shared. Anything else — cross-reference streams, object streams, encryption, a token it
does not expect — raises :class:`Unsupported`, and the caller reads the file with pypdf.
"""

from __future__ import annotations

import re
from typing import Any

from pypdf.generic import (
    ArrayObject,
    BooleanObject,
    DictionaryObject,
    FloatObject,
    IndirectObject,
    NameObject,
    NullObject,
    NumberObject,
    create_string_object,
)

MAX_REVISIONS = 64  # incremental updates followed before giving up
MAX_PAGES = 2_000

_WS = rb"\x00\t\n\x0c\r "
_DELIM = rb"()<>\[\]{}/%"
_TOKEN = re.compile(
    rb"(?:[" + _WS + rb"]|%[^\r\n]*)*"
    rb"(?:"
    rb"(?P<ref>(\d+)[" + _WS + rb"]+(\d+)[" + _WS + rb"]+R(?![^" + _WS + _DELIM + rb"]))"
    rb"|(?P<num>[+-]?(?:\d+\.?\d*|\.\d+))"
    rb"|(?P<name>/[^" + _WS + _DELIM + rb"]*)"
    rb"|(?P<dopen><<)|(?P<dclose>>>)"
    rb"|(?P<aopen>\[)|(?P<aclose>\])"
    rb"|(?P<hex><[0-9A-Fa-f" + _WS + rb"]*>)"
    rb"|(?P<lit>\()"
    rb"|(?P<kw>[A-Za-z]+)"
    rb")"
)
_OBJ = re.compile(rb"[" + _WS + rb"]*(\d+)[" + _WS + rb"]+(\d+)[" + _WS + rb"]+obj")
_XREF = re.compile(rb"[" + _WS + rb"]*xref")
_SECTION = re.compile(rb"[" + _WS + rb"]*(\d+)[" + _WS + rb"]+(\d+)")
_ENTRY = re.compile(rb"[" + _WS + rb"]*(\d{10})[" + _WS + rb"](\d{5})[" + _WS + rb"]([nf])")
_NUMBER = re.compile(rb"[" + _WS + rb"]*(\d+)")
_TRAILER = re.compile(rb"[" + _WS + rb"]*trailer")
_REFS = re.compile(
    rb"\[((?:[" + _WS + rb"]*\d+[" + _WS + rb"]+\d+[" + _WS + rb"]+R)*)[" + _WS + rb"]*\]"
)
_REF = re.compile(rb"(\d+)[" + _WS + rb"]+(\d+)[" + _WS + rb"]+R")
_PLAIN = re.compile(rb"[^()<>\[\]%]*")
_STRING_CHUNK = re.compile(rb"[^()\\]*")
_SIMPLE_STRING = re.compile(rb"([^()\\]*)\)")
_SPACE = re.compile(rb"(?:[" + _WS + rb"]|%[^\r\n]*)*")


def _nested(depth: int) -> bytes:
    """A dictionary or array nested at most ``depth`` deep, matched whole and never
    backtracked into: strings without nested parentheses, hex strings, anything else.
    Compiled with DOTALL: a backslash before a line break continues a string."""
    string, hexstring = rb"\((?:[^()\\]++|\\.)*+\)", rb"<[0-9A-Fa-f" + _WS + rb"]*+>"
    inner = rb"(?:[^()<>\[\]%]++|" + string + rb"|" + hexstring + rb")*+"
    for _ in range(depth):
        level = rb"(?><<" + inner + rb">>|\[" + inner + rb"\])"
        inner = rb"(?:[^()<>\[\]%]++|" + string + rb"|" + hexstring + rb"|" + level + rb")*+"
    return level


# The only keys the form reader looks at; every other value is skipped unparsed.
KEYS = frozenset(
    {
        "/T", "/Parent", "/FT", "/Ff", "/V", "/AS", "/Kids", "/Opt", "/Subtype", "/Annots",
        "/Type", "/Root", "/Info", "/AcroForm", "/Fields", "/XFA", "/Pages", "/Prev", "/Size",
        "/XRefStm", "/Encrypt", "/MusformsIdentity", "/ModDate", "/CreationDate", "/Producer",
    }
)  # fmt: skip
_END = rb"(?![^" + _WS + _DELIM + rb"])"  # where a name, number or keyword ends
# A key the reader has no use for, with its value: a name that is none of KEYS (and has no
# #-escape, which could spell one), and a value in one of the forms below, nested or not.
_UNUSED = (
    rb"[" + _WS + rb"]*+/(?!(?:"
    + b"|".join(re.escape(key[1:].encode()) for key in sorted(KEYS))
    + rb")" + _END + rb")[^" + _WS + _DELIM + rb"#]*+[" + _WS + rb"]*+"
    rb"(?:\d+[" + _WS + rb"]+\d+[" + _WS + rb"]+R" + _END
    + rb"|[+-]?(?:\d+\.?\d*|\.\d+)" + _END
    + rb"|/[^" + _WS + _DELIM + rb"]*+"
    rb"|\((?:[^()\\]++|\\.)*+\)"
    rb"|<[0-9A-Fa-f" + _WS + rb"]*+>"
    rb"|(?:true|false|null)" + _END
    + rb"|" + _nested(4) + rb")"
)  # fmt: skip
# One key and its value in a dictionary, after any number of unused ones. A value nobody
# reads is matched and dropped; what does not fit (comments, strings with nested
# parentheses, deeper nesting) is left to the token-by-token parser.
_PAIR = re.compile(
    rb"(?s)(?:" + _UNUSED + rb")*+"
    rb"[" + _WS + rb"]*+(?P<key>/[^" + _WS + _DELIM + rb"]*+)[" + _WS + rb"]*+"
    rb"(?:(?P<ref>(\d+)[" + _WS + rb"]+(\d+)[" + _WS + rb"]+R" + _END + rb")"
    rb"|(?P<num>[+-]?(?:\d+\.?\d*|\.\d+))" + _END
    + rb"|(?P<name>/[^" + _WS + _DELIM + rb"]*+)"
    rb"|\((?P<str>(?:[^()\\]++|\\.)*+)\)"
    rb"|(?P<other>\(|<(?!<)|true|false|null)"
    rb"|(?P<nest>" + _nested(4) + rb"))"
)  # fmt: skip
_DICT_END = re.compile(rb"(?s)(?:" + _UNUSED + rb")*+[" + _WS + rb"]*+>>")
_ESCAPES = {
    ord("n"): b"\n",
    ord("r"): b"\r",
    ord("t"): b"\t",
    ord("b"): b"\b",
    ord("f"): b"\f",
    ord("("): b"(",
    ord(")"): b")",
    ord("\\"): b"\\",
}


class Unsupported(Exception):
    """Raised when a file needs the full parser (pypdf)."""


class FastPdf:
    """The objects of a classic-xref PDF, parsed on demand."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.offsets: dict[int, int | None] = {}
        self._cache: dict[int, Any] = {}
        self.trailer = self._read_xref()

    # --- cross-reference tables --------------------------------------------------------

    def _read_xref(self) -> DictionaryObject:
        data = self.data
        at = data.rfind(b"startxref", max(0, len(data) - 2048))
        if at < 0:
            raise Unsupported("no startxref")
        digits = _NUMBER.match(data, at + 9)
        if digits is None:
            raise Unsupported("no xref offset")
        pos: int | None = int(digits.group(1))
        first: DictionaryObject | None = None
        seen: set[int] = set()
        while pos is not None:
            if pos in seen or len(seen) >= MAX_REVISIONS or pos >= len(data):
                raise Unsupported("xref chain loops or runs off the file")
            seen.add(pos)
            trailer = self._xref_section(pos)
            if "/XRefStm" in trailer or "/Encrypt" in trailer:
                raise Unsupported("hybrid or encrypted file")
            if first is None:
                first = trailer
            prev = trailer.get("/Prev")
            pos = int(prev) if isinstance(prev, int) else None
        assert first is not None
        return first

    def _xref_section(self, pos: int) -> DictionaryObject:
        data = self.data
        m = _XREF.match(data, pos)
        if m is None:
            raise Unsupported("a cross-reference stream")
        pos = m.end()
        while True:
            t = _TRAILER.match(data, pos)
            if t is not None:
                trailer, _ = self._parse(t.end())
                if not isinstance(trailer, DictionaryObject):
                    raise Unsupported("bad trailer")
                return trailer
            s = _SECTION.match(data, pos)
            if s is None:
                raise Unsupported("bad xref section")
            start, count = int(s.group(1)), int(s.group(2))
            pos = s.end()
            for num in range(start, start + count):
                e = _ENTRY.match(data, pos)
                if e is None:
                    raise Unsupported("bad xref entry")
                pos = e.end()
                if num not in self.offsets:  # newest revision first
                    self.offsets[num] = int(e.group(1)) if e.group(3) == b"n" else None

    # --- objects -----------------------------------------------------------------------

    def get_object(self, ref: IndirectObject | int) -> Any:
        num = ref if isinstance(ref, int) else ref.idnum
        if num in self._cache:
            return self._cache[num]
        offset = self.offsets.get(num)
        if offset is None:
            obj: Any = NullObject()
        else:
            m = _OBJ.match(self.data, offset)
            if m is None or int(m.group(1)) != num:
                raise Unsupported(f"object {num} is not where the xref says")
            obj, _ = self._parse(m.end())
        self._cache[num] = obj
        return obj

    def _parse(self, pos: int) -> tuple[Any, int]:
        found = self._dictionary(pos)
        if found is not None:
            return found
        return self._tokens(pos)

    def _dictionary(self, pos: int) -> tuple[DictionaryObject, int] | None:
        """A dictionary starting at ``pos``, one key and value per match; None when it is
        not a dictionary or holds something only :meth:`_tokens` reads."""
        data = self.data
        start = _SPACE.match(data, pos).end()  # type: ignore[union-attr]
        if data[start : start + 2] != b"<<":
            return None
        pos = start + 2
        items: dict[Any, Any] = {}
        while True:
            m = _PAIR.match(data, pos)
            if m is None:
                end = _DICT_END.match(data, pos)
                if end is None:
                    return None
                return DictionaryObject(items), end.end()
            pos = m.end()
            raw = m.group("key")
            key = _name(raw) if b"#" in raw else raw.decode("latin-1")
            kind = m.lastgroup or "nest"  # every value alternative is a named group
            if key not in KEYS:
                if kind == "other":
                    pos = _skip(data, m.start(kind))
                continue
            value: Any
            if kind == "ref":
                value = IndirectObject(int(m.group(3)), int(m.group(4)), self)
            elif kind == "name":
                value = NameObject(_name(m.group("name")))
            elif kind == "str":
                text = m.group("str")
                if b"\\" in text:
                    text = _literal(data, m.start(kind))[0]
                value = create_string_object(text)
            elif kind == "num":
                text = m.group("num")
                value = FloatObject(text.decode()) if b"." in text else NumberObject(int(text))
            else:  # strings with escapes, hex strings, keywords, dictionaries, arrays
                value, pos = self._tokens(m.start(kind))
            items[NameObject(key)] = value

    def _tokens(self, pos: int) -> tuple[Any, int]:
        data = self.data
        stack: list[tuple[bool, list[Any]]] = []
        while True:
            if stack and stack[-1][0] and len(stack[-1][1]) % 2 and stack[-1][1][-1] not in KEYS:
                # A value nobody reads: step over it without building anything.
                stack[-1][1].pop()
                pos = _skip(data, _SPACE.match(data, pos).end())  # type: ignore[union-attr]
                continue
            if data[pos : pos + 1] == b"[" or (
                data[pos : pos + 1] in b" \n\r" and data[pos + 1 : pos + 2] == b"["
            ):
                refs = _REFS.match(data, pos + (data[pos : pos + 1] != b"["))
                if refs is not None:  # an array of references (/Kids, /Annots): in one go
                    array = ArrayObject(
                        IndirectObject(int(a), int(b), self) for a, b in _REF.findall(refs.group(1))
                    )
                    pos = refs.end()
                    if not stack:
                        return array, pos
                    stack[-1][1].append(array)
                    continue
            m = _TOKEN.match(data, pos)
            if m is None:
                raise Unsupported(f"unexpected bytes at {pos}")
            kind = m.lastgroup or "nest"  # every value alternative is a named group
            pos = m.end()
            value: Any
            if kind == "name":
                value = NameObject(_name(m.group("name")))
            elif kind == "num":
                text = m.group("num")
                value = FloatObject(text.decode()) if b"." in text else NumberObject(int(text))
            elif kind == "ref":
                value = IndirectObject(int(m.group(2)), int(m.group(3)), self)
            elif kind == "dopen":
                stack.append((True, []))
                continue
            elif kind == "aopen":
                stack.append((False, []))
                continue
            elif kind == "dclose":
                if not stack or not stack[-1][0]:
                    raise Unsupported("unbalanced >>")
                items = stack.pop()[1]
                keys = items[::2]
                if len(items) % 2 or not all(isinstance(k, NameObject) for k in keys):
                    raise Unsupported("bad dictionary")
                value = DictionaryObject(zip(keys, items[1::2], strict=True))
            elif kind == "aclose":
                if not stack or stack[-1][0]:
                    raise Unsupported("unbalanced ]")
                value = ArrayObject(stack.pop()[1])
            elif kind == "lit":
                raw, pos = _literal(data, pos)
                value = create_string_object(raw)
            elif kind == "hex":
                digits = re.sub(rb"[^0-9A-Fa-f]", b"", m.group("hex"))
                if len(digits) % 2:
                    digits += b"0"
                value = create_string_object(bytes.fromhex(digits.decode()))
            else:
                word = m.group("kw")
                if word == b"true":
                    value = BooleanObject(True)
                elif word == b"false":
                    value = BooleanObject(False)
                elif word == b"null":
                    value = NullObject()
                else:
                    raise Unsupported(f"keyword {word!r} inside an object")
            if not stack:
                return value, pos
            stack[-1][1].append(value)

    # --- the page tree -----------------------------------------------------------------

    @property
    def pages(self) -> list[DictionaryObject]:
        root = self.trailer.get("/Root")
        root = root.get_object() if root is not None else None
        if not isinstance(root, DictionaryObject):
            raise Unsupported("no catalog")
        out: list[DictionaryObject] = []
        stack: list[Any] = [root.get("/Pages")]
        seen: set[int] = set()
        while stack:
            node = stack.pop()
            if isinstance(node, IndirectObject):
                if node.idnum in seen:
                    raise Unsupported("page tree loops")
                seen.add(node.idnum)
                node = node.get_object()
            if not isinstance(node, DictionaryObject):
                continue
            kids = node.get("/Kids")
            if kids is not None:
                kids = kids.get_object()
                if isinstance(kids, ArrayObject):
                    stack.extend(reversed(kids))
            elif node.get("/Type") == "/Page":
                out.append(node)
            if len(out) > MAX_PAGES or len(seen) > 4 * MAX_PAGES:
                raise Unsupported("too many pages")
        return out


def _name(raw: bytes) -> str:
    if b"#" in raw:
        raw = re.sub(rb"#([0-9A-Fa-f]{2})", lambda m: bytes([int(m.group(1), 16)]), raw)
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("latin-1")


def _skip(data: bytes, pos: int) -> int:
    """The end of the value starting at ``pos``: one token, or a balanced dict or array."""
    if data[pos : pos + 1] == b"(":
        return _literal(data, pos + 1)[1]
    if data[pos : pos + 1] != b"[" and data[pos : pos + 2] != b"<<":
        m = _TOKEN.match(data, pos)
        if m is None or m.lastgroup in ("dclose", "aclose", "dopen", "aopen", "lit"):
            raise Unsupported(f"unexpected bytes at {pos}")
        return m.end()
    depth = 0
    end = len(data)
    while pos < end:
        pos = _PLAIN.match(data, pos).end()  # type: ignore[union-attr]
        c = data[pos : pos + 1]
        if c == b"[":
            depth += 1
            pos += 1
        elif c == b"]":
            depth -= 1
            pos += 1
        elif c == b"<":
            if data[pos + 1 : pos + 2] == b"<":
                depth += 1
                pos += 2
            else:
                pos = data.index(b">", pos) + 1
        elif c == b">":
            if data[pos + 1 : pos + 2] != b">":
                raise Unsupported("stray >")
            depth -= 1
            pos += 2
        elif c == b"(":
            pos = _literal(data, pos + 1)[1]
        elif c == b"%":
            pos = _SPACE.match(data, pos).end()  # type: ignore[union-attr]
        else:
            break
        if depth <= 0:
            return pos
    raise Unsupported("unterminated value")


def _literal(data: bytes, pos: int) -> tuple[bytes, int]:
    """A literal string's bytes from just after its ``(``; returns them and the end."""
    simple = _SIMPLE_STRING.match(data, pos)
    if simple is not None:
        return simple.group(1), simple.end()
    out = bytearray()
    depth = 1
    end = len(data)
    while pos < end:
        chunk = _STRING_CHUNK.match(data, pos).end()  # type: ignore[union-attr]
        out += data[pos:chunk]
        pos = chunk
        if pos >= end:
            break
        c = data[pos]
        pos += 1
        if c == 0x5C:  # backslash
            if pos >= end:
                break
            e = data[pos]
            pos += 1
            if e in _ESCAPES:
                out += _ESCAPES[e]
            elif 0x30 <= e <= 0x37:
                digits = bytes([e])
                while len(digits) < 3 and pos < end and 0x30 <= data[pos] <= 0x37:
                    digits += data[pos : pos + 1]
                    pos += 1
                out.append(int(digits, 8) & 0xFF)
            elif e == 0x0D:  # a line continuation
                if pos < end and data[pos] == 0x0A:
                    pos += 1
            elif e != 0x0A:
                out.append(e)
        elif c == 0x28:
            depth += 1
            out.append(c)
        else:  # ")"
            depth -= 1
            if depth == 0:
                return bytes(out), pos
            out.append(c)
    raise Unsupported("unterminated string")
