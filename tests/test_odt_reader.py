"""The OpenDocument reader on packages made here: control values, text rules, identity,
detection, and every limit and hostile input it must refuse with a reason."""

from __future__ import annotations

import datetime as dt
import json
import zipfile
from pathlib import Path

import pytest

from musforms import formats
from musforms.collect import collect
from musforms.docx import layout
from musforms.docx.reader import read_docx
from musforms.errors import FormReadError, NotMusformsError
from musforms.limits import Limits
from musforms.odt.reader import read_odt
from tests import bombs
from tests.trust_data import make_round

TEXT_TYPE = "application/vnd.oasis.opendocument.text"
TOKEN = "MF1.eyJmb3JtIjoiMSJ9.c2lnbmF0dXJl"
CODE = "MF-ABCD-EFGH-JKMN"
NS = (
    'xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" '
    'xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" '
    'xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0" '
    'xmlns:style="urn:oasis:names:tc:opendocument:xmlns:style:1.0" '
    'xmlns:meta="urn:oasis:names:tc:opendocument:xmlns:meta:1.0" '
    'xmlns:dc="http://purl.org/dc/elements/1.1/" '
    'xmlns:draw="urn:oasis:names:tc:opendocument:xmlns:drawing:1.0" '
    'xmlns:svg="urn:oasis:names:tc:opendocument:xmlns:svg-compatible:1.0" '
    'xmlns:loext="urn:org:documentfoundation:names:experimental:office:xmlns:loext:1.0"'
)
MANIFEST_NS = "urn:oasis:names:tc:opendocument:xmlns:manifest:1.0"


def content_xml(body: str, *, kind: str = "text") -> bytes:
    return (
        f'<?xml version="1.0" encoding="UTF-8"?><office:document-content {NS} '
        f'office:version="1.4"><office:body><office:{kind}>{body}</office:{kind}>'
        "</office:body></office:document-content>"
    ).encode()


def meta_xml(
    props: dict[str, str], *, created: str = "2026-12-01T10:00:00", saved: str | None = None
) -> bytes:
    users = "".join(
        f'<meta:user-defined meta:name="{name}">{value}</meta:user-defined>'
        for name, value in props.items()
    )
    date = f"<dc:date>{saved}</dc:date>" if saved else ""
    return (
        f'<?xml version="1.0" encoding="UTF-8"?><office:document-meta {NS}><office:meta>'
        f"<meta:creation-date>{created}</meta:creation-date>{date}"
        "<meta:generator>LibreOffice/25.2.3.2$Linux_X86_64</meta:generator>"
        f"{users}</office:meta></office:document-meta>"
    ).encode()


def styles_xml(footer: str) -> bytes:
    return (
        f'<?xml version="1.0" encoding="UTF-8"?><office:document-styles {NS}>'
        '<office:master-styles><style:master-page style:name="Standard"><style:footer>'
        f'<text:p text:style-name="Footer">{footer}</text:p></style:footer></style:master-page>'
        "</office:master-styles></office:document-styles>"
    ).encode()


def manifest_xml(media: str = TEXT_TYPE, entries: str = "") -> bytes:
    return (
        f'<?xml version="1.0" encoding="UTF-8"?><manifest:manifest xmlns:manifest="{MANIFEST_NS}" '
        f'manifest:version="1.4"><manifest:file-entry manifest:full-path="/" '
        f'manifest:media-type="{media}"/>{entries}</manifest:manifest>'
    ).encode()


def make_odt(
    path: Path,
    body: str = "",
    *,
    props: dict[str, str] | None = None,
    footer: str = f"Formkode: {CODE}",
    media: str = TEXT_TYPE,
    content: bytes | None = None,
    meta: bytes | None = None,
    extra: dict[str, bytes] | None = None,
    mimetype_first: bool = True,
) -> Path:
    """An .odt as LibreOffice lays it out: "mimetype" first and stored, then the XML parts."""
    parts: dict[str, bytes] = {
        "content.xml": content if content is not None else content_xml(body),
        "styles.xml": styles_xml(footer),
        "meta.xml": meta
        if meta is not None
        else meta_xml({layout.IDENTITY_PROPERTY: TOKEN} if props is None else props),
        "META-INF/manifest.xml": manifest_xml(media),
        **(extra or {}),
    }
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        if mimetype_first:
            zf.writestr("mimetype", media, compress_type=zipfile.ZIP_STORED)
        for name, data in parts.items():
            zf.writestr(name, data)
        if not mimetype_first:
            zf.writestr("mimetype", media)
    return path


