"""Agents in Slack: claiming, answering from the thread, notes, resolving, moving to DM."""

from __future__ import annotations

from datetime import timedelta

from bot.sandbox.loopback import Fault
from bot.scheduling import Timers
from bot.services.outbox import CUSTOMER_FACING
from bot.slack import blocks
from storage import repositories as repo
from storage.outbox_rows import Kinds
from tests.e2e.conftest import CHANNEL, Harness


def open_mention(bot: Harness, text: str = "@acmecare my parcel is stuck") -> tuple[dict, dict]:
    bot.x.add_user("giulia_r", "Giulia Rossi", followers=120)
    tweet = bot.x.post_tweet("giulia_r", text)
    bot.poll()
    bot.settle()
    [card] = bot.cards()
    return tweet, card


def card_now(bot: Harness, ts: str) -> str:
    return str(bot.slack.message(ts, CHANNEL)["blocks"])


def test_claim_shows_the_owner_and_a_second_claim_gets_a_private_take_over(bot: Harness) -> None:
    _, card = open_mention(bot)
    bot.click("UANNA", blocks.CLAIM, "1", card["ts"])
    bot.settle()
    assert "claimed by <@UANNA>" in card_now(bot, card["ts"])

    bot.click("UBRUNO", blocks.CLAIM, "1", card["ts"])
    bot.settle()
    [notice] = bot.ephemerals_for("UBRUNO")
    assert "<@UANNA> already owns this conversation" in notice["text"]
    assert blocks.TAKE_OVER in str(notice["blocks"])

    bot.click("UBRUNO", blocks.TAKE_OVER, "1", card["ts"])  # not a lead: refused, privately
    bot.settle()
    assert "owner or a lead" in bot.ephemerals_for("UBRUNO")[-1]["text"]
    assert "claimed by <@UANNA>" in card_now(bot, card["ts"])

    bot.click("UCARLA", blocks.TAKE_OVER, "1", card["ts"])  # a lead
    bot.settle()
    assert "claimed by <@UCARLA>" in card_now(bot, card["ts"])
    [took_over] = bot.slack.thread(card["ts"], CHANNEL)
    assert "<@UCARLA> took over this conversation from <@UANNA>" in took_over["text"]


def test_owner_answer_is_a_reply_to_the_customers_latest_tweet_sent_once(bot: Harness) -> None:
    first, card = open_mention(bot)
    latest = bot.x.post_tweet("giulia_r", "@acmecare order 4411", in_reply_to_tweet_id=first["id"])
    bot.poll()
    bot.settle()
    bot.click("UANNA", blocks.CLAIM, "1", card["ts"])

    answer = bot.reply_in_thread("UANNA", "Ciao Giulia, we're on it: it leaves today.", card["ts"])
    bot.settle()

    [sent] = bot.x.sent_tweets
    assert sent["text"] == "Ciao Giulia, we're on it: it leaves today."
    assert sent["request_json"]["reply"]["in_reply_to_tweet_id"] == latest["id"]
    assert "white_check_mark" in bot.slack.message(answer["ts"], CHANNEL)["reactions"]
    assert "Answered" in card_now(bot, card["ts"])
    bot.settle()
    bot.poll()
    assert len(bot.x.sent_tweets) == 1


def test_unclaimed_writer_becomes_the_owner_and_others_stay_internal(bot: Harness) -> None:
    _, card = open_mention(bot)
    bot.reply_in_thread("UANNA", "Hello! Checking right now.", card["ts"])
    bot.settle()
    assert "claimed by <@UANNA>" in card_now(bot, card["ts"])

    bot.reply_in_thread("UBRUNO", "I think it's the Milan depot", card["ts"])
    bot.settle()
    assert [t["text"] for t in bot.x.sent_tweets] == ["Hello! Checking right now."]
    [told] = bot.ephemerals_for("UBRUNO")
    assert "Kept internal" in told["text"] and "<@UANNA> owns" in told["text"]
    assert blocks.TAKE_OVER in str(told["blocks"])


def test_note_stays_internal_and_the_writer_is_told(bot: Harness) -> None:
    _, card = open_mention(bot)
    bot.reply_in_thread("UANNA", "note: customer called yesterday too", card["ts"])
    bot.settle()
    assert bot.x.sent_tweets == []
    [told] = bot.ephemerals_for("UANNA")
    assert "note:" in told["text"] and "never sent" in told["text"]


def test_public_answer_over_280_characters_is_not_sent_and_the_agent_is_told(bot: Harness) -> None:
    _, card = open_mention(bot)
    long_answer = "x" * 281
    bot.reply_in_thread("UANNA", long_answer, card["ts"])
    bot.settle()
    assert bot.x.sent_tweets == []
    [told] = bot.ephemerals_for("UANNA")
    assert "281 characters" in told["text"] and "280" in told["text"]
    assert long_answer in told["text"]  # nothing lost: the text comes back to copy


