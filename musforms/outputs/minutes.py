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
    label, several choices one per line, a checkbox Ja/Nej, a date dd-mm-åååå; "Ikke
    besvaret"/"Not answered" when unanswered), ``a.items`` (the chosen options of a multiple
    choice), ``a.answered`` (true/false: test this, not ``a.answer``), ``a.type`` and ``a.id``.
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

Each draft is made by :class:`CompiledTemplate`, a hand-written fast path over docxtpl's and
python-docx's internals, when the template allows it; else, and always when
``MUSFORMS_FAST_PATHS=0`` (see ``musforms.fastpath``), by docxtpl's own ``render`` and
``save``, the reference the fast path is tested against.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import hashlib
import io
import json
import re
import sqlite3
import struct
import zipfile
import zlib
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from importlib import metadata, resources
from pathlib import Path
from typing import Any

import ijson

from musforms import fastpath
from musforms.errors import ConfigError
from musforms.files import atomic_writer, earlier_slug, id_slug, inside, slug, write_bytes
from musforms.i18n import _
from musforms.identity import form_code
from musforms.models import Organisation, QuestionSet, localize
from musforms.outputs.spool import PAGE, spool_db
from musforms.outputs.views import (
    AgreementRow,
    QuestionSets,
    agreement_rows,
    clean,
    danish_date,
    section_views,
)
from musforms.pool import OrderedPool, Task
from musforms.response import Response
from musforms.texts import t
from musforms.written import Identity, identity

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
    "not_answered",
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


def earlier_minutes_names(response: Response) -> list[str]:
    """The names earlier versions gave this response's minutes draft, where they differ
    from :func:`minutes_name` (a name in another script was then written ``x``)."""
    e = response.employee
    earlier = f"{id_slug(e.id)}-{earlier_slug(e.name, 40)}.docx"
    return [earlier] if earlier != minutes_name(response) else []


