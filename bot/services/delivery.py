"""The outbox job that sends an answer to the customer on their network."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import structlog
from sqlalchemy.orm import Session

from bot.domain.delivery import PermanentError
from bot.domain.model import Delivery, Direction, Status, Visibility
from bot.services.context import Context
from bot.services.outbox import Job
from bot.services.sla import Deadlines
from bot.slack import blocks
from bot.slack.mrkdwn import escape, truncate
from storage import repositories as repo
from storage.models import Message

log = structlog.get_logger(__name__)


class DeliverToCustomer:
    max_attempts = 8  # about four minutes of backoff, then the agents hear about it

    def __init__(self, context: Context, deadlines: Deadlines) -> None:
        self.context = context
        self.deadlines = deadlines

    def perform(self, job: Job) -> dict[str, Any] | None:
        with self.context.database.transaction() as session:
            message = _message(session, job)
            if message.delivery == Delivery.SENT:
                return {"external_id": message.external_id, "permalink": message.permalink}
            conversation = message.conversation
            network, text, since = conversation.account.network, message.text, message.created_at
            public = message.visibility == Visibility.PUBLIC
            target = (
                message.in_reply_to_external_id if public else conversation.customer.external_id
            )
        if not target:
            raise PermanentError("there is no customer post to reply to")
        channel = self.context.channel(network)
        if job.tried_before:  # an earlier attempt may have reached X although we never heard
            found = channel.find_sent(
                text,
                in_reply_to=target if public else None,
                recipient_id=None if public else target,
                since=since - timedelta(minutes=1),
            )
            if found is not None:
                log.info("message.found_sent", message_id=job.payload["message_id"])
                return {"external_id": found.external_id, "permalink": found.permalink}
        sent = (
            channel.reply_publicly(text, target) if public else channel.send_private(target, text)
        )
        return {"external_id": sent.external_id, "permalink": sent.permalink}

    def record(
        self, session: Session, job: Job, result: dict[str, Any] | None, now: datetime
    ) -> None:
        assert result is not None
        message = _message(session, job)
        if message.delivery == Delivery.SENT:
            return
        message.external_id, message.permalink = result["external_id"], result["permalink"]
        message.delivery, message.delivery_error = Delivery.SENT, None
        conversation = message.conversation
        if message.direction == Direction.NOTICE:
            # An automatic notice is not an answer: no clock stops, the card does not change.
            self._show_notice(session, message, now)
            return
        conversation.outbound_count += 1
        conversation.first_response_at = conversation.first_response_at or now
        self.deadlines.answered(session, conversation, now)
        if conversation.status == Status.OPEN:
            conversation.status = Status.WAITING_ON_CUSTOMER
        effects = self.context.effects
        if message.slack_ts:  # the agent's own message in the thread: mark it delivered
            effects.react(
                session,
                channel=conversation.slack_channel_id,
                ts=message.slack_ts,
                name="white_check_mark",
            )
        else:  # sent on an agent's behalf (the DM invitation): show what went out
            label = self.context.channel(message.network).label
            effects.thread_message(
                session,
                conversation,
                f"sent:{message.id}",
                f":outbox_tray: Sent on {label} for <@{message.author}>: "
                f"{escape(truncate(message.text, 500))}",
            )
        effects.refresh_card(session, conversation)
        log.info(
            "message.delivered",
            conversation_id=conversation.id,
            message_id=message.id,
            external_id=message.external_id,
        )

    def _show_notice(self, session: Session, message: Message, now: datetime) -> None:
        kind = message.author.removeprefix("carebridge:").replace("_", "-")
        label = self.context.channel(message.network).label
        self.context.effects.thread_message(
            session,
            message.conversation,
            f"sent:{message.id}",
            f":outbox_tray: Sent {kind} notice on {label}: {escape(truncate(message.text, 500))}",
        )
        log.info("notice.delivered", conversation_id=message.conversation_id, kind=kind)

    def give_up(self, session: Session, job: Job, reason: str, now: datetime) -> None:
        message = _message(session, job)
        message.delivery, message.delivery_error = Delivery.FAILED, reason
        conversation = message.conversation
        label = self.context.channel(message.network).label
        if message.slack_ts:
            self.context.effects.react(
                session, channel=conversation.slack_channel_id, ts=message.slack_ts, name="warning"
            )
        text, body = blocks.delivery_failed(conversation.customer.handle, label, reason, message.id)
        self.context.effects.thread_message(session, conversation, f"failed:{job.key}", text, body)
        log.warning(
            "message.delivery_failed",
            conversation_id=conversation.id,
            message_id=message.id,
            reason=reason,
        )


def _message(session: Session, job: Job) -> Message:
    message = repo.message(session, int(job.payload["message_id"]))
    if message is None:
        raise PermanentError(f"message {job.payload['message_id']} no longer exists")
    return message
