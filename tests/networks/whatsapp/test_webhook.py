"""Meta's WhatsApp webhook: what every recorded delivery (`shared/fixtures/meta/whatsapp/`)
becomes, the shapes the recordings leave out, the handshake, the signature, malformed bodies,
and logs that never carry a phone number.

The recordings are the restfb project's; most use the number 10634295353625 and the customer
491234567890 ("TestUser"). Facebook's and Instagram's deliveries arrive on the same path and
must produce nothing here.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from structlog.testing import capture_logs

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
from bot.networks.base import AccountConfig, MalformedPayload, Pushed
from bot.networks.whatsapp.webhook import (
    UNKNOWN_NAME,
    DeliveryStatus,
    WhatsAppReceiver,
    delivery_statuses,
    media_id_of,
    media_url,
)

META = Path(__file__).resolve().parents[4] / "shared" / "fixtures" / "meta"
RECORDINGS = META / "whatsapp"
OTHER_OBJECTS = sorted(
    f"{folder}/{p.name}"
    for folder in ("webhooks", "instagram")
    for p in (META / folder).glob("*.json")
)
needs_fixtures = pytest.mark.skipif(not RECORDINGS.is_dir(), reason=f"no fixtures at {META}")

NUMBER = "10634295353625"  # the number of most recordings
OTHER_NUMBER = "1111111111111111"  # the number of the "unsupported" recording
CUSTOMER = "491234567890"
WAMID = "wamid.HBgNNDkxNTIwOTgzMzM5OBUCABIYHGDEHJVFHJEVCFHJEVBCMTkyODk1OEIyAA=="
RECORDED_AT = datetime(2022, 5, 22, 21, 1, 53, tzinfo=UTC)
SECRET, TOKEN = "app-secret", "verify-token"
TEST_USER = Author(external_id=CUSTOMER, handle="", name="TestUser")


def account(name: str, number: str, secret: str = SECRET) -> AccountConfig:
    values = {"phone_number_id": number, "app_secret": secret, "verify_token": TOKEN}
    return AccountConfig(name=name, network="whatsapp", slack_channel="C1", values=values)


RECEIVER = WhatsAppReceiver.for_accounts([account("acme", NUMBER), account("b", OTHER_NUMBER)])


def sign(body: bytes, secret: str = SECRET) -> str:
    # Written out rather than imported, so a wrong `signature()` cannot agree with itself.
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def recorded(
    text: str = "",
    *attachments: Attachment,
    external_id: str = WAMID,
    author: Author = TEST_USER,
    at: datetime = RECORDED_AT,
    in_reply_to: str = "",
    choice: str = "",
) -> InboundMessage:
    return InboundMessage(
        network="whatsapp",
        external_id=external_id,
        author=author,
        text=text,
        created_at=at,
        visibility=Visibility.PRIVATE,
        attachments=attachments,
        in_reply_to=in_reply_to,
        choice=choice,
    )


def delivery(*messages: dict[str, Any], number: str = NUMBER, **value: Any) -> bytes:
    """A delivery of one change for `number`, from the customer "Giulia Rossi"."""
    body = {
        "messaging_product": "whatsapp",
        "metadata": {"display_phone_number": "390212345678", "phone_number_id": number},
        "contacts": [{"profile": {"name": "Giulia Rossi"}, "wa_id": "393331234567"}],
        "messages": list(messages),
        **value,
    }
    entry = {"id": "101809759215303", "changes": [{"value": body, "field": "messages"}]}
    return json.dumps({"object": "whatsapp_business_account", "entry": [entry]}).encode()


def giulias(kind: str, content: Any, **extra: Any) -> dict[str, Any]:
    message = {"from": "393331234567", "id": "wamid.G1", "timestamp": "1779526800"}
    return message | {"type": kind, kind: content} | extra


def events(body: bytes) -> list[NetworkEvent]:
    return [p.event for p in RECEIVER.parse(body)]


def shown(body: bytes) -> tuple[str, tuple[Attachment, ...]]:
    """The text and attachments of the one message of a delivery."""
    (message,) = events(body)
    assert isinstance(message, InboundMessage)
    return message.text, message.attachments


MAP = "https://www.google.com/maps/search/?api=1&query=49.234939575195,6.9993596076965"
PLACE = "Saarbr\\u00fccken"  # escaped twice in the recording: the text keeps a backslash
EXPECTED: dict[str, list[Pushed]] = {
    "webhook-incoming-message-text.json": [Pushed(NUMBER, recorded("Test"))],
    "webhook-incoming-message-image.json": [
        Pushed(
            NUMBER,
            recorded(
                "Some awesome image",
                Attachment(AttachmentKind.IMAGE, "whatsapp-media:400962571939895"),
            ),
        )
    ],
    "webhook-incoming-message-document.json": [
        Pushed(
            NUMBER,
            recorded(
                "RESTFB ANNIVERSARY",
                Attachment(
                    AttachmentKind.FILE, "whatsapp-media:4937353526352", "RESTFB ANNIVERSARY.zip"
                ),
            ),
        )
    ],
    "webhook-incoming-message-audio.json": [
        Pushed(
            NUMBER,
            recorded("", Attachment(AttachmentKind.AUDIO, "whatsapp-media:1113842206146232")),
        )
    ],
    "webhook-incoming-message-sticker.json": [
        Pushed(
            NUMBER,
            recorded("", Attachment(AttachmentKind.STICKER, "whatsapp-media:1122990445227715")),
        )
    ],
    "webhook-incoming-message-location.json": [
        Pushed(
            NUMBER,
            recorded(f"{PLACE}: {MAP}", Attachment(AttachmentKind.LOCATION, MAP, PLACE)),
        )
    ],
    "webhook-incoming-message-button.json": [
        Pushed(NUMBER, recorded("No", in_reply_to="wamid.ID"))
    ],
    # A reply button tapped: its title as the text, its id as the choice.
    "webhook-incoming-message-interactive-btn.json": [
        Pushed(NUMBER, recorded("button-text", choice="unique-button-identifier-here"))
    ],
    "webhook-incoming-message-emoji.json": [
        Pushed(NUMBER, MessageReaction("whatsapp", "wamid.xxxxxxxx", "👍🏻", RECORDED_AT))
    ],
    "webhook-incoming-message-error.json": [
        Pushed(NUMBER, recorded("(unsupported WhatsApp message: unknown)"))
    ],
    "webhook-incoming-message-unsupported.json": [
        # The recording's contact (222...) is not its sender (333...): no name for the sender.
        Pushed(
            OTHER_NUMBER,
            recorded(
                "(unsupported WhatsApp message: unsupported)",
                external_id="wamid.randomwhatsappmessageid",
                author=Author(external_id="333333333333", handle="", name=UNKNOWN_NAME),
                at=datetime(2023, 12, 6, 13, 21, 32, tzinfo=UTC),
            ),
        )
    ],
    # Statuses are receipts of the business's messages; the first is for a number ("REDACTED")
    # that no account has.
    "webhook-incoming-message-status-errors.json": [],
    "webhook-incoming-message-status-ui.json": [
        Pushed(NUMBER, DeliveryReceipt("whatsapp", "wamid.ID", Receipt.SENT, None))
    ],
}
STATUSES = {
    "webhook-incoming-message-status-errors.json": [
        DeliveryStatus(
            phone_number_id="REDACTED",
            message_id="wamid.HBgLMzI0NzY3NTUzNzYVAgARGBIzOTI2MzFGRjdBRjA4M0Y2RDQA",
            status="failed",
            at=datetime(2023, 10, 25, 10, 57, 27, tzinfo=UTC),
            error_code=131026,
            error_title="Receiver is incapable of receiving this message",
        )
    ],
    # Its timestamp is the placeholder "TIMESTAMP".
    "webhook-incoming-message-status-ui.json": [
        DeliveryStatus(phone_number_id=NUMBER, message_id="wamid.ID", status="sent", at=None)
    ],
}


# --- every recording ------------------------------------------------------------------------------
@needs_fixtures
def test_every_recording_has_its_expectation() -> None:
    assert sorted(p.name for p in RECORDINGS.glob("webhook-*.json")) == sorted(EXPECTED)


@needs_fixtures
@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_a_recorded_delivery_becomes_exactly_its_events(name: str) -> None:
    assert RECEIVER.parse((RECORDINGS / name).read_bytes()) == EXPECTED[name]


@needs_fixtures
@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_a_recorded_delivery_has_exactly_its_statuses(name: str) -> None:
    assert delivery_statuses((RECORDINGS / name).read_bytes()) == STATUSES.get(name, [])


@needs_fixtures
@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_no_log_of_a_recording_names_a_phone_number_or_a_message(name: str) -> None:
    with capture_logs() as logs:
        RECEIVER.parse((RECORDINGS / name).read_bytes())
    said = repr(logs)
    for value in (CUSTOMER, "333333333333", "1234567891", "wamid", "TestUser"):
        assert value not in said


@needs_fixtures
@pytest.mark.parametrize("name", OTHER_OBJECTS)
def test_facebook_and_instagram_deliveries_are_left_to_their_own_receivers(name: str) -> None:
    body = (META / name).read_bytes()
    with capture_logs() as logs:
        assert RECEIVER.parse(body) == []
        assert delivery_statuses(body) == []
    assert logs == []  # not an error: someone else's


@needs_fixtures
def test_the_other_folders_hold_what_the_test_above_expects() -> None:
    objects = {json.loads((META / n).read_bytes()).get("object") for n in OTHER_OBJECTS}
    assert {"page", "instagram"} <= objects and len(OTHER_OBJECTS) >= 20


# --- what customers send --------------------------------------------------------------------------
def test_a_text_message_names_its_sender_by_profile_and_wa_id() -> None:
    body = delivery(giulias("text", {"body": "Il pacco è fermo"}))
    assert RECEIVER.parse(body) == [
        Pushed(
            NUMBER,
            InboundMessage(
                network="whatsapp",
                external_id="wamid.G1",
                author=Author(external_id="393331234567", handle="", name="Giulia Rossi"),
                text="Il pacco è fermo",
                created_at=datetime(2026, 5, 23, 9, 0, tzinfo=UTC),
                visibility=Visibility.PRIVATE,
            ),
        )
    ]


@pytest.mark.parametrize(
    ("kind", "content", "expected"),
    [
        ("video", {"id": "77", "caption": "guarda", "mime_type": "video/mp4"},
         ("guarda", (Attachment(AttachmentKind.VIDEO, "whatsapp-media:77"),))),
        ("image", {"id": "78", "mime_type": "image/jpeg"},
         ("", (Attachment(AttachmentKind.IMAGE, "whatsapp-media:78"),))),
        ("contacts", None, ("Shared contacts: Mario Bianchi, Anna Verdi", ())),
        ("interactive", {"type": "list_reply", "list_reply": {"id": "r2", "title": "Resi",
                                                              "description": "Come fare"}},
         ("Resi", ())),
        ("interactive", {"type": "nfm_reply", "nfm_reply": {"response_json": "{}"}},
         ("(unsupported WhatsApp message: interactive nfm_reply)", ())),
        ("order", {"catalog_id": "1", "product_items": []},
         ("(unsupported WhatsApp message: order)", ())),
        ("system", {"body": "changed number"}, ("(unsupported WhatsApp message: system)", ())),
        # A known type of an unknown shape is shown as unsupported, never lost.
        ("image", {"caption": "senza id"}, ("(unsupported WhatsApp message: image)", ())),
        ("image", {"id": "../me"}, ("(unsupported WhatsApp message: image)", ())),
        ("location", {"latitude": "north", "longitude": 0},
         ("(unsupported WhatsApp message: location)", ())),
        ("text", "just a string", ("(unsupported WhatsApp message: text)", ())),
        ("Weird-Type!", {}, ("(unsupported WhatsApp message: unknown)", ())),
    ],
)  # fmt: skip
def test_every_kind_of_message_is_shown(
    kind: str, content: Any, expected: tuple[str, tuple[Attachment, ...]]
) -> None:
    message = giulias(kind, content)
    if kind == "contacts":  # names only: the shared phone numbers stay on WhatsApp
        message["contacts"] = [
            {"name": {"formatted_name": "Mario Bianchi"}, "phones": [{"phone": "+39 333 000"}]},
            {"name": {"formatted_name": "Anna Verdi", "first_name": "Anna"}},
        ]
    assert shown(delivery(message)) == expected


def test_a_location_with_only_coordinates() -> None:
    text, attachments = shown(delivery(giulias("location", {"latitude": 45.5, "longitude": 9})))
    link = "https://www.google.com/maps/search/?api=1&query=45.5,9"
    assert text == f"Location: {link}"
    assert attachments == (Attachment(AttachmentKind.LOCATION, link, "Location"),)


def test_a_reaction_taken_back_has_no_emoji() -> None:
    reaction = giulias("reaction", {"message_id": "wamid.OURS", "emoji": ""})
    [event] = events(delivery(reaction))
    assert event == MessageReaction(
        "whatsapp", "wamid.OURS", None, datetime(2026, 5, 23, 9, 0, tzinfo=UTC)
    )


def test_several_messages_and_contacts_in_one_change_keep_their_names() -> None:
    second = giulias("text", {"body": "anche io"}, id="wamid.T1") | {"from": "393339999999"}
    body = delivery(
        giulias("text", {"body": "ciao"}),
        second,
        contacts=[
            {"profile": {"name": "Giulia Rossi"}, "wa_id": "393331234567"},
            {"profile": {"name": "Tom"}, "wa_id": "393339999999"},
        ],
    )
    names = [e.author.name for e in events(body) if isinstance(e, InboundMessage)]
    assert names == ["Giulia Rossi", "Tom"]


def test_media_urls_name_the_media_id_and_nothing_else() -> None:
    assert media_id_of(media_url("4937353526352")) == "4937353526352"
    for url in ("https://example.com/4937353526352", "whatsapp-media:../me", "whatsapp-media:"):
        assert media_id_of(url) is None


# --- statuses -------------------------------------------------------------------------------------
def test_statuses_are_receipts_and_carry_the_marker_never_logged_with_ids() -> None:
    status = {
        "id": "wamid.OURS",
        "status": "read",
        "timestamp": "1779526800",
        "recipient_id": "393331234567",
        "biz_opaque_callback_data": "carebridge:42",
    }
    refusal = {"code": 131026, "title": "Receiver is incapable of receiving this message"}
    failed = {**status, "id": "wamid.LOST", "status": "failed", "errors": [refusal]}
    body = delivery(statuses=[status, {"status": 7}, failed, {**status, "status": "deleted"}])
    at = datetime(2026, 5, 23, 9, 0, tzinfo=UTC)
    with capture_logs() as logs:
        events = [pushed.event for pushed in RECEIVER.parse(body)]
    assert events == [
        DeliveryReceipt("whatsapp", "wamid.OURS", Receipt.READ, at),
        DeliveryReceipt(
            "whatsapp",
            "wamid.LOST",
            Receipt.FAILED,
            at,
            "Receiver is incapable of receiving this message (WhatsApp error 131026)",
        ),
    ]
    assert delivery_statuses(body)[0] == DeliveryStatus(
        NUMBER, "wamid.OURS", "read", at, marker="carebridge:42"
    )
    assert "393331234567" not in repr(logs) and "wamid" not in repr(logs)
    assert any(log.get("part") == "status" for log in logs)  # the odd one, skipped


# --- malformed and foreign deliveries -------------------------------------------------------------
@pytest.mark.parametrize(
    "body", [b"not json", b"[1, 2]", b'"text"', b"[" * 100_000, b'{"object": '
             b'"whatsapp_business_account", "entry": {}}'],
)  # fmt: skip
def test_a_body_that_is_not_a_delivery_is_malformed(body: bytes) -> None:
    with pytest.raises(MalformedPayload):
        RECEIVER.parse(body)
    with pytest.raises(MalformedPayload):
        delivery_statuses(body)


def test_odd_parts_are_skipped_and_logged_by_field_name_only() -> None:
    good = giulias("text", {"body": "resto qui"})
    no_sender = giulias("text", {"body": "393331234567"}) | {"from": None, "id": "wamid.X"}
    no_time = giulias("text", {"body": "x"}) | {"timestamp": "ieri"}
    body = json.loads(delivery(good, no_sender, no_time, "not a message"))
    entry = body["entry"][0]
    entry["changes"] += [
        "not a change",
        {"field": "messages", "value": {"metadata": {}}},
        {"field": "message_template_status_update", "value": {"event": "APPROVED"}},
    ]
    body["entry"] += [{"id": "2", "changes": None}, 7]
    with capture_logs() as logs:
        kept = events(json.dumps(body).encode())
    assert [e.external_id for e in kept] == ["wamid.G1"]
    assert {log["reason"] for log in logs} == {
        "message.from is not an id",
        "no time",
        "message is not an object",
        "change is not an object",
        "metadata.phone_number_id is not an id",
        "not an entry with a list of changes",
    }
    assert "393331234567" not in repr(logs) and "ieri" not in repr(logs)


def test_a_number_no_account_has_is_logged_and_left_out() -> None:
    with capture_logs() as logs:
        assert RECEIVER.parse(delivery(giulias("text", {"body": "x"}), number="999")) == []
    assert logs == [
        {
            "event": "whatsapp.webhook.unknown_number",
            "phone_number_id": "999",
            "log_level": "warning",
        }
    ]


# --- handshake and signature ----------------------------------------------------------------------
def query(**values: str) -> dict[str, str]:
    """Meta's subscription check; `verify_token="x"` gives hub.verify_token=x."""
    base = {"mode": "subscribe", "verify_token": TOKEN, "challenge": "1158201444"}
    return {f"hub.{key}": value for key, value in (base | values).items()}


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        (query(), (200, "1158201444")),
        (query(verify_token="wrong"), (403, "forbidden")),
        (query(mode="unsubscribe"), (403, "forbidden")),
        (query(challenge="<script>alert(1)</script>"), (403, "forbidden")),
        (query(challenge=""), (403, "forbidden")),
        (query(challenge="1" * 65), (403, "forbidden")),
        (query(verify_token="\udcff"), (403, "forbidden")),
        ({}, (403, "forbidden")),
    ],
)
def test_the_handshake_echoes_only_a_digit_challenge_for_the_right_token(
    given: dict[str, str], expected: tuple[int, str]
) -> None:
    assert RECEIVER.handshake(given) == expected


