"""followup.ics as a calendar library reads it: due dates, check-ins, stable UIDs."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from icalendar import Calendar

from musforms.models import QuestionSet
from musforms.outputs.calendar import add_months, calendar_bytes, check_ins, write_check_ins
from musforms.outputs.views import agreement_rows
from musforms.response import Response
from tests.outputs_data import responses

NOW = dt.datetime(2027, 1, 20, 9, 30, tzinfo=dt.UTC)


@pytest.fixture
def sample(every_type: QuestionSet) -> list[Response]:
    return responses(every_type)


def _events(data: bytes) -> dict[str, dict[str, object]]:
    cal = Calendar.from_ical(data)
    return {
        str(ev["UID"]): {
            "start": ev.decoded("DTSTART"),
            "end": ev.decoded("DTEND"),
            "summary": str(ev["SUMMARY"]),
            "description": str(ev["DESCRIPTION"]),
        }
        for ev in cal.walk("VEVENT")
    }


def test_an_all_day_event_per_due_date(tmp_path: Path, sample: list[Response]) -> None:
    """Every agreement of this round with a due date is an all-day event on that day, named
    so a leader sees whose agreement and what it is."""
    path = tmp_path / "followup.ics"
    write_check_ins(path, check_ins(sample, 3), agreement_rows(sample), now=NOW)
    events = _events(path.read_bytes())
    due = {uid: ev for uid, ev in events.items() if "-agr-" in uid}
    expected = [
        (a.what, a.due, r.employee.name) for r in sample for a in r.agreements if a.due is not None
    ]
    assert len(due) == len(expected) == 4
    for what, day, name in expected:
        match = [ev for ev in due.values() if ev["start"] == day and name in str(ev["summary"])]
        assert len(match) == 1, (what, day)
        ev = match[0]
        assert ev["end"] == day + dt.timedelta(days=1)
        assert not isinstance(ev["start"], dt.datetime), "an all-day event has a date, no time"
        assert " ".join(what.split()) in str(ev["description"])
    assert due["AAAABBBBCCCC-agr-1@musforms"]["summary"] == (
        "MUS-aftale med Søren Ærø: Kursus i Excel & <Power BI>"
    )


def test_a_check_in_months_after_the_meeting(sample: list[Response]) -> None:
    """One check-in per employee with a meeting date, followup_months later, titled with what
    to do and listing the open agreements; none without a date to count from."""
    events = _events(calendar_bytes(sample, agreement_rows(sample), followup_months=3, now=NOW))
    soeren = events["AAAABBBBCCCC-checkin@musforms"]
    assert soeren["start"] == dt.date(2027, 4, 14)
    assert soeren["summary"] == "Opfølgning på MUS-aftaler med Søren Ærø"
    description = str(soeren["description"])
    assert "14-01-2027" in description
    assert "Kursus i Excel & <Power BI> (01-03-2027)" in description
    assert "Halvfærdig aftale" in description  # last round's, still in progress
    assert "Gammel aftale om ferie" not in description  # done
    ulla = events["GGGGHHHHJJJJ-checkin@musforms"]
    assert ulla["start"] == dt.date(2027, 2, 28)  # 30 November + 3 months
    assert "DDDDEEEEFFFF-checkin@musforms" not in events  # Ida has no meeting date

    six = _events(calendar_bytes(sample, agreement_rows(sample), followup_months=6, now=NOW))
    assert six["AAAABBBBCCCC-checkin@musforms"]["start"] == dt.date(2027, 7, 14)


def test_uids_are_stable_across_runs(sample: list[Response], every_type: QuestionSet) -> None:
    """Importing a newer file updates the events: the same form and row give the same UID
    even when the agreement's text or date changed."""
    first = set(_events(calendar_bytes(sample, agreement_rows(sample), now=NOW)))
    changed = [
        sample[0].model_copy(
            update={
                "agreements": [
                    a.model_copy(
                        update={"what": a.what + " (rettet)", "due": a.due and dt.date(2027, 8, 1)}
                    )
                    for a in sample[0].agreements
                ]
            }
        ),
        *sample[1:],
    ]
    later = NOW + dt.timedelta(days=3)
    second = set(_events(calendar_bytes(changed, agreement_rows(changed), now=later)))
    assert first == second
    assert len(first) == 4 + 2


