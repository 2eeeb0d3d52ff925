"""What else a network reports about a conversation besides new customer messages: an edit, a
deletion, a reaction, and an answer the brand gave on the network itself (in X's app, in Meta's
inbox). Applied inside the ingest transaction."""

from __future__ import annotations

from datetime import timedelta

import structlog
from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.domain.facts import AnsweredDirectly, DeliveryFailed
from bot.domain.model import (
    AnsweredElsewhere,
    Delivery,
    DeliveryReceipt,
    Direction,
    MessageEdited,
    MessageReaction,
    MessageRemoved,
    Receipt,
    Status,
)
from bot.services.context import Context
from bot.services.sla import Deadlines
from storage import repositories as repo
from storage.models import ChannelAccount, Conversation, Customer, Message

log = structlog.get_logger(__name__)
MARKER = "carebridge:"  # + the message id, on what Carebridge sends where the network echoes it
OWN_SEND_WINDOW = timedelta(hours=1)  # an echo this soon of a text we sent is our own send

Update = MessageEdited | MessageRemoved | MessageReaction | AnsweredElsewhere | DeliveryReceipt
# What an agent's message in the thread shows of its receipts ("sent" is the check mark every
# delivered answer gets; a failure is said in the thread, with Retry).
RECEIPT_REACTIONS = {
    Receipt.SENT: "white_check_mark",
    Receipt.DELIVERED: "mailbox_with_mail",
    Receipt.READ: "eyes",
}


def marker(message: Message) -> str:
    return f"{MARKER}{message.id}"


class Updates:
    def __init__(self, context: Context, deadlines: Deadlines) -> None:
        self.context = context
        self.deadlines = deadlines

    def apply(self, session: Session, account: ChannelAccount, update: Update) -> bool:
        """Apply one update; True if it changed anything (a repeated delivery changes nothing)."""
        if isinstance(update, AnsweredElsewhere):
            return self._answered_elsewhere(session, account, update)
        if isinstance(update, DeliveryReceipt) and not update.external_id:
            return self._receipts_up_to(session, account, update)
        message = repo.message_by_external_id(session, update.network, update.external_id)
        if message is None or message.conversation.account_id != account.id:
            return False  # a message we never mirrored (older than Carebridge, or not ours)
        if isinstance(update, DeliveryReceipt):
            return self._receipt(session, message, update)
        if isinstance(update, MessageEdited):
            if message.text == update.text:
                return False
            message.text, message.edited_at = update.text, update.at
        elif isinstance(update, MessageRemoved):
            if message.deleted_at is not None:
                return False
            message.deleted_at = update.at
        else:
            if message.reaction == update.reaction:
                return False
            message.reaction = update.reaction
        if message.direction == Direction.INBOUND:
            self._show(session, message)
        log.info("message.updated", message_id=message.id, update=type(update).__name__)
        return True

    def _receipts_up_to(
        self, session: Session, account: ChannelAccount, receipt: DeliveryReceipt
    ) -> bool:
        """A watermark (Messenger's reads): every answer sent to the customer until then."""
        sent = repo.sent_to_customer(
            session, account.id, receipt.network, receipt.customer_external_id, receipt.at
        )
        changed = [self._receipt(session, message, receipt) for message in sent]
        return any(changed)

    def _receipt(self, session: Session, message: Message, receipt: DeliveryReceipt) -> bool:
        """A receipt of the brand's message: shown on the agent's message in the thread (each
        reaction once, whatever order the network's statuses come in); a failure marks it
        failed and says why in the thread, with Retry, once."""
        if message.direction != Direction.OUTBOUND or message.delivery != Delivery.SENT:
            return False  # a notice's, or one already failed: nothing to show
        conversation = message.conversation
        if receipt.receipt is Receipt.FAILED:
            reason = receipt.reason or "the network gave no reason"
            message.delivery, message.delivery_error = Delivery.FAILED, reason
            if message.slack_ts:
                self.context.outbox.react(
                    session, channel=conversation.slack_channel_id, ts=message.slack_ts,
                    name="warning",
                )  # fmt: skip
            customer = conversation.customer
            label = self.context.label(message.network)
            failed = DeliveryFailed(customer.handle, label, reason, message.id, name=customer.name)
            self.context.outbox.thread(session, conversation, f"receipt:{message.id}", failed)
            log.warning("message.receipt_failed", message_id=message.id, reason=reason)
            return True
        if not message.slack_ts:
            return False  # sent on an agent's behalf: no message of theirs to mark
        name = RECEIPT_REACTIONS[receipt.receipt]
        self.context.outbox.react(
            session, channel=conversation.slack_channel_id, ts=message.slack_ts, name=name
        )
        return True

    def _show(self, session: Session, message: Message) -> None:
        """Re-render what shows the message: the card for the first one, else its mirror."""
        conversation = message.conversation
        first = repo.first_inbound(session, conversation.id)
        if first is not None and first.id == message.id:
            self.context.outbox.refresh_card(session, conversation)
        else:
            self.context.outbox.update_mirror(session, conversation, message)

    def _answered_elsewhere(
        self, session: Session, account: ChannelAccount, answer: AnsweredElsewhere
    ) -> bool:
        if answer.marker and answer.marker.startswith(MARKER):
            return False  # the echo of Carebridge's own send
        if repo.message_exists(session, answer.network, answer.external_id):
            return False
        conversation = self._conversation_of(session, account, answer)
        if conversation is None or self._sent_by_us(session, conversation, answer):
            return False
        at = answer.at
        message = Message(
            conversation_id=conversation.id,
            direction=Direction.OUTBOUND,
            visibility=answer.visibility,
            network=answer.network,
            external_id=answer.external_id,
            author=f"{answer.network}:direct",
            text=answer.text,
            created_at=at,
            delivery=Delivery.SENT,
            in_reply_to_external_id=answer.in_reply_to,
        )
        session.add(message)
        session.flush()
        conversation.outbound_count += 1
        self.deadlines.answered(session, conversation, at)
        if conversation.status == Status.OPEN:
            conversation.status = Status.WAITING_ON_CUSTOMER
        label = self.context.label(answer.network)
        fact = AnsweredDirectly(label, answer.text)
        self.context.outbox.thread(session, conversation, f"direct:{message.id}", fact)
        self.context.outbox.refresh_card(session, conversation)
        log.info("conversation.answered_directly", conversation_id=conversation.id)
        return True

    def _conversation_of(
        self, session: Session, account: ChannelAccount, answer: AnsweredElsewhere
    ) -> Conversation | None:
        if answer.in_reply_to:
            answered = repo.message_by_external_id(session, answer.network, answer.in_reply_to)
            if answered is not None and answered.conversation.account_id == account.id:
                return answered.conversation
        if not answer.customer_external_id:
            return None
        customer = session.scalar(
            select(Customer).filter_by(
                network=answer.network, external_id=answer.customer_external_id
            )
        )
        if customer is None:
            return None
        return repo.latest_conversation(session, customer.id, account.id)

    def _sent_by_us(
        self, session: Session, conversation: Conversation, answer: AnsweredElsewhere
    ) -> bool:
        """The same text sent by Carebridge a moment ago: our own answer, come back before its
        send was recorded (X has no marker to tell)."""
        since = answer.at - OWN_SEND_WINDOW
        ours = session.scalars(
            select(Message.id).where(
                Message.conversation_id == conversation.id,
                Message.direction.in_((Direction.OUTBOUND, Direction.NOTICE)),
                Message.text == answer.text,
                Message.created_at >= since,
            )
        )
        return ours.first() is not None
