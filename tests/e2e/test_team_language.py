"""The team's own language, end to end: with TEAM_LANGUAGE=it the channel reads Italian (cards,
buttons), while each person reads their private messages and command answers in their own
language: the one chosen with `/care language`, else their Slack locale."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from bot.sandbox.world import World, running_world
from bot.slack import blocks


@pytest.fixture
def italian_team(slack_emulator, x_emulator, database_url, clock, transport) -> Iterator[World]:
    slack_emulator.set_locale("UANNA", "it-IT")
    with running_world(
        database_url,
        clock,
        slack=slack_emulator,
        x=x_emulator,
        env={"TEAM_LANGUAGE": "it"},
        transport=transport,
    ) as world:
        yield world


def buttons(card: dict) -> list[str]:
    return [
        e["text"]["text"]
        for b in card["blocks"]
        if b["type"] == "actions"
        for e in b["elements"]
        if e.get("type") == "button"
    ]


def test_an_italian_team_reads_italian_cards_and_an_english_agent_reads_english(
    italian_team: World,
) -> None:
    world = italian_team
    world.mention("giulia_r", "il mio pacco è fermo", "Giulia Rossi")
    card = world.card_of("giulia_r")
    assert buttons(card) == ["Prendi in carico", "Risposta salvata", "Risolvi", "Passa in privato"]
    assert "non in carico" in str(card["blocks"]) and "Vedi su X" in str(card["blocks"])

    world.press("UANNA", blocks.CLAIM, card)
    world.settle()
    assert "in carico a <@UANNA>" in str(world.card_of("giulia_r")["blocks"])

    # Anna's Slack is in Italian: her help is Italian. Bruno's is English (Slack's default).
    assert world.care("UANNA", "help").startswith("*Carebridge* porta in questo canale")
    assert world.care("UBRUNO", "help").startswith("*Carebridge* brings your social")
    # Bruno and Anna try to lift a hold there is not: each is told privately, in their language.
    card = world.card_of("giulia_r")
    for user in ("UBRUNO", "UANNA"):
        world.click(user, blocks.LIFT_HOLD, "1", card["ts"])
    world.settle()
    assert [e["text"] for e in world.ephemerals_for("UBRUNO")] == [
        "This conversation is not on hold."
    ]
    assert [e["text"] for e in world.ephemerals_for("UANNA")] == [
        "Questa conversazione non è sospesa."
    ]

    # Anna prefers English after all; back to her Slack language with `auto`.
    assert world.care("UANNA", "language en").startswith("Carebridge now speaks English")
    assert world.care("UANNA", "help").startswith("*Carebridge* brings your social")
    assert world.care("UANNA", "language auto").startswith("Carebridge torna a parlarti")
    assert world.care("UANNA", "help").startswith("*Carebridge* porta in questo canale")
    assert "say it, en or auto (your Slack language)" in world.care("UANNA", "language fr")
