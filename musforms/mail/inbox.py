"""Replies read straight from mail: .eml and Outlook .msg files, mbox files and Maildir
folders (an IMAP folder is in musforms.mail.imap), each message's attachments in memory.

Mail is recognised by its content and structure, never by its name: a message by its
header lines, an mbox by its ``From `` separator line, an Outlook message by the streams
of its OLE container, a Maildir by its ``cur``, ``new`` and ``tmp`` folders. Attachments,
and the messages forwarded inside a message (``message/rfc822``, an attached .eml or .msg),
are opened where they are found and never written to disk; an attachment's name is text to
show, never a path. The sender and date of each message are kept for the report: they never
say whose form an attachment is (the signed identity does).
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import email
import email.message
import email.parser
import email.utils
import itertools
import mailbox
import os
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from email.header import decode_header, make_header
from pathlib import Path
from typing import Literal

from musforms import fastpath
from musforms.blob import Blob
from musforms.i18n import _
from musforms.limits import Limits, mb

SEP = " › "  # between a message and its attachment in the report: "inbox.mbox #3 › svar.pdf"
MAX_DEPTH = 8  # messages forwarded inside messages, deeper than any mail client goes
# A mail file or message may be larger than a form by the attachments it also carries (base64
# adds a third); past this many times the file limit it is refused unread.
MESSAGE_FACTOR = 4
OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
NO_FILE = "a mail with no file attached"  # its line's reason (status not_musforms)
NO_FILE_FORWARDED = "a forwarded message with no file attached"

Kind = Literal["eml", "msg", "mbox"]

# Header names that only a mail message starts with (RFC 5322, and what servers add).
_MAIL_HEADERS = frozenset(
    {
        "from", "to", "cc", "date", "subject", "message-id", "mime-version", "received",
        "return-path", "delivered-to", "reply-to", "sender", "in-reply-to", "references",
        "content-type", "x-mailer", "user-agent", "dkim-signature", "arc-seal", "x-unsent",
        "thread-topic", "thread-index", "authentication-results", "x-original-to",
    }
)  # fmt: skip
_HEADER_LINE = re.compile(rb"^([!-9;-~]+):")
_MBOX_FROM = re.compile(rb"^From \S+ ")


def message_bound(limits: Limits) -> int:
    """The largest mail message (or .eml/.msg file) read: a form's size limit, times the
    room its other attachments and their encoding may take."""
    return limits.max_bytes * MESSAGE_FACTOR


def kind_of(head: bytes) -> Kind | None:
    """Whether a file's first bytes show a mail message (.eml), an mbox file or a candidate
    Outlook message (an OLE container: :func:`is_outlook_message` tells for sure)."""
    if head.startswith(OLE_MAGIC):
        return "msg"
    text = head.lstrip(b"\r\n")
    if _MBOX_FROM.match(text):
        rest = text.split(b"\n", 1)[1] if b"\n" in text else b""
        return "mbox" if _looks_like_headers(rest) else None
    return "eml" if _looks_like_headers(text) else None


def _looks_like_headers(text: bytes) -> bool:
    """Header lines up to a blank line (or the end of what is seen), two of them of mail's
    own names: what every message starts with, and no form or office file does."""
    known = 0
    lines = text.split(b"\n")
    if len(lines) > 1:
        lines = lines[:-1]  # the last one may be cut off where the head ends
    for line in lines:
        line = line.rstrip(b"\r")
        if not line:
            break
        if line[:1] in (b" ", b"\t"):
            continue  # a header folded onto the next line
        match = _HEADER_LINE.match(line)
        if match is None:
            return False
        if match.group(1).decode("ascii").lower() in _MAIL_HEADERS:
            known += 1
    return known >= 2


def is_outlook_message(data: bytes) -> bool:
    """Whether an OLE container is an Outlook message (.msg), as python-oxmsg finds it (by
    the property streams of MS-OXMSG); an old Word or Excel file is not."""
    from oxmsg import Message

    if not data.startswith(OLE_MAGIC):
        return False
    try:
        Message.load(data)
    except Exception:
        return False
    return True


def is_maildir(path: Path) -> bool:
    """A folder that is a Maildir: it holds the ``cur``, ``new`` and ``tmp`` folders."""
    return all((path / sub).is_dir() and not (path / sub).is_symlink() for sub in _MAILDIR)


_MAILDIR = ("cur", "new", "tmp")


# --- messages as found ----------------------------------------------------------------------


@dataclass(frozen=True)
class Letter:
    """One mail message as found: where (a file's path, ``inbox.mbox #3``, an IMAP URL with
    the UID) and its raw bytes, an RFC 5322 message or an Outlook .msg."""

    where: str
    data: bytes
    tick: bool = True  # the last message of one input (for collect's progress count)


@dataclass(frozen=True)
class Known:
    """A message an earlier run of collect read (by its :func:`message_key`), left on the
    server: what it gave is in collect's cache, so its bytes are not fetched again."""

    where: str
    key: str
    tick: bool = True


