"""The X <-> Slack bridge end to end: what the agents see in Slack, what the customer gets on X."""

from __future__ import annotations

from datetime import timedelta

from slack_sdk import WebClient
from sqlalchemy import select

from bot.domain.model import Status
from bot.slack import blocks
from storage.models import Conversation
from tests.e2e.conftest import CHANNEL, Harness


def test_mention_becomes_a_card_with_the_customer_and_the_buttons(bot: Harness) -> None:
    bot.x.add_user("giulia_r", "Giulia Rossi", followers=48_200, verified=True)
    tweet = bot.x.post_tweet("giulia_r", "@acmecare il mio pacco è fermo da 5 giorni, aiuto!")

    assert bot.poll() == 1
    bot.settle()

    [card] = bot.cards()
    rendered = str(card["blocks"])
    assert "Giulia Rossi" in rendered and "@giulia_r" in rendered
    assert "48.2k followers" in rendered and "verified" in rendered
    assert "il mio pacco è fermo da 5 giorni" in rendered
    assert f"https://x.com/giulia_r/status/{tweet['id']}" in rendered
    assert "Public" in rendered and "unclaimed" in rendered
    buttons = [
        e["action_id"] for b in card["blocks"] if b["type"] == "actions" for e in b["elements"]
    ]
    assert buttons == [
        blocks.CLAIM,
        blocks.SAVED_REPLY,
        blocks.RESOLVE,
        blocks.MOVE_TO_DM,
        blocks.SET_TOPIC,
        blocks.MORE,
    ]
    assert ":label: delivery (suggested)" in rendered  # "il mio pacco è fermo": a parcel


def test_second_mention_from_the_same_customer_goes_into_the_thread(bot: Harness) -> None:
    bot.mention("giulia_r", "where is my parcel?", "Giulia Rossi")
    bot.mention("giulia_r", "still nothing, order 4411")

    [card] = bot.cards()
    [reply] = bot.slack.thread(card["ts"], CHANNEL)
    assert "still nothing, order 4411" in str(reply["blocks"])


def test_dm_opens_a_private_conversation(bot: Harness) -> None:
    bot.x.add_user("marco_b", "Marco Bianchi")
    bot.x.send_dm("marco_b", "Hi, I need to change my delivery address")
    bot.poll()
    bot.settle()

    [card] = bot.cards()
    rendered = str(card["blocks"])
    assert "Private (DM)" in rendered and "change my delivery address" in rendered
    assert blocks.MOVE_TO_DM not in rendered


def test_customer_markup_is_escaped_and_pings_nobody(bot: Harness) -> None:
    bot.x.add_user("troll", "<!here> <@U123>")
    bot.x.post_tweet("troll", "@acmecare <!channel> hey <@UANNA> & *bold*")
    bot.poll()
    bot.settle()

    [card] = bot.cards()
    assert "<!channel>" not in card["text"] and "&lt;!channel&gt;" in card["text"]
    for block in card["blocks"]:
        for text in _mrkdwn_texts(block):
            assert "<!" not in text and "<@U" not in text, text
    # the customer's words themselves are a rich_text element, which Slack shows literally
    assert "<!channel> hey <@UANNA> & *bold*" in str(card["blocks"])


def _mrkdwn_texts(block: dict) -> list[str]:
    found = []
    if block.get("type") == "mrkdwn":
        found.append(block["text"])
    for value in block.values():
        if isinstance(value, dict):
            found += _mrkdwn_texts(value)
        elif isinstance(value, list):
            for item in value:
                if isinstance(item, dict):
                    found += _mrkdwn_texts(item)
    return found


def test_an_older_message_polled_later_goes_in_the_thread_and_the_card_keeps_its_text(
    bot: Harness,
) -> None:
    bot.direct_message("giulia_r", "[dm] my parcel is stuck", "Giulia Rossi")
    written_before = bot.clock.now() - timedelta(seconds=30)  # reached us after the DM
    bot.x.post_tweet("giulia_r", "@acmecare [mention] hello?", created_at=written_before)
    bot.poll()
    bot.settle()
    [card] = bot.cards()
    assert "[dm]" in str(card["blocks"]) and "[mention]" not in str(card["blocks"])
    [mirrored] = bot.slack.thread(card["ts"], CHANNEL)
    assert "[mention]" in str(mirrored["blocks"])


def test_answers_written_in_xs_own_app_show_in_the_thread_and_count(bot: Harness) -> None:
    bot.x.add_user("giulia_r", "Giulia Rossi")
    bot.x.add_user("marco_b", "Marco Bianchi")
    tweet = bot.x.post_tweet("giulia_r", "@acmecare where is my parcel?")
    bot.x.send_dm("marco_b", "I was charged twice")
    bot.poll()
    bot.settle()
    # Someone at the brand answers from X itself, not from Slack.
    bot.clock.advance(timedelta(minutes=5))
    bot.x.post_tweet("acmecare", "@giulia_r it ships today!", in_reply_to_tweet_id=tweet["id"])
    bot.x.send_dm("acmecare", "Refund on its way", recipient="marco_b")
    bot.poll()
    bot.settle()

    for card, said in zip(
        bot.cards(), ("@giulia_r it ships today!", "Refund on its way"), strict=True
    ):
        # As shown: the zero-width spaces that keep "_" from formatting are invisible.
        texts = [m["text"].replace("\u200b", "") for m in bot.slack.thread(card["ts"], CHANNEL)]
        assert f":speech_balloon: Answered on X directly: {said}" in texts
    with bot.app.database.transaction() as session:
        conversations = session.scalars(select(Conversation).order_by(Conversation.id)).all()
        assert [c.first_response_at is not None for c in conversations] == [True, True]
        assert [c.status for c in conversations] == [Status.WAITING_ON_CUSTOMER] * 2
    assert bot.x.sent_tweets == [] and bot.x.sent_dms == []  # Carebridge sent nothing itself
    bot.poll()  # polled again: each answer is shown once
    bot.settle()
    texts = [m["text"] for c in bot.cards() for m in bot.slack.thread(c["ts"], CHANNEL)]
    assert sum("directly" in t for t in texts) == 2


def test_a_cards_permalink_is_slacks_own_without_asking_slack_per_card(bot: Harness) -> None:
    bot.mention("giulia_r", "where is my parcel?", "Giulia Rossi")
    bot.mention("tom_h", "box crushed", "Tom")
    with bot.app.database.transaction() as session:
        stored = {
            c.slack_thread_ts: c.slack_permalink for c in session.scalars(select(Conversation))
        }
    client = WebClient(token=bot.slack.bot_token, base_url=bot.slack.url)
    for ts, permalink in stored.items():
        assert permalink == client.chat_getPermalink(channel=CHANNEL, message_ts=ts)["permalink"]
    assert len(bot.slack.calls("chat.getPermalink")) == len(
        stored
    )  # this test's, none of the bot's


def test_two_mentions_of_a_new_customer_in_one_poll_both_reach_the_thread(bot: Harness) -> None:
    """The second message finds the conversation the first opened, not yet flushed: its
    defaults are still unset (a by_hand of None once crashed every later poll)."""
    bot.customer("new_one", "New One")
    bot.x.post_tweet("new_one", "@acmecare first")
    bot.x.post_tweet("new_one", "@acmecare second")
    bot.poll()
    bot.settle()
    card = bot.card_of("new_one")
    assert "first" in str(card["blocks"])
    assert any("second" in str(m.get("blocks")) for m in bot.slack.thread(str(card["ts"])))
