"""A question set as an Excel workbook (.xlsx): read it with every error naming its cell,
and write one, with a guide, drop-downs and frozen headers, from a question set.

The layout follows XLSForm (as ODK, Kobo and SurveyCTO use it), with Danish names beside
the English ones:

- sheet ``spørgsmål`` (``survey``): one row per question; ``begin section`` / ``end section``
  rows (or XLSForm's ``begin group`` / ``end group``) around each section's questions;
- sheet ``valgmuligheder`` (``choices``): the option lists, by ``list_name``, that
  ``choice LIST`` / ``multichoice LIST`` (``select_one`` / ``select_multiple``) refer to;
- sheet ``indstillinger`` (``settings``): one row of id, version, title, ….

A workbook means exactly what a YAML question set means: it is turned into the same data and
validated by the same models (``musforms.models``), and every location in the model an error
can point at is mapped back to the cell it came from. Nothing is silently ignored: an unknown
sheet, column or language is an error.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import difflib
import re
import warnings
import zipfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import ValidationError
from pydantic_core import ErrorDetails

from musforms.errors import ConfigError
from musforms.i18n import N_, _, parse
from musforms.limits import DEFAULT_LIMITS, MB, mb
from musforms.models import (
    ANY_LANGUAGE,
    ID_CHARACTERS,
    LANGUAGES,
    OPTION_TWICE,
    OPTIONS_NEEDED,
    QUESTION_TWICE,
    QUESTION_TYPES,
    ROWS_MISPLACED,
    SCALE_MISPLACED,
    SCALE_REVERSED,
    SCALE_TOO_LONG,
    SET_ID_CHARACTERS,
    UNKNOWN_LANGUAGE,
    QuestionSet,
    localize,
)

SUFFIXES = (".xlsx", ".xlsm")

# A question set is a few hundred cells: these bounds are far above any real one, and keep a
# hostile or damaged workbook from HR's share from costing more than a moment.
MAX_BYTES = 20 * MB
MAX_ROWS = 2000
MAX_COLUMNS = 64

SURVEY, CHOICES, SETTINGS, GUIDE = "spørgsmål", "valgmuligheder", "indstillinger", "vejledning"


def _norm(name: str) -> str:
    return re.sub(r"[\s\-]+", "_", name.strip().lower())


SHEET_ALIASES: dict[str, tuple[str, ...]] = {
    SURVEY: ("spørgsmål", "spoergsmaal", "survey", "questions"),
    CHOICES: ("valgmuligheder", "choices", "options", "svarmuligheder"),
    SETTINGS: ("indstillinger", "settings"),
    GUIDE: ("vejledning", "guide", "help", "noter", "notes"),
}
_SHEET_BY_ALIAS = {_norm(a): sheet for sheet, names in SHEET_ALIASES.items() for a in names}

# Column → the names HR may give it (normalised by _norm; the first is the one written).
# A text column takes a language after "::" (label::da, label::English (en)).
SURVEY_COLUMNS: dict[str, tuple[str, ...]] = {
    "type": ("type", "spørgsmålstype", "spoergsmaalstype"),
    "id": ("id", "name", "navn"),
    "label": ("label", "tekst", "spørgsmål", "spoergsmaal", "titel", "title"),
    "help": ("help", "hint", "hjælp", "hjaelp", "hjælpetekst", "hjaelpetekst"),
    "required": ("required", "påkrævet", "paakraevet", "obligatorisk", "skal_besvares"),
    "rows": ("rows", "rækker", "raekker", "antal_rækker", "antal_raekker"),
    "min": ("min", "scale_min", "skala_min"),
    "max": ("max", "scale_max", "skala_max"),
    "min_label": ("min_label", "label_min", "min_tekst", "skala_min_tekst"),
    "max_label": ("max_label", "label_max", "max_tekst", "skala_max_tekst"),
    "scale_labels": ("scale_labels", "skala_tekster", "skalatekster"),
}
CHOICE_COLUMNS: dict[str, tuple[str, ...]] = {
    "list_name": ("list_name", "list", "liste", "listenavn"),
    "id": ("name", "id", "navn"),
    "label": ("label", "tekst"),
}
SETTINGS_COLUMNS: dict[str, tuple[str, ...]] = {
    "id": ("id", "form_id"),
    "version": ("version",),
    "title": ("title", "form_title", "titel"),
    "description": ("description", "beskrivelse"),
    "intro": ("intro", "indledning"),
    "languages": ("languages", "sprog"),
    "default_language": ("default_language", "standardsprog"),
}
TEXT_COLUMNS = {"label", "help", "min_label", "max_label", "scale_labels", "title",
                "description", "intro"}  # fmt: skip
REQUIRED_COLUMNS = {SURVEY: ("type", "id", "label"), CHOICES: ("list_name", "id", "label"),
                    SETTINGS: ("id", "version", "title")}  # fmt: skip
# The columns a section row may fill.
SECTION_COLUMNS = ("type", "id", "label", "help")

LANGUAGE_WORDS = {"da": "da", "dansk": "da", "danish": "da", "en": "en", "engelsk": "en",
                  "english": "en"}  # fmt: skip
YES = {"ja", "yes", "true", "x", "1", "sand", "j", "y"}
NO = {"nej", "no", "false", "0", "falsk", "n"}
# Words HR may reach for, to suggest the type meant (they are not types themselves).
TYPE_HINTS = {
    "tekst": "text", "kort_tekst": "text", "string": "text", "lang_tekst": "textarea",
    "tekst_lang": "textarea", "langtekst": "textarea", "fritekst": "textarea",
    "paragraph": "textarea", "skala": "scale", "vurdering": "scale", "rating": "scale",
    "valg": "choice", "enkeltvalg": "choice", "flervalg": "multichoice",
    "afkrydsning": "checkbox", "boolean": "checkbox", "ja_nej": "checkbox", "dato": "date",
    "aftaler": "agreements", "aftale": "agreements",
}  # fmt: skip
_BOOLEANS = {"=TRUE()": True, "=TRUE": True, "=FALSE()": False, "=FALSE": False}
_CHOICE_TYPES = {"choice": "choice", "select_one": "choice", "multichoice": "multichoice",
                 "select_multiple": "multichoice"}  # fmt: skip
_BEGIN = {"begin_section", "begin_group", "start_section", "start_sektion", "begin_sektion"}
_END = {"end_section", "end_group", "slut_section", "slut_sektion", "end_sektion"}


@dataclass(frozen=True)
class Cell:
    sheet: str
    row: int
    column: int  # from 1

    @property
    def ref(self) -> str:
        return f"{column_letter(self.column)}{self.row}"


def column_letter(column: int) -> str:
    letters = ""
    while column:
        column, rem = divmod(column - 1, 26)
        letters = chr(65 + rem) + letters
    return letters


@dataclass(frozen=True)
class _Problem:
    cell: Cell | None
    message: str
    about_survey: bool = False  # the survey sheet as a whole is wrong (said once)

    def key(self) -> tuple[int, int, int, str]:
        if self.cell is None:
            return (-1, 0, 0, self.message)
        order = list(SHEET_ALIASES).index(self.cell.sheet)
        return (order, self.cell.row, self.cell.column, self.message)


@dataclass
class _Column:
    name: str  # the column's key: label, min, …
    lang: str | None  # for a text column: da, en, or ANY_LANGUAGE
    header: str  # as HR wrote it


@dataclass
class _Sheet:
    title: str  # as the workbook names it
    kind: str  # SURVEY, CHOICES or SETTINGS
    header_row: int
    columns: dict[int, _Column]
    rows: list[tuple[int, dict[int, Any]]]  # row number, column → value (non-empty only)


@dataclass
class _Reading:
    """What reading a workbook found: problems, and each model location's cell."""

    path: Path
    problems: list[_Problem] = field(default_factory=list)
    cells: dict[tuple[int | str, ...], Cell] = field(default_factory=dict)
    sheets: dict[str, _Sheet] = field(default_factory=dict)
    quiet: set[tuple[int | str, ...]] = field(default_factory=set)  # said already
    titles: dict[str, str] = field(default_factory=dict)  # sheet kind → its name in the book
    bad: set[Cell] = field(default_factory=set)  # cells refused already (formulas)
    structural: bool = False  # a sheet or column is wrong: the rows cannot be read

    def error(
        self, cell: Cell | None, message: str, *, structural: bool = False, survey: bool = False
    ) -> None:
        self.problems.append(_Problem(cell, message, survey))
        self.structural |= structural

    def where(self, cell: Cell | None) -> str:
        if cell is None:
            return str(self.path)
        return _("{path}, sheet {sheet!r}, cell {cell}").format(
            path=self.path, sheet=self.titles[cell.sheet], cell=cell.ref
        )

    def raise_problems(self) -> None:
        if self.problems:
            lines = dict.fromkeys(
                f"{self.where(p.cell)}: {p.message}"
                for p in sorted(self.problems, key=_Problem.key)
            )
            raise ConfigError("\n".join(lines))


