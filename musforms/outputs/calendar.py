"""``followup.ics``: the agreements' due dates and a check-in per employee, for a calendar.

Every event has a UID made from the form id and the agreement's row, so importing a newer
file updates the events instead of adding them twice. The events say only what was agreed,
with whom and by when — nothing else from the answers.
"""

from __future__ import annotations

import calendar as _cal
import datetime as dt
from collections.abc import Sequence
from pathlib import Path

from musforms.files import write_bytes
from musforms.outputs.views import AgreementRow, clean, danish_date
from musforms.response import Response
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


def calendar_bytes(
    responses: Sequence[Response],
    rows: Sequence[AgreementRow],
    *,
    followup_months: int = 3,
    lang: str = "da",
    now: dt.datetime | None = None,
) -> bytes:
    """An iCalendar file: one all-day event per due date of this round's agreements, and one
    check-in per employee ``followup_months`` after the meeting."""
    from icalendar import Calendar, Event

    stamp = (now or dt.datetime.now(dt.UTC)).astimezone(dt.UTC).replace(microsecond=0)
    cal = Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("x-wr-calname", t("ics_calendar_name", lang))

    def event(uid: str, day: dt.date, summary: str, description: str) -> Event:
        ev = Event()
        ev.add("uid", uid)
        ev.add("dtstamp", stamp)
        ev.add("dtstart", day)
        ev.add("dtend", day + dt.timedelta(days=1))
        ev.add("summary", summary)
        ev.add("description", description)
        ev.add("class", "CONFIDENTIAL")
        ev.add("transp", "TRANSPARENT")
        return ev

    by_form: dict[str, list[AgreementRow]] = {}
    for row in rows:
        by_form.setdefault(row.form_id, []).append(row)
        if row.previous or row.due is None:
            continue
        what = " ".join(row.what.split())
        cal.add_component(
            event(
                row.uid,
                row.due,
                t("ics_due", lang, name=row.name, what=_short(what)),
                t("ics_due_description", lang, name=row.name, what=what, owner=row.owner or "–"),
            )
        )

    for r in responses:
        day = check_in_date(r, followup_months)
        if day is None:
            continue
        name = clean(r.employee.name)
        listed = [
            f"• {' '.join(row.what.split())}"
            + (f" ({danish_date(row.due)})" if row.due else "")
            + (f" [{row.status_text(lang)}]" if row.previous else "")
            for row in by_form.get(r.form.form_id, [])
            if row.is_open
        ]
        agreements = "\n".join(listed) or t("no_agreements", lang)
        met = r.employee.meeting_date
        meeting = t("on_date", lang, date=danish_date(met)) if met else ""
        cal.add_component(
            event(
                f"{r.form.form_id}-checkin@musforms",
                day,
                t("ics_checkin", lang, name=name),
                t(
                    "ics_checkin_description",
                    lang,
                    name=name,
                    meeting=meeting,
                    agreements=agreements,
                ),
            )
        )
    data: bytes = cal.to_ical()
    return data


def _short(text: str, limit: int = 60) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def write_calendar(
    path: Path,
    responses: Sequence[Response],
    rows: Sequence[AgreementRow],
    *,
    followup_months: int = 3,
    lang: str = "da",
    now: dt.datetime | None = None,
) -> None:
    write_bytes(
        path,
        calendar_bytes(responses, rows, followup_months=followup_months, lang=lang, now=now),
    )
