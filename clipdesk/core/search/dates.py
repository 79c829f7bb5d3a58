"""Dates as a user writes them for ``--after`` and ``--before``: YYYY, YYYY-MM, YYYY-MM-DD.

A date names a period; a filter uses the first day of it, at midnight of this machine's
local time (the time zone EXIF times without an offset are read in). ``--after D`` keeps
photos taken on or after that day, ``--before D`` those taken before it.
"""

from __future__ import annotations

import datetime as dt
import re

from clipdesk.core.errors import DateError

__all__ = ["DateError", "first_day", "parse_date"]

_DATE = re.compile(r"(\d{4})(?:-(\d{1,2})(?:-(\d{1,2}))?)?")


def first_day(text: str) -> dt.date:
    """The first day the date ``text`` names: 2024 -> 2024-01-01, 2024-05 -> 2024-05-01."""
    match = _DATE.fullmatch(text.strip())
    if not match:
        raise DateError(f"not a date: {text!r} (use YYYY, YYYY-MM or YYYY-MM-DD)")
    year, month, day = (int(g) if g else 1 for g in match.groups())
    try:
        return dt.date(year, month, day)
    except ValueError as exc:
        raise DateError(f"not a date: {text!r} ({exc})") from None


def parse_date(text: str) -> float:
    """Epoch seconds of local midnight at the start of the first day ``text`` names."""
    day = first_day(text)
    if day.year < 1:
        raise DateError(f"not a date: {text!r}")
    return dt.datetime.combine(day, dt.time()).timestamp()
