"""The benchmark's SMTP server in processes of its own, so that what ``benchmarks/send.py``
times is musforms' rate, not that of a server sharing its interpreter.

The server is the tests' (tests/smtp_server.py: aiosmtpd on loopback, STARTTLS on a
self-signed certificate, AUTH required). aiosmtpd serves its connections in one thread, so a
server for several connections at once is several processes listening on one port
(SO_REUSEPORT), with one certificate: the system hands each new connection to one of them
(by a hash of its addresses, so two connections may meet in one process while another has
none). Started as ``python benchmarks/smtp_process.py FOLDER TLS PORT CERT KEY``, each writes
one JSON line, ``{"port": …}``, and then answers each line ``count`` on its standard input
with ``{"received": …, "bytes": …, "recipients": […], "cpu_s": …}`` (how many messages it
accepted, their size, their recipients, the CPU time it has used); it stops when its
standard input closes. TLS ``none`` serves without TLS and AUTH.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import IO, Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent


class SmtpProcess:
    """The server processes (``processes`` of them on one port), from the side of the
    benchmark."""

    def __init__(self, folder: Path, tls: str = "starttls", processes: int = 1) -> None:
        sys.path.insert(0, str(ROOT))
        from tests.smtp_server import free_port, make_certificate

        self.cert, key = make_certificate(folder)
        self.port = free_port()
        args = [sys.executable, __file__, str(folder), tls, str(self.port), str(self.cert)]
        self.procs = [
            subprocess.Popen(
                [*args, str(key)],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                text=True,
                cwd=ROOT,
            )
            for _n in range(processes)
        ]
        for proc in self.procs:
            assert self._line(proc)["port"] == self.port

    def _line(self, proc: subprocess.Popen[str]) -> dict[str, Any]:
        out: IO[str] | None = proc.stdout
        assert out is not None
        line = out.readline()
        if not line:
            raise RuntimeError(f"the SMTP server process ended ({proc.wait()})")
        answer: dict[str, Any] = json.loads(line)
        return answer

    def count(self) -> dict[str, float]:
        """What the processes did, together; ``busiest`` the most messages one took."""
        answers = []
        for proc in self.procs:
            assert proc.stdin is not None
            proc.stdin.write("count\n")
            proc.stdin.flush()
            answers.append(self._line(proc))
        recipients = {r for a in answers for r in a["recipients"]}
        return {
            "received": sum(a["received"] for a in answers),
            "bytes": sum(a["bytes"] for a in answers),
            "recipients": len(recipients),
            "cpu_s": sum(a["cpu_s"] for a in answers),
            "busiest": max(a["received"] for a in answers),
        }

    def stop(self) -> None:
        for proc in self.procs:
            if proc.stdin is not None:
                proc.stdin.close()
        for proc in self.procs:
            proc.wait(timeout=30)

    def __enter__(self) -> SmtpProcess:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


def _serve(folder: Path, tls: str, port: int, cert: Path, key: Path) -> None:
    sys.path.insert(0, str(ROOT))
    from tests.smtp_server import Handler, Server

    @dataclass
    class Counting(Handler):
        """Keeps each message's size and recipient, not its bytes."""

        accepted: int = 0
        size: int = 0
        recipients: set[str] = field(default_factory=set)

        async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
            data = envelope.original_content or envelope.content
            self.accepted += 1
            self.size += len(data)
            self.recipients.update(envelope.rcpt_tos)
            return "250 2.0.0 Ok: queued"

    handler = Counting()
    server = Server(folder, handler, tls=tls, shared=(port, cert, key)).start()
    try:
        print(json.dumps({"port": server.port}), flush=True)
        for line in sys.stdin:
            if line.strip() == "count":
                answer = {
                    "received": handler.accepted,
                    "bytes": handler.size,
                    "recipients": sorted(handler.recipients),
                    "cpu_s": time.process_time(),
                }
                print(json.dumps(answer), flush=True)
    finally:
        server.stop()


if __name__ == "__main__":
    _serve(Path(sys.argv[1]), sys.argv[2], int(sys.argv[3]), Path(sys.argv[4]), Path(sys.argv[5]))
