"""One bot, four networks: a customer on each of X, Facebook, Instagram and WhatsApp writes to
the brand (the three Meta products on the same webhook URL), each gets a card in the support
channel, and each agent's answer goes back on the customer's network and nowhere else."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from bot.clock import ManualClock
from bot.networks.x.emulator import XEmulator
from bot.sandbox.slack_api import SlackEmulator
from bot.sandbox.world import World
from tests.e2e.conftest import every_network


@pytest.fixture
def world(
    database_url: str,
    clock: ManualClock,
    slack_emulator: SlackEmulator,
    x_emulator: XEmulator,
    transport: str,
) -> Iterator[World]:
    with every_network(database_url, clock, slack_emulator, x_emulator, transport) as world:
        assert world.meta and world.instagram
        meta, instagram = world.meta, world.instagram
        meta.add_user("7001", "Elena", "Conti")
        instagram.customer("giulia.r", name="Giulia Rossi")
        yield world


def test_each_customer_is_answered_on_their_own_network(world: World) -> None:
    assert world.meta and world.instagram and world.whatsapp
    world.mention("tom_h", "my order is late")
    world.meta.message("7001", "Buongiorno, la fattura?")
    world.instagram.message("giulia.r", "Ciao! Il pacco?")
    world.whatsapp.message("393471234521", "Marco Bianchi", "Salve, il reso?")
    world.deliver()
    cards = {
        "x": world.card_of("tom_h"),
        "facebook": world.card_named("Elena Conti"),
        "instagram": world.card_of("giulia.r"),
        "whatsapp": world.card_named("Marco Bianchi"),
    }
    assert len(world.cards()) == 4
    for network, card in cards.items():
        world.reply_in_thread("UANNA", f"Risposta su {network}", str(card["ts"]))
    world.settle()
    world.deliver()  # the echoes and statuses of the answers
    assert [t["text"] for t in world.x.sent_tweets] == ["Risposta su x"]
    assert [m["text"] for m in world.meta.sent_messages] == ["Risposta su facebook"]
    assert [m["text"] for m in world.instagram.sent_messages] == ["Risposta su instagram"]
    assert [s["text"] for s in world.whatsapp.sent] == ["Risposta su whatsapp"]
    assert len(world.cards()) == 4  # no echo became a conversation of its own
