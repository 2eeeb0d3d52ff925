"""A commenter's followers by Business Discovery, through real HTTP against the emulator: a
business account's count reaches priority, a personal account's comment arrives with 0, and a
refused, failing or rate-limited discovery never costs the comment."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta

import pytest
import requests

from bot.clock import ManualClock
from bot.domain.model import Author, InboundMessage
from bot.domain.priority import PriorityInput, PriorityRules, score_priority
from bot.domain.sla import Priority
from bot.networks.facebook.emulator import graph_fault
from bot.networks.instagram.adapter import InstagramChannel
from bot.networks.instagram.emulator import SANDBOX_ACCOUNT, InstagramEmulator
from bot.sandbox.loopback import Fault
from tests.networks.instagram.test_adapter import channel_for, received

DISCOVERY = "GET /{account} business_discovery"  # the emulator's fault key for the call


@pytest.fixture
def instagram(clock: ManualClock) -> Iterator[InstagramEmulator]:
    with InstagramEmulator(clock=clock.timestamp) as emulator:
        emulator.customer("bianchi.moda", name="Bianchi Moda", followers=48_000, business=True)
        emulator.customer("marco.b", name="Marco Bianchi", followers=900)  # personal
        yield emulator


@pytest.fixture
def channel(instagram: InstagramEmulator, clock: ManualClock) -> InstagramChannel:
    return channel_for(instagram, clock)


def commented(
    instagram: InstagramEmulator, channel: InstagramChannel, username: str, text: str
) -> InboundMessage:
    """`username` comments; the comment as the bot has it once completed."""
    instagram.clear_pending()
    instagram.comment(username, text)
    [comment] = received(instagram)
    return channel.complete(comment)


def discoveries(instagram: InstagramEmulator) -> int:
    return sum(instagram.fault_key(r) == DISCOVERY for r in instagram.requests)


def priority_of(author: Author, text: str) -> tuple[Priority, tuple[str, ...]]:
    facts = PriorityInput(None, author.followers, author.verified, 0.0, text, 1)
    result = score_priority(facts, PriorityRules())
    return result.priority, result.reasons


def test_a_business_commenter_gets_followers_and_name_and_so_priority(
    instagram: InstagramEmulator, channel: InstagramChannel, clock: ManualClock
) -> None:
    comment = commented(instagram, channel, "bianchi.moda", "Il mio ordine?")
    author = comment.author
    assert (author.handle, author.name, author.followers) == ("bianchi.moda", "Bianchi Moda",
                                                               48_000)  # fmt: skip
    assert comment.text == "Il mio ordine?"
    assert priority_of(author, comment.text) == (Priority.HIGH, ("48k followers",))
    # Kept for a day: the next comment costs no call against the app's rate limit.
    assert commented(instagram, channel, "bianchi.moda", "Ci siete?").author.followers == 48_000
    assert discoveries(instagram) == 1
    clock.advance(timedelta(days=1, minutes=1))
    commented(instagram, channel, "bianchi.moda", "Ancora?")
    assert discoveries(instagram) == 2


def test_a_business_mentioner_gets_followers_too(
    instagram: InstagramEmulator, channel: InstagramChannel
) -> None:
    instagram.mention("bianchi.moda", "@acme.italia guardate qui")
    [mention] = received(instagram)
    completed = channel.complete(mention)
    assert (completed.author.handle, completed.author.followers, completed.text) == (
        "bianchi.moda",
        48_000,
        "@acme.italia guardate qui",
    )


def test_a_personal_commenter_keeps_0_followers_and_the_comment_arrives(
    instagram: InstagramEmulator, channel: InstagramChannel
) -> None:
    comment = commented(instagram, channel, "marco.b", "Quando riaprite?")
    author = comment.author
    assert (author.handle, author.name, author.followers) == ("marco.b", "marco.b", 0)
    assert (comment.text, author.external_id) == ("Quando riaprite?",
                                                  instagram.customer("marco.b").id)  # fmt: skip
    assert priority_of(author, comment.text)[0] is Priority.NORMAL
    # The refusal is kept as well: most commenters are personal accounts.
    commented(instagram, channel, "marco.b", "E allora?")
    assert discoveries(instagram) == 1


def test_a_failing_discovery_keeps_the_comment_and_pauses_a_minute(
    instagram: InstagramEmulator, channel: InstagramChannel, clock: ManualClock
) -> None:
    instagram.inject(DISCOVERY, Fault.server_error(502))
    comment = commented(instagram, channel, "bianchi.moda", "Pessimo servizio")
    assert (comment.text, comment.author.handle, comment.author.followers) == (
        "Pessimo servizio",
        "bianchi.moda",
        0,
    )
    assert comment.author.name == "bianchi.moda"
    assert commented(instagram, channel, "bianchi.moda", "Allora?").author.followers == 0
    assert discoveries(instagram) == 1  # paused: the second comment did not wait on Meta
    clock.advance(timedelta(minutes=2))
    assert commented(instagram, channel, "bianchi.moda", "Ci siete?").author.followers == 48_000


def test_a_rate_limit_pauses_discovery_until_meta_says_and_a_known_count_stays(
    instagram: InstagramEmulator, channel: InstagramChannel, clock: ManualClock
) -> None:
    assert commented(instagram, channel, "bianchi.moda", "Primo").author.followers == 48_000
    clock.advance(timedelta(days=2))  # the count is a day old: asked again, and refused
    usage = {SANDBOX_ACCOUNT["account_id"]: [{"type": "instagram", "call_count": 100,
                                              "estimated_time_to_regain_access": 10}]}  # fmt: skip
    limit = graph_fault(403, 4, "(#4) Application request limit reached",
                        headers={"X-Business-Use-Case-Usage": json.dumps(usage)})  # fmt: skip
    instagram.inject(DISCOVERY, limit)
    known = commented(instagram, channel, "bianchi.moda", "Secondo")
    assert (known.text, known.author.followers) == ("Secondo", 48_000)  # the last word Meta said
    instagram.customer("nuovo.brand", followers=20_000, business=True)
    unknown = commented(instagram, channel, "nuovo.brand", "Terzo")
    assert (unknown.text, unknown.author.followers) == ("Terzo", 0)
    assert discoveries(instagram) == 2  # none while paused
    clock.advance(timedelta(minutes=11))
    assert commented(instagram, channel, "nuovo.brand", "Quarto").author.followers == 20_000


def test_the_emulator_answers_business_discovery_as_meta_does(
    instagram: InstagramEmulator,
) -> None:
    account = SANDBOX_ACCOUNT["account_id"]
    url = f"{instagram.graph_url}/{account}"
    headers = {"Authorization": f"Bearer {SANDBOX_ACCOUNT['page_access_token']}"}

    def ask(fields: str) -> requests.Response:
        return requests.get(url, params={"fields": fields}, headers=headers, timeout=5)

    found = ask("business_discovery.username(bianchi.moda){followers_count,name,username}")
    assert found.status_code == 200
    assert found.json() == {
        "business_discovery": {
            "followers_count": 48_000,
            "name": "Bianchi Moda",
            "username": "bianchi.moda",
            "id": instagram.customer("bianchi.moda").id,
        },
        "id": account,
    }
    for username in ("marco.b", "nobody.here"):
        refused = ask(f"business_discovery.username({username}){{followers_count}}")
        error = refused.json()["error"]
        assert refused.status_code == 400
        assert (error["message"], error["type"], error["code"], error["error_subcode"]) == (
            "Invalid user id",
            "OAuthException",
            110,
            2207013,
        )
        assert error["is_transient"] is False and error["fbtrace_id"]
    assert ask("id,username").json() == {"id": account, "username": "acme.italia"}
    assert ask("business_discovery.username(bianchi.moda){nope}").json()["error"]["code"] == 100
