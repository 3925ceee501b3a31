"""A whole round, end to end: generate for the sample roster, fill with real clients
(pdf.js, PDFium, poppler, LibreOffice), return with the mess of a real inbox, collect.

Asserts every value, every status, every problem and the missing list.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from musforms.cli import cli
from tests.clients import hostile
from tests.clients import scenario as sc
from tests.clients.pdf import fill_pdfium

pytestmark = [pytest.mark.realclient, pytest.mark.slow]


@pytest.fixture(scope="module")
def round_(tmp_path_factory: pytest.TempPathFactory) -> sc.Scenario:
    root = tmp_path_factory.mktemp("round")
    key_file = root / "key"
    os.environ["MUSFORMS_KEY_FILE"] = str(key_file)
    scenario = sc.build(root, key_file)
    forms = scenario.forms
    bad = scenario.returned / "hostile"
    bad.mkdir()
    some_form = next(forms.glob("1042-*.pdf"))
    hostile.truncated(some_form, bad / "halv.pdf")
    hostile.encrypted_pdf(some_form, bad / "låst.pdf")
    hostile.xfa_pdf(bad / "livecycle.pdf")
    hostile.zip_bomb_docx(bad / "bombe.docx")
    hostile.docx_with_document(bad / "latter.docx", hostile.BILLION_LAUGHS)
    secret = root / "secret.txt"
    secret.write_text("TOPSECRET")
    hostile.external_entity_docx(bad / "xxe.docx", secret)
    hostile.huge_file(bad / "kæmpe.pdf", 60)
    (bad / "link.pdf").symlink_to(some_form)
    return scenario


def _collect(scenario: sc.Scenario, out: Path, *args: str) -> Any:
    runner = CliRunner()
    return runner.invoke(
        cli,
        [
            "collect",
            str(scenario.returned),
            "--forms",
            str(scenario.forms),
            "--out",
            str(out),
            "--key-file",
            str(scenario.key_file),
            *args,
        ],
    )


HOSTILE_STATUS = {
    "hostile/halv.pdf": "unreadable",
    "hostile/låst.pdf": "unreadable",
    "hostile/livecycle.pdf": "unreadable",
    "hostile/bombe.docx": "unreadable",
    "hostile/latter.docx": "unreadable",
    "hostile/xxe.docx": "unreadable",
    "hostile/kæmpe.pdf": "unreadable",
    "hostile/link.pdf": "unreadable",
}


def test_every_file_gets_its_status(round_: sc.Scenario, tmp_path: Path) -> None:
    """Each returned file appears in report.json exactly once, with the status it deserves."""
    out = tmp_path / "results"
    result = _collect(round_, out)
    assert result.exit_code == 1, result.output  # some files could not be used
    report = json.loads((out / "report.json").read_text())
    statuses = {
        str(Path(e["file"]).relative_to(round_.returned)): e["status"] for e in report["files"]
    }
    assert statuses == {**sc.EXPECTED_STATUS, **HOSTILE_STATUS}
    reasons = {Path(e["file"]).name: e.get("reason", "") for e in report["files"]}
    assert "password" in reasons["låst.pdf"]
    assert "XFA" in reasons["livecycle.pdf"]
    assert "zip bomb" in reasons["bombe.docx"]
    assert "link" in reasons["link.pdf"]
    assert "MB" in reasons["kæmpe.pdf"]
    assert "Word 97" in reasons["gammel.doc"]
    assert "altered" in reasons["Thomas - rettet navn.pdf"]
    assert "TOPSECRET" not in (out / "report.json").read_text()
    assert "newer" in reasons["2102 første.docx"]


def test_every_value_comes_back(round_: sc.Scenario, tmp_path: Path) -> None:
    """Every answer typed by a real client is in the response, typed as the response contract
    (docs/ARCHITECTURE.md) says."""
    out = tmp_path / "results"
    _collect(round_, out)
    for eid, answers in sc.ANSWERS.items():
        if eid in ("2101", "2102"):
            continue
        response = json.loads((out / "responses" / f"{eid}.json").read_text())
        assert response["schema"] == "musforms/response/3"
        assert response["form"]["cycle"] == "2026"
        expected = {k: v for k, v in answers.items()}
        got = response["answers"]
        assert got == expected, eid
        agreements = [
            {"what": a["what"], "owner": a["owner"], "due": a["due"]}
            for a in response["agreements"]
        ]
        assert agreements == sc.AGREEMENTS.get(eid, []), eid


def test_newest_return_wins(round_: sc.Scenario, tmp_path: Path) -> None:
    """Of two returns of one form, the later one's answers are on record."""
    out = tmp_path / "results"
    _collect(round_, out)
    response = json.loads((out / "responses" / "2102.json").read_text())
    assert response["answers"] == sc.SECOND_RETURN
    assert response["source"]["file"].endswith("2102 rettet.docx")


