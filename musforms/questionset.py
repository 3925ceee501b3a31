"""Load, validate and lint question sets; the built-in sets that ship with musforms.

Every problem in a question set file becomes one readable line that names the file, the
line and the key or question, e.g.::

    questions.yaml, line 14: question 'fokus' (section 'status'): a choice question needs 'options'

The YAML is composed into nodes first (they know their line numbers) and only then
validated by the pydantic models, so an error's location in the model can be traced back
to the line where HR wrote it.
"""

from __future__ import annotations

import difflib
import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from musforms.errors import ConfigError
from musforms.i18n import N_, _, parse
from musforms.models import (
    ANY_LANGUAGE,
    OPTION_TWICE,
    QUESTION_TWICE,
    QUESTION_TYPES,
    Option,
    Question,
    QuestionSet,
    Scale,
    Section,
    localize,
)
from musforms.wording import counted

SETS_DIR = Path(__file__).parent / "sets"
BUILTIN_ORDER = ("standard", "kort", "leder", "konklusion", "opfoelgning")
# The check-in some months after the conversation (generate --followup): its agreements are
# those of the conversation, put in by musforms, so the set asks for none of its own.
CHECKIN_SET = "opfoelgning"
CHECKIN_SET_ID = "mus-opfoelgning"

# Above these, a form is too long to be filled in well (see lint()).
MAX_QUESTIONS = 25
MAX_MINUTES = 30
# A rough fill-in time per question type, in minutes: writing takes time, ticking does not.
MINUTES_PER_TYPE: dict[str, float] = {
    "textarea": 2.0,
    "text": 1.0,
    "agreements": 3.0,
    "multichoice": 1.0,
    "scale": 0.5,
    "choice": 0.5,
    "date": 0.5,
    "checkbox": 0.25,
}
LANGUAGE_NAMES = {"da": N_("Danish"), "en": N_("English")}

# Which model a key path leads to, for naming the valid keys of an unknown one.
_NESTED: dict[str, type[BaseModel]] = {
    "sections": Section,
    "questions": Question,
    "options": Option,
    "scale": Scale,
}


@dataclass(frozen=True, order=True)
class _Error:
    line: int | None
    message: str


WORKBOOK_SUFFIXES = (".xlsx", ".xlsm")
YAML_SUFFIXES = (".yaml", ".yml")


def is_workbook(path: Path) -> bool:
    """Whether ``path`` names a question set workbook (.xlsx) rather than a YAML file."""
    return path.suffix.lower() in WORKBOOK_SUFFIXES


def load_question_set(path: Path) -> QuestionSet:
    """Read and validate a question set file: YAML, or an Excel workbook (.xlsx).

    Raises ``ConfigError`` listing every problem found, one per line, each naming the
    file and the line (in a workbook: the sheet and the cell) and what is wrong.
    """
    if is_workbook(path):
        from musforms.questionbook import load_question_book

        return load_question_book(path)
    if path.suffix.lower() in (".xls", ".ods", ".numbers"):
        raise ConfigError(
            _(
                "{path}: musforms reads question sets as .yaml or as an Excel "
                "workbook (.xlsx); save it as Excel workbook (.xlsx)"
            ).format(path=path)
        )
    text = _read_text(path)
    root, data = _parse_yaml(path, text)
    errors = _duplicate_keys(root) + _duplicate_ids(root)
    try:
        qs = QuestionSet.model_validate(data)
    except ValidationError as exc:
        details = exc.errors()
        # A misspelt key ('lable') is also a missing one ('label'): say it once.
        unknown = [
            (tuple(e["loc"][:-1]), str(e["loc"][-1]))
            for e in details
            if e["type"] == "extra_forbidden"
        ]
        for err in details:
            if err["type"] == "value_error" and _used_twice(err["msg"]):
                continue  # reported by _duplicate_ids with the line of the second one
            if err["type"] == "missing" and any(
                parent == tuple(err["loc"][:-1])
                and difflib.get_close_matches(key, [str(err["loc"][-1])], cutoff=0.6)
                for parent, key in unknown
            ):
                continue
            errors.append(_describe(err, root, data))
        qs = None
    if errors or qs is None:
        raise ConfigError(_format(path, errors))
    return qs