# The first empty line, which ends a message's header block, by any of the line ends the
# email package takes (CRLF, LF, a lone CR).
_BLANK_LINE = re.compile(rb"(?:\r\n|\r(?!\n)|\n)(?:\r\n|\r(?!\n)|\n)")


def message_key(data: bytes) -> str:
    """What a message is known by to collect's cache: its Message-ID with its size, or, for
    a message without one (and an Outlook .msg), the SHA-256 of its bytes."""
    if not data.startswith(OLE_MAGIC):
        # Only the header block is parsed: the email package would read a whole reply with a
        # 300 kB form a line at a time to find the Message-ID.
        end = _BLANK_LINE.search(data)
        key = header_key(data[: end.end()] if end else data, len(data))
        if key is not None:
            return key
    import hashlib

    return "sha256:" + hashlib.sha256(data).hexdigest()


def header_key(header: bytes, size: int) -> str | None:
    """:func:`message_key` from a message's header alone (as an IMAP server gives it) and
    its size in bytes; None when the header has no Message-ID."""
    try:
        parsed = email.parser.BytesHeaderParser().parsebytes(header)
        mid = parsed.get("Message-ID")
        text = _text(mid).strip() if mid else ""
    except Exception:  # a header that cannot be parsed: known by its bytes instead
        return None
    return f"id:{text}:{size}" if text else None


@dataclass(frozen=True)
class Broken:
    """A mail input that cannot be read (or read on), with the reason, for its own line."""

    where: str
    reason: str
    tick: bool = True


def iter_mbox(path: Path, where: str, limits: Limits) -> Iterator[Letter | Broken]:
    """The messages of an mbox file, one at a time (memory does not grow with the file)."""
    bound = message_bound(limits)
    try:
        box = mailbox.mbox(path, create=False)
        keys = list(box.iterkeys())
    except (OSError, mailbox.Error) as exc:
        yield Broken(where, f"the mailbox file cannot be read ({_why(exc)})")
        return
    try:
        for n, key in enumerate(keys, 1):
            here = f"{where} #{n}"
            last = n == len(keys)
            with box.get_file(key) as fh:
                data = fh.read(bound + 1)
            if len(data) > bound:
                yield Broken(here, too_large_message(limits), last)
            else:
                yield Letter(here, data, last)
        if not keys:
            yield Broken(where, "the mailbox holds no message")
    except (OSError, mailbox.Error) as exc:
        yield Broken(where, f"the mailbox file could not be read to its end ({_why(exc)})")
    finally:
        box.close()


def iter_maildir(path: Path, where: str, limits: Limits) -> Iterator[Letter | Broken]:
    """The messages of a Maildir and of its subfolders (Maildir++: ``.Sent``, …), in a
    stable order; ``tmp`` (messages still being delivered) is left alone."""
    folders = [path]
    try:
        box = mailbox.Maildir(path, factory=None, create=False)
        folders += [path / f".{name}" for name in sorted(box.list_folders())]
    except (OSError, mailbox.Error) as exc:
        yield Broken(where, f"the Maildir folder cannot be read ({_why(exc)})")
        return
    files: list[Path] = []
    for folder in folders:
        for sub in ("cur", "new"):
            try:
                names = sorted(os.listdir(folder / sub))
            except OSError:
                continue
            files += [folder / sub / n for n in names if not n.startswith(".")]
    if not files:
        yield Broken(where, "the Maildir folder holds no message")
    bound = message_bound(limits)
    for n, file in enumerate(files, 1):
        here = str(file) if where == str(path) else where + str(file)[len(str(path)) :]
        last = n == len(files)
        try:
            if file.is_symlink() or not file.is_file():
                continue
            with file.open("rb") as fh:
                data = fh.read(bound + 1)
        except OSError as exc:
            yield Broken(here, f"the message cannot be read ({_why(exc)})", last)
            continue
        if len(data) > bound:
            yield Broken(here, too_large_message(limits), last)
        else:
            yield Letter(here, data, last)


def too_large_message(limits: Limits) -> str:
    return (
        f"the mail message is larger than {mb(message_bound(limits))}, more than a reply with "
        "a form could be; save the form from it and collect the file instead"
    )


