"""Read a returned Word form: its identity and the raw value of every field.

Three ways, best first, and the result says which one it took (``RawForm.read_by``):

- ``tags``: every content control still carries its field name (Word, LibreOffice 25).
- ``order``: the controls are there but their tags are gone or duplicated (LibreOffice 7.4,
  copy-paste); they are matched by position against the issued form (``layout.field_order``).
- ``layout``: no controls at all (Google Docs, Pages); the answers are found where the form
  showed them: under the numbered question labels, in the table cells, by ☐/☒, display texts
  and the known placeholders.

A Word form saved in another container (LibreOffice's "Save as .odt") is read the same way:
its reader gathers the same things (``Found``) and hands them to ``form_from_controls``.

Parsing is defensive: bounded zip reading, no DTDs or entities, no network.
"""

from __future__ import annotations

import datetime as dt
import itertools
import re
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Literal

from lxml import etree

from musforms import fieldnames as fn
from musforms import texts
from musforms.blob import Source
from musforms.docx import _sdt as sdt
from musforms.docx import layout
from musforms.docx._package import open_package, parse_xml
from musforms.docx._sdt import Control
from musforms.errors import FormReadError, NotMusformsError
from musforms.formats import Resolver
from musforms.i18n import _
from musforms.identity import FORM_CODE_RE, form_code
from musforms.limits import DEFAULT_LIMITS, Limits
from musforms.models import (
    LANGUAGES,
    Problem,
    Question,
    QuestionSet,
    RawForm,
    RawValue,
    localize,
)

__all__ = ["Block", "Control", "Found", "form_from_controls", "read_controls", "read_docx"]

ReadBy = Literal["tags", "order", "layout"]
# Problem code: an answer held a table, read as text.
TABLE_AS_TEXT = "table_as_text"
_MAIN_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument"
_STRICT_MAIN_REL = "http://purl.oclc.org/ooxml/officeDocument/relationships/officeDocument"
_TOKEN_RE = re.compile(r"MF1\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+")
_LEGACY = ("legacy_text", "legacy_checkbox", "legacy_dropdown")
_ANSWER_KINDS = {
    "text": ("text", "richtext"),
    "multiline": ("text", "richtext"),
    "date": ("date", "text", "richtext"),
    "radio": ("dropdown", "combobox"),
    "checkbox": ("checkbox",),
}


# ---------------------------------------------------------------------------------------------
# The package


@dataclass
class _Package:
    document: etree._Element
    parts: dict[str, bytes]


def _open(path: Source, limits: Limits) -> _Package:
    name = path.name
    with open_package(path, limits, "a Word document (.docx)") as package:
        names = set(package.names)
        wanted = [
            n
            for n in names
            if n in ("_rels/.rels", "docProps/custom.xml", "docProps/core.xml", "docProps/app.xml")
            or re.fullmatch(r"word/(header|footer)\d*\.xml", n)
        ]
        parts = {n: package.read(n) for n in wanted}
        main = _main_part(parts.get("_rels/.rels"), names)
        if main is None:
            raise FormReadError(
                _("{name} is not a Word document (.docx): it has no text part").format(name=name)
            )
        document = parse_xml(package.read(main), f"{name}: {main}")
    if document.tag != sdt.w("document"):
        raise FormReadError(_("{name} is not a Word document (.docx)").format(name=name))
    return _Package(document, parts)


def _main_part(rels: bytes | None, names: set[str]) -> str | None:
    if rels is not None:
        root = parse_xml(rels, "_rels/.rels")
        for rel in root:
            if rel.get("Type") in (_MAIN_REL, _STRICT_MAIN_REL):
                target = (rel.get("Target") or "").lstrip("/")
                if target in names:
                    return target
    return "word/document.xml" if "word/document.xml" in names else None


def read_controls(path: Source, limits: Limits = DEFAULT_LIMITS) -> list[Control]:
    """Every content control and legacy form field of any .docx, in document order."""
    package = _open(path, limits)
    body = package.document.find(sdt.w("body"))
    return _controls(body if body is not None else package.document, limits, path.name)


