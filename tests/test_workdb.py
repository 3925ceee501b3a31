"""collect's scratch databases: same results as before, nothing left behind, any process."""

from __future__ import annotations

import json
import multiprocessing
import os
import pickle
import shutil
import tempfile
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import pytest

from musforms.collect import collect, load_report
from musforms.errors import ConfigError
from musforms.generate import generate
from musforms.manifest import iter_manifest_forms
from musforms.workdb import IssuedForm, IssuedIndex, id_key
from tests.clients.pdf import fill_pdfium

ROOT = Path(__file__).resolve().parents[1]
QUESTIONS = ROOT / "config" / "questions.yaml"


@pytest.fixture
def scratch(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Where collect's temporary folder goes, watched by the test."""
    folder = tmp_path / "tmp"
    folder.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(folder))
    yield folder


@pytest.fixture
def issued(tmp_path: Path) -> Path:
    roster = tmp_path / "roster.csv"
    roster.write_text(
        "id;navn;afdeling\n10;Søren Ærø;Løn\n9;Åse Øster;IT\nb7;Ida Holm;IT\n", encoding="utf-8"
    )
    forms = tmp_path / "forms"
    generate(QUESTIONS, roster, forms, "2026", formats=["pdf"], key_file=tmp_path / "key")
    return forms


@pytest.fixture
def filled(issued: Path, tmp_path: Path) -> Path:
    """Each issued form answered in Chrome's PDF engine (PDFium), under its issued name."""
    folder = tmp_path / "filled"
    folder.mkdir()
    for pdf in sorted(issued.glob("*.pdf")):
        fill_pdfium(pdf, folder / pdf.name, {"lykkedes": f"Svar fra {pdf.stem}: æøå"})
    return folder


def test_employee_ids_sort_by_number_then_text() -> None:
    ids = ["10", "b7", "9", "007", "²", "a1", "100"]
    assert sorted(ids, key=id_key) == ["007", "9", "10", "100", "a1", "b7", "²"]


def _lookup(index: IssuedIndex, form_id: str) -> IssuedForm | None:
    return index.get(form_id)


def test_the_index_is_read_the_same_in_a_worker_process(issued: Path, tmp_path: Path) -> None:
    forms = list(iter_manifest_forms(issued))
    index = IssuedIndex.build(tmp_path / "i.sqlite", "2026", iter_manifest_forms(issued), ["9"])
    assert len(pickle.dumps(index)) < 500  # the path travels, not the forms
    here = [index.get(f.form_id) for f in forms]
    with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("forkserver")) as pool:
        there = list(pool.map(_lookup, [index] * len(forms), [f.form_id for f in forms]))
    assert there == here
    assert [f.name for f in here if f] == ["Søren Ærø", "Åse Øster", "Ida Holm"]
    assert index.get("NO-SUCH-FORM") is None
    assert index.has_name("Åse Øster") and not index.has_name("Åse")
    assert index.in_roster("9") and not index.in_roster("10")


def test_report_json_is_the_text_of_the_whole_report(
    issued: Path, filled: Path, tmp_path: Path, scratch: Path
) -> None:
    out = tmp_path / "out"
    (tmp_path / "junk.txt").write_text("ikke en formular", encoding="utf-8")
    given = [*sorted(filled.glob("*.pdf")), tmp_path / "junk.txt"]
    collect(given, issued, out, key_file=tmp_path / "key")
    report = load_report(out)
    assert report is not None
    whole = report.model_dump(mode="json", by_alias=True, exclude_none=True)
    text = json.dumps(whole, ensure_ascii=False, indent=2) + "\n"
    assert (out / "report.json").read_text(encoding="utf-8") == text
    assert report.returned == ["9", "10", "b7"] and report.missing == []
    assert [Path(e.file).name for e in report.files] == [
        "10-soeren-aeroe.pdf",
        "9-aase-oester.pdf",
        "b7-ida-holm.pdf",
        "junk.txt",
    ]
    responses = json.loads((out / "responses.json").read_text(encoding="utf-8"))
    assert [r["employee"]["id"] for r in responses] == ["9", "10", "b7"]
    assert list(scratch.iterdir()) == []


def test_later_runs_build_on_earlier_ones(
    issued: Path, filled: Path, tmp_path: Path, scratch: Path
) -> None:
    out, key = tmp_path / "out", tmp_path / "key"
    first = collect([filled / "10-soeren-aeroe.pdf"], issued, out, key_file=key)
    assert (first.returned, first.missing, first.missing_first) == (1, 2, ["9", "b7"])
    second = collect([filled / "9-aase-oester.pdf"], issued, out, key_file=key)
    assert (second.returned, second.missing, second.counts) == (2, 1, {"ok": 1})
    copy = tmp_path / "kopi.pdf"
    shutil.copy(filled / "10-soeren-aeroe.pdf", copy)
    third = collect([copy], issued, out, key_file=key)
    assert third.counts == {"duplicate": 1}
    report = third.report()
    lines = {Path(e.file).name: (e.status, e.reason) for e in report.files}
    assert lines == {
        "10-soeren-aeroe.pdf": ("ok", None),
        "9-aase-oester.pdf": ("ok", None),
        "kopi.pdf": ("duplicate", f"an identical copy of {filled / '10-soeren-aeroe.pdf'}"),
    }
    assert report.returned == ["9", "10"] and report.missing == ["b7"]
    assert list(scratch.iterdir()) == []


def test_nothing_is_left_behind_when_collect_stops(
    issued: Path, tmp_path: Path, scratch: Path
) -> None:
    out = tmp_path / "out"
    collect([issued / "9-aase-oester.pdf"], issued, out, key_file=tmp_path / "key")
    report = out / "report.json"
    report.write_text(report.read_text(encoding="utf-8")[:-40], encoding="utf-8")
    with pytest.raises(ConfigError, match="from an earlier run is damaged"):
        collect([issued], issued, out, key_file=tmp_path / "key")
    assert list(scratch.iterdir()) == []


def test_a_file_name_that_is_not_utf8_is_named_with_escapes(
    issued: Path, filled: Path, tmp_path: Path, scratch: Path
) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    odd = os.fsdecode(bytes(inbox) + b"/svar \xff\xe6.pdf")
    shutil.copy(filled / "9-aase-oester.pdf", odd)
    result = collect([inbox], issued, tmp_path / "out", key_file=tmp_path / "key")
    assert result.counts == {"ok": 1}
    [entry] = result.report().files
    assert entry.file == f"{inbox}/svar \\xff\\xe6.pdf"
    response = json.loads((tmp_path / "out" / "responses.json").read_text(encoding="utf-8"))
    assert response[0]["source"]["file"] == entry.file
