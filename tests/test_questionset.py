"""Question sets: every error one line with file and line, lint advice, the built-in sets."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner

from musforms.cli import cli
from musforms.errors import ConfigError
from musforms.models import QuestionSet
from musforms.questionset import (
    MAX_MINUTES,
    MAX_QUESTIONS,
    builtin_description,
    builtin_sets,
    estimate_minutes,
    lint,
    load_question_set,
    resolve_question_set,
)

BROKEN = Path(__file__).parent / "data" / "broken_sets"
REPO = Path(__file__).parent.parent

# file → (line, message after "<file>, line <n>: ")
BROKEN_SETS = {
    "syntax_error.yaml": (
        15,
        "YAML syntax error: a key without ':' after it; write it as 'key: value'",
    ),
    "unknown_key.yaml": (
        11,
        "question 'lykkedes' (section 'status'): unknown key 'lable'; did you mean 'label'?",
    ),
    "duplicate_id.yaml": (
        15,
        "question 'lykkedes' (section 'trivsel'): the id 'lykkedes' is already used in section "
        "'status'; every question needs its own id",
    ),
    "unknown_type.yaml": (
        10,
        "question 'lykkedes' (section 'status'): unknown type 'paragraph'; the types are text, "
        "textarea, scale, choice, multichoice, checkbox, date, agreements",
    ),
    "scale_min_above_max.yaml": (
        12,
        "question 'trivsel' (section 'status'): scale min (5) is above max (1)",
    ),
    "choice_without_options.yaml": (
        12,
        "question 'fokus' (section 'status'): a choice question needs 'options'",
    ),
    "non_ascii_id.yaml": (
        9,
        "question 'aerø' (section 'status'): id 'aerø' may only use a-z, 0-9 and _ (try 'aeroe')",
    ),
    "empty.yaml": (
        1,
        "the file is empty; start from a built-in set (musforms init) or copy one with "
        "musforms sets",
    ),
    "duplicate_yaml_key.yaml": (
        12,
        "key 'label' appears twice here (first on line 11); only one can count — remove or "
        "rename one",
    ),
}


def clean_set() -> dict[str, Any]:
    """A small valid set, in both languages, with an agreements question: no warnings."""
    return {
        "musforms": 1,
        "id": "lille",
        "version": "1",
        "title": {"da": "Forberedelse", "en": "Preparation"},
        "sections": [
            {
                "id": "status",
                "title": {"da": "Status", "en": "Status"},
                "questions": [
                    {
                        "id": "trivsel",
                        "type": "scale",
                        "label": {"da": "Trivsel", "en": "Wellbeing"},
                        "scale": {"min": 1, "max": 5, "labels": {1: {"da": "Lav", "en": "Low"}}},
                    },
                    {
                        "id": "aftaler",
                        "type": "agreements",
                        "label": {"da": "Aftaler", "en": "Agreements"},
                    },
                ],
            }
        ],
    }


def write_set(tmp_path: Path, data: dict[str, Any] | str, name: str = "questions.yaml") -> Path:
    path = tmp_path / name
    text = data if isinstance(data, str) else yaml.safe_dump(data, allow_unicode=True)
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize("name", sorted(BROKEN_SETS))
def test_broken_set_gives_one_line_with_file_and_line(name: str) -> None:
    """Each broken set: exit 1, exactly one 'Error: <file>, line <n>: …' line, no traceback."""
    path = BROKEN / name
    line, message = BROKEN_SETS[name]
    result = CliRunner().invoke(cli, ["check", str(path)])
    assert result.exit_code == 1, result.output
    assert result.stderr == f"Error: {path}, line {line}: {message}\n"
    assert result.stdout == ""
    assert "Traceback" not in result.output
    assert isinstance(result.exception, SystemExit)


def test_every_broken_set_in_the_folder_is_tested() -> None:
    """A broken set added to the folder without an expected message fails here."""
    assert sorted(p.name for p in BROKEN.glob("*.yaml")) == sorted(BROKEN_SETS)


def test_all_problems_are_reported_at_once_in_line_order(tmp_path: Path) -> None:
    """Several mistakes in one file: one line each, sorted by line, each with file and line."""
    data = clean_set()
    questions = data["sections"][0]["questions"]
    questions[0]["typ"] = "scale"
    questions[1]["type"] = "agreement"
    questions.append({"id": "Fokus", "type": "text", "label": "Fokus"})
    data["sections"].append({"id": "tom", "title": "Tom", "questions": []})
    path = write_set(tmp_path, data)
    with pytest.raises(ConfigError) as info:
        load_question_set(path)
    lines = str(info.value).splitlines()
    assert len(lines) == 4, lines
    assert all(line.startswith(f"{path}, line ") for line in lines)
    numbers = [int(line.split(", line ")[1].split(":")[0]) for line in lines]
    assert numbers == sorted(numbers)
    text = str(info.value)
    assert "unknown key 'typ'; did you mean 'type'?" in text
    assert "unknown type 'agreement' (did you mean 'agreements'?)" in text
    assert "id 'Fokus' may only use a-z, 0-9 and _ (try 'fokus')" in text
    assert "section 'tom': questions: needs at least one question" in text


@pytest.mark.parametrize(
    ("text", "line", "message"),
    [
        (
            "musforms: 1\ntitle: {da: Hvad gik godt?, en: What went well?}\n",
            2,
            "YAML syntax error: a text inside { … } or [ … ] contains a special character",
        ),
        ("musforms: 1\nsections:\n\t- id: a\n", 3, "YAML syntax error: a tab character"),
        (
            "musforms: 1\ntitle: Fokus: udvikling\n",
            2,
            "YAML syntax error: a ':' inside a text; put the text in double quotes",
        ),
        ('musforms: 1\ntitle: "Forberedelse\n', 2, 'a quote (") is opened but never closed'),
        ("# only a comment\n", 1, "the file is empty"),
        ("- musforms: 1\n", 1, "the file should start with keys like 'musforms: 1'"),
    ],
)
def test_yaml_mistakes_are_explained_in_plain_words(
    tmp_path: Path, text: str, line: int, message: str
) -> None:
    """YAML slips HR makes (a '?' or ':' in an unquoted text, tabs) name line and remedy."""
    path = write_set(tmp_path, text)
    with pytest.raises(ConfigError) as info:
        load_question_set(path)
    assert str(info.value).startswith(f"{path}, line {line}: ")
    assert message in str(info.value)
    assert "\n" not in str(info.value)


def test_yes_no_read_as_booleans_is_explained(tmp_path: Path) -> None:
    """An option id `no` is false in YAML; the message says to quote it."""
    data = clean_set()
    data["sections"][0]["questions"].append(
        {
            "id": "kursus",
            "type": "choice",
            "label": "Kursus?",
            "options": [{"id": "ja", "label": "Ja"}, {"id": "no", "label": "Nej"}],
        }
    )
    path = write_set(tmp_path, yaml.safe_dump(data).replace("id: 'no'", "id: no"))
    with pytest.raises(ConfigError) as info:
        load_question_set(path)
    assert "option number 2 of question 'kursus' (section 'status'): id: should be text, " in str(
        info.value
    )
    assert "put it in quotes" in str(info.value)


def test_missing_file_folder_and_not_utf8(tmp_path: Path) -> None:
    """File not found, a folder, and a file saved as cp1252 are each one readable line."""
    with pytest.raises(ConfigError, match=r"nope\.yaml: file not found$"):
        load_question_set(tmp_path / "nope.yaml")
    with pytest.raises(ConfigError, match="is a folder"):
        load_question_set(tmp_path)
    path = tmp_path / "ansi.yaml"
    path.write_bytes("musforms: 1\n\ntitle: Trivsel på Ærø\n".encode("cp1252"))
    with pytest.raises(ConfigError) as info:
        load_question_set(path)
    assert str(info.value).startswith(f"{path}, line 3: the file is not UTF-8 text")


def test_utf8_with_bom_loads(tmp_path: Path) -> None:
    """Notepad's 'UTF-8 with BOM' is fine."""
    path = tmp_path / "bom.yaml"
    path.write_bytes(b"\xef\xbb\xbf" + yaml.safe_dump(clean_set()).encode("utf-8"))
    assert load_question_set(path).id == "lille"