def _used_twice(message: str) -> bool:
    """Whether a model's message says an id is used twice (reported with its line here)."""
    text = message.removeprefix("Value error, ")
    return parse(QUESTION_TWICE, text) is not None or parse(OPTION_TWICE, text) is not None


def _format(path: Path, errors: Sequence[_Error]) -> str:
    lines = []
    for err in sorted(set(errors), key=lambda e: (e.line or 0, e.message)):
        where = _("{path}, line {line}").format(path=path, line=err.line) if err.line else str(path)
        lines.append(f"{where}: {err.message}")
    return "\n".join(lines)


def _read_text(path: Path) -> str:
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise ConfigError(_("{path}: file not found").format(path=path)) from None
    except IsADirectoryError:
        raise ConfigError(
            _("{path}: is a folder; give the question set file (.yaml)").format(path=path)
        ) from None
    except OSError as exc:
        raise ConfigError(
            _("{path}: cannot be read ({strerror})").format(path=path, strerror=exc.strerror)
        ) from None
    if raw.startswith(b"PK\x03\x04"):
        raise ConfigError(
            _(
                "{path}: this is a zip file, e.g. an Excel workbook; name it .xlsx "
                "to use it as a question set workbook"
            ).format(path=path)
        )
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise ConfigError(
            _(
                "{path}, line {line}: the file is not UTF-8 text; save it as UTF-8 "
                "(in Notepad: Save as → Encoding: UTF-8)"
            ).format(path=path, line=line)
        ) from None


def _parse_yaml(path: Path, text: str) -> tuple[yaml.Node, Any]:
    loader = yaml.SafeLoader(text)
    try:
        root = loader.get_single_node()
        if root is None:
            raise ConfigError(
                _(
                    "{path}, line 1: the file is empty; start from a built-in set "
                    "(musforms init) or copy one with musforms sets"
                ).format(path=path)
            )
        data = loader.construct_document(root)
    except yaml.MarkedYAMLError as exc:
        line, problem = _yaml_problem(exc)
        where = f"{path}, line {line}" if line else str(path)
        raise ConfigError(
            _("{where}: YAML syntax error: {problem}").format(where=where, problem=problem)
        ) from None
    except yaml.YAMLError as exc:
        raise ConfigError(_("{path}: not valid YAML ({exc})").format(path=path, exc=exc)) from None
    finally:
        loader.dispose()
    return root, data


def _yaml_problem(exc: yaml.MarkedYAMLError) -> tuple[int | None, str]:
    """The line and a plain-words reading of a YAML syntax error."""
    problem, context = exc.problem or "", exc.context or ""
    mark = exc.problem_mark
    quote = 'put the text in double quotes, e.g. da: "Fokus: hvad vil du udvikle?"'
    if "simple key" in context:
        mark = exc.context_mark or mark
        text = "a key without ':' after it; write it as 'key: value'"
    elif "\\t" in problem:
        text = "a tab character; indent with spaces only"
    elif "mapping values are not allowed" in problem:
        text = f"a ':' inside a text; {quote}"
    elif "flow" in context:
        text = f"a text inside {{ … }} or [ … ] contains a special character (: ? , # [ ]); {quote}"
    elif "quoted scalar" in context:
        mark = exc.context_mark or mark
        text = 'a quote (") is opened but never closed'
    elif "expected <block end>" in problem:
        text = (
            "the indentation does not line up with the lines above; indent each level "
            "with the same number of spaces"
        )
    else:
        text = problem or context or "not valid YAML"
    return (int(mark.line) + 1 if mark else None), text


def _line(node: yaml.Node) -> int:
    return int(node.start_mark.line) + 1


def _walk(node: yaml.Node) -> Iterator[yaml.Node]:
    yield node
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            yield from _walk(key)
            yield from _walk(value)
    elif isinstance(node, yaml.SequenceNode):
        for item in node.value:
            yield from _walk(item)


