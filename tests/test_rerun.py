"""collect run morning after morning reads only what is new (musforms.collect.cache), and
its results are byte for byte those of a run that reads everything: one run over all the
files, and the same runs without the cache."""

from __future__ import annotations

import contextlib
import email.utils
import mailbox
import os
import re
import shutil
import stat
import subprocess
import zipfile
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest

from musforms.collect import CollectResult, FileEntry, collect, load_report
from musforms.collect import cache as cache_module
from musforms.collect.cache import cache_path
from musforms.lock import LOCK_FILE
from musforms.purge import execute, plan_purge
from tests.clients.pdf import fill_pdfium, fill_pdfjs, fill_poppler
from tests.clients.word import fill_libreoffice
from tests.trust_data import Round, answers, forge_token, make_round, pdf_set, pdf_token

pytestmark = pytest.mark.realclient

FIRST, SECOND, THIRD = "FØRSTE-svar", "ДРУГИЙ ответ", "Τρίτη απάντηση"
COPIES = 36  # byte-different copies of one return: more than POOL_THRESHOLD, so workers read


@pytest.fixture(scope="module")
def round_(tmp_path_factory: pytest.TempPathFactory) -> Round:
    root = tmp_path_factory.mktemp("rerun")
    return make_round(root, previous=False, key_file=root / "key")


def _old(path: Path, hours: float = 0) -> None:
    """A modification time before the forms were filled (PDFium's save keeps no save time
    of its own, so this is the time collect goes by), ``hours`` later for a later return."""
    when = 1767603600 + hours * 3600  # 2026-01-05 09:00 UTC
    os.utime(path, (when, when))


@pytest.fixture(scope="module")
def files(round_: Round) -> dict[str, Path]:
    """One of each kind of return, made once by real clients."""
    made = round_.root / "made"
    made.mkdir()
    f = {name: made / name for name in ("chrome.pdf", "firefox.pdf", "word.docx")}
    fill_pdfium(round_.form("1042", "pdf"), f["chrome.pdf"], answers(FIRST, previous=False))
    fill_pdfjs(round_.form("1042", "pdf"), f["firefox.pdf"], answers(SECOND, previous=False))
    fill_libreoffice(
        round_.form("1042", "docx"),
        f["word.docx"],
        {"lykkedes": f"{THIRD}\nمرحبا\n" + "lang linje " * 200, "titel": "Żółć", "kursus": True},
    )
    ida = made / "ida.pdf"
    fill_pdfium(round_.form("1043", "pdf"), ida, answers("Ida svarer", previous=False))
    f["printed.pdf"] = made / "printed.pdf"  # read from its pages: recovered
    subprocess.run(["pdftocairo", "-pdf", str(ida), str(f["printed.pdf"])], check=True)
    typed = made / "typed.pdf"
    fill_pdfium(round_.form("1043", "pdf"), typed, {"titel": "slettes", "kursus": True})
    f["blank.pdf"] = made / "blank.pdf"  # every answer taken out again in poppler
    fill_poppler(typed, f["blank.pdf"], {"titel": "", "kursus": False})
    f["forged.pdf"] = made / "forged.pdf"  # the employee id in the identity edited: rejected
    forged = forge_token(pdf_token(f["chrome.pdf"]), employee_id="1043")
    pdf_set(f["chrome.pdf"], f["forged.pdf"], fields={"mf_identity": forged}, info=forged)
    return f


def _mail(attach: Path | None, n: int, *, sender: str = "soeren@firma.dk") -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = "hr@firma.dk"
    msg["Subject"] = f"MUS-skema {n} – æøå"
    msg["Date"] = email.utils.format_datetime(email.utils.parsedate_to_datetime(
        f"Mon, {5 + n:02d} Jan 2026 10:00:00 +0100"
    ))  # fmt: skip
    msg["Message-ID"] = f"<svar-{n}@firma.dk>"
    msg.set_content("Hermed mit skema.\nVenlig hilsen")
    if attach is not None:
        msg.add_attachment(
            attach.read_bytes(), maintype="application", subtype="octet-stream",
            filename=f"Mit skema {n}{attach.suffix}",
        )  # fmt: skip
    return msg


def _pad(src: Path, dst: Path, n: int) -> None:
    """A copy that differs in its bytes (a comment after the end of the PDF) and reads as the
    same return."""
    dst.write_bytes(src.read_bytes() + f"\n% kopi {n}\n".encode())
    shutil.copystat(src, dst)


