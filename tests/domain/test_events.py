"""The event body and its signature (bot/domain/events.py): what a receiver relies on."""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import UTC, datetime, timedelta

from bot.domain.events import (
    ConversationView,
    CustomerView,
    Event,
    EventKind,
    body,
    encode,
    signature,
    verify,
)

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
SECRET = "receiver-shared-secret-0123"


def event(**data: object) -> Event:
    conversation = ConversationView(
        7, "whatsapp", 1, "care", "acme", "private", "open", "normal", None, None, None,
        NOW, None, None,
    )  # fmt: skip
    customer = CustomerView(3, "whatsapp", "", "Giulia Rossi", "393331234567")
    return Event("0b6e6f8e-1d1c-4f7e-9a55-0f5a0d7a1c11", EventKind.OPENED, NOW, conversation,
                 customer, data)  # fmt: skip


def test_the_signature_is_hmac_sha256_of_timestamp_dot_body_in_hex() -> None:
    payload = b'{"id":"0b6e","type":"conversation.opened"}'
    expected = hmac.new(SECRET.encode(), b"1795510800." + payload, hashlib.sha256).hexdigest()
    assert signature(SECRET, 1_795_510_800, payload) == f"sha256={expected}"


def test_verify_refuses_another_body_another_secret_and_an_old_timestamp() -> None:
    payload = b'{"id":"0b6e"}'
    stamp = int(NOW.timestamp())
    good = signature(SECRET, stamp, payload)
    assert verify(SECRET, str(stamp), payload, good, NOW + timedelta(seconds=299))
    assert not verify(SECRET, str(stamp), payload + b" ", good, NOW)
    assert not verify("another-secret-entirely", str(stamp), payload, good, NOW)
    assert not verify(SECRET, str(stamp), payload, good, NOW + timedelta(seconds=301))
    assert not verify(SECRET, "soon", payload, good, NOW)


def test_without_text_no_words_no_name_no_phone_number() -> None:
    sent = body(event(message_id=5, text="il mio numero è 3331234567"), include_text=False)
    assert sent["customer"] == {"id": 3, "network": "whatsapp", "handle": ""}
    assert sent["data"] == {"message_id": 5}
    raw = encode(sent)
    assert "Giulia" not in raw and "393331234567" not in raw and "3331234567" not in raw


def test_with_text_everything_and_times_in_utc() -> None:
    due = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)
    sent = body(event(text="ciao", comment=None, due_at=due), include_text=True)
    assert sent["customer"]["name"] == "Giulia Rossi"
    assert sent["customer"]["external_id"] == "393331234567"
    assert sent["data"] == {"text": "ciao", "comment": None, "due_at": "2026-11-23T10:00:00Z"}
    assert sent["occurred_at"] == "2026-11-23T09:00:00Z"
    assert (sent["type"], sent["version"]) == ("conversation.opened", 1)
    assert json.loads(encode(sent)) == sent
