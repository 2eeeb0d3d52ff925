"""Failures at the edges: rate limits, server errors, restarts, bad requests."""

from __future__ import annotations

import itertools
import json
from datetime import timedelta

import pytest
from slack_bolt.error import BoltError
from sqlalchemy import func, select

from bot.sandbox.loopback import Fault
from bot.sandbox.world import running_world
from bot.services import outbox
from bot.services.delivery import DeliverToCustomer
from bot.services.worker import Job
from bot.slack import blocks
from storage.models import OutboxJob
from tests.e2e.conftest import CHANNEL, Harness


def claimed_mention(bot: Harness) -> dict:
    bot.mention("giulia_r", "help", "Giulia Rossi")
    [card] = bot.cards()
    bot.click("UANNA", blocks.CLAIM, "1", card["ts"])
    bot.settle()
    return card


def test_x_rate_limit_waits_for_the_reset_then_delivers_once(bot: Harness) -> None:
    card = claimed_mention(bot)
    bot.x.rate_limit("POST /2/tweets", reset_in=120)
    bot.reply_in_thread("UANNA", "On it!", card["ts"])

    bot.run_due()
    assert bot.x.sent_tweets == []  # refused with 429: nothing sent yet, nothing lost
    bot.clock.advance(timedelta(seconds=60))
    bot.run_due()
    assert bot.x.sent_tweets == []  # still before x-rate-limit-reset: no new attempt
    assert len(bot.x.calls("POST /2/tweets")) == 1

    bot.settle()
    assert [t["text"] for t in bot.x.sent_tweets] == ["On it!"]
    assert len(bot.x.calls("POST /2/tweets")) == 2


def test_slack_rate_limit_honours_retry_after_then_posts_once(bot: Harness) -> None:
    bot.slack.rate_limit("chat.postMessage", retry_after=30)
    bot.x.add_user("giulia_r", "Giulia Rossi")
    bot.x.post_tweet("giulia_r", "@acmecare help")
    bot.poll()

    bot.run_due()
    assert bot.cards() == []
    bot.clock.advance(timedelta(seconds=29))
    bot.run_due()
    assert bot.cards() == []
    bot.settle()
    assert len(bot.cards()) == 1
    assert len(bot.slack.calls("chat.postMessage")) == 2


def test_posts_to_the_channel_are_paced_to_one_per_second(bot: Harness) -> None:
    for n in range(5):
        bot.x.add_user(f"customer{n}", f"Customer {n}")
        bot.x.post_tweet(f"customer{n}", f"@acmecare question {n}")
    bot.poll()
    start = bot.clock.now()
    bot.settle()
    posted = [r.received_at for r in bot.slack.requests if r.path.endswith("chat.postMessage")]
    assert len(posted) == 5
    gaps = [b - a for a, b in itertools.pairwise(posted)]
    assert all(gap >= 1.0 for gap in gaps), gaps
    assert bot.clock.now() - start >= timedelta(seconds=4)


def test_x_server_errors_are_retried_then_reported_in_the_thread_with_retry(bot: Harness) -> None:
    card = claimed_mention(bot)
    attempts = DeliverToCustomer.max_attempts
    bot.x.inject("POST /2/tweets", Fault.server_error(503), times=attempts)
    answer = bot.reply_in_thread("UANNA", "Refund on its way", card["ts"])
    bot.settle()

    assert bot.x.sent_tweets == [] and len(bot.x.calls("POST /2/tweets")) == attempts
    assert "warning" in bot.slack.message(answer["ts"], CHANNEL)["reactions"]
    [failure] = [m for m in bot.slack.thread(card["ts"], CHANNEL) if "Not delivered" in m["text"]]
    assert "503" in failure["text"] and blocks.RETRY in str(failure["blocks"])

    retry_value = failure["blocks"][-1]["elements"][0]["value"]
    bot.click("UANNA", blocks.RETRY, retry_value, failure["ts"])
    bot.settle()
    assert [t["text"] for t in bot.x.sent_tweets] == ["Refund on its way"]


def test_a_transient_x_error_is_retried_with_backoff(bot: Harness) -> None:
    card = claimed_mention(bot)
    bot.x.inject("POST /2/tweets", Fault.connection_reset(), times=2)
    bot.reply_in_thread("UANNA", "Looking into it", card["ts"])
    bot.settle()
    assert [t["text"] for t in bot.x.sent_tweets] == ["Looking into it"]


