"""Private by default: everything musforms writes is readable by its owner only, and no answer
text reaches the terminal (stdout, stderr, log messages) unless --debug asks for it."""

from __future__ import annotations

import json
import os
import re
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from musforms.cli import cli
from musforms.docx.reader import read_docx
from musforms.errors import FormReadError
from musforms.manifest import load_manifest
from musforms.pdf.reader import read_pdf
from tests.clients.pdf import fill_pdfium, fill_pdfjs
from tests.trust_data import (
    Round,
    answers,
    docx_edit,
    forge_token,
    make_round,
    pdf_set,
    pdf_token,
    write_config,
)

pytestmark = pytest.mark.realclient

MARK = "FORTROLIGT-9Z"
ROOT = Path(__file__).resolve().parents[1]


def _ok(args: list[str], input: str | None = None) -> str:
    result = CliRunner().invoke(cli, args, input=input)
    assert result.exit_code == 0, result.output
    return result.output


def _walk(top: Path) -> Iterator[Path]:
    yield top
    yield from top.rglob("*")


def test_everything_written_is_private(tmp_path: Path) -> None:
    """Protects against answers and keys readable by other users of the machine: after init,
    generate, collect, minutes and purge run with a permissive umask (022), every file
    musforms wrote (forms, manifest, question set copies, key, responses, report, minutes,
    agreements.xlsx/csv, followup.ics, settings) is 0600 and every folder it made 0700."""
    old = os.umask(0o022)
    try:
        _ok(["init", str(tmp_path / "round"), "--organisation", "Ærø Kommune"])
        questions, roster = write_config(tmp_path / "input")
        key = tmp_path / "keys" / "hr" / "key"
        forms = tmp_path / "forms" / "2026"
        _ok(["generate", "-q", str(questions), "-r", str(roster), "--out", str(forms),
             "--cycle", "2026", "--key-file", str(key)])  # fmt: skip
        inbox = tmp_path / "input" / "returned"
        inbox.mkdir()
        for form in load_manifest(forms).forms:
            fill_pdfium(
                forms / form.files["pdf"],
                inbox / f"{form.employee_id}.pdf",
                answers(MARK, previous=False),
            )
        results = tmp_path / "results" / "2026"
        _ok(["collect", str(inbox), "--forms", str(forms), "--out", str(results),
             "--key-file", str(key)])  # fmt: skip
        _ok(["minutes", str(results)])
        _ok(["purge", str(results), "--before", "2027-01-15", "--yes"])
    finally:
        os.umask(old)

    written = [
        *_walk(tmp_path / "round"),
        *_walk(tmp_path / "keys"),
        *_walk(tmp_path / "forms"),
        *_walk(tmp_path / "results"),
    ]
    names = {p.name for p in written}
    for expected in (
        "questions.yaml",
        "musforms.toml",
        "roster.csv",
        "key",
        "manifest.json",
        "1042-soeren-aeroe.pdf",
        "1042-soeren-aeroe.docx",
        "1043.json",
        "responses.json",
        "report.json",
        "agreements.xlsx",
        "agreements.csv",
        "followup.ics",
        "1043-ida-holm.docx",
        "outputs.json",
    ):
        assert expected in names, f"{expected} was not written"
    assert "1042.json" not in names  # purged
    loose = [
        f"{p} {stat.S_IMODE(p.stat().st_mode):o}"
        for p in written
        if stat.S_IMODE(p.stat().st_mode) != (0o700 if p.is_dir() else 0o600)
    ]
    assert not loose, loose


# --- nothing on the terminal ------------------------------------------------------------------


@pytest.fixture(scope="module")
def round_(tmp_path_factory: pytest.TempPathFactory) -> Round:
    root = tmp_path_factory.mktemp("privacy")
    return make_round(root, previous=False, key_file=root / "key")


