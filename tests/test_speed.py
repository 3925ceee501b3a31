"""Fast paths must not change what is written: templates, worker pools, streaming collect."""

from __future__ import annotations

import datetime as dt
import io
import zipfile
from pathlib import Path

import pytest
from pypdf import PdfReader

from musforms.formdata import make_form_data
from musforms.generate import POOL_THRESHOLD, generate
from musforms.models import Agreement, Employee, Organisation, QuestionSet
from musforms.pdf.reader import read_pdf
from musforms.pdf.writer import PdfFormWriter

STANDARD = Path(__file__).resolve().parent.parent / "musforms" / "sets" / "standard.yaml"


def _roster(path: Path, n: int) -> Path:
    lines = ["id;name;department;manager;meeting_date;language"]
    for i in range(n):
        lang = "en" if i % 7 == 0 else "da"
        lines.append(f"{100 + i};Søren Ærø {i};Økonomi;Åse Østergård;1{i % 9}-01-2027;{lang}")
    lines.append("999;Dvořák Łukasz;Løn;Åse;15-01-2027;da")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.mark.slow
def test_output_same_whatever_the_workers(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """One process or two: every PDF and Word file and the manifest come out the same bytes."""
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1795000000")
    roster = _roster(tmp_path / "roster.csv", POOL_THRESHOLD + 6)
    key = tmp_path / "key"
    one, two = tmp_path / "one", tmp_path / "two"
    generate(STANDARD, roster, one, "2026", key_file=key, workers=1)
    generate(STANDARD, roster, two, "2026", key_file=key, workers=2)
    names = sorted(p.name for p in one.iterdir() if p.suffix in (".pdf", ".docx"))
    assert len(names) == 2 * (POOL_THRESHOLD + 7)
    assert names == sorted(p.name for p in two.iterdir() if p.suffix in (".pdf", ".docx"))
    for name in names:
        if name.endswith(".pdf"):
            assert (one / name).read_bytes() == (two / name).read_bytes(), name
        else:
            assert (one / name).read_bytes() == (two / name).read_bytes(), name
    assert (one / "manifest.json").read_bytes() == (two / "manifest.json").read_bytes()
    info = PdfReader(one / next(n for n in names if n.endswith(".pdf"))).metadata
    assert info is not None and info["/CreationDate"].startswith("D:20261118110640")
    with zipfile.ZipFile(one / next(n for n in names if n.endswith(".docx"))) as zf:
        assert b"2026-11-18T11:06:40Z" in zf.read("docProps/core.xml")


def _render(writer: PdfFormWriter, key: bytes, name: str, previous: list[Agreement]) -> bytes:
    employee = Employee(
        id=str(abs(hash(name)) % 10_000),
        name=name,
        department="Økonomi",
        meeting_date=dt.date(2027, 1, 4),
    )
    qs = writer.question_set
    return writer.render(make_form_data(qs, employee, key=key, cycle="2026", previous=previous))


def test_each_form_carries_only_its_own_values(
    every_type: QuestionSet, key: bytes, tmp_path: Path
) -> None:
    """Forms rendered one after the other from a shared layout hold their own name, identity,
    form code and last cycle's agreements, and nothing of the forms before them."""
    writer = PdfFormWriter(every_type, "da", Organisation(name="Kommunen"))
    short = [Agreement(what="Kursus", owner="Bo", due=dt.date(2026, 6, 1))]
    long = [
        Agreement(what="En lang aftale " * 12, owner="Åse", due=None),
        Agreement(what="Mentorordning", owner=None, due=None),
    ]
    people = {
        "Søren Ærø": [],
        "Karen Blixen": [],
        "Mette Frederiksen": short,
        "Niels Bohr": long,
        "Zoë Ångström-Dvořák": short,
    }
    forms = {name: _render(writer, key, name, prev) for name, prev in people.items()}
    for name, data in forms.items():
        reader = PdfReader(io.BytesIO(data))
        text = "".join(page.extract_text() for page in reader.pages)
        assert name in text
        assert not any(other in text for other in forms if other != name)
        path = tmp_path / "form.pdf"
        path.write_bytes(data)
        raw = read_pdf(path)
        assert raw.fields["mf_name"] == name
        assert raw.token is not None
        assert reader.metadata is not None
        assert reader.metadata["/MusformsIdentity"] == raw.token
        assert str(reader.metadata["/Subject"]) in text  # the form code in every footer
        assert text.count(str(reader.metadata["/Subject"])) == len(reader.pages)
    bohr = "".join(p.extract_text() for p in PdfReader(io.BytesIO(forms["Niels Bohr"])).pages)
    assert "Mentorordning" in bohr and "Kursus" not in bohr


@pytest.mark.slow
def test_collect_same_whatever_the_workers(tmp_path: Path) -> None:
    """Collecting with one process or two writes the same responses, report and lists."""
    from musforms.collect import POOL_THRESHOLD as COLLECT_POOL
    from musforms.collect import collect

    roster = _roster(tmp_path / "roster.csv", COLLECT_POOL // 2 + 4)
    key, forms = tmp_path / "key", tmp_path / "forms"
    generate(STANDARD, roster, forms, "2026", key_file=key, workers=1)
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    from benchmarks.fill import answers_for, fill_docx, fill_pdf
    from musforms.questionset import load_question_set

    qs = load_question_set(STANDARD)
    for form in forms.iterdir():
        if form.suffix in (".pdf", ".docx"):  # answered: a form with none is not returned
            typed = answers_for(qs, form.name.split("-", 1)[0])
            (fill_pdf if form.suffix == ".pdf" else fill_docx)(form, inbox / form.name, typed)
    (inbox / "kopi.pdf").write_bytes(next(forms.glob("*.pdf")).read_bytes())
    (inbox / "noter.txt").write_text("ikke en formular", encoding="utf-8")
    one, two = tmp_path / "one", tmp_path / "two"
    first = collect([inbox], forms, one, key_file=key, workers=1)
    second = collect([inbox], forms, two, key_file=key, workers=2)
    assert first.files_read == second.files_read > COLLECT_POOL
    assert first.returned == second.returned == COLLECT_POOL // 2 + 5  # and Dvořák
    assert first.counts == second.counts
    names = sorted(str(p.relative_to(one)) for p in one.rglob("*") if p.is_file())
    assert names == sorted(str(p.relative_to(two)) for p in two.rglob("*") if p.is_file())
    for name in names:
        assert _content(one / name) == _content(two / name), name


def _content(path: Path) -> object:
    """A file's content without the moments it was written at."""
    if path.suffix in (".xlsx", ".docx"):
        with zipfile.ZipFile(path) as zf:
            return {n: zf.read(n) for n in zf.namelist() if n != "docProps/core.xml"}
    lines = path.read_bytes().splitlines()
    return [line for line in lines if not line.strip().startswith((b'"collected_at"', b"DTSTAMP"))]
