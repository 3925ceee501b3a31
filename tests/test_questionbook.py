"""A question set as an Excel workbook means what the YAML means: the same digest both ways,
the same forms, and every problem named by file, sheet and cell."""

from __future__ import annotations

import re
import subprocess
import tempfile
import zipfile
from pathlib import Path

import pytest
from click.testing import CliRunner
from openpyxl import load_workbook

from musforms.cli import cli
from musforms.errors import ConfigError
from musforms.formdata import question_set_digest
from musforms.generate import generate
from musforms.i18n import set_language
from musforms.manifest import issued_question_set
from musforms.models import QuestionSet
from musforms.questionbook import write_question_book
from musforms.questionset import (
    builtin_sets,
    convert_question_set,
    lint,
    lint_file,
    load_question_set,
)
from tests.clients.word import require_libreoffice
from tests.questionbooks import FOLDER, SMALL, small_set, write_small

CALC_FILTER = "xlsx:Calc MS Excel 2007 XML"  # "Save as" Excel 2007–365 in LibreOffice Calc


@pytest.fixture(autouse=True)
def danish_messages(monkeypatch: pytest.MonkeyPatch) -> None:
    """The workbook's problems are asserted as the HR officer reads them by default: in
    Danish (the catalogue's translations of their English ids)."""
    monkeypatch.delenv("LANGUAGE", raising=False)
    monkeypatch.setenv("LANG", "da_DK.UTF-8")
    set_language("da")


# file → the message after "<file>, " (or after "<file>: " for the whole file)
BROKEN: dict[str, list[str]] = {
    "unknown_type": [
        "ark 'spørgsmål', celle A3: 'tekst_lang' er ikke en spørgsmålstype — mente du "
        "'textarea'? Typerne er text, textarea, scale, choice, multichoice, checkbox, date, "
        "agreements (og begin section / end section)"
    ],
    "duplicate_id": [
        "ark 'spørgsmål', celle B8: id'et 'lykkedes' er allerede brugt i række 3; hvert "
        "spørgsmål skal have sit eget id"
    ],
    "non_ascii_id": [
        "ark 'spørgsmål', celle B4: id'et 'trivsel_på_jobbet' må kun bruge a-z, 0-9 og _ — "
        "skriv fx 'trivsel_paa_jobbet'"
    ],
    "scale_min_above_max": [
        "ark 'spørgsmål', celle I4: skalaens min (5) er større end dens max (1); byt om på "
        "min og max"
    ],
    "choice_list_missing": [
        "ark 'spørgsmål', celle A5: listen 'fokuss' findes ikke i arket 'valgmuligheder' — "
        "mente du 'fokus'? Giv den rækker dér med list_name 'fokuss'"
    ],
    "choice_without_list": [
        "ark 'spørgsmål', celle A5: 'choice' skal have navnet på en liste i arket "
        "'valgmuligheder' efter sig, fx 'choice fokus'"
    ],
    "empty_choice_name": [
        "ark 'valgmuligheder', celle B3: valgmuligheden mangler et id; skriv et id med a-z, "
        "0-9 og _ (fx 'faglig')"
    ],
    "missing_label": [
        "ark 'spørgsmål', celle C3: spørgsmålet mangler sin tekst; skriv den i label::da (og "
        "label::en)"
    ],
    "unknown_column": [
        "ark 'spørgsmål', celle C1: kolonnen 'lable::da' kendes ikke — mente du 'label'? "
        "Kolonnerne i arket er type, id, label::da, help::da, required, rows, min, max, "
        "min_label::da, max_label::da, scale_labels::da"
    ],
    "unknown_language": [
        "ark 'spørgsmål', celle D1: ukendt sprog 'de' i kolonnen 'label::de'; skriv label::da "
        "(dansk) eller label::en (engelsk)"
    ],
    "formula_label": [
        'ark \'spørgsmål\', celle C3: cellen er en formel (="Hvad er du "&"lykkedes med?"); '
        "skriv selve teksten eller værdien (kopiér cellen, og indsæt som værdi)"
    ],
    "required_not_yes_or_no": [
        "ark 'spørgsmål', celle G3: required skal være ja eller nej, ikke 'måske'"
    ],
    "question_outside_section": [
        "ark 'spørgsmål', celle A7: spørgsmålet står uden for en sektion; sæt en 'begin "
        "section'-række (med id og label) over det"
    ],
    "rows_on_a_text": [
        "ark 'spørgsmål', celle H3: rows hører kun til et agreements-spørgsmål, ikke til "
        "textarea; slet værdien"
    ],
    "scale_min_not_a_number": ["ark 'spørgsmål', celle I4: min skal være et helt tal, ikke 'en'"],
    "text_on_end_section": [
        "ark 'spørgsmål', celle C6: kolonnen 'label::da' hører ikke til en 'end section'-række; "
        "slet værdien"
    ],
    "misspelt_sheet": [
        ": arket 'valgmulighder' kendes ikke — mente du 'valgmuligheder'? Arkene er "
        "spørgsmål, valgmuligheder, indstillinger (og vejledning, som ikke læses)",
        "ark 'spørgsmål', celle A5: listen 'fokus' findes ikke i arket 'valgmuligheder'. Giv "
        "den rækker dér med list_name 'fokus'",
    ],
    "no_settings": [
        ": arket 'indstillinger' mangler: det skal have kolonnerne id, version og title::da i "
        "første række og værdierne i rækken under"
    ],
    "not_a_workbook": [
        ": kan ikke læses som en Excel-projektmappe (BadZipFile); åbn den i Excel og gem den "
        "igen som Excel-projektmappe (.xlsx)"
    ],
}