def _wave(n: int, files: dict[str, Path], inbox: Path) -> None:
    """What has come by the morning of day ``n``: a folder of returns and mail."""
    put = lambda name, src: shutil.copy2(src, inbox / name)  # noqa: E731
    box = inbox / "svar.mbox"
    if n == 1:
        put("chrome.pdf", files["chrome.pdf"])
        _old(inbox / "chrome.pdf")
        put("blank 1043.pdf", files["blank.pdf"])
        _old(inbox / "blank 1043.pdf", 2)
        put("forged.pdf", files["forged.pdf"])
        (inbox / "tom.pdf").write_bytes(b"")
        (inbox / "scan.pdf").write_bytes(bytes(range(256)) * 16)  # no PDF, named one
        (inbox / "noter.txt").write_text("Husk mødet med Åse", encoding="utf-8")
    elif n == 2:
        put("printed 1043.pdf", files["printed.pdf"])  # Ida's answers: no longer blank
        _old(inbox / "printed 1043.pdf", 1)
        put("Kopi af chrome.pdf", files["chrome.pdf"])  # an identical copy
        put("firefox.pdf", files["firefox.pdf"])  # other answers, saved later
        _old(inbox / "firefox.pdf", 5)
        (inbox / "svar.eml").write_bytes(_mail(files["blank.pdf"], 1).as_bytes())
        mbox = mailbox.mbox(box)
        mbox.add(_mail(files["word.docx"], 2))
        mbox.add(_mail(None, 3))  # no file attached
        mbox.close()
    else:
        mbox = mailbox.mbox(box)
        mbox.add(_mail(files["printed.pdf"], 4, sender="chef@firma.dk"))
        mbox.close()
        maildir = mailbox.Maildir(inbox / "Maildir")
        maildir.add(_mail(files["chrome.pdf"], 5))
        copies = inbox / "kopier"
        copies.mkdir()
        for i in range(COPIES):
            _pad(files["chrome.pdf"], copies / f"chrome {i:02d}.pdf", i)


def _run(round_: Round, inbox: Path, out: Path, **kw: object) -> CollectResult:
    return collect([inbox], round_.forms, out, key_file=round_.key_file, workers=2, **kw)  # type: ignore[arg-type]


# The time of the run, wherever a file says it: report.json's collected_at, the calendar's
# DTSTAMP, a workbook's created and modified times (and its zip entries' times).
_STAMPS = (
    re.compile(rb'"collected_at": ?"[^"]*"'),
    re.compile(rb"DTSTAMP:[0-9TZ]+"),
    re.compile(rb"<dcterms:(created|modified)[^>]*>[^<]*</dcterms:(created|modified)>"),
)


def _unstamped(data: bytes) -> bytes:
    for stamp in _STAMPS:
        data = stamp.sub(b"", data)
    return data


def _tree(out: Path) -> dict[str, bytes | dict[str, bytes]]:
    """Every file of a results folder as HR sees it: not the lock's note, not the private
    space (the cache); each without the time of the run (a .xlsx or .docx as its parts,
    byte for byte, without the zip's times)."""
    tree: dict[str, bytes | dict[str, bytes]] = {}
    for path in sorted(out.rglob("*")):
        rel = path.relative_to(out)
        if not path.is_file() or rel.parts[0] in (LOCK_FILE, ".musforms-tmp", ".musforms-cache"):
            continue
        if path.suffix in (".xlsx", ".docx"):
            with zipfile.ZipFile(path) as z:
                tree[str(rel)] = {n: _unstamped(z.read(n)) for n in z.namelist()}
        else:
            tree[str(rel)] = _unstamped(path.read_bytes())
    return tree


def _statuses(out: Path) -> dict[str, str]:
    report = load_report(out)
    assert report is not None
    return {e.file.rsplit("/", 1)[-1]: e.status for e in report.files}


