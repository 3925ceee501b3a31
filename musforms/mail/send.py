"""``musforms send``: each employee their own forms by mail, reminders to those missing, and
each leader the conclusion forms (else the minutes drafts) of their own employees; over SMTP,
or as .eml drafts.

Two steps, so the command line can show what will happen and ask first:

- a *plan* (:func:`plan_invitations`, :func:`plan_reminders`, :func:`plan_leaders`): who gets
  which message with which files, who cannot be sent to and why (no address, not an address,
  an address two people share), who already had theirs (the send log, ``sendlog.py``);
- then :func:`send` (over SMTP, a few connections at once, paced in all, retrying a lost
  connection with a fresh one, each accepted message written to the send log at once) or
  :func:`write_drafts`.

The library prints nothing and asks nothing; the texts are HR's (``texts.py``).
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import datetime as dt
import hashlib
import ipaddress
import re
import secrets
import smtplib
import socket
import ssl
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from email.headerregistry import Address
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import formatdate, make_msgid, parseaddr
from pathlib import Path
from typing import Any, Literal

from musforms.dates import danish_date
from musforms.errors import ConfigError, MusformsError
from musforms.files import id_slug, inside, private_folder, slug, write_bytes
from musforms.i18n import _
from musforms.mail.sendlog import Entry, LogWriter, Sent, SentFile, sent
from musforms.mail.texts import LANGUAGES, Kind, MailText, load_text, texts_folder
from musforms.manifest import (
    ManifestForm,
    iter_manifest_forms,
    load_organisation,
    manifest_head,
)
from musforms.models import Employee, Organisation
from musforms.response import Response
from musforms.roster import check_address, shared_addresses
from musforms.wording import counted

Tls = Literal["starttls", "ssl", "none"]
DEFAULT_PORTS: dict[str, int] = {"starttls": 587, "ssl": 465, "none": 25}
DEFAULT_RATE = 30  # messages a minute: Exchange Online's limit per mailbox
DEFAULT_TIMEOUT = 30.0  # seconds for every socket operation
TRIES = 3  # attempts at one message, each on a fresh connection after the last was lost
PAUSES = (1.0, 3.0)  # seconds before the second and the third attempt
LOST_IN_A_ROW = 2  # messages in a row that could not be sent for a lost connection: stop
AHEAD = 6  # messages made ahead of those being sent, when there is no pace
DEFAULT_CONNECTIONS = 3  # connections at once: Exchange Online's limit per mailbox
MAX_CONNECTIONS = 10

# The MIME type of each kind of file musforms mails, by ending.
MIME_TYPES = {
    ".pdf": ("application", "pdf"),
    ".docx": ("application", "vnd.openxmlformats-officedocument.wordprocessingml.document"),
    ".odt": ("application", "vnd.oasis.opendocument.text"),
}
FORMAT_TITLES = {"pdf": "PDF", "docx": "Word", "odt": "OpenDocument"}

# What a placeholder says when the roster has nothing for it.
_UNKNOWN = {
    "da": {"leader": "din leder", "meeting_date": "efter aftale"},
    "en": {"leader": "your leader", "meeting_date": "a date to be agreed"},
}


class SendError(MusformsError):
    """Raised when the mail server cannot be used at all (not reached, refused the login or
    the sender): nothing more is sent."""


class RefusedError(SendError):
    """Raised when the mail server refuses the login, the sender or its own certificate:
    trying again will not help."""


# --- addresses ------------------------------------------------------------------------------


def sender_address(raw: str) -> Address:
    """``--from``: ``hr@example.dk`` or ``HR <hr@example.dk>``."""
    name, spec = parseaddr(raw)
    address, problem = check_address(spec)
    if problem or not spec:
        raise ConfigError(
            _("--from {raw!r}: {value}").format(
                raw=raw, value=problem or _("is not an e-mail address")
            )
        )
    user, domain = address.split("@")
    return Address(display_name=name, username=user, domain=domain)


# --- what to send ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Attachment:
    path: Path
    name: str  # the file name the recipient sees: the issued one


@dataclass(frozen=True)
class Outgoing:
    """One message to be sent: to whom, which text with which values, which files."""

    kind: Kind
    to: str
    to_name: str
    employee_id: str | None
    text: MailText
    values: dict[str, str]
    attachments: tuple[Attachment, ...]
    draft_name: str  # its file name as an .eml draft

    @property
    def who(self) -> str:
        if self.employee_id is None:
            return f"leader {self.to_name}"
        return f"employee {self.employee_id} ({self.to_name})"


@dataclass(frozen=True)
class NotSent:
    """Someone the plan leaves out, and what HR can do about it."""

    who: str
    what: str
    fix: str

    def __str__(self) -> str:
        return f"{self.who}: {self.what}. {self.fix}."


@dataclass
class Plan:
    kind: Kind
    messages: list[Outgoing] = field(default_factory=list)
    problems: list[NotSent] = field(default_factory=list)
    already: int = 0  # had this message before (the send log); --again sends it anyway
    recent: int = 0  # reminded less than --every days ago
    texts: list[str] = field(default_factory=list)  # the text files used
    # What the roster checks found (musforms.roster.Checks) and an organisation name still
    # as musforms init wrote it: told before sending, sent or not.
    warnings: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class _Issued:
    employee: Employee
    language: str
    files: dict[str, str]


def _digest(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _round(forms_dir: Path) -> tuple[str, Organisation]:
    head = manifest_head(forms_dir)
    return head.cycle, load_organisation(forms_dir) or Organisation()


def _issued(
    forms_dir: Path, roster: Path | None, plan: Plan, organisation: Organisation
) -> Iterator[_Issued | NotSent]:
    """The manifest's forms, with the addresses of ``roster`` when it is given; what the
    roster checks find in it goes on ``plan.warnings``."""
    from musforms.roster import Checks, Lines, check_rows, iter_rows, organisation_problem

    placeholder = organisation_problem(
        organisation.name,
        f"the settings the forms in {forms_dir} were made with",
        " in config/musforms.toml, then run musforms generate again",
    )
    if placeholder:
        plan.warnings.append(placeholder)
    current: dict[str, Employee] | None = None
    if roster is not None:
        # Invitations and reminders go before the meetings; the leaders' mail after them.
        leaders = plan.kind == "leaders"
        checks = Checks(None if leaders else dt.date.today(), leaders=leaders)
        told = Lines(roster)
        rows = check_rows(roster, iter_rows(roster, told), checks, told)
        current = {r.employee.id: r.employee for r in rows}
        plan.warnings += told.all()
    for form in iter_manifest_forms(forms_dir):
        employee = form.employee
        if current is not None:
            now = current.get(employee.id)
            if now is None:
                yield NotSent(
                    _who(employee),
                    _("is not in {roster}").format(roster=roster),
                    _("Add them to the roster (or leave them out on purpose)"),
                )
                continue
            employee = employee.model_copy(
                update={"email": now.email, "manager_email": now.manager_email}
            )
        yield _Issued(employee, form.language, form.files)


def _who(employee: Employee) -> str:
    return _("employee {id} ({name})").format(id=employee.id, name=employee.name)


def _fix_roster(roster: Path | None, column: str) -> str:
    where = _("in {roster}").format(roster=roster) if roster else _("in the roster")
    again = "" if roster else _(", then give it with --roster")
    return _("Correct the {column} column {where}{again}, or mail it to them yourself").format(
        column=column, where=where, again=again
    )


class _Texts:
    """The texts of one kind per language, each loaded and checked once."""

    def __init__(
        self, kind: Kind, forms_dir: Path, folder: Path | None, organisation: Organisation
    ) -> None:
        self.kind = kind
        self.folder = texts_folder(forms_dir, folder)
        self.fallback = organisation.default_language
        self._loaded: dict[str, MailText] = {}
        if self.folder is not None:
            # Every file of this kind is checked now, also one no employee of this round
            # reads: a mistake in it is found before it is ever used.
            for lang in LANGUAGES:
                if (self.folder / f"{kind}.{lang}.txt").is_file():
                    load_text(self.folder, kind, lang, self.fallback)

    def get(self, lang: str) -> MailText:
        if lang not in self._loaded:
            self._loaded[lang] = load_text(self.folder, self.kind, lang, self.fallback)
        return self._loaded[lang]

    def check(self, deadline: dt.date | None) -> list[str]:
        """The sources used; refuses a text that needs a deadline when none is given."""
        for text in self._loaded.values():
            if "deadline" in text.uses and deadline is None:
                raise ConfigError(
                    _(
                        "{source} uses the return deadline ({{frist}} or {{deadline}}): "
                        "give it with --deadline, e.g. --deadline 15-01-2027"
                    ).format(source=text.source)
                )
        return sorted({t.source for t in self._loaded.values()})


def _employee_values(
    employee: Employee, lang: str, deadline: dt.date | None, organisation: Organisation
) -> dict[str, str]:
    unknown = _UNKNOWN.get(lang, _UNKNOWN["da"])
    return {
        "name": employee.name,
        "first_name": employee.name.split()[0] if employee.name.split() else employee.name,
        "leader": employee.manager or unknown["leader"],
        "meeting_date": danish_date(employee.meeting_date) or unknown["meeting_date"],
        "deadline": danish_date(deadline),
        "department": employee.department or "",
        "organisation": organisation.name,
    }


def _forms_of(
    issued: _Issued, formats: tuple[str, ...], forms_dir: Path
) -> tuple[Attachment, ...] | NotSent:
    files = [(kind, name) for kind, name in issued.files.items() if kind in formats]
    if not files:
        have = " and ".join(FORMAT_TITLES.get(k, k) for k in issued.files) or "no"
        return NotSent(
            _who(issued.employee),
            _("was issued {have} forms, none of the kind asked for").format(have=have),
            _("Use --format both, or generate the other kind too"),
        )
    out = []
    for _kind, name in sorted(files, key=lambda f: formats.index(f[0])):
        path = forms_dir / name
        if not path.is_file():
            return NotSent(
                _who(issued.employee),
                _("the form file {path} is not there").format(path=path),
                _("Run musforms generate again into {forms_dir} to make it again").format(
                    forms_dir=forms_dir
                ),
            )
        out.append(Attachment(path, name))
    return tuple(out)


def _addressed(
    candidates: list[tuple[Outgoing, Employee]], plan: Plan, roster: Path | None
) -> None:
    """Put on ``plan`` the messages whose address is good and no one else's; a line in
    ``plan.problems`` for each of the others."""
    shared = shared_addresses((str(i), out.to) for i, (out, _e) in enumerate(candidates))
    held = {int(key) for keys in shared for key in keys}
    plan.messages.extend(out for i, (out, _e) in enumerate(candidates) if i not in held)
    for keys in shared:
        group = [candidates[int(key)] for key in keys]
        for _out, employee in group:
            others = ", ".join(_who(e) for _o, e in group if e is not employee)
            plan.problems.append(
                NotSent(
                    _who(employee),
                    _(
                        "shares the address {email} with {others}, so neither was sent to "
                        "(each would get the other's form)"
                    ).format(email=employee.email, others=others),
                    _fix_roster(roster, "e-mail"),
                )
            )


def plan_invitations(
    forms_dir: Path,
    *,
    formats: tuple[str, ...] = ("pdf", "docx"),
    texts: Path | None = None,
    deadline: dt.date | None = None,
    roster: Path | None = None,
    again: bool = False,
) -> Plan:
    """Each employee of the manifest their own forms, unless the send log shows they had
    exactly these files already (a form generated again since counts as not sent)."""
    return _plan_employees("invitation", forms_dir, None, formats, texts, deadline, roster, again)


def plan_reminders(
    forms_dir: Path,
    results: Path,
    *,
    formats: tuple[str, ...] = ("pdf", "docx"),
    texts: Path | None = None,
    deadline: dt.date | None = None,
    roster: Path | None = None,
    every: int = 7,
    again: bool = False,
    now: dt.datetime | None = None,
) -> Plan:
    """The reminder, with the forms again, to each employee ``results``' report.json lists as
    missing (a blank return counts as missing), at most once per ``every`` days."""
    missing = set(_missing(forms_dir, results))
    now = now or dt.datetime.now().astimezone()
    return _plan_employees(
        "reminder", forms_dir, (missing, every, now), formats, texts, deadline, roster, again
    )


def _missing(forms_dir: Path, results: Path) -> Iterator[str]:
    from musforms.jsonstream import items
    from musforms.report import REPORT, earlier_cycle, no_results

    cycle = earlier_cycle(results)
    if cycle is None:
        raise no_results(results)
    issued = manifest_head(forms_dir).cycle
    if cycle != issued:
        raise ConfigError(
            _(
                "{results} holds round {cycle}, but {forms_dir} round {issued}: "
                "give --remind the results folder of the same round"
            ).format(results=results, cycle=cycle, forms_dir=forms_dir, issued=issued)
        )
    return (str(eid) for eid in items(results / REPORT, "missing.item", "the collect report"))


def _plan_employees(
    kind: Kind,
    forms_dir: Path,
    reminding: tuple[set[str], int, dt.datetime] | None,
    formats: tuple[str, ...],
    texts: Path | None,
    deadline: dt.date | None,
    roster: Path | None,
    again: bool,
) -> Plan:
    _cycle, organisation = _round(forms_dir)
    # Check-in forms are sent with a text of their own, and logged as invitations.
    checkin = kind == "invitation" and manifest_head(forms_dir).kind == "checkin"
    chosen = _Texts("checkin" if checkin else kind, forms_dir, texts, organisation)
    log = sent(forms_dir)
    plan = Plan(kind)
    candidates: list[tuple[Outgoing, Employee]] = []
    for issued in _issued(forms_dir, roster, plan, organisation):
        if isinstance(issued, NotSent):
            plan.problems.append(issued)
            continue
        employee = issued.employee
        if reminding is not None:
            missing, every, now = reminding
            if employee.id not in missing:
                continue
            last = log.reminders.get(employee.id)
            if not again and last is not None and now - last < dt.timedelta(days=every):
                plan.recent += 1
                continue
        forms = _forms_of(issued, formats, forms_dir)
        if isinstance(forms, NotSent):
            plan.problems.append(forms)
            continue
        if reminding is None and not again:
            files = frozenset((a.name, _digest(a.path)) for a in forms)
            if log.invited(employee.id, files):
                plan.already += 1
                continue
        address, problem = check_address(employee.email)
        if problem:
            plan.problems.append(NotSent(_who(employee), problem, _fix_roster(roster, "e-mail")))
            continue
        lang = issued.language
        text = chosen.get(lang)
        out = Outgoing(
            kind=kind,
            to=address,
            to_name=employee.name,
            employee_id=employee.id,
            text=text,
            values=_employee_values(employee, lang, deadline, organisation),
            attachments=forms,
            draft_name=f"{id_slug(employee.id)}-{slug(employee.name, 40)}.eml",
        )
        candidates.append((out, employee))
    _addressed(candidates, plan, roster)
    plan.texts = chosen.check(deadline)
    return plan


def plan_leaders(
    forms_dir: Path,
    results: Path,
    *,
    texts: Path | None = None,
    deadline: dt.date | None = None,
    roster: Path | None = None,
    again: bool = False,
) -> Plan:
    """Each leader (``manager_email``) one message with the conclusion forms of their own
    employees (the minutes draft for one who has none: ``--conclusion-format none``, or
    results from before conclusions), those not sent to them before; never another
    leader's."""
    from musforms.conclusions import issued_conclusions
    from musforms.results import iter_responses

    _cycle, organisation = _round(forms_dir)
    chosen = _Texts("leaders", forms_dir, texts, organisation)
    log = sent(forms_dir)
    plan = Plan("leaders")
    employees = {}
    languages = {}  # a leader who is an employee too reads their own language
    for issued in _issued(forms_dir, roster, plan, organisation):
        if isinstance(issued, NotSent):
            plan.problems.append(issued)
        else:
            employees[issued.employee.id] = issued.employee
            address, _problem = check_address(issued.employee.email)
            if address:
                languages[address.casefold()] = issued.language
    conclusions = issued_conclusions(results)
    groups: dict[str, list[tuple[Employee, tuple[Attachment, ...]]]] = {}
    addresses: dict[str, str] = {}
    for response in iter_responses(results):
        if response.form.kind not in (None, "preparation"):
            continue
        employee = employees.get(response.employee.id)
        if employee is None:
            continue  # not in the manifest, or left out above (--roster)
        conclusion = conclusions.get(employee.id)
        files = (
            _minutes_of(response, employee, results)
            if conclusion is None
            else _conclusion_of(conclusion, employee, results)
        )
        if isinstance(files, NotSent):
            plan.problems.append(files)
            continue
        address, problem = check_address(employee.manager_email)
        if problem:
            what = (
                _("their leader's address {problem}").format(problem=problem)
                if employee.manager_email
                else _(
                    "has no leader's e-mail address in the roster, so their minutes draft "
                    "has no one to go to"
                )
                if conclusion is None
                else _(
                    "has no leader's e-mail address in the roster, so their conclusion form "
                    "has no one to go to"
                )
            )
            plan.problems.append(
                NotSent(_who(employee), what, _fix_roster(roster, "leader's e-mail"))
            )
            continue
        key = address.casefold()
        addresses.setdefault(key, address)
        groups.setdefault(key, []).append((employee, files))
    for key, members in groups.items():
        done = log.leaders.get(key, set())
        due = [
            (employee, [a for a in files if again or (a.name, _digest(a.path)) not in done])
            for employee, files in members
        ]
        attached = [a for _e, files in due for a in files]
        if not attached:
            plan.already += 1
            continue
        leader = next((e.manager for e, _a in members if e.manager), "") or addresses[key]
        text = chosen.get(languages.get(key, organisation.default_language))
        values = {
            "leader": leader,
            "count": str(sum(1 for _e, files in due if files)),  # employees, not files
            "deadline": danish_date(deadline),
            "organisation": organisation.name,
        }
        plan.messages.append(
            Outgoing(
                kind="leaders",
                to=addresses[key],
                to_name=leader,
                employee_id=None,
                text=text,
                values=values,
                attachments=tuple(attached),
                draft_name=f"leader-{slug(addresses[key], 60)}.eml",
            )
        )
    plan.texts = chosen.check(deadline)
    return plan


