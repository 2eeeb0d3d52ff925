"""Events for the company's other systems: what happened to a conversation, as the JSON body
POSTed to EVENTS_WEBHOOK_URL, and how the body is signed. `docs/events.schema.json` publishes
the body's schema; a test keeps the two in step.

A body is a snapshot taken in the transaction of the change it reports, so a receiver sees the
conversation as it was then, however late the delivery. Delivery is at least once: `id` is
made once, when the change is committed, and every retry carries the same one.

Personal data: a body always names the customer by Carebridge's own number (`customer.id`),
their network and their public @handle (empty where the network has none). People's words
(`data.text`, `data.comment`), the customer's display name (`customer.name`) and the network's
own id for them (`customer.external_id`: on WhatsApp, their phone number) are in the body only
with EVENTS_INCLUDE_TEXT=true; otherwise the keys are absent.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

VERSION = 1  # of the body's shape; a change that breaks receivers is a new version
SIGNATURE_HEADER = "X-Carebridge-Signature"
TIMESTAMP_HEADER = "X-Carebridge-Timestamp"
# Keys of `data` that carry what people wrote, and fields of `customer` that identify a person
# beyond their public handle: in a body only with EVENTS_INCLUDE_TEXT=true.
WORDS = frozenset({"text", "comment"})
PERSONAL = ("name", "external_id")


class EventKind(StrEnum):
    OPENED = "conversation.opened"  # a customer's first message opened a conversation
    CUSTOMER_WROTE = "conversation.customer_wrote"  # another message in an existing one
    CLAIMED = "conversation.claimed"  # an agent took an unowned conversation
    TAKEN_OVER = "conversation.taken_over"  # an agent (or a lead) took it from its owner
    ANSWERED = "conversation.answered"  # an agent's answer reached the customer's network
    FORWARDED = "conversation.forwarded"  # handed to another team
    RESOLVED = "conversation.resolved"
    REOPENED = "conversation.reopened"  # by an agent, or by the customer writing again
    CSAT_RECEIVED = "csat.received"  # the customer scored the conversation
    ALERT_FIRED = "alert.fired"  # a response-time warning, breach or escalation


@dataclass(frozen=True)
class ConversationView:
    """A conversation as it stands when the event happens."""

    id: int
    network: str
    account_id: int
    account_name: str | None
    account_handle: str
    visibility: str
    status: str
    priority: str
    assignee: str | None  # a Slack user id
    topic: str | None
    slack_permalink: str | None  # None until the card is posted
    opened_at: datetime
    first_response_at: datetime | None
    resolved_at: datetime | None


@dataclass(frozen=True)
class CustomerView:
    id: int  # Carebridge's own number for them: stable, and no personal data
    network: str
    handle: str  # public @handle without the @; empty where the network has none
    name: str  # personal: only with EVENTS_INCLUDE_TEXT
    external_id: str  # personal: the network's id (a phone number on WhatsApp)


@dataclass(frozen=True)
class Event:
    id: str
    kind: EventKind
    occurred_at: datetime
    conversation: ConversationView
    customer: CustomerView
    data: Mapping[str, Any] = field(default_factory=dict)


def body(event: Event, *, include_text: bool) -> dict[str, Any]:
    """The JSON object a receiver gets (see docs/events.schema.json)."""
    conversation, customer = event.conversation, event.customer
    customer_part: dict[str, Any] = {
        "id": customer.id,
        "network": customer.network,
        "handle": customer.handle,
    }
    if include_text:
        customer_part |= {"name": customer.name, "external_id": customer.external_id}
    data = {
        key: _value(value) for key, value in event.data.items() if include_text or key not in WORDS
    }
    return {
        "id": event.id,
        "type": str(event.kind),
        "version": VERSION,
        "occurred_at": _value(event.occurred_at),
        "conversation": {
            "id": conversation.id,
            "network": conversation.network,
            "account": {
                "id": conversation.account_id,
                "name": conversation.account_name,
                "handle": conversation.account_handle,
            },
            "visibility": conversation.visibility,
            "status": conversation.status,
            "priority": conversation.priority,
            "assignee": conversation.assignee,
            "topic": conversation.topic,
            "slack_permalink": conversation.slack_permalink,
            "opened_at": _value(conversation.opened_at),
            "first_response_at": _value(conversation.first_response_at),
            "resolved_at": _value(conversation.resolved_at),
        },
        "customer": customer_part,
        "data": data,
    }


def encode(event_body: Mapping[str, Any]) -> str:
    """The body's bytes as sent (UTF-8 of this text): stored once, so every retry sends, and
    signs, exactly the same bytes."""
    return json.dumps(event_body, ensure_ascii=False, separators=(",", ":"))


def signature(secret: str, timestamp: int, payload: bytes) -> str:
    """`X-Carebridge-Signature`: `sha256=` and the hex HMAC-SHA256, keyed with
    EVENTS_WEBHOOK_SECRET, of the timestamp in decimal, a dot, and the body's bytes (as Slack
    and Stripe sign): a captured request cannot be replayed with another timestamp."""
    signed = str(timestamp).encode() + b"." + payload
    return "sha256=" + hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()


def verify(
    secret: str, timestamp: str, payload: bytes, given: str, now: datetime, tolerance: int = 300
) -> bool:
    """What a receiver checks: the signature, and a timestamp within `tolerance` seconds."""
    if not timestamp.isdigit() or abs(now.timestamp() - int(timestamp)) > tolerance:
        return False
    return hmac.compare_digest(signature(secret, int(timestamp), payload), given)


def _value(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat().replace("+00:00", "Z")
    if isinstance(value, StrEnum):
        return str(value)
    return value
