"""The vocabulary of social customer care, free of any vendor SDK or database."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum


class Visibility(StrEnum):
    PUBLIC = "public"  # a post on the network: answered with a public reply
    PRIVATE = "private"  # a direct message: answered by DM


class Status(StrEnum):
    OPEN = "open"  # the customer waits for us
    WAITING_ON_CUSTOMER = "waiting_on_customer"  # we answered; the ball is with the customer
    RESOLVED = "resolved"


class Direction(StrEnum):
    INBOUND = "inbound"  # from the customer
    OUTBOUND = "outbound"  # to the customer
    NOTE = "note"  # internal, stays in Slack
    NOTICE = "notice"  # sent by the bot itself


class Delivery(StrEnum):
    RECEIVED = "received"  # inbound, stored
    PENDING = "pending"  # outbound, waiting in the outbox
    SENT = "sent"
    FAILED = "failed"  # gave up after retries; the agent can retry
    NOT_SENT = "not_sent"  # refused before sending (too long, note, not the owner...)


@dataclass(frozen=True)
class Author:
    """A person on a network, as the network describes them."""

    external_id: str
    handle: str
    name: str
    followers: int = 0
    verified: bool = False
    profile_url: str = ""


@dataclass(frozen=True)
class InboundMessage:
    """A customer's message, normalised by a channel adapter."""

    network: str
    external_id: str
    author: Author
    text: str
    created_at: datetime
    visibility: Visibility
    permalink: str = ""


@dataclass(frozen=True)
class SentMessage:
    """What a network answered when we delivered a message."""

    external_id: str
    permalink: str = ""
