"""On-call roster: a rotation with wall-clock handoffs, temporary overrides, and `/care oncall`.

Handoffs are local times in the team's TIMEZONE. Periods are counted in local calendar days and
weeks, never as fixed 24h/168h spans, so a 09:00 handoff stays at 09:00 local across DST changes.
Every instant this module returns is an aware UTC datetime; every instant it takes must be aware.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_FULL_WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
MAX_OVERRIDE = timedelta(days=30)

SHOW_FORM = "/care oncall"
WEEKLY_FORM = "/care oncall set @a @b weekly mon 09:00"
DAILY_FORM = "/care oncall set @a @b daily 09:00"
OVERRIDE_FORM = "/care oncall override @x 4h"
ONCALL_USAGE = "\n".join(
    (
        f"{SHOW_FORM} - who is on call now, and who is next",
        f"{WEEKLY_FORM} - rotate one week each, handing off Mondays at 09:00",
        f"{DAILY_FORM} - rotate one day each, handing off every day at 09:00",
        f"{OVERRIDE_FORM} - @x is on call for the next 4 hours (30m, 4h, 1h30m, 2d; up to 30d)",
    )
)
_SET_FORMS = (WEEKLY_FORM, DAILY_FORM)
_PERIODS = ("daily", "weekly")
_ALL_FORMS = (SHOW_FORM, WEEKLY_FORM, DAILY_FORM, OVERRIDE_FORM)

# Slack escapes mentions in command text as <@U123ABC|anna> or <@U123ABC>; W... ids are
# Enterprise Grid users. A token is either such an escape (which may hold spaces) or a word.
_MENTION = re.compile(r"^<@(?P<id>[UW][A-Z0-9]+)(?:\|[^>]*)?>$")
_TOKEN = re.compile(r"<[^>]*>|\S+")
_CLOCK = re.compile(r"^(?P<hours>\d{1,2}):(?P<minutes>\d{2})$")
_DURATION = re.compile(r"^(?:(?P<days>\d+)d)?(?:(?P<hours>\d+)h)?(?:(?P<minutes>\d+)m)?$")


class Period(StrEnum):
    DAILY = "daily"
    WEEKLY = "weekly"

    @property
    def days(self) -> int:
        return 1 if self == Period.DAILY else 7


@dataclass(frozen=True)
class Rotation:
    """Members take turns, one period each, in order, starting with members[0] at `anchor`.

    The invariants are checked here rather than only in `new_rotation`, so a roster read back
    from storage is as trustworthy as a freshly parsed one.
    """

    members: tuple[str, ...]  # Slack user ids, in order
    period: Period
    handoff: time  # naive wall-clock time in the team's zone
    weekday: int | None  # 0 = Monday, for weekly; None for daily
    anchor: datetime  # aware: the handoff at which members[0] started

    def __post_init__(self) -> None:
        problem = _rotation_problem(self.members, self.period, self.weekday)
        if problem:
            raise ValueError(problem)
        if self.handoff.tzinfo is not None:
            raise ValueError("the handoff is a wall-clock time: give it without a time zone")
        _require_aware(self.anchor, "anchor")


@dataclass(frozen=True)
class Override:
    """`user` is on call from `starts_at` (inclusive) to `ends_at` (exclusive), whatever the
    rotation says."""

    user: str
    starts_at: datetime
    ends_at: datetime

    def active_at(self, moment: datetime) -> bool:
        return self.starts_at <= moment < self.ends_at


@dataclass(frozen=True)
class OnCall:
    """Who is on call at a moment, until when, and who takes over then.

    `until` is the next change in the roster: a handoff, or an override starting or ending. It
    is None when nothing is scheduled to change. `next_user` may equal `user` (a one-person
    rotation, or an override for the person already on call) and is None when nobody follows.
    """

    user: str | None
    until: datetime | None
    next_user: str | None
    by_override: bool


def new_rotation(
    members: Sequence[str],
    period: Period,
    handoff: time,
    weekday: int | None,
    now: datetime,
    zone: ZoneInfo,
) -> Rotation:
    """A rotation anchored at the most recent handoff at or before `now`, so members[0] is on
    call straight away (rather than nobody until the first handoff)."""
    members = tuple(members)
    # Checked here as well as in Rotation: finding the anchor needs a sound weekday.
    problem = _rotation_problem(members, period, weekday)
    if problem:
        raise ValueError(problem)
    _require_aware(now, "now")
    start = _handoff_date_at_or_before(period, handoff, weekday, now, zone)
    anchor = _handoff_instant(start, handoff, zone)
    return Rotation(members, period, handoff, weekday, anchor)


def new_override(user: str, duration: timedelta, now: datetime) -> Override:
    """An override starting now, for `duration` (positive, at most 30 days)."""
    _require_aware(now, "now")
    problem = _duration_problem(duration)
    if problem:
        raise ValueError(problem)
    start = now.astimezone(UTC)
    return Override(user, start, start + duration)


def on_call(
    rotation: Rotation | None, overrides: Sequence[Override], moment: datetime, zone: ZoneInfo
) -> OnCall:
    """Who is on call at `moment`.

    An active override wins over the rotation; among overlapping overrides the latest-starting
    one wins (on a tie, the later one in `overrides`, i.e. the most recently added). Before the
    rotation's anchor the rotation puts nobody on call: it did not exist yet.
    """
    _require_aware(moment, "moment")
    user, source_ends = _stint(rotation, overrides, moment, zone)
    # Any override that begins before the current stint ends takes over when it begins: it
    # starts later than whatever is in force now, so it wins.
    upcoming = [o.starts_at for o in overrides if o.starts_at > moment and o.ends_at > o.starts_at]
    ends = [t for t in (source_ends, *upcoming) if t is not None]
    by_override = _winning_override(overrides, moment) is not None
    if not ends:
        return OnCall(user, None, None, by_override)
    until = min(ends).astimezone(UTC)
    next_user, _ = _stint(rotation, overrides, until, zone)
    return OnCall(user, until, next_user, by_override)


def next_handoff(rotation: Rotation, moment: datetime, zone: ZoneInfo) -> datetime:
    """The rotation's first handoff strictly after `moment`, as an aware UTC datetime. Before
    the anchor that is the anchor itself: the rotation's first handoff."""
    _require_aware(moment, "moment")
    if moment < rotation.anchor:
        return rotation.anchor.astimezone(UTC)
    current = _handoff_date_at_or_before(
        rotation.period, rotation.handoff, rotation.weekday, moment, zone
    )
    following = current + timedelta(days=rotation.period.days)
    return _handoff_instant(following, rotation.handoff, zone)


