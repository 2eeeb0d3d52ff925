"""KPI figures on a hand-built week, with every expected number worked out below."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.domain.kpis import (
    ConversationFacts,
    Exchange,
    Figures,
    Tally,
    compute_kpis,
    daily_series,
    median,
    percentile,
)

SINCE = datetime(2026, 11, 16, tzinfo=UTC)  # a Monday
UNTIL = SINCE + timedelta(days=7)
NOW = UNTIL + timedelta(minutes=15)
TARGET = timedelta(minutes=30)


def minutes(n: float) -> timedelta:
    return timedelta(minutes=n)


def ask(
    at: datetime,
    wait: float | None = None,
    *,
    business: float | None = None,
    target: timedelta | None = TARGET,
) -> Exchange:
    """A clock started `at`, answered after `wait` minutes (None: not yet), due after `target`."""
    return Exchange(
        asked_at=at,
        answered_at=None if wait is None else at + minutes(wait),
        due_at=None if target is None else at + target,
        business_wait=None if business is None else minutes(business),
    )


def conversation(
    cid: int,
    first: Exchange,
    assignee: str | None,
    *,
    resolved_after: timedelta | None = None,
    agent_messages: int = 1,
    follow_ups: tuple[Exchange, ...] = (),
) -> ConversationFacts:
    resolved_at = None if resolved_after is None else first.asked_at + resolved_after
    return ConversationFacts(
        conversation_id=cid,
        opened_at=first.asked_at,
        assignee=assignee,
        first=first,
        next=Tally.of(follow_ups, resolved_at, NOW),
        resolved_at=resolved_at,
        agent_messages=agent_messages,
    )


def day(n: int, hour: int = 9, minute: int = 0) -> datetime:
    """Day n of the window (0 = Monday 16th), at hour:minute UTC."""
    return SINCE + timedelta(days=n, hours=hour, minutes=minute)


# fmt: off
WEEK = [
    # 1: opened on the window's first instant; met (10 <= 30); follow-up met (20 <= 30).
    conversation(1, ask(SINCE, 10, business=10), "UA", resolved_after=timedelta(hours=2),
                 agent_messages=2, follow_ups=(ask(SINCE + timedelta(hours=1), 20),)),
    # 2: missed (40 > 30); follow-up missed (50 > 30).
    conversation(2, ask(day(1), 40, business=40), "UA", resolved_after=timedelta(hours=4),
                 agent_messages=3, follow_ups=(ask(day(1, 12), 50),)),
    # 3: no target, so not measured; its follow-up is unanswered and overdue: a miss.
    conversation(3, ask(day(3), 5, business=5, target=None), "UB",
                 follow_ups=(ask(day(3, 12)),)),
    # 4: missed (70 > 30), at night: 15 business minutes.
    conversation(4, ask(day(3, 22), 70, business=15), "UB", resolved_after=timedelta(hours=6)),
    # 5: unassigned, unanswered, overdue since Friday: a miss and never answered.
    conversation(5, ask(day(4)), None),
    # 6: closed unanswered within its target (spam): never answered, not a target miss.
    conversation(6, ask(day(5, 10)), "UB", resolved_after=minutes(10), agent_messages=0),
    # 7: opened in the window, answered after it (00:10 on the 23rd): still counts; met.
    conversation(7, ask(day(6, 23, 50), 20, business=20), "UA"),
    # 10: opened 20 minutes before NOW, due at 00:25: not judged yet.
    conversation(10, ask(day(6, 23, 55)), None),
    # Outside the window: one tick before `since`, and exactly at `until` (exclusive).
    conversation(98, ask(SINCE - timedelta(microseconds=1)), "UA"),
    conversation(99, ask(UNTIL), "UA"),
]
# fmt: on


def test_team_figures() -> None:
    report = compute_kpis(WEEK, SINCE, UNTIL, NOW)
    assert (report.since, report.until) == (SINCE, UNTIL)
    assert report.team == Figures(
        opened=8,  # 1..7 and 10
        answered=5,  # 1, 2, 3, 4, 7
        first_within_target=2 / 5,  # measured 1, 2, 4, 5, 7; met 1 and 7
        next_within_target=1 / 3,  # 1 met; 2 late; 3 unanswered and overdue
        first_response_median=minutes(20),  # of 5, 10, 20, 40, 70
        first_response_p90=minutes(70),  # rank ceil(0.9 * 5) = 5
        first_response_business_median=minutes(15),  # of 5, 10, 15, 20, 40
        first_response_business_p90=minutes(40),
        resolution_median=timedelta(hours=3),  # of 10 min, 2 h, 4 h, 6 h: (2 h + 4 h) / 2
        never_answered=2 / 7,  # judged: 1, 2, 3, 4, 7 answered; 5 overdue; 6 resolved
        exchanges_to_close=(2 + 3 + 1 + 0) / 4,  # resolved: 1, 2, 4, 6
    )


def test_per_agent_figures_leave_unassigned_conversations_to_the_team() -> None:
    report = compute_kpis(WEEK, SINCE, UNTIL, NOW)
    assert list(report.per_agent) == ["UA", "UB"]
    assert report.per_agent["UA"] == Figures(
        opened=3,  # 1, 2, 7
        answered=3,
        first_within_target=2 / 3,
        next_within_target=1 / 2,
        first_response_median=minutes(20),  # of 10, 20, 40
        first_response_p90=minutes(40),  # rank ceil(2.7) = 3
        first_response_business_median=minutes(20),
        first_response_business_p90=minutes(40),
        resolution_median=timedelta(hours=3),  # of 2 h, 4 h
        never_answered=0.0,
        exchanges_to_close=(2 + 3) / 2,
    )
    assert report.per_agent["UB"] == Figures(
        opened=3,  # 3, 4, 6
        answered=2,
        first_within_target=0.0,  # only 4 is measured, and missed
        next_within_target=0.0,
        first_response_median=minutes(37.5),  # of 5, 70
        first_response_p90=minutes(70),  # rank ceil(1.8) = 2
        first_response_business_median=minutes(10),  # of 5, 15
        first_response_business_p90=minutes(15),
        resolution_median=(minutes(10) + timedelta(hours=6)) / 2,
        never_answered=1 / 3,  # 6
        exchanges_to_close=(1 + 0) / 2,
    )


def test_a_fresh_conversation_becomes_a_miss_once_overdue() -> None:
    fresh = [conversation(1, ask(NOW - minutes(5)), "UA")]
    waiting = compute_kpis(fresh, SINCE, NOW, NOW).team
    assert (waiting.opened, waiting.first_within_target, waiting.never_answered) == (1, None, None)
    later = compute_kpis(fresh, SINCE, NOW, NOW + TARGET).team
    assert (later.first_within_target, later.never_answered) == (0.0, 1.0)


def test_no_conversations_means_nothing_to_measure() -> None:
    empty = compute_kpis([], SINCE, UNTIL, NOW)
    assert empty.per_agent == {}
    assert empty.team == Figures(0, 0, None, None, None, None, None, None, None, None, None)


def test_daily_series_has_a_point_for_every_day_zeros_included() -> None:
    points = daily_series(WEEK, SINCE, UNTIL, UTC)
    assert [p.day.isoformat() for p in points] == [f"2026-11-{d}" for d in range(16, 23)]
    assert [p.opened for p in points] == [1, 1, 0, 2, 1, 1, 2]
    assert [p.first_response_median for p in points] == [
        minutes(10),
        minutes(40),
        None,  # Wednesday: nothing opened
        minutes(37.5),  # Thursday: 5 and 70
        None,  # Friday: unanswered
        None,  # Saturday: closed unanswered
        minutes(20),  # Sunday: 7 answered, 10 not yet
    ]


def test_daily_series_counts_local_days() -> None:
    # Paris is UTC+1 in November: the window runs from Monday 01:00 to the next Monday 01:00,
    # so it touches 8 local days, and the two Sunday-night conversations fall on that Monday.
    points = daily_series(WEEK, SINCE, UNTIL, ZoneInfo("Europe/Paris"))
    assert [p.day.day for p in points] == list(range(16, 24))
    assert [p.opened for p in points] == [1, 1, 0, 2, 1, 1, 0, 2]
    assert daily_series(WEEK, UNTIL, SINCE, UTC) == []


@pytest.mark.parametrize(
    ("values", "q", "expected"),
    [
        (list(range(1, 11)), 0.9, 9),  # ceil(9.000000000000002) must not become 10
        (list(range(1, 11)), 0.5, 5),
        (list(range(1, 11)), 1.0, 10),
        (list(range(1, 11)), 0.01, 1),
        ([3], 0.9, 3),
        ([70, 5, 40, 10, 20], 0.9, 70),
        ([], 0.9, None),
    ],
)
def test_percentile_is_nearest_rank(values: list[int], q: float, expected: int | None) -> None:
    assert percentile(values, q) == expected


def test_percentile_refuses_q_outside_0_to_1() -> None:
    for q in (0, -0.1, 1.5, 90):
        with pytest.raises(ValueError):
            percentile([1, 2], q)


def test_median_of_durations() -> None:
    assert median([]) is None
    assert median([minutes(3), minutes(1), minutes(2)]) == minutes(2)
    assert median([minutes(4), minutes(1)]) == minutes(2.5)
