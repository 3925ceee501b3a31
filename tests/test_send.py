"""musforms send, against a real SMTP server (aiosmtpd on loopback, STARTTLS on a self-signed
certificate, AUTH required): what arrives is each employee's own forms, byte for byte; a run
cut off halfway resumes without sending anyone anything twice; drafts open as drafts; HR's
texts, the roster, reminders and leaders' mails are checked before anything goes out."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import hashlib
import json
import os
import re
import shutil
import stat
import time
from collections import Counter
from collections.abc import Iterator
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner, Result

from musforms.cli import cli
from musforms.collect import collect
from musforms.generate import generate
from musforms.mail import send as mail
from musforms.mail.sendlog import LOG_FILE, read_log
from musforms.mail.texts import parse_text
from musforms.manifest import ManifestForm, load_manifest
from tests.clients.pdf import fill_pdfium
from tests.conftest import EVERY_TYPE, MULTILINE
from tests.smtp_server import ASCII_PASSWORD, PASSWORD, USER, Server, Silent

DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
# Names in Danish, Polish, Cyrillic, Greek and Arabic; every third employee reads English.
NAMES = ["Søren Ærø", "Zofia Żółkiewska", "Мария Иванова", "Νίκος Παπαδόπουλος", "ليلى حداد"]
LEADERS = [
    ("Åse Østergård", "aase@example.dk"),
    ("Bjørn Ødegaard", "bjoern@example.dk"),
    ("Cæcilie Åberg", "caecilie@example.dk"),
]


def _roster(path: Path, count: int, extra: list[str] | None = None) -> Path:
    rows = ["id;navn;e-mail;leder;leders e-mail;mødedato;sprog"]
    for i in range(count):
        leader, leader_mail = LEADERS[i % 3]
        lang = "en" if i % 3 == 2 else "da"
        name = f"{NAMES[i % len(NAMES)]} {i}"
        rows.append(f"{1000 + i};{name};e{i}@example.dk;{leader};{leader_mail};14-01-2027;{lang}")
    rows += extra or []
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    return path


def _round(tmp_path: Path, count: int, *, extra: list[str] | None = None) -> Path:
    """A round made by the real generate: forms/2026 inside a project folder whose
    config/mail/ holds the texts musforms init writes."""
    runner = CliRunner()
    project = tmp_path / "mus2026"
    assert runner.invoke(cli, ["init", str(project)]).exit_code == 0
    questions = project / "config" / "questions.yaml"
    questions.write_text(yaml.safe_dump(EVERY_TYPE, allow_unicode=True), encoding="utf-8")
    forms = project / "skemaer" / "2026"
    generate(questions, _roster(project / "roster.csv", count, extra), forms, "2026", workers=1)
    return forms


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    srv = Server(tmp_path).start()
    yield srv
    srv.stop()


def _send(forms: Path, server: Server, *args: str, password: str = PASSWORD) -> Result:
    return CliRunner().invoke(
        cli,
        ["send", str(forms), "--smtp", server.address, "--from", "HR <hr@example.dk>",
         "--user", USER, "--cafile", str(server.cert), "--rate", "0", "--deadline",
         "10-01-2027", *args],
        env={"MUSFORMS_SMTP_PASSWORD": password},
    )  # fmt: skip


def _attachments(msg: EmailMessage) -> dict[str, tuple[str, bytes]]:
    found = {}
    for part in msg.iter_attachments():
        name = part.get_filename()
        assert name is not None
        payload = part.get_payload(decode=True)
        assert isinstance(payload, bytes)
        found[name] = (part.get_content_type(), payload)
    return found


def _by_employee(forms: Path) -> dict[str | None, ManifestForm]:
    return {f.employee.email: f for f in load_manifest(forms).forms}


def test_a_round_of_50_arrives_each_with_their_own_forms_byte_for_byte(
    tmp_path: Path, server: Server
) -> None:
    """50 employees, 50 messages: each to the roster's address, with the employee's own PDF and
    Word form under their issued names and proper types, every byte as issued; the text in
    the employee's language with their name and leader; each in the send log with the
    attachments' sha256. A second run sends nothing."""
    forms = _round(tmp_path, 50)
    result = _send(forms, server, "--yes")
    assert result.exit_code == 0, result.output
    assert "Sent 50 of 50 invitations." in result.output
    received = server.handler.received
    assert len(received) == 50
    issued = _by_employee(forms)
    for got in received:
        assert got.mail_from == "hr@example.dk"
        assert len(got.rcpt_tos) == 1
        form = issued.pop(got.rcpt_tos[0])
        msg = got.message()
        employee = form.employee
        assert msg["To"].addresses[0].addr_spec == employee.email
        assert msg["To"].addresses[0].display_name == employee.name
        assert msg["Message-ID"] and msg["Date"]
        assert "X-Unsent" not in msg
        attached = _attachments(msg)
        files = form.files
        assert set(attached) == set(files.values())
        assert attached[files["pdf"]] == ("application/pdf", (forms / files["pdf"]).read_bytes())
        assert attached[files["docx"]] == (DOCX, (forms / files["docx"]).read_bytes())
        body = msg.get_body(("plain",))
        assert body is not None
        text = body.get_content()
        assert employee.name in text and employee.manager in text and "10-01-2027" in text
        if employee.language == "en":
            assert msg["Subject"] == "Preparing for your development conversation"
        else:
            assert msg["Subject"] == "Din forberedelse til MUS"
            assert "14-01-2027" in text
    assert issued == {}  # everyone, once
    log = list(read_log(forms))
    assert len(log) == 50
    entry = log[0]
    sent_files = {f.name: f.sha256 for f in entry.files}
    for name, digest in sent_files.items():
        assert hashlib.sha256((forms / name).read_bytes()).hexdigest() == digest
    assert stat.S_IMODE((forms / LOG_FILE).stat().st_mode) == 0o600

    again = _send(forms, server, "--yes")
    assert again.exit_code == 0, again.output
    assert "Already sent before" in again.output and ": 50;" in again.output
    assert "No invitations to send." in again.output
    assert len(server.handler.received) == 50


def test_a_server_that_hangs_up_after_20_then_a_rerun_sends_the_other_30_and_none_twice(
    tmp_path: Path, server: Server
) -> None:
    """The server closes the connection at the 21st message, on every fresh connection too:
    the run reports what it could not send and stops; the 20 accepted are in the send log.
    Run again (the server well again): the other 30 go, and nobody got a message twice.
    (Without the send log consulted, the second run sends all 50 again and this fails.) One
    connection, so the tries are counted exactly; several: the test after this one."""
    forms = _round(tmp_path, 50)
    server.handler.drop_after = 20
    first = _send(forms, server, "--yes", "--format", "pdf", "--connections", "1")
    assert first.exit_code == 1
    assert len(server.handler.received) == 20
    assert "Sent 20 of 50 invitations." in first.output
    assert "closed the connection" in first.output
    assert "Run the same command again" in first.output
    assert "Traceback" not in first.output
    assert server.handler.dropped == mail.TRIES * mail.LOST_IN_A_ROW
    assert len(list(read_log(forms))) == 20

    server.handler.drop_after = None
    second = _send(forms, server, "--yes", "--format", "pdf")
    assert second.exit_code == 0, second.output
    assert "Sent 30 of 30 invitations." in second.output
    counts = Counter(r.rcpt_tos[0] for r in server.handler.received)
    assert len(counts) == 50
    assert set(counts.values()) == {1}, [a for a, n in counts.items() if n > 1]


