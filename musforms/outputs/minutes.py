"""Minutes (referat): one Word document per employee, drafted from their returned form.

The document is rendered with docxtpl from a Word template with Jinja tags in its text: the
built-in ``form_templates/minutes.docx``, or HR's own. Every value is escaped, so ``<``, ``&``
and quotes in what employees wrote stay text, and their line breaks stay line breaks.

Variables a minutes template may use
------------------------------------

``organisation``
    The organisation's name (musforms.toml), or empty.
``title``
    The question set's title, e.g. "Forberedelse til MUS".
``cycle``
    The round, e.g. "2026".
``lang``
    The form's language: ``da`` or ``en``.
``employee``
    ``employee.id``, ``.name``, ``.department``, ``.email``, ``.leader``, ``.meeting_date``
    (dd-mm-åååå).
``leader``, ``meeting_date``
    The same as ``employee.leader`` and ``employee.meeting_date``.
``form_id``, ``form_code``
    The form's id and the short code printed in its footer.
``today``
    The day the minutes were drafted (dd-mm-åååå).
``sections``
    The preparation answers by section, in the form's order (agreements have their own
    table). Each ``s`` has ``s.title`` and ``s.answers``; each answer ``a`` has ``a.label``
    (the question), ``a.answer`` (the answer as text: a scale as "4 – Enig", a choice as its
    label, several choices one per line, a checkbox Ja/Nej, a date dd-mm-åååå; empty when
    unanswered), ``a.items`` (the chosen options of a multiple choice), ``a.answered``
    (true/false), ``a.type`` and ``a.id``.
``agreements``
    This round's agreements: ``a.number``, ``a.what``, ``a.owner``, ``a.due`` (dd-mm-åååå),
    ``a.status`` ("Åben" for new ones).
``previous_agreements``
    Last round's agreements with what the employee reported: ``a.number``, ``a.what``,
    ``a.owner``, ``a.due``, ``a.status`` (e.g. "Gennemført"), ``a.comment``.
``labels``
    musforms' fixed wording in the form's language, e.g. ``labels.agreements``
    ("Aftaler"), ``labels.minutes_title``, ``labels.signatures``; see ``LABEL_KEYS``.

A template that uses any other name is refused before anything is written, with the name in
the message. Tags: ``{{ … }}`` prints, ``{%p for … %}``/``{%p if … %}`` on a paragraph of
their own repeat or hide paragraphs, ``{%tr for … %}`` in a table row repeats rows.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import io
import json
import os
from collections.abc import Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

from musforms.errors import ConfigError
from musforms.files import atomic_writer, id_slug, inside, slug, write_text
from musforms.identity import form_code
from musforms.models import Organisation, QuestionSet, localize
from musforms.outputs.views import (
    AgreementRow,
    QuestionSets,
    agreement_rows,
    clean,
    danish_date,
    section_views,
)
from musforms.response import Response
from musforms.texts import t

DEFAULT_TEMPLATE = Path(__file__).resolve().parent.parent / "templates" / "minutes.docx"
TEMPLATE_NAME = "minutes.docx"
INDEX = ".index.json"
# Below this many drafts a process pool costs more than it saves.
POOL_THRESHOLD = 48  # per draft: a digest of what it was rendered from

VARIABLES = frozenset(
    {
        "organisation",
        "title",
        "cycle",
        "lang",
        "employee",
        "leader",
        "meeting_date",
        "form_id",
        "form_code",
        "today",
        "sections",
        "agreements",
        "previous_agreements",
        "labels",
    }
)

LABEL_KEYS = (
    "minutes_title",
    "employee",
    "employee_id",
    "name",
    "department",
    "manager",
    "meeting_date",
    "preparation",
    "conversation",
    "conversation_intro",
    "agreements",
    "no_agreements",
    "agreement",
    "what",
    "owner",
    "due",
    "status",
    "comment",
    "previous_title",
    "signatures",
    "date_signature",
    "form_code",
    "confidential",
    "yes",
    "no",
)


def template_near(config: Path) -> Path | None:
    """HR's own minutes template: ``form_templates/minutes.docx`` beside the config file's
    folder or one up, as for the forms' Word template."""
    for folder in (config.parent, config.parent.parent):
        candidate = folder / "form_templates" / TEMPLATE_NAME
        if candidate.is_file() and candidate.resolve() != DEFAULT_TEMPLATE.resolve():
            return candidate
    return None


