"""Forwarding to specialist teams end to end, across two channels: the team's card, its notes
back to the care owner (never the customer), Take, Send back, Take over, and the team's own
target warned about and missed."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from sqlalchemy import select

from bot.clock import ManualClock
from bot.sandbox.world import CHANNEL, World, running_world
from bot.slack import blocks, team_cards
from storage.models import AuditEntry, Forward
from tests.e2e.conftest import MONDAY_10, ROME_OFFICE

BILLING = "C0BILLING1"


@pytest.fixture
def world(slack_emulator, x_emulator, database_url, transport) -> Iterator[World]:
    clock = ManualClock(MONDAY_10)
    slack_emulator.clock = x_emulator.clock = clock.timestamp
    slack_emulator.add_channel(BILLING, ["UMARCO", "ULUCIA"], name="billing")
    env = {**ROME_OFFICE, "SLACK_LEADS": "UCARLA", "SLA_FIRST_RESPONSE": "8h"}
    with running_world(
        database_url, clock, slack=slack_emulator, x=x_emulator, env=env, transport=transport
    ) as world:
        answer = world.care("UCARLA", f"teams add Billing <#{BILLING}|billing> 4h")
        assert "Billing saved. *Specialist teams*" in answer
        yield world


def team_cards_in(world: World) -> list[dict]:
    return [m for m in world.slack.messages(BILLING) if m.get("blocks")]


def forward(world: World, user: str, card: dict, note: str, team: str = "Billing") -> str:
    """Press Forward on the card, pick the team, write the note, submit; the errors, if any."""
    world.press(user, blocks.FORWARD, card)
    modal = world.slack.top_modal()
    assert modal is not None and modal["callback_id"] == team_cards.MODAL
    option = {"text": {"type": "plain_text", "text": team}, "value": team}
    world.slack.type_into(
        modal["id"], "team", "team", {"type": "static_select", "selected_option": option}
    )
    world.slack.type_into(modal["id"], "note", "note", {"type": "plain_text_input", "value": note})
    response = world.events.view_submission(user, world.slack.modal(modal["id"]))
    world.settle()
    return response.text if "errors" in response.text else ""


def support_thread(world: World, card: dict) -> list[str]:
    return [m["text"] for m in world.slack.thread(card["ts"], CHANNEL)]


def opened_and_claimed(world: World) -> dict:
    world.direct_message("giulia", "Mi avete addebitato 39,90 € due volte!", "Giulia Rossi")
    card = world.card_of("giulia")
    world.press("UANNA", blocks.CLAIM, card)
    world.reply_in_thread("UANNA", "Verifichiamo subito con l'amministrazione.", str(card["ts"]))
    world.settle()
    return world.card_of("giulia")


def test_forward_take_and_the_specialists_note_reaches_the_owner_only(world: World) -> None:
    card = opened_and_claimed(world)
    assert forward(world, "UANNA", card, "Doppio addebito 39,90 €, verificate?") == ""

    [team_card] = team_cards_in(world)
    rendered = str(team_card["blocks"])
    assert "Forwarded to *Billing* by <@UANNA>" in rendered
    assert "Doppio addebito 39,90 €, verificate?" in rendered
    assert "Mi avete addebitato 39,90 € due volte!" in rendered  # the conversation so far
    assert "Support thread" in rendered and "team target" in rendered
    assert "Forwarded to *Billing* · waiting for a specialist" in str(
        world.card_of("giulia")["blocks"]
    )
    assert any("forwarded this to *Billing*" in t for t in support_thread(world, card))

    world.press("UMARCO", team_cards.TAKE, team_card)
    world.settle()
    assert "waiting on <@UMARCO>" in str(world.card_of("giulia")["blocks"])
    sent_before = len(world.x.sent_dms)
    world.reply_in_thread("UMARCO", "Rimborso approvato, 39,90 € entro venerdì", team_card["ts"],
                          channel=BILLING)  # fmt: skip
    world.settle()
    note = next(t for t in support_thread(world, card) if "Rimborso approvato" in t)
    assert note.startswith(":memo: <@UANNA> *Billing*, <@UMARCO>: Rimborso approvato")
    assert len(world.x.sent_dms) == sent_before  # never the customer
    assert "<@UMARCO> answered" in str(world.card_of("giulia")["blocks"])
    # The owner answers the customer, as always.
    world.reply_in_thread("UANNA", "Rimborso approvato: 39,90 € entro venerdì.", str(card["ts"]))
    world.settle()
    assert world.x.sent_dms[-1]["text"] == "Rimborso approvato: 39,90 € entro venerdì."
    world.press("UANNA", blocks.RESOLVE, world.card_of("giulia"))
    world.settle()
    assert "The conversation is resolved" in str(team_cards_in(world)[0]["blocks"])
    figures = world.care("UCARLA", "stats teams 7d")
    assert "forwarded: 100% of 1 conversations" in figures
    assert "*Billing*: 1 forwarded · 1 answered · median" in figures
    assert "1 of 1 within its target" in figures
    assert "*Billing*: 1 forwarded" in world.care("UCARLA", "stats 7d")


def test_only_the_owner_or_a_lead_forwards_and_only_the_team_takes(world: World) -> None:
    card = opened_and_claimed(world)
    refused = forward(world, "UBRUNO", card, "?")
    assert "Only the conversation's owner or a lead can forward it." in refused
    assert forward(world, "UCARLA", card, "Da verificare") == ""  # a lead
    assert "Billing already has this conversation." in forward(world, "UANNA", card, "again")
    world.press("UBRUNO", team_cards.TAKE, team_cards_in(world)[0])  # not in #billing
    world.settle()
    assert any(
        "Only members of Billing's channel" in e["text"] for e in world.ephemerals_for("UBRUNO")
    )


def test_send_back_and_take_over_are_said_in_both_channels(world: World) -> None:
    card = opened_and_claimed(world)
    forward(world, "UANNA", card, "Non è nostro?")
    world.press("ULUCIA", team_cards.SEND_BACK, team_cards_in(world)[0])
    world.settle()
    assert any("*Billing* (<@ULUCIA>) sent this back" in t for t in support_thread(world, card))
    assert "Forwarded to" not in str(world.card_of("giulia")["blocks"])

    forward(world, "UANNA", card, "Ci pensate voi?")
    world.press("UMARCO", team_cards.TEAM_TAKE_OVER, team_cards_in(world)[-1])
    world.settle()
    assert "claimed by <@UMARCO>" in str(world.card_of("giulia")["blocks"])
    assert any("took the conversation over from <@UANNA>" in t for t in support_thread(world, card))
    in_team = [m["text"] for m in world.slack.messages(BILLING) if not m.get("blocks")]
    assert any("took the conversation over" in t for t in in_team)
    world.slack.join(CHANNEL, "UMARCO")  # to answer there
    world.advance(timedelta(minutes=2))  # past the bot's one-minute view of the members
    world.reply_in_thread("UMARCO", "Ciao Giulia, ci penso io: rimborso fatto.", str(card["ts"]))
    world.settle()
    assert world.x.sent_dms[-1]["text"] == "Ciao Giulia, ci penso io: rimborso fatto."
    with world.app.database.transaction() as session:
        actions = [a.action for a in session.scalars(select(AuditEntry))]
    assert {"forward", "team_send_back", "team_take_over"} <= set(actions)


def test_the_teams_target_warns_then_is_missed_in_business_hours(world: World) -> None:
    card = opened_and_claimed(world)
    forward(world, "UANNA", card, "Urgente")
    sweep = world.app.services.forwarding.sweep
    world.advance(timedelta(hours=3, minutes=49))
    assert sweep() == 0
    world.advance(timedelta(minutes=2))  # 10 minutes before 14:00 Rome
    assert sweep() == 1
    world.settle()
    world.advance(timedelta(minutes=10))
    assert sweep() == 1
    world.settle()
    assert sweep() == 0  # once each
    team_posts = [m["text"] for m in world.slack.messages(BILLING) if not m.get("blocks")]
    assert [t.split(":")[1] for t in team_posts] == ["alarm_clock", "rotating_light"]
    assert "<@UANNA>" in team_posts[-1] and "missed its target (14:00)" in team_posts[-1]
    assert any("*Billing* missed its target" in t for t in support_thread(world, card))
    with world.app.database.transaction() as session:
        [row] = session.scalars(select(Forward))
        assert row.warned_at is not None and row.breached_at is not None


def test_a_forward_is_an_event_for_the_companys_other_systems(
    slack_emulator, x_emulator, database_url, transport
) -> None:
    import jsonschema

    from tests.e2e.test_events import SCHEMA, SECRET, Receiver

    clock = ManualClock(MONDAY_10)
    slack_emulator.clock = x_emulator.clock = clock.timestamp
    slack_emulator.add_channel(BILLING, ["UMARCO"], name="billing")
    with Receiver(clock, failure_rate=0) as receiver:
        env = {
            **ROME_OFFICE,
            "EVENTS_WEBHOOK_URL": receiver.url,
            "EVENTS_WEBHOOK_SECRET": SECRET,
        }
        with running_world(
            database_url, clock, slack=slack_emulator, x=x_emulator, env=env, transport=transport
        ) as world:
            world.care("UCARLA", f"teams add Billing <#{BILLING}|billing> 4h")
            card = opened_and_claimed(world)
            forward(world, "UANNA", card, "Doppio addebito")
            forwarded = [e for e in receiver.events() if e["type"] == "conversation.forwarded"]
    assert len(forwarded) == 1
    assert forwarded[0]["data"]["team"] == "Billing" and forwarded[0]["data"]["by"] == "UANNA"
    assert forwarded[0]["data"]["team_due_at"].startswith("2026-11-23T13:00")  # 14:00 Rome
    jsonschema.Draft202012Validator(SCHEMA).validate(forwarded[0])
