"""Dates as Danes type them, read the same everywhere (roster, returned forms)."""

from __future__ import annotations

import datetime as dt

import pytest

from musforms.dates import parse_date

JAN_15 = dt.date(2027, 1, 15)


@pytest.mark.parametrize(
    "text",
    [
        "15-01-2027",
        "15.1.2027",
        "15/1 2027",
        "15/1-2027",
        "15/1/2027",
        "2027-01-15",
        " 15-1-2027 ",
        "15. 1. 2027",
        "15-01-27",
        "15. januar 2027",
        "15 jan. 2027",
        "15-01-2027 00:00",
        "2027-01-15T00:00:00",
        "d. 15. januar 2027",
        "d.15.januar 2027",
        "den 15. januar 2027",
        "fredag d. 15. januar 2027",
        "Fredag den 15. jan. 2027",
        "fre. d.\u00a015. januar 2027",  # Word puts a no-break space after "d."
        "Friday, 15 January 2027",
        "15. januar, 2027",
    ],
)
def test_danish_ways_of_writing_a_date(text: str) -> None:
    assert parse_date(text) == JAN_15


@pytest.mark.parametrize("text", ["", "   ", "\n"])
def test_blank_is_none(text: str) -> None:
    assert parse_date(text) is None


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("31-02-2027", "'31-02-2027' is not a day that exists"),
        ("29.2.2027", "'29.2.2027' is not a day that exists"),
        ("1/15/2027", "'1/15/2027' has no month 15 (the day comes first"),
        ("næste uge", "'næste uge' is not a date; write it as dd-mm-åååå"),
        ("15 smarch 2027", "'15 smarch 2027' is not a date"),
        ("15012027", "'15012027' is not a date"),
        ("næste forår", "'næste forår' is not a date"),
        ("3. marts", "'3. marts' is not a date"),  # no year: which one cannot be told
        ("marts 2027", "'marts 2027' is not a date"),
        ("uge 12 2027", "'uge 12 2027' is not a date"),
        ("d. 31. februar 2027", "'d. 31. februar 2027' is not a day that exists"),
        ("hej d. 3. marts 2027", "'hej d. 3. marts 2027' is not a date"),
        (
            "mandag d. 15. januar 2027",
            "'mandag d. 15. januar 2027' names two days: 2027-01-15 is a Friday",
        ),
    ],
)
def test_impossible_or_unreadable_dates_raise(text: str, message: str) -> None:
    with pytest.raises(ValueError, match="^" + message.replace("(", r"\(").replace(".", r"\.")):
        parse_date(text)


def test_leap_day() -> None:
    assert parse_date("29-02-2028") == dt.date(2028, 2, 29)
