"""Hiding a customer's public message (a Facebook comment) from everyone but its author: from
the card's Hide comment button (the owner or a lead), or by itself for the second abusive
comment within the netiquette window (META_HIDE_ABUSIVE). Unhide undoes it."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import structlog
from sqlalchemy.orm import Session

from bot.domain.delivery import PermanentError
from bot.domain.facts import CommentHidden, Refusal
from bot.domain.model import Visibility
from bot.networks.base import Hiding
from bot.services.context import Access, Context, Standing, UnknownConversation
from bot.services.outbox import HideJob, read
from bot.services.worker import Job
from storage import repositories as repo
from storage.models import Conversation, Message

log = structlog.get_logger(__name__)


class Moderation:
    def __init__(self, context: Context, access: Access | None = None) -> None:
        self.context = context
        self.access = access or Access()

    def hide_from_card(self, conversation_id: int, user: str, hidden: bool = True) -> None:
        """The owner or a lead hides (or shows again) the customer's latest public message."""
        with self.context.database.reading() as session:  # Slack is asked outside the write
            found = repo.conversation(session, conversation_id)
            if found is None:
                raise UnknownConversation(f"no conversation {conversation_id}")
            standing = self.access.standing(user, found.slack_channel_id, lead=True)
        with self.context.transaction() as session:
            conversation = repo.conversation(session, conversation_id, lock=True)
            if conversation is None:
                raise UnknownConversation(f"no conversation {conversation_id}")
            refusal = self._refusal(conversation, user, standing)
            if refusal is not None:
                self.context.outbox.tell(
                    session, channel=conversation.slack_channel_id, user=user, fact=refusal
                )
                return
            target = repo.latest_inbound(session, conversation.id, Visibility.PUBLIC)
            if target is None or target.external_id is None:
                self.context.outbox.tell(
                    session,
                    channel=conversation.slack_channel_id,
                    user=user,
                    fact=Refusal("no_public_post"),
                )
                return
            self.hide(session, target, hidden, by=user)

    def hide(self, session: Session, message: Message, hidden: bool, *, by: str | None) -> None:
        """Ask the network to hide `message` (in the caller's transaction); `by` None: done by
        Carebridge itself."""
        now = self.context.clock.now()
        conversation = message.conversation
        action = "hide" if hidden else "unhide"
        self.context.outbox.moderate(session, message, hidden, by)
        repo.audit(session, conversation.id, by or "carebridge", action, now, message_id=message.id)
        log.info("message.hide_requested", message_id=message.id, hidden=hidden)

    def _refusal(self, conversation: Conversation, user: str, standing: Standing) -> Refusal | None:
        spec = self.context.accounts.spec(conversation.account.network)
        if spec is None or not spec.can_hide:
            return Refusal("cannot_hide", self.context.label(conversation.account.network))
        if not standing.member:
            return Refusal("not_member")
        if user != conversation.assignee and not standing.lead:
            return Refusal("owner_or_lead", "hide or show a comment")
        return None


class HideMessage:
    """The outbox job that hides or shows a public message on its network."""

    max_attempts = 8

    def __init__(self, context: Context) -> None:
        self.context = context

    def perform(self, job: Job) -> dict[str, Any]:
        request = _request(job)
        with self.context.database.reading() as session:
            message = _message(session, request.message_id)
            conversation = message.conversation
            external_id = message.external_id or ""
        account = self.context.account_of(conversation)
        if account is None or not isinstance(account.channel, Hiding):
            raise PermanentError("this account can no longer hide messages")
        account.channel.hide(external_id, request.hidden)
        return {"hidden": request.hidden}

    def record(
        self, session: Session, job: Job, result: dict[str, Any] | None, now: datetime
    ) -> None:
        request = _request(job)
        message = _message(session, request.message_id)
        message.hidden = request.hidden
        conversation = message.conversation
        fact = CommentHidden(
            self.context.label(message.network), request.by, request.hidden, ok=True
        )
        self.context.outbox.thread(session, conversation, f"hidden:{job.key}", fact)
        self.context.outbox.refresh_card(session, conversation)

    def give_up(self, session: Session, job: Job, reason: str, now: datetime) -> None:
        request = _request(job)
        message = _message(session, request.message_id)
        fact = CommentHidden(
            self.context.label(message.network),
            request.by,
            request.hidden,
            ok=False,
            reason=reason,
        )
        self.context.outbox.thread(session, message.conversation, f"hidden:{job.key}", fact)


def _request(job: Job) -> HideJob:
    try:
        return read(HideJob, job.payload)
    except ValueError as error:
        raise PermanentError(f"not a hide request: {error}") from None


def _message(session: Session, message_id: int) -> Message:
    message = repo.message(session, message_id)
    if message is None:
        raise PermanentError(f"message {message_id} no longer exists")
    return message