def _expected(path: Path, messages: list[str]) -> str:
    return "\n".join(f"{path}{m}" if m.startswith(":") else f"{path}, {m}" for m in messages)


def test_every_broken_workbook_is_tested() -> None:
    """The folder and the table agree: no broken workbook goes untested."""
    assert sorted(p.stem for p in FOLDER.glob("*.xlsx")) == sorted(BROKEN)


@pytest.mark.parametrize("name", sorted(BROKEN))
def test_broken_workbook_names_the_cell(name: str) -> None:
    """Each defect gives exactly its message: file, sheet, cell and what to do."""
    path = FOLDER / f"{name}.xlsx"
    with pytest.raises(ConfigError) as exc:
        load_question_set(path)
    assert str(exc.value) == _expected(path, BROKEN[name])


def test_check_lists_every_problem_at_once_and_exits_1(tmp_path: Path) -> None:
    """Several defects in one workbook: all of them, in the order of the cells, exit 1."""
    path = write_small(tmp_path / "spoergsmaal.xlsx")
    wb = load_workbook(path)
    ws = wb["spørgsmål"]
    ws["A3"] = "tekst_lang"
    ws["B8"] = "lykkedes"
    ws["C5"] = "=B5"
    wb.save(path)
    result = CliRunner().invoke(cli, ["check", str(path)])
    assert result.exit_code == 1
    lines = result.output.strip().splitlines()
    assert [
        re.sub(r":.*", "", line.removeprefix("Fejl: ").split("celle ")[1]) for line in lines
    ] == [
        "A3",
        "C5",
        "B8",
    ]
    assert "Traceback" not in result.output
    assert lines[0] == (
        f"Fejl: {path}, ark 'spørgsmål', celle A3: 'tekst_lang' er ikke en spørgsmålstype — "
        "mente du 'textarea'? Typerne er text, textarea, scale, choice, multichoice, checkbox, "
        "date, agreements (og begin section / end section)"
    )


@pytest.mark.parametrize("name", sorted(builtin_sets()))
def test_builtin_set_round_trip_keeps_the_digest(name: str, tmp_path: Path) -> None:
    """YAML → XLSX → YAML, and XLSX → YAML → XLSX: the same question set every time."""
    source = builtin_sets()[name]
    digest = question_set_digest(load_question_set(source))
    book = tmp_path / f"{name}.xlsx"
    back = tmp_path / f"{name}.yaml"
    again = tmp_path / f"{name}-again.xlsx"
    convert_question_set(source, book)
    convert_question_set(book, back)
    convert_question_set(back, again)
    for path in (book, back, again):
        assert question_set_digest(load_question_set(path)) == digest, path


