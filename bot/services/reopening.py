"""Asking a customer who went quiet to write again, past the network's reply window: an agent
presses **Send template** on a kept answer's notice; the outbox sends the account's reopening
template (WhatsApp's), once per kept answer, and the kept answers go out when they write."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import structlog
from sqlalchemy.orm import Session

from bot.domain.delivery import PermanentError
from bot.domain.facts import Refusal, ReopenAsked
from bot.domain.model import Delivery, Visibility
from bot.networks.base import Reopening
from bot.services.context import Access, Context, UnknownConversation
from bot.services.outbox import ReopenJob, read
from bot.services.worker import Job
from storage import repositories as repo
from storage.models import Message

log = structlog.get_logger(__name__)


class Reopen:
    def __init__(self, context: Context, access: Access) -> None:
        self.context = context
        self.access = access

    def send_template(self, message_id: int, user: str) -> None:
        """The button: a member of the channel asks, once per kept answer."""
        with self.context.database.reading() as session:  # Slack is asked outside the write
            found = repo.message(session, message_id)
            if found is None:
                raise UnknownConversation(f"no answer {message_id}")
            channel = found.conversation.slack_channel_id
        member = self.access.is_member(user, channel)
        with self.context.transaction() as session:
            message = repo.message(session, message_id)
            if message is None or message.delivery != Delivery.KEPT:
                return  # sent meanwhile: the customer wrote
            if not member:
                refusal = Refusal("not_member")
                self.context.outbox.tell(session, channel=channel, user=user, fact=refusal)
                return
            now = self.context.clock.now()
            repo.audit(
                session, message.conversation_id, user, "send_template", now, message_id=message_id
            )
            self.context.outbox.reopen(session, message, user)


class SendReopeningTemplate:
    """The outbox job that sends the template."""

    max_attempts = 8

    def __init__(self, context: Context) -> None:
        self.context = context

    def perform(self, job: Job) -> dict[str, Any]:
        request = _request(job)
        with self.context.database.reading() as session:
            message = _message(session, request.message_id)
            conversation = message.conversation
            latest = repo.latest_inbound(session, conversation.id, Visibility.PRIVATE)
            recipient = ((latest.customer if latest else None) or conversation.customer).external_id
        account = self.context.account_of(conversation)
        if account is None or not isinstance(account.channel, Reopening):
            raise PermanentError("this account cannot ask a customer to write again")
        sent = account.channel.reopen(recipient)
        return {"external_id": sent.external_id}

    def record(
        self, session: Session, job: Job, result: dict[str, Any] | None, now: datetime
    ) -> None:
        self._say(session, job, ReopenAsked(self._label(session, job), _request(job).by, True))
        log.info("conversation.reopen_asked", message_id=_request(job).message_id)

    def give_up(self, session: Session, job: Job, reason: str, now: datetime) -> None:
        label = self._label(session, job)
        self._say(session, job, ReopenAsked(label, _request(job).by, False, reason))

    def _label(self, session: Session, job: Job) -> str:
        return self.context.label(_message(session, _request(job).message_id).network)

    def _say(self, session: Session, job: Job, fact: ReopenAsked) -> None:
        conversation = _message(session, _request(job).message_id).conversation
        self.context.outbox.thread(session, conversation, f"reopen:{job.key}", fact)


def _request(job: Job) -> ReopenJob:
    try:
        return read(ReopenJob, job.payload)
    except ValueError as error:
        raise PermanentError(f"not a reopening request: {error}") from None


def _message(session: Session, message_id: int) -> Message:
    message = repo.message(session, message_id)
    if message is None:
        raise PermanentError(f"message {message_id} no longer exists")
    return message
