"""Listening end to end: LISTEN_QUERY is searched on the X emulator's recent search; posts about
the brand that do not address it land in the listening channel as cards with Engage and
Dismiss; posts already in a conversation are not listed twice; the posts read are counted and
X_READ_BUDGET stops listening (never the support streams) with one notice."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from bot.clock import ManualClock
from bot.networks.x.emulator import XEmulator
from bot.sandbox.slack_api import SlackEmulator
from bot.sandbox.world import CHANNEL, World, running_world
from bot.slack import listening
from storage.models import Conversation, PostReads

LISTEN = "CLISTEN"


@pytest.fixture
def listen(
    database_url: str,
    clock: ManualClock,
    slack_emulator: SlackEmulator,
    x_emulator: XEmulator,
    transport: str,
) -> Iterator[World]:
    slack_emulator.add_channel(LISTEN, members=[slack_emulator.bot_user_id, "UANNA"])
    env = {
        "LISTEN_CHANNEL_ID": LISTEN,
        "LISTEN_QUERY": "(acme OR #acmecare) -is:retweet",
        "X_READ_BUDGET": "25",
    }
    with running_world(
        database_url, clock, slack=slack_emulator, x=x_emulator, env=env, transport=transport
    ) as world:
        yield world


@pytest.fixture
def listen_many(
    database_url: str,
    clock: ManualClock,
    slack_emulator: SlackEmulator,
    x_emulator: XEmulator,
    transport: str,
) -> Iterator[World]:
    """Listening without a budget, for a flood."""
    slack_emulator.add_channel(LISTEN, members=[slack_emulator.bot_user_id, "UANNA"])
    env = {"LISTEN_CHANNEL_ID": LISTEN, "LISTEN_QUERY": "acme"}
    with running_world(
        database_url, clock, slack=slack_emulator, x=x_emulator, env=env, transport=transport
    ) as world:
        yield world


def listen_cards(world: World) -> list[dict[str, object]]:
    return [m for m in world.slack.messages(LISTEN) if "Listening" in str(m.get("text", ""))]


def search(world: World) -> int:
    found = world.app.services.listener.poll_once()
    world.settle()
    return found


def test_posts_about_the_brand_become_cards_and_engage_opens_a_conversation(
    listen: World, x_emulator: XEmulator
) -> None:
    listen.customer("giulia_r", "Giulia Rossi", followers=48_200, verified=True)
    listen.customer("tom_h", "Tom Hill")
    x_emulator.post_tweet("giulia_r", "l'app di acme non funziona da stamattina, vergogna")
    x_emulator.post_tweet("tom_h", "nothing about brands here")
    assert search(listen) == 1
    [card] = listen_cards(listen)
    shown = str(card["blocks"])
    assert "Giulia Rossi" in shown and "48.2k followers" in shown and "verified" in shown
    assert "negative" in shown and "non funziona da stamattina" in shown
    assert "lets apps reply only to posts that mention @acmecare" in shown
    assert search(listen) == 0  # the cursor moved on: nothing listed twice

    listen.click("UANNA", listening.ENGAGE, "1", str(card["ts"]), LISTEN)
    listen.click("UBRUNO", listening.ENGAGE, "1", str(card["ts"]), LISTEN)  # once is enough
    listen.settle()
    support = listen.card_of("giulia_r", CHANNEL)
    assert "non funziona da stamattina" in str(support["blocks"])
    assert "claimed by <@UANNA>" in str(support["blocks"])
    assert "Engaged by <@UANNA>" in str(listen.slack.message(str(card["ts"]), LISTEN)["blocks"])
    with listen.app.database.transaction() as session:
        assert session.query(Conversation).count() == 1


def test_dismiss_and_posts_that_already_are_conversations(
    listen: World, x_emulator: XEmulator
) -> None:
    listen.mention("marco_b", "acme my order is late")  # a mention: a support conversation
    listen.customer("ann_b", "Ann Bell")
    x_emulator.post_tweet("ann_b", "#acmecare is great today")
    assert search(listen) == 1  # Ann's post; Marco's mention is a conversation already
    [card] = listen_cards(listen)
    assert "ann_b" in str(card["blocks"]) and "marco_b" not in str(card["blocks"])
    listen.click("UANNA", listening.DISMISS, "1", str(card["ts"]), LISTEN)
    listen.settle()
    after = str(listen.slack.message(str(card["ts"]), LISTEN)["blocks"])
    assert "Dismissed by <@UANNA>" in after and "listen_engage" not in after


def test_the_read_budget_stops_listening_once_and_never_the_support_streams(
    listen: World, x_emulator: XEmulator
) -> None:
    for n in range(30):
        listen.customer(f"fan_{n}")
        x_emulator.post_tweet(f"fan_{n}", f"acme post number {n}")
    search(listen)
    with listen.app.database.transaction() as session:
        [reads] = session.query(PostReads).all()
        assert 10 <= reads.posts <= 25  # never past the budget
    search(listen)
    search(listen)
    paused = [m for m in listen.slack.messages(LISTEN) if "paused" in m["text"]]
    assert len(paused) == 1 and "`X_READ_BUDGET`" in paused[0]["text"]
    listen.mention("giulia_r", "acme help please")  # support goes on
    assert "help please" in str(listen.card_of("giulia_r", CHANNEL)["blocks"])


def test_an_x_listening_conversation_is_answered_by_hand_until_the_author_mentions_the_brand(
    listen: World, x_emulator: XEmulator
) -> None:
    listen.customer("giulia_r", "Giulia Rossi")
    x_emulator.post_tweet("giulia_r", "acme ha perso il mio pacco")
    search(listen)
    [card] = listen_cards(listen)
    listen.click("UANNA", listening.ENGAGE, "1", str(card["ts"]), LISTEN)
    listen.settle()
    support = listen.card_of("giulia_r", CHANNEL)
    assert "answer on X by hand" in str(support["blocks"])
    listen.reply_in_thread("UANNA", "Ci dispiace, ti scriviamo", str(support["ts"]))
    listen.settle()
    assert x_emulator.sent_tweets == []
    [told] = [e for e in listen.ephemerals_for("UANNA") if "by hand" in e["text"]]
    assert "lets apps reply only to posts that mention the brand" in told["text"]

    listen.mention("giulia_r", "il pacco 4411, potete aiutarmi?")  # now she writes to the brand
    support = listen.card_of("giulia_r", CHANNEL)
    assert "by hand" not in str(support["blocks"])
    listen.reply_in_thread("UANNA", "Certo, verifichiamo il 4411", str(support["ts"]))
    listen.settle()
    [reply] = x_emulator.sent_tweets
    assert reply["text"].endswith("Certo, verifichiamo il 4411")


def test_care_stats_shows_the_posts_read_this_month(listen: World, x_emulator: XEmulator) -> None:
    listen.customer("ann_b", "Ann Bell")
    x_emulator.post_tweet("ann_b", "#acmecare is great today")
    search(listen)
    shown = listen.care("UANNA", "stats 7d")
    assert "Listening, posts read this month (X bills each): x 1 of 25" in shown


def test_a_flood_becomes_one_summary_a_minute_instead_of_a_card_each(
    listen_many: World, x_emulator: XEmulator
) -> None:
    for n in range(20):
        listen_many.customer(f"fan_{n}")
        x_emulator.post_tweet(f"fan_{n}", f"acme app down again, login non funziona {n}")
    assert search(listen_many) == 20
    assert len(listen_cards(listen_many)) == 6  # the first of the minute, a card each
    listen_many.app.services.listener.summarise()
    listen_many.settle()
    [summary] = [m for m in listen_many.slack.messages(LISTEN) if "more posts" in m["text"]]
    assert summary["text"].startswith(":newspaper: 14 more posts on X about")
    assert ": 14 negative; " in summary["text"]
    assert "top words: app, down" in summary["text"]
    assert listen_many.app.services.listener.summarise() == 0  # each post summarised once
