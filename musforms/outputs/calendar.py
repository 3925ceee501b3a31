"""``followup.ics``: the agreements' due dates and a check-in per employee, for a calendar.

Every event has a UID made from the form id and the agreement's row, so importing a newer
file updates the events instead of adding them twice. The events say only what was agreed,
with whom and by when — nothing else from the answers.
"""

from __future__ import annotations

import calendar as _cal
import contextlib
import datetime as dt
import hashlib
import json
import sqlite3
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path

from musforms.files import CACHE_FOLDER, atomic_writer, private_folder
from musforms.outputs.spool import AgreementSpool
from musforms.outputs.views import AgreementRow, CheckIn, clean, danish_date
from musforms.response import Response
from musforms.scratch import connect, open_kept
from musforms.texts import t

PRODID = "-//musforms//MUS follow-up//DA"


def add_months(day: dt.date, months: int) -> dt.date:
    """The same day ``months`` later; the 31st becomes the month's last day where needed."""
    month0 = day.month - 1 + months
    year, month = day.year + month0 // 12, month0 % 12 + 1
    return dt.date(year, month, min(day.day, _cal.monthrange(year, month)[1]))


def check_in_date(response: Response, months: int) -> dt.date | None:
    """``months`` after the meeting; without a meeting date, after the form was returned."""
    start = response.employee.meeting_date
    if start is None and response.source is not None and response.source.saved_at is not None:
        start = response.source.saved_at.date()
    return add_months(start, months) if start is not None else None


def check_in(
    response: Response, months: int, returned: dt.datetime | None = None
) -> CheckIn | None:
    """The check-in ``months`` after the meeting, or ``None`` without any date to count from;
    ``returned``: when the employee's check-in form came back, if it did."""
    day = check_in_date(response, months)
    if day is None:
        return None
    e = response.employee
    return CheckIn(response.form.form_id, clean(e.name), day, e.meeting_date, returned)


def check_ins(responses: Iterable[Response], months: int) -> Iterator[CheckIn]:
    """The check-ins of those responses that have a date to count from."""
    return (c for r in responses if (c := check_in(r, months)) is not None)


def calendar_bytes(
    responses: Iterable[Response],
    rows: Sequence[AgreementRow] | AgreementSpool,
    *,
    followup_months: int = 3,
    lang: str = "da",
    now: dt.datetime | None = None,
) -> bytes:
    """An iCalendar file: one all-day event per due date of this round's agreements, and one
    check-in per employee ``followup_months`` after the meeting. An agreement without a date
    (or whose date could not be read) has no event of its own; the check-in lists it, with its
    due date as typed."""
    return b"".join(
        calendar_chunks(check_ins(responses, followup_months), rows, lang=lang, now=now)
    )


def calendar_chunks(
    check_ins: Iterable[CheckIn],
    rows: Sequence[AgreementRow] | AgreementSpool,
    *,
    lang: str = "da",
    now: dt.datetime | None = None,
    events: EventCache | None = None,
) -> Iterator[bytes]:
    """The iCalendar file a piece at a time: the calendar's head, each event, its end. The
    same bytes icalendar gives for the whole calendar, without holding every event; each
    check-in looks its employee's agreements up in the spool. ``events``: the events an
    earlier run wrote, so that only new ones are written by icalendar."""
    with AgreementSpool.of(rows) as spool:
        yield from _chunks(check_ins, spool, lang, now, events)


# --- the events an earlier run wrote ----------------------------------------------------------

EVENTS = "calendar-events.sqlite"  # in the results folder's private CACHE_FOLDER
_EVENTS_SCHEMA = "musforms/calendar-events/1"
# An event is kept as icalendar wrote it with this DTSTAMP, then given the run's own.
_KEPT_STAMP = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)


def _stamp_line(when: dt.datetime) -> bytes:
    return b"\r\nDTSTAMP:" + when.strftime("%Y%m%dT%H%M%SZ").encode("ascii") + b"\r\n"


_BATCH = 512  # events kept per insert


