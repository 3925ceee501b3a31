"""manifest.json: what generate issued, and the question sets the forms were issued with.

generate copies the question set it used beside the manifest (``questions.yaml``) and keeps
every version it ever issued forms with under ``question_sets/<digest>.yaml``, so collect
needs no ``--questions`` and later edits to the config never break collecting older forms.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from json.encoder import encode_basestring as _encode_string  # what json.dumps uses
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from musforms.errors import ConfigError
from musforms.files import atomic_writer, write_bytes
from musforms.i18n import _
from musforms.models import Agreement, Employee, FormKind, Organisation, QuestionSet

SCHEMA = "musforms/manifest/1"
MANIFEST = "manifest.json"
QUESTIONS_FILE = "questions.yaml"
WORKBOOK_FILE = "questions.xlsx"  # the workbook the forms were issued from, if they were
ARCHIVE_DIR = "question_sets"
SETTINGS_FILE = "organisation.json"


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ManifestQuestionSet(_Model):
    id: str
    version: str
    digest: str
    file: str = QUESTIONS_FILE


class ManifestForm(_Model):
    form_id: str
    employee_id: str
    files: dict[str, str]
    employee: Employee
    question_set_digest: str
    language: str
    previous_agreements: list[Agreement] = Field(default_factory=list)
    # A check-in's: the employee's preparation form it follows up.
    of_form: str | None = None


class Manifest(_Model):
    schema_: str = Field(SCHEMA, alias="schema")
    cycle: str
    # What the folder's forms are; absent for preparation forms (every folder before kinds).
    kind: FormKind | None = None
    question_set: ManifestQuestionSet
    forms: list[ManifestForm] = Field(default_factory=list)

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    def by_form_id(self) -> dict[str, ManifestForm]:
        return {f.form_id: f for f in self.forms}

    def by_employee(self) -> dict[str, ManifestForm]:
        return {f.employee_id: f for f in self.forms}

    def merge(self, forms: list[ManifestForm]) -> None:
        """Add new forms and replace re-issued ones (same employee); drop none."""
        index = {f.employee_id: i for i, f in enumerate(self.forms)}
        for form in forms:
            if form.employee_id in index:
                self.forms[index[form.employee_id]] = form
            else:
                index[form.employee_id] = len(self.forms)
                self.forms.append(form)


def archive_name(digest: str, suffix: str = ".yaml") -> str:
    return digest.split(":", 1)[-1][:16] + suffix


def load_manifest(folder: Path) -> Manifest:
    """The manifest in a forms folder, with a clear error when it is missing or damaged."""
    path = _manifest_path(folder)
    try:
        data: Any = json.loads(path.read_text(encoding="utf-8"))
        return Manifest.model_validate(data)
    except (ValueError, ValidationError) as exc:
        raise _damaged(path) from exc


def _damaged(path: Path, detail: str = "") -> ConfigError:
    return ConfigError(
        _(
            "{path} is damaged and cannot be read{detail}: restore it from a "
            "backup of the forms folder"
        ).format(path=path, detail=detail)
    )


def _manifest_path(folder: Path) -> Path:
    path = folder / MANIFEST
    if not path.is_file():
        raise ConfigError(
            _(
                "{folder} has no {manifest}: give --forms the folder that "
                "'musforms generate' wrote the forms to"
            ).format(folder=folder, manifest=MANIFEST)
        )
    return path


def manifest_head(folder: Path) -> Manifest:
    """The manifest without its forms: the round and the question set, read without building
    the list of forms (tens of MB at a large employer)."""
    from musforms.jsonstream import head

    path = _manifest_path(folder)
    try:
        return Manifest.model_validate(head(path, "the list of issued forms", skip=("forms",)))
    except ConfigError as exc:  # not JSON, or cut off
        raise ConfigError(
            _("{exc}; restore it from a backup of the forms folder").format(exc=exc)
        ) from exc
    except ValidationError as exc:
        raise _damaged(path, f" (the round or the question set: {exc.errors()[0]['msg']})") from exc


def iter_manifest_forms(folder: Path) -> Iterator[ManifestForm]:
    """The manifest's forms one at a time, in the order they were issued."""
    from musforms.jsonstream import items

    path = _manifest_path(folder)
    forms = enumerate(items(path, "forms.item", "the list of issued forms"), 1)
    while True:
        try:
            i, data = next(forms)
        except StopIteration:
            return
        except ConfigError as exc:  # not JSON, or cut off
            raise ConfigError(
                _("{exc}; restore it from a backup of the forms folder").format(exc=exc)
            ) from exc
        try:
            yield ManifestForm.model_validate(data)
        except ValidationError as exc:
            raise ConfigError(
                _(
                    "{path} is damaged: form {i} cannot be read ({msg}); restore it "
                    "from a backup of the forms folder"
                ).format(path=path, i=i, msg=exc.errors()[0]["msg"])
            ) from exc


