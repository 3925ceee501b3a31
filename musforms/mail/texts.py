"""The mail texts HR edits: subject and body of the invitation, the reminder, the leaders'
mail and the check-in's invitation, in Danish and English.

A text file (``invitation.da.txt``) has the subject on its first line, then a blank line, then
the body. Placeholders in braces are filled in per message: ``{navn}`` or ``{name}``, and so
on (:data:`PLACEHOLDERS`); either language's names work in either file. ``{{`` and ``}}``
write a brace itself. A placeholder musforms does not know is an error naming the file, the
line and the placeholder, found before anything is sent.

Where the texts are looked up (:func:`texts_folder`): ``--texts DIR``; else ``config/mail/``
in the forms folder or the nearest folder above it that has one (``musforms init`` writes
it); else the built-in texts. In that folder the employee's language picks the file
(``invitation.en.txt``), falling back to the organisation's language (``.da.txt``); a kind
with neither file there uses the built-in text in the employee's language.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Literal

from musforms.errors import ConfigError
from musforms.i18n import _

# "checkin": the invitation to a check-in form (a forms folder of generate --followup).
Kind = Literal["invitation", "reminder", "leaders", "checkin"]
KINDS: tuple[Kind, ...] = ("invitation", "reminder", "leaders", "checkin")
LANGUAGES = ("da", "en")
FOLDER = Path("config") / "mail"  # in a round's folder, as musforms init writes it

# Placeholder → what it stands for (the name the code uses). Danish and English names.
_EMPLOYEE = {
    "navn": "name", "name": "name",
    "fornavn": "first_name", "first_name": "first_name",
    "leder": "leader", "leader": "leader",
    "mødedato": "meeting_date", "moededato": "meeting_date", "meeting_date": "meeting_date",
    "frist": "deadline", "deadline": "deadline",
    "afdeling": "department", "department": "department",
    "organisation": "organisation",
}  # fmt: skip
_LEADER = {
    "leder": "leader", "leader": "leader",
    "antal": "count", "count": "count",
    "frist": "deadline", "deadline": "deadline",
    "organisation": "organisation",
}  # fmt: skip
PLACEHOLDERS: dict[Kind, dict[str, str]] = {
    "invitation": _EMPLOYEE,
    "reminder": _EMPLOYEE,
    "leaders": _LEADER,
    "checkin": _EMPLOYEE,
}
_TOKEN = re.compile(r"\{\{|\}\}|\{([^{}\n]*)\}|[{}]")


@dataclass(frozen=True)
class MailText:
    """One text, checked: its subject and body with the placeholders still in them."""

    kind: Kind
    lang: str
    source: str  # the file it came from, or "built-in"
    subject: str
    body: str
    uses: frozenset[str]  # the values its placeholders stand for ("name", "deadline", …)

    def render(self, values: dict[str, str]) -> tuple[str, str]:
        """Subject and body with every placeholder filled in from ``values``."""
        names = PLACEHOLDERS[self.kind]
        # A subject is one line, whatever a roster cell holds (a line break typed into a name).
        subject = " ".join(_fill(self.subject, names, values).split())
        return subject, _fill(self.body, names, values)


def _fill(text: str, names: dict[str, str], values: dict[str, str]) -> str:
    def one(m: re.Match[str]) -> str:
        token = m.group(0)
        if token in ("{{", "}}"):
            return token[0]
        return values[names[m.group(1).strip()]]

    return _TOKEN.sub(one, text)


def parse_text(text: str, kind: Kind, lang: str, source: str) -> MailText:
    """A text file's content, checked. Raises ``ConfigError`` naming ``source``, the line and
    what is wrong, for every problem in it."""
    lines = text.replace("\r\n", "\n").replace("\r", "\n").lstrip("\ufeff").split("\n")
    problems = []
    if not lines[0].strip():
        problems.append(
            _("{source}, line 1: the first line is the subject, and it is empty").format(
                source=source
            )
        )
    elif len(lines) > 1 and lines[1].strip():
        problems.append(
            _(
                "{source}, line 2: put a blank line between the subject (line 1) and the text"
            ).format(source=source)
        )
    names = PLACEHOLDERS[kind]
    uses = set()
    for number, line in enumerate(lines, 1):
        for m in _TOKEN.finditer(line):
            token = m.group(0)
            if token in ("{{", "}}"):
                continue
            if token in ("{", "}"):
                problems.append(
                    _(
                        "{source}, line {number}: a lone '{token}'; write {{{{ or }}}} for "
                        "a brace itself"
                    ).format(source=source, number=number, token=token)
                )
                continue
            name = m.group(1).strip()
            if name not in names:
                known = ", ".join("{" + n + "}" for n in names)
                problems.append(
                    _(
                        "{source}, line {number}: {token} is not a placeholder musforms "
                        "knows; use one of {known}"
                    ).format(source=source, number=number, token=token, known=known)
                )
            else:
                uses.add(names[name])
    if problems:
        raise ConfigError("; ".join(problems))
    body = "\n".join(lines[2:]).strip("\n") + "\n"
    return MailText(kind, lang, source, lines[0].strip(), body, frozenset(uses))


def builtin_text(kind: Kind, lang: str) -> str:
    """The text musforms comes with (and ``musforms init`` copies into config/mail/)."""
    name = f"{kind}.{lang if lang in LANGUAGES else 'da'}.txt"
    files = resources.files("musforms").joinpath("templates", "mail", name)
    return files.read_text(encoding="utf-8")


def builtin_files() -> dict[str, str]:
    """Every built-in text by its file name, for ``musforms init``."""
    return {f"{k}.{lang}.txt": builtin_text(k, lang) for k in KINDS for lang in LANGUAGES}


def texts_folder(forms_dir: Path, texts: Path | None) -> Path | None:
    """Where HR's texts are: ``texts``, else ``config/mail/`` in ``forms_dir`` or the nearest
    folder above it, else None (the built-in texts)."""
    if texts is not None:
        if not texts.is_dir():
            raise ConfigError(
                _("{texts} is not a folder: give --texts the folder of the mail texts").format(
                    texts=texts
                )
            )
        return texts
    start = forms_dir.resolve()
    for folder in (start, *start.parents):
        if (folder / FOLDER).is_dir():
            return folder / FOLDER
    return None


def load_text(folder: Path | None, kind: Kind, lang: str, fallback: str) -> MailText:
    """The ``kind`` text for an employee of language ``lang``: from ``folder`` in ``lang``,
    else in ``fallback`` (the organisation's language), else built in."""
    if folder is not None:
        for want in dict.fromkeys((lang, fallback)):
            path = folder / f"{kind}.{want}.txt"
            if path.is_file():
                try:
                    text = path.read_bytes().decode("utf-8-sig")
                except UnicodeDecodeError:
                    raise ConfigError(
                        _("{path}: the file is not UTF-8 text; save it as UTF-8").format(path=path)
                    ) from None
                except OSError as exc:
                    raise ConfigError(
                        _("{path}: cannot be read ({strerror})").format(
                            path=path, strerror=exc.strerror
                        )
                    ) from None
                return parse_text(text, kind, want, str(path))
    return parse_text(builtin_text(kind, lang), kind, lang, f"the built-in {kind}.{lang}.txt")
