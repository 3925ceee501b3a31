"""A whole round on the sample roster: forms filled by real clients, returned with the
mess real returns bring (duplicates, printed copies, foreign and broken files).

Used by the end-to-end test and by ``scripts/make_sample_returns.py``, which commits its
output under ``samples/returned/`` for ``make demo``.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pypdf import PdfReader, PdfWriter
from pypdf.generic import NameObject, TextStringObject

from musforms import fieldnames as fn
from musforms.generate import generate
from tests.clients.pdf import fill_pdfium, fill_pdfjs, fill_poppler
from tests.clients.word import fill_libreoffice, google_docs_copy
from tests.conftest import WORD_MADE

ROOT = Path(__file__).resolve().parents[2]
QUESTIONS = ROOT / "config" / "questions.yaml"
ROSTER = ROOT / "samples" / "roster.csv"
CORPUS = WORD_MADE
CYCLE = "2026"

LONG = (
    "Jeg har i årets løb brugt meget tid på at få det nye økonomisystem til at fungere "
    "for hele afdelingen, både med opsætning, oplæring af kolleger og løbende fejlretning. "
)
LONG = (LONG * 20)[:2000]

# What each employee answers, as the response JSON must show it (docs/ARCHITECTURE.md types).
ANSWERS: dict[str, dict[str, Any]] = {
    "1042": {
        "lykkedes": "Årsafslutningen kom i mål til tiden.\n\nOg vi fik ryddet op i bilagene — "
        "«endelig» (100 %) \\ færdig.",
        "udbytte": LONG,
        "tilfreds_opgaver": 4,
        "arbejdsmaengde": 2,
        "trivsel": 5,
        "feedback": "maanedligt",
        "udviklingsform": ["sparring", "kursus"],
        "kursus_oenske": True,
        "opfoelgning": "2027-04-15",
    },
    "1043": {
        "lykkedes": "Budgetopfølgningen kører nu hver måned.",
        "energi": "Giver energi: gode kolleger.\nDræner: for mange møder.",
        "trivsel": 3,
        "feedback": "ugentligt",
        "udviklingsform": ["nye_opgaver"],
        "kursus_oenske": False,
        "opfoelgning": "2027-03-01",
    },
    "1044": {
        "lykkedes": "Ny proces for kreditorer (æøå ÆØÅ).",
        "kompetencer": 4,
        "balance": 2,
        "feedback": "ved_behov",
        "udviklingsform": [],
        "kursus_oenske": True,
    },
    "1045": {
        "lykkedes": "Overtog lønkørslen og fik den stabil.\nTo linjer.",
        "fremtid": LONG,
        "tilfreds_opgaver": 5,
        "feedback": "kvartalsvis",
        "udviklingsform": ["oplaering", "uddannelse"],
        "kursus_oenske": True,
        "opfoelgning": "2027-05-20",
    },
    "2001": {
        "lykkedes": "Teamet er vokset fra fire til seks.",
        "trivsel": 4,
        "udviklingsform": ["sparring"],
        "kursus_oenske": False,
    },
    "2101": {
        "lykkedes": "Borgerservice har kortere ventetid.",
        "arbejdsmaengde": 3,
        "udviklingsform": [],
        "kursus_oenske": False,
    },
    "2102": {
        "lykkedes": "Første udgave, senere erstattet.",
        "udviklingsform": [],
        "kursus_oenske": False,
    },
}
AGREEMENTS: dict[str, list[dict[str, str | None]]] = {
    "1042": [
        {"what": "Kursus i Power BI", "owner": "Søren", "due": "2027-03-01"},
        {"what": "Sparring med Åse hver anden uge", "owner": "Åse", "due": None},
    ],
    "1045": [{"what": "Lønsystem-certificering", "owner": "Anne-Mette", "due": "2027-06-30"}],
}
# The later return of 2102 that must win over the first one.
SECOND_RETURN = {
    "lykkedes": "Anden udgave: den gældende.",
    "trivsel": 5,
    "udviklingsform": ["kursus"],
    "kursus_oenske": True,
}
# Typed dates as people write them, per employee (ISO answers are typed like this).
DATE_STYLE = {"1042": "15-04-2027", "1043": "1.3.2027", "1045": "20/5 2027"}


def field_values(
    qs_answers: dict[str, Any], agreements: list[dict[str, str | None]], eid: str = ""
) -> dict[str, str | bool]:
    """The field values a person types to give ``qs_answers`` (the inverse of collect)."""
    from musforms.questionset import load_question_set

    qs = load_question_set(QUESTIONS)
    values: dict[str, str | bool] = {}
    for q in qs.questions():
        answer = qs_answers.get(q.id)
        if q.type == "multichoice":
            chosen = answer or []
            for opt in q.option_ids():
                values[f"{q.id}{fn.SEP}{opt}"] = opt in chosen
        elif q.type == "checkbox":
            values[q.id] = bool(answer)
        elif answer is None:
            continue
        elif q.type == "date":
            values[q.id] = DATE_STYLE.get(eid) or _dmy(answer)
        elif q.type in ("scale", "choice"):
            values[q.id] = str(answer)
        else:
            values[q.id] = answer
    for row, agreement in enumerate(agreements, start=1):
        for part in fn.AGREEMENT_PARTS:
            value = agreement.get(part)
            if value:
                values[fn.agreement_field("aftaler", row, part)] = (
                    _dmy(value) if part == "due" else value
                )
    return values


def _dmy(iso: str) -> str:
    y, m, d = iso.split("-")
    return f"{d}-{m}-{y}"


@dataclass
class Scenario:
    forms: Path
    returned: Path
    key_file: Path
    files: dict[str, str] = field(default_factory=dict)  # returned file name → what it is


def _form(forms: Path, eid: str, fmt: str) -> Path:
    return next(forms.glob(f"{eid}-*.{fmt}"))


def _set_mtime(path: Path) -> None:
    stamp = 1_790_000_000  # one fixed time: only a file's own save time can make it newer
    os.utime(path, (stamp, stamp))


def build(root: Path, key_file: Path, *, bad_files: bool = True) -> Scenario:
    """Generate the sample round and return forms the way employees and email clients do."""
    forms = root / "forms" / CYCLE
    returned = root / "returned"
    returned.mkdir(parents=True, exist_ok=True)
    generate(QUESTIONS, ROSTER, forms, CYCLE, key_file=key_file, workers=1)
    sc = Scenario(forms, returned, key_file)

    def put(name: str, what: str, make: Callable[[Path], None]) -> Path:
        target = returned / name
        make(target)
        _set_mtime(target)
        sc.files[name] = what
        return target

    def values(eid: str) -> dict[str, str | bool]:
        return field_values(ANSWERS[eid], AGREEMENTS.get(eid, []), eid)

    put(
        "MUS Søren Ærø.pdf",
        "1042 filled in Firefox (pdf.js)",
        lambda t: fill_pdfjs(_form(forms, "1042", "pdf"), t, values("1042")),
    )
    put(
        "mette_mus_udfyldt.pdf",
        "1043 filled in Chrome (PDFium)",
        lambda t: fill_pdfium(_form(forms, "1043", "pdf"), t, values("1043")),
    )
    put(
        "Forberedelse Jens.pdf",
        "1044 filled in Evince (poppler)",
        lambda t: fill_poppler(_form(forms, "1044", "pdf"), t, values("1044")),
    )
    put(
        "1045-anne-mette-lauridsen (udfyldt).docx",
        "1045 filled in LibreOffice",
        lambda t: fill_libreoffice(_form(forms, "1045", "docx"), t, values("1045")),
    )
    lo_2001 = root / "work" / "2001.docx"
    lo_2001.parent.mkdir(exist_ok=True)
    fill_libreoffice(_form(forms, "2001", "docx"), lo_2001, values("2001"))
    put(
        "Åse MUS (Google Docs).docx",
        "2001 filled, then opened and downloaded from Google Docs (no controls left)",
        lambda t: google_docs_copy(lo_2001, t),
    )
    filled_2101 = root / "work" / "2101.pdf"
    fill_pdfjs(_form(forms, "2101", "pdf"), filled_2101, values("2101"))
    put(
        "Lærke - udskrevet.pdf",
        "2101 filled, then printed to PDF (no fields left)",
        lambda t: _print_to_pdf(filled_2101, t),
    )
    # Both returns carry their own save time (a clone or a mail client resets file times).
    put(
        "2102 første.docx",
        "2102 first return (older)",
        lambda t: fill_libreoffice(_form(forms, "2102", "docx"), t, values("2102")),
    )
    time.sleep(1.1)  # Word files record their save time to the second
    put(
        "2102 rettet.docx",
        "2102 second return (newer): wins",
        lambda t: fill_libreoffice(
            _form(forms, "2102", "docx"), t, field_values(SECOND_RETURN, [], "2102")
        ),
    )
    put(
        "Kopi af mette_mus_udfyldt.pdf",
        "an identical copy of 1043's return",
        lambda t: shutil.copyfile(returned / "mette_mus_udfyldt.pdf", t),
    )
    put(
        "Thomas - rettet navn.pdf",
        "2104's form with the printed name edited: rejected",
        lambda t: _edit_pdf_field(_form(forms, "2104", "pdf"), t, fn.PREFILL_NAME, "Tomas D."),
    )
    if bad_files:
        _bad_files(put)
    return sc


def _print_to_pdf(src: Path, dst: Path) -> None:
    subprocess.run(["pdftocairo", "-pdf", str(src), str(dst)], check=True, timeout=120)


def _edit_pdf_field(src: Path, dst: Path, name: str, value: str) -> None:
    """Change a read-only field's value the way a determined editor can."""
    writer = PdfWriter(clone_from=PdfReader(src))
    for page in writer.pages:
        for annot in page.get("/Annots", []):
            obj = annot.get_object()
            if obj.get("/T") == name:
                obj[NameObject("/V")] = TextStringObject(value)
    with open(dst, "wb") as fh:
        writer.write(fh)