def _minutes_of(
    response: Response, employee: Employee, results: Path
) -> tuple[Attachment, ...] | NotSent:
    """The minutes draft collect wrote for ``response``, under its own name."""
    from musforms.outputs.minutes import minutes_name

    name = minutes_name(response)
    path = results / "minutes" / name
    if not path.is_file():
        return NotSent(
            _who(employee),
            _("the minutes draft {path} is not there").format(path=path),
            _("Run musforms minutes {results} to draft it").format(results=results),
        )
    return (Attachment(path, name),)


def _conclusion_of(
    form: ManifestForm, employee: Employee, results: Path
) -> tuple[Attachment, ...] | NotSent:
    """The conclusion form(s) issued for ``employee`` (Word first), each under the name the
    leader tells from the minutes draft's: conclusion forms issued by an earlier version
    were named like the minutes drafts (``1042-soeren-aeroe.docx``)."""
    from musforms.conclusions import conclusion_basename, conclusions_dir

    folder = conclusions_dir(results)
    base = conclusion_basename(form.employee, form.language)
    out = []
    for fmt in sorted(form.files, key=lambda f: (f != "docx", f)):
        path = inside(folder, form.files[fmt])
        if not path.is_file():
            return NotSent(
                _who(employee),
                _("the conclusion form {path} is not there").format(path=path),
                _(
                    "Run musforms collect again with --out {results} (with the returned "
                    "forms, or an empty folder) to write it again"
                ).format(results=results),
            )
        out.append(Attachment(path, base + path.suffix.lower()))
    return tuple(out)