def cc(tag: str, inner: str, **attrs: str) -> str:
    """A ``loext:content-control`` with ``tag`` and attributes given as ``plain_text="true"``."""
    extra = "".join(f' loext:{k.replace("_", "-")}="{v}"' for k, v in attrs.items())
    return f'<loext:content-control loext:tag="{tag}"{extra}>{inner}</loext:content-control>'


def para(*inner: str) -> str:
    return f"<text:p>{''.join(inner)}</text:p>"


ITEMS = (
    '<loext:list-item loext:display-text="1 – Slet ikke" loext:value="1"/>'
    '<loext:list-item loext:display-text="5 – I høj grad" loext:value="5"/>'
)


PLACEHOLDER = "<text:span>Skriv dit svar her</text:span>"


# --- values ------------------------------------------------------------------------------------


def test_control_values_come_back_as_the_docx_reader_gives_them(tmp_path: Path) -> None:
    """Text with line breaks, tabs and runs of spaces; a checkbox as a bool; a drop-down as
    its item's value; a picked date as ISO, a typed one as typed; a placeholder as None."""
    body = "".join(
        [
            para(
                "1. ",
                cc(
                    "svar",
                    '<text:span text:style-name="T1"><text:s text:c="2"/>Første'
                    "<text:line-break/> anden<text:tab/>æøå <text:s text:c=\"2\"/>ÆØÅ "
                    "<text:s/></text:span>",
                    plain_text="true",
                ),
            ),
            para(cc("rig", "<text:span>rig <text:a>tekst</text:a></text:span>")),
            para(cc("tom", PLACEHOLDER, showing_place_holder="true", plain_text="true")),
            para(cc("ja", "☒", checkbox="true", checked="true")),
            para(cc("nej", "☐", checkbox="true")),
            para(cc("skala", ITEMS + "<text:span>5 – I høj grad</text:span>", dropdown="true")),
            para(cc("uvalgt", ITEMS + "Vælg", dropdown="true", showing_place_holder="true")),
            para(cc("kombi", ITEMS + "Noget andet", combobox="true")),
            para(cc("valgt", "15-01-2027", date="true", current_date="2027-01-15T00:00:00Z")),
            para(cc("skrevet", "1.3.2027", date="true")),
            para(cc("ingen", "Vælg en dato", date="true", showing_place_holder="true")),
        ]
    )  # fmt: skip
    raw = read_odt(make_odt(tmp_path / "svar.odt", body))
    assert raw.format == "odt"
    assert raw.read_by == "tags"
    assert raw.fields == {
        "svar": "  Første\n anden\tæøå   ÆØÅ  ",
        "rig": "rig tekst",
        "tom": None,
        "ja": True,
        "nej": False,
        "skala": "5",
        "uvalgt": None,
        "kombi": "Noget andet",
        "valgt": "2027-01-15",
        "skrevet": "1.3.2027",
        "ingen": None,
    }


def test_text_follows_the_odf_white_space_rules(tmp_path: Path) -> None:
    """Literal white space collapses to one space and vanishes at a paragraph's start, as in
    LibreOffice; comments, footnotes, tracked deletions and an image's description are not
    part of the text."""
    body = (
        "<text:tracked-changes><text:changed-region><text:deletion><text:p>slettet</text:p>"
        "</text:deletion></text:changed-region></text:tracked-changes>"
        + para(
            cc(
                "svar",
                "  to   ord\n\n og  <text:span> et </text:span> til"
                "<office:annotation><dc:creator>Åse</dc:creator><text:p>en kommentar</text:p>"
                "</office:annotation>"
                "<text:note><text:note-citation>1</text:note-citation><text:note-body>"
                "<text:p>en fodnote</text:p></text:note-body></text:note>"
                "<draw:frame><svg:desc>et billede</svg:desc></draw:frame>",
            )
        )
    )
    raw = read_odt(make_odt(tmp_path / "rum.odt", body))
    assert raw.fields == {"svar": "to ord og et til"}


def test_identity_from_the_document_property_else_the_control_else_the_text(
    tmp_path: Path,
) -> None:
    """The identity is the user-defined property; without it, the locked identity control;
    without that, the token printed in the text. The form code comes from the footer."""
    by_property = read_odt(make_odt(tmp_path / "a.odt", para("Hej")))
    assert (by_property.token, by_property.form_code) == (TOKEN, CODE)
    by_control = read_odt(make_odt(tmp_path / "b.odt", para(cc("mf_identity", TOKEN)), props={}))
    assert by_control.token == TOKEN
    by_text = read_odt(make_odt(tmp_path / "c.odt", para(TOKEN), props={}, footer=""))
    assert (by_text.token, by_text.form_code) == (TOKEN, None)
    code_only = read_odt(make_odt(tmp_path / "d.odt", para("Hej"), props={}))
    assert (code_only.token, code_only.form_code) == (None, CODE)