def test_printed_form_is_recovered_and_flagged(round_: sc.Scenario, tmp_path: Path) -> None:
    """A form printed to PDF is matched by its visible code and marked for a check by hand."""
    out = tmp_path / "results"
    _collect(round_, out)
    response = json.loads((out / "responses" / "2101.json").read_text())
    assert response["source"]["status"] == "recovered"
    assert response["answers"]["lykkedes"] == sc.ANSWERS["2101"]["lykkedes"]
    assert response["problems"][0]["code"] == "recovered"


def test_missing_and_returned_lists(round_: sc.Scenario, tmp_path: Path) -> None:
    """Missing = issued but not usably returned; the tampered form does not count."""
    out = tmp_path / "results"
    result = _collect(round_, out)
    report = json.loads((out / "report.json").read_text())
    assert report["returned"] == ["1042", "1043", "1044", "1045", "2001", "2101", "2102"]
    assert report["missing"] == ["2103", "2104", "3001", "3002", "3003"]
    assert "Returned: 7 of 12. Missing: 5." in result.output
    assert "Traceback" not in result.output


def test_rerun_with_more_files_loses_nothing(round_: sc.Scenario, tmp_path: Path) -> None:
    """Collecting a second batch later keeps the first batch's results."""
    out = tmp_path / "results"
    first = tmp_path / "batch1"
    first.mkdir()
    shutil.copy2(round_.returned / "MUS Søren Ærø.pdf", first)
    result = _collect_paths([first], round_, out)
    assert result.exit_code == 0, result.output
    second = tmp_path / "batch2"
    second.mkdir()
    shutil.copy2(round_.returned / "Forberedelse Jens.pdf", second)
    result = _collect_paths([second], round_, out)
    assert result.exit_code == 0, result.output
    report = json.loads((out / "report.json").read_text())
    assert report["returned"] == ["1042", "1044"]
    assert len(report["files"]) == 2
    assert json.loads((out / "responses" / "1042.json").read_text())["answers"]["trivsel"] == 5


def _collect_paths(paths: list[Path], scenario: sc.Scenario, out: Path) -> Any:
    return CliRunner().invoke(
        cli,
        [
            "collect",
            *map(str, paths),
            "--forms",
            str(scenario.forms),
            "--out",
            str(out),
            "--key-file",
            str(scenario.key_file),
        ],
    )


def test_strict_fails_on_missing_required_answers(round_: sc.Scenario, tmp_path: Path) -> None:
    """--strict turns a missing required answer into exit 1; without it, exit 0. (A form
    with no answer at all is 'blank' and not returned: one answer is given, the required
    one is not.)"""
    only = tmp_path / "only"
    only.mkdir()
    issued = next(round_.forms.glob("3001-*.pdf"))
    fill_pdfium(issued, only / "halv formular.pdf", {"udbytte": "Kun dette svar: æøå"})
    assert _collect_paths([only], round_, tmp_path / "r1").exit_code == 0
    strict = CliRunner().invoke(
        cli,
        [
            "collect",
            str(only),
            "--forms",
            str(round_.forms),
            "--out",
            str(tmp_path / "r2"),
            "--key-file",
            str(round_.key_file),
            "--strict",
        ],
    )
    assert strict.exit_code == 1
    report = json.loads((tmp_path / "r2" / "report.json").read_text())
    codes = [p["code"] for p in report["files"][0]["problems"]]
    assert "required_missing" in codes