# --- the messages ---------------------------------------------------------------------------


def build_message(
    out: Outgoing, sender: Address, *, draft: bool = False, contents: list[bytes] | None = None
) -> tuple[EmailMessage, list[SentFile], str]:
    """The message, the files it carries (name, sha256 of the bytes attached) and its
    Message-ID (empty for a draft: the mail program gives it one when it is sent). The
    attachments' bytes are ``contents`` when given (in their order), else read from their
    files."""
    subject, body = out.text.render(out.values)
    msg = EmailMessage(policy=SMTP)
    msg["From"] = sender
    user, domain = out.to.split("@")
    msg["To"] = Address(display_name=" ".join(out.to_name.split()), username=user, domain=domain)
    msg["Subject"] = subject
    message_id = ""
    if draft:
        # Outlook opens a message with this header as a draft ready to send; Thunderbird
        # opens an .eml as a message to edit (Edit as New). Neither wants a date or an id yet.
        msg["X-Unsent"] = "1"
    else:
        message_id = make_msgid(domain=sender.domain)
        msg["Date"] = formatdate(localtime=True)
        msg["Message-ID"] = message_id
    msg.set_content(body, cte="quoted-printable")
    files = []
    for attachment, data in zip(out.attachments, contents or _contents(out), strict=True):
        maintype, subtype = MIME_TYPES.get(
            attachment.path.suffix.lower(), ("application", "octet-stream")
        )
        msg.add_attachment(data, maintype=maintype, subtype=subtype, filename=attachment.name)
        files.append(SentFile(name=attachment.name, sha256=hashlib.sha256(data).hexdigest()))
    return msg, files, message_id