def test_save_time_and_application(tmp_path: Path) -> None:
    """dc:date is when the file was saved (LibreOffice writes it without a zone: read as
    UTC, like the same time in a .docx); equal to the creation date it says nothing."""
    saved = make_odt(
        tmp_path / "gemt.odt",
        para("x"),
        meta=meta_xml({layout.IDENTITY_PROPERTY: TOKEN}, saved="2026-12-02T08:30:15.123456789"),
    )
    raw = read_odt(saved)
    assert raw.saved_at == dt.datetime(2026, 12, 2, 8, 30, 15, 123456, tzinfo=dt.UTC)
    assert raw.application == "LibreOffice/25.2.3.2$Linux_X86_64"
    same = make_odt(
        tmp_path / "ugemt.odt",
        para("x"),
        meta=meta_xml({layout.IDENTITY_PROPERTY: TOKEN}, saved="2026-12-01T10:00:00"),
    )
    assert read_odt(same).saved_at is None
    unsaved = make_odt(tmp_path / "intet.odt", para("x"), meta=meta_xml({"x": TOKEN}))
    assert read_odt(unsaved).saved_at is None


def test_an_odt_without_identity_or_code_is_not_a_musforms_form(tmp_path: Path) -> None:
    """A letter written in LibreOffice is readable, and not a form."""
    letter = make_odt(tmp_path / "brev.odt", para("Kære Åse"), props={}, footer="Side 1")
    with pytest.raises(NotMusformsError, match="OpenDocument text document but not a musforms"):
        read_odt(letter)


# --- detection ---------------------------------------------------------------------------------


def test_odt_is_detected_by_content(tmp_path: Path) -> None:
    """An .odt is an .odt whatever its name, also when re-zipped with "mimetype" not first;
    a spreadsheet is no .odt and no Word file."""
    odt = make_odt(tmp_path / "svar.docx", para("x"))
    assert formats.detect(formats.Probe.of(odt)) is formats.get("odt")
    rezipped = make_odt(tmp_path / "pakket.odt", para("x"), mimetype_first=False)
    assert formats.detect(formats.Probe.of(rezipped)) is formats.get("odt")
    ods = make_odt(tmp_path / "ark.odt", media="application/vnd.oasis.opendocument.spreadsheet")
    assert formats.detect(formats.Probe.of(ods)) is None
    assert formats.by_suffix(tmp_path / "x.ODT") is formats.get("odt")
    assert "odt" not in [f.name for f in formats.writable()]


def test_another_opendocument_kind_is_not_a_form(tmp_path: Path) -> None:
    """A spreadsheet that reaches the reader (re-zipped, so detected by its parts) is named
    for what it is."""
    ods = make_odt(
        tmp_path / "ark.odt",
        media="application/vnd.oasis.opendocument.spreadsheet",
        content=content_xml("", kind="spreadsheet"),
        mimetype_first=False,
    )
    with pytest.raises(NotMusformsError, match="spreadsheet"):
        read_odt(ods)


# --- limits ------------------------------------------------------------------------------------


def test_file_size_limit(tmp_path: Path) -> None:
    odt = make_odt(tmp_path / "stor.odt", para("x" * 5000))
    with pytest.raises(FormReadError, match="--max-size"):
        read_odt(odt, limits=Limits(max_bytes=1000))


def test_too_many_parts_is_refused(tmp_path: Path) -> None:
    extra = {f"Pictures/{i}.png": b"x" for i in range(30)}
    odt = make_odt(tmp_path / "mange.odt", para("x"), extra=extra)
    with pytest.raises(FormReadError, match="too many parts"):
        read_odt(odt, limits=Limits(zip_entries=20))


def test_part_and_total_sizes_are_bounded(tmp_path: Path) -> None:
    odt = make_odt(tmp_path / "tekst.odt", para("æ" * 20_000))
    with pytest.raises(FormReadError, match="more than a form could ever hold"):
        read_odt(odt, limits=Limits(zip_part_bytes=10_000))
    with pytest.raises(FormReadError, match="more than a form could ever hold"):
        read_odt(odt, limits=Limits(zip_total_bytes=20_000))


