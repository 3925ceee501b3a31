"""A small real round for the trust and confidentiality tests: generate, fill, collect.

Two employees, the question set with every question type, last round's agreements carried
into this round's forms, PDF and Word forms made by ``musforms.generate``.
"""

from __future__ import annotations

import base64
import json
import os
import re
import shutil
import zipfile
from dataclasses import dataclass
from pathlib import Path

import yaml
from lxml import etree
from pypdf import PdfWriter
from pypdf.generic import NameObject, TextStringObject

from musforms.collect import collect
from musforms.generate import generate
from musforms.manifest import load_manifest
from tests.clients.pdf import Values, fill_pdfium
from tests.conftest import EVERY_TYPE

W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"

ROSTER = (
    "id;name;department;manager;meeting_date\r\n"
    "1042;Søren Ærø;Økonomi;Åse Østergård;14-01-2027\r\n"
    "1043;Ida Holm;IT;Bo Berg;20-01-2027\r\n"
)

LAST_YEAR: Values = {
    "lykkedes": "Sidste år gik godt",
    "aftaler__1__what": "Kursus i Excel",
    "aftaler__1__owner": "Søren",
    "aftaler__1__due": "1/3 2026",
}


def answers(marker: str, *, previous: bool = True) -> Values:
    """A full PDF return with ``marker`` in every text answer (and a comment on last year's
    agreement when the form carries one)."""
    values: Values = {
        "lykkedes": f"{marker} lykkedes\nmed æøå",
        "titel": f"{marker} titel",
        "arbejdsmaengde": "4",
        "fokus": "faglig",
        "fokus_flere__samarbejde": True,
        "kursus": True,
        "startdato": "15-02-2027",
        "aftaler__1__what": f"{marker} aftale",
        "aftaler__1__owner": f"{marker} ejer",
        "aftaler__1__due": "01-03-2027",
    }
    if previous:
        values["prev_comment__1"] = f"{marker} kommentar"
    return values


@dataclass
class Round:
    root: Path
    questions: Path
    roster: Path
    forms: Path
    key_file: Path

    def form(self, employee_id: str, fmt: str) -> Path:
        for f in load_manifest(self.forms).forms:
            if f.employee_id == employee_id:
                return self.forms / f.files[fmt]
        raise AssertionError(f"no form for {employee_id}")


def write_config(root: Path, roster: str = ROSTER) -> tuple[Path, Path]:
    questions = root / "config" / "questions.yaml"
    questions.parent.mkdir(parents=True, exist_ok=True)
    questions.write_text(yaml.safe_dump(EVERY_TYPE, allow_unicode=True), encoding="utf-8")
    roster_path = root / "roster.csv"
    roster_path.write_text(roster, encoding="utf-8")
    return questions, roster_path


def make_round(root: Path, *, previous: bool = True, key_file: Path | None = None) -> Round:
    """Forms for round 2026 in ``root/forms/2026``; with ``previous``, last round (2025) was
    filled and collected first, so this round's forms carry its agreements."""
    key_file = key_file or Path(os.environ["MUSFORMS_KEY_FILE"])
    questions, roster = write_config(root)
    carried = None
    if previous:
        forms25 = root / "forms" / "2025"
        generate(questions, roster, forms25, "2025", formats=["pdf"], key_file=key_file)
        back = root / "returned" / "2025"
        back.mkdir(parents=True)
        for f in load_manifest(forms25).forms:
            fill_pdfium(forms25 / f.files["pdf"], back / f"{f.employee_id}.pdf", LAST_YEAR)
        carried = root / "results" / "2025"
        collect([back], forms25, carried, key_file=key_file)
    forms = root / "forms" / "2026"
    generate(questions, roster, forms, "2026", previous=carried, key_file=key_file)
    return Round(root, questions, roster, forms, key_file)


# --- editing files by hand ------------------------------------------------------------------


def pdf_token(path: Path) -> str:
    from pypdf import PdfReader

    value = PdfReader(path).get_fields()["mf_identity"]["/V"]  # type: ignore[index]
    return str(value)


def pdf_set(
    src: Path,
    dst: Path,
    *,
    fields: dict[str, str] | None = None,
    info: str | None = None,
    drop_field: bool = False,
) -> Path:
    """Rewrite field values (``/V``) and/or the ``/MusformsIdentity`` metadata by hand."""
    writer = PdfWriter(clone_from=src)
    for page in writer.pages:
        for ref in page.get("/Annots") or []:
            annot = ref.get_object()
            name = str(annot.get("/T", ""))
            if fields and name in fields:
                annot[NameObject("/V")] = TextStringObject(fields[name])
            if drop_field and name == "mf_identity":
                annot[NameObject("/V")] = TextStringObject("")
    if info is not None:
        writer.add_metadata({"/MusformsIdentity": info})
    writer.write(dst)
    return dst


def forge_token(token: str, **changes: str) -> str:
    """The token with its payload edited and the old signature kept."""
    head, payload, mac = token.split(".")
    data = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    data.update(changes)
    body = json.dumps(data, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode()
    return f"{head}.{base64.urlsafe_b64encode(body).rstrip(b'=').decode()}.{mac}"


def docx_edit(
    src: Path, dst: Path, *, controls: dict[str, str] | None = None, custom_token: str | None = None
) -> Path:
    """Rewrite the text of tagged controls and/or the identity in docProps/custom.xml."""
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w", zipfile.ZIP_DEFLATED) as zout:
        for info in zin.infolist():
            data = zin.read(info.filename)
            if info.filename == "word/document.xml" and controls:
                root = etree.fromstring(data)
                for sdt in root.iter(f"{W}sdt"):
                    tag = sdt.find(f"{W}sdtPr/{W}tag")
                    name = tag.get(f"{W}val") if tag is not None else None
                    if name in controls:
                        set_control_text(sdt, controls[name])
                data = etree.tostring(root, xml_declaration=True, encoding="UTF-8")
            if info.filename == "docProps/custom.xml" and custom_token is not None:
                data = re.sub(rb"MF1\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+", custom_token.encode(), data)
            zout.writestr(info, data)
    return dst


def set_control_text(sdt: etree._Element, text: str) -> None:
    """Replace what a content control shows with ``text`` (as a person typing over it)."""
    pr = sdt.find(f"{W}sdtPr")
    content = sdt.find(f"{W}sdtContent")
    assert pr is not None and content is not None
    for ph in pr.findall(f"{W}showingPlcHdr"):
        pr.remove(ph)
    for child in list(content):
        content.remove(child)
    r = etree.SubElement(content, f"{W}r")
    t = etree.SubElement(r, f"{W}t")
    t.text = text


def copy_results(src: Path, dst: Path) -> Path:
    shutil.copytree(src, dst)
    return dst