def _contents(out: Outgoing) -> list[bytes]:
    return [attachment.path.read_bytes() for attachment in out.attachments]


@dataclass(frozen=True)
class Ready:
    """A message made ahead of its turn: its bytes as a mail file holds them and as they go
    to the server (the fast path), or the email package's message (the library way, or an
    address in other letters, which needs SMTPUTF8); the files it carries; its Message-ID."""

    message: bytes | EmailMessage
    files: list[SentFile]
    message_id: str
    wire: Stuffed | None = None

    def as_bytes(self) -> bytes:
        """The message as a mail file holds it."""
        if isinstance(self.message, bytes):
            return self.message
        return self.message.as_bytes()


def ready_message(out: Outgoing, sender: Address, *, draft: bool = False) -> Ready:
    """The message as :func:`build_message` makes it. The fast path (``MUSFORMS_FAST_PATHS``)
    has the email package lay out the headers and parts around a short stand-in for each
    attachment, and puts in its place the file base64-encoded in one call (76 characters a
    line, as the email package encodes it a line at a time) with CRLF line ends: the same
    message, without the email package writing out a 300 kB form line by line."""
    from musforms import fastpath

    contents = _contents(out)
    if not fastpath.enabled() or not (out.to + sender.addr_spec).isascii():
        return Ready(*build_message(out, sender, draft=draft, contents=contents))
    stand_ins = [secrets.token_bytes(30) for _data in contents]
    skeleton, _files, message_id = build_message(out, sender, draft=draft, contents=stand_ins)
    wire = skeleton.as_bytes()
    files = []
    for attachment, data, stand_in in zip(out.attachments, contents, stand_ins, strict=True):
        line = base64.b64encode(stand_in) + b"\r\n"
        if wire.count(line) != 1:  # cannot happen (random bytes): make it the library way
            return Ready(*build_message(out, sender, draft=draft, contents=contents))
        wire = wire.replace(line, _base64_lines(data))
        files.append(SentFile(name=attachment.name, sha256=hashlib.sha256(data).hexdigest()))
    # Dot-stuffed here (RFC 5321 4.5.2), in one pass over bytes that end every line in CRLF,
    # where smtplib would run a regular expression over the whole message on every send.
    stuffed = (b"." if wire.startswith(b".") else b"") + wire.replace(b"\n.", b"\n..")
    return Ready(wire, files, message_id, Stuffed(stuffed))


