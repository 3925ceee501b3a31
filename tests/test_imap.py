"""collect from an IMAP folder, against a real dovecot (tests/imap_server.py): replies put
in with APPEND, read back exactly, nothing marked as read or moved, and every failure (a
wrong password, no such folder, no encryption) said clearly, in time, on a line of its own."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from musforms.cli import cli
from musforms.errors import ConfigError
from musforms.limits import DEFAULT_LIMITS
from musforms.mail.imap import PASSWORD_ENV, iter_folder, parse_url
from tests.imap_server import PASSWORD, Dovecot, dovecot
from tests.test_inbox import (
    EMAIL,
    MANAGER,
    Round,
    assert_answers,
    from_employee,
    reply,
    report,
)

# The replies carry forms filled in PDFium: run with the fast paths off too (make test).
pytestmark = pytest.mark.realclient

FOLDER = "MUS/Svar 2026 – æøå"  # a folder below another, its name not ASCII


def _local_address() -> str | None:
    """An address of this machine that is not loopback, where dovecot can listen too."""
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.connect(("192.0.2.254", 9))  # no packet is sent: only the route is chosen
            address = s.getsockname()[0]
        with socket.socket() as s:
            s.bind((address, 0))
    except OSError:
        return None
    return None if address.startswith("127.") else str(address)


LOCAL = _local_address()


@pytest.fixture(scope="module")
def round_(tmp_path_factory: pytest.TempPathFactory) -> Round:
    return Round(tmp_path_factory.mktemp("imap-round"))


@pytest.fixture(scope="module")
def server(round_: Round) -> Iterator[Dovecot]:
    hosts = ("127.0.0.1", LOCAL) if LOCAL else ("127.0.0.1",)
    with dovecot(hosts) as d:
        d.append("INBOX", from_employee(round_, "1042").as_bytes())
        d.append("INBOX", from_employee(round_, "3001", name="../svar\\3001.pdf").as_bytes())
        d.append(
            "INBOX",
            reply(
                "kollega@andet.example", [("s.pdf", round_.filled["1043"].read_bytes())]
            ).as_bytes(),
        )
        d.append(
            "INBOX",
            reply(MANAGER, subject="VS: MUS", forwarded=[from_employee(round_, "1045")]).as_bytes(),
        )
        d.append("INBOX", reply(EMAIL["1044"], text="Jeg sender det i morgen.").as_bytes())
        # One already read by HR: it stays read, and the others stay unread.
        d.append("INBOX", from_employee(round_, "1044").as_bytes(), flags="(\\Seen)")
        d.create(FOLDER)
        d.append(FOLDER, from_employee(round_, "1043", name="anden.pdf").as_bytes())
        yield d


@pytest.fixture
def password(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(PASSWORD_ENV, PASSWORD)


def _flags(server: Dovecot, folder: str = "INBOX") -> dict[int, set[str]]:
    return {uid: set(f.split()) - {"\\Recent"} for uid, f in server.flags(folder).items()}


def test_a_folder_is_collected_exactly_and_left_as_it_was(
    round_: Round, server: Dovecot, tmp_path: Path, password: None
) -> None:
    """Every form in the folder is read as typed; each line names the message by its URL
    and UID; afterwards every message is where it was with the flags it had: none marked
    as read (EXAMINE, BODY.PEEK), none moved or deleted."""
    before = _flags(server)
    assert not any("\\Seen" in f for uid, f in before.items() if uid < 6)
    url = server.url()
    out = tmp_path / "out"
    result = round_.collect(url, out=out)
    assert _flags(server) == before
    lines = report(out)
    by_eid = {e["employee_id"]: e for e in lines.values() if e.get("employee_id")}
    for eid in ("1042", "1043", "1044", "1045", "3001"):
        assert_answers(round_, out, eid)
    assert by_eid["1042"]["file"] == f"{url}/1 › MUS Søren Ærø.pdf"
    assert by_eid["1042"]["message"] == f"{url}/1"
    assert by_eid["1042"]["sender"] == EMAIL["1042"]
    assert by_eid["1042"]["sent_at"] == "2026-11-20T09:30:00Z"
    assert by_eid["3001"]["attachment"] == "../svar\\3001.pdf"
    assert "kollega@andet.example" in by_eid["1043"]["hint"]
    assert by_eid["1045"]["forwarded_from"] == EMAIL["1045"]
    assert lines[f"{url}/5"]["reason"] == "a mail with no file attached"
    assert len(lines) == 6
    assert result.hint_count == 2  # the colleague, and the manager's forward


def test_a_folder_below_another_with_a_danish_name(
    round_: Round, server: Dovecot, tmp_path: Path, password: None
) -> None:
    """A folder named with æøå and a dash (modified UTF-7 on the wire), given as the URL
    has it, percent-encoded or not."""
    from urllib.parse import quote

    out = tmp_path / "out"
    before = _flags(server, FOLDER)
    round_.collect(server.url(quote(FOLDER)), out=out)
    assert _flags(server, FOLDER) == before
    lines = report(out)
    assert [e["file"] for e in lines.values()] == [f"{server.url(FOLDER)}/1 › anden.pdf"]
    assert_answers(round_, out, "1043")


def test_a_wrong_password_is_said_clearly_and_in_time(
    round_: Round, server: Dovecot, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A refused login is one line naming the folder and what to check, within seconds;
    the files beside it are still collected; collect exits 1, without a traceback."""
    monkeypatch.setenv(PASSWORD_ENV, "forkert")
    beside = round_.filled["1044"]
    out = tmp_path / "out"
    start = time.monotonic()
    result = CliRunner().invoke(
        cli,
        ["collect", server.url(), str(beside), "--forms", str(round_.forms), "--out", str(out),
         "--key-file", str(round_.key), "--workers", "1"],
    )  # fmt: skip
    took = time.monotonic() - start
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    lines = report(out)
    line = lines[server.url()]
    assert line["status"] == "unreadable"
    assert line["reason"].startswith(
        f"the server refused the user hr with the password in {PASSWORD_ENV}"
    )
    assert f"{server.url()}: unreadable — the server refused the user hr" in result.output
    assert lines[str(beside)]["status"] == "ok"
    assert took < 20  # dovecot waits a second on a failed login; collect itself no more


