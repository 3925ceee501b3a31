"""The HR officer's first hour: what the commands say and write is right and reads well.

The minutes keep each form's language when drafted again from the results folder alone,
and say "Ikke besvaret" / "Not answered" where a question was left open; file names of
names in other scripts are readable; purge takes Danish answers and the roster's dates;
counts take their nouns in the right number.
"""

from __future__ import annotations

import shutil
import tomllib
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner
from docx import Document

from musforms.cli import cli
from musforms.collect import collect
from musforms.files import slug
from musforms.generate import form_basename, generate
from musforms.models import Employee
from musforms.wording import counted
from tests.clients.pdf import fill_pdfium
from tests.conftest import EVERY_TYPE

ROOT = Path(__file__).resolve().parent.parent


def _text(docx: Path) -> str:
    doc = Document(str(docx))
    parts = [p.text for p in doc.paragraphs]
    for table in doc.tables:
        parts += [cell.text for row in table.rows for cell in row.cells]
    return "\n".join(parts)


@pytest.fixture
def round_collected(tmp_path: Path) -> Path:
    """A round of two, one form in Danish and one in English, each returned from PDFium with
    only 'lykkedes' answered (the checkbox left unticked, the rest open); collected."""
    questions = tmp_path / "questions.yaml"
    every = dict(EVERY_TYPE, languages=["da", "en"])
    questions.write_text(yaml.safe_dump(every, allow_unicode=True), encoding="utf-8")
    roster = tmp_path / "roster.csv"
    roster.write_text("id;navn;sprog\n1;Søren Ærø;da\n2;Мария Иванова;en\n", encoding="utf-8")
    forms = tmp_path / "forms" / "2026"
    generate(questions, roster, forms, "2026", formats=["pdf"], workers=1)
    returned = tmp_path / "returned"
    returned.mkdir()
    for pdf in sorted(forms.glob("*.pdf")):
        fill_pdfium(pdf, returned / pdf.name, {"lykkedes": "Flere kunder, æøå og ĄĘŁ"})
    out = tmp_path / "results" / "2026"
    collect([returned], forms, out)
    return out


@pytest.mark.parametrize("fast", ["1", "0"], ids=["fast-path", "docxtpl"])
def test_minutes_drafted_again_from_the_results_alone_keep_each_forms_language(
    round_collected: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fast: str
) -> None:
    """`musforms minutes results/2026`, as the README says, with the forms folder out of
    reach: the English employee's minutes stay English, the Danish one's Danish. Unanswered
    questions say so in the form's language, an unticked box still says No/Nej; both with
    the fast path and with docxtpl alone."""
    monkeypatch.setenv("MUSFORMS_FAST_PATHS", fast)
    shutil.move(tmp_path / "forms", tmp_path / "elsewhere")
    for draft in (round_collected / "minutes").glob("*.docx"):
        draft.unlink()
    result = CliRunner().invoke(cli, ["minutes", str(round_collected)])
    assert result.exit_code == 0, result.output
    assert "Minutes: 2 drafts in" in result.stdout
    danish = _text(round_collected / "minutes" / "1-soeren-aeroe.docx")
    english = _text(round_collected / "minutes" / "2-mariya-ivanova.docx")
    assert "What went well?" in english and "Hvad er du lykkedes godt med?" not in english
    assert "Hvad er du lykkedes godt med?" in danish
    assert "Flere kunder, æøå og ĄĘŁ" in danish and "Flere kunder, æøå og ĄĘŁ" in english
    assert "Not answered" in english and "Ikke besvaret" not in english
    assert "Ikke besvaret" in danish and "Not answered" not in danish
    # Six questions left open (text, scale, choice, multichoice, date, and the checkbox is
    # not among them: unticked is an answer, "Nej").
    assert danish.count("Ikke besvaret") == english.count("Not answered") == 5
    assert "\nNej\n" in f"\n{danish}\n" and "\nNo\n" in f"\n{english}\n"


def test_the_response_json_records_the_forms_language(round_collected: Path) -> None:
    import json

    languages = {
        p.name: json.loads(p.read_text(encoding="utf-8"))["form"]["language"]
        for p in (round_collected / "responses").glob("*.json")
    }
    assert languages == {"1.json": "da", "2.json": "en"}


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("Søren Ærø", "2003-soeren-aeroe"),  # Danish: the Danish way, not "soren-aero"
        ("Åse Østergård", "2003-aase-oestergaard"),
        ("Мария Иванова", "2003-mariya-ivanova"),  # Cyrillic
        ("Νίκος Παπαδόπουλος", "2003-nikos-papadopoylos"),  # Greek
        ("ليلى حداد", "2003-lyla-hdd"),  # Arabic (no vowels written, none made up)
        ("王小明", "2003-wangxiaoming"),  # Chinese
        ("Zofia Żółkiewska", "2003-zofia-zolkiewska"),  # Polish
        ("🙂", "2003-slight-smile"),  # anyascii names an emoji by its short name
        ("\u200b", "2003-x"),  # nothing to write: still a name
    ],
)
def test_names_in_every_script_give_readable_file_names(name: str, expected: str) -> None:
    assert form_basename(Employee(id="2003", name=name)) == expected


