"""Enqueue the side effects of a state change, inside the transaction that makes the change.

Job kinds, their idempotency keys and their ordering live here, so every service and job handler
asks for "post the card" or "deliver this answer" the same way.
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy.orm import Session

from bot.clock import Clock
from storage.models import Conversation, Message
from storage.outbox import NewJob, enqueue

POST_CARD = "slack.post_card"
UPDATE_CARD = "slack.update_card"
MIRROR_MESSAGE = "slack.mirror_message"
THREAD_MESSAGE = "slack.thread_message"
CHANNEL_MESSAGE = "slack.channel_message"
EPHEMERAL = "slack.ephemeral"
REACTION = "slack.reaction"
PUBLISH_HOME = "slack.publish_home"
DIGEST = "slack.digest"
DELIVER = "network.deliver"

# Higher runs first: an agent waiting for feedback beats a backlog of mirrored messages, and
# among mirrored messages a VIP's or an angry customer's go before ordinary ones.
MIRROR_PRIORITY, FEEDBACK_PRIORITY, DELIVERY_PRIORITY = 0, 10, 20
MIRROR_BOOST = {"urgent": 6, "high": 3, "normal": 0, "low": -1}


class Effects:
    def __init__(self, clock: Clock) -> None:
        self.clock = clock

    def _add(self, session: Session, job: NewJob) -> bool:
        return enqueue(session, job, self.clock.now())

    def post_card(self, session: Session, conversation: Conversation) -> None:
        self._add(
            session,
            _slack(
                conversation,
                POST_CARD,
                f"card:{conversation.id}",
                _mirror_priority(conversation),
                {"conversation_id": conversation.id},
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
            _slack(
                conversation,
                UPDATE_CARD,
                key,
                FEEDBACK_PRIORITY,
                {"conversation_id": conversation.id},
            ),
        )

    def mirror(self, session: Session, conversation: Conversation, message: Message) -> None:
        self._add(
            session,
            _slack(
                conversation,
                MIRROR_MESSAGE,
                f"mirror:{message.id}",
                _mirror_priority(conversation),
                {"message_id": message.id},
                paced=True,
            ),
        )

    def thread_message(
        self,
        session: Session,
        conversation: Conversation,
        key: str,
        text: str,
        blocks: list[dict[str, Any]] | None = None,
    ) -> None:
        payload = {"conversation_id": conversation.id, "text": text, "blocks": blocks}
        self._add(
            session,
            _slack(
                conversation,
                THREAD_MESSAGE,
                f"thread:{key}",
                FEEDBACK_PRIORITY,
                payload,
                paced=True,
            ),
        )

    def channel_message(
        self,
        session: Session,
        channel: str,
        key: str,
        text: str,
        *,
        after: Conversation | None = None,
    ) -> None:
        """A message in the channel itself, not in a thread: escalations, on-call handoffs.
        With `after`, it waits for that conversation's card, since it speaks of it."""
        payload = {"channel": channel, "text": text}
        self._add(
            session,
            NewJob(
                CHANNEL_MESSAGE,
                f"channel:{key}",
                payload,
                priority=FEEDBACK_PRIORITY,
                ordering_key=f"slack:conversation:{after.id}" if after is not None else None,
                lane=f"slack:{channel}",
            ),
        )

    def ephemeral(
        self,
        session: Session,
        *,
        channel: str,
        user: str,
        text: str,
        key: str | None = None,
        thread_ts: str | None = None,
        blocks: list[dict[str, Any]] | None = None,
    ) -> None:
        payload = {
            "channel": channel,
            "user": user,
            "text": text,
            "thread_ts": thread_ts,
            "blocks": blocks,
        }
        job_key = f"ephemeral:{key or uuid.uuid4().hex}"
        self._add(session, NewJob(EPHEMERAL, job_key, payload, priority=FEEDBACK_PRIORITY))

    def react(self, session: Session, *, channel: str, ts: str, name: str) -> None:
        payload = {"channel": channel, "ts": ts, "name": name}
        self._add(
            session,
            NewJob(
                REACTION, f"reaction:{channel}:{ts}:{name}", payload, priority=FEEDBACK_PRIORITY
            ),
        )

    def publish_home(self, session: Session, user: str) -> None:
        key = f"home:{user}:{uuid.uuid4().hex}"
        self._add(session, NewJob(PUBLISH_HOME, key, {"user": user}, priority=FEEDBACK_PRIORITY))

    def deliver(self, session: Session, message: Message, *, attempt: int = 0) -> None:
        """Send an answer to the customer; answers of one conversation go out in order."""
        self._add(
            session,
            NewJob(
                DELIVER,
                f"deliver:{message.id}:{attempt}",
                {"message_id": message.id},
                priority=DELIVERY_PRIORITY,
                ordering_key=f"deliver:conversation:{message.conversation_id}",
                lane=f"network:{message.network}",
            ),
        )


def _mirror_priority(conversation: Conversation) -> int:
    return MIRROR_PRIORITY + MIRROR_BOOST.get(conversation.priority, 0)


def _slack(
    conversation: Conversation,
    kind: str,
    key: str,
    priority: int,
    payload: dict[str, Any],
    *,
    paced: bool = False,
) -> NewJob:
    # One ordering key per thread: the root message goes first, then replies and updates in order.
    return NewJob(
        kind,
        key,
        payload,
        priority=priority,
        ordering_key=f"slack:conversation:{conversation.id}",
        lane=f"slack:{conversation.slack_channel_id}" if paced else None,
    )
