"""collect: identity decides, not file names; other rounds, strangers and damage are named."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from musforms.cli import cli
from musforms.collect import collect
from musforms.errors import ConfigError
from musforms.generate import generate
from musforms.response import Response, json_schema
from tests.clients.pdf import fill_pdfium

ROOT = Path(__file__).resolve().parents[1]
QUESTIONS = ROOT / "config" / "questions.yaml"


def _roster(folder: Path, *ids: str) -> Path:
    path = folder / f"roster-{'-'.join(ids)}.csv"
    path.write_text("id;navn\n" + "".join(f"{i};Person {i}\n" for i in ids), encoding="utf-8")
    return path


@pytest.fixture
def issued(tmp_path: Path) -> Path:
    forms = tmp_path / "forms" / "2026"
    generate(QUESTIONS, _roster(tmp_path, "1", "2"), forms, "2026", formats=["pdf"])
    return forms


@pytest.fixture
def filled(issued: Path, tmp_path: Path) -> Path:
    """Each issued form answered in Chrome's PDF engine (PDFium), under its issued name: an
    unfilled form is returned blank and does not count as returned."""
    folder = tmp_path / "filled"
    folder.mkdir()
    for pdf in sorted(issued.glob("*.pdf")):
        fill_pdfium(pdf, folder / pdf.name, {"lykkedes": f"Svar fra {pdf.stem}: æøå"})
    return folder


def _statuses(out: Path) -> dict[str, tuple[str, str]]:
    report = json.loads((out / "report.json").read_text())
    return {Path(e["file"]).name: (e["status"], e.get("reason", "")) for e in report["files"]}


def test_file_names_do_not_matter(issued: Path, filled: Path, tmp_path: Path) -> None:
    """A form renamed to another employee's name is still the first employee's form."""
    returned = tmp_path / "returned"
    returned.mkdir()
    shutil.copy(filled / "1-person-1.pdf", returned / "2-person-2.pdf")
    result = collect([returned], issued, tmp_path / "out")
    assert result.report().returned == ["1"]
    assert result.report().missing == ["2"]


def test_the_results_folder_inside_the_returned_folder_is_not_read(
    issued: Path, filled: Path, tmp_path: Path
) -> None:
    """Results written inside the folder collect reads are not read back as returned files,
    nor listed: not through a link to one of them, nor through a linked folder; a file
    beside them with a name like theirs is."""
    returned = tmp_path / "returned"
    returned.mkdir()
    shutil.copy(filled / "1-person-1.pdf", returned / "1-person-1.pdf")
    out = returned / "results"
    collect([returned], issued, out)
    (returned / "svar.json").symlink_to(out / "report.json")
    (returned / "genvej").symlink_to(out, target_is_directory=True)
    (returned / "resultater").mkdir()
    (returned / "resultater" / "report.json").write_text("{}", encoding="utf-8")
    collect([returned], issued, out)
    collect([returned / "genvej" / "responses", returned], issued, out)
    names = sorted(str(Path(e["file"]).relative_to(returned)) for e in _report_files(out))
    assert names == ["1-person-1.pdf", "resultater/report.json"]


def test_responses_json_of_an_answer_kept_from_an_earlier_run_is_read_through(
    issued: Path, filled: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A response on record that this run did not write (its file is gone from the folder)
    goes into responses.json as its model gives it, whatever its file's layout: only a text
    this run made is taken as it is."""
    returned = tmp_path / "returned"
    returned.mkdir()
    for name in ("1-person-1.pdf", "2-person-2.pdf"):
        shutil.copy(filled / name, returned / name)
    out = tmp_path / "out"
    collect([returned], issued, out)
    expected = (out / "responses.json").read_bytes()
    (returned / "1-person-1.pdf").unlink()
    kept = out / "responses" / "1.json"
    kept.write_text(json.dumps(json.loads(kept.read_text("utf-8")), indent=4) + "\n", "utf-8")
    collect([returned], issued, out)
    assert (out / "responses.json").read_bytes() == expected
    assert json.loads(expected)[0]["employee"]["id"] == "1"  # not vacuous


