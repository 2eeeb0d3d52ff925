"""Pure domain rules, table-driven."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.domain.conversation import (
    AgentMessageKind,
    PreviousConversation,
    Route,
    classify_agent_message,
    route_inbound,
)
from bot.domain.hours import parse_business_hours
from bot.domain.model import Status, Visibility
from bot.networks.x.text import x_weighted_length

NOW = datetime(2026, 11, 23, 12, tzinfo=UTC)
DAY = timedelta(hours=24)


@pytest.mark.parametrize(
    ("previous", "expected"),
    [
        (None, Route.NEW),
        (PreviousConversation(Status.OPEN, None), Route.FOLLOW_UP),
        (PreviousConversation(Status.WAITING_ON_CUSTOMER, None), Route.FOLLOW_UP),
        (PreviousConversation(Status.RESOLVED, NOW - timedelta(hours=23)), Route.REOPEN),
        (PreviousConversation(Status.RESOLVED, NOW - timedelta(hours=25)), Route.NEW),
    ],
)
def test_route_inbound(previous: PreviousConversation | None, expected: Route) -> None:
    assert route_inbound(previous, NOW, DAY) == expected


@pytest.mark.parametrize(
    ("text", "writer", "assignee", "status", "visibility", "length", "kind", "claims"),
    [
        (
            "note: internal",
            "UA",
            "UA",
            Status.OPEN,
            Visibility.PUBLIC,
            10,
            AgentMessageKind.NOTE,
            False,
        ),
        (
            "  NOTE: caps",
            "UA",
            None,
            Status.OPEN,
            Visibility.PUBLIC,
            10,
            AgentMessageKind.NOTE,
            False,
        ),
        ("hello", "UB", "UA", Status.OPEN, Visibility.PUBLIC, 5, AgentMessageKind.NOT_OWNER, False),
        ("hello", "UA", None, Status.OPEN, Visibility.PUBLIC, 5, AgentMessageKind.ANSWER, True),
        (
            "hello",
            "UA",
            "UA",
            Status.RESOLVED,
            Visibility.PUBLIC,
            5,
            AgentMessageKind.RESOLVED,
            False,
        ),
        (
            "x" * 281,
            "UA",
            "UA",
            Status.OPEN,
            Visibility.PUBLIC,
            281,
            AgentMessageKind.TOO_LONG,
            False,
        ),
        (
            "x" * 281,
            "UA",
            "UA",
            Status.OPEN,
            Visibility.PRIVATE,
            281,
            AgentMessageKind.ANSWER,
            False,
        ),
        (
            "x" * 280,
            "UA",
            "UA",
            Status.OPEN,
            Visibility.PUBLIC,
            280,
            AgentMessageKind.ANSWER,
            False,
        ),
    ],
)
def test_classify_agent_message(
    text, writer, assignee, status, visibility, length, kind, claims
) -> None:
    decision = classify_agent_message(
        text=text,
        writer=writer,
        assignee=assignee,
        status=status,
        visibility=visibility,
        length=length,
        public_limit=280,
    )
    assert (decision.kind, decision.claims) == (kind, claims)


@pytest.mark.parametrize(
    ("text", "length"),
    [
        ("hello", 5),
        ("https://example.com/a/very/long/path/that/is/long", 23),
        ("è", 1),
        ("日本", 4),
        ("see https://acme.com ok", 4 + 23 + 3),
    ],
)
def test_x_weighted_length(text: str, length: int) -> None:
    assert x_weighted_length(text) == length


def test_business_hours() -> None:
    hours = parse_business_hours("mon-fri 09:00-18:00; sat 09:00-13:00")
    monday_noon = datetime(2026, 11, 23, 12)  # noqa: DTZ001 - local wall time on purpose
    assert hours.is_open(monday_noon)
    assert not hours.is_open(monday_noon.replace(hour=18))
    assert not hours.is_open(datetime(2026, 11, 29, 10))  # noqa: DTZ001 - a Sunday
    for bad in ("mon-fri 18:00-09:00", "someday 09:00-10:00", "mon 9-5", "fri-mon 09:00-10:00"):
        with pytest.raises(ValueError):
            parse_business_hours(bad)


def test_a_rate_limit_never_retries_in_the_past_or_at_once() -> None:
    from bot.domain.delivery import rate_limit_until

    assert rate_limit_until(NOW - timedelta(minutes=5), NOW) == NOW + timedelta(seconds=1)
    assert rate_limit_until(None, NOW) == NOW + timedelta(seconds=60)
    assert rate_limit_until(NOW + timedelta(seconds=90), NOW) == NOW + timedelta(seconds=90)
