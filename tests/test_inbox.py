"""collect straight from mail: .eml and Outlook .msg files, mbox files and Maildir folders.

The replies carry forms filled by real clients: the committed sample returns (pdf.js,
PDFium, poppler, LibreOffice; samples/RETURNED.md, answers in tests/clients/scenario.py)
and one form filled here in PDFium with Polish, Cyrillic, Greek and Arabic answers. The
mail is built with the standard library's ``email`` package, as a mail client writes it.
The Outlook files are real ones from python-oxmsg's test suite (tests/data/msg/README.md).
"""

from __future__ import annotations

import datetime as dt
import email.policy
import email.utils
import hashlib
import json
import mailbox
import os
import shutil
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from musforms.cli import cli
from musforms.collect import collect
from musforms.generate import generate
from musforms.limits import MB, Limits
from tests.clients import scenario as sc
from tests.clients.pdf import fill_pdfium

# The replies carry forms filled in PDFium: run with the fast paths off too (make test).
pytestmark = pytest.mark.realclient

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT / "samples"
RETURNED = SAMPLES / "returned"
MSG = Path(__file__).resolve().parent / "data" / "msg"

# The committed returns filled by real clients, and whose they are.
FILLED = {
    "1042": RETURNED / "MUS Søren Ærø.pdf",  # Firefox (pdf.js)
    "1043": RETURNED / "mette_mus_udfyldt.pdf",  # Chrome (PDFium)
    "1044": RETURNED / "Forberedelse Jens.pdf",  # Evince (poppler)
    "1045": RETURNED / "1045-anne-mette-lauridsen (udfyldt).docx",  # LibreOffice
}
EMAIL = {
    "1042": "soeren.aeroe@eksempel-kommune.example",
    "1043": "mette.kjaer@eksempel-kommune.example",
    "1044": "jens.moeller@eksempel-kommune.example",
    "1045": "anne-mette.lauridsen@eksempel-kommune.example",
    "3001": "birthe.skovgaard@eksempel-kommune.example",
}
MANAGER = "aase.oestergaard@eksempel-kommune.example"
HR = "hr@eksempel-kommune.example"
# Answers in other scripts, typed into 3001's form in PDFium.
SCRIPTS = {
    "lykkedes": "Zażółć gęślą jaźń.\nСъешь же ещё этих мягких французских булок.\n\n"
    "Ξεσκεπάζω την ψυχοφθόρα βδελυγμία.",
    "energi": "نص عربي للتجربة: الطاقة والعمل",
    "trivsel": 4,
    "udviklingsform": ["kursus"],
    "kursus_oenske": True,
}


