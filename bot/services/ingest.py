"""Inbound flow: a network's messages become stored messages, conversations and Slack posts;
what else it reports (edits, deletions, reactions, answers given on the network) is applied."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import structlog
from sqlalchemy.orm import Session

from bot.clock import Clock
from bot.domain.conversation import PreviousConversation, Route, route_inbound
from bot.domain.csat import Rating
from bot.domain.events import EventKind
from bot.domain.model import (
    Delivery,
    Direction,
    InboundMessage,
    NetworkEvent,
    Status,
    Visibility,
)
from bot.domain.priority import PriorityResult
from bot.domain.reading import Reading
from bot.domain.sentiment import NEGATIVE_BELOW
from bot.services.delivery import resume_kept
from bot.services.events import Events
from bot.services.notices import Notices
from bot.services.outbox import Outbox
from bot.services.people import People
from bot.services.priority import Prioritizer
from bot.services.sla import Deadlines
from bot.services.surveys import Surveys
from bot.services.topics import SUGGESTED
from bot.services.updates import Updates
from storage import people as person_rows
from storage import repositories as repo
from storage.models import ChannelAccount, Conversation, Customer, Message

log = structlog.get_logger(__name__)
Readings = dict[tuple[str, str], Reading]  # by (network, external id)


class Ingest:
    def __init__(
        self,
        outbox: Outbox,
        clock: Clock,
        deadlines: Deadlines,
        notices: Notices,
        prioritizer: Prioritizer,
        updates: Updates,
        *,
        reopen_window: timedelta,
        suggest_topic: Callable[[str], str | None] = lambda text: None,
        surveys: Surveys | None = None,
        people: People | None = None,
        events: Events | None = None,
    ) -> None:
        self.events = events or Events()
        self.surveys = surveys
        self.people = people
        self.suggest_topic = suggest_topic
        self.updates = updates
        self.outbox = outbox
        self.deadlines = deadlines
        self.notices = notices
        self.prioritizer = prioritizer
        self.clock = clock
        self.reopen_window = reopen_window

    @staticmethod
    def vips_first(session: Session, events: Sequence[NetworkEvent]) -> list[NetworkEvent]:
        """The messages of VIPs first, then the rest, each author's in their order: a page
        stored in several transactions then gives the outbox the VIPs' cards first."""
        handles: defaultdict[str, set[str]] = defaultdict(set)
        for event in events:
            if isinstance(event, InboundMessage):
                handles[event.network].add(event.author.handle.lower())
        vips = {
            (network, handle)
            for network, names in handles.items()
            for handle in repo.vip_notes(session, network, names)
        }

        def is_vip(event: NetworkEvent) -> bool:
            author = event.author.handle.lower() if isinstance(event, InboundMessage) else None
            return (event.network, author) in vips

        return sorted(events, key=lambda event: not is_vip(event))  # stable

    @staticmethod
    def read(events: Iterable[NetworkEvent]) -> Readings:
        """What the messages among `events` say: read before the transaction that stores them
        (see bot/domain/reading.py), and given to `ingest`."""
        return {
            (e.network, e.external_id): Reading.of(e.text)
            for e in events
            if isinstance(e, InboundMessage)
        }

    def ingest(
        self,
        session: Session,
        account: ChannelAccount,
        events: Iterable[NetworkEvent],
        readings: Readings | None = None,
    ) -> int:
        """Store new messages and apply the other events, in the caller's transaction; return
        how many messages were new. A repeated delivery or poll changes nothing. `readings`
        (from `read`) saves reading the messages inside the transaction."""
        events = list(events)
        messages = sorted(
            (e for e in events if isinstance(e, InboundMessage)), key=lambda m: m.created_at
        )
        page = _Page.read(session, messages)
        page.readings = readings or {}
        arrivals: list[_Arrival] = []
        # Two passes: first the rows and what they decide (route, priority, deadlines), all
        # inserted in one flush; then what needs their ids (outbox jobs, notices, audit). A
        # flush a message was more than half the cost of a backlog.
        with session.no_autoflush:
            for inbound in messages:
                if inbound.author.external_id == account.external_id:
                    continue  # the brand's own words are never mirrored back
                if (inbound.network, inbound.external_id) in page.stored:
                    continue  # fetched before: stored once, however often a poll brings it
                arrivals.append(self._store(session, account, inbound, page))
                page.stored.add((inbound.network, inbound.external_id))
        session.flush()
        for arrival in arrivals:
            self._follow_up(session, arrival)
        for event in events:  # after the messages they may be about, in the network's order
            if not isinstance(event, InboundMessage):
                self.updates.apply(session, account, event)
        return len(arrivals)

    def _store(
        self, session: Session, account: ChannelAccount, inbound: InboundMessage, page: _Page
    ) -> _Arrival:
        now = self.clock.now()
        author = (inbound.network, inbound.author.external_id)
        customer = page.customers.get(author)
        new_customer = customer is None
        if customer is None:
            customer = Customer(
                network=inbound.network,
                external_id=inbound.author.external_id,
                first_seen_at=now,
                vip_note=None,
            )
            session.add(customer)
            page.customers[author] = customer
        repo.update_customer(customer, inbound.author, now)
        person = page.person(customer)
        previous = page.latest(session, customer, account.id)
        state = (
            None
            if previous is None
            else PreviousConversation(previous.status, previous.resolved_at)
        )
        rating = None
        if previous is not None and previous.status == Status.RESOLVED and self.surveys:
            rating = self.surveys.read_answer(session, previous, inbound)
            # "5, ma il rimborso quando arriva?": a score, and a new question that reopens it.
            if rating is not None and "?" not in rating.comment:
                message = _message(previous, customer, inbound)
                session.add(message)  # with the conversation it rates, which stays resolved
                return _Arrival(Route.FOLLOW_UP, previous, message, customer, None, rating=rating)
        route = route_inbound(state, inbound.created_at, self.reopen_window)

        if route == Route.NEW or previous is None:
            conversation = Conversation(
                account=account,
                customer=customer,
                visibility=inbound.visibility,
                status=Status.OPEN,
                slack_channel_id=account.slack_channel_id,
                opened_at=inbound.created_at,
                last_inbound_at=inbound.created_at,
                previous_id=previous.id if previous else None,
                inbound_count=0,
                card_version=0,
                reopened_count=0,
                by_hand=False,  # unflushed, a column default is still None here
            )
            session.add(conversation)
            page.opened[person].append(conversation)
        else:
            conversation = previous
        message = _message(conversation, customer, inbound)
        reading = page.readings.get((inbound.network, inbound.external_id)) or Reading.of(
            inbound.text
        )
        message.negative = reading.sentiment <= NEGATIVE_BELOW
        session.add(message)
        conversation.inbound_count += 1
        conversation.last_inbound_at = max(conversation.last_inbound_at, inbound.created_at)

        # Priority first: it picks the response targets and the order of the Slack posts.
        previous_priority = conversation.priority
        since = now - timedelta(days=self.prioritizer.rules.repeat_window_days)
        priority = self.prioritizer.assess(
            conversation,
            customer,
            message,
            vip_note=page.vip_notes.get((inbound.network, customer.handle.lower()))
            or (person_rows.vip_note(session, customer) if customer.person_id else None),
            contacts=page.contacts_since(session, customer, since),
            reading=reading,
        )
        arrival = _Arrival(route, conversation, message, customer, priority, reading)
        arrival.new_customer, arrival.rating = new_customer, rating
        if route == Route.NEW:
            self.deadlines.opened(conversation, message)
            conversation.topic = self.suggest_topic(inbound.text)
            conversation.topic_by = SUGGESTED if conversation.topic else None
            return arrival
        # The customer chose where to write last: answers follow them there (a DM after
        # "Move to DM" turns the conversation private, in the same thread).
        arrival.changed = conversation.visibility != inbound.visibility
        if conversation.by_hand:  # they wrote to the brand: answered from Slack again
            arrival.changed = True
            conversation.by_hand = False
        arrival.changed |= conversation.priority != previous_priority
        conversation.visibility = inbound.visibility
        if route == Route.REOPEN:
            conversation.status, conversation.resolved_at = Status.OPEN, None
            conversation.resolved_by = None
            conversation.reopened_count += 1
            arrival.changed = True
        elif conversation.status == Status.WAITING_ON_CUSTOMER:
            conversation.status = Status.OPEN
            arrival.changed = True
        self.deadlines.customer_wrote(conversation, message)
        return arrival

    def _follow_up(self, session: Session, arrival: _Arrival) -> None:
        """What a stored message sets off once it has an id: the Slack posts, the on-call
        agent's ping for an urgent conversation (after its card), the notices."""
        conversation, message, customer = arrival.conversation, arrival.message, arrival.customer
        if arrival.rating is not None and self.surveys is not None:
            self.surveys.answered(session, conversation, message, arrival.rating)
            if arrival.priority is None:
                return  # only a score: nothing else to do
        bound = log.bind(
            conversation_id=conversation.id, network=message.network, route=arrival.route
        )
        if arrival.route == Route.NEW:
            self.outbox.post_card(session, conversation)
        else:
            if arrival.route == Route.REOPEN:
                now = self.clock.now()
                repo.audit(
                    session, conversation.id, "carebridge", "reopen", now, reason="customer wrote"
                )
            self.outbox.mirror(session, conversation, message)
            if message.visibility == Visibility.PRIVATE:  # the reply window is open again
                resume_kept(self.outbox, self.clock.now(), session, conversation)
        self.outbox.copy_media(session, conversation, message)
        reading = arrival.reading
        if self.people and reading and (reading.identifiers or arrival.new_customer):
            suggested = self.people.noticed(
                session, customer, reading.identifiers, self.clock.now(), new=arrival.new_customer
            )
            arrival.changed |= suggested and arrival.route != Route.NEW  # a new card has it
        if arrival.priority is not None:
            self.prioritizer.ping_if_urgent(session, conversation, customer, arrival.priority)
        if arrival.reading is not None:
            self.notices.on_inbound(session, conversation, message, customer, arrival.reading)
        if arrival.changed:
            self.outbox.refresh_card(session, conversation)
        if arrival.route == Route.REOPEN:
            self.events.emit(session, EventKind.REOPENED, conversation, by=None)
        kind = EventKind.OPENED if arrival.route == Route.NEW else EventKind.CUSTOMER_WROTE
        self.events.emit(session, kind, conversation, **_written(message))
        if arrival.route == Route.NEW:
            bound.info("conversation.opened", visibility=message.visibility)
        else:
            bound.info("conversation.customer_wrote")


