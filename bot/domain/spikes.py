"""Spike alerts: many more negative posts than usual for this moment of the week (issue 16).

Every few minutes the caller counts the brand's negative posts (mentions, listening hits,
comments, every network) in `recent_window` and in each of `baseline_windows`, turns the
baseline counts into `usual`, and asks `assess` what to do, passing the state it stored last
time. `assess` answers ALERT once per incident, ONGOING while it lasts, SUBSIDED once when it is
over, NOTHING otherwise; `bot.domain.spike_alert` says what the alert shows. Pure: times are
passed in, nothing here reads a clock, a database or the network.

"The usual" for a check at `now`, with the default settings: take the hour centred on the
middle of the recent 15-minute window, on the same weekday and at the same local wall-clock
time, one, two, three and four weeks earlier; count the negative posts in each of those four
hours, take the median and scale it to 15 minutes. Why:

- Same weekday and local time: care traffic follows the team's week and office hours, so
  Tuesday 14:00 is compared with earlier Tuesdays at 14:00, in the team's timezone. Weeks are
  stepped on the local calendar, so across a DST change "Tuesday 14:00" stays 14:00 local (a
  fixed 168-hour step would compare it with 13:00 or 15:00). Each span keeps its real length.
- An hour rather than the same 15 minutes: four times the posts, so the small counts of a small
  team give a steadier median (bench/spikes.py: a quarter to two thirds of the false alarms);
  centred, so it follows the day's ramps without lagging. Where traffic jumps at a fixed time,
  the centred hour still holds at least 37.5 minutes of the busy side: at most 1.6x below the
  new level, well within the ratio of 3.
- The median, over whole weeks: last month's own incident is one high count in four and does
  not raise the bar; a quiet holiday week is one low count and does not lower it.

The alert line is max(ratio x usual, floor), as issue 16 asks, raised where that is within
chance (`chance_line`). The incident is over once the count has come back at least half way
from the alert line to the usual, at every check for 10 minutes: a count that hovers around
the line stays one incident (no flapping), and the second message comes 20 to 25 minutes after
an outage's last posts (bench/spikes.py).
"""

from __future__ import annotations

import math
import statistics
from bisect import bisect_left
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta, tzinfo
from enum import StrEnum
from functools import lru_cache
from typing import NamedTuple


@dataclass(frozen=True)
class SpikeThresholds:
    """The team's settings. An incident starts when the recent window holds `alert_line`
    negative posts or more, and is over when the count has stayed below `calm_line` at every
    check for `calm_for`: time, not a number of checks, so that it does not depend on how often
    the caller checks."""

    ratio: float = 3.0
    floor: int = 10  # so night-time's 2 posts against a usual 0 is no incident
    window: timedelta = timedelta(minutes=15)
    weeks: int = 4
    baseline_span: timedelta = timedelta(hours=1)  # each week's span, centred (see above)
    subside_fraction: float = 0.5
    calm_for: timedelta = timedelta(minutes=10)
    max_chance: float | None = 1e-5  # see `chance_line`; None: the ratio and floor alone

    def __post_init__(self) -> None:
        if self.ratio <= 1 or self.floor < 1 or self.weeks < 1:
            raise ValueError("spike thresholds need ratio > 1, floor >= 1 and weeks >= 1")
        if self.window <= timedelta(0) or self.baseline_span <= timedelta(0):
            raise ValueError("spike windows must be longer than zero")
        if not 0 < self.subside_fraction < 1 or self.calm_for < timedelta(0):
            raise ValueError("spike subside_fraction must be in (0, 1), calm_for not negative")
        if self.max_chance is not None and not 1e-9 <= self.max_chance < 1:
            raise ValueError("spike max_chance must be in [1e-9, 1), or None")  # float precision


DEFAULT_THRESHOLDS = SpikeThresholds()


class Span(NamedTuple):
    """A half-open span of time, aware UTC: count posts with start <= at < end."""

    start: datetime
    end: datetime


def recent_window(now: datetime, thresholds: SpikeThresholds = DEFAULT_THRESHOLDS) -> Span:
    _require_aware(now)
    now = now.astimezone(UTC)
    return Span(now - thresholds.window, now)


def baseline_windows(
    now: datetime,
    zone: tzinfo,
    thresholds: SpikeThresholds = DEFAULT_THRESHOLDS,
    *,
    data_since: datetime | None = None,
) -> list[Span]:
    """The spans to count for `usual`, most recent week first. Spans starting before
    `data_since` (when the team started collecting posts) are left out: a week with no data
    would count as a quiet week and lower the bar."""
    _require_aware(now)
    # Aware arithmetic keeps the wall-clock time and ZoneInfo finds that date's offset: so a
    # local time is stepped back in calendar weeks. A time that falls in a spring-forward gap
    # is read with the offset before the change, as ZoneInfo does (fold=0).
    middle = (now - thresholds.window / 2).astimezone(zone)
    half = thresholds.baseline_span / 2
    spans = []
    for weeks_back in range(1, thresholds.weeks + 1):
        then = (middle - timedelta(weeks=weeks_back)).astimezone(UTC)
        if data_since is None or then - half >= data_since:
            spans.append(Span(then - half, then + half))
    return spans