def _base64_lines(data: bytes) -> bytes:
    """``data`` in base64 as the email package writes an attachment: lines of 76 characters
    (57 bytes), each ending in CRLF; encoded in one call, not 57 bytes at a time."""
    encoded = binascii.b2a_base64(data, newline=False)
    lines = [encoded[i : i + 76] for i in range(0, len(encoded), 76)]
    return b"\r\n".join(lines) + b"\r\n" if lines else b""


class Stuffed(bytes):
    """A message as it goes over the wire after DATA: CRLF line ends, dot-stuffed already;
    only the final ``.`` line is still to come."""


@dataclass
class DraftsResult:
    written: list[Path]
    warnings: list[str]


def write_drafts(plan: Plan, outbox: Path, sender: Address) -> DraftsResult:
    """One .eml per message in ``outbox`` (0700; each file 0600, written whole or not at all).
    Nothing goes into the send log: a draft is not sent until HR sends it."""
    warning = private_folder(outbox)
    written = []
    for out in plan.messages:
        path = outbox / out.draft_name
        write_bytes(path, ready_message(out, sender, draft=True).as_bytes())
        written.append(path)
    return DraftsResult(written, [warning] if warning else [])


# --- the server -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Server:
    host: str
    port: int
    tls: Tls = "starttls"
    user: str | None = None
    password: str | None = None
    timeout: float = DEFAULT_TIMEOUT
    cafile: Path | None = None

    @property
    def name(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.port}"


def parse_server(text: str, tls: Tls) -> tuple[str, int]:
    """``HOST``, ``HOST:PORT`` or ``[IPv6]:PORT``; the port defaults by ``tls``."""
    text = text.strip()
    host, port = text, ""
    if text.startswith("["):
        host, _sep, rest = text[1:].partition("]")
        port = rest[1:] if rest.startswith(":") else ""
    elif text.count(":") == 1:
        host, port = text.split(":")
    if not host or (port and not (port.isdigit() and 0 < int(port) < 65536)):
        raise ConfigError(
            _("--smtp {text!r}: write the mail server as HOST or HOST:PORT").format(text=text)
        )
    return host, int(port) if port else DEFAULT_PORTS[tls]


def is_loopback(host: str) -> bool:
    """Does ``host`` name this machine only (every address it resolves to)?"""
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        pass
    try:
        found = socket.getaddrinfo(host, None)
    except OSError:
        return False
    return bool(found) and all(ipaddress.ip_address(f[4][0]).is_loopback for f in found)


def check_server(server: Server) -> None:
    if server.tls == "none" and not is_loopback(server.host):
        raise ConfigError(
            _(
                "--tls none sends the forms (and any password) unencrypted, so it "
                "is only allowed to a mail server on this machine (localhost), not "
                "{host}: use --tls starttls (the default) or --tls ssl"
            ).format(host=server.host)
        )


def _context(server: Server) -> ssl.SSLContext:
    context = ssl.create_default_context()
    if server.cafile is not None:
        context.load_verify_locations(cafile=str(server.cafile))
    return context


def connect(server: Server) -> smtplib.SMTP:
    """A connection, encrypted and logged in as ``server`` says. Raises :class:`SendError`
    with what went wrong and what to do; OSError for a connection lost on the way."""
    try:
        conn: smtplib.SMTP
        if server.tls == "ssl":
            conn = _SMTP_SSL(
                server.host, server.port, timeout=server.timeout, context=_context(server)
            )
        else:
            conn = _SMTP(server.host, server.port, timeout=server.timeout)
        try:
            conn.ehlo()
            if server.tls == "starttls":
                conn.starttls(context=_context(server))
                conn.ehlo()
            if server.user:
                _login(conn, server.user, server.password or "")
        except BaseException:
            _close(conn)
            raise
    except smtplib.SMTPAuthenticationError as exc:
        raise RefusedError(
            _(
                "the mail server {name} refused the user name or password for "
                "{user} ({reply}): check --user and the password "
                "(MUSFORMS_SMTP_PASSWORD)"
            ).format(name=server.name, user=server.user, reply=_reply(exc))
        ) from None
    except smtplib.SMTPNotSupportedError as exc:
        if "AUTH PLAIN" in str(exc):
            raise SendError(
                _(
                    "the mail server {name} takes no user name or password with "
                    "letters outside A–Z (it does not offer AUTH PLAIN): ask IT for a "
                    "password of plain letters and digits"
                ).format(name=server.name)
            ) from None
        what = "STARTTLS" if "STARTTLS" in str(exc) else _("logging in (AUTH)")
        hint = (
            "use --tls ssl if it takes encrypted connections on port 465"
            if what == "STARTTLS"
            else "leave out --user if it needs no login, or ask IT which server to use"
        )
        raise SendError(
            _("the mail server {name} does not offer {what}: {hint}").format(
                name=server.name, what=what, hint=hint
            )
        ) from None
    except ssl.SSLCertVerificationError as exc:
        raise RefusedError(
            _(
                "the certificate of the mail server {name} could not be verified "
                "({verify_message}): check the server's name; if it uses your own "
                "certificate authority, give its certificate with --cafile"
            ).format(name=server.name, verify_message=exc.verify_message)
        ) from None
    except ssl.SSLError as exc:
        raise SendError(
            _(
                "no encrypted connection to the mail server {name} ({reason}): "
                "check --tls (starttls for port 587, ssl for port 465)"
            ).format(name=server.name, reason=exc.reason)
        ) from None
    except TimeoutError:
        raise SendError(_silent(server)) from None
    except smtplib.SMTPResponseException as exc:
        raise SendError(
            _("the mail server {name} said {reply}").format(name=server.name, reply=_reply(exc))
        ) from None
    except smtplib.SMTPServerDisconnected as exc:
        if _timed_out(exc):
            raise SendError(_silent(server)) from None
        raise SendError(
            _(
                "the mail server {name} closed the connection before it was ready: "
                "check --smtp and --tls"
            ).format(name=server.name)
        ) from None
    except OSError as exc:
        raise SendError(
            _(
                "cannot connect to the mail server {name}: {value}. Check the "
                "server's name and port (--smtp)"
            ).format(name=server.name, value=exc.strerror or exc)
        ) from None
    return conn