def test_two_names_that_read_the_same_still_get_a_file_each(tmp_path: Path) -> None:
    """Names that come out alike (the digest rule of ids keeps ids apart; the name part may
    repeat): each form is its own file, named by the id."""
    questions = tmp_path / "questions.yaml"
    questions.write_text(yaml.safe_dump(EVERY_TYPE, allow_unicode=True), encoding="utf-8")
    roster = tmp_path / "roster.csv"
    roster.write_text("id;navn\n7;Иван\n7/;Ivan\n../7;Иван\n", encoding="utf-8")
    forms = tmp_path / "forms"
    generate(questions, roster, forms, "2026", formats=["pdf"], workers=1)
    names = sorted(p.name for p in forms.glob("*.pdf"))
    assert len(names) == 3
    assert "7-ivan.pdf" in names
    assert all(n.endswith("-ivan.pdf") for n in names)
    assert slug("Иван") == "ivan"


def test_check_says_whose_advice_it_is_without_jargon() -> None:
    from musforms.questionset import lint, load_question_set

    qs = load_question_set(ROOT / "musforms" / "sets" / "standard.yaml")
    big = qs.model_copy(deep=True)
    section = big.sections[0]
    many = [section.questions[0].model_copy(update={"id": f"q{i}"}) for i in range(60)]
    big = big.model_copy(update={"sections": [section.model_copy(update={"questions": many})]})
    text = " ".join(lint(big))
    assert "seeds" not in text
    assert "the advice HR departments give from their own rounds" in text


@pytest.mark.parametrize(("n", "text"), [(0, "0 forms"), (1, "1 form"), (2, "2 forms")])
def test_counts_take_their_noun_in_the_right_number(n: int, text: str) -> None:
    assert counted(n, "form", "forms") == text


def test_generate_of_one_says_one_form(tmp_path: Path) -> None:
    questions = tmp_path / "questions.yaml"
    questions.write_text(yaml.safe_dump(EVERY_TYPE, allow_unicode=True), encoding="utf-8")
    roster = tmp_path / "roster.csv"
    roster.write_text("id;navn\n1;Søren Ærø\n", encoding="utf-8")
    result = CliRunner().invoke(cli, [
        "generate", "-q", str(questions), "-r", str(roster), "-o", str(tmp_path / "forms"),
        "--cycle", "2026", "--format", "pdf", "--workers", "1",
    ])  # fmt: skip
    assert result.exit_code == 0, result.output
    assert f"Wrote 1 form (PDF) to {tmp_path / 'forms'}" in result.stdout
    assert "1 forms" not in result.stdout


def test_the_license_is_an_spdx_string_and_anyascii_a_dependency() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    assert project["license"] == "MIT"
    assert any(d.startswith("anyascii") for d in project["dependencies"])


def test_send_of_one_says_one_invitation_and_one_draft(tmp_path: Path) -> None:
    from tests.test_send import _round

    forms = _round(tmp_path, 1)
    result = CliRunner().invoke(cli, [
        "send", str(forms), "--drafts", str(tmp_path / "outbox"), "--from", "hr@example.dk",
        "--deadline", "15-12-2026",
    ])  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "1 invitation from hr@example.dk into" in result.stdout
    assert f"Wrote 1 draft to {tmp_path / 'outbox'}." in result.stdout
    assert "1 invitations" not in result.stdout and "1 drafts" not in result.stdout


@pytest.mark.parametrize("redrafted", [False, True], ids=["unchanged", "drafted-again"])
def test_a_draft_under_the_name_earlier_versions_gave_it_is_replaced_not_kept_beside(
    round_collected: Path, redrafted: bool
) -> None:
    """Minutes drafted before names in other scripts were transliterated are called
    "2-x.docx"; drafting again leaves the employee one draft, under the new name."""
    minutes = round_collected / "minutes"
    new = minutes / "2-mariya-ivanova.docx"
    old = minutes / "2-x.docx"
    shutil.copy(new, old)
    if redrafted:
        new.unlink()
    result = CliRunner().invoke(cli, ["minutes", str(round_collected)])
    assert result.exit_code == 0, result.output
    assert new.is_file() and not old.exists()
    assert sorted(p.name for p in minutes.glob("*.docx")) == [
        "1-soeren-aeroe.docx",
        "2-mariya-ivanova.docx",
    ]