def test_three_mornings_with_the_cache_give_what_reading_everything_gives(
    round_: Round, files: dict[str, Path], tmp_path: Path
) -> None:
    """Protects against a morning's re-run giving other results than reading everything:
    three waves of returns and mail (duplicates, a superseded return, blank, rejected,
    recovered, unreadable and not-musforms files, .eml, mbox and Maildir) collected with the
    cache give byte for byte the results folder of the same waves without it and of one run
    over everything; and each morning only what is new is read."""
    inbox = tmp_path / "returned"
    inbox.mkdir()
    cached, uncached, once = tmp_path / "cached", tmp_path / "uncached", tmp_path / "once"
    read_before = rejected_before = 0
    seen: set[str] = set()  # every status met, morning by morning
    for n in (1, 2, 3):
        _wave(n, files, inbox)
        with_cache = _run(round_, inbox, cached)
        without = _run(round_, inbox, uncached, full=True)
        assert without.from_cache == 0
        # Every line read before comes from the cache but the one whose outcome depends on
        # the file's name (scan.pdf: "not a real PDF file (.pdf)") and the rejected ones
        # (what a rejected file holds is kept nowhere); on day 2 so does the identical copy
        # of chrome.pdf, known by its bytes.
        expected = {1: 0, 2: read_before - 1 + 1, 3: read_before - 1}[n] - rejected_before
        assert with_cache.from_cache == expected, n
        assert with_cache.files_read == without.files_read
        read_before = with_cache.files_read
        rejected_before = list(_statuses(cached).values()).count("rejected")
        assert _tree(cached) == _tree(uncached), n
        seen |= set(_statuses(cached).values())
    _run(round_, inbox, once, full=True)
    statuses = _statuses(once)
    for status in ("ok", "duplicate", "superseded", "blank", "rejected", "recovered"):
        assert status in seen, (status, seen)
    assert statuses["svar.mbox #2"] == "not_musforms"
    assert statuses["tom.pdf"] == statuses["scan.pdf"] == "unreadable"
    # Run again with nothing new: everything from the cache (but scan.pdf and the rejected
    # file), nothing changed.
    rejected = list(statuses.values()).count("rejected")
    assert rejected >= 1
    again = _run(round_, inbox, cached)
    assert again.from_cache == again.files_read - 1 - rejected
    assert _tree(cached) == _tree(uncached)
    # The one run's folder, run again with its cache and without: the same.
    twice = shutil.copytree(once, tmp_path / "twice")
    once_more = _run(round_, inbox, once)
    assert once_more.from_cache == once_more.files_read - 1 - rejected
    _run(round_, inbox, twice, full=True)
    assert _tree(once) == _tree(twice)


def test_three_mornings_give_what_one_run_gives(
    round_: Round, files: dict[str, Path], tmp_path: Path
) -> None:
    """The same three waves, collected morning by morning, and all at once: the same
    results folder."""
    inbox = tmp_path / "returned"
    inbox.mkdir()
    for n in (1, 2, 3):
        _wave(n, files, inbox)
        _run(round_, inbox, tmp_path / "waves", full=True)
    _run(round_, inbox, tmp_path / "once", full=True)
    assert _tree(tmp_path / "waves") == _tree(tmp_path / "once")


def _answer(out: Path, employee_id: str = "1042") -> str:
    import json

    data = json.loads((out / "responses" / f"{employee_id}.json").read_text(encoding="utf-8"))
    return str(data["answers"]["lykkedes"])


def test_a_file_renamed_is_known_and_a_file_changed_is_read(
    round_: Round, files: dict[str, Path], tmp_path: Path
) -> None:
    """A file renamed or moved is the same file (by its bytes); one whose bytes changed is
    new; the results are those of the same runs without the cache."""
    inbox = tmp_path / "returned"
    inbox.mkdir()
    cached, uncached = tmp_path / "cached", tmp_path / "uncached"
    shutil.copy2(files["chrome.pdf"], inbox / "svar.pdf")
    shutil.copy2(files["printed.pdf"], inbox / "ida.pdf")
    for kw in ({}, {"full": True}):
        _run(round_, inbox, cached if not kw else uncached, **kw)
    (inbox / "flyttet").mkdir()
    (inbox / "svar.pdf").rename(inbox / "flyttet" / "svar omdøbt.pdf")
    shutil.copy2(files["firefox.pdf"], inbox / "ida.pdf")  # other bytes under the same name
    result = _run(round_, inbox, cached)
    assert result.from_cache == 1  # the renamed one; ida.pdf is read
    _run(round_, inbox, uncached, full=True)
    assert _tree(cached) == _tree(uncached)
    assert _answer(cached).startswith(SECOND)


