"""LibreOffice 25 fills generated Word forms like a person; the reader returns what was typed."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from musforms.docx.reader import read_controls, read_docx
from musforms.docx.writer import write_docx
from musforms.formats import Issued
from musforms.models import FormData, QuestionSet, RawForm
from tests.clients.word import (
    convert_to_pdf,
    fill_libreoffice,
    google_docs_copy,
    stop_libreoffice,
)
from tests.conftest import DANISH, LONG, MULTILINE

pytestmark = [pytest.mark.realclient, pytest.mark.slow]

TYPED: dict[str, str | bool] = {
    "lykkedes": MULTILINE,
    "titel": DANISH,
    "arbejdsmaengde": "5",
    "fokus": "ledelse",
    "fokus_flere__faglig": True,
    "fokus_flere__balance": True,
    "kursus": True,
    "startdato": "2027-01-15",  # picked from the calendar
    "aftaler__1__what": LONG,
    "aftaler__1__owner": "Søren Ærø",
    "aftaler__1__due": "15-01-2027",  # typed by hand
    "aftaler__2__what": "Mentor — æøå ÆØÅ",
    "prev_status__1": "done",
    "prev_comment__1": "Gennemført i foråret\nmed god hjælp",
    "prev_status__2": "dropped",
}


@pytest.fixture(scope="module", autouse=True)
def _libreoffice() -> Iterator[None]:
    """One soffice for the module, always stopped afterwards."""
    yield
    stop_libreoffice()


def _resolver(qs: QuestionSet):  # type: ignore[no-untyped-def]
    return lambda raw: Issued(qs, None, None)


@pytest.fixture(scope="module")
def filled(tmp_path_factory: pytest.TempPathFactory, form_data: FormData) -> Path:
    """A generated form, filled and saved as .docx by LibreOffice."""
    folder = tmp_path_factory.mktemp("lo")
    blank = folder / "blank.docx"
    write_docx(form_data, blank)
    out = folder / "filled.docx"
    fill_libreoffice(blank, out, TYPED)
    return out


@pytest.fixture(scope="module")
def form_data() -> FormData:
    """Like the shared form_data fixture, but made once per module: filling is costly."""
    import datetime as dt

    from musforms.formdata import make_form_data
    from musforms.models import Agreement, Employee
    from tests.conftest import EVERY_TYPE

    employee = Employee(
        id="1042",
        name="Søren Ærø",
        department="Økonomi",
        manager="Åse Østergård",
        meeting_date=dt.date(2027, 1, 14),
    )
    previous = [
        Agreement(what="Kursus i Excel", owner="Søren", due=dt.date(2026, 6, 1)),
        Agreement(what="Mentorordning", owner="Åse", due=None),
    ]
    return make_form_data(
        QuestionSet.model_validate(EVERY_TYPE),
        employee,
        key=b"k" * 32,
        cycle="2026",
        previous=previous,
    )


def _expected() -> dict[str, object]:
    expected: dict[str, object] = dict(TYPED)
    expected["fokus_flere__samarbejde"] = False
    for name in ("aftaler__2__owner", "aftaler__2__due", "aftaler__3__what", "prev_comment__2"):
        expected[name] = None
    return expected


def test_libreoffice_fill_reads_back_exactly(filled: Path, form_data: FormData) -> None:
    """Every question type, æøå, line breaks and 2,000 characters come back as typed, by tag;
    the identity and the prefilled values survive."""
    raw: RawForm = read_docx(filled, _resolver(form_data.question_set))
    assert raw.read_by == "tags", raw.notes
    assert raw.token == form_data.token
    assert raw.form_code == form_data.form_code
    assert raw.application and raw.application.startswith("LibreOffice")
    for name, value in _expected().items():
        assert raw.fields[name] == value, name
    for name, value in form_data.prefill.items():
        assert raw.fields[name] == (value or None), name
    assert all(c.tag for c in read_controls(filled))


def test_libreoffice_copy_without_controls_reads_by_layout(
    filled: Path, form_data: FormData, tmp_path: Path
) -> None:
    """The LibreOffice-saved form, unwrapped like Google Docs does, still yields the answers."""
    copy_ = tmp_path / "gdocs.docx"
    google_docs_copy(filled, copy_)
    raw = read_docx(copy_, _resolver(form_data.question_set))
    assert raw.read_by == "layout"
    expected = _expected()
    expected["startdato"] = "15-01-2027"  # the date as shown; the picked value went with it
    for name, value in expected.items():
        assert raw.fields[name] == value, name


def test_libreoffice_renders_typed_text_to_pdf(filled: Path, tmp_path: Path) -> None:
    """A filled form prints: the typed text and the form code are on the PDF pages."""
    pdf = convert_to_pdf(filled, tmp_path)
    text = subprocess.run(
        ["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True, check=True
    ).stdout
    flat = " ".join(text.split())
    for piece in (
        "Første linje med æøå",
        "Sidste: ÆØÅ!",
        "Æblegrød på Ærø",
        "5 – I høj grad",
        "Ledelse",
        "15-01-2027",
        "Mentor — æøå ÆØÅ",
        "Gennemført",
        "Søren Ærø",
    ):
        assert piece in flat, piece
    assert "☒" in text
    assert "MF-" in flat
