"""The results folder: one response file per employee, and responses.json of them all.

Every reader of results (the outputs, purge, next year's generate) goes through here, one
response at a time from disk: a round's responses never sit in memory together.
"""

from __future__ import annotations

import functools
import json
import os
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

from musforms.files import atomic_writer, id_slug, inside
from musforms.report import iter_returned, load_report, no_results
from musforms.response import Response, Responses

RESPONSES = "responses"  # the folder of one file per employee
RESPONSES_JSON = "responses.json"
CONCLUSIONS = "conclusions"  # the conclusion forms and their collected answers


def response_path(out: Path, employee_id: str) -> Path:
    """Where an employee's response lives in a results folder."""
    return inside(_responses_dir(out), f"{id_slug(employee_id)}.json")


@functools.lru_cache(maxsize=64)  # asked for once per response, many times in a run
def _responses_dir(out: Path) -> Path:
    return out / RESPONSES


def read_responses(out: Path, employee_ids: Iterable[str]) -> Iterator[Response]:
    """The responses on record for ``employee_ids``, one at a time."""
    for eid in employee_ids:
        path = response_path(out, eid)
        if path.is_file():
            yield Response.model_validate_json(path.read_bytes())


def iter_responses(out: Path) -> Iterator[Response]:
    """Every collected response in a results folder, in employee order, one at a time; each
    with its conclusion when the employee's conclusion form is collected too (in
    ``conclusions/responses/``)."""
    return _concluded(out, read_responses(out, iter_returned(out)))


def _concluded(out: Path, responses: Iterator[Response]) -> Iterator[Response]:
    folder = out / CONCLUSIONS
    try:
        # The names there, listed once: most employees have no conclusion collected (yet).
        with os.scandir(folder / RESPONSES) as entries:
            names = {e.name for e in entries}
    except (FileNotFoundError, NotADirectoryError):
        names = set()
    if not names:
        yield from responses
        return
    for response in responses:
        if f"{id_slug(response.employee.id)}.json" not in names:
            yield response
            continue
        found = next(read_responses(folder, [response.employee.id]), None)
        if found is not None and found.conclusion is not None:
            response = response.model_copy(update={"conclusion": found.conclusion})
        yield response


def collected(out: Path) -> Responses:
    """Every collected response in a results folder, to be gone through as often as needed,
    each time one at a time from disk."""
    iter_responses(out)  # no results: says so now
    return Responses(lambda: iter_responses(out))


def load_responses(out: Path) -> list[Response]:
    """Every collected response in a results folder, in employee order."""
    report = load_report(out)
    if report is None:
        raise no_results(out)
    return list(read_responses(out, report.returned))


def write_responses_json(
    out: Path, employee_ids: Iterable[str], *, as_made: Callable[[str], bool] | None = None
) -> None:
    """responses.json, one response at a time: a round of 50,000 never sits in memory whole.

    The same text ``json.dumps(list, indent=2)`` would give. ``as_made`` tells the
    employees whose response file holds the very text :meth:`Response.to_json` makes of it
    (written so by this run): the fast path (musforms.fastpath) indents that text as it is,
    without reading it into a model and writing it out again, which gives the same text.
    """
    from musforms import fastpath

    if not fastpath.enabled():
        as_made = None
    with atomic_writer(out / RESPONSES_JSON) as tmp, tmp.open("w", encoding="utf-8") as fh:
        fh.write("[")
        first = True
        for eid in employee_ids:
            path = response_path(out, eid)
            if not path.is_file():
                continue
            text = path.read_text(encoding="utf-8")
            if as_made is not None and text.endswith("\n") and as_made(eid):
                made = text[:-1]
            else:
                data = Response.model_validate(json.loads(text)).model_dump(
                    mode="json", by_alias=True
                )
                made = json.dumps(data, ensure_ascii=False, indent=2)
            fh.write("\n" if first else ",\n")
            # Indented at its line breaks alone: a text may hold a character Python counts
            # as one too (U+2028, U+0085), which JSON keeps as it is.
            fh.write("  " + made.replace("\n", "\n  "))
            first = False
        fh.write("]\n" if first else "\n]\n")
