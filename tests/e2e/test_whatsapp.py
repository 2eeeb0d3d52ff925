"""WhatsApp end to end: the emulator delivers Meta's signed `whatsapp_business_account`
webhooks to the bot's real HTTP route (/webhooks/meta), the bot answers through the Cloud API;
the card shows the customer's name and a masked number, answers keep to the 24-hour window."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest

from bot.clock import ManualClock
from bot.networks.whatsapp.emulator import WhatsAppEmulator, encode
from bot.networks.x.emulator import XEmulator
from bot.sandbox.slack_api import SlackEmulator
from bot.sandbox.world import CHANNEL, World, running_world
from bot.slack import blocks
from storage.models import Message

GIULIA = "393471234521"


@pytest.fixture
def whatsapp(clock: ManualClock) -> Iterator[WhatsAppEmulator]:
    with WhatsAppEmulator(clock=clock.timestamp) as emulator:
        yield emulator


@pytest.fixture
def wa(
    database_url: str,
    clock: ManualClock,
    slack_emulator: SlackEmulator,
    x_emulator: XEmulator,
    whatsapp: WhatsAppEmulator,
    transport: str,
) -> Iterator[World]:
    with running_world(
        database_url,
        clock,
        slack=slack_emulator,
        x=x_emulator,
        whatsapp=whatsapp,
        env={"SLACK_LEADS": "UCARLA"},
        transport=transport,
    ) as world:
        yield world


def thread_texts(world: World, card: dict[str, object]) -> list[str]:
    return [m["text"] for m in world.slack.thread(str(card["ts"]), CHANNEL)]


def test_a_chat_becomes_a_card_with_a_masked_number_and_the_answer_goes_back(
    wa: World, whatsapp: WhatsAppEmulator
) -> None:
    whatsapp.message(GIULIA, "Giulia Rossi", "Buongiorno, il pacco 4411 non è arrivato")
    wa.deliver()
    card = wa.card_named("Giulia Rossi")
    shown = str(card["blocks"]) + str(card.get("text", ""))
    assert "+39 347 ••• ••21" in shown
    assert GIULIA not in shown and "1234521" not in shown  # never the number itself
    assert "il pacco 4411" in shown
    wa.reply_in_thread("UANNA", "Buongiorno Giulia, verifico subito", str(card["ts"]))
    wa.settle()
    wa.deliver()  # the statuses of our own send: no message of their own
    [sent] = whatsapp.sent
    assert (sent["to"], sent["text"]) == (GIULIA, "Buongiorno Giulia, verifico subito")
    assert len(wa.cards()) == 1


def test_a_repeated_delivery_is_mirrored_once(wa: World, whatsapp: WhatsAppEmulator) -> None:
    whatsapp.message(GIULIA, "Giulia Rossi", "prima")
    pending = whatsapp.pending()
    wa.deliver()
    for payload in pending:
        whatsapp.deliver_raw(wa.webhook_url, encode(payload))
    wa.settle()
    with wa.app.database.transaction() as session:
        assert session.query(Message).filter(Message.network == "whatsapp").count() == 1


def test_outside_the_24_hours_the_answer_is_kept_until_the_customer_writes_again(
    wa: World, whatsapp: WhatsAppEmulator
) -> None:
    whatsapp.message(GIULIA, "Giulia Rossi", "Salve")
    wa.deliver()
    card = wa.card_named("Giulia Rossi")
    wa.clock.advance(timedelta(hours=25))
    wa.reply_in_thread("UANNA", "Eccoci, scusi il ritardo", str(card["ts"]))
    wa.reply_in_thread("UANNA", "Il pacco è in consegna", str(card["ts"]))
    wa.settle()
    assert whatsapp.sent == []
    kept = [t for t in thread_texts(wa, card) if t.startswith(":hourglass_flowing_sand:")]
    assert len(kept) == 2 and "within 24 hours" in kept[0]
    whatsapp.message(GIULIA, "Giulia Rossi", "Ci siete?")
    wa.deliver()  # the customer writes: both answers go out, in order
    assert [s["text"] for s in whatsapp.sent] == [
        "Eccoci, scusi il ritardo",
        "Il pacco è in consegna",
    ]


def test_receipts_show_on_the_agents_message_and_a_failure_is_said_with_retry(
    wa: World, whatsapp: WhatsAppEmulator
) -> None:
    whatsapp.message(GIULIA, "Giulia Rossi", "Ciao")
    wa.deliver()
    card = wa.card_named("Giulia Rossi")
    answer = wa.reply_in_thread("UANNA", "Ciao Giulia!", str(card["ts"]))
    wa.settle()
    wa.deliver()  # sent, delivered
    whatsapp.read(GIULIA)
    wa.deliver()
    wa.deliver()  # a repeated status changes nothing
    reactions = wa.slack.message(answer["ts"], CHANNEL)["reactions"]
    assert reactions == ["white_check_mark", "mailbox_with_mail", "eyes"]

    whatsapp.set_reachable(GIULIA, False)  # accepted, then failed by webhook (131026)
    lost = wa.reply_in_thread("UANNA", "Ci sei?", str(card["ts"]))
    wa.settle()
    wa.deliver()
    assert "warning" in wa.slack.message(lost["ts"], CHANNEL)["reactions"]
    failed = [t for t in thread_texts(wa, card) if t.startswith(":warning: Not delivered")]
    assert len(failed) == 1 and "131026" in failed[0]
    with wa.app.database.transaction() as session:
        statuses = [m.delivery for m in session.query(Message).filter_by(direction="outbound")]
        assert statuses == ["sent", "failed"]


def test_send_template_asks_a_quiet_customer_to_write_and_the_kept_answer_follows(
    wa: World, whatsapp: WhatsAppEmulator
) -> None:
    whatsapp.message(GIULIA, "Giulia Rossi", "Salve")
    wa.deliver()
    card = wa.card_named("Giulia Rossi")
    wa.clock.advance(timedelta(hours=30))
    wa.reply_in_thread("UANNA", "Il rimborso è stato approvato", str(card["ts"]))
    wa.settle()
    [notice] = [
        m
        for m in wa.slack.thread(str(card["ts"]), CHANNEL)
        if m["text"].startswith(":hourglass_flowing_sand:")
    ]
    wa.press("UANNA", blocks.SEND_TEMPLATE, notice)
    wa.press("UANNA", blocks.SEND_TEMPLATE, notice)  # a double click sends it once
    wa.settle()
    [template] = whatsapp.sent
    assert (template["type"], template["template"]["name"]) == ("template", "riapertura")
    assert any(":envelope_with_arrow:" in t for t in thread_texts(wa, card))
    whatsapp.message(GIULIA, "Giulia Rossi", "Eccomi!")
    wa.deliver()
    assert [s.get("text") for s in whatsapp.sent][1:] == ["Il rimborso è stato approvato"]


def test_care_customer_by_number_shows_it_in_full_to_channel_members_only(
    wa: World, whatsapp: WhatsAppEmulator
) -> None:
    whatsapp.message(GIULIA, "Giulia Rossi", "Salve")
    wa.deliver()
    shown = wa.care("UANNA", "customer +39 347 123 4521")
    assert "Giulia Rossi" in shown and "+393471234521" in shown and "1 conversation" in shown
    wa.slack.add_user("UOUTSIDER", "Outsider")
    refused = wa.care("UOUTSIDER", "customer +39 347 123 4521")
    assert "only members" in refused and "4521" not in refused.replace("+39 347 123 4521", "")
    assert "No customer +390000000" in wa.care("UANNA", "customer +39 000 0000")


def test_the_first_answer_quotes_the_message_it_answers_and_quoted_replies_show(
    wa: World, whatsapp: WhatsAppEmulator
) -> None:
    whatsapp.message(GIULIA, "Giulia Rossi", "Il pacco 4411 non è arrivato")
    latest = whatsapp.message(GIULIA, "Giulia Rossi", "E il codice di tracciamento non va")
    wa.deliver()
    card = wa.card_named("Giulia Rossi")
    wa.reply_in_thread("UANNA", "Verifico subito il 4411", str(card["ts"]))
    wa.reply_in_thread("UANNA", "Il codice giusto è AB123", str(card["ts"]))
    wa.settle()
    first, second = whatsapp.sent
    assert (first["context"], second["context"]) == (latest, None)

    # The customer swipes to reply to Anna's first answer, then to a message from long ago.
    whatsapp.message(GIULIA, "Giulia Rossi", "Grazie, e i tempi?", reply_to=first["message_id"])
    whatsapp.message(GIULIA, "Giulia Rossi", "come dicevo", reply_to="wamid.QUITEOLD")
    wa.deliver()
    mirrored = [
        m for m in wa.slack.thread(str(card["ts"]), CHANNEL) if m.get("blocks") and m["bot_id"]
    ]
    quoted, old = (str(m["blocks"]) for m in mirrored[-2:])
    assert "replying to <@UANNA>'s answer: “Verifico subito il 4411”" in quoted
    assert "Grazie, e i tempi?" in quoted
    assert "replying to an earlier message" in old
    with wa.app.database.transaction() as session:
        stored = session.query(Message).filter_by(text="Grazie, e i tempi?").one()
        assert stored.in_reply_to_external_id == first["message_id"]