# ---------------------------------------------------------------------------------------
# Reading


def load_question_book(path: Path) -> QuestionSet:
    """Read and validate a question set workbook.

    Raises ``ConfigError`` listing every problem, one per line, each naming the file, the
    sheet and the cell, and what to do.
    """
    reading = _Reading(path)
    data = _read(reading)
    qs: QuestionSet | None = None
    try:
        qs = QuestionSet.model_validate(data)
    except ValidationError as exc:
        for err in exc.errors():
            _validation_problem(reading, err)
    reading.raise_problems()
    assert qs is not None
    return qs


def cells_of(path: Path) -> dict[tuple[int | str, ...], str]:
    """Each model location of a valid workbook and the place it came from
    (``ark 'spørgsmål', celle B7``), for messages about a set that loaded."""
    reading = _Reading(path)
    _read(reading)
    return {
        loc: _("sheet {sheet!r}, cell {cell}").format(sheet=reading.titles[c.sheet], cell=c.ref)
        for loc, c in reading.cells.items()
    }


def locate_warnings(path: Path, qs: QuestionSet, warnings: Sequence[str]) -> list[str]:
    """``warnings`` (from ``questionset.lint``) with the sheet and cell each is about:
    a missing translation at its empty cell, a question's advice at its row."""
    cells = cells_of(path)
    where: dict[str, tuple[int | str, ...]] = {_("the question set"): ("title",)}
    for i, section in enumerate(qs.sections):
        where[_("section {id!r}").format(id=section.id)] = ("sections", i)
        for j, q in enumerate(section.questions):
            subject = _("question {id!r} (section {id2!r})").format(id=q.id, id2=section.id)
            where[subject] = ("sections", i, "questions", j)
    out = []
    for warning in warnings:
        missing = parse(_MISSING_TEXT, warning)
        subject = missing["where"] if missing else warning.partition(": ")[0]
        loc = where.get(subject) if subject != warning else None
        if loc is None:
            out.append(warning)
            continue
        if missing is not None:
            key, lang = missing["names"].split(", ")[0], missing["lang"]
            if key in ("label", "title", "help", "intro", "description"):
                loc = (*loc, key, lang) if (*loc, key, lang) in cells else loc
        place = cells.get(loc)
        out.append(f"{place}: {warning}" if place else warning)
    return out


# The warning of questionset.lint about a text without one of the set's languages.
_MISSING_TEXT = N_("{where}: no {language} ({lang}) text on {names}")


def _read(reading: _Reading) -> dict[str, Any]:
    path = reading.path
    _check_package(path)
    from openpyxl import load_workbook

    try:
        with _quiet():
            wb = load_workbook(path, read_only=True, data_only=False)
    except _XLSX_ERRORS as exc:
        raise _unreadable(path, exc) from None
    try:
        _sheets(reading, wb)
    except _XLSX_ERRORS as exc:
        raise _unreadable(path, exc) from None
    finally:
        wb.close()
    if reading.structural:
        reading.raise_problems()
    settings = reading.sheets.get(SETTINGS)
    data: dict[str, Any] = {"musforms": 1}
    default_lang = _settings(reading, settings, data) if settings else None
    if settings is None:
        reading.error(
            None,
            _(
                "the sheet '{settings}' is missing: it should have the columns id, version "
                "and title::da in the first row and the values in the row below"
            ).format(settings=SETTINGS),
        )
        reading.quiet.update({("id",), ("version",), ("title",)})
    lists = _choice_lists(reading, reading.sheets.get(CHOICES), default_lang)
    data["sections"] = _survey(reading, reading.sheets[SURVEY], lists, default_lang)
    return data


_XLSX_ERRORS = (zipfile.BadZipFile, KeyError, ValueError, OSError, IndexError, TypeError,
                EOFError)  # fmt: skip


def _unreadable(path: Path, exc: Exception) -> ConfigError:
    return ConfigError(
        _(
            "{path}: cannot be read as an Excel workbook ({name}); open it in Excel and save "
            "it again as an Excel workbook (.xlsx)"
        ).format(path=path, name=exc.__class__.__name__)
    )


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    # openpyxl warns about styles, data validation and extensions it ignores.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        yield