def test_duplicate_option_id_names_line_of_second(tmp_path: Path) -> None:
    text = (
        "musforms: 1\nid: a\nversion: '1'\ntitle: T\nsections:\n  - id: s\n    title: S\n"
        "    questions:\n      - id: fokus\n        type: choice\n        label: Fokus\n"
        "        options:\n          - {id: faglig, label: Faglig}\n"
        "          - {id: faglig, label: Også faglig}\n"
    )
    path = write_set(tmp_path, text)
    with pytest.raises(ConfigError) as info:
        load_question_set(path)
    assert str(info.value) == (
        f"{path}, line 14: question 'fokus' (section 's'): option id 'faglig' is used twice"
    )


# --- lint ------------------------------------------------------------------------------


def test_clean_set_has_no_warnings() -> None:
    assert lint(QuestionSet.model_validate(clean_set())) == []


def test_lint_too_many_questions() -> None:
    """Above 25 questions the warning says so and quotes the advice for short forms."""
    data = clean_set()
    data["sections"][0]["questions"] += [
        {"id": f"ok_{i}", "type": "checkbox", "label": {"da": "Ok", "en": "Ok"}}
        for i in range(MAX_QUESTIONS - 1)
    ]
    qs = QuestionSet.model_validate(data)
    assert len(qs.questions()) == MAX_QUESTIONS + 1
    assert estimate_minutes(qs) <= MAX_MINUTES
    [warning] = lint(qs)
    assert warning.startswith("26 questions is above 25: a short, focused form")
    assert "lad være med at være overambitiøse" in warning