def _why(exc: BaseException) -> str:
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    return exc.__class__.__name__


# --- a message opened -------------------------------------------------------------------------


@dataclass
class Attached:
    """One attachment of a message: its line's name (``<message> › <attachment>``), its bytes
    in memory, or why it was not read."""

    label: str
    blob: Blob | None
    refused: str | None = None
    forwarded_from: str | None = None  # the sender of the forwarded message it came in


@dataclass
class Opened:
    """What a message holds for collect: who sent it, when, and its attachments."""

    where: str
    sender: str | None = None  # the From address, lower case
    sent_at: dt.datetime | None = None
    message_id: str | None = None
    attachments: list[Attached] = field(default_factory=list)
    _labels: set[str] = field(default_factory=set, repr=False)

    def label(self, prefix: str, name: str) -> str:
        """A line name unique in this message: a second ``svar.pdf`` is ``svar.pdf (2)``."""
        label = f"{prefix}{SEP}{name}"
        n = 1
        while label in self._labels:
            n += 1
            label = f"{prefix}{SEP}{name} ({n})"
        self._labels.add(label)
        return label


class MailReadError(Exception):
    """A mail file or message that cannot be read at all (a damaged Outlook file)."""


def open_letter(letter: Letter, limits: Limits) -> Opened:
    """The sender, date and attachments of a message (RFC 5322 or Outlook .msg). Raises
    MailReadError when the message cannot be read at all."""
    opened = Opened(letter.where)
    if letter.data.startswith(OLE_MAGIC):
        _open_msg(letter.data, letter.where, opened, limits, depth=0, top=True)
    else:
        _open_rfc822(letter.data, letter.where, opened, limits, depth=0, top=True)
    return opened


def _open_rfc822(
    data: bytes, prefix: str, opened: Opened, limits: Limits, *, depth: int, top: bool
) -> None:
    if fastpath.enabled():
        split = _split(data)
        if split is not None:
            head, parts = split
            walker = _Walker(head, prefix, opened, limits, depth=depth, top=top)
            for raw in parts:
                walker.raw_part(raw)
            return
    _walk_message(email.message_from_bytes(data), prefix, opened, limits, depth=depth, top=top)


def _walk_message(
    message: email.message.Message,
    prefix: str,
    opened: Opened,
    limits: Limits,
    *,
    depth: int,
    top: bool,
) -> None:
    _Walker(message, prefix, opened, limits, depth=depth, top=top).part(message)


