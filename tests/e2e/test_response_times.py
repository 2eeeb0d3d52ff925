"""Response-time targets end to end: warnings, breaches, escalations, exactly once, on time."""

from __future__ import annotations

import threading
from contextlib import AbstractContextManager
from datetime import timedelta

from sqlalchemy import select

from bot.clock import ManualClock
from bot.networks.x.emulator import XEmulator
from bot.sandbox.slack_api import SlackEmulator
from bot.sandbox.world import CHANNEL, World, running_world
from bot.slack import blocks
from storage.models import Alert
from tests.e2e.conftest import MONDAY_10, ROME_OFFICE, channel_posts


def another_bot(office: World) -> AbstractContextManager[World]:
    """A second bot process on the same database and emulators: a restart, or a replica."""
    return running_world(
        office.app.settings.database_url,
        office.clock,
        slack=office.slack,
        x=office.x,
        env=ROME_OFFICE,
        transport=office.transport,
    )


def thread_texts(world: World, card: dict) -> list[str]:
    return [m["text"] for m in world.slack.thread(card["ts"], CHANNEL)]


def card_text(world: World, card: dict) -> str:
    return str(world.slack.message(card["ts"], CHANNEL)["blocks"])


def alerts(world: World) -> list[tuple[str, bool]]:
    with world.app.database.transaction() as session:
        return [(a.kind, a.late) for a in session.scalars(select(Alert).order_by(Alert.id))]


def test_warning_then_answer_before_the_deadline_means_no_breach(office: World) -> None:
    office.mention("giulia_r", "parcel stuck", "Giulia Rossi")
    card = office.card_of("giulia_r")
    assert "first answer due 11:00, in 1 h 00 min" in card_text(office, card)
    office.press("UANNA", blocks.CLAIM, card)
    office.settle()

    office.advance(timedelta(minutes=49))
    assert thread_texts(office, card) == []
    office.advance(timedelta(minutes=1, seconds=1))
    [warning] = thread_texts(office, card)
    assert warning.startswith(":alarm_clock: <@UANNA> first answer due at 11:00, in 10 min")

    office.reply_in_thread("UANNA", "Ciao Giulia, ci pensiamo noi!", card["ts"])
    office.settle()
    office.advance(timedelta(hours=2))
    assert alerts(office) == [("warning", False)]
    assert channel_posts(office) == []
    assert "due" not in card_text(office, card)  # the clock stopped: no deadline on the card


def test_breach_goes_to_the_channel_with_on_call_and_escalates_once(office: World) -> None:
    office.events.slash_command("UANNA", "/care", "oncall set <@UCARLA|carla> daily 09:00", CHANNEL)
    office.mention("tom_h", "box crushed", "Tom Harris")
    card = office.card_of("tom_h")

    office.advance(timedelta(minutes=51))
    [warning] = thread_texts(office, card)
    assert "<@UCARLA>" in warning  # unclaimed: the on-call agent is warned

    office.advance(timedelta(minutes=10))
    [breach] = channel_posts(office)
    assert breach.startswith(":rotating_light: Target missed: first answer was due at 11:00")
    assert "<@UCARLA>" in breach and "<!subteam^S0LEADS>" in breach
    assert "@tom_h's conversation" in breach
    assert "*Breached*: first answer was due 11:00" in card_text(office, card)

    office.advance(timedelta(minutes=30))
    breach, escalation = channel_posts(office)
    assert escalation.startswith(":rotating_light: Still unanswered")
    office.advance(timedelta(hours=3))
    assert [kind for kind, _ in alerts(office)] == ["warning", "breach", "escalation"]
    assert len(channel_posts(office)) == 2


def test_a_message_at_1755_is_due_at_0955_on_the_next_open_day(office: World) -> None:
    office.clock.advance(timedelta(hours=7, minutes=55))  # Monday 17:55 in Rome
    office.mention("late_writer", "still there?")
    assert "first answer due Tue 09:55" in card_text(office, office.card_of("late_writer"))


def test_holidays_are_skipped(
    slack_emulator: SlackEmulator, x_emulator: XEmulator, database_url: str
) -> None:
    clock = ManualClock(MONDAY_10 + timedelta(hours=7, minutes=55))
    slack_emulator.clock = x_emulator.clock = clock.timestamp
    env = {**ROME_OFFICE, "HOLIDAYS": "2026-11-24"}
    with running_world(database_url, clock, slack=slack_emulator, x=x_emulator, env=env) as world:
        world.mention("late_writer", "still there?")
        assert "first answer due Wed 09:55" in card_text(world, world.card_of("late_writer"))


def test_a_note_does_not_stop_the_clock_an_answer_does_and_a_follow_up_restarts_it(
    office: World,
) -> None:
    office.mention("giulia_r", "parcel stuck")
    card = office.card_of("giulia_r")
    office.reply_in_thread("UANNA", "note: checking with the courier", card["ts"])
    office.settle()
    assert "first answer due 11:00" in card_text(office, card)

    office.reply_in_thread("UANNA", "Ciao! Riparte oggi.", card["ts"])
    office.settle()
    assert "due" not in card_text(office, card)

    office.advance(timedelta(minutes=5))
    office.mention("giulia_r", "grazie, e il numero di tracking?")
    assert "answer to the follow-up due 10:35" in card_text(office, card)
    office.press("UANNA", blocks.RESOLVE, office.slack.message(card["ts"], CHANNEL))
    office.settle()
    office.advance(timedelta(hours=2))
    assert alerts(office) == []  # resolve stopped everything


def test_a_restart_between_warning_and_breach_fires_each_once(office: World) -> None:
    office.mention("tom_h", "box crushed")
    card = office.card_of("tom_h")
    office.advance(timedelta(minutes=52))
    office.app.close()

    with another_bot(office) as restarted:
        restarted.sweep()  # what the timer does at start
        restarted.advance(timedelta(minutes=10))
        assert [kind for kind, _ in alerts(restarted)] == ["warning", "breach"]
        assert len(thread_texts(restarted, card)) == 1
        assert len(channel_posts(restarted)) == 1


def test_a_deadline_passed_while_down_fires_once_at_start_marked_late(office: World) -> None:
    office.mention("tom_h", "box crushed")
    office.app.close()
    office.clock.advance(timedelta(hours=2))  # the bot was down from 10:00 to 12:00

    with another_bot(office) as restarted:
        assert restarted.sweep() == 1
        assert alerts(restarted) == [("escalation", True)]  # the most advanced one, once
        [post] = channel_posts(restarted)
        assert "late: Carebridge was not running then" in post
        assert thread_texts(restarted, restarted.card_of("tom_h")) == []  # no stale warning


def test_two_sweepers_at_once_fire_one_alert(office: World) -> None:
    office.mention("tom_h", "box crushed")
    with another_bot(office) as replica:
        office.clock.advance(timedelta(minutes=61))
        start = threading.Barrier(2)
        fired: list[int] = []

        def sweep(world: World) -> None:
            start.wait()
            fired.append(world.app.services.sweeper.sweep())

        threads = [threading.Thread(target=sweep, args=(w,)) for w in (office, replica)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        office.settle()
        replica.settle()
        assert sorted(fired) == [0, 1]
        assert alerts(office) == [("breach", False)]
        assert len(channel_posts(office)) == 1
