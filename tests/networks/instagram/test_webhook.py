"""Meta's Instagram webhook: what the recorded deliveries (`shared/fixtures/meta/instagram/`)
become, the account's own answers, story replies and mentions, and what is left out."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from bot.domain.model import (
    AnsweredElsewhere,
    Attachment,
    AttachmentKind,
    Author,
    InboundMessage,
    MessageRemoved,
    Visibility,
)
from bot.networks.base import AccountConfig, MalformedPayload
from bot.networks.instagram.webhook import InstagramReceiver
from bot.networks.meta.signing import signature

META = Path(__file__).resolve().parents[4] / "shared" / "fixtures" / "meta"
INSTAGRAM = META / "instagram"
needs_fixtures = pytest.mark.skipif(not INSTAGRAM.is_dir(), reason=f"no fixtures at {META}")

DOCS_ACCOUNT = "0"  # the account id of Meta's documented examples
MESSAGING_ACCOUNT = "17841452691600098"
SECRET, TOKEN = "app-secret", "verify-token"


def account(name: str, account_id: str) -> AccountConfig:
    values = {"account_id": account_id, "app_secret": SECRET, "verify_token": TOKEN}
    return AccountConfig(name=name, network="instagram", slack_channel="C1", values=values)


RECEIVER = InstagramReceiver.for_accounts(
    [account("acme", DOCS_ACCOUNT), account("acme-dm", MESSAGING_ACCOUNT)]
)


def fixture(name: str) -> bytes:
    return (INSTAGRAM / name).read_bytes()


def events(body: bytes | dict[str, Any]) -> list[Any]:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    return [pushed.event for pushed in RECEIVER.parse(raw)]


@needs_fixtures
def test_a_comment_opens_a_public_conversation_with_the_commenters_username() -> None:
    [pushed] = RECEIVER.parse(fixture("wh-comments-2021.json"))
    assert pushed.account_external_id == DOCS_ACCOUNT
    assert pushed.event == InboundMessage(
        network="instagram",
        external_id="123456789",
        author=Author(
            "1234536447",
            "testuser",
            "testuser",
            profile_url=("https://www.instagram.com/testuser/"),
        ),
        text="This is an example.",
        created_at=datetime(2018, 2, 23, 15, 21, 47, tzinfo=UTC),
        visibility=Visibility.PUBLIC,
    )


@needs_fixtures
def test_a_comment_or_mention_without_its_writer_is_left_for_the_adapter_to_read() -> None:
    [comment] = events(fixture("wh-comments.json"))
    assert (comment.external_id, comment.text, comment.author.external_id) == (
        "123456789",
        "This is an example.",
        "",
    )
    [mention] = events(fixture("wh-mentions.json"))
    assert (mention.external_id, mention.text, mention.visibility) == (
        "17887498072083520",
        "",
        Visibility.PUBLIC,
    )


@needs_fixtures
def test_an_unsupported_attachment_is_shown_as_such_never_dropped() -> None:
    [message] = events(fixture("messaging-attachment-unsupported.json"))
    assert message.visibility is Visibility.PRIVATE
    assert message.author.external_id == "5614879045272581"
    assert [a.kind for a in message.attachments] == [AttachmentKind.UNSUPPORTED]
    assert message.created_at == datetime.fromtimestamp(1668022333.735, UTC)


@needs_fixtures
def test_a_read_receipt_is_no_message() -> None:
    assert events(fixture("messaging-seen.json")) == []


def direct(message: dict[str, Any], *, sender: str = "5614879045272581") -> dict[str, Any]:
    recipient = MESSAGING_ACCOUNT if sender != MESSAGING_ACCOUNT else "5614879045272581"
    event = {
        "sender": {"id": sender},
        "recipient": {"id": recipient},
        "timestamp": 1668022333735,
        "message": message,
    }
    entry = {"time": 1668022334834, "id": MESSAGING_ACCOUNT, "messaging": [event]}
    return {"object": "instagram", "entry": [entry]}


def test_story_replies_and_mentions_link_the_story() -> None:
    url = "https://lookaside.fbsbx.com/ig_messaging_cdn/?asset_id=1"
    [reply] = events(direct({"mid": "m1", "text": "Bella!", "reply_to": {"story": {"url": url}}}))
    assert reply.text == "Bella!"
    assert reply.attachments == (Attachment(AttachmentKind.STORY, url, "replied to your story"),)
    mention = {"type": "story_mention", "payload": {"url": url}}
    [mentioned] = events(direct({"mid": "m2", "attachments": [mention]}))
    assert mentioned.attachments == (
        Attachment(AttachmentKind.STORY, url, "mentioned you in their story"),
    )


def test_the_accounts_own_messages_and_replies_are_answers_given_on_instagram() -> None:
    echo = {"mid": "m3", "text": "Ciao!", "is_echo": True, "metadata": "carebridge:7"}
    [answer] = events(direct(echo, sender=MESSAGING_ACCOUNT))
    assert isinstance(answer, AnsweredElsewhere)
    assert (answer.customer_external_id, answer.marker) == ("5614879045272581", "carebridge:7")
    value = {"id": "55", "text": "Grazie!", "from": {"id": DOCS_ACCOUNT}, "parent_id": "44"}
    change = {"object": "instagram", "entry": [{"id": DOCS_ACCOUNT, "time": 1519399307,
              "changes": [{"field": "comments", "value": value}]}]}  # fmt: skip
    [reply] = events(change)
    assert isinstance(reply, AnsweredElsewhere)
    assert (reply.in_reply_to, reply.visibility) == ("44", Visibility.PUBLIC)


def test_a_deleted_message_is_removed() -> None:
    [removed] = events(direct({"mid": "m4", "is_deleted": True}))
    assert removed == MessageRemoved("instagram", "m4", datetime.fromtimestamp(1668022333.735, UTC))


def test_other_objects_and_unknown_accounts_give_nothing_and_odd_parts_are_skipped() -> None:
    assert events({"object": "page", "entry": []}) == []
    other = direct({"mid": "m5", "text": "hi"})
    other["entry"][0]["id"] = "999"
    assert events(other) == []
    odd = direct({"mid": "m6", "text": "kept"})
    odd["entry"][0]["messaging"].insert(0, {"sender": "nobody", "message": {"mid": "m7"}})
    [kept] = events(odd)
    assert kept.text == "kept"
    with pytest.raises(MalformedPayload):
        RECEIVER.parse(b"[1, 2]")


def test_handshake_and_signature() -> None:
    query = {"hub.mode": "subscribe", "hub.verify_token": TOKEN, "hub.challenge": "12345"}
    assert RECEIVER.handshake(query) == (200, "12345")
    assert RECEIVER.handshake({**query, "hub.challenge": "<script>"})[0] == 403
    assert RECEIVER.handshake({**query, "hub.verify_token": "guess"})[0] == 403
    body = b'{"object": "instagram", "entry": []}'
    assert RECEIVER.verify({"x-hub-signature-256": signature(SECRET, body)}, body)
    assert not RECEIVER.verify({"x-hub-signature-256": signature("other", body)}, body)
    assert not RECEIVER.verify({}, body)
