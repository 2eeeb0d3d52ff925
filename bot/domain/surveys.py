"""Satisfaction surveys (CSAT): whom to ask after Resolve, and the buttons of the question.

One question per conversation, privately, in the customer's language, some minutes after the
conversation was resolved; the answer is a score from 1 to 5 (bot/domain/csat.py reads one
written in words). The rules that hold a survey back are the courtesy a customer is owed: no
question to someone never answered, or put on a netiquette hold, or asked within the
cooldown, and none where the network would not carry it (no private route, a closed window).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

SCORES = range(1, 6)
CHOICE_PREFIX = "csat:"  # a tapped button's payload: "csat:4"
LOW_SCORE = 2  # this or less pings the owner and the leads
# How long after the question a reply may still be its answer; a reply that is no score, or
# one later than this, is a message like any other.
ANSWER_WINDOW = timedelta(days=3)


class SurveyMode(StrEnum):
    OFF = "off"
    PRIVATE = "private"  # only conversations that had a private part
    ALL = "all"  # public ones too, by DM, where the network reaches a public author privately


class Skip(StrEnum):
    """Why a conversation's survey was not sent."""

    OFF = "off"
    PUBLIC_ONLY = "public_only"  # CSAT=private and the conversation was public throughout
    NEVER_ANSWERED = "never_answered"
    ON_HOLD = "on_hold"
    COOLDOWN = "cooldown"
    UNREACHABLE = "unreachable"  # the network has no private route to this public author
    WINDOW_CLOSED = "window_closed"  # past the network's reply window


@dataclass(frozen=True)
class SurveyCase:
    """What the decision needs to know about a resolved conversation, when its survey is due."""

    mode: SurveyMode
    had_private_part: bool
    answered: bool  # the team answered the customer at least once
    on_hold: bool  # netiquette hold
    last_asked_at: datetime | None  # the person's last survey, on any network
    cooldown: timedelta
    reachable: bool  # privately: a DM the customer wrote, or a network that can start one
    window_closes_at: datetime | None  # None: the network has no reply window
    now: datetime


def decide(case: SurveyCase) -> Skip | None:
    """None: ask; else why not. The order makes the reason the most telling one."""
    if case.mode == SurveyMode.OFF:
        return Skip.OFF
    if not case.answered:
        return Skip.NEVER_ANSWERED
    if case.on_hold:
        return Skip.ON_HOLD
    if case.mode == SurveyMode.PRIVATE and not case.had_private_part:
        return Skip.PUBLIC_ONLY
    if case.last_asked_at is not None and case.now - case.last_asked_at < case.cooldown:
        return Skip.COOLDOWN
    if not case.reachable:
        return Skip.UNREACHABLE
    if case.window_closes_at is not None and case.now >= case.window_closes_at:
        return Skip.WINDOW_CLOSED
    return None


def choices() -> tuple[tuple[str, str], ...]:
    """The buttons, worst first as the question reads: (payload, title). Stars need no
    translation and are what a customer types when they answer in words."""
    return tuple((f"{CHOICE_PREFIX}{score}", "⭐" * score) for score in SCORES)


def score_of_choice(payload: str) -> int | None:
    """The score of a tapped button's payload; None for any other payload."""
    if not payload.startswith(CHOICE_PREFIX):
        return None
    digits = payload.removeprefix(CHOICE_PREFIX)
    return int(digits) if digits.isdigit() and int(digits) in SCORES else None
