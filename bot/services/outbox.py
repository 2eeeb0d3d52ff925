"""Enqueue the side effects of a state change, inside the transaction that makes the change.

Job kinds, their payloads, idempotency keys and ordering live here, so every service asks for
"post the card" or "tell this agent" the same way. Payloads are typed: each kind has its
dataclass, stored as JSON and read back by the job's handler (`read`). Slack jobs carry ids and
facts, never Slack text: `bot/slack` renders when the job runs.
"""

from __future__ import annotations

import dataclasses
import typing
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy.orm import Session

from bot.clock import Clock
from bot.domain import facts
from bot.domain.facts import Fact
from storage.models import Conversation, Message
from storage.outbox_rows import NewJob, enqueue

POST_CARD = "slack.post_card"
UPDATE_CARD = "slack.update_card"
MIRROR_MESSAGE = "slack.mirror_message"
COPY_MEDIA = "slack.copy_media"
POST_ANSWER = "slack.post_answer"
LISTEN_CARD = "slack.listen_card"
TEAM_CARD = "slack.team_card"
UPDATE_MIRROR = "slack.update_mirror"
THREAD_MESSAGE = "slack.thread_message"
CHANNEL_MESSAGE = "slack.channel_message"
EPHEMERAL = "slack.ephemeral"
REACTION = "slack.reaction"
PUBLISH_HOME = "slack.publish_home"
DIGEST = "slack.digest"
DELIVER = "network.deliver"
PROCESS_INBOX = "inbox.process"
HIDE = "network.hide"
REOPEN = "network.reopen"
CRM_LOOKUP = "crm.lookup"
LOOKUPS = frozenset({CRM_LOOKUP})  # a CRM that answers slowly: a worker of their own
POST_EVENT = "events.post"
EVENTS = frozenset({POST_EVENT})  # to the company's other systems: a worker of their own
EVENTS_LANE = "events"
CUSTOMER_FACING = frozenset(
    {DELIVER, HIDE, REOPEN}
)  # what a customer waits for: a worker of its own

# Higher runs first: an agent waiting for feedback beats a backlog of mirrored messages, and
# among mirrored messages a VIP's or an angry customer's go before ordinary ones.
MIRROR_PRIORITY, FEEDBACK_PRIORITY, DELIVERY_PRIORITY = 0, 10, 20
MIRROR_BOOST = {"urgent": 6, "high": 3, "normal": 0, "low": -1}
LOOKUP_PRIORITY = -10  # facts for a card already posted: below every post


# --- payloads -------------------------------------------------------------------------------------
@dataclass(frozen=True)
class CardJob:
    conversation_id: int


@dataclass(frozen=True)
class MirrorJob:
    message_id: int


@dataclass(frozen=True)
class MediaJob:
    message_id: int  # a customer's message whose media are copied into the thread


@dataclass(frozen=True)
class ListenJob:
    post_id: int  # a post found by listening: its card in the listening channel


@dataclass(frozen=True)
class ForwardJob:
    forward_id: int


@dataclass(frozen=True)
class ThreadPost:
    conversation_id: int
    fact: Fact


@dataclass(frozen=True)
class ChannelPost:
    channel: str
    fact: Fact


@dataclass(frozen=True)
class PrivateNote:
    """An ephemeral message to one agent."""

    channel: str
    user: str
    fact: Fact
    thread_ts: str | None = None


@dataclass(frozen=True)
class ReactionJob:
    channel: str
    ts: str
    name: str


@dataclass(frozen=True)
class HomeJob:
    user: str


@dataclass(frozen=True)
class DeliveryJob:
    message_id: int


@dataclass(frozen=True)
class ReopenJob:
    message_id: int  # the kept answer whose conversation is reopened
    by: str  # the Slack user who asked


@dataclass(frozen=True)
class HideJob:
    message_id: int
    hidden: bool
    by: str | None = None  # the Slack user; None: Carebridge itself


@dataclass(frozen=True)
class InboxJob:
    inbox_id: int


@dataclass(frozen=True)
class DigestJob:
    channel: str
    since: datetime
    until: datetime


