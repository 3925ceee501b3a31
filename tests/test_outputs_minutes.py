"""Minutes drafts: rendered from the Word template, read back with python-docx."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner
from docx import Document

from musforms.cli import cli
from musforms.errors import ConfigError
from musforms.models import Organisation, QuestionSet
from musforms.outputs.minutes import (
    DEFAULT_TEMPLATE,
    VARIABLES,
    check_template,
    context,
    minutes_name,
    render_minutes,
    write_minutes,
)
from musforms.outputs.views import QuestionSets
from musforms.response import Response
from tests.conftest import DANISH, EVERY_TYPE, MULTILINE
from tests.outputs_data import TODAY, responses, results_folder


@pytest.fixture
def sample(every_type: QuestionSet) -> list[Response]:
    return responses(every_type)


@pytest.fixture
def sets(every_type: QuestionSet) -> QuestionSets:
    found = QuestionSets()
    found.add(every_type)
    return found


def drafted(folder: Path, items: list[Response], *args: Any, **kwargs: Any) -> list[Path]:
    """write_minutes, and the drafts it says it wrote: one per response, named after it."""
    count = write_minutes(folder, items, *args, **kwargs)
    assert count == len(items)
    paths = [folder / minutes_name(r) for r in items]
    for path in paths:
        assert path.is_file(), path
    return paths


def docx_text(path: Path) -> str:
    """All text of a Word document: body paragraphs, table cells, header and footer."""
    doc = Document(str(path))
    parts = [p.text for p in doc.paragraphs]
    for table in doc.tables:
        for row in table.rows:
            parts.append(" | ".join(cell.text for cell in row.cells))
    for section in doc.sections:
        parts += [p.text for p in section.header.paragraphs]
        parts += [p.text for p in section.footer.paragraphs]
    return "\n".join(parts)


def table_rows(path: Path, first_header: str) -> list[list[str]]:
    for table in Document(str(path)).tables:
        rows = [[cell.text for cell in row.cells] for row in table.rows]
        if rows and rows[0][0] == first_header:
            return rows[1:]
    raise AssertionError(f"no table starting with {first_header!r}")


def make_template(path: Path, *paragraphs: str) -> Path:
    doc = Document()
    for text in paragraphs:
        doc.add_paragraph(text)
    doc.save(str(path))
    return path


def test_minutes_show_answers_as_labels(
    tmp_path: Path, sample: list[Response], sets: QuestionSets
) -> None:
    """Employee, leader and meeting date; answers by section under their questions, a scale
    as "4 – label", a choice as its label, multiple choice one per line, a checkbox Ja/Nej,
    a date dd-mm-åååå; the employee's '<', '&' and line breaks come through as written."""
    [path] = drafted(tmp_path, sample[:1], sets, Organisation(name="Ærø Kommune"))
    assert path.name == "1042-soeren-aeroe.docx"
    text = docx_text(path)
    for expected in (
        "Referat af MUS",
        "Forberedelse til MUS · Ærø Kommune",
        "Medarbejder | Søren Ærø (1042)",
        "Afdeling | Økonomi",
        "Leder | Åse Østergård",
        "Mødedato | 14-01-2027",
        "Status på året",
        "Hvad er du lykkedes godt med?",
        "Budgettet <b>kom</b> i mål & «til tiden»\nNæste linje",
        "4 (skala 1–5)",
        "Personlig udvikling",
        "• Faglige opgaver\n• Balance mellem arbejde og fritid",
        "Jeg ønsker et kursus\nJa",
        "15-02-2027",
        "Samtalen",
        "Underskrifter",
        "Medarbejder: Søren Ærø | Leder: Åse Østergård",
        "Fortroligt · Søren Ærø · Formkode MF-AAAA-BBBB-CCCC",
    ):
        assert expected in text, expected
    assert "faglig" not in text.split("Hvilke områder fylder?")[1].split("\n")[1]
    assert "Forslag til aftaler" not in text  # agreements have their own table