def _data(conn: smtplib.SMTP, msg: Any) -> tuple[int, bytes]:
    """smtplib's DATA, but a :class:`Stuffed` message is sent as it is (smtplib would
    dot-stuff it again, by a regular expression over the whole message; the library way's
    message is stuffed so, as smtplib does), and the final ``.`` only once this thread has
    the run's window (see :class:`_Run`): the message itself goes while other connections
    end theirs."""
    # The library way's message is quoted as smtplib quotes it.
    body: bytes = msg if isinstance(msg, Stuffed) else re.sub(rb"(?m)^\.", b"..", msg)
    conn.putcmd("data")
    code, reply = conn.getreply()
    if code != 354:
        raise smtplib.SMTPDataError(code, reply)
    conn.send(body)
    _enter_window()
    conn.send(b".\r\n" if body.endswith(b"\r\n") else b"\r\n.\r\n")
    return conn.getreply()


class _SMTP(smtplib.SMTP):
    def data(self, msg: Any) -> tuple[int, bytes]:
        return _data(self, msg)


class _SMTP_SSL(smtplib.SMTP_SSL):
    def data(self, msg: Any) -> tuple[int, bytes]:
        return _data(self, msg)


def _timed_out(exc: BaseException) -> bool:
    """Did the server go silent? smtplib reports a timeout while reading a reply as
    SMTPServerDisconnected, with the timeout as its context."""
    return isinstance(exc, TimeoutError) or isinstance(exc.__context__, TimeoutError)


def _silent(server: Server) -> str:
    return (
        f"the mail server {server.name} did not answer within {server.timeout:g} seconds: "
        "check the server's name and port (--smtp), or allow it longer with --timeout"
    )


def _login(conn: smtplib.SMTP, user: str, password: str) -> None:
    """smtplib's login, but for a user name or password in other letters (æøå) too:
    smtplib sends only ASCII, while AUTH PLAIN is UTF-8 (RFC 4616)."""
    if (user + password).isascii():
        conn.login(user, password)
        return
    if not conn.has_extn("auth") or "PLAIN" not in conn.esmtp_features["auth"].upper().split():
        raise smtplib.SMTPNotSupportedError("the server offers no AUTH PLAIN")
    token = base64.b64encode(f"\0{user}\0{password}".encode()).decode("ascii")
    code, reply = conn.docmd("AUTH", f"PLAIN {token}")
    if code != 235:
        raise smtplib.SMTPAuthenticationError(code, reply)


def _close(conn: smtplib.SMTP) -> None:
    try:
        conn.quit()
    except (smtplib.SMTPException, OSError):
        conn.close()


def _reply(exc: smtplib.SMTPResponseException) -> str:
    text = exc.smtp_error
    said = text.decode("utf-8", "replace") if isinstance(text, bytes) else str(text)
    return f"{exc.smtp_code} {' '.join(said.split())}"


# --- sending --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Failure:
    who: str
    to: str
    reason: str

    def __str__(self) -> str:
        return f"{self.who} <{self.to}>: {self.reason}"


@dataclass
class SendResult:
    sent: int = 0
    failed: list[Failure] = field(default_factory=list)
    skipped: int = 0  # sent by another run between the plan and the sending
    not_sent: int = 0  # left when the server could no longer be reached
    stopped: str = ""  # why the rest were not sent


def _still_due(out: Outgoing, log: Sent, again: bool, every: int, now: dt.datetime) -> bool:
    """Is the message still to be sent, by the log as it is now (another run may have sent it
    since the plan was made)?"""
    if again:
        return True
    if out.kind == "invitation" and out.employee_id is not None:
        files = frozenset((a.name, _digest(a.path)) for a in out.attachments)
        return not log.invited(out.employee_id, files)
    if out.kind == "reminder" and out.employee_id is not None:
        last = log.reminders.get(out.employee_id)
        return last is None or now - last >= dt.timedelta(days=every)
    done = log.leaders.get(out.to.casefold(), set())
    return any((a.name, _digest(a.path)) not in done for a in out.attachments)


