"""A second network added as one package (tests/chirp), next to X: its webhook deliveries go
through ingest, cards, claim, answers, notices and response targets like X's."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import requests

from bot.clock import ManualClock
from bot.networks.registry import Registry
from bot.networks.x.emulator import XEmulator
from bot.sandbox.slack_api import SlackEmulator
from bot.sandbox.world import CHANNEL, World, running_world
from bot.slack import blocks
from tests.chirp import CHIRP
from tests.chirp.emulator import ChirpEmulator

TOKEN, SECRET = "chirp-token-123", "chirp-app-secret-456"


@pytest.fixture
def chirp(clock: ManualClock) -> Iterator[ChirpEmulator]:
    emulator = ChirpEmulator(
        account_id="c-brand", handle="acmechirp", token=TOKEN, app_secret=SECRET
    )
    with emulator:
        yield emulator


@pytest.fixture
def world(
    tmp_path: Path,
    chirp: ChirpEmulator,
    slack_emulator: SlackEmulator,
    x_emulator: XEmulator,
    database_url: str,
    clock: ManualClock,
    transport: str,
) -> Iterator[World]:
    accounts = tmp_path / "accounts.toml"
    accounts.write_text(
        f"""
[[accounts]]
name = "acme-x"
network = "x"
consumer_key = "${{X_CONSUMER_KEY}}"
consumer_secret = "${{X_CONSUMER_SECRET}}"
access_token = "${{X_ACCESS_TOKEN}}"
access_token_secret = "${{X_ACCESS_TOKEN_SECRET}}"
api_url = "{x_emulator.url}"

