"""Replies read from an IMAP folder: ``imaps://USER@HOST[:PORT]/FOLDER``, or ``imap://…``
with STARTTLS (without it only to this computer's own loopback address).

The folder is opened read-only (EXAMINE) and every message fetched with ``BODY.PEEK[]``, so
collect never marks a message as read, moves or deletes one. The password comes from
``MUSFORMS_IMAP_PASSWORD``. Messages are fetched a batch at a time, the next batch while
the one before is read: memory does not grow with the folder. The standard library's
``imaplib`` does all this (with a timeout on every socket operation); a client library would
add nothing collect needs.
"""

from __future__ import annotations

import contextlib
import imaplib
import ipaddress
import itertools
import os
import re
import socket
import ssl
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TypeVar, cast
from urllib.parse import unquote, urlsplit

from musforms.errors import ConfigError
from musforms.i18n import _
from musforms.limits import Limits
from musforms.mail.inbox import Broken, Known, Letter, header_key, message_bound

PASSWORD_ENV = "MUSFORMS_IMAP_PASSWORD"  # noqa: S105 - the variable's name
TIMEOUT = 30  # seconds any one exchange with the server may take
BATCH = 25  # messages fetched in one command
SCHEMES = ("imaps", "imap")

T = TypeVar("T")


def is_imap_url(text: str) -> bool:
    return text.lower().startswith(("imaps://", "imap://"))


@dataclass(frozen=True)
class Mailbox:
    """An IMAP folder as the URL names it."""

    scheme: str
    user: str
    host: str
    port: int
    folder: str

    @property
    def url(self) -> str:
        """The URL as the report shows it (no password; the port only when given)."""
        default = 993 if self.scheme == "imaps" else 143
        port = f":{self.port}" if self.port != default else ""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{self.scheme}://{self.user}@{host}{port}/{self.folder}"

    @property
    def loopback(self) -> bool:
        if self.host.lower() == "localhost":
            return True
        try:
            return ipaddress.ip_address(self.host).is_loopback
        except ValueError:
            return False


def parse_url(text: str) -> Mailbox:
    """The folder an ``imaps://USER@HOST[:PORT]/FOLDER`` URL names. Raises ConfigError with
    what is wrong and what it should look like."""
    example = "imaps://hr%40firma.dk@mail.firma.dk/INBOX"
    text = _without_password(text)
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError as exc:
        raise ConfigError(
            _("{text}: not an IMAP address ({exc}); write it as {example}").format(
                text=text, exc=exc, example=example
            )
        ) from exc
    scheme = parts.scheme.lower()
    if scheme not in SCHEMES or not parts.hostname:
        raise ConfigError(
            _("{text}: not an IMAP address; write it as {example}").format(
                text=text, example=example
            )
        )
    if parts.password is not None:  # shown as "***": never echoed
        raise ConfigError(
            _(
                "{text}: the address holds a password; remove it and set {password_env} instead"
            ).format(text=text, password_env=PASSWORD_ENV)
        )
    if not parts.username:
        raise ConfigError(
            _("{text}: the address names no user; write it as {example}").format(
                text=text, example=example
            )
        )
    if parts.query or parts.fragment:
        raise ConfigError(
            _("{text}: an IMAP address has no '?' or '#' part; write it as {example}").format(
                text=text, example=example
            )
        )
    folder = unquote(parts.path.lstrip("/")).rstrip("/") or "INBOX"
    default = 993 if scheme == "imaps" else 143
    return Mailbox(scheme, unquote(parts.username), parts.hostname, port or default, folder)


def _without_password(text: str) -> str:
    """The address with any password in it as ``***``, so no message ever shows one."""
    scheme, sep, rest = text.partition("://")
    if not sep:
        return text
    netloc, slash, path = rest.partition("/")
    userinfo, at, host = netloc.rpartition("@")
    if at and ":" in userinfo:
        userinfo = userinfo.split(":", 1)[0] + ":***"
        return f"{scheme}://{userinfo}@{host}{slash}{path}"
    return text


class _Refused(Exception):
    """What the server or the connection said, in HR's words."""