def test_minutes_have_every_agreement(
    tmp_path: Path, sample: list[Response], sets: QuestionSets
) -> None:
    """The agreements table lists this round's agreements (what, who, by when, status) and
    last round's with the status and comment the employee gave."""
    paths = drafted(tmp_path, sample, sets, Organisation(), today=TODAY)
    soeren, ida, ulla = paths
    rows = table_rows(soeren, "#")
    assert rows == [
        ["1", "Kursus i Excel & <Power BI>", "Søren", "01-03-2027", "Åben"],
        ["2", '=HYPERLINK("http://x.dk","klik")', "+45 1234", "", "Åben"],
        ["3", "Mentorordning\nmed Åse", "Åse", "31-01-2027", "Åben"],
    ]
    previous = table_rows(soeren, "Hvad")
    assert previous == [
        ["Gammel aftale om ferie", "Søren", "01-06-2026", "Gennemført", "-klaret i juni"],
        ["Halvfærdig aftale", "Åse", "01-09-2026", "I gang", MULTILINE],
        ["Aftale uden status", "", "", "Ikke angivet", ""],
        ["Droppet aftale", "", "", "Droppet", "@ikke aktuel"],
    ]
    assert "Opfølgning på sidste års aftaler" in docx_text(soeren)

    ida_text = docx_text(ida)
    assert "@møde hver uge" in ida_text
    assert DANISH in ida_text
    assert "Opfølgning på sidste års aftaler" not in ida_text  # none to follow up

    ulla_text = docx_text(ulla)
    assert "Ingen aftaler skrevet i skemaet." in ulla_text
    assert "Uden afdeling" not in ulla_text
    assert table_rows(ulla, "#") == []


def test_minutes_in_english(tmp_path: Path, sample: list[Response], sets: QuestionSets) -> None:
    """A form issued in English gets English minutes."""
    sets.languages["AAAABBBBCCCC"] = "en"
    [path] = drafted(tmp_path, sample[:1], sets, Organisation())
    text = docx_text(path)
    assert "Minutes of the development conversation" in text
    assert "What went well?" in text
    assert "Yes" in text
    assert "1 | Kursus i Excel & <Power BI> | Søren | 01-03-2027 | Open" in text


def test_minutes_without_the_question_set(tmp_path: Path, sample: list[Response]) -> None:
    """Without the question set the answers still show, by question id, and so do the
    agreements."""
    [path] = drafted(tmp_path, sample[:1], QuestionSets(), Organisation())
    text = docx_text(path)
    assert "arbejdsmaengde\n4" in text
    assert "Kursus i Excel & <Power BI>" in text


def test_control_characters_do_not_break_the_document(
    tmp_path: Path, sample: list[Response], sets: QuestionSets
) -> None:
    """Characters XML cannot hold (pasted from elsewhere) are dropped, not a broken file;
    Windows line ends become line breaks."""
    odd = sample[0].model_copy(
        update={"answers": {**sample[0].answers, "lykkedes": "før\x00\x0b\x1fefter\r\nny linje"}}
    )
    [path] = drafted(tmp_path, [odd], sets, Organisation())
    assert "førefter\nny linje" in docx_text(path)


def test_unchanged_minutes_are_not_rewritten(
    tmp_path: Path, sample: list[Response], sets: QuestionSets
) -> None:
    """Collecting again leaves a draft alone when its answers and the template are the same,
    and drafts it again when they changed."""
    first = drafted(tmp_path, sample, sets, Organisation(), today=TODAY)
    inodes = [p.stat().st_ino for p in first]
    changed = [
        sample[0].model_copy(update={"agreements": sample[0].agreements[:1]}),
        *sample[1:],
    ]
    later = TODAY + dt.timedelta(days=2)
    second = drafted(tmp_path, changed, sets, Organisation(), today=later)
    assert first == second
    assert second[0].stat().st_ino != inodes[0]
    assert [p.stat().st_ino for p in second[1:]] == inodes[1:]
    assert "Mentorordning" not in docx_text(second[0])


