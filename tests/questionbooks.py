"""Question set workbooks for the tests: a small valid one, and the broken ones in
tests/data/questionbooks/, each with one defect, made from it.

    .venv/bin/python -m tests.questionbooks     # writes tests/data/questionbooks/*.xlsx again
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from openpyxl import load_workbook

from musforms.models import QuestionSet
from musforms.questionbook import write_question_book

FOLDER = Path(__file__).parent / "data" / "questionbooks"

SMALL: dict[str, Any] = {
    "musforms": 1,
    "id": "lille",
    "version": "1",
    "languages": ["da", "en"],
    "title": {"da": "Forberedelse til MUS", "en": "Preparing"},
    "sections": [
        {
            "id": "status",
            "title": {"da": "Status på året", "en": "The year"},
            "questions": [
                {"id": "lykkedes", "type": "textarea", "required": True,
                 "label": {"da": "Hvad er du lykkedes med?", "en": "What went well?"}},
                {"id": "trivsel", "type": "scale", "scale": {"min": 1, "max": 5, "labels": {
                    1: {"da": "Dårligt", "en": "Badly"}, 5: {"da": "Godt", "en": "Well"}}},
                 "label": {"da": "Hvordan trives du?", "en": "How are you?"}},
                {"id": "fokus", "type": "choice",
                 "label": {"da": "Hvad vil du fokusere på?", "en": "Your focus?"},
                 "options": [{"id": "faglig", "label": {"da": "Faglig", "en": "Skills"}},
                             {"id": "personlig", "label": {"da": "Personlig", "en": "Personal"}}]},
            ],
        },
        {
            "id": "aftaler",
            "title": {"da": "Aftaler", "en": "Agreements"},
            "questions": [
                {"id": "aftaler", "type": "agreements", "rows": 3,
                 "label": {"da": "Forslag til aftaler", "en": "Proposed agreements"}},
            ],
        },
    ],
}  # fmt: skip

# The small set's survey sheet, as write_question_book lays it out (row 1 is the header):
# 2 begin section status, 3 lykkedes, 4 trivsel, 5 fokus, 6 end section,
# 7 begin section aftaler, 8 aftaler, 9 end section.
# Columns: A type, B id, C label::da, D label::en, E help::da, F help::en, G required, H rows,
# I min, J max, K min_label::da, L min_label::en, M max_label::da, N max_label::en.


def small_set() -> QuestionSet:
    return QuestionSet.model_validate(SMALL)


def write_small(path: Path) -> Path:
    write_question_book(small_set(), path)
    return path


def _edit(path: Path, change: Callable[[Any], None]) -> None:
    wb = load_workbook(path)
    change(wb)
    wb.save(path)


def _set(sheet: str, ref: str, value: Any) -> Callable[[Any], None]:
    def change(wb: Any) -> None:
        wb[sheet][ref] = value

    return change


def _both(*changes: Callable[[Any], None]) -> Callable[[Any], None]:
    def change(wb: Any) -> None:
        for c in changes:
            c(wb)

    return change


def _rename(old: str, new: str) -> Callable[[Any], None]:
    def change(wb: Any) -> None:
        wb[old].title = new

    return change


def _question_after_section(wb: Any) -> None:
    ws = wb["spørgsmål"]
    ws.insert_rows(7)
    for ref, value in (("A7", "text"), ("B7", "ekstra"), ("C7", "Ekstra"), ("D7", "Extra")):
        ws[ref] = value


def _drop(sheet: str) -> Callable[[Any], None]:
    def change(wb: Any) -> None:
        del wb[sheet]

    return change


S = "spørgsmål"
# name → the defect made in the small workbook.
DEFECTS: dict[str, Callable[[Any], None]] = {
    "unknown_type": _set(S, "A3", "tekst_lang"),
    "duplicate_id": _set(S, "B8", "lykkedes"),
    "non_ascii_id": _set(S, "B4", "trivsel_på_jobbet"),
    "scale_min_above_max": _both(_set(S, "I4", 5), _set(S, "J4", 1)),
    "choice_list_missing": _set(S, "A5", "choice fokuss"),
    "choice_without_list": _set(S, "A5", "choice"),
    "empty_choice_name": _set("valgmuligheder", "B3", None),
    "missing_label": _both(_set(S, "C3", None), _set(S, "D3", None)),
    "unknown_column": _set(S, "C1", "lable::da"),
    "unknown_language": _set(S, "D1", "label::de"),
    "formula_label": _set(S, "C3", '="Hvad er du "&"lykkedes med?"'),
    "required_not_yes_or_no": _set(S, "G3", "måske"),
    "question_outside_section": _question_after_section,
    "rows_on_a_text": _set(S, "H3", 4),
    "scale_min_not_a_number": _set(S, "I4", "en"),
    "text_on_end_section": _set(S, "C6", "slut"),
    "misspelt_sheet": _rename("valgmuligheder", "valgmulighder"),
    "no_settings": _drop("indstillinger"),
}


def make(folder: Path = FOLDER) -> list[Path]:
    """Write every broken workbook into ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    made = []
    for name, change in DEFECTS.items():
        path = write_small(folder / f"{name}.xlsx")
        _edit(path, change)
        made.append(path)
    (folder / "not_a_workbook.xlsx").write_bytes(b"id;navn\n1;Ida\n")
    return made


if __name__ == "__main__":
    for made in make():
        print(made)
