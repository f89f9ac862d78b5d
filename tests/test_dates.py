"""Dates as publishers write them, parsed to ISO 8601."""

from __future__ import annotations

import datetime as dt

from hypothesis import given
from hypothesis import strategies as st

from samestory.dates import find_dates, is_date_only, to_iso


def test_formats_in_text():
    assert find_dates("By Sumita Ray , in World , at November 15, 2019 Tags: , , , ,") == [(30, 47, "2019-11-15")]
    assert find_dates("Published 15th Nov. 2019 and updated 2019-11-16") == [(10, 24, "2019-11-15"), (37, 47, "2019-11-16")]
    assert find_dates("Posted: Monday, August 11, 2014 9:34 AM EDT")[0][2] == "2014-08-11T09:34:00"
    assert find_dates("at 10:30 pm on 2020-02-29T22:30:00Z")[0][2] == "2020-02-29T22:30:00+00:00"


def test_incomplete_or_impossible_dates_are_not_dates():
    assert find_dates("Updated On:") == []
    assert find_dates("in 2019 the year") == []
    assert find_dates("February 30, 2020") == []
    assert find_dates("May 5, 1850") == []  # outside 1900-2099: a parse accident


def test_date_only_lines():
    assert is_date_only("Tuesday, January 21, 2020") == "2020-01-21"
    assert is_date_only("Published: 15 Nov 2019 10:30 pm IST") == "2019-11-15T22:30:00"
    assert is_date_only("Date – March 23rd, 2016") == "2016-03-23"
    assert is_date_only("Talks end on January 21, 2020 in Geneva") is None


def test_to_iso_inputs():
    assert to_iso("2019-11-15") == "2019-11-15"
    assert to_iso("2019-11-15T10:00:00Z") == "2019-11-15T10:00:00+00:00"
    assert to_iso("Fri, 15 Nov 2019 10:00:00 GMT") == "2019-11-15T10:00:00+00:00"
    assert to_iso(dt.date(2019, 11, 15)) == "2019-11-15"
    assert to_iso(1573776000) == "2019-11-15T00:00:00+00:00"
    assert to_iso("not a date") is None
    assert to_iso("") is None and to_iso(None) is None
    assert to_iso(True) is None


@given(st.dates(min_value=dt.date(1900, 1, 1), max_value=dt.date(2099, 12, 31)))
def test_written_dates_round_trip(day):
    written = [day.strftime("%B %d, %Y"), day.strftime("%d %b %Y"), day.isoformat(), day.strftime("%A, %B %d, %Y")]
    for text in written:
        assert to_iso(text) == day.isoformat(), text


@given(st.text(max_size=200))
def test_never_raises(text):
    for _, _, iso in find_dates(text):
        assert iso[:4].isdigit()
    to_iso(text)
