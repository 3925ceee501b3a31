"""A real SMTP server on a free loopback port (aiosmtpd), for the tests of musforms send.

It speaks STARTTLS on a self-signed certificate made with the openssl command line, asks for
AUTH LOGIN or PLAIN, keeps every message it accepted as the bytes it received, and can be told
to refuse an address or to hang up (close its transport) once it has accepted a number of
messages, as a server dropping the connection halfway does.
"""

from __future__ import annotations

import asyncio
import email
import email.policy
import logging
import socket
import ssl
import subprocess
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

# aiosmtpd logs a deprecation of its own on every login; it says nothing about musforms.
logging.getLogger("mail.log").setLevel(logging.ERROR)

USER = "hr-afdelingen"
PASSWORD = "Kodeord-æøå-2026"
ASCII_PASSWORD = "Kodeord-2026"  # also taken: for a login a server offers only AUTH LOGIN


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def make_certificate(folder: Path) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 and localhost, and its key (PEM files)."""
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
         "-keyout", str(key), "-out", str(cert), "-subj", "/CN=localhost",
         "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"],
        check=True, capture_output=True, timeout=60,
    )  # fmt: skip
    return cert, key


@dataclass
class Received:
    mail_from: str
    rcpt_tos: list[str]
    data: bytes
    peer: Any = None  # the client's address and port: which connection it came over

    def message(self) -> EmailMessage:
        msg = email.message_from_bytes(self.data, policy=email.policy.default)
        assert isinstance(msg, EmailMessage)
        return msg


@dataclass
class Handler:
    """What the server does with each message: keep it, unless told otherwise."""

    received: list[Received] = field(default_factory=list)
    drop_after: int | None = None  # hang up at DATA once this many were accepted
    refuse: set[str] = field(default_factory=set)  # addresses answered 550 at RCPT
    not_now: dict[str, int] = field(default_factory=dict)  # address → times to answer 450
    stall_after: int | None = None  # go silent at DATA once this many were accepted
    on_rcpt: Callable[[int], None] | None = None  # called with how many were accepted so far
    # Awaited at the end of each message's DATA with how many were accepted so far (other
    # connections are served meanwhile); when it says True, the message is not accepted and
    # the connection is closed.
    on_data: Callable[[int], Awaitable[bool]] | None = None
    dropped: int = 0

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, options: list[str]
    ) -> str:
        if self.on_rcpt is not None:
            self.on_rcpt(len(self.received))
        if self.not_now.get(address.lower(), 0) > 0:
            self.not_now[address.lower()] -= 1
            return "450 4.2.0 <" + address + ">: Recipient address rejected: Greylisted"
        if address.lower() in self.refuse:
            return "550 5.1.1 <" + address + ">: Recipient address rejected: User unknown"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.drop_after is not None and len(self.received) >= self.drop_after:
            self.dropped += 1
            server.transport.close()
            return "421 closing"  # never reaches the client: the transport is gone
        if self.stall_after is not None and len(self.received) >= self.stall_after:
            await asyncio.sleep(3600)  # until the client gives up and the server stops
        if self.on_data is not None and await self.on_data(len(self.received)):
            server.transport.close()
            return "421 closing"
        data = envelope.original_content or envelope.content
        self.received.append(
            Received(envelope.mail_from, list(envelope.rcpt_tos), data, session.peer)
        )
        return "250 2.0.0 Ok: queued"


def _authenticator(
    server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any
) -> AuthResult:
    ok = (
        isinstance(auth_data, LoginPassword)
        and auth_data.login == USER.encode()
        and auth_data.password in (PASSWORD.encode(), ASCII_PASSWORD.encode())
    )
    return AuthResult(success=ok, handled=False)


class Server:
    """aiosmtpd on 127.0.0.1: STARTTLS and AUTH required (``tls="starttls"``), TLS from the
    first byte and AUTH required (``"ssl"``), or neither (``"none"``)."""

    def __init__(
        self,
        folder: Path,
        handler: Handler | None = None,
        tls: str = "starttls",
        mechanisms: tuple[str, ...] = ("LOGIN", "PLAIN"),
        *,
        shared: tuple[int, Path, Path] | None = None,
    ) -> None:
        """``shared``: a port and a certificate and its key this server shares with servers
        in other processes (SO_REUSEPORT: the system hands each new connection to one)."""
        if shared is None:
            self.cert, key = make_certificate(folder)
            self.port = free_port()
        else:
            self.port, self.cert, key = shared
        self.handler = handler or Handler()
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(str(self.cert), str(key))
        options: dict[str, Any] = {
            "starttls": {"tls_context": context, "require_starttls": True},
            "ssl": {"ssl_context": context, "server_hostname": "localhost"},
            "none": {},
        }[tls]
        if tls != "none":
            left_out = [m for m in ("LOGIN", "PLAIN") if m not in mechanisms]
            options["auth_exclude_mechanism"] = left_out
        if tls == "starttls":
            options.update(authenticator=_authenticator, auth_required=True, auth_require_tls=True)
        elif tls == "ssl":
            # aiosmtpd counts only STARTTLS as TLS for auth_require_tls (and warns about AUTH
            # required without it): AUTH is offered, and the client logs in all the same.
            options.update(authenticator=_authenticator, auth_require_tls=False)
        kind = Controller if shared is None else _SharedPort
        self.controller = kind(self.handler, hostname="127.0.0.1", port=self.port, **options)

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def start(self) -> Server:
        self.controller.start()
        return self

    def stop(self) -> None:
        self.controller.stop()


class _SharedPort(Controller):
    """aiosmtpd's controller, listening on a port other processes listen on too."""

    def _create_server(self) -> Any:
        return self.loop.create_server(
            self._factory_invoker,
            host=self.hostname,
            port=self.port,
            ssl=self.ssl_context,
            reuse_port=True,
        )

    def _trigger_server(self) -> None:
        # A connection to the port to see the server answer may go to another process's.
        self.loop.call_soon_threadsafe(self._factory_invoker)


class Silent:
    """A port that takes connections and never says a word."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.port = self.sock.getsockname()[1]

    def close(self) -> None:
        self.sock.close()