def _check_package(path: Path) -> None:
    """Refuse a file too large, not a zip, or whose parts unpack to far more than it holds."""
    try:
        size = path.stat().st_size
        with path.open("rb") as fh:
            head = fh.read(8)
    except FileNotFoundError:
        raise ConfigError(_("{path}: the file does not exist").format(path=path)) from None
    except IsADirectoryError:
        raise ConfigError(
            _("{path}: is a folder; give the question set file (.xlsx)").format(path=path)
        ) from None
    except OSError as exc:
        raise ConfigError(
            _("{path}: cannot be read ({strerror})").format(path=path, strerror=exc.strerror)
        ) from None
    if head.startswith(b"\xd0\xcf\x11\xe0"):
        raise ConfigError(
            _(
                "{path}: the old Excel format (.xls) or a workbook with a password; in "
                "Excel, save it as an Excel workbook (.xlsx) without a password"
            ).format(path=path)
        )
    if size > MAX_BYTES:
        raise ConfigError(
            _(
                "{path}: the file takes up {mb}, more than the {mb2} a question set can "
                "take; remove pictures and other sheets"
            ).format(path=path, mb=mb(size), mb2=mb(MAX_BYTES))
        )
    limits = DEFAULT_LIMITS
    try:
        with zipfile.ZipFile(path) as zf:
            infos = zf.infolist()
    except (zipfile.BadZipFile, OSError, ValueError, EOFError, NotImplementedError) as exc:
        raise _unreadable(path, exc) from None
    too_much = len(infos) > limits.zip_entries
    total = 0
    for info in infos:
        total += info.file_size
        too_much |= info.file_size > limits.zip_part_bytes or total > limits.zip_total_bytes
        too_much |= info.file_size > MB and info.file_size > limits.zip_ratio * max(
            info.compress_size, 1
        )
    if too_much:
        raise ConfigError(
            _(
                "{path}: unpacks to far more than a question set can take (damaged, or a "
                "'zip bomb'); save the questions in a new workbook"
            ).format(path=path)
        )


def _sheets(reading: _Reading, wb: Any) -> None:
    for ws in wb.worksheets:
        kind = _SHEET_BY_ALIAS.get(_norm(ws.title))
        if kind == GUIDE:
            continue
        if kind is None:
            names = [s for s in SHEET_ALIASES if s != GUIDE]
            close = difflib.get_close_matches(ws.title.lower(), names, n=1, cutoff=0.6)
            hint = _(" — did you mean {close!r}?").format(close=close[0]) if close else "."
            reading.error(
                None,
                _(
                    "the sheet {title!r} is not known{hint} The sheets are {names} (and "
                    "{guide}, which is not read)"
                ).format(title=ws.title, hint=hint, names=", ".join(names), guide=GUIDE),
            )
            continue
        if kind in reading.sheets:
            reading.error(
                None,
                _("two sheets are both '{kind}' ({title!r} and {title2!r}); keep one").format(
                    kind=kind, title=reading.sheets[kind].title, title2=ws.title
                ),
            )
            continue
        sheet = _read_sheet(reading, ws, kind)
        if sheet is not None:
            reading.sheets[kind] = sheet
    if SURVEY not in reading.sheets and not any(p.about_survey for p in reading.problems):
        reading.error(
            None,
            _(
                "the sheet '{survey}' is missing or empty: it has one question per row (make "
                "a new file with musforms init --xlsx)"
            ).format(survey=SURVEY),
            structural=True,
        )


def _columns_for(kind: str) -> dict[str, tuple[str, ...]]:
    return {SURVEY: SURVEY_COLUMNS, CHOICES: CHOICE_COLUMNS, SETTINGS: SETTINGS_COLUMNS}[kind]


def _read_sheet(reading: _Reading, ws: Any, kind: str) -> _Sheet | None:
    """The sheet's header and non-empty rows; formulas and error values are refused."""
    rows: list[tuple[int, dict[int, Any]]] = []
    header: tuple[int, dict[int, Any]] | None = None
    reading.titles[kind] = ws.title
    with _quiet():
        cells = ws.iter_rows(max_col=MAX_COLUMNS)
        for number, row in enumerate(cells, start=1):
            if number > MAX_ROWS:
                reading.error(
                    None,
                    _(
                        "the sheet {title!r} has more than {max_rows} rows; a question set "
                        "has a few hundred"
                    ).format(title=ws.title, max_rows=MAX_ROWS),
                    structural=True,
                    survey=kind == SURVEY,
                )
                return None
            values: dict[int, Any] = {}
            for col, cell in enumerate(row, start=1):
                value = cell.value
                if value is None or (isinstance(value, str) and not value.strip()):
                    continue
                if cell.data_type == "f" and str(value).upper().replace(" ", "") in _BOOLEANS:
                    # LibreOffice saves a TRUE typed into a cell as the formula =TRUE().
                    value = _BOOLEANS[str(value).upper().replace(" ", "")]
                elif cell.data_type == "f":
                    reading.bad.add(Cell(kind, number, col))
                    reading.error(
                        Cell(kind, number, col),
                        _(
                            "the cell is a formula ({value}); write the text or value itself "
                            "(copy the cell, and paste it as a value)"
                        ).format(value=str(value)[:40]),
                    )
                    continue
                if cell.data_type == "e":
                    reading.bad.add(Cell(kind, number, col))
                    reading.error(
                        Cell(kind, number, col),
                        _("the cell holds an error value ({value}); correct it").format(
                            value=value
                        ),
                    )
                    continue
                values[col] = value
            if not values:
                continue
            if header is None:
                header = (number, values)
            else:
                rows.append((number, values))
    if header is None:
        if kind == SURVEY:
            return None
        return _Sheet(ws.title, kind, 1, {}, [])
    reading.sheets[kind] = sheet = _Sheet(ws.title, kind, header[0], {}, rows)
    sheet.columns = _header(reading, sheet, header[1])
    for number, values in rows:
        for col in values:
            if col not in sheet.columns and col not in header[1]:
                reading.error(
                    Cell(kind, number, col),
                    _(
                        "a value in a column without a name in row {header}; give the column "
                        "a name, or move the value"
                    ).format(header=header[0]),
                )
    return sheet