def rotation_user(rotation: Rotation, moment: datetime, zone: ZoneInfo) -> str | None:
    """The rotation's member at `moment`, ignoring overrides; None before the anchor."""
    _require_aware(moment, "moment")
    if moment < rotation.anchor:
        return None
    handoff, weekday, period = rotation.handoff, rotation.weekday, rotation.period
    first = _handoff_date_at_or_before(period, handoff, weekday, rotation.anchor, zone)
    current = _handoff_date_at_or_before(period, handoff, weekday, moment, zone)
    # Counting calendar days between local handoff dates (not elapsed hours) is what keeps
    # the rotation in step across DST: a week with a DST change is 167h or 169h long.
    turns = (current - first).days // period.days
    return rotation.members[turns % len(rotation.members)]


def _stint(
    rotation: Rotation | None, overrides: Sequence[Override], moment: datetime, zone: ZoneInfo
) -> tuple[str | None, datetime | None]:
    """Who is on call at `moment`, and when the thing that put them there stops applying."""
    override = _winning_override(overrides, moment)
    if override is not None:
        return override.user, override.ends_at
    if rotation is None:
        return None, None
    return rotation_user(rotation, moment, zone), next_handoff(rotation, moment, zone)


def _winning_override(overrides: Sequence[Override], moment: datetime) -> Override | None:
    winner: Override | None = None
    for override in overrides:
        # `>=` so that, on equal starts, the later (more recently added) override wins.
        if override.active_at(moment) and (
            winner is None or override.starts_at >= winner.starts_at
        ):
            winner = override
    return winner


