"""collect issuing the conclusion forms again, morning after morning: what has not changed
is left as it is (the forms and manifest.json, byte for byte and not rewritten), what has
changed is written again, and the results are those of issuing everything afresh."""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest

from musforms.collect import collect
from musforms.conclusions import issue_conclusions
from musforms.docx.reader import read_docx
from musforms.errors import ConfigError
from musforms.identity import load_key
from musforms.manifest import (
    Manifest,
    ManifestQuestionSet,
    form_entry,
    iter_manifest_forms,
    manifest_entries,
    manifest_holds,
    write_manifest,
)
from tests.clients.pdf import fill_pdfium
from tests.trust_data import answers, make_round

pytestmark = pytest.mark.realclient

MANIFEST = "manifest.json"


@dataclass
class Issuing:
    forms: Path
    results: Path
    key: bytes

    @property
    def folder(self) -> Path:
        return self.results / "conclusions"

    def issue(self) -> int:
        return issue_conclusions(self.results, self.forms, self.key, workers=1).written

    def form(self, eid: str) -> Path:
        return next(self.folder.glob(f"{eid}-*.docx"))

    def marks(self) -> dict[str, tuple[int, int]]:
        """Each file of the conclusions folder (not deeper) by its inode and time: what a
        run that writes a file changes."""
        return {
            p.name: (p.stat().st_ino, p.stat().st_mtime_ns)
            for p in self.folder.iterdir()
            if p.is_file()
        }


