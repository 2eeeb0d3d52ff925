"""SLA policy: targets per priority, due times on either clock, and the alerts on the way."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.domain.hours import BusinessCalendar, parse_business_hours, parse_holidays
from bot.domain.sla import (
    FIRST_RESPONSE,
    NEXT_RESPONSE,
    OVERRIDE_KEYS,
    AlertKind,
    Deadline,
    PlannedAlert,
    Priority,
    SlaClock,
    SlaPolicy,
    Targets,
    due_alert,
    next_alert,
    planned_alerts,
    policy_targets,
)

ROME = ZoneInfo("Europe/Rome")
MIN = timedelta(minutes=1)
HOUR = timedelta(hours=1)
OFFICE = BusinessCalendar(parse_business_hours("mon-fri 09:00-18:00"), ROME, parse_holidays(""))
W, B, E = AlertKind.WARNING, AlertKind.BREACH, AlertKind.ESCALATION


def rome(month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=ROME)


def policy(
    clock: SlaClock = SlaClock.BUSINESS,
    warn_before: timedelta = 10 * MIN,
    escalate_after: timedelta | None = 30 * MIN,
) -> SlaPolicy:
    return SlaPolicy(policy_targets(HOUR, 2 * HOUR), warn_before, clock, OFFICE, escalate_after)


def test_default_targets_scale_from_normal() -> None:
    assert policy_targets(HOUR, 2 * HOUR) == {
        Priority.URGENT: Targets(15 * MIN, 30 * MIN),
        Priority.HIGH: Targets(30 * MIN, HOUR),
        Priority.NORMAL: Targets(HOUR, 2 * HOUR),
        Priority.LOW: Targets(4 * HOUR, 8 * HOUR),
    }


@pytest.mark.parametrize(
    ("normal", "urgent", "high", "low"),
    [
        (timedelta(seconds=7), timedelta(seconds=2), timedelta(seconds=4), timedelta(seconds=28)),
        (timedelta(seconds=1), timedelta(seconds=1), timedelta(seconds=1), timedelta(seconds=4)),
        (timedelta(seconds=90), timedelta(seconds=22), timedelta(seconds=45), timedelta(minutes=6)),
        (
            timedelta(milliseconds=1500),
            timedelta(seconds=1),
            timedelta(seconds=1),
            timedelta(seconds=6),
        ),
    ],
)
def test_default_targets_round_to_whole_seconds_never_below_one(
    normal: timedelta, urgent: timedelta, high: timedelta, low: timedelta
) -> None:
    targets = policy_targets(normal, normal)
    assert [targets[p].first_response for p in Priority] == [urgent, high, normal, low]


def test_overrides_replace_single_values() -> None:
    targets = policy_targets(
        HOUR,
        2 * HOUR,
        {"first_response_urgent": 5 * MIN, "next_response_low": timedelta(days=1)},
    )
    assert targets[Priority.URGENT] == Targets(5 * MIN, 30 * MIN)
    assert targets[Priority.LOW] == Targets(4 * HOUR, timedelta(days=1))
    assert targets[Priority.HIGH] == Targets(30 * MIN, HOUR)
    # Overriding normal changes only normal: the other tiers still scale from the base.
    targets = policy_targets(HOUR, 2 * HOUR, {"first_response_normal": 3 * HOUR})
    assert targets[Priority.NORMAL].first_response == 3 * HOUR
    assert targets[Priority.URGENT].first_response == 15 * MIN


def test_override_keys_name_every_target_of_every_priority() -> None:
    assert "first_response_urgent" in OVERRIDE_KEYS
    assert len(OVERRIDE_KEYS) == 2 * len(Priority)
    assert policy_targets(HOUR, HOUR, dict.fromkeys(OVERRIDE_KEYS, MIN)) == {
        p: Targets(MIN, MIN) for p in Priority
    }


@pytest.mark.parametrize(
    ("first", "overrides", "message"),
    [
        (HOUR, {"first_response_critical": MIN}, "first_response_critical"),
        (HOUR, {"first_reply_urgent": MIN}, "first_reply_urgent"),
        (timedelta(0), {}, "first_response must be positive"),
        (HOUR, {"next_response_high": -MIN}, "next_response_high must be positive"),
    ],
)
def test_bad_targets_are_refused(
    first: timedelta, overrides: dict[str, timedelta], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        policy_targets(first, HOUR, overrides)


def test_a_policy_needs_every_priority_and_sane_durations() -> None:
    targets = policy_targets(HOUR, HOUR)
    del targets[Priority.LOW]
    with pytest.raises(ValueError, match="low"):
        SlaPolicy(targets, MIN, SlaClock.BUSINESS, OFFICE)
    with pytest.raises(ValueError, match="warn_before"):
        SlaPolicy(policy_targets(HOUR, HOUR), -MIN, SlaClock.BUSINESS, OFFICE)
    with pytest.raises(ValueError, match="escalate_after"):
        SlaPolicy(policy_targets(HOUR, HOUR), MIN, SlaClock.BUSINESS, OFFICE, timedelta(0))


@pytest.mark.parametrize(
    ("clock", "start", "priority", "first_due", "next_due"),
    [
        # Friday 17:55: business time resumes on Monday; the always clock runs through.
        (SlaClock.BUSINESS, rome(11, 27, 17, 55), Priority.NORMAL, rome(11, 30, 9, 55),
         rome(11, 30, 10, 55)),
        (SlaClock.BUSINESS, rome(11, 27, 17, 55), Priority.URGENT, rome(11, 30, 9, 10),
         rome(11, 30, 9, 25)),
        (SlaClock.BUSINESS, rome(11, 24, 10), Priority.LOW, rome(11, 24, 14), rome(11, 24, 18)),
        (SlaClock.ALWAYS, rome(11, 27, 17, 55), Priority.NORMAL, rome(11, 27, 18, 55),
         rome(11, 27, 19, 55)),
        (SlaClock.ALWAYS, rome(11, 28, 10), Priority.URGENT, rome(11, 28, 10, 15),
         rome(11, 28, 10, 30)),
        # The always clock counts real time across the spring change: 01:30 + 1 h is 03:30.
        (SlaClock.ALWAYS, rome(3, 29, 1, 30), Priority.NORMAL, rome(3, 29, 3, 30),
         rome(3, 29, 4, 30)),
    ],
)  # fmt: skip
def test_due_times(
    clock: SlaClock, start: datetime, priority: Priority, first_due: datetime, next_due: datetime
) -> None:
    sla = policy(clock)
    assert sla.first_response_due(start, priority) == first_due
    assert sla.next_response_due(start, priority) == next_due
    assert sla.first_response_due(start, priority).tzinfo is UTC
    assert sla.deadline(FIRST_RESPONSE, start, priority) == Deadline(
        FIRST_RESPONSE, first_due, start
    )
    assert sla.deadline(NEXT_RESPONSE, start, priority).due == next_due


@pytest.mark.parametrize(
    ("clock", "start", "end", "elapsed"),
    [
        (SlaClock.BUSINESS, rome(11, 27, 17), rome(11, 30, 10), 2 * HOUR),
        (SlaClock.ALWAYS, rome(11, 27, 17), rome(11, 30, 10), 65 * HOUR),
        (SlaClock.BUSINESS, rome(11, 28, 10), rome(11, 29, 10), timedelta(0)),  # weekend
        (SlaClock.ALWAYS, rome(11, 28, 10), rome(11, 29, 10), 24 * HOUR),
        (SlaClock.ALWAYS, rome(11, 28, 10), rome(11, 27, 10), timedelta(0)),  # backwards
        (SlaClock.ALWAYS, rome(10, 25), rome(10, 26), 25 * HOUR),  # autumn change
    ],
)
def test_elapsed_per_clock(
    clock: SlaClock, start: datetime, end: datetime, elapsed: timedelta
) -> None:
    assert policy(clock).elapsed(start, end) == elapsed


def test_warning_at_is_real_time_before_due_and_never_before_the_start() -> None:
    sla = policy(warn_before=2 * HOUR)
    due = rome(11, 30, 9, 55)  # from Friday 17:55: the warning falls in the closed night
    assert sla.warning_at(due) == rome(11, 30, 7, 55)
    assert sla.warning_at(due, started=rome(11, 27, 17, 55)) == rome(11, 30, 7, 55)
    # A warning window longer than the target: warn as soon as the clock starts.
    assert sla.warning_at(rome(11, 24, 10, 15), started=rome(11, 24, 10)) == rome(11, 24, 10)


DUE = rome(11, 24, 12)


@pytest.mark.parametrize(
    ("warn_before", "escalate_after", "started", "expected"),
    [
        (10 * MIN, 30 * MIN, None,
         [(W, rome(11, 24, 11, 50)), (B, DUE), (E, rome(11, 24, 12, 30))]),
        (10 * MIN, None, None, [(W, rome(11, 24, 11, 50)), (B, DUE)]),
        (timedelta(0), 30 * MIN, None, [(B, DUE), (E, rome(11, 24, 12, 30))]),
        (timedelta(0), None, None, [(B, DUE)]),
        (2 * HOUR, None, rome(11, 24, 11), [(W, rome(11, 24, 11)), (B, DUE)]),  # warn at start
        (2 * HOUR, None, None, [(W, rome(11, 24, 10)), (B, DUE)]),
    ],
)  # fmt: skip
def test_planned_alerts(
    warn_before: timedelta,
    escalate_after: timedelta | None,
    started: datetime | None,
    expected: list[tuple[AlertKind, datetime]],
) -> None:
    deadline = Deadline(FIRST_RESPONSE, DUE, started)
    alerts = planned_alerts(
        deadline, policy(warn_before=warn_before, escalate_after=escalate_after)
    )
    assert [(a.kind, a.at) for a in alerts] == expected
    assert all(a.deadline == deadline and a.at.tzinfo is UTC for a in alerts)


DEADLINE = Deadline(NEXT_RESPONSE, DUE)


@pytest.mark.parametrize(
    ("fired", "expected"),
    [
        (set(), PlannedAlert(W, rome(11, 24, 11, 50), DEADLINE)),
        ({W}, PlannedAlert(B, DUE, DEADLINE)),
        ({W, B}, PlannedAlert(E, rome(11, 24, 12, 30), DEADLINE)),
        ({B}, PlannedAlert(E, rome(11, 24, 12, 30), DEADLINE)),  # the breach supersedes the warning
        ({E}, None),
        ({W, B, E}, None),
    ],
)
def test_next_alert_skips_fired_and_superseded(
    fired: set[AlertKind], expected: PlannedAlert | None
) -> None:
    assert next_alert(DEADLINE, fired, policy()) == expected


def test_next_alert_without_a_deadline_or_escalation() -> None:
    assert next_alert(None, set(), policy()) is None
    assert next_alert(DEADLINE, {W, B}, policy(escalate_after=None)) is None
    no_warning = policy(warn_before=timedelta(0))
    assert next_alert(DEADLINE, set(), no_warning) == PlannedAlert(B, DUE, DEADLINE)


@pytest.mark.parametrize(
    ("now", "fired", "expected"),
    [
        (rome(11, 24, 11), set(), None),
        (rome(11, 24, 11, 50), set(), W),
        (rome(11, 24, 11, 55), {W}, None),
        (rome(11, 24, 12, 5), set(), B),  # the warning was missed: only the breach goes out
        (rome(11, 24, 12, 5), {W}, B),
        (rome(11, 25), set(), E),
        (rome(11, 25), {B}, E),
        (rome(11, 25), {W, B, E}, None),
    ],
)
def test_due_alert_sends_only_the_most_advanced(
    now: datetime, fired: set[AlertKind], expected: AlertKind | None
) -> None:
    alert = due_alert(DEADLINE, fired, policy(), now)
    assert (alert.kind if alert else None) == expected
    assert due_alert(None, fired, policy(), now) is None


def test_deadlines_name_a_known_target() -> None:
    with pytest.raises(ValueError, match="first_reply"):
        Deadline("first_reply", DUE)
