"""Who the customer is: history on the card, `/care customer`, `/care link`, the CRM link."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from urllib.parse import quote

import structlog
from sqlalchemy.orm import Session

from bot.domain.answers import (
    CommandError,
    CustomerHistory,
    CustomersLinked,
    HistorySummary,
    NoSuchCustomer,
    PastConversation,
    Usage,
)
from bot.domain.model import Status
from bot.networks.base import NetworkSpec
from bot.services.context import Access, Context
from bot.services.handles import Handle, parse_handle
from storage import people
from storage import repositories as repo
from storage.models import Conversation, Customer

log = structlog.get_logger(__name__)
HISTORY_WINDOW = timedelta(days=30)
RECENT = 5  # conversations read for the card's history line


class Customers:
    def __init__(
        self,
        context: Context,
        networks: Sequence[NetworkSpec],
        crm_url_template: str | None,
        access: Access | None = None,
    ) -> None:
        self.context = context
        self.networks = list(networks)
        self.crm_url_template = crm_url_template
        self.access = access or Access()

    def crm_url(self, customer: Customer) -> str | None:
        if not self.crm_url_template:
            return None
        return self.crm_url_template.replace("{handle}", quote(customer.handle, safe="")).replace(
            "{network}", quote(customer.network, safe="")
        )

    def history(self, session: Session, conversation: Conversation) -> HistorySummary:
        """For the card: "3rd contact in 30 days · last: resolved by @anna 2 days ago"."""
        now = self.context.clock.now()
        customer, since = conversation.customer, now - HISTORY_WINDOW
        recent = repo.person_conversations(session, customer, limit=RECENT)
        # Newest first: when the list ends before the window does, it holds every contact in
        # it, and counting them saves a query a card (most customers have few conversations).
        if len(recent) < RECENT or recent[-1].opened_at < since:
            contacts = sum(c.opened_at >= since for c in recent)
        else:
            contacts = repo.contacts_since(session, customer, since)
        earlier = [
            c for c in recent if c.id != conversation.id and c.opened_at <= conversation.opened_at
        ]
        last = self._past(session, earlier[0]) if earlier else None
        return HistorySummary(contacts, last, now)

    def report(
        self, text: str, user: str = ""
    ) -> CustomerHistory | NoSuchCustomer | Usage | CommandError:
        """`/care customer @handle` (or a phone number, on a network whose customers are
        numbers): their recent conversations, privately."""
        if not text.strip():
            return Usage("customer")
        if _looks_like_a_number(text):
            return self._by_number(text, user)
        wanted = parse_handle(text.split()[0], self.networks)
        if isinstance(wanted, CommandError):
            return wanted
        with self.context.database.reading() as session:
            customer = repo.customer_by_handle(session, wanted.network, wanted.handle)
            if customer is None:
                return NoSuchCustomer((wanted.handle,))
            past = tuple(
                self._past(session, c) for c in repo.person_conversations(session, customer)
            )
            return CustomerHistory(
                customer.handle,
                customer.name,
                past,
                self.crm_url(customer),
                self.context.clock.now(),
            )

    def _by_number(self, text: str, user: str) -> CustomerHistory | NoSuchCustomer | CommandError:
        """A customer known by their phone number (WhatsApp): the full number is shown, to a
        member of a support channel the customer wrote to only, as on no card."""
        digits = "".join(c for c in text if c.isdigit())
        numbered = [spec for spec in self.networks if spec.shown_id is not None]
        with self.context.database.reading() as session:
            customer = next(
                (
                    found
                    for spec in numbered
                    if (found := repo.customer_by_external_id(session, spec.name, digits))
                ),
                None,
            )
            if customer is None:
                return NoSuchCustomer((f"+{digits}",))
            conversations = repo.person_conversations(session, customer)
            channels = {c.slack_channel_id for c in conversations}
            past = tuple(self._past(session, c) for c in conversations)
        if not any(self.access.is_member(user, channel) for channel in channels):
            return CommandError("only members of the customer's support channel see their number")
        return CustomerHistory(
            "", customer.name, past, self.crm_url(customer), self.context.clock.now(), f"+{digits}"
        )

    def link(self, text: str, user: str) -> CustomersLinked | NoSuchCustomer | Usage | CommandError:
        """`/care link @a @b`: one person on several accounts; history and priority see all."""
        words = text.split()
        if len(words) != 2:
            return Usage("link")
        handles: list[Handle] = []
        for word in words:
            parsed = parse_handle(word, self.networks)
            if isinstance(parsed, CommandError):
                return CommandError(parsed.message, usage="link")
            handles.append(parsed)
        with self.context.transaction() as session:
            found = [repo.customer_by_handle(session, h.network, h.handle) for h in handles]
            missing = tuple(h.handle for h, c in zip(handles, found, strict=True) if c is None)
            first, second = found
            if missing or first is None or second is None:
                return NoSuchCustomer(missing, usage="link")
            now = self.context.clock.now()
            people.join(session, [first, second], user, now)
            for conversation in repo.person_conversations(session, first):
                if conversation.status != Status.RESOLVED:  # their cards show the history
                    self.context.outbox.refresh_card(session, conversation)
            repo.audit(
                session,
                None,
                user,
                "link_customers",
                now,
                handles=[first.handle, second.handle],
                customers=[first.id, second.id],
            )
            answer = CustomersLinked(first.handle, second.handle)
        log.info("customer.linked", user=user)
        return answer

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
            network_label=self.context.label(conversation.account.network),
            visibility=str(conversation.visibility),
            summary=first.text if first else "",
            account_handle=conversation.account.handle,
        )


def _looks_like_a_number(text: str) -> bool:
    """ "+39 347 123 4521", "393471234521": a phone number rather than an @handle."""
    compact = text.strip().replace(" ", "").replace("-", "")
    return compact.startswith("+") or (compact.isdigit() and len(compact) >= 6)
