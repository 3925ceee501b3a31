"""Dates the way Danes type them: ``14-01-2027``, ``14.1.2027``, ``14/1 2027``, ``14/1-2027``.

ISO (``2027-01-14``) and written months (``14. januar 2027``, ``14 jan 2027``, ``d. 14. januar
2027``, ``torsdag den 14. januar 2027``) are read too; a weekday that does not fit the date is
an error. A two-digit year means 20xx. Day comes before month, as in Denmark; ``1/15/2027`` is
an error, not a guess, and so is a date without a year or a time of year (``næste forår``):
those keep their typed text wherever they are shown.
"""

from __future__ import annotations

import datetime as dt
import re

_MONTHS = {
    "januar": 1, "jan": 1, "january": 1,
    "februar": 2, "feb": 2, "february": 2,
    "marts": 3, "mar": 3, "march": 3,
    "april": 4, "apr": 4,
    "maj": 5, "may": 5,
    "juni": 6, "jun": 6, "june": 6,
    "juli": 7, "jul": 7, "july": 7,
    "august": 8, "aug": 8,
    "september": 9, "sep": 9, "sept": 9,
    "oktober": 10, "okt": 10, "october": 10, "oct": 10,
    "november": 11, "nov": 11,
    "december": 12, "dec": 12,
}  # fmt: skip
# Monday first, as datetime.date.weekday() counts.
_WEEKDAYS = (
    ("mandag", "man", "monday", "mon"),
    ("tirsdag", "tir", "tirs", "tuesday", "tue", "tues"),
    ("onsdag", "ons", "wednesday", "wed"),
    ("torsdag", "tor", "tors", "thursday", "thu", "thur", "thurs"),
    ("fredag", "fre", "friday", "fri"),
    ("lørdag", "lør", "saturday", "sat"),
    ("søndag", "søn", "sunday", "sun"),
)
_WEEKDAY = {name: day for day, names in enumerate(_WEEKDAYS) for name in names}

# A time of day after the date (Excel sometimes writes "14-01-2027 00:00") is ignored.
_TIME = r"(?:[ tT]\d{1,2}[:.]\d{2}(?:[:.]\d{2}(?:\.\d+)?)?)?"
_ISO = re.compile(r"(\d{4})\s*[-./]\s*(\d{1,2})\s*[-./]\s*(\d{1,2})" + _TIME)
_DANISH = re.compile(r"(\d{1,2})\s*[-./]\s*(\d{1,2})\s*[-./ ]\s*(\d{4}|\d{2})" + _TIME)
# "[weekday[.][,]] [d.|den] 14[.] januar[.][,] 2027": how a date is written out in Danish
# ("onsdag d. 3. marts 2027") or English ("Wednesday, 3 March 2027").
_WORDS = re.compile(
    rf"(?:({'|'.join(sorted(_WEEKDAY, key=len, reverse=True))})\.?,?\s+)?(?:(?:d\.|den|the)\s*)?"
    r"(\d{1,2})\.?\s*([a-zæøå]+)\.?,?\s*(\d{4}|\d{2})"
)

HINT = "write it as dd-mm-åååå, e.g. 14-01-2027"


def parse_date(text: str) -> dt.date | None:
    """Read a date as people type it; ``None`` when ``text`` is blank.

    Raises ``ValueError`` with a readable message when the text is not a date
    (``"næste uge"``) or names a day that does not exist (``"31-02-2027"``).
    """
    raw = text.strip()
    if not raw:
        return None
    lowered = raw.lower()
    if m := _ISO.fullmatch(lowered):
        year, month, day = (int(g) for g in m.groups())
    elif m := _DANISH.fullmatch(lowered):
        day, month, year = (int(g) for g in m.groups())
        year = _full_year(year, m.group(3))
    elif (m := _WORDS.fullmatch(lowered)) and m.group(3) in _MONTHS:
        weekday, day, month = m.group(1), int(m.group(2)), _MONTHS[m.group(3)]
        year = _full_year(int(m.group(4)), m.group(4))
        if weekday is not None and _exists(year, month, day):
            _check_weekday(raw, dt.date(year, month, day), weekday)
    else:
        raise ValueError(f"{raw!r} is not a date; {HINT}")
    if not 1 <= month <= 12:
        raise ValueError(f"{raw!r} has no month {month} (the day comes first: {HINT})")
    try:
        return dt.date(year, month, day)
    except ValueError:
        raise ValueError(f"{raw!r} is not a day that exists") from None


def _exists(year: int, month: int, day: int) -> bool:
    try:
        dt.date(year, month, day)
    except ValueError:
        return False
    return True


def _check_weekday(raw: str, date: dt.date, weekday: str) -> None:
    """A weekday written before the date must be the date's: which of the two was meant
    cannot be told."""
    if date.weekday() != _WEEKDAY[weekday]:
        actual = _WEEKDAYS[date.weekday()][2].capitalize()
        raise ValueError(f"{raw!r} names two days: {date.isoformat()} is a {actual}; {HINT}")


def _full_year(year: int, digits: str) -> int:
    return 2000 + year if len(digits) == 2 else year


def danish_date(value: dt.date | str | None) -> str:
    """A date the way the forms, minutes and follow-up list show it: ``2027-01-15`` →
    ``15-01-2027`` (dd-mm-åååå); blank for no date; text that is no ISO date as it is."""
    if value is None or value == "":
        return ""
    if isinstance(value, str):
        try:
            return dt.date.fromisoformat(value).strftime("%d-%m-%Y")
        except ValueError:
            return value
    return value.strftime("%d-%m-%Y")