def test_restart_neither_loses_nor_repeats(bot: Harness) -> None:
    bot.x.add_user("giulia_r", "Giulia Rossi")
    bot.x.post_tweet("giulia_r", "@acmecare first")
    bot.x.send_dm("giulia_r", "and a DM")
    bot.poll()
    bot.settle()
    bot.app.close()

    bot.x.post_tweet("giulia_r", "@acmecare written while the bot was down")
    with running_world(
        bot.app.settings.database_url, bot.clock, slack=bot.slack, x=bot.x
    ) as restarted:
        restarted.poll()
        restarted.settle()
        restarted.poll()
        restarted.settle()

        [card] = restarted.cards()
        thread = [str(m["blocks"]) for m in restarted.slack.thread(card["ts"], CHANNEL)]
        assert sum("and a DM" in t for t in thread) == 1
        assert sum("written while the bot was down" in t for t in thread) == 1
        mentions = restarted.x.calls("GET /2/users/:id/mentions")
        assert mentions[-1].query.get("since_id")  # the cursor survived the restart


def test_a_retried_slack_event_is_handled_once(bot: Harness) -> None:
    card = claimed_mention(bot)
    message = bot.slack.post_as_user(
        "UANNA", "Sent you a fix", thread_ts=card["ts"], channel=CHANNEL
    )
    event = {
        "type": "message",
        "user": "UANNA",
        "text": "Sent you a fix",
        "channel": CHANNEL,
        "channel_type": "channel",
        "ts": message["ts"],
        "thread_ts": card["ts"],
        "event_ts": message["ts"],
    }
    assert bot.events.event(event, event_id="Ev1").status_code == 200
    assert bot.events.event(event, event_id="Ev1", retry_num=1).status_code == 200
    bot.settle()
    assert [t["text"] for t in bot.x.sent_tweets] == ["Sent you a fix"]


def test_unsigned_or_forged_requests_get_401_and_change_nothing(bot: Harness) -> None:
    card = claimed_mention(bot)
    body = json.dumps({"type": "event_callback", "event": {"type": "message"}}).encode()
    assert bot.events.unsigned(body).status_code == 401
    headers = bot.events.signature_headers(body)
    headers["X-Slack-Signature"] = "v0=" + "0" * 64
    assert bot.events.post_raw(body, headers).status_code == 401
    bot.settle()
    assert bot.x.sent_tweets == [] and bot.slack.thread(card["ts"], CHANNEL) == []


def test_health_endpoint_reports_the_database(bot: Harness) -> None:
    import requests

    url = f"{bot.base_url}/healthz"
    response = requests.get(url, timeout=5)
    assert response.status_code == 200 and response.json()["database"] == "ok"
    assert requests.get(bot.events.url, timeout=5).status_code == 405


def test_a_post_whose_answer_was_lost_is_found_not_posted_again(bot: Harness) -> None:
    bot.slack.inject("chat.postMessage", Fault.connection_reset(after=True))
    bot.x.add_user("giulia_r", "Giulia Rossi")
    bot.x.post_tweet("giulia_r", "@acmecare hello?")
    bot.poll()
    bot.settle()
    [card] = bot.cards()  # Slack stored the first attempt; the retry found it by its key
    assert len(bot.slack.calls("chat.postMessage")) == 1
    bot.x.post_tweet("giulia_r", "@acmecare anyone?")
    bot.poll()
    bot.settle()
    assert len(bot.slack.thread(card["ts"], CHANNEL)) == 1  # and the thread is still found


def test_a_thread_post_whose_answer_was_lost_is_not_doubled(bot: Harness) -> None:
    card = claimed_mention(bot)
    bot.slack.inject("chat.postMessage", Fault.connection_reset(after=True))
    bot.click("UCARLA", blocks.TAKE_OVER, "1", card["ts"])
    bot.settle()
    [notice] = bot.slack.thread(card["ts"], CHANNEL)
    assert "took over" in notice["text"]


def test_an_answer_whose_response_was_lost_is_found_on_x_not_sent_again(bot: Harness) -> None:
    card = claimed_mention(bot)
    bot.x.inject("POST /2/tweets", Fault.connection_reset(after=True))  # X posted it; we never knew
    answer = bot.reply_in_thread("UANNA", "Refund approved today", card["ts"])
    bot.settle()
    assert [t["text"] for t in bot.x.sent_tweets] == ["Refund approved today"]
    assert len(bot.x.calls("POST /2/tweets")) == 1  # the retry found it instead of posting
    assert "white_check_mark" in bot.slack.message(answer["ts"], CHANNEL)["reactions"]