def test_every_field_of_the_model_survives(tmp_path: Path) -> None:
    """What the built-in sets do not use is expressible too: plain-string texts, a text in
    one language only, help and intro on a section, scale labels between the ends and outside
    the scale, description, no declared languages, every type."""
    data = {
        "musforms": 1,
        "id": "alt-i-alt",
        "version": "7",
        "title": "Én titel for alle sprog",
        "description": {"da": "Beskrivelse"},
        "intro": {"en": "Only English"},
        "sections": [
            {
                "id": "s1",
                "title": "Sektion",
                "intro": {"da": "Indledning på dansk", "en": "Intro"},
                "questions": [
                    {"id": "t", "type": "text", "label": "Навчання — Ελληνικά — عربي",
                     "help": "Linje 1\nLinje 2"},
                    {"id": "a", "type": "textarea", "label": {"da": "Dansk", "*": "Alle"}},
                    {"id": "s", "type": "scale", "label": "Skala",
                     "scale": {"min": 0, "max": 10, "labels": {
                         0: "Nul", 5: {"da": "Midt", "en": "Middle"}, 10: {"en": "Ten"},
                         12: {"da": "Uden for"}}}},
                    {"id": "c", "type": "choice", "label": "Valg", "required": True,
                     "options": [{"id": "x1", "label": "X"}, {"id": "yes", "label": "no"}]},
                    {"id": "m", "type": "multichoice", "label": "Flere",
                     "options": [{"id": "o", "label": {"en": "O"}}]},
                    {"id": "k", "type": "checkbox", "label": "Ja?"},
                    {"id": "d", "type": "date", "label": "Dato"},
                    {"id": "g", "type": "agreements", "label": "Aftaler", "rows": 20},
                ],
            }
        ],
    }  # fmt: skip
    qs = QuestionSet.model_validate(data)
    book = tmp_path / "alt.xlsx"
    write_question_book(qs, book)
    back = load_question_set(book)
    assert back == qs
    assert question_set_digest(back) == question_set_digest(qs)


def test_xlsform_and_danish_names_are_read(tmp_path: Path) -> None:
    """survey/choices/settings, name, hint, label::Dansk (da), select_one, begin group,
    TRUE/x for required, numbers typed as text, empty rows and columns: the small set."""
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    ws.title = "survey"
    ws.append(["type", "name", "label::Dansk (da)", "label::English (en)", None, "hint::da",
               "required", "min", "max", "min_label::da", "min_label::en", "max_label::da",
               "max_label::en", "rows"])  # fmt: skip
    ws.append([])
    ws.append(["begin group", "status", "Status på året", "The year"])
    ws.append(["textarea", "lykkedes", "Hvad er du lykkedes med?", "What went well?", None,
               None, True])  # fmt: skip
    ws.append(["scale", "trivsel", "Hvordan trives du?", "How are you?", None, None, "nej",
               "1", "5", "Dårligt", "Badly", "Godt", "Well"])  # fmt: skip
    ws.append(["select_one fokus", "fokus", "Hvad vil du fokusere på?", "Your focus?"])
    ws.append(["end group"])
    ws.append(["begin section", "aftaler", "Aftaler", "Agreements"])
    ws.append(["agreements", "aftaler", "Forslag til aftaler", "Proposed agreements", None,
               None, None, None, None, None, None, None, None, "3"])  # fmt: skip
    ws.append(["end section"])
    wc = wb.create_sheet("choices")
    wc.append(["list_name", "name", "label::da", "label::en"])
    wc.append(["fokus", "faglig", "Faglig", "Skills"])
    wc.append(["fokus", "personlig", "Personlig", "Personal"])
    wsets = wb.create_sheet("settings")
    wsets.append(["form_id", "version", "form_title::da", "title::en", "sprog"])
    wsets.append(["lille", 1, "Forberedelse til MUS", "Preparing", "da, en"])
    wb.create_sheet("noter")["A1"] = "fri tekst, læses ikke"
    path = tmp_path / "xlsform.xlsx"
    wb.save(path)
    assert question_set_digest(load_question_set(path)) == question_set_digest(small_set())


def test_default_language_names_the_plain_columns(tmp_path: Path) -> None:
    """With default_language da, a column without ::language is Danish, as in XLSForm."""
    path = write_small(tmp_path / "b.xlsx")
    wb = load_workbook(path)
    wb["spørgsmål"]["C1"] = "label"
    sets = wb["indstillinger"]
    sets.cell(1, sets.max_column + 1, "default_language")
    sets.cell(2, sets.max_column, "da")
    wb.save(path)
    assert question_set_digest(load_question_set(path)) == question_set_digest(small_set())


