"""Care figures: response times, targets met, resolution, per team and per agent.

Storage counts what a period holds by the rules below (storage/kpi_queries.py, in aggregate
queries: a month is ~100,000 conversations and ~600,000 customer messages); the functions here
turn those counts and durations into figures. Rules:

- A conversation belongs to a window when it was *opened* in `[since, until)`; everything about it
  (answers, resolution) counts with it, even when that happened after `until`.
- A response clock is *measured* against its target when it has a due time and either was answered
  or is overdue: its due time passed before `now` (or before the conversation was resolved, which
  stops the clock). A clock still running within its target is not judged yet: it may still make it.
  The first response has one clock; each customer follow-up that restarted the clock has its own.
- *Never answered* is judged the same way: a conversation without a first response counts once its
  first response is overdue or it was resolved without one; one opened minutes ago, still within
  its target (or with no target and not resolved), is left out of the share's denominator too, so a
  busy last hour does not look better or worse than it is.
- Percentiles use the nearest-rank method: the p90 is a wait some customer actually had, with at
  least 90% of the waits at or below it. Medians are conventional: the mean of the two middle
  values when the count is even.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, tzinfo
from typing import TypeVar

T = TypeVar("T", timedelta, float, int)
M = TypeVar("M", timedelta, float)
_TICK = timedelta(microseconds=1)  # `until` is exclusive: its last instant is one tick before


@dataclass(frozen=True, slots=True)
class Tally:
    """Response clocks measured against their targets (see the module docstring), and met."""

    met: int = 0
    measured: int = 0

    def __add__(self, other: Tally) -> Tally:
        return Tally(self.met + other.met, self.measured + other.measured)


@dataclass(frozen=True)
class Sample:
    """What storage counted for one scope (the team, or one agent's conversations), by the
    rules of the module docstring. Durations are in seconds: a month holds ~70,000 waits."""

    opened: int = 0
    first: Tally = Tally()  # the first responses' clocks
    next: Tally = Tally()  # the follow-ups' clocks
    judged: int = 0  # conversations whose first response is settled, given or not
    never_answered: int = 0  # of those, the ones without a first response
    resolved: int = 0
    answers_when_resolved: int = 0  # answers delivered in the resolved ones
    first_waits: list[float] = field(default_factory=list)  # wall-clock, of the answered ones
    business_waits: list[float] = field(default_factory=list)  # in business time
    resolutions: list[float] = field(default_factory=list)  # opened to resolved

    def __add__(self, other: Sample) -> Sample:
        return Sample(
            self.opened + other.opened,
            self.first + other.first,
            self.next + other.next,
            self.judged + other.judged,
            self.never_answered + other.never_answered,
            self.resolved + other.resolved,
            self.answers_when_resolved + other.answers_when_resolved,
            self.first_waits + other.first_waits,
            self.business_waits + other.business_waits,
            self.resolutions + other.resolutions,
        )


@dataclass(frozen=True)
class Figures:
    opened: int
    answered: int  # got a first response
    first_within_target: float | None  # share (0..1) of measured first responses that met their due
    next_within_target: float | None
    first_response_median: timedelta | None  # wall time
    first_response_p90: timedelta | None
    first_response_business_median: timedelta | None
    first_response_business_p90: timedelta | None
    resolution_median: timedelta | None
    never_answered: float | None  # share of judged conversations with no first response
    exchanges_to_close: float | None  # mean answers per resolved conversation


@dataclass(frozen=True)
class KpiReport:
    since: datetime
    until: datetime
    team: Figures
    per_agent: dict[str, Figures]  # by Slack user id, sorted; unassigned ones count for the team


@dataclass(frozen=True)
class DailyPoint:
    day: date  # a local calendar day
    opened: int
    first_response_median: timedelta | None


def kpi_report(samples: Mapping[str | None, Sample], since: datetime, until: datetime) -> KpiReport:
    """The team's figures and each assignee's, from the samples by assignee (None: nobody)."""
    team = sum(samples.values(), Sample())
    agents = sorted(agent for agent in samples if agent)
    return KpiReport(
        since=since,
        until=until,
        team=figures(team),
        per_agent={agent: figures(samples[agent]) for agent in agents},
    )


def figures(sample: Sample) -> Figures:
    """The figures of one scope (the team, or one agent's conversations)."""
    waits, business = sample.first_waits, sample.business_waits
    return Figures(
        opened=sample.opened,
        answered=len(waits),
        first_within_target=_share(sample.first.met, sample.first.measured),
        next_within_target=_share(sample.next.met, sample.next.measured),
        first_response_median=_duration(median(waits)),
        first_response_p90=_duration(percentile(waits, 0.9)),
        first_response_business_median=_duration(median(business)),
        first_response_business_p90=_duration(percentile(business, 0.9)),
        resolution_median=_duration(median(sample.resolutions)),
        never_answered=_share(sample.never_answered, sample.judged),
        exchanges_to_close=(
            sample.answers_when_resolved / sample.resolved if sample.resolved else None
        ),
    )


def daily_series(
    openings: Iterable[tuple[datetime, float | None]],
    since: datetime,
    until: datetime,
    zone: tzinfo,
) -> list[DailyPoint]:
    """One point per local day touching `[since, until)`, days without conversations included,
    from each conversation's opening time and wall-clock first wait in seconds (None: none yet).

    A conversation counts on the local day it was opened; the median is of the wall-clock first
    response of that day's answered conversations.
    """
    if until <= since:
        return []
    first_day = since.astimezone(zone).date()
    last_day = (until - _TICK).astimezone(zone).date()
    days = [first_day + timedelta(days=n) for n in range((last_day - first_day).days + 1)]
    opened: dict[date, int] = dict.fromkeys(days, 0)
    waits: dict[date, list[float]] = {day: [] for day in days}
    for opened_at, wait in openings:
        if not since <= opened_at < until:
            continue
        day = opened_at.astimezone(zone).date()
        opened[day] += 1
        if wait is not None:
            waits[day].append(wait)
    return [DailyPoint(day, opened[day], _duration(median(waits[day]))) for day in days]


def percentile(values: Sequence[T], q: float) -> T | None:
    """The nearest-rank `q` percentile (0 < q <= 1) of `values`, or None when there are none.

    Nearest rank (no interpolation): the smallest value with at least `q` of all values at or below
    it. It is always a value that occurred, which reads well for waits.
    """
    if not 0 < q <= 1:
        raise ValueError(f"q must be in (0, 1], not {q}")
    if not values:
        return None
    ordered = sorted(values)
    # round() first: 0.9 * 10 is 9.000000000000002 in floating point, which must stay rank 9.
    rank = math.ceil(round(q * len(ordered), 9))
    return ordered[max(rank, 1) - 1]


def median(values: Sequence[M]) -> M | None:
    """The median (mean of the two middle ones for an even count), or None if empty."""
    if not values:
        return None
    ordered = sorted(values)
    middle = len(ordered) // 2
    if len(ordered) % 2:
        return ordered[middle]
    return (ordered[middle - 1] + ordered[middle]) / 2


def _share(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def _duration(seconds: float | None) -> timedelta | None:
    """Seconds as a duration, to the millisecond: SQLite's arithmetic on times is exact to
    about 50 microseconds, and a wait of 10 min should read as 10 min, not 9:59.99995."""
    return None if seconds is None else timedelta(seconds=round(seconds, 3))
