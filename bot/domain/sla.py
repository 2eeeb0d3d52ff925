"""Service-level targets: when a reply is due, and which alerts to raise on the way there.

Two targets per priority: the first response (from when a conversation opens) and the next
response (from each later customer message that waits for us). The clock is either business time
(it runs only while the `BusinessCalendar` is open) or always running. Everything here is pure:
times are passed in, nothing is stored or sent.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from fractions import Fraction

from bot.domain.hours import BusinessCalendar

FIRST_RESPONSE = "first_response"
NEXT_RESPONSE = "next_response"
TARGET_NAMES = (FIRST_RESPONSE, NEXT_RESPONSE)

_ZERO = timedelta(0)
_SECOND = timedelta(seconds=1)


class Priority(StrEnum):
    URGENT = "urgent"
    HIGH = "high"
    NORMAL = "normal"
    LOW = "low"


class SlaClock(StrEnum):
    BUSINESS = "business"  # the clock runs only while the business calendar is open
    ALWAYS = "always"  # real elapsed time, nights and weekends included


class AlertKind(StrEnum):
    WARNING = "warning"  # the deadline is near
    BREACH = "breach"  # the deadline passed
    ESCALATION = "escalation"  # the deadline passed a while ago: tell someone in charge


# Scale of each priority's default relative to `normal` (the SLA_FIRST_RESPONSE /
# SLA_NEXT_RESPONSE values). Powers of two so the tiers stay easy to reason about:
# with a 1 h normal target, urgent gets 15 min, high 30 min and low 4 h.
DEFAULT_SCALE: Mapping[Priority, Fraction] = {
    Priority.URGENT: Fraction(1, 4),
    Priority.HIGH: Fraction(1, 2),
    Priority.NORMAL: Fraction(1),
    Priority.LOW: Fraction(4),
}

# Keys `policy_targets` accepts as overrides, e.g. "first_response_urgent"; the config layer
# reads each from the environment as SLA_<KEY> (SLA_FIRST_RESPONSE_URGENT).
OVERRIDE_KEYS = tuple(f"{target}_{priority}" for target in TARGET_NAMES for priority in Priority)


@dataclass(frozen=True)
class Targets:
    first_response: timedelta
    next_response: timedelta

    def of(self, target: str) -> timedelta:
        """The value for a target name, "first_response" or "next_response"."""
        _check_target(target)
        return self.first_response if target == FIRST_RESPONSE else self.next_response


def policy_targets(
    first: timedelta, next_: timedelta, overrides: Mapping[str, timedelta] | None = None
) -> dict[Priority, Targets]:
    """Targets for every priority: defaults scaled from the normal ones, then the overrides.

    `first` and `next_` are the normal priority's targets. Urgent, high and low default to
    1/4, 1/2 and 4x of them (DEFAULT_SCALE), rounded to whole seconds and never below one second,
    because agents read them in minutes and a zero target would breach on arrival. `overrides`
    replace single values and are keyed like "first_response_urgent" (OVERRIDE_KEYS); an override
    of a normal value changes only `normal`, the other priorities still scale from `first`/`next_`.
    """
    overrides = overrides or {}
    unknown = sorted(set(overrides) - set(OVERRIDE_KEYS))
    if unknown:
        raise ValueError(
            f"unknown SLA target {', '.join(unknown)}: expected one of {OVERRIDE_KEYS}"
        )
    base = {FIRST_RESPONSE: first, NEXT_RESPONSE: next_}
    for name, duration in [*base.items(), *overrides.items()]:
        if duration <= _ZERO:
            raise ValueError(f"the SLA target {name} must be positive, not {duration}")

    def value(target: str, priority: Priority) -> timedelta:
        override = overrides.get(f"{target}_{priority}")
        return override if override is not None else _scaled(base[target], DEFAULT_SCALE[priority])

    return {p: Targets(value(FIRST_RESPONSE, p), value(NEXT_RESPONSE, p)) for p in Priority}


def _scaled(duration: timedelta, factor: Fraction) -> timedelta:
    if factor == 1:
        return duration  # normal is the configured value itself, unrounded
    # Exact arithmetic on microseconds, then whole seconds (half to even, as round() does).
    microseconds = duration // timedelta(microseconds=1)
    seconds = round(Fraction(microseconds, 1_000_000) * factor)
    return max(timedelta(seconds=seconds), _SECOND)


@dataclass(frozen=True)
class Deadline:
    """When a reply is due. `started` (when the clock started) is optional: with it, a warning
    that would fall before the start is moved to the start."""

    target: str  # "first_response" | "next_response"
    due: datetime
    started: datetime | None = None

    def __post_init__(self) -> None:
        _check_target(self.target)


@dataclass(frozen=True)
class PlannedAlert:
    kind: AlertKind
    at: datetime  # aware UTC
    deadline: Deadline


@dataclass(frozen=True)
class SlaPolicy:
    """Targets per priority, on a business or an always-running clock.

    `warn_before` and `escalate_after` are real (elapsed) time around the due instant, not
    business time: "10 minutes before it is due" means 10 minutes on the wall clock. A zero
    `warn_before` means no warning; `escalate_after` None means no escalation.
    """

    targets: Mapping[Priority, Targets]
    warn_before: timedelta
    clock: SlaClock
    calendar: BusinessCalendar
    escalate_after: timedelta | None = None

    def __post_init__(self) -> None:
        missing = [p.value for p in Priority if p not in self.targets]
        if missing:
            raise ValueError(f"SLA targets missing for {', '.join(missing)}")
        if self.warn_before < _ZERO:
            raise ValueError(f"warn_before cannot be negative: {self.warn_before}")
        if self.escalate_after is not None and self.escalate_after <= _ZERO:
            raise ValueError(f"escalate_after must be positive: {self.escalate_after}")

    def first_response_due(self, opened_at: datetime, priority: Priority) -> datetime:
        return self._due(opened_at, self.targets[priority].first_response)

    def next_response_due(self, asked_at: datetime, priority: Priority) -> datetime:
        return self._due(asked_at, self.targets[priority].next_response)

    def deadline(self, target: str, start: datetime, priority: Priority) -> Deadline:
        """The deadline for `target` whose clock starts at `start`, remembering the start."""
        due = self._due(start, self.targets[priority].of(target))
        return Deadline(target, due, _utc(start))

    def warning_at(self, due: datetime, started: datetime | None = None) -> datetime:
        """`warn_before` before `due`, but never before `started` when given.

        When `warn_before` is as long as the target or longer the warning would precede the
        start; we warn at the start instead (the conversation begins inside the warning window).
        Without `started` the instant may lie in the past, and a sweeper fires it at once.
        """
        at = _utc(due) - self.warn_before
        return at if started is None else max(at, _utc(started))

    def elapsed(self, start: datetime, end: datetime) -> timedelta:
        """Time on this policy's clock from `start` to `end`; zero when `end` is not later."""
        if self.clock is SlaClock.BUSINESS:
            return self.calendar.between(start, end)
        return max(_utc(end) - _utc(start), _ZERO)

    def _due(self, start: datetime, target: timedelta) -> datetime:
        if self.clock is SlaClock.BUSINESS:
            return self.calendar.add(start, target)
        return _utc(start) + target