def _agreement(row: AgreementRow, lang: str) -> dict[str, Any]:
    return {
        "number": row.number,
        "what": row.what,
        "owner": row.owner,
        "due": row.due_text,
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
                    # An unanswered question reads so, not as a blank after its label.
                    "answer": a.text if a.answered else t("not_answered", lang),
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


def _environment() -> Any:
    """A Jinja environment that escapes every value and refuses unknown names: one that
    keeps what it compiled, or with the fast paths off Jinja's own."""
    return _caching_environment() if fastpath.enabled() else _plain_environment()


@functools.cache
def _plain_environment() -> Any:
    from jinja2 import Environment, StrictUndefined

    return Environment(autoescape=True, undefined=StrictUndefined)


@functools.cache
def _caching_environment() -> Any:
    """docxtpl compiles the same template text for every document; keeping the compiled
    template halves the time each minutes draft takes."""
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
        raise ConfigError(_("the minutes template {path} does not exist").format(path=path))
    try:
        unknown = DocxTemplate(path).get_undeclared_template_variables(_environment())
    except TemplateSyntaxError as exc:
        raise ConfigError(
            _(
                "the minutes template {path} has a broken tag: {message}. Open it "
                "in Word and check the {{{{ … }}}} and {{% … %}} tags."
            ).format(path=path, message=exc.message)
        ) from exc
    except Exception as exc:  # a damaged or non-Word file; docx/zip raise many kinds
        raise ConfigError(
            _("the minutes template {path} cannot be opened as a Word .docx file ({name})").format(
                path=path, name=exc.__class__.__name__
            )
        ) from exc
    unknown = set(unknown) - VARIABLES
    if unknown:
        names = ", ".join(sorted(unknown))
        raise ConfigError(
            _(
                "the minutes template {path} uses {names}, which musforms does not "
                "provide. Use only: {sorted} (see README, 'Minutes template')."
            ).format(path=path, names=names, sorted=", ".join(sorted(VARIABLES)))
        )


def render_minutes(template: Path | bytes, ctx: dict[str, Any]) -> bytes:
    """One rendered minutes document. The template (a path, or the file's bytes) should have
    passed ``check_template``."""
    data = template if isinstance(template, bytes) else template.read_bytes()
    name = "" if isinstance(template, bytes) else f" {template}"
    compiled = _compiled(data) if fastpath.enabled() else None
    with _rendering_errors(name):
        return compiled.render(ctx) if compiled is not None else _render_docxtpl(data, ctx)


@contextlib.contextmanager
def _rendering_errors(name: str) -> Iterator[None]:
    from jinja2 import TemplateError, UndefinedError

    try:
        yield
    except UndefinedError as exc:
        raise ConfigError(
            _(
                "the minutes template{name} asks for something musforms does not "
                "provide ({message}); see README, 'Minutes template'"
            ).format(name=name, message=exc.message)
        ) from exc
    except TemplateError as exc:
        raise ConfigError(
            _("the minutes template{name} cannot be filled in: {message}").format(
                name=name, message=exc.message
            )
        ) from exc


def _render_docxtpl(template: bytes, ctx: dict[str, Any]) -> bytes:
    """The document as docxtpl renders it, opening the template afresh."""
    from docxtpl import DocxTemplate

    doc = DocxTemplate(io.BytesIO(template))
    doc.render(ctx, _environment(), autoescape=True)
    buf = io.BytesIO()
    doc.save(buf)
    return buf.getvalue()


_COMPILED: dict[bytes, CompiledTemplate | None] = {}


def _compiled(template: bytes) -> CompiledTemplate | None:
    """The template compiled once per process (``None``: render it with docxtpl)."""
    if template not in _COMPILED:
        _COMPILED.clear()
        try:
            _COMPILED[template] = CompiledTemplate(template)
        except _NotCompilable:
            _COMPILED[template] = None
    return _COMPILED[template]


_TEMPLATE: bytes = b""
# Drafts per task sent to a worker: the contexts of a whole round are never queued at once.
CHUNK = 16


def _init_worker(template: bytes) -> None:
    global _TEMPLATE
    _TEMPLATE = template


# Drafts being written and synced to disk at once, per drafting process. Each file is synced
# before it replaces the last one (see files.atomic_writer); on a slow disk that wait is
# longer than drafting the next document, so it happens on threads meanwhile.
WRITERS = 4


Draft = tuple[Path, str, dict[str, Any]]  # where it goes, its fingerprint, its context


def _write_drafts(template: bytes, drafts: list[Draft]) -> list[tuple[Path, str]]:
    """Write each draft; the (target, fingerprint) of each, once every one is on disk."""
    with ThreadPoolExecutor(WRITERS, thread_name_prefix="musforms-minutes") as writers:
        written = [
            writers.submit(write_bytes, target, render_minutes(template, ctx))
            for target, _, ctx in drafts
        ]
        for future in written:
            future.result()
    return [(target, fingerprint) for target, fingerprint, _ in drafts]


def _write_drafts_in_worker(drafts: list[Draft]) -> list[tuple[Path, str]]:
    return _write_drafts(_TEMPLATE, drafts)


_DRAFTING: Task[Draft, tuple[Path, str], bytes] = Task(
    _write_drafts_in_worker, _init_worker, POOL_THRESHOLD
)


def write_minutes(
    folder: Path,
    responses: Iterable[Response],
    question_sets: QuestionSets,
    organisation: Organisation,
    *,
    template: Path | None = None,
    today: dt.date | None = None,
    workers: int | None = None,
    scratch: sqlite3.Connection | None = None,
    alongside: Sequence[Callable[[], None]] = (),
    alongside_early: bool = False,
    drafted: Callable[[int], None] | None = None,
    all_drafted: Callable[[], None] | None = None,
) -> int:
    """``folder/<id>-<name>.docx`` per response (see :func:`minutes_name`); how many there
    are. A document whose content and template are unchanged since the last run is left as
    it is (collect runs again as forms arrive); many are drafted in parallel, a few chunks
    at a time, as the responses come. The index of what each draft was made from waits in
    ``scratch``, a scratch database (else one of its own). ``alongside`` are tasks done by
    the drafting processes beside the drafts (they must pickle), or here when the drafts
    are too few for processes; with ``alongside_early``, in processes of their own from the
    start, however few the drafts (they are long: they then run while this process goes
    through the responses). ``drafted`` is told how many drafts were written, as
    they are; when the drafting stops part way, also those written of the ones under way.
    ``all_drafted`` is called once every draft is written (even if ``alongside`` fails)."""
    template = template or DEFAULT_TEMPLATE
    check_template(template)
    data = template.read_bytes()
    today = today or dt.date.today()
    made_from = _Fingerprints(hashlib.sha256(data).hexdigest(), organisation)
    index_path = folder / INDEX
    count = 0
    with contextlib.ExitStack() as stack:
        db = scratch if scratch is not None else stack.enter_context(spool_db())
        index = _Index(db, index_path)

        # The drafts under way, in order, each with how its file stood before.
        under_way: deque[tuple[Path, Identity]] = deque()

        def send(drafts: list[Draft]) -> list[Draft]:
            under_way.extend((target, identity(target)) for target, _, _ in drafts)
            return drafts

        # A draft under the name an earlier version gave it (a name in another script was
        # once "x"), by the name it has now: removed once the new one is written, so no
        # employee has two drafts. Only responses with such a name are here: few.
        renamed: dict[str, list[Path]] = {}

        def done(names: list[tuple[Path, str]]) -> None:
            for target, fingerprint in names:
                index.set(target.name, fingerprint)
                under_way.popleft()
                for earlier in renamed.pop(target.name, []):
                    earlier.unlink(missing_ok=True)
            if drafted is not None:
                drafted(len(names))

        drafter = stack.enter_context(
            OrderedPool(
                _DRAFTING, data, workers=workers, alongside=alongside, early=alongside_early
            )
        )
        chunk: list[Draft] = []
        all_sent = False
        try:
            for response in responses:
                lang = question_sets.language(response, organisation.default_language)
                qs = question_sets.for_response(response)
                target = inside(folder, minutes_name(response))
                earlier = [inside(folder, n) for n in earlier_minutes_names(response)]
                if earlier := [p for p in earlier if p.is_file()]:
                    renamed[target.name] = earlier
                fingerprint = made_from(response, lang, qs)
                if index.get(target.name) == fingerprint and target.is_file():
                    for path in renamed.pop(target.name, []):
                        path.unlink(missing_ok=True)
                else:
                    ctx = context(response, qs, lang, organisation, today)
                    chunk.append((target, fingerprint, ctx))
                    if len(chunk) >= CHUNK:
                        for names in drafter.put(send(chunk)):
                            done(names)
                        chunk = []
                count += 1
            all_sent = True
            for names in drafter.map([send(chunk)] if chunk else []):
                done(names)
        except BaseException:
            drafter.close()
            if drafted is not None and under_way:  # stopped: which of those were written
                drafted(sum(1 for target, before in under_way if identity(target) != before))
            if all_sent and not under_way and all_drafted is not None:
                all_drafted()
            # Kept if it can be (else the next run drafts again what it does not list);
            # what stopped the drafting is what to tell, not this.
            with contextlib.suppress(OSError):
                index.save(index_path)
            raise
        drafter.close()
        if all_drafted is not None:
            all_drafted()
        index.save(index_path)
    return count


class _Fingerprints:
    """What a draft is made from, as a digest: its response as it is on record (with its
    conclusion), its language, its question set, the organisation, the template, and the
    versions of musforms, its texts and the libraries that draft it. A draft is made again
    when it changes. Not the date of the run (it alone is no reason to draft the minutes
    again), nor the template context itself: making that for every response of a round
    costs more than anything else in a morning's re-run, and it follows from these."""

    def __init__(self, template_digest: str, organisation: Organisation) -> None:
        from musforms import __version__
        from musforms.formdata import question_set_digest

        self._qs_digest = question_set_digest
        self._sets: dict[int, tuple[QuestionSet, str]] = {}  # by id(): a round has a few
        texts = resources.files("musforms").joinpath("texts.yaml").read_bytes()
        self._head = json.dumps(
            [
                _FINGERPRINT,
                __version__,
                {name: _version(name) for name in ("docxtpl", "python-docx", "jinja2")},
                fastpath.enabled(),
                hashlib.sha256(texts).hexdigest(),
                template_digest,
                organisation.model_dump(mode="json"),
            ],
            sort_keys=True,
            ensure_ascii=False,
        )

    def __call__(self, response: Response, lang: str, qs: QuestionSet | None) -> str:
        digest = hashlib.sha256(self._head.encode("utf-8"))
        digest.update(json.dumps([lang, self._set_digest(qs)]).encode("utf-8"))
        digest.update(response.model_dump_json().encode("utf-8"))
        return digest.hexdigest()

    def _set_digest(self, qs: QuestionSet | None) -> str | None:
        if qs is None:
            return None
        known = self._sets.get(id(qs))
        if known is None or known[0] is not qs:
            known = self._sets[id(qs)] = (qs, self._qs_digest(qs))
        return known[1]


_FINGERPRINT = "musforms minutes draft 2"  # changed when what a draft depends on is


def _version(name: str) -> str | None:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None


class _Index:
    """``.index.json``: the fingerprint each draft in the minutes folder was made from, by
    file name. Read into a scratch database and written back from it a name at a time, in
    the same form ``json.dumps(index, indent=0, sort_keys=True)`` gives: the names and
    digests of a round's drafts never sit in a dict (about 2.5 MB per 10,000 employees).
    """

    def __init__(self, db: sqlite3.Connection, path: Path) -> None:
        self._db = db
        db.execute(
            "CREATE TABLE minutes_index (name TEXT PRIMARY KEY, fingerprint TEXT NOT NULL)"
            " WITHOUT ROWID"
        )
        try:
            with path.open("rb") as fh:
                for name, fingerprint in ijson.kvitems(fh, "", use_float=True):
                    self.set(str(name), str(fingerprint))
        except (OSError, ValueError, ijson.JSONError):
            # Missing or damaged: every draft is made again, as on the first run.
            db.execute("DELETE FROM minutes_index")

    def get(self, name: str) -> str | None:
        query = "SELECT fingerprint FROM minutes_index WHERE name = ?"
        row = self._db.execute(query, (name,)).fetchone()
        return str(row[0]) if row is not None else None

    def set(self, name: str, fingerprint: str) -> None:
        self._db.execute("INSERT OR REPLACE INTO minutes_index VALUES (?, ?)", (name, fingerprint))

    def names(self) -> Iterator[str]:
        """Every name, in the order Python sorts strings (SQLite compares the UTF-8 bytes,
        which orders as the code points do)."""
        for (name,) in self._pages("SELECT name"):
            yield str(name)

    def forget(self, name: str) -> None:
        self._db.execute("DELETE FROM minutes_index WHERE name = ?", (name,))

    def save(self, path: Path) -> None:
        with atomic_writer(path) as tmp, tmp.open("w", encoding="utf-8", newline="\n") as fh:
            first = True
            for name, fingerprint in self._pages("SELECT name, fingerprint"):
                fh.write("{\n" if first else ",\n")
                fh.write(f"{json.dumps(name)}: {json.dumps(fingerprint)}")
                first = False
            fh.write("{}\n" if first else "\n}\n")

    def _pages(self, select: str) -> Iterator[tuple[Any, ...]]:
        # A page of names per query, so the names can be forgotten while they are read.
        last: str | None = None
        while True:
            after = "" if last is None else "WHERE name > ? "
            query = f"{select} FROM minutes_index {after}ORDER BY name LIMIT {PAGE}"
            rows = self._db.execute(query, () if last is None else (last,)).fetchall()
            yield from rows
            if len(rows) < PAGE:
                return
            last = rows[-1][0]


def prune_index(folder: Path) -> None:
    """Forget drafts that are gone (purged), so the index names only files that exist."""
    index_path = folder / INDEX
    with spool_db() as db:
        index = _Index(db, index_path)
        gone = False
        for name in index.names():
            if not (folder / name).is_file():
                index.forget(name)
                gone = True
        if gone:
            index.save(index_path)


# --- the template compiled once per process ---------------------------------------------------

_FOOTNOTES = "application/vnd.openxmlformats-officedocument.wordprocessingml.footnotes+xml"
_CORE_PROPERTIES = ("author", "comments", "identifier", "language", "subject", "title")
_ZIP_TIME = (0, (1 << 5) | 1)  # 1980-01-01 00:00: the same bytes whenever a draft is made


class CompiledTemplate:
    """A minutes template prepared once, filled in per employee as docxtpl would.

    docxtpl opens the .docx, cleans its XML for Jinja, compiles it, and saves every part of
    the package again for each document (the built-in template's styles alone are 800 kB of
    XML): about 30 ms a draft. Here that happens once. Per employee only the templated parts
    (the body, headers and footers, the document properties) are rendered, with docxtpl's own
    steps (autoescape, ``{%p``/``{%tr``, line breaks as ``<w:br/>``, the table fix-up), and
    the other parts are copied as the compressed bytes of one saved copy.

    It calls docxtpl's and python-docx's internals (``render_init``, ``patch_xml``,
    ``fix_tables``, ``resolve_listing``, the core properties part…), so pyproject.toml bounds
    both libraries' versions; ``MUSFORMS_FAST_PATHS=0`` leaves it out.
    """

    def __init__(self, template: bytes) -> None:
        from docx.opc.constants import RELATIONSHIP_TYPE as RT
        from docxtpl import DocxTemplate

        env = _environment()
        doc = DocxTemplate(io.BytesIO(template))
        doc.render_init()
        self._doc = doc
        package = doc.docx.part.package
        if any(part.content_type == _FOOTNOTES for part in package.iter_parts()):
            raise _NotCompilable
        self._body = env.from_string(_for_jinja(doc.patch_xml(doc.get_xml())))
        self._parts: list[tuple[str, str, Any]] = []  # zip name, encoding, compiled template
        for rel in doc.docx.part.rels.values():
            if rel.reltype in (RT.HEADER, RT.FOOTER) and not rel.is_external:
                part = rel.target_part
                if not part.blob:
                    continue
                xml = doc.get_part_xml(part)
                compiled = env.from_string(_for_jinja(doc.patch_xml(xml)))
                name = part.partname.lstrip("/")
                self._parts.append((name, doc.get_headers_footers_encoding(xml), compiled))
        core = doc.docx.core_properties
        self._core_part = package._core_properties_part
        self._core = [(p, env.from_string(getattr(core, p))) for p in _CORE_PROPERTIES]
        buf = io.BytesIO()
        doc.docx.save(buf)
        self._entries = _zip_entries(buf.getvalue())

    def render(self, ctx: dict[str, Any]) -> bytes:
        from docx.opc.oxml import serialize_part_xml
        from docx.oxml.parser import parse_xml

        doc = self._doc
        new: dict[str, bytes] = {}
        tree = doc.fix_tables(_from_jinja(doc, self._body.render(ctx)))
        doc.docx_ids_index = 1000
        doc.fix_docpr_ids(tree)
        doc.map_tree(tree)
        new["word/document.xml"] = doc.docx.part.blob
        for name, encoding, compiled in self._parts:
            xml = _from_jinja(doc, compiled.render(ctx)).encode(encoding)
            new[name] = serialize_part_xml(parse_xml(xml))
        core = doc.docx.core_properties
        for prop, compiled in self._core:
            setattr(core, prop, compiled.render(ctx))
        new[self._core_part.partname.lstrip("/")] = self._core_part.blob
        return _zip_bytes(self._entries, new)


class _NotCompilable(Exception):
    """A template with parts docxtpl treats in ways not repeated here (footnotes)."""


def _for_jinja(xml: str) -> str:
    # docxtpl's render_xml_part, the steps before Jinja
    return re.sub(r"<w:p([ >])", r"\n<w:p\1", xml)


_PARAGRAPH = re.compile(r"<w:p(?: [^>]*)?>.*?</w:p>", re.DOTALL)  # as resolve_listing cuts
_LISTING = re.compile(r"[\t\a\n\f]")


def _from_jinja(doc: Any, xml: str) -> str:
    # docxtpl's render_xml_part, the steps after Jinja
    xml = re.sub(r"\n<w:p([ >])", r"<w:p\1", xml)
    xml = xml.replace("{_{", "{{").replace("}_}", "}}").replace("{_%", "{%").replace("%_}", "%}")
    # resolve_listing turns tabs, line breaks and page breaks in the text into Word's own
    # elements, a paragraph at a time; a paragraph with none of them comes out as it went
    # in, so only the others are handed to it (the same paragraphs, cut the same way).
    return _PARAGRAPH.sub(
        lambda m: doc.resolve_listing(m[0]) if _LISTING.search(m[0]) else m[0], xml
    )


@dataclass(frozen=True)
class _ZipEntry:
    name: bytes
    crc: int
    size: int
    data: bytes  # deflated


def _zip_entries(data: bytes) -> list[_ZipEntry]:
    """Every member of a zip file with its compressed bytes, in order."""
    entries = []
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        for info in zf.infolist():
            with zf.open(info) as member:
                content = member.read()
            entries.append(
                _ZipEntry(info.filename.encode(), info.CRC, len(content), _deflate(content))
            )
    return entries


def _deflate(data: bytes) -> bytes:
    packer = zlib.compressobj(zlib.Z_DEFAULT_COMPRESSION, zlib.DEFLATED, -15)
    return packer.compress(data) + packer.flush()


def _zip_bytes(entries: Sequence[_ZipEntry], new: dict[str, bytes]) -> bytes:
    """A zip of ``entries`` with the members named in ``new`` replaced."""
    out = io.BytesIO()
    central = []
    time, date = _ZIP_TIME
    for entry in entries:
        content = new.get(entry.name.decode())
        if content is not None:
            entry = _ZipEntry(entry.name, zlib.crc32(content), len(content), _deflate(content))
        offset = out.tell()
        flags = 0 if entry.name.isascii() else 0x800  # the name is UTF-8
        fixed = (20, flags, 8, time, date, entry.crc, len(entry.data), entry.size, len(entry.name))
        out.write(struct.pack("<4s5H3L2H", b"PK\x03\x04", *fixed, 0))
        out.write(entry.name)
        out.write(entry.data)
        central.append(
            struct.pack("<4s6H3L5H2L", b"PK\x01\x02", 20, *fixed, 0, 0, 0, 0, 0, offset)
            + entry.name
        )
    start = out.tell()
    directory = b"".join(central)
    out.write(directory)
    n = len(central)
    out.write(struct.pack("<4s4H2LH", b"PK\x05\x06", 0, 0, n, n, len(directory), start, 0))
    return out.getvalue()
