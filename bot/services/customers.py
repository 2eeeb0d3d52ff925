"""Who the customer is: history on the card, `/care customer`, `/care link`, the CRM link."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from typing import Any
from urllib.parse import quote

import structlog
from sqlalchemy.orm import Session

from bot.domain.model import Status
from bot.services.context import Context
from bot.slack.history import PastConversation, customer_report, history_line
from bot.slack.mrkdwn import escape
from storage import repositories as repo
from storage.models import Conversation, Customer

log = structlog.get_logger(__name__)
HISTORY_WINDOW = timedelta(days=30)
LINK_USAGE = "Use: `/care link @handle @other_handle` (add `x:` before a handle for its network)"


class Customers:
    def __init__(
        self, context: Context, labels: Mapping[str, str], crm_url_template: str | None
    ) -> None:
        self.context = context
        self.labels = dict(labels)
        self.crm_url_template = crm_url_template

    def crm_url(self, customer: Customer) -> str | None:
        if not self.crm_url_template:
            return None
        return self.crm_url_template.replace("{handle}", quote(customer.handle)).replace(
            "{network}", customer.network
        )

    def history(self, session: Session, conversation: Conversation) -> str | None:
        """The card's line: "3rd contact in 30 days · last: resolved by @anna 2 days ago"."""
        now = self.context.clock.now()
        customer = conversation.customer
        contacts = repo.contacts_since(session, customer, now - HISTORY_WINDOW)
        earlier = [
            c
            for c in repo.person_conversations(session, customer, limit=5)
            if c.id != conversation.id and c.opened_at <= conversation.opened_at
        ]
        last = self._past(session, earlier[0]) if earlier else None
        return history_line(contacts, last, now)

    def report(self, handle: str) -> tuple[str, list[dict[str, Any]] | None]:
        """`/care customer @handle`: their recent conversations, privately."""
        handle = handle.strip().lstrip("@")
        if not handle:
            return "Use: `/care customer @handle`", None
        with self.context.database.transaction() as session:
            customer = repo.customer_by_handle(session, "x", handle)
            if customer is None:
                return f"No customer @{escape(handle)} has written to us yet.", None
            past = [self._past(session, c) for c in repo.person_conversations(session, customer)]
            return customer_report(
                customer.handle,
                customer.name,
                past,
                self.context.clock.now(),
                crm_url=self.crm_url(customer),
            )

    def link(self, text: str, user: str) -> str:
        """`/care link @a @b`: one person on several accounts; history and priority see all."""
        handles = [_account(word) for word in text.split()]
        if len(handles) != 2 or not all(h for _, h in handles):
            return LINK_USAGE
        with self.context.transaction() as session:
            found = [repo.customer_by_handle(session, network, h) for network, h in handles]
            missing = [f"@{h}" for (_, h), c in zip(handles, found, strict=True) if c is None]
            if missing:
                return f"No customer {', '.join(missing)} has written to us yet. {LINK_USAGE}"
            first, second = found
            assert first is not None and second is not None
            person = repo.person_of(first)
            for customer_id in repo.linked_customer_ids(session, second):
                linked = session.get(Customer, customer_id)
                if linked is not None:
                    linked.person_id = person
            first.person_id = person
            session.flush()
            for conversation in repo.person_conversations(session, first):
                if conversation.status != Status.RESOLVED:  # their cards show the history
                    self.context.effects.refresh_card(session, conversation)
            repo.audit(
                session,
                None,
                user,
                "link_customers",
                self.context.clock.now(),
                handles=[first.handle, second.handle],
            )
        log.info("customer.linked", user=user)
        return (
            f"Linked @{escape(first.handle)} and @{escape(second.handle)}: one person, one history."
        )

    def _past(self, session: Session, conversation: Conversation) -> PastConversation:
        first = repo.first_inbound(session, conversation.id)
        waited = (
            conversation.first_response_at - conversation.opened_at
            if conversation.first_response_at
            else None
        )
        return PastConversation(
            opened_at=conversation.opened_at,
            status=str(conversation.status),
            resolved_at=conversation.resolved_at,
            resolved_by=conversation.resolved_by,
            assignee=conversation.assignee,
            permalink=conversation.slack_permalink,
            first_response=waited,
            network_label=self.labels.get(conversation.account.network, ""),
            visibility=str(conversation.visibility),
            summary=first.text if first else "",
        )


def _account(word: str) -> tuple[str, str]:
    network, _, handle = word.rpartition(":")
    return (network or "x").lower(), handle.strip().lstrip("@")