def test_lint_too_long_to_fill_in() -> None:
    """Few questions but much writing: the estimate and how it is made are in the warning."""
    data = clean_set()
    data["sections"][0]["questions"] += [
        {"id": f"tekst_{i}", "type": "textarea", "label": {"da": "Skriv", "en": "Write"}}
        for i in range(14)
    ]
    qs = QuestionSet.model_validate(data)
    assert estimate_minutes(qs) == 32
    [warning] = lint(qs)
    assert warning.startswith("about 32 minutes to fill in is above 30 (minutes per question: ")
    assert "textarea 2" in warning


def test_lint_missing_language() -> None:
    data = clean_set()
    data["sections"][0]["questions"][0]["label"] = {"da": "Trivsel"}
    [warning] = lint(QuestionSet.model_validate(data))
    assert warning == "question 'trivsel' (section 'status'): no English (en) text on label"


def test_lint_missing_declared_language_on_options() -> None:
    """A declared language counts even where no label uses it."""
    data = clean_set()
    data["languages"] = ["da", "en"]
    data["sections"][0]["questions"].append(
        {
            "id": "fokus",
            "type": "choice",
            "label": {"da": "Fokus", "en": "Focus"},
            "options": [{"id": "a", "label": {"da": "A"}}, {"id": "b", "label": "B"}],
        }
    )
    assert lint(QuestionSet.model_validate(data)) == [
        "question 'fokus' (section 'status'): no English (en) text on option 'a'"
    ]


def test_lint_scale_label_outside_scale() -> None:
    data = clean_set()
    data["sections"][0]["questions"][0]["scale"]["labels"][7] = {"da": "Syv", "en": "Seven"}
    assert lint(QuestionSet.model_validate(data)) == [
        "question 'trivsel' (section 'status'): the scale label for 7 is outside the scale "
        "1–5 and will not be shown"
    ]


def test_lint_no_agreements_question() -> None:
    data = clean_set()
    data["sections"][0]["questions"].pop()
    [warning] = lint(QuestionSet.model_validate(data))
    assert warning.startswith("no agreements question: ")


def test_check_prints_warnings_and_exits_0(tmp_path: Path) -> None:
    data = clean_set()
    data["sections"][0]["questions"].pop()
    path = write_set(tmp_path, data)
    result = CliRunner().invoke(cli, ["check", str(path)])
    assert result.exit_code == 0
    assert result.stderr.startswith(f"Warning: {path}: no agreements question")
    assert result.stdout == "OK: Forberedelse — 1 section, 1 question, about 1 minutes\n"


# --- built-in sets ---------------------------------------------------------------------


def test_builtin_sets_are_the_three_the_conclusion_and_the_checkin() -> None:
    assert list(builtin_sets()) == ["standard", "kort", "leder", "konklusion", "opfoelgning"]


def test_conclusion_set_asks_what_a_conclusion_needs() -> None:
    """The built-in conclusion set asks each question musforms reads the conclusion by: one
    multi-line conclusion, an agreements table with room for 8, two ticks and two dates."""
    from musforms.conclusion import is_conclusion_set

    qs = load_question_set(builtin_sets()["konklusion"])
    assert is_conclusion_set(qs)
    types = {q.id: q.type for q in qs.questions()}
    assert types == {
        "konklusion": "textarea",
        "aftaler": "agreements",
        "godkendt_medarbejder": "checkbox",
        "dato_medarbejder": "date",
        "godkendt_leder": "checkbox",
        "dato_leder": "date",
    }
    assert qs.question("aftaler").rows == 8  # type: ignore[union-attr]
    assert not is_conclusion_set(load_question_set(builtin_sets()["standard"]))