@dataclass(frozen=True)
class CrmLookupJob:
    customer_id: int


@dataclass(frozen=True)
class EventJob:
    event_id: str
    body: str  # the JSON as sent and signed, byte for byte, on every attempt


Payload = (
    CardJob
    | MirrorJob
    | MediaJob
    | ListenJob
    | ForwardJob
    | ThreadPost
    | ChannelPost
    | PrivateNote
    | ReactionJob
    | HomeJob
    | DeliveryJob
    | InboxJob
    | HideJob
    | ReopenJob
    | DigestJob
    | CrmLookupJob
    | EventJob
)
P = TypeVar("P", bound=Payload)


def write(payload: Payload) -> dict[str, Any]:
    """A payload as the JSON the outbox row keeps."""
    data: dict[str, Any] = {}
    for item in dataclasses.fields(payload):
        value = getattr(payload, item.name)
        if item.name == "fact":
            data[item.name] = facts.encode(value)
        elif isinstance(value, datetime):
            data[item.name] = value.isoformat()
        else:
            data[item.name] = value
    return data


def read(kind: type[P], data: Mapping[str, Any]) -> P:
    """The payload `write` stored; ValueError when the row holds something else."""
    hints = typing.get_type_hints(kind)
    values: dict[str, Any] = {}
    for item in dataclasses.fields(kind):
        if item.name not in data:
            if item.default is dataclasses.MISSING:
                raise ValueError(f"{kind.__name__} payload without {item.name}")
            continue
        value = data[item.name]
        if item.name == "fact":
            value = facts.decode(value)
        elif hints[item.name] is datetime:
            value = datetime.fromisoformat(value)
        elif hints[item.name] is int and not isinstance(value, int):
            raise ValueError(f"{kind.__name__}.{item.name} is not a number")
        values[item.name] = value
    return kind(**values)


