"""Large JSON files read one item at a time: the same values as parsing them whole."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from musforms.errors import ConfigError
from musforms.generate import generate
from musforms.jsonstream import head, items
from musforms.manifest import iter_manifest_forms, load_manifest, manifest_head

ROOT = Path(__file__).resolve().parents[1]
QUESTIONS = ROOT / "config" / "questions.yaml"

DOC = {
    "schema": "x/1",
    "files": [{"a": [1, {"b": "æøå"}], "n": None}, {"c": 2.5}],
    "cycle": "2026",
    "returned": ["1", "2"],
    "settings": {"id": "x", "n": [1, 2], "on": True},
    "empty": [],
}


def test_items_and_head_match_a_whole_parse(tmp_path: Path) -> None:
    path = tmp_path / "doc.json"
    path.write_text(json.dumps(DOC, ensure_ascii=False, indent=2), encoding="utf-8")
    assert list(items(path, "files.item", "a test file")) == DOC["files"]
    assert list(items(path, "returned.item", "a test file")) == DOC["returned"]
    assert head(path, "a test file", skip=("files", "returned")) == {
        "schema": "x/1",
        "cycle": "2026",
        "settings": DOC["settings"],
        "empty": [],
    }


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ('{"files": [{"a": 1},', "it ends too early, as if cut off"),
        ("", "it ends too early, as if cut off"),
        ("[1", "it ends too early, as if cut off"),
        ('{"files": [1, 2,]}', "it is not valid JSON"),
        ('\udcff{"files": [{"navn": "Søren Ærø"}]}', "it is not valid JSON"),
    ],
)
def test_a_damaged_file_names_itself(tmp_path: Path, text: str, reason: str) -> None:
    """The file, what it is and what is wrong, in plain words: never the parser's own, which
    quote the bytes around the fault."""
    path = tmp_path / "report.json"
    path.write_bytes(text.encode("utf-8", "surrogateescape"))
    expected = f"{path} (the report) is damaged and cannot be read: {reason}"
    with pytest.raises(ConfigError) as info:
        list(items(path, "files.item", "the report"))
    assert str(info.value) == expected
    with pytest.raises(ConfigError) as info:
        head(path, "the report", skip=("files",))
    assert str(info.value) == expected


@pytest.mark.parametrize("text", ['{"cycle": "2026", "forms": [{"form_id": "X"', "<html>"])
def test_a_damaged_manifest_says_to_restore_it(tmp_path: Path, text: str) -> None:
    (tmp_path / "manifest.json").write_text(text, encoding="utf-8")
    for read in (manifest_head, lambda folder: list(iter_manifest_forms(folder))):
        with pytest.raises(ConfigError, match="restore it from a backup of the forms folder"):
            read(tmp_path)


def test_manifest_streamed_equals_manifest_loaded(tmp_path: Path) -> None:
    roster = tmp_path / "roster.csv"
    roster.write_text("id;navn\n1;Søren Ærø\n2;Åse Øster\n", encoding="utf-8")
    forms = tmp_path / "forms"
    generate(QUESTIONS, roster, forms, "2026", formats=["pdf"], key_file=tmp_path / "k")
    whole = load_manifest(forms)
    assert list(iter_manifest_forms(forms)) == whole.forms
    assert manifest_head(forms) == whole.model_copy(update={"forms": []})


def test_a_damaged_manifest_form_is_named(tmp_path: Path) -> None:
    (tmp_path / "manifest.json").write_text(
        '{"cycle": "2026", "forms": [{"form_id": "X"}]}', encoding="utf-8"
    )
    with pytest.raises(ConfigError, match=r"manifest\.json is damaged: form 1 cannot be read"):
        list(iter_manifest_forms(tmp_path))