def _report_files(out: Path) -> list[dict[str, str]]:
    files: list[dict[str, str]] = json.loads((out / "report.json").read_text())["files"]
    return files


def test_form_from_another_round_is_rejected(issued: Path, tmp_path: Path) -> None:
    old = tmp_path / "forms" / "2025"
    generate(QUESTIONS, _roster(tmp_path, "1"), old, "2025", formats=["pdf"])
    result = collect([old / "1-person-1.pdf"], issued, tmp_path / "out")
    assert _statuses(tmp_path / "out")["1-person-1.pdf"][0] == "rejected"
    assert "round 2025, not 2026" in result.report().files[0].reason  # type: ignore[operator]
    assert result.report().returned == []


def test_form_not_issued_in_this_round_is_rejected(issued: Path, tmp_path: Path) -> None:
    """A form for someone this manifest never issued (same key, same round) is refused."""
    other = tmp_path / "other"
    generate(QUESTIONS, _roster(tmp_path, "9"), other, "2026", formats=["pdf"])
    collect([other / "9-person-9.pdf"], issued, tmp_path / "out")
    status, reason = _statuses(tmp_path / "out")["9-person-9.pdf"]
    assert status == "rejected" and "not issued in this round" in reason


def test_employee_outside_the_roster_is_rejected(
    issued: Path, filled: Path, tmp_path: Path
) -> None:
    """With --roster, a form for someone not on it is flagged, not merged."""
    roster = _roster(tmp_path, "1")
    result = collect([filled], issued, tmp_path / "out", roster=roster)
    status, reason = _statuses(tmp_path / "out")["2-person-2.pdf"]
    assert status == "rejected" and "not in the roster" in reason
    assert result.report().returned == ["1"] and result.report().missing == []


