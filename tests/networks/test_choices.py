"""Choices (`OffersChoices`) across networks: Meta's three adapters offer them (quick replies,
WhatsApp's reply buttons and lists), X's does not and its customers answer in words; and a
message with choices is refused as any private message is, over loopback against each
emulator (a rate limit, the closed 24 hours, more choices than the network carries)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import timedelta
from functools import partial
from typing import Any

import pytest

from bot.clock import ManualClock
from bot.domain.delivery import OutsideWindow, PermanentError, RateLimited
from bot.networks.base import AccountConfig, Choice, OffersChoices
from bot.networks.facebook.emulator import GraphEmulator, graph_fault
from bot.networks.instagram.emulator import InstagramEmulator
from bot.networks.registry import Registry
from bot.networks.whatsapp.emulator import WhatsAppEmulator
from bot.sandbox.loopback import LoopbackServer

OFFERS = {"facebook": True, "instagram": True, "whatsapp": True, "x": False}
SURVEY = [Choice(f"csat:{score}", "⭐" * score) for score in range(1, 6)]
TOO_MANY = [Choice(f"c{n}", str(n)) for n in range(14)]  # past Messenger's 13 and WhatsApp's 10
# What each network answers to TOO_MANY.
TOO_MANY_SAID = {
    "facebook": "(#100) param message[quick_replies] must have at most 13 elements.",
    "instagram": "(#100) param message[quick_replies] must have at most 13 elements.",
    "whatsapp": "Total row count exceed max allowed count: 10",
}


def adapter(network: str, url: str, clock: ManualClock) -> Any:
    """The network's adapter for its sandbox account at `url`, built as the app builds it."""
    spec = Registry.default().get(network)
    raw = spec.sandbox_values(url)
    values = {k: setting.parse(v) if (setting := spec.setting(k)) else v for k, v in raw.items()}
    return spec.build(AccountConfig("acme", network, "C1", values), clock, timedelta(seconds=5))


def test_every_network_is_accounted_for() -> None:
    assert sorted(Registry.default().names()) == sorted(OFFERS)


@pytest.mark.parametrize("network", sorted(OFFERS))
def test_an_adapter_offers_choices_where_its_network_has_buttons(
    network: str, clock: ManualClock
) -> None:
    channel = adapter(network, "http://127.0.0.1:9", clock)  # built, never called
    assert isinstance(channel, OffersChoices) is OFFERS[network]


@dataclass
class Meta:
    """One of Meta's networks, running: its emulator, a customer who just wrote, and a way to
    make its next send hit a rate limit."""

    network: str
    emulator: LoopbackServer
    graph_url: str
    customer: str
    rate_limit: Callable[[], None]


def _facebook(clock: ManualClock) -> Meta:
    graph = GraphEmulator(clock=clock.timestamp).start()
    graph.add_user("2000000000000001", "Giulia", "Rossi")
    graph.message("2000000000000001", "Grazie")
    limit = partial(graph.rate_limit, "POST /{page-id}/messages", code=613)
    return Meta("facebook", graph, graph.graph_url, "2000000000000001", limit)


def _instagram(clock: ManualClock) -> Meta:
    instagram = InstagramEmulator(clock=clock.timestamp).start()
    instagram.message("giulia.r", "Grazie")
    fault = graph_fault(400, 613, "(#613) Calls to this api have exceeded the rate limit.")
    limit = partial(instagram.inject, "POST /me/messages", fault)
    giulia = instagram.customer("giulia.r").id
    return Meta("instagram", instagram, instagram.graph_url, giulia, limit)


def _whatsapp(clock: ManualClock) -> Meta:
    wa = WhatsAppEmulator(clock=clock.timestamp).start()
    wa.message("393331234567", "Giulia", "Grazie")
    limit = partial(wa.rate_limit, "POST /{phone-number-id}/messages", 80007)
    return Meta("whatsapp", wa, wa.graph_url, "393331234567", limit)


@pytest.fixture(
    params=[_facebook, _instagram, _whatsapp], ids=["facebook", "instagram", "whatsapp"]
)
def meta(request: pytest.FixtureRequest, clock: ManualClock) -> Iterator[Meta]:
    running: Meta = request.param(clock)
    yield running
    running.emulator.stop()


def test_choices_are_refused_as_any_private_message(meta: Meta, clock: ManualClock) -> None:
    channel = adapter(meta.network, meta.graph_url, clock)
    meta.rate_limit()
    with pytest.raises(RateLimited):
        channel.send_choices(meta.customer, "Com'è andata?", SURVEY)

    with pytest.raises(PermanentError) as refused:
        channel.send_choices(meta.customer, "Da 0 a 13?", TOO_MANY)
    assert TOO_MANY_SAID[meta.network] in refused.value.reason

    assert channel.send_choices(meta.customer, "Com'è andata?", SURVEY, marker="m").external_id
    clock.advance(timedelta(hours=25))
    with pytest.raises(OutsideWindow):
        channel.send_choices(meta.customer, "Com'è andata?", SURVEY)
