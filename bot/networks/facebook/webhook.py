"""Meta's webhook for Facebook Pages: the subscription handshake, the signature, and a Page's
`feed` and `mention` changes and Messenger events turned into Carebridge's events.

Meta posts every product of an app to one URL: `object` says whose a delivery is ("page" here;
"instagram" and "whatsapp_business_account" are other receivers' and are left alone), and one
POST batches several entries, each of one Page. An entry, change or event of a shape this parser
does not know is logged and left out, so one odd event never costs the rest of the delivery
(Meta would retry all of it for hours, then disable the subscription).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

import structlog

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
from bot.networks.base import AccountConfig, MalformedPayload, Pushed

log = structlog.get_logger(__name__)

NETWORK = "facebook"  # the package's NETWORK, repeated: the package imports this module
SIGNATURE_HEADER = "x-hub-signature-256"
CHALLENGE = re.compile(r"[0-9]{1,64}")  # Meta's challenges are digits: nothing else is echoed
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


class _Unexpected(ValueError):
    """A part of a delivery of a shape this parser does not know; its text names the field,
    never a value, so it can be logged."""


def signature(app_secret: str, body: bytes) -> str:
    """What Meta sends in X-Hub-Signature-256 for `body`."""
    return "sha256=" + hmac.new(app_secret.encode(), body, hashlib.sha256).hexdigest()


def _matches(given: str, expected: Iterable[str]) -> bool:
    # Bytes, because compare_digest refuses non-ASCII str; surrogatepass, because a query or
    # header can carry any str and an encoding error must not become a 500. A list, not a
    # generator: every candidate is compared, so the time says nothing about which matched.
    given_bytes = given.encode("utf-8", "surrogatepass")
    return any([hmac.compare_digest(given_bytes, e.encode()) for e in expected])


class MetaReceiver:
    """The `page` deliveries of one Meta app, for the Pages Carebridge serves."""

    def __init__(
        self, page_ids: Sequence[str], app_secrets: Sequence[str], verify_tokens: Sequence[str]
    ) -> None:
        # Unset values are dropped, so an empty signature or token never matches one.
        self.page_ids = frozenset(p for p in page_ids if p)
        self.app_secrets = tuple(dict.fromkeys(s for s in app_secrets if s))
        self.verify_tokens = tuple(dict.fromkeys(t for t in verify_tokens if t))

    @classmethod
    def for_accounts(cls, accounts: Sequence[AccountConfig]) -> MetaReceiver:
        def values(key: str) -> list[str]:
            return [str(a.value(key)) for a in accounts if a.value(key) is not None]

        return cls(values("page_id"), values("app_secret"), values("verify_token"))

    def handshake(self, query: Mapping[str, str]) -> tuple[int, str]:
        challenge = query.get("hub.challenge", "")
        if (
            query.get("hub.mode") == "subscribe"
            and CHALLENGE.fullmatch(challenge)
            and _matches(query.get("hub.verify_token", ""), self.verify_tokens)
        ):
            return 200, challenge
        return 403, "forbidden"

    def verify(self, headers: Mapping[str, str], body: bytes) -> bool:
        given = headers.get(SIGNATURE_HEADER, "")
        return _matches(given, [signature(secret, body) for secret in self.app_secrets])

    def parse(self, body: bytes) -> list[Pushed]:
        try:
            delivery = json.loads(body)
        except (ValueError, RecursionError):  # RecursionError: absurdly nested arrays
            raise MalformedPayload("not JSON") from None
        if not isinstance(delivery, dict):
            raise MalformedPayload("not a JSON object")
        if delivery.get("object") != "page":
            return []  # Instagram's or WhatsApp's, on the same path
        entries = delivery.get("entry")
        if not isinstance(entries, list):
            raise MalformedPayload("entry is not a list")
        pushed: list[Pushed] = []
        for entry in entries:
            page = _entry_page(entry)
            if page is None:
                log.warning(SKIPPED, part="entry", reason="not an entry with a Page id")
            elif page not in self.page_ids:
                log.warning("facebook.webhook.unknown_page", page=page)
            else:
                pushed += [Pushed(page, event) for event in _entry_events(page, entry)]
        return pushed


def _entry_page(entry: Any) -> str | None:
    try:
        return _id(_object(entry, "entry").get("id"), "entry id")
    except _Unexpected:
        return None


# (page id, the entry's time, one item of its changes/messaging/standby) -> an event or nothing
Reader = Callable[[str, Any, Any], NetworkEvent | None]


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
        except _Unexpected as error:
            log.warning(SKIPPED, page=page, part=key, reason=str(error))
            continue
        if event is not None:
            events.append(event)
    return events


# --- changes: comments and mentions (entry time in seconds) ------------------------------------
def _change(page: str, entry_time: Any, change: Any) -> NetworkEvent | None:
    change = _object(change, "change")
    if change.get("field") == "feed":
        value = _object(change.get("value"), "feed value")
        # Posts, reactions, statuses... are not conversations Carebridge mirrors.
        return _feed_comment(page, entry_time, value) if value.get("item") == "comment" else None
    if change.get("field") == "mention":
        return _mention(entry_time, _object(change.get("value"), "mention value"))
    return None  # ratings, parking... fields Carebridge does not use


def _feed_comment(page: str, entry_time: Any, value: dict[str, Any]) -> NetworkEvent | None:
    verb = value.get("verb")
    if verb not in ("add", "edited", "remove"):
        return None  # hide and unhide are the Page's own moderation
    comment_id = _id(value.get("comment_id"), "comment_id")
    if verb == "remove":
        return MessageRemoved(NETWORK, comment_id, _seconds(entry_time, value.get("created_time")))
    text = _string(value.get("message"))
    if verb == "edited":
        # The entry's time is when it was edited; created_time may be when it was written.
        at = _seconds(entry_time, value.get("created_time"))
        return MessageEdited(NETWORK, comment_id, text, at)
    author = _commenter(value)
    at = _seconds(value.get("created_time"), entry_time)
    if author.external_id != page:
        return _public_message(comment_id, author, text, at, value)
    # The Page commenting: an answer given on Facebook (or Carebridge's own, come back). The
    # customer answered is known only through the comment it replies to.
    parent = _optional_id(value.get("parent_id"), "parent_id")
    post = _optional_id(value.get("post_id"), "post_id")
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
        external_id = _id(value.get("comment_id"), "comment_id")
    elif value.get("item") == "post":
        external_id = _id(value.get("post_id"), "post_id")
    else:
        return None
    text = _string(value.get("message"))
    at = _seconds(value.get("created_time"), entry_time)
    return _public_message(external_id, _commenter(value), text, at, value)


def _commenter(value: dict[str, Any]) -> Author:
    """The author of a comment: `from` in newer payloads, `sender_id`/`sender_name` in older
    ones, nobody in mentions (whose author the adapter looks up)."""
    if value.get("from") is not None:
        person = _object(value["from"], "from")
        return Author(_id(person.get("id"), "from.id"), "", _string(person.get("name")))
    if value.get("sender_id") is not None:
        sender_id = _id(value["sender_id"], "sender_id")
        return Author(sender_id, "", _string(value.get("sender_name")))
    return NOBODY


def _public_message(
    external_id: str, author: Author, text: str, at: datetime, value: dict[str, Any]
) -> InboundMessage:
    # A comment of only a photo or a video has an empty message and the media's URL.
    media = [
        Attachment(kind, _string(value.get(key)))
        for key, kind in (("photo", AttachmentKind.IMAGE), ("video", AttachmentKind.VIDEO))
        if _string(value.get(key))
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
def _messaging(page: str, entry_time: Any, event: Any) -> NetworkEvent | None:
    event = _object(event, "messaging event")
    message, edit, reaction = event.get("message"), event.get("message_edit"), event.get("reaction")
    if message is None and edit is None and reaction is None:
        return None  # read, delivery, postback, optin, thread handover...
    sender, recipient = _party(event, "sender"), _party(event, "recipient")
    if page not in (sender, recipient):
        raise _Unexpected("the Page is neither sender nor recipient")
    customer = recipient if sender == page else sender
    at = _milliseconds(event.get("timestamp"), entry_time)
    if message is not None:
        return _message(customer, at, _object(message, "message"))
    if edit is not None:
        edit = _object(edit, "message_edit")
        return MessageEdited(NETWORK, _id(edit.get("mid"), "mid"), _string(edit.get("text")), at)
    if sender == page:
        return None  # the Page's own reaction, in Meta's inbox: not the customer's
    return _reaction(at, _object(reaction, "reaction"))


def _message(customer: str, at: datetime, message: dict[str, Any]) -> NetworkEvent:
    mid = _id(message.get("mid"), "mid")
    if message.get("is_deleted") is True:
        return MessageRemoved(NETWORK, mid, at)
    text = _string(message.get("text"))  # a quick reply keeps its text too
    if message.get("is_echo") is True:
        # The Page's own message: sent by Carebridge (its marker in `metadata`), another app,
        # or someone in Meta's inbox.
        metadata = message.get("metadata")
        reply_to = message.get("reply_to")
        return AnsweredElsewhere(
            network=NETWORK,
            external_id=mid,
            customer_external_id=customer,
            text=text,
            at=at,
            visibility=Visibility.PRIVATE,
            in_reply_to=(
                _optional_id(reply_to.get("mid"), "reply_to.mid")
                if isinstance(reply_to, dict)
                else None
            ),
            marker=metadata if isinstance(metadata, str) else None,
        )
    attachments = [_attachment(item) for item in _list(message.get("attachments"), "attachments")]
    if message.get("is_unsupported") is True:
        attachments.append(Attachment(AttachmentKind.UNSUPPORTED))
    return InboundMessage(
        network=NETWORK,
        external_id=mid,
        author=Author(external_id=customer, handle="", name=""),  # Messenger sends no names
        text=text,
        created_at=at,
        visibility=Visibility.PRIVATE,
        attachments=tuple(attachments),
    )


def _attachment(item: Any) -> Attachment:
    # One odd attachment is shown as "unsupported" rather than costing the customer's message.
    if not isinstance(item, dict):
        return Attachment(AttachmentKind.UNSUPPORTED)
    # `payload` is an object, except in legacy `fallback` attachments (a string).
    payload = item["payload"] if isinstance(item.get("payload"), dict) else {}
    url = _string(payload.get("url")) or _string(item.get("url"))
    title = _string(item.get("title")) or _string(payload.get("title"))
    kind = _string(item.get("type"))
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
    lat, long = coordinates.get("lat"), coordinates.get("long")
    if not all(
        isinstance(c, int | float) and not isinstance(c, bool) and -180 <= c <= 180
        for c in (lat, long)
    ):
        return ""
    return f"https://www.google.com/maps/search/?api=1&query={lat},{long}"


def _reaction(at: datetime, reaction: dict[str, Any]) -> MessageReaction:
    mid = _id(reaction.get("mid"), "mid")
    if reaction.get("action") == "unreact":
        return MessageReaction(NETWORK, mid, None, at)
    shown = _string(reaction.get("emoji")) or _string(reaction.get("reaction"))
    if not shown:
        raise _Unexpected("a reaction with neither emoji nor name")
    return MessageReaction(NETWORK, mid, shown, at)


# --- values ---------------------------------------------------------------------------------------
def _object(value: Any, what: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise _Unexpected(f"{what} is not an object")
    return value


def _list(value: Any, what: str) -> list[Any]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise _Unexpected(f"{what} is not a list")
    return value


def _id(value: Any, what: str) -> str:
    """An id: a string, or a number in old payloads."""
    if isinstance(value, str) and value:
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    raise _Unexpected(f"{what} is not an id")


def _optional_id(value: Any, what: str) -> str | None:
    return None if value is None else _id(value, what)


def _party(event: dict[str, Any], key: str) -> str:
    return _id(_object(event.get(key), key).get("id"), f"{key}.id")


def _string(value: Any) -> str:
    """A text field; anything else counts as absent."""
    return value if isinstance(value, str) else ""


def _seconds(*candidates: Any) -> datetime:
    return _first_time(candidates, per_second=1)


def _milliseconds(*candidates: Any) -> datetime:
    return _first_time(candidates, per_second=1000)


def _first_time(candidates: Iterable[Any], per_second: int) -> datetime:
    for candidate in candidates:
        at = _time(candidate, per_second)
        if at is not None:
            return at
    raise _Unexpected("no time")


def _time(value: Any, per_second: int) -> datetime | None:
    """A time since the epoch (in seconds or milliseconds, as a number or digits), or an ISO
    8601 string (some Graph versions); None when it is neither."""
    try:
        if isinstance(value, str) and value.isascii() and value.isdigit():
            value = int(value)
        if isinstance(value, str):
            at = datetime.fromisoformat(value)
            return at.astimezone(UTC) if at.tzinfo else at.replace(tzinfo=UTC)
        if isinstance(value, int | float) and not isinstance(value, bool):
            return datetime.fromtimestamp(value / per_second, UTC)
    except (ValueError, OverflowError, OSError):  # not a date, or out of datetime's range
        return None
    return None