def _controls(root: etree._Element, limits: Limits, name: str) -> list[Control]:
    """The controls under ``root``, once it is clear there are no more than a form can have."""
    # Counted before any is parsed: a hostile file's controls cost no more than the limit.
    found = root.iter(sdt.w("sdt"), sdt.w("ffData"))  # content controls, legacy form fields
    count = sum(1 for _ in itertools.islice(found, limits.fields + 1))
    if count > limits.fields:
        raise FormReadError(
            _("{name} has more form fields than any form musforms makes").format(name=name)
        )
    return sdt.parse_controls(root)


# ---------------------------------------------------------------------------------------------
# Identity and metadata


def _custom(package: _Package) -> dict[str, str]:
    data = package.parts.get("docProps/custom.xml")
    if data is None:
        return {}
    return sdt.custom_properties(parse_xml(data, "docProps/custom.xml"))


def _saved_at(package: _Package) -> dt.datetime | None:
    data = package.parts.get("docProps/core.xml")
    if data is None:
        return None
    core = parse_xml(data, "docProps/core.xml")
    modified = _core_date(core.find(f"{{{sdt.DCTERMS_NS}}}modified"))
    # A form nobody re-saved carries its generation time, which says nothing of its return.
    if modified is None or modified == _core_date(core.find(f"{{{sdt.DCTERMS_NS}}}created")):
        return None
    return modified