def _handoff_date_at_or_before(
    period: Period, handoff: time, weekday: int | None, moment: datetime, zone: ZoneInfo
) -> date:
    """The local date of the most recent handoff at or before `moment`."""
    local = moment.astimezone(zone).date()
    if period == Period.WEEKLY and weekday is not None:
        local -= timedelta(days=(local.weekday() - weekday) % 7)
    step = timedelta(days=period.days)
    # Loops, not a single step, because DST can shift a handoff across midnight (a 23:30
    # handoff inside a 23:00-00:00 gap happens at 00:30 the next day); they run once or twice.
    while _handoff_instant(local, handoff, zone) > moment:
        local -= step
    while _handoff_instant(local + step, handoff, zone) <= moment:
        local += step
    return local


def _handoff_instant(day: date, handoff: time, zone: ZoneInfo) -> datetime:
    """The UTC instant of the handoff on a local date.

    A handoff inside a DST gap (02:30 on the spring-forward night) happens an hour later by the
    clock (03:30): fold=0 applies the offset in force before the change. A handoff in the repeated
    hour (02:30 on the fall-back night) happens at its first occurrence. Converting to UTC matters:
    aware datetimes sharing a tzinfo compare by wall clock, which is wrong around DST.
    """
    return datetime.combine(day, handoff, tzinfo=zone).astimezone(UTC)


def _require_aware(moment: datetime, name: str) -> None:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware, got {moment!r}")


def _rotation_problem(members: Sequence[str], period: Period, weekday: int | None) -> str | None:
    """What is wrong with a rotation, in words for the person who typed it; None if nothing."""
    if not members:
        return "Name at least one person for the rotation"
    seen: set[str] = set()
    for member in members:
        # A duplicate is far more likely a slip than a wish to weight someone double, and it
        # would make "who is next" confusing; so each person appears once.
        if member in seen:
            return f"<@{member}> is listed twice: name each person once"
        seen.add(member)
    if period == Period.WEEKLY and weekday is None:
        return "A weekly rotation needs a handoff weekday, e.g. weekly mon 09:00"
    if period == Period.DAILY and weekday is not None:
        return "A daily rotation hands off every day: leave out the weekday, e.g. daily 09:00"
    if weekday is not None and not 0 <= weekday <= 6:
        return f"{weekday} is not a weekday number (0 = Monday ... 6 = Sunday)"
    return None


def _duration_problem(duration: timedelta) -> str | None:
    if duration <= timedelta(0):
        return "An override must last longer than zero, e.g. 30m or 4h"
    if duration > MAX_OVERRIDE:
        return "An override lasts at most 30 days (30d); change the rotation for longer"
    return None


# Commands


@dataclass(frozen=True)
class ShowOnCall:
    """`/care oncall`: who is on call now, and who is next."""


@dataclass(frozen=True)
class SetRotation:
    """`/care oncall set @a @b weekly mon 09:00`: replace the rotation."""

    members: tuple[str, ...]
    period: Period
    handoff: time
    weekday: int | None


@dataclass(frozen=True)
class AddOverride:
    """`/care oncall override @x 4h`: @x is on call from now for `duration`."""

    user: str
    duration: timedelta


class OnCallSyntaxError(ValueError):
    """A `/care oncall` command that could not be understood: what was wrong, and the right
    forms. `problem` and `forms` are kept apart for callers that format them themselves."""

    def __init__(self, problem: str, forms: Sequence[str] = _ALL_FORMS) -> None:
        self.problem = problem
        self.forms = tuple(forms)
        super().__init__(f"{problem}. Use: {' or '.join(self.forms)}")


def parse_oncall_command(text: str) -> ShowOnCall | SetRotation | AddOverride:
    """Parse the text after `oncall`, e.g. `set <@U1|anna> <@U2> weekly mon 09:00`."""
    tokens = _TOKEN.findall(text)
    if not tokens or tokens[0].lower() in ("show", "now"):
        if len(tokens) > 1:
            raise OnCallSyntaxError(f"Unexpected '{tokens[1]}' after '{tokens[0]}'", [SHOW_FORM])
        return ShowOnCall()
    command, arguments = tokens[0].lower(), tokens[1:]
    if command == "set":
        return _parse_set(arguments)
    if command == "override":
        return _parse_override(arguments)
    raise OnCallSyntaxError(f"'{tokens[0]}' is not an oncall command (set, override)")


