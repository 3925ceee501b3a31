"""A real IMAP server for the tests: Debian's dovecot, run as its own daemon with a config
of the test's own on a free loopback port, stopped by its pid. Messages go in with IMAP
APPEND, as a mail client files them."""

from __future__ import annotations

import contextlib
import imaplib
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

USER = "hr"
PASSWORD = "Sommerfugl-æøå-2026"  # not ASCII: the login must send it as UTF-8


def require_dovecot() -> str:
    found = shutil.which("dovecot") or (
        "/usr/sbin/dovecot" if Path("/usr/sbin/dovecot").exists() else None
    )
    if found is None:
        import pytest

        pytest.skip("dovecot is not installed (make clients installs dovecot-imapd)")
    return found


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


@dataclass
class Dovecot:
    root: Path
    port: int
    hosts: tuple[str, ...]
    tls_port: int | None = None  # imaps, when started with TLS
    ca: Path | None = None  # the certificate authority that signed the server's certificate

    def imaps_url(self, folder: str = "INBOX") -> str:
        return f"imaps://{USER}@127.0.0.1:{self.tls_port}/{folder}"

    @property
    def pid_file(self) -> Path:
        return self.root / "run" / "master.pid"

    def url(self, folder: str = "INBOX", *, host: str = "127.0.0.1", user: str = USER) -> str:
        return f"imap://{user}@{host}:{self.port}/{folder}"

    def connect(self) -> imaplib.IMAP4:
        conn = imaplib.IMAP4("127.0.0.1", self.port, timeout=10)
        plain = f"\0{USER}\0{PASSWORD}".encode()  # SASL PLAIN is UTF-8 (RFC 4616)
        try:
            conn.authenticate("PLAIN", lambda _: plain)
        except BaseException:
            conn.shutdown()
            raise
        return conn

    def append(self, folder: str, message: bytes, flags: str = "") -> None:
        self.append_all(folder, [message], flags)

    def append_all(self, folder: str, messages: Iterable[bytes], flags: str = "") -> None:
        """APPEND each message, in one session."""
        with contextlib.closing(_Session(self)) as s:
            for message in messages:
                typ, data = s.conn.append(_quote(folder), flags or None, None, message)
                assert typ == "OK", data

    def create(self, folder: str) -> None:
        with contextlib.closing(_Session(self)) as s:
            typ, data = s.conn.create(_quote(folder))
            assert typ == "OK", data

    def flags(self, folder: str = "INBOX") -> dict[int, str]:
        """Every message's UID and flags, read with EXAMINE (changing nothing)."""
        with contextlib.closing(_Session(self)) as s:
            typ, _ = s.conn.select(_quote(folder), readonly=True)
            assert typ == "OK"
            typ, data = s.conn.uid("FETCH", "1:*", "(FLAGS)")
            found = {}
            for line in data:
                if isinstance(line, bytes) and b"UID" in line:
                    text = line.decode()
                    uid = int(text.split("UID ")[1].split()[0].rstrip(")"))
                    found[uid] = text.split("FLAGS (")[1].split(")")[0]
            return found

    def stop(self) -> None:
        try:
            pid = int(self.pid_file.read_text().strip())
        except (OSError, ValueError):
            return
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)
        for _ in range(100):
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                return
            time.sleep(0.05)


class _Session:
    def __init__(self, server: Dovecot) -> None:
        self.conn = server.connect()

    def close(self) -> None:
        with contextlib.suppress(imaplib.IMAP4.error, OSError):
            self.conn.logout()


def _quote(folder: str) -> str:
    """A folder's name on the wire, in modified UTF-7 as dovecot's own doveadm encodes it
    (not by musforms' encoder, which the tests check)."""
    if not folder.isascii():
        doveadm = shutil.which("doveadm") or "/usr/bin/doveadm"
        done = subprocess.run(
            [doveadm, "mailbox", "mutf7", "-8", folder],
            capture_output=True,
            text=True,
            check=True,
            timeout=30,
        )
        folder = done.stdout.strip()
    return '"' + folder.replace("\\", "\\\\").replace('"', '\\"') + '"'