class Round:
    """A generated round (samples/demo.key, the sample roster) and the filled forms."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.key = root / "demo.key"
        shutil.copyfile(SAMPLES / "demo.key", self.key)
        self.key.chmod(0o600)
        self.forms = root / "forms" / "2026"
        generate(
            sc.QUESTIONS, SAMPLES / "roster.csv", self.forms, "2026", key_file=self.key, workers=1
        )
        self.filled = dict(FILLED)
        scripts = root / "3001 svar.pdf"
        fill_pdfium(
            next(self.forms.glob("3001-*.pdf")), scripts, sc.field_values(SCRIPTS, [], "3001")
        )
        self.filled["3001"] = scripts

    def answers(self, eid: str) -> dict[str, Any]:
        return SCRIPTS if eid == "3001" else sc.ANSWERS[eid]

    def blank(self, eid: str) -> Path:
        return next(self.forms.glob(f"{eid}-*.pdf"))

    def collect(self, *inputs: Path | str, out: Path, limits: Limits | None = None) -> Any:
        return collect(
            list(inputs),
            self.forms,
            out,
            key_file=self.key,
            workers=1,
            **({"limits": limits} if limits else {}),
        )


@pytest.fixture(scope="module")
def round_(tmp_path_factory: pytest.TempPathFactory) -> Round:
    return Round(tmp_path_factory.mktemp("inbox-round"))


def reply(
    sender: str,
    attachments: list[tuple[str, bytes]] = (),  # type: ignore[assignment]
    *,
    subject: str = "Re: Din MUS-forberedelse",
    when: dt.datetime | None = None,
    forwarded: list[EmailMessage] = (),  # type: ignore[assignment]
    text: str = "Hej HR\n\nHer er mit skema.\n\nVenlig hilsen",
) -> EmailMessage:
    """A reply as a mail client sends it: a text body, the files attached (base64), any
    messages forwarded as attachments (message/rfc822)."""
    msg = EmailMessage()
    msg["From"] = email.utils.formataddr(("Afsender Æblegård", sender))
    msg["To"] = HR
    msg["Subject"] = subject
    msg["Date"] = email.utils.format_datetime(
        when or dt.datetime(2026, 11, 20, 9, 30, tzinfo=dt.UTC)
    )
    msg["Message-ID"] = email.utils.make_msgid(domain="eksempel-kommune.example")
    msg.set_content(text)
    for name, data in attachments:
        maintype, subtype = _type(name)
        msg.add_attachment(data, maintype=maintype, subtype=subtype, filename=name)
    for inner in forwarded:
        msg.add_attachment(inner)
    return msg


def _type(name: str) -> tuple[str, str]:
    if name.lower().endswith(".pdf"):
        return "application", "pdf"
    if name.lower().endswith(".docx"):
        return "application", "vnd.openxmlformats-officedocument.wordprocessingml.document"
    return "application", "octet-stream"


def from_employee(round_: Round, eid: str, name: str | None = None, **kw: Any) -> EmailMessage:
    path = round_.filled[eid]
    return reply(EMAIL[eid], [(name or path.name, path.read_bytes())], **kw)


def eml(path: Path, msg: EmailMessage) -> Path:
    path.write_bytes(msg.as_bytes(policy=email.policy.SMTP))
    return path


def report(out: Path) -> dict[str, dict[str, Any]]:
    data = json.loads((out / "report.json").read_text(encoding="utf-8"))
    return {e["file"]: e for e in data["files"]}


def response(out: Path, eid: str) -> dict[str, Any]:
    return json.loads((out / "responses" / f"{eid}.json").read_text(encoding="utf-8"))


def assert_answers(round_: Round, out: Path, eid: str) -> None:
    assert response(out, eid)["answers"] == round_.answers(eid), eid


# --- every kind of mail input -------------------------------------------------------------------


def test_eml_mbox_and_maildir_are_collected_exactly(round_: Round, tmp_path: Path) -> None:
    """Real clients' forms come back from an .eml file, an mbox and a Maildir, each answer
    as typed (æøå, other scripts, several lines), each line naming message and attachment,
    with the sender and the date."""
    mail = tmp_path / "mail"
    mail.mkdir()
    one = eml(mail / "Svar fra Søren.eml", from_employee(round_, "1042"))
    box = mailbox.mbox(mail / "Indbakke")
    for eid in ("1043", "1044"):
        box.add(from_employee(round_, eid).as_bytes())
    box.close()
    maildir = mailbox.Maildir(mail / "Maildir", create=True)
    keys = [maildir.add(from_employee(round_, eid).as_bytes()) for eid in ("1045", "3001")]
    maildir.close()
    out = tmp_path / "out"
    result = round_.collect(one, mail / "Indbakke", mail / "Maildir", out=out)
    lines = report(out)
    for eid in ("1042", "1043", "1044", "1045", "3001"):
        assert_answers(round_, out, eid)
    names = {e["employee_id"]: name for name, e in lines.items() if e.get("employee_id")}
    assert names["1042"] == f"{one} › MUS Søren Ærø.pdf"
    assert names["1043"] == f"{mail / 'Indbakke'} #1 › mette_mus_udfyldt.pdf"
    assert names["1044"] == f"{mail / 'Indbakke'} #2 › Forberedelse Jens.pdf"
    # A Maildir message is a file of its own: the line names it.
    assert names["1045"].startswith(str(mail / "Maildir" / "new" / keys[0]))
    entry = lines[names["1042"]]
    assert entry["status"] == "ok"
    assert entry["message"] == str(one)
    assert entry["attachment"] == "MUS Søren Ærø.pdf"
    assert entry["sender"] == EMAIL["1042"]
    assert entry["sent_at"] == "2026-11-20T09:30:00Z"
    assert entry["message_id"].endswith("@eksempel-kommune.example>")
    assert "hint" not in entry
    # The answers on record say which message holds them.
    assert response(out, "1042")["source"]["file"] == names["1042"]
    # Nothing but the forms: the mail's text bodies are no lines of their own.
    assert len(lines) == 5
    assert result.counts == {"ok": 5}


def test_mail_is_recognised_by_content_not_by_name(round_: Round, tmp_path: Path) -> None:
    """A message saved without .eml (as Thunderbird's "Save as" may) is read as mail; a
    PDF named .eml is read as the PDF it is."""
    plain = eml(tmp_path / "svar.txt", from_employee(round_, "1043"))
    disguised = tmp_path / "svar.eml"
    shutil.copyfile(round_.filled["1044"], disguised)
    out = tmp_path / "out"
    round_.collect(plain, disguised, out=out)
    lines = report(out)
    assert lines[f"{plain} › mette_mus_udfyldt.pdf"]["status"] == "ok"
    assert lines[str(disguised)]["status"] == "ok"
    assert lines[str(disguised)].get("message") is None
    assert_answers(round_, out, "1043")
    assert_answers(round_, out, "1044")


def test_a_forwarded_reply_is_read(round_: Round, tmp_path: Path) -> None:
    """A manager forwards the employee's reply (message/rfc822) and another as an attached
    .eml file: both forms are read, named by the path through the messages, the forwarded
    message's sender kept, and the manager shown as who sent them."""
    inner = from_employee(round_, "1042")
    attached_eml = from_employee(round_, "1045")
    outer = reply(
        MANAGER,
        [("videresendt.eml", attached_eml.as_bytes())],
        subject="VS: Din MUS-forberedelse",
        forwarded=[inner],
    )
    path = eml(tmp_path / "fwd.eml", outer)
    out = tmp_path / "out"
    result = round_.collect(path, out=out)
    lines = report(out)
    by_eid = {e["employee_id"]: e for e in lines.values() if e.get("employee_id")}
    assert set(by_eid) == {"1042", "1045"}
    assert by_eid["1045"]["file"] == f"{path} › videresendt.eml › {FILLED['1045'].name}"
    assert by_eid["1042"]["file"].startswith(f"{path} › forwarded: Re: Din MUS-forberedelse › ")
    for eid in ("1042", "1045"):
        assert_answers(round_, out, eid)
        assert by_eid[eid]["sender"] == MANAGER
        assert by_eid[eid]["forwarded_from"] == EMAIL[eid]
        assert "forwarded by" in by_eid[eid]["hint"]
    assert result.hint_count == 2


def test_attachment_names_are_text_never_paths(round_: Round, tmp_path: Path) -> None:
    """Names with ../, \\ and an absolute path are shown as sent; nothing is written
    anywhere by them (nothing is written for an attachment at all)."""
    work = tmp_path / "work"
    work.mkdir()
    names = ["../../../etc/musforms-svar.pdf", "..\\..\\Windows\\svar.pdf", "/tmp/svar.pdf"]
    msg = reply(
        EMAIL["1043"],
        [
            (n, round_.filled[eid].read_bytes())
            for n, eid in zip(names, ("1043", "1044", "1042"), strict=True)
        ],
    )
    path = eml(work / "navne.eml", msg)
    before = _tree(tmp_path.parent) | _tree(Path("/tmp"), depth=1)
    out = work / "out"
    round_.collect(path, out=out)
    lines = report(out)
    for name in names:
        assert lines[f"{path} › {name}"]["attachment"] == name
        assert lines[f"{path} › {name}"]["status"] == "ok"
    after = _tree(tmp_path.parent) | _tree(Path("/tmp"), depth=1)
    # Nothing new in this test run's folders; in /tmp, which other programs share, nothing
    # by an attachment's name.
    new = {
        p
        for p in after - before
        if not p.is_relative_to(out) and (p.is_relative_to(tmp_path.parent) or "svar" in p.name)
    }
    assert new == set()
    assert not Path("/etc/musforms-svar.pdf").exists()


def _tree(root: Path, depth: int = 99) -> set[Path]:
    found = set()
    for dirpath, dirs, files in os.walk(root):
        level = len(Path(dirpath).relative_to(root).parts)
        if level >= depth:
            dirs[:] = []
        found |= {Path(dirpath) / f for f in files}
    return found


def test_an_oversized_attachment_is_refused_and_the_rest_read(
    round_: Round, tmp_path: Path
) -> None:
    """Under --max-size 1, a 2 MB attachment is refused, unread, with its size and the
    limit; the form beside it in the same message is read."""
    big = os.urandom(2 * MB)
    msg = reply(
        EMAIL["1042"], [("bilag.pdf", big), ("svar.pdf", round_.filled["1042"].read_bytes())]
    )
    path = eml(tmp_path / "stor.eml", msg)
    out = tmp_path / "out"
    round_.collect(path, out=out, limits=Limits(max_bytes=1 * MB))
    lines = report(out)
    refused = lines[f"{path} › bilag.pdf"]
    assert refused["status"] == "unreadable"
    assert "more than the 1 MB" in refused["reason"]
    assert "sha256" not in refused  # not even hashed: never decoded
    assert lines[f"{path} › svar.pdf"]["status"] == "ok"
    assert_answers(round_, out, "1042")


def test_copies_across_mails_and_files_are_duplicates(round_: Round, tmp_path: Path) -> None:
    """The same attachment in two mails, and in a mail and as a file, is one return and
    copies; a blank form mailed later never replaces the answers."""
    first = eml(tmp_path / "a.eml", from_employee(round_, "1043"))
    again = eml(tmp_path / "b.eml", from_employee(round_, "1043", name="igen.pdf"))
    blank = eml(
        tmp_path / "c.eml",
        reply(EMAIL["1043"], [("tomt.pdf", round_.blank("1043").read_bytes())],
              when=dt.datetime(2026, 11, 25, tzinfo=dt.UTC)),
    )  # fmt: skip
    as_file = tmp_path / "fil.pdf"
    shutil.copyfile(round_.filled["1043"], as_file)
    out = tmp_path / "out"
    round_.collect(first, again, blank, as_file, out=out)
    lines = report(out)
    statuses = {name: e["status"] for name, e in lines.items()}
    assert sorted(statuses.values()) == ["duplicate", "duplicate", "duplicate", "ok"]
    assert_answers(round_, out, "1043")
    assert "no answer at all" in lines[f"{blank} › tomt.pdf"]["reason"]


def test_a_broken_mail_file_is_named_and_the_rest_collected(round_: Round, tmp_path: Path) -> None:
    """A damaged Outlook file and a message cut off in its attachment are each a line with
    the reason; the good mail beside them is collected. No traceback anywhere."""
    good = eml(tmp_path / "god.eml", from_employee(round_, "1044"))
    damaged = tmp_path / "ødelagt.msg"
    damaged.write_bytes((MSG / "message.msg").read_bytes()[:3000])
    cut = tmp_path / "afkortet.eml"
    whole = from_employee(round_, "1042").as_bytes()
    cut.write_bytes(whole[: len(whole) // 2])
    out = tmp_path / "out"
    result = CliRunner().invoke(
        cli,
        ["collect", str(good), str(damaged), str(cut), "--forms", str(round_.forms),
         "--out", str(out), "--key-file", str(round_.key), "--workers", "1"],
    )  # fmt: skip
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    lines = report(out)
    assert lines[f"{good} › {FILLED['1044'].name}"]["status"] == "ok"
    assert_answers(round_, out, "1044")
    assert lines[str(damaged)]["status"] == "unreadable"
    assert "damaged Outlook message (.msg)" in lines[str(damaged)]["reason"]
    cut_line = lines[f"{cut} › MUS Søren Ærø.pdf"]
    assert cut_line["status"] == "unreadable"
    assert "cut short" in cut_line["reason"] or "damaged" in cut_line["reason"]
    assert f"{cut} › MUS Søren Ærø.pdf" in result.output


def test_a_mail_without_a_form_is_one_brief_line(round_: Round, tmp_path: Path) -> None:
    """A message with text only (an out-of-office reply) is one line, not an error per
    body part; a picture in the mail's text is no attachment."""
    msg = reply(EMAIL["1042"], text="Jeg er på ferie til mandag.")
    msg.add_related(
        b"\x89PNG\r\n\x1a\n" + b"0" * 50, maintype="image", subtype="png", cid="<logo@x>"
    )
    path = eml(tmp_path / "ferie.eml", msg)
    out = tmp_path / "out"
    round_.collect(path, out=out)
    lines = report(out)
    assert list(lines) == [str(path)]
    assert lines[str(path)]["status"] == "not_musforms"
    assert lines[str(path)]["reason"] == "a mail with no file attached"
    assert lines[str(path)]["sender"] == EMAIL["1042"]


def test_a_forwarded_message_without_a_form_is_one_line(round_: Round, tmp_path: Path) -> None:
    """A mail forwarding a message that has no file is one line for the forwarded message,
    not a form that could not be read."""
    msg = reply(MANAGER, forwarded=[reply(EMAIL["1042"], text="Jeg kommer gerne.")])
    path = eml(tmp_path / "fwd.eml", msg)
    out = tmp_path / "out"
    round_.collect(path, out=out)
    (line,) = report(out).values()
    assert line["file"] == f"{path} › forwarded: Re: Din MUS-forberedelse"
    assert line["status"] == "not_musforms"
    assert line["reason"] == "a forwarded message with no file attached"


def test_a_sender_who_is_not_the_employee_is_a_hint(round_: Round, tmp_path: Path) -> None:
    """1043's form mailed by someone else is collected as 1043's (the signed identity
    says whose it is), with a hint for HR in the report and in collect's summary; the
    employee's own address in another case is no hint."""
    other = eml(
        tmp_path / "kollega.eml",
        reply("kollega@andet.example", [("s.pdf", round_.filled["1043"].read_bytes())]),
    )
    own = eml(
        tmp_path / "egen.eml",
        reply(EMAIL["1044"].upper(), [("s.pdf", round_.filled["1044"].read_bytes())]),
    )
    out = tmp_path / "out"
    result = CliRunner().invoke(
        cli,
        ["collect", str(other), str(own), "--forms", str(round_.forms), "--out", str(out),
         "--key-file", str(round_.key), "--workers", "1"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    lines = report(out)
    hinted = lines[f"{other} › s.pdf"]
    assert hinted["employee_id"] == "1043" and hinted["status"] == "ok"
    assert "kollega@andet.example" in hinted["hint"] and EMAIL["1043"] in hinted["hint"]
    assert "hint" not in lines[f"{own} › s.pdf"]
    assert "Forms sent by someone other than the employee" in result.output
    assert f"{other} › s.pdf (employee 1043): sent by kollega@andet.example" in result.output
    assert_answers(round_, out, "1043")


# --- Outlook .msg --------------------------------------------------------------------------


def test_outlook_msg_files_are_read_and_their_attachments_listed(
    round_: Round, tmp_path: Path
) -> None:
    """Real Outlook .msg files (python-oxmsg's test files): the attachment of one is listed
    with the message's sender and date (a picture, no form), the other, without any, is one
    line; a file named .msg that is no Outlook file is said to be neither mail nor form."""
    folder = tmp_path / "msg"
    shutil.copytree(MSG, folder, ignore=shutil.ignore_patterns("README.md"))
    out = tmp_path / "out"
    round_.collect(folder, out=out)
    lines = report(out)
    picture = lines[f"{folder / 'message.msg'} › serveimage.jpg"]
    assert picture["status"] == "not_musforms"
    assert picture["sender"] == "bedfortest@tutanota.de"
    assert picture["sent_at"] == "2020-10-06T09:57:46Z"
    assert picture["sha256"]
    none = lines[str(folder / "no-attachments.msg")]
    assert none["status"] == "not_musforms"
    assert none["reason"] == "a mail with no file attached"
    assert none["sender"] == "peterpan@neverland.com"
    assert lines[str(folder / "not-a-MSG-file.msg")]["status"] in ("not_musforms", "unreadable")
    assert lines[str(folder / "not-a-MSG-file.msg")].get("message") is None


def test_an_outlook_msg_forwarded_inside_a_mail_is_opened(round_: Round, tmp_path: Path) -> None:
    """An .msg attached to a mail is opened in its turn: its attachment is listed."""
    msg = reply(MANAGER, [("Videresendt.msg", (MSG / "message.msg").read_bytes())])
    path = eml(tmp_path / "m.eml", msg)
    out = tmp_path / "out"
    round_.collect(path, out=out)
    lines = report(out)
    line = lines[f"{path} › Videresendt.msg › serveimage.jpg"]
    assert line["forwarded_from"] == "bedfortest@tutanota.de"
    assert line["sender"] == MANAGER


# --- the fast path: the same as the library ---------------------------------------------------


def _shapes(round_: Round) -> dict[str, bytes]:
    """Messages of every shape a reply comes in, and some broken ones."""
    pdf = round_.filled["1042"].read_bytes()
    docx = round_.filled["1045"].read_bytes()
    simple = from_employee(round_, "1042")
    related = reply(EMAIL["1042"], [("svar.pdf", pdf)])
    related.get_body().add_related(
        b"GIF89a" + b"0" * 40, maintype="image", subtype="gif", cid="<l@x>"
    )  # type: ignore[union-attr]
    unnamed = reply(EMAIL["1042"])
    unnamed.add_attachment(pdf, maintype="application", subtype="pdf")
    unnamed.add_attachment(b"\x00\x01 data", maintype="application", subtype="octet-stream")
    qp = reply(EMAIL["1042"])
    qp.add_attachment(
        "Tekst med æøå\n" * 50, subtype="plain", filename="noter.txt", cte="quoted-printable"
    )
    shapes = {
        "simple": simple.as_bytes(),
        "crlf": simple.as_bytes(policy=email.policy.SMTP),
        "two forms": reply(EMAIL["1042"], [("a.pdf", pdf), ("b.docx", docx)]).as_bytes(),
        "same name twice": reply(EMAIL["1042"], [("s.pdf", pdf), ("s.pdf", docx)]).as_bytes(),
        "path names": reply(EMAIL["1042"], [("../../x.pdf", pdf), ("..\\y.pdf", pdf)]).as_bytes(),
        "forwarded": reply(MANAGER, forwarded=[simple]).as_bytes(),
        "attached eml": reply(MANAGER, [("fwd.eml", simple.as_bytes())]).as_bytes(),
        "attached msg": reply(MANAGER, [("f.msg", (MSG / "message.msg").read_bytes())]).as_bytes(),
        "related picture": related.as_bytes(),
        "unnamed": unnamed.as_bytes(),
        "quoted-printable": qp.as_bytes(),
        "text only": reply(EMAIL["1042"]).as_bytes(),
    }
    whole = shapes["two forms"]
    shapes["cut short"] = whole[: len(whole) * 2 // 3]
    shapes["preamble"] = whole.replace(
        b"\n\n--", b"\n\nThis is a multi-part message in MIME format.\n--", 1
    )
    # A stray character in a base64 body: the library decodes it leniently, so must the fast path.
    at = whole.index(b"JVBER")  # "%PDF" in base64
    shapes["dirty base64"] = whole[:at] + b"*" + whole[at:]
    return shapes


def test_the_fast_path_opens_every_message_as_the_library_does(
    round_: Round, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Splitting a reply at its boundaries and decoding each base64 part in one go (the
    fast path) gives exactly what the library's line-by-line reading gives: the same lines,
    names, bytes, refusals, senders; and it is the path taken for a usual reply."""
    from musforms.mail import inbox

    limits = Limits(max_bytes=100_000)  # the PDF forms are over it, the Word form is not
    for name, data in _shapes(round_).items():
        got = {}
        for fast in ("1", "0"):
            monkeypatch.setenv("MUSFORMS_FAST_PATHS", fast)
            opened = inbox.open_letter(inbox.Letter("m.eml", data), limits)
            got[fast] = (
                opened.sender,
                opened.sent_at,
                opened.message_id,
                [(a.label, a.blob, a.refused, a.forwarded_from) for a in opened.attachments],
            )
        assert got["1"] == got["0"], name
    shapes = _shapes(round_)
    for taken in ("simple", "crlf", "two forms", "forwarded", "preamble", "dirty base64"):
        assert inbox._split(shapes[taken]) is not None, taken
    assert inbox._split(shapes["cut short"]) is None


def _mutated(data: bytes, edits: list[tuple[int, int, bytes]]) -> bytes:
    """``data`` with each edit (where, how many bytes removed, what put in) applied."""
    for where, cut, put in edits:
        at = where % (len(data) + 1)
        data = data[:at] + put + data[at + cut :]
    return data


_PIECES = st.sampled_from(
    [b"", b"\n", b"\r\n", b"--", b"\r\n\r\n", b"=", b"*", b" ", b"\t", b'"', b"\x00", b"\xff\xfe",
     b"Content-Type: multipart/mixed; boundary=\"x\"\r\n", b"Content-Transfer-Encoding: base64\r\n",
     b"--x--\r\n", b"Content-Type: message/rfc822\r\n"]
)  # fmt: skip


@settings(max_examples=150, deadline=None, derandomize=True)
@given(edits=st.lists(st.tuples(st.integers(0, 10**6), st.integers(0, 80), _PIECES), max_size=4))
def test_the_fast_path_and_the_library_agree_on_damaged_mail(
    edits: list[tuple[int, int, bytes]],
) -> None:
    """Replies damaged anywhere (headers, boundaries, base64) open the same way both ways,
    and raise nothing but MailReadError."""
    from musforms.mail import inbox

    got = {}
    before = os.environ.get("MUSFORMS_FAST_PATHS")  # make test runs the suite both ways
    for fast in ("1", "0"):
        os.environ["MUSFORMS_FAST_PATHS"] = fast
        try:
            opened = inbox.open_letter(
                inbox.Letter("m.eml", _mutated(_FUZZ_SEED, edits)), _FUZZ_LIMITS
            )
            got[fast] = (
                opened.sender,
                opened.sent_at,
                opened.message_id,
                [(a.label, a.blob, a.refused, a.forwarded_from) for a in opened.attachments],
            )
        except inbox.MailReadError as exc:
            got[fast] = str(exc)
        finally:
            if before is None:
                os.environ.pop("MUSFORMS_FAST_PATHS", None)
            else:
                os.environ["MUSFORMS_FAST_PATHS"] = before
    assert got["1"] == got["0"]


_HEAD_PIECES = st.sampled_from(
    [b"", b"\n", b"\r", b"\r\n", b"\n\n", b"\r\r", b"\r\n\r\n", b"\n\r\n", b" ", b"\t",
     b"Message-ID: <anden@example.dk>\r\n", b"Message-ID:", b"X: y\r\n", b"not a header\n",
     b"\xff"]
)  # fmt: skip


@settings(max_examples=300, deadline=None, derandomize=True)
@given(edits=st.lists(st.tuples(st.integers(0, 600), st.integers(0, 20), _HEAD_PIECES), max_size=5))
def test_a_message_is_known_by_its_header_block_as_by_the_whole_message(
    edits: list[tuple[int, int, bytes]],
) -> None:
    """The cache's key of a message, found by parsing only its header block (up to the first
    empty line, by any line end), is the key the whole message parsed gives: for replies
    with their header block damaged, line ends of every kind, a Message-ID in the body or
    none at all."""
    from musforms.mail import inbox

    data = _mutated(_FUZZ_SEED, edits)
    whole = inbox.header_key(data, len(data))  # the whole message through the email package
    expected = whole or "sha256:" + hashlib.sha256(data).hexdigest()
    assert inbox.message_key(data) == expected


def _fuzz_seed() -> bytes:
    """A reply with two small attachments and a forwarded message (small, so that many
    damaged copies are read quickly)."""
    inner = reply(EMAIL["1043"], [("indre.bin", b"\x01\x02\x03" * 300)])
    files = [("a.pdf", b"%PDF-1.7\n" + b"x" * 2000), ("b.txt", "æøå\n".encode() * 40)]
    outer = reply(EMAIL["1042"], files, forwarded=[inner])
    return outer.as_bytes(policy=email.policy.SMTP)


_FUZZ_SEED = _fuzz_seed()
_FUZZ_LIMITS = Limits(max_bytes=1500)  # one attachment over it, the others under


def test_messages_forwarded_too_deeply_are_one_line(round_: Round, tmp_path: Path) -> None:
    """A form inside twelve forwarded messages, one in another (a loop of auto-forwards, or
    a hostile mail): the depth is bounded, the line says why, nothing breaks."""
    msg = from_employee(round_, "1042")
    for _ in range(12):
        msg = reply(MANAGER, subject="VS: VS", forwarded=[msg])
    path = eml(tmp_path / "dyb.eml", msg)
    out = tmp_path / "out"
    round_.collect(path, out=out)
    (line,) = report(out).values()
    assert line["status"] == "unreadable"
    assert line["reason"] == "messages forwarded inside one another too deeply to read"
    assert line["file"].count(" › ") == 9  # the message and eight forwarded ones, then the ninth