def test_a_file_as_it_was_is_neither_read_nor_identified_again(
    round_: Round, files: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A file on disk just as an earlier run found it (path, size, times, inode) gives that
    run's result without being read, hashed or identified again; a file new this morning,
    moved or renamed is; the results are those of a run without the cache."""
    from musforms.collect import read as read_module

    inbox = tmp_path / "returned"
    inbox.mkdir()
    for name in ("chrome.pdf", "word.docx", "printed.pdf", "blank.pdf"):
        shutil.copy2(files[name], inbox / name)
    cached, uncached = tmp_path / "cached", tmp_path / "uncached"
    _run(round_, inbox, cached)
    _run(round_, inbox, uncached, full=True)
    identified: list[str] = []
    real = read_module.identify

    def counting(raw: Any, entry: FileEntry, ctx: Any) -> Any:
        identified.append(entry.file.rsplit("/", 1)[-1])
        return real(raw, entry, ctx)

    monkeypatch.setattr(read_module, "identify", counting)
    again = _run(round_, inbox, cached)
    assert identified == [] and again.from_cache == 4
    monkeypatch.setattr(read_module, "identify", real)
    _run(round_, inbox, uncached, full=True)
    assert _tree(cached) == _tree(uncached)
    shutil.copy2(files["firefox.pdf"], inbox / "firefox.pdf")
    (inbox / "word.docx").rename(inbox / "word omdøbt.docx")
    monkeypatch.setattr(read_module, "identify", counting)
    morning = _run(round_, inbox, cached)
    assert sorted(identified) == ["firefox.pdf", "word omdøbt.docx"]
    assert morning.from_cache == 4  # the renamed one's bytes were known: not read by its reader
    monkeypatch.setattr(read_module, "identify", real)
    _run(round_, inbox, uncached, full=True)
    assert _tree(cached) == _tree(uncached)


def _cache_rows(out: Path) -> dict[str, list[tuple[str, str]]]:
    import sqlite3

    with contextlib.closing(sqlite3.connect(cache_path(out))) as db:
        return {
            table: sorted(db.execute(f"SELECT key, outcome FROM {table}"))
            for table in cache_module.TABLES
        }


def test_a_morning_cache_is_made_from_the_last_and_holds_only_what_is_met(
    round_: Round, files: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A morning's cache is the earlier one with what is new and without what is gone: row
    for row the cache a run over the same files without one leaves, and a file taken out of
    the folder is not left in it, not even in the database's free pages."""
    inbox = tmp_path / "returned"
    inbox.mkdir()
    for name in ("chrome.pdf", "word.docx", "printed.pdf"):
        shutil.copy2(files[name], inbox / name)
    cached, uncached = tmp_path / "cached", tmp_path / "uncached"
    _run(round_, inbox, cached)
    _run(round_, inbox, uncached, full=True)
    assert FIRST.encode() in cache_path(cached).read_bytes()  # chrome.pdf's answers
    grown: list[bool] = []
    save = cache_module.CacheWriter.save

    def saving(writer: cache_module.CacheWriter, out: Path) -> None:
        grown.append(writer.grown)
        save(writer, out)

    monkeypatch.setattr(cache_module.CacheWriter, "save", saving)
    (inbox / "chrome.pdf").unlink()
    shutil.copy2(files["firefox.pdf"], inbox / "firefox.pdf")
    morning = _run(round_, inbox, cached)
    assert morning.from_cache == 2 and grown == [True]
    _run(round_, inbox, uncached, full=True)
    assert grown == [True, False]  # a run reading everything writes its cache row by row
    assert _cache_rows(cached) == _cache_rows(uncached)
    assert _tree(cached) == _tree(uncached)
    assert FIRST.encode() not in cache_path(cached).read_bytes()
    assert SECOND.encode() in cache_path(cached).read_bytes()  # not vacuous


def test_a_file_rewritten_with_its_size_and_time_kept_is_read_again(
    round_: Round, files: dict[str, Path], tmp_path: Path
) -> None:
    """Protects against knowing a file by how it stands on disk too loosely: other answers
    written over a returned file in place, with the same size and its modification time set
    back as it was, are read (the write changed its change time, which no one can set)."""
    inbox = tmp_path / "returned"
    inbox.mkdir()
    other = tmp_path / "other.pdf"  # other answers of the same length, saved by PDFium
    fill_pdfium(round_.form("1042", "pdf"), other, answers(SECOND[::-1], previous=False))
    first, second = files["chrome.pdf"].read_bytes(), other.read_bytes()
    size = max(len(first), len(second)) + 20
    assert size - min(len(first), len(second)) < 900  # blanks after %%EOF, as readers allow
    pad = lambda data: data + b" " * (size - len(data) - 1) + b"\n"  # noqa: E731
    target = inbox / "svar.pdf"
    target.write_bytes(pad(first))
    _old(target)
    out = tmp_path / "results"
    _run(round_, inbox, out)
    assert _answer(out).startswith(FIRST)
    before = target.stat()
    with target.open("r+b") as fh:  # in place: the same inode
        fh.write(pad(second))
    os.utime(target, ns=(before.st_atime_ns, before.st_mtime_ns))
    after = target.stat()
    assert (after.st_size, after.st_mtime_ns, after.st_ino) == (
        before.st_size, before.st_mtime_ns, before.st_ino,
    )  # fmt: skip
    _run(round_, inbox, out)
    assert _answer(out).startswith(SECOND[::-1])


def test_a_new_key_or_question_set_or_limit_reads_everything_again(
    round_: Round, files: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Protects against results from a cache made under other conditions: what a file gives
    depends on the key, the issued forms and question sets, the roster and the limits, and
    a change of any of them reads everything again."""
    inbox = tmp_path / "returned"
    inbox.mkdir()
    shutil.copy2(files["chrome.pdf"], inbox / "svar.pdf")
    out = tmp_path / "results"
    assert _run(round_, inbox, out).from_cache == 0
    assert _run(round_, inbox, out).from_cache == 1
    from musforms.limits import Limits

    assert _run(round_, inbox, out, limits=Limits(seconds=59)).from_cache == 0
    assert _run(round_, inbox, out, limits=Limits(seconds=59)).from_cache == 1
    qs = next((round_.forms / "question_sets").iterdir())
    saved = qs.read_bytes()
    try:
        qs.write_bytes(saved + b"\n# rettet\n")
        assert _run(round_, inbox, out, limits=Limits(seconds=59)).from_cache == 0
    finally:
        qs.write_bytes(saved)
    assert _run(round_, inbox, out, roster=round_.roster).from_cache == 0
    assert _run(round_, inbox, out, roster=round_.roster).from_cache == 1
    assert _run(round_, inbox, out, roster=round_.roster, full=True).from_cache == 0


def test_a_stricter_limit_is_not_answered_from_the_cache(
    round_: Round, files: dict[str, Path], tmp_path: Path
) -> None:
    """Protects against the limits missing from the cache's key: a form read within the
    default limits is refused under a stricter one (fewer fields than the form has), and
    its outcome from the earlier run must not be taken instead."""
    from musforms.limits import Limits

    inbox = tmp_path / "returned"
    inbox.mkdir()
    shutil.copy2(files["chrome.pdf"], inbox / "svar.pdf")
    out = tmp_path / "results"
    assert _run(round_, inbox, out).counts == {"ok": 1}
    strict = tmp_path / "strict"
    shutil.copytree(out, strict)
    refused = _run(round_, inbox, strict, limits=Limits(fields=3))
    assert refused.from_cache == 0
    line = _lines(strict)["svar.pdf"]
    assert "kept" in " ".join(p.code for p in line.problems) or line.status == "unreadable"
    fresh = tmp_path / "fresh"
    shutil.copytree(out, fresh)
    cache_path(fresh).unlink()
    _run(round_, inbox, fresh, limits=Limits(fields=3))
    assert _tree(strict) == _tree(fresh)


def _lines(out: Path) -> dict[str, FileEntry]:
    report = load_report(out)
    assert report is not None
    return {e.file.rsplit("/", 1)[-1]: e for e in report.files}


def test_a_damaged_or_foreign_cache_is_ignored(
    round_: Round, files: dict[str, Path], tmp_path: Path
) -> None:
    """A cache cut short, overwritten, open to other users or made for another round is
    ignored (everything is read), never an error, never a wrong result."""
    inbox = tmp_path / "returned"
    inbox.mkdir()
    shutil.copy2(files["chrome.pdf"], inbox / "svar.pdf")
    shutil.copy2(files["word.docx"], inbox / "word.docx")
    out, clean = tmp_path / "results", tmp_path / "clean"
    _run(round_, inbox, out)
    _run(round_, inbox, clean, full=True)
    cache = cache_path(out)
    assert stat.S_IMODE(cache.stat().st_mode) == 0o600
    assert stat.S_IMODE(cache.parent.stat().st_mode) == 0o700
    good = cache.read_bytes()
    assert b"mf_identity" in good or FIRST.encode() in good  # it holds answers: private
    assert round_.key_file.read_bytes().strip() not in good

    def damaged(how: str) -> None:
        cache.write_bytes(good)
        os.chmod(cache, 0o600)
        if how == "cut short":
            cache.write_bytes(good[: len(good) // 2])
        elif how == "rubbish":
            cache.write_bytes(b"SQLite format 3\0" + os.urandom(len(good)))
        elif how == "open to others":
            os.chmod(cache, 0o644)
        elif how == "rows damaged":
            import sqlite3

            with sqlite3.connect(cache) as db:
                db.execute('UPDATE contents SET outcome = \'{"raw": {"format": 7}}\'')
        elif how == "another key":
            import sqlite3

            with sqlite3.connect(cache) as db:
                db.execute("UPDATE meta SET value = 'x' WHERE name = 'key'")

    for how in ("cut short", "rubbish", "open to others", "rows damaged", "another key"):
        damaged(how)
        result = _run(round_, inbox, out)
        assert result.from_cache == 0, how
        assert _tree(out) == _tree(clean), how
    assert _run(round_, inbox, out).from_cache == 2  # made whole again


def test_purge_removes_the_cache(round_: Round, files: dict[str, Path], tmp_path: Path) -> None:
    """The cache holds answers: purging removes it with the rest."""
    import datetime as dt

    inbox = tmp_path / "returned"
    inbox.mkdir()
    shutil.copy2(files["chrome.pdf"], inbox / "svar.pdf")
    out = tmp_path / "results"
    _run(round_, inbox, out)
    assert cache_path(out).is_file()
    plan = plan_purge(out, dt.date(2030, 1, 1))
    assert plan.cache == cache_path(out)
    execute(plan)
    assert not cache_path(out).exists()
    assert not any(FIRST.encode() in p.read_bytes() for p in out.rglob("*") if p.is_file())


def test_the_cache_key_holds_no_key(round_: Round) -> None:
    """The cache's key is a digest: the signing key is in it only through a hash."""
    from musforms.limits import DEFAULT_LIMITS

    key = round_.key_file.read_bytes()
    digest = cache_module.cache_key(key, round_.forms, None, DEFAULT_LIMITS)
    assert re.fullmatch(r"[0-9a-f]{64}", digest)
    other = cache_module.cache_key(key + b"x", round_.forms, None, DEFAULT_LIMITS)
    assert other != digest


# --- IMAP: a message already read is not fetched again ------------------------------------------


@pytest.fixture(scope="module")
def mail_round(tmp_path_factory: pytest.TempPathFactory) -> Any:
    from tests.test_inbox import Round as MailRound

    return MailRound(tmp_path_factory.mktemp("imap-rerun"))


def test_an_imap_message_read_before_is_not_fetched_again(
    mail_round: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Protects against the morning's run downloading the whole mailbox again: messages
    collected before are known by their Message-ID (and size) from their header alone, and
    only new ones (and one without a Message-ID, known by its bytes) are fetched; the
    results are those of a run that fetches everything."""
    import imaplib

    from musforms.mail.imap import PASSWORD_ENV
    from tests.imap_server import PASSWORD, dovecot
    from tests.test_inbox import from_employee

    monkeypatch.setenv(PASSWORD_ENV, PASSWORD)
    fetched: list[str] = []
    uid = imaplib.IMAP4.uid

    def spy(self: imaplib.IMAP4, command: str, *args: str) -> Any:
        if command == "FETCH" and "BODY.PEEK[]" in args[-1]:
            fetched.append(args[0])
        return uid(self, command, *args)

    monkeypatch.setattr(imaplib.IMAP4, "uid", spy)
    with dovecot() as server:
        server.append("INBOX", from_employee(mail_round, "1042").as_bytes())
        anonymous = from_employee(mail_round, "1043")
        del anonymous["Message-ID"]
        server.append("INBOX", anonymous.as_bytes())
        url = server.url()
        cached, fresh = tmp_path / "cached", tmp_path / "fresh"
        mail_round.collect(url, out=cached)
        assert fetched == ["1,2"]
        server.append("INBOX", from_employee(mail_round, "1044").as_bytes())
        fetched.clear()
        again = mail_round.collect(url, out=cached)
        assert fetched == ["2,3"]  # the one without a Message-ID, and the new one
        assert again.from_cache == 2  # 1042's by its Message-ID, 1043's by its bytes
        fetched.clear()
        collect([url], mail_round.forms, fresh, key_file=mail_round.key, workers=1, full=True)
        assert fetched == ["1,2,3"]
    assert _tree(cached) == _tree(fresh)