def test_zip_bomb_is_refused_without_inflating_it(tmp_path: Path) -> None:
    """A content.xml that inflates 1000-fold is refused by its headers."""
    path = tmp_path / "bombe.odt"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as zf:
        zf.writestr("mimetype", TEXT_TYPE, compress_type=zipfile.ZIP_STORED)
        with zf.open("content.xml", "w") as fh:
            for _ in range(32):
                fh.write(b"\0" * 2**20)
    assert path.stat().st_size < 2**20
    with pytest.raises(FormReadError, match="zip bomb"):
        read_odt(path)


def test_zip_bombs_with_honest_and_lying_headers(tmp_path: Path) -> None:
    """256 MiB of content.xml: honest headers are refused before inflating; headers that
    declare 4 KB are read no further than that, and the part is found damaged."""
    honest = bombs.odt_bomb(tmp_path / "bombe.odt", size=256 << 20)
    with pytest.raises(FormReadError, match="more than a form could ever hold"):
        read_odt(honest)
    lying = bombs.odt_bomb(tmp_path / "lyver.odt", size=256 << 20, lie=True)
    with pytest.raises(FormReadError, match=r"content\.xml is damaged"):
        read_odt(lying)


def test_field_count_is_bounded(tmp_path: Path) -> None:
    body = para(*(cc(f"f{i}", "x", plain_text="true") for i in range(5)))
    odt = make_odt(tmp_path / "felter.odt", body)
    assert len(read_odt(odt, limits=Limits(fields=5)).fields) == 5
    with pytest.raises(FormReadError, match="more form fields"):
        read_odt(odt, limits=Limits(fields=4))


def test_space_runs_cannot_blow_up_the_text(tmp_path: Path) -> None:
    """text:c asks for as many spaces as it likes; the text stays within the part limit."""
    body = para(cc("svar", '<text:s text:c="1000000000000"/>'))
    with pytest.raises(FormReadError, match="more text than a form"):
        read_odt(make_odt(tmp_path / "mellemrum.odt", body))
    many = para(cc("svar", '<text:s text:c="60000"/>' * 2000))
    with pytest.raises(FormReadError, match="more text than a form"):
        read_odt(make_odt(tmp_path / "mange.odt", many), limits=Limits(zip_part_bytes=2 << 20))


# --- hostile and damaged files -----------------------------------------------------------------

BILLION_LAUGHS = f"""<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>
<office:document-content {NS}><office:body><office:text><text:p>&lol3;</text:p>
</office:text></office:body></office:document-content>""".encode()


def test_entities_are_refused(tmp_path: Path) -> None:
    """A DTD is refused before anything expands; an external entity never reads the file."""
    with pytest.raises(FormReadError, match="DTD"):
        read_odt(make_odt(tmp_path / "lol.odt", content=BILLION_LAUGHS))
    secret = tmp_path / "secret.txt"
    secret.write_text("TOPSECRET-æøå")
    xxe = (
        f'<?xml version="1.0"?><!DOCTYPE d [<!ENTITY x SYSTEM "{secret.as_uri()}">]>'
        f"<office:document-content {NS}><office:body><office:text><text:p>&x; {CODE}</text:p>"
        "</office:text></office:body></office:document-content>"
    ).encode()
    with pytest.raises(FormReadError) as info:
        read_odt(make_odt(tmp_path / "xxe.odt", content=xxe))
    assert "TOPSECRET" not in str(info.value)
    meta = b'<?xml version="1.0"?><!DOCTYPE m [<!ENTITY x "y">]><office:document-meta/>'
    with pytest.raises(FormReadError, match="DTD"):
        read_odt(make_odt(tmp_path / "meta.odt", para("x"), meta=meta))


def test_deep_nesting_is_refused_by_the_parser(tmp_path: Path) -> None:
    """Spans nested 5,000 deep never reach the reader's walk: the parser stops at its depth
    limit (huge_tree is off), so no recursion error."""
    depth = 5000
    body = para(cc("svar", "<text:span>" * depth + "x" + "</text:span>" * depth))
    with pytest.raises(FormReadError, match="depth"):
        read_odt(make_odt(tmp_path / "dyb.odt", body))


def test_damaged_files_are_refused(tmp_path: Path) -> None:
    """Truncated, junk, empty, no content, broken XML, no text body: FormReadError with
    what is wrong, never another exception."""
    good = make_odt(tmp_path / "god.odt", para("x"))
    truncated = tmp_path / "halv.odt"
    truncated.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    junk = tmp_path / "junk.odt"
    junk.write_bytes(b"PK\x03\x04 not a zip after all")
    empty = tmp_path / "tom.odt"
    empty.write_bytes(b"")
    missing = tmp_path / "mangler.odt"
    with zipfile.ZipFile(missing, "w") as zf:
        zf.writestr("mimetype", TEXT_TYPE)
    broken = make_odt(tmp_path / "brudt.odt", content=b"<office:document-content><unclosed>")
    spreadsheet_body = make_odt(tmp_path / "ark.odt", content=content_xml("", kind="spreadsheet"))
    cases = {
        truncated: "damaged",
        junk: "damaged",
        empty: "damaged",
        missing: "no content",
        broken: r"not well-formed XML \(broken at line 1, column \d+\): the file is damaged",
        spreadsheet_body: "no text",
        tmp_path / "findes-ikke.odt": "cannot be opened",
    }
    for path, reason in cases.items():
        with pytest.raises(FormReadError, match=reason):
            read_odt(path)


