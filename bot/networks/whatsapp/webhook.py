"""Meta's webhook for WhatsApp: the subscription handshake, the signature, and the `messages`
field of a WhatsApp Business Account turned into Carebridge's events.

Meta posts every product of an app to one URL: `object` says whose a delivery is
("whatsapp_business_account" here; "page" and "instagram" are other receivers' and are left
alone). An entry is a business account; each of its changes carries one phone number's
`messages` (what customers wrote) and `statuses` (what became of the business's messages).

Every customer message is shown, whatever its type: text as text, media as attachments whose
url is `whatsapp-media:<media id>` (Meta gives no link in the webhook: the adapter turns the id
into a download with `media_url()` and `download()`), a location as a line with a map link,
shared contacts by name, a tapped button or list row by its words (a reply button's or a list
row's id as the `choice`), and anything else as "(unsupported WhatsApp message: <type>)". A
part of a shape this parser does not know is logged by its field names and left out. Nothing
logged carries a value: a customer's wa_id *is* their phone number, and a message id (wamid)
encodes it.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import structlog

from bot.domain.model import (
    Attachment,
    AttachmentKind,
    Author,
    DeliveryReceipt,
    InboundMessage,
    MessageReaction,
    NetworkEvent,
    Receipt,
    Visibility,
)
from bot.networks.base import AccountConfig, Pushed
from bot.networks.meta.signing import Signed
from bot.networks.meta.values import (
    Unexpected,
    an_id,
    an_object,
    delivery,
    entries,
    map_link,
    seconds,
    string,
)

log = structlog.get_logger(__name__)

NETWORK = "whatsapp"  # the package's NETWORK, repeated: the package imports this module
OBJECT = "whatsapp_business_account"
SKIPPED = "whatsapp.webhook.skipped"
MEDIA_SCHEME = "whatsapp-media:"
UNKNOWN_NAME = "WhatsApp user"  # a sender the delivery gives no profile name for
MEDIA_KINDS = {
    "image": AttachmentKind.IMAGE,
    "video": AttachmentKind.VIDEO,
    "audio": AttachmentKind.AUDIO,
    "document": AttachmentKind.FILE,
    "sticker": AttachmentKind.STICKER,
}
_TYPE = re.compile(r"[a-z_]{1,40}")  # a message type as shown to agents; anything else: unknown
_MEDIA_ID = re.compile(r"[0-9]{1,32}")
_WAMID = re.compile(r"wamid\.[A-Za-z0-9+/=_-]{1,56}")  # fits a message's 64-character external id


@dataclass(frozen=True)
class DeliveryStatus:
    """What became of a message the business sent: "sent", "delivered", "read" or "failed"
    (with Meta's error code and title). No service consumes these yet; `marker` is the
    `biz_opaque_callback_data` the message was sent with (Carebridge's marker)."""

    phone_number_id: str
    message_id: str
    status: str
    at: datetime | None  # None: Meta's timestamp was unreadable
    error_code: int | None = None
    error_title: str = ""
    marker: str | None = None


def media_url(media_id: str) -> str:
    """The attachment url of a WhatsApp media id."""
    return MEDIA_SCHEME + media_id


def media_id_of(url: str) -> str | None:
    """The media id of an attachment url made by `media_url()`; None for any other url."""
    if not url.startswith(MEDIA_SCHEME):
        return None
    media = url.removeprefix(MEDIA_SCHEME)
    return media if _MEDIA_ID.fullmatch(media) else None


class WhatsAppReceiver(Signed):
    """The `whatsapp_business_account` deliveries of one Meta app, for the numbers served
    (the handshake and the signature are every Meta receiver's: `Signed`)."""

    def __init__(
        self,
        phone_number_ids: Sequence[str],
        app_secrets: Sequence[str],
        verify_tokens: Sequence[str],
    ) -> None:
        super().__init__(app_secrets, verify_tokens)
        self.phone_number_ids = frozenset(n for n in phone_number_ids if n)

    @classmethod
    def for_accounts(cls, accounts: Sequence[AccountConfig]) -> WhatsAppReceiver:
        def values(key: str) -> list[str]:
            return [str(a.value(key)) for a in accounts if a.value(key) is not None]

        return cls(values("phone_number_id"), values("app_secret"), values("verify_token"))

    def parse(self, body: bytes) -> list[Pushed]:
        pushed: list[Pushed] = []
        for number, value in _values(body):
            if number not in self.phone_number_ids:
                log.warning("whatsapp.webhook.unknown_number", phone_number_id=number)
                continue
            pushed += [Pushed(number, event) for event in _messages(value)]
            pushed += [
                Pushed(number, receipt)
                for status in _statuses(number, value)
                if (receipt := _receipt(status)) is not None
            ]
        return pushed


def delivery_statuses(body: bytes) -> list[DeliveryStatus]:
    """The statuses of the business's messages in a verified delivery, for every number;
    raises MalformedPayload."""
    return [status for number, value in _values(body) for status in _statuses(number, value)]


# --- the delivery: entries and changes ------------------------------------------------------------
def _values(body: bytes) -> list[tuple[str, dict[str, Any]]]:
    """(phone number id, value) of every `messages` change of a WhatsApp delivery; nothing for
    another object's delivery."""
    parsed = delivery(body)
    if parsed.get("object") != OBJECT:
        return []  # a Page's or an Instagram account's, on the same path
    found = []
    for entry in entries(parsed):
        changes = entry.get("changes") if isinstance(entry, dict) else None
        if not isinstance(changes, list):
            log.warning(SKIPPED, part="entry", reason="not an entry with a list of changes")
            continue
        for change in changes:
            try:
                value = _messages_value(change)
            except Unexpected as error:
                log.warning(SKIPPED, part="change", reason=str(error))
                continue
            if value is not None:
                found.append(value)
    return found


def _messages_value(change: Any) -> tuple[str, dict[str, Any]] | None:
    change = an_object(change, "change")
    if change.get("field") != "messages":
        return None  # template reviews, quality updates... nothing Carebridge mirrors
    value = an_object(change.get("value"), "value")
    metadata = an_object(value.get("metadata"), "value.metadata")
    return an_id(metadata.get("phone_number_id"), "metadata.phone_number_id"), value


# --- customers' messages --------------------------------------------------------------------------
def _messages(value: dict[str, Any]) -> list[NetworkEvent]:
    names = _profile_names(value.get("contacts"))
    events: list[NetworkEvent] = []
    for item in _items(value, "messages"):
        try:
            events.append(_message(an_object(item, "message"), names))
        except Unexpected as error:
            log.warning(SKIPPED, part="message", reason=str(error))
    return events


def _profile_names(contacts: Any) -> dict[str, str]:
    """wa_id -> the profile name the customer gave WhatsApp."""
    names = {}
    for contact in contacts if isinstance(contacts, list) else []:
        if not isinstance(contact, dict) or not isinstance(contact.get("profile"), dict):
            continue
        wa_id, name = contact.get("wa_id"), contact["profile"].get("name")
        if isinstance(wa_id, str) and isinstance(name, str) and name.strip():
            names[wa_id] = name.strip()
    return names


def _message(message: dict[str, Any], names: Mapping[str, str]) -> NetworkEvent:
    external_id = an_id(message.get("id"), "message.id")
    sender = an_id(message.get("from"), "message.from")
    at = seconds(message.get("timestamp"))
    kind = string(message.get("type"))
    kind = kind if _TYPE.fullmatch(kind) else "unknown"
    if kind == "reaction":
        reaction = an_object(message.get("reaction"), "reaction")
        answered = an_id(reaction.get("message_id"), "reaction.message_id")
        return MessageReaction(NETWORK, answered, string(reaction.get("emoji")) or None, at)
    try:
        content = _READERS.get(kind, _unsupported)(kind, message)
    except Unexpected as error:
        # A known type of an unknown shape: shown as unsupported rather than lost.
        log.warning(SKIPPED, part=kind, reason=str(error))
        content = _unsupported(kind, message)
    return InboundMessage(
        network=NETWORK,
        external_id=external_id,
        author=Author(external_id=sender, handle="", name=names.get(sender, UNKNOWN_NAME)),
        text=content.text,
        created_at=at,
        visibility=Visibility.PRIVATE,
        attachments=content.attachments,
        in_reply_to=_quoted(message.get("context")),
        choice=content.choice,
    )


def _quoted(context: Any) -> str:
    """The message a customer quoted (swiped to reply to): `context.id`. A forwarded message
    has a context too, without an id."""
    quoted = context.get("id") if isinstance(context, dict) else None
    return quoted if isinstance(quoted, str) and _WAMID.fullmatch(quoted) else ""


@dataclass(frozen=True)
class Content:
    """What a message of one type shows: its text, its attachments, and the choice it is
    (the id of a reply button or list row the customer picked)."""

    text: str
    attachments: tuple[Attachment, ...] = ()
    choice: str = ""


def _text(kind: str, message: dict[str, Any]) -> Content:
    return Content(string(an_object(message.get("text"), "text").get("body")))


def _media(kind: str, message: dict[str, Any]) -> Content:
    media = an_object(message.get(kind), kind)
    media_id = an_id(media.get("id"), f"{kind}.id")
    if not _MEDIA_ID.fullmatch(media_id):
        raise Unexpected(f"{kind}.id is not a media id")
    title = string(media.get("filename"))  # documents only
    attachment = Attachment(MEDIA_KINDS[kind], media_url(media_id), title)
    return Content(string(media.get("caption")), (attachment,))


def _location(kind: str, message: dict[str, Any]) -> Content:
    place = an_object(message.get("location"), "location")
    words = [w for w in (string(place.get(k)).strip() for k in ("name", "address")) if w]
    label = ", ".join(dict.fromkeys(words)) or "Location"
    link = map_link(place.get("latitude"), place.get("longitude"))
    if not link:
        raise Unexpected("location has no coordinates")
    return Content(f"{label}: {link}", (Attachment(AttachmentKind.LOCATION, link, label),))


def _contacts(kind: str, message: dict[str, Any]) -> Content:
    # Names only: the phone numbers of third parties stay on WhatsApp.
    shared = message.get("contacts")
    if not isinstance(shared, list):
        raise Unexpected("contacts is not a list")
    names = [
        string(c["name"].get("formatted_name")).strip()
        for c in shared
        if isinstance(c, dict) and isinstance(c.get("name"), dict)
    ]
    names = [n for n in names if n] or ["(no name)"]
    shown = ("Shared contact: " if len(names) == 1 else "Shared contacts: ") + ", ".join(names)
    return Content(shown)


def _button(kind: str, message: dict[str, Any]) -> Content:
    """A quick-reply button of a template message, tapped: its words."""
    return Content(string(an_object(message.get("button"), "button").get("text")))


def _interactive(kind: str, message: dict[str, Any]) -> Content:
    """A reply button or a list row of an interactive message, chosen: its title, and its id
    as the choice."""
    interactive = an_object(message.get("interactive"), "interactive")
    reply_kind = string(interactive.get("type"))
    if reply_kind not in ("button_reply", "list_reply"):
        return _unsupported(f"interactive {reply_kind or 'unknown'}", message)
    reply = an_object(interactive.get(reply_kind), f"interactive.{reply_kind}")
    return Content(string(reply.get("title")), choice=string(reply.get("id")))


def _unsupported(kind: str, message: dict[str, Any]) -> Content:
    shown = kind if _TYPE.fullmatch(kind.replace(" ", "_")) else "unknown"
    return Content(f"(unsupported WhatsApp message: {shown})")


_READERS: dict[str, Callable[[str, dict[str, Any]], Content]] = {
    "text": _text,
    **dict.fromkeys(MEDIA_KINDS, _media),
    "location": _location,
    "contacts": _contacts,
    "button": _button,
    "interactive": _interactive,
}


# --- the business's messages: statuses ------------------------------------------------------------
def _statuses(number: str, value: dict[str, Any]) -> list[DeliveryStatus]:
    found = []
    for item in _items(value, "statuses"):
        try:
            found.append(_status(number, an_object(item, "status")))
        except Unexpected as error:
            log.warning(SKIPPED, part="status", reason=str(error))
    return found


def _status(number: str, item: dict[str, Any]) -> DeliveryStatus:
    status = string(item.get("status"))
    if not _TYPE.fullmatch(status):
        raise Unexpected("status.status is not a status")
    errors = item.get("errors")
    first = errors[0] if isinstance(errors, list) and errors else {}
    first = first if isinstance(first, dict) else {}
    code = first.get("code")
    marker = item.get("biz_opaque_callback_data")
    return DeliveryStatus(
        phone_number_id=number,
        message_id=an_id(item.get("id"), "status.id"),
        status=status,
        at=_time(item.get("timestamp")),
        error_code=code if isinstance(code, int) and not isinstance(code, bool) else None,
        error_title=string(first.get("title")),
        marker=marker if isinstance(marker, str) else None,
    )


def _receipt(status: DeliveryStatus) -> DeliveryReceipt | None:
    """The status as Carebridge's receipt; None for a status it does not know (logged)."""
    try:
        receipt = Receipt(status.status)
    except ValueError:
        log.info("whatsapp.webhook.status_unknown", status=status.status)
        return None
    reason = ""
    if receipt is Receipt.FAILED:
        title = status.error_title or "no reason given"
        reason = f"{title} (WhatsApp error {status.error_code})" if status.error_code else title
    return DeliveryReceipt(NETWORK, status.message_id, receipt, status.at, reason)


# --- values ---------------------------------------------------------------------------------------
def _items(value: dict[str, Any], key: str) -> list[Any]:
    items = value.get(key, [])
    if isinstance(items, list):
        return items
    log.warning(SKIPPED, part=key, reason="not a list")
    return []


def _time(value: Any) -> datetime | None:
    """A status's time; None when Meta's is unreadable (a status is no less one for that)."""
    try:
        return seconds(value)
    except Unexpected:
        return None