def test_no_password_is_said_before_connecting(
    round_: Round, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(PASSWORD_ENV, raising=False)
    found = list(iter_folder("imaps://hr@mail.invalid/INBOX", DEFAULT_LIMITS))
    assert [getattr(f, "reason", None) for f in found] == [
        f"no password: set {PASSWORD_ENV} to the mailbox's password"
    ]


def test_failures_are_lines_with_reasons(server: Dovecot, password: None) -> None:
    """No such folder, nothing listening, and a plain connection to an address that is not
    loopback (the password would go unencrypted) each give one line that says so."""
    (missing,) = iter_folder(server.url("Findes ikke"), DEFAULT_LIMITS)
    assert "the mailbox has no folder Findes ikke" in missing.reason  # type: ignore[union-attr]
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        closed = s.getsockname()[1]
    start = time.monotonic()
    (refused,) = iter_folder(f"imap://hr@127.0.0.1:{closed}/INBOX", DEFAULT_LIMITS, timeout=5)
    assert time.monotonic() - start < 6
    assert f"cannot connect to 127.0.0.1 port {closed}" in refused.reason  # type: ignore[union-attr]
    if LOCAL is None:
        pytest.skip("this machine has no address but loopback to test a plain connection on")
    (plain,) = iter_folder(server.url(host=LOCAL), DEFAULT_LIMITS)
    assert "offers no encryption (STARTTLS)" in plain.reason  # type: ignore[union-attr]
    assert "imaps://" in plain.reason  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("url", "says"),
    [
        ("imaps://mail.firma.dk/INBOX", "names no user"),
        ("imaps://hr:hemmelig@mail.firma.dk/INBOX", f"remove it and set {PASSWORD_ENV}"),
        ("imaps://hr@mail.firma.dk:99999/INBOX", "not an IMAP address"),
    ],
)
def test_a_mistyped_address_is_refused_before_anything_is_read(
    round_: Round, tmp_path: Path, url: str, says: str
) -> None:
    with pytest.raises(ConfigError, match=says):
        parse_url(url)
    result = CliRunner().invoke(
        cli,
        ["collect", url, "--forms", str(round_.forms), "--out", str(tmp_path / "out"),
         "--key-file", str(round_.key)],
    )  # fmt: skip
    assert result.exit_code != 0
    assert says in result.output
    assert "Traceback" not in result.output
    assert "hemmelig" not in result.output
    assert not (tmp_path / "out").exists()


def test_the_address_is_read_as_written() -> None:
    box = parse_url("imaps://hr%40firma.dk@Mail.Firma.dk/INBOX/MUS%202026")
    assert (box.user, box.host, box.port, box.folder) == (
        "hr@firma.dk",
        "mail.firma.dk",
        993,
        "INBOX/MUS 2026",
    )
    assert box.url == "imaps://hr@firma.dk@mail.firma.dk/INBOX/MUS 2026"
    assert parse_url("imap://hr@127.0.0.1:1143/").folder == "INBOX"
    assert parse_url("imap://hr@[::1]:1143/INBOX").loopback


# --- encrypted: imaps://, and imap:// with STARTTLS ---------------------------------------------


