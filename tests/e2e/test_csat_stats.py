"""Satisfaction in the figures, end to end: a known week of surveys on X and Messenger, two
agents and two topics, read back by `/care stats csat`, `/care stats`, the weekly digest (text
and chart) and `carebridge stats`."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any

import pytest

from bot.clock import ManualClock
from bot.networks.facebook.emulator import GraphEmulator
from bot.networks.x.emulator import XEmulator
from bot.sandbox.slack_api import SlackEmulator
from bot.sandbox.world import CHANNEL, World, running_world
from bot.slack import blocks
from tests.e2e.conftest import MONDAY_10

DELAY = timedelta(minutes=10)  # CSAT_DELAY's default
ROME = {"TIMEZONE": "Europe/Rome"}


def make_world(
    slack: SlackEmulator, x: XEmulator, database_url: str, transport: str
) -> Iterator[World]:
    clock = ManualClock(MONDAY_10)
    slack.clock = x.clock = clock.timestamp
    with (
        GraphEmulator(clock=clock.timestamp) as meta,
        running_world(
            database_url, clock, slack=slack, x=x, meta=meta, env=ROME, transport=transport
        ) as world,
    ):
        meta.add_user("7001", "Elena", "Conti")
        yield world


@pytest.fixture
def world(slack_emulator, x_emulator, database_url, transport) -> Iterator[World]:
    yield from make_world(slack_emulator, x_emulator, database_url, transport)


@pytest.fixture
def http_world(slack_emulator, x_emulator, database_url) -> Iterator[World]:
    """For what does not depend on how Slack reaches the bot (the command line)."""
    yield from make_world(slack_emulator, x_emulator, database_url, "http")


def serve(world: World, card: Callable[[], dict[str, Any]], agent: str, topic: str) -> None:
    """`agent` picks the topic (none: ""), claims, answers and resolves."""
    if topic:
        world.choose(agent, blocks.SET_TOPIC, card(), topic)
        world.settle()
    world.press(agent, blocks.CLAIM, card())
    world.reply_in_thread(agent, "Fatto, tutto sistemato.", str(card()["ts"]))
    world.settle()
    world.deliver()  # the answer's echo, for the Messenger customer
    world.press(agent, blocks.RESOLVE, card())
    world.settle()


def a_known_week(world: World) -> None:
    """Monday 23 November 2026, five surveys asked, four answered:

    giulia (X)        Anna   refund     4
    marco (X)         Anna   delivery   5
    sara (X)          Bruno  refund     2
    luca (X)          Bruno  no topic   (asked, never answered)
    Elena (Messenger) Bruno  delivery   5

    Team: 4 of 5 answered (80%), average 4.0, 75% gave 4 or 5, scores 0 1 0 1 2. And one
    public conversation, resolved but never asked (CSAT=private): it counts nowhere.
    """
    meta = world.meta
    assert meta is not None
    for handle, text, name in (
        ("giulia", "Ciao, il rimborso?", "Giulia Rossi"),
        ("marco", "Il pacco non arriva", "Marco Bianchi"),
        ("sara", "Volevo il rimborso", "Sara Verdi"),
        ("luca", "Ciao, una domanda", "Luca Neri"),
    ):
        world.direct_message(handle, text, name)
    meta.message("7001", "Buongiorno, il pacco è in ritardo")
    world.deliver()
    world.mention("pubblico", "servizio lento", "Paolo Pubblico")
    for handle, agent, topic in (
        ("giulia", "UANNA", "refund"),
        ("marco", "UANNA", "delivery"),
        ("sara", "UBRUNO", "refund"),
        ("luca", "UBRUNO", ""),
        ("pubblico", "UANNA", "delivery"),
    ):
        serve(world, lambda handle=handle: world.card_of(handle), agent, topic)
    serve(world, lambda: world.card_named("Elena Conti"), "UBRUNO", "delivery")
    world.advance(DELAY)
    assert world.ask_surveys() == 5
    world.advance(timedelta(minutes=3))
    world.direct_message("giulia", "4")
    world.direct_message("marco", "5 grazie")
    world.direct_message("sara", "2")
    meta.tap_quick_reply("7001", "csat:5")
    world.deliver()


def test_care_stats_csat_shows_the_team_and_each_agent_topic_and_network(world: World) -> None:
    a_known_week(world)
    shown = world.care("UCARLA", "stats csat 7d")
    assert "*Satisfaction (CSAT) · 7d*" in shown
    assert ":star: *4.0* average · *75%* gave 4 or 5 · 4 of 5 answered (80% response rate)" in shown
    assert "Scores 1 to 5: `▁▅▁▅█` 0 · 1 · 0 · 1 · 2" in shown
    # Per agent, most answers first (Bruno was asked more).
    assert "• <@UBRUNO>: :star: 3.5 · 50% gave 4 or 5 · 2 of 3 answered (67%) · `▁█▁▁█`" in shown
    assert "• <@UANNA>: :star: 4.5 · 100% gave 4 or 5 · 2 of 2 answered (100%)" in shown
    assert shown.index("<@UBRUNO>: :star:") < shown.index("<@UANNA>: :star:")
    assert "• *delivery*: :star: 5.0 · 100% gave 4 or 5 · 2 of 2 answered (100%)" in shown
    assert "• *refund*: :star: 3.0 · 50% gave 4 or 5 · 2 of 2 answered (100%)" in shown
    assert "• _no topic_: no answer · 0 of 1 answered (0%)" in shown
    assert "• X: :star: 3.7 · 67% gave 4 or 5 · 3 of 4 answered (75%)" in shown
    assert "• Facebook: :star: 5.0 · 100% gave 4 or 5 · 1 of 1 answered (100%)" in shown

    one_account = world.care("UCARLA", "stats csat 7d facebook")
    assert "*Satisfaction (CSAT) · 7d · facebook*" in one_account
    assert "1 of 1 answered (100% response rate)" in one_account
    assert "<@UANNA>" not in one_account and "• X:" not in one_account
    assert "'soon' is not a period" in world.care("UCARLA", "stats csat soon")
    assert "no account 'nope'" in world.care("UCARLA", "stats csat 7d nope")

    world.advance(timedelta(days=8))  # a week later, nobody was asked in the last 7 days
    assert "no satisfaction survey was asked" in world.care("UCARLA", "stats csat 7d")
    assert "4 of 5 answered" in world.care("UCARLA", "stats csat 30d")  # the default period too
    assert "4 of 5 answered" in world.care("UCARLA", "stats csat")


def test_care_stats_has_a_compact_satisfaction_section(world: World) -> None:
    a_known_week(world)
    shown = world.care("UCARLA", "stats 7d")
    assert "Carebridge stats · 7d" in shown
    assert (
        "*Satisfaction (CSAT)* · :star: *4.0* average · *75%* gave 4 or 5 · 4 of 5 answered "
        "(80% response rate)" in shown
    )
    assert "Agents (average, answers): <@UBRUNO> 3.5 (2) · <@UANNA> 4.5 (2)" in shown
    # Only what had an answer: not the conversation without a topic.
    assert "Topics (average, answers): *delivery* 5.0 (2) · *refund* 3.0 (2)\\n" in shown
    assert "Networks (average, answers): X 3.7 (3) · Facebook 5.0 (1)" in shown
    assert "`/care stats csat` shows all of it." in shown
    assert "/care stats csat [7d|30d]" in world.care("UCARLA", "help")


def test_the_weekly_digest_has_the_satisfaction_figures_and_chart(world: World) -> None:
    a_known_week(world)
    world.clock.advance(MONDAY_10 + timedelta(days=7, hours=-1) - world.clock.now())
    world.app.services.stats.enqueue_digest()
    world.settle()

    [digest] = [m for m in world.slack.messages(CHANNEL) if "week of" in m["text"]]
    assert digest["text"].endswith("; CSAT 4.0 (75% gave 4 or 5), 4 of 5 answered (80%)")
    [satisfaction] = [
        b["text"]["text"]
        for b in digest["blocks"]
        if b["type"] == "section" and "text" in b and "*Satisfaction*" in b["text"]["text"]
    ]
    assert satisfaction.splitlines() == [
        "*Satisfaction* · :star: *4.0* average · *75%* gave 4 or 5 · 4 of 5 answered "
        "(80% response rate)",
        "Scores 1 to 5: `▁▅▁▅█` 0 · 1 · 0 · 1 · 2",
        "Agents (average, answers): <@UBRUNO> 3.5 (2) · <@UANNA> 4.5 (2)",
        "Topics (average, answers): *delivery* 5.0 (2) · *refund* 3.0 (2)",
        "Networks (average, answers): X 3.7 (3) · Facebook 5.0 (1)",
    ]
    [chart] = world.slack.uploaded_files
    assert chart["bytes"].startswith(b"\x89PNG") and chart["thread_ts"] == digest["ts"]
    assert "satisfaction scores" in chart["title"]


def test_a_week_without_surveys_says_nothing_of_satisfaction(world: World) -> None:
    world.mention("pubblico", "servizio lento", "Paolo Pubblico")
    serve(world, lambda: world.card_of("pubblico"), "UANNA", "")  # public: skipped, not asked
    world.advance(DELAY)
    assert world.ask_surveys() == 0
    assert "Satisfaction" not in world.care("UCARLA", "stats 7d")
    assert "no satisfaction survey was asked" in world.care("UCARLA", "stats csat 7d")
    world.clock.advance(MONDAY_10 + timedelta(days=7, hours=-1) - world.clock.now())
    world.app.services.stats.enqueue_digest()
    world.settle()
    [digest] = [m for m in world.slack.messages(CHANNEL) if "week of" in m["text"]]
    assert "CSAT" not in digest["text"] and "Satisfaction" not in str(digest["blocks"])
    [chart] = world.slack.uploaded_files
    assert "satisfaction" not in chart["title"]


def test_carebridge_stats_prints_the_satisfaction_table(http_world: World) -> None:
    a_known_week(http_world)
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "X_", "META_"))},
        "DATABASE_URL": http_world.app.settings.database_url,
        **ROME,
        "COLUMNS": "120",
    }
    # The real clock is used: ask for a window wide enough to hold the test's week.
    command = [sys.executable, "-m", "bot", "stats", "--since", "3650d"]
    result = subprocess.run(command, env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    rows = {
        line.split("│")[1].strip(): [cell.strip() for cell in line.split("│")[2:-1]]
        for line in result.stdout.splitlines()
        if line.count("│") > 2
    }
    assert "Satisfaction (CSAT)" in result.stdout
    assert rows["Team"] == ["4 of 5 (80%)", "4.0", "75%", "▁▅▁▅█ 0 1 0 1 2"]
    assert rows["agent UBRUNO"] == ["2 of 3 (67%)", "3.5", "50%", "▁█▁▁█ 0 1 0 0 1"]
    assert rows["topic (no topic)"] == ["0 of 1 (0%)", "—", "—", "▁▁▁▁▁ 0 0 0 0 0"]
    assert rows["network Facebook"][:3] == ["1 of 1 (100%)", "5.0", "100%"]

    one = subprocess.run(
        [*command, "--account", "x"], env=env, capture_output=True, text=True, timeout=60
    )
    assert "3 of 4 (75%)" in one.stdout and "network Facebook" not in one.stdout
