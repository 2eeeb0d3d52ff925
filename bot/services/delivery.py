"""The outbox job that sends an answer to the customer on their network."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import structlog
from sqlalchemy.orm import Session

from bot.domain.delivery import PermanentError
from bot.domain.facts import DeliveryFailed, NoticeSent, SentOnBehalf
from bot.domain.model import Delivery, Direction, Status, Visibility
from bot.services.context import Context
from bot.services.outbox import DeliveryJob, read
from bot.services.sla import Deadlines
from bot.services.worker import Job
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
            row = conversation.account
            account_id, network, brand_id, handle = row.id, row.network, row.external_id, row.handle
            name = row.name
            text, since = message.text, message.created_at
            public = message.visibility == Visibility.PUBLIC
            target = (
                message.in_reply_to_external_id if public else conversation.customer.external_id
            )
        if not target:
            raise PermanentError("there is no customer post to reply to")
        account = self.context.accounts.find(
            account_id=account_id, network=network, external_id=brand_id, name=name
        )
        if account is None:
            raise PermanentError(
                f"the brand account @{handle} is no longer configured: add it back to answer "
                "from it"
            )
        channel = account.channel
        if job.tried_before:  # an earlier attempt may have reached X although we never heard
            found = channel.find_sent(
                text,
                in_reply_to=target if public else None,
                recipient_id=None if public else target,
                since=since - timedelta(minutes=1),
            )
            if found is not None:
                log.info("message.found_sent", message_id=_message_id(job))
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
        outbox = self.context.outbox
        if message.slack_ts:  # the agent's own message in the thread: mark it delivered
            outbox.react(
                session,
                channel=conversation.slack_channel_id,
                ts=message.slack_ts,
                name="white_check_mark",
            )
        else:  # sent on an agent's behalf (the DM invitation): show what went out
            label = self.context.label(message.network)
            sent = SentOnBehalf(label, message.author, message.text)
            outbox.thread(session, conversation, f"sent:{message.id}", sent)
        outbox.refresh_card(session, conversation)
        log.info(
            "message.delivered",
            conversation_id=conversation.id,
            message_id=message.id,
            external_id=message.external_id,
        )

    def _show_notice(self, session: Session, message: Message, now: datetime) -> None:
        kind = message.author.removeprefix("carebridge:")
        notice = NoticeSent(kind, self.context.label(message.network), message.text)
        self.context.outbox.thread(session, message.conversation, f"sent:{message.id}", notice)
        log.info("notice.delivered", conversation_id=message.conversation_id, kind=kind)

    def give_up(self, session: Session, job: Job, reason: str, now: datetime) -> None:
        message = _message(session, job)
        message.delivery, message.delivery_error = Delivery.FAILED, reason
        conversation = message.conversation
        label = self.context.label(message.network)
        if message.slack_ts:
            self.context.outbox.react(
                session, channel=conversation.slack_channel_id, ts=message.slack_ts, name="warning"
            )
        failed = DeliveryFailed(conversation.customer.handle, label, reason, message.id)
        self.context.outbox.thread(session, conversation, f"failed:{job.key}", failed)
        log.warning(
            "message.delivery_failed",
            conversation_id=conversation.id,
            message_id=message.id,
            reason=reason,
        )


def _message_id(job: Job) -> int:
    try:
        return read(DeliveryJob, job.payload).message_id
    except ValueError as error:
        raise PermanentError(f"not a delivery: {error}") from None


def _message(session: Session, job: Job) -> Message:
    message = repo.message(session, _message_id(job))
    if message is None:
        raise PermanentError(f"message {_message_id(job)} no longer exists")
    return message
