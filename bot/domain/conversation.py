"""Conversation lifecycle rules: where an inbound message goes, and what an agent's message does."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from bot.domain.model import Status, Visibility

NOTE_PREFIX = "note:"


class Route(StrEnum):
    NEW = "new"  # open a new conversation (a new root message in Slack)
    FOLLOW_UP = "follow_up"  # into the open conversation's thread
    REOPEN = "reopen"  # recently resolved: reopen it in the same thread


@dataclass(frozen=True)
class PreviousConversation:
    status: Status
    resolved_at: datetime | None


def route_inbound(
    previous: PreviousConversation | None, received_at: datetime, reopen_window: timedelta
) -> Route:
    """One customer, one thread: a follow-up joins the open conversation; a message soon after
    Resolve reopens it; later, a new conversation starts (linking the previous thread)."""
    if previous is None:
        return Route.NEW
    if previous.status != Status.RESOLVED:
        return Route.FOLLOW_UP
    if previous.resolved_at is not None and received_at - previous.resolved_at <= reopen_window:
        return Route.REOPEN
    return Route.NEW


class AgentMessageKind(StrEnum):
    ANSWER = "answer"  # goes to the customer
    NOTE = "note"  # starts with `note:`: internal by choice
    NOT_OWNER = "not_owner"  # somebody else owns the conversation: internal
    NOT_MEMBER = "not_member"  # not in the support channel: never reaches a customer
    RESOLVED = "resolved"  # the conversation is resolved: internal until reopened
    TOO_LONG = "too_long"  # over the network's limit for this kind of answer: not sent
    BY_HAND = "by_hand"  # the network lets no app answer this post: answer there by hand


@dataclass(frozen=True)
class AgentMessage:
    kind: AgentMessageKind
    claims: bool = False  # the writer becomes the owner first
    length: int = 0
    limit: int | None = None


def classify_agent_message(
    *,
    text: str,
    writer: str,
    assignee: str | None,
    status: Status,
    visibility: Visibility,
    length: int,
    public_limit: int | None,
    private_limit: int | None = None,
    member: bool = True,
    by_hand: bool = False,
) -> AgentMessage:
    """Decide what a thread message by an agent is. The order matters: a note is always a note,
    ownership comes before length, and nothing is sent on a resolved conversation."""
    if not member:
        return AgentMessage(AgentMessageKind.NOT_MEMBER)
    if is_note(text):
        return AgentMessage(AgentMessageKind.NOTE)
    if assignee is not None and assignee != writer:
        return AgentMessage(AgentMessageKind.NOT_OWNER)
    if status == Status.RESOLVED:
        return AgentMessage(AgentMessageKind.RESOLVED)
    if by_hand and visibility == Visibility.PUBLIC:
        return AgentMessage(AgentMessageKind.BY_HAND)
    limit = public_limit if visibility == Visibility.PUBLIC else private_limit
    if limit is not None and length > limit:
        return AgentMessage(AgentMessageKind.TOO_LONG, length=length, limit=limit)
    return AgentMessage(AgentMessageKind.ANSWER, claims=assignee is None, length=length)


def is_note(text: str) -> bool:
    return text.lstrip().lower().startswith(NOTE_PREFIX)


def dm_invitation(link: str) -> str:
    """The public reply that moves a conversation to DMs: no personal data in public."""
    return f"We'd like to help you with this privately. Please send us a direct message: {link}"


def private_invitation() -> str:
    """The private reply to a public message that moves the conversation to private messages."""
    return (
        "We'd like to help you with this privately, so we're writing to you here. "
        "Reply to this message and we'll carry on."
    )
