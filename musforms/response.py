"""The response JSON (``musforms/response/3``): one per employee, as docs/ARCHITECTURE.md
defines it.

``musforms schema`` prints the JSON Schema generated from these models; it also ships as
``musforms/schemas/response.json``.

Version 2 keeps what was typed where a date could not be read: ``typed`` (question id → text)
beside the answers, ``due_typed`` in an agreement. Both appear only when there is such a text,
so a version 1 file is a version 2 file without them, and is read as one.

Version 3 adds the conclusion: a conclusion form's response says so in ``form.kind`` and
``form.of_form`` and holds ``conclusion`` (what was concluded, the agreed agreements, who
approved and when); read from a results folder, an employee's preparation carries the
conclusion collected for it. A version 2 file is a version 3 file without them.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Iterable, Iterator
from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SerializerFunctionWrapHandler,
    field_validator,
    model_serializer,
)

from musforms.models import AgreementStatus, FormKind, Problem

SCHEMA = "musforms/response/3"
# Earlier versions this one reads: each is this one without the fields added since.
EARLIER_SCHEMAS = frozenset({"musforms/response/1", "musforms/response/2"})

AnswerValue = str | int | bool | list[str] | None


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ResponseEmployee(_Model):
    id: str
    name: str
    department: str | None = None
    manager: str | None = None
    email: str | None = None
    meeting_date: dt.date | None = None


class ResponseQuestionSet(_Model):
    id: str
    version: str


class ResponseForm(_Model):
    form_id: str
    cycle: str
    question_set: ResponseQuestionSet
    # The language the form was issued in, so the minutes are drafted in it from the results
    # folder alone; absent in responses collected before it was recorded.
    language: Literal["da", "en"] | None = None
    # What the form is (version 3): the preparation, or the conclusion of the preparation
    # form ``of_form``. Absent for a preparation.
    kind: FormKind | None = None
    of_form: str | None = None

    @model_serializer(mode="wrap")
    def _without_preparation_kind(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        data: dict[str, Any] = handler(self)
        if data.get("kind") in (None, "preparation"):
            data.pop("kind", None)
        if data.get("of_form") is None:
            data.pop("of_form", None)
        return data


class ResponseAgreement(_Model):
    what: str
    owner: str | None = None
    due: dt.date | None = None
    # The due date as typed, when it could not be read as a date (``due`` is then null).
    due_typed: str | None = None

    @model_serializer(mode="wrap")
    def _without_unset_text(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        data: dict[str, Any] = handler(self)
        if data.get("due_typed") is None:
            data.pop("due_typed", None)
        return data


class ResponsePreviousAgreement(ResponseAgreement):
    """Last round's agreement, with the status and comment given in this round's form."""

    status: AgreementStatus | None = None
    comment: str | None = None


class ResponseApproval(_Model):
    """One party's approval of a conclusion: the tick, and the date written beside it."""

    approved: bool = False
    date: dt.date | None = None


class ResponseConclusion(_Model):
    """The conclusion written after the conversation, approved by both parties."""

    form_id: str  # the conclusion form's id
    concluded: str | None = None  # what was discussed and concluded
    agreements: list[ResponseAgreement] = Field(default_factory=list)  # the agreed ones
    employee: ResponseApproval = ResponseApproval()
    leader: ResponseApproval = ResponseApproval()
    saved_at: dt.datetime | None = None  # when the conclusion form was saved, if it says

    @property
    def approved(self) -> bool:
        """Whether both parties approved it."""
        return self.employee.approved and self.leader.approved


class ResponseSource(_Model):
    """Which returned file the answers came from, and how it was read."""

    file: str
    sha256: str
    format: str  # the name of its format in musforms.formats
    read_by: Literal["fields", "fields-by-position", "tags", "order", "layout", "page"]
    saved_at: dt.datetime | None = None
    status: Literal["ok", "recovered"]


class Response(_Model):
    schema_: Literal["musforms/response/3"] = Field("musforms/response/3", alias="schema")
    employee: ResponseEmployee
    form: ResponseForm
    answers: dict[str, AnswerValue]
    # Question id → the text typed for an answer that could not be read (a date such as
    # "næste forår"); its answer is null.
    typed: dict[str, str] = Field(default_factory=dict)
    agreements: list[ResponseAgreement] = Field(default_factory=list)
    previous_agreements: list[ResponsePreviousAgreement] = Field(default_factory=list)
    problems: list[Problem] = Field(default_factory=list)
    source: ResponseSource | None = None
    # The conclusion (version 3): in a conclusion form's response, and in a preparation's
    # once its conclusion is collected (see musforms.results.iter_responses).
    conclusion: ResponseConclusion | None = None

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    @field_validator("schema_", mode="before")
    @classmethod
    def _read_earlier(cls, value: object) -> object:
        return SCHEMA if value in EARLIER_SCHEMAS else value

    @model_serializer(mode="wrap")
    def _without_empty_typed(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        data: dict[str, Any] = handler(self)
        if not data.get("typed"):
            data.pop("typed", None)
        if data.get("conclusion") is None:
            data.pop("conclusion", None)
        return data

    def followed_agreements(self) -> list[ResponseAgreement]:
        """The agreements to follow up: those agreed in the conclusion when it is back,
        else those the employee proposed."""
        return self.conclusion.agreements if self.conclusion is not None else self.agreements

    def to_json(self) -> str:
        data = self.model_dump(mode="json", by_alias=True)
        return json.dumps(data, ensure_ascii=False, indent=2) + "\n"


class Responses:
    """Responses that can be gone through more than once, each time afresh from ``source``
    (for example from the files of a results folder): never all in memory together."""

    def __init__(self, source: Callable[[], Iterable[Response]]) -> None:
        self.source = source

    def __iter__(self) -> Iterator[Response]:
        return iter(self.source())


def json_schema() -> str:
    """The JSON Schema of one response file."""
    schema = Response.model_json_schema(by_alias=True)
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "musforms response (one employee)"
    return json.dumps(schema, ensure_ascii=False, indent=2) + "\n"