def _duplicate_keys(root: yaml.Node) -> list[_Error]:
    """The same key twice in one mapping: YAML keeps only the last, silently."""
    errors = []
    for node in _walk(root):
        if not isinstance(node, yaml.MappingNode):
            continue
        seen: dict[str, int] = {}
        for key, _value in node.value:
            if not isinstance(key, yaml.ScalarNode):
                continue
            if key.value in seen:
                errors.append(
                    _Error(
                        _line(key),
                        _(
                            "key {value!r} appears twice here (first on line {seen}); only one "
                            "can count — remove or rename one"
                        ).format(value=key.value, seen=seen[key.value]),
                    )
                )
            else:
                seen[key.value] = _line(key)
    return errors


def _get(node: yaml.Node | None, key: str) -> yaml.Node | None:
    """The value under ``key`` in a mapping node (the last one, as YAML does)."""
    found = None
    if isinstance(node, yaml.MappingNode):
        for k, v in node.value:
            if isinstance(k, yaml.ScalarNode) and k.value == key:
                found = v
    return found


def _items(node: yaml.Node | None) -> list[yaml.Node]:
    return list(node.value) if isinstance(node, yaml.SequenceNode) else []


def _scalar(node: yaml.Node | None) -> str | None:
    return str(node.value) if isinstance(node, yaml.ScalarNode) else None


def _ids(
    nodes: list[yaml.Node], seen: dict[str, str], where: str
) -> Iterator[tuple[yaml.Node, yaml.Node, str, str | None]]:
    """Each node with an id: the node, its id's node, the id, and where the id was used
    before (None the first time). ``seen`` remembers ids and where they were."""
    for node in nodes:
        id_node = _get(node, "id")
        value = _scalar(id_node)
        if value is None or id_node is None:
            continue
        before = seen.get(value)
        seen.setdefault(value, where)
        yield node, id_node, value, before


def _duplicate_ids(root: yaml.Node) -> list[_Error]:
    """Question ids unique in the set, option ids unique in their question."""
    errors = []
    questions: dict[str, str] = {}
    for section in _items(_get(root, "sections")):
        sid = _scalar(_get(section, "id")) or "?"
        for question, id_node, qid, section_before in _ids(
            _items(_get(section, "questions")), questions, sid
        ):
            if section_before is not None:
                errors.append(
                    _Error(
                        _line(id_node),
                        _(
                            "question {qid!r} (section {sid!r}): the id {qid!r} is already "
                            "used in section {section_before!r}; every question needs its own "
                            "id"
                        ).format(qid=qid, sid=sid, section_before=section_before),
                    )
                )
            options: dict[str, str] = {}
            for _n, opt_node, oid, again in _ids(_items(_get(question, "options")), options, qid):
                if again is not None:
                    errors.append(
                        _Error(
                            _line(opt_node),
                            _(
                                "question {qid!r} (section {sid!r}): option id {oid!r} is "
                                "used twice"
                            ).format(qid=qid, sid=sid, oid=oid),
                        )
                    )
    return errors


def _locate(root: yaml.Node, loc: tuple[int | str, ...]) -> int:
    """The line of the deepest part of ``loc`` that the file has (a key's own line)."""
    node: yaml.Node | None = root
    line = _line(root)
    for part in loc:
        if isinstance(node, yaml.MappingNode):
            match = [(k, v) for k, v in node.value if _scalar(k) == str(part)]
            if not match:
                break
            key, node = match[-1]
            line = _line(key)
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int):
            if not 0 <= part < len(node.value):
                break
            node = node.value[part]
            line = _line(node)
        else:
            break
    return line