class EventCache:
    """followup.ics's events as icalendar wrote them, by what each says (its UID, day,
    summary and description, with icalendar's and musforms' versions), from one run to the
    next: writing an event with icalendar takes milliseconds, and a morning's run has new
    events only for the responses that changed. Kept in the results folder's private space
    (``.musforms-cache/calendar-events.sqlite``, 0600; it holds names and agreements), made
    anew by each run with the events it used, put in place whole; ``musforms purge``
    removes it. One that cannot be trusted is not used."""

    def __init__(self, earlier: sqlite3.Connection | None, new: sqlite3.Connection) -> None:
        self._earlier, self._new = earlier, new
        from icalendar import __version__ as icalendar_version

        from musforms import __version__

        self._versions = [_EVENTS_SCHEMA, icalendar_version, __version__]
        self.written = 0  # events written by icalendar in this run (not found kept)
        self._lines: dict[dt.datetime, bytes] = {}  # DTSTAMP lines by moment: a run has two
        self._to_keep: list[tuple[str, bytes]] = []  # inserted a batch at a time

    def event(
        self, parts: tuple[str, ...], render: Callable[[dt.datetime], bytes], stamp: dt.datetime
    ) -> bytes:
        """The event that ``render`` writes with the DTSTAMP ``stamp``, from what was kept
        when it says what it said then."""
        text = json.dumps([*self._versions, *parts], ensure_ascii=False)
        key = hashlib.sha256(text.encode("utf-8")).hexdigest()
        kept_line, line = self._line(_KEPT_STAMP), self._line(stamp)
        data = self._kept(key)
        if data is None or data.count(kept_line) != 1:
            data = render(_KEPT_STAMP)
            self.written += 1
            if data.count(kept_line) != 1:  # cannot happen: then it is not kept
                return render(stamp)
        self._to_keep.append((key, data))
        if len(self._to_keep) >= _BATCH:
            self.flush()
        return data.replace(kept_line, line)

    def flush(self) -> None:
        """Keep the events met so far in the new set."""
        self._new.executemany("INSERT OR REPLACE INTO events VALUES (?, ?)", self._to_keep)
        self._to_keep = []

    def _line(self, when: dt.datetime) -> bytes:
        line = self._lines.get(when)
        if line is None:
            line = self._lines[when] = _stamp_line(when)
        return line

    def _kept(self, key: str) -> bytes | None:
        if self._earlier is None:
            return None
        try:
            row = self._earlier.execute("SELECT data FROM events WHERE key = ?", (key,)).fetchone()
        except sqlite3.Error:
            return None
        return row[0] if row is not None and isinstance(row[0], bytes) else None


@contextlib.contextmanager
def event_cache(out: Path) -> Iterator[EventCache]:
    """The events kept in the results folder ``out``, and the new set this run leaves there,
    put in place once the run is done with it (an error leaves the earlier one)."""
    target = out / CACHE_FOLDER / EVENTS
    earlier = open_kept(target)
    if earlier is not None:
        try:
            meta = dict(earlier.execute("SELECT name, value FROM meta").fetchall())
        except sqlite3.Error:
            meta = {}
        if meta.get("schema") != _EVENTS_SCHEMA:
            earlier.close()
            earlier = None
    try:
        private_folder(target.parent)
        with atomic_writer(target) as tmp:
            new = connect(
                tmp,
                "CREATE TABLE meta (name TEXT PRIMARY KEY, value TEXT);"
                "CREATE TABLE events (key TEXT PRIMARY KEY, data BLOB NOT NULL) WITHOUT ROWID;",
            )
            try:
                events = EventCache(earlier, new)
                yield events
                events.flush()
                new.execute("INSERT INTO meta VALUES ('schema', ?)", (_EVENTS_SCHEMA,))
                new.execute("COMMIT")
            finally:
                new.close()
    finally:
        if earlier is not None:
            earlier.close()


