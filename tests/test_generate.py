"""generate: one form per employee and format, a manifest that only grows, clear refusals."""

from __future__ import annotations

import datetime as dt
import json
import stat
import tempfile
import tracemalloc
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from musforms.cli import cli
from musforms.errors import ConfigError
from musforms.files import TMP_FOLDER
from musforms.generate import _Renderer, generate
from musforms.manifest import (
    Manifest,
    ManifestForm,
    load_manifest,
    load_organisation,
    save_manifest,
)
from musforms.models import Agreement, Employee

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
    assert result.count == 2
    assert len({f["form_id"] for f in manifest["forms"]}) == 2


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


def _whole_dump(manifest: Manifest) -> str:
    """manifest.json as the whole model dumped at once would read."""
    data = manifest.model_dump(mode="json", by_alias=True, exclude_none=True)
    return json.dumps(data, ensure_ascii=False, indent=2) + "\n"


def test_manifest_is_the_merge_of_the_earlier_one_and_this_run(tmp_path: Path) -> None:
    """A second run keeps the earlier forms in their order, puts each re-issued form in its
    employee's place and adds new employees after them in roster order: the text is what
    ``Manifest.merge`` and one ``json.dumps`` of the whole manifest give."""
    out = tmp_path / "forms"
    first = _roster(
        tmp_path,
        "id;navn;e-mail;afdeling;leder;mødedato;sprog\r\n"
        "1;Søren Ærø;soeren@eksempel.example;Økonomi;Åse;14-01-2027;da\r\n"
        "2;Zoë Ñúñez;;IT;;;en\r\n"
        '3;Jens "Bøf" Møller;;;;;\r\n',
    )
    generate(QUESTIONS, first, out, "2026", formats=["pdf"], workers=1)
    earlier = load_manifest(out)
    assert (out / "manifest.json").read_text(encoding="utf-8") == _whole_dump(earlier)

    second = _roster(
        tmp_path, "id;navn;afdeling\r\n3;Jens Møller;Løn\r\n4;Ny Ansat;IT\r\n2;Zoë;IT\r\n"
    )
    generate(QUESTIONS, second, out, "2026", formats=["pdf", "docx"], workers=1)
    text = (out / "manifest.json").read_text(encoding="utf-8")
    after = load_manifest(out)
    assert [f.employee_id for f in after.forms] == ["1", "2", "3", "4"]
    issued = {f.employee_id: f for f in after.forms}
    assert issued["1"] == earlier.forms[0]  # not on the second roster: untouched
    assert issued["3"].employee.name == "Jens Møller"
    assert issued["3"].files == {"pdf": "3-jens-moeller.pdf", "docx": "3-jens-moeller.docx"}
    earlier.merge([issued["3"], issued["4"], issued["2"]])
    assert text == _whole_dump(earlier)


def test_an_employee_listed_twice_is_replaced_where_they_stand_last(tmp_path: Path) -> None:
    """A hand-edited manifest listing an employee twice: the re-issued form takes the last
    place, as ``Manifest.merge`` has it, and the first stays as it was."""
    out = tmp_path / "forms"
    generate(QUESTIONS, _roster(tmp_path), out, "2026", formats=["pdf"], workers=1)
    edited = load_manifest(out)
    edited.forms.append(edited.forms[0])
    save_manifest(out, edited)
    generate(QUESTIONS, _roster(tmp_path, "id;navn\r\n1;Søren Ærø Hansen\r\n"), out, "2026",
             formats=["pdf"], workers=1)  # fmt: skip
    after = load_manifest(out)
    assert [f.employee_id for f in after.forms] == ["1", "2", "1"]
    assert after.forms[:2] == edited.forms[:2]
    assert after.forms[2].employee.name == "Søren Ærø Hansen"
    edited.merge([after.forms[2]])
    assert (out / "manifest.json").read_text(encoding="utf-8") == _whole_dump(edited)


def test_a_damaged_earlier_manifest_stops_the_run_before_any_form(tmp_path: Path) -> None:
    """A form in the earlier manifest that cannot be read is found before new forms are
    written, and the earlier manifest is left as it was."""
    out = tmp_path / "forms"
    generate(QUESTIONS, _roster(tmp_path), out, "2026", formats=["pdf"], workers=1)
    data = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    data["forms"].append({"form_id": "x"})
    (out / "manifest.json").write_text(json.dumps(data), encoding="utf-8")
    before = (out / "manifest.json").read_bytes()
    later = _roster(tmp_path, "id;navn\r\n7;Ny Ansat\r\n")
    with pytest.raises(ConfigError, match=r"manifest\.json is damaged: form 3 cannot be read"):
        generate(QUESTIONS, later, out, "2026", formats=["pdf"], workers=1)
    assert not list(out.glob("7-*"))
    assert (out / "manifest.json").read_bytes() == before