def iter_folder(
    text: str,
    limits: Limits,
    *,
    timeout: float = TIMEOUT,
    batch: int = BATCH,
    known: Callable[[str], bool] | None = None,
) -> Iterator[Letter | Known | Broken]:
    """Every message of the folder, a batch at a time, in UID order; a folder that cannot
    be read (a wrong password, no such folder, the server gone) is one :class:`Broken` with
    the reason, never an exception. A message whose key (inbox.header_key: its Message-ID
    and size) ``known`` knows is not fetched: it is a :class:`Known`."""
    box = parse_url(text)
    where = box.url
    password = os.environ.get(PASSWORD_ENV)
    if not password:
        yield Broken(where, f"no password: set {PASSWORD_ENV} to the mailbox's password")
        return
    got = 0
    try:
        conn = _connect(box, timeout)
    except _Refused as exc:
        yield Broken(where, str(exc))
        return
    try:
        try:
            _login(conn, box, password)
            uids = _examine(conn, box)
            if not uids:
                yield Broken(where, "the folder holds no message")
                return
            bound = message_bound(limits)
            chunks = [uids[start : start + batch] for start in range(0, len(uids), batch)]
            fetched = (list(_fetch(conn, chunk, bound, known)) for chunk in chunks)
            for uid, data in itertools.chain.from_iterable(_ahead(fetched)):
                got += 1
                if isinstance(data, str):
                    yield Known(f"{where}/{uid}", data, tick=False)
                elif data is None:
                    yield Broken(
                        f"{where}/{uid}",
                        f"the mail message is larger than {bound // 1_000_000} MB, more "
                        "than a reply with a form could be; save the form from it and "
                        "collect the file instead",
                        tick=False,
                    )
                else:
                    yield Letter(f"{where}/{uid}", data, tick=False)
        except _Refused as exc:
            yield Broken(where if not got else f"{where} (after {got} messages)", str(exc))
        except (OSError, imaplib.IMAP4.error, EOFError) as exc:
            said = "timed out" if isinstance(exc, socket.timeout | TimeoutError) else _why(exc)
            yield Broken(
                where if not got else f"{where} (after {got} messages)",
                f"the connection to {box.host} was lost ({said}); collect again later",
            )
    finally:
        _close(conn)


def _ahead(batches: Iterator[T]) -> Iterator[T]:
    """Each of ``batches``, the next one made in a thread of its own while this one is
    used: the next messages come from the server while these are read. Only that thread
    makes them (the connection is used by one thread at a time); the generator, closed
    early, waits for the one under way."""
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="musforms-imap") as pool:
        nothing = object()
        pending = pool.submit(next, batches, nothing)
        while True:
            found = pending.result()
            if found is nothing:
                return
            pending = pool.submit(next, batches, nothing)
            yield cast(T, found)


def _connect(box: Mailbox, timeout: float) -> imaplib.IMAP4:
    context = ssl.create_default_context()
    try:
        if box.scheme == "imaps":
            return imaplib.IMAP4_SSL(box.host, box.port, ssl_context=context, timeout=timeout)
        conn = imaplib.IMAP4(box.host, box.port, timeout=timeout)
    except ssl.SSLCertVerificationError as exc:
        raise _not_proven(box, exc) from exc
    except (OSError, imaplib.IMAP4.error) as exc:
        said = "timed out" if isinstance(exc, socket.timeout | TimeoutError) else _why(exc)
        raise _Refused(
            f"cannot connect to {box.host} port {box.port} ({said}); check the address and "
            "that the computer is online"
        ) from exc
    try:
        if "STARTTLS" in conn.capabilities:
            conn.starttls(context)
        elif not box.loopback:
            raise _Refused(
                f"the server {box.host} offers no encryption (STARTTLS) on port {box.port}; "
                "the password is not sent unencrypted: use imaps:// (port 993)"
            )
    except ssl.SSLCertVerificationError as exc:
        _close(conn)
        raise _not_proven(box, exc) from exc
    except (OSError, imaplib.IMAP4.error) as exc:
        _close(conn)
        raise _Refused(f"the encrypted connection to {box.host} failed ({_why(exc)})") from exc
    except _Refused:
        _close(conn)
        raise
    return conn


def _not_proven(box: Mailbox, exc: ssl.SSLCertVerificationError) -> _Refused:
    return _Refused(
        f"the server {box.host} did not prove who it is ({exc.verify_message}); check the "
        "address, or ask IT for the mail server's name; the password was not sent"
    )


def _login(conn: imaplib.IMAP4, box: Mailbox, password: str) -> None:
    """SASL PLAIN when the server offers it: user and password as UTF-8 (RFC 4616), so a
    password with æøå works; LOGIN, which only takes ASCII, otherwise."""
    try:
        if "AUTH=PLAIN" in conn.capabilities:
            plain = f"\0{box.user}\0{password}".encode()
            conn.authenticate("PLAIN", lambda _: plain)
        else:
            try:
                conn.login(box.user, password)
            except UnicodeEncodeError as exc:
                raise _Refused(
                    f"the server {box.host} takes only a password of plain ASCII letters, and "
                    f"the one in {PASSWORD_ENV} has others (æøå?)"
                ) from exc
    except imaplib.IMAP4.error as exc:
        raise _Refused(
            f"the server refused the user {box.user} with the password in {PASSWORD_ENV} "
            f"({_said(exc)}); check both"
        ) from exc


