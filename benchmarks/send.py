"""How fast ``musforms send`` hands a round to a mail server, with no rate limit.

Generates a round with the built-in standard question set (the real generate), starts a
real SMTP server on loopback (aiosmtpd, STARTTLS on a self-signed certificate and AUTH, as
in the tests: tests/smtp_server.py) in a process of its own (smtp_process.py), and times the
plan and the sending (one connection, each accepted message fsynced into the send log), with
the messages made by hand and by the email package (``MUSFORMS_FAST_PATHS=0``), then the
same round written as .eml drafts. Checks that every message arrived. Writes its section of
benchmarks/RESULTS.md.

    .venv/bin/python benchmarks/send.py --employees 300
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(ROOT))

from bench import machine  # noqa: E402
from sections import replace_section  # noqa: E402
from smtp_process import SmtpProcess  # noqa: E402

from musforms import fastpath  # noqa: E402
from musforms.generate import generate  # noqa: E402
from musforms.mail import send as mail  # noqa: E402
from tests.smtp_server import PASSWORD, USER  # noqa: E402

STANDARD = ROOT / "musforms" / "sets" / "standard.yaml"
HEADING = "## Sending the forms (musforms send)"
TARGET = 50.0  # messages per second to a local server
CONNECTIONS = mail.DEFAULT_CONNECTIONS
DEADLINE = dt.date(2027, 1, 10)


def run(employees: int, work: Path) -> list[dict[str, float | str]]:
    roster = work / "roster.csv"
    rows = ["id;navn;e-mail;leder;leders e-mail;mødedato;sprog"]
    rows += [
        f"{9000 + i};Ansat {i} Ærø;ansat{i}@example.dk;Åse Østergård;aase@example.dk;"
        f"14-01-2027;{'en' if i % 3 == 2 else 'da'}"
        for i in range(employees)
    ]
    roster.write_text("\n".join(rows) + "\n", encoding="utf-8")
    forms = work / "forms"
    generate(STANDARD, roster, forms, "2026", key_file=work / "key", workers=os.cpu_count())
    sender = mail.sender_address("HR <hr@example.dk>")
    results: list[dict[str, float | str]] = []
    both, pdf = ("pdf", "docx"), ("pdf",)
    runs = [("PDF and Word", both, "1", 1), ("PDF and Word", both, "1", CONNECTIONS)]
    runs += [("PDF only", pdf, "1", 1), ("PDF only", pdf, "1", CONNECTIONS)]
    runs += [("PDF and Word", both, "0", 1), ("PDF and Word", both, "0", CONNECTIONS)]
    for label, formats, fast, connections in runs:
        os.environ[fastpath.ENV] = fast
        (forms / "sent.jsonl").unlink(missing_ok=True)
        with SmtpProcess(work, processes=connections) as server:
            started = time.perf_counter()
            plan = mail.plan_invitations(forms, formats=formats, deadline=DEADLINE)
            planned = time.perf_counter()
            cpu = time.process_time()
            server_cpu = server.count()["cpu_s"]
            target = mail.Server(
                "127.0.0.1", server.port, "starttls", USER, PASSWORD, 30.0, server.cert
            )
            result = mail.send(plan, forms, target, sender, rate=0, connections=connections)
            done = time.perf_counter()
            cpu = time.process_time() - cpu
            arrived = server.count()
            server_cpu = arrived["cpu_s"] - server_cpu
        assert result.sent == employees and not result.failed, result
        assert arrived["received"] == arrived["recipients"] == employees, arrived
        size = arrived["bytes"] / employees
        drafts_started = time.perf_counter()
        written = mail.write_drafts(plan, work / f"outbox-{len(formats)}-{fast}", sender)
        drafts_done = time.perf_counter()
        assert len(written.written) == employees
        results.append(
            {
                "what": label,
                "how": "by hand (the fast path)" if fast == "1" else "email package",
                "connections": connections,
                "busiest": int(arrived["busiest"]),
                "plan_s": planned - started,
                "send_s": done - planned,
                "per_s": employees / (done - planned),
                "drafts_per_s": employees / (drafts_done - drafts_started),
                "kb": size / 1000,
                "cpu_ms": cpu / employees * 1000,
                "server_ms": server_cpu / employees * 1000,
            }
        )
    os.environ.pop(fastpath.ENV, None)
    return results


def section(results: list[dict[str, float | str]], employees: int, load: float) -> str:
    lines = [
        HEADING,
        "",
        "Written by `benchmarks/send.py`. A round of "
        f"{employees} employees made by `musforms generate` with the built-in standard set, "
        "sent with no rate limit (`--rate 0`; the default is 30 a minute, Exchange Online's "
        "limit) to a real SMTP server on loopback (aiosmtpd, STARTTLS on a self-signed "
        "certificate, AUTH PLAIN; the tests' server, tests/smtp_server.py) running in a process "
        "of its own (benchmarks/smtp_process.py), so the two do not share one interpreter. "
        f"Over one connection, or over {CONNECTIONS} at once (`--connections`, the default) to "
        f"{CONNECTIONS} such server processes listening on one port (SO_REUSEPORT: the system "
        "gives each new connection to one of them by a hash of its addresses, so two may land "
        "in one process while another gets none: the column *busiest server* says how many "
        "of the messages the busiest process took). aiosmtpd serves all its connections in "
        "one thread, so one process for several connections would measure that thread, not "
        "musforms. Every accepted message is written to the send log and fsynced before its "
        "connection sends the next, and one message at a time is between the end of its DATA "
        "and its line in the log. The plan reads every form once for its sha256 (has it been "
        "sent before?). "
        "The messages are made by hand (the fast path) or, with `MUSFORMS_FAST_PATHS=0`, by "
        "the email package and sent by smtplib's `send_message`. CPU per message is musforms' "
        "(this process, the thread that makes the messages ahead included) and the server "
        "processes'. Then the same messages written as .eml drafts.",
        "",
        *machine(),
        f"- Run: {time.strftime('%H:%M')} UTC; the machine shared with other work",
        f"- Target: at least {TARGET:g} messages a second to a local server",
        f"- Load average (1 minute) before and after measuring: {load:.1f}, "
        f"{os.getloadavg()[0]:.1f}",
        "",
        "| attached | message made | connections | busiest server | message size | plan "
        "| sent in | messages/s | musforms' CPU per message | server's CPU per message "
        "| drafts/s |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for r in results:
        lines.append(
            f"| {r['what']} | {r['how']} | {r['connections']} | {r['busiest']} | "
            f"{float(r['kb']):.0f} kB | "
            f"{float(r['plan_s']):.2f} s | "
            f"{float(r['send_s']):.2f} s | **{float(r['per_s']):.0f}** | "
            f"{float(r['cpu_ms']):.1f} ms | {float(r['server_ms']):.1f} ms | "
            f"{float(r['drafts_per_s']):.0f} |"
        )
    best = max(float(r["per_s"]) for r in results)
    lines += [
        "",
        f"Target met: {'yes' if best >= TARGET else '**no**'} ({best:.0f} messages a second at "
        "best).",
    ]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--employees", type=int, default=300)
    parser.add_argument("--results", type=Path, default=HERE / "RESULTS.md")
    parser.add_argument("--no-write", action="store_true", help="leave RESULTS.md alone")
    args = parser.parse_args()
    load = os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="musforms-send-") as tmp:
        results = run(args.employees, Path(tmp))
    text = section(results, args.employees, load)
    print(text)
    if not args.no_write:
        replace_section(args.results, HEADING, text)


if __name__ == "__main__":
    main()
