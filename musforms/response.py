"""The response JSON (``musforms/response/1``): one per employee, as docs/ARCHITECTURE.md
defines it.

``musforms schema`` prints the JSON Schema generated from these models; it also ships as
``musforms/schemas/response.json``.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Iterable, Iterator
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from musforms.models import AgreementStatus, Problem

SCHEMA = "musforms/response/1"

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


class ResponseAgreement(_Model):
    what: str
    owner: str | None = None
    due: dt.date | None = None


class ResponsePreviousAgreement(ResponseAgreement):
    """Last round's agreement, with the status and comment given in this round's form."""

    status: AgreementStatus | None = None
    comment: str | None = None


class ResponseSource(_Model):
    """Which returned file the answers came from, and how it was read."""

    file: str
    sha256: str
    format: str  # the name of its format in musforms.formats
    read_by: Literal["fields", "tags", "order", "layout", "page", "fields-by-position"]
    saved_at: dt.datetime | None = None
    status: Literal["ok", "recovered"]


class Response(_Model):
    schema_: Literal["musforms/response/1"] = Field("musforms/response/1", alias="schema")
    employee: ResponseEmployee
    form: ResponseForm
    answers: dict[str, AnswerValue]
    agreements: list[ResponseAgreement] = Field(default_factory=list)
    previous_agreements: list[ResponsePreviousAgreement] = Field(default_factory=list)
    problems: list[Problem] = Field(default_factory=list)
    source: ResponseSource | None = None

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

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
