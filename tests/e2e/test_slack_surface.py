"""The rest of the Slack surface: /care, App Home, and ids that match nothing."""

from __future__ import annotations

from bot.slack import blocks
from tests.e2e.conftest import CHANNEL, Harness


def test_care_help_answers_privately(bot: Harness) -> None:
    response = bot.events.slash_command("UANNA", "/care", "help", CHANNEL)
    assert response.status_code == 200
    assert "note:" in response.text and "Claim" in response.text
    unknown = bot.events.slash_command("UANNA", "/care", "dance", CHANNEL)
    assert "Unknown command `dance`" in unknown.text


def test_app_home_lists_my_conversations_and_the_queue(bot: Harness) -> None:
    bot.x.add_user("giulia_r", "Giulia Rossi")
    bot.x.add_user("marco_b", "Marco Bianchi")
    bot.x.post_tweet("giulia_r", "@acmecare parcel stuck")
    bot.x.post_tweet("marco_b", "@acmecare wrong size")
    bot.poll()
    bot.settle()
    giulia = next(c for c in bot.cards() if "Giulia" in c["text"])
    bot.click("UANNA", blocks.CLAIM, "1", giulia["ts"])

    event = {
        "type": "app_home_opened",
        "user": "UANNA",
        "channel": "D0HOME",
        "tab": "home",
        "event_ts": "1.0",
    }
    assert bot.events.event(event).status_code == 200
    bot.settle()
    view = str(bot.slack.views_published["UANNA"])
    mine, queue = view.split("Team queue")
    assert "Giulia Rossi" in mine and "Marco Bianchi" not in mine
    assert "Marco Bianchi" in queue and "Giulia Rossi" not in queue


def test_a_button_for_an_unknown_conversation_gets_a_clear_private_answer(bot: Harness) -> None:
    bot.click("UANNA", blocks.CLAIM, "999", "1700000000.000100")
    bot.click("UANNA", blocks.RESOLVE, "not-a-number", "1700000000.000100")
    bot.settle()
    told = [e["text"] for e in bot.ephemerals_for("UANNA")]
    assert told == ["That conversation no longer exists in Carebridge."] * 2


def test_messages_outside_conversation_threads_are_ignored(bot: Harness) -> None:
    top = bot.slack.post_as_user("UANNA", "good morning team", channel=CHANNEL)
    bot.events.message("UANNA", "good morning team", CHANNEL, top["ts"])
    bot.reply_in_thread("UBRUNO", "morning!", top["ts"])
    bot.settle()
    assert bot.x.sent_tweets == [] and bot.slack.ephemerals == []
