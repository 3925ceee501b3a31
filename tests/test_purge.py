"""Retention: ``musforms purge`` lists, asks, and deletes every trace of the answers of
meetings before a date (responses, minutes, report lines, follow-up rows in the XLSX, CSV and
calendar), keeps the rest, and says what it deleted."""

from __future__ import annotations

import shutil
import stat
import zipfile
from pathlib import Path

import pytest
from click.testing import CliRunner

from musforms.cli import cli
from musforms.collect import collect, load_report
from musforms.generate import generate
from musforms.manifest import iter_manifest_forms, load_manifest
from tests.clients.pdf import fill_pdfium
from tests.trust_data import answers, write_config

pytestmark = pytest.mark.realclient

ROSTER = (
    "id;name;department;manager;meeting_date\r\n"
    "1042;Søren Ærø;Økonomi;Åse Østergård;14-01-2027\r\n"
    "1043;Ida Holm;IT;Bo Berg;20-01-2027\r\n"
    "1044;Jens Bøgh;IT;Bo Berg;10-03-2027\r\n"
)
OLD = ("1042", "1043")  # meetings before 1 February 2027
KEPT = "1044"


def _mark(employee_id: str) -> str:
    return f"SVAR-{employee_id}-Q"


def _everything(folder: Path) -> dict[str, bytes]:
    out = {}
    for path in sorted(folder.rglob("*")):
        if path.is_file():
            data = path.read_bytes()
            if data.startswith(b"PK"):
                with zipfile.ZipFile(path) as zf:
                    data = b"".join(zf.read(n) for n in zf.namelist())
            out[str(path.relative_to(folder))] = data
    return out