def test_carried_agreements_reach_their_employees_forms(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Last round's open agreements go into the manifest entry of the employee they belong
    to; employees without any, and agreements of people no longer on the roster, carry none."""
    kursus = Agreement(what="Kursus i Excel", owner="Åse", due=dt.date(2026, 6, 1))
    mentor = Agreement(what="Mentorordning")

    def carried(
        results: Path, basis: object = None, tally: object = None
    ) -> Iterator[tuple[str, list[Agreement]]]:
        assert results == tmp_path / "results"
        yield "9", [mentor]
        yield "2", [kursus, mentor]

    monkeypatch.setattr("musforms.previous.iter_open_agreements", carried)
    out = tmp_path / "forms"
    generate(QUESTIONS, _roster(tmp_path), out, "2027", formats=["pdf"],
             previous=tmp_path / "results", workers=1)  # fmt: skip
    forms = {f.employee_id: f for f in load_manifest(out).forms}
    assert forms["1"].previous_agreements == []
    assert forms["2"].previous_agreements == [kursus, mentor]


def _spool_folders(tmp: Path) -> list[Path]:
    return sorted(tmp.glob("musforms-*"))


def _in_space(folder: Path) -> list[Path]:
    """The forms folder's private space, and the scratch folders in it."""
    space = folder / TMP_FOLDER
    return [space, *_spool_folders(space)] if space.is_dir() else []


@pytest.fixture
def spool_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A folder of its own for temporary files, to see what generate leaves there."""
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(tmp))
    return tmp


def test_the_spool_is_private_and_removed_after_the_run(
    tmp_path: Path, spool_tmp: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """While forms are rendered, the roster waits in a folder only this user can open, in
    the forms folder's private space (not in TMPDIR); both are gone when generate returns."""
    seen: list[int] = []
    render = _Renderer.render
    out = tmp_path / "forms"

    def watching(
        self: _Renderer, employee: Employee, previous: Any, of_form: str | None = None
    ) -> ManifestForm:
        seen.extend(stat.S_IMODE(p.stat().st_mode) for p in _in_space(out))
        seen.extend(stat.S_IMODE(p.stat().st_mode) for p in _spool_folders(spool_tmp))
        return render(self, employee, previous, of_form)

    monkeypatch.setattr(_Renderer, "render", watching)
    generate(QUESTIONS, _roster(tmp_path), out, "2026", formats=["pdf"], workers=1)
    assert seen == [0o700] * 4  # the space and the spool's folder, for each of two employees
    assert list(spool_tmp.iterdir()) == []
    assert not (out / TMP_FOLDER).exists()


@pytest.mark.parametrize("workers", [1, 2])
def test_the_spool_is_removed_when_rendering_fails(
    tmp_path: Path, spool_tmp: Path, workers: int
) -> None:
    """A form that cannot be written stops the run, in one process or in a pool (whose
    workers are started apart from this process, so the fault is a real one: a folder where
    a form's file should go); the spool goes, and no manifest is written."""
    rows = "id;navn\r\n" + "".join(f"{i};Person {i}\r\n" for i in range(1, 31))
    out = tmp_path / "forms"
    (out / "7-person-7.pdf").mkdir(parents=True)
    with pytest.raises(IsADirectoryError):
        generate(QUESTIONS, _roster(tmp_path, rows), out, "2026", formats=["pdf"],
                 workers=workers)  # fmt: skip
    # multiprocessing's own folder for its server's socket (pymp-…) holds nothing of ours.
    assert [p for p in spool_tmp.iterdir() if not p.name.startswith("pymp-")] == []
    assert not (out / "manifest.json").exists()


def test_the_spool_is_removed_when_the_roster_is_refused(tmp_path: Path, spool_tmp: Path) -> None:
    with pytest.raises(ConfigError, match="row 3: employee id '1' is also on row 2"):
        generate(QUESTIONS, _roster(tmp_path, "id;navn\r\n1;A\r\n1;B\r\n"), tmp_path / "forms",
                 "2026")  # fmt: skip
    assert list(spool_tmp.iterdir()) == []
    assert not (tmp_path / "forms").exists()


def test_memory_does_not_grow_with_the_roster(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Reading the roster, keeping what was issued and writing the manifest, in a new folder
    or over an earlier manifest, hold no more memory for 2,500 employees than for 200
    (rendering itself is left out: it is the same for every form)."""

    def cheap(
        self: _Renderer, employee: Employee, previous: Any, of_form: str | None = None
    ) -> ManifestForm:
        return ManifestForm(
            form_id=f"f-{employee.id}",
            employee_id=employee.id,
            files={"pdf": f"{employee.id}.pdf"},
            employee=employee,
            question_set_digest=self.job.qs_digest,
            language="da",
            previous_agreements=list(previous),
        )

    monkeypatch.setattr(_Renderer, "render", cheap)

    def peak(n: int) -> int:
        rows = "id;navn;e-mail;afdeling;leder;mødedato\r\n" + "".join(
            f"{i};Person Ærøsen {i};person{i}@kommune.example;Økonomi;Åse Østergård;14-01-2027\r\n"
            for i in range(1000, 1000 + n)
        )
        roster = _roster(tmp_path, rows)
        tracemalloc.reset_peak()
        before = tracemalloc.get_traced_memory()[0]
        for _ in range(2):  # a new folder, then every form issued again over its manifest
            generate(QUESTIONS, roster, tmp_path / f"forms{n}", "2026", formats=["pdf"], workers=1)
        return tracemalloc.get_traced_memory()[1] - before

    tracemalloc.start()
    try:
        peak(50)  # imports and first-use caches
        small, large = peak(200), peak(2500)
    finally:
        tracemalloc.stop()
    assert large - small < 512 * 1024, (small, large)
    assert len(load_manifest(tmp_path / "forms2500").forms) == 2500
