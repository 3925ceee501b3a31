"""The fixed wording musforms puts on forms and minutes, in Danish and English
(musforms/texts.yaml).

Writers for every format take their words from here, so a PDF and a Word form say the same.
"""

from __future__ import annotations

from functools import cache
from importlib import resources
from typing import Literal

import yaml

# libyaml's loader where it is built in (ten times faster), else the pure-Python one.
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

Lang = Literal["da", "en"]


@cache
def _texts() -> dict[str, dict[str, str]]:
    # Loaded on first use: commands that print no form text never read it.
    text = resources.files("musforms").joinpath("texts.yaml").read_text(encoding="utf-8")
    loaded: dict[str, dict[str, str]] = yaml.load(text, Loader=_LOADER)  # noqa: S506 (safe)
    return loaded


AGREEMENT_STATUSES = ("done", "in_progress", "not_started", "dropped")


def t(key: str, lang: str, **values: object) -> str:
    """The fixed text ``key`` in ``lang`` (Danish when there is no such language)."""
    entry = _texts()[key]
    text = entry.get(lang) or entry["da"]
    return text.format(**values) if values else text


def previous_heading(checkin: bool) -> tuple[str, str]:
    """The keys of the agreements block's heading and help: last round's agreements in a
    preparation form, this round's in a check-in."""
    if checkin:
        return "checkin_previous_title", "checkin_previous_intro"
    return "previous_title", "previous_intro"


def status_label(status: str, lang: str) -> str:
    return t(f"status_{status}", lang)
