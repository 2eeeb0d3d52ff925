"""Fetching from X: backfill window, all pages, rate limits that block nothing else."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from bot.clock import ManualClock
from bot.networks.x.emulator import SANDBOX_CREDENTIALS, XEmulator
from bot.sandbox.slack_api import SlackEmulator
from bot.sandbox.world import World, running_world
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


@pytest.fixture
def small_polls(
    tmp_path: Path,
    slack_emulator: SlackEmulator,
    x_emulator: XEmulator,
    database_url: str,
    clock: ManualClock,
) -> Iterator[World]:
    """One X account whose polls read at most two pages of 100."""
    path = tmp_path / "accounts.toml"
    credentials = "\n".join(f'{k} = "{v}"' for k, v in SANDBOX_CREDENTIALS.items())
    path.write_text(
        f'[[accounts]]\nname = "care"\nnetwork = "x"\napi_url = "{x_emulator.url}"\n'
        f"pages_per_poll = 2\n{credentials}\n"
    )
    env = {"ACCOUNTS_FILE": str(path)}
    with running_world(database_url, clock, slack=slack_emulator, x=x_emulator, env=env) as world:
        yield world


def test_a_backlog_longer_than_a_poll_is_fetched_whole_across_polls(small_polls: World) -> None:
    bot = small_polls
    bot.poll()  # the stream has a cursor: what follows is a backlog after an outage
    for n in range(250):
        bot.x.add_user(f"customer{n}", f"Customer {n}")
        bot.x.post_tweet(f"customer{n}", f"@acmecare question number {n}")
    assert bot.poll() == 200  # two pages of 100, the newest
    assert bot.poll() == 50  # the next poll goes on below them: the oldest are not lost
    assert bot.poll() == 0
    bot.x.add_user("late", "Late Customer")
    bot.x.post_tweet("late", "@acmecare one more")
    assert bot.poll() == 1
    bot.settle()
    texts = " ".join(str(card["blocks"]) for card in bot.cards())
    assert all(f"question number {n}'" in texts for n in range(250))


def test_a_dm_backlog_is_fetched_whole_and_a_restart_resumes_it(
    small_polls: World, database_url: str, clock: ManualClock
) -> None:
    bot = small_polls
    bot.poll()
    for n in range(250):
        bot.x.add_user(f"writer{n}", f"Writer {n}")
        bot.x.send_dm(f"writer{n}", f"private question {n}")
    assert bot.poll() == 200
    # A restart in the middle of the backlog: the cursor says where the walk stopped.
    env = {"ACCOUNTS_FILE": bot.app.settings.accounts_file or ""}
    with running_world(database_url, clock, slack=bot.slack, x=bot.x, env=env) as again:
        assert again.poll() == 50
        assert again.poll() == 0
        again.x.send_dm("writer3", "and another thing")
        assert again.poll() == 1


@pytest.mark.parametrize(("interval", "cards_at_once"), [("1s", 1), ("0s", 3)])
def test_posts_to_a_channel_are_paced_by_slack_post_interval(
    slack_emulator: SlackEmulator,
    x_emulator: XEmulator,
    database_url: str,
    clock: ManualClock,
    interval: str,
    cards_at_once: int,
) -> None:
    env = {"SLACK_POST_INTERVAL": interval}
    with running_world(database_url, clock, slack=slack_emulator, x=x_emulator, env=env) as world:
        for n in range(3):
            world.x.add_user(f"cust{n}", f"Customer {n}")
            world.x.post_tweet(f"cust{n}", f"@acmecare question {n}")
        world.poll()
        world.run_due()  # what is due now, the clock standing still
        assert len(world.cards()) == cards_at_once
        world.settle()
        assert len(world.cards()) == 3
