"""Returns that are wrong in other ways than broken: a form sent back blank, two returns of
one form with different answers, every form checked with the wrong key, and a report.json
written by an earlier musforms version."""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from musforms.cli import cli
from musforms.collect import CollectResult, collect, load_report
from musforms.errors import ConfigError, KeyFileError
from musforms.generate import generate
from musforms.identity import load_key
from musforms.report import FileEntry, Report
from musforms.summary import summary_lines
from tests.clients.pdf import Values, fill_pdfium, fill_pdfjs, fill_poppler
from tests.clients.word import fill_libreoffice
from tests.trust_data import Round, answers, make_round

pytestmark = pytest.mark.realclient

# Typed in the PDF first, then in the Word form, by the same employee.
FIRST = "Første svar på PDF: æøå"
SECOND = "Andet svar i Word: Łódź, Ёлка, Ελλάδα, مرحبا"


@pytest.fixture(scope="module")
def round_(tmp_path_factory: pytest.TempPathFactory) -> Round:
    root = tmp_path_factory.mktemp("returns")
    return make_round(root, previous=False, key_file=root / "key")


@pytest.fixture(scope="module")
def filled(round_: Round) -> Path:
    """1042's PDF filled in Chrome's engine (PDFium), every question type answered."""
    path = round_.root / "filled-1042.pdf"
    fill_pdfium(round_.form("1042", "pdf"), path, answers(FIRST, previous=False))
    return path


@pytest.fixture(scope="module")
def emptied(round_: Round) -> Path:
    """1043's PDF filled in PDFium, then every text emptied and the box unticked in Evince
    (poppler), and saved: a form whose every answer was taken out again."""
    typed = round_.root / "typed-1043.pdf"
    values: Values = {
        "lykkedes": "Skrevet og slettet igen\nto linjer",
        "titel": "Slettes",
        "startdato": "15-02-2027",
        "kursus": True,
        "aftaler__1__what": "Slettes også",
    }
    fill_pdfium(round_.form("1043", "pdf"), typed, values)
    path = round_.root / "emptied-1043.pdf"
    fill_poppler(
        typed, path, {k: (False if isinstance(v, bool) else "") for k, v in values.items()}
    )
    return path


@pytest.fixture(scope="module")
def word(round_: Round) -> Path:
    """1042's Word form filled in LibreOffice with other answers than the PDF, long and in
    other scripts."""
    path = round_.root / "filled-1042.docx"
    fill_libreoffice(
        round_.form("1042", "docx"),
        path,
        {"lykkedes": f"{SECOND}\n" + "lang linje " * 300, "titel": SECOND, "kursus": True},
    )
    return path


def _run(round_: Round, inbox: Path, out: Path) -> CollectResult:
    return collect([inbox], round_.forms, out, key_file=round_.key_file, workers=1)


def _lines(out: Path) -> dict[str, FileEntry]:
    report = load_report(out)
    assert report is not None
    return {Path(e.file).name: e for e in report.files}


def _answers(out: Path, employee_id: str) -> dict[str, object]:
    data = json.loads((out / "responses" / f"{employee_id}.json").read_text(encoding="utf-8"))
    got: dict[str, object] = data["answers"]
    return got


def _touch(path: Path, offset: float) -> None:
    st = path.stat()
    os.utime(path, (st.st_atime, st.st_mtime + offset))


def _age(path: Path) -> None:
    """Give ``path`` a modification time long before the forms were filled (a PDF saved by
    PDFium keeps no save time of its own, so this is the time collect goes by)."""
    old = dt.datetime(2026, 1, 5, 9, 0, tzinfo=dt.UTC).timestamp()
    os.utime(path, (old, old))