def test_no_answer_text_in_the_calendar(sample: list[Response]) -> None:
    """A calendar is shared and synced: the answers themselves never go into it."""
    data = calendar_bytes(sample, agreement_rows(sample), now=NOW).decode("utf-8")
    unfolded = data.replace("\r\n ", "")
    for r in sample:
        for value in r.answers.values():
            if isinstance(value, str) and len(value) > 3:
                assert value.split("\n")[0] not in unfolded


def test_english_calendar(sample: list[Response]) -> None:
    """With English as the organisation's language the titles are English."""
    events = _events(calendar_bytes(sample, agreement_rows(sample), lang="en", now=NOW))
    assert events["AAAABBBBCCCC-checkin@musforms"]["summary"] == (
        "Follow up the MUS agreements with Søren Ærø"
    )


@pytest.mark.parametrize(
    ("day", "months", "expected"),
    [
        (dt.date(2027, 1, 14), 3, dt.date(2027, 4, 14)),
        (dt.date(2026, 11, 30), 3, dt.date(2027, 2, 28)),
        (dt.date(2027, 11, 30), 3, dt.date(2028, 2, 29)),
        (dt.date(2027, 1, 31), 1, dt.date(2027, 2, 28)),
        (dt.date(2027, 12, 15), 12, dt.date(2028, 12, 15)),
    ],
)
def test_add_months(day: dt.date, months: int, expected: dt.date) -> None:
    """A month later is the same day, or the month's last day where there is no such day."""
    assert add_months(day, months) == expected


def test_events_kept_from_an_earlier_run_give_the_same_calendar(
    tmp_path: Path, sample: list[Response]
) -> None:
    """Protects against a stale event in followup.ics: events kept in the results folder's
    cache from an earlier run (and only for what each says) give byte for byte the calendar
    icalendar writes without them, with this run's DTSTAMP; an agreement changed since, or
    a changed name, is written again; the cache is private and holds only what this run
    used."""
    import os
    import stat

    from musforms.files import CACHE_FOLDER
    from musforms.outputs.calendar import EVENTS, event_cache

    out = tmp_path / "results"
    out.mkdir()
    path = out / "followup.ics"

    def write(rs: list[Response], now: dt.datetime) -> tuple[bytes, int, bytes]:
        write_check_ins(path, check_ins(rs, 3), agreement_rows(rs), now=now)
        plain = path.read_bytes()
        with event_cache(out) as events:
            write_check_ins(path, check_ins(rs, 3), agreement_rows(rs), now=now, events=events)
        return path.read_bytes(), events.written, plain

    kept, written, plain = write(sample, NOW)
    assert kept == plain and written == len(_events(plain))
    later = NOW + dt.timedelta(days=1, hours=3)
    again, written, plain = write(sample, later)
    assert again == plain and written == 0
    assert b"DTSTAMP:20270121T123000Z" in again
    changed = [r.model_copy(deep=True) for r in sample]
    first = next(r for r in changed if r.agreements)
    first.agreements[0] = first.agreements[0].model_copy(update={"what": "Noget helt andet; æøå"})
    changed[1] = changed[1].model_copy(
        update={"employee": changed[1].employee.model_copy(update={"name": "Ny Navnesen"})}
    )
    again, written, plain = write(changed, later)
    assert again == plain and 0 < written < len(_events(plain))
    cache = out / CACHE_FOLDER / EVENTS
    assert stat.S_IMODE(cache.stat().st_mode) == 0o600
    os.chmod(cache, 0o644)  # open to others: not used
    again, written, plain = write(changed, later)
    assert again == plain and written == len(_events(plain))