def _written(message: Message) -> dict[str, object]:
    """An event's data about a customer's message (`text` only with EVENTS_INCLUDE_TEXT); the
    link of a public post only: a private message's may name the customer's account."""
    public = message.visibility == Visibility.PUBLIC
    return {
        "message_id": message.id,
        "visibility": message.visibility,
        "written_at": message.created_at,
        "permalink": (message.permalink or None) if public else None,
        "attachments": len(message.attachments or ()),
        "text": message.text,
    }


def _message(conversation: Conversation, customer: Customer, inbound: InboundMessage) -> Message:
    return Message(
        conversation=conversation,
        direction=Direction.INBOUND,
        visibility=inbound.visibility,
        network=inbound.network,
        external_id=inbound.external_id,
        permalink=inbound.permalink,
        author=inbound.author.handle,
        text=inbound.text,
        created_at=inbound.created_at,
        delivery=Delivery.RECEIVED,
        customer=customer,
        attachments=[
            {"kind": str(a.kind), "url": a.url, "title": a.title} for a in inbound.attachments
        ],
        in_reply_to_external_id=inbound.in_reply_to or None,
        negative=False,
    )


@dataclass(slots=True)
class _Arrival:
    """A message stored by the first pass, for the second."""

    route: Route
    conversation: Conversation
    message: Message
    customer: Customer
    priority: PriorityResult | None  # None: a survey's answer
    reading: Reading | None = None
    changed: bool = False
    rating: Rating | None = None  # the message answers the conversation's survey
    new_customer: bool = False