@pytest.fixture(scope="module")
def collected(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("purge")
    key = root / "key"
    questions, roster = write_config(root, ROSTER)
    forms = root / "forms"
    generate(questions, roster, forms, "2027", formats=["pdf"], key_file=key)
    inbox = root / "returned"
    inbox.mkdir()
    for form in load_manifest(forms).forms:
        values = answers(_mark(form.employee_id), previous=False)
        fill_pdfium(forms / form.files["pdf"], inbox / f"{form.employee_id}.pdf", values)
    out = root / "results"
    result = collect([inbox], forms, out, key_file=key)
    assert [e.status for e in result.report().files] == ["ok"] * 3
    return out


@pytest.fixture
def results(collected: Path, tmp_path: Path) -> Path:
    import shutil

    return shutil.copytree(collected, tmp_path / "results")


def _purge(results: Path, *extra: str, answer: str | None = None) -> tuple[int, str]:
    result = CliRunner().invoke(
        cli, ["purge", str(results), "--before", "01-02-2027", *extra], input=answer
    )
    return result.exit_code, result.output


def test_purge_lists_and_answering_no_deletes_nothing(results: Path) -> None:
    """Protects against deleting without consent: the files are listed, and 'no' (or just
    Enter) leaves every file exactly as it was."""
    before = _everything(results)
    code, output = _purge(results, answer="n\n")
    assert code == 0, output
    assert "This deletes the answers of 2 employees (meetings before 01-02-2027)" in output
    for eid in OLD:
        assert f"responses/{eid}.json" in output
        assert f"minutes/{eid}-" in output
    assert "Delete them? [y/N]" in output
    assert "Nothing was deleted." in output
    assert _everything(results) == before
    code, output = _purge(results, answer="\n")
    assert "Nothing was deleted." in output and _everything(results) == before


@pytest.mark.parametrize("how", ["confirm", "--yes"])
def test_purge_deletes_every_trace_and_keeps_the_rest(results: Path, how: str) -> None:
    """Protects against answers outliving their retention date: after 'yes' (or --yes, which
    does not ask) no file in the results folder holds the purged employees' answers or
    agreements (responses, responses.json, report lines, minutes, agreements.xlsx/csv,
    followup.ics); the kept employee's are all still there; rewritten files stay private."""
    kept_minutes = sorted(p.name for p in (results / "minutes").glob(f"{KEPT}-*.docx"))
    if how == "--yes":
        code, output = _purge(results, "--yes")
        assert "Delete them?" not in output
    else:
        code, output = _purge(results, answer="y\n")
    assert code == 0, output
    # Their responses, minutes and conclusion forms (which show the preparation).
    assert "Deleted 6 files; 1 employee's answers remain." in output

    for name, data in _everything(results).items():
        for eid in OLD:
            assert _mark(eid).encode() not in data, f"{eid}'s answers are still in {name}"
    texts = _everything(results)
    for name in ("responses.json", "agreements.csv", "agreements.xlsx", "followup.ics"):
        assert _mark(KEPT).encode() in texts[name] or name == "followup.ics", name
    assert b"Jens B" in texts["followup.ics"]
    assert (
        b"S\xc3\xb8ren" not in texts["followup.ics"] and b"Ida Holm" not in texts["agreements.csv"]
    )
    assert sorted(p.name for p in (results / "responses").iterdir()) == [f"{KEPT}.json"]
    assert sorted(p.name for p in (results / "minutes").glob("*.docx")) == kept_minutes
    conclusions = results / "conclusions"
    assert [p.name.split("-")[0] for p in conclusions.glob("*.docx")] == [KEPT]
    assert [f.employee_id for f in iter_manifest_forms(conclusions)] == [KEPT]
    report = load_report(results)
    assert report is not None
    assert report.returned == [KEPT]
    assert [e.employee_id for e in report.files] == [KEPT]
    for name in ("responses.json", "report.json", "agreements.csv", "agreements.xlsx"):
        assert stat.S_IMODE((results / name).stat().st_mode) == 0o600, name


def test_nothing_to_purge(results: Path) -> None:
    before = _everything(results)
    result = CliRunner().invoke(cli, ["purge", str(results), "--before", "2027-01-01", "--yes"])
    assert result.exit_code == 0
    assert "Nothing in" in result.output and "is dated before 01-01-2027" in result.output
    assert _everything(results) == before


@pytest.mark.parametrize("answer", ["j", "ja", "J", "Ja", "y", "yes", "YES"])
def test_purge_takes_a_danish_or_english_yes(results: Path, answer: str) -> None:
    """Answering j or ja (Danish) deletes, as y or yes do; before, "j" was refused."""
    code, output = _purge(results, answer=f"{answer}\n")
    assert code == 0, output
    # Their responses, minutes and conclusion forms (which show the preparation).
    assert "Deleted 6 files; 1 employee's answers remain." in output
    assert not (results / "responses" / "1042.json").exists()


@pytest.mark.parametrize("answer", ["n\n", "nej\n", "no\n", "måske\nnej\n"])
def test_purge_takes_a_danish_or_english_no(results: Path, answer: str) -> None:
    """n, nej and no delete nothing; an answer that is neither is asked again."""
    before = _everything(results)
    code, output = _purge(results, answer=answer)
    assert code == 0, output
    assert "Nothing was deleted." in output
    assert ("Answer j (ja), y (yes) or n (no)." in output) == answer.startswith("måske")
    assert _everything(results) == before


@pytest.mark.parametrize("date", ["01.02.2027", "1/2 2027", "1. februar 2027", "2027-02-01",
                                  "01-02-27"])  # fmt: skip
def test_purge_takes_every_date_the_roster_takes(results: Path, date: str) -> None:
    """--before reads dates as the roster does (musforms.dates); before, 16.01.2027 was a
    usage error."""
    result = CliRunner().invoke(cli, ["purge", str(results), "--before", date, "--yes"])
    assert result.exit_code == 0, result.output
    assert "(meetings before 01-02-2027)" in result.output


def test_purge_refuses_a_date_that_is_not_one_with_how_to_write_it(results: Path) -> None:
    result = CliRunner().invoke(cli, ["purge", str(results), "--before", "31-02-2027"])
    assert result.exit_code == 2
    assert "'31-02-2027' is not a day that exists" in result.output


def test_purge_also_deletes_a_draft_under_the_name_earlier_versions_gave_it(
    results: Path,
) -> None:
    """A minutes draft of a name in another script was once called "<id>-x.docx"; purging
    its employee deletes it too, so no answers outlive the date under the old name."""
    import json

    response = results / "responses" / "1042.json"
    data = json.loads(response.read_text(encoding="utf-8"))
    data["employee"]["name"] = "Мария Иванова"
    response.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    old_name = results / "minutes" / "1042-x.docx"
    shutil.copy(next((results / "minutes").glob("1042-*.docx")), old_name)
    code, output = _purge(results, "--yes")
    assert code == 0, output
    assert str(old_name) in output
    assert not old_name.exists()