def minutes_name(response: Response) -> str:
    """``1042-soeren-aeroe.docx``, like the form it was drafted from."""
    e = response.employee
    return f"{id_slug(e.id)}-{slug(e.name, 40)}.docx"


def _agreement(row: AgreementRow, lang: str) -> dict[str, Any]:
    return {
        "number": row.number,
        "what": row.what,
        "owner": row.owner,
        "due": danish_date(row.due),
        "status": row.status_text(lang),
        "comment": row.comment,
    }


def context(
    response: Response,
    qs: QuestionSet | None,
    lang: str,
    organisation: Organisation,
    today: dt.date,
) -> dict[str, Any]:
    """Everything a minutes template may print for one employee (see the module docstring)."""
    e = response.employee
    rows = agreement_rows([response])
    employee = {
        "id": clean(e.id),
        "name": clean(e.name),
        "department": clean(e.department),
        "email": clean(e.email),
        "leader": clean(e.manager),
        "meeting_date": danish_date(e.meeting_date),
    }
    sections = [
        {
            "id": s.section_id,
            "title": s.title,
            "answers": [
                {
                    "id": a.question_id,
                    "label": a.label,
                    "answer": a.text,
                    "items": list(a.items),
                    "answered": a.answered,
                    "type": a.type,
                }
                for a in s.answers
            ],
        }
        for s in section_views(response, qs, lang)
    ]
    return {
        "organisation": clean(organisation.name),
        "title": clean(localize(qs.title, lang)) if qs else "",
        "cycle": clean(response.form.cycle),
        "lang": lang,
        "employee": employee,
        "leader": employee["leader"],
        "meeting_date": employee["meeting_date"],
        "form_id": response.form.form_id,
        "form_code": form_code(response.form.form_id),
        "today": danish_date(today),
        "sections": sections,
        "agreements": [_agreement(r, lang) for r in rows if not r.previous],
        "previous_agreements": [_agreement(r, lang) for r in rows if r.previous],
        "labels": {key: t(key, lang) for key in LABEL_KEYS},
    }


@functools.cache
def _environment() -> Any:
    """A Jinja environment that escapes every value and refuses unknown names. docxtpl
    compiles the same template text for every document; keeping the compiled template
    halves the time each minutes draft takes."""
    from jinja2 import Environment, StrictUndefined, Template

    class CachingEnvironment(Environment):
        def __init__(self, **options: Any) -> None:
            super().__init__(**options)
            self.compiled: dict[str, Template] = {}

        def from_string(self, source: Any, globals: Any = None, template_class: Any = None) -> Any:
            if not isinstance(source, str) or globals is not None or template_class is not None:
                return super().from_string(source, globals, template_class)
            if source not in self.compiled:
                self.compiled[source] = super().from_string(source)
            return self.compiled[source]

    return CachingEnvironment(autoescape=True, undefined=StrictUndefined)


def check_template(path: Path) -> None:
    """Refuse a template that cannot be rendered: not a Word file, a broken tag, or a variable
    musforms does not provide (named in the message, with the ones it does)."""
    from docxtpl import DocxTemplate
    from jinja2 import TemplateSyntaxError

    if not path.is_file():
        raise ConfigError(f"the minutes template {path} does not exist")
    try:
        unknown = DocxTemplate(path).get_undeclared_template_variables(_environment())
    except TemplateSyntaxError as exc:
        raise ConfigError(
            f"the minutes template {path} has a broken tag: {exc.message}. "
            "Open it in Word and check the {{ … }} and {% … %} tags."
        ) from exc
    except Exception as exc:  # a damaged or non-Word file; docx/zip raise many kinds
        raise ConfigError(
            f"the minutes template {path} cannot be opened as a Word .docx file "
            f"({exc.__class__.__name__})"
        ) from exc
    unknown = set(unknown) - VARIABLES
    if unknown:
        names = ", ".join(sorted(unknown))
        raise ConfigError(
            f"the minutes template {path} uses {names}, which musforms does not provide. "
            f"Use only: {', '.join(sorted(VARIABLES))} (see README, 'Minutes template')."
        )