[[accounts]]
name = "acme-chirp"
network = "chirp"
api_url = "{chirp.base_url}"
account_id = "c-brand"
token = "${{CHIRP_TOKEN}}"
app_secret = "${{CHIRP_SECRET}}"
"""
    )
    env = {
        "ACCOUNTS_FILE": str(accounts),
        "CHIRP_TOKEN": TOKEN,
        "CHIRP_SECRET": SECRET,
        "BUSINESS_HOURS": "mon-fri 09:00-18:00",
        "TIMEZONE": "UTC",
        "SLA_FIRST_RESPONSE": "30m",
        "SLA_WARN_BEFORE": "10m",
        "NETIQUETTE_URL": "https://acme.example/rules",
    }
    registry = Registry.default().with_network(CHIRP)
    with running_world(
        database_url,
        clock,
        slack=slack_emulator,
        x=x_emulator,
        env=env,
        registry=registry,
        transport=transport,
    ) as running:
        yield running


def webhook(world: World) -> str:
    return f"{world.base_url}/webhooks/chirp"


def post(world: World, chirp: ChirpEmulator, event_id: str, text: str, **kw: Any) -> None:
    event = {
        "id": event_id,
        "type": kw.pop("type", "post"),
        "author": {"id": "u-giulia", "handle": "giulia", "name": "Giulia Rossi"},
        "text": text,
        "created_at": int(world.clock.now().timestamp()),
        **kw,
    }
    answer = chirp.push(webhook(world), [event])
    assert answer.status_code == 200, answer.text
    world.settle()


def test_a_chirp_post_becomes_a_card_that_is_claimed_and_answered_on_chirp(
    world: World, chirp: ChirpEmulator
) -> None:
    post(world, chirp, "p1", "my parcel is stuck")
    card = world.card_of("giulia")
    where = card["blocks"][0]["elements"][0]["text"]
    assert where.startswith("*Chirp* · @acmechirp · Public mention")
    assert "<https://chirp.example/giulia|@giulia>" in str(card["blocks"])

    world.press("UANNA", blocks.CLAIM, card)
    world.reply_in_thread("UANNA", "We are on it, Giulia", card["ts"])
    world.settle()
    assert chirp.sent == [
        {
            "in_reply_to": "p1",
            "text": "We are on it, Giulia",
            "id": "s1",
            "url": "https://chirp.example/posts/s1",
        }
    ]
    assert world.x.sent_tweets == []  # not a word went out on X
    # A delivered answer stops the clock: no warning comes when its time passes.
    world.advance(timedelta(minutes=45))
    assert not any("due at" in m["text"] for m in world.slack.thread(card["ts"], CHANNEL))


def test_follow_ups_and_dms_join_the_thread_and_answers_follow_the_customer(
    world: World, chirp: ChirpEmulator
) -> None:
    post(world, chirp, "p1", "my parcel is stuck")
    post(world, chirp, "d1", "here is my order number: 4411", type="dm")
    card = world.card_of("giulia")
    thread = world.slack.thread(card["ts"], CHANNEL)
    assert any("4411" in str(m.get("blocks")) for m in thread)
    world.reply_in_thread("UANNA", "Thanks, checking 4411", card["ts"])
    world.settle()
    assert chirp.sent[-1]["recipient"] == "u-giulia"  # privately, where she wrote last


def test_the_same_delivery_twice_is_stored_once_and_bad_deliveries_are_refused(
    world: World, chirp: ChirpEmulator
) -> None:
    post(world, chirp, "p1", "my parcel is stuck")
    post(world, chirp, "p1", "my parcel is stuck")  # Chirp delivers again after a timeout
    assert len(world.cards()) == 1
    unsigned = chirp.push(webhook(world), [], sign=False)
    assert unsigned.status_code == 401
    broken = requests.post(
        webhook(world),
        data=b'{"account": "c-brand"}',
        headers={"X-Chirp-Signature": "sha256=" + "0" * 64},
        timeout=5,
    )
    assert broken.status_code == 401  # a wrong signature: nothing is even parsed
    from tests.chirp.webhook import signature

    # Signed but not a delivery Chirp sends: accepted (it is stored and answered at once),
    # found unparsable when processed, and nothing comes of it; not JSON at all is a 400.
    body = b'{"account": "c-brand", "events": [{"id": 1}]}'
    headers = {"X-Chirp-Signature": signature(SECRET, body)}
    odd = requests.post(webhook(world), data=body, headers=headers, timeout=5)
    assert odd.status_code == 200
    world.settle()
    junk = b"not json"
    headers = {"X-Chirp-Signature": signature(SECRET, junk)}
    assert requests.post(webhook(world), data=junk, headers=headers, timeout=5).status_code == 400
    handshake = requests.get(webhook(world), params={"challenge": "abc123"}, timeout=5)
    assert (handshake.status_code, handshake.text) == (200, "abc123")
    assert len(world.cards()) == 1


def test_notices_and_response_targets_work_on_chirp(world: World, chirp: ChirpEmulator) -> None:
    world.clock.advance(timedelta(days=5, hours=12))  # Saturday 21:00: closed
    post(world, chirp, "d1", "are you there?", type="dm")
    assert len(chirp.sent) == 1 and chirp.sent[0]["recipient"] == "u-giulia"
    assert chirp.sent[0]["text"].startswith("Hi Giulia, thanks for getting in touch!")
    assert "Monday at 9:00" in chirp.sent[0]["text"]

    world.clock.advance(timedelta(days=1, hours=12))  # Monday 09:00: open
    post(world, chirp, "p2", "you are all idiots, useless morons", type="post")
    rules = chirp.sent[-1]
    assert rules["in_reply_to"] == "p2" and "https://acme.example/rules" in rules["text"]
    assert not rules["text"].startswith("@")  # Chirp threads replies: no @handle needed

    card = world.card_of("giulia")
    world.advance(timedelta(minutes=21))
    thread = [m["text"] for m in world.slack.thread(card["ts"], CHANNEL)]
    assert any(t.startswith(":alarm_clock:") and "due at" in t for t in thread)
    world.advance(timedelta(minutes=10))
    missed = [m["text"] for m in world.slack.messages(CHANNEL) if "Target missed" in m["text"]]
    assert len(missed) == 1 and "@giulia's conversation" in missed[0]