def test_dm_answer_is_sent_as_a_dm(bot: Harness) -> None:
    customer = bot.x.add_user("marco_b", "Marco Bianchi")
    bot.x.send_dm("marco_b", "My card was charged twice")
    bot.poll()
    bot.settle()
    [card] = bot.cards()
    bot.reply_in_thread("UCARLA", "Sorry Marco, refund issued: 3-5 days.", card["ts"])
    bot.settle()
    assert bot.x.sent_tweets == []
    [dm] = bot.x.sent_dms
    assert dm["text"] == "Sorry Marco, refund issued: 3-5 days."
    assert customer["id"] in dm["dm_conversation_id"]


def test_move_to_dm_invites_publicly_and_the_dm_continues_in_the_same_thread(bot: Harness) -> None:
    tweet, card = open_mention(bot)
    bot.click("UANNA", blocks.MOVE_TO_DM, "1", card["ts"])
    bot.settle()
    [invite] = bot.x.sent_tweets
    assert invite["request_json"]["reply"]["in_reply_to_tweet_id"] == tweet["id"]
    assert f"recipient_id={bot.x.brand_id}" in invite["text"]

    bot.x.send_dm("giulia_r", "Here is my address: via Roma 1")
    bot.poll()
    bot.settle()
    assert len(bot.cards()) == 1
    thread = bot.slack.thread(card["ts"], CHANNEL)
    assert any("via Roma 1" in str(m["blocks"]) for m in thread)
    assert "Private (DM)" in card_now(bot, card["ts"])

    bot.reply_in_thread("UANNA", "Thanks, updated!", card["ts"])
    bot.settle()
    assert [d["text"] for d in bot.x.sent_dms] == ["Thanks, updated!"]
    bot.click("UANNA", blocks.RESOLVE, "1", card["ts"])
    bot.settle()
    assert "Resolved" in card_now(bot, card["ts"]) and blocks.REOPEN in card_now(bot, card["ts"])


def test_resolved_conversation_reopens_within_a_day_and_starts_anew_later(bot: Harness) -> None:
    _, card = open_mention(bot)
    bot.click("UANNA", blocks.RESOLVE, "1", card["ts"])
    bot.settle()
    assert "*Resolved* by <@UANNA>" in card_now(bot, card["ts"])

    bot.clock.advance(timedelta(hours=2))
    bot.x.post_tweet("giulia_r", "@acmecare it came back damaged")
    bot.poll()
    bot.settle()
    assert len(bot.cards()) == 1
    assert "Open" in card_now(bot, card["ts"])

    bot.click("UANNA", blocks.RESOLVE, "1", card["ts"])
    bot.settle()
    bot.clock.advance(timedelta(hours=25))
    bot.x.post_tweet("giulia_r", "@acmecare new order, new problem")
    bot.poll()
    bot.settle()
    _first, second = bot.cards()
    assert "new order, new problem" in str(second["blocks"])
    assert "Previous conversation" in str(second["blocks"])


def test_the_brands_own_posts_and_dms_are_never_mirrored(bot: Harness) -> None:
    bot.x.post_tweet("acmecare", "@acmecare testing our own mention")
    bot.x.add_user("marco_b", "Marco Bianchi")
    bot.x.send_dm("acmecare", "Hello from the brand", recipient="marco_b")
    bot.poll()
    bot.settle()
    assert bot.cards() == []


def test_resolve_and_reopen_update_the_card(bot: Harness) -> None:
    _, card = open_mention(bot)
    bot.click("UANNA", blocks.RESOLVE, "1", card["ts"])
    bot.settle()
    assert blocks.REOPEN in card_now(bot, card["ts"])
    bot.click("UANNA", blocks.REOPEN, "1", card["ts"])
    bot.settle()
    assert blocks.RESOLVE in card_now(bot, card["ts"]) and "Open" in card_now(bot, card["ts"])


def test_only_members_of_the_support_channel_work_conversations(bot: Harness) -> None:
    _, card = open_mention(bot)
    bot.slack.add_user("UOUTSIDER", "Outsider")
    bot.click("UOUTSIDER", blocks.CLAIM, "1", card["ts"])
    bot.click("UOUTSIDER", blocks.RESOLVE, "1", card["ts"])
    bot.reply_in_thread("UOUTSIDER", "I can answer this one", card["ts"])
    bot.settle()
    assert bot.x.sent_tweets == []
    assert "unclaimed" in card_now(bot, card["ts"]) and "Resolved" not in card_now(bot, card["ts"])
    # Slack cannot show an outsider a private message in a channel they are not in; what they
    # tried is refused and recorded.
    with bot.app.database.transaction() as session:
        refused = [e for e in repo.audit_entries(session, 1) if e.actor == "UOUTSIDER"]
    assert [e.action for e in refused] == ["refused", "refused", "thread_not_member"]


