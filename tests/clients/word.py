"""LibreOffice as a Word-form client: fill content controls as a person would, save as .docx
or .odt, convert to PDF.

One headless soffice per test session, with its own profile folder and a private pipe, started
on first use and always killed (``stop_libreoffice``, also at interpreter exit). The filling
itself runs in ``lo_fill.py`` under Debian's ``/usr/bin/python3``, which has ``uno``.
"""

from __future__ import annotations

import atexit
import contextlib
import json
import os
import re
import shutil
import signal
import subprocess
import tempfile
import time
import uuid
import zipfile
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from lxml import etree

SYSTEM_PYTHON = "/usr/bin/python3"
# LibreOffice's export filters: what "Save as" Word 2007–365 (.docx) and ODF Text (.odt) use.
WORD_FILTER = "MS Word 2007 XML"
ODT_FILTER = "writer8"
FILLER = Path(__file__).with_name("lo_fill.py")
MISSING = "LibreOffice 25 with python3-uno is needed for this test: run `make clients`"


def require_libreoffice() -> str:
    """The soffice binary; fails (never skips) with how to install it when it is missing."""
    soffice = shutil.which("soffice")
    if soffice is None or not Path(SYSTEM_PYTHON).exists():
        raise RuntimeError(MISSING)
    check = subprocess.run(
        [SYSTEM_PYTHON, "-c", "import uno"], capture_output=True, timeout=60, check=False
    )
    if check.returncode != 0:
        raise RuntimeError(MISSING)
    return soffice


class LibreOffice:
    """A headless soffice listening on a private pipe."""

    def __init__(self) -> None:
        self.soffice = require_libreoffice()
        self.workdir = Path(tempfile.mkdtemp(prefix="musforms-lo-"))
        self.pipe = f"musforms_{os.getpid()}_{uuid.uuid4().hex[:8]}"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [
                self.soffice,
                f"-env:UserInstallation={(self.workdir / 'profile').as_uri()}",
                "--headless",
                "--invisible",
                "--nologo",
                "--norestore",
                "--nodefault",
                f"--accept=pipe,name={self.pipe};urp;",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,  # its own process group, so stop() reaches every child
        )

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def stop(self) -> None:
        proc, self.proc = self.proc, None
        if proc is not None and proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=10)
        shutil.rmtree(self.workdir, ignore_errors=True)
        # soffice's pipe is a socket in /tmp (a fixed place, not TMPDIR) that it leaves
        # behind when stopped.
        Path("/tmp", f"OSL_PIPE_{os.getuid()}_{self.pipe}").unlink(missing_ok=True)

    def fill(
        self, src: Path, dst: Path, values: Mapping[str, object], filter_name: str = WORD_FILTER
    ) -> list[str]:
        """Fill ``src``'s controls by tag with ``values``; save to ``dst`` with the export
        filter ``filter_name`` (.docx by default; ``ODT_FILTER`` for .odt)."""
        if not self.alive():
            self.start()
        spec = self.workdir / f"values-{uuid.uuid4().hex[:8]}.json"
        spec.write_text(json.dumps(values, ensure_ascii=False), encoding="utf-8")
        command = [SYSTEM_PYTHON, str(FILLER), self.pipe, str(src), str(dst), str(spec)]
        try:
            result = subprocess.run(
                [*command, filter_name],
                capture_output=True,
                text=True,
                timeout=180,
                check=False,
            )
        finally:
            spec.unlink(missing_ok=True)
        if result.returncode != 0:
            raise RuntimeError(
                f"LibreOffice could not fill {src.name} (exit {result.returncode}):\n"
                f"{result.stdout}\n{result.stderr}"
            )
        filled: list[str] = json.loads(result.stdout.strip().splitlines()[-1])["filled"]
        return filled


_SESSION: LibreOffice | None = None


def libreoffice() -> LibreOffice:
    """The session's LibreOffice, started on first use."""
    global _SESSION
    if _SESSION is None:
        _SESSION = LibreOffice()
        atexit.register(stop_libreoffice)
    return _SESSION


def stop_libreoffice() -> None:
    global _SESSION
    if _SESSION is not None:
        _SESSION.stop()
        _SESSION = None


def fill_libreoffice(src: Path, dst: Path, values: Mapping[str, object]) -> None:
    """Fill a Word form in LibreOffice like a person typing, and save it as .docx.

    ``values`` maps a field name (control tag) to: text (``\\n`` for line breaks) → str;
    checkbox → bool; drop-down → the item's value (scale number or option id), chosen by its
    display text; date → ``"15-01-2027"`` typed, or ``"2027-01-15"`` picked from the calendar.
    """
    libreoffice().fill(src, dst, values)


def fill_and_save_odt(docx_path: Path, values: Mapping[str, object], out_path: Path) -> None:
    """Fill a Word form in LibreOffice like a person typing (as ``fill_libreoffice``), then
    save it as OpenDocument text (.odt) to ``out_path``, as "Save as… ODF Text Document" does.

    ``values`` as for ``fill_libreoffice``. LibreOffice 25 keeps the content controls, their
    tags and the custom document properties in the .odt.
    """
    libreoffice().fill(docx_path, out_path, values, ODT_FILTER)


