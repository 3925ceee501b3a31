"""Raw field values become typed answers exactly as the response contract says
(docs/ARCHITECTURE.md), whatever the format."""

from __future__ import annotations

from musforms.interpret import interpret, unknown_fields
from musforms.models import QuestionSet
from tests.conftest import LONG, MULTILINE


def test_every_type_gets_its_json_type(every_type: QuestionSet) -> None:
    """Scales are ints, choices option ids, multichoice lists, checkboxes bools, dates ISO."""
    raw = {
        "lykkedes": MULTILINE.replace("\n", "\r\n"),
        "titel": "Økonomimedarbejder",
        "arbejdsmaengde": "4",
        "fokus": "personlig",
        "fokus_flere__faglig": True,
        "fokus_flere__samarbejde": False,
        "fokus_flere__balance": True,
        "kursus": True,
        "startdato": "15/1 2027",
    }
    result = interpret(every_type, raw)
    assert result.answers == {
        "lykkedes": MULTILINE,
        "titel": "Økonomimedarbejder",
        "arbejdsmaengde": 4,
        "fokus": "personlig",
        "fokus_flere": ["faglig", "balance"],
        "kursus": True,
        "startdato": "2027-01-15",
    }
    assert result.problems == []


def test_unanswered_is_absent_and_unticked_is_false(every_type: QuestionSet) -> None:
    """Blank text, no radio choice and no date are absent; checkboxes are false, lists empty."""
    result = interpret(every_type, {"lykkedes": "   ", "titel": None, "arbejdsmaengde": None})
    assert result.answers == {"kursus": False, "fokus_flere": []}
    assert [(p.code, p.question) for p in result.problems] == [("required_missing", "lykkedes")]


def test_every_danish_date_form_is_read(every_type: QuestionSet) -> None:
    """Dates as people type them all become the same ISO date."""
    for typed in ("15-01-2027", "15.1.2027", "15/1 2027", "15/1-2027", "2027-01-15"):
        assert interpret(every_type, {"startdato": typed}).answers["startdato"] == "2027-01-15"


def test_impossible_date_is_null_with_the_raw_text_kept(every_type: QuestionSet) -> None:
    """31-02-2027 becomes a null answer with its text as typed beside it, and a problem that
    quotes it."""
    result = interpret(every_type, {"startdato": " 31-02-2027 ", "lykkedes": LONG})
    assert "startdato" in result.answers and result.answers["startdato"] is None
    assert result.typed == {"startdato": "31-02-2027"}
    (problem,) = result.problems
    assert problem.code == "bad_date" and problem.question == "startdato"
    assert "31-02-2027" in problem.message


def test_agreement_rows_keep_order_and_drop_empty_rows(every_type: QuestionSet) -> None:
    """Empty rows vanish; a missing owner or date is null; order is kept."""
    raw = {
        "lykkedes": "x",
        "aftaler__1__what": "Kursus i Python",
        "aftaler__1__owner": "Søren",
        "aftaler__1__due": "01-03-2027",
        "aftaler__2__what": "",
        "aftaler__3__what": "Mentor",
    }
    result = interpret(every_type, raw)
    assert [a.model_dump(mode="json") for a in result.agreements] == [
        {"what": "Kursus i Python", "owner": "Søren", "due": "2027-03-01"},
        {"what": "Mentor", "owner": None, "due": None},
    ]


def test_choice_read_from_layout_maps_labels_back_to_ids(every_type: QuestionSet) -> None:
    """A choice recovered as its visible label, and a scale as '4 – Enig', still type right."""
    result = interpret(every_type, {"fokus": "Personlig udvikling", "arbejdsmaengde": "4 – Enig"})
    assert result.answers["fokus"] == "personlig"
    assert result.answers["arbejdsmaengde"] == 4


def test_value_outside_the_choices_is_a_problem(every_type: QuestionSet) -> None:
    """A scale value of 9 on a 1–5 scale is not silently accepted."""
    result = interpret(every_type, {"arbejdsmaengde": "9", "lykkedes": "x"})
    assert "arbejdsmaengde" not in result.answers
    assert [p.code for p in result.problems] == ["bad_value"]


def test_previous_agreements_come_back_with_status_and_comment(every_type: QuestionSet) -> None:
    """Last round's agreements carry the status chosen and the comment written."""
    raw = {
        "lykkedes": "x",
        "mf_prev__1__what": "Kursus i Excel",
        "mf_prev__1__owner": "Søren",
        "mf_prev__1__due": "01-06-2026",
        "prev_status__1": "done",
        "prev_comment__1": "Gennemført i maj",
        "mf_prev__2__what": "Mentorordning",
        "prev_status__2": "I gang",
    }
    result = interpret(every_type, raw)
    assert [p.model_dump(mode="json") for p in result.previous_agreements] == [
        {
            "what": "Kursus i Excel",
            "owner": "Søren",
            "due": "2026-06-01",
            "status": "done",
            "comment": "Gennemført i maj",
        },
        {
            "what": "Mentorordning",
            "owner": None,
            "due": None,
            "status": "in_progress",
            "comment": None,
        },
    ]


def test_unknown_fields_are_named(every_type: QuestionSet) -> None:
    """Fields the question set does not define are reported; reserved ones are not."""
    raw = {"lykkedes": "x", "mf_name": "Søren", "prev_status__1": "done", "ekstra": "y"}
    assert unknown_fields(every_type, raw) == ["ekstra"]
