"""Meta's webhook for Facebook Pages: the subscription handshake, the signature, and a Page's
`feed` and `mention` changes and Messenger events turned into Carebridge's events.

Meta posts every product of an app to one URL: `object` says whose a delivery is ("page" here;
"instagram" and "whatsapp_business_account" are other receivers' and are left alone), and one
POST batches several entries, each of one Page. An entry, change or event of a shape this parser
does not know is logged and left out, so one odd event never costs the rest of the delivery
(Meta would retry all of it for hours, then disable the subscription).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any
from urllib.parse import quote

import structlog

from bot.domain.model import (
    AnsweredElsewhere,
    Attachment,
    AttachmentKind,
    Author,
    DeliveryReceipt,
    InboundMessage,
    MessageEdited,
    MessageRemoved,
    NetworkEvent,
    Receipt,
    Visibility,
)
from bot.networks.base import AccountConfig, Pushed
from bot.networks.meta.messaging import Messaging
from bot.networks.meta.signing import Signed
from bot.networks.meta.values import (
    Unexpected,
    a_list,
    an_id,
    an_object,
    delivery,
    entries,
    entry_id,
    map_link,
    milliseconds,
    optional_id,
    party,
    seconds,
    string,
)

log = structlog.get_logger(__name__)

NETWORK = "facebook"  # the package's NETWORK, repeated: the package imports this module
SKIPPED = "facebook.webhook.skipped"
MESSENGER_KINDS = {
    "image": AttachmentKind.IMAGE,
    "video": AttachmentKind.VIDEO,
    "audio": AttachmentKind.AUDIO,
    "file": AttachmentKind.FILE,
    "fallback": AttachmentKind.FILE,  # a shared link, in older payloads
    "template": AttachmentKind.FILE,
}
NOBODY = Author(external_id="", handle="", name="")  # the adapter looks the author up


class MetaReceiver(Signed):
    """The `page` deliveries of one Meta app, for the Pages Carebridge serves."""

    def __init__(
        self, page_ids: Sequence[str], app_secrets: Sequence[str], verify_tokens: Sequence[str]
    ) -> None:
        super().__init__(app_secrets, verify_tokens)
        self.page_ids = frozenset(p for p in page_ids if p)  # an unset id never matches

    @classmethod
    def for_accounts(cls, accounts: Sequence[AccountConfig]) -> MetaReceiver:
        def values(key: str) -> list[str]:
            return [str(a.value(key)) for a in accounts if a.value(key) is not None]

        return cls(values("page_id"), values("app_secret"), values("verify_token"))

    def parse(self, body: bytes) -> list[Pushed]:
        parsed = delivery(body)
        if parsed.get("object") != "page":
            return []  # Instagram's or WhatsApp's, on the same path
        pushed: list[Pushed] = []
        for entry in entries(parsed):
            page = entry_id(entry)
            if page is None:
                log.warning(SKIPPED, part="entry", reason="not an entry with a Page id")
            elif page not in self.page_ids:
                log.warning("facebook.webhook.unknown_page", page=page)
            else:
                pushed += [Pushed(page, event) for event in _entry_events(page, entry)]
        return pushed


# (page id, the entry's time, one item of its changes/messaging/standby) -> its events (a
# delivery receipt names several messages), one, or nothing
Reader = Callable[[str, Any, Any], NetworkEvent | list[NetworkEvent] | None]


def _entry_events(page: str, entry: dict[str, Any]) -> list[NetworkEvent]:
    # `standby` carries the same events as `messaging` while another app has thread control.
    return (
        _each(page, entry, "changes", _change)
        + _each(page, entry, "messaging", _messaging)
        + _each(page, entry, "standby", _messaging)
    )


def _each(page: str, entry: dict[str, Any], key: str, read: Reader) -> list[NetworkEvent]:
    items = entry.get(key, [])
    if not isinstance(items, list):
        log.warning(SKIPPED, page=page, part=key, reason="not a list")
        return []
    events = []
    for item in items:
        try:
            event = read(page, entry.get("time"), item)
        except Unexpected as error:
            log.warning(SKIPPED, page=page, part=key, reason=str(error))
            continue
        if isinstance(event, list):
            events += event
        elif event is not None:
            events.append(event)
    return events


# --- changes: comments and mentions (entry time in seconds) ------------------------------------
def _change(page: str, entry_time: Any, change: Any) -> NetworkEvent | None:
    change = an_object(change, "change")
    if change.get("field") == "feed":
        value = an_object(change.get("value"), "feed value")
        # Posts, reactions, statuses... are not conversations Carebridge mirrors.
        return _feed_comment(page, entry_time, value) if value.get("item") == "comment" else None
    if change.get("field") == "mention":
        return _mention(entry_time, an_object(change.get("value"), "mention value"))
    return None  # ratings, parking... fields Carebridge does not use


def _feed_comment(page: str, entry_time: Any, value: dict[str, Any]) -> NetworkEvent | None:
    verb = value.get("verb")
    if verb not in ("add", "edited", "remove"):
        return None  # hide and unhide are the Page's own moderation
    comment_id = an_id(value.get("comment_id"), "comment_id")
    if verb == "remove":
        return MessageRemoved(NETWORK, comment_id, seconds(entry_time, value.get("created_time")))
    text = string(value.get("message"))
    if verb == "edited":
        # The entry's time is when it was edited; created_time may be when it was written.
        at = seconds(entry_time, value.get("created_time"))
        return MessageEdited(NETWORK, comment_id, text, at)
    author = _commenter(value)
    at = seconds(value.get("created_time"), entry_time)
    if author.external_id != page:
        return _public_message(comment_id, author, text, at, value)
    # The Page commenting: an answer given on Facebook (or Carebridge's own, come back). The
    # customer answered is known only through the comment it replies to.
    parent = optional_id(value.get("parent_id"), "parent_id")
    post = optional_id(value.get("post_id"), "post_id")
    return AnsweredElsewhere(
        network=NETWORK,
        external_id=comment_id,
        customer_external_id="",
        text=text,
        at=at,
        visibility=Visibility.PUBLIC,
        in_reply_to=parent if parent != post else None,  # a reply to a comment, not the post
    )


def _mention(entry_time: Any, value: dict[str, Any]) -> NetworkEvent | None:
    if value.get("verb") != "add":
        return None
    if value.get("item") == "comment":
        external_id = an_id(value.get("comment_id"), "comment_id")
    elif value.get("item") == "post":
        external_id = an_id(value.get("post_id"), "post_id")
    else:
        return None
    text = string(value.get("message"))
    at = seconds(value.get("created_time"), entry_time)
    return _public_message(external_id, _commenter(value), text, at, value)


def _commenter(value: dict[str, Any]) -> Author:
    """The author of a comment: `from` in newer payloads, `sender_id`/`sender_name` in older
    ones, nobody in mentions (whose author the adapter looks up)."""
    if value.get("from") is not None:
        person = an_object(value["from"], "from")
        return Author(an_id(person.get("id"), "from.id"), "", string(person.get("name")))
    if value.get("sender_id") is not None:
        sender_id = an_id(value["sender_id"], "sender_id")
        return Author(sender_id, "", string(value.get("sender_name")))
    return NOBODY


def _public_message(
    external_id: str, author: Author, text: str, at: datetime, value: dict[str, Any]
) -> InboundMessage:
    # A comment of only a photo or a video has an empty message and the media's URL.
    media = [
        Attachment(kind, string(value.get(key)))
        for key, kind in (("photo", AttachmentKind.IMAGE), ("video", AttachmentKind.VIDEO))
        if string(value.get(key))
    ]
    return InboundMessage(
        network=NETWORK,
        external_id=external_id,
        author=author,
        text=text,
        created_at=at,
        visibility=Visibility.PUBLIC,
        permalink="https://www.facebook.com/" + quote(external_id, safe=""),
        attachments=tuple(media),
    )


# --- Messenger (entry time in milliseconds) -------------------------------------------------------
def _messaging(page: str, entry_time: Any, event: Any) -> NetworkEvent | list[NetworkEvent] | None:
    event = an_object(event, "messaging event")
    if event.get("delivery") is not None or event.get("read") is not None:
        return _receipts(page, event)
    return MESSENGER.event(page, entry_time, event)


def _receipts(page: str, event: dict[str, Any]) -> list[NetworkEvent]:
    """What the customer's Messenger did with the Page's messages: delivered (by id, or all up
    to a watermark) or read (all up to a watermark)."""
    customer = party(event, "sender")
    if customer == page:
        return []  # the Page's own app reading the customer: nothing of ours
    read = event.get("read")
    receipt, body = (
        (Receipt.READ, an_object(read, "read"))
        if read is not None
        else (Receipt.DELIVERED, an_object(event.get("delivery"), "delivery"))
    )
    up_to = milliseconds(body.get("watermark"))
    mids = [an_id(mid, "mid") for mid in a_list(body.get("mids"), "mids")]
    if mids:
        return [DeliveryReceipt(NETWORK, mid, receipt, up_to) for mid in mids]
    return [DeliveryReceipt(NETWORK, "", receipt, up_to, customer_external_id=customer)]


def _attachment(item: Any) -> Attachment:
    # One odd attachment is shown as "unsupported" rather than costing the customer's message.
    if not isinstance(item, dict):
        return Attachment(AttachmentKind.UNSUPPORTED)
    # `payload` is an object, except in legacy `fallback` attachments (a string).
    payload = item["payload"] if isinstance(item.get("payload"), dict) else {}
    url = string(payload.get("url")) or string(item.get("url"))
    title = string(item.get("title")) or string(payload.get("title"))
    kind = string(item.get("type"))
    if payload.get("sticker_id") is not None:
        return Attachment(AttachmentKind.STICKER, url)
    if kind == "location":
        return Attachment(AttachmentKind.LOCATION, url or _map_link(payload), title)
    return Attachment(MESSENGER_KINDS.get(kind, AttachmentKind.UNSUPPORTED), url, title)


def _map_link(payload: dict[str, Any]) -> str:
    """A map of the shared location: newer payloads give only its coordinates."""
    coordinates = payload.get("coordinates")
    if not isinstance(coordinates, dict):
        return ""
    return map_link(coordinates.get("lat"), coordinates.get("long"))


MESSENGER = Messaging(NETWORK, _attachment)