def test_a_reaction_whose_response_was_lost_counts_as_done_when_slack_says_already_reacted(
    bot: Harness,
) -> None:
    card = claimed_mention(bot)
    bot.slack.inject("reactions.add", Fault.server_error(502, after=True))  # added; we never knew
    answer = bot.reply_in_thread("UANNA", "Refund approved today", card["ts"])
    bot.settle()
    assert len(bot.slack.calls("reactions.add")) == 2  # the retry heard "already_reacted"
    assert bot.slack.message(answer["ts"], CHANNEL)["reactions"] == ["white_check_mark"]
    with bot.app.database.transaction() as session:
        failed = session.scalars(select(OutboxJob).where(OutboxJob.status == "failed")).all()
    assert failed == []


def test_a_dm_whose_response_was_lost_is_found_not_sent_again(bot: Harness) -> None:
    bot.direct_message("marco_b", "charged twice", "Marco")
    [card] = bot.cards()
    route = "POST /2/dm_conversations/with/:participant_id/messages"
    bot.x.inject(route, Fault.connection_reset(after=True))
    bot.reply_in_thread("UANNA", "Refund on its way", card["ts"])
    bot.settle()
    assert [d["text"] for d in bot.x.sent_dms] == ["Refund on its way"]


def test_a_network_failing_for_five_minutes_is_reported_once_then_its_recovery(
    bot: Harness,
) -> None:
    import requests

    health_url = f"{bot.base_url}/healthz"
    bot.poll()
    channel = requests.get(health_url, timeout=5).json()["accounts"]["x"]
    assert channel["failing_since"] is None and channel["last_poll_age_seconds"] == 0

    bot.x.inject("GET /2/users/:id/mentions", Fault.server_error(503), times=8)
    for _ in range(8):  # a poll a minute, failing for eight minutes
        bot.poll()
        bot.settle()
        bot.clock.advance(timedelta(minutes=1))
    warnings = [m["text"] for m in bot.slack.messages(CHANNEL) if "failing since" in m["text"]]
    assert len(warnings) == 1 and warnings[0].startswith(":warning: X has been failing since")
    failing = requests.get(health_url, timeout=5).json()
    assert failing["ok"] is True and failing["accounts"]["x"]["failing_since"] is not None
    assert failing["accounts"]["x"]["last_poll_age_seconds"] >= 8 * 60

    bot.poll()
    bot.settle()
    bot.poll()
    bot.settle()
    recovered = [
        m["text"]
        for m in bot.slack.messages(CHANNEL)
        if m["text"].startswith(":white_check_mark: X is back")
    ]
    assert len(recovered) == 1 and "failing for 8 min" in recovered[0]
    assert requests.get(health_url, timeout=5).json()["accounts"]["x"]["failing_since"] is None


def test_an_answer_in_a_card_whose_post_is_unconfirmed_waits_for_it_instead_of_vanishing(
    bot: Harness,
) -> None:
    bot.x.add_user("giulia_r", "Giulia Rossi")
    tweet = bot.x.post_tweet("giulia_r", "@acmecare where is my parcel?")
    bot.slack.inject("chat.postMessage", Fault.connection_reset(after=True))  # posted; unknown
    bot.poll()
    bot.run_due()
    [card] = bot.cards()  # the agents see the card: Slack has it, the bot does not know yet
    message = bot.slack.post_as_user("UANNA", "Found it, arriving today", thread_ts=card["ts"])
    event = bot.events.message_event("UANNA", message["text"], CHANNEL, message["ts"], card["ts"])
    assert bot.events.event(event, event_id="EvEARLY").status_code == 500  # Slack redelivers
    bot.settle()  # the card's post is retried: found by its key, recorded
    assert bot.events.event(event, event_id="EvEARLY", retry_num=1).status_code == 200
    bot.settle()
    [sent] = bot.x.sent_tweets
    assert sent["text"] == "Found it, arriving today"
    assert sent["request_json"]["reply"]["in_reply_to_tweet_id"] == tweet["id"]
    assert len(bot.cards()) == 1


