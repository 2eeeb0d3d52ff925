"""The outbox job that sends an answer to the customer on their network."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import structlog
from sqlalchemy.orm import Session

from bot.domain.delivery import CredentialsRefused, OutsideWindow, PermanentError, RateLimited
from bot.domain.events import EventKind
from bot.domain.facts import AnswerKept, DeliveryFailed, NoticeSent, SentOnBehalf
from bot.domain.model import Author, Delivery, Direction, Status, Visibility
from bot.domain.surveys import choices as survey_choices
from bot.networks.base import Choice, OffersChoices, PrivateReplies, QuotingReplies, Reopening
from bot.services.accounts import Account
from bot.services.context import Context
from bot.services.health import AccountsHealth
from bot.services.outbox import DeliveryJob, Outbox, read
from bot.services.sla import Deadlines
from bot.services.surveys import SURVEY_AUTHOR, Surveys
from bot.services.updates import marker
from bot.services.worker import Job
from storage import people
from storage import repositories as repo
from storage.models import Conversation, Message

log = structlog.get_logger(__name__)
CREDENTIALS_RETRY = timedelta(minutes=1)  # an answer waiting for its account's token is retried


@dataclass(frozen=True)
class _Plan:
    account_id: int
    network: str
    brand_id: str
    brand: str
    account_name: str | None
    text: str
    since: datetime
    private: bool
    in_reply_to: str | None
    recipient: str | None
    quote: str | None  # the customer's message a private answer quotes, where the network can
    marker: str
    last_private_at: datetime | None
    choices: tuple[Choice, ...] = ()  # buttons, where the network has them (a survey's 1-5)


class DeliverToCustomer:
    max_attempts = 8  # about four minutes of backoff, then the agents hear about it

    def __init__(
        self,
        context: Context,
        deadlines: Deadlines,
        health: AccountsHealth | None = None,
        surveys: Surveys | None = None,
    ) -> None:
        self.surveys = surveys
        self.context = context
        self.deadlines = deadlines
        self.health = health

    def perform(self, job: Job) -> dict[str, Any] | None:
        with self.context.database.reading() as session:
            message = _message(session, job)
            if message.delivery == Delivery.SENT:
                return {"external_id": message.external_id, "permalink": message.permalink}
            plan = self._plan(session, message)
        account = self.context.accounts.find(
            account_id=plan.account_id,
            network=plan.network,
            external_id=plan.brand_id,
            name=plan.account_name,
        )
        if account is None:
            raise PermanentError(
                f"the brand account {plan.brand} is no longer configured: add it back to answer "
                "from it"
            )
        try:
            sent = self._send(account, plan, job)
        except OutsideWindow as closed:  # not a failure: kept for when the customer writes
            channel = account.channel
            reopen = isinstance(channel, Reopening) and channel.can_reopen
            return {"kept": closed.reason, "can_reopen": reopen}
        except CredentialsRefused as refused:
            # Nothing goes out for this account until its token is fixed: say so once in its
            # channel, and keep the answer waiting (no attempt counted) instead of failing it.
            if self.health is not None:
                self.health.observe(account, [refused], polled=False)
            retry_at = self.context.clock.now() + CREDENTIALS_RETRY
            raise RateLimited(refused.reason, retry_at) from refused
        if self.health is not None:
            self.health.observe(account, [], polled=False)
        return sent

    def _send(self, account: Account, plan: _Plan, job: Job) -> dict[str, Any]:
        channel = account.channel
        extended = self._window(account, plan)
        if job.tried_before:  # an earlier attempt may have arrived although we never heard
            found = channel.find_sent(
                plan.text,
                in_reply_to=plan.in_reply_to,
                recipient_id=plan.recipient,
                since=plan.since - timedelta(minutes=1),
            )
            if found is not None:
                log.info("message.found_sent", message_id=_message_id(job))
                return {"external_id": found.external_id, "permalink": found.permalink}
        if plan.recipient is not None and plan.choices and isinstance(channel, OffersChoices):
            sent = channel.send_choices(plan.recipient, plan.text, plan.choices, marker=plan.marker)
        elif plan.recipient is not None and plan.quote and isinstance(channel, QuotingReplies):
            sent = channel.send_private_reply(
                plan.recipient, plan.text, plan.quote, marker=plan.marker
            )
        elif plan.recipient is not None:
            sent = channel.send_private(
                plan.recipient, plan.text, extended=extended, marker=plan.marker
            )
        elif plan.private:  # a private answer to a public message (Facebook's private reply)
            if not isinstance(channel, PrivateReplies):
                raise PermanentError(f"{account.label} cannot answer a public post privately")
            sent = channel.reply_privately(plan.text, plan.in_reply_to or "")
        else:
            sent = channel.reply_publicly(plan.text, plan.in_reply_to or "")
        return {
            "external_id": sent.external_id,
            "permalink": sent.permalink,
            "recipient_id": sent.recipient_id,
        }

    def _plan(self, session: Session, message: Message) -> _Plan:
        """What to send where, read in one short transaction before any network call."""
        conversation = message.conversation
        row = conversation.account
        in_reply_to = message.in_reply_to_external_id
        private = message.visibility == Visibility.PRIVATE
        latest = repo.latest_inbound(session, conversation.id, Visibility.PRIVATE)
        # A private answer in reply to a public message goes under it privately; any other
        # private answer goes to whoever wrote privately last, a public one under their post.
        writer = (latest.customer if latest is not None else None) or conversation.customer
        recipient = writer.external_id if private and not in_reply_to else None
        if recipient is None and not in_reply_to:
            raise PermanentError("there is no customer post to reply to")
        if in_reply_to:
            answered = repo.message_by_external_id(session, row.network, in_reply_to)
            if answered is not None and answered.deleted_at is not None:
                raise PermanentError(
                    "held: the customer deleted the message this answers; answer their latest "
                    "one, or move to a private conversation"
                )
        survey = message.author == SURVEY_AUTHOR
        return _Plan(
            account_id=row.id,
            network=row.network,
            brand_id=row.external_id,
            brand=f"@{row.handle}" if row.handle else row.network,
            account_name=row.name,
            text=message.text,
            since=message.created_at,
            private=private,
            in_reply_to=in_reply_to,
            recipient=recipient,
            quote=_quote(session, message, latest) if recipient is not None else None,
            marker=marker(message),
            last_private_at=latest.created_at if latest is not None else None,
            choices=tuple(Choice(p, t) for p, t in survey_choices()) if survey else (),
        )

    def _window(self, account: Account, plan: _Plan) -> bool:
        """Whether a private message needs the extended window (e.g. Messenger's HUMAN_AGENT
        tag); raises OutsideWindow when even that is closed."""
        spec = account.spec
        if plan.recipient is None or spec.private_window is None:
            return False
        last = plan.last_private_at
        now = self.context.clock.now()
        if last is not None and now <= last + spec.private_window:
            return False
        setting = spec.extended_window_setting
        # The extended window is for a person's answers (Messenger's HUMAN_AGENT tag): never
        # for a survey.
        extended = (
            spec.extended_private_window
            if setting and account.config.value(setting) and not plan.choices
            else None
        )
        if last is not None and extended is not None and now <= last + extended:
            return True
        closed = last + (extended or spec.private_window) if last is not None else None
        raise OutsideWindow(spec.private_name, spec.private_window, closed)

    def record(
        self, session: Session, job: Job, result: dict[str, Any] | None, now: datetime
    ) -> None:
        assert result is not None
        message = _message(session, job)
        if message.delivery == Delivery.SENT:
            return
        if "kept" in result:
            reason = str(result["kept"])
            if self.surveys is not None and self.surveys.not_delivered(session, message, reason):
                message.delivery, message.delivery_error = Delivery.NOT_SENT, reason
                return  # a survey waits for no one: asked now or never
            self._keep(session, message, reason, bool(result.get("can_reopen")))
            return
        message.external_id, message.permalink = result["external_id"], result["permalink"]
        message.delivery, message.delivery_error = Delivery.SENT, None
        conversation = message.conversation
        if result.get("recipient_id"):
            self._reached(session, message, str(result["recipient_id"]), now)
        if message.direction == Direction.NOTICE:
            # An automatic notice is not an answer: no clock stops, the card does not change.
            self._show_notice(session, message, now)
            return
        conversation.outbound_count += 1
        first = conversation.first_response_at is None
        self.deadlines.answered(session, conversation, now)
        if conversation.status == Status.OPEN:
            conversation.status = Status.WAITING_ON_CUSTOMER
        self.context.events.emit(
            session, EventKind.ANSWERED, conversation, **_answered(message, first)
        )
        outbox = self.context.outbox
        if message.slack_ts:  # the agent's own message in the thread: mark it delivered
            outbox.react(
                session,
                channel=conversation.slack_channel_id,
                ts=message.slack_ts,
                name="white_check_mark",
            )
        elif message.saved_reply_id is not None:
            pass  # its own post in the thread shows it, marked when both have happened
        else:  # sent on an agent's behalf (the DM invitation): show what went out
            label = self.context.label(message.network)
            sent = SentOnBehalf(label, message.author, message.text)
            outbox.thread(session, conversation, f"sent:{message.id}", sent)
        outbox.refresh_card(session, conversation)
        log.info(
            "message.delivered",
            conversation_id=conversation.id,
            message_id=message.id,  # not the network's id: WhatsApp's encodes the number
        )

    def _keep(self, session: Session, message: Message, reason: str, can_reopen: bool) -> None:
        """Past the reply window: the answer waits for the customer's next message (see
        `resume_kept`), and the thread says so once."""
        message.delivery, message.delivery_error = Delivery.KEPT, reason
        conversation = message.conversation
        if message.slack_ts:
            self.context.outbox.react(
                session,
                channel=conversation.slack_channel_id,
                ts=message.slack_ts,
                name="hourglass_flowing_sand",
            )
        customer, label = conversation.customer, self.context.label(message.network)
        kept = AnswerKept(
            customer.handle, label, reason, message.id, name=customer.name, can_reopen=can_reopen
        )
        self.context.outbox.thread(session, conversation, f"kept:{message.id}", kept)
        log.info("message.kept", conversation_id=conversation.id, message_id=message.id)

    def _show_notice(self, session: Session, message: Message, now: datetime) -> None:
        kind = message.author.removeprefix("carebridge:")
        notice = NoticeSent(kind, self.context.label(message.network), message.text)
        self.context.outbox.thread(session, message.conversation, f"sent:{message.id}", notice)
        log.info("notice.delivered", conversation_id=message.conversation_id, kind=kind)

    def _reached(
        self, session: Session, message: Message, recipient_id: str, now: datetime
    ) -> None:
        """A private reply to a public message reached the customer under another id (their
        Messenger id): that id is the same person, so their answer joins this thread."""
        commenter = message.conversation.customer
        if recipient_id == commenter.external_id:
            return
        author = Author(recipient_id, "", commenter.name, profile_url=commenter.profile_url)
        reached = repo.find_or_add_customer(session, commenter.network, author, now)
        if not people.same_person(commenter, reached):
            people.join(session, [commenter, reached], "carebridge", now)

    def give_up(self, session: Session, job: Job, reason: str, now: datetime) -> None:
        message = _message(session, job)
        message.delivery, message.delivery_error = Delivery.FAILED, reason
        if self.surveys is not None and self.surveys.not_delivered(session, message, reason):
            return  # no Retry: the thread says why the survey did not go out
        conversation = message.conversation
        label = self.context.label(message.network)
        if message.slack_ts:
            self.context.outbox.react(
                session, channel=conversation.slack_channel_id, ts=message.slack_ts, name="warning"
            )
        customer = conversation.customer
        failed = DeliveryFailed(customer.handle, label, reason, message.id, name=customer.name)
        self.context.outbox.thread(session, conversation, f"failed:{job.key}", failed)
        log.warning(
            "message.delivery_failed",
            conversation_id=conversation.id,
            message_id=message.id,
            reason=reason,
        )


def resume_kept(outbox: Outbox, now: datetime, session: Session, conversation: Conversation) -> int:
    """The customer wrote privately again: their conversation's kept answers go out now, in
    the order they were written. Returns how many."""
    kept = repo.kept_answers(session, conversation.id)
    for message in kept:
        message.delivery, message.delivery_error = Delivery.PENDING, None
        # A kept answer may be resumed several times: each resumption has a key of its own.
        outbox.deliver(session, message, attempt=int(now.timestamp() * 1e6))
    if kept:
        log.info("message.kept_resumed", conversation_id=conversation.id, answers=len(kept))
    return len(kept)


def _answered(message: Message, first: bool) -> dict[str, object]:
    """An event's data about an answer that reached the customer (`text` only with
    EVENTS_INCLUDE_TEXT: it may repeat what the customer said)."""
    public = message.visibility == Visibility.PUBLIC
    return {
        "message_id": message.id,
        "by": message.author,
        "visibility": message.visibility,
        "first_response": first,
        "saved_reply": message.saved_reply_name,
        "permalink": (message.permalink or None) if public else None,
        "text": message.text,
    }


def _quote(session: Session, answer: Message, latest: Message | None) -> str | None:
    """The customer's latest message, quoted by the first answer written after it (the next
    ones follow on without quoting it again); an answer kept from before it quotes nothing."""
    if latest is None or not latest.external_id or answer.created_at < latest.created_at:
        return None
    if repo.answered_since(session, answer.conversation_id, latest.created_at, answer.id):
        return None
    return latest.external_id


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