def _header(reading: _Reading, sheet: _Sheet, cells: dict[int, Any]) -> dict[int, _Column]:
    known = _columns_for(sheet.kind)
    by_alias = {a: name for name, aliases in known.items() for a in aliases}
    columns: dict[int, _Column] = {}
    seen: dict[tuple[str, str | None], int] = {}
    for col, raw in cells.items():
        cell = Cell(sheet.kind, sheet.header_row, col)
        header = str(raw).strip()
        base, sep, lang_part = header.partition("::")
        name = by_alias.get(_norm(base))
        if name is None:
            close = difflib.get_close_matches(_norm(base), list(by_alias), n=1, cutoff=0.6)
            hint = (
                _(" — did you mean {known!r}?").format(known=known[by_alias[close[0]]][0])
                if close
                else "."
            )
            reading.error(
                cell,
                _(
                    "the column {header!r} is not known{hint} The sheet's columns are "
                    "{column_names}"
                ).format(
                    header=header, hint=hint, column_names=", ".join(_column_names(sheet.kind))
                ),
            )
            continue
        lang: str | None = None
        if name in TEXT_COLUMNS:
            lang = ANY_LANGUAGE
            if sep:
                found = _language(lang_part)
                if found is None:
                    reading.error(
                        cell,
                        _(
                            "unknown language {strip!r} in the column {header!r}; write "
                            "{strip2}::da (Danish) or {strip2}::en (English)"
                        ).format(strip=lang_part.strip(), header=header, strip2=base.strip()),
                    )
                    continue
                lang = found
        elif sep:
            reading.error(
                cell,
                _("the column {strip!r} has no language; call it {strip!r}").format(
                    strip=base.strip()
                ),
            )
            continue
        if (name, lang) in seen:
            reading.error(
                cell,
                _("the column {header!r} is also in {column_letter}{header_row}; keep one").format(
                    header=header,
                    column_letter=column_letter(seen[(name, lang)]),
                    header_row=sheet.header_row,
                ),
            )
            continue
        seen[(name, lang)] = col
        columns[col] = _Column(name, lang, header)
    for name in REQUIRED_COLUMNS[sheet.kind]:
        if not any(c.name == name for c in columns.values()):
            reading.error(
                Cell(sheet.kind, sheet.header_row, 1),
                _("the column {column_names!r} is missing in row {header_row}").format(
                    column_names=_column_names(sheet.kind, name)[0], header_row=sheet.header_row
                ),
                structural=True,
            )
    return columns


def _column_names(kind: str, only: str | None = None) -> list[str]:
    names = []
    for name, aliases in _columns_for(kind).items():
        if only is not None and name != only:
            continue
        names.append(f"{aliases[0]}::da" if name in TEXT_COLUMNS else aliases[0])
    return names


def _language(text: str) -> str | None:
    """``da``, ``Dansk``, ``dansk (da)``, ``English (en)`` → da/en; else None."""
    text = text.strip().lower()
    m = re.search(r"\(([a-z]{2})\)\s*$", text)
    code = m.group(1) if m else LANGUAGE_WORDS.get(text)
    return code if code in LANGUAGES else None


def _plain(value: Any) -> str:
    """A cell's value as the text Excel shows: 3 not 3.0, TRUE as TRUE, a date as ISO."""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    return str(value)


def _texts(
    sheet: _Sheet, values: dict[int, Any], number: int, name: str, default: str | None,
    reading: _Reading, loc: tuple[int | str, ...],
) -> dict[str, str] | None:  # fmt: skip
    """The text of column ``name`` in every language the row gives; its cells go in the map."""
    text: dict[str, str] = {}
    first: Cell | None = None
    for col, column in sheet.columns.items():
        if column.name != name:
            continue
        cell = Cell(sheet.kind, number, col)
        first = first or cell
        lang = column.lang or ANY_LANGUAGE
        if lang == ANY_LANGUAGE and default:
            lang = default
        value = values.get(col)
        reading.cells[(*loc, lang)] = cell
        if value is None:
            continue
        if lang in text:
            reading.error(
                cell,
                _("the {lang} text is also in another column of the row; keep one").format(
                    lang=lang
                ),
            )
        text[lang] = _plain(value)
    if first is not None:
        reading.cells[loc] = first
    return text or None


def _value(sheet: _Sheet, values: dict[int, Any], number: int, name: str) -> tuple[Any, Cell]:
    for col, column in sheet.columns.items():
        if column.name == name:
            return values.get(col), Cell(sheet.kind, number, col)
    return None, Cell(sheet.kind, number, 1)


def _settings(reading: _Reading, sheet: _Sheet, data: dict[str, Any]) -> str | None:
    """Fill the set's own keys from the settings row; the default language, if given."""
    if not sheet.rows:
        reading.error(
            Cell(SETTINGS, sheet.header_row + 1, 1),
            _("the row with id, version and title is empty; write the values under the headings"),
        )
        return None
    number, values = sheet.rows[0]
    for extra, _values in sheet.rows[1:]:
        reading.error(
            Cell(SETTINGS, extra, 1),
            _(
                "the sheet '{settings}' has only one row of values (row {number}); move or "
                "delete this one"
            ).format(settings=SETTINGS, number=number),
        )
    default_lang: str | None = None
    raw, cell = _value(sheet, values, number, "default_language")
    if raw is not None:
        default_lang = _language(_plain(raw))
        if default_lang is None:
            reading.error(
                cell, _("unknown language {plain!r}; write da or en").format(plain=_plain(raw))
            )
    for key in ("id", "version"):
        raw, cell = _value(sheet, values, number, key)
        reading.cells[(key,)] = cell
        if raw is not None:
            data[key] = _plain(raw).strip()
    raw, cell = _value(sheet, values, number, "languages")
    reading.cells[("languages",)] = cell
    if raw is not None:
        langs = [p for p in re.split(r"[\s,;]+", _plain(raw).strip()) if p]
        data["languages"] = [_language(p) or p for p in langs]
        for index in range(len(langs)):
            reading.cells[("languages", index)] = cell
    for key in ("title", "description", "intro"):
        text = _texts(sheet, values, number, key, default_lang, reading, (key,))
        if text is not None:
            data[key] = text
    return default_lang


@dataclass
class _Option:
    row: int
    id: str | None
    label: dict[str, str] | None
    cells: dict[tuple[int | str, ...], Cell]


def _choice_lists(
    reading: _Reading, sheet: _Sheet | None, default: str | None
) -> dict[str, list[_Option]]:
    lists: dict[str, list[_Option]] = {}
    if sheet is None:
        return lists
    for number, values in sheet.rows:
        raw, list_cell = _value(sheet, values, number, "list_name")
        if raw is None:
            reading.error(
                list_cell,
                _("list_name is empty; write the name of the list the question uses (choice LIST)"),
            )
            continue
        name = _plain(raw).strip()
        scratch = _Reading(reading.path, sheets=reading.sheets, titles=reading.titles)
        label = _texts(sheet, values, number, "label", default, scratch, ("label",))
        oid, id_cell = _value(sheet, values, number, "id")
        scratch.cells[("id",)] = id_cell
        option = _Option(number, _plain(oid).strip() if oid is not None else None, label,
                         scratch.cells)  # fmt: skip
        reading.problems += scratch.problems
        earlier = next((o for o in lists.get(name, []) if o.id and o.id == option.id), None)
        if earlier is not None:
            reading.error(
                id_cell,
                _(
                    "the option {id!r} is twice in the list {name!r} (also in row {row}); "
                    "every option needs its own name"
                ).format(id=option.id, name=name, row=earlier.row),
            )
            continue
        lists.setdefault(name, []).append(option)
    return lists