def make_certificates(folder: Path) -> tuple[Path, Path, Path]:
    """A certificate authority of the test's own and a server certificate it signed for
    127.0.0.1 (openssl): (CA, server certificate, server key)."""
    ca_key, ca = folder / "ca.key", folder / "ca.pem"
    key, csr, cert = folder / "server.key", folder / "server.csr", folder / "server.pem"
    ext = folder / "server.ext"
    ext.write_text("subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\n", encoding="ascii")

    def run(*args: str) -> None:
        subprocess.run(["openssl", *args], check=True, capture_output=True, timeout=60)

    run("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(ca_key), "-out",
        str(ca), "-days", "2", "-subj", "/CN=musforms test CA")  # fmt: skip
    run("req", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out", str(csr),
        "-subj", "/CN=127.0.0.1")  # fmt: skip
    run("x509", "-req", "-in", str(csr), "-CA", str(ca), "-CAkey", str(ca_key),
        "-CAcreateserial", "-out", str(cert), "-days", "2", "-extfile", str(ext))  # fmt: skip
    for path in (key, cert, ca):
        path.chmod(0o644)
    return ca, cert, key


@contextlib.contextmanager
def dovecot(hosts: tuple[str, ...] = ("127.0.0.1",), *, tls: bool = False) -> Iterator[Dovecot]:
    """A dovecot serving one user (``hr``) on a free port of ``hosts``, its mail in a
    Maildir of its own; stopped and removed, however the test ends. Its folder is not in
    pytest's (0700, closed to the ``dovecot`` user the server reads its files as)."""
    binary = require_dovecot()
    owner = pwd.getpwnam("dovecot")
    root = Path(tempfile.mkdtemp(prefix="musforms-dovecot-"))
    try:
        with _running(binary, owner, root, hosts, tls) as server:
            yield server
    finally:
        shutil.rmtree(root, ignore_errors=True)


@contextlib.contextmanager
def _running(
    binary: str, owner: pwd.struct_passwd, root: Path, hosts: tuple[str, ...], tls: bool
) -> Iterator[Dovecot]:
    for sub in ("run", "state", "mail", "home"):
        (root / sub).mkdir(exist_ok=True)
    for sub in ("mail", "home"):
        os.chown(root / sub, owner.pw_uid, owner.pw_gid)
    os.chmod(root, 0o755)
    port = free_port()
    tls_port = free_port() if tls else 0
    ca = None
    ssl_lines = "ssl = no"
    if tls:
        ca, cert, key = make_certificates(root)
        ssl_lines = f"ssl = yes\nssl_cert = <{cert}\nssl_key = <{key}"
    users = root / "users"
    users.write_text(
        f"{USER}:{{PLAIN}}{PASSWORD}:{owner.pw_uid}:{owner.pw_gid}::{root / 'home'}::\n",
        encoding="utf-8",
    )
    listen = ", ".join(hosts)
    conf = root / "dovecot.conf"
    conf.write_text(
        f"""
protocols = imap
listen = {listen}
base_dir = {root / "run"}
state_dir = {root / "state"}
log_path = {root / "dovecot.log"}
info_log_path = {root / "dovecot.log"}
{ssl_lines}
disable_plaintext_auth = no
auth_mechanisms = plain login
auth_failure_delay = 1 secs
default_login_user = dovenull
default_internal_user = dovecot
first_valid_uid = 100
mail_fsync = never
mail_location = maildir:{root / "mail"}/%u
namespace inbox {{
  inbox = yes
  separator = /
}}
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {users}
}}
userdb {{
  driver = passwd-file
  args = username_format=%u {users}
}}
service imap-login {{
  inet_listener imap {{
    port = {port}
  }}
  inet_listener imaps {{
    port = {tls_port}
  }}
  chroot =
}}
service anvil {{
  chroot =
}}
""",
        encoding="utf-8",
    )
    subprocess.run(
        [binary, "-c", str(conf)],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        check=True,
        timeout=30,
    )
    server = Dovecot(root, port, hosts, tls_port or None, ca)
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                server.connect().logout()
                break
            except (OSError, imaplib.IMAP4.error):
                if time.monotonic() > deadline:
                    log = (root / "dovecot.log").read_text(errors="replace")[-2000:]
                    raise RuntimeError(f"dovecot did not start:\n{log}") from None
                time.sleep(0.1)
        yield server
    finally:
        server.stop()