def _context(
    loc: tuple[int | str, ...], data: Any
) -> tuple[str, tuple[int | str, ...], type[BaseModel]]:
    """Name what ``loc`` points into (section, question, option) and what is left of it."""

    def ident(items: Any, index: int, named: str, numbered: str) -> str:
        try:
            item = items[index]
            if isinstance(item, dict) and isinstance(item.get("id"), str):
                return _(named).format(id=item["id"])
        except (IndexError, KeyError, TypeError):
            pass
        return _(numbered).format(number=index + 1)

    names: list[str] = []
    model: type[BaseModel] = QuestionSet
    rest = loc
    node = data
    for key, named, numbered, sub in (
        ("sections", N_("section {id!r}"), N_("section number {number}"), Section),
        ("questions", N_("question {id!r}"), N_("question number {number}"), Question),
        ("options", N_("option {id!r}"), N_("option number {number}"), Option),
    ):
        if len(rest) >= 2 and rest[0] == key and isinstance(rest[1], int):
            items = node.get(key) if isinstance(node, dict) else None
            names.append(ident(items, rest[1], named, numbered))
            try:
                node = items[rest[1]]  # type: ignore[index]
            except (IndexError, KeyError, TypeError):
                node = None
            model, rest = sub, rest[2:]
        else:
            break
    # "question 'fokus' (section 'status')", "option 'ja' of question 'x' (section 's')"
    if len(names) == 3:
        where = _("{names} of {names2} ({names3})").format(
            names=names[2], names2=names[1], names3=names[0]
        )
    elif len(names) == 2:
        where = f"{names[1]} ({names[0]})"
    else:
        where = names[0] if names else ""
    return where, rest, model


def _describe(err: ErrorDetails, root: yaml.Node, data: Any) -> _Error:
    loc = tuple(err["loc"])
    line = _locate(root, loc)
    where, rest, model = _context(loc, data)
    msg = _message(err, rest, model)
    return _Error(line, f"{where}: {msg}" if where else msg)


def _field(rest: tuple[int | str, ...]) -> str:
    parts = [str(p) for p in rest if p != "[key]"]
    return ".".join(parts)


def _message(err: ErrorDetails, rest: tuple[int | str, ...], model: type[BaseModel]) -> str:
    kind = err["type"]
    value = err.get("input")
    field = _field(rest)
    prefix = f"{field}: " if field else ""
    if kind == "extra_forbidden":
        key = str(rest[-1])
        for part in rest[:-1]:
            if isinstance(part, str) and part in _NESTED:
                model = _NESTED[part]
        valid = list(model.model_fields)
        close = difflib.get_close_matches(key, valid, n=1, cutoff=0.6)
        if close:
            return _("unknown key {key!r}; did you mean {close!r}?").format(key=key, close=close[0])
        return _("unknown key {key!r}; the keys allowed here are {valid}").format(
            key=key, valid=", ".join(valid)
        )
    if kind == "missing":
        key = str(rest[-1]) if rest else "?"
        if key == "musforms":
            return _("'musforms: 1' is missing (the file-format version, on the first line)")
        return _("{key!r} is missing").format(key=key)
    if kind == "literal_error" and rest[-1:] == ("type",):
        types = ", ".join(QUESTION_TYPES)
        close = difflib.get_close_matches(str(value), QUESTION_TYPES, n=1, cutoff=0.6)
        maybe = _(" (did you mean {close!r}?)").format(close=close[0]) if close else ""
        return _("unknown type {value!r}{maybe}; the types are {types}").format(
            value=value, maybe=maybe, types=types
        )
    if kind == "literal_error" and rest[:1] == ("musforms",):
        return _("'musforms' must be 1 (the file-format version), not {value!r}").format(
            value=value
        )
    if kind == "literal_error" and rest[:1] == ("languages",):
        return _("unknown language {value!r} in 'languages'; use da or en").format(value=value)
    if kind == "value_error":
        text = err["msg"].removeprefix("Value error, ")
        if not rest or rest[-1] in ("id", "scale"):
            return text
        return prefix + text
    if kind == "string_type":
        if isinstance(value, bool):
            return _(
                "{prefix}should be text, but YAML read it as {lower} "
                "(yes/no/on/off mean true/false in YAML) — put it in quotes, e.g. "
                "'no'"
            ).format(prefix=prefix, lower=str(value).lower())
        if value is None:
            return _("{prefix}is empty").format(prefix=prefix)
        return _("{prefix}should be text; put it in quotes").format(prefix=prefix)
    if kind in ("int_type", "int_parsing", "int_from_float"):
        return _("{prefix}should be a whole number, not {value!r}").format(
            prefix=prefix, value=value
        )
    if kind in ("bool_type", "bool_parsing"):
        return _("{prefix}should be true or false, not {value!r}").format(
            prefix=prefix, value=value
        )
    if kind == "dict_type":
        if value is None:
            return _("{prefix}is empty").format(prefix=prefix)
        return _("{prefix}give the text as a string or as {{da: …, en: …}}").format(prefix=prefix)
    if kind == "list_type":
        return _("{prefix}should be a list, each item on its own line starting with '- '").format(
            prefix=prefix
        )
    if kind == "too_short":
        needs = {
            "sections": N_("{prefix}needs at least one section"),
            "questions": N_("{prefix}needs at least one question"),
        }.get(field, N_("{prefix}needs at least one item"))
        return _(needs).format(prefix=prefix)
    if kind == "model_type":
        if not rest and model is QuestionSet:
            return _(
                "the file should start with keys like 'musforms: 1', 'id:', 'version:', "
                "'title:' and 'sections:'"
            )
        return _("{prefix}should be keys and values (like 'id: …'), not {value!r}").format(
            prefix=prefix, value=value
        )
    return prefix + err["msg"].replace("Input should be", "should be")