def _survey(
    reading: _Reading, sheet: _Sheet, lists: dict[str, list[_Option]], default: str | None
) -> list[dict[str, Any]]:
    sections: list[dict[str, Any]] = []
    current: dict[str, Any] | None = None
    seen_ids: dict[str, int] = {}
    for number, values in sheet.rows:
        raw_type, type_cell = _value(sheet, values, number, "type")
        if raw_type is None:
            reading.error(
                type_cell,
                _(
                    "type is empty; write the question's type (e.g. textarea), or 'begin "
                    "section' for a new section"
                ),
            )
            continue
        kind = _norm(_plain(raw_type))
        if kind in _BEGIN:
            current = {"questions": []}
            loc: tuple[int | str, ...] = ("sections", len(sections))
            sections.append(current)
            reading.cells[loc] = type_cell
            reading.cells[(*loc, "questions")] = type_cell
            _section_row(reading, sheet, values, number, current, loc, default)
            continue
        if kind in _END:
            _others(reading, sheet, values, number, ("type", "id"), _("an 'end section' row"))
            if current is None:
                reading.error(
                    type_cell, _("'end section' without a 'begin section' above it; delete it")
                )
            current = None
            continue
        if current is None:
            reading.error(
                type_cell,
                _(
                    "the question stands outside a section; put a 'begin section' row (with "
                    "id and label) above it"
                ),
            )
            continue
        loc = ("sections", len(sections) - 1, "questions", len(current["questions"]))
        question = _question_row(reading, sheet, values, number, loc, lists, default, type_cell)
        current["questions"].append(question)
        qid, id_cell = question.get("id"), reading.cells.get((*loc, "id"))
        if isinstance(qid, str):
            if qid in seen_ids:
                reading.error(
                    id_cell,
                    _(
                        "the id {qid!r} is already used in row {seen_ids}; every question "
                        "needs its own id"
                    ).format(qid=qid, seen_ids=seen_ids[qid]),
                )
            seen_ids.setdefault(qid, number)
    return sections


def _others(
    reading: _Reading, sheet: _Sheet, values: dict[int, Any], number: int, allowed: Sequence[str],
    what: str,
) -> None:  # fmt: skip
    for col in values:
        column = sheet.columns.get(col)
        if column is not None and column.name not in allowed:
            reading.error(
                Cell(sheet.kind, number, col),
                _("the column {header!r} does not belong on {what}; delete the value").format(
                    header=column.header, what=what
                ),
            )


def _section_row(
    reading: _Reading, sheet: _Sheet, values: dict[int, Any], number: int,
    section: dict[str, Any], loc: tuple[int | str, ...], default: str | None,
) -> None:  # fmt: skip
    _others(reading, sheet, values, number, SECTION_COLUMNS, _("a section row"))
    raw, cell = _value(sheet, values, number, "id")
    reading.cells[(*loc, "id")] = cell
    if raw is not None:
        section["id"] = _plain(raw).strip()
    title = _texts(sheet, values, number, "label", default, reading, (*loc, "title"))
    if title is not None:
        section["title"] = title
    intro = _texts(sheet, values, number, "help", default, reading, (*loc, "intro"))
    if intro is not None:
        section["intro"] = intro


def _question_row(
    reading: _Reading, sheet: _Sheet, values: dict[int, Any], number: int,
    loc: tuple[int | str, ...], lists: dict[str, list[_Option]], default: str | None,
    type_cell: Cell,
) -> dict[str, Any]:  # fmt: skip
    question: dict[str, Any] = {}
    reading.cells[loc] = type_cell
    reading.cells[(*loc, "type")] = type_cell
    raw_type = _plain(_value(sheet, values, number, "type")[0]).strip()
    word, _sep, list_name = raw_type.partition(" ")
    kind = _CHOICE_TYPES.get(_norm(word))
    if kind is not None:
        question["type"] = kind
        reading.cells[(*loc, "options")] = type_cell
        list_name = list_name.strip()
        if not list_name:
            reading.error(
                type_cell,
                _(
                    "{word!r} should be followed by the name of a list in the sheet "
                    "'{choices}', e.g. '{word} {plain}'"
                ).format(
                    word=word,
                    choices=CHOICES,
                    plain=_plain(_value(sheet, values, number, "id")[0] or "fokus"),
                ),
            )
            reading.quiet.add((*loc, "options"))
        elif list_name not in lists:
            close = difflib.get_close_matches(list_name, list(lists), n=1, cutoff=0.6)
            hint = _(" — did you mean {close!r}?").format(close=close[0]) if close else "."
            reading.error(
                type_cell,
                _(
                    "the list {list_name!r} is not in the sheet '{choices}'{hint} Give it "
                    "rows there with list_name {list_name!r}"
                ).format(list_name=list_name, choices=CHOICES, hint=hint),
            )
            reading.quiet.add((*loc, "options"))
        else:
            options = []
            for index, option in enumerate(lists[list_name]):
                opt: dict[str, Any] = {}
                if option.id is not None:
                    opt["id"] = option.id
                if option.label is not None:
                    opt["label"] = option.label
                options.append(opt)
                for sub, cell in option.cells.items():
                    reading.cells[(*loc, "options", index, *sub)] = cell
                reading.cells[(*loc, "options", index)] = option.cells[("id",)]
            question["options"] = options
    else:
        question["type"] = raw_type if " " in raw_type else _norm(raw_type)
    raw, cell = _value(sheet, values, number, "id")
    reading.cells[(*loc, "id")] = cell
    if raw is not None:
        question["id"] = _plain(raw).strip()
    for key in ("label", "help"):
        text = _texts(sheet, values, number, key, default, reading, (*loc, key))
        if text is not None:
            question[key] = text
    raw, cell = _value(sheet, values, number, "required")
    reading.cells[(*loc, "required")] = cell
    if raw is not None:
        word = _plain(raw).strip().lower()
        if word in YES:
            question["required"] = True
        elif word in NO:
            question["required"] = False
        else:
            reading.error(
                cell,
                _("required should be ja or nej (yes or no), not {plain!r}").format(
                    plain=_plain(raw)
                ),
            )
    raw, cell = _value(sheet, values, number, "rows")
    reading.cells[(*loc, "rows")] = cell
    if raw is not None:
        question["rows"] = _number(raw)
    scale: dict[str, Any] = {}
    scale_cell: Cell | None = None
    for key in ("min", "max"):
        raw, cell = _value(sheet, values, number, key)
        reading.cells[(*loc, "scale", key)] = cell
        if raw is not None:
            scale[key] = _number(raw)
            scale_cell = scale_cell or cell
    labels: dict[int | str, dict[str, str]] = {}
    for key in ("min_label", "max_label"):
        text = _texts(sheet, values, number, key, default, reading, ("_", key))
        end = scale.get(key[:3], 1 if key == "min_label" else 5)
        if not isinstance(end, int) or isinstance(end, bool):
            end = 1 if key == "min_label" else 5  # the bad min or max is reported itself
        if text is not None:
            labels.setdefault(end, {}).update(text)
            scale_cell = scale_cell or reading.cells[("_", key)]
            for lang in text:
                reading.cells[(*loc, "scale", "labels", end, lang)] = reading.cells[
                    ("_", key, lang)
                ]
            reading.cells[(*loc, "scale", "labels", end)] = reading.cells[("_", key)]
    _scale_labels(reading, sheet, values, number, default, loc, labels)
    if labels:
        scale["labels"] = labels
        scale_cell = scale_cell or reading.cells.get((*loc, "scale", "labels"))
    for scratch in [k for k in reading.cells if k[:1] == ("_",)]:
        del reading.cells[scratch]
    if scale:
        question["scale"] = scale
        reading.cells[(*loc, "scale")] = scale_cell or type_cell
    return question


