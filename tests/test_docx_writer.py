"""The Word writer: A4, one locked, tagged inline control per field, identity, and the
template prepared once per writer."""

from __future__ import annotations

import io
import re
import stat
import zipfile
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from lxml import etree

from musforms import fastpath
from musforms import fieldnames as fn
from musforms.docx import layout
from musforms.docx.reader import read_controls, read_docx
from musforms.docx.writer import DEFAULT_TEMPLATE, DocxFormWriter, write_docx
from musforms.models import FormData, Organisation

W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
W14 = "{http://schemas.microsoft.com/office/word/2010/wordml}"


def _render(form_data: FormData) -> bytes:
    writer = DocxFormWriter(form_data.question_set, form_data.lang, form_data.organisation)
    return writer.render(form_data)


def _part(data: bytes, name: str) -> etree._Element:
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        return etree.fromstring(zf.read(name))


def _sdts(doc: etree._Element) -> dict[str, etree._Element]:
    return {s.find(f"{W}sdtPr/{W}tag").get(f"{W}val"): s for s in doc.iter(f"{W}sdt")}


def test_template_and_form_are_a4(form_data: FormData) -> None:
    """Both the shipped template and a rendered form are A4 (python-docx defaults to Letter)."""
    for doc in (
        _part(DEFAULT_TEMPLATE.read_bytes(), "word/document.xml"),
        _part(_render(form_data), "word/document.xml"),
    ):
        size = doc.find(f"{W}body/{W}sectPr/{W}pgSz")
        assert (size.get(f"{W}w"), size.get(f"{W}h")) == ("11906", "16838")


def test_every_field_is_one_locked_inline_control_in_order(
    form_data: FormData, tmp_path: Path
) -> None:
    """Each field has exactly one tagged control inside a paragraph, sdtLocked, never temporary,
    in the order the reader relies on; prefilled ones are content-locked and show the values."""
    doc = _part(_render(form_data), "word/document.xml")
    sdts = list(doc.iter(f"{W}sdt"))
    tags = [s.find(f"{W}sdtPr/{W}tag").get(f"{W}val") for s in sdts]
    expected = layout.field_order(form_data.question_set, len(form_data.previous_agreements))
    assert tags == expected
    assert len(set(tags)) == len(tags)
    for s, tag in zip(sdts, tags, strict=True):
        assert s.getparent().tag == f"{W}p", tag
        assert s.find(f"{W}sdtPr/{W}temporary") is None
        lock = s.find(f"{W}sdtPr/{W}lock").get(f"{W}val")
        assert lock == ("sdtContentLocked" if fn.is_reserved(tag) else "sdtLocked"), tag
    path = tmp_path / "form.docx"
    write_docx(form_data, path)
    values = {c.tag: c.value for c in read_controls(path)}
    for name, value in form_data.prefill.items():
        assert values[name] == (value or None), name
    assert values[fn.IDENTITY] == form_data.token


def test_control_kinds_match_question_types(form_data: FormData) -> None:
    """Text (multi-line for textarea), drop-downs with values and readable display texts,
    w14 checkboxes, dates with dd-MM-yyyy, one control per agreements cell."""
    sdts = _sdts(_part(_render(form_data), "word/document.xml"))
    assert sdts["lykkedes"].find(f"{W}sdtPr/{W}text").get(f"{W}multiLine") == "1"
    assert sdts["titel"].find(f"{W}sdtPr/{W}text").get(f"{W}multiLine") is None
    items = [
        (li.get(f"{W}value"), li.get(f"{W}displayText"))
        for li in sdts["arbejdsmaengde"].iter(f"{W}listItem")
    ]
    assert items == [
        ("1", "1 – Slet ikke"),
        ("2", "2"),
        ("3", "3"),
        ("4", "4"),
        ("5", "5 – I høj grad"),
    ]
    assert [li.get(f"{W}value") for li in sdts["fokus"].iter(f"{W}listItem")] == [
        "faglig",
        "personlig",
        "ledelse",
    ]
    for name in ("kursus", "fokus_flere__faglig", "fokus_flere__balance"):
        assert sdts[name].find(f"{W}sdtPr/{W14}checkbox/{W14}checked").get(f"{W14}val") == "0"
    for name in ("startdato", "aftaler__3__due"):
        date = sdts[name].find(f"{W}sdtPr/{W}date")
        assert date.find(f"{W}dateFormat").get(f"{W}val") == "dd-MM-yyyy"
    statuses = [li.get(f"{W}value") for li in sdts["prev_status__2"].iter(f"{W}listItem")]
    assert statuses == ["done", "in_progress", "not_started", "dropped"]
    text = etree.tostring(sdts["titel"], encoding="unicode")
    assert "Skriv dit svar her" in text and "showingPlcHdr" in text