def save_manifest(folder: Path, manifest: Manifest) -> None:
    write_manifest(folder, manifest, (form_entry(form) for form in manifest.forms))


def form_entry(form: ManifestForm) -> str:
    """A form as manifest.json lists it, indented for its place in the list of forms."""
    return _indented(form.model_dump(mode="json", by_alias=True, exclude_none=True), 2)


def write_manifest(folder: Path, head: Manifest, entries: Iterable[str]) -> None:
    """manifest.json with ``head``'s round and question set and the forms given as
    :func:`form_entry` texts, in that order; ``head``'s own list of forms is not written.

    The forms are written as they come, so the whole text is never built in memory, and it
    is the text ``json.dumps(manifest, ensure_ascii=False, indent=2)`` gives for the whole
    manifest. The file is replaced in one step, only once every form is written.
    """
    with (
        atomic_writer(folder / MANIFEST) as tmp,
        tmp.open("w", encoding="utf-8", newline="\n") as fh,
    ):
        for piece in _manifest_text(head, entries):
            fh.write(piece)


def manifest_holds(folder: Path, head: Manifest, entries: Iterable[str]) -> bool:
    """Whether manifest.json in ``folder`` is, byte for byte, what :func:`write_manifest`
    would write of ``head`` and ``entries`` (read piece by piece, never whole)."""
    try:
        with (folder / MANIFEST).open(encoding="utf-8", newline="") as fh:
            for piece in _manifest_text(head, entries):
                if fh.read(len(piece)) != piece:
                    return False
            return fh.read(1) == ""
    except (OSError, UnicodeDecodeError):
        return False


def _manifest_text(head: Manifest, entries: Iterable[str]) -> Iterator[str]:
    """The text of manifest.json (see :func:`write_manifest`), a piece at a time."""
    data = head.model_dump(mode="json", by_alias=True, exclude_none=True, exclude={"forms"})
    yield "{"
    first = True
    for name, info in Manifest.model_fields.items():
        key = info.alias or name
        if name != "forms" and key not in data:
            continue
        yield "\n" if first else ",\n"
        first = False
        if name == "forms":
            yield f"  {json.dumps(key, ensure_ascii=False)}: ["
            empty = True
            for entry in entries:
                yield ("\n    " if empty else ",\n    ") + entry
                empty = False
            yield "]" if empty else "\n  ]"
        else:
            yield f"  {json.dumps(key, ensure_ascii=False)}: {_indented(data[key], 1)}"
    yield "\n}\n"


_FORMS_OPEN = '\n  "forms": ['
_FORMS_CLOSE = "\n  ]\n}\n"
_ENTRY_START = ",\n    {"


def manifest_entries(folder: Path) -> list[tuple[ManifestForm, str]] | None:
    """The forms of manifest.json in ``folder``, each with its text as the file holds it,
    in order; None when the file is not laid out as :func:`write_manifest` writes it (an
    earlier version's, or damaged: :func:`iter_manifest_forms` then says what is wrong).

    Each form's text is what :func:`form_entry` wrote of it: an object at the list's depth,
    whose own lines are indented deeper (JSON writes no line break inside a string), so the
    forms are told apart by the lines that open them, without a parser going through the
    whole file a character at a time.
    """
    try:
        text = (folder / MANIFEST).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None
    at = text.find(_FORMS_OPEN)
    if at < 0 or not text.startswith("{\n") or text[at - 1 : at] != ",":
        return None
    rest = text[at + len(_FORMS_OPEN) :]
    if rest == "]\n}\n":
        texts: list[str] = []
    elif rest.startswith("\n    {") and rest.endswith(_FORMS_CLOSE):
        body = rest[len("\n    ") : -len(_FORMS_CLOSE)]
        texts = body.split(_ENTRY_START)
        texts[1:] = ["{" + t for t in texts[1:]]
    else:
        return None
    try:
        json.loads(text[: at - 1] + "\n}")  # the round and the question set
        found = [(json.loads(t), t) for t in texts]
    except ValueError:
        return None
    out: list[tuple[ManifestForm, str]] = []
    for i, (data, entry) in enumerate(found, 1):
        try:
            out.append((ManifestForm.model_validate(data), entry))
        except ValidationError as exc:
            raise ConfigError(
                _(
                    "{path} is damaged: form {i} cannot be read ({msg}); restore it "
                    "from a backup of the forms folder"
                ).format(path=folder / MANIFEST, i=i, msg=exc.errors()[0]["msg"])
            ) from exc
    return out


