"""The one in-memory model between every reader and writer.

Frozen pydantic models with ``extra="forbid"``: a typo in a config key is an error, not a
silently ignored key. Loading files (with file and line in every error) lives in
``questionset.py`` and ``roster.py``; these models only say what is valid.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    field_validator,
    model_validator,
)

from musforms.i18n import N_, _

LANGUAGES = ("da", "en")
DEFAULT_LANGUAGE = "da"
# A label written as a plain string applies to every language; it is stored under this key.
ANY_LANGUAGE = "*"

# The models' messages that the question set readers go on from (musforms.questionset,
# musforms.questionbook word them for a YAML file or a workbook): ids for musforms.i18n.
ID_CHARACTERS = N_("id {value!r} may only use a-z, 0-9 and _ (try {suggestion!r})")
SET_ID_CHARACTERS = N_("id {value!r} may only use a-z, 0-9, - and _")
SCALE_REVERSED = N_("scale min ({min}) is above max ({max})")
SCALE_TOO_LONG = N_("scale {min}–{max} has more than 11 steps")
SCALE_MISPLACED = N_("'scale' only belongs on a scale question, not on {type}")
OPTIONS_NEEDED = N_("a {type} question needs 'options'")
OPTION_TWICE = N_("option id {id!r} is used twice")
ROWS_MISPLACED = N_("'rows' only belongs on an agreements question, not on {type}")
QUESTION_TWICE = N_("question id {id!r} is used twice (sections {first!r} and {second!r})")
UNKNOWN_LANGUAGE = N_("unknown language {lang!r}; use {languages}")

ID_PATTERN = r"^[a-z0-9_]+$"
_ID_RE = re.compile(ID_PATTERN)

QuestionType = Literal[
    "text", "textarea", "scale", "choice", "multichoice", "checkbox", "date", "agreements"
]
QUESTION_TYPES: tuple[str, ...] = QuestionType.__args__  # type: ignore[attr-defined]


class Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


def _as_text(value: Any) -> Any:
    """A label may be a plain string (one language) or a {language: text} mapping."""
    if isinstance(value, str):
        return {ANY_LANGUAGE: value}
    return value


def _check_languages(value: dict[str, str]) -> dict[str, str]:
    for lang, text in value.items():
        if lang != ANY_LANGUAGE and lang not in LANGUAGES:
            raise ValueError(
                _(UNKNOWN_LANGUAGE).format(lang=lang, languages=_(" or ").join(LANGUAGES))
            )
        if not isinstance(text, str) or not text.strip():
            raise ValueError(_("the {lang} text is empty").format(lang=lang))
    if not value:
        raise ValueError(_("give the text as a string or as {da: …, en: …}"))
    return value


def localize(text: dict[str, str] | None, lang: str) -> str:
    """The text in ``lang``, else the plain-string text, else Danish, else any."""
    if not text:
        return ""
    for key in (lang, ANY_LANGUAGE, DEFAULT_LANGUAGE):
        if key in text:
            return text[key]
    return next(iter(text.values()))


def suggest_id(raw: str) -> str:
    """An id in ``[a-z0-9_]+`` close to what HR wrote: ``aerø`` → ``aeroe``."""
    out = raw.strip().lower()
    for src, dst in (("æ", "ae"), ("ø", "oe"), ("å", "aa"), ("é", "e"), ("ü", "u"), ("ö", "o")):
        out = out.replace(src, dst)
    out = re.sub(r"[^a-z0-9_]+", "_", out).strip("_")
    return out or "id"


def _check_id(value: str) -> str:
    if not _ID_RE.match(value):
        raise ValueError(_(ID_CHARACTERS).format(value=value, suggestion=suggest_id(value)))
    return value


# An id HR writes for a section, question or option.
Id = Annotated[str, AfterValidator(_check_id)]
# A text HR writes: a plain string (one language) or {da: …, en: …}.
Text = Annotated[
    dict[str, str], BeforeValidator(_as_text), Field(min_length=1), AfterValidator(_check_languages)
]


class Option(Frozen):
    id: Id
    label: Text


class Scale(Frozen):
    min: int = 1
    max: int = 5
    labels: dict[int, Text] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _range(self) -> Scale:
        if self.min > self.max:
            raise ValueError(_(SCALE_REVERSED).format(min=self.min, max=self.max))
        if self.max - self.min > 10:
            raise ValueError(_(SCALE_TOO_LONG).format(min=self.min, max=self.max))
        return self

    def values(self) -> list[int]:
        return list(range(self.min, self.max + 1))


class Question(Frozen):
    id: Id
    type: QuestionType
    label: Text
    help: Text | None = None
    required: bool = False
    scale: Scale | None = None
    options: list[Option] | None = None
    rows: int | None = Field(default=None, ge=1, le=20)

    @model_validator(mode="after")
    def _shape(self) -> Question:
        t = self.type
        if t == "scale" and self.scale is None:
            object.__setattr__(self, "scale", Scale())
        if t != "scale" and self.scale is not None:
            raise ValueError(_(SCALE_MISPLACED).format(type=t))
        if t in ("choice", "multichoice"):
            if not self.options:
                raise ValueError(_(OPTIONS_NEEDED).format(type=t))
            seen: set[str] = set()
            for opt in self.options:
                if opt.id in seen:
                    raise ValueError(_(OPTION_TWICE).format(id=opt.id))
                seen.add(opt.id)
        elif self.options is not None:
            raise ValueError(
                _("'options' only belong on choice or multichoice, not on {type}").format(type=t)
            )
        if t == "agreements":
            if self.rows is None:
                object.__setattr__(self, "rows", 5)
        elif self.rows is not None:
            raise ValueError(_(ROWS_MISPLACED).format(type=t))
        return self

    def option_ids(self) -> list[str]:
        return [o.id for o in self.options or []]


class Section(Frozen):
    id: Id
    title: Text
    intro: Text | None = None
    questions: list[Question] = Field(min_length=1)


class QuestionSet(Frozen):
    musforms: Literal[1]
    id: str
    version: str
    title: Text
    description: Text | None = None
    intro: Text | None = None
    languages: list[Literal["da", "en"]] | None = None
    sections: list[Section] = Field(min_length=1)

    @field_validator("id")
    @classmethod
    def _setid(cls, value: str) -> str:
        if not re.match(r"^[a-z0-9][a-z0-9_-]*$", value):
            raise ValueError(_(SET_ID_CHARACTERS).format(value=value))
        return value

    @field_validator("version", mode="before")
    @classmethod
    def _version(cls, value: Any) -> Any:
        # YAML reads `version: 2026.1` as a number; HR means the text.
        return str(value) if isinstance(value, int | float) else value

    @model_validator(mode="after")
    def _unique_ids(self) -> QuestionSet:
        seen: dict[str, str] = {}
        for section in self.sections:
            for q in section.questions:
                if q.id in seen:
                    raise ValueError(
                        _(QUESTION_TWICE).format(id=q.id, first=seen[q.id], second=section.id)
                    )
                seen[q.id] = section.id
        return self

    def questions(self) -> list[Question]:
        return [q for s in self.sections for q in s.questions]

    def question(self, qid: str) -> Question | None:
        return next((q for q in self.questions() if q.id == qid), None)

    def declared_languages(self) -> list[str]:
        """The languages the set is written in: declared, else those its labels use."""
        if self.languages:
            return list(self.languages)
        found: set[str] = set()
        for text in _all_texts(self):
            found.update(k for k in text if k != ANY_LANGUAGE)
        return sorted(found) or [DEFAULT_LANGUAGE]


def _all_texts(qs: QuestionSet) -> list[dict[str, str]]:
    texts: list[dict[str, str]] = [qs.title]
    for section in qs.sections:
        texts.append(section.title)
        for q in section.questions:
            texts.append(q.label)
            if q.help:
                texts.append(q.help)
            for opt in q.options or []:
                texts.append(opt.label)
            if q.scale:
                texts.extend(q.scale.labels.values())
    return texts


class Employee(Frozen):
    id: str
    name: str
    email: str | None = None
    department: str | None = None
    manager: str | None = None
    manager_email: str | None = None
    meeting_date: dt.date | None = None
    language: Literal["da", "en"] | None = None


class Agreement(Frozen):
    what: str
    owner: str | None = None
    due: dt.date | None = None


AgreementStatus = Literal["done", "in_progress", "not_started", "dropped"]


class PreviousAgreement(Agreement):
    """Last cycle's agreement as carried into this cycle's form, with what the form says of it."""

    status: AgreementStatus | None = None
    comment: str | None = None


FORM_CODE_RE = re.compile(
    r"MF-([0-9A-HJKMNP-TV-Z]{4})-([0-9A-HJKMNP-TV-Z]{4})-([0-9A-HJKMNP-TV-Z]{4})"
)


def form_code(form_id: str) -> str:
    """The visible code printed on every page: ``MF-ABCD-EFGH-JKMN``."""
    fid = form_id.upper()
    return f"MF-{fid[0:4]}-{fid[4:8]}-{fid[8:12]}"


def form_id_from_code(text: str) -> str | None:
    """The form id in a page's text, if a form code is printed there."""
    m = FORM_CODE_RE.search(text.upper())
    return "".join(m.groups()) if m else None


