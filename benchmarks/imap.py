"""Collecting from an IMAP folder: attachments per second from dovecot, and memory as the
folder grows.

For each folder size, generates that many PDF forms (the built-in standard question set, a
roster with e-mail addresses), fills each with the benchmark's filler (benchmarks/fill.py),
and puts one reply per employee into a real dovecot (tests/imap_server.py) with IMAP
APPEND, every tenth with a picture attached as well. Then times collect's reading of the
folder (fetch, open each message, read each attachment, identify and interpret: what
``collect`` does before it writes), over the cores, sampling the resident memory of the
whole process tree; and, once, the whole ``collect`` (responses, report, minutes). Writes
its section of benchmarks/RESULTS.md.

    .venv/bin/python benchmarks/imap.py --sizes 250,1000
"""

from __future__ import annotations

import argparse
import contextlib
import email.utils
import os
import platform
import sys
import tempfile
import time
from email.message import EmailMessage
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(ROOT))

from bench import STANDARD, Sampler, write_roster  # noqa: E402
from fill import answers_for, fill_pdf  # noqa: E402
from sections import replace_section  # noqa: E402

from musforms.collect import collect  # noqa: E402
from musforms.collect.context import open_context  # noqa: E402
from musforms.collect.read import expand, read_files  # noqa: E402
from musforms.generate import generate  # noqa: E402
from musforms.identity import load_key  # noqa: E402
from musforms.mail.imap import PASSWORD_ENV  # noqa: E402
from musforms.manifest import load_manifest  # noqa: E402
from musforms.questionset import load_question_set  # noqa: E402
from tests.imap_server import PASSWORD, dovecot  # noqa: E402

HEADING = "## Collecting from IMAP (dovecot)"
PICTURE = b"\xff\xd8\xff\xe0" + os.urandom(30_000)  # a photo a phone adds to a reply


def _messages(work: Path, n: int) -> list[bytes]:
    roster = work / "roster.csv"
    write_roster(roster, n)
    forms = work / "forms"
    generate(STANDARD, roster, forms, "2026", formats=["pdf"], key_file=work / "key", workers=None)
    qs = load_question_set(STANDARD)
    emails = {}
    for line in roster.read_text(encoding="utf-8").splitlines()[1:]:
        cells = line.split(";")
        emails[cells[0]] = cells[2]
    out = []
    filled = work / "filled.pdf"
    for i, form in enumerate(load_manifest(forms).forms):
        fill_pdf(forms / form.files["pdf"], filled, answers_for(qs, form.employee_id))
        msg = EmailMessage()
        msg["From"] = emails[form.employee_id]
        msg["To"] = "hr@kommune.dk"
        msg["Subject"] = "Re: Din MUS-forberedelse"
        msg["Date"] = email.utils.formatdate(1_795_000_000 + i * 60)
        msg["Message-ID"] = email.utils.make_msgid(domain="kommune.dk")
        msg.set_content("Hej\n\nHer er mit skema, udfyldt.\n\nMed venlig hilsen")
        msg.add_attachment(
            filled.read_bytes(), maintype="application", subtype="pdf", filename="MUS svar.pdf"
        )
        if i % 10 == 0:
            msg.add_attachment(PICTURE, maintype="image", subtype="jpeg", filename="IMG_0001.jpg")
        out.append(msg.as_bytes())
    return out


def measure(n: int, workers: int | None, whole: bool) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="musforms-imap-") as tmp:
        work = Path(tmp)
        messages = _messages(work, n)
        os.environ[PASSWORD_ENV] = PASSWORD
        with dovecot() as server:
            started = time.perf_counter()
            server.append_all("INBOX", messages)
            appended = time.perf_counter() - started
            size = sum(len(m) for m in messages)
            del messages
            url = server.url()
            key = load_key(work / "key")
            statuses: dict[str, int] = {}
            with (
                open_context(key, work / "forms") as ctx,
                Sampler() as sampler,
            ):
                started = time.perf_counter()
                reads = read_files(expand([], [url], ctx), ctx, workers=workers)
                with contextlib.closing(reads):
                    for result in reads:
                        statuses[result.entry.status] = statuses.get(result.entry.status, 0) + 1
                took = time.perf_counter() - started
            flags = server.flags()
            seen = sum("\\Seen" in f for f in flags.values())
            total_collect = None
            if whole:
                started = time.perf_counter()
                collect([url], work / "forms", work / "out", key_file=work / "key", workers=workers)
                total_collect = time.perf_counter() - started
    attachments = sum(statuses.values())
    return {
        "messages": n,
        "mbytes": size / 1e6,
        "append_s": appended,
        "attachments": attachments,
        "statuses": statuses,
        "seconds": took,
        "rate": attachments / took,
        "peak_mb": sampler.peak / 1e6,
        "seen": seen,
        "in_folder": len(flags),
        "collect_s": total_collect,
    }


def section(results: list[dict[str, Any]], workers: int | None) -> str:
    cpu = platform.processor() or platform.machine()
    lines = [
        HEADING,
        "",
        "Written by `benchmarks/imap.py`. One reply per employee in a real dovecot "
        "(tests/imap_server.py, on loopback, put in with APPEND): the employee's PDF form of "
        "the built-in standard question set, filled by the benchmark's filler, and every "
        "tenth reply a 30 kB photo too. Read is collect's reading of the folder: EXAMINE, "
        "`UID FETCH … BODY.PEEK[]` 25 at a time, each message opened and each attachment "
        "read, identified and interpreted in memory, over "
        f"{'all the' if workers is None else workers} cores; peak memory is the resident "
        "memory of the whole process tree (the reading process and its workers), sampled "
        "every 50 ms. The whole collect adds the responses, report and minutes drafts.",
        "",
        f"- Machine: {os.cpu_count()} cores ({cpu}), Python {platform.python_version()} on "
        f"{platform.system()} {platform.release()}, shared with other work while measured",
        f"- Date: {time.strftime('%Y-%m-%d')}",
        "",
        "| messages | folder size | attachments | read | attachments per second | peak memory "
        "| forms read ok | marked read after | whole collect |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for r in results:
        whole = f"{r['collect_s']:.1f} s" if r["collect_s"] is not None else "—"
        lines.append(
            f"| {r['messages']} | {r['mbytes']:.1f} MB | {r['attachments']} | "
            f"{r['seconds']:.1f} s | {r['rate']:.0f} | {r['peak_mb']:.0f} MB | "
            f"{r['statuses'].get('ok', 0)} of {r['messages']} | {r['seen']} of "
            f"{r['in_folder']} | {whole} |"
        )
    lines += [
        "",
        "Target: at least 100 attachments per second, and memory that does not grow with the "
        "folder (messages are fetched a batch at a time and each is read and let go).",
    ]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="250,1000")
    parser.add_argument("--workers", type=int, default=None)
    parser.add_argument("--results", type=Path, default=HERE / "RESULTS.md")
    parser.add_argument("--no-write", action="store_true", help="leave RESULTS.md alone")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    results = []
    for n in sizes:
        print(f"{n} messages …", file=sys.stderr, flush=True)
        results.append(measure(n, args.workers, whole=n == sizes[-1]))
        print(results[-1], file=sys.stderr, flush=True)
    text = section(results, args.workers)
    print(text)
    if not args.no_write:
        replace_section(args.results, HEADING, text)


if __name__ == "__main__":
    main()