def test_results_of_another_round_are_not_mixed(issued: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    collect([issued], issued, out)
    old = tmp_path / "forms" / "2025"
    generate(QUESTIONS, _roster(tmp_path, "1"), old, "2025", formats=["pdf"])
    with pytest.raises(ConfigError, match="results for round 2026, not 2025"):
        collect([old], old, out)


def test_damaged_earlier_report_is_a_clear_error(issued: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / "report.json").write_text("{not json")
    result = CliRunner().invoke(
        cli, ["collect", str(issued), "--forms", str(issued), "--out", str(out)]
    )
    assert result.exit_code == 1
    assert "report.json from an earlier run is damaged" in result.output
    assert "Traceback" not in result.output


def test_forms_folder_without_manifest_says_what_to_give(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        cli, ["collect", str(tmp_path), "--forms", str(tmp_path), "--out", str(tmp_path / "o")]
    )
    assert result.exit_code == 1
    assert "has no manifest.json" in result.output


def test_responses_match_the_shipped_schema(issued: Path, filled: Path, tmp_path: Path) -> None:
    """The schema in the package is the one the code writes, and `musforms schema` prints it."""
    shipped = (ROOT / "musforms" / "schemas" / "response.json").read_text()
    assert shipped == json_schema()
    assert CliRunner().invoke(cli, ["schema"]).output == shipped
    collect([filled], issued, tmp_path / "out")
    written = sorted((tmp_path / "out" / "responses").glob("*.json"))
    assert [p.name for p in written] == ["1.json", "2.json"]
    for path in written:
        Response.model_validate_json(path.read_text())
    properties = json.loads(shipped)["properties"]
    assert {"schema", "employee", "form", "answers", "agreements", "problems"} <= set(properties)


def test_missing_key_says_how_to_supply_it(issued: Path, tmp_path: Path) -> None:
    """Collecting on a machine without the key names the path and the way to give it."""
    result = CliRunner().invoke(
        cli,
        ["collect", str(issued), "--forms", str(issued), "--out", str(tmp_path / "o"),
         "--key-file", str(tmp_path / "nokey")],
    )  # fmt: skip
    assert result.exit_code == 1
    assert "no signing key at" in result.output and "--key-file" in result.output


def _padded(form: Path, target: Path, size: int) -> Path:
    """The form with an unused stream of random bytes in it, so the file is ``size`` bytes
    or a little more, and still a whole PDF every reader opens."""
    import os

    from pypdf import PdfWriter
    from pypdf.generic import DecodedStreamObject

    writer = PdfWriter(clone_from=form)
    blob = DecodedStreamObject()
    blob.set_data(os.urandom(size))
    writer._add_object(blob)
    with target.open("wb") as fh:
        writer.write(fh)
    return target


def test_the_size_limit_is_the_one_given_on_the_command_line(
    issued: Path, filled: Path, tmp_path: Path
) -> None:
    """--max-size is the bound every reader keeps: a 60 MB form is read with --max-size 100,
    and refused by the default 50 MB, the message naming the limit and the option."""
    returned = tmp_path / "returned"
    returned.mkdir()
    big = _padded(filled / "1-person-1.pdf", returned / "stor.pdf", 60_000_000)
    assert big.stat().st_size > 60_000_000
    common = ["--forms", str(issued), "--workers", "1"]
    runner = CliRunner()

    result = runner.invoke(cli, ["collect", str(returned), "--out", str(tmp_path / "a"), *common])
    assert result.exit_code == 1
    status, reason = _statuses(tmp_path / "a")["stor.pdf"]
    assert status == "unreadable"
    assert "more than the 50 MB" in reason and "--max-size" in reason

    result = runner.invoke(
        cli,
        ["collect", str(returned), "--out", str(tmp_path / "b"), "--max-size", "100", *common],
    )
    assert result.exit_code == 0, result.output
    assert _statuses(tmp_path / "b")["stor.pdf"][0] == "ok"


def test_relative_folders_as_in_the_readme(
    issued: Path, filled: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``musforms collect returned/ --forms forms/2026 --out results/2026``: relative paths,
    as the README and --help show them, work (the run's scratch space is in the results
    folder, and the workers open its databases by URI)."""
    returned = tmp_path / "returned"
    returned.mkdir()
    for i in range(40):  # enough files for the workers to start
        shutil.copy(filled / "1-person-1.pdf", returned / f"svar {i}.pdf")
    monkeypatch.chdir(tmp_path)
    args = ["collect", "returned", "--forms", "forms/2026", "--out", "results/2026"]
    result = CliRunner().invoke(cli, [*args, "--workers", "2"])
    assert result.exit_code == 0, result.output
    report = json.loads((tmp_path / "results" / "2026" / "report.json").read_text())
    assert report["returned"] == ["1"]


def test_a_reading_task_takes_many_files_but_few_messages() -> None:
    """Files on disk go to a worker many at a time (each costs the main process little), mail
    messages, which carry their bytes, a few at a time."""
    from typing import Any, cast

    from musforms.collect.read import CHUNK, MESSAGES_PER_CHUNK, _take

    files = iter([Path(f"{i}.pdf") for i in range(CHUNK + 5)])
    assert len(list(_take(files, CHUNK, MESSAGES_PER_CHUNK))) == CHUNK
    assert len(list(_take(files, CHUNK, MESSAGES_PER_CHUNK))) == 5
    letters: Any = iter([f"message {i}" for i in range(CHUNK)])  # anything but a path
    mixed = iter([Path("a.pdf"), *cast(list[Any], list(letters))])
    taken = list(_take(mixed, CHUNK, MESSAGES_PER_CHUNK))
    assert taken[0] == Path("a.pdf")
    assert len(taken) == 1 + MESSAGES_PER_CHUNK
    assert MESSAGES_PER_CHUNK < CHUNK