def test_minutes_are_drafted_again_when_what_they_show_changes(
    tmp_path: Path, sample: list[Response], sets: QuestionSets, every_type: QuestionSet
) -> None:
    """A draft is left alone by what it was made from, not by what it shows: so each thing it
    shows besides the response must make it drafted again when it changes: the
    organisation, the question set's wording, the language, the template, a conclusion."""
    first = drafted(tmp_path, sample, sets, Organisation(), today=TODAY)

    def inodes() -> list[int]:
        return [p.stat().st_ino for p in first]

    before = inodes()
    drafted(tmp_path, sample, sets, Organisation(), today=TODAY)
    assert inodes() == before  # nothing changed: nothing drafted

    drafted(tmp_path, sample, sets, Organisation(name="Ærøskøbing Kommune"), today=TODAY)
    assert all(a != b for a, b in zip(inodes(), before, strict=True))
    assert "Ærøskøbing Kommune" in docx_text(first[0])

    before = inodes()
    reworded = QuestionSets()
    section = every_type.sections[0]
    label = {"da": "Hvad gik særligt godt i år?"}
    question = section.questions[0].model_copy(update={"label": label})
    changed = section.model_copy(update={"questions": [question, *section.questions[1:]]})
    reworded.add(every_type.model_copy(update={"sections": [changed, *every_type.sections[1:]]}))
    drafted(tmp_path, sample, reworded, Organisation(name="Ærøskøbing Kommune"), today=TODAY)
    assert all(a != b for a, b in zip(inodes(), before, strict=True))
    assert "Hvad gik særligt godt i år?" in docx_text(first[0])

    before = inodes()
    template = make_template(tmp_path / "hr.docx", "Referat for {{ employee.name }}")
    drafted(
        tmp_path, sample, reworded, Organisation(name="Ærøskøbing Kommune"), today=TODAY,
        template=template,
    )  # fmt: skip
    assert all(a != b for a, b in zip(inodes(), before, strict=True))


# --- templates -------------------------------------------------------------------------------


def test_default_template_uses_only_known_variables() -> None:
    """The built-in template passes the check, and its variables are the documented ones."""
    check_template(DEFAULT_TEMPLATE)
    from docxtpl import DocxTemplate

    used = DocxTemplate(DEFAULT_TEMPLATE).get_undeclared_template_variables()
    assert used <= VARIABLES


def test_every_variable_is_documented() -> None:
    """Each variable a template may use is described in the module docstring and README."""
    import musforms.outputs.minutes as minutes

    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Minutes template", 1)[1]
    for name in VARIABLES:
        assert f"``{name}``" in (minutes.__doc__ or ""), name
        assert f"`{name}`" in section, name


def test_unknown_variable_is_named(tmp_path: Path) -> None:
    """A template that asks for a variable musforms does not have is refused before anything
    is written, and the message names it."""
    template = make_template(
        tmp_path / "minutes.docx", "{{ employee.name }}", "Afdelingschef: {{ afdelingschef }}"
    )
    with pytest.raises(ConfigError, match=r"uses afdelingschef, which musforms does not"):
        check_template(template)


def test_unknown_variable_stops_before_writing(
    tmp_path: Path, sample: list[Response], sets: QuestionSets
) -> None:
    """No drafts are written with a template that fails the check."""
    template = make_template(tmp_path / "t.docx", "{{ medarbejder }}")
    out = tmp_path / "minutes"
    with pytest.raises(ConfigError, match="medarbejder"):
        write_minutes(out, sample, sets, Organisation(), template=template)
    assert not out.exists() or not list(out.glob("*.docx"))


def test_unknown_field_of_a_known_variable(
    tmp_path: Path, sample: list[Response], sets: QuestionSets
) -> None:
    """A misspelt field of a known variable ({{ employee.nme }}) is an error, not a blank."""
    template = make_template(tmp_path / "t.docx", "{{ employee.nme }}")
    with pytest.raises(ConfigError, match="nme"):
        write_minutes(tmp_path / "out", sample, sets, Organisation(), template=template)


def test_broken_tag(tmp_path: Path) -> None:
    """A tag left open is reported as such."""
    template = make_template(tmp_path / "t.docx", "{{ employee.name }", "{% if x %}")
    with pytest.raises(ConfigError, match="broken tag"):
        check_template(template)


def test_not_a_word_file(tmp_path: Path) -> None:
    """A template that is not a .docx says so."""
    template = tmp_path / "minutes.docx"
    template.write_text("ikke et Word-dokument", encoding="utf-8")
    with pytest.raises(ConfigError, match="cannot be opened as a Word"):
        check_template(template)


def test_hr_template(tmp_path: Path, sample: list[Response], sets: QuestionSets) -> None:
    """HR's own template with their own wording and loops is filled in, escaped."""
    template = make_template(
        tmp_path / "vores.docx",
        "Referat for {{ employee.name }}, {{ employee.department }} – {{ organisation }}",
        "{%p for a in agreements %}",
        "{{ a.number }}. {{ a.what }} ({{ a.owner }}, senest {{ a.due }})",
        "{%p endfor %}",
        "{%p for s in sections %}",
        "{%p for a in s.answers %}",
        "{{ a.label }}: {% if a.answered %}{{ a.answer }}{% else %}(ubesvaret){% endif %}",
        "{%p endfor %}",
        "{%p endfor %}",
    )
    ctx = context(sample[0], sets.for_response(sample[0]), "da", Organisation(name="R&D"), TODAY)
    out = tmp_path / "out.docx"
    out.write_bytes(render_minutes(template, ctx))
    text = docx_text(out)
    assert "Referat for Søren Ærø, Økonomi – R&D" in text
    assert "1. Kursus i Excel & <Power BI> (Søren, senest 01-03-2027)" in text
    assert "3. Mentorordning\nmed Åse (Åse, senest 31-01-2027)" in text
    assert "Din stillingsbetegnelse: (ubesvaret)" in text