def _bad_files(put: Callable[..., Path]) -> None:
    put("tom.pdf", "an empty file", lambda t: t.write_bytes(b""))
    put("scan.pdf", "random bytes named .pdf", lambda t: t.write_bytes(os.urandom(4096)))
    put(
        "gammel.doc",
        "a Word 97 file",
        lambda t: t.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 2048),
    )
    put("skema.odt", "a damaged OpenDocument file", _odt)
    corpus = CORPUS / "07_docx-form_test.docx"
    put(
        "skabelon fra Word.docx",
        "a Word-made form, not musforms",
        lambda t: shutil.copyfile(corpus, t),
    )
    put("noter.txt", "a text file", lambda t: t.write_text("Husk mødet", encoding="utf-8"))


def _odt(target: Path) -> None:
    with zipfile.ZipFile(target, "w") as z:
        z.writestr("mimetype", "application/vnd.oasis.opendocument.text")
        z.writestr("content.xml", "<office:document-content/>")


# The status each returned file must get.
EXPECTED_STATUS = {
    "MUS Søren Ærø.pdf": "ok",
    # Identical copies: the first file in name order is used ("K" sorts before "m").
    "mette_mus_udfyldt.pdf": "duplicate",
    "Forberedelse Jens.pdf": "ok",
    "1045-anne-mette-lauridsen (udfyldt).docx": "ok",
    "Åse MUS (Google Docs).docx": "ok",
    "Lærke - udskrevet.pdf": "recovered",
    "2102 første.docx": "superseded",  # older, other answers than "2102 rettet.docx"
    "2102 rettet.docx": "ok",
    "Kopi af mette_mus_udfyldt.pdf": "ok",
    "Thomas - rettet navn.pdf": "rejected",
    "tom.pdf": "unreadable",
    "scan.pdf": "unreadable",
    "gammel.doc": "unreadable",
    "skema.odt": "unreadable",
    "skabelon fra Word.docx": "not_musforms",
    "noter.txt": "not_musforms",
}