# ---------------------------------------------------------------------------------------
# Writing a question set: YAML, a workbook, one into the other.


def _yaml_text(text: dict[str, str]) -> str | dict[str, str]:
    return text[ANY_LANGUAGE] if list(text) == [ANY_LANGUAGE] else dict(text)


def _yaml_data(qs: QuestionSet) -> dict[str, Any]:
    """The set as the YAML file writes it: only what is not a default, texts as da/en."""
    data: dict[str, Any] = {"musforms": qs.musforms, "id": qs.id, "version": qs.version}
    if qs.languages is not None:
        data["languages"] = list(qs.languages)
    data["title"] = _yaml_text(qs.title)
    for key in ("description", "intro"):
        text = getattr(qs, key)
        if text is not None:
            data[key] = _yaml_text(text)
    sections = []
    for section in qs.sections:
        s: dict[str, Any] = {"id": section.id, "title": _yaml_text(section.title)}
        if section.intro is not None:
            s["intro"] = _yaml_text(section.intro)
        questions = []
        for q in section.questions:
            item: dict[str, Any] = {"id": q.id, "type": q.type}
            if q.required:
                item["required"] = True
            if q.rows is not None:
                item["rows"] = q.rows
            item["label"] = _yaml_text(q.label)
            if q.help is not None:
                item["help"] = _yaml_text(q.help)
            if q.scale is not None:
                scale: dict[str, Any] = {"min": q.scale.min, "max": q.scale.max}
                if q.scale.labels:
                    scale["labels"] = {v: _yaml_text(t) for v, t in q.scale.labels.items()}
                item["scale"] = scale
            if q.options is not None:
                item["options"] = [{"id": o.id, "label": _yaml_text(o.label)} for o in q.options]
            questions.append(item)
        s["questions"] = questions
        sections.append(s)
    data["sections"] = sections
    return data


def dump_question_set(qs: QuestionSet, comment: str = "") -> str:
    """``qs`` as YAML text that loads back as the same question set (the same digest)."""
    text = yaml.safe_dump(
        _yaml_data(qs), allow_unicode=True, sort_keys=False, width=100, default_flow_style=False
    )
    head = "".join(f"# {line}\n" if line else "#\n" for line in comment.splitlines())
    return head + text


def write_question_set(qs: QuestionSet, path: Path, comment: str = "") -> None:
    """Write ``qs`` to ``path``: a workbook for .xlsx, YAML for .yaml/.yml."""
    from musforms.files import write_text

    if is_workbook(path):
        from musforms.questionbook import write_question_book

        write_question_book(qs, path)
    elif path.suffix.lower() in YAML_SUFFIXES:
        write_text(path, dump_question_set(qs, comment))
    else:
        raise ConfigError(
            _("{path}: give the new file the ending .xlsx (an Excel workbook) or .yaml").format(
                path=path
            )
        )


