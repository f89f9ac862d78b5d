"""Dates: parse what publishers write into ISO 8601, and find dates in text.

Shared by ingest (record fields, feed and WARC dates) and clean (bylines and
date lines of scraped text). Only explicit, complete dates count: a bare year
or "Updated On:" with nothing after it gives no date.
"""

from __future__ import annotations

import datetime as _dt
import re
from typing import Any

_MONTHS = {
    "jan": 1, "january": 1, "feb": 2, "february": 2, "mar": 3, "march": 3,
    "apr": 4, "april": 4, "may": 5, "jun": 6, "june": 6, "jul": 7, "july": 7,
    "aug": 8, "august": 8, "sep": 9, "sept": 9, "september": 9, "oct": 10,
    "october": 10, "nov": 11, "november": 11, "dec": 12, "december": 12,
}
_MONTH = r"(?P<month>jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)\.?"
_DAY = r"(?P<day>[0-3]?\d)(?:st|nd|rd|th)?"
_YEAR = r"(?P<year>(?:19|20)\d\d)"
_WEEKDAY = r"(?:(?:mon|tues?|wed(?:nes)?|thu(?:rs)?|fri|sat(?:ur)?|sun)(?:day)?\.?,?\s+)?"
_TIME = r"(?:[T ,]+(?P<hour>[0-2]?\d)[:.](?P<minute>[0-5]\d)(?::(?P<second>[0-5]\d))?(?:\.\d+)?\s*(?P<ampm>[ap]\.?m\.?)?(?:\s*(?P<tz>Z|[+-]\d\d:?\d\d|UTC|GMT|[ECMP][SD]T|IST))?)?"

_PATTERNS = [
    # 2019-11-15, 2019-11-15T10:20:00Z, 2019/11/15
    re.compile(r"\b(?P<year>(?:19|20)\d\d)[-/.](?P<month>[01]?\d)[-/.](?P<day>[0-3]?\d)(?![\d])" + _TIME, re.I),
    # November 15, 2019 / Nov. 15 2019 / Friday, November 15, 2019
    re.compile(r"\b" + _WEEKDAY + _MONTH + r"\s+" + _DAY + r",?\s+" + _YEAR + r"\b" + _TIME, re.I),
    # 15 November 2019 / 15th Nov, 2019
    re.compile(r"\b" + _WEEKDAY + _DAY + r"\s+(?:of\s+)?" + _MONTH + r",?\s+" + _YEAR + r"\b" + _TIME, re.I),
]

def find_dates(text: str) -> list[tuple[int, int, str]]:
    """All complete dates in ``text`` as ``(start, end, ISO date)``, in order."""
    found: list[tuple[int, int, str]] = []
    taken: list[tuple[int, int]] = []
    for pattern in _PATTERNS:
        for m in pattern.finditer(text):
            if any(m.start() < e and s < m.end() for s, e in taken):
                continue
            iso = _from_match(m)
            if iso:
                found.append((m.start(), m.end(), iso))
                taken.append((m.start(), m.end()))
    found.sort()
    return found


def is_date_only(line: str) -> str | None:
    """The ISO date if ``line`` holds a date and (almost) nothing else."""
    dates = find_dates(line)
    if len(dates) != 1:
        return None
    start, end, iso = dates[0]
    rest = (line[:start] + " " + line[end:]).strip(" \t,|-–—:()[]").lower()
    rest = re.sub(r"\b(published|posted|updated|last updated|date|on|at|am|pm|[a-z]{3} ?[+-]\d+)\b", "", rest)
    rest = re.sub(r"[\s,|:.\-–—/]+", "", rest)
    return iso if not rest else None


def to_iso(value: Any) -> str | None:
    """ISO 8601 form of a date given as text, datetime, date or epoch seconds.

    Returns a date (``2019-11-15``) or a date-time when a time is given;
    None when ``value`` holds no recognisable, plausible date.
    """
    if value is None or value == "":
        return None
    if isinstance(value, _dt.datetime):
        return _plausible(value.isoformat())
    if isinstance(value, _dt.date):
        return _plausible(value.isoformat())
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        try:
            return _plausible(_dt.datetime.fromtimestamp(float(value), _dt.timezone.utc).isoformat())
        except (OverflowError, OSError, ValueError):
            return None
    text = str(value).strip()
    if not text:
        return None
    try:  # the common, exact case first
        parsed = _dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
        if re.fullmatch(r"\d{4}-\d\d-\d\d", text):
            return _plausible(parsed.date().isoformat())
        return _plausible(parsed.isoformat())
    except ValueError:
        pass
    dates = find_dates(text)
    if dates:
        return dates[0][2]
    try:  # RFC 822 dates of feeds and HTTP headers
        from email.utils import parsedate_to_datetime

        return _plausible(parsedate_to_datetime(text).isoformat())
    except (TypeError, ValueError, IndexError):
        return None


def _from_match(m: re.Match[str]) -> str | None:
    g = m.groupdict()
    month_raw = g["month"].lower().rstrip(".")
    month = _MONTHS.get(month_raw) if not month_raw.isdigit() else int(month_raw)
    try:
        day = _dt.date(int(g["year"]), month or 0, int(g["day"]))
    except (TypeError, ValueError):
        return None
    if g.get("hour") is None:
        return _plausible(day.isoformat())
    hour, minute = int(g["hour"]), int(g["minute"])
    ampm = (g.get("ampm") or "").replace(".", "").lower()
    if ampm == "pm" and hour < 12:
        hour += 12
    elif ampm == "am" and hour == 12:
        hour = 0
    try:
        stamp = _dt.datetime(day.year, day.month, day.day, hour, minute, int(g.get("second") or 0))
    except ValueError:
        return _plausible(day.isoformat())
    tz = (g.get("tz") or "").upper()
    if tz in ("Z", "UTC", "GMT"):
        stamp = stamp.replace(tzinfo=_dt.timezone.utc)
    elif tz[:1] in "+-" and tz:
        sign = 1 if tz[0] == "+" else -1
        digits = tz[1:].replace(":", "")
        try:
            stamp = stamp.replace(tzinfo=_dt.timezone(sign * _dt.timedelta(hours=int(digits[:2]), minutes=int(digits[2:]))))
        except ValueError:  # an offset of a day or more is no time zone: keep the local time
            pass
    return _plausible(stamp.isoformat())


def _plausible(iso: str) -> str | None:
    """Keep dates from 1900 to 2099; others are parse accidents."""
    try:
        year = int(iso[:4])
    except ValueError:
        return None
    return iso if 1900 <= year <= 2099 else None
