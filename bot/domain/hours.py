"""Weekly business hours and the business calendar built on them.

`BusinessHours` parses `mon-fri 09:00-18:00; sat 09:00-13:00` and answers "open at this local
time?". `BusinessCalendar` adds a time zone and holidays and does business-time arithmetic:
"one hour of open time after this message" or "how much open time passed between these two".

The calendar works on real instants (aware datetimes, answered in UTC) while the hours are wall
clock times in the calendar's zone, so a day of `00:00-24:00` lasts 23 h on the spring DST change
and 25 h on the autumn one, and an hour of business time is always an hour of real open time.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_RULE = re.compile(
    r"^(?P<first>[a-z]{3})(?:-(?P<last>[a-z]{3}))?\s+(?P<start>\d{1,2}:\d{2})-(?P<end>\d{1,2}:\d{2})$"
)
EXPECTED_FORM = "day ranges with times, e.g. 'mon-fri 09:00-18:00; sat 09:00-13:00'"
HOLIDAYS_FORM = "ISO dates separated by commas, e.g. 2026-12-25,2026-12-26"
_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")

# How far the calendar looks for an opening before concluding it never opens: a year of closed
# days plus slack, so a misconfiguration (every day a holiday) fails loudly instead of looping.
SEARCH_DAYS = 400
_DAY = timedelta(days=1)
_SECOND = timedelta(seconds=1)
_ZERO = timedelta(0)

Span = tuple[datetime, datetime]  # an open stretch [start, end) as aware UTC datetimes


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


def parse_holidays(text: str) -> frozenset[date]:
    """Parse the HOLIDAYS syntax, `2026-12-25, 2026-12-26` (commas and/or spaces); empty: none."""
    days: set[date] = set()
    for item in filter(None, re.split(r"[,\s]+", text.strip())):
        # date.fromisoformat alone would also take `20261225` or `2026-W52-5`; keep one form.
        try:
            if not _ISO_DATE.match(item):
                raise ValueError(item)
            days.add(date.fromisoformat(item))
        except ValueError:
            raise ValueError(f"'{item}' is not a date: expected {HOLIDAYS_FORM}") from None
    return frozenset(days)


@dataclass(frozen=True)
class BusinessCalendar:
    """Business hours in a time zone, minus holidays (closed all day, local date).

    Every method takes aware datetimes in any zone and answers aware UTC datetimes. A wall time
    that happens twice (autumn DST change) means its first occurrence; one that never happens
    (spring change) means the instant the clock jumps past it.
    """

    hours: BusinessHours
    zone: ZoneInfo
    holidays: frozenset[date] = frozenset()

    @property
    def always_open(self) -> bool:
        return self.hours.always_open and not self.holidays

    def is_open(self, moment: datetime) -> bool:
        moment = _utc(moment)
        if self.always_open:
            return True
        day = moment.astimezone(self.zone).date()
        return any(start <= moment < end for start, end in self._day_spans(day))

    def add(self, start: datetime, duration: timedelta) -> datetime:
        """The instant when `duration` of open time has passed since `start`.

        The clock runs only while open: counting begins at the next opening when `start` falls
        while closed, and a duration that ends exactly at closing time ends there (18:00, not
        09:00 the next day). Raises ValueError when the calendar never opens (see SEARCH_DAYS).
        """
        start = _utc(start)
        if duration < _ZERO:
            raise ValueError(f"a business-time duration cannot be negative: {duration}")
        if self.always_open:
            return start + duration
        left = duration
        for open_at, close_at in self._spans_from(start):
            begin = max(open_at, start)
            if left <= close_at - begin:
                return begin + left
            left -= close_at - begin
        raise ValueError(f"the business calendar is closed for {SEARCH_DAYS} days after {start}")

    def between(self, start: datetime, end: datetime) -> timedelta:
        """Open time elapsed from `start` to `end`; zero when `end` is not after `start`."""
        start, end = _utc(start), _utc(end)
        if end <= start:
            return _ZERO
        if self.always_open:
            return end - start
        total = _ZERO
        for open_at, close_at in self._spans_from(start):
            if open_at >= end:
                break
            total += min(close_at, end) - max(open_at, start)
        return total

    def next_open(self, moment: datetime) -> datetime | None:
        """`moment` itself when open, else the next opening; None if closed for SEARCH_DAYS."""
        moment = _utc(moment)
        if self.always_open:
            return moment
        span = next(self._spans_from(moment), None)
        return None if span is None else max(span[0], moment)

    def next_change(self, moment: datetime) -> datetime | None:
        """The next opening or closing strictly after `moment`; None if none within SEARCH_DAYS.

        Spans that touch (`00:00-24:00` on consecutive days) are one stretch: midnight between
        two open days is not a change.
        """
        moment = _utc(moment)
        if self.always_open:
            return None
        spans = self._spans_from(moment)
        first = next(spans, None)
        if first is None:
            return None
        open_at, close_at = first
        if open_at > moment:
            return open_at
        horizon = moment + SEARCH_DAYS * _DAY
        for next_open_at, next_close_at in spans:
            if next_open_at > close_at or close_at > horizon:
                break
            close_at = next_close_at
        return close_at if close_at <= horizon else None

    def _spans_from(self, moment: datetime) -> Iterator[Span]:
        """Open spans that end after `moment`, in order, day by day.

        A closed day costs a set lookup or an empty tuple, nothing finer-grained; the walk stops
        after SEARCH_DAYS consecutive closed days, so a calendar that never opens cannot hang us.
        """
        day = moment.astimezone(self.zone).date()
        closed_days = 0
        while closed_days < SEARCH_DAYS:
            spans = self._day_spans(day)
            closed_days = 0 if spans else closed_days + 1
            for span in spans:
                if span[1] > moment:
                    yield span
            day += _DAY

    def _day_spans(self, day: date) -> list[Span]:
        """The open spans of one local date, overlapping intervals merged, in UTC."""
        if day in self.holidays:
            return []
        if self.hours.always_open:
            intervals: tuple[Interval, ...] = (Interval(time(0), time.max),)
        else:
            intervals = self.hours.by_weekday[day.weekday()]
        spans: list[Span] = []
        for interval in sorted(intervals, key=lambda i: i.start):
            start, end = self._instant(day, interval.start), self._instant(day, interval.end)
            if end <= start:  # e.g. 02:00-02:30 on the spring change: never on the clock
                continue
            if spans and start <= spans[-1][1]:
                spans[-1] = (spans[-1][0], max(spans[-1][1], end))
            else:
                spans.append((start, end))
        return spans

    def _instant(self, day: date, wall: time) -> datetime:
        """The first instant (UTC) at which the local clock reads `wall` or later on `day`."""
        if wall == time.max:  # 24:00, the end of the day: midnight of the next one
            day, wall = day + _DAY, time(0)
        local = datetime.combine(day, wall, tzinfo=self.zone)
        instant = local.astimezone(UTC)
        if self._reads(instant) == (day, wall):
            return instant  # fold=0: the first occurrence of an ambiguous time
        # The wall time falls in a DST gap. The two folds land on either side of the jump;
        # find the jump itself, to the second (zone transitions happen on whole seconds).
        low, high = sorted((instant, local.replace(fold=1).astimezone(UTC)))
        steps_low, steps_high = 0, int((high - low) / _SECOND)
        while steps_high - steps_low > 1:
            middle = (steps_low + steps_high) // 2
            if self._reads(low + middle * _SECOND) >= (day, wall):
                steps_high = middle
            else:
                steps_low = middle
        return low + steps_high * _SECOND

    def _reads(self, instant: datetime) -> tuple[date, time]:
        """What the local calendar and clock read at `instant`."""
        local = instant.astimezone(self.zone)
        return local.date(), local.time()


def _utc(moment: datetime) -> datetime:
    if moment.utcoffset() is None:
        raise ValueError(f"{moment} has no time zone: the calendar needs aware datetimes")
    return moment.astimezone(UTC)
