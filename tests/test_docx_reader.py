"""The Word reader: by tag, by control order, from the layout; Word-made files; unsafe input."""

from __future__ import annotations

import copy
import datetime as dt
import zipfile
from pathlib import Path
from typing import Any

import docx
import pytest
from lxml import etree

from musforms import fieldnames as fn
from musforms.docx.reader import read_controls, read_docx
from musforms.docx.writer import write_docx
from musforms.errors import FormReadError, NotMusformsError
from musforms.formats import Issued
from musforms.formdata import make_form_data
from musforms.limits import Limits
from musforms.models import Agreement, Employee, FormData, QuestionSet, RawForm
from tests.clients import hostile
from tests.clients.word import google_docs_copy, strip_tags
from tests.conftest import DANISH, LONG, MULTILINE, WORD_MADE

W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
W14 = "{http://schemas.microsoft.com/office/word/2010/wordml}"
CORPUS = WORD_MADE

# What a person answers (by field name) and what the reader must return for it.
ANSWERS: dict[str, Any] = {
    "lykkedes": MULTILINE,
    "titel": DANISH,
    "arbejdsmaengde": "4",
    "fokus": "personlig",
    "fokus_flere__faglig": True,
    "fokus_flere__samarbejde": False,
    "fokus_flere__balance": True,
    "kursus": True,
    "startdato": "2027-01-15",
    "aftaler__1__what": LONG,
    "aftaler__1__owner": "Åse Østergård",
    "aftaler__1__due": "2027-03-01",
    "prev_status__1": "in_progress",
    "prev_comment__1": "Halvvejs — æøå",
}


def _resolver(qs: QuestionSet) -> Any:
    def resolve(raw: RawForm) -> Issued | None:
        return Issued(qs, None, None)

    return resolve


def _run(text: str) -> etree._Element:
    r = etree.Element(f"{W}r")
    for i, line in enumerate(text.split("\n")):
        if i:
            etree.SubElement(r, f"{W}br")
        t = etree.SubElement(r, f"{W}t")
        t.text = line
        t.set("{http://www.w3.org/XML/1998/namespace}space", "preserve")
    return r


def word_fill(src: Path, dst: Path, values: dict[str, Any]) -> None:
    """Fill controls the way Word saves them: new runs, no placeholder flag, w14:checked,
    the chosen item's display text, w:fullDate with the date shown as dd-MM-yyyy."""
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w") as zout:
        for info in zin.infolist():
            data = zin.read(info.filename)
            if info.filename == "word/document.xml":
                root = etree.fromstring(data)
                for sdt in root.iter(f"{W}sdt"):
                    pr, content = sdt[0], sdt[1]
                    tag = pr.find(f"{W}tag").get(f"{W}val")
                    if tag not in values:
                        continue
                    value = values[tag]
                    for ph in pr.findall(f"{W}showingPlcHdr"):
                        pr.remove(ph)
                    box = pr.find(f"{W14}checkbox")
                    if box is not None:
                        box.find(f"{W14}checked").set(f"{W14}val", "1" if value else "0")
                        text = "☒" if value else "☐"
                    elif pr.find(f"{W}dropDownList") is not None:
                        text = next(
                            li.get(f"{W}displayText")
                            for li in pr.iter(f"{W}listItem")
                            if li.get(f"{W}value") == value
                        )
                    elif pr.find(f"{W}date") is not None:
                        pr.find(f"{W}date").set(f"{W}fullDate", f"{value}T00:00:00Z")
                        y, m, d = value.split("-")
                        text = f"{d}-{m}-{y}"
                    else:
                        text = value
                    for child in list(content):
                        content.remove(child)
                    content.append(_run(text))
                data = etree.tostring(root, xml_declaration=True, encoding="UTF-8")
            zout.writestr(info, data)


@pytest.fixture
def filled(form_data: FormData, tmp_path: Path) -> Path:
    blank = tmp_path / "blank.docx"
    write_docx(form_data, blank)
    path = tmp_path / "filled.docx"
    word_fill(blank, path, ANSWERS)
    return path


