"""generate: one form per employee and format, a manifest that only grows, clear refusals."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from musforms.cli import cli
from musforms.errors import ConfigError
from musforms.generate import generate
from musforms.manifest import load_manifest, load_organisation

ROOT = Path(__file__).resolve().parents[1]
QUESTIONS = ROOT / "config" / "questions.yaml"

ROSTER = (
    "id;navn;afdeling;leder;mødedato\r\n"
    "1;Søren Ærø;Økonomi;Åse;14-01-2027\r\n"
    "2;Zoë Ñúñez;IT;Bo;\r\n"
)


def _roster(tmp_path: Path, text: str = ROSTER) -> Path:
    path = tmp_path / "roster.csv"
    path.write_bytes(text.encode("utf-8-sig"))
    return path


def test_forms_manifest_and_question_set_copy(tmp_path: Path) -> None:
    """Each employee gets a PDF and a Word form; the manifest lists them with the set used."""
    out = tmp_path / "forms"
    result = generate(QUESTIONS, _roster(tmp_path), out, "2026")
    assert sorted(p.name for p in out.glob("*.pdf")) == ["1-soeren-aeroe.pdf", "2-zoe-nunez.pdf"]
    assert sorted(p.name for p in out.glob("*.docx")) == ["1-soeren-aeroe.docx", "2-zoe-nunez.docx"]
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["schema"] == "musforms/manifest/1" and manifest["cycle"] == "2026"
    assert manifest["question_set"]["file"] == "questions.yaml"
    assert (out / "questions.yaml").read_bytes() == QUESTIONS.read_bytes()
    assert [f["employee_id"] for f in manifest["forms"]] == ["1", "2"]
    assert manifest["forms"][0]["files"] == {
        "pdf": "1-soeren-aeroe.pdf",
        "docx": "1-soeren-aeroe.docx",
    }
    assert {f.form_id for f in result.forms} == {f["form_id"] for f in manifest["forms"]}


def test_settings_are_kept_beside_the_manifest(tmp_path: Path) -> None:
    """The organisation settings used are kept, so collect drafts minutes with them."""
    config = tmp_path / "config"
    config.mkdir()
    (config / "questions.yaml").write_bytes(QUESTIONS.read_bytes())
    (config / "musforms.toml").write_text('organisation = "Ærø Kommune"\nfollowup_months = 4\n')
    out = tmp_path / "forms"
    generate(config / "questions.yaml", _roster(tmp_path), out, "2026", formats=["pdf"])
    kept = load_organisation(out)
    assert kept is not None
    assert (kept.name, kept.followup_months) == ("Ærø Kommune", 4)


def test_running_again_adds_and_replaces_never_drops(tmp_path: Path) -> None:
    """A second run with a partial roster keeps everyone issued before."""
    out = tmp_path / "forms"
    generate(QUESTIONS, _roster(tmp_path), out, "2026", formats=["pdf"])
    later = _roster(tmp_path, "id;navn\r\n2;Zoë Ñúñez\r\n3;Ny Medarbejder\r\n")
    generate(QUESTIONS, later, out, "2026", formats=["pdf"])
    assert [f.employee_id for f in load_manifest(out).forms] == ["1", "2", "3"]


def test_another_round_in_the_same_folder_is_refused(tmp_path: Path) -> None:
    out = tmp_path / "forms"
    generate(QUESTIONS, _roster(tmp_path), out, "2026", formats=["docx"])
    with pytest.raises(ConfigError, match="round 2026, not 2027"):
        generate(QUESTIONS, _roster(tmp_path), out, "2027", formats=["docx"])


def test_key_among_the_forms_is_refused(tmp_path: Path) -> None:
    """The signing key never sits next to the forms that are emailed out."""
    out = tmp_path / "forms"
    with pytest.raises(ConfigError, match="signing key"):
        generate(QUESTIONS, _roster(tmp_path), out, "2026", key_file=out / "key")


def test_workers_do_not_change_the_forms(tmp_path: Path) -> None:
    """One process or a pool: the same forms with the same ids and the same field values."""
    from musforms.pdf.reader import read_pdf

    rows = "id;navn\r\n" + "".join(f"{i};Person {i} Ærø\r\n" for i in range(1, 31))
    roster = _roster(tmp_path, rows)
    one, two = tmp_path / "one", tmp_path / "two"
    generate(QUESTIONS, roster, one, "2026", formats=["pdf"], workers=1)
    generate(QUESTIONS, roster, two, "2026", formats=["pdf"], workers=2)
    assert load_manifest(one).model_dump() == load_manifest(two).model_dump()
    for pdf in sorted(one.glob("*.pdf")):
        assert read_pdf(pdf).fields == read_pdf(two / pdf.name).fields


def test_cli_generate_says_where_and_about_the_key(tmp_path: Path, key_file: Path) -> None:
    """The first run tells HR a key was made and that it must be backed up."""
    result = CliRunner().invoke(
        cli,
        [
            "generate",
            "-q",
            str(QUESTIONS),
            "-r",
            str(_roster(tmp_path)),
            "-o",
            str(tmp_path / "forms"),
            "--cycle",
            "2026",
            "--format",
            "pdf",
        ],
    )
    assert result.exit_code == 0, result.output
    assert "Wrote 2 forms (PDF)" in result.output
    assert "Back it up" in result.output and str(key_file) in result.output


def test_cli_unknown_format_is_one_clear_line(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        cli,
        ["generate", "-q", str(QUESTIONS), "-r", str(_roster(tmp_path)), "-o", str(tmp_path / "f"),
         "--cycle", "2026", "--format", "odt"],
    )  # fmt: skip
    assert result.exit_code == 1
    assert result.output.strip() == "Error: unknown format odt: use pdf, docx or pdf,docx"