def test_every_action_lands_in_the_audit_log_and_care_audit_shows_it(bot: Harness) -> None:
    _, card = open_mention(bot)
    bot.click("UANNA", blocks.CLAIM, "1", card["ts"])
    bot.reply_in_thread("UANNA", "note: checking", card["ts"])
    bot.reply_in_thread("UANNA", "On it!", card["ts"])
    bot.click("UBRUNO", blocks.TAKE_OVER, "1", card["ts"])
    bot.click("UANNA", blocks.RESOLVE, "1", card["ts"])
    bot.settle()
    link = bot.slack.message(card["ts"], CHANNEL)
    permalink = f"https://sandbox.slack.com/archives/{CHANNEL}/p{card['ts'].replace('.', '')}"
    answer = bot.events.slash_command("UCARLA", "/care", f"audit {permalink}", CHANNEL).text
    for action in ("claim", "thread_note", "thread_answer", "refused", "resolve"):
        assert action in answer, action
    assert "<@UBRUNO>" in answer and link is not None
    assert (
        "Use: `/care audit"
        in bot.events.slash_command("UCARLA", "/care", "audit nope", CHANNEL).text
    )


def test_an_answer_waits_for_slack_to_say_who_is_a_member_instead_of_being_refused(
    bot: Harness,
) -> None:
    tweet, card = open_mention(bot)
    bot.slack.inject("conversations.members", Fault.server_error(503))
    message = bot.slack.post_as_user("UANNA", "On it, sorry for the wait", thread_ts=card["ts"])
    event = bot.events.message_event("UANNA", message["text"], CHANNEL, message["ts"], card["ts"])
    first = bot.events.event(event, event_id="EvANSWER")
    if bot.transport == "http":
        assert first.status_code == 500  # Slack will redeliver; nothing was stored or refused
        bot.settle()
        assert bot.x.sent_tweets == [] and bot.ephemerals_for("UANNA") == []
        again = bot.events.event(event, event_id="EvANSWER", retry_num=1)
        assert again.status_code == 200
    else:  # not acknowledged: Slack sent the envelope again by itself, and that one went through
        assert first.status_code == 200
        [envelope] = bot.slack.socket_mode.envelopes()
        assert envelope.retry_attempt == 1
    bot.settle()
    [sent] = bot.x.sent_tweets
    assert sent["text"].endswith("On it, sorry for the wait")
    assert sent["request_json"]["reply"]["in_reply_to_tweet_id"] == tweet["id"]


def test_the_channel_members_are_renewed_ahead_so_an_answer_never_waits_to_list_them(
    bot: Harness,
) -> None:
    _, card = open_mention(bot)
    bot.reply_in_thread("UANNA", "On it!", card["ts"])  # the first answer lists the members
    bot.settle()
    listed = len(bot.slack.calls("conversations.members"))
    timers = Timers(bot.app.settings, bot.app.services, bot.clock)
    for _ in range(4):  # two minutes of the scheduler's renewals, twice the cache's life
        bot.clock.advance(timedelta(seconds=30))
        timers.refresh_members()
    renewed = len(bot.slack.calls("conversations.members"))
    assert renewed == listed + 4
    bot.reply_in_thread("UANNA", "It is on its way.", card["ts"])
    bot.settle()
    assert len(bot.slack.calls("conversations.members")) == renewed  # answered from the list
    [first, second] = bot.x.sent_tweets
    assert first["text"].endswith("On it!") and second["text"].endswith("It is on its way.")


def test_an_answer_goes_out_while_a_backlog_of_cards_waits_for_slack(bot: Harness) -> None:
    _, card = open_mention(bot)
    for n in range(30):
        bot.x.add_user(f"waiting{n}", f"Waiting {n}")
        bot.x.post_tweet(f"waiting{n}", f"@acmecare question {n}")
    bot.poll()  # 30 cards to post, none posted yet
    bot.click("UANNA", blocks.CLAIM, "1", card["ts"])
    bot.reply_in_thread("UANNA", "Ciao Giulia, it leaves today.", card["ts"])

    # The worker that runs in a thread of its own for what customers wait for.
    answers = bot.app.services.worker.taking(Kinds(only=CUSTOMER_FACING))
    answers.run_due()
    assert [t["text"] for t in bot.x.sent_tweets] == ["Ciao Giulia, it leaves today."]
    assert len(bot.cards()) == 1  # the backlog is left to the other worker

    bot.settle()
    assert len(bot.cards()) == 31
