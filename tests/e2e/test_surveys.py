"""Satisfaction surveys end to end: after Resolve and CSAT_DELAY the customer is asked once,
privately, in their language, on their network (buttons where it has them); the score shows in
the thread and on the card, a low one calls the owner and the leads."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from sqlalchemy import select

from bot.clock import ManualClock
from bot.networks.x.emulator import XEmulator
from bot.sandbox.slack_api import SlackEmulator
from bot.sandbox.world import CHANNEL, World
from bot.slack import blocks
from storage.models import Survey
from tests.e2e.conftest import MONDAY_10, every_network

DELAY = timedelta(minutes=10)


def make_world(
    slack: SlackEmulator,
    x: XEmulator,
    database_url: str,
    transport: str,
    **env: str,
) -> Iterator[World]:
    clock = ManualClock(MONDAY_10)
    slack.clock = x.clock = clock.timestamp
    slack.add_usergroup("S0LEADS", ["UCARLA"])
    settings = {"SLACK_LEADS": "S0LEADS", **env}
    with every_network(database_url, clock, slack, x, transport, settings) as world:
        assert world.meta and world.instagram
        meta, instagram = world.meta, world.instagram
        meta.add_user("7001", "Elena", "Conti")
        instagram.customer("sofia.l", name="Sofia Longo")
        yield world


@pytest.fixture
def world(slack_emulator, x_emulator, database_url, transport) -> Iterator[World]:
    yield from make_world(slack_emulator, x_emulator, database_url, transport)


@pytest.fixture
def ask_all(slack_emulator, x_emulator, database_url, transport) -> Iterator[World]:
    yield from make_world(slack_emulator, x_emulator, database_url, transport, CSAT="all")


def thread(world: World, card: dict) -> list[str]:
    return [m["text"] for m in world.slack.thread(card["ts"], CHANNEL)]


def answer_and_resolve(world: World, card: dict, text: str = "Fatto, rimborso partito.") -> None:
    world.press("UANNA", blocks.CLAIM, card)
    world.reply_in_thread("UANNA", text, str(card["ts"]))
    world.settle()
    if world.meta is not None:
        world.deliver()
    world.press("UANNA", blocks.RESOLVE, card)
    world.settle()


def surveys(world: World) -> list[Survey]:
    with world.app.database.transaction() as session:
        rows = list(session.scalars(select(Survey).order_by(Survey.id)))
        session.expunge_all()
        return rows


def x_dm_card(world: World, handle: str = "giulia", text: str = "Ciao, il rimborso?") -> dict:
    world.direct_message(handle, text, "Giulia Rossi")
    return world.card_of(handle)


def test_an_x_customer_is_asked_once_in_their_language_and_the_score_shows(world: World) -> None:
    card = x_dm_card(world)
    answer_and_resolve(world, card)
    assert world.ask_surveys() == 0  # not before CSAT_DELAY
    world.advance(DELAY)
    assert world.ask_surveys() == 1
    question = world.x.sent_dms[-1]["text"]
    assert question.startswith("Ciao Giulia, com'è andata con noi? Dacci un voto da 1 a 5")
    assert any("Asked for a satisfaction score on X" in t for t in thread(world, card))
    assert world.ask_surveys() == 0  # once

    world.advance(timedelta(minutes=3))
    world.direct_message("giulia", "4 veloci, grazie")
    card = world.card_of("giulia")
    assert len(world.cards()) == 1  # an answer, not a new conversation
    assert ":star: 4/5: “veloci, grazie”" in str(card["blocks"])
    assert ":white_check_mark: *Resolved*" in str(card["blocks"])
    assert any(":star: 4/5 from @giulia" in t for t in thread(world, card))
    assert [(s.status, s.score, s.comment, s.agent) for s in surveys(world)] == [
        ("answered", 4, "veloci, grazie", "UANNA")
    ]


def test_writing_again_or_reopening_cancels_the_survey(world: World) -> None:
    card = x_dm_card(world)
    answer_and_resolve(world, card)
    world.advance(timedelta(minutes=4))
    world.direct_message("giulia", "Scusate, un'altra cosa: e la fattura?")
    world.advance(DELAY)
    assert world.ask_surveys() == 0
    assert [(s.status, s.reason) for s in surveys(world)] == [("cancelled", "customer wrote")]
    assert len(world.x.sent_dms) == 1  # only the agent's answer

    card = world.card_of("giulia")  # resolved again, then reopened from Slack
    world.press("UANNA", blocks.RESOLVE, card)
    world.settle()
    world.press("UANNA", blocks.REOPEN, world.card_of("giulia"))
    world.settle()
    world.advance(DELAY)
    assert world.ask_surveys() == 0
    assert surveys(world)[0].reason == "reopened"


def test_a_reply_that_is_no_score_reopens_the_conversation_as_before(world: World) -> None:
    card = x_dm_card(world)
    answer_and_resolve(world, card)
    world.advance(DELAY)
    world.ask_surveys()
    world.direct_message("giulia", "Ho ancora un problema con l'ordine 4411")
    card = world.card_of("giulia")
    assert ":large_orange_circle: *Open*" in str(card["blocks"]) or "*Open*" in str(card["blocks"])
    assert surveys(world)[0].status == "sent"  # asked, never answered
    assert surveys(world)[0].score is None


def test_a_score_with_a_question_is_kept_and_reopens_the_conversation(world: World) -> None:
    card = x_dm_card(world)
    answer_and_resolve(world, card)
    world.advance(DELAY)
    world.ask_surveys()
    world.direct_message("giulia", "5, ma il rimborso quando arriva?")
    card = world.card_of("giulia")
    assert len(world.cards()) == 1
    assert "*Open*" in str(card["blocks"])
    assert any(":star: 5/5 from @giulia" in t for t in thread(world, card))
    assert [(s.status, s.score) for s in surveys(world)] == [("answered", 5)]


def test_no_survey_without_an_answer_on_hold_or_for_a_public_only_conversation(
    world: World,
) -> None:
    world.direct_message("mute", "Ciao?", "Mario Muto")
    mute = world.card_of("mute")
    world.press("UANNA", blocks.RESOLVE, mute)  # never answered
    world.mention("loud", "il vostro servizio è lento", "Luca Forte")
    loud = world.card_of("loud")
    answer_and_resolve(world, loud, "Ci scusi, verifichiamo.")  # public throughout
    world.advance(DELAY)
    assert world.ask_surveys() == 0
    assert sorted(s.reason or "" for s in surveys(world)) == ["never_answered", "public_only"]
    assert len(world.x.sent_dms) == 0


def test_csat_all_asks_public_customers_by_dm_and_says_when_x_refuses(ask_all: World) -> None:
    world = ask_all
    world.mention("open_dm", "il pacco non arriva", "Anna Aperta")
    world.mention("closed_dm", "il pacco non arriva", "Carlo Chiuso")
    world.x.close_dms("closed_dm")
    for handle in ("open_dm", "closed_dm"):
        answer_and_resolve(world, world.card_of(handle), f"@{handle} Ci pensiamo noi.")
    world.advance(DELAY)
    world.ask_surveys()
    world.settle(limit=timedelta(hours=2))
    assert [dm["text"][:22] for dm in world.x.sent_dms] == ["Ciao Anna, com'è andat"]
    refused = thread(world, world.card_of("closed_dm"))
    assert any("No satisfaction survey: X refused it" in t for t in refused)
    assert not any(
        "Retry" in str(m.get("blocks"))
        for m in world.slack.thread(world.card_of("closed_dm")["ts"], CHANNEL)
    )
    assert sorted(s.status for s in surveys(world)) == ["failed", "sent"]


def test_the_cooldown_spares_a_person_asked_this_week(world: World) -> None:
    card = x_dm_card(world)
    answer_and_resolve(world, card)
    world.advance(DELAY)
    world.ask_surveys()
    world.direct_message("giulia", "5")
    world.advance(timedelta(days=2))
    world.direct_message("giulia", "Ciao di nuovo, una domanda sulla fattura")
    second = world.card_of("giulia")
    assert second["ts"] != card["ts"]
    answer_and_resolve(world, second)
    world.advance(DELAY)
    assert world.ask_surveys() == 0
    assert any("asked less than 7 days ago" in t for t in thread(world, second))


def test_messenger_quick_replies_and_a_low_score_calls_the_owner_and_leads(world: World) -> None:
    meta = world.meta
    assert meta is not None
    meta.message("7001", "Buongiorno, la fattura di novembre è sbagliata")
    world.deliver()
    card = world.card_named("Elena Conti")
    answer_and_resolve(world, card, "Corretta, la trova nell'area clienti.")
    world.advance(DELAY)
    assert world.ask_surveys() == 1
    question = meta.sent_messages[-1]
    replies = question["request_json"]["message"]["quick_replies"]
    assert [r["payload"] for r in replies] == [f"csat:{n}" for n in range(1, 6)]
    assert replies[0]["title"] == "⭐"

    meta.tap_quick_reply("7001", "csat:2")
    world.deliver()
    posts = world.slack.thread(card["ts"], CHANNEL)
    low = next(p for p in posts if "Low satisfaction score" in p["text"])
    assert "<@UANNA>" in low["text"] and "<!subteam^S0LEADS>" in low["text"]
    assert ":star: 2/5" in str(world.card_named("Elena Conti")["blocks"])
    reopen = next(e for b in low["blocks"] if b["type"] == "actions" for e in b["elements"])
    world.click("UCARLA", reopen["action_id"], reopen["value"], str(low["ts"]))
    world.settle()
    assert "*Open*" in str(world.card_named("Elena Conti")["blocks"])
    world.press("UCARLA", blocks.RESOLVE, world.card_named("Elena Conti"))
    world.advance(DELAY)
    assert world.ask_surveys() == 0  # once per conversation
    pings = [p for p in world.slack.thread(card["ts"], CHANNEL) if "Low satisfaction" in p["text"]]
    assert len(pings) == 1


def test_whatsapp_list_answer_and_no_survey_outside_the_window(world: World) -> None:
    whatsapp = world.whatsapp
    assert whatsapp is not None
    whatsapp.message("393471234521", "Marco Bianchi", "Hello, where is my parcel?")
    world.deliver()
    card = world.card_named("Marco Bianchi")
    answer_and_resolve(world, card, "It arrives tomorrow.")
    world.advance(DELAY)
    assert world.ask_surveys() == 1
    sent = whatsapp.sent[-1]
    assert sent["request_json"]["type"] == "interactive"
    assert sent["request_json"]["interactive"]["body"]["text"].startswith("Hi Marco, how did we do")
    whatsapp.choose_list_row("393471234521", "Marco Bianchi", "csat:5")
    world.deliver()
    assert ":star: 5/5" in str(world.card_named("Marco Bianchi")["blocks"])

    whatsapp.message("393479999999", "Sara Verdi", "Salve, il reso?")
    world.deliver()
    late = world.card_named("Sara Verdi")
    answer_and_resolve(world, late, "Fatto.")
    world.advance(timedelta(hours=25))  # the customer's 24 hours are over
    assert world.ask_surveys() == 0
    assert [(s.status, s.reason) for s in surveys(world)][-1] == ("skipped", "window_closed")
    assert any("window for private messages has closed" in t for t in thread(world, late))


def test_instagram_quick_replies(world: World) -> None:
    instagram = world.instagram
    assert instagram is not None
    instagram.message("sofia.l", "Hi! My order never arrived")
    world.deliver()
    card = world.card_of("sofia.l")
    answer_and_resolve(world, card, "Sorry Sofia, a new one left today.")
    world.advance(DELAY)
    assert world.ask_surveys() == 1
    question = instagram.sent_messages[-1]
    assert question["text"].startswith("Hi Sofia, how did we do, from 1 to 5?")
    assert [r["payload"] for r in question["request_json"]["message"]["quick_replies"]] == [
        f"csat:{n}" for n in range(1, 6)
    ]
    instagram.tap_quick_reply("sofia.l", "csat:5")
    world.deliver()
    assert ":star: 5/5" in str(world.card_of("sofia.l")["blocks"])
    assert [(s.status, s.score) for s in surveys(world)] == [("answered", 5)]


def test_the_question_is_the_teams_own_when_edited_from_slack(world: World) -> None:
    world.care("UANNA", "template csat it")
    editor = world.slack.top_modal()
    assert editor is not None and "Satisfaction survey" in str(editor["blocks"])
    text = "Ciao {name}! Quanto ti siamo stati utili, da 1 a 5?"
    world.slack.type_into(
        editor["id"], "template", "text", {"type": "plain_text_input", "value": text}
    )
    response = world.events.view_submission("UANNA", world.slack.modal(editor["id"]))
    assert response.status_code == 200 and "errors" not in response.text
    card = x_dm_card(world)
    answer_and_resolve(world, card)
    world.advance(DELAY)
    world.ask_surveys()
    assert world.x.sent_dms[-1]["text"] == "Ciao Giulia! Quanto ti siamo stati utili, da 1 a 5?"
