"""The benchmark's SMTP server in a process of its own, so that what ``benchmarks/send.py``
times is musforms' rate, not that of a server sharing its interpreter.

The server is the tests' (tests/smtp_server.py: aiosmtpd on loopback, STARTTLS on a
self-signed certificate, AUTH required). Started as ``python benchmarks/smtp_process.py
FOLDER``, it writes one JSON line, ``{"port": …, "cert": …}``, and then answers each line
``count`` on its standard input with ``{"received": …, "bytes": …, "recipients": …,
"cpu_s": …}`` (how many messages it accepted, their size, how many different recipients, the
CPU time it has used); it stops when its standard input closes. ``python
benchmarks/smtp_process.py FOLDER none`` serves without TLS and AUTH.
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
    """The server process, from the side of the benchmark."""

    def __init__(self, folder: Path, tls: str = "starttls") -> None:
        self.proc = subprocess.Popen(
            [sys.executable, __file__, str(folder), tls],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            cwd=ROOT,
        )
        ready = self._line()
        self.port: int = ready["port"]
        self.cert = Path(ready["cert"])

    def _line(self) -> dict[str, Any]:
        out: IO[str] | None = self.proc.stdout
        assert out is not None
        line = out.readline()
        if not line:
            raise RuntimeError(f"the SMTP server process ended ({self.proc.wait()})")
        answer: dict[str, Any] = json.loads(line)
        return answer

    def count(self) -> dict[str, float]:
        assert self.proc.stdin is not None
        self.proc.stdin.write("count\n")
        self.proc.stdin.flush()
        return self._line()

    def stop(self) -> None:
        if self.proc.stdin is not None:
            self.proc.stdin.close()
        self.proc.wait(timeout=30)

    def __enter__(self) -> SmtpProcess:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


def _serve(folder: Path, tls: str) -> None:
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
    server = Server(folder, handler, tls=tls).start()
    try:
        print(json.dumps({"port": server.port, "cert": str(server.cert)}), flush=True)
        for line in sys.stdin:
            if line.strip() == "count":
                answer = {
                    "received": handler.accepted,
                    "bytes": handler.size,
                    "recipients": len(handler.recipients),
                    "cpu_s": time.process_time(),
                }
                print(json.dumps(answer), flush=True)
    finally:
        server.stop()


if __name__ == "__main__":
    _serve(Path(sys.argv[1]), sys.argv[2])
