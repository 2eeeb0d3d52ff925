"""On-call roster rules, table-driven with injected times (Europe/Rome for DST)."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.domain.oncall import (
    ONCALL_USAGE,
    AddOverride,
    OnCall,
    OnCallSyntaxError,
    Override,
    Period,
    Rotation,
    SetRotation,
    ShowOnCall,
    new_override,
    new_rotation,
    next_handoff,
    on_call,
    parse_oncall_command,
)

ROME = ZoneInfo("Europe/Rome")
NINE = time(9, 0)
MON = 0


def utc(month: int, day: int, hour: int, minute: int = 0, year: int = 2026) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


# Mondays at 09:00 Rome. 2026-03-09 09:00 CET is 08:00 UTC; after 2026-03-29 (CEST) 09:00 is
# 07:00 UTC; after 2026-10-25 (CET again) it is 08:00 UTC again.
WEEKLY = new_rotation(("UA", "UB", "UC"), Period.WEEKLY, NINE, MON, utc(3, 11, 12), ROME)
# Every day at 09:00 Rome, from Friday 2026-03-27 (09:00 CET = 08:00 UTC).
DAILY = new_rotation(("UA", "UB"), Period.DAILY, NINE, None, utc(3, 27, 10), ROME)


def test_the_fixtures_are_anchored_where_the_tables_assume() -> None:
    assert WEEKLY.anchor == utc(3, 9, 8)
    assert DAILY.anchor == utc(3, 27, 8)


@pytest.mark.parametrize(
    ("moment", "user"),
    [
        (utc(3, 9, 7, 59), None),  # before the anchor: the rotation did not exist yet
        (utc(3, 9, 8), "UA"),  # exactly at the anchor
        (utc(3, 16, 7, 59), "UA"),
        (utc(3, 16, 8), "UB"),  # exactly at the handoff instant
        (utc(3, 23, 8), "UC"),
        # The week of the spring DST change: the handoff is 09:00 CEST = 07:00 UTC, not the
        # 08:00 UTC a fixed 168h step would give.
        (utc(3, 30, 6, 59), "UC"),
        (utc(3, 30, 7), "UA"),
        (utc(4, 6, 7), "UB"),
        # Around the autumn change: Mon 19 Oct 09:00 CEST = 07:00 UTC (week 32, 32 % 3 = 2),
        # Mon 26 Oct 09:00 CET = 08:00 UTC (week 33).
        (utc(10, 19, 6, 59), "UB"),
        (utc(10, 19, 7), "UC"),
        (utc(10, 26, 7, 59), "UC"),
        (utc(10, 26, 8), "UA"),
        (utc(3, 9, 8, year=2027), "UB"),  # 52 weeks on: 52 % 3 = 1
    ],
)
def test_weekly_rotation(moment: datetime, user: str | None) -> None:
    assert on_call(WEEKLY, [], moment, ROME).user == user


@pytest.mark.parametrize(
    ("moment", "user"),
    [
        (utc(3, 27, 7, 59), None),
        (utc(3, 27, 8), "UA"),
        (utc(3, 28, 7, 59), "UA"),
        (utc(3, 28, 8), "UB"),
        (utc(3, 29, 6, 59), "UB"),  # Sunday 29: DST began at 02:00, so 08:59 CEST
        (utc(3, 29, 7), "UA"),  # 09:00 CEST
        (utc(3, 30, 6, 59), "UA"),
        (utc(3, 30, 7), "UB"),
        (utc(10, 25, 7, 59), "UB"),  # 2026-10-25 is day 212 (even): UA from 09:00 CET
        (utc(10, 25, 8), "UA"),
    ],
)
def test_daily_rotation(moment: datetime, user: str | None) -> None:
    assert on_call(DAILY, [], moment, ROME).user == user


@pytest.mark.parametrize(
    ("rotation", "moment", "expected"),
    [
        (WEEKLY, utc(3, 9, 8), utc(3, 16, 8)),  # strictly after: at a handoff, the next one
        (WEEKLY, utc(3, 16, 7, 59), utc(3, 16, 8)),
        (WEEKLY, utc(3, 23, 8), utc(3, 30, 7)),  # into CEST
        (WEEKLY, utc(10, 19, 7), utc(10, 26, 8)),  # back to CET
        (WEEKLY, utc(1, 1, 0), utc(3, 9, 8)),  # before the anchor: the anchor
        (DAILY, utc(3, 28, 8), utc(3, 29, 7)),
        (DAILY, utc(3, 28, 12), utc(3, 29, 7)),
        (DAILY, utc(10, 24, 7), utc(10, 25, 8)),
    ],
)
def test_next_handoff(rotation: Rotation, moment: datetime, expected: datetime) -> None:
    handoff = next_handoff(rotation, moment, ROME)
    assert handoff == expected
    assert handoff.tzinfo is UTC


def test_a_handoff_stays_at_nine_local_every_day_of_the_year() -> None:
    moment = DAILY.anchor
    for _ in range(400):
        following = next_handoff(DAILY, moment, ROME)
        local, previous = following.astimezone(ROME), moment.astimezone(ROME)
        assert local.time() == NINE
        assert local.date() - previous.date() == timedelta(days=1)
        moment = following


@pytest.mark.parametrize(
    ("moment", "expected"),
    [
        # 02:30 does not exist on 2026-03-29 in Rome: the handoff happens at 03:30 CEST.
        (utc(3, 28, 12), utc(3, 29, 1, 30)),
        (utc(3, 29, 1, 30), utc(3, 30, 0, 30)),
        # 02:30 happens twice on 2026-10-25: the handoff is at the first (CEST) one.
        (utc(10, 24, 12), utc(10, 25, 0, 30)),
        (utc(10, 25, 0, 30), utc(10, 26, 1, 30)),
    ],
)
def test_a_handoff_in_a_dst_gap_or_overlap_happens_once(
    moment: datetime, expected: datetime
) -> None:
    rotation = new_rotation(("UA", "UB"), Period.DAILY, time(2, 30), None, utc(3, 1, 12), ROME)
    assert next_handoff(rotation, moment, ROME) == expected


@pytest.mark.parametrize(
    ("period", "weekday", "now", "anchor"),
    [
        (Period.WEEKLY, MON, utc(3, 9, 8), utc(3, 9, 8)),  # created at the handoff instant
        (Period.WEEKLY, MON, utc(3, 9, 7, 59), utc(3, 2, 8)),  # a minute before: last week's
        (Period.WEEKLY, MON, utc(3, 15, 22), utc(3, 9, 8)),  # Sunday
        (Period.WEEKLY, 4, utc(4, 2, 12), utc(3, 27, 8)),  # Friday handoff, the Friday before
        (Period.DAILY, None, utc(3, 29, 6, 30), utc(3, 28, 8)),  # 08:30 CEST: yesterday's
        (Period.DAILY, None, utc(3, 29, 7), utc(3, 29, 7)),
    ],
)
def test_new_rotation_puts_the_first_member_on_call_now(
    period: Period, weekday: int | None, now: datetime, anchor: datetime
) -> None:
    rotation = new_rotation(("UA", "UB", "UC"), period, NINE, weekday, now, ROME)
    assert rotation.anchor == anchor
    assert on_call(rotation, [], now, ROME).user == "UA"


@pytest.mark.parametrize(
    ("members", "period", "weekday", "now", "message"),
    [
        ((), Period.DAILY, None, utc(3, 9, 8), "at least one person"),
        (("UA", "UB", "UA"), Period.DAILY, None, utc(3, 9, 8), "listed twice"),
        (("UA",), Period.WEEKLY, None, utc(3, 9, 8), "needs a handoff weekday"),
        (("UA",), Period.DAILY, MON, utc(3, 9, 8), "leave out the weekday"),
        (("UA",), Period.WEEKLY, 7, utc(3, 9, 8), "not a weekday number"),
        (("UA",), Period.DAILY, None, datetime(2026, 3, 9, 8), "timezone-aware"),  # noqa: DTZ001
    ],
)
def test_new_rotation_rejects(
    members: tuple[str, ...], period: Period, weekday: int | None, now: datetime, message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        new_rotation(members, period, NINE, weekday, now, ROME)


def test_a_rotation_from_storage_must_have_an_aware_anchor() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        Rotation(("UA",), Period.DAILY, NINE, None, datetime(2026, 3, 9, 8))  # noqa: DTZ001


T = utc(3, 11, 12)  # Wednesday: UA is on call by rotation until Mon 16 at 08:00 UTC, then UB
HANDOFF = utc(3, 16, 8)
H = timedelta(hours=1)


@pytest.mark.parametrize(
    ("rotation", "overrides", "moment", "expected"),
    [
        (WEEKLY, [], T, OnCall("UA", HANDOFF, "UB", by_override=False)),
        (WEEKLY, [Override("UX", T - H, T + 4 * H)], T, OnCall("UX", T + 4 * H, "UA", True)),
        (WEEKLY, [Override("UX", T - 5 * H, T - H)], T, OnCall("UA", HANDOFF, "UB", False)),
        # The end is exclusive, the start inclusive.
        (WEEKLY, [Override("UX", T - 4 * H, T)], T, OnCall("UA", HANDOFF, "UB", False)),
        (WEEKLY, [Override("UX", T, T + H)], T, OnCall("UX", T + H, "UA", True)),
        # An upcoming override ends the current stint when it starts.
        (WEEKLY, [Override("UX", T + 2 * H, T + 6 * H)], T, OnCall("UA", T + 2 * H, "UX", False)),
        # Overlapping: the latest-starting active override wins, whatever the list order...
        (
            WEEKLY,
            [Override("UX", T - 2 * H, T + 4 * H), Override("UY", T - H, T + H)],
            T,
            OnCall("UY", T + H, "UX", True),
        ),
        (
            WEEKLY,
            [Override("UY", T - H, T + H), Override("UX", T - 2 * H, T + 4 * H)],
            T,
            OnCall("UY", T + H, "UX", True),
        ),
        # ...and a later one cuts the earlier short when it begins.
        (
            WEEKLY,
            [Override("UX", T - H, T + 4 * H), Override("UY", T + H, T + 2 * H)],
            T,
            OnCall("UX", T + H, "UY", True),
        ),
        # Same start: the later in the list (the most recently added) wins.
        (
            WEEKLY,
            [Override("UX", T - H, T + H), Override("UY", T - H, T + 2 * H)],
            T,
            OnCall("UY", T + 2 * H, "UA", True),
        ),
        (
            WEEKLY,
            [Override("UY", T - H, T + 2 * H), Override("UX", T - H, T + H)],
            T,
            OnCall("UX", T + H, "UY", True),
        ),
        # An override across a handoff: at its end the rotation's new member takes over.
        (
            WEEKLY,
            [Override("UX", HANDOFF - 2 * H, HANDOFF + 2 * H)],
            HANDOFF + H,
            OnCall("UX", HANDOFF + 2 * H, "UB", True),
        ),
        (None, [], T, OnCall(None, None, None, False)),
        (None, [Override("UX", T - H, T + H)], T, OnCall("UX", T + H, None, True)),
        (None, [Override("UX", T + H, T + 2 * H)], T, OnCall(None, T + H, "UX", False)),
        (WEEKLY, [], utc(3, 1, 12), OnCall(None, utc(3, 9, 8), "UA", False)),  # before anchor
        (
            WEEKLY,
            [Override("UX", T - H, T + H)],
            utc(3, 1, 12),
            OnCall(None, utc(3, 9, 8), "UA", False),
        ),
    ],
)
def test_on_call_with_overrides(
    rotation: Rotation | None, overrides: list[Override], moment: datetime, expected: OnCall
) -> None:
    assert on_call(rotation, overrides, moment, ROME) == expected


def test_a_one_person_rotation_hands_over_to_the_same_person() -> None:
    solo = new_rotation(("UA",), Period.WEEKLY, NINE, MON, T, ROME)
    assert on_call(solo, [], T, ROME) == OnCall("UA", HANDOFF, "UA", False)


def test_new_override_starts_now() -> None:
    assert new_override("UX", 4 * H, T) == Override("UX", T, T + 4 * H)
    for bad in (timedelta(0), -H, timedelta(days=30, minutes=1)):
        with pytest.raises(ValueError):
            new_override("UX", bad, T)


@pytest.mark.parametrize(
    ("text", "command"),
    [
        ("", ShowOnCall()),
        ("   ", ShowOnCall()),
        ("show", ShowOnCall()),
        (
            "set <@U1|anna> <@U2> <@W3|carl> weekly mon 09:00",
            SetRotation(("U1", "U2", "W3"), Period.WEEKLY, NINE, MON),
        ),
        ("SET <@U1> Weekly FRI 17:30", SetRotation(("U1",), Period.WEEKLY, time(17, 30), 4)),
        ("set <@U1> weekly Sunday 9:00", SetRotation(("U1",), Period.WEEKLY, NINE, 6)),
        ("set <@U1> <@U2>  daily 00:00", SetRotation(("U1", "U2"), Period.DAILY, time(0), None)),
        # A display name after the | may contain spaces.
        (
            "set <@U1|anna maria> daily 23:59",
            SetRotation(("U1",), Period.DAILY, time(23, 59), None),
        ),
        ("override <@U1|anna> 4h", AddOverride("U1", 4 * H)),
        ("override <@U1> 30m", AddOverride("U1", timedelta(minutes=30))),
        ("override <@U1> 1h30m", AddOverride("U1", timedelta(minutes=90))),
        ("Override <@U1> 2D", AddOverride("U1", timedelta(days=2))),
        ("override <@U1> 1d12h", AddOverride("U1", timedelta(hours=36))),
        ("override <@U1> 30d", AddOverride("U1", timedelta(days=30))),
    ],
)
def test_parse_oncall_command(text: str, command: object) -> None:
    assert parse_oncall_command(text) == command


@pytest.mark.parametrize(
    ("text", "problem", "form"),
    [
        (
            "set <@U1> weekly funday 09:00",
            "'funday' is not a weekday (mon, tue, wed, thu, fri, sat, sun)",
            "Use: /care oncall set @a @b weekly mon 09:00",
        ),
        (
            "set @anna @ben weekly mon 09:00",
            "'@anna' is plain text, not a Slack user: pick people with @-autocomplete",
            "weekly mon 09:00",
        ),
        ("set anna weekly mon 09:00", "'anna' is not a person", "weekly mon 09:00"),
        ("set weekly mon 09:00", "Name at least one person", "weekly mon 09:00"),
        ("set <@U1> <@U1|anna> weekly mon 09:00", "<@U1> is listed twice", "daily 09:00"),
        ("set <@U1> weekly 09:00", "needs a handoff weekday", "weekly mon 09:00"),
        ("set <@U1> daily mon 09:00", "leave out the weekday", "set @a @b daily 09:00"),
        ("set <@U1> weekly mon 24:00", "'24:00' is not a time of day (HH:MM", "weekly mon"),
        ("set <@U1> daily 9:60", "'9:60' is not a time of day", "daily 09:00"),
        ("set <@U1> daily 9am", "'9am' is not a time of day", "daily 09:00"),
        ("set <@U1> <@U2>", "Say how the rotation hands off", "weekly mon 09:00"),
        ("set <@U1> weekly mon", "give the handoff weekday and time", "weekly mon 09:00"),
        ("set <@U1> daily", "give the handoff time", "daily 09:00"),
        ("set <@U1> daily 09:00 sharp", "give the handoff time", "daily 09:00"),
        ("override <@U1> 0h", "longer than zero", "override @x 4h"),
        ("override <@U1> 31d", "at most 30 days", "override @x 4h"),
        ("override <@U1> 30d1m", "at most 30 days", "override @x 4h"),
        ("override <@U1> soon", "'soon' is not a duration (e.g. 30m, 4h, 1h30m, 2d)", "4h"),
        ("override <@U1> h", "'h' is not a duration", "override @x 4h"),
        ("override <@U1> 4 hours", "Give one person and how long", "override @x 4h"),
        ("override <@U1>", "Give one person and how long", "override @x 4h"),
        ("override @anna 4h", "pick people with @-autocomplete", "override @x 4h"),
        ("override <#C1|general> 4h", "'<#C1|general>' is not a person", "override @x 4h"),
        ("override <!here> 4h", "'<!here>' is not a person", "override @x 4h"),
        ("rotate <@U1>", "'rotate' is not an oncall command (set, override)", "override @x 4h"),
        ("show me", "Unexpected 'me' after 'show'", "Use: /care oncall"),
    ],
)
def test_parse_oncall_command_explains_mistakes(text: str, problem: str, form: str) -> None:
    with pytest.raises(OnCallSyntaxError) as raised:
        parse_oncall_command(text)
    message = str(raised.value)
    assert problem in message
    assert form in message
    assert isinstance(raised.value, ValueError)


def test_usage_lists_every_form() -> None:
    for form in ("/care oncall -", "weekly mon 09:00", "daily 09:00", "override @x 4h"):
        assert form in ONCALL_USAGE
