"""The committed samples give what samples/RETURNED.md promises: `make demo` collects them,
and so does this test, with the same check (scripts/check_samples.py)."""

from __future__ import annotations

import importlib.util
import json
import shutil
import sys
from pathlib import Path
from types import ModuleType

import pytest
from click.testing import CliRunner

from musforms.cli import cli
from musforms.generate import generate

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT / "samples"
RETURNED = SAMPLES / "returned"
RETURNED_MD = SAMPLES / "RETURNED.md"
CHECKINS = SAMPLES / "checkins"
CONCLUDED = SAMPLES / "konklusion"
CONCLUDED_MD = SAMPLES / "KONKLUSION.md"


def _load_check() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "check_samples", ROOT / "scripts" / "check_samples.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


check = _load_check()


@pytest.fixture(scope="module")
def sample_round(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder for the sample round: its key, forms and results."""
    return tmp_path_factory.mktemp("samples")


def _demo_forms(root: Path) -> tuple[Path, Path, Path]:
    """The demo's key, and its forms generated anew from config/ and the sample roster with
    it, as `make demo` makes them: (key, forms folder, roster)."""
    key = root / "demo.key"
    shutil.copyfile(SAMPLES / "demo.key", key)
    key.chmod(0o600)
    forms = root / "forms" / "2026"
    roster = SAMPLES / "roster.csv"
    generate(ROOT / "config" / "questions.yaml", roster, forms, "2026", key_file=key, workers=1)
    return key, forms, roster


@pytest.fixture(scope="module")
def collected(sample_round: Path) -> tuple[dict[str, object], int]:
    """report.json and collect's exit code for samples/returned, as `make demo` collects it:
    forms generated anew from config/ and the sample roster with samples/demo.key."""
    key, forms, roster = _demo_forms(sample_round)
    out = sample_round / "results"
    result = CliRunner().invoke(
        cli,
        [
            *("collect", str(RETURNED), "--forms", str(forms), "--out", str(out)),
            *("--roster", str(roster), "--key-file", str(key), "--workers", "1"),
        ],
    )
    assert result.exit_code in (0, 1), result.output
    report = json.loads((out / "report.json").read_text(encoding="utf-8"))
    return report, result.exit_code


@pytest.fixture(scope="module")
def concluded(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, object], Path, int]:
    """conclusions/report.json, the results folder and collect's exit code for
    samples/returned and samples/konklusion collected together, as `make demo` does after
    collecting samples/returned alone (which issues the conclusion forms)."""
    root = tmp_path_factory.mktemp("konklusion")
    key, forms, roster = _demo_forms(root)
    out = root / "results"
    common = ("--forms", str(forms), "--out", str(out), "--roster", str(roster))
    common += ("--key-file", str(key), "--workers", "1")
    first = CliRunner().invoke(cli, ["collect", str(RETURNED), *common])
    assert first.exit_code in (0, 1), first.output
    result = CliRunner().invoke(cli, ["collect", str(RETURNED), str(CONCLUDED), *common])
    assert result.exit_code in (0, 1), result.output
    path = out / "conclusions" / "report.json"
    return json.loads(path.read_text(encoding="utf-8")), out, result.exit_code


def test_each_sample_gets_the_status_returned_md_promises(
    collected: tuple[dict[str, object], int],
) -> None:
    """Protects the demo's promise: every file in samples/returned/ is in RETURNED.md and in
    report.json, with the status RETURNED.md gives it, and collect exits as those call for."""
    report, exit_code = collected
    promises = check.promised(RETURNED_MD.read_text(encoding="utf-8"))
    present = {str(p.relative_to(RETURNED)) for p in RETURNED.rglob("*") if not p.is_dir()}
    assert check.differences(promises, check.reported(report, RETURNED), present) == []
    assert exit_code == check.expected_exit_code(promises)


def test_each_sample_checkin_gets_the_status_checkins_md_promises(
    concluded: tuple[dict[str, object], Path, int], tmp_path: Path
) -> None:
    """The demo's check-in step: the check-in forms generated anew from the round collected
    with its conclusions (the agreed agreements) take the committed samples/checkins/ as
    CHECKINS.md promises (a check-in is signed over its agreements, so remade conclusions
    need remade check-ins)."""
    key = concluded[1].parent / "demo.key"
    out = tmp_path / "results"  # a copy: the round the other tests look at stays as it was
    shutil.copytree(concluded[1], out)
    forms = tmp_path / "forms" / "2026-opfoelgning"
    made = CliRunner().invoke(
        cli,
        ["generate", "--followup", str(out), "--out", str(forms), "--key-file", str(key)],
    )
    assert made.exit_code == 0, made.output
    result = CliRunner().invoke(
        cli,
        [
            *("collect", str(CHECKINS), "--forms", str(forms), "--out", str(out)),
            *("--key-file", str(key), "--workers", "1"),
        ],
    )
    report = json.loads((out / "checkins" / "report.json").read_text(encoding="utf-8"))
    promises = check.promised((SAMPLES / "CHECKINS.md").read_text(encoding="utf-8"))
    present = {str(p.relative_to(CHECKINS)) for p in CHECKINS.rglob("*") if not p.is_dir()}
    assert check.differences(promises, check.reported(report, CHECKINS), present) == []
    assert result.exit_code == check.expected_exit_code(promises), result.output


def test_each_sample_conclusion_gets_the_status_konklusion_md_promises(
    concluded: tuple[dict[str, object], Path, int],
) -> None:
    """Protects the demo's conclusion step: every file in samples/konklusion/ is in
    KONKLUSION.md and in conclusions/report.json with the status promised (a conclusion is
    signed over the preparation it shows, so remade sample returns need remade conclusions),
    and the follow-up list holds the agreed agreements of those approved."""
    report, out, exit_code = concluded
    promises = check.promised(CONCLUDED_MD.read_text(encoding="utf-8"))
    present = {p.name for p in CONCLUDED.iterdir()}
    assert check.differences(promises, check.reported(report, CONCLUDED), present) == []
    assert exit_code == check.expected_exit_code(promises)
    basis = {}
    for line in (out / "agreements.csv").read_text(encoding="utf-8-sig").splitlines()[1:]:
        cells = line.split(";")
        basis.setdefault(cells[0], set()).add(cells[-1])
    assert basis["1042"] == basis["1045"] == {"Aftalt 21-01-2027"}
    assert basis["1043"] == {"Konklusion ikke godkendt"}


# --- the check itself can fail ------------------------------------------------------------

TABLE = """# What is in samples/returned/

| file | what it is | status |
| --- | --- | --- |
| a.pdf | 1042 filled | ok |
| b.docx | a Word-made form | not_musforms |
"""


def test_the_table_is_read() -> None:
    assert check.promised(TABLE) == {"a.pdf": "ok", "b.docx": "not_musforms"}
    assert check.expected_exit_code({"a.pdf": "ok"}) == 0
    assert check.expected_exit_code({"a.pdf": "ok", "b.docx": "not_musforms"}) == 1


@pytest.mark.parametrize(
    ("statuses", "present", "says"),
    [
        ({"a.pdf": "recovered", "b.docx": "not_musforms"}, None, "a.pdf: RETURNED.md promises ok"),
        ({"a.pdf": "ok"}, None, "b.docx: RETURNED.md promises not_musforms, but the report"),
        (
            {"a.pdf": "ok", "b.docx": "not_musforms", "c.pdf": "ok"},
            None,
            "c.pdf: collected as ok, but RETURNED.md does not list it",
        ),
        (
            {"a.pdf": "ok", "b.docx": "not_musforms"},
            {"a.pdf", "b.docx", "d.txt"},
            "d.txt: in the folder",
        ),
    ],
    ids=["status differs", "not in the report", "not in the table", "only in the folder"],
)
def test_a_difference_is_named(
    statuses: dict[str, str], present: set[str] | None, says: str
) -> None:
    """The check fails on each kind of difference, and says which file and how."""
    found = check.differences(check.promised(TABLE), statuses, present)
    assert len(found) == 1 and found[0].startswith(says), found


@pytest.mark.parametrize(
    ("table", "says"),
    [
        ("no table here", "no table"),
        (TABLE.replace("| status |", "| state |"), "no 'file' and 'status' columns"),
        (TABLE.replace("| ok |", "| fine |"), "'fine' is not a status"),
        (TABLE + "| a.pdf | again | ok |\n", "a.pdf is in the table twice"),
        (TABLE + "| c.pdf | ok |\n", "row 5 has 2 cells"),
    ],
)
def test_a_table_that_promises_nothing_clear_is_refused(table: str, says: str) -> None:
    with pytest.raises(check.TableError, match=says):
        check.promised(table)


def test_the_script_fails_on_a_broken_promise(
    collected: tuple[dict[str, object], int], tmp_path: Path
) -> None:
    """The demo's step, on the report collected above: the script exits 0 when the table
    promises what collect gave, and 1 when one promised status or the exit code differs."""
    report, exit_code = collected
    path = tmp_path / "report.json"
    path.write_text(json.dumps(report), encoding="utf-8")
    statuses = check.reported(report, RETURNED)

    def table(changed: str | None = None) -> Path:
        rows = [
            f"| {name} | a sample | {'rejected' if name == changed else status} |"
            for name, status in sorted(statuses.items())
        ]
        out = tmp_path / f"RETURNED-{changed or 'as-collected'}.md"
        head = ["| file | what it is | status |", "| --- | --- | --- |"]
        out.write_text("\n".join([*head, *rows]) + "\n", encoding="utf-8")
        return out

    ok = next(name for name, status in sorted(statuses.items()) if status == "ok")
    argv = ["--folder", str(RETURNED), "--exit-code", str(exit_code)]
    assert check.main([str(table()), str(path), *argv]) == 0
    assert check.main([str(table(ok)), str(path), *argv]) == 1
    assert check.main([str(table()), str(path), "--folder", str(RETURNED), "--exit-code", "0"]) == 1