def _indented(value: object, level: int) -> str:
    """``value`` as JSON for a place ``level`` deep in an indented document.

    The fast path (musforms.fastpath) writes a value of objects, lists and strings (every
    form in a manifest) by hand, each string escaped by the json module's own encoder, which
    gives the text json.dumps gives 3 times faster; anything else is json.dumps's."""
    from musforms import fastpath

    if fastpath.enabled():
        try:
            return _plain_json(value, "  " * level)
        except _NotPlain:
            pass
    # json.dumps escapes line breaks inside strings, so every "\n" is between items.
    text = json.dumps(value, ensure_ascii=False, indent=2)
    return text.replace("\n", "\n" + "  " * level)


class _NotPlain(Exception):
    """A value :func:`_plain_json` leaves to json.dumps."""


def _plain_json(value: object, indent: str) -> str:
    """``json.dumps(value, ensure_ascii=False, indent=2)`` indented by ``indent``, for
    ``value`` made of dicts with string keys, lists and strings alone."""
    if type(value) is str:
        return _encode_string(value)
    inner = "\n" + indent + "  "
    if type(value) is dict:
        if not value:
            return "{}"
        parts = []
        for key, item in value.items():
            if type(key) is not str:
                raise _NotPlain
            parts.append(inner + _encode_string(key) + ": " + _plain_json(item, inner[1:]))
        return "{" + ",".join(parts) + "\n" + indent + "}"
    if type(value) is list:
        if not value:
            return "[]"
        items = ",".join(inner + _plain_json(item, inner[1:]) for item in value)
        return "[" + items + "\n" + indent + "]"
    raise _NotPlain


def archive_question_set(
    folder: Path, source: Path, digest: str, qs: QuestionSet | None = None
) -> None:
    """Copy the question set file (comments and all) beside the manifest and into the archive.

    A workbook is kept as it was (``questions.xlsx`` and ``question_sets/<digest>.xlsx``)
    and, beside it, as the YAML it means (``qs``, which must be given), so that whatever
    reads ``questions.yaml`` reads the set the forms were issued with.
    """
    from musforms.questionset import dump_question_set, is_workbook

    data = source.read_bytes()
    beside = folder / WORKBOOK_FILE
    if is_workbook(source):
        if qs is None:
            raise ValueError("a workbook is archived with the question set it holds")
        text = dump_question_set(qs, f"Spørgsmålssættet fra {source.name} ({WORKBOOK_FILE}).")
        _write_changed(beside, data)
        _write_changed(folder / ARCHIVE_DIR / archive_name(digest, ".xlsx"), data)
        data = text.encode("utf-8")
    elif beside.exists():
        beside.unlink()  # an earlier run's workbook; its copy stays in the archive
    _write_changed(folder / QUESTIONS_FILE, data)
    _write_changed(folder / ARCHIVE_DIR / archive_name(digest), data)


def _write_changed(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` unless the file holds it already (collect keeps them
    beside the conclusion forms run after run)."""
    try:
        if path.is_file() and path.read_bytes() == data:
            return
    except OSError:
        pass
    write_bytes(path, data)


def issued_question_set(folder: Path, digest: str) -> QuestionSet | None:
    """The question set a form was issued with, found by its digest, or None."""
    from musforms.formdata import question_set_digest
    from musforms.questionset import load_question_set

    for candidate in (folder / ARCHIVE_DIR / archive_name(digest), folder / QUESTIONS_FILE):
        if candidate.is_file():
            qs = load_question_set(candidate)
            if question_set_digest(qs) == digest:
                return qs
    return None


def save_organisation(folder: Path, organisation: Organisation) -> None:
    """Keep the settings the forms were made with, so collect drafts minutes the same way."""
    data = organisation.model_dump(mode="json")
    text = json.dumps(data, ensure_ascii=False, indent=2) + "\n"
    _write_changed(folder / SETTINGS_FILE, text.encode("utf-8"))


def load_organisation(folder: Path) -> Organisation | None:
    """The settings generate kept beside the manifest, or None for older forms folders."""
    from musforms.jsonstream import load_model

    path = folder / SETTINGS_FILE
    return load_model(
        path, Organisation, ConfigError(_("{path} is damaged and cannot be read").format(path=path))
    )
