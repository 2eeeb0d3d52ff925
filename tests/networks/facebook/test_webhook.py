"""Meta's Page webhook: what every recorded delivery (`shared/fixtures/meta/`) becomes, the shapes
the recordings leave out, the handshake, the signature, and malformed bodies.

The recordings are the restfb project's; they use two Pages, 1234567890321 (feed) and
12345654332 (most Messenger files). Instagram's and WhatsApp's deliveries arrive on the same path
and must produce nothing here.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from structlog.testing import capture_logs

from bot.domain.model import (
    AnsweredElsewhere,
    Attachment,
    AttachmentKind,
    Author,
    DeliveryReceipt,
    InboundMessage,
    MessageEdited,
    MessageReaction,
    MessageRemoved,
    NetworkEvent,
    Receipt,
    Visibility,
)
from bot.networks.base import AccountConfig, MalformedPayload, Pushed
from bot.networks.facebook.webhook import MetaReceiver

META = Path(__file__).resolve().parents[4] / "shared" / "fixtures" / "meta"
WEBHOOKS = META / "webhooks"
OTHER_OBJECTS = sorted(
    f"{folder}/{p.name}" for folder in ("instagram", "whatsapp") for p in (META / folder).glob("*")
)
needs_fixtures = pytest.mark.skipif(not WEBHOOKS.is_dir(), reason=f"no Meta fixtures at {META}")

PAGE = "1234567890321"  # the Page of the feed recordings
MESSENGER_PAGE = "12345654332"  # the Page of most Messenger recordings
CUSTOMER = "987654321432"
SECRET, OTHER_SECRET, TOKEN = "app-secret", "another-app-secret", "verify-token"
PUBLIC, PRIVATE = Visibility.PUBLIC, Visibility.PRIVATE
NOBODY = Author(external_id="", handle="", name="")
MESSENGER_MID = "mid.1457764197618:41d102a3e1ae206a38"


def account(name: str, page_id: str, secret: str = SECRET) -> AccountConfig:
    values = {"page_id": page_id, "app_secret": secret, "verify_token": TOKEN}
    return AccountConfig(name=name, network="facebook", slack_channel="C1", values=values)


RECEIVER = MetaReceiver.for_accounts([account("acme", PAGE), account("acme-help", MESSENGER_PAGE)])


def at(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)


def customer(external_id: str = CUSTOMER) -> Author:
    return Author(external_id=external_id, handle="", name="")


def sign(body: bytes, secret: str = SECRET) -> str:
    # Written out rather than imported, so a wrong `signature()` cannot agree with itself.
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def page_delivery(*entries: Any) -> bytes:
    return json.dumps({"object": "page", "entry": list(entries)}).encode()


def feed_entry(*values: dict[str, Any], page: str = PAGE, time: Any = 1449135003) -> dict[str, Any]:
    return {"id": page, "time": time, "changes": [{"field": "feed", "value": v} for v in values]}


def comment(**fields: Any) -> dict[str, Any]:
    """A customer's comment under the Page's post 111, in the current shape."""
    value = {
        "item": "comment",
        "verb": "add",
        "comment_id": "111_222",
        "post_id": f"{PAGE}_111",
        "parent_id": f"{PAGE}_111",
        "from": {"id": "5550001", "name": "Giulia Rossi"},
        "created_time": 1449135003,
        "message": "Il pacco è fermo da una settimana",
    }
    return value | fields


def messenger_entry(
    *events: dict[str, Any], key: str = "messaging", page: Any = MESSENGER_PAGE
) -> dict[str, Any]:
    return {"id": page, "time": 1457764198246, key: list(events)}


def messenger(
    sender: Any = CUSTOMER, recipient: Any = MESSENGER_PAGE, **kinds: Any
) -> dict[str, Any]:
    event = {"sender": {"id": sender}, "recipient": {"id": recipient}, "timestamp": 1457764197627}
    return event | kinds


def parse(body: bytes) -> list[Pushed]:
    return RECEIVER.parse(body)


def events(body: bytes) -> list[NetworkEvent]:
    return [p.event for p in parse(body)]


# --- every recorded Page delivery ----------------------------------------------------------------
# The Page's own comment (every recorded comment is the Page's: its author is the entry's id).
PAGE_COMMENT = AnsweredElsewhere(
    network="facebook",
    external_id="901097836652708_903438993085259",
    customer_external_id="",
    text="and the next one",
    at=at(2015, 12, 3, 9, 30, 3),
    visibility=PUBLIC,
    in_reply_to=None,  # its parent is the post, not a customer's comment
)
ECHO = AnsweredElsewhere(
    network="facebook",
    external_id=MESSENGER_MID,
    customer_external_id=CUSTOMER,
    text="hello, world!",
    at=at(2016, 3, 12, 6, 29, 57, 627000),
    visibility=PRIVATE,
    marker="DEVELOPER_DEFINED_METADATA_STRING",
)
HELLO = InboundMessage(
    network="facebook",
    external_id=MESSENGER_MID,
    author=customer(),
    text="hello, world!",
    created_at=at(2016, 3, 12, 6, 29, 57, 627000),
    visibility=PRIVATE,
)
ATTACHED_AT = at(2016, 3, 23, 1, 30, 18, 268000)
ATTACHED_MID = "mid.1458696618141:b4ef9d19ec21086067"

EXPECTED: dict[str, list[Pushed]] = {
    "feed-comment-add-211.json": [Pushed(PAGE, PAGE_COMMENT)],
    "feed-comment-add-25.json": [Pushed(PAGE, PAGE_COMMENT)],  # sender_id, as a number
    "feed-comment-add-with-photo.json": [Pushed(PAGE, PAGE_COMMENT)],
    "feed-comment-edited-25.json": [
        Pushed(
            PAGE,
            MessageEdited(
                "facebook",
                "900728623356296_900744590021366",
                "Let's see the Webhooks in action :D",
                at(2015, 11, 26, 16, 35, 37),
            ),
        )
    ],
    "feed-comment-hide.json": [],
    "feed-comment-unhide.json": [],
    "feed-comment-remove-25.json": [
        # No created_time: the entry's time, in seconds.
        Pushed(
            PAGE,
            MessageRemoved(
                "facebook", "905578656204626_905579239537901", at(2016, 1, 6, 19, 6, 22)
            ),
        )
    ],
    "feed-post-add-25.json": [],
    "feed-reaction-add-comment.json": [],
    "feed-two-entries-25.json": [],  # parking and payment_options
    "ratings-rating-add-31.json": [],
    "unknown-change-value.json": [],
    "mention-comment-add.json": [
        Pushed(
            PAGE,
            InboundMessage(
                network="facebook",
                external_id="7363534231324_3754798971271444",
                author=NOBODY,
                text="Just a test message",
                created_at=at(2021, 2, 26, 12, 1, 2),
                visibility=PUBLIC,
                permalink="https://www.facebook.com/7363534231324_3754798971271444",
            ),
        )
    ],
    "mention-post-add-real.json": [
        Pushed(
            PAGE,
            InboundMessage(
                network="facebook",
                external_id="1234567890321_98722536423179",
                author=NOBODY,
                text="A test post message",
                created_at=at(2021, 2, 26, 11, 56, 2),
                visibility=PUBLIC,
                permalink="https://www.facebook.com/1234567890321_98722536423179",
            ),
        )
    ],
    "messaging-message-basic.json": [Pushed(MESSENGER_PAGE, HELLO)],
    "messaging-message-reply-1.json": [Pushed(MESSENGER_PAGE, HELLO)],
    "messaging-message-basic-echo.json": [Pushed(MESSENGER_PAGE, ECHO)],
    "standby-message-basic-echo.json": [Pushed(MESSENGER_PAGE, ECHO)],
    "messaging-message-edits.json": [
        Pushed(
            MESSENGER_PAGE,
            MessageEdited(
                "facebook", MESSENGER_MID, "hello, world!", at(2016, 3, 12, 6, 29, 57, 627000)
            ),
        )
    ],
    "messaging-message-isdeleted.json": [
        Pushed(
            MESSENGER_PAGE,
            MessageRemoved("facebook", "message_id", at(2016, 3, 12, 6, 29, 57, 627000)),
        )
    ],
    "messaging-message-isunsupported.json": [
        Pushed(
            MESSENGER_PAGE,
            InboundMessage(
                network="facebook",
                external_id="message_id",
                author=customer(),
                text="",
                created_at=at(2016, 3, 12, 6, 29, 57, 627000),
                visibility=PRIVATE,
                attachments=(Attachment(AttachmentKind.UNSUPPORTED),),
            ),
        )
    ],
    "messaging-message-media-attachment.json": [
        Pushed(
            MESSENGER_PAGE,
            InboundMessage(
                network="facebook",
                external_id=ATTACHED_MID,
                author=customer(),
                text="",
                created_at=ATTACHED_AT,
                visibility=PRIVATE,
                attachments=(Attachment(AttachmentKind.IMAGE, "IMAGE_URL"),),
            ),
        )
    ],
    "messaging-message-fallback-attachment.json": [
        Pushed(
            MESSENGER_PAGE,
            InboundMessage(
                network="facebook",
                external_id=ATTACHED_MID,
                author=customer(),
                text="",
                created_at=ATTACHED_AT,
                visibility=PRIVATE,
                attachments=(
                    Attachment(
                        AttachmentKind.FILE, "https://www.messenger.com/", "Legacy Attachment"
                    ),
                ),
            ),
        )
    ],
    "messaging-message-sticker.json": [
        Pushed(
            MESSENGER_PAGE,
            InboundMessage(
                network="facebook",
                external_id="mid.12345654332:226a70a704",
                author=customer(),
                text="",
                created_at=at(2016, 10, 11, 21, 5, 0, 918000),
                visibility=PRIVATE,
                attachments=(
                    Attachment(AttachmentKind.STICKER, "https://scontent.xx.fbcdn.net/sticker.png"),
                ),
            ),
        )
    ],
    "messaging-message-quickreply.json": [
        # The entry's id is a string, the recipient's the same id as a number. A quick reply
        # tapped: its title as the text, its payload as the choice.
        Pushed(
            PAGE,
            InboundMessage(
                network="facebook",
                external_id=ATTACHED_MID,
                author=customer(),
                text="quick reply text",
                created_at=at(2016, 8, 9, 21, 51, 50, 432000),
                visibility=PRIVATE,
                choice="PAYLOAD_QUICK_REPLY",
            ),
        )
    ],
    # Its parties are the placeholders "USER_ID" and "PAGE_ID", not the entry's Page: skipped
    # (a reaction with real ids is below).
    "messaging-reaction-1.json": [],
    # Receipts of the Page's messages: delivered by id; read up to a watermark (every message
    # the Page sent the customer until then).
    "messaging-delivery-basic.json": [
        Pushed(
            MESSENGER_PAGE,
            DeliveryReceipt(
                "facebook",
                "mid.1458668856218:ed81099e15d3f4f233",
                Receipt.DELIVERED,
                at(2016, 3, 22, 17, 47, 36, 253000),
            ),
        )
    ],
    "messaging-read-basic.json": [
        Pushed(
            MESSENGER_PAGE,
            DeliveryReceipt(
                "facebook",
                "",
                Receipt.READ,
                at(2016, 3, 22, 17, 47, 36, 253000),
                customer_external_id=CUSTOMER,
            ),
        )
    ],
    "messaging-postback-basic.json": [],
    "messaging-pass-thread-control.json": [],
}


@needs_fixtures
def test_every_recorded_page_delivery_has_its_expectation() -> None:
    assert sorted(p.name for p in WEBHOOKS.glob("*.json")) == sorted(EXPECTED)


@needs_fixtures
@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_a_recorded_page_delivery_becomes_exactly_its_events(name: str) -> None:
    assert parse((WEBHOOKS / name).read_bytes()) == EXPECTED[name]


@needs_fixtures
@pytest.mark.parametrize("name", OTHER_OBJECTS)
def test_instagram_and_whatsapp_deliveries_are_left_to_their_own_receivers(name: str) -> None:
    assert parse((META / name).read_bytes()) == []


@needs_fixtures
def test_the_other_folders_hold_what_the_test_above_expects() -> None:
    assert len(OTHER_OBJECTS) >= 20
    objects = {json.loads((META / n).read_bytes()).get("object") for n in OTHER_OBJECTS}
    assert {"instagram", "whatsapp_business_account"} <= objects


# --- comments and mentions -----------------------------------------------------------------------
def test_a_customers_comment_is_a_public_message_with_its_author_and_permalink() -> None:
    assert parse(page_delivery(feed_entry(comment()))) == [
        Pushed(
            PAGE,
            InboundMessage(
                network="facebook",
                external_id="111_222",
                author=Author(external_id="5550001", handle="", name="Giulia Rossi"),
                text="Il pacco è fermo da una settimana",
                created_at=at(2015, 12, 3, 9, 30, 3),
                visibility=PUBLIC,
                permalink="https://www.facebook.com/111_222",
            ),
        )
    ]


def test_the_older_comment_shape_names_the_author_by_sender_id_and_sender_name() -> None:
    older = comment(sender_id=5550001, sender_name="Giulia Rossi")
    del older["from"]
    (message,) = events(page_delivery(feed_entry(older, page=int(PAGE))))
    assert isinstance(message, InboundMessage)
    assert message.author == Author(external_id="5550001", handle="", name="Giulia Rossi")


def test_a_comment_without_an_author_is_kept_for_the_adapter_to_complete() -> None:
    anonymous = comment()
    del anonymous["from"]
    (message,) = events(page_delivery(feed_entry(anonymous)))
    assert isinstance(message, InboundMessage)
    assert message.author == NOBODY


def test_a_comment_of_only_a_photo_or_a_video_carries_it_as_an_attachment() -> None:
    photo = comment(comment_id="111_1", message="", photo="https://scontent.example/p.jpg")
    video = comment(comment_id="111_2", message="guarda", video="https://video.example/v.mp4")
    first, second = events(page_delivery(feed_entry(photo, video)))
    assert isinstance(first, InboundMessage) and isinstance(second, InboundMessage)
    assert (first.text, first.attachments) == (
        "",
        (Attachment(AttachmentKind.IMAGE, "https://scontent.example/p.jpg"),),
    )
    assert (second.text, second.attachments) == (
        "guarda",
        (Attachment(AttachmentKind.VIDEO, "https://video.example/v.mp4"),),
    )


@pytest.mark.parametrize(
    ("created_time", "entry_time", "expected"),
    [
        (1449135003, 1, at(2015, 12, 3, 9, 30, 3)),
        ("1449135003", 1, at(2015, 12, 3, 9, 30, 3)),
        ("2016-07-07T12:29:22+0000", 1, at(2016, 7, 7, 12, 29, 22)),
        ("2016-07-07T14:29:22+02:00", 1, at(2016, 7, 7, 12, 29, 22)),
        (None, 1467894562, at(2016, 7, 7, 12, 29, 22)),  # the entry's time, in seconds
        ("yesterday", 1467894562, at(2016, 7, 7, 12, 29, 22)),
    ],
)
def test_a_comments_time_is_seconds_or_iso_falling_back_to_the_entrys(
    created_time: Any, entry_time: int, expected: datetime
) -> None:
    (message,) = events(
        page_delivery(feed_entry(comment(created_time=created_time), time=entry_time))
    )
    assert isinstance(message, InboundMessage)
    assert (message.created_at, message.created_at.tzinfo) == (expected, UTC)


def test_a_comment_with_no_time_at_all_is_skipped() -> None:
    assert parse(page_delivery(feed_entry(comment(created_time=None), time=None))) == []


def test_the_pages_reply_to_a_customers_comment_answers_that_comment() -> None:
    reply = comment(
        comment_id="111_333", parent_id="111_222", message="Ci scusi, verifichiamo subito"
    )
    reply["from"] = {"id": PAGE, "name": "Acme"}
    assert events(page_delivery(feed_entry(reply))) == [
        AnsweredElsewhere(
            network="facebook",
            external_id="111_333",
            customer_external_id="",
            text="Ci scusi, verifichiamo subito",
            at=at(2015, 12, 3, 9, 30, 3),
            visibility=PUBLIC,
            in_reply_to="111_222",
        )
    ]


def test_an_edit_or_a_removal_is_dated_by_the_entry_when_it_happened() -> None:
    edited = comment(verb="edited", message="Il pacco è arrivato, grazie", created_time=1449135003)
    removed = comment(verb="remove", created_time=1449135003)
    assert events(page_delivery(feed_entry(edited, removed, time=1449138603))) == [
        MessageEdited(
            "facebook", "111_222", "Il pacco è arrivato, grazie", at(2015, 12, 3, 10, 30, 3)
        ),
        MessageRemoved("facebook", "111_222", at(2015, 12, 3, 10, 30, 3)),
    ]


@pytest.mark.parametrize("verb", ["hide", "unhide", "edit", "block", None])
def test_other_comment_verbs_produce_nothing(verb: Any) -> None:
    assert parse(page_delivery(feed_entry(comment(verb=verb)))) == []


@pytest.mark.parametrize("item", ["post", "status", "reaction", "photo", "share", "rating", None])
def test_other_feed_items_produce_nothing(item: Any) -> None:
    assert parse(page_delivery(feed_entry(comment(item=item)))) == []


def test_a_mention_in_a_comment_keeps_an_author_when_the_payload_names_one() -> None:
    mention = {
        "field": "mention",
        "value": comment(comment_id="777_888", post_id="777_1", parent_id="777_1"),
    }
    (message,) = events(page_delivery({"id": PAGE, "time": 1, "changes": [mention]}))
    assert isinstance(message, InboundMessage)
    assert (message.external_id, message.visibility, message.permalink) == (
        "777_888",
        PUBLIC,
        "https://www.facebook.com/777_888",
    )
    assert message.author.name == "Giulia Rossi"


def test_a_permalink_cannot_be_steered_by_an_odd_id() -> None:
    mention = {"field": "mention", "value": {"item": "post", "verb": "add", "post_id": "1/../me?x"}}
    (message,) = events(page_delivery({"id": PAGE, "time": 1, "changes": [mention]}))
    assert isinstance(message, InboundMessage)
    assert message.permalink == "https://www.facebook.com/1%2F..%2Fme%3Fx"


@pytest.mark.parametrize("mid", [True, 1.5, "", [], {}, None])
def test_a_message_whose_id_is_not_an_id_is_skipped(mid: Any) -> None:
    event = messenger(message={"mid": mid, "text": "ciao"})
    assert parse(page_delivery(messenger_entry(event))) == []


def test_a_mention_other_than_an_added_comment_or_post_produces_nothing() -> None:
    changes = [
        {"field": "mention", "value": comment(verb="remove")},
        {"field": "mention", "value": comment(item="photo")},
    ]
    assert parse(page_delivery({"id": PAGE, "time": 1, "changes": changes})) == []


# --- Messenger -----------------------------------------------------------------------------------
def test_the_real_echo_direction_names_the_recipient_as_the_customer() -> None:
    # Real echoes are sent by the Page to the customer (the recording has them the other way).
    echo = {
        "mid": "m_1",
        "is_echo": True,
        "text": "Le abbiamo rimborsato il secondo addebito",
        "metadata": "carebridge:42",
        "reply_to": {"mid": "m_0"},
    }
    event = messenger(sender=MESSENGER_PAGE, recipient=CUSTOMER, message=echo)
    assert events(page_delivery(messenger_entry(event))) == [
        AnsweredElsewhere(
            network="facebook",
            external_id="m_1",
            customer_external_id=CUSTOMER,
            text="Le abbiamo rimborsato il secondo addebito",
            at=at(2016, 3, 12, 6, 29, 57, 627000),
            visibility=PRIVATE,
            in_reply_to="m_0",
            marker="carebridge:42",
        )
    ]


def test_an_echo_without_metadata_has_no_marker() -> None:
    event = messenger(
        sender=MESSENGER_PAGE, recipient=CUSTOMER, message={"mid": "m", "is_echo": True}
    )
    (answer,) = events(page_delivery(messenger_entry(event)))
    assert isinstance(answer, AnsweredElsewhere)
    assert (answer.marker, answer.text, answer.in_reply_to) == (None, "", None)


def test_a_customers_message_while_another_app_has_thread_control_is_still_a_message() -> None:
    event = messenger(message={"mid": "m_2", "text": "C'è qualcuno?"})
    (message,) = events(page_delivery(messenger_entry(event, key="standby")))
    assert message == InboundMessage(
        network="facebook",
        external_id="m_2",
        author=customer(),
        text="C'è qualcuno?",
        created_at=at(2016, 3, 12, 6, 29, 57, 627000),
        visibility=PRIVATE,
    )


def test_a_message_without_timestamp_takes_the_entrys_time_in_milliseconds() -> None:
    event = messenger(message={"mid": "m_3", "text": "ciao"})
    del event["timestamp"]
    (message,) = events(page_delivery(messenger_entry(event)))
    assert isinstance(message, InboundMessage)
    assert message.created_at == at(2016, 3, 12, 6, 29, 58, 246000)


def test_attachments_of_every_kind() -> None:
    attachments = [
        {"type": "video", "payload": {"url": "https://v.example/1.mp4"}},
        {"type": "audio", "payload": {"url": "https://a.example/1.mp4"}},
        {"type": "file", "payload": {"url": "https://f.example/fattura.pdf"}},
        {"type": "location", "payload": {"coordinates": {"lat": 45.4642, "long": 9.19}}},
        {"type": "location", "title": "Pinned Location", "url": "https://l.example/map"},
        {"type": "template", "payload": {"template_type": "generic"}},
        {"type": "ig_reel", "payload": {"url": "https://r.example/1"}},
        {
            "type": "image",
            "payload": {"url": "https://s.example/s.png", "sticker_id": 369239263222822},
        },
        "junk",
    ]
    event = messenger(message={"mid": "m_4", "attachments": attachments})
    (message,) = events(page_delivery(messenger_entry(event)))
    assert isinstance(message, InboundMessage)
    assert message.attachments == (
        Attachment(AttachmentKind.VIDEO, "https://v.example/1.mp4"),
        Attachment(AttachmentKind.AUDIO, "https://a.example/1.mp4"),
        Attachment(AttachmentKind.FILE, "https://f.example/fattura.pdf"),
        Attachment(
            AttachmentKind.LOCATION, "https://www.google.com/maps/search/?api=1&query=45.4642,9.19"
        ),
        Attachment(AttachmentKind.LOCATION, "https://l.example/map", "Pinned Location"),
        Attachment(AttachmentKind.FILE),
        Attachment(AttachmentKind.UNSUPPORTED, "https://r.example/1"),
        Attachment(AttachmentKind.STICKER, "https://s.example/s.png"),
        Attachment(AttachmentKind.UNSUPPORTED),
    )


@pytest.mark.parametrize(
    "coordinates",
    [
        {"lat": True, "long": 9.19},
        {"lat": 45.46, "long": 1e300},
        {"lat": float("nan"), "long": 9.19},
        {"lat": "45.46", "long": 9.19},
        {"lat": 45.46},
        [45.46, 9.19],
    ],
)
def test_a_location_with_impossible_coordinates_has_no_link(coordinates: Any) -> None:
    location = {"type": "location", "payload": {"coordinates": coordinates}}
    event = messenger(message={"mid": "m_5", "attachments": [location]})
    (message,) = events(page_delivery(messenger_entry(event)))
    assert isinstance(message, InboundMessage)
    assert message.attachments == (Attachment(AttachmentKind.LOCATION),)


def test_reactions_given_and_taken_back() -> None:
    given_ = messenger(reaction={"mid": "m_6", "action": "react", "emoji": "😢", "reaction": "sad"})
    named = messenger(reaction={"mid": "m_6", "action": "react", "reaction": "love"})
    taken = messenger(reaction={"mid": "m_6", "action": "unreact", "reaction": "sad"})
    reacted = at(2016, 3, 12, 6, 29, 57, 627000)
    assert events(page_delivery(messenger_entry(given_, named, taken))) == [
        MessageReaction("facebook", "m_6", "😢", reacted),
        MessageReaction("facebook", "m_6", "love", reacted),
        MessageReaction("facebook", "m_6", None, reacted),
    ]


def test_a_reaction_that_shows_nothing_is_skipped() -> None:
    event = messenger(reaction={"mid": "m_6", "action": "react", "emoji": ""})
    assert parse(page_delivery(messenger_entry(event))) == []


def test_the_pages_own_reaction_is_not_the_customers() -> None:
    event = messenger(
        sender=MESSENGER_PAGE, recipient=CUSTOMER, reaction={"mid": "m_7", "emoji": "❤️"}
    )
    assert parse(page_delivery(messenger_entry(event))) == []


def test_an_event_the_page_is_no_party_to_is_skipped() -> None:
    event = messenger(sender="111", recipient="222", message={"mid": "m_8", "text": "?"})
    assert parse(page_delivery(messenger_entry(event))) == []


@pytest.mark.parametrize(
    "kind",
    [
        {"postback": {"title": "Get Started", "payload": "GET_STARTED"}},
        {"optin": {"ref": "x"}},
        {"take_thread_control": {"previous_owner_app_id": "1"}},
        {"request_thread_control": {"requested_owner_app_id": "1"}},
    ],
)
def test_other_messenger_events_produce_nothing(kind: dict[str, Any]) -> None:
    assert parse(page_delivery(messenger_entry(messenger(**kind)))) == []


# --- deliveries ----------------------------------------------------------------------------------
def test_entries_of_two_pages_in_one_post_keep_their_pages_and_order() -> None:
    body = page_delivery(
        feed_entry(comment()),
        messenger_entry(
            messenger(message={"mid": "m_9", "text": "ciao"}), page=int(MESSENGER_PAGE)
        ),
        feed_entry(comment(comment_id="111_444")),
    )
    assert [(p.account_external_id, p.event.external_id) for p in parse(body)] == [
        (PAGE, "111_222"),
        (MESSENGER_PAGE, "m_9"),
        (PAGE, "111_444"),
    ]


def test_an_entry_of_a_page_carebridge_does_not_serve_is_left_out() -> None:
    body = page_delivery(feed_entry(comment(), page="999"), feed_entry(comment()))
    assert [p.account_external_id for p in parse(body)] == [PAGE]


def test_junk_inside_a_delivery_is_skipped_and_logged_without_any_text() -> None:
    secret_text = "my card number is 4111"
    good = comment(comment_id="111_555", message=secret_text)
    body = page_delivery(
        42,
        {"time": 1, "changes": []},  # no Page id
        {"id": PAGE, "changes": "feed"},  # not a list
        {"id": PAGE, "messaging": [None, {"message": {"text": secret_text}}]},
        {
            "id": PAGE,
            "time": 1,
            "changes": [
                "feed",
                {"field": "feed", "value": []},
                {"field": "feed", "value": comment(comment_id=None, message=secret_text)},
                {"field": "feed", "value": comment(**{"from": "Giulia", "message": secret_text})},
                {"field": "feed", "value": good},
            ],
        },
        {
            "id": MESSENGER_PAGE,
            "messaging": [messenger(message={"mid": ["m"], "text": secret_text})],
        },
    )
    with capture_logs() as logs:
        assert events(body) == [events(page_delivery(feed_entry(good)))[0]]
    skipped = [
        (e.get("part"), e["reason"]) for e in logs if e["event"] == "facebook.webhook.skipped"
    ]
    assert skipped == [
        ("entry", "not an entry with a Page id"),
        ("entry", "not an entry with a Page id"),
        ("changes", "not a list"),
        ("messaging", "messaging event is not an object"),
        ("messaging", "sender is not an object"),
        ("changes", "change is not an object"),
        ("changes", "feed value is not an object"),
        ("changes", "comment_id is not an id"),
        ("changes", "from is not an object"),
        ("messaging", "mid is not an id"),
    ]
    assert secret_text not in repr(logs)
    assert "Giulia" not in repr(logs)


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"not json",
        b"\xff\xfe{}",
        b"[" * 100_000,
        b'"page"',
        b"[]",
        b"null",
        b'{"object": "page"}',
        b'{"object": "page", "entry": {}}',
        b'{"object": "page", "entry": "x"}',
        b'{"object": "page", "entry": null}',
    ],
)
def test_a_body_that_is_not_a_delivery_is_malformed(body: bytes) -> None:
    with pytest.raises(MalformedPayload):
        parse(body)


@pytest.mark.parametrize(
    "delivery",
    [
        {"object": "instagram", "entry": "whatever"},
        {"object": "whatsapp_business_account"},
        {"entry": [feed_entry(comment())]},  # no object: not a Page's
        {"object": "Page", "entry": [feed_entry(comment())]},
        {"object": "page", "entry": []},
    ],
)
def test_what_is_not_a_pages_delivery_produces_nothing(delivery: dict[str, Any]) -> None:
    assert parse(json.dumps(delivery).encode()) == []


# --- handshake -----------------------------------------------------------------------------------
SUBSCRIBE = {"hub.mode": "subscribe", "hub.verify_token": TOKEN, "hub.challenge": "1158201444"}


def test_the_subscription_check_with_the_verify_token_answers_the_challenge() -> None:
    assert RECEIVER.handshake(SUBSCRIBE) == (200, "1158201444")


@pytest.mark.parametrize(
    "query",
    [
        SUBSCRIBE | {"hub.verify_token": "wrong"},
        SUBSCRIBE | {"hub.verify_token": TOKEN + " "},
        SUBSCRIBE | {"hub.verify_token": "àccénted"},
        SUBSCRIBE | {"hub.verify_token": ""},
        {k: v for k, v in SUBSCRIBE.items() if k != "hub.verify_token"},
        SUBSCRIBE | {"hub.mode": "unsubscribe"},
        {k: v for k, v in SUBSCRIBE.items() if k != "hub.mode"},
        {k: v for k, v in SUBSCRIBE.items() if k != "hub.challenge"},
        SUBSCRIBE | {"hub.challenge": ""},
        SUBSCRIBE | {"hub.challenge": "<script>alert(1)</script>"},
        SUBSCRIBE | {"hub.challenge": "123\n"},
        SUBSCRIBE | {"hub.challenge": "١٢٣"},  # digits, but not ASCII ones
        SUBSCRIBE | {"hub.challenge": "1" * 65},
        {},
    ],
)
def test_any_other_subscription_check_is_forbidden(query: dict[str, str]) -> None:
    assert RECEIVER.handshake(query) == (403, "forbidden")


def test_an_unset_verify_token_never_matches_an_empty_one() -> None:
    receiver = MetaReceiver(page_ids=[PAGE], app_secrets=[SECRET], verify_tokens=[""])
    assert receiver.handshake(SUBSCRIBE | {"hub.verify_token": ""}) == (403, "forbidden")


# --- signature -----------------------------------------------------------------------------------
SIGNED_BODY = page_delivery(feed_entry(comment(message="Perché non risponde nessuno? \u00e8")))


def test_a_body_signed_with_an_app_secret_is_verified() -> None:
    assert RECEIVER.verify({"x-hub-signature-256": sign(SIGNED_BODY)}, SIGNED_BODY)


def test_each_apps_secret_verifies_its_own_deliveries() -> None:
    receiver = MetaReceiver.for_accounts(
        [account("acme", PAGE), account("other", MESSENGER_PAGE, OTHER_SECRET)]
    )
    for secret in (SECRET, OTHER_SECRET):
        assert receiver.verify({"x-hub-signature-256": sign(SIGNED_BODY, secret)}, SIGNED_BODY)


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"x-hub-signature-256": ""},
        {"x-hub-signature-256": sign(SIGNED_BODY, OTHER_SECRET)},
        {"x-hub-signature-256": sign(SIGNED_BODY).removeprefix("sha256=")},
        {"x-hub-signature-256": sign(SIGNED_BODY).upper()},
        {"x-hub-signature-256": sign(SIGNED_BODY) + " "},
        {"x-hub-signature-256": "sha256=" + "é" * 64},
        {"x-hub-signature": "sha1=" + hmac.new(SECRET.encode(), SIGNED_BODY, "sha1").hexdigest()},
    ],
)
def test_a_missing_or_wrong_signature_is_refused(headers: dict[str, str]) -> None:
    assert not RECEIVER.verify(headers, SIGNED_BODY)


def test_a_body_changed_by_one_byte_is_refused() -> None:
    changed = SIGNED_BODY.replace(b"111_222", b"111_223")
    assert len(changed) == len(SIGNED_BODY) and changed != SIGNED_BODY
    assert not RECEIVER.verify({"x-hub-signature-256": sign(SIGNED_BODY)}, changed)


def test_no_app_secret_verifies_nothing() -> None:
    receiver = MetaReceiver(page_ids=[PAGE], app_secrets=[""], verify_tokens=[TOKEN])
    assert not receiver.verify({"x-hub-signature-256": sign(SIGNED_BODY, "")}, SIGNED_BODY)


# --- anything at all -----------------------------------------------------------------------------
# The keys of Meta's Page deliveries, so that generated objects reach the parser's branches.
# fmt: off
KEYS = [
    "object", "entry", "id", "time", "changes", "messaging", "standby", "field", "value", "item",
    "verb", "comment_id", "post_id", "parent_id", "from", "name", "sender_id", "sender_name",
    "created_time", "message", "photo", "video", "sender", "recipient", "timestamp", "mid", "text",
    "is_echo", "is_deleted", "is_unsupported", "metadata", "reply_to", "attachments", "type",
    "payload", "url", "title", "sticker_id", "coordinates", "lat", "long", "message_edit",
    "reaction", "action", "emoji",
]
# fmt: on
WORDS = (
    "page feed mention comment post add edited remove image fallback location template unreact "
    f"{PAGE} {MESSENGER_PAGE} 1449135003 2016-07-07T12:29:22+0000 2016-13-45T99:00:00"
).split()
scalars = (
    st.none()
    | st.booleans()
    | st.integers(-(10**20), 10**20)
    | st.floats()
    | st.text(max_size=12)
    | st.sampled_from(WORDS)
)
json_values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(st.sampled_from(KEYS) | st.text(max_size=6), inner, max_size=6)
    ),
    max_leaves=30,
)
party = st.sampled_from([PAGE, MESSENGER_PAGE, int(PAGE), CUSTOMER]) | scalars
messaging_events = st.fixed_dictionaries(
    {
        "sender": st.fixed_dictionaries({"id": party}),
        "recipient": st.fixed_dictionaries({"id": party}),
    },
    optional={
        "timestamp": scalars,
        "message": json_values,
        "message_edit": json_values,
        "reaction": json_values,
    },
)
changes = st.fixed_dictionaries(
    {"field": st.sampled_from(["feed", "mention", "ratings"]) | scalars, "value": json_values}
)
entries = st.fixed_dictionaries(
    {"id": st.sampled_from([PAGE, MESSENGER_PAGE, int(PAGE)]) | scalars},
    optional={
        "time": scalars,
        "changes": st.lists(changes, max_size=3) | json_values,
        "messaging": st.lists(messaging_events, max_size=3) | json_values,
        "standby": st.lists(messaging_events, max_size=2),
    },
)
deliveries = (
    json_values
    | st.fixed_dictionaries({"object": st.just("page") | scalars, "entry": json_values})
    | st.fixed_dictionaries({"object": st.just("page"), "entry": st.lists(entries, max_size=3)})
)
FUZZ = settings(
    max_examples=400, derandomize=True, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)


def parses_or_refuses(body: bytes) -> None:
    """The property: a list of well-formed events for the Pages served, or MalformedPayload."""
    try:
        pushed = parse(body)
    except MalformedPayload:
        return
    assert isinstance(pushed, list)
    for item in pushed:
        assert isinstance(item, Pushed)
        assert item.account_external_id in (PAGE, MESSENGER_PAGE)
        event = item.event
        assert isinstance(event, NetworkEvent)
        assert event.network == "facebook"
        if isinstance(event, DeliveryReceipt) and not event.external_id:
            assert event.customer_external_id  # a watermark: every answer to that customer
        else:
            assert isinstance(event.external_id, str) and event.external_id
        when = event.created_at if isinstance(event, InboundMessage) else event.at
        assert when is not None and when.tzinfo is not None


@FUZZ
@given(deliveries)
def test_any_json_parses_into_events_or_is_malformed(delivery: Any) -> None:
    parses_or_refuses(json.dumps(delivery).encode())


@FUZZ
@given(st.binary(max_size=200))
def test_any_bytes_parse_into_events_or_are_malformed(body: bytes) -> None:
    parses_or_refuses(body)


def paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every place in a JSON value where another value could stand."""
    found = [prefix]
    if isinstance(value, dict):
        for key, child in value.items():
            found += paths(child, (*prefix, key))
    elif isinstance(value, list):
        for index, child in enumerate(value):
            found += paths(child, (*prefix, index))
    return found


def replaced(value: Any, path: tuple[Any, ...], new: Any) -> Any:
    if not path:
        return new
    copy = value.copy()
    copy[path[0]] = replaced(value[path[0]], path[1:], new)
    return copy


@needs_fixtures
@FUZZ
@given(st.data())
def test_a_recorded_delivery_with_any_part_replaced_parses_or_is_malformed(data: Any) -> None:
    name = data.draw(st.sampled_from(sorted(EXPECTED)))
    delivery = json.loads((WEBHOOKS / name).read_bytes())
    path = data.draw(st.sampled_from(paths(delivery)))
    parses_or_refuses(json.dumps(replaced(delivery, path, data.draw(json_values))).encode())