@pytest.fixture(scope="module")
def tls_server(round_: Round) -> Iterator[Dovecot]:
    with dovecot(tls=True) as d:
        d.append("INBOX", from_employee(round_, "1044").as_bytes())
        yield d


def test_imaps_and_starttls_are_read_with_the_certificate_checked(
    round_: Round, tls_server: Dovecot, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    password: None,
) -> None:  # fmt: skip
    """With the server's certificate authority trusted (SSL_CERT_FILE, as OpenSSL reads
    it), imaps:// and imap:// (which goes over to TLS with STARTTLS) both collect; dovecot's
    log shows both logins encrypted."""
    assert tls_server.ca is not None
    monkeypatch.setenv("SSL_CERT_FILE", str(tls_server.ca))
    for n, url in enumerate([tls_server.imaps_url(), tls_server.url()]):
        out = tmp_path / f"out{n}"
        round_.collect(url, out=out)
        (line,) = report(out).values()
        assert line["status"] == "ok", line
        assert_answers(round_, out, "1044")
    log = (tls_server.root / "dovecot.log").read_text(errors="replace")
    logins = [x for x in log.splitlines() if "Login: user=<hr>" in x and "method=PLAIN" in x]
    assert sum("TLS" in x for x in logins) >= 2


def test_a_certificate_not_trusted_is_refused_before_the_password_goes(
    tls_server: Dovecot, monkeypatch: pytest.MonkeyPatch, password: None
) -> None:
    """Against the system's certificate authorities the test's own certificate fails:
    one line saying the server did not prove who it is, and no login was tried."""
    monkeypatch.setenv("SSL_CERT_FILE", "/etc/ssl/certs/ca-certificates.crt")
    log = tls_server.root / "dovecot.log"
    before = log.read_text(errors="replace").count("Login: user=<hr>")
    (refused,) = iter_folder(tls_server.imaps_url(), DEFAULT_LIMITS, timeout=10)
    assert "did not prove who it is" in refused.reason  # type: ignore[union-attr]
    (starttls,) = iter_folder(tls_server.url(), DEFAULT_LIMITS, timeout=10)
    assert "did not prove who it is" in starttls.reason  # type: ignore[union-attr]
    assert "the password was not sent" in starttls.reason  # type: ignore[union-attr]
    assert log.read_text(errors="replace").count("Login: user=<hr>") == before


def test_the_servers_own_maildir_is_read_with_its_subfolders(
    round_: Round, server: Dovecot, tmp_path: Path
) -> None:
    """dovecot's Maildir on disk (Maildir++: a subfolder per IMAP folder, the server's own
    index files beside): every message of every folder, and none of the server's files."""
    maildir = server.root / "mail" / "hr"
    out = tmp_path / "out"
    round_.collect(maildir, out=out)
    lines = report(out)
    assert all(e["message"].startswith(str(maildir)) for e in lines.values())
    assert all("/cur/" in e["message"] or "/new/" in e["message"] for e in lines.values())
    forms = [e for e in lines.values() if e.get("employee_id")]
    assert sorted(e["employee_id"] for e in forms) == [
        "1042",
        "1043",
        "1043",
        "1044",
        "1045",
        "3001",
    ]
    assert sum(1 for e in forms if ".MUS" in e["message"]) == 1
    assert len(lines) == 7  # and the message without a file
    assert_answers(round_, out, "1045")


def test_the_next_batch_is_fetched_while_one_is_read() -> None:
    """The batches are made in a thread, the next while this one is used: once the first is
    taken, the second is asked for without waiting for the reader to want it."""
    from musforms.mail.imap import _ahead

    asked: list[int] = []

    def batches() -> Iterator[int]:
        for i in range(3):
            asked.append(i)
            yield i

    ahead = _ahead(batches())
    assert next(ahead) == 0
    for _wait in range(200):
        if len(asked) == 2:
            break
        time.sleep(0.01)
    assert asked == [0, 1]
    assert list(ahead) == [1, 2]


def test_small_batches_give_every_message_in_order_and_an_early_stop_ends_cleanly(
    server: Dovecot, password: None
) -> None:
    """Fetched two at a time, the next two ahead: the same messages in the same order as in
    one batch; a reader that stops after the first leaves no fetching thread behind."""
    import threading

    whole = [(m.where, getattr(m, "data", None)) for m in iter_folder(server.url(), DEFAULT_LIMITS)]
    small = iter_folder(server.url(), DEFAULT_LIMITS, batch=2)
    assert [(m.where, getattr(m, "data", None)) for m in small] == whole
    assert len(whole) == 6
    early = iter_folder(server.url(), DEFAULT_LIMITS, batch=2)
    assert next(early).where == whole[0][0]
    early.close()
    assert not [t for t in threading.enumerate() if t.name.startswith("musforms-imap")]
