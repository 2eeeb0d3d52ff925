"""Tell the company's other systems what happens to conversations (EVENTS_WEBHOOK_URL).

A service calls `emit` in the transaction of the change it reports: the body is a snapshot
taken then, and its POST an outbox job written with the change, so an event is neither lost
by a crash nor sent for a change that was rolled back. Without EVENTS_WEBHOOK_URL, `emit`
does nothing. bot/domain/events.py says what a body holds; bot/services/event_delivery.py
sends it.
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy.orm import Session

from bot.domain.events import ConversationView, CustomerView, Event, EventKind, body, encode
from bot.services.outbox import Outbox
from storage.models import Conversation


class Events:
    def __init__(self, outbox: Outbox | None = None, *, include_text: bool = False) -> None:
        self._outbox = outbox  # None: no EVENTS_WEBHOOK_URL, nothing is sent
        self.include_text = include_text  # EVENTS_INCLUDE_TEXT

    @property
    def enabled(self) -> bool:
        return self._outbox is not None

    def emit(
        self, session: Session, kind: EventKind, conversation: Conversation, **data: Any
    ) -> None:
        """Enqueue `kind` about `conversation`, with `data` (datetimes as they are; `text` and
        `comment` are dropped unless EVENTS_INCLUDE_TEXT)."""
        if self._outbox is None:
            return
        event = Event(
            str(uuid.uuid4()),
            kind,
            self._outbox.clock.now(),
            _conversation(conversation),
            _customer(conversation),
            data,
        )
        payload = encode(body(event, include_text=self.include_text))
        self._outbox.post_event(session, event.id, conversation.id, payload)


def _conversation(conversation: Conversation) -> ConversationView:
    account = conversation.account
    return ConversationView(
        id=conversation.id,
        network=account.network,
        account_id=account.id,
        account_name=account.name,
        account_handle=account.handle,
        visibility=str(conversation.visibility),
        status=str(conversation.status),
        priority=conversation.priority,
        assignee=conversation.assignee,
        topic=conversation.topic,
        slack_permalink=conversation.slack_permalink,
        opened_at=conversation.opened_at,
        first_response_at=conversation.first_response_at,
        resolved_at=conversation.resolved_at,
    )


def _customer(conversation: Conversation) -> CustomerView:
    customer = conversation.customer
    return CustomerView(
        id=customer.id,
        network=customer.network,
        handle=customer.handle,
        name=customer.name,
        external_id=customer.external_id,
    )
