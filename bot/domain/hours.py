"""Weekly business hours: parsing `mon-fri 09:00-18:00; sat 09:00-13:00` and asking "open now?"."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, time

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_RULE = re.compile(
    r"^(?P<first>[a-z]{3})(?:-(?P<last>[a-z]{3}))?\s+(?P<start>\d{1,2}:\d{2})-(?P<end>\d{1,2}:\d{2})$"
)
EXPECTED_FORM = "day ranges with times, e.g. 'mon-fri 09:00-18:00; sat 09:00-13:00'"


@dataclass(frozen=True)
class Interval:
    start: time
    end: time  # exclusive; 24:00 is written as time.max


@dataclass(frozen=True)
class BusinessHours:
    """Open intervals per weekday (0 = Monday). Empty means always open."""

    by_weekday: tuple[tuple[Interval, ...], ...] = ()

    @property
    def always_open(self) -> bool:
        return not self.by_weekday

    def is_open(self, local: datetime) -> bool:
        if self.always_open:
            return True
        moment = local.time()
        return any(i.start <= moment < i.end for i in self.by_weekday[local.weekday()])


def parse_business_hours(text: str) -> BusinessHours:
    """Parse the BUSINESS_HOURS syntax; an empty string means always open."""
    text = text.strip().lower()
    if not text:
        return BusinessHours()
    week: list[list[Interval]] = [[] for _ in DAYS]
    for rule in filter(None, (part.strip() for part in text.split(";"))):
        match = _RULE.match(rule)
        if not match:
            raise ValueError(f"'{rule}' is not {EXPECTED_FORM}")
        first, last = match["first"], match["last"] or match["first"]
        if first not in DAYS or last not in DAYS:
            raise ValueError(f"'{rule}': days are {', '.join(DAYS)}")
        start, end = _clock_time(match["start"]), _clock_time(match["end"])
        if end <= start:
            raise ValueError(f"'{rule}': the closing time must come after the opening time")
        days = range(DAYS.index(first), DAYS.index(last) + 1)
        if not days:
            raise ValueError(f"'{rule}': write day ranges forwards, e.g. mon-fri")
        for day in days:
            week[day].append(Interval(start, end))
    return BusinessHours(tuple(tuple(sorted(d, key=lambda i: i.start)) for d in week))


def _clock_time(text: str) -> time:
    hours, minutes = (int(part) for part in text.split(":"))
    if (hours, minutes) == (24, 0):
        return time.max
    if not (0 <= hours < 24 and 0 <= minutes < 60):
        raise ValueError(f"'{text}' is not a time of day")
    return time(hours, minutes)