def convert_question_set(source: Path, target: Path, *, force: bool = False) -> QuestionSet:
    """Write the question set in ``source`` to ``target`` in the other form (YAML ↔ .xlsx).

    The result is read back and must mean the same (the same digest) before this returns;
    YAML comments are not carried over.
    """
    from musforms.formdata import question_set_digest

    if target.suffix.lower() not in (*WORKBOOK_SUFFIXES, *YAML_SUFFIXES):
        raise ConfigError(
            _("{target}: give the new file the ending .xlsx (an Excel workbook) or .yaml").format(
                target=target
            )
        )
    if target.exists() and target.resolve() == source.resolve():
        raise ConfigError(
            _("{target}: is the file being converted; give another name").format(target=target)
        )
    if target.exists() and not force:
        raise ConfigError(
            _("{target} already exists; use --force to overwrite it").format(target=target)
        )
    qs = load_question_set(source)
    write_question_set(qs, target, comment=f"Spørgsmålssæt, skrevet fra {source.name}.")
    again = load_question_set(target)
    if question_set_digest(again) != question_set_digest(qs):
        raise ConfigError(
            _(
                "{target}: reads back as a different question set than {source}; "
                "this is a bug in musforms: keep using {{source}} and report it"
            ).format(target=target, source=source)
        )
    return qs


# ---------------------------------------------------------------------------------------
# Lint: valid, but not a good form.


def estimate_minutes(qs: QuestionSet) -> int:
    """A rough time to fill in the form, in whole minutes (see ``MINUTES_PER_TYPE``)."""
    return math.ceil(sum(MINUTES_PER_TYPE[q.type] for q in qs.questions()))


def _estimate_rule() -> str:
    return ", ".join(f"{t} {m:g}" for t, m in MINUTES_PER_TYPE.items())


def lint(qs: QuestionSet) -> list[str]:
    """Warnings about a valid question set that will not work well, one line each."""
    warnings: list[str] = []
    questions = qs.questions()
    advice = (
        "a short, focused form is used better than a long one (the advice HR departments "
        'give from their own rounds: "lad være med at være overambitiøse" — a form of 140 '
        "questions helps no one)"
    )
    if len(questions) > MAX_QUESTIONS:
        warnings.append(
            _(
                "{questions} questions is above {max_questions}: {advice}; keep "
                "the questions that lead to agreements"
            ).format(questions=len(questions), max_questions=MAX_QUESTIONS, advice=advice)
        )
    minutes = estimate_minutes(qs)
    if minutes > MAX_MINUTES:
        warnings.append(
            _(
                "about {minutes} minutes to fill in is above {max_minutes} "
                "(minutes per question: {estimate_rule}): {advice}"
            ).format(
                minutes=minutes,
                max_minutes=MAX_MINUTES,
                estimate_rule=_estimate_rule(),
                advice=advice,
            )
        )
    warnings.extend(_missing_languages(qs))
    for section in qs.sections:
        for q in section.questions:
            if q.scale is None:
                continue
            for value in q.scale.labels:
                if value not in q.scale.values():
                    warnings.append(
                        _(
                            "question {id!r} (section {id2!r}): the scale label for {value} is "
                            "outside the scale {min}–{max} and will not be shown"
                        ).format(
                            id=q.id, id2=section.id, value=value, min=q.scale.min, max=q.scale.max
                        )
                    )
    if qs.id != CHECKIN_SET_ID and not any(q.type == "agreements" for q in questions):
        warnings.append(
            _(
                "no agreements question: a MUS should end in a few concrete agreements "
                "(what, who, by when) that are followed up — add a question of type agreements"
            )
        )
    return warnings