def test_minutes_command_with_a_template(
    tmp_path: Path, sample: list[Response], every_type: QuestionSet
) -> None:
    """`musforms minutes RESULTS --questions … --template …` drafts every employee's minutes
    again with HR's template; a later run without --template keeps using it."""
    out = results_folder(tmp_path, sample)
    questions = tmp_path / "questions.yaml"
    questions.write_text(yaml.safe_dump(EVERY_TYPE, allow_unicode=True), encoding="utf-8")
    template = make_template(tmp_path / "vores.docx", "VORES REFERAT {{ employee.name }}")
    runner = CliRunner()
    result = runner.invoke(
        cli, ["minutes", str(out), "-q", str(questions), "--template", str(template)]
    )
    assert result.exit_code == 0, result.output
    assert "Minutes: 3 drafts" in result.output
    assert "Follow-up list: 9 agreements" in result.output
    drafts = sorted((out / "minutes").glob("*.docx"))
    assert len(drafts) == 3
    assert "VORES REFERAT Søren Ærø" in docx_text(drafts[0])

    result = runner.invoke(cli, ["minutes", str(out), "-q", str(questions)])
    assert result.exit_code == 0, result.output
    assert "VORES REFERAT Ida Holm" in docx_text(drafts[1])

    bad = make_template(tmp_path / "bad.docx", "{{ chef }}")
    result = runner.invoke(cli, ["minutes", str(out), "--template", str(bad)])
    assert result.exit_code == 1
    assert "uses chef" in result.output


def test_minutes_command_with_settings(tmp_path: Path, sample: list[Response]) -> None:
    """--config gives the organisation's name and follow-up interval; drafting again later
    (as collect does) keeps them."""
    from icalendar import Calendar

    from musforms.outputs import write_outputs

    out = results_folder(tmp_path, sample)
    settings = tmp_path / "musforms.toml"
    settings.write_text('organisation = "Ærø Kommune"\nfollowup_months = 2\n', encoding="utf-8")
    result = CliRunner().invoke(cli, ["minutes", str(out), "--config", str(settings)])
    assert result.exit_code == 0, result.output
    assert "question set" in result.output  # none given: answers shown by question id

    def check_in() -> dt.date:
        cal = Calendar.from_ical((out / "followup.ics").read_bytes())
        [day] = [
            ev.decoded("DTSTART")
            for ev in cal.walk("VEVENT")
            if str(ev["UID"]) == "AAAABBBBCCCC-checkin@musforms"
        ]
        return day  # type: ignore[no-any-return]

    assert check_in() == dt.date(2027, 3, 14)
    assert "Ærø Kommune" in docx_text(out / "minutes" / "1042-soeren-aeroe.docx")

    (out / "followup.ics").unlink()
    write_outputs(out, sample, None)
    assert check_in() == dt.date(2027, 3, 14)