def render_minutes(template: Path | bytes, ctx: dict[str, Any]) -> bytes:
    """One rendered minutes document. The template (a path, or the file's bytes) should have
    passed ``check_template``."""
    from docxtpl import DocxTemplate
    from jinja2 import TemplateError, UndefinedError

    source = io.BytesIO(template) if isinstance(template, bytes) else template
    name = "" if isinstance(template, bytes) else f" {template}"
    doc = DocxTemplate(source)
    try:
        doc.render(ctx, _environment(), autoescape=True)
    except UndefinedError as exc:
        raise ConfigError(
            f"the minutes template{name} asks for something musforms does not provide "
            f"({exc.message}); see README, 'Minutes template'"
        ) from exc
    except TemplateError as exc:
        raise ConfigError(f"the minutes template{name} cannot be filled in: {exc.message}") from exc
    buf = io.BytesIO()
    doc.save(buf)
    return buf.getvalue()


_TEMPLATE: bytes = b""


def _init_worker(template: bytes) -> None:
    global _TEMPLATE
    _TEMPLATE = template


def _render_in_worker(ctx: dict[str, Any]) -> bytes:
    return render_minutes(_TEMPLATE, ctx)


def _render_all(
    template: bytes, contexts: list[dict[str, Any]], workers: int | None
) -> Iterator[bytes]:
    n_workers = workers if workers is not None else (os.cpu_count() or 1)
    if n_workers > 1 and len(contexts) >= POOL_THRESHOLD:
        with ProcessPoolExecutor(n_workers, initializer=_init_worker, initargs=(template,)) as pool:
            yield from pool.map(_render_in_worker, contexts, chunksize=16)
    else:
        for ctx in contexts:
            yield render_minutes(template, ctx)


def write_minutes(
    folder: Path,
    responses: Sequence[Response],
    question_sets: QuestionSets,
    organisation: Organisation,
    *,
    template: Path | None = None,
    today: dt.date | None = None,
    workers: int | None = None,
) -> list[Path]:
    """``folder/<id>-<name>.docx`` per response. A document whose content and template are
    unchanged since the last run is left as it is (collect runs again as forms arrive);
    many are drafted in parallel."""
    template = template or DEFAULT_TEMPLATE
    check_template(template)
    data = template.read_bytes()
    today = today or dt.date.today()
    template_digest = hashlib.sha256(data).hexdigest()
    index_path = folder / INDEX
    index = _load_index(index_path)
    written: list[Path] = []
    todo: list[tuple[Path, str, dict[str, Any]]] = []
    for response in responses:
        lang = question_sets.language(response, organisation.default_language)
        ctx = context(response, question_sets.for_response(response), lang, organisation, today)
        target = inside(folder, minutes_name(response))
        # `today` changes every day; it alone is no reason to draft the minutes again.
        fingerprint = hashlib.sha256(
            json.dumps({**ctx, "today": None, "template": template_digest}, sort_keys=True).encode()
        ).hexdigest()
        if not (index.get(target.name) == fingerprint and target.is_file()):
            todo.append((target, fingerprint, ctx))
        written.append(target)
    try:
        rendered = _render_all(data, [ctx for _, _, ctx in todo], workers)
        for (target, fingerprint, _), document in zip(todo, rendered, strict=True):
            with atomic_writer(target) as tmp:
                tmp.write_bytes(document)
            index[target.name] = fingerprint
    finally:
        write_text(index_path, json.dumps(index, indent=0, sort_keys=True) + "\n")
    return written


def _load_index(path: Path) -> dict[str, str]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return {str(k): str(v) for k, v in data.items()} if isinstance(data, dict) else {}


def prune_index(folder: Path) -> None:
    """Forget drafts that are gone (purged), so the index names only files that exist."""
    index_path = folder / INDEX
    index = _load_index(index_path)
    kept = {name: digest for name, digest in index.items() if (folder / name).is_file()}
    if kept != index:
        write_text(index_path, json.dumps(kept, indent=0, sort_keys=True) + "\n")