def _scale_labels(
    reading: _Reading, sheet: _Sheet, values: dict[int, Any], number: int, default: str | None,
    loc: tuple[int | str, ...], labels: dict[int | str, dict[str, str]],
) -> None:  # fmt: skip
    """``scale_labels::da``: texts for steps between the ends, one ``3: text`` a line."""
    for col, column in sheet.columns.items():
        if column.name != "scale_labels" or col not in values:
            continue
        cell = Cell(sheet.kind, number, col)
        lang = column.lang or ANY_LANGUAGE
        if lang == ANY_LANGUAGE and default:
            lang = default
        reading.cells.setdefault((*loc, "scale", "labels"), cell)
        for line in _plain(values[col]).splitlines():
            if not line.strip():
                continue
            m = re.match(r"^\s*(-?\d+)\s*[:=]\s?(.*)$", line)
            if m is None or not m.group(2).strip():
                reading.error(
                    cell,
                    _(
                        "the line {strip!r} should be a step and a text, e.g. '3: Neither' "
                        "(one per line)"
                    ).format(strip=line.strip()),
                )
                continue
            step = int(m.group(1))
            labels.setdefault(step, {})[lang] = m.group(2)
            reading.cells[(*loc, "scale", "labels", step, lang)] = cell
            reading.cells.setdefault((*loc, "scale", "labels", step), cell)


def _number(value: Any) -> Any:
    """A whole number from a number cell or a number typed as text ('5'); else as given."""
    if isinstance(value, bool):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and re.fullmatch(r"\s*-?\d+\s*", value):
        return int(value)
    return value


# ---------------------------------------------------------------------------------------
# Validation errors, back to their cells


def _cell_for(reading: _Reading, loc: tuple[int | str, ...]) -> Cell | None:
    for end in range(len(loc), 0, -1):
        cell = reading.cells.get(loc[:end])
        if cell is not None:
            return cell
    return None


def _validation_problem(reading: _Reading, err: ErrorDetails) -> None:
    loc = tuple(err["loc"])
    kind = err["type"]
    if any(loc[: len(q)] == q for q in reading.quiet):
        return
    text = err["msg"].removeprefix("Value error, ")
    if kind == "value_error" and (parse(QUESTION_TWICE, text) or parse(OPTION_TWICE, text)):
        return  # found by the reader, with the cell of the second one
    if (
        kind == "value_error"
        and parse(OPTIONS_NEEDED, text) is not None
        and (*loc, "options") in reading.quiet
    ):
        return
    for key, message in (("rows", ROWS_MISPLACED), ("scale", SCALE_MISPLACED)):
        if kind == "value_error" and parse(message, text) is not None:
            loc = (*loc, key)  # the cell that should be empty, not the row's type
    cell = _cell_for(reading, loc)
    if cell in reading.bad:
        return  # the cell is a formula or an error value, and said so
    reading.error(cell, _message(err, loc, text))


def _what(loc: tuple[int | str, ...]) -> str:
    """What HR calls the place: the column, or the sheet's row."""
    rest = [p for p in loc if isinstance(p, str)]
    last = rest[-1] if rest else ""
    if len(loc) >= 2 and loc[0] == "sections" and len(loc) <= 3 and last == "title":
        return "label"
    if last == "intro" and len(loc) > 1:
        return "help"
    return last


def _message(err: ErrorDetails, loc: tuple[int | str, ...], text: str) -> str:
    kind = err["type"]
    value = err.get("input")
    what = _what(loc)
    in_section = len(loc) == 3 and loc[0] == "sections"
    row = _("the section") if in_section else _("the question")
    if "options" in loc:
        row = _("the option")
    if kind == "missing":
        if what == "id":
            example = "faglig" if row == "valgmuligheden" else "trivsel"
            return _("{row} has no id; write an id with a-z, 0-9 and _ (e.g. {example!r})").format(
                row=row, example=example
            )
        if what in ("label", "title") and len(loc) > 1:
            return _("{row} has no text; write it in label::da (and label::en)").format(row=row)
        if loc == ("title",):
            return _("the title is missing; write the question set's title in title::da")
        if what == "questions":
            return _("the section has no questions; put question rows under it")
        return _("{what} is missing; fill in the cell").format(what=what)
    if kind == "literal_error" and what == "type":
        types = ", ".join(QUESTION_TYPES)
        word = _norm(str(value))
        hint = TYPE_HINTS.get(word)
        if hint is None:
            close = difflib.get_close_matches(word, [*QUESTION_TYPES, *TYPE_HINTS], n=1,
                                              cutoff=0.6)  # fmt: skip
            hint = TYPE_HINTS.get(close[0], close[0]) if close else None
        maybe = _(" — did you mean {hint!r}?").format(hint=hint) if hint else "."
        return _(
            "{value!r} is not a question type{maybe} The types are {types} (and begin "
            "section / end section)"
        ).format(value=str(value), maybe=maybe, types=types)
    if kind == "literal_error" and loc[:1] == ("languages",):
        return _("unknown language {value!r} in languages; write da, en or 'da, en'").format(
            value=value
        )
    if kind == "too_short":
        if loc == ("sections",):
            return _(
                "there are no sections in the sheet '{survey}'; start with a 'begin section' "
                "row (with id and label) and put the questions under it"
            ).format(survey=SURVEY)
        return _("the section has no questions; put question rows under it")
    if kind in ("int_type", "int_parsing", "int_from_float"):
        return _("{what} should be a whole number, not {plain!r}").format(
            what=what, plain=_plain(value)
        )
    if kind in ("greater_than_equal", "less_than_equal") and what == "rows":
        return _("rows should be between 1 and 20, not {value!r}").format(value=value)
    if kind == "value_error":
        return _in_the_book(text)
    return f"{what}: {err['msg']}"