def lint_file(path: Path, qs: QuestionSet) -> list[str]:
    """``lint(qs)`` for the set loaded from ``path``, each warning after the file it is
    about: ``questions.yaml: …``, in a workbook with the sheet and cell
    (``questions.xlsx, ark 'spørgsmål', celle D5: …``)."""
    warnings = lint(qs)
    if not is_workbook(path):
        return [f"{path}: {w}" for w in warnings]
    from musforms.questionbook import locate_warnings

    return [
        f"{path}, {located}" if located != warning else f"{path}: {warning}"
        for located, warning in zip(locate_warnings(path, qs, warnings), warnings, strict=True)
    ]


def _missing_languages(qs: QuestionSet) -> list[str]:
    langs = qs.declared_languages()
    if len(langs) < 2:
        return []

    def missing(text: dict[str, str] | None) -> list[str]:
        if not text or ANY_LANGUAGE in text:
            return []
        return [lang for lang in langs if lang not in text]

    def warn(where: str, parts: list[tuple[str, dict[str, str] | None]]) -> None:
        by_lang: dict[str, list[str]] = {}
        for name, text in parts:
            for lang in missing(text):
                by_lang.setdefault(lang, []).append(name)
        for lang, names in by_lang.items():
            language = _(LANGUAGE_NAMES[lang]) if lang in LANGUAGE_NAMES else lang
            warnings.append(
                _("{where}: no {language} ({lang}) text on {names}").format(
                    where=where, language=language, lang=lang, names=", ".join(names)
                )
            )

    warnings: list[str] = []
    warn(
        _("the question set"),
        [("title", qs.title), ("description", qs.description), ("intro", qs.intro)],
    )
    for section in qs.sections:
        warn(
            _("section {id!r}").format(id=section.id),
            [("title", section.title), ("intro", section.intro)],
        )
        for q in section.questions:
            parts: list[tuple[str, dict[str, str] | None]] = [
                ("label", q.label),
                ("help", q.help),
            ]
            parts += [(_("option {id!r}").format(id=o.id), o.label) for o in q.options or []]
            if q.scale:
                parts += [
                    (_("scale label {value}").format(value=v), t) for v, t in q.scale.labels.items()
                ]
            warn(_("question {id!r} (section {id2!r})").format(id=q.id, id2=section.id), parts)
    return warnings


def summary(qs: QuestionSet, lang: str = "da") -> str:
    """``<title> — N sections, M questions, about K minutes``."""
    n_sections, n_questions = len(qs.sections), len(qs.questions())
    return _("{title} — {sections}, {questions}, about {minutes} minutes").format(
        title=localize(qs.title, lang),
        sections=counted(n_sections, "section", "sections"),
        questions=counted(n_questions, "question", "questions"),
        minutes=estimate_minutes(qs),
    )


# ---------------------------------------------------------------------------------------
# Built-in sets.


def builtin_sets() -> dict[str, Path]:
    """The question sets shipped with musforms, by name: standard, kort, leder, konklusion,
    opfoelgning."""
    found = {p.stem: p for p in SETS_DIR.glob("*.yaml")}
    order = [n for n in BUILTIN_ORDER if n in found] + sorted(set(found) - set(BUILTIN_ORDER))
    return {name: found[name] for name in order}


def builtin_description(name: str, lang: str = "da") -> str:
    """The one-line description of a built-in set, in ``lang``."""
    sets = builtin_sets()
    if name not in sets:
        raise ConfigError(
            _("no built-in question set {name!r}; choose one of {sets}").format(
                name=name, sets=", ".join(sets)
            )
        )
    qs = load_question_set(sets[name])
    return localize(qs.description or qs.title, lang)


def resolve_question_set(arg: str) -> Path:
    """A question set file, or the file of a built-in set named ``arg`` (``standard``)."""
    path = Path(arg)
    if path.exists():
        return path
    sets = builtin_sets()
    if arg in sets:
        return sets[arg]
    if path.suffix or "/" in arg or "\\" in arg:
        raise ConfigError(_("{arg}: file not found").format(arg=arg))
    raise ConfigError(
        _("{arg!r} is neither a file nor a built-in question set ({sets})").format(
            arg=arg, sets=", ".join(sets)
        )
    )