def _examine(conn: imaplib.IMAP4, box: Mailbox) -> list[int]:
    """Open the folder read-only (EXAMINE) and list its messages' UIDs."""
    typ, data = conn.select(_quote(box.folder), readonly=True)
    if typ != "OK":
        said = data[0].decode("utf-8", "replace") if data and isinstance(data[0], bytes) else ""
        raise _Refused(f"the mailbox has no folder {box.folder} ({said or typ})")
    typ, data = conn.uid("SEARCH", "ALL")
    if typ != "OK":
        raise _Refused(f"the server would not list the messages in {box.folder}")
    found = b" ".join(d for d in data if isinstance(d, bytes))
    return sorted(int(n) for n in found.split())


_UID = re.compile(rb"\bUID (\d+)")
_SIZE = re.compile(rb"\bRFC822\.SIZE (\d+)")


def _fetch(
    conn: imaplib.IMAP4, uids: list[int], bound: int, known: Callable[[str], bool] | None = None
) -> Iterator[tuple[int, bytes | str | None]]:
    """The messages of ``uids`` (None for one too large to fetch, its key for one ``known``
    knows), never marked as read."""
    ids = ",".join(str(u) for u in uids)
    what = "(RFC822.SIZE BODY.PEEK[HEADER.FIELDS (MESSAGE-ID)])" if known else "(RFC822.SIZE)"
    typ, data = conn.uid("FETCH", ids, what)
    if typ != "OK":
        raise _Refused("the server would not give the messages' sizes")
    sizes: dict[int, int] = {}
    keys: dict[int, str] = {}
    for item in data:
        line = item[0] if isinstance(item, tuple) else item
        if isinstance(line, bytes):
            found, size = _UID.search(line), _SIZE.search(line)
            if found and size:
                uid, n = int(found.group(1)), int(size.group(1))
                sizes[uid] = n
                header = item[1] if isinstance(item, tuple) else None
                if known and isinstance(header, bytes):
                    key = header_key(header, n)
                    if key is not None and known(key):
                        keys[uid] = key
    wanted = [u for u in uids if sizes.get(u, 0) <= bound and u not in keys]
    bodies: dict[int, bytes] = {}
    if wanted:
        typ, data = conn.uid("FETCH", ",".join(map(str, wanted)), "(BODY.PEEK[])")
        if typ != "OK":
            raise _Refused("the server would not give the messages")
        for item in data:
            if isinstance(item, tuple) and isinstance(item[0], bytes):
                found = _UID.search(item[0])
                if found and isinstance(item[1], bytes):
                    bodies[int(found.group(1))] = item[1]
    for uid in uids:  # in UID order, known or not: a run reads them as one without the cache
        if uid in keys:
            yield uid, keys[uid]
        elif uid in bodies:
            yield uid, bodies[uid]
        elif uid in sizes and sizes[uid] > bound:
            yield uid, None
        # else: gone from the folder between the list and the fetch (moved by the user)


def _quote(folder: str) -> str:
    """A folder name as IMAP wants it: modified UTF-7 (RFC 3501 §5.1.3), quoted."""
    encoded = _utf7(folder)
    return '"' + encoded.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _utf7(text: str) -> str:
    out, pending = [], ""

    def flush() -> None:
        nonlocal pending
        if pending:
            import base64

            raw = base64.b64encode(pending.encode("utf-16-be")).decode("ascii")
            out.append("&" + raw.rstrip("=").replace("/", ",") + "-")
            pending = ""

    for ch in text:
        if 0x20 <= ord(ch) <= 0x7E:
            flush()
            out.append("&-" if ch == "&" else ch)
        else:
            pending += ch
    flush()
    return "".join(out)


def _close(conn: imaplib.IMAP4) -> None:
    with contextlib.suppress(OSError, imaplib.IMAP4.error, EOFError):
        conn.logout()  # after EXAMINE, a LOGOUT expunges nothing (read-only)


def _said(exc: BaseException) -> str:
    text = str(exc.args[0] if exc.args else exc)
    if text.startswith("b'") or text.startswith('b"'):
        text = text[2:-1]
    return text.strip() or exc.__class__.__name__


def _why(exc: BaseException) -> str:
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    return _said(exc)
