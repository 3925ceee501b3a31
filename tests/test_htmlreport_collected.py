"""musforms report on a round collected for real: the sample roster's forms generated, the
returns in samples/returned/ (filled in pdf.js, PDFium, poppler and LibreOffice, printed,
copied, broken) collected, then reported. The figures are those of what collect wrote, and
not one answer typed in those forms is in the report."""

from __future__ import annotations

import html
import json
import shutil
from collections import Counter
from pathlib import Path

import pytest
from click.testing import CliRunner
from lxml import html as lxml_html

from musforms.cli import cli
from musforms.roster import load_roster
from tests.clients import scenario as sc

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def collected(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("collected")
    key = root / "demo.key"
    shutil.copy(ROOT / "samples" / "demo.key", key)
    key.chmod(0o600)
    runner = CliRunner()
    made = runner.invoke(cli, ["generate", "--questions", str(sc.QUESTIONS), "--roster",
                               str(sc.ROSTER), "--out", str(root / "forms" / "2026"),
                               "--cycle", "2026", "--key-file", str(key)])  # fmt: skip
    assert made.exit_code == 0, made.output
    got = runner.invoke(cli, ["collect", str(ROOT / "samples" / "returned"), "--forms",
                              str(root / "forms" / "2026"), "--out", str(root / "results" / "2026"),
                              "--roster", str(sc.ROSTER), "--key-file", str(key)])  # fmt: skip
    assert got.exit_code in (0, 1), got.output  # 1: the broken samples, on purpose
    done = runner.invoke(cli, ["report", str(root / "results" / "2026")])
    assert done.exit_code == 0, done.output
    return root / "results" / "2026"


def _texts(value: object) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return [t for v in value for t in _texts(v)]
    if isinstance(value, dict):
        return [t for v in value.values() for t in _texts(v)]
    return []


def test_the_round_status_is_that_of_report_json(collected: Path) -> None:
    report = json.loads((collected / "report.json").read_text(encoding="utf-8"))
    departments = {e.id: e.department or "(ikke angivet)" for e in load_roster(sc.ROSTER)}
    want: dict[str, list[int]] = {}
    blank = {eid for eid, note in report["missing_notes"].items() if note == "returned blank"}
    for eid in departments:
        row = want.setdefault(departments[eid], [0, 0, 0, 0])
        row[0] += 1
        if eid in report["returned"]:
            row[1] += 1
        elif eid in blank:
            row[2] += 1
        elif eid in report["missing"]:
            row[3] += 1
    doc = lxml_html.fromstring((collected / "report.html").read_text(encoding="utf-8"))
    (table,) = doc.xpath("(//section[@id='status']//table)[1]")
    got = {
        tr.xpath("string(th)").strip(): [
            int(td.text_content().split()[0]) for td in tr.xpath("td")[:4]
        ]
        for tr in table.xpath(".//tbody/tr")
    }
    whole = got.pop("Hele organisationen")
    assert got == want
    assert whole == [sum(r[i] for r in want.values()) for i in range(4)]
    assert whole[1] == len(report["returned"]) > 0


def test_no_answer_collected_is_in_the_report(collected: Path) -> None:
    page = (collected / "report.html").read_text(encoding="utf-8")
    texts: list[str] = []
    for path in (collected / "responses").glob("*.json"):
        data = json.loads(path.read_text(encoding="utf-8"))
        answers = {k: v for k, v in data["answers"].items() if not isinstance(v, bool | int)}
        texts += [t for t in _texts(answers) if " " in t]  # free text, not option ids
        texts += _texts(data["agreements"]) + _texts(data.get("previous_agreements", []))
    texts += _texts({k: v for a in sc.ANSWERS.values() for k, v in a.items()})
    texts = [t for t in texts if len(t) > 6 and " " in t]
    assert len(texts) > 10
    for text in texts:
        for line in html.escape(text, quote=False).split("\n"):
            if len(line) > 6:
                assert line not in page, line


def test_questions_answered_by_fewer_than_five_show_no_figures(collected: Path) -> None:
    """In the sample round no scale question has 5 answers (7 returned, each question asked
    of some): the whole organisation's row of each says only the threshold's words, and no
    group shows a figure. (tests/test_htmlreport.py has rounds large enough to show them.)"""
    answers: Counter[str] = Counter()
    for path in (collected / "responses").glob("*.json"):
        data = json.loads(path.read_text(encoding="utf-8"))
        for qid, value in data["answers"].items():
            if isinstance(value, int) and not isinstance(value, bool) and value is not None:
                answers[qid] += 1
    assert len(answers) >= 3 and max(answers.values()) < 5
    doc = lxml_html.fromstring((collected / "report.html").read_text(encoding="utf-8"))
    for qid in answers:
        rows = doc.xpath(f"//table[@data-question='{qid}']/tbody/tr")
        cells = [td.text_content().strip() for td in rows[0].xpath("td")]
        assert cells == ["færre end 5 svar"], qid
        assert not doc.xpath(f"//table[@data-question='{qid}']//span[@class='c']"), qid