def test_lint_warns_the_same_for_a_workbook(tmp_path: Path) -> None:
    """A missing English text and no agreements question: the same warnings as the YAML,
    each after the cell it is about (the empty label::en cell) or the file."""
    data = {**SMALL, "sections": [SMALL["sections"][0]]}
    section = data["sections"][0]
    section["questions"] = [
        {**section["questions"][0], "label": {"da": "Kun dansk"}},
        *section["questions"][1:],
    ]
    qs = QuestionSet.model_validate(data)
    path = tmp_path / "kort.xlsx"
    write_question_book(qs, path)
    warnings = lint(load_question_set(path))
    assert warnings == lint(qs)
    assert any("ingen engelsk (en) tekst på label" in w for w in warnings)
    assert any(w.startswith("intet aftalespørgsmål") for w in warnings)
    assert lint_file(path, load_question_set(path)) == [
        f"{path}, ark 'spørgsmål', celle D3: spørgsmålet 'lykkedes' (sektionen 'status'): ingen "
        "engelsk (en) tekst på label",
        f"{path}: intet aftalespørgsmål: en MUS bør slutte med nogle få konkrete aftaler (hvad, "
        "hvem, hvornår), som der følges op på — tilføj et spørgsmål af typen agreements",
    ]
    result = CliRunner().invoke(cli, ["check", str(path)])
    assert result.exit_code == 0
    assert f"Advarsel: {path}, ark 'spørgsmål', celle D3: spørgsmålet 'lykkedes'" in result.output
    # In English, the same place in the workbook, in the English words.
    english = CliRunner().invoke(cli, ["check", str(path)], env={"LANG": "en_GB.UTF-8"})
    assert (
        f"Warning: {path}, sheet 'spørgsmål', cell D3: question 'lykkedes' (section 'status'): "
        "no English (en) text on label"
    ) in english.output


