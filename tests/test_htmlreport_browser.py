"""musforms report as a person sees it: opened in real headless Chromium (Debian's
``chromium``), driven over the DevTools protocol on a pipe.

No console error, no request but the file itself, a screenshot of every section at A4 width,
the figures on screen those computed from the responses, and printed to PDF by Chromium:
``pdftotext`` finds every section, on A4 pages.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import queue
import shutil
import struct
import subprocess
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from musforms.htmlreport import write_html_report
from musforms.models import Organisation
from tests.htmlreport_round import TODAY, Round, build, people_of
from tests.test_htmlreport import PLAN

pytestmark = pytest.mark.realclient

A4 = (1240, 1754)  # A4 at 150 dpi, in CSS pixels
MISSING = "Chromium is needed for this test: run `make clients` (Debian's chromium package)"
SECTIONS = ("status", "missing", "conclusions", "agreements", "wellbeing")


def chromium() -> str:
    """The chromium binary; fails (never skips) with how to install it when it is missing."""
    path = shutil.which("chromium")
    if path is None:
        pytest.fail(MISSING, pytrace=False)
    return path


def _flags(profile: Path) -> list[str]:
    return [chromium(), "--headless", "--no-sandbox", "--disable-gpu",
            f"--user-data-dir={profile}", "--no-first-run", "--disable-extensions",
            "--disable-background-networking", "--disable-sync", "--mute-audio"]  # fmt: skip


class DevTools:
    """A headless Chromium driven over --remote-debugging-pipe: commands as JSON on its fd 3,
    answers and events from its fd 4, each message ending in a NUL byte."""

    def __init__(self, profile: Path) -> None:
        to_chrome_r, self._to_chrome = os.pipe()
        self._from_chrome, from_chrome_w = os.pipe()

        def fds() -> None:  # in the child: the pipe ends where Chromium looks for them
            os.dup2(to_chrome_r, 3)
            os.dup2(from_chrome_w, 4)

        self.proc = subprocess.Popen(
            [*_flags(profile), "--remote-debugging-pipe", f"--window-size={A4[0]},{A4[1]}",
             "about:blank"],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            pass_fds=(3, 4), preexec_fn=fds,
        )  # fmt: skip
        os.close(to_chrome_r)
        os.close(from_chrome_w)
        self._next = 0
        self._answers: dict[int, queue.Queue[dict[str, Any]]] = {}
        self._lock = threading.Lock()
        self.events: list[dict[str, Any]] = []
        self._loaded = threading.Event()
        threading.Thread(target=self._read, daemon=True).start()
        self.session = ""

    def _read(self) -> None:
        buf = b""
        while True:
            chunk = os.read(self._from_chrome, 1 << 16)
            if not chunk:
                return
            buf += chunk
            while b"\0" in buf:
                raw, buf = buf.split(b"\0", 1)
                message = json.loads(raw)
                if "id" in message:
                    with self._lock:
                        box = self._answers.get(message["id"])
                    if box is not None:
                        box.put(message)
                else:
                    self.events.append(message)
                    if message.get("method") == "Page.loadEventFired":
                        self._loaded.set()

    def send(self, method: str, params: dict[str, Any] | None = None, *, top: bool = False) -> Any:
        with self._lock:
            self._next += 1
            number = self._next
            box: queue.Queue[dict[str, Any]] = queue.Queue()
            self._answers[number] = box
        message: dict[str, Any] = {"id": number, "method": method, "params": params or {}}
        if self.session and not top:
            message["sessionId"] = self.session
        os.write(self._to_chrome, json.dumps(message).encode() + b"\0")
        answer = box.get(timeout=60)
        if "error" in answer:
            raise RuntimeError(f"{method}: {answer['error']}")
        return answer.get("result", {})

    def open(self, url: str) -> None:
        targets = self.send("Target.getTargets", top=True)["targetInfos"]
        page = next(t for t in targets if t["type"] == "page")
        self.session = self.send(
            "Target.attachToTarget", {"targetId": page["targetId"], "flatten": True}, top=True
        )["sessionId"]
        for domain in ("Runtime", "Log", "Network", "Page"):
            self.send(f"{domain}.enable")
        metrics = {"width": A4[0], "height": A4[1], "deviceScaleFactor": 1, "mobile": False}
        self.send("Emulation.setDeviceMetricsOverride", metrics)
        self._loaded.clear()
        self.send("Page.navigate", {"url": url})
        if not self._loaded.wait(60):
            raise RuntimeError(f"{url} did not load within a minute")
        time.sleep(0.3)  # events of the load that come after it

    def evaluate(self, expression: str) -> Any:
        result = self.send("Runtime.evaluate", {"expression": expression, "returnByValue": True})
        return result["result"].get("value")

    def errors(self) -> list[str]:
        """Console errors and warnings, uncaught exceptions, and the browser's own error log
        (a request refused by the page's Content-Security-Policy lands there)."""
        out = []
        for e in self.events:
            method, params = e.get("method"), e.get("params", {})
            if method == "Runtime.consoleAPICalled" and params.get("type") in (
                "error",
                "warning",
                "assert",
            ):
                out.append(f"console {params['type']}: {params.get('args')}")
            elif method == "Runtime.exceptionThrown":
                out.append(f"exception: {params.get('exceptionDetails')}")
            elif method == "Log.entryAdded" and params["entry"]["level"] in ("error", "warning"):
                out.append(f"log {params['entry']['level']}: {params['entry']['text']}")
        return out

    def requests(self) -> list[str]:
        return [
            e["params"]["request"]["url"]
            for e in self.events
            if e.get("method") == "Network.requestWillBeSent"
        ]

    def close(self) -> None:
        with contextlib.suppress(OSError, RuntimeError, queue.Empty):
            self.send("Browser.close", top=True)
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        for fd in (self._to_chrome, self._from_chrome):
            with contextlib.suppress(OSError):
                os.close(fd)


@contextlib.contextmanager
def opened(path: Path) -> Iterator[DevTools]:
    with tempfile.TemporaryDirectory(prefix="musforms-chromium-") as profile:
        browser = DevTools(Path(profile))
        try:
            browser.open(path.resolve().as_uri())
            yield browser
        finally:
            browser.close()


@pytest.fixture(scope="module")
def round_(tmp_path_factory: pytest.TempPathFactory) -> Round:
    return build(tmp_path_factory.mktemp("round"), people_of(PLAN))


@pytest.fixture(scope="module")
def report(round_: Round, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("report") / "report.html"
    write_html_report(round_.results, out, organisation=Organisation(name="Eksempel Kommune"),
                      today=TODAY)  # fmt: skip
    return out


def _png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", data[16:24])
    return width, height


def test_no_console_error_and_no_request_but_the_file(report: Path) -> None:
    with opened(report) as browser:
        title = browser.evaluate("document.title")
        errors, requests = browser.errors(), browser.requests()
    assert title == "Status for MUS-runden 2026"
    assert errors == []
    assert requests == [report.resolve().as_uri()]


def test_the_checks_see_a_request_and_a_refused_one(report: Path, tmp_path: Path) -> None:
    """The two checks above can fail: a picture from elsewhere is a request the client sees,
    and under the report's own policy a refused one that the error log tells."""
    text = report.read_text(encoding="utf-8")
    picture = '<img alt="" src="http://127.0.0.1:9/pixel.png">'
    open_page = tmp_path / "open.html"
    open_page.write_text(
        text.replace('<meta http-equiv="Content-Security-Policy"', '<meta name="x"')
        .replace("</body>", picture + "</body>"),
        encoding="utf-8",
    )  # fmt: skip
    with opened(open_page) as browser:
        assert "http://127.0.0.1:9/pixel.png" in browser.requests()
    guarded = tmp_path / "guarded.html"
    guarded.write_text(text.replace("</body>", picture + "</body>"), encoding="utf-8")
    with opened(guarded) as browser:
        assert any("Content Security Policy" in e for e in browser.errors())


def test_a_screenshot_of_every_section_at_a4_width(report: Path, tmp_path: Path) -> None:
    with opened(report) as browser:
        boxes = browser.evaluate(
            "[...document.querySelectorAll('section')].map(s => { const r = "
            "s.getBoundingClientRect(); return [s.id, r.x, r.y + scrollY, r.width, r.height] })"
        )
        width = browser.evaluate("window.innerWidth")
        client_width = browser.evaluate("document.body.clientWidth")
        shots = {}
        for sid, x, y, w, h in boxes:
            clip = {"x": x, "y": y, "width": w, "height": h, "scale": 1}
            what = {"format": "png", "clip": clip, "captureBeyondViewport": True}
            shot = browser.send("Page.captureScreenshot", what)
            shots[sid] = base64.b64decode(shot["data"])
            (tmp_path / f"{sid}.png").write_bytes(shots[sid])
        scroll_width = browser.evaluate("document.body.scrollWidth")
    assert width == A4[0]
    assert scroll_width == client_width  # nothing wider than the page
    assert tuple(shots) == SECTIONS
    for sid, data in shots.items():
        w, h = _png_size(data)
        assert w > 600 and h > 60, sid
        assert len(data) > 3000, sid  # more than a blank box


def test_the_figures_on_screen_are_those_of_the_responses(round_: Round, report: Path) -> None:
    """What Chromium shows in the status table and in the whole organisation's wellbeing row
    is what counting the responses gives."""
    with opened(report) as browser:
        status = browser.evaluate(
            "Object.fromEntries([...document.querySelectorAll('#status table')[0].tBodies[0]"
            ".rows].map(r => [r.cells[0].innerText, [...r.cells].slice(1, 5).map(c => "
            "+c.innerText)]))"
        )
        whole = browser.evaluate(
            "[...document.querySelector('table[data-question=arbejdsmaengde]').tBodies[0]"
            ".rows[0].querySelectorAll('span.c')].map(s => +s.innerText)"
        )
        hidden = browser.evaluate(
            "[...document.querySelector('table[data-question=arbejdsmaengde]').tBodies[0]"
            ".rows].filter(r => r.cells[0].innerText == 'Løn').map(r => [...r.cells].slice(1)"
            ".map(c => c.innerText))"
        )
    want: dict[str, list[int]] = {}
    for p in round_.people:
        row = want.setdefault(p.department or "(ikke angivet)", [0, 0, 0, 0])
        row[0] += 1
        row[("returned", "blank", "missing").index(p.status) + 1] += 1
    want["Hele organisationen"] = [sum(r[i] for r in want.values()) for i in range(4)]
    assert status == want
    scales = Counter(p.scale for p in round_.people if p.status == "returned")
    assert whole == [scales.get(v, 0) for v in range(1, 6)]
    assert hidden == [["færre end 5 svar"]]


def test_printed_to_pdf_every_section_is_there_on_a4(report: Path, tmp_path: Path) -> None:
    pdf = tmp_path / "report.pdf"
    with tempfile.TemporaryDirectory(prefix="musforms-chromium-") as profile:
        done = subprocess.run(
            [*_flags(Path(profile)), f"--print-to-pdf={pdf}", "--no-pdf-header-footer",
             report.resolve().as_uri()],
            capture_output=True, timeout=120, check=False,
        )  # fmt: skip
    assert done.returncode == 0 and pdf.is_file(), done.stderr[-2000:]
    text = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True,
                          text=True, check=True).stdout  # fmt: skip
    for heading in ("Runden", "Mangler at aflevere, pr. leder", "Konklusioner",
                    "Aftaler, pr. leder", "Trivsel og arbejdsmængde"):  # fmt: skip
        assert heading in text
    assert "Hele organisationen" in text and "færre end 5 svar" in text
    info = subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True,
                          check=True).stdout  # fmt: skip
    size = next(line for line in info.splitlines() if line.startswith("Page size:"))
    assert size.endswith("(A4)"), size
    pages = int(next(x for x in info.splitlines() if x.startswith("Pages:")).split()[1])
    assert pages >= 2
