"""Fetching from X: backfill window, all pages, rate limits that block nothing else."""

from __future__ import annotations

from datetime import timedelta

from tests.e2e.conftest import Harness


def test_first_start_backfills_only_the_last_24_hours(bot: Harness) -> None:
    bot.x.add_user("old_timer", "Old Timer")
    bot.x.add_user("recent", "Recent Customer")
    bot.x.add_user("recent_dm", "Recent DM Customer")
    now = bot.clock.now()
    bot.x.post_tweet(
        "old_timer", "@acmecare from two days ago", created_at=now - timedelta(hours=30)
    )
    bot.x.post_tweet("recent", "@acmecare from this morning", created_at=now - timedelta(hours=2))
    bot.x.send_dm("old_timer", "old DM", created_at=now - timedelta(hours=30))
    bot.x.send_dm("recent_dm", "recent DM", created_at=now - timedelta(hours=1))

    assert bot.poll() == 2
    bot.settle()
    texts = " ".join(str(card["blocks"]) for card in bot.cards())
    assert "from this morning" in texts and "recent DM" in texts
    assert "two days ago" not in texts and "old DM" not in texts


def test_every_page_of_mentions_is_fetched(bot: Harness) -> None:
    for n in range(130):
        bot.x.add_user(f"customer{n}", f"Customer {n}")
        bot.x.post_tweet(f"customer{n}", f"@acmecare question number {n}")
    assert bot.poll() == 130
    assert len(bot.x.calls("GET /2/users/:id/mentions")) == 2
    assert bot.poll() == 0  # since_id now covers all of them


def test_a_rate_limited_stream_waits_while_the_other_streams_go_on(bot: Harness) -> None:
    bot.x.add_user("giulia_r", "Giulia Rossi")
    bot.x.post_tweet("giulia_r", "@acmecare public question")
    bot.x.send_dm("giulia_r", "private question")
    bot.x.rate_limit("GET /2/users/:id/mentions", reset_in=300)

    assert bot.poll() == 1  # the DM came through; mentions wait for their reset
    bot.clock.advance(timedelta(seconds=60))
    bot.poll()
    assert len(bot.x.calls("GET /2/users/:id/mentions")) == 1  # no call before the reset
    bot.clock.advance(timedelta(seconds=300))
    assert bot.poll() == 1