# The models' own messages (musforms.models), as a workbook says them: of its columns.
_IN_THE_BOOK: tuple[tuple[str, str], ...] = (
    (ID_CHARACTERS, N_("the id '{value}' may only use a-z, 0-9 and _ — write e.g. '{suggestion}'")),
    (SET_ID_CHARACTERS, N_("the id '{value}' may only use a-z, 0-9, - and _")),
    (SCALE_REVERSED, N_("the scale's min ({min}) is above its max ({max}); swap min and max")),
    (SCALE_TOO_LONG, N_("the scale {min}–{max} has more than 11 steps; make it shorter")),
    (SCALE_MISPLACED, N_("min, max and scale labels only belong on a scale question, not on "
                         "{type}; delete them")),
    (ROWS_MISPLACED, N_("rows only belongs on an agreements question, not on {type}; delete "
                        "the value")),
    (OPTIONS_NEEDED, N_("a {type} question needs options: write '{type} LIST' and give the list "
                        "rows in the sheet '{choices}'")),
    (UNKNOWN_LANGUAGE, N_("unknown language '{lang}'; use {languages}")),
)  # fmt: skip


def _in_the_book(text: str) -> str:
    for model, book in _IN_THE_BOOK:
        values = parse(model, text)
        if values is not None:
            return _(book).format(**values, choices=CHOICES)
    return text


# ---------------------------------------------------------------------------------------
# Writing


def _languages_of(qs: QuestionSet) -> list[str]:
    """The text columns' languages: the set's own, then the plain (any-language) column."""
    used: set[str] = set()

    def see(text: dict[str, str] | None) -> None:
        used.update(text or {})

    for text in (qs.title, qs.description, qs.intro):
        see(text)
    for section in qs.sections:
        see(section.title)
        see(section.intro)
        for q in section.questions:
            see(q.label)
            see(q.help)
            for o in q.options or []:
                see(o.label)
            for t in (q.scale.labels if q.scale else {}).values():
                see(t)
    langs = [lang for lang in (*qs.declared_languages(), *LANGUAGES) if lang in used or
             lang in qs.declared_languages()]  # fmt: skip
    langs = list(dict.fromkeys(langs))
    if ANY_LANGUAGE in used:
        langs.append(ANY_LANGUAGE)
    return langs


def _header_name(name: str, lang: str) -> str:
    return name if lang == ANY_LANGUAGE else f"{name}::{lang}"


GUIDE_INTRO = (
    "Arket 'spørgsmål' har ét spørgsmål pr. række. Arket 'valgmuligheder' har "
    "svarmulighederne til choice- og multichoice-spørgsmål. Arket 'indstillinger' har "
    "spørgsmålssættets id, version og titel. Dette ark læses ikke af musforms.",
    "Tjek filen efter hver ændring: musforms check config/questions.xlsx — fejl nævner ark og "
    "celle. Hæv 'version' i 'indstillinger', når I ændrer spørgsmålene.",
    "Tomme rækker og kolonner springes over. En kolonne, musforms ikke kender, er en fejl. "
    "Skriv tekst, ikke formler.",
)
# Each sheet's columns, explained: the guide sheet and the header cells' comments.
COLUMN_GUIDE: dict[str, tuple[tuple[str, str], ...]] = {
    SURVEY: (
        ("type", "Spørgsmålstypen: text (kort tekst), textarea (lang tekst), scale (skala), "
         "choice LISTE (ét valg), multichoice LISTE (flere valg), checkbox (afkrydsning), date "
         "(dato), agreements (aftaler: hvad, hvem, hvornår). 'begin section' starter en "
         "sektion, 'end section' slutter den. XLSForm-navnene select_one, select_multiple og "
         "begin group virker også."),
        ("id", "Spørgsmålets id: kun a-z, 0-9 og _ (skriv oe for ø, ae for æ, aa for å). Det "
         "bliver feltets navn i skemaet og nøglen i svarene: skift det ikke midt i en runde. "
         "Kolonnen må også hedde name eller navn."),
        ("label", "label::da og label::en: spørgsmålets tekst på dansk og engelsk (på en "
         "sektionsrække: sektionens overskrift). Medarbejdere med sprog en får den engelske. "
         "Også label::dansk (da) og label::English (en)."),
        ("help", "help::da og help::en: en forklaring under spørgsmålet (på en sektionsrække: "
         "sektionens indledning). Må være tom. Også hint::da."),
        ("required", "ja, hvis spørgsmålet skal besvares (ja/nej, yes/no, TRUE/FALSE eller x)."),
        ("rows", "Kun for agreements: hvor mange aftaler der er plads til (1–20, ellers 5)."),
        ("min", "Kun for scale: skalaens laveste trin (ellers 1)."),
        ("max", "Kun for scale: skalaens højeste trin (ellers 5)."),
        ("min_label", "Kun for scale: teksten ved skalaens laveste trin, fx 'Slet ikke'."),
        ("max_label", "Kun for scale: teksten ved skalaens højeste trin, fx 'I høj grad'."),
        ("scale_labels", "Kun for scale: tekster ved trinene imellem, én pr. linje, fx "
         "'3: Hverken eller'."),
    ),
    CHOICES: (
        ("list_name", "Listens navn, som spørgsmålet nævner efter choice eller multichoice."),
        ("name", "Valgmulighedens id (a-z, 0-9 og _): det, der står i svarene."),
        ("label", "label::da og label::en: valgmulighedens tekst."),
    ),
    SETTINGS: (
        ("id", "Spørgsmålssættets id (a-z, 0-9, - og _)."),
        ("version", "Spørgsmålssættets version: hæv den, når spørgsmålene ændres."),
        ("title", "title::da og title::en: skemaets titel."),
        ("description", "En kort beskrivelse af spørgsmålssættet; må være tom."),
        ("intro", "En indledning øverst i skemaet; må være tom."),
        ("languages", "Sprogene skemaet er skrevet på, fx 'da, en'. default_language (da "
         "eller en) siger, hvilket sprog en kolonne uden ::sprog er på."),
    ),
}  # fmt: skip


