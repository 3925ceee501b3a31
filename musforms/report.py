"""report.json: every returned file's line (status, who, how it was read) and the round's
returned / missing lists. The statuses live here and nowhere else.

report.json is written one item at a time and read back one item at a time (ijson): a
round of 50,000 employees never sits in memory whole.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from musforms.errors import ConfigError
from musforms.files import atomic_writer
from musforms.i18n import N_, _
from musforms.models import Problem

REPORT = "report.json"
REPORT_SCHEMA = "musforms/report/2"
# report/1 had no "blank" or "superseded" status and no "missing_notes": every report/1 file
# is a report/2 file as it stands, so an earlier run's report is read as it is.
READABLE_SCHEMAS = ("musforms/report/1", REPORT_SCHEMA)

Status = Literal[
    "ok",
    "recovered",
    "duplicate",
    "superseded",
    "blank",
    "not_musforms",
    "unreadable",
    "rejected",
]
STATUSES: tuple[str, ...] = Status.__args__  # type: ignore[attr-defined]
USABLE = ("ok", "recovered")  # a file whose answers count
UNUSABLE = ("not_musforms", "unreadable", "rejected")  # a file that could not be used
NEEDS_A_LOOK = (*UNUSABLE, "recovered", "blank")  # files HR should look at by hand
# Problem code on both of two returns of one form whose answers differ (the older one is
# superseded): HR checks with the employee that the newer one is the one meant.
CONFLICTING = "conflicting_returns"
# missing_notes: why an employee is still missing although a file of theirs came back.
RETURNED_BLANK = N_("returned blank")  # report.json keeps it in English; shown translated
# Problem code of a file whose reading failed inside musforms (a bug, not a bad file).
INTERNAL_ERROR = "internal_error"


class FileEntry(BaseModel):
    """One returned file's line in report.json."""

    model_config = ConfigDict(extra="forbid")

    file: str
    sha256: str | None = None
    status: Status
    employee_id: str | None = None
    form_id: str | None = None
    read_by: str | None = None
    format: str | None = None
    saved_at: dt.datetime | None = None
    reason: str | None = None
    problems: list[Problem] = Field(default_factory=list)
    # A file that came as a mail attachment (``file`` is then "<message> › <attachment>"):
    # the message (a mail file's path, "inbox.mbox #3", "imaps://…/FOLDER/UID"), the
    # attachment's name as sent (text, never a path; "fwd.eml › svar.pdf" when forwarded),
    # the message's sender (its From address), date and Message-ID, the sender of the
    # forwarded message it came in, and a hint for HR (a sender who is not the employee).
    # The sender never says whose form it is: the signed identity does.
    message: str | None = None
    attachment: str | None = None
    sender: str | None = None
    sent_at: dt.datetime | None = None
    message_id: str | None = None
    forwarded_from: str | None = None
    hint: str | None = None