def test_over_three_connections_a_server_hanging_up_then_a_rerun_sends_each_once(
    tmp_path: Path, server: Server
) -> None:
    """Three connections at once; the server closes each at DATA once it has accepted 20,
    fresh ones too: the run stops and says so, every message accepted is in the send log
    and only those. Run again with the server well: the rest go, nobody twice."""
    forms = _round(tmp_path, 50)
    server.handler.drop_after = 20
    first = _send(forms, server, "--yes", "--format", "pdf", "--connections", "3")
    assert first.exit_code == 1
    assert len(server.handler.received) == 20
    assert "Sent 20 of 50 invitations." in first.output
    assert "closed the connection" in first.output and "Traceback" not in first.output
    logged = [e.to for e in read_log(forms)]
    assert sorted(logged) == sorted(r.rcpt_tos[0] for r in server.handler.received)
    assert len({r.peer for r in server.handler.received}) == 3  # over three connections

    server.handler.drop_after = None
    second = _send(forms, server, "--yes", "--format", "pdf", "--connections", "3")
    assert second.exit_code == 0, second.output
    assert "Sent 30 of 30 invitations." in second.output
    counts = Counter(r.rcpt_tos[0] for r in server.handler.received)
    assert len(counts) == 50 and set(counts.values()) == {1}
    assert Counter(e.to for e in read_log(forms)) == counts


def test_a_wrong_password_is_answered_clearly_and_nothing_is_sent(
    tmp_path: Path, server: Server
) -> None:
    forms = _round(tmp_path, 3)
    result = _send(forms, server, "--yes", password="forkert")
    assert result.exit_code == 1
    assert (
        f"Error: the mail server {server.address} refused the user name or password for "
        f"{USER} (535 5.7.8 Authentication credentials invalid)"
    ) in result.output
    assert "Traceback" not in result.output
    assert server.handler.received == []
    assert list(read_log(forms)) == []


def test_a_silent_server_is_answered_clearly_within_the_timeout(tmp_path: Path) -> None:
    forms = _round(tmp_path, 2)
    silent = Silent()
    try:
        started = time.monotonic()
        result = CliRunner().invoke(
            cli,
            ["send", str(forms), "--smtp", f"127.0.0.1:{silent.port}", "--from",
             "hr@example.dk", "--timeout", "2", "--deadline", "10-01-2027", "--yes"],
        )  # fmt: skip
        elapsed = time.monotonic() - started
    finally:
        silent.close()
    assert result.exit_code == 1
    assert (
        f"Error: the mail server 127.0.0.1:{silent.port} did not answer within 2 seconds"
        in result.output
    )
    assert 2 <= elapsed < 10
    assert list(read_log(forms)) == []


def test_an_address_the_server_refuses_is_reported_with_its_reply_and_the_rest_still_go(
    tmp_path: Path, server: Server
) -> None:
    forms = _round(tmp_path, 5)
    server.handler.refuse = {"e2@example.dk"}
    result = _send(forms, server, "--yes", "--format", "pdf")
    assert result.exit_code == 1
    assert (
        "Not sent: employee 1002 (Мария Иванова 2) <e2@example.dk>: the server refused the "
        "address: 550 5.1.1 <e2@example.dk>: Recipient address rejected: User unknown. Check "
        "the address in the roster (a corrected roster goes with --roster)"
    ) in result.output
    assert sorted(r.rcpt_tos[0] for r in server.handler.received) == [
        "e0@example.dk", "e1@example.dk", "e3@example.dk", "e4@example.dk",
    ]  # fmt: skip
    # Not in the log, so the next run tries again once the address is put right.
    assert "1002" not in {e.employee_id for e in read_log(forms)}