def test_many_minutes_in_parallel(
    tmp_path: Path, sample: list[Response], sets: QuestionSets
) -> None:
    """A large round is drafted by several processes; each draft is its own employee's."""
    from musforms.outputs.minutes import POOL_THRESHOLD

    many = [
        sample[0].model_copy(
            update={
                "employee": sample[0].employee.model_copy(update={"id": str(5000 + i)}),
                "agreements": [sample[0].agreements[0].model_copy(update={"what": f"Aftale {i}"})],
            }
        )
        for i in range(POOL_THRESHOLD + 2)
    ]
    paths = drafted(tmp_path, many, sets, Organisation(), workers=2)
    assert len({p.name for p in paths}) == len(many)
    for i in (0, len(many) // 2, len(many) - 1):
        text = docx_text(paths[i])
        assert f"Søren Ærø ({5000 + i})" in text
        assert f"1 | Aftale {i} | Søren" in text


@pytest.mark.realclient
@pytest.mark.slow
def test_minutes_open_in_libreoffice(
    tmp_path: Path, sample: list[Response], sets: QuestionSets
) -> None:
    """A word processor opens the drafted minutes: LibreOffice turns them into a PDF whose
    text has the employee, the answers and every agreement."""
    from pypdf import PdfReader

    from tests.clients.word import convert_to_pdf

    [path] = drafted(tmp_path / "minutes", sample[:1], sets, Organisation())
    pdf = convert_to_pdf(path, tmp_path)
    text = " ".join("\n".join(page.extract_text() for page in PdfReader(pdf).pages).split())
    for expected in (
        "Referat af MUS",
        "Søren Ærø (1042)",
        "Budgettet <b>kom</b> i mål & «til tiden» Næste linje",
        "Kursus i Excel & <Power BI>",
        '=HYPERLINK("http://x.dk","klik")',
        "Mentorordning med Åse",
        "Halvfærdig aftale",
        "Gennemført",
        "Dato og underskrift",
    ):
        assert expected in text, expected


def test_minutes_command_finds_the_template_beside_the_config(
    tmp_path: Path, sample: list[Response]
) -> None:
    """config/form_templates/minutes.docx is used when the config is given, as generate
    finds the forms' Word template."""
    out = results_folder(tmp_path, sample)
    config = tmp_path / "config"
    (config / "form_templates").mkdir(parents=True)
    questions = config / "questions.yaml"
    questions.write_text(yaml.safe_dump(EVERY_TYPE, allow_unicode=True), encoding="utf-8")
    make_template(config / "form_templates" / "minutes.docx", "VORES {{ employee.name }}")
    result = CliRunner().invoke(cli, ["minutes", str(out), "-q", str(questions)])
    assert result.exit_code == 0, result.output
    assert "VORES Ulla Ørsted" in docx_text(out / "minutes" / "1044-ulla-oersted.docx")


def test_compiled_template_matches_docxtpl(
    tmp_path: Path, sample: list[Response], sets: QuestionSets
) -> None:
    """The template compiled once per process gives, part for part, the document docxtpl
    gives when it opens the template afresh: the built-in template, and HR's own with
    {%p and {%tr loops, a header and a footer with tags, escaped text, line breaks, tabs,
    page and paragraph breaks."""
    import io
    import zipfile

    from musforms.outputs.minutes import _render_docxtpl

    hr = Document()
    hr.add_paragraph("Referat for {{ employee.name }} – {{ organisation }}")
    hr.add_paragraph("{%p for a in agreements %}")
    hr.add_paragraph("{{ a.number }}. {{ a.what }}")
    hr.add_paragraph("{%p endfor %}")
    table = hr.add_table(rows=3, cols=2)
    table.cell(0, 0).text = "{%tr for a in previous_agreements %}"
    table.cell(1, 0).text = "{{ a.what }}"
    table.cell(1, 1).text = "{{ a.status }}: {{ a.comment }}"
    table.cell(2, 0).text = "{%tr endfor %}"
    hr.sections[0].header.paragraphs[0].text = "{{ employee.name }} ({{ form_code }})"
    hr.sections[0].footer.paragraphs[0].text = "{{ labels.confidential }} {{ today }}"
    hr.core_properties.title = "{{ title }} – {{ employee.name }}"
    hr.save(str(tmp_path / "hr.docx"))
    tabbed = sample[0].model_copy(
        update={"answers": {**sample[0].answers, "titel": "Kolonne\tto\fNy side\x07Afsnit"}}
    )
    for template in (DEFAULT_TEMPLATE, tmp_path / "hr.docx"):
        check_template(template)
        data = template.read_bytes()
        for response in [*sample, tabbed]:
            ctx = context(response, sets.for_response(response), "da", Organisation(), TODAY)
            expected = zipfile.ZipFile(io.BytesIO(_render_docxtpl(data, ctx)))
            got = zipfile.ZipFile(io.BytesIO(render_minutes(data, ctx)))
            assert got.testzip() is None
            assert got.namelist() == expected.namelist()
            for name in expected.namelist():
                assert got.read(name) == expected.read(name), (template.name, name)
    out = tmp_path / "hr-out.docx"
    ctx = context(sample[0], sets.for_response(sample[0]), "da", Organisation(name="R&D"), TODAY)
    out.write_bytes(render_minutes(tmp_path / "hr.docx", ctx))
    text = docx_text(out)
    assert "Referat for Søren Ærø – R&D" in text
    assert "Søren Ærø (" in text
