"""The business calendar: open/closed, business-time addition and elapsed time, across DST."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.domain.hours import (
    SEARCH_DAYS,
    BusinessCalendar,
    BusinessHours,
    Interval,
    parse_business_hours,
    parse_holidays,
)

ROME = ZoneInfo("Europe/Rome")
HOUR = timedelta(hours=1)
OFFICE = "mon-fri 09:00-18:00"
# 2026: Fri 27 March, Sun 29 March (spring change), Sun 25 October (autumn change).


def rome(month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    """A wall time in Rome, 2026 (fold=0: the first one when the clock reads it twice)."""
    return datetime(2026, month, day, hour, minute, tzinfo=ROME)


def calendar(hours: str = OFFICE, holidays: str = "") -> BusinessCalendar:
    return BusinessCalendar(parse_business_hours(hours), ROME, parse_holidays(holidays))


@pytest.mark.parametrize(
    ("hours", "holidays", "start", "duration", "due"),
    [
        # 17:55 with an hour to go and closing at 18:00: five minutes today, 55 tomorrow.
        (OFFICE, "", rome(11, 24, 17, 55), HOUR, rome(11, 25, 9, 55)),
        (OFFICE, "", rome(11, 27, 17, 55), HOUR, rome(11, 30, 9, 55)),  # Friday -> Monday
        (OFFICE, "2026-11-25", rome(11, 24, 17, 55), HOUR, rome(11, 26, 9, 55)),  # holiday
        (OFFICE, "2026-11-30", rome(11, 27, 17, 55), HOUR, rome(12, 1, 9, 55)),  # long weekend
        (OFFICE, "", rome(11, 28, 10), HOUR, rome(11, 30, 10)),  # Saturday: starts Monday
        (OFFICE, "", rome(11, 24, 7), HOUR, rome(11, 24, 10)),  # before opening
        (OFFICE, "", rome(11, 24, 17), HOUR, rome(11, 24, 18)),  # ends exactly at closing
        (OFFICE, "", rome(11, 24, 18), timedelta(0), rome(11, 25, 9)),  # zero: next opening
        (OFFICE, "", rome(11, 24, 10), timedelta(days=1), rome(11, 26, 16)),  # 24 h = 2 days 6 h
        (OFFICE, "", rome(11, 24, 10), timedelta(hours=45), rome(12, 1, 10)),  # a whole week
        ("mon-fri 09:00-13:00; mon-fri 14:00-18:00", "", rome(11, 24, 12), 2 * HOUR,
         rome(11, 24, 15)),  # lunch break
        ("mon-fri 09:00-13:00; mon 12:00-15:00", "", rome(11, 23, 12), 2 * HOUR,
         rome(11, 23, 14)),  # overlapping intervals count once
        ("sat 09:00-13:00", "", rome(11, 23, 10), HOUR, rome(11, 28, 10)),  # one open day a week
        # 24:00 ends at midnight of the next day.
        ("mon-fri 20:00-24:00", "", rome(11, 24, 23, 30), HOUR, rome(11, 25, 20, 30)),
        # Always open across midnight, with a holiday cutting the day out entirely.
        ("mon-sun 00:00-24:00", "2026-11-25", rome(11, 24, 23, 30), HOUR, rome(11, 26, 0, 30)),
        ("", "2026-11-25", rome(11, 24, 23, 30), HOUR, rome(11, 26, 0, 30)),
    ],
)  # fmt: skip
def test_add(
    hours: str, holidays: str, start: datetime, duration: timedelta, due: datetime
) -> None:
    got = calendar(hours, holidays).add(start, duration)
    assert got == due.astimezone(UTC)
    assert got.tzinfo is UTC


@pytest.mark.parametrize(
    ("hours", "start", "duration", "due"),
    [
        # Spring: 02:00 jumps to 03:00, so a day open around the clock has 23 real hours.
        ("mon-sun 00:00-24:00", rome(3, 29, 1, 30), HOUR, rome(3, 29, 3, 30)),
        ("mon-sun 00:00-24:00", rome(3, 29), timedelta(hours=23), rome(3, 30)),
        ("mon-sun 22:00-24:00; mon-sun 00:00-06:00", rome(3, 28, 23), 6 * HOUR, rome(3, 29, 6)),
        ("mon-sun 01:00-04:00", rome(3, 29, 1), 2 * HOUR, rome(3, 29, 4)),  # the whole window
        ("mon-sun 02:30-04:00", rome(3, 29), HOUR, rome(3, 29, 4)),  # opens at the jump, 03:00
        # Autumn: 03:00 falls back to 02:00, so the day has 25 real hours.
        ("mon-sun 00:00-24:00", rome(10, 25), timedelta(hours=25), rome(10, 26)),
        ("mon-sun 00:00-24:00", rome(10, 25, 1, 30), HOUR, rome(10, 25, 2, 30)),  # first 02:30
        ("mon-sun 00:00-24:00", rome(10, 25, 1, 30), 2 * HOUR,
         rome(10, 25, 2, 30).replace(fold=1)),  # the second 02:30
        ("mon-sun 22:00-24:00; mon-sun 00:00-06:00", rome(10, 24, 23), 8 * HOUR, rome(10, 25, 6)),
        # A plain office day right after the change is an ordinary nine hours.
        (OFFICE, rome(3, 27, 17, 55), HOUR, rome(3, 30, 9, 55)),
        (OFFICE, rome(10, 23, 17, 55), HOUR, rome(10, 26, 9, 55)),
        (OFFICE, rome(10, 26, 9), timedelta(hours=9), rome(10, 26, 18)),
    ],
)  # fmt: skip
def test_add_across_daylight_saving_changes(
    hours: str, start: datetime, duration: timedelta, due: datetime
) -> None:
    cal = calendar(hours)
    # Compared in UTC: Python never finds an ambiguous wall time (fold) equal to another zone's.
    assert cal.add(start, duration) == due.astimezone(UTC)
    assert cal.between(start, due) == duration


def test_autumn_night_shift_counts_the_repeated_hour() -> None:
    # 00:00-06:00 on the night the clock falls back lasts seven real hours.
    cal = calendar("mon-sun 00:00-06:00")
    assert cal.between(rome(10, 25), rome(10, 25, 12)) == timedelta(hours=7)
    assert cal.between(rome(3, 29), rome(3, 29, 12)) == timedelta(hours=5)


@pytest.mark.parametrize("hours", ["", OFFICE])
def test_a_start_in_another_zone_is_the_same_instant(hours: str) -> None:
    start = rome(11, 24, 17, 55)
    cal = calendar(hours)
    assert cal.add(start.astimezone(UTC), HOUR) == cal.add(start, HOUR)


@pytest.mark.parametrize(
    ("hours", "holidays"),
    [
        (OFFICE, ""),
        (OFFICE, "2026-03-30 2026-10-26"),
        ("mon-fri 09:00-13:00; mon-fri 14:00-18:00; sat 10:00-12:00", ""),
        ("mon-sun 22:00-24:00; mon-sun 00:00-06:00", ""),
        ("mon-sun 00:00-24:00", "2026-03-28"),
        ("mon-sun 01:30-03:30", ""),
    ],
)
def test_between_undoes_add(hours: str, holidays: str) -> None:
    cal = calendar(hours, holidays)
    # Starts every 50 minutes over the days around both DST changes, open and closed alike.
    starts = [
        first + step * timedelta(minutes=50)
        for first in (rome(3, 26), rome(10, 22))
        for step in range(6 * 24 * 60 // 50)
    ]
    durations = [timedelta(minutes=m) for m in (0, 1, 5, 59, 60, 61, 299, 540, 541, 2000, 9000)]
    for start in starts:
        for duration in durations:
            due = cal.add(start, duration)
            assert cal.between(start, due) == duration, (start, duration)
            assert due >= start


@pytest.mark.parametrize(
    "start",
    [rome(3, 28, 23, 10), rome(10, 25, 1, 59), rome(11, 24, 17, 55), rome(12, 31, 23, 59)],
)
@pytest.mark.parametrize("duration", [timedelta(0), timedelta(seconds=1), HOUR, timedelta(days=3)])
def test_always_open_is_wall_time(start: datetime, duration: timedelta) -> None:
    cal = calendar("")
    end = start.astimezone(UTC) + duration  # in UTC: adding to a Rome time would add wall time
    assert cal.add(start, duration) == end
    assert cal.between(start, end) == duration
    assert cal.is_open(start)
    assert cal.next_open(start) == start
    assert cal.next_change(start) is None


def test_between_is_zero_when_end_is_not_after_start() -> None:
    cal = calendar()
    assert cal.between(rome(11, 24, 12), rome(11, 24, 12)) == timedelta(0)
    assert cal.between(rome(11, 24, 12), rome(11, 24, 11)) == timedelta(0)
    assert calendar("").between(rome(11, 24, 12), rome(11, 24, 11)) == timedelta(0)


def test_between_over_a_week() -> None:
    assert calendar().between(rome(11, 23), rome(11, 30)) == timedelta(hours=45)
    assert calendar(OFFICE, "2026-11-25").between(rome(11, 23), rome(11, 30)) == 36 * HOUR


@pytest.mark.parametrize(
    ("hours", "holidays", "moment", "open_"),
    [
        (OFFICE, "", rome(11, 24, 9), True),  # opening is inclusive
        (OFFICE, "", rome(11, 24, 17, 59), True),
        (OFFICE, "", rome(11, 24, 18), False),  # closing is exclusive
        (OFFICE, "", rome(11, 28, 12), False),  # Saturday
        (OFFICE, "2026-11-24", rome(11, 24, 12), False),  # holiday
        (OFFICE, "", rome(11, 24, 12).astimezone(UTC), True),  # 11:00 UTC is 12:00 in Rome
        (OFFICE, "", datetime(2026, 11, 24, 17, 30, tzinfo=UTC), False),  # 18:30 in Rome
        ("mon-fri 20:00-24:00", "", rome(11, 24, 23, 59), True),
        ("mon-fri 20:00-24:00", "", rome(11, 25), False),  # 24:00 is midnight, exclusive
        ("", "2026-11-24", rome(11, 24, 12), False),
        ("", "2026-11-24", rome(11, 25), True),
    ],
)
def test_is_open(hours: str, holidays: str, moment: datetime, open_: bool) -> None:
    assert calendar(hours, holidays).is_open(moment) is open_


@pytest.mark.parametrize(
    ("hours", "holidays", "moment", "opening", "change"),
    [
        (OFFICE, "", rome(11, 24, 12), rome(11, 24, 12), rome(11, 24, 18)),
        (OFFICE, "", rome(11, 24, 9), rome(11, 24, 9), rome(11, 24, 18)),  # at opening: closing
        (OFFICE, "", rome(11, 24, 18), rome(11, 25, 9), rome(11, 25, 9)),  # at closing: opening
        (OFFICE, "", rome(11, 27, 19), rome(11, 30, 9), rome(11, 30, 9)),
        (OFFICE, "2026-11-30", rome(11, 27, 19), rome(12, 1, 9), rome(12, 1, 9)),
        # Days that touch at midnight are one stretch: the change is the real closing.
        ("mon-fri 00:00-24:00", "", rome(11, 24, 12), rome(11, 24, 12), rome(11, 28)),
        ("", "2026-11-26", rome(11, 24, 12), rome(11, 24, 12), rome(11, 26)),
        ("", "2026-11-26", rome(11, 26, 12), rome(11, 27), rome(11, 27)),
    ],
)
def test_next_open_and_next_change(
    hours: str, holidays: str, moment: datetime, opening: datetime, change: datetime
) -> None:
    cal = calendar(hours, holidays)
    assert cal.next_open(moment) == opening
    assert cal.next_change(moment) == change


def test_next_change_is_none_when_open_around_the_clock() -> None:
    assert calendar("mon-sun 00:00-24:00").next_change(rome(11, 24, 12)) is None


def test_a_calendar_that_never_opens() -> None:
    every_day = frozenset(date(2026, 1, 1) + timedelta(days=n) for n in range(3 * 366))
    cal = BusinessCalendar(parse_business_hours(OFFICE), ROME, every_day)
    start = rome(1, 1, 12)
    with pytest.raises(ValueError, match="closed"):
        cal.add(start, HOUR)
    assert cal.next_open(start) is None
    assert cal.next_change(start) is None
    assert cal.between(start, start + timedelta(days=30)) == timedelta(0)
    assert not cal.is_open(start)


def test_opening_after_a_long_closure_is_still_found() -> None:
    # Closed for most of a year, but within the search bound.
    closed = frozenset(date(2026, 1, 1) + timedelta(days=n) for n in range(SEARCH_DAYS - 50))
    cal = BusinessCalendar(parse_business_hours(OFFICE), ROME, closed)
    due = cal.add(rome(1, 1, 12), HOUR)
    assert due.astimezone(ROME).time() == time(10)
    assert due.astimezone(ROME).date() > max(closed)


def test_naive_datetimes_are_refused() -> None:
    naive = datetime(2026, 11, 24, 12)  # noqa: DTZ001 - the point of the test
    with pytest.raises(ValueError, match="time zone"):
        calendar().add(naive, HOUR)
    with pytest.raises(ValueError, match="time zone"):
        calendar().is_open(naive)


def test_negative_durations_are_refused() -> None:
    with pytest.raises(ValueError, match="negative"):
        calendar().add(rome(11, 24, 12), -HOUR)


def test_business_hours_keep_their_local_time_answer() -> None:
    # The calendar is new; BusinessHours.is_open on a local time behaves as before.
    hours = parse_business_hours("mon-fri 09:00-18:00; sat 09:00-24:00")
    assert hours.is_open(rome(11, 24, 12))
    assert not hours.is_open(rome(11, 24, 18))
    assert hours.is_open(rome(11, 28, 23, 59))
    assert hours.by_weekday[5] == (Interval(time(9), time.max),)
    assert BusinessHours().always_open


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", frozenset()),
        ("   ", frozenset()),
        ("2026-12-25", {date(2026, 12, 25)}),
        ("2026-12-25,2026-12-26", {date(2026, 12, 25), date(2026, 12, 26)}),
        (" 2026-12-25 , 2026-12-26 ", {date(2026, 12, 25), date(2026, 12, 26)}),
        ("2026-12-25 2026-12-26,,2026-12-25", {date(2026, 12, 25), date(2026, 12, 26)}),
    ],
)
def test_parse_holidays(text: str, expected: set[date]) -> None:
    assert parse_holidays(text) == expected


@pytest.mark.parametrize(
    ("text", "bad"),
    [
        ("2026-12-25, christmas", "christmas"),
        ("2026-02-30", "2026-02-30"),
        ("2026-12-25;2026-12-26", "2026-12-25;2026-12-26"),
        ("20261225", "20261225"),
        ("25/12/2026", "25/12/2026"),
    ],
)
def test_parse_holidays_names_the_bad_item(text: str, bad: str) -> None:
    with pytest.raises(ValueError, match=f"'{bad}' is not a date"):
        parse_holidays(text)