def _expect(raw: RawForm, form_data: FormData) -> None:
    for name, value in ANSWERS.items():
        assert raw.fields[name] == value, name
    for name, value in form_data.prefill.items():
        assert raw.fields[name] == (value or None), name
    for name in ("aftaler__2__what", "aftaler__3__due", "prev_status__2", "prev_comment__2"):
        assert raw.fields[name] is None, name


def test_filled_form_reads_by_tags(filled: Path, form_data: FormData) -> None:
    """Every answer comes back exactly: æøå, line breaks, 2,000 characters, types."""
    raw = read_docx(filled, _resolver(form_data.question_set))
    assert raw.read_by == "tags"
    assert raw.token == form_data.token
    _expect(raw, form_data)


def test_tags_stripped_reads_by_order(filled: Path, form_data: FormData, tmp_path: Path) -> None:
    """Controls without tags (LibreOffice 7.4) are matched by position to the issued form."""
    stripped = tmp_path / "stripped.docx"
    strip_tags(filled, stripped)
    assert all(c.tag is None for c in read_controls(stripped))
    raw = read_docx(stripped, _resolver(form_data.question_set))
    assert raw.read_by == "order"
    assert raw.token == form_data.token
    _expect(raw, form_data)


def _edit(src: Path, dst: Path, change: Any) -> None:
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w") as zout:
        for info in zin.infolist():
            data = zin.read(info.filename)
            if info.filename == "word/document.xml":
                root = etree.fromstring(data)
                change(root)
                data = etree.tostring(root)
            zout.writestr(info, data)


def _sdt(root: etree._Element, tag: str) -> etree._Element:
    return next(s for s in root.iter(f"{W}sdt") if s.find(f"{W}sdtPr/{W}tag").get(f"{W}val") == tag)


def test_duplicated_tag_reads_by_order(filled: Path, form_data: FormData, tmp_path: Path) -> None:
    """A tag that appears twice (same number of controls) is resolved by position."""

    def rename(root: etree._Element) -> None:
        _sdt(root, "titel").find(f"{W}sdtPr/{W}tag").set(f"{W}val", "lykkedes")

    path = tmp_path / "dup.docx"
    _edit(filled, path, rename)
    raw = read_docx(path, _resolver(form_data.question_set))
    assert raw.read_by == "order"
    assert "lykkedes" in raw.notes[0]
    _expect(raw, form_data)


def test_copy_pasted_control_uses_the_filled_one(form_data: FormData, tmp_path: Path) -> None:
    """A control pasted twice (an extra control): the filled copy's value is kept, by tag."""
    blank = tmp_path / "blank.docx"
    write_docx(form_data, blank)

    def paste(root: etree._Element) -> None:
        original = _sdt(root, "titel")
        twin = copy.deepcopy(original)
        original.addnext(twin)

    pasted = tmp_path / "pasted.docx"
    _edit(blank, pasted, paste)
    path = tmp_path / "filled.docx"
    word_fill(pasted, path, {"titel": DANISH})

    def unfill_first(root: etree._Element) -> None:
        first = _sdt(root, "titel")
        first[1].clear()
        first[1].append(_run("Skriv dit svar her"))

    final = tmp_path / "final.docx"
    _edit(path, final, unfill_first)
    raw = read_docx(final, _resolver(form_data.question_set))
    assert raw.read_by == "tags"
    assert raw.fields["titel"] == DANISH
    assert any("titel" in note for note in raw.notes)


def test_google_docs_copy_reads_by_layout(
    filled: Path, form_data: FormData, tmp_path: Path
) -> None:
    """With every control unwrapped and no custom properties, the answers come from the page."""
    copy_ = tmp_path / "gdocs.docx"
    google_docs_copy(filled, copy_)
    assert read_controls(copy_) == []
    with zipfile.ZipFile(copy_) as zf:
        assert "docProps/custom.xml" not in zf.namelist()
    raw = read_docx(copy_, _resolver(form_data.question_set))
    assert raw.read_by == "layout"
    assert raw.form_code == form_data.form_code
    assert raw.token == form_data.token  # still printed, small, at the end
    expected = dict(ANSWERS, startdato="15-01-2027", aftaler__1__due="01-03-2027")
    for name, value in expected.items():
        assert raw.fields[name] == value, name
    for name, value in form_data.prefill.items():
        assert raw.fields[name] == (value or None), name
    assert raw.fields["aftaler__2__what"] is None and raw.fields["prev_status__2"] is None