@pytest.mark.parametrize("name", ["standard", "kort", "leder", "konklusion", "opfoelgning"])
def test_builtin_set_passes_check_without_warnings(name: str) -> None:
    result = CliRunner().invoke(cli, ["check", name])
    assert result.exit_code == 0, result.output
    assert result.stderr == ""
    assert result.stdout.startswith("OK: ")
    qs = load_question_set(builtin_sets()[name])
    assert qs.declared_languages() == ["da", "en"]
    # The check-in's agreements are the conversation's, put in by musforms.
    assert any(q.type == "agreements" for q in qs.questions()) is (name != "opfoelgning")
    assert builtin_description(name, "da") != builtin_description(name, "en")


def test_standard_set_uses_a_mix_of_types() -> None:
    """The full form shows what the format can do: every type but plain text."""
    qs = load_question_set(builtin_sets()["standard"])
    types = {q.type for q in qs.questions()}
    assert types >= {"textarea", "scale", "choice", "multichoice", "checkbox", "date", "agreements"}
    assert all(q.scale.labels for q in qs.questions() if q.scale)


def test_repo_config_is_a_clean_set() -> None:
    result = CliRunner().invoke(cli, ["check", str(REPO / "config" / "questions.yaml")])
    assert (result.exit_code, result.stderr) == (0, "")


def test_resolve_question_set(tmp_path: Path) -> None:
    """A file wins; a bare name is a built-in set; anything else is a clear error."""
    assert resolve_question_set("kort") == builtin_sets()["kort"]
    own = write_set(tmp_path, clean_set(), "kort")
    assert resolve_question_set(str(own)) == own
    with pytest.raises(ConfigError, match=r"^'lang' is neither a file nor a built-in"):
        resolve_question_set("lang")
    with pytest.raises(ConfigError, match=r"mine\.yaml: file not found"):
        resolve_question_set(str(tmp_path / "mine.yaml"))


def test_sets_lists_each_with_description() -> None:
    result = CliRunner().invoke(cli, ["sets", "--lang", "en"])
    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    assert [line.split()[0] for line in lines] == [
        "standard", "kort", "leder", "konklusion", "opfoelgning"
    ]  # fmt: skip
    assert lines[1].startswith("kort        The short form: energy and drains")
    assert lines[3].startswith("konklusion  The conclusion after the conversation")


# --- init ------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["standard", "kort", "leder"])
def test_init_output_passes_check(tmp_path: Path, name: str) -> None:
    """init writes a folder whose question set, settings and roster all check clean."""
    folder = tmp_path / "mus2026"
    runner = CliRunner()
    result = runner.invoke(cli, ["init", str(folder), "--set", name, "--organisation", "Ærø"])
    assert result.exit_code == 0, result.output
    questions = folder / "config" / "questions.yaml"
    assert questions.read_text(encoding="utf-8") == builtin_sets()[name].read_text("utf-8")
    assert questions.read_text(encoding="utf-8").startswith("# ")  # comments for HR
    assert (folder / "SÅDAN-GØR-DU.md").read_text(encoding="utf-8").startswith("# Sådan gør du")
    result = runner.invoke(cli, ["check", str(questions)])
    assert (result.exit_code, result.stderr) == (0, "")
    assert runner.invoke(cli, ["roster", str(folder / "roster.csv")]).exit_code == 0
    from musforms.settings import load_settings

    assert load_settings(near=questions).name == "Ærø"
    roster = (folder / "roster.csv").read_bytes()
    assert roster.startswith(b"\xef\xbb\xbfMedarbejdernr;Navn;") and b"\r\n" in roster


def test_init_refuses_to_overwrite_unless_forced(tmp_path: Path) -> None:
    runner = CliRunner()
    assert runner.invoke(cli, ["init", str(tmp_path)]).exit_code == 0
    roster = tmp_path / "roster.csv"
    mine = b"Medarbejdernr;Navn\r\n7;Min egen\r\n"
    roster.write_bytes(mine)
    result = runner.invoke(cli, ["init", str(tmp_path), "--set", "kort"])
    assert result.exit_code == 1
    assert "already exist; use --force to overwrite them" in result.stderr
    assert roster.read_bytes() == mine
    result = runner.invoke(cli, ["init", str(tmp_path), "--set", "kort", "--force"])
    assert result.exit_code == 0
    assert "Min egen" not in roster.read_text(encoding="utf-8")
    assert load_question_set(tmp_path / "config" / "questions.yaml").id == "mus-kort"


def test_init_unknown_set_is_a_usage_error(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["init", str(tmp_path), "--set", "lang"])
    assert result.exit_code == 2
    told = "'lang' is not a built-in set; choose standard, kort, leder, konklusion, opfoelgning"
    assert told in result.stderr
    assert not any(tmp_path.iterdir())