@dataclass
class _Page:
    """What a page of messages needs to know before it is stored, read in three queries
    rather than three for each message: which are stored already, their authors as known
    customers, and the VIP notes of their handles (all keyed by network). While it is stored,
    the conversations it opened, by person: not in the database until the page's flush."""

    stored: set[tuple[str, str]]
    customers: dict[tuple[str, str], Customer]
    vip_notes: dict[tuple[str, str], str]
    opened: defaultdict[object, list[Conversation]] = field(
        default_factory=lambda: defaultdict(list)
    )
    readings: Readings = field(default_factory=dict)

    @classmethod
    def read(cls, session: Session, messages: Iterable[InboundMessage]) -> _Page:
        page = cls(set(), {}, {})
        by_network: dict[str, list[InboundMessage]] = defaultdict(list)
        for message in messages:
            by_network[message.network].append(message)
        for network, group in by_network.items():
            ids = {m.external_id for m in group}
            page.stored |= {(network, i) for i in repo.stored_message_ids(session, network, ids)}
            authors = {m.author.external_id for m in group}
            for author, customer in repo.customers_by_id(session, network, authors).items():
                page.customers[network, author] = customer
            handles = {m.author.handle.lower() for m in group}
            for handle, note in repo.vip_notes(session, network, handles).items():
                page.vip_notes[network, handle] = note
        return page

    @staticmethod
    def person(customer: Customer) -> object:
        """Whose conversations these are: the linked person's, or a customer new on this page."""
        if customer.id is None:
            return customer
        if customer.person_id is not None:
            return ("person", customer.person_id)
        return ("customer", customer.id)

    def latest(self, session: Session, customer: Customer, account_id: int) -> Conversation | None:
        """The person's latest conversation with the account, opened on this page or before.
        Someone never seen before has none stored: for a backlog of new customers that is a
        query a message saved."""
        opened = self.opened.get(self.person(customer))
        if opened:
            return opened[-1]
        if customer.id is None:
            return None
        return repo.latest_conversation_of_person(session, customer, account_id)

    def contacts_since(self, session: Session, customer: Customer, since: datetime) -> int:
        """The person's conversations opened since `since`, stored or on this page."""
        on_page = sum(c.opened_at >= since for c in self.opened.get(self.person(customer), ()))
        if customer.id is None:
            return on_page
        return repo.contacts_since(session, customer, since) + on_page