@pytest.fixture(scope="module")
def collected(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """Two preparations filled in PDFium and collected (each issued its conclusion form)."""
    root = tmp_path_factory.mktemp("reissue")
    round_ = make_round(root, previous=False, key_file=root / "key")
    returned = root / "returned"
    returned.mkdir()
    for eid in ("1042", "1043"):
        values = answers(f"svar {eid}", previous=False)
        fill_pdfium(round_.form(eid, "pdf"), returned / f"{eid}.pdf", values)
    collect([returned], round_.forms, root / "results", key_file=round_.key_file, workers=1)
    return root, round_.key_file


@pytest.fixture
def issuing(collected: tuple[Path, Path], tmp_path: Path) -> Issuing:
    root, key_file = collected
    copy = shutil.copytree(root, tmp_path / "round", symlinks=True)
    return Issuing(copy / "forms" / "2026", copy / "results", load_key(key_file))


def _afresh(issuing: Issuing, tmp_path: Path) -> bytes:
    """The manifest.json of issuing every conclusion form afresh into a copy."""
    results = shutil.copytree(issuing.results, tmp_path / "afresh", symlinks=True)
    shutil.rmtree(results / "conclusions")
    issue_conclusions(results, issuing.forms, issuing.key, workers=1)
    return (results / "conclusions" / MANIFEST).read_bytes()


def _later(path: Path, than: Path) -> None:
    """Give ``path`` a modification time after ``than``'s."""
    when = than.stat().st_mtime_ns + 1_000_000_000
    os.utime(path, ns=(when, when))


def test_nothing_changed_leaves_the_forms_and_manifest_as_they_are(
    issuing: Issuing, tmp_path: Path
) -> None:
    """Protects against a morning's re-run rewriting what it issued before: with nothing
    changed no form is written and manifest.json is not written again (the same file, the
    same time), and it is byte for byte what issuing every form afresh gives."""
    assert {f.employee_id for f in iter_manifest_forms(issuing.folder)} == {"1042", "1043"}
    before = issuing.marks()
    assert issuing.issue() == 0
    assert issuing.marks() == before
    assert (issuing.folder / MANIFEST).read_bytes() == _afresh(issuing, tmp_path)


def test_a_preparation_changed_since_gets_its_conclusion_form_again(issuing: Issuing) -> None:
    """Protects against a conclusion form left showing a preparation that has changed
    since: its response rewritten after the form was written, the form is written again
    with the new answers, and only it; manifest.json lists the same forms and is left."""
    source = issuing.results / "responses" / "1042.json"
    data = json.loads(source.read_text(encoding="utf-8"))
    data["answers"]["lykkedes"] = "Et nyt svar på det der lykkedes"
    source.write_text(json.dumps(data, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    _later(source, issuing.form("1042"))
    before = issuing.marks()
    assert issuing.issue() == 1
    after = issuing.marks()
    changed = {name for name in after if after[name] != before.get(name)}
    assert changed == {issuing.form("1042").name}
    assert "Et nyt svar på det der lykkedes" in str(read_docx(issuing.form("1042")).fields)


def test_an_entry_issued_otherwise_is_written_again(issuing: Issuing, tmp_path: Path) -> None:
    """Protects against a form issued with other details (the employee's name, as the
    manifest.json held it) being taken as up to date because its preparation is older: the
    form is written again and manifest.json becomes the one issuing afresh gives."""
    path = issuing.folder / MANIFEST
    text = path.read_text(encoding="utf-8")
    assert text.count('"name": "Søren Ærø"') == 1
    path.write_text(text.replace('"name": "Søren Ærø"', '"name": "Søren Ærøe"'), "utf-8")
    before = issuing.marks()
    assert issuing.issue() == 1
    after = issuing.marks()
    changed = {name for name in after if after[name] != before.get(name)}
    assert changed == {MANIFEST, issuing.form("1042").name}
    assert path.read_bytes() == _afresh(issuing, tmp_path)


@pytest.mark.parametrize("layout", ["keys in another order", "one line"])
def test_a_manifest_written_otherwise_lists_the_same_forms(
    issuing: Issuing, tmp_path: Path, layout: str
) -> None:
    """Protects against forms rewritten only because an earlier version laid manifest.json
    out otherwise (the keys of a form in another order, or all on one line): the forms it
    lists are the same, so none is written; the manifest is written as this version
    writes it."""
    path = issuing.folder / MANIFEST
    data = json.loads(path.read_text(encoding="utf-8"))
    if layout == "one line":
        path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    else:
        data["forms"] = [dict(reversed(list(form.items()))) for form in data["forms"]]
        path.write_text(json.dumps(data, ensure_ascii=False, indent=2) + "\n", "utf-8")
    assert (manifest_entries(issuing.folder) is None) == (layout == "one line")
    assert issuing.issue() == 0
    assert path.read_bytes() == _afresh(issuing, tmp_path)


def test_a_damaged_manifest_is_still_said_to_be(issuing: Issuing) -> None:
    """A manifest.json cut off, or one whose form is not one, is not read around: issuing
    stops and says it is damaged, as it always did."""
    path = issuing.folder / MANIFEST
    text = path.read_text(encoding="utf-8")
    path.write_text(text[: len(text) // 2], encoding="utf-8")
    assert manifest_entries(issuing.folder) is None
    with pytest.raises(ConfigError, match="restore it from a backup"):
        issuing.issue()
    path.write_text(text.replace('"language": "da"', '"language": 7', 1), encoding="utf-8")
    with pytest.raises(ConfigError, match="form 1 cannot be read"):
        issuing.issue()


def test_manifest_holds_is_the_text_write_manifest_writes(issuing: Issuing) -> None:
    """manifest_holds says yes to exactly the text write_manifest writes: not to one with
    another round, another form, a form less, or more after its end."""
    folder = issuing.folder
    forms = list(iter_manifest_forms(folder))
    entries = [form_entry(form) for form in forms]
    head = Manifest(cycle="2026", question_set=ManifestQuestionSet(id="k", version="1", digest="d"))
    write_manifest(folder, head, iter(entries))
    assert manifest_holds(folder, head, entries)
    assert [text for _form, text in manifest_entries(folder) or []] == entries
    assert not manifest_holds(folder, head.model_copy(update={"cycle": "2027"}), entries)
    assert not manifest_holds(folder, head, entries[:1])
    assert not manifest_holds(folder, head, [entries[1], entries[0]])
    with (folder / MANIFEST).open("a", encoding="utf-8") as fh:
        fh.write(" ")
    assert not manifest_holds(folder, head, entries)
    write_manifest(folder, head, iter([]))
    assert manifest_holds(folder, head, [])
    assert manifest_entries(folder) == []


def test_a_response_without_its_language_gets_that_of_its_form_as_issued(
    issuing: Issuing,
) -> None:
    """Protects against the language of a response that does not name it (collected
    before languages were recorded) being taken as the organisation's: it is that of the
    form as issued, here English, so the conclusion form is issued again in English."""
    source = issuing.results / "responses" / "1042.json"
    data = json.loads(source.read_text(encoding="utf-8"))
    del data["form"]["language"]
    source.write_text(json.dumps(data, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    manifest = issuing.forms / MANIFEST
    forms = json.loads(manifest.read_text(encoding="utf-8"))
    (form,) = [f for f in forms["forms"] if f["employee_id"] == "1042"]
    assert form["language"] == "da"
    form["language"] = "en"
    manifest.write_text(json.dumps(forms, ensure_ascii=False, indent=2) + "\n", "utf-8")
    assert issuing.issue() == 1
    issued = {f.employee_id: f for f in iter_manifest_forms(issuing.folder)}
    assert (issued["1042"].language, issued["1043"].language) == ("en", "da")
    assert issuing.form("1042").name.endswith("-conclusion.docx")