def test_layout_without_question_set_reads_identity_only(filled: Path, tmp_path: Path) -> None:
    """Without the issued question set the layout cannot be mapped; identity still is read."""
    copy_ = tmp_path / "gdocs.docx"
    google_docs_copy(filled, copy_)
    raw = read_docx(copy_)
    assert raw.read_by == "layout" and raw.token and raw.notes


# --- Word-made files ---------------------------------------------------------------------------


def _corpus(name: str) -> Path:
    path = CORPUS / name
    assert path.exists(), f"the Word-made corpus is missing: {path}"
    return path


def _values(name: str) -> list[tuple[str, str | None, Any]]:
    return [(c.kind, c.tag, c.value) for c in read_controls(_corpus(name))]


def test_word_made_files_are_not_musforms_forms() -> None:
    """Each of the ten Word-made files is readable and raises NotMusformsError, nothing else."""
    files = sorted(CORPUS.glob("*.docx"))
    assert len(files) == 10
    for path in files:
        assert read_controls(path) is not None
        with pytest.raises(NotMusformsError, match="not a musforms form"):
            read_docx(path)


def test_word_made_checkboxes_and_dropdowns() -> None:
    """01: w14 boxes ☐ ☒, drop-downs sharing a tag (one on its placeholder), legacy fields."""
    assert _values("01_docx2python_check_drop_my.docx") == [
        ("legacy_checkbox", None, False),
        ("legacy_checkbox", "Check1", True),
        ("checkbox", None, False),
        ("checkbox", None, True),
        ("legacy_dropdown", "Dropdown2", "Piihan B"),
        ("dropdown", "Shay's Drop", None),
        ("dropdown", "Shay's Drop", "my_item_A"),
        ("dropdown", "Shay's Drop", "my_item_B"),
    ]


def test_word_made_legacy_forms() -> None:
    """02–04, 09: legacy FORMTEXT / FORMCHECKBOX / FORMDROPDOWN with defaults and results."""
    kinds = [k for k, _, _ in _values("02_docx2python_checked_boxes.docx")]
    assert (kinds.count("legacy_checkbox"), kinds.count("legacy_text")) == (44, 46)
    assert kinds.count("legacy_dropdown") == 14
    # default 0, default false, checked 0, checked false, default 1, default true, checked 1/true
    assert [v for _, _, v in _values("03_docx2python_checked-true-false.docx")] == [
        False,
        False,
        False,
        False,
        True,
        True,
        True,
        True,
    ]
    assert _values("04_docx2python_checked_drop1.docx") == [
        ("legacy_checkbox", "Check1", True),
        ("legacy_dropdown", "Dropdown2", "PIlihan A"),
    ]
    assert _values("09_docx4j_LegacyForms.docx") == [
        ("legacy_text", "Text1", None),  # five EN SPACEs: empty
        ("legacy_checkbox", "Check1", False),
        ("legacy_dropdown", "Dropdown1", None),
    ]


def test_word_made_content_controls() -> None:
    """05–08, 10: rich/plain text, placeholders, every control type, data binding, cells."""
    assert _values("05_docx2python_ControlTest.docx") == [
        (
            "richtext",
            "Test_Control",
            "This is a test\nFor a content control or content container in word. ",
        ),
    ]
    assert _values("06_docxcompose_content_controls.docx") == [
        ("text", "cc.plain_text", "Content Control Plain Text"),
        ("text", "cc.plain_text_multiline", "Content Control Plain Text Multiline"),
        ("text", "cc.plain_text_empty", None),
        ("richtext", "cc.rich_text", None),
    ]
    seven = _values("07_docx-form_test.docx")
    assert [k for k, _, _ in seven] == [
        "richtext",
        "richtext",
        "text",
        "text",
        "checkbox",
        "checkbox",
        "combobox",
        "combobox",
        "dropdown",
        "dropdown",
        "date",
        "date",
    ]
    assert all(tag is None for _, tag, _ in seven)
    assert [v for _, _, v in seven[4:6]] == [False, True]
    assert seven[7][2] is None and seven[8][2] == "Drop-Down Content Control"
    assert [v for _, _, v in seven[10:]] == ["2022-09-06", "2022-09-07"]
    eight = _values("08_docx4j_invoice2013_databinding.docx")
    assert ("date", "/invoice[1]/invoicedate[1]", "2015-01-29") in eight
    assert ("text", None, "John Citizen") in eight
    assert _values("10_pandoc_sdt_elements.docx") == [("dropdown", "Content type", "Body copy")]