def planned_alerts(deadline: Deadline, policy: SlaPolicy) -> list[PlannedAlert]:
    """Warning (unless warn_before is zero), breach, escalation (if set), in time order."""
    due = _utc(deadline.due)
    alerts = []
    if policy.warn_before > _ZERO:
        at = policy.warning_at(due, deadline.started)
        alerts.append(PlannedAlert(AlertKind.WARNING, min(at, due), deadline))
    alerts.append(PlannedAlert(AlertKind.BREACH, due, deadline))
    if policy.escalate_after is not None:
        alerts.append(PlannedAlert(AlertKind.ESCALATION, due + policy.escalate_after, deadline))
    return alerts


def next_alert(
    deadline: Deadline | None, fired: Collection[AlertKind], policy: SlaPolicy
) -> PlannedAlert | None:
    """The earliest planned alert not yet fired; None when there is no deadline or none is left.

    A fired alert supersedes the ones planned before it: once the breach went out, a warning that
    was never sent (the sweeper was down) stays unsent rather than arriving late.
    """
    if deadline is None:
        return None
    alerts = planned_alerts(deadline, policy)
    last_fired = max((i for i, a in enumerate(alerts) if a.kind in fired), default=-1)
    return alerts[last_fired + 1] if last_fired + 1 < len(alerts) else None


def due_alert(
    deadline: Deadline | None, fired: Collection[AlertKind], policy: SlaPolicy, now: datetime
) -> PlannedAlert | None:
    """The alert to send at `now`: the latest one due and not yet fired or superseded.

    After downtime several may be due at once; only the most advanced is worth sending (a breach,
    not a warning followed by a breach). Record its kind as fired; `next_alert` then skips the
    earlier ones.
    """
    if deadline is None:
        return None
    now = _utc(now)
    alerts = planned_alerts(deadline, policy)
    last_fired = max((i for i, a in enumerate(alerts) if a.kind in fired), default=-1)
    ready = [a for a in alerts[last_fired + 1 :] if a.at <= now]
    return ready[-1] if ready else None


def _check_target(target: str) -> None:
    if target not in TARGET_NAMES:
        raise ValueError(f"unknown SLA target {target!r}: expected one of {TARGET_NAMES}")


def _utc(moment: datetime) -> datetime:
    if moment.utcoffset() is None:
        raise ValueError(f"{moment} has no time zone: SLA times must be aware datetimes")
    return moment.astimezone(UTC)