def test_drafts_open_as_drafts_private_and_byte_identical(tmp_path: Path) -> None:
    """--drafts: one .eml per employee, readable by email, X-Unsent: 1 and no Date or
    Message-ID (so Outlook and Thunderbird open it ready to send), the forms as issued; the
    folder 0700, each file 0600; nothing in the send log."""
    forms = _round(tmp_path, 4)
    outbox = tmp_path / "udbakke"
    result = CliRunner().invoke(
        cli, ["send", str(forms), "--drafts", str(outbox), "--from", "hr@example.dk",
              "--deadline", "10-01-2027"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "Wrote 4 drafts" in result.output
    assert stat.S_IMODE(outbox.stat().st_mode) == 0o700
    issued = _by_employee(forms)
    drafts = sorted(outbox.iterdir())
    assert len(drafts) == 4
    for path in drafts:
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        msg = message_from_bytes(path.read_bytes(), policy=policy.default)
        assert isinstance(msg, EmailMessage)
        assert msg["X-Unsent"] == "1"
        assert "Date" not in msg and "Message-ID" not in msg
        form = issued.pop(msg["To"].addresses[0].addr_spec)
        files = form.files
        assert path.name == Path(files["pdf"]).with_suffix(".eml").name
        attached = _attachments(msg)
        for name in files.values():
            assert attached[name][1] == (forms / name).read_bytes()
    assert issued == {}
    assert not (forms / LOG_FILE).exists()


def test_file_names_with_danish_letters_go_as_rfc_2231_and_headers_as_utf8(
    tmp_path: Path,
) -> None:
    """A file name in æøå is written as RFC 2231 (filename*=utf-8''…) and read back whole; the
    subject and the recipient's name travel as UTF-8 encoded words, not raw bytes."""
    pdf = tmp_path / "x.pdf"
    pdf.write_bytes(b"%PDF-1.4 not much\n")
    text = mail.load_text(None, "invitation", "da", "da")
    out = mail.Outgoing(
        kind="invitation", to="soeren@example.dk", to_name="Søren Ærø", employee_id="1",
        text=text, values=dict.fromkeys(
            ("name", "first_name", "leader", "meeting_date", "deadline", "department",
             "organisation"), "Ærø"),
        attachments=(mail.Attachment(pdf, "Søren Ærø – MUS.pdf"),), draft_name="1.eml",
    )  # fmt: skip
    msg, files, message_id = mail.build_message(out, mail.sender_address("hr@example.dk"))
    raw = msg.as_bytes()
    assert b"filename*=utf-8''S%C3%B8ren%20%C3%86r%C3%B8%20%E2%80%93%20MUS.pdf" in raw
    head = raw.split(b"\r\n\r\n", 1)[0]
    assert head.isascii()
    parsed = message_from_bytes(raw, policy=policy.default)
    assert isinstance(parsed, EmailMessage)
    assert [p.get_filename() for p in parsed.iter_attachments()] == ["Søren Ærø – MUS.pdf"]
    assert parsed["To"].addresses[0].display_name == "Søren Ærø"
    assert message_id.endswith("@example.dk>") and parsed["Message-ID"] == message_id
    assert files[0].name == "Søren Ærø – MUS.pdf"


def test_an_unknown_placeholder_is_refused_before_anything_is_sent(
    tmp_path: Path, server: Server
) -> None:
    forms = _round(tmp_path, 3)
    texts = forms.parent.parent / "config" / "mail"
    da = texts / "invitation.da.txt"
    lines = da.read_text(encoding="utf-8").split("\n")
    lines[4] = "Din leder {lederen} glæder sig."
    da.write_text("\n".join(lines), encoding="utf-8")
    result = _send(forms, server, "--yes")
    assert result.exit_code == 1
    assert f"Error: {da}, line 5: {{lederen}} is not a placeholder musforms knows" in (
        result.output
    )
    assert server.handler.received == []
    assert not (forms / LOG_FILE).exists()


def test_a_deadline_the_text_needs_must_be_given(tmp_path: Path, server: Server) -> None:
    forms = _round(tmp_path, 2)
    result = CliRunner().invoke(
        cli, ["send", str(forms), "--drafts", str(tmp_path / "out"), "--from", "hr@example.dk"]
    )
    assert result.exit_code == 1
    assert "uses the return deadline ({frist} or {deadline}): give it with --deadline" in (
        result.output
    )
    assert not (tmp_path / "out").exists()


def test_the_texts_follow_the_rule_texts_then_the_project_then_built_in(tmp_path: Path) -> None:
    forms = _round(tmp_path, 1)
    project_texts = forms.parent.parent / "config" / "mail"
    assert mail.texts_folder(forms, None) == project_texts.resolve()
    own = tmp_path / "own"
    own.mkdir()
    (own / "invitation.da.txt").write_text("Hej {fornavn}\n\nSe vedhæftet.\n", encoding="utf-8")
    assert mail.texts_folder(forms, own) == own
    # English employee, only a Danish file: the organisation's language (da) is used.
    text = mail.load_text(own, "invitation", "en", "da")
    assert (text.subject, text.source) == ("Hej {fornavn}", str(own / "invitation.da.txt"))
    # No file of that kind in the folder: the built-in one in the employee's language.
    builtin = mail.load_text(own, "reminder", "en", "da")
    assert builtin.source == "the built-in reminder.en.txt"
    shutil.rmtree(project_texts)
    assert mail.texts_folder(forms, None) is None


def test_roster_problems_are_each_named_and_the_rest_go_out(tmp_path: Path, server: Server) -> None:
    """No address, something that is not one address (a display-name trick, two addresses, a
    double @), and one address shared by two people (whatever the case): each a line naming
    the employee and what to do; everyone else gets theirs."""
    extra = [
        "2001;Uden Mail;;Åse;aase@example.dk;;da",
        '2002;Falsk Navn;"Søren <evil@example.com>";Åse;aase@example.dk;;da',
        "2003;To Adresser;a@example.dk, b@example.dk;Åse;aase@example.dk;;da",
        "2004;Dobbelt Snabel;a@b@example.dk;Åse;aase@example.dk;;da",
        "2005;Delt En;delt@example.dk;Åse;aase@example.dk;;da",
        "2006;Delt To;DELT@Example.dk;Åse;aase@example.dk;;da",
    ]
    forms = _round(tmp_path, 3, extra=extra)
    result = _send(forms, server, "--yes", "--format", "pdf")
    assert result.exit_code == 1
    out = result.output
    assert "Not sent: employee 2001 (Uden Mail): has no e-mail address in the roster." in out
    assert (
        "Not sent: employee 2002 (Falsk Navn): 'Søren <evil@example.com>' is not one plain "
        "e-mail address"
    ) in out
    assert "Not sent: employee 2003 (To Adresser): 'a@example.dk, b@example.dk' is not one" in out
    assert "Not sent: employee 2004 (Dobbelt Snabel): 'a@b@example.dk' is not an e-mail" in out
    assert (
        "Not sent: employee 2005 (Delt En): shares the address delt@example.dk with employee "
        "2006 (Delt To)"
    ) in out
    assert "Not sent: employee 2006 (Delt To): shares the address DELT@Example.dk" in out
    assert "Correct the e-mail column in the roster, then give it with --roster" in out
    got = sorted(r.rcpt_tos[0] for r in server.handler.received)
    assert got == ["e0@example.dk", "e1@example.dk", "e2@example.dk"]
    assert "evil@example.com" not in str([r.data for r in server.handler.received])


def test_a_corrected_roster_given_with_roster_reaches_those_left_out(
    tmp_path: Path, server: Server
) -> None:
    forms = _round(tmp_path, 2, extra=["2001;Uden Mail;;Åse;aase@example.dk;;da"])
    first = _send(forms, server, "--yes", "--format", "pdf")
    assert first.exit_code == 1
    fixed = _roster(tmp_path / "rettet.csv", 2, ["2001;Uden Mail;uden@example.dk;Åse;;;da"])
    second = _send(forms, server, "--yes", "--format", "pdf", "--roster", str(fixed))
    assert second.exit_code == 0, second.output
    assert "Sent 1 of 1 invitation." in second.output
    assert [r.rcpt_tos[0] for r in server.handler.received][-1] == "uden@example.dk"


def test_a_form_generated_again_since_counts_as_not_sent(tmp_path: Path, server: Server) -> None:
    forms = _round(tmp_path, 3)
    assert _send(forms, server, "--yes", "--format", "pdf").exit_code == 0
    name = load_manifest(forms).forms[1].files["pdf"]
    (forms / name).write_bytes((forms / name).read_bytes() + b"\n% made again\n")
    result = _send(forms, server, "--yes", "--format", "pdf")
    assert result.exit_code == 0, result.output
    assert "Sent 1 of 1 invitation." in result.output
    assert server.handler.received[-1].rcpt_tos == ["e1@example.dk"]


def test_without_a_terminal_and_without_yes_nothing_is_sent(tmp_path: Path, server: Server) -> None:
    forms = _round(tmp_path, 3)
    result = _send(forms, server)
    assert result.exit_code == 1
    assert "3 invitations from HR <hr@example.dk> through" in result.output
    assert "  subject: Din forberedelse til MUS\n" in result.output
    assert (
        "Error: Nothing was sent: musforms asks before it sends, and there is no terminal to "
        "ask on. Add --yes to send without asking."
    ) in result.output
    assert server.handler.received == []
    assert not (forms / LOG_FILE).exists()


def test_tls_none_is_refused_to_another_machine(tmp_path: Path) -> None:
    forms = _round(tmp_path, 1)
    result = CliRunner().invoke(
        cli, ["send", str(forms), "--smtp", "smtp.example.dk", "--tls", "none", "--from",
              "hr@example.dk", "--yes"],
    )  # fmt: skip
    assert result.exit_code == 1
    assert "--tls none sends the forms (and any password) unencrypted, so it is only allowed" in (
        result.output
    )
    assert mail.is_loopback("127.0.0.1") and mail.is_loopback("::1")
    assert not mail.is_loopback("192.0.2.1")


def _collected(
    tmp_path: Path, forms: Path, filled: range, blank: list[int], also: tuple[str, ...] = ()
) -> Path:
    """Real returns: ``filled`` employees' PDFs filled in PDFium, ``blank`` ones sent back as
    issued; collected by the real collect (which drafts the minutes)."""
    returned = tmp_path / "returned"
    returned.mkdir()
    by_id = {f.employee_id: f for f in load_manifest(forms).forms}
    for eid in [str(1000 + i) for i in filled] + list(also):
        src = forms / by_id[eid].files["pdf"]
        fill_pdfium(src, returned / f"svar {eid}.pdf", {"lykkedes": f"{MULTILINE} {eid}"})
    for i in blank:
        shutil.copy(forms / by_id[str(1000 + i)].files["pdf"], returned / f"blank {i}.pdf")
    results = tmp_path / "results"
    collect([returned], forms, results, workers=1)
    return results


def test_reminders_go_to_the_missing_only_blank_returns_included_and_not_twice(
    tmp_path: Path, server: Server
) -> None:
    forms = _round(tmp_path, 8)
    results = _collected(tmp_path, forms, range(3), blank=[3])
    report = json.loads((results / "report.json").read_text(encoding="utf-8"))
    assert "1003" in report["missing"] and "1003" not in report["returned"]
    result = _send(forms, server, "--yes", "--remind", str(results), "--format", "pdf")
    assert result.exit_code == 0, result.output
    got = sorted(r.rcpt_tos[0] for r in server.handler.received)
    assert got == [f"e{i}@example.dk" for i in range(3, 8)]
    for r in server.handler.received:
        msg = r.message()
        assert msg["Subject"] in (
            "Påmindelse: din forberedelse til MUS",
            "Reminder: preparing for your development conversation",
        )
        assert len(_attachments(msg)) == 1  # the form again

    again = _send(forms, server, "--yes", "--remind", str(results), "--format", "pdf")
    assert again.exit_code == 0, again.output
    assert "Reminded less than 7 days ago: 5, left out." in again.output
    assert len(server.handler.received) == 5
    every_day = _send(
        forms, server, "--yes", "--remind", str(results), "--format", "pdf", "--every", "0"
    )
    assert "Sent 5 of 5 reminders." in every_day.output, every_day.output
    assert len(server.handler.received) == 10
    # A week later they are due again.
    later = dt.datetime.now().astimezone() + dt.timedelta(days=7, minutes=1)
    plan = mail.plan_reminders(forms, results, deadline=dt.date(2027, 1, 10), now=later)
    assert sorted(m.to for m in plan.messages) == got


def _conclusions(results: Path) -> dict[str, ManifestForm]:
    """The conclusion forms collect issued, by file name."""
    issued = load_manifest(results / "conclusions").forms
    return {name: f for f in issued for name in f.files.values()}


def test_each_leader_gets_the_conclusion_forms_of_their_own_employees_only(
    tmp_path: Path, server: Server
) -> None:
    # Cæcilie leads, and is an employee too, reading English: her mail is in English.
    # Uden Leder has no leader's address: their form goes to no one, and a line says so.
    extra = [
        "3000;Cæcilie Åberg;caecilie@example.dk;Direktør;direktoer@example.dk;;en",
        "3001;Uden Leder;uden@example.dk;;;;da",
    ]
    forms = _round(tmp_path, 9, extra=extra)
    results = _collected(tmp_path, forms, range(7), blank=[], also=("3001",))
    result = _send(forms, server, "--yes", "--leaders", str(results))
    assert result.exit_code == 1
    assert (
        "Not sent: employee 3001 (Uden Leder): has no leader's e-mail address in the roster, "
        "so their conclusion form has no one to go to. Correct the leader's e-mail column"
    ) in result.output
    assert "Sent 3 of 3 leaders' mails." in result.output
    issued = _conclusions(results)
    manager_of = {f.employee_id: f.employee for f in load_manifest(forms).forms}
    minutes = {p.name for p in (results / "minutes").iterdir()}
    got: dict[str, list[str]] = {}
    for r in server.handler.received:
        msg = r.message()
        leader = r.rcpt_tos[0]
        english = leader == "caecilie@example.dk"
        assert msg["Subject"] == (
            "Conclusion forms from MUS for your employees"
            if english
            else "Konklusionsskemaer til MUS med dine medarbejdere"
        )
        body = msg.get_body().get_content()
        assert ("fill in the form together with the employee" in body.casefold()) == english
        assert ("udfyld skemaet sammen med medarbejderen" in body.casefold()) != english
        attached = _attachments(msg)
        for name, (kind, data) in attached.items():
            form = issued[name]  # an issued conclusion form, under its issued name
            assert manager_of[form.employee_id].manager_email == leader
            assert kind == DOCX
            assert data == (results / "conclusions" / name).read_bytes()
            assert name not in minutes  # never the name of a minutes draft
        got[leader] = sorted(issued[name].employee_id for name in attached)
        assert f"for {len(attached)} " in body
    # Exactly their own: every employee back, under their leader, once.
    assert got == {
        mail_: sorted(str(1000 + i) for i in range(7) if LEADERS[i % 3][1] == mail_)
        for _n, mail_ in LEADERS
    }
    again = _send(forms, server, "--yes", "--leaders", str(results))
    assert "No leaders' mails to send." in again.output
    assert "Already sent before" in again.output and ": 3;" in again.output
    # One more comes in (Bjørn's employee 1007): Bjørn alone gets it, and only it.
    src = forms / load_manifest(forms).by_employee()["1007"].files["pdf"]
    fill_pdfium(src, tmp_path / "returned" / "sent, later.pdf", {"lykkedes": "Senere svar"})
    collect([tmp_path / "returned"], forms, results, workers=1)
    later = _send(forms, server, "--yes", "--leaders", str(results))
    assert "Sent 1 of 1 leader's mail." in later.output, later.output
    last = server.handler.received[-1]
    assert last.rcpt_tos == ["bjoern@example.dk"]
    assert list(_attachments(last.message())) == [f"{Path(src.name).stem}-konklusion.docx"]
    assert len(server.handler.received) == 4


def test_without_conclusion_forms_leaders_get_the_minutes_then_the_forms_under_other_names(
    tmp_path: Path, server: Server
) -> None:
    """Collected with --conclusion-format none, each leader gets their employees' minutes
    drafts as before. Once the conclusion forms are issued (PDF and Word), the next run sends
    those, as not sent yet, under names unlike the minutes drafts' the leader already has;
    the .eml drafts carry the same bytes."""
    forms = _round(tmp_path, 6)
    returned = tmp_path / "returned"
    returned.mkdir()
    for form in load_manifest(forms).forms:
        text = f"{MULTILINE} {form.employee_id}"
        fill_pdfium(
            forms / form.files["pdf"], returned / f"{form.employee_id}.pdf", {"lykkedes": text}
        )
    results = tmp_path / "results"
    collect([returned], forms, results, workers=1, conclusion_formats=None)
    assert not (results / "conclusions" / "manifest.json").exists()
    first = _send(forms, server, "--yes", "--leaders", str(results))
    assert "Sent 3 of 3 leaders' mails." in first.output, first.output
    manager_of = {f.employee_id: f.employee for f in load_manifest(forms).forms}
    minutes_had: dict[str, set[str]] = {}
    for r in server.handler.received:
        attached = _attachments(r.message())
        for name, (kind, data) in attached.items():
            assert kind == DOCX
            assert data == (results / "minutes" / name).read_bytes()
            assert manager_of[name.split("-")[0]].manager_email == r.rcpt_tos[0]
        minutes_had[r.rcpt_tos[0]] = set(attached)
    assert sum(map(len, minutes_had.values())) == 6

    collect([returned], forms, results, workers=1, conclusion_formats=("pdf", "docx"))
    issued = _conclusions(results)
    assert len(issued) == 12
    outbox = tmp_path / "outbox"
    drafts = CliRunner().invoke(
        cli,
        ["send", str(forms), "--leaders", str(results), "--drafts", str(outbox),
         "--from", "hr@example.dk"],
    )  # fmt: skip
    assert drafts.exit_code == 0, drafts.output
    second = _send(forms, server, "--yes", "--leaders", str(results))
    assert "Sent 3 of 3 leaders' mails." in second.output, second.output
    received = server.handler.received[3:]
    in_drafts = {
        draft.name: _attachments(message_from_bytes(draft.read_bytes(), policy=policy.default))  # type: ignore[arg-type]
        for draft in outbox.iterdir()
    }
    for r in received:
        leader = r.rcpt_tos[0]
        attached = _attachments(r.message())
        assert {issued[name].employee_id for name in attached} == {
            n.split("-")[0] for n in minutes_had[leader]
        }
        assert not set(attached) & minutes_had[leader]  # no name the minutes drafts have
        assert len({name.rsplit(".", 1)[0] for name in attached}) == len(attached) // 2
        for name, (_kind, data) in attached.items():
            assert data == (results / "conclusions" / name).read_bytes()
        assert in_drafts[f"leader-{leader.replace('@', '-').replace('.', '-')}.eml"] == attached


def test_conclusion_forms_named_like_the_minutes_by_an_earlier_version_still_go_renamed(
    tmp_path: Path, server: Server
) -> None:
    """Results whose conclusion forms carry the minutes drafts' names (as an earlier version
    issued them): the leader gets them under the conclusion's name, byte for byte; the next
    collect renames them on disk and leaves no copy under the old name."""
    forms = _round(tmp_path, 3)
    results = _collected(tmp_path, forms, range(3), blank=[])
    folder = results / "conclusions"
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    old: dict[str, bytes] = {}
    for form in manifest["forms"]:
        new = form["files"]["docx"]
        name = new.replace("-konklusion", "").replace("-conclusion", "")
        (folder / new).rename(folder / name)
        form["files"]["docx"] = name
        old[new] = (folder / name).read_bytes()
    (folder / "manifest.json").write_text(
        json.dumps(manifest, ensure_ascii=False, indent=2), encoding="utf-8"
    )
    result = _send(forms, server, "--yes", "--leaders", str(results))
    assert "Sent 3 of 3 leaders' mails." in result.output, result.output
    got = {}
    for r in server.handler.received:
        got.update({name: data for name, (_k, data) in _attachments(r.message()).items()})
    assert got == old
    collect([tmp_path / "returned"], forms, results, workers=1)
    assert sorted(p.name for p in folder.glob("*.docx")) == sorted(old)


def test_a_send_log_line_cut_short_by_a_crash_is_dropped_and_the_next_run_goes_on(
    tmp_path: Path, server: Server
) -> None:
    forms = _round(tmp_path, 3)
    assert _send(forms, server, "--yes", "--format", "pdf").exit_code == 0
    log = forms / LOG_FILE
    lines = log.read_bytes().split(b"\n")
    log.write_bytes(b"\n".join(lines[:2]) + b"\n" + lines[2][:40])  # the third cut short
    result = _send(forms, server, "--yes", "--format", "pdf")
    assert result.exit_code == 0, result.output
    assert "Sent 1 of 1 invitation." in result.output
    assert len(list(read_log(forms))) == 3
    log.write_bytes(b"{not json\n" + log.read_bytes())
    broken = _send(forms, server, "--yes", "--format", "pdf")
    assert broken.exit_code == 1
    assert f"Error: {log}, line 1, cannot be read." in broken.output


def test_the_forms_folder_is_locked_while_sending(tmp_path: Path, server: Server) -> None:
    from musforms.lock import folder_lock

    forms = _round(tmp_path, 2)
    with folder_lock(forms, "generate"):
        result = _send(forms, server, "--yes", "--format", "pdf")
    assert result.exit_code == 1
    assert "is in use by another musforms command ('musforms generate'" in result.output
    assert server.handler.received == []


def test_init_writes_the_mail_texts_in_both_languages(tmp_path: Path) -> None:
    runner = CliRunner()
    assert runner.invoke(cli, ["init", str(tmp_path / "r")]).exit_code == 0
    folder = tmp_path / "r" / "config" / "mail"
    names = sorted(p.name for p in folder.iterdir())
    assert names == [f"{k}.{lang}.txt" for k in ("checkin", "invitation", "leaders", "reminder")
                     for lang in ("da", "en")]  # fmt: skip
    for path in folder.iterdir():
        kind, lang, _ = path.name.split(".")
        text = mail.load_text(folder, kind, lang, "da")  # type: ignore[arg-type]
        assert text.source == str(path)
    assert "{navn}" in (folder / "invitation.da.txt").read_text(encoding="utf-8")
    assert "{name}" in (folder / "invitation.en.txt").read_text(encoding="utf-8")
    assert stat.S_IMODE((folder / "invitation.da.txt").stat().st_mode) == 0o600


def test_a_server_that_goes_silent_halfway_is_answered_within_the_timeout(
    tmp_path: Path, server: Server
) -> None:
    """After 2 messages the server stops answering: each later try ends after --timeout, and
    the run stops after two messages in a row, saying so; the 2 accepted are in the log.
    (One connection: over several, the messages in flight are each tried.)"""
    forms = _round(tmp_path, 5)
    server.handler.stall_after = 2
    started = time.monotonic()
    result = _send(
        forms, server, "--yes", "--format", "pdf", "--timeout", "1", "--connections", "1"
    )
    elapsed = time.monotonic() - started
    assert result.exit_code == 1
    assert "Sent 2 of 5 invitations." in result.output
    assert f"the mail server {server.address} stopped answering for 1 seconds" in result.output
    assert "1 more was not sent. Run the same command again" in result.output
    assert elapsed < 30
    assert len(list(read_log(forms))) == 2


def test_the_rate_paces_the_messages(tmp_path: Path, server: Server) -> None:
    """--rate 600 (one every 0.1 s): five messages take at least 0.4 s."""
    forms = _round(tmp_path, 5)
    started = time.monotonic()
    result = _send(forms, server, "--yes", "--format", "pdf", "--rate", "600")
    assert result.exit_code == 0, result.output
    assert time.monotonic() - started >= 0.4
    assert len(server.handler.received) == 5


def test_the_rate_paces_the_messages_over_all_connections_together(
    tmp_path: Path, server: Server
) -> None:
    """--rate 600 over three connections: one message every 0.1 s in all, not on each, so
    seven take at least 0.6 s; and a round of 12 goes over all three."""
    forms = _round(tmp_path, 12)
    started = time.monotonic()
    result = _send(forms, server, "--yes", "--format", "pdf", "--rate", "600")
    took = time.monotonic() - started
    assert result.exit_code == 0, result.output
    assert took >= 1.1
    assert len(server.handler.received) == 12
    assert len({r.peer for r in server.handler.received}) == 3


def _on_terminal(args: list[str], answers: list[tuple[str, str]], env: dict[str, str]) -> str:
    """Run musforms on a pseudo-terminal, answering each prompt as it appears; what it
    printed."""
    import pty
    import select
    import subprocess
    import sys

    master, slave = pty.openpty()
    proc = subprocess.Popen(
        [sys.executable, "-m", "musforms", *args],
        stdin=slave, stdout=slave, stderr=slave, env=env, close_fds=True,
    )  # fmt: skip
    os.close(slave)
    seen = b""
    pending = list(answers)
    deadline = time.monotonic() + 120
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([master], [], [], 0.5)
            if ready:
                try:
                    chunk = os.read(master, 4096)
                except OSError:  # the other end closed: the program ended
                    break
                if not chunk:
                    break
                seen += chunk
                if pending and pending[0][0].encode() in seen.rsplit(b"\n", 1)[-1]:
                    os.write(master, pending.pop(0)[1].encode() + b"\n")
            elif proc.poll() is not None:
                break
        proc.wait(timeout=30)
    finally:
        os.close(master)
        if proc.poll() is None:
            proc.kill()
    return seen.decode("utf-8", "replace")


def test_on_a_terminal_it_asks_first_and_asks_for_the_password_hidden(
    tmp_path: Path, server: Server
) -> None:
    forms = _round(tmp_path, 3)
    args = ["send", str(forms), "--smtp", server.address, "--from", "hr@example.dk",
            "--user", USER, "--cafile", str(server.cert), "--rate", "0", "--format", "pdf",
            "--deadline", "10-01-2027"]  # fmt: skip
    clean = {k: v for k, v in os.environ.items() if k != "MUSFORMS_SMTP_PASSWORD"}
    said = _on_terminal(args, [("Send these 3 invitations?", "n")], clean)
    assert "Nothing was sent." in said
    assert server.handler.received == []
    said = _on_terminal(
        args,
        [("Send these 3 invitations?", "y"), (f"Password for {USER}", PASSWORD)],
        clean,
    )
    assert "Sent 3 of 3 invitations." in said, said
    assert PASSWORD not in said
    assert len(server.handler.received) == 3


def test_tls_from_the_first_byte_on_port_465_style(tmp_path: Path) -> None:
    """--tls ssl: the connection is encrypted before the server says a word (SMTP_SSL)."""
    forms = _round(tmp_path, 2)
    srv = Server(tmp_path, tls="ssl").start()
    try:
        result = _send(forms, srv, "--yes", "--format", "pdf", "--tls", "ssl")
    finally:
        srv.stop()
    assert result.exit_code == 0, result.output
    assert len(srv.handler.received) == 2


def test_no_encryption_is_allowed_to_this_machine(tmp_path: Path) -> None:
    forms = _round(tmp_path, 2)
    srv = Server(tmp_path, tls="none").start()
    try:
        result = CliRunner().invoke(
            cli, ["send", str(forms), "--smtp", f"localhost:{srv.port}", "--tls", "none",
                  "--from", "hr@example.dk", "--rate", "0", "--deadline", "10-01-2027",
                  "--yes", "--format", "pdf"],
        )  # fmt: skip
    finally:
        srv.stop()
    assert result.exit_code == 0, result.output
    assert len(srv.handler.received) == 2


def test_starttls_to_a_server_with_an_unknown_certificate_is_refused(
    tmp_path: Path, server: Server
) -> None:
    """Without --cafile the self-signed certificate does not verify: nothing is sent, and the
    line says how to trust the organisation's own certificate authority."""
    forms = _round(tmp_path, 2)
    result = CliRunner().invoke(
        cli, ["send", str(forms), "--smtp", server.address, "--from", "hr@example.dk",
              "--user", USER, "--deadline", "10-01-2027", "--yes"],
        env={"MUSFORMS_SMTP_PASSWORD": PASSWORD, "SSL_CERT_FILE": "/nonexistent"},
    )  # fmt: skip
    assert result.exit_code == 1
    assert f"Error: the certificate of the mail server {server.address} could not be verified" in (
        result.output
    )
    assert "give its certificate with --cafile" in result.output
    assert server.handler.received == []


def _send_command(forms: Path, server: Server, connections: int) -> list[str]:
    """The command line of a musforms send in a process of its own, as HR runs it."""
    import sys

    return [sys.executable, "-m", "musforms", "send", str(forms), "--smtp", server.address,
            "--from", "hr@example.dk", "--user", USER, "--cafile", str(server.cert), "--rate",
            "0", "--format", "pdf", "--deadline", "10-01-2027", "--yes", "--connections",
            str(connections)]  # fmt: skip


def test_a_run_killed_halfway_leaves_every_accepted_message_on_record(
    tmp_path: Path, server: Server
) -> None:
    """musforms send is killed (SIGKILL) as it starts on the 11th message, after the server
    accepted 10: the send log holds those 10, and the next run sends the other 40 and none
    of the first 10 again. (The log line is fsynced before the next message goes.) One
    connection, where starting the 11th means the 10th is logged; several: the test after
    this one."""
    import signal
    import subprocess

    forms = _round(tmp_path, 50)
    args = _send_command(forms, server, connections=1)
    env = {**os.environ, "MUSFORMS_SMTP_PASSWORD": PASSWORD}
    proc = subprocess.Popen(args, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)

    def kill_at_the_eleventh(accepted: int) -> None:
        if accepted == 10:
            os.kill(proc.pid, signal.SIGKILL)

    server.handler.on_rcpt = kill_at_the_eleventh
    proc.communicate(timeout=120)
    assert proc.returncode == -signal.SIGKILL
    assert len(server.handler.received) == 10
    assert len(list(read_log(forms))) == 10
    server.handler.on_rcpt = None
    again = subprocess.run(args, env=env, capture_output=True, text=True, timeout=120)
    assert again.returncode == 0, again.stdout + again.stderr
    assert "Sent 40 of 40 invitations." in again.stdout
    counts = Counter(r.rcpt_tos[0] for r in server.handler.received)
    assert len(counts) == 50 and set(counts.values()) == {1}


def test_over_three_connections_a_run_killed_as_a_message_ends_sends_none_twice(
    tmp_path: Path, server: Server
) -> None:
    """Three connections; musforms send is killed (SIGKILL) as the 11th message's DATA ends,
    which the server then does not accept: the send log holds the 10 it accepted, no other
    connection ended a message meanwhile (only one at a time is between the end of its DATA
    and its line in the log), and the next run sends the other 40, none twice."""
    import signal
    import subprocess

    forms = _round(tmp_path, 50)
    args = _send_command(forms, server, connections=3)
    env = {**os.environ, "MUSFORMS_SMTP_PASSWORD": PASSWORD}
    proc = subprocess.Popen(args, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)

    waited: list[asyncio.Event] = []
    busy: list[int] = []

    async def kill_at_the_end_of_the_eleventh(accepted: int) -> bool:
        if accepted < 10:
            return False
        busy.append(accepted)
        try:
            if len(busy) == 1:  # the 11th: another connection ending a message meanwhile
                waited.append(asyncio.Event())
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(waited[0].wait(), 2)
                os.kill(proc.pid, signal.SIGKILL)
                return True  # not accepted
            waited[0].set()  # the client killed next, before it can log this one
            return False  # accepted, as a server takes a message once it has all of it
        finally:
            busy.remove(accepted)

    server.handler.on_data = kill_at_the_end_of_the_eleventh
    proc.communicate(timeout=120)
    assert proc.returncode == -signal.SIGKILL
    for _wait in range(100):  # until the server is done with what it was sent
        if not busy:
            break
        time.sleep(0.1)
    assert len(server.handler.received) == 10
    assert sorted(e.to for e in read_log(forms)) == sorted(
        r.rcpt_tos[0] for r in server.handler.received
    )
    server.handler.on_data = None
    again = subprocess.run(args, env=env, capture_output=True, text=True, timeout=120)
    assert again.returncode == 0, again.stdout + again.stderr
    assert "Sent 40 of 40 invitations." in again.stdout
    counts = Counter(r.rcpt_tos[0] for r in server.handler.received)
    assert len(counts) == 50 and set(counts.values()) == {1}


def test_ctrl_c_halfway_says_how_many_were_sent_and_how_to_finish(
    tmp_path: Path, server: Server
) -> None:
    import signal
    import subprocess

    forms = _round(tmp_path, 20)
    args = _send_command(forms, server, connections=1)
    env = {**os.environ, "MUSFORMS_SMTP_PASSWORD": PASSWORD}
    proc = subprocess.Popen(args, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)

    def interrupt_at_the_sixth(accepted: int) -> None:
        if accepted == 5:
            server.handler.on_rcpt = None
            os.kill(proc.pid, signal.SIGINT)

    server.handler.on_rcpt = interrupt_at_the_sixth
    _out, err = proc.communicate(timeout=120)
    said = err.decode()
    assert proc.returncode == 130, said
    assert (
        "Stopped. 5 of 20 messages were sent before it stopped and are in the send log "
        f"({forms / LOG_FILE}); nobody gets those again. To finish the job, run the same "
        "command again."
    ) in " ".join(said.split()), said
    assert "Traceback" not in said
    assert len(list(read_log(forms))) == 5


def test_ctrl_c_over_three_connections_says_exactly_what_was_sent(
    tmp_path: Path, server: Server
) -> None:
    """Ctrl-C as the 6th message ends, over three connections: the run stops, says that 5
    were sent, and the send log holds those 5 and the server only those (it would take any
    message ended after the 6th); no traceback."""
    import signal
    import subprocess

    forms = _round(tmp_path, 20)
    args = _send_command(forms, server, connections=3)
    env = {**os.environ, "MUSFORMS_SMTP_PASSWORD": PASSWORD}
    proc = subprocess.Popen(args, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    interrupted: list[int] = []

    async def interrupt_at_the_end_of_the_sixth(accepted: int) -> bool:
        if accepted < 5:
            return False
        if interrupted:
            return False  # taken: none should come
        interrupted.append(accepted)
        os.kill(proc.pid, signal.SIGINT)
        await asyncio.sleep(1)  # the client stops meanwhile
        return True  # not accepted

    server.handler.on_data = interrupt_at_the_end_of_the_sixth
    _out, err = proc.communicate(timeout=120)
    said = err.decode()
    assert proc.returncode == 130, said
    assert (
        "Stopped. 5 of 20 messages were sent before it stopped and are in the send log "
        f"({forms / LOG_FILE}); nobody gets those again."
    ) in " ".join(said.split()), said
    assert "Traceback" not in said
    assert len(server.handler.received) == 5
    assert sorted(e.to for e in read_log(forms)) == sorted(
        r.rcpt_tos[0] for r in server.handler.received
    )


def test_again_sends_what_was_sent_before(tmp_path: Path, server: Server) -> None:
    forms = _round(tmp_path, 2)
    assert _send(forms, server, "--yes", "--format", "pdf").exit_code == 0
    result = _send(forms, server, "--yes", "--format", "pdf", "--again")
    assert result.exit_code == 0, result.output
    assert "Sent 2 of 2 invitations." in result.output
    assert Counter(r.rcpt_tos[0] for r in server.handler.received) == {
        "e0@example.dk": 2, "e1@example.dk": 2,
    }  # fmt: skip
    assert len(list(read_log(forms))) == 4


def test_a_mistake_in_a_text_no_one_of_this_round_reads_is_found_too(tmp_path: Path) -> None:
    """Only Danish readers this round, but the English invitation has an unknown placeholder:
    it is reported now, not at the round where it would have been used."""
    forms = _round(tmp_path, 2)  # employees 0 and 1 read Danish
    en = forms.parent.parent / "config" / "mail" / "invitation.en.txt"
    en.write_text("Your form\n\nDear {nmae}\n", encoding="utf-8")
    result = CliRunner().invoke(
        cli, ["send", str(forms), "--drafts", str(tmp_path / "out"), "--from", "hr@example.dk",
              "--deadline", "10-01-2027"],
    )  # fmt: skip
    assert result.exit_code == 1
    assert f"Error: {en}, line 3: {{nmae}} is not a placeholder musforms knows" in result.output
    assert not (tmp_path / "out").exists()


def test_a_not_now_reply_is_tried_again_after_a_pause(tmp_path: Path, server: Server) -> None:
    """450 (greylisted) twice for one address: the third try, 4 s later, gets through, and
    everyone got theirs."""
    forms = _round(tmp_path, 3)
    server.handler.not_now = {"e1@example.dk": 2}
    started = time.monotonic()
    result = _send(forms, server, "--yes", "--format", "pdf")
    assert result.exit_code == 0, result.output
    assert time.monotonic() - started >= sum(mail.PAUSES)
    assert sorted(r.rcpt_tos[0] for r in server.handler.received) == [
        "e0@example.dk", "e1@example.dk", "e2@example.dk",
    ]  # fmt: skip


def test_a_line_break_in_a_roster_name_stays_out_of_the_headers(tmp_path: Path) -> None:
    """A name cell with a line break in it (Excel: Alt+Enter) makes no second header line:
    subject and recipient's name are one line each."""
    pdf = tmp_path / "x.pdf"
    pdf.write_bytes(b"%PDF-1.4\n")
    text = parse_text("MUS: {navn}\n\nKære {navn}\n", "invitation", "da", "test")
    name = "Søren\r\nBcc: evil@example.com"
    out = mail.Outgoing(
        kind="invitation", to="soeren@example.dk", to_name=name, employee_id="1", text=text,
        values=dict.fromkeys(("name", "first_name", "leader", "meeting_date", "deadline",
                              "department", "organisation"), name),
        attachments=(mail.Attachment(pdf, "x.pdf"),), draft_name="1.eml",
    )  # fmt: skip
    msg, _files, _id = mail.build_message(out, mail.sender_address("hr@example.dk"))
    parsed = message_from_bytes(msg.as_bytes(), policy=policy.default)
    assert "Bcc" not in parsed
    assert parsed["Subject"] == "MUS: Søren Bcc: evil@example.com"
    assert [a.addr_spec for a in parsed["To"].addresses] == ["soeren@example.dk"]


@pytest.mark.parametrize("mechanism", ["LOGIN", "PLAIN"])
def test_either_login_mechanism_logs_in(tmp_path: Path, mechanism: str) -> None:
    """A server offering only AUTH LOGIN, or only AUTH PLAIN: the password (æøå in it) gets
    through either way where it can; where it cannot (LOGIN only, letters outside A–Z), one
    line says so and nothing is sent."""
    forms = _round(tmp_path, 1)
    srv = Server(tmp_path, mechanisms=(mechanism,)).start()
    try:
        result = _send(forms, srv, "--yes", "--format", "pdf")
        wrong = _send(forms, srv, "--yes", "--format", "pdf", "--again", password="forkert")
        ascii_ok = _send(forms, srv, "--yes", "--format", "pdf", "--again", password=ASCII_PASSWORD)
    finally:
        srv.stop()
    if mechanism == "PLAIN":
        assert result.exit_code == 0, result.output
    else:
        assert result.exit_code == 1
        assert "takes no user name or password with letters outside A–Z" in result.output
    # An ASCII password goes through smtplib's own login, by either mechanism.
    assert wrong.exit_code == 1
    assert "refused the user name or password" in wrong.output
    assert ascii_ok.exit_code == 0, ascii_ok.output
    assert len(srv.handler.received) == (2 if mechanism == "PLAIN" else 1)


def _wire_shape(data: bytes) -> bytes:
    """A message's bytes as they arrived, but for what differs from one message to the next
    however it is made: Date, Message-ID and the MIME boundary."""
    msg = message_from_bytes(data, policy=policy.default)
    boundary = msg.get_boundary()
    assert boundary is not None
    for header in (b"Date", b"Message-ID"):
        data = re.sub(rb"(?m)^" + header + rb": .*\r\n", header + b": -\r\n", data)
    return data.replace(boundary.encode(), b"BOUNDARY")


def _parsed_shape(data: bytes) -> list[object]:
    """What a mail program reads of a message: every part's headers (the boundary left
    out) and its content as decoded."""
    msg = message_from_bytes(data, policy=policy.default)
    shape: list[object] = []
    for part in msg.walk():
        headers = [
            (k, str(v)) for k, v in part.items() if k not in ("Date", "Message-ID", "Content-Type")
        ]
        params = {k: v for k, v in part["Content-Type"].params.items() if k != "boundary"}
        content = None if part.is_multipart() else part.get_content()
        shape.append((part.get_content_type(), params, headers, part.get_filename(), content))
    return shape


def test_the_fast_message_path_sends_what_the_email_package_sends(
    tmp_path: Path, server: Server, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The messages made by hand (each form base64-encoded in one call) and by the email
    package (``MUSFORMS_FAST_PATHS=0``: EmailMessage and smtplib's send_message) arrive at
    the real server as the same message: the same bytes but for the Date, Message-ID and
    boundary, and read back the same by the email package, part by part: names in five
    scripts, both languages, PDF and Word forms, a file name in æøå. Drafts too."""
    forms = _round(tmp_path, 6)
    danish = forms / "Søren Ærø – MUS.pdf"
    shutil.copy(forms / load_manifest(forms).forms[0].files["pdf"], danish)
    got: dict[str, dict[str, bytes]] = {}
    drafts: dict[str, dict[str, bytes]] = {}
    for switch in ("1", "0"):
        monkeypatch.setenv("MUSFORMS_FAST_PATHS", switch)
        before = len(server.handler.received)
        result = _send(forms, server, "--yes", "--again")
        assert result.exit_code == 0, result.output
        got[switch] = {r.rcpt_tos[0]: r.data for r in server.handler.received[before:]}
        plan = mail.plan_invitations(forms, deadline=dt.date(2027, 1, 10), again=True)
        out = plan.messages[0]
        # A text whose lines start with dots: the server must get them back as written.
        dotted = parse_text(
            "MUS\n\n.Punktum først\n..og to\n.\nKære {navn}\n", "invitation", "da", "t"
        )
        odd = mail.Outgoing(
            kind=out.kind, to="odd@example.dk", to_name=out.to_name, employee_id=out.employee_id,
            text=dotted, values=out.values, draft_name=out.draft_name,
            attachments=(*out.attachments, mail.Attachment(danish, danish.name)),
        )  # fmt: skip
        sender = mail.sender_address("HR Ærø <hr@example.dk>")
        target = mail.Server(
            "127.0.0.1", server.port, "starttls", USER, PASSWORD, 30.0, server.cert
        )
        odd_plan = mail.Plan("invitation", [odd])
        assert mail.send(odd_plan, forms, target, sender, rate=0, again=True).sent == 1
        got[switch]["odd"] = server.handler.received[-1].data
        body = server.handler.received[-1].message().get_body(("plain",))
        assert body is not None
        assert ".Punktum først\r\n..og to\r\n.\r\nKære" in body.get_content()
        outbox = tmp_path / f"drafts-{switch}"
        mail.write_drafts(plan, outbox, sender)
        drafts[switch] = {p.name: p.read_bytes() for p in outbox.iterdir()}
    assert len(got["1"]) == len(got["0"]) == 7
    assert set(got["1"]) == set(got["0"])
    for to, fast in got["1"].items():
        slow = got["0"][to]
        assert _parsed_shape(fast) == _parsed_shape(slow), to
        assert _wire_shape(fast) == _wire_shape(slow), to
        assert b"\r\n" in fast and b"\n" not in fast.replace(b"\r\n", b"")
    assert drafts["1"].keys() == drafts["0"].keys() and len(drafts["1"]) == 6
    for name, fast in drafts["1"].items():
        assert _parsed_shape(fast) == _parsed_shape(drafts["0"][name])
        assert _wire_shape(fast) == _wire_shape(drafts["0"][name])