# --- Not forms, and unsafe input ---------------------------------------------------------------


def test_plain_word_document_is_not_musforms(tmp_path: Path) -> None:
    """A valid .docx without identity or form code is NotMusformsError, not a crash."""
    document = docx.Document()
    document.add_paragraph("Referat fra mødet — æøå")
    path = tmp_path / "plain.docx"
    document.save(str(path))
    with pytest.raises(NotMusformsError):
        read_docx(path)
    assert read_controls(path) == []


def _docx_with_document(tmp_path: Path, xml: bytes, name: str = "evil.docx") -> Path:
    return hostile.docx_with_document(tmp_path / name, xml)


def test_billion_laughs_is_refused(tmp_path: Path) -> None:
    """Entity declarations are refused before anything is expanded."""
    with pytest.raises(FormReadError, match="DTD"):
        read_docx(_docx_with_document(tmp_path, hostile.BILLION_LAUGHS))


def test_external_entity_reads_no_file(tmp_path: Path) -> None:
    """An external entity never reaches the file system: refused, secret not in the message."""
    secret = tmp_path / "secret.txt"
    secret.write_text("TOPSECRET-æøå")
    xml = (
        f'<?xml version="1.0"?><!DOCTYPE d [<!ENTITY x SYSTEM "{secret.as_uri()}">]>'
        '<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main">'
        "<w:body><w:p><w:r><w:t>&x; MF-ABCD-EFGH-JKMN</w:t></w:r></w:p></w:body></w:document>"
    ).encode()
    with pytest.raises(FormReadError) as info:
        read_docx(_docx_with_document(tmp_path, xml))
    assert "TOPSECRET" not in str(info.value)


def test_zip_bomb_is_refused(tmp_path: Path) -> None:
    """A part that inflates far beyond its compressed size is refused without inflating it."""
    path = tmp_path / "bomb.docx"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as zf:
        zf.writestr("[Content_Types].xml", b"<Types/>")
        with zf.open("word/document.xml", "w") as fh:
            chunk = b"\0" * 2**20
            for _ in range(32):
                fh.write(chunk)
    assert path.stat().st_size < 2**20
    with pytest.raises(FormReadError, match="zip bomb"):
        read_docx(path)
    small = Limits(zip_part_bytes=2**10)
    with pytest.raises(FormReadError):
        read_controls(path, small)


def test_too_many_entries_is_refused(tmp_path: Path) -> None:
    """The number of parts is bounded."""
    path = tmp_path / "many.docx"
    with zipfile.ZipFile(path, "w") as zf:
        for i in range(30):
            zf.writestr(f"x/{i}.xml", b"<x/>")
    with pytest.raises(FormReadError, match="too many"):
        read_docx(path, limits=Limits(zip_entries=20))


def test_doc_odt_and_damaged_files_are_refused(form_data: FormData, tmp_path: Path) -> None:
    """An old .doc, an .odt renamed to .docx (collect reads it by its content, as an .odt), a
    truncated .docx and junk: FormReadError."""
    doc = tmp_path / "old.docx"
    doc.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 4096)
    with pytest.raises(FormReadError, match=r"\.doc"):
        read_docx(doc)
    odt = tmp_path / "writer.docx"
    with zipfile.ZipFile(odt, "w") as zf:
        zf.writestr("mimetype", "application/vnd.oasis.opendocument.text")
        zf.writestr("content.xml", "<office:document-content/>")
    with pytest.raises(FormReadError, match="not a Word document"):
        read_docx(odt)
    good = tmp_path / "good.docx"
    write_docx(form_data, good)
    truncated = tmp_path / "truncated.docx"
    truncated.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    with pytest.raises(FormReadError):
        read_docx(truncated)
    junk = tmp_path / "junk.docx"
    junk.write_bytes(b"not a zip at all")
    with pytest.raises(FormReadError):
        read_docx(junk)
    empty = tmp_path / "empty.docx"
    empty.write_bytes(b"")
    with pytest.raises(FormReadError):
        read_docx(empty)


