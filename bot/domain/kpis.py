"""Weekly care figures: response times, targets met, resolution, per team and per agent.

Pure functions over plain facts about conversations (built elsewhere from storage). Rules:

- A conversation belongs to a window when it was *opened* in `[since, until)`; everything about it
  (answers, resolution) counts with it, even when that happened after `until`.
- A response clock is *measured* against its target when it has a due time and either was answered
  or is overdue: its due time passed before `now` (or before the conversation was resolved, which
  stops the clock). A clock still running within its target is not judged yet: it may still make it.
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
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta, tzinfo
from typing import TypeVar

T = TypeVar("T", timedelta, float, int)
_TICK = timedelta(microseconds=1)  # `until` is exclusive: its last instant is one tick before


# Slotted: a month of a busy team is ~100,000 conversations and ~600,000 exchanges in memory at
# once, and a __dict__ each took the bot's peak from ~200 to ~275 MB.
@dataclass(frozen=True, slots=True)
class Exchange:
    """A customer message that started a response clock, and its answer."""

    asked_at: datetime
    answered_at: datetime | None
    due_at: datetime | None
    business_wait: timedelta | None  # business-time wait until answered; None if unanswered

    @property
    def wait(self) -> timedelta | None:
        """Wall-clock wait until the answer, or None while unanswered."""
        return None if self.answered_at is None else self.answered_at - self.asked_at


@dataclass(frozen=True, slots=True)
class Tally:
    """Response clocks measured against their targets (see the module docstring), and met."""

    met: int = 0
    measured: int = 0

    @classmethod
    def of(
        cls, exchanges: Iterable[Exchange], resolved_at: datetime | None, now: datetime
    ) -> Tally:
        met = measured = 0
        for exchange in exchanges:
            judged = _judged(exchange, resolved_at, now)
            measured += judged is not None
            met += judged is True
        return cls(met, measured)


@dataclass(frozen=True, slots=True)
class ConversationFacts:
    conversation_id: int
    opened_at: datetime
    assignee: str | None  # Slack user id of the owner
    first: Exchange  # the opening message and the first response
    # The customer's follow-ups that restarted the clock, counted: a busy month has ~600,000 of
    # them, which storage tallies in one aggregate query (bot/services/stats.py) by the same rule.
    next: Tally
    resolved_at: datetime | None
    agent_messages: int  # answers delivered to the customer


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
    exchanges_to_close: float | None  # mean agent_messages per resolved conversation


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


def compute_kpis(
    facts: Iterable[ConversationFacts], since: datetime, until: datetime, now: datetime
) -> KpiReport:
    """Figures for conversations opened in `[since, until)`, for the team and each assignee."""
    selected = [f for f in facts if since <= f.opened_at < until]
    by_agent: dict[str, list[ConversationFacts]] = {}
    for conversation in selected:
        if conversation.assignee:
            by_agent.setdefault(conversation.assignee, []).append(conversation)
    return KpiReport(
        since=since,
        until=until,
        team=figures(selected, now),
        per_agent={agent: figures(by_agent[agent], now) for agent in sorted(by_agent)},
    )


def figures(conversations: Sequence[ConversationFacts], now: datetime) -> Figures:
    """The figures of one scope (the team, or one agent's conversations)."""
    first_waits = [c.first.wait for c in conversations if c.first.wait is not None]
    business_waits = [
        c.first.business_wait
        for c in conversations
        if c.first.answered_at is not None and c.first.business_wait is not None
    ]
    resolved = [c for c in conversations if c.resolved_at is not None]
    judged = [c for c in conversations if _first_response_judged(c, now)]
    return Figures(
        opened=len(conversations),
        answered=len(first_waits),
        first_within_target=_within_target(
            Tally.of((c.first,), c.resolved_at, now) for c in conversations
        ),
        next_within_target=_within_target(c.next for c in conversations),
        first_response_median=median(first_waits),
        first_response_p90=percentile(first_waits, 0.9),
        first_response_business_median=median(business_waits),
        first_response_business_p90=percentile(business_waits, 0.9),
        resolution_median=median(
            [c.resolved_at - c.opened_at for c in resolved if c.resolved_at is not None]
        ),
        never_answered=_share(sum(c.first.answered_at is None for c in judged), len(judged)),
        exchanges_to_close=(
            sum(c.agent_messages for c in resolved) / len(resolved) if resolved else None
        ),
    )


def daily_series(
    facts: Iterable[ConversationFacts], since: datetime, until: datetime, zone: tzinfo
) -> list[DailyPoint]:
    """One point per local day touching `[since, until)`, days without conversations included.

    A conversation counts on the local day it was opened; the median is of the wall-clock first
    response of that day's answered conversations.
    """
    if until <= since:
        return []
    first_day = since.astimezone(zone).date()
    last_day = (until - _TICK).astimezone(zone).date()
    days = [first_day + timedelta(days=n) for n in range((last_day - first_day).days + 1)]
    opened: dict[date, int] = dict.fromkeys(days, 0)
    waits: dict[date, list[timedelta]] = {day: [] for day in days}
    for conversation in facts:
        if not since <= conversation.opened_at < until:
            continue
        day = conversation.opened_at.astimezone(zone).date()
        opened[day] += 1
        if conversation.first.wait is not None:
            waits[day].append(conversation.first.wait)
    return [DailyPoint(day, opened[day], median(waits[day])) for day in days]


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


def median(values: Sequence[timedelta]) -> timedelta | None:
    """The median duration (mean of the two middle ones for an even count), or None if empty."""
    if not values:
        return None
    ordered = sorted(values)
    middle = len(ordered) // 2
    if len(ordered) % 2:
        return ordered[middle]
    return (ordered[middle - 1] + ordered[middle]) / 2


def _within_target(tallies: Iterable[Tally]) -> float | None:
    """Share of measured response clocks answered by their due time (see the module docstring)."""
    met = measured = 0
    for tally in tallies:
        met, measured = met + tally.met, measured + tally.measured
    return _share(met, measured)


def _judged(exchange: Exchange, resolved_at: datetime | None, now: datetime) -> bool | None:
    """Whether the exchange met its target; None while it cannot be judged (no target, or
    still running within it)."""
    if exchange.due_at is None:
        return None  # no target to meet or miss
    if exchange.answered_at is not None:
        return exchange.answered_at <= exchange.due_at
    if exchange.due_at <= _clock_stop(resolved_at, now):
        return False  # overdue and unanswered: a miss, whatever happens next
    return None


def _first_response_judged(conversation: ConversationFacts, now: datetime) -> bool:
    """Whether it is settled that this conversation got, or did not get, a first response."""
    first = conversation.first
    if first.answered_at is not None or conversation.resolved_at is not None:
        return True
    return first.due_at is not None and first.due_at <= now


def _clock_stop(resolved_at: datetime | None, now: datetime) -> datetime:
    """Where an unanswered clock stopped: at resolution, or still running now."""
    return now if resolved_at is None else min(resolved_at, now)


def _share(part: int, whole: int) -> float | None:
    return part / whole if whole else None
