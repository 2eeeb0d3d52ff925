"""One customer across networks: links suggested from what customers wrote (the same phone
number or e-mail, the same order number within a week), decided by the team on the card, made
by hand (`/care link`, Same person as...), and undone (`/care unlink`). Never made silently.

Identifiers are kept as digests: Carebridge can tell two customers wrote the same number
without keeping a directory of numbers; a card names an order code, never a phone or e-mail.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from datetime import datetime, timedelta

import structlog
from sqlalchemy.orm import Session

from bot.domain.facts import Refusal
from bot.domain.identifiers import Identifier, IdentifierKind, phone_identifier
from bot.domain.people import Suggested
from bot.services.context import Access, Context
from storage import people
from storage import repositories as repo
from storage.models import Customer, LinkSuggestion

log = structlog.get_logger(__name__)
ORDER_MATCH = timedelta(days=7)  # one order number, two networks, within a week: one buyer


def digest(identifier: Identifier) -> str:
    return hashlib.sha256(f"{identifier.kind}:{identifier.value}".encode()).hexdigest()


class People:
    def __init__(self, context: Context, access: Access | None = None) -> None:
        self.context = context
        self.access = access or Access()

    # --- while a message is stored -------------------------------------------------------------
    def noticed(
        self,
        session: Session,
        customer: Customer,
        identifiers: Sequence[Identifier],
        now: datetime,
        *,
        new: bool = False,
    ) -> bool:
        """Remember what identifies `customer`: what they wrote, and, when they are `new`, a
        number that is their id (WhatsApp's). True when a new suggestion was made (their card
        shows it)."""
        spec = self.context.accounts.spec(customer.network)
        own = phone_identifier(customer.external_id) if new and spec and spec.shown_id else None
        suggested = False
        for identifier in (*identifiers, *([own] if own else [])):
            key = digest(identifier)
            if not people.remember(session, customer, identifier.kind, key, identifier.shown, now):
                continue
            since = now - ORDER_MATCH if identifier.kind == IdentifierKind.ORDER else None
            session.flush()
            for other in people.others_with(session, customer, identifier.kind, key, since):
                suggested |= self._suggest(session, customer, other, identifier, now)
        return suggested

    def _suggest(
        self,
        session: Session,
        customer: Customer,
        other: Customer,
        identifier: Identifier,
        now: datetime,
    ) -> bool:
        if people.same_person(customer, other):
            return False
        if people.suggestion_between(session, customer.id, other.id) is not None:
            return False  # proposed before: decided, or still on a card
        low, high = sorted((customer.id, other.id))
        session.add(
            LinkSuggestion(
                customer_id=low,
                other_id=high,
                reason=str(identifier.kind),
                shown=identifier.shown,
                status="open",
                created_at=now,
            )
        )
        log.info("person.link_suggested", reason=str(identifier.kind))
        return True

    # --- what a card shows ---------------------------------------------------------------------
    def suggestions(self, session: Session, customer: Customer) -> tuple[Suggested, ...]:
        mine = {c.id for c in people.accounts(session, customer)}
        found = []
        for suggestion in people.open_suggestions(session, mine):
            other = suggestion.other if suggestion.customer_id in mine else suggestion.customer
            if other.id in mine:
                continue  # linked since, by another way
            found.append(
                Suggested(
                    suggestion.id,
                    other.name,
                    other.handle,
                    self.context.label(other.network),
                    suggestion.reason,
                    suggestion.shown,
                )
            )
        return tuple(found)

    # --- the team's decisions ------------------------------------------------------------------
    def decide(self, suggestion_id: int, user: str, *, same: bool) -> bool:
        """**Link** or **Not the same** on a card; False when it was decided already."""
        with self.context.database.reading() as session:
            suggestion = session.get(LinkSuggestion, suggestion_id)
            latest = (
                repo.person_conversations(session, suggestion.customer, limit=1)
                if suggestion
                else []
            )
            channel = latest[0].slack_channel_id if latest else ""
        if not self.access.standing(user, channel).member:
            with self.context.transaction() as session:
                refusal = Refusal("not_member")
                self.context.outbox.tell(session, channel=channel, user=user, fact=refusal)
            return False
        with self.context.transaction() as session:
            suggestion = session.get(LinkSuggestion, suggestion_id, with_for_update=True)
            if suggestion is None or suggestion.status != "open":
                return False
            now = self.context.clock.now()
            suggestion.status = "linked" if same else "rejected"
            suggestion.decided_by, suggestion.decided_at = user, now
            if same:
                self.link(session, suggestion.customer, suggestion.other, user, via="suggestion")
            else:
                repo.audit(
                    session,
                    None,
                    user,
                    "not_same_person",
                    now,
                    customers=[suggestion.customer_id, suggestion.other_id],
                )
                self._refresh(session, suggestion.customer, suggestion.other)
        return True

    def link(
        self, session: Session, first: Customer, second: Customer, user: str, *, via: str
    ) -> None:
        """Make two customers one person, audited; their open cards show it."""
        now = self.context.clock.now()
        people.join(session, [first, second], user, now)
        for suggestion in people.open_suggestions(session, [first.id, second.id]):
            if people.same_person(suggestion.customer, suggestion.other):
                suggestion.status, suggestion.decided_by, suggestion.decided_at = (
                    "linked",
                    user,
                    now,
                )
        repo.audit(
            session,
            None,
            user,
            "link_customers",
            now,
            via=via,
            customers=[first.id, second.id],
            handles=[first.handle or first.name, second.handle or second.name],
        )
        self._refresh(session, first)
        log.info("person.linked", user=user, via=via)

    def unlink(self, session: Session, customer: Customer, user: str) -> bool:
        """`customer` is someone else after all; False when they were linked to no one."""
        if customer.person_id is None:
            return False
        others = [c for c in people.accounts(session, customer) if c.id != customer.id]
        people.split(session, customer)
        now = self.context.clock.now()
        repo.audit(
            session,
            None,
            user,
            "unlink_customer",
            now,
            customers=[customer.id, *(c.id for c in others)],
            handles=[customer.handle or customer.name],
        )
        self._refresh(session, customer, *others[:1])
        log.info("person.unlinked", user=user)
        return True

    def _refresh(self, session: Session, *customers: Customer) -> None:
        """The open cards of these customers' people show the change."""
        seen: set[int] = set()
        for customer in customers:
            for conversation in repo.person_conversations(session, customer):
                if conversation.id in seen:
                    continue
                seen.add(conversation.id)
                self.context.outbox.refresh_card(session, conversation)