def test_field_order_is_shared_by_writer_and_reader(form_data: FormData) -> None:
    """The control order puts prefill first, then last year's rows (each agreement's latest
    status under what was agreed, where a check-in gave any), answers, identity last; a form
    issued before forms showed the latest status is read by the order it has."""
    from musforms.docx.layout import field_order, field_orders, previous_count_for

    qs = form_data.question_set
    order = field_order(qs, 2)
    assert order[:4] == [
        fn.PREFILL_NAME,
        fn.PREFILL_DEPARTMENT,
        fn.PREFILL_MANAGER,
        fn.PREFILL_MEETING_DATE,
    ]
    assert order[4:10] == [
        "mf_prev__1__what",
        "mf_prev__1__latest",
        "mf_prev__1__owner",
        "mf_prev__1__due",
        "prev_status__1",
        "prev_comment__1",
    ]
    assert order[-1] == fn.IDENTITY
    assert previous_count_for(qs, len(order)) == 2
    assert previous_count_for(qs, len(order) + 1) is None
    plain = field_order(qs, 2, latest=False)
    assert plain[4:9] == [
        "mf_prev__1__what",
        "mf_prev__1__owner",
        "mf_prev__1__due",
        "prev_status__1",
        "prev_comment__1",
    ]
    assert previous_count_for(qs, len(plain), latest=False) == 2
    assert field_orders(qs, len(order)) == [order]
    assert field_orders(qs, len(plain)) == [plain]
    assert field_orders(qs, len(field_order(qs, 0))) == [field_order(qs, 0)]
    # 30 controls of rows are five agreements with their latest status or six without.
    assert field_orders(qs, len(field_order(qs, 5))) == [
        field_order(qs, 5),
        field_order(qs, 6, latest=False),
    ]


def test_a_form_without_latest_statuses_has_none(
    every_type: QuestionSet, employee: Employee, key: bytes, tmp_path: Path
) -> None:
    """A form none of whose previous agreements a check-in gave a status shows no latest
    status and has no control for it; read back by tag, by order and by layout."""
    previous = [Agreement(what="Kursus i Excel", owner="Søren", due=dt.date(2026, 6, 1))]
    form = make_form_data(every_type, employee, key=key, cycle="2026", previous=previous)
    assert "mf_prev__1__latest" not in form.prefill
    blank = tmp_path / "blank.docx"
    write_docx(form, blank)
    assert [c.tag for c in read_controls(blank)][4:9] == [
        "mf_prev__1__what",
        "mf_prev__1__owner",
        "mf_prev__1__due",
        "prev_status__1",
        "prev_comment__1",
    ]
    assert "Ved opfølgningen" not in docx.Document(str(blank)).tables[1]._tbl.xml
    filled = tmp_path / "filled.docx"
    word_fill(blank, filled, {"prev_status__1": "done", "prev_comment__1": MULTILINE})
    stripped, gdocs = tmp_path / "stripped.docx", tmp_path / "gdocs.docx"
    strip_tags(filled, stripped)
    google_docs_copy(filled, gdocs)
    for path, read_by in ((filled, "tags"), (stripped, "order"), (gdocs, "layout")):
        raw = read_docx(path, _resolver(every_type))
        assert raw.read_by == read_by
        assert {n: raw.fields.get(n) for n in form.prefill} == {
            n: v or None for n, v in form.prefill.items()
        }
        assert (raw.fields["prev_status__1"], raw.fields["prev_comment__1"]) == ("done", MULTILINE)


def test_fields_limit_is_kept(form_data: FormData, tmp_path: Path) -> None:
    """A Word file with more content controls than Limits.fields allows is refused before
    they are parsed; one at the limit is read."""
    path = tmp_path / "form.docx"
    write_docx(form_data, path)
    count = len(read_controls(path))
    assert read_docx(path, limits=Limits(fields=count)).token == form_data.token
    for read in (read_docx, read_controls):
        with pytest.raises(FormReadError, match="more form fields"):
            read(path, limits=Limits(fields=count - 1))