class _Walker:
    """One message's parts, in order: bodies skipped, attachments taken, forwarded
    messages opened in their turn."""

    def __init__(
        self,
        message: email.message.Message,
        prefix: str,
        opened: Opened,
        limits: Limits,
        *,
        depth: int,
        top: bool,
    ) -> None:
        sender = _address(message.get("From"))
        if top:
            opened.sender = sender
            opened.sent_at = _date(message.get("Date"))
            mid = message.get("Message-ID")
            opened.message_id = _text(mid).strip() if mid else None
        self.forwarded = None if top else sender
        self.prefix, self.opened, self.limits, self.depth = prefix, opened, limits, depth
        self.unnamed = 0

    def raw_part(self, raw: bytes) -> None:
        """A part as the fast path split it off: its headers parsed by the library, a
        base64 body decoded in one go; any other part parsed whole by the library."""
        end = _HEADERS_END.search(raw)
        if raw[:1] in (b"\r", b"\n") or end is None:
            self.part(email.message_from_bytes(raw))  # no headers, or no body: the library
            return
        head = _headers(raw[: end.end()])
        cte = str(head.get("Content-Transfer-Encoding", "")).strip().lower()
        # A defect (a line in the headers that is none) makes the library start the body
        # elsewhere: it reads such a part itself.
        if (
            head.defects
            or head.get_content_maintype() in ("multipart", "message")
            or cte != "base64"
        ):
            self.part(email.message_from_bytes(raw))
            return
        self.part(head, raw[end.end() :])

    def part(self, part: email.message.Message, base64_body: bytes | None = None) -> None:
        opened, limits = self.opened, self.limits
        if part.get_content_type() == "message/rfc822" and base64_body is None:
            inner = part.get_payload()
            name = _filename(part) or _forwarded_name(inner)
            label = opened.label(self.prefix, name)
            if isinstance(inner, list) and inner and isinstance(inner[0], email.message.Message):
                forwarded_message: email.message.Message = inner[0]
                _nested(lambda: _walk_message(forwarded_message, label, opened, limits,
                                              depth=self.depth + 1, top=False),
                        label, opened, self.depth)  # fmt: skip
            return
        if part.is_multipart() and base64_body is None:
            payload = part.get_payload()
            if isinstance(payload, list):
                for sub in payload:
                    if isinstance(sub, email.message.Message):
                        self.part(sub)
            return
        found = _filename(part)
        disposition = part.get_content_disposition()
        if found is None and disposition != "attachment":
            if part.get_content_maintype() in ("text", "multipart"):
                return  # a body: the mail's text, never a form
            if part.get_content_maintype() == "image" and part.get("Content-ID"):
                return  # a picture shown in the mail's text (a signature's logo)
        if found is None:
            self.unnamed += 1
            found = f"(unnamed attachment {self.unnamed})"
        name = found
        label = opened.label(self.prefix, name)
        data = self._body(part, base64_body)
        if isinstance(data, str):
            opened.attachments.append(Attached(label, None, data, self.forwarded))
            return
        _attachment(data, name, label, opened, limits, depth=self.depth, forwarded=self.forwarded)

    def _body(self, part: email.message.Message, base64_body: bytes | None) -> bytes | str:
        """The part's decoded bytes, or why it is refused (over the size limit, told from
        the encoded size before anything is decoded)."""
        if base64_body is not None:
            estimate = len(base64_body) * 3 // 4  # as many characters as bytes
        else:
            encoded = part.get_payload()
            estimate = 0
            if isinstance(encoded, str):
                cte = str(part.get("Content-Transfer-Encoding", "")).strip().lower()
                estimate = len(encoded) * 3 // 4 if cte == "base64" else len(encoded)
        too_large = self.limits.too_large(estimate)
        if too_large:
            return too_large
        data: bytes | None = None
        if base64_body is not None:
            try:  # as the library decodes a valid body (Message.get_payload), in one call
                # Its line ends taken out as splitting its lines would (CR, LF), in one call.
                data = base64.b64decode(base64_body.translate(None, b"\r\n"), validate=True)
            except binascii.Error:
                data = None  # not clean base64: the library's lenient decoding, below
            if data is None:
                part.set_payload(base64_body.decode("ascii", "surrogateescape"))
        if data is None:
            body = part.get_payload(decode=True)
            data = body if isinstance(body, bytes) else b""
        return self.limits.too_large(len(data)) or data


_HEADERS_END = re.compile(rb"\r?\n\r?\n")


def _delimiters(body: bytes, dashed: bytes) -> list[tuple[int, int, bool]]:
    """Where each delimiter line is (RFC 2046 §5.1.1): ``--boundary``, ``--`` more on the
    last, blanks, at the start of a line and to its end, the line break before it its own;
    as (start, end, closing). A line starting so is a delimiter to the library too."""
    found = []
    at = body.find(dashed)
    while at >= 0:
        end = at + len(dashed)
        closing = body[end : end + 2] == b"--"
        stop = end + 2 if closing else end
        while body[stop : stop + 1] in (b" ", b"\t"):
            stop += 1
        line_start = at == 0 or body[at - 1 : at] == b"\n"
        line_end = (
            stop == len(body) or body[stop : stop + 1] == b"\n" or body[stop : stop + 2] == b"\r\n"
        )
        if line_start and line_end:
            begin = at - 2 if body[at - 2 : at] == b"\r\n" else at - 1 if at else at
            found.append((begin, stop, closing))
        at = body.find(dashed, end)
    return found


def _headers(block: bytes) -> email.message.Message:
    """A header block parsed by the library, its body left alone (there is none)."""
    return email.parser.BytesParser().parsebytes(block, headersonly=True)


def _split(data: bytes) -> tuple[email.message.Message, list[bytes]] | None:
    """A multipart message as its top headers and its parts' raw bytes, split at its
    boundary lines (RFC 2046 §5.1.1) in one pass: the fast path for a reply whose forms are
    large base64 parts, which the library reads a line at a time. None for anything else
    (one part only, no boundary, no closing boundary, a boundary that is not ASCII): the
    library reads those."""
    end = _HEADERS_END.search(data)
    if end is None or data[:1] in (b"\r", b"\n"):
        return None
    head = _headers(data[: end.end()])
    if head.get_content_maintype() != "multipart" or head.defects:
        return None
    boundary = head.get_boundary()
    if not boundary or not boundary.isascii():
        return None
    body = data[end.end() :]
    marks = _delimiters(body, b"--" + boundary.encode("ascii"))
    if not marks or not marks[-1][2] or any(closing for _, _, closing in marks[:-1]):
        return None  # cut short, or an odd shape: the library says what it makes of it
    parts = []
    for (_s1, after, _k1), (before, _e2, _k2) in itertools.pairwise(marks):
        after += (
            2
            if body[after : after + 2] == b"\r\n"
            else 1
            if body[after : after + 1] == b"\n"
            else 0
        )
        parts.append(body[after:before])
    return head, parts


