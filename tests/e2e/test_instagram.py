"""Instagram end to end: the emulator delivers Meta's signed `instagram` webhooks to the bot's
real HTTP route (/webhooks/meta), the bot answers through the Graph API; cards, answers under
comments and in Direct, Move to DM, duplicates and bad signatures, the 24-hour window."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
import requests

from bot.clock import ManualClock
from bot.networks.instagram.emulator import InstagramEmulator
from bot.networks.meta.webhook_sender import encode
from bot.networks.x.emulator import XEmulator
from bot.sandbox.slack_api import SlackEmulator
from bot.sandbox.world import CHANNEL, World, running_world
from bot.slack import blocks
from storage.models import Conversation, Customer, Message


@pytest.fixture
def instagram(clock: ManualClock) -> Iterator[InstagramEmulator]:
    with InstagramEmulator(clock=clock.timestamp) as emulator:
        emulator.customer("giulia.r", name="Giulia Rossi", followers=25_000)
        emulator.customer("marco.b", name="Marco Bianchi")
        emulator.customer("moda.milano", name="Moda Milano", followers=48_000, business=True)
        yield emulator


@pytest.fixture
def ig(
    database_url: str,
    clock: ManualClock,
    slack_emulator: SlackEmulator,
    x_emulator: XEmulator,
    instagram: InstagramEmulator,
    transport: str,
) -> Iterator[World]:
    with running_world(
        database_url,
        clock,
        slack=slack_emulator,
        x=x_emulator,
        instagram=instagram,
        env={"SLACK_LEADS": "UCARLA"},
        transport=transport,
    ) as world:
        yield world


def where(card: dict[str, object]) -> str:
    return str(card["blocks"][0]["elements"][0]["text"])  # type: ignore[index]


def thread_texts(world: World, card: dict[str, object]) -> list[str]:
    return [m["text"] for m in world.slack.thread(str(card["ts"]), CHANNEL)]


def test_a_direct_message_becomes_a_card_and_the_answer_goes_back_in_direct(
    ig: World, instagram: InstagramEmulator
) -> None:
    instagram.message("giulia.r", "Ciao! Il mio ordine 4411 non è arrivato")
    ig.deliver()
    card = ig.card_of("giulia.r")
    assert where(card).startswith("*Instagram* · ")
    assert "Giulia Rossi" in str(card["blocks"]) and "Il mio ordine 4411" in str(card["blocks"])
    ig.press("UANNA", blocks.CLAIM, card)
    ig.reply_in_thread("UANNA", "Ciao Giulia, controllo subito", str(card["ts"]))
    ig.settle()
    ig.deliver()  # the echo of our own send: not an answer given elsewhere
    [sent] = instagram.sent_messages
    assert (sent["to"], sent["text"]) == ("giulia.r", "Ciao Giulia, controllo subito")
    assert not any("directly" in t for t in thread_texts(ig, card))
    with ig.app.database.transaction() as session:
        customer = session.query(Customer).filter_by(handle="giulia.r").one()
        assert (customer.network, customer.followers) == ("instagram", 25_000)


def test_a_comment_is_answered_under_it_and_move_to_dm_replies_privately(
    ig: World, instagram: InstagramEmulator
) -> None:
    first = instagram.comment("marco.b", "Quando riaprite il negozio di Roma?")
    ig.deliver()
    card = ig.card_of("marco.b")
    assert "comment" in where(card).lower()
    ig.reply_in_thread("UANNA", "Domani alle 9!", str(card["ts"]))
    ig.settle()
    ig.deliver()  # the account's reply comes back as a comments change: our own
    assert instagram.sent_replies == [
        {"id": instagram.sent_replies[0]["id"], "in_reply_to": first, "text": "Domani alle 9!"}
    ]
    instagram.comment("marco.b", "E il mio rimborso?")
    ig.deliver()
    card = ig.card_of("marco.b")
    ig.press("UANNA", blocks.MOVE_TO_DM, card)
    ig.settle()
    [private] = instagram.sent_messages
    assert "comment_id" in private and private["to"] == "marco.b"


def test_the_same_delivery_twice_is_mirrored_once_and_unsigned_ones_store_nothing(
    ig: World, instagram: InstagramEmulator
) -> None:
    instagram.comment("giulia.r", "prima domanda")
    instagram.message("marco.b", "seconda domanda")
    pending = instagram.pending()
    unsigned = encode(pending[0])
    assert instagram.deliver_raw(ig.webhook_url, unsigned, signature="").status_code == 401
    wrong = "sha256=" + "0" * 64
    assert instagram.deliver_raw(ig.webhook_url, unsigned, signature=wrong).status_code == 401
    assert requests.post(ig.webhook_url, data=b"not json", timeout=5).status_code == 401
    ig.settle()
    assert ig.cards() == []
    ig.deliver()
    for payload in pending:  # Meta delivers again after a timeout
        assert instagram.deliver_raw(ig.webhook_url, encode(payload)).status_code == 200
    ig.settle()
    texts = " ".join(str(c["blocks"]) for c in ig.cards())
    assert texts.count("prima domanda") == 1 and texts.count("seconda domanda") == 1
    with ig.app.database.transaction() as session:
        assert session.query(Message).filter(Message.network == "instagram").count() == 2
    assert instagram.handshake(ig.webhook_url)
    assert not instagram.handshake(ig.webhook_url, verify_token="wrong")


def test_outside_the_24_hours_an_answer_is_kept_until_the_customer_writes_again(
    ig: World, instagram: InstagramEmulator
) -> None:
    instagram.message("marco.b", "Salve")
    ig.deliver()
    card = ig.card_of("marco.b")
    ig.clock.advance(timedelta(hours=25))
    ig.reply_in_thread("UANNA", "Eccoci, scusi il ritardo", str(card["ts"]))
    ig.settle()
    assert instagram.sent_messages == []
    kept = [t for t in thread_texts(ig, card) if t.startswith(":hourglass_flowing_sand:")]
    assert len(kept) == 1 and "within 24 hours" in kept[0]
    instagram.message("marco.b", "Ci siete?")
    ig.deliver()
    assert [m["text"] for m in instagram.sent_messages] == ["Eccoci, scusi il ritardo"]


def test_a_story_mention_and_a_mention_in_a_comment_show_who_and_where(
    ig: World, instagram: InstagramEmulator
) -> None:
    instagram.story_mention("giulia.r")
    instagram.mention("marco.b", "@acme.italia guardate qui")
    ig.deliver()
    story = ig.card_of("giulia.r")
    assert "mentioned you in their story" in str(story["blocks"]) + " ".join(
        thread_texts(ig, story)
    )
    mention = ig.card_of("marco.b")  # its writer read from the comment
    assert "guardate qui" in str(mention["blocks"])


def test_care_customer_and_vips_by_instagram_username(
    ig: World, instagram: InstagramEmulator
) -> None:
    assert "is a VIP" in ig.care("UANNA", "vip add instagram:@marco.b press, Corriere")
    instagram.message("marco.b", "Il mio ordine?")
    ig.deliver()
    card = ig.card_of("marco.b")
    assert "press, Corriere (VIP)" in str(card["blocks"])
    shown = ig.care("UANNA", "customer instagram:@marco.b")
    assert "Marco Bianchi" in shown and "1 conversation" in shown


def test_a_business_commenters_followers_raise_the_priority_a_personal_ones_do_not(
    ig: World, instagram: InstagramEmulator
) -> None:
    instagram.comment("moda.milano", "Il vostro reso non funziona")
    instagram.comment("marco.b", "Anche per me")
    ig.deliver()
    shop, person = ig.card_of("moda.milano"), ig.card_of("marco.b")
    assert "48k followers" in str(shop["blocks"]) and "Moda Milano" in str(shop["blocks"])
    assert "followers" not in str(person["blocks"])
    with ig.app.database.transaction() as session:
        stored = {
            c.customer.handle: (c.customer.followers, c.priority)
            for c in session.query(Conversation)
        }
    assert stored == {"moda.milano": (48_000, "high"), "marco.b": (0, "normal")}
