"""musforms.toml: found beside the question set, every problem with file and line."""

from __future__ import annotations

from pathlib import Path

import pytest

from musforms.errors import ConfigError
from musforms.models import Organisation
from musforms.settings import load_settings

REPO = Path(__file__).parent.parent
# A 1×1 PNG is enough for a logo that exists.
PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082"
)


def test_no_file_gives_defaults(tmp_path: Path) -> None:
    assert load_settings(near=tmp_path / "questions.yaml") == Organisation()
    assert load_settings() == Organisation()


def test_found_beside_the_question_set_with_relative_logo(tmp_path: Path) -> None:
    (tmp_path / "logo.png").write_bytes(PNG)
    (tmp_path / "musforms.toml").write_text(
        '# kommentar\norganisation = "Ærø Kommune"\nlogo = "logo.png"\n'
        'default_language = "en"\nfollowup_months = 4\nretention_months = 24\n',
        encoding="utf-8",
    )
    org = load_settings(near=tmp_path / "questions.yaml")
    assert org == Organisation(
        name="Ærø Kommune",
        logo=str((tmp_path / "logo.png").resolve()),
        default_language="en",
        followup_months=4,
        retention_months=24,
    )


def test_repo_config() -> None:
    org = load_settings(near=REPO / "config" / "questions.yaml")
    assert org.name == "Eksempel Kommune"


def test_every_problem_names_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "musforms.toml"
    path.write_text(
        'organisation = "X"\n\nlogo = "mangler.png"\nfollowup_monhts = 3\n'
        'default_language = "sv"\n[farver]\nblaa = 1\n',
        encoding="utf-8",
    )
    with pytest.raises(ConfigError) as info:
        load_settings(path)
    lines = str(info.value).splitlines()
    assert lines[0].startswith(f"{path}, line 3: logo 'mangler.png' not found (looked for ")
    assert lines[1:] == [
        f"{path}, line 4: unknown key 'followup_monhts'; did you mean 'followup_months'?",
        f"{path}, line 5: default_language: should be 'da' or 'en'",
        f"{path}, line 6: unknown key 'farver'; the keys are organisation, logo, "
        "default_language, followup_months, retention_months, anonymity_min",
    ]


def test_toml_syntax_error(tmp_path: Path) -> None:
    path = tmp_path / "musforms.toml"
    path.write_text("\norganisation = Eksempel Kommune\n", encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_settings(path)
    assert str(info.value).startswith(f"{path}, line 2: TOML syntax error: ")
    assert 'organisation is a text, written in quotes: organisation = "Eksempel Kommune"' in str(
        info.value
    )


def test_given_file_must_exist(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"x\.toml: file not found"):
        load_settings(tmp_path / "x.toml")


@pytest.mark.parametrize(
    ("line", "message"),
    [
        # A bare word is a TOML syntax error: the hint is about the number, not about quotes.
        (
            "followup_months = tre",
            "TOML syntax error: Invalid value (followup_months is a number of months, written "
            "as digits without quotes: followup_months = 3)",
        ),
        ('followup_months = "tre"', "followup_months: should be a number of months, e.g. "
         "followup_months = 3"),
        ("retention_months = 2.5", "retention_months: should be a number of months, e.g. "
         "retention_months = 36"),
        ("followup_months = 0", "followup_months: should be greater than or equal to 1"),
    ],
)  # fmt: skip
def test_a_number_of_months_that_is_not_one_gets_the_number_hint(
    tmp_path: Path, line: str, message: str
) -> None:
    path = tmp_path / "musforms.toml"
    path.write_text(f'organisation = "Eksempel Kommune"\n{line}\n', encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_settings(path)
    assert str(info.value) == f"{path}, line 2: {message}"
    assert "organisation =" not in str(info.value)
