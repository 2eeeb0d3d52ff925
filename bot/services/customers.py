"""Who the customer is: history on the card, `/care customer`, `/care link`, the CRM link."""

from __future__ import annotations

import shlex
from collections.abc import Sequence
from datetime import timedelta
from urllib.parse import quote

import structlog
from sqlalchemy.orm import Session

from bot.domain.answers import (
    CommandError,
    CustomerHistory,
    CustomersLinked,
    CustomerUnlinked,
    HistorySummary,
    NoSuchCustomer,
    NotLinked,
    PastConversation,
    Someone,
    Usage,
)
from bot.domain.model import Status
from bot.domain.people import Elsewhere
from bot.networks.base import NetworkSpec
from bot.services.context import Access, Context
from bot.services.handles import parse_handle, shown
from bot.services.people import People
from storage import people
from storage import repositories as repo
from storage.models import Conversation, Customer

log = structlog.get_logger(__name__)
HISTORY_WINDOW = timedelta(days=30)
RECENT = 5  # conversations read for the card's history line
MAX_OPTIONS = 100  # Slack lists at most 100 options


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
        self.people = People(context, self.access)

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
        elsewhere = tuple(
            Elsewhere(self.context.label(c.account.network), c.slack_permalink, c.assignee)
            for c in recent
            if c.account_id != conversation.account_id and c.status != Status.RESOLVED
        )
        return HistorySummary(contacts, last, now, elsewhere)

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

    # --- one person across networks ------------------------------------------------------------
    def link(self, text: str, user: str) -> CustomersLinked | NoSuchCustomer | Usage | CommandError:
        """`/care link @a whatsapp:+39... "facebook:Giulia Rossi"`: one person on several
        accounts or networks; history, priority, VIP status and surveys see all of them."""
        words = _words(text)
        if words is None or len(words) != 2:
            return Usage("link")
        with self.context.transaction() as session:
            found = [self._find(session, word) for word in words]
            for result in found:
                if isinstance(result, CommandError | NoSuchCustomer):
                    return result
            first, second = (c for c in found if isinstance(c, Customer))
            if people.same_person(first, second):
                return CommandError("they are linked already: one person", usage="link")
            self.people.link(session, first, second, user, via="command")
            return CustomersLinked(self._someone(first), self._someone(second))

    def unlink(
        self, text: str, user: str
    ) -> CustomerUnlinked | NotLinked | NoSuchCustomer | Usage | CommandError:
        """`/care unlink @handle`: this account is someone else after all (audited)."""
        words = _words(text)
        if words is None or len(words) != 1:
            return Usage("unlink")
        with self.context.transaction() as session:
            found = self._find(session, words[0])
            if not isinstance(found, Customer):
                return found
            if not self.people.unlink(session, found, user):
                return NotLinked(self._someone(found))
            return CustomerUnlinked(self._someone(found))

    def same_person_options(self, conversation_id: int, text: str) -> list[tuple[int, str]]:
        """The searchable list of Same person as...: recent customers matching `text`, the
        conversation's own person left out. (customer id, label)."""
        with self.context.database.reading() as session:
            conversation = repo.conversation(session, conversation_id)
            if conversation is None:
                return []
            mine = {c.id for c in people.accounts(session, conversation.customer)}
            networks = [spec.name for spec in self.networks]
            found = people.recent_customers(session, networks, text, limit=MAX_OPTIONS + 5)
            return [(c.id, self._label(c)) for c in found if c.id not in mine][:MAX_OPTIONS]

    def link_conversation(self, conversation_id: int, customer_id: int, user: str) -> str | None:
        """Same person as... chosen on a card; None when linked, else what went wrong."""
        standing = self.access.standing(user, self._channel(conversation_id))
        if not standing.member:
            return "Only members of the support channel can link customers."
        with self.context.transaction() as session:
            conversation = repo.conversation(session, conversation_id)
            other = session.get(Customer, customer_id)
            if conversation is None or other is None:
                return "That customer is no longer known to Carebridge."
            if people.same_person(conversation.customer, other):
                return "They are one person already."
            self.people.link(session, conversation.customer, other, user, via="card")
        return None

    def _channel(self, conversation_id: int) -> str:
        with self.context.database.reading() as session:
            conversation = repo.conversation(session, conversation_id)
            return conversation.slack_channel_id if conversation else ""

    def _find(self, session: Session, word: str) -> Customer | NoSuchCustomer | CommandError:
        """A customer as typed: `@handle` or `network:@handle`, a phone number on a network
        whose customers are numbers, or `network:Name` where customers have no handles."""
        prefix, _, rest = word.partition(":")
        spec = next((s for s in self.networks if s.name == prefix.lower()), None)
        if _looks_like_a_number(rest if spec else word):
            digits = "".join(c for c in (rest if spec else word) if c.isdigit())
            numbered = [s for s in self.networks if s.shown_id and (spec is None or s is spec)]
            for network in numbered:
                found = repo.customer_by_external_id(session, network.name, digits)
                if found is not None:
                    return found
            return NoSuchCustomer((f"+{digits}",), usage="link")
        if spec is not None and spec.handles is None:
            named = people.named(session, spec.name, rest.strip())
            if len(named) == 1:
                return named[0]
            if not named:
                return NoSuchCustomer((rest.strip(),), usage="link")
            return CommandError(
                f"{len(named)} {spec.label} customers are called {shown(rest.strip())}: use "
                "Same person as… on the card instead"
            )
        parsed = parse_handle(word, self.networks)
        if isinstance(parsed, CommandError):
            return CommandError(parsed.message, usage="link")
        customer = repo.customer_by_handle(session, parsed.network, parsed.handle)
        return customer if customer is not None else NoSuchCustomer((parsed.handle,), usage="link")

    def _someone(self, customer: Customer) -> Someone:
        spec = next((s for s in self.networks if s.name == customer.network), None)
        label = spec.label if spec else customer.network
        if spec is not None and spec.shown_id is not None:
            name = f"{customer.name} {spec.shown_id(customer.external_id)}".strip()
            return Someone("", name, label)
        if spec is not None and spec.handles is None:
            return Someone("", customer.name, label)
        return Someone(customer.handle, customer.name, label)

    def _label(self, customer: Customer) -> str:
        """Plain text, for the picker: "Giulia Rossi · @giulia · X"."""
        someone = self._someone(customer)
        handle = f"@{someone.handle}" if someone.handle else ""
        parts = [someone.name or "a customer", handle, someone.network_label]
        return " · ".join(p for p in parts if p)

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


def _words(text: str) -> list[str] | None:
    """Words as typed, a quoted name one word ("facebook:Giulia Rossi"); None: unbalanced."""
    try:
        return shlex.split(text.replace("“", '"').replace("”", '"'))
    except ValueError:
        return None


def _looks_like_a_number(text: str) -> bool:
    """ "+39 347 123 4521", "393471234521": a phone number rather than an @handle."""
    compact = text.strip().replace(" ", "").replace("-", "")
    return compact.startswith("+") or (compact.isdigit() and len(compact) >= 6)