# --- enqueueing -----------------------------------------------------------------------------------
class Outbox:
    def __init__(self, clock: Clock) -> None:
        self.clock = clock

    def _add(self, session: Session, job: NewJob) -> bool:
        return enqueue(session, job, self.clock.now())

    def post_card(self, session: Session, conversation: Conversation) -> None:
        self._add(
            session,
            _in_thread(
                conversation,
                POST_CARD,
                f"card:{conversation.id}",
                _mirror_priority(conversation),
                CardJob(conversation.id),
                paced=True,
            ),
        )

    def refresh_card(self, session: Session, conversation: Conversation) -> None:
        """Re-render the root message from the conversation's state at the time it runs, and the
        owner's App Home, which lists it."""
        conversation.card_version += 1
        if conversation.assignee:
            self.publish_home(session, conversation.assignee)
        key = f"card:{conversation.id}:v{conversation.card_version}"
        self._add(
            session,
            _in_thread(conversation, UPDATE_CARD, key, FEEDBACK_PRIORITY, CardJob(conversation.id)),
        )

    def mirror(self, session: Session, conversation: Conversation, message: Message) -> None:
        self._add(
            session,
            _in_thread(
                conversation,
                MIRROR_MESSAGE,
                f"mirror:{message.id}",
                _mirror_priority(conversation),
                MirrorJob(message.id),
                paced=True,
            ),
        )

    def copy_media(self, session: Session, conversation: Conversation, message: Message) -> None:
        """Copy the media of a customer's message into the thread, after the message itself,
        when they are references only the network can open (not web links)."""
        if not any(is_media_reference(a.get("url", "")) for a in message.attachments or ()):
            return
        self._add(
            session,
            _in_thread(
                conversation,
                COPY_MEDIA,
                f"media:{message.id}",
                _mirror_priority(conversation),
                MediaJob(message.id),
                paced=True,
            ),
        )

    def post_answer(self, session: Session, conversation: Conversation, message: Message) -> None:
        """Show in the thread an answer an agent sent from a modal (a saved reply): Slack has
        no message of theirs to mark as delivered."""
        self._add(
            session,
            _in_thread(
                conversation,
                POST_ANSWER,
                f"answer:{message.id}",
                FEEDBACK_PRIORITY,
                MirrorJob(message.id),
            ),
        )

    def listen_card(
        self, session: Session, channel: str, post_id: int, *, update: bool = False
    ) -> None:
        """Post (or, once engaged or dismissed, update) a listened post's card; posts are paced
        to the listening channel's rate, updates follow their card."""
        key = f"listen:{post_id}" + (f":{uuid.uuid4().hex}" if update else "")
        self._add(
            session,
            NewJob(
                LISTEN_CARD,
                key,
                write(ListenJob(post_id)),
                priority=FEEDBACK_PRIORITY if update else MIRROR_PRIORITY,
                ordering_key=f"slack:listen:{post_id}",
                lane=None if update else slack_lane(channel),
            ),
        )

    def team_card(
        self, session: Session, channel: str, forward_id: int, *, update: bool = False
    ) -> None:
        """Post (or re-render) a forwarded conversation's card in the team's channel; posts are
        paced to the channel, updates follow their card."""
        key = f"team_card:{forward_id}" + (f":{uuid.uuid4().hex}" if update else "")
        self._add(
            session,
            NewJob(
                TEAM_CARD,
                key,
                write(ForwardJob(forward_id)),
                priority=FEEDBACK_PRIORITY,
                ordering_key=f"slack:team_card:{forward_id}",
                lane=None if update else slack_lane(channel),
            ),
        )

    def update_mirror(self, session: Session, conversation: Conversation, message: Message) -> None:
        """Re-render a customer's message in the thread (edited, deleted, reacted to)."""
        self._add(
            session,
            _in_thread(
                conversation,
                UPDATE_MIRROR,
                f"mirror:{message.id}:{uuid.uuid4().hex}",
                FEEDBACK_PRIORITY,
                MirrorJob(message.id),
            ),
        )

    def thread(self, session: Session, conversation: Conversation, key: str, fact: Fact) -> None:
        """Say `fact` in the conversation's thread, once per `key`."""
        self._add(
            session,
            _in_thread(
                conversation,
                THREAD_MESSAGE,
                f"thread:{key}",
                FEEDBACK_PRIORITY,
                ThreadPost(conversation.id, fact),
                paced=True,
            ),
        )

    def channel(
        self,
        session: Session,
        channel: str,
        key: str,
        fact: Fact,
        *,
        after: Conversation | None = None,
    ) -> None:
        """Say `fact` in the channel itself, not in a thread: escalations, handoffs, health.
        With `after`, it waits for that conversation's card, since it speaks of it."""
        self._add(
            session,
            NewJob(
                CHANNEL_MESSAGE,
                f"channel:{key}",
                write(ChannelPost(channel, fact)),
                priority=FEEDBACK_PRIORITY,
                ordering_key=f"slack:conversation:{after.id}" if after is not None else None,
                lane=slack_lane(channel),
            ),
        )

    def tell(
        self,
        session: Session,
        *,
        channel: str,
        user: str,
        fact: Fact,
        key: str | None = None,
        thread_ts: str | None = None,
    ) -> None:
        """Tell one agent privately (an ephemeral message)."""
        job_key = f"ephemeral:{key or uuid.uuid4().hex}"
        payload = write(PrivateNote(channel, user, fact, thread_ts))
        self._add(session, NewJob(EPHEMERAL, job_key, payload, priority=FEEDBACK_PRIORITY))

    def react(self, session: Session, *, channel: str, ts: str, name: str) -> None:
        self._add(
            session,
            NewJob(
                REACTION,
                f"reaction:{channel}:{ts}:{name}",
                write(ReactionJob(channel, ts, name)),
                priority=FEEDBACK_PRIORITY,
            ),
        )

    def publish_home(self, session: Session, user: str) -> None:
        key = f"home:{user}:{uuid.uuid4().hex}"
        payload = write(HomeJob(user))
        self._add(session, NewJob(PUBLISH_HOME, key, payload, priority=FEEDBACK_PRIORITY))

    def deliver(self, session: Session, message: Message, *, attempt: int = 0) -> None:
        """Send an answer to the customer; answers of one conversation go out in order, and each
        brand account has its own lane, so one account's rate limit never delays another's."""
        self._add(
            session,
            NewJob(
                DELIVER,
                f"deliver:{message.id}:{attempt}",
                write(DeliveryJob(message.id)),
                priority=DELIVERY_PRIORITY,
                ordering_key=f"deliver:conversation:{message.conversation_id}",
                lane=f"account:{message.conversation.account_id}",
            ),
        )

    def moderate(self, session: Session, message: Message, hidden: bool, by: str | None) -> None:
        """Hide (or show again) a public message on its network, in the account's lane."""
        self._add(
            session,
            NewJob(
                HIDE,
                f"hide:{message.id}:{hidden}:{uuid.uuid4().hex}",
                write(HideJob(message.id, hidden, by)),
                priority=DELIVERY_PRIORITY,
                ordering_key=f"deliver:conversation:{message.conversation_id}",
                lane=f"account:{message.conversation.account_id}",
            ),
        )

    def reopen(self, session: Session, message: Message, by: str) -> None:
        """Ask the customer to write again (a template), once per kept answer."""
        self._add(
            session,
            NewJob(
                REOPEN,
                f"reopen:{message.id}",
                write(ReopenJob(message.id, by)),
                priority=DELIVERY_PRIORITY,
                ordering_key=f"deliver:conversation:{message.conversation_id}",
                lane=f"account:{message.conversation.account_id}",
            ),
        )

    def process_inbox(self, session: Session, inbox_id: int, path: str) -> None:
        """Process a stored webhook delivery soon, after the ones received before it on the
        same path (an edit comes after the message it edits)."""
        self._add(
            session,
            NewJob(
                PROCESS_INBOX,
                f"inbox:{inbox_id}",
                write(InboxJob(inbox_id)),
                priority=DELIVERY_PRIORITY,
                ordering_key=f"inbox:{path}",
            ),
        )

    def digest(self, session: Session, channel: str, since: datetime, until: datetime) -> bool:
        """Last week's figures in `channel`: once per channel and week, whatever the processes."""
        return self._add(
            session,
            NewJob(
                DIGEST,
                f"digest:{channel}:{since.date().isoformat()}",
                write(DigestJob(channel, since, until)),
                lane=slack_lane(channel),
            ),
        )

    def crm_lookup(self, session: Session, customer_id: int, window: int) -> bool:
        """Ask the CRM about a customer, once per customer and cache window (`bot.domain.crm`),
        however many of their cards are posted meanwhile; after everything else."""
        return self._add(
            session,
            NewJob(
                CRM_LOOKUP,
                f"crm:{customer_id}:{window}",
                write(CrmLookupJob(customer_id)),
                priority=LOOKUP_PRIORITY,
                ordering_key=f"crm:customer:{customer_id}",
                lane="crm",
            ),
        )

    def post_event(self, session: Session, event_id: str, conversation_id: int, body: str) -> None:
        """POST an event to EVENTS_WEBHOOK_URL: a conversation's events in the order they
        happened, in a lane of their own (a receiver's Retry-After holds only events)."""
        self._add(
            session,
            NewJob(
                POST_EVENT,
                f"event:{event_id}",
                write(EventJob(event_id, body)),
                ordering_key=f"events:conversation:{conversation_id}",
                lane=EVENTS_LANE,
            ),
        )


def is_media_reference(url: str) -> bool:
    """An attachment's url that is no web link: a reference only its network can open."""
    return bool(url) and not url.startswith(("https://", "http://"))


def _mirror_priority(conversation: Conversation) -> int:
    return MIRROR_PRIORITY + MIRROR_BOOST.get(conversation.priority, 0)


def slack_lane(channel: str) -> str:
    """The lane of posts paced to one Slack channel's rate."""
    return f"slack:{channel}"


def _in_thread(
    conversation: Conversation,
    kind: str,
    key: str,
    priority: int,
    payload: Payload,
    *,
    paced: bool = False,
) -> NewJob:
    # One ordering key per thread: the root message goes first, then replies and updates in order.
    return NewJob(
        kind,
        key,
        write(payload),
        priority=priority,
        ordering_key=f"slack:conversation:{conversation.id}",
        lane=slack_lane(conversation.slack_channel_id) if paced else None,
    )