def test_zip_bomb_is_refused_before_openpyxl(tmp_path: Path) -> None:
    """A part that unpacks to far more than its size: refused, by name, without reading it."""
    path = write_small(tmp_path / "bomb.xlsx")
    with zipfile.ZipFile(path, "a", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("xl/media/padding.bin", b"\0" * (70 * 1_000_000))
    with pytest.raises(ConfigError) as exc:
        load_question_set(path)
    assert str(exc.value).startswith(f"{path}: pakker sig ud til langt mere")


def test_convert_command_both_ways(tmp_path: Path) -> None:
    """musforms convert writes the workbook and back, refuses to overwrite without --force."""
    source = builtin_sets()["kort"]
    book, back = tmp_path / "q.xlsx", tmp_path / "q.yaml"
    runner = CliRunner()
    first = runner.invoke(cli, ["convert", str(source), str(book)])
    assert first.exit_code == 0, first.output
    assert first.output.startswith(f"OK: skrev {book}: ")
    assert runner.invoke(cli, ["convert", str(book), str(back)]).exit_code == 0
    again = runner.invoke(cli, ["convert", str(source), str(book)])
    assert again.exit_code == 1
    assert f"{book} findes allerede; brug --force" in again.output
    assert runner.invoke(cli, ["convert", str(source), str(book), "--force"]).exit_code == 0
    digest = question_set_digest(load_question_set(source))
    assert question_set_digest(load_question_set(back)) == digest


def test_init_xlsx_writes_a_guided_workbook(tmp_path: Path) -> None:
    """init --xlsx: the chosen set as a workbook with a guide sheet, drop-downs for type and
    required, frozen headers and widths to read by; it checks OK and means the built-in set."""
    result = CliRunner().invoke(cli, ["init", str(tmp_path / "mus"), "--xlsx", "--set", "leder"])
    assert result.exit_code == 0, result.output
    book = tmp_path / "mus" / "config" / "questions.xlsx"
    assert f"musforms check {book}" in result.output
    assert not (tmp_path / "mus" / "config" / "questions.yaml").exists()
    assert "config/questions.xlsx" in (tmp_path / "mus" / "SÅDAN-GØR-DU.md").read_text()
    digest = question_set_digest(load_question_set(builtin_sets()["leder"]))
    assert question_set_digest(load_question_set(book)) == digest
    wb = load_workbook(book)
    assert wb.sheetnames == ["spørgsmål", "valgmuligheder", "indstillinger", "vejledning"]
    ws = wb["spørgsmål"]
    assert ws.freeze_panes == "A2"
    assert wb["valgmuligheder"].freeze_panes == "A2"
    lists = {str(dv.sqref): dv.formula1 for dv in ws.data_validations.dataValidation}
    assert (
        '"text,textarea,scale,choice,multichoice,checkbox,date,agreements,begin section,'
        in (lists["A2:A200"])
    )
    assert lists["G2:G200"] == '"ja,nej"'
    assert ws.column_dimensions["C"].width >= 40  # the Danish labels
    assert ws["A1"].comment is not None and "textarea" in ws["A1"].comment.text
    guide = "\n".join(str(c.value) for row in wb["vejledning"].iter_rows() for c in row)
    assert "min_label" in guide and "list_name" in guide and "begin section" in guide
    check = CliRunner().invoke(cli, ["check", str(book)])
    assert check.exit_code == 0 and check.output.startswith("OK: ")


def _roster(path: Path) -> Path:
    path.write_text(
        "id;name;department;language\n1042;Søren Ærø;Økonomi;da\n7;Łukasz Дмитрий;Løn;en\n",
        encoding="utf-8",
    )
    return path


def test_forms_from_the_workbook_and_the_yaml_are_the_same_bytes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """generate from questions.xlsx and from questions.yaml with one key: every PDF and Word
    form is byte for byte the same; the workbook is archived as it was, with its YAML."""
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1795000000")
    yaml_dir, book_dir = tmp_path / "y", tmp_path / "b"
    yaml_dir.mkdir(), book_dir.mkdir()
    source = yaml_dir / "questions.yaml"
    source.write_bytes(builtin_sets()["standard"].read_bytes())
    book = book_dir / "questions.xlsx"
    convert_question_set(source, book)
    roster, key = _roster(tmp_path / "roster.csv"), tmp_path / "key"
    generate(source, roster, tmp_path / "from-yaml", "2026", key_file=key)
    generate(book, roster, tmp_path / "from-xlsx", "2026", key_file=key)
    one, two = tmp_path / "from-yaml", tmp_path / "from-xlsx"
    forms = sorted(p.name for p in one.iterdir() if p.suffix in (".pdf", ".docx"))
    assert len(forms) == 4
    assert forms == sorted(p.name for p in two.iterdir() if p.suffix in (".pdf", ".docx"))
    for name in forms:
        assert (one / name).read_bytes() == (two / name).read_bytes(), name
    assert (two / "questions.xlsx").read_bytes() == book.read_bytes()
    archived = sorted(p.name for p in (two / "question_sets").iterdir())
    assert [Path(n).suffix for n in archived] == [".xlsx", ".yaml"]
    assert (two / "question_sets" / archived[0]).read_bytes() == book.read_bytes()
    digest = question_set_digest(load_question_set(source))
    assert question_set_digest(load_question_set(two / "questions.yaml")) == digest
    assert not (one / "questions.xlsx").exists()
    # collect finds the set the forms were issued with, by its digest, as for a YAML source
    assert issued_question_set(two, digest) == load_question_set(source)
    # Issued again from the YAML: the workbook beside the manifest would be stale, so it goes.
    generate(source, roster, two, "2026", key_file=key)
    assert not (two / "questions.xlsx").exists()
    assert (two / "questions.yaml").read_bytes() == source.read_bytes()


# --- Saved again by LibreOffice Calc, as Excel would --------------------------------------


def _calc_save(files: list[Path], outdir: Path) -> list[Path]:
    """``soffice --convert-to xlsx`` (Calc's Excel 2007–365 filter) with its own profile."""
    soffice = require_libreoffice()
    outdir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="musforms-lo-calc-") as profile:
        result = subprocess.run(
            [soffice, f"-env:UserInstallation={Path(profile).as_uri()}", "--headless",
             "--norestore", "--convert-to", CALC_FILTER, "--outdir", str(outdir),
             *map(str, files)],
            capture_output=True, text=True, timeout=300, check=False, start_new_session=True,
        )  # fmt: skip
    saved = [outdir / f.name for f in files]
    missing = [p.name for p in saved if not p.exists()]
    if result.returncode != 0 or missing:
        raise RuntimeError(f"LibreOffice Calc did not save {missing}:\n{result.stderr}")
    return saved