def _parse_set(tokens: list[str]) -> SetRotation:
    words = [token.lower() for token in tokens]
    where = next((i for i, word in enumerate(words) if word in _PERIODS), None)
    if where is None:
        raise OnCallSyntaxError(
            "Say how the rotation hands off: 'weekly mon 09:00' or 'daily 09:00'", _SET_FORMS
        )
    members = tuple(_user_id(token, _SET_FORMS) for token in tokens[:where])
    period, schedule = Period(words[where]), tokens[where + 1 :]
    if period == Period.WEEKLY:
        if len(schedule) == 1 and _CLOCK.match(schedule[0]):
            raise OnCallSyntaxError(
                "A weekly rotation needs a handoff weekday before the time, e.g. weekly mon 09:00",
                [WEEKLY_FORM],
            )
        if len(schedule) != 2:
            raise OnCallSyntaxError(
                "After 'weekly' give the handoff weekday and time, e.g. weekly mon 09:00",
                [WEEKLY_FORM],
            )
        weekday: int | None = _weekday(schedule[0])
        handoff = _clock_time(schedule[1], [WEEKLY_FORM])
    else:
        if len(schedule) == 2 and _weekday_or_none(schedule[0]) is not None:
            raise OnCallSyntaxError(
                "A daily rotation hands off every day: leave out the weekday, e.g. daily 09:00",
                [DAILY_FORM],
            )
        if len(schedule) != 1:
            raise OnCallSyntaxError(
                "After 'daily' give the handoff time, e.g. daily 09:00", [DAILY_FORM]
            )
        weekday = None
        handoff = _clock_time(schedule[0], [DAILY_FORM])
    problem = _rotation_problem(members, period, weekday)
    if problem:
        raise OnCallSyntaxError(problem, _SET_FORMS)
    return SetRotation(members, period, handoff, weekday)


def _parse_override(tokens: list[str]) -> AddOverride:
    forms = [OVERRIDE_FORM]
    if len(tokens) != 2:
        raise OnCallSyntaxError(
            "Give one person and how long, e.g. override @x 4h (30m, 4h, 1h30m, 2d)", forms
        )
    user = _user_id(tokens[0], forms)
    duration = _duration(tokens[1], forms)
    return AddOverride(user, duration)


def _user_id(token: str, forms: Sequence[str]) -> str:
    match = _MENTION.match(token)
    if match:
        return match["id"]
    if token.startswith("@"):
        # Slack only turns a name into an id when it was picked from the @-autocomplete list;
        # a typed-out name is ambiguous (display names are not unique), so it is refused.
        raise OnCallSyntaxError(
            f"'{token}' is plain text, not a Slack user: pick people with @-autocomplete "
            "so Slack sends who they are",
            forms,
        )
    raise OnCallSyntaxError(
        f"'{token}' is not a person: pick people with @-autocomplete, e.g. @anna", forms
    )


def _weekday_or_none(token: str) -> int | None:
    word = token.lower()
    if word in WEEKDAYS:
        return WEEKDAYS.index(word)
    if word in _FULL_WEEKDAYS:
        return _FULL_WEEKDAYS.index(word)
    return None


def _weekday(token: str) -> int:
    weekday = _weekday_or_none(token)
    if weekday is None:
        raise OnCallSyntaxError(
            f"'{token}' is not a weekday ({', '.join(WEEKDAYS)})", [WEEKLY_FORM]
        )
    return weekday


def _clock_time(token: str, forms: Sequence[str]) -> time:
    match = _CLOCK.match(token)
    if match:
        hours, minutes = int(match["hours"]), int(match["minutes"])
        if hours < 24 and minutes < 60:
            return time(hours, minutes)
    raise OnCallSyntaxError(f"'{token}' is not a time of day (HH:MM, 00:00-23:59)", forms)


def _duration(token: str, forms: Sequence[str]) -> timedelta:
    match = _DURATION.match(token.lower())
    if not match or not any(match.groupdict().values()):
        raise OnCallSyntaxError(f"'{token}' is not a duration (e.g. 30m, 4h, 1h30m, 2d)", forms)
    days, hours, minutes = (int(match[part] or 0) for part in ("days", "hours", "minutes"))
    duration = timedelta(days=days, hours=hours, minutes=minutes)
    problem = _duration_problem(duration)
    if problem:
        raise OnCallSyntaxError(problem, forms)
    return duration