def _chunks(
    check_ins: Iterable[CheckIn],
    spool: AgreementSpool,
    lang: str,
    now: dt.datetime | None,
    events: EventCache | None,
) -> Iterator[bytes]:
    from icalendar import Calendar, Event

    stamp = (now or dt.datetime.now(dt.UTC)).astimezone(dt.UTC).replace(microsecond=0)
    cal = Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("x-wr-calname", t("ics_calendar_name", lang))
    whole: bytes = cal.to_ical()
    end = b"END:VCALENDAR\r\n"
    assert whole.endswith(end)
    yield whole[: -len(end)]

    def event(
        uid: str, day: dt.date, summary: str, description: str, changed: dt.datetime | None = None
    ) -> bytes:
        def render(when: dt.datetime) -> bytes:
            ev = Event()
            ev.add("uid", uid)
            ev.add("dtstamp", when)
            if changed is not None:
                # A calendar that imports the file again updates the event (RFC 5545 §3.8.7.4).
                ev.add("sequence", sequence(changed))
                ev.add("last-modified", changed.astimezone(dt.UTC).replace(microsecond=0))
            ev.add("dtstart", day)
            ev.add("dtend", day + dt.timedelta(days=1))
            ev.add("summary", summary)
            ev.add("description", description)
            ev.add("class", "CONFIDENTIAL")
            ev.add("transp", "TRANSPARENT")
            data: bytes = ev.to_ical()
            return data

        if events is None:
            return render(stamp)
        when = "" if changed is None else changed.astimezone(dt.UTC).isoformat()
        return events.event((uid, day.isoformat(), summary, description, when), render, stamp)

    for row in spool.rows():
        if row.previous or row.due is None:
            continue
        what = " ".join(row.what.split())
        yield event(
            row.uid,
            row.due,
            t("ics_due", lang, name=row.name, what=_short(what)),
            t("ics_due_description", lang, name=row.name, what=what, owner=row.owner or "–"),
        )

    for c in check_ins:
        # Once the check-in came back, every agreement with the status it gave.
        listed = [
            f"• {' '.join(row.what.split())}"
            + (f" ({' '.join(row.due_text.split())})" if row.due_text else "")
            + (f" [{row.status_text(lang)}]" if row.previous or c.returned else "")
            + (f" – {' '.join(row.comment.split())}" if c.returned and row.comment else "")
            for row in spool.of_form(c.form_id)
            if row.is_open or c.returned
        ]
        agreements = "\n".join(listed) or t("no_agreements", lang)
        met = c.meeting_date
        meeting = t("on_date", lang, date=danish_date(met)) if met else ""
        description = t(
            "ics_checkin_description", lang, name=c.name, meeting=meeting, agreements=agreements
        )
        if c.returned is not None:
            description = t(
                "ics_checkin_returned",
                lang,
                name=c.name,
                date=danish_date(c.returned.date()),
                agreements=agreements,
            )
        yield event(
            f"{c.form_id}-checkin@musforms",
            c.day,
            t("ics_checkin", lang, name=c.name),
            description,
            c.returned,
        )
    yield end


# SEQUENCE counts up each time an event changes; the minutes since this moment do, without
# keeping a count anywhere: a later check-in gives a higher number.
_SEQUENCE_EPOCH = dt.datetime(2020, 1, 1, tzinfo=dt.UTC)


def sequence(changed: dt.datetime) -> int:
    """The event's SEQUENCE for a change made at ``changed``."""
    if changed.tzinfo is None:
        changed = changed.replace(tzinfo=dt.UTC)
    return max(0, int((changed - _SEQUENCE_EPOCH).total_seconds()) // 60)


def _short(text: str, limit: int = 60) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def write_check_ins(
    path: Path,
    check_ins: Iterable[CheckIn],
    rows: Sequence[AgreementRow] | AgreementSpool,
    *,
    lang: str = "da",
    now: dt.datetime | None = None,
    events: EventCache | None = None,
) -> None:
    """``followup.ics`` from the check-ins and agreement rows, written as it is made."""
    with atomic_writer(path) as tmp, tmp.open("wb") as fh:
        for chunk in calendar_chunks(check_ins, rows, lang=lang, now=now, events=events):
            fh.write(chunk)