def write_question_book(qs: QuestionSet, path: Path) -> None:
    """Write ``qs`` as a workbook at ``path`` (atomically) that reads back as the same set."""
    from openpyxl import Workbook
    from openpyxl.comments import Comment
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.worksheet.datavalidation import DataValidation

    from musforms.files import atomic_writer

    langs = _languages_of(qs)
    has_between = any(
        v not in (q.scale.min, q.scale.max)
        for q in qs.questions()
        if q.scale
        for v in q.scale.labels
    )
    survey_cols: list[tuple[str, str | None]] = [("type", None), ("id", None)]
    for name in ("label", "help"):
        survey_cols += [(name, lang) for lang in langs]
    survey_cols += [("required", None), ("rows", None), ("min", None), ("max", None)]
    for name in ("min_label", "max_label", *(("scale_labels",) if has_between else ())):
        survey_cols += [(name, lang) for lang in langs]

    wb = Workbook()
    bold = Font(bold=True)
    fill = PatternFill("solid", fgColor="DDEBF7")
    section_fill = PatternFill("solid", fgColor="F2F2F2")
    wrap = Alignment(wrap_text=True, vertical="top")

    def header(ws: Any, columns: list[tuple[str, str | None]]) -> None:
        names = [_header_name(n, lang) if lang else n for n, lang in columns]
        notes = dict(COLUMN_GUIDE[ws.title])
        ws.append(names)
        for col, name in enumerate(names, start=1):
            cell = ws.cell(1, col)
            cell.font, cell.fill = bold, fill
            note = notes.get(name.partition("::")[0])
            if note:
                cell.comment = Comment(note, "musforms", width=320, height=120)
        ws.freeze_panes = "A2"

    ws = wb.active
    ws.title = SURVEY
    header(ws, survey_cols)
    choice_rows: list[list[Any]] = []
    for section in qs.sections:
        row = _row(survey_cols, {"type": "begin section", "id": section.id},
                   {"label": section.title, "help": section.intro})  # fmt: skip
        ws.append(row)
        for col in range(1, len(survey_cols) + 1):
            ws.cell(ws.max_row, col).fill = section_fill
            ws.cell(ws.max_row, col).font = bold
        for q in section.questions:
            plain: dict[str, Any] = {"type": q.type, "id": q.id}
            if q.options is not None:
                plain["type"] = f"{q.type} {q.id}"
                for o in q.options:
                    choice_rows.append(
                        _row(
                            _choice_cols(langs), {"list_name": q.id, "id": o.id}, {"label": o.label}
                        )
                    )
            if q.required:
                plain["required"] = "ja"
            if q.type == "agreements":
                plain["rows"] = q.rows
            texts: dict[str, dict[str, str] | None] = {"label": q.label, "help": q.help}
            if q.scale is not None:
                plain["min"], plain["max"] = q.scale.min, q.scale.max
                texts["min_label"] = q.scale.labels.get(q.scale.min)
                texts["max_label"] = q.scale.labels.get(q.scale.max)
                between: dict[str, list[str]] = {}
                for step, text in q.scale.labels.items():
                    if step in (q.scale.min, q.scale.max):
                        continue
                    for lang, t in text.items():
                        between.setdefault(lang, []).append(f"{step}: {t}")
                texts["scale_labels"] = {k: "\n".join(v) for k, v in between.items()} or None
            ws.append(_row(survey_cols, plain, texts))
        ws.append(_row(survey_cols, {"type": "end section"}, {}))
    types = DataValidation(
        type="list",
        formula1='"' + ",".join([*QUESTION_TYPES, "begin section", "end section"]) + '"',
        allow_blank=True,
        errorStyle="warning",
        showErrorMessage=True,
        errorTitle="Spørgsmålstype",
        error="Typerne er " + ", ".join(QUESTION_TYPES) + ". For choice og multichoice: skriv "
        "navnet på listen efter typen, fx 'choice fokus'.",
        promptTitle="type",
        prompt="Vælg en type; skriv 'choice LISTE' for et valg fra en liste.",
    )
    types.showInputMessage = True
    required = DataValidation(type="list", formula1='"ja,nej"', allow_blank=True,
                              showErrorMessage=True, errorTitle="required",
                              error="Skriv ja eller nej.")  # fmt: skip
    ws.add_data_validation(types)
    ws.add_data_validation(required)
    last = max(ws.max_row, 200)
    types.add(f"A2:A{last}")
    req_col = column_letter(survey_cols.index(("required", None)) + 1)
    required.add(f"{req_col}2:{req_col}{last}")
    _widths(ws, wrap)

    wc = wb.create_sheet(CHOICES)
    header(wc, _choice_cols(langs))
    for row in choice_rows:
        wc.append(row)
    _widths(wc, wrap)

    settings_cols: list[tuple[str, str | None]] = [("id", None), ("version", None)]
    for name in ("title", "description", "intro"):
        settings_cols += [(name, lang) for lang in langs]
    settings_cols.append(("languages", None))
    wsets = wb.create_sheet(SETTINGS)
    header(wsets, settings_cols)
    wsets.append(
        _row(
            settings_cols,
            {
                "id": qs.id,
                "version": qs.version,
                "languages": ", ".join(qs.languages) if qs.languages else None,
            },
            {"title": qs.title, "description": qs.description, "intro": qs.intro},
        )
    )
    _widths(wsets, wrap)
    for col in range(1, len(settings_cols) + 1):
        wsets.cell(2, col).number_format = "@"  # a version like 2026.1 stays text

    guide = wb.create_sheet(GUIDE)
    guide.column_dimensions["A"].width = 30
    guide.column_dimensions["B"].width = 100
    guide.append(["Sådan bruger du projektmappen"])
    guide.cell(1, 1).font, guide.cell(1, 1).fill = bold, fill
    for intro in GUIDE_INTRO:
        guide.append(["", intro])
        guide.cell(guide.max_row, 2).alignment = wrap
    for sheet, terms in COLUMN_GUIDE.items():
        guide.append([f"Arket '{sheet}'"])
        guide.cell(guide.max_row, 1).font = bold
        guide.cell(guide.max_row, 1).fill = fill
        for term, explained in terms:
            guide.append([term, explained])
            guide.cell(guide.max_row, 1).font = bold
            guide.cell(guide.max_row, 2).alignment = wrap
    guide.append([])
    guide.append(["Spørgsmålssættet", localize(qs.title, "da")])

    with atomic_writer(path) as tmp:
        wb.save(tmp)


def _choice_cols(langs: list[str]) -> list[tuple[str, str | None]]:
    return [("list_name", None), ("id", None), *(("label", lang) for lang in langs)]


def _row(
    columns: list[tuple[str, str | None]], plain: dict[str, Any],
    texts: dict[str, dict[str, str] | None],
) -> list[Any]:  # fmt: skip
    row: list[Any] = []
    for name, lang in columns:
        if lang is None:
            row.append(plain.get(name))
        else:
            text = texts.get(name) or {}
            row.append(text.get(lang))
    return row


def _widths(ws: Any, wrap: Any) -> None:
    """Columns wide enough to read, texts wrapped; ids and types narrow."""
    for column in ws.iter_cols(min_row=1, max_row=ws.max_row):
        longest = max((len(str(c.value)) for c in column if c.value is not None), default=8)
        letter = column[0].column_letter
        ws.column_dimensions[letter].width = min(max(longest + 2, 10), 60)
        if longest > 40:
            for c in column[1:]:
                c.alignment = wrap
