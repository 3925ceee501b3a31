"""Organisation settings from ``musforms.toml``: name, logo, language, follow-up, retention,
and the anonymity threshold of ``musforms report``.

The file sits beside the question set (``config/musforms.toml``) or is given with
``--config``. Without one, the defaults apply. Unknown keys are errors that name the file
and the line, like every other config error.
"""

from __future__ import annotations

import difflib
import re
import tomllib
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from musforms.errors import ConfigError
from musforms.i18n import _
from musforms.models import Organisation

FILE_NAME = "musforms.toml"
LOGO_TYPES = (".png", ".jpg", ".jpeg")
# The key HR writes in the file → the Organisation field it sets.
KEYS = {
    "organisation": "name",
    "logo": "logo",
    "default_language": "default_language",
    "followup_months": "followup_months",
    "retention_months": "retention_months",
    "anonymity_min": "anonymity_min",
}
_FIELD_KEY = {field: key for key, field in KEYS.items()}


def find_settings(near: Path | None) -> Path | None:
    """``musforms.toml`` beside ``near`` (a question set file or a folder), if there is one."""
    if near is None:
        return None
    folder = near if near.is_dir() else near.parent
    candidate = folder / FILE_NAME
    return candidate if candidate.is_file() else None


def load_settings(path: Path | None = None, *, near: Path | None = None) -> Organisation:
    """The organisation settings from ``path``, else from beside ``near``, else defaults.

    Raises ``ConfigError`` naming the file and line of every problem.
    """
    if path is None:
        path = find_settings(near)
        if path is None:
            return Organisation()
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise ConfigError(_("{path}: file not found").format(path=path)) from None
    except OSError as exc:
        raise ConfigError(
            _("{path}: cannot be read ({strerror})").format(path=path, strerror=exc.strerror)
        ) from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise ConfigError(
            _("{path}, line {line}: the file is not UTF-8 text; save it as UTF-8").format(
                path=path, line=line
            )
        ) from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        m = re.search(r"\(at line (\d+), column \d+\)", str(exc))
        what = re.sub(r"\s*\(at line.*\)$", "", str(exc))
        where = f"{path}, line {m.group(1)}" if m else str(path)
        bad = text.splitlines()[int(m.group(1)) - 1] if m else ""
        raise ConfigError(
            _("{where}: TOML syntax error: {what} ({syntax_hint})").format(
                where=where, what=what, syntax_hint=_syntax_hint(bad)
            )
        ) from None
    errors: list[str] = []
    values: dict[str, Any] = {}
    for key, value in data.items():
        if key not in KEYS:
            close = difflib.get_close_matches(key, list(KEYS), n=1, cutoff=0.6)
            hint = f"did you mean {close[0]!r}?" if close else f"the keys are {', '.join(KEYS)}"
            errors.append(
                _("{where}: unknown key {key!r}; {hint}").format(
                    where=_where(path, text, key), key=key, hint=hint
                )
            )
        else:
            values[KEYS[key]] = value
    if isinstance(values.get("logo"), str) and values["logo"]:
        values["logo"] = _logo(path, text, values["logo"], errors)
    try:
        organisation = Organisation.model_validate(values)
    except ValidationError as exc:
        for err in exc.errors():
            key = _FIELD_KEY.get(str(err["loc"][0]), str(err["loc"][0])) if err["loc"] else ""
            message = _message(err["msg"])
            if key in _NUMBER_KEYS and err["type"].startswith("int"):
                message = f"should be a number of months, e.g. {key} = {_NUMBER_KEYS[key]}"
            errors.append(f"{_where(path, text, key)}: {key}: {message}")
        organisation = None
    if errors or organisation is None:
        errors.sort(key=_line_number)
        raise ConfigError("\n".join(errors))
    return organisation


# What each key takes, for the hint on a line TOML cannot read.
_NUMBER_KEYS = {"followup_months": 3, "retention_months": 36}
_TEXT_KEYS = {"organisation": "Eksempel Kommune", "logo": "logo.png", "default_language": "da"}


def _syntax_hint(line: str) -> str:
    """How the line TOML could not read should be written: a number of months without
    quotes, a text in quotes."""
    m = re.match(r"\s*\"?([A-Za-z_]+)\"?\s*=", line)
    key = m.group(1) if m else ""
    if key in _NUMBER_KEYS:
        return (
            f"{key} is a number of months, written as digits without quotes: "
            f"{key} = {_NUMBER_KEYS[key]}"
        )
    example = _TEXT_KEYS.get(key)
    if example is not None:
        return f'{key} is a text, written in quotes: {key} = "{example}"'
    return 'text values need quotes: organisation = "Eksempel Kommune"'


def _line_number(error: str) -> int:
    m = re.search(r", line (\d+):", error)
    return int(m.group(1)) if m else 0


def _message(msg: str) -> str:
    return msg.removeprefix("Value error, ").replace("Input should be", "should be")


def _logo(path: Path, text: str, logo: str, errors: list[str]) -> str:
    """The logo as an absolute path; a relative one is relative to the settings file."""
    logo_path = Path(logo).expanduser()
    if not logo_path.is_absolute():
        logo_path = path.parent / logo_path
    if logo_path.suffix.lower() not in LOGO_TYPES:
        errors.append(
            _("{where}: logo {logo!r} should be a PNG or JPEG picture").format(
                where=_where(path, text, "logo"), logo=logo
            )
        )
    elif not logo_path.is_file():
        errors.append(
            _("{where}: logo {logo!r} not found (looked for {resolve})").format(
                where=_where(path, text, "logo"), logo=logo, resolve=logo_path.resolve()
            )
        )
    return str(logo_path.resolve())


def _where(path: Path, text: str, key: str) -> str:
    """``file, line N`` for the line that sets ``key`` (tomllib gives no lines for keys)."""
    if key:
        pattern = re.compile(
            rf"^\s*(?:{re.escape(key)}|\"{re.escape(key)}\"|\[\s*{re.escape(key)}\s*\])\s*(=|$)"
        )
        for number, line in enumerate(text.splitlines(), start=1):
            if pattern.match(line):
                return f"{path}, line {number}"
    return str(path)