def _inbox(r: Round, folder: Path) -> Path:
    """Returns holding MARK in every answer, in every way a file can go wrong."""
    folder.mkdir()
    # pdf.js: every text answer, an impossible date and a choice that is not an option
    values = {**answers(MARK, previous=False), "startdato": f"31-02-2027 {MARK}"}
    fill_pdfjs(r.form("1042", "pdf"), folder / "søren.pdf", values)
    # Word, by hand: every control typed over, the scale and the choice included
    controls = {
        "lykkedes": f"{MARK} lykkedes",
        "titel": f"{MARK} titel",
        "arbejdsmaengde": f"{MARK} fire",
        "fokus": f"{MARK} valg",
        "startdato": f"{MARK} næste år",
        "aftaler__1__what": f"{MARK} aftale",
        "aftaler__1__owner": f"{MARK} ejer",
        "aftaler__1__due": f"{MARK} snart",
    }
    docx_edit(r.form("1043", "docx"), folder / "ida.docx", controls=controls)
    # tampered: rejected, with the reason printed
    filled = folder.parent / "filled.pdf"
    fill_pdfium(r.form("1042", "pdf"), filled, answers(MARK, previous=False))
    forged = forge_token(pdf_token(filled), employee_id="1043")
    pdf_set(filled, folder / "forfalsket.pdf", fields={"mf_identity": forged}, info=forged)
    # damaged next to an answer (pypdf logged the bytes around it; qpdf says where it is)
    qdf = folder.parent / "qdf.pdf"
    subprocess.run(["qpdf", "--qdf", "--object-streams=disable", str(filled), str(qdf)], check=True)
    data = qdf.read_bytes()
    at = data.rfind(b"/V", 0, data.index(MARK.encode()))
    (folder / "beskadiget.pdf").write_bytes(data[:at] + b"/V endstream " + data[at + 2 :])
    # a Word file cut off in the middle of an answer
    cut = folder.parent / "cut.docx"
    docx_edit(r.form("1042", "docx"), cut, controls={"titel": f"{MARK} titel"})
    _truncate_part(cut, folder / "afskåret.docx", MARK)
    return folder


def _truncate_part(src: Path, dst: Path, at: str) -> None:
    import zipfile

    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w", zipfile.ZIP_DEFLATED) as zout:
        for info in zin.infolist():
            data = zin.read(info.filename)
            if info.filename == "word/document.xml":
                data = data[: data.index(at.encode()) + len(at)]
            zout.writestr(info, data)


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "musforms", *args],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=ROOT,
        env={**os.environ, "COLUMNS": "200"},
    )


def test_no_answer_text_on_the_terminal(round_: Round, tmp_path: Path) -> None:
    """Protects against answers leaking into terminal output, scroll-back and CI logs:
    collecting returns with a marker in every answer (an impossible date and a scale value
    typed as text included, plus rejected, damaged and cut-off files) and drafting the
    minutes again print the marker neither on stdout nor on stderr. The problems are in
    report.json, and --debug (only) shows the library messages about damaged files."""
    inbox = _inbox(round_, tmp_path / "returned")
    out = tmp_path / "results"
    collect = ["collect", str(inbox), "--forms", str(round_.forms), "--out", str(out)]
    collect += ["--key-file", str(round_.key_file)]
    done = _run(*collect)
    assert done.returncode == 1, done.stderr  # some files were unusable
    assert "Returned: 2 of 2" in done.stdout
    assert "rejected" in done.stdout and "unreadable" in done.stdout
    assert MARK not in done.stdout and MARK not in done.stderr
    minutes = _run("minutes", str(out))
    assert minutes.returncode == 0, minutes.stderr
    assert MARK not in minutes.stdout + minutes.stderr

    report = json.loads((out / "report.json").read_text(encoding="utf-8"))
    messages = [p["message"] for f in report["files"] for p in f.get("problems", [])]
    assert any(re.search(rf"the date '31-02-2027 {MARK}' cannot be read", m) for m in messages)
    assert any(f"'{MARK} valg' is not one of the choices" in m for m in messages)
    assert not any(MARK in (f.get("reason") or "") for f in report["files"])

    debug = _run("--debug", *collect[:-2], "--out", str(tmp_path / "debug"), *collect[-2:])
    # qpdf's repairs of the damaged file: shown with --debug, for investigating, and only then
    assert "file is damaged" in debug.stderr and "file is damaged" not in done.stderr
    assert MARK not in debug.stdout


def test_read_errors_never_quote_answers(round_: Round, tmp_path: Path) -> None:
    """Protects exception messages (shown as 'Error: …' and kept in report.json) from carrying
    answer text: damaged forms cut off in an answer are refused without quoting it."""
    inbox = _inbox(round_, tmp_path / "returned")
    with pytest.raises(FormReadError) as docx_error:
        read_docx(inbox / "afskåret.docx")
    assert MARK not in str(docx_error.value)
    try:
        read_pdf(inbox / "beskadiget.pdf")
    except FormReadError as exc:
        assert MARK not in str(exc)


def test_library_warnings_stay_off_the_terminal() -> None:
    """A library's Python warning (which may quote what it was reading) is a log message
    like any other: not printed unless --debug. Run as its own process, where Python itself
    would print it."""
    code = (
        "import warnings\n"
        "from musforms.cli import _configure_logging\n"
        "_configure_logging(False)\n"
        f"warnings.warn('cell A7 holds {MARK}', UserWarning)\n"
        "print('done')\n"
    )
    done = subprocess.run(
        [sys.executable, "-W", "always", "-c", code], capture_output=True, text=True, cwd=ROOT
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout == "done\n"
    assert MARK not in done.stderr
