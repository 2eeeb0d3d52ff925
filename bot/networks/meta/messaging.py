"""Messenger-shaped events, which Facebook Pages and Instagram accounts both receive in their
`messaging` webhooks: a customer's message (or its deletion, or a quick reply they tapped), the
account's own message come back (`is_echo`), an edit, a reaction. Each network says what its
attachments are."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from bot.domain.model import (
    AnsweredElsewhere,
    Attachment,
    AttachmentKind,
    Author,
    InboundMessage,
    MessageEdited,
    MessageReaction,
    MessageRemoved,
    NetworkEvent,
    Visibility,
)
from bot.networks.meta.values import (
    Unexpected,
    a_list,
    an_id,
    an_object,
    milliseconds,
    optional_id,
    party,
    string,
)


@dataclass(frozen=True)
class Messaging:
    """How one network's messaging events read: its name, one attachment, and what else a
    message may carry that shows as an attachment (an Instagram story it answers)."""

    network: str
    attachment: Callable[[Any], Attachment]
    extras: Callable[[dict[str, Any]], list[Attachment]] = lambda message: []

    def event(self, account: str, entry_time: Any, event: dict[str, Any]) -> NetworkEvent | None:
        """The event of one `messaging` item (entry times in milliseconds); None for the kinds
        Carebridge does not mirror (postbacks, optins, thread handovers...)."""
        message, edit, reaction = (
            event.get("message"),
            event.get("message_edit"),
            event.get("reaction"),
        )
        if message is None and edit is None and reaction is None:
            return None
        sender, recipient = party(event, "sender"), party(event, "recipient")
        if account not in (sender, recipient):
            raise Unexpected("the account is neither sender nor recipient")
        customer = recipient if sender == account else sender
        at = milliseconds(event.get("timestamp"), entry_time)
        if message is not None:
            return self._message(customer, at, an_object(message, "message"))
        if edit is not None:
            edit = an_object(edit, "message_edit")
            mid = an_id(edit.get("mid"), "mid")
            return MessageEdited(self.network, mid, string(edit.get("text")), at)
        if sender == account:
            return None  # the account's own reaction, in Meta's inbox: not the customer's
        return self._reaction(at, an_object(reaction, "reaction"))

    def _message(self, customer: str, at: datetime, message: dict[str, Any]) -> NetworkEvent:
        mid = an_id(message.get("mid"), "mid")
        if message.get("is_deleted") is True:
            return MessageRemoved(self.network, mid, at)
        text = string(message.get("text"))  # a tapped quick reply's is its title
        if message.get("is_echo") is True:
            # The account's own message: sent by Carebridge (its marker in `metadata`), another
            # app, or someone in Meta's inbox.
            metadata, reply_to = message.get("metadata"), message.get("reply_to")
            return AnsweredElsewhere(
                network=self.network,
                external_id=mid,
                customer_external_id=customer,
                text=text,
                at=at,
                visibility=Visibility.PRIVATE,
                in_reply_to=(
                    optional_id(reply_to.get("mid"), "reply_to.mid")
                    if isinstance(reply_to, dict)
                    else None
                ),
                marker=metadata if isinstance(metadata, str) else None,
            )
        attachments = [
            *self.extras(message),
            *(self.attachment(item) for item in a_list(message.get("attachments"), "attachments")),
        ]
        if message.get("is_unsupported") in (True, "true"):  # Instagram's Graph writes "true"
            attachments.append(Attachment(AttachmentKind.UNSUPPORTED))
        quick_reply = message.get("quick_reply")
        return InboundMessage(
            network=self.network,
            external_id=mid,
            author=Author(external_id=customer, handle="", name=""),  # the adapter reads names
            text=text,
            created_at=at,
            visibility=Visibility.PRIVATE,
            attachments=tuple(attachments),
            choice=string(quick_reply.get("payload")) if isinstance(quick_reply, dict) else "",
        )

    def _reaction(self, at: datetime, reaction: dict[str, Any]) -> MessageReaction:
        mid = an_id(reaction.get("mid"), "mid")
        if reaction.get("action") == "unreact":
            return MessageReaction(self.network, mid, None, at)
        shown = string(reaction.get("emoji")) or string(reaction.get("reaction"))
        if not shown:
            raise Unexpected("a reaction with neither emoji nor name")
        return MessageReaction(self.network, mid, shown, at)