def send(
    plan: Plan,
    forms_dir: Path,
    server: Server,
    sender: Address,
    *,
    rate: float = DEFAULT_RATE,
    again: bool = False,
    every: int = 7,
    connections: int = DEFAULT_CONNECTIONS,
    progress: Callable[[int], None] | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> SendResult:
    """Send the plan's messages over up to ``connections`` connections at once (each a fresh
    one when it is lost), at most ``rate`` a minute in all (0: no limit), holding the forms
    folder's lock. Each message the server accepts goes into the send log before that
    connection sends another; and only one message at a time is between the end of its
    DATA and its line in the log, so a run killed at any moment leaves at most one message
    the server may have taken without a line for it, as one connection does. A message the
    server refuses is a :class:`Failure` with its reply, and the rest still go."""
    from musforms.lock import folder_lock

    check_server(server)
    result = SendResult()
    if not plan.messages:
        return result
    with folder_lock(forms_dir, "send"), LogWriter(forms_dir) as writer:
        log = sent(forms_dir)
        now = dt.datetime.now().astimezone()
        todo = [m for m in plan.messages if _still_due(m, log, again, every, now)]
        result.skipped = len(plan.messages) - len(todo)
        if not todo:
            return result
        first = connect(server)  # a wrong password or server is told before anything goes
        run = _Run(todo, server, sender, writer, result, rate, progress, sleep)
        try:
            run.go(first, max(1, min(connections, len(todo))))
        except BaseException as exc:  # Ctrl-C, a full disk, the server gone for good
            from musforms.written import Stopped, tell

            state = (
                f"{result.sent} of {counted(len(todo), 'message', 'messages')} "
                f"{'was' if result.sent == 1 else 'were'} sent before it stopped and "
                f"{'is' if result.sent == 1 else 'are'} in "
                f"the send log ({writer.path}); nobody gets those again."
                if result.sent
                else "No message was sent."
            )
            tell(exc, Stopped(state, bool(result.sent), "run the same command again"))
            raise
    return result


class _Run:
    """One sending: the messages taken in order by the connections' threads, paced in all,
    each accepted one written to the send log by the thread that sent it."""

    def __init__(
        self,
        todo: list[Outgoing],
        server: Server,
        sender: Address,
        writer: LogWriter,
        result: SendResult,
        rate: float,
        progress: Callable[[int], None] | None,
        sleep: Callable[[float], None],
    ) -> None:
        self.todo = todo
        self.server = server
        self.sender = sender
        self.writer = writer
        self.result = result
        self.progress = progress
        self.sleep = sleep
        self.interval = 60.0 / rate if rate > 0 else 0.0
        self.lock = threading.Lock()  # what follows, the send log and the result
        self.taken = 0
        self.finished = 0  # sent, refused or not sent after its tries
        self.next_at = time.monotonic()
        self.lost_in_a_row = 0
        self.stopped = threading.Event()
        self.halted = threading.Event()  # an error or Ctrl-C: nothing more is ended
        self.error: BaseException | None = None
        self.open: set[smtplib.SMTP] = set()
        # Between the end of a message's DATA and its line in the send log: one at a time.
        self.window = threading.Lock()
        # Without a pace, the next messages are made while these go out; paced, only the
        # next, so none is dated long before it is sent.
        self.ahead = _Ahead(todo, sender, AHEAD if self.interval < 1 else 1)

    def go(self, first: smtplib.SMTP, connections: int) -> None:
        """Every connection in a thread of its own (``first`` the first's), this thread
        waiting for them a moment at a time, so that Ctrl-C, which lands here, stops them
        at once."""
        threads = [
            threading.Thread(
                target=self._connection,
                args=(first if n == 0 else None,),
                name=f"musforms-send-{n + 1}",
                daemon=True,
            )
            for n in range(connections)
        ]
        try:
            for thread in threads:
                thread.start()
            for thread in threads:
                while thread.is_alive():
                    thread.join(0.1)
        except BaseException as exc:
            self._stop(exc)
            with self.lock:
                for conn in self.open:  # mid-conversation, perhaps: no polite QUIT to wait for
                    _cut(conn)
            for thread in threads:
                if thread.is_alive():
                    thread.join()
            raise
        finally:
            self.ahead.close()
        if self.error is not None:
            raise self.error
        self.result.not_sent = len(self.todo) - self.finished

    def _stop(self, exc: BaseException | None = None) -> None:
        with self.lock:
            if exc is not None and self.error is None:
                self.error = exc
            if exc is not None:
                self.halted.set()
            self.stopped.set()

    def _pause(self, seconds: float) -> None:
        """Wait ``seconds``, less when the run stops meanwhile (Ctrl-C)."""
        if self.sleep is time.sleep:
            self.halted.wait(seconds)
        else:
            self.sleep(seconds)

    def _take(self) -> tuple[Outgoing, Future[Ready], float] | None:
        """The next message, the making of it, and how long to wait for its turn."""
        with self.lock:
            if self.stopped.is_set() or self.taken == len(self.todo):
                return None
            out = self.todo[self.taken]
            self.taken += 1
            now = time.monotonic()
            wait = self.next_at - now
            self.next_at = max(self.next_at, now) + self.interval
            return out, self.ahead.next(), wait

    def _connection(self, conn: smtplib.SMTP | None) -> None:
        """One connection's thread: messages taken one after the other until none is left
        or the run stops. A connection beyond the first that cannot be made leaves the
        messages to the others (a server may take fewer at once)."""
        _WINDOW.lock = self.window
        _WINDOW.halted = self.halted
        try:
            if conn is None:
                try:
                    conn = connect(self.server)
                except RefusedError:
                    raise
                except (SendError, OSError):
                    return
            with self.lock:
                self.open.add(conn)
            while True:
                taken = self._take()
                if taken is None:
                    break
                out, making, wait = taken
                if wait > 0:
                    self._pause(wait)
                if self.error is not None:
                    break  # stopped while this one waited its turn: it is not sent
                conn = self._one(conn, out, making.result())
        except BaseException as exc:
            self._stop(exc)
        finally:
            _leave_window()
            if conn is not None:
                with self.lock:
                    self.open.discard(conn)
                if self.stopped.is_set():
                    _cut(conn)
                else:
                    _close(conn)

    def _one(self, conn: smtplib.SMTP | None, out: Outgoing, ready: Ready) -> smtplib.SMTP | None:
        """One message, tried up to TRIES times, each on a fresh connection after the last
        was lost; the connection to go on with."""
        server, sender = self.server, self.sender
        reason, lost = "", ""
        for attempt in range(TRIES):
            if attempt:  # the connection was lost: a moment's pause, then a fresh one
                self._pause(PAUSES[attempt - 1])
                if self.error is not None:
                    raise self.error  # the run stopped meanwhile (Ctrl-C in another thread)
            try:
                if conn is None:
                    conn = connect(server)
                    with self.lock:
                        self.open.add(conn)
                try:
                    if ready.wire is not None:
                        conn.sendmail(sender.addr_spec, [out.to], ready.wire)
                    else:
                        assert isinstance(ready.message, EmailMessage)  # the library way
                        conn.send_message(
                            ready.message, from_addr=sender.addr_spec, to_addrs=[out.to]
                        )
                    self.writer.add(
                        Entry(
                            kind=out.kind,
                            employee_id=out.employee_id,
                            to=out.to,
                            files=ready.files,
                            sent_at=dt.datetime.now().astimezone(),
                            message_id=ready.message_id,
                        )
                    )
                finally:
                    _leave_window()
            except smtplib.SMTPRecipientsRefused as exc:
                code, said = exc.recipients.get(out.to, (0, b""))
                if 400 <= code < 500:  # not now (greylisting, too many an hour)
                    lost = f"the server said {_said(code, said)}"
                    continue
                reason = _(
                    "the server refused the address: {said}. Check the address in the "
                    "roster (a corrected roster goes with --roster)"
                ).format(said=_said(code, said))
            except smtplib.SMTPSenderRefused as exc:
                if 400 <= exc.smtp_code < 500:
                    lost = f"the server said {_reply(exc)}"
                    continue
                raise RefusedError(
                    _(
                        "the mail server {name} refused the sender {addr_spec} ({reply}): "
                        "check --from, and that --user may send as that address"
                    ).format(name=server.name, addr_spec=sender.addr_spec, reply=_reply(exc))
                ) from None
            except smtplib.SMTPResponseException as exc:
                if 400 <= exc.smtp_code < 500:  # try again later: on a fresh connection
                    lost = f"the server said {_reply(exc)}"
                    self._drop(conn)
                    conn = None
                    continue
                reason = _(
                    "the server refused the message: {reply}. Ask whoever runs the "
                    "mail server what it takes (a size limit, a filter)"
                ).format(reply=_reply(exc))
            except RefusedError:
                raise
            except SendError as exc:  # could not connect again
                lost = str(exc)
                conn = None
                continue
            except (smtplib.SMTPServerDisconnected, OSError) as exc:
                if self.stopped.is_set() and self.error is not None:
                    raise  # cut by the run stopping (Ctrl-C in another thread)
                lost = _lost(exc, server)
                self._drop(conn)
                conn = None
                continue
            else:
                with self.lock:
                    self.result.sent += 1
                    self.lost_in_a_row = 0
            break
        else:
            reason = _("not sent after {tries} tries: {lost}. Run the same command again").format(
                tries=TRIES, lost=lost
            )
            with self.lock:
                self.lost_in_a_row += 1
                if self.lost_in_a_row >= LOST_IN_A_ROW:
                    self.result.stopped = self.result.stopped or lost
                    self.stopped.set()
        with self.lock:
            self.finished += 1
            if reason:
                self.result.failed.append(Failure(out.who, out.to, reason))
            if self.progress is not None:
                self.progress(1)
        return conn

    def _drop(self, conn: smtplib.SMTP | None) -> None:
        if conn is not None:
            with self.lock:
                self.open.discard(conn)
            conn.close()


# Each connection's thread: the run's lock for the end of a message (see _data), whether
# the thread holds it, and the run's stop for an error or Ctrl-C (no message is ended then).
_WINDOW = threading.local()


class _Halted(Exception):
    """Raised in a connection's thread before it ends a message, once the run has stopped."""


def _enter_window() -> None:
    lock = getattr(_WINDOW, "lock", None)
    if lock is not None and not getattr(_WINDOW, "held", False):
        lock.acquire()
        _WINDOW.held = True
        if _WINDOW.halted.is_set():  # the run stopped (Ctrl-C) while this one waited
            _leave_window()
            raise _Halted


def _leave_window() -> None:
    if getattr(_WINDOW, "held", False):
        _WINDOW.held = False
        _WINDOW.lock.release()


def _cut(conn: smtplib.SMTP) -> None:
    """End a connection another thread may be waiting on, at once."""
    sock = conn.sock
    if sock is not None:
        with contextlib.suppress(OSError):
            socket.socket.shutdown(sock, socket.SHUT_RDWR)
    conn.close()


class _Ahead:
    """The messages of ``todo`` made in order in a thread of their own, ``ahead`` of those
    being sent: reading, hashing and encoding the forms overlaps the server's reading of the
    messages before. Used under the run's lock."""

    def __init__(self, todo: list[Outgoing], sender: Address, ahead: int) -> None:
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="musforms-send")
        self._todo = iter(todo)
        self._sender = sender
        self._queue: deque[Future[Ready]] = deque()
        for _i in range(ahead):
            self._submit()

    def _submit(self) -> None:
        out = next(self._todo, None)
        if out is not None:
            self._queue.append(self._pool.submit(ready_message, out, self._sender))

    def next(self) -> Future[Ready]:
        """The making of the next message: its result raises what making it raised (a form
        file gone, a full disk)."""
        if not self._queue:
            self._submit()
        future = self._queue.popleft()
        self._submit()
        return future

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)


def _said(code: int, said: bytes | str) -> str:
    text = said.decode("utf-8", "replace") if isinstance(said, bytes) else str(said)
    return f"{code} {' '.join(text.split())}".strip()


def _lost(exc: BaseException, server: Server) -> str:
    if _timed_out(exc):
        return f"the mail server {server.name} stopped answering for {server.timeout:g} seconds"
    if isinstance(exc, smtplib.SMTPServerDisconnected):
        return f"the mail server {server.name} closed the connection"
    return f"the connection to the mail server {server.name} was lost ({exc})"
