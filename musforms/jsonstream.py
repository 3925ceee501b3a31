"""Reading large JSON files one item at a time.

manifest.json and report.json grow with the round (tens of MB at 50,000 employees); parsed
whole they would cost memory in proportion to it. ijson reads them as a stream, so only the
item in hand is ever in memory.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any, TypeVar

import ijson
from pydantic import BaseModel, ValidationError

from musforms.errors import ConfigError
from musforms.i18n import _

_SCALARS = ("string", "number", "boolean", "null")

M = TypeVar("M", bound=BaseModel)


def load_model(path: Path, model: type[M], damaged: ConfigError) -> M | None:
    """A small JSON file read whole as ``model``; None when there is none, ``damaged``
    raised when it cannot be read as one."""
    if not path.is_file():
        return None
    try:
        return model.model_validate(json.loads(path.read_text(encoding="utf-8")))
    except (OSError, ValueError, ValidationError) as exc:
        raise damaged from exc


def items(path: Path, prefix: str, what: str) -> Iterator[Any]:
    """The values at ``prefix`` (ijson's notation: ``forms.item`` is each element of the
    top-level ``forms`` array) in ``path``, one at a time. ``what`` names the file for the
    HR officer when it is damaged."""
    with _open(path, what) as fh:
        try:
            yield from ijson.items(fh, prefix, use_float=True)
        except ijson.JSONError as exc:
            raise _damaged(path, what, exc) from exc


def head(path: Path, what: str, *, skip: tuple[str, ...] = ()) -> dict[str, Any]:
    """The top-level members of the object in ``path`` except those named in ``skip``, which
    are passed over without being built (the long lists)."""
    out: dict[str, Any] = {}
    with _open(path, what) as fh:
        try:
            for key, value in ijson.kvitems(_without(ijson.parse(fh, use_float=True), skip), ""):
                out[key] = value
        except ijson.JSONError as exc:
            raise _damaged(path, what, exc) from exc
    return out


def _without(events: Iterator[tuple[str, str, Any]], skip: tuple[str, ...]) -> Iterator[Any]:
    """ijson parse events, with the top-level members named in ``skip`` left out."""
    skipping = ""
    for prefix, event, value in events:
        if skipping:
            if prefix == skipping and (event in ("end_array", "end_map") or event in _SCALARS):
                skipping = ""
            continue
        if prefix == "" and event == "map_key" and value in skip:
            skipping = value
            continue
        yield prefix, event, value


def _open(path: Path, what: str) -> Any:
    try:
        return path.open("rb")
    except OSError as exc:
        raise ConfigError(
            _("{path} ({what}) cannot be opened: {strerror}").format(
                path=path, what=what, strerror=exc.strerror
            )
        ) from exc


def _damaged(path: Path, what: str, exc: Exception) -> ConfigError:
    # The parser's own words ("premature EOF", with the bytes around the fault) mean nothing
    # to the reader and may quote the file; --debug shows them.
    reason = (
        "it ends too early, as if cut off"
        if "premature EOF" in str(exc)
        else ("it is not valid JSON")
    )
    return ConfigError(
        _("{path} ({what}) is damaged and cannot be read: {reason}").format(
            path=path, what=what, reason=reason
        )
    )
