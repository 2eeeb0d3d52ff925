"""Specialist teams a conversation can be forwarded to, as `/care teams` reads and answers."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta

from bot.parsing import parse_duration

NAME = re.compile(r"[\w][\w .&'-]{0,39}")  # "Billing", "Supporto tecnico", "Legal & Privacy"
# Slack sends a channel typed in a command as "<#C0123|billing>"; a bare id works too.
CHANNEL = re.compile(r"<#(?P<id>[CG][A-Z0-9]{2,30})(?:\|[^>]*)?>|(?P<bare>[CG][A-Z0-9]{8,30})")


@dataclass(frozen=True)
class TeamView:
    name: str
    channel: str
    target: timedelta | None  # the team's own response target, in business time


@dataclass(frozen=True)
class TeamList:
    """`/care teams`: the teams, and what the command just changed."""

    teams: tuple[TeamView, ...]
    changed: str = ""


@dataclass(frozen=True)
class TeamChange:
    """A parsed `/care teams add|remove ...`."""

    action: str  # "add" | "remove"
    name: str
    channel: str = ""
    target: timedelta | None = None


class TeamCommandError(ValueError):
    pass


def parse_team_command(text: str) -> TeamChange | None:
    """`add Billing #billing 4h`, `add Legal #legal`, `remove Billing`; None: list them.
    TeamCommandError says what is wrong."""
    words = text.split()
    if not words or words[0].lower() == "list":
        return None
    action = words[0].lower()
    if action == "remove":
        name = " ".join(words[1:])
        if not NAME.fullmatch(name):
            raise TeamCommandError("say which team, e.g. `/care teams remove Billing`")
        return TeamChange("remove", name)
    if action != "add":
        raise TeamCommandError(f"unknown: {words[0][:20]!r}; use add, remove or list")
    at = next((i for i, word in enumerate(words) if CHANNEL.fullmatch(word)), None)
    if at is None or at < 2:
        raise TeamCommandError("name the team, then its channel, e.g. `add Billing #billing 4h`")
    name = " ".join(words[1:at])
    if not NAME.fullmatch(name):
        raise TeamCommandError(f"{name[:40]!r} is no team name: letters, digits, spaces, & . - '")
    found = CHANNEL.fullmatch(words[at])
    assert found is not None
    target: timedelta | None = None
    if len(words) > at + 1:
        try:
            target = parse_duration(words[at + 1])
        except ValueError:
            raise TeamCommandError(
                f"{words[at + 1][:20]!r} is no target: a duration such as 4h or 30m"
            ) from None
        if len(words) > at + 2 or target <= timedelta(0):
            raise TeamCommandError("one target after the channel, e.g. 4h")
    return TeamChange("add", name, found["id"] or found["bare"], target)


@dataclass(frozen=True)
class TeamFigures:
    team: str
    forwarded: int
    answered: int  # the team wrote back
    within_target: int  # ... before its target, of `with_target`
    with_target: int
    sent_back: int
    taken_over: int
    median_time: timedelta | None  # "time with Billing": forwarded to its first answer


@dataclass(frozen=True)
class TeamStats:
    """`/care stats teams`: the forwarded share of the period's conversations, per team."""

    period: str
    opened: int
    forwarded: int  # conversations forwarded at least once
    teams: tuple[TeamFigures, ...]
