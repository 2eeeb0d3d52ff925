"""The vocabulary of social customer care, free of any vendor SDK or database."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum


class Visibility(StrEnum):
    PUBLIC = "public"  # a post on the network: answered with a public reply
    PRIVATE = "private"  # a direct message: answered by DM


class Status(StrEnum):
    OPEN = "open"  # the customer waits for us
    WAITING_ON_CUSTOMER = "waiting_on_customer"  # we answered; the ball is with the customer
    RESOLVED = "resolved"


class Direction(StrEnum):
    INBOUND = "inbound"  # from the customer
    OUTBOUND = "outbound"  # to the customer
    NOTE = "note"  # internal, stays in Slack
    NOTICE = "notice"  # sent by the bot itself


class Delivery(StrEnum):
    RECEIVED = "received"  # inbound, stored
    PENDING = "pending"  # outbound, waiting in the outbox
    SENT = "sent"
    FAILED = "failed"  # gave up after retries; the agent can retry
    KEPT = "kept"  # past the network's reply window: goes out when the customer writes again
    NOT_SENT = "not_sent"  # refused before sending (too long, note, not the owner...)


@dataclass(frozen=True)
class Author:
    """A person on a network, as the network describes them."""

    external_id: str
    handle: str
    name: str
    followers: int = 0
    verified: bool = False
    profile_url: str = ""


class AttachmentKind(StrEnum):
    IMAGE = "image"
    VIDEO = "video"
    AUDIO = "audio"
    FILE = "file"
    STICKER = "sticker"
    LOCATION = "location"
    STORY = "story"  # a reply to, or a mention in, the customer's story
    UNSUPPORTED = "unsupported"  # something the network would not show us


@dataclass(frozen=True)
class Attachment:
    kind: AttachmentKind
    url: str = ""  # where to see it (empty: the network gives no link)
    title: str = ""


@dataclass(frozen=True)
class InboundMessage:
    """A customer's message, normalised by a channel adapter."""

    network: str
    external_id: str
    author: Author
    text: str
    created_at: datetime
    visibility: Visibility
    permalink: str = ""
    attachments: tuple[Attachment, ...] = ()
    in_reply_to: str = ""  # the network id of a message the customer quoted, if they did
    # The payload of a button the customer tapped (a quick reply, a WhatsApp list row) of a
    # message Carebridge sent with `OffersChoices`; the text is then the button's title.
    choice: str = ""


@dataclass(frozen=True)
class MessageEdited:
    """The customer changed a message we mirrored."""

    network: str
    external_id: str
    text: str
    at: datetime


@dataclass(frozen=True)
class MessageRemoved:
    """The customer deleted a message we mirrored (or it was removed on the network)."""

    network: str
    external_id: str
    at: datetime


@dataclass(frozen=True)
class MessageReaction:
    """The customer reacted to a message (theirs or ours); `reaction` None: taken back."""

    network: str
    external_id: str
    reaction: str | None
    at: datetime


@dataclass(frozen=True)
class AnsweredElsewhere:
    """The brand answered a customer outside Carebridge (in the network's own app or inbox):
    it counts as an answer, and the thread shows it. Carebridge's own sends also come back this
    way (echoes): `marker` carries what Carebridge attached to them, where the network allows."""

    network: str
    external_id: str  # of the brand's answer
    customer_external_id: str
    text: str
    at: datetime
    visibility: Visibility
    in_reply_to: str | None = None  # the customer's message it answers, where known
    marker: str | None = None


class Receipt(StrEnum):
    SENT = "sent"
    DELIVERED = "delivered"
    READ = "read"
    FAILED = "failed"


@dataclass(frozen=True)
class DeliveryReceipt:
    """What the network says became of a message the brand sent (WhatsApp's statuses): sent to
    its servers, delivered to the customer's phone, read, or failed, with the network's reason."""

    network: str
    external_id: str  # of the brand's message; "" for a watermark (below)
    receipt: Receipt
    at: datetime | None
    reason: str = ""  # why it failed
    # Messenger's reads (and deliveries without ids) cover every message the brand sent the
    # customer up to `at`: then external_id is "" and this names the customer.
    customer_external_id: str = ""


NetworkEvent = (
    InboundMessage
    | MessageEdited
    | MessageRemoved
    | MessageReaction
    | AnsweredElsewhere
    | DeliveryReceipt
)


@dataclass(frozen=True)
class SentMessage:
    """What a network answered when we delivered a message."""

    external_id: str
    permalink: str = ""
    # Whom it reached, when the network says and it is another id than the one we had (a
    # private reply to a Facebook comment reaches the author's Messenger id).
    recipient_id: str = ""