def test_a_thread_in_another_channel_is_not_kept_waiting_for_a_card_post_elsewhere(
    bot: Harness,
) -> None:
    bot.slack.add_channel("C0OTHER", members=["UANNA"])
    bot.x.add_user("giulia_r", "Giulia Rossi")
    bot.x.post_tweet("giulia_r", "@acmecare where is my parcel?")
    bot.slack.inject("chat.postMessage", Fault.connection_reset(after=True))  # posted; unknown
    bot.poll()
    bot.run_due()
    # A chat among agents in a thread of another channel: no card of this channel is pending,
    # so it cannot be one, and Slack must not be asked to redeliver it.
    root = bot.slack.post_as_user("UANNA", "lunch?", channel="C0OTHER")
    reply = bot.slack.post_as_user("UANNA", "12:30", thread_ts=root["ts"], channel="C0OTHER")
    event = bot.events.message_event("UANNA", "12:30", "C0OTHER", reply["ts"], root["ts"])
    assert bot.events.event(event, event_id="EvOTHER").status_code == 200
    # Nor is Slack asked who is in that channel: the thread is no conversation, that is all.
    assert not [c for c in bot.slack.calls("conversations.members") if c["channel"] == "C0OTHER"]


def test_a_slack_hiccup_as_the_bot_starts_is_retried_a_refused_token_is_not(
    slack_emulator, x_emulator, database_url, clock, monkeypatch
) -> None:
    pauses: list[float] = []
    monkeypatch.setattr("bot.app._pause", pauses.append)
    slack_emulator.inject("auth.test", Fault.server_error(503), times=2)
    slack_emulator.inject("auth.test", Fault.connection_reset())
    with running_world(database_url, clock, slack=slack_emulator, x=x_emulator) as world:
        world.mention("giulia_r", "hello?")
        assert len(world.cards()) == 1
    assert pauses == [2, 4, 8]

    pauses.clear()
    refused = Fault(status=200, body={"ok": False, "error": "invalid_auth"})
    slack_emulator.inject("auth.test", refused)
    with (
        pytest.raises(BoltError, match="invalid_auth"),
        running_world(database_url, clock, slack=slack_emulator, x=x_emulator),
    ):
        pass
    assert pauses == []


def test_a_replica_that_never_polled_learns_the_brand_account_before_replying(
    slack_emulator, x_emulator, database_url, clock
) -> None:
    agents = {"UANNA": "Anna"}
    with running_world(database_url, clock, slack=slack_emulator, x=x_emulator, agents=agents) as w:
        card = claimed_mention(w)
    # Another process, which has not polled yet, so it does not know the brand account; X rate
    # limits that lookup. Posting first and asking after would hide a sent reply and send twice.
    x_emulator.rate_limit("GET /2/users/me", reset_in=5)
    with running_world(database_url, clock, slack=slack_emulator, x=x_emulator) as replica:
        answer = replica.reply_in_thread("UANNA", "On its way", card["ts"])
        replica.settle()
    assert [t["text"] for t in x_emulator.sent_tweets] == ["On its way"]
    assert "white_check_mark" in slack_emulator.message(answer["ts"], CHANNEL)["reactions"]


def test_results_of_a_slow_batch_are_recorded_before_their_leases_could_run_out(
    slack_emulator, x_emulator, database_url, clock
) -> None:
    env = {"SLACK_POST_INTERVAL": "0s"}  # three cards in one leased batch
    with running_world(database_url, clock, slack=slack_emulator, x=x_emulator, env=env) as world:
        for n in range(3):
            world.x.add_user(f"customer{n}", f"Customer {n}")
            world.x.post_tweet(f"customer{n}", f"@acmecare question {n}")
        world.poll()
        worker = world.app.services.worker
        handler = worker.handlers[outbox.POST_CARD]
        perform, done_before = handler.perform, []

        def slow_slack(job: Job) -> dict | None:
            with world.app.database.reading() as session:
                done_before.append(
                    session.scalar(select(func.count()).where(OutboxJob.status == "done"))
                )
            result = perform(job)
            clock.advance(worker.lease / 3 + timedelta(seconds=1))  # each post this slow
            return result

        handler.perform = slow_slack  # type: ignore[method-assign]
        world.run_due()
        # Each card's result was recorded before the next post began: none waited for the
        # batch's end while its lease ran out.
        assert done_before == [0, 1, 2]
        assert len(world.cards()) == 3