FormKind = Literal["preparation", "conclusion", "checkin"]


class FormIdentity(Frozen):
    """What every issued form carries, signed: which form, whose, which round, which questions."""

    form_id: str
    employee_id: str
    cycle: str
    question_set_id: str
    question_set_version: str
    question_set_digest: str
    # What the form is: the employee's preparation (every form issued before these two
    # fields), the conclusion written after the conversation, or the check-in some months
    # later. A conclusion and a check-in name the preparation form they belong to.
    kind: FormKind = "preparation"
    of_form: str | None = None


class Organisation(Frozen):
    """Settings from config/musforms.toml."""

    name: str = ""
    logo: str | None = None
    default_language: Literal["da", "en"] = "da"
    followup_months: int = Field(default=3, ge=1, le=24)
    retention_months: int = Field(default=36, ge=1, le=240)
    # musforms report: a group with fewer answers than this shows no figures. Below 3 a
    # group's figures come too close to single people's answers, so the floor is 3.
    anonymity_min: int = Field(default=5, ge=3, le=1000)


class FormData(Frozen):
    """Everything a writer needs for one employee's form."""

    question_set: QuestionSet
    employee: Employee
    identity: FormIdentity
    token: str  # the signed identity, embedded verbatim (see identity.py)
    lang: Literal["da", "en"]
    organisation: Organisation = Organisation()
    previous_agreements: list[Agreement] = Field(default_factory=list)
    prefill: dict[str, str] = Field(default_factory=dict)  # mf_ field → value, signed
    # Answer fields filled in beforehand, by field name: editable, not signed (a conclusion
    # form's agreements, prefilled from the employee's proposals).
    answers: dict[str, str] = Field(default_factory=dict)

    @property
    def form_code(self) -> str:
        return form_code(self.identity.form_id)


RawValue = str | bool | None


class RawForm(BaseModel):
    """What a reader returns: the identity it found and every field's raw value.

    Text is a str with ``\\n`` line breaks; a checkbox is a bool; a radio group or drop-down is
    its export value (scale number or option id) as str; an unfilled field is None.
    """

    model_config = ConfigDict(extra="forbid")

    format: str  # the name of its format in musforms.formats: "pdf", "docx", …
    token: str | None = None  # the signed identity string, if the file still carries it
    form_code: str | None = None  # the visible form code, if found in the page text
    fields: dict[str, RawValue] = Field(default_factory=dict)
    read_by: Literal["fields", "fields-by-position", "tags", "order", "layout", "page"] = "fields"
    saved_at: dt.datetime | None = None  # the file's own save time, if it records one
    application: str | None = None  # who saved it, if the file says
    notes: list[str] = Field(default_factory=list)  # what the reader had to work around
    # Problems with an answer the reader found, with their own codes (``table_as_text``).
    problems: list[Problem] = Field(default_factory=list)


class Problem(Frozen):
    code: str
    question: str | None = None
    message: str