def _contents(folder: Path) -> dict[Path, bytes]:
    return {p: p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


# --- blank --------------------------------------------------------------------------------


def test_a_blank_return_does_not_count_as_returned(
    round_: Round, filled: Path, emptied: Path, tmp_path: Path
) -> None:
    """Protects the missing list against a blank return: the unfilled Word form sent back as
    issued, and a PDF whose every answer was emptied, are 'blank'; 1043 stays missing with
    the note "returned blank", gets no response and no minutes, and the summary says so.
    Read again, nothing changes."""
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    out = tmp_path / "results"
    shutil.copy(filled, inbox / "søren.pdf")
    shutil.copy(round_.form("1043", "docx"), inbox / "ida som sendt.docx")
    shutil.copy(emptied, inbox / "ida tømt.pdf")
    for _ in range(2):
        result = _run(round_, inbox, out)
        lines = _lines(out)
        assert {name: e.status for name, e in lines.items()} == {
            "søren.pdf": "ok",
            "ida som sendt.docx": "blank",
            "ida tømt.pdf": "blank",
        }
        assert "no answer at all" in (lines["ida tømt.pdf"].reason or "")
        report = load_report(out)
        assert report is not None
        assert report.returned == ["1042"] and report.missing == ["1043"]
        assert report.missing_notes == {"1043": "returned blank"}
        assert not (out / "responses" / "1043.json").exists()
        drafts = [p.name for p in (out / "minutes").iterdir() if not p.name.startswith(".")]
        assert [name[:5] for name in drafts] == ["1042-"], drafts
        said = "\n".join(summary_lines(result))
        assert "Returned: 1 of 2. Missing: 1." in said
        assert "missing: 1043 (returned blank)" in said
        assert "ida tømt.pdf (employee 1043): blank" in said
    assert _answers(out, "1042")["titel"] == f"{FIRST} titel"


def test_a_form_whose_only_answer_is_a_date_that_cannot_be_read_is_no_blank(
    round_: Round, tmp_path: Path
) -> None:
    """Protects what was typed against being taken for a blank return: a form whose one
    answer is a date that cannot be read ("næste forår") counts as returned, and the typed
    text is kept in the response."""
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    out = tmp_path / "results"
    fill_pdfium(round_.form("1043", "pdf"), inbox / "ida.pdf", {"startdato": "næste forår"})
    _run(round_, inbox, out)
    assert _lines(out)["ida.pdf"].status == "ok"
    report = load_report(out)
    assert report is not None and report.returned == ["1043"]
    data = json.loads((out / "responses" / "1043.json").read_text(encoding="utf-8"))
    assert data["typed"] == {"startdato": "næste forår"}


def test_a_blank_return_recorded_first_gives_way_to_the_filled_one(
    round_: Round, filled: Path, tmp_path: Path
) -> None:
    """Protects the round from keeping an employee missing once the filled form comes: the
    blank return recorded in an earlier run becomes a duplicate naming the file whose answers
    are on record, and the note goes."""
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    out = tmp_path / "results"
    shutil.copy(round_.form("1042", "pdf"), inbox / "tom.pdf")
    _run(round_, inbox, out)
    report = load_report(out)
    assert report is not None and report.missing_notes == {"1042": "returned blank"}
    shutil.copy(filled, inbox / "udfyldt.pdf")
    _run(round_, inbox, out)
    lines = _lines(out)
    assert lines["udfyldt.pdf"].status == "ok"
    assert lines["tom.pdf"].status == "duplicate"
    assert str(inbox / "udfyldt.pdf") in (lines["tom.pdf"].reason or "")
    report = load_report(out)
    assert report is not None
    assert report.returned == ["1042"] and report.missing == ["1043"]
    assert report.missing_notes == {}


# --- superseded -----------------------------------------------------------------------------


def test_the_newer_of_two_different_returns_counts_and_both_say_so(
    round_: Round, filled: Path, word: Path, tmp_path: Path
) -> None:
    """Protects HR from a silent choice between two different returns (the PDF filled first,
    the Word form later with other answers): the Word form, saved last, counts; the PDF is
    'superseded'; each line carries 'conflicting_returns' naming the other file; the summary
    lists both for a check. Read again, in any order, the same."""
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    out = tmp_path / "results"
    pdf, docx = inbox / "b først.pdf", inbox / "a senere.docx"  # the newer one sorts first
    shutil.copy(filled, pdf)
    shutil.copy(word, docx)
    _age(pdf)
    for _ in range(2):
        result = _run(round_, inbox, out)
        lines = _lines(out)
        assert lines[pdf.name].status == "superseded", lines[pdf.name]
        assert lines[docx.name].status == "ok"
        assert f"the newer {docx} counts" in (lines[pdf.name].reason or "")
        for mine, other in ((pdf, docx), (docx, pdf)):
            conflicts = [p for p in lines[mine.name].problems if p.code == "conflicting_returns"]
            assert len(conflicts) == 1, lines[mine.name].problems
            assert str(other) in conflicts[0].message
        assert _answers(out, "1042")["titel"] == SECOND
        said = "\n".join(summary_lines(result))
        assert f"  {docx} counts; not {pdf}" in said
        assert "answers to check" not in said  # a conflict is not a missing answer
        assert result.counts == {"ok": 1, "superseded": 1}
    args = ["collect", str(inbox), "--forms", str(round_.forms), "--out", str(out)]
    got = CliRunner().invoke(cli, [*args, "--key-file", str(round_.key_file)])
    assert got.exit_code == 0, got.output  # no fault of either file
    assert f"\n  {docx} counts; not {pdf}\n" in got.stdout


def test_a_later_file_with_the_same_answers_is_a_duplicate(
    round_: Round, filled: Path, tmp_path: Path
) -> None:
    """The same answers typed in Firefox (pdf.js) and saved later, in other bytes, are no
    conflict: the later file counts and the earlier one is a duplicate, with no
    'conflicting_returns'."""
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    out = tmp_path / "results"
    shutil.copy(filled, inbox / "chrome.pdf")
    _age(inbox / "chrome.pdf")
    firefox = inbox / "firefox.pdf"
    fill_pdfjs(round_.form("1042", "pdf"), firefox, answers(FIRST, previous=False))
    _touch(firefox, 3600)
    assert firefox.read_bytes() != filled.read_bytes()
    _run(round_, inbox, out)
    lines = _lines(out)
    assert (lines["chrome.pdf"].status, lines["firefox.pdf"].status) == ("duplicate", "ok")
    assert "the same answers as" in (lines["chrome.pdf"].reason or "")
    for entry in lines.values():
        assert all(p.code != "conflicting_returns" for p in entry.problems)


def test_collecting_again_changes_no_line(
    round_: Round, filled: Path, word: Path, tmp_path: Path
) -> None:
    """Two returns with the same answers, then a newer one with other answers: collected
    run by run, collecting once more changes no report line, and every line is what one run
    over all three files gives. (The older copy stays a duplicate of the return it repeats;
    read again against the newest return alone it was once taken for a second conflict.)"""
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    shutil.copy(filled, inbox / "chrome.pdf")
    _age(inbox / "chrome.pdf")
    firefox = inbox / "firefox.pdf"
    fill_pdfjs(round_.form("1042", "pdf"), firefox, answers(FIRST, previous=False))
    _age(firefox)
    _touch(firefox, 3600)
    out = tmp_path / "results"
    _run(round_, inbox, out)
    shutil.copy(word, inbox / "word.docx")  # saved by LibreOffice today: the newest
    _run(round_, inbox, out)
    lines = _lines(out)
    assert [lines[n].status for n in ("chrome.pdf", "firefox.pdf", "word.docx")] == [
        "duplicate",
        "superseded",
        "ok",
    ]
    _run(round_, inbox, out)
    assert _lines(out) == lines
    at_once = tmp_path / "at-once"
    _run(round_, inbox, at_once)
    assert _lines(at_once) == lines


def test_a_run_stopped_before_its_report_leaves_nothing_that_misleads_the_next(
    round_: Round, filled: Path, word: Path, tmp_path: Path
) -> None:
    """A run stopped (a full disk, a kill) after it put a newer return's answers into
    responses/ but before report.json named that return: the next run over the new files
    compares with the answers of the file the report still names, read again from it, not
    with what the stopped run left, and gives what one clean run gives."""
    first, second = tmp_path / "first", tmp_path / "second"
    first.mkdir()
    second.mkdir()
    shutil.copy(filled, first / "1.pdf")
    _age(first / "1.pdf")
    out = tmp_path / "results"
    _run(round_, first, out)
    shutil.copy(word, second / "2.docx")  # newer, with other answers
    clean = tmp_path / "clean"
    shutil.copytree(out, clean)
    _run(round_, second, clean)
    assert (_lines(clean)["1.pdf"].status, _lines(clean)["2.docx"].status) == ("superseded", "ok")
    # What the stopped run left: the newer return's answers, and the report as it was.
    alone = tmp_path / "alone"
    _run(round_, second, alone)
    shutil.copy(alone / "responses" / "1042.json", out / "responses" / "1042.json")
    _run(round_, second, out)
    assert _lines(out) == _lines(clean)
    assert _answers(out, "1042") == _answers(clean, "1042")


def test_a_third_return_names_the_file_that_counts_now(
    round_: Round, filled: Path, word: Path, tmp_path: Path
) -> None:
    """Of three different returns collected run by run, each older one says the newest
    counts, and the summary lists the conflict found this run."""
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    out = tmp_path / "results"
    first, second, third = inbox / "1.pdf", inbox / "2.docx", inbox / "3.pdf"
    shutil.copy(filled, first)
    _age(first)
    _run(round_, inbox, out)
    shutil.copy(word, second)  # saved by LibreOffice, which records when
    _run(round_, inbox, out)
    fill_pdfium(round_.form("1042", "pdf"), third, {"titel": "Tredje gang: Ωμέγα"})
    _touch(third, 7200)
    result = _run(round_, inbox, out)
    lines = _lines(out)
    assert [lines[n].status for n in ("1.pdf", "2.docx", "3.pdf")] == [
        "superseded",
        "superseded",
        "ok",
    ]
    for name in ("1.pdf", "2.docx"):
        assert f"the newer {third} counts" in (lines[name].reason or ""), name
    assert _answers(out, "1042")["titel"] == "Tredje gang: Ωμέγα"
    assert result.conflicts == [(str(third), [str(first), str(second)])]


# --- the wrong key ----------------------------------------------------------------------------


def test_the_wrong_key_is_said_once_before_a_file_is_read(
    round_: Round, filled: Path, tmp_path: Path
) -> None:
    """Protects HR from reading a whole round with the wrong key: collect says so in one
    line before it reads a single file (no count of files to read is even made), naming the
    key file and --key-file and MUSFORMS_KEY_FILE, and writes nothing."""
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    for i in range(3):
        shutil.copy(filled, inbox / f"svar {i}.pdf")
    other = tmp_path / "anden nøgle"
    load_key(other, create=True)
    out = tmp_path / "results"
    counted: list[int] = []
    with pytest.raises(KeyFileError) as raised:
        collect([inbox], round_.forms, out, key_file=other, on_total=counted.append)
    message = str(raised.value)
    assert counted == []
    assert message.startswith(f"wrong signing key {other}: the forms in {round_.forms} were")
    assert "--key-file FILE (or MUSFORMS_KEY_FILE=FILE)" in message
    assert "\n" not in message
    assert not out.exists()

    got = CliRunner(env={"MUSFORMS_KEY_FILE": str(other)}).invoke(
        cli, ["collect", str(inbox), "--forms", str(round_.forms), "--out", str(out)]
    )
    assert got.exit_code == 1
    assert got.stderr.count("\n") == 1 and got.stderr.startswith(
        f"Error: wrong signing key {other}:"
    )
    assert got.stdout == "" and not out.exists()


def test_returns_from_forms_made_with_another_key_change_nothing(
    round_: Round, filled: Path, tmp_path: Path
) -> None:
    """The right key for the forms folder, but every signed return made with another key
    (forms generated again elsewhere): the run still stops, once, after reading, and the
    results stay as they were."""
    elsewhere = tmp_path / "andetsteds"
    generate(
        round_.questions, round_.roster, elsewhere, "2026", formats=["pdf"],
        key_file=tmp_path / "fremmed nøgle",
    )  # fmt: skip
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    shutil.copy(filled, inbox / "god.pdf")
    out = tmp_path / "results"
    _run(round_, inbox, out)
    before = _contents(out)
    (inbox / "god.pdf").unlink()
    for eid in ("1042", "1043"):
        form = next(elsewhere.glob(f"{eid}-*.pdf"))
        fill_pdfium(form, inbox / f"fremmed {eid}.pdf", {"titel": "Fremmed nøgle"})
    with pytest.raises(KeyFileError) as raised:
        _run(round_, inbox, out)
    message = str(raised.value)
    assert message.startswith(f"wrong signing key {round_.key_file}: not one signed form")
    assert "all 2 signed forms read were made with another key" in message
    assert _contents(out) == before


# --- report.json of an earlier version -------------------------------------------------------


def test_a_report_1_from_an_earlier_version_is_merged_with(
    round_: Round, filled: Path, tmp_path: Path
) -> None:
    """Protects results collected by musforms before report/2: collect reads their
    report.json (no missing_notes, schema musforms/report/1) and builds on it."""
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    out = tmp_path / "results"
    shutil.copy(filled, inbox / "søren.pdf")
    _run(round_, inbox, out)
    path = out / "report.json"
    data = json.loads(path.read_text(encoding="utf-8"))
    assert data["schema"] == "musforms/report/2"
    data["schema"] = "musforms/report/1"
    del data["missing_notes"]
    path.write_text(json.dumps(data, ensure_ascii=False, indent=2), encoding="utf-8")
    (inbox / "søren.pdf").unlink()
    shutil.copy(round_.form("1043", "pdf"), inbox / "ida.pdf")
    _run(round_, inbox, out)
    report = load_report(out)
    assert report is not None and report.schema_ == "musforms/report/2"
    assert {Path(e.file).name: e.status for e in report.files} == {
        "søren.pdf": "ok",
        "ida.pdf": "blank",
    }
    assert report.returned == ["1042"] and report.missing_notes == {"1043": "returned blank"}
    assert _answers(out, "1042")["titel"] == f"{FIRST} titel"


def test_a_report_of_an_unknown_version_is_refused(round_: Round, tmp_path: Path) -> None:
    """A report.json from a newer musforms is not merged into blindly: collect says which
    file, that another version wrote it, and what to do; it changes nothing."""
    out = tmp_path / "results"
    out.mkdir()
    report = Report(schema="musforms/report/9", cycle="2026")  # type: ignore[call-arg]
    text = json.dumps(report.model_dump(mode="json", by_alias=True))
    (out / "report.json").write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError, match=r"written by another version of musforms") as e:
        _run(round_, tmp_path, out)
    assert str(out / "report.json") in str(e.value) and "new results folder" in str(e.value)
    assert (out / "report.json").read_text(encoding="utf-8") == text