def usual(counts: Sequence[int], thresholds: SpikeThresholds = DEFAULT_THRESHOLDS) -> float:
    """The median of the baseline counts, scaled from a baseline span to the recent window.
    No baseline (a new team) gives 0: the floor alone decides."""
    if not counts:
        return 0.0
    return statistics.median(counts) * (thresholds.window / thresholds.baseline_span)


def count_in(sorted_times: Sequence[datetime], span: Span) -> int:
    """How many of these times (sorted, aware) fall in the span: two bisections, no scan."""
    return bisect_left(sorted_times, span.end) - bisect_left(sorted_times, span.start)


def alert_line(usual_count: float, thresholds: SpikeThresholds = DEFAULT_THRESHOLDS) -> float:
    """The count that starts an incident: the ratio times the usual, at least the floor, and
    at least what ordinary traffic reaches only with `max_chance`."""
    line = max(thresholds.ratio * usual_count, float(thresholds.floor))
    if thresholds.max_chance is None:
        return line
    return max(line, float(chance_line(usual_count, thresholds.max_chance)))


def calm_line(usual_count: float, thresholds: SpikeThresholds = DEFAULT_THRESHOLDS) -> float:
    """Below this the incident is calming down: the excess over the usual has shrunk to
    `subside_fraction` of the alert line's (half, by default)."""
    line = alert_line(usual_count, thresholds)
    return usual_count + thresholds.subside_fraction * (line - usual_count)


@lru_cache(maxsize=4096)
def chance_line(usual_count: float, max_chance: float) -> int:
    """The smallest count that ordinary traffic reaches with probability `max_chance` or less,
    reading ordinary traffic as Poisson with mean `usual_count`. Why: with a usual of 3 to 6,
    three times the usual is within chance too often (Poisson(4) reaches 12 once in 1,100
    windows, and a week has 672 quarter hours): the ratio and floor alone raised 0.6 to 0.8
    false alarms a week on generated traffic of that size (bench/spikes.py). This only ever
    raises the line, most for a usual of 3 to 6 (4 needs 16, not 12), never above 3x the usual
    from about 9 on."""
    if usual_count <= 0:
        return 1
    below = 0.0  # P(count < k), summed from the terms in log space: exp(-800) is 0.0
    k = 0
    while 1.0 - below > max_chance:
        below += math.exp(k * math.log(usual_count) - usual_count - math.lgamma(k + 1))
        k += 1
    return k


@dataclass(frozen=True)
class Incident:
    """An incident under way: what the caller stores between checks (None when there is none).
    `usual` and `started_at` are the alert's; `peak` is the highest recent count seen, at
    `peak_at`; `calm_since` the first of the consecutive calm checks, None while busy."""

    started_at: datetime
    usual: float
    peak: int
    peak_at: datetime
    calm_since: datetime | None = None


class Decision(StrEnum):
    NOTHING = "nothing"
    ALERT = "alert"  # a new incident: post the alert
    ONGOING = "ongoing"  # still under way: post nothing
    SUBSIDED = "subsided"  # over: post the second message, once


@dataclass(frozen=True)
class Assessment:
    decision: Decision
    state: Incident | None  # store it and pass it to the next `assess`
    incident: Incident | None  # the incident decided about; on SUBSIDED the one that ended


def assess(
    now: datetime,
    recent_count: int,
    usual_count: float,
    state: Incident | None,
    thresholds: SpikeThresholds = DEFAULT_THRESHOLDS,
) -> Assessment:
    """One check. The lines follow the current `usual_count`, so an incident that started
    before the morning rush is judged against the rush's usual once it comes."""
    _require_aware(now)
    line = alert_line(usual_count, thresholds)
    if state is None:
        if recent_count < line:
            return Assessment(Decision.NOTHING, None, None)
        started = Incident(now, usual_count, recent_count, now)
        return Assessment(Decision.ALERT, started, started)
    if recent_count > state.peak:
        state = replace(state, peak=recent_count, peak_at=now)
    if recent_count >= calm_line(usual_count, thresholds):
        state = replace(state, calm_since=None)
        return Assessment(Decision.ONGOING, state, state)
    calm_since = state.calm_since or now
    state = replace(state, calm_since=calm_since)
    if now - calm_since >= thresholds.calm_for:
        return Assessment(Decision.SUBSIDED, None, state)
    return Assessment(Decision.ONGOING, state, state)


def _require_aware(moment: datetime) -> None:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError("spike detection needs aware datetimes")