def _typed_as_excel_users_do(src: Path, dst: Path) -> None:
    """Numbers typed as text ('1', '5'), TRUE as a boolean cell for required, the version
    as a number, an id typed as a number in the choices sheet."""
    wb = load_workbook(src)
    ws = wb["spørgsmål"]
    header = [c.value for c in ws[1]]
    req, lo, hi, rows = (header.index(n) + 1 for n in ("required", "min", "max", "rows"))
    for r in range(2, ws.max_row + 1):
        if ws.cell(r, req).value == "ja":
            ws.cell(r, req).value = True
        for col in (lo, hi, rows):
            if isinstance(ws.cell(r, col).value, int):
                ws.cell(r, col).value = str(ws.cell(r, col).value)
    wb.save(dst)


@pytest.fixture(scope="module")
def calc_saved(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Workbooks made by openpyxl, each saved again by LibreOffice Calc (one soffice run)."""
    folder = tmp_path_factory.mktemp("calc")
    made: dict[str, Path] = {}
    for name, path in builtin_sets().items():
        made[name] = folder / f"{name}.xlsx"
        convert_question_set(path, made[name])
    made["typed"] = folder / "typed.xlsx"
    _typed_as_excel_users_do(made["standard"], made["typed"])
    made["formula"] = folder / "formula.xlsx"
    write_small(made["formula"])
    wb = load_workbook(made["formula"])
    wb["spørgsmål"]["D3"] = '=C3&" (en)"'
    wb.save(made["formula"])
    saved = _calc_save(list(made.values()), folder / "saved")
    return {name: folder / "saved" / path.name for name, path in zip(made, saved, strict=True)}


@pytest.mark.realclient
@pytest.mark.parametrize("name", sorted(builtin_sets()))
def test_calc_saved_builtin_set_keeps_the_digest(name: str, calc_saved: dict[str, Path]) -> None:
    """Calc writes its own shared strings, styles and sheet XML: the set means the same."""
    with zipfile.ZipFile(calc_saved[name]) as zf:
        assert "xl/sharedStrings.xml" in zf.namelist()
        assert b"LibreOffice" in zf.read("docProps/app.xml")
    digest = question_set_digest(load_question_set(builtin_sets()[name]))
    assert question_set_digest(load_question_set(calc_saved[name])) == digest


@pytest.mark.realclient
def test_inline_strings_before_and_shared_strings_after_calc(calc_saved: dict[str, Path]) -> None:
    """openpyxl writes every text as an inline string; Calc, like Excel, moves them into the
    shared-strings table: both read as the same set."""
    made = calc_saved["standard"].parent.parent / "standard.xlsx"
    with zipfile.ZipFile(made) as zf:
        assert "xl/sharedStrings.xml" not in zf.namelist()
        assert b't="inlineStr"' in zf.read("xl/worksheets/sheet1.xml")
    with zipfile.ZipFile(calc_saved["standard"]) as zf:
        assert b't="inlineStr"' not in zf.read("xl/worksheets/sheet1.xml")
        assert b't="s"' in zf.read("xl/worksheets/sheet1.xml")
    digest = question_set_digest(load_question_set(builtin_sets()["standard"]))
    assert question_set_digest(load_question_set(made)) == digest
    assert question_set_digest(load_question_set(calc_saved["standard"])) == digest


@pytest.mark.realclient
def test_numbers_as_text_and_true_as_boolean_after_calc(calc_saved: dict[str, Path]) -> None:
    """'5' typed as text for max, TRUE as a boolean cell for required: the same set."""
    saved = calc_saved["typed"]
    with zipfile.ZipFile(saved) as zf:
        sheet = zf.read("xl/worksheets/sheet1.xml")
    assert b't="b"' in sheet  # Calc kept required as a boolean cell
    digest = question_set_digest(load_question_set(builtin_sets()["standard"]))
    assert question_set_digest(load_question_set(saved)) == digest


@pytest.mark.realclient
def test_formula_for_a_label_is_refused_after_calc(calc_saved: dict[str, Path]) -> None:
    """Calc keeps the formula (with its cached text); musforms refuses it, naming the cell."""
    saved = calc_saved["formula"]
    with pytest.raises(ConfigError) as exc:
        load_question_set(saved)
    assert str(exc.value) == (
        f"{saved}, ark 'spørgsmål', celle D3: cellen er en formel (=C3&\" (en)\"); skriv selve "
        "teksten eller værdien (kopiér cellen, og indsæt som værdi)"
    )