def _claim_zip_version(src: Path, dst: Path, version: int = 238) -> Path:
    """A copy whose central directory asks for a zip version no tool writes (23.8)."""
    data = bytearray(src.read_bytes())
    at = data.find(b"PK\x01\x02")
    data[at + 6 : at + 8] = version.to_bytes(2, "little")
    dst.write_bytes(bytes(data))
    return dst


def test_unknown_zip_version_is_damage_not_a_crash(tmp_path: Path) -> None:
    """Python's zipfile raises NotImplementedError for such a header: the .odt and .docx
    readers and detection take it as a damaged file."""
    odt = _claim_zip_version(make_odt(tmp_path / "a.odt", para("x")), tmp_path / "v.odt")
    with pytest.raises(FormReadError, match="damaged"):
        read_odt(odt)
    docx = tmp_path / "v.docx"
    with zipfile.ZipFile(tmp_path / "a.docx", "w") as zf:
        zf.writestr("[Content_Types].xml", b"<Types/>")
        zf.writestr("word/document.xml", b"<w:document/>")
    _claim_zip_version(tmp_path / "a.docx", docx)
    with pytest.raises(FormReadError, match="damaged"):
        read_docx(docx)
    assert formats.Probe.of(docx).zip_names() == frozenset()


def test_password_protected_odt_is_refused(tmp_path: Path) -> None:
    """LibreOffice 25 encrypts the whole package; older versions each part, said in the
    manifest. Either way: password protected, ask for an unprotected copy."""
    whole = tmp_path / "hel.odt"
    with zipfile.ZipFile(whole, "w") as zf:
        zf.writestr("mimetype", TEXT_TYPE)
        zf.writestr("encrypted-package", b"\x8a\x01" * 500)
        zf.writestr("META-INF/manifest.xml", manifest_xml())
    per_part = make_odt(
        tmp_path / "dele.odt",
        content=b"\x8a\x01" * 500,
        extra={
            "META-INF/manifest.xml": manifest_xml(
                entries='<manifest:file-entry manifest:full-path="content.xml" '
                'manifest:media-type="text/xml"><manifest:encryption-data/>'
                "</manifest:file-entry>"
            )
        },
    )
    for path in (whole, per_part):
        with pytest.raises(FormReadError, match="password protected"):
            read_odt(path)


def test_collect_reports_each_bad_odt_with_its_reason(tmp_path: Path) -> None:
    """In a round, a damaged, a bomb, an encrypted and a foreign .odt each get one entry with
    the right status and reason; none stops the run."""
    r = make_round(tmp_path / "round", previous=False, key_file=tmp_path / "key")
    inbox = tmp_path / "returned"
    inbox.mkdir()
    make_odt(inbox / "brev.odt", para("Kære Åse"), props={}, footer="")
    bombs.odt_bomb(inbox / "bombe.odt", size=256 << 20)
    with zipfile.ZipFile(inbox / "hemmelig.odt", "w") as zf:
        zf.writestr("mimetype", TEXT_TYPE)
        zf.writestr("encrypted-package", b"\x8a\x01" * 500)
    good = make_odt(tmp_path / "god.odt", para("x"))
    (inbox / "halv.odt").write_bytes(good.read_bytes()[:300])
    out = tmp_path / "results"
    collect([inbox], r.forms, out, key_file=r.key_file, workers=1)
    report = json.loads((out / "report.json").read_text(encoding="utf-8"))
    status = {Path(f["file"]).name: (f["status"], f.get("reason", "")) for f in report["files"]}
    assert status["brev.odt"][0] == "not_musforms"
    assert status["bombe.odt"] == (
        "unreadable",
        "bombe.odt unpacks to more than a form could ever hold",
    )
    assert status["hemmelig.odt"][0] == "unreadable"
    assert "password protected" in status["hemmelig.odt"][1]
    assert status["halv.odt"][0] == "unreadable"
    assert len(report["files"]) == 4
    assert report["returned"] == []