def _attachment(
    data: bytes,
    name: str,
    label: str,
    opened: Opened,
    limits: Limits,
    *,
    depth: int,
    forwarded: str | None,
) -> None:
    """An attachment: a message attached as a file (.eml, .msg) is opened in its turn."""
    kind = kind_of(data[:4096])
    if kind == "eml":
        _nested(lambda: _open_rfc822(data, label, opened, limits, depth=depth + 1, top=False),
                label, opened, depth)  # fmt: skip
        return
    if kind == "msg" and is_outlook_message(data):
        _nested(lambda: _open_msg(data, label, opened, limits, depth=depth + 1, top=False),
                label, opened, depth)  # fmt: skip
        return
    opened.attachments.append(Attached(label, Blob(name, data), None, forwarded))


def _nested(open_it: Callable[[], None], label: str, opened: Opened, depth: int) -> None:
    if depth + 1 > MAX_DEPTH:
        opened.attachments.append(
            Attached(label, None, "messages forwarded inside one another too deeply to read")
        )
        return
    before = len(opened.attachments)
    try:
        open_it()
    except MailReadError as exc:
        opened.attachments.append(Attached(label, None, str(exc)))
        return
    if len(opened.attachments) == before:
        opened.attachments.append(Attached(label, None, NO_FILE_FORWARDED))


def _open_msg(
    data: bytes, prefix: str, opened: Opened, limits: Limits, *, depth: int, top: bool
) -> None:
    from oxmsg import Message

    try:
        message = Message.load(data)
        sender = _address(message.sender)
        sent = message.sent_date
        headers = message.message_headers
        attachments = list(message.attachments)
    except Exception as exc:
        raise MailReadError(
            _(
                "a damaged Outlook message (.msg) that cannot be opened; ask for the form to be "
                "sent again"
            )
        ) from exc
    if top:
        opened.sender = sender
        opened.sent_at = sent if sent is not None and sent.year > 1601 else None
        mid = headers.get("Message-ID") or headers.get("Message-Id")
        opened.message_id = mid.strip() if isinstance(mid, str) else None
    forwarded = None if top else sender
    for n, att in enumerate(attachments, 1):
        try:
            name = _clean(att.file_name or "") or f"(unnamed attachment {n})"
            body = att.file_bytes if att.attached_by_value else None
        except Exception:
            name, body = f"(unnamed attachment {n})", None
        label = opened.label(prefix, name)
        if body is None:
            opened.attachments.append(
                Attached(
                    label,
                    None,
                    "an attached Outlook item (or a link to a file) that holds no file; ask for "
                    "the form to be attached as a file",
                    forwarded,
                )
            )
            continue
        too_large = limits.too_large(len(body))
        if too_large:
            opened.attachments.append(Attached(label, None, too_large, forwarded))
            continue
        _attachment(body, name, label, opened, limits, depth=depth, forwarded=forwarded)


# --- header values -----------------------------------------------------------------------------


def _text(value: object) -> str:
    """A header's value as text: encoded words (``=?utf-8?b?…?=``) decoded when they can be."""
    raw = str(value)
    try:
        return str(make_header(decode_header(raw)))
    except (ValueError, LookupError, UnicodeError):
        return raw


def _clean(name: str) -> str:
    """A name as shown: line breaks and other control characters as escapes, so that a name
    cannot start a line of its own in the report or the summary."""
    return "".join(c if c.isprintable() else c.encode("unicode_escape").decode() for c in name)


def _filename(part: email.message.Message) -> str | None:
    try:
        name = part.get_filename()
    except (ValueError, LookupError, UnicodeError):
        name = None
    if not name:
        return None
    return _clean(_text(name)) or None


def _forwarded_name(inner: object) -> str:
    if isinstance(inner, list) and inner and isinstance(inner[0], email.message.Message):
        subject = inner[0].get("Subject")
        if subject:
            return _clean(f"forwarded: {_text(subject)}")
    return "forwarded message"


def _address(value: object) -> str | None:
    if value is None:
        return None
    _name, address = email.utils.parseaddr(_text(value))
    return address.lower() or None


def _date(value: object) -> dt.datetime | None:
    if value is None:
        return None
    try:
        when = email.utils.parsedate_to_datetime(str(value))
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    return when