class Report(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    schema_: str = Field(REPORT_SCHEMA, alias="schema")
    cycle: str
    collected_at: dt.datetime | None = None
    files: list[FileEntry] = Field(default_factory=list)
    returned: list[str] = Field(default_factory=list)
    missing: list[str] = Field(default_factory=list)
    # Employee id → why they are missing although a file of theirs came back ("returned
    # blank"). Only missing employees appear; ``missing`` stays a plain list of ids.
    missing_notes: dict[str, str] = Field(default_factory=dict)


_LISTS = ("files", "returned", "missing")
_MAPS = ("missing_notes",)


def no_results(out: Path) -> ConfigError:
    return ConfigError(
        _("{out} holds no collected results (no {report}): run 'musforms collect' first").format(
            out=out, report=REPORT
        )
    )


def damaged(path: Path) -> ConfigError:
    return ConfigError(
        _("{path} from an earlier run is damaged; move it away and collect all files again").format(
            path=path
        )
    )


def load_report(out: Path) -> Report | None:
    """report.json of a results folder, loaded whole (for a small round), or None."""
    from musforms.jsonstream import load_model

    return load_model(out / REPORT, Report, damaged(out / REPORT))


def earlier_cycle(out: Path) -> str | None:
    """The round of the results already in ``out``, or None when there are none."""
    from musforms.jsonstream import head

    path = out / REPORT
    if not path.is_file():
        return None
    try:
        top = head(path, "the collect report", skip=(*_LISTS, *_MAPS))
    except ConfigError as exc:
        raise damaged(path) from exc
    cycle, schema = top.get("cycle"), top.get("schema")
    if not isinstance(cycle, str):
        raise damaged(path)
    if schema not in READABLE_SCHEMAS:
        raise ConfigError(
            _(
                "{path} was written by another version of musforms ({schema}), "
                "which this one cannot merge with: collect into a new results "
                "folder, or update musforms"
            ).format(path=path, schema=schema)
        )
    return cycle


def iter_entries(out: Path) -> Iterator[FileEntry]:
    """The file lines of report.json, one at a time."""
    from musforms.jsonstream import items

    path = out / REPORT
    try:
        for data in items(path, "files.item", "the collect report"):
            yield FileEntry.model_validate(data)
    except (ConfigError, ValidationError) as exc:
        raise damaged(path) from exc


def iter_returned(out: Path) -> Iterator[str]:
    """The ids of the employees report.json lists as returned, one at a time."""
    from musforms.jsonstream import items

    path = out / REPORT
    if not path.is_file():
        raise no_results(out)
    return (str(eid) for eid in items(path, "returned.item", "the collect report"))


def write_report_json(
    out: Path,
    report: Report,
    *,
    files: Iterable[dict[str, Any]] | None = None,
    returned: Iterable[str] | None = None,
    missing: Iterable[str] | None = None,
    missing_notes: Iterable[tuple[str, str]] | None = None,
) -> None:
    """report.json, one item at a time: the whole text is never built in memory.

    The lists come from ``report`` unless given as iterables (``files`` as the entries'
    JSON data, ``missing_notes`` as (employee id, note) pairs). The same text
    ``json.dumps(report.model_dump(...), indent=2)`` would give.
    """
    lists: dict[str, Iterable[Any]] = {
        "files": files
        if files is not None
        else (e.model_dump(mode="json", exclude_none=True) for e in report.files),
        "returned": returned if returned is not None else report.returned,
        "missing": missing if missing is not None else report.missing,
    }
    maps: dict[str, Iterable[tuple[str, Any]]] = {
        "missing_notes": missing_notes
        if missing_notes is not None
        else iter(report.missing_notes.items()),
    }
    skip = {*lists, *maps}
    head = report.model_dump(mode="json", by_alias=True, exclude_none=True, exclude=skip)
    with atomic_writer(out / REPORT) as tmp, tmp.open("w", encoding="utf-8") as fh:
        fh.write("{")
        first = True
        for name, info in Report.model_fields.items():
            key = info.alias or name
            if name in lists:
                fh.write(("\n" if first else ",\n") + f"  {json.dumps(key)}: [")
                empty = True
                for item in lists[name]:
                    fh.write(("\n" if empty else ",\n") + "    " + _dumps(item, 2))
                    empty = False
                fh.write("]" if empty else "\n  ]")
            elif name in maps:
                fh.write(("\n" if first else ",\n") + f"  {json.dumps(key)}: {{")
                empty = True
                for k, value in maps[name]:
                    member = f"{json.dumps(k, ensure_ascii=False)}: {_dumps(value, 2)}"
                    fh.write(("\n" if empty else ",\n") + "    " + member)
                    empty = False
                fh.write("}" if empty else "\n  }")
            elif key in head:
                fh.write(
                    ("\n" if first else ",\n") + f"  {json.dumps(key)}: {_dumps(head[key], 1)}"
                )
            else:
                continue
            first = False
        fh.write("\n}\n")


def _dumps(value: object, level: int) -> str:
    # json.dumps escapes line breaks inside strings, so every "\n" is between items.
    text = json.dumps(value, ensure_ascii=False, indent=2)
    return text.replace("\n", "\n" + "  " * level)