def _core_date(node: etree._Element | None) -> dt.datetime | None:
    if node is None or not (node.text or "").strip():
        return None
    try:
        when = dt.datetime.fromisoformat(node.text.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    return when if when.tzinfo else when.replace(tzinfo=dt.UTC)


def _application(package: _Package) -> str | None:
    data = package.parts.get("docProps/app.xml")
    if data is None:
        return None
    node = parse_xml(data, "docProps/app.xml").find(f"{{{sdt.EXT_NS}}}Application")
    text = (node.text or "").strip() if node is not None else ""
    return text or None


def _form_code(texts_: list[str]) -> str | None:
    for text in texts_:
        m = FORM_CODE_RE.search(text.upper())
        if m:
            return form_code("".join(m.groups()))
    return None


# ---------------------------------------------------------------------------------------------
# Reading


def read_docx(
    path: Source, resolve: Resolver | None = None, limits: Limits = DEFAULT_LIMITS
) -> RawForm:
    """Identity and raw field values of a returned Word form, read as
    :class:`~musforms.formats.FormReader` says: by tag, else by control order, else by the
    visible layout of the form ``resolve`` names."""
    package = _open(path, limits)
    body = package.document.find(sdt.w("body"))
    if body is None:
        raise FormReadError(
            _("{name} is not a Word document (.docx): it has no body").format(name=path.name)
        )
    page_texts = [
        sdt.text_of(parse_xml(data, name))
        for name, data in sorted(package.parts.items())
        if name.startswith(("word/footer", "word/header"))
    ]
    return form_from_controls(
        Found(
            name=path.name,
            format="docx",
            what=_("a Word document"),
            controls=_controls(body, limits, path.name),
            body_text=sdt.text_of(body),
            page_texts=page_texts,
            blocks=lambda: list(_blocks(body)),
            identity=_custom(package).get(layout.IDENTITY_PROPERTY),
            saved_at=_saved_at(package),
            application=_application(package),
        ),
        resolve,
    )


@dataclass
class Found:
    """What a file of a Word form holds, whatever its container: its controls in document
    order, its text, the page headers' and footers' text, its blocks (for reading by layout)
    and the metadata it records."""

    name: str  # the file's name, for messages
    format: str  # the format name the result carries
    what: str  # what the file is, for messages: "a Word document"
    controls: list[Control]
    body_text: str
    page_texts: list[str]
    blocks: Callable[[], list[Block]]
    identity: str | None  # the identity document property, if present
    saved_at: dt.datetime | None
    application: str | None


def form_from_controls(found: Found, resolve: Resolver | None) -> RawForm:
    """The identity and raw field values of a Word form, from what its file holds.

    The identity comes from the document property, else the locked identity control, else the
    token printed in the text; the form code from the page footers, else the text. Raises
    NotMusformsError when there is neither."""
    controls = found.controls
    token = found.identity
    if not token:
        token = next(
            (c.text.strip() for c in controls if c.tag == fn.IDENTITY and c.text.strip()), None
        )
    if not token:
        m = _TOKEN_RE.search(found.body_text.replace("\n", ""))
        token = m.group(0) if m else None
    code = _form_code([*found.page_texts, found.body_text])
    if not token and not code:
        raise NotMusformsError(
            _(
                "{name} is {what} but not a musforms form (it carries no form "
                "identity and no form code)"
            ).format(name=found.name, what=found.what)
        )
    raw = RawForm(
        format=found.format,
        token=token,
        form_code=code,
        saved_at=found.saved_at,
        application=found.application,
    )
    issued = resolve(raw) if resolve is not None else None
    qs = issued.question_set if issued is not None else None
    fields, read_by, notes, tabled = _fields(controls, found.blocks, qs)
    if read_by == "layout" and token:
        fields.setdefault(fn.IDENTITY, token)
    raw.fields = fields
    raw.read_by = read_by
    raw.notes = notes
    raw.problems = _tables_as_text(tabled, qs)
    return raw


def _tables_as_text(names: list[str], qs: QuestionSet | None) -> list[Problem]:
    """A problem per answer (by field name) that held a table: it was read as text, which HR
    should look at."""
    specs = fn.spec_by_name(qs) if qs is not None else {}
    problems: list[Problem] = []
    for name, count in Counter(names).items():
        spec = specs.get(name)
        question = spec.question if spec is not None else None
        where = f"question '{question}'" if question else f"field '{name}'"
        if spec is not None and spec.row is not None:
            where = f"agreement {spec.row} of '{question}'"
        tables = "a table" if count == 1 else f"{count} tables"
        problems.append(
            Problem(
                code=TABLE_AS_TEXT,
                question=question,
                message=_(
                    "{where}: the answer holds {tables}, read as text (a line per row, "
                    "cells separated by tabs); check the answer in the minutes against "
                    "the file"
                ).format(where=where, tables=tables),
            )
        )
    return problems


def _clean(value: RawValue) -> RawValue:
    if isinstance(value, str):
        value = value.replace("\r\n", "\n").replace("\r", "\n")
        if not value.strip() or value.strip() in _PLACEHOLDERS:
            return None
    return value


_PLACEHOLDERS = layout.placeholders()


def _fields(
    controls: list[Control], blocks: Callable[[], list[Block]], qs: QuestionSet | None
) -> tuple[dict[str, RawValue], ReadBy, list[str], list[str]]:
    """The raw values by field name, how they were found, notes on what had to be worked
    around, and the names of the fields whose answer held a table (read as text): once per
    table."""
    notes: list[str] = []
    answers = [c for c in controls if c.kind not in _LEGACY and not c.nested]
    tagged = [c for c in answers if c.tag]
    counts = Counter(c.tag for c in tagged)
    duplicated = sorted(str(t) for t, n in counts.items() if n > 1)
    expected = {s.name for s in fn.all_fields(qs)} if qs else set()
    complete = bool(tagged) and expected <= set(counts)
    if complete and not duplicated:
        values = {str(c.tag): _clean(c.value) for c in tagged}
        return values, "tags", notes, _tabled([(str(c.tag), c) for c in tagged])
    if qs is not None and answers:
        matched = _by_order(answers, qs)
        if matched is not None:
            by_order, names = matched
            if duplicated:
                notes.append(
                    _("fields named twice ({duplicated}); read by position").format(
                        duplicated=", ".join(duplicated)
                    )
                )
            else:
                notes.append(_("the fields had lost their names; read by position"))
            return by_order, "order", notes, _tabled(list(zip(names, answers, strict=False)))
    if tagged:
        fields: dict[str, RawValue] = {}
        for c in tagged:
            value = _clean(c.value)
            if fields.get(str(c.tag)) is None:
                fields[str(c.tag)] = value
        if duplicated:
            notes.append(
                _("fields named twice ({duplicated}); the filled one was used").format(
                    duplicated=", ".join(duplicated)
                )
            )
        missing = sorted(expected - set(counts))
        if missing:
            notes.append(
                _("fields missing from the file: {missing}").format(missing=", ".join(missing))
            )
        return fields, "tags", notes, _tabled([(str(c.tag), c) for c in tagged])
    if qs is None:
        notes.append(_("the form has no fields left and its question set is unknown"))
        return {}, "layout", notes, []
    notes.append(_("the form had no fields left; answers were read from the page layout"))
    page = _Layout(blocks(), qs)
    return page.fields(), "layout", notes, page.tabled


def _tabled(named: list[tuple[str, Control]]) -> list[str]:
    """The field names of those answers that held tables, once per table."""
    return [name for name, c in named if c.value is not None for _ in range(c.tables)]


def _by_order(
    answers: list[Control], qs: QuestionSet
) -> tuple[dict[str, RawValue], list[str]] | None:
    """The values of controls that lost their names, by the first control order of the issued
    form they fit (layout.field_orders), with that order."""
    for names in layout.field_orders(qs, len(answers)):
        out = _in_order(answers, names, qs)
        if out is not None:
            return out, names
    return None


def _in_order(
    answers: list[Control], names: list[str], qs: QuestionSet
) -> dict[str, RawValue] | None:
    kinds = {s.name: s.kind for s in fn.all_fields(qs)}
    for name in names:
        if name.startswith(fn.PREVIOUS_STATUS + fn.SEP):
            kinds[name] = "radio"
    out: dict[str, RawValue] = {}
    for name, control in zip(names, answers, strict=True):
        kind = kinds.get(name, "text")
        if control.kind not in _ANSWER_KINDS[kind]:
            return None
        out[name] = _clean(control.value)
    return out


# ---------------------------------------------------------------------------------------------
# The visible layout


@dataclass
class Block:
    """A paragraph's text, or a table's cell texts, in the order the page shows them."""

    text: str
    rows: list[list[str]] | None = None  # a table's cell texts


def _blocks(body: etree._Element) -> Iterator[Block]:
    for child in body:
        if child.tag == sdt.w("p"):
            yield Block(sdt.text_of(child))
        elif child.tag == sdt.w("tbl"):
            rows = [
                [sdt.text_of(tc) for tc in _own(tr, "tc", child)] for tr in _own(child, "tr", child)
            ]
            yield Block("", rows)
        elif child.tag == sdt.w("sdt"):
            content = child.find(sdt.w("sdtContent"))
            if content is not None:
                yield from _blocks(content)


def _own(el: etree._Element, name: str, table: etree._Element) -> Iterator[etree._Element]:
    """The rows or cells (``name``) under ``el`` that are ``table``'s own, not a nested
    table's (one an employee put into a cell)."""
    for node in el.iter(sdt.w(name)):
        if next(node.iterancestors(sdt.w("tbl")), None) is table:
            yield node


def _norm(text: str) -> str:
    return " ".join(text.split()).casefold()


def _all_langs(text: dict[str, str] | None) -> set[str]:
    return {_norm(localize(text, lang)) for lang in LANGUAGES} if text else set()


def _fixed(key: str) -> set[str]:
    return {_norm(texts.t(key, lang)) for lang in LANGUAGES}


class _Layout:
    """Answers found on the page, where the writer put them."""

    def __init__(self, blocks: list[Block], qs: QuestionSet) -> None:
        self.blocks = blocks
        self.qs = qs
        self.out: dict[str, RawValue] = {}
        self.tabled: list[str] = []  # text answers that held a table, once per table

    def fields(self) -> dict[str, RawValue]:
        self._prefill()
        self._previous()
        self._questions()
        return self.out

    def _tables(self) -> Iterator[list[list[str]]]:
        for block in self.blocks:
            if block.rows:
                yield block.rows

    def _prefill(self) -> None:
        labels = {}
        for name, key in layout.PREFILL_LABELS.items():
            for label in _fixed(key):
                labels[label] = name
        for rows in self._tables():
            for row in rows:
                if len(row) >= 2 and _norm(row[0]) in labels:
                    self.out[labels[_norm(row[0])]] = _clean(row[1])

    def _previous(self) -> None:
        heads = [_fixed(k) for k in ("what", "owner", "due", "status", "comment")]
        status = [layout.status_items(lang) for lang in LANGUAGES]
        for rows in self._tables():
            head = [_norm(c) for c in rows[0]]
            if len(head) != 5 or not all(h in ok for h, ok in zip(head, heads, strict=True)):
                continue
            latest = _fixed("latest_status")
            for number, row in enumerate(rows[1:], start=1):
                for part, cell in zip(layout.PREVIOUS_PARTS, row, strict=False):
                    self.out[fn.previous_field(number, part)] = _clean(cell)
                if row:
                    self._latest(number, row[0], latest)
                if len(row) >= 5:
                    text = _clean(row[3])
                    self.out[fn.previous_status_field(number)] = (
                        None
                        if not isinstance(text, str)
                        else layout.display_to_value(status, text) or text
                    )
                    self.out[fn.previous_comment_field(number)] = _clean(row[4])
            return

    def _latest(self, number: int, cell: str, labels: set[str]) -> None:
        """Under what was agreed, its latest status ("Ved opfølgningen: I gang – …"): one
        line as written (formdata.latest_text), so lines a page wrapped it into are one."""
        lines = cell.split("\n")
        for at in range(len(lines) - 1, 0, -1):
            label, colon, shown = lines[at].partition(":")
            if colon and _norm(label) in labels:
                what = "\n".join(lines[:at])
                self.out[fn.previous_field(number, "what")] = _clean(what)
                shown = " ".join(" ".join([shown, *lines[at + 1 :]]).split())
                self.out[fn.previous_field(number, fn.PREVIOUS_LATEST)] = _clean(shown)
                return

    def _questions(self) -> None:
        questions = self.qs.questions()
        starts: list[int] = []
        pos = 0
        for number, q in enumerate(questions, start=1):
            found = self._find_label(number, q, pos)
            starts.append(found if found is not None else -1)
            if found is not None:
                pos = found + 1
        skip = set(_fixed("previous_title")) | _fixed("previous_intro")
        skip |= _fixed("checkin_previous_title") | _fixed("checkin_previous_intro")
        for section in self.qs.sections:
            skip |= _all_langs(section.title) | _all_langs(section.intro)
        for i, q in enumerate(questions):
            start = starts[i]
            if start < 0:
                continue
            end = next((s for s in starts[i + 1 :] if s > start), len(self.blocks))
            region = [
                b
                for b in self.blocks[start + 1 : end]
                if b.rows is not None
                or (_norm(b.text) not in skip | _all_langs(q.help) and not _TOKEN_RE.search(b.text))
            ]
            self._answer(q, self.blocks[start], region)

    def _find_label(self, number: int, q: Question, pos: int) -> int | None:
        prefix = re.compile(rf"^\s*{number}\.\s")
        labels = _all_langs(q.label)
        for i in range(pos, len(self.blocks)):
            text = self.blocks[i].text
            if (
                self.blocks[i].rows is None
                and prefix.match(text)
                and any(label in _norm(text) for label in labels)
            ):
                return i
        return None

    def _answer(self, q: Question, label: Block, region: list[Block]) -> None:
        paragraphs = [b.text for b in region if b.rows is None]
        match q.type:
            case "text" | "textarea":
                # The form has no table in a text answer's place: one there is the employee's.
                parts = [b.text if b.rows is None else _rows_text(b.rows) for b in region]
                self.out[q.id] = _clean("\n".join(parts).strip("\n"))
                if self.out[q.id] is not None:
                    self.tabled += [q.id for b in region if b.rows is not None]
            case "date":
                self.out[q.id] = _clean("\n".join(paragraphs).strip("\n"))
            case "scale" | "choice":
                text = _clean("\n".join(paragraphs).strip())
                if isinstance(text, str):
                    items = [layout.dropdown_items(q, lang) for lang in LANGUAGES]
                    text = layout.display_to_value(items, text) or text
                self.out[q.id] = text
            case "checkbox":
                self.out[q.id] = _glyph(label.text)
            case "multichoice":
                boxes = [p for p in paragraphs if _glyph(p) is not None]
                for spec, option in zip(fn.fields_for(q), q.options or [], strict=True):
                    labels = _all_langs(option.label)
                    match_ = [p for p in boxes if any(lbl in _norm(p) for lbl in labels)]
                    self.out[spec.name] = _glyph(match_[0]) if match_ else None
            case "agreements":
                table = next((b.rows for b in region if b.rows), None)
                body_rows = (table or [])[1:]
                for spec in fn.fields_for(q):
                    assert spec.row is not None
                    row = body_rows[spec.row - 1] if spec.row <= len(body_rows) else []
                    index = layout.PREVIOUS_PARTS.index(spec.part or "what")
                    self.out[spec.name] = _clean(row[index]) if index < len(row) else None


def _rows_text(rows: list[list[str]]) -> str:
    """A table's rows as ``table_text`` reads one: a line per row, cells by tabs."""
    return "\n".join("\t".join(" ".join(cell.split("\n")) for cell in row) for row in rows)


def _glyph(text: str) -> bool | None:
    if sdt.CHECKED_GLYPH in text:
        return True
    if sdt.UNCHECKED_GLYPH in text:
        return False
    return None