def convert_to_pdf(src: Path, outdir: Path) -> Path:
    """``soffice --convert-to pdf`` with a profile of its own; the PDF's path."""
    soffice = require_libreoffice()
    with tempfile.TemporaryDirectory(prefix="musforms-lo-pdf-") as profile:
        started = time.monotonic()
        result = subprocess.run(
            [
                soffice,
                f"-env:UserInstallation={Path(profile).as_uri()}",
                "--headless",
                "--norestore",
                "--convert-to",
                "pdf",
                "--outdir",
                str(outdir),
                str(src),
            ],
            capture_output=True,
            text=True,
            timeout=180,
            check=False,
            start_new_session=True,
        )
    pdf = outdir / (src.stem + ".pdf")
    if result.returncode != 0 or not pdf.exists():
        raise RuntimeError(
            f"LibreOffice could not convert {src.name} to PDF after "
            f"{time.monotonic() - started:.0f} s:\n{result.stdout}\n{result.stderr}"
        )
    return pdf


# --- What other clients leave of a form ------------------------------------------------------

W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"


def _rewrite(src: Path, dst: Path, change: Callable[[Any], None], drop: tuple[str, ...]) -> None:
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w", zipfile.ZIP_DEFLATED) as zout:
        for info in zin.infolist():
            if info.filename in drop:
                continue
            data = zin.read(info.filename)
            if info.filename == "word/document.xml":
                root = etree.fromstring(data)
                change(root)
                data = etree.tostring(root, xml_declaration=True, encoding="UTF-8")
            if info.filename == "[Content_Types].xml":
                for name in drop:
                    data = re.sub(
                        rf'<Override PartName="/{re.escape(name)}"[^>]*/>'.encode(), b"", data
                    )
            if info.filename == "_rels/.rels":
                for name in drop:
                    data = re.sub(
                        rf'<Relationship [^>]*Target="{re.escape(name)}"[^>]*/>'.encode(), b"", data
                    )
            zout.writestr(info.filename, data)


def google_docs_copy(src: Path, dst: Path) -> None:
    """What Google Docs (or Pages) leaves: every content control unwrapped, no custom properties."""

    def unwrap(root: Any) -> None:
        for sdt in list(root.iter(f"{W}sdt")):
            parent = sdt.getparent()
            content = sdt.find(f"{W}sdtContent")
            index = parent.index(sdt)
            for child in list(content if content is not None else []):
                parent.insert(index, child)
                index += 1
            parent.remove(sdt)

    _rewrite(src, dst, unwrap, ("docProps/custom.xml",))


def strip_tags(src: Path, dst: Path) -> None:
    """What LibreOffice 7.4 leaves: the controls, without their tags (and placeholder flags)."""

    def strip(root: Any) -> None:
        for tag in list(root.iter(f"{W}tag")):
            tag.getparent().remove(tag)

    _rewrite(src, dst, strip, ())


LOEXT = "{urn:org:documentfoundation:names:experimental:office:xmlns:loext:1.0}"


def _rewrite_odt(src: Path, dst: Path, change: Callable[[Any], None]) -> None:
    """A copy of an .odt with its content.xml changed; "mimetype" stays first and stored."""
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w") as zout:
        for info in zin.infolist():
            data = zin.read(info.filename)
            if info.filename == "content.xml":
                root = etree.fromstring(data)
                change(root)
                data = etree.tostring(root, xml_declaration=True, encoding="UTF-8")
            zout.writestr(info, data)


def odt_without_controls(src: Path, dst: Path) -> None:
    """An .odt whose content controls are gone, their text left in place (what a LibreOffice
    older than 7.5, which has no content controls, saves from the Word form)."""

    def unwrap(root: Any) -> None:
        for control in list(root.iter(f"{LOEXT}content-control")):
            for item in list(control.iter(f"{LOEXT}list-item")):
                control.remove(item)
            _unwrap(control)

    _rewrite_odt(src, dst, unwrap)


def odt_strip_tags(src: Path, dst: Path) -> None:
    """An .odt whose content controls have lost their tags."""

    def strip(root: Any) -> None:
        for control in root.iter(f"{LOEXT}content-control"):
            control.attrib.pop(f"{LOEXT}tag", None)

    _rewrite_odt(src, dst, strip)


def _unwrap(el: Any) -> None:
    """Replace ``el`` by its content: its text, children and tail stay where they were."""
    parent = el.getparent()
    index = parent.index(el)
    previous = el.getprevious()
    tail = el.tail or ""
    if previous is not None:
        previous.tail = (previous.tail or "") + (el.text or "")
    else:
        parent.text = (parent.text or "") + (el.text or "")
    children = list(el)
    for offset, child in enumerate(children):
        parent.insert(index + offset, child)
    last = children[-1] if children else previous
    parent.remove(el)  # lxml drops the tail with the element: it was kept above
    if last is not None:
        last.tail = (last.tail or "") + tail
    else:
        parent.text = (parent.text or "") + tail