def test_a_receiver_without_a_verify_token_answers_no_handshake() -> None:
    receiver = WhatsAppReceiver([NUMBER], [SECRET], [""])
    assert receiver.handshake(query(verify_token="")) == (403, "forbidden")


def test_only_the_apps_signature_over_the_exact_bytes_is_accepted() -> None:
    body = delivery(giulias("text", {"body": "ciao"}))
    assert RECEIVER.verify({"x-hub-signature-256": sign(body)}, body)
    refused = [
        {},
        {"x-hub-signature-256": ""},
        {"x-hub-signature-256": sign(body, "another-secret")},
        {"x-hub-signature-256": sign(body + b" ")},
        {"x-hub-signature-256": sign(body).upper()},
        {"x-hub-signature-256": "sha256=é"},
        {"x-hub-signature": "sha1=" + hmac.new(SECRET.encode(), body, "sha1").hexdigest()},
    ]
    for headers in refused:
        assert not RECEIVER.verify(headers, body)
    assert not WhatsAppReceiver([NUMBER], [""], [TOKEN]).verify({"x-hub-signature-256": ""}, b"")


@pytest.mark.parametrize(
    ("context", "quoted"),
    [
        (
            {"from": "390212345678", "id": "wamid.HBgMMzkzMzMxMjM0NTY3FQIAERgS"},
            "wamid.HBgMMzkzMzMxMjM0NTY3FQIAERgS",
        ),
        ({"forwarded": True}, ""),  # a forwarded message: a context without a message
        ({"id": "../me"}, ""),
        ({"id": "wamid." + "A" * 80}, ""),  # longer than a stored message id
        ("wamid.X", ""),
    ],
)
def test_the_message_a_customer_quotes_is_read_from_its_context(
    context: object, quoted: str
) -> None:
    (message,) = events(delivery(giulias("text", {"body": "sì"}, context=context)))
    assert isinstance(message, InboundMessage)
    assert (message.text, message.in_reply_to) == ("sì", quoted)