def test_identity_properties_footer_and_no_protection(form_data: FormData) -> None:
    """The token is a custom document property, the form code is in the footer, nothing is
    protected, and the visible text numbers the questions 1, 2, 3… with the how-to text."""
    data = _render(form_data)
    custom = _part(data, "docProps/custom.xml")
    props = {p.get("name"): p[0].text for p in custom}
    assert props == {"musforms_identity": form_data.token}
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        footers = b"".join(zf.read(n) for n in zf.namelist() if n.startswith("word/footer"))
        settings = zf.read("word/settings.xml")
        assert zf.testzip() is None
    assert form_data.form_code.encode() in footers
    assert b"documentProtection" not in settings
    doc = _part(data, "word/document.xml")
    body = "\n".join("".join(p.itertext()) for p in doc.iter(f"{W}p"))
    numbers = re.findall(r"^(\d+)\. ", body, re.MULTILINE)
    assert numbers == [str(i) for i in range(1, len(form_data.question_set.questions()) + 1)]
    assert "Forberedelse til MUS" in body and "Opfølgning på sidste års aftaler" in body
    assert "Udfyld skemaet i Word" in body


def test_unfilled_form_reads_back_by_tags(form_data: FormData, tmp_path: Path) -> None:
    """A fresh form reads back by tag: identity, code, prefill, every answer unfilled."""
    path = tmp_path / "form.docx"
    write_docx(form_data, path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    raw = read_docx(path)
    assert (raw.format, raw.read_by, raw.token) == ("docx", "tags", form_data.token)
    assert raw.form_code == form_data.form_code
    assert raw.application == "musforms"
    assert raw.saved_at is None  # never re-saved: its dates are the generation time
    for spec in fn.all_fields(form_data.question_set):
        assert raw.fields[spec.name] in (None, False), spec.name
    assert raw.fields["mf_prev__2__due"] is None
    assert raw.fields["mf_meeting_date"] == "14-01-2027"


def test_organisation_in_header_and_english(form_data: FormData, tmp_path: Path) -> None:
    """The organisation name goes into the page header; an English form speaks English."""
    english = form_data.model_copy(
        update={"lang": "en", "organisation": Organisation(name="Ærø Kommune")}
    )
    data = DocxFormWriter(english.question_set, "en", english.organisation).render(english)
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        headers = b"".join(zf.read(n) for n in zf.namelist() if n.startswith("word/header"))
        document = zf.read("word/document.xml").decode()
    assert "Ærø Kommune".encode() in headers
    assert "Follow-up on last year&apos;s agreements" in document or (
        "Follow-up on last year's agreements" in document
    )
    assert "Type your answer here" in document


def test_rendering_reuses_what_was_prepared(
    form_data: FormData, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Protects generate at scale: a writer opens the template, builds the form's body and
    zips the fixed parts once (on its first form); each further form only fills in its own
    values and writes the parts that differ per employee (the benchmark measures the speed
    itself). This is the fast path's promise; its twin is in test_fastpath.py."""
    import musforms.docx.writer as writer_module

    monkeypatch.setenv(fastpath.ENV, "1")
    calls: Counter[str] = Counter()

    def counted(name: str, function: Callable[..., Any]) -> Callable[..., Any]:
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            calls[name] += 1
            return function(*args, **kwargs)

        return wrapper

    monkeypatch.setattr(writer_module, "Document", counted("Document", writer_module.Document))
    for name in ("_prepare", "_document", "_body", "_question", "_previous_row", "_header_footer"):
        monkeypatch.setattr(DocxFormWriter, name, counted(name, getattr(DocxFormWriter, name)))
    written: list[str] = []
    real_writestr = zipfile.ZipFile.writestr

    def writestr(zf: zipfile.ZipFile, info: Any, data: Any, *args: Any, **kwargs: Any) -> None:
        written.append(info.filename if isinstance(info, zipfile.ZipInfo) else info)
        real_writestr(zf, info, data, *args, **kwargs)

    monkeypatch.setattr(zipfile.ZipFile, "writestr", writestr)

    writer = DocxFormWriter(form_data.question_set, "da", form_data.organisation)
    assert calls == {"Document": 1}  # the template checked
    writer.render(form_data)
    questions = len(list(form_data.question_set.questions()))
    assert calls == {
        "Document": 2,  # then the form with markers built from it
        "_prepare": 1,
        "_document": 1,
        "_header_footer": 1,
        "_body": 1,
        "_previous_row": 2,  # one with its latest status, one without
        "_question": questions,
    }
    calls.clear()
    written.clear()
    for _ in range(50):
        writer.render(form_data)
    assert not calls, f"rendering repeated the preparation: {dict(calls)}"
    per_form = set(written)
    per_form_parts = ("word/document.xml", "docProps/custom.xml", "docProps/core.xml")
    assert set(per_form_parts) <= per_form
    assert all(name in per_form_parts or name.startswith("word/footer") for name in per_form), (
        per_form
    )
    assert len(written) == 50 * len(per_form)
