"""On-call from Slack, KPIs on a known morning, and the weekly digest."""

from __future__ import annotations

import csv
import io
import os
import subprocess
import sys
from datetime import timedelta

from bot.sandbox.world import CHANNEL, World, running_world
from bot.slack import blocks
from tests.e2e.conftest import ROME_OFFICE, channel_posts


def care(world: World, user: str, text: str) -> str:
    return world.care(user, text)


def test_oncall_from_slack_with_clear_errors(office: World) -> None:
    assert "Nobody is on call" in care(office, "UANNA", "oncall")
    answer = care(office, "UANNA", "oncall set <@UANNA|anna> <@UBRUNO|bruno> weekly mon 09:00")
    assert "On call now: <@UANNA>" in answer and "next: <@UBRUNO>" in answer
    assert "until Mon 09:00" in answer

    wrong = care(office, "UANNA", "oncall set <@UANNA> weekly funday 09:00")
    assert (
        "'funday' is not a weekday" in wrong and "/care oncall set @a @b weekly mon 09:00" in wrong
    )
    plain = care(office, "UANNA", "oncall override @carla 4h")
    assert "@-autocomplete" in plain

    assert "On call now: <@UCARLA> (override)" in care(
        office, "UANNA", "oncall override <@UCARLA|carla> 4h"
    )
    office.advance(timedelta(hours=4, minutes=1))
    assert "On call now: <@UANNA>" in care(office, "UBRUNO", "oncall")


def test_each_handoff_is_announced_once_in_the_channel(office: World) -> None:
    care(office, "UANNA", "oncall set <@UANNA> <@UBRUNO> daily 09:00")
    oncall = office.app.services.oncall
    handoff = oncall.next_handoff()
    assert handoff is not None
    office.clock.advance(handoff - office.clock.now())  # Tuesday 09:00 in Rome
    oncall.announce_handoff(handoff)
    oncall.announce_handoff(handoff)  # a second process, or a restart: same handoff
    office.settle()
    [announcement] = channel_posts(office)
    assert announcement.startswith(":bell: On call now: <@UBRUNO>")
    assert oncall.next_handoff() == handoff + timedelta(days=1)


def test_kpis_of_a_known_morning(office: World) -> None:
    # Giulia: answered after 10 min by Anna, resolved after 40 min (2 answers).
    office.mention("giulia_r", "parcel stuck")
    giulia = office.card_of("giulia_r")
    office.advance(timedelta(minutes=10))
    office.reply_in_thread("UANNA", "On it!", giulia["ts"])
    office.settle()
    office.advance(timedelta(minutes=20))
    office.reply_in_thread("UANNA", "It left the depot.", giulia["ts"])
    office.settle()
    office.advance(timedelta(minutes=10))
    office.press("UANNA", blocks.RESOLVE, office.slack.message(giulia["ts"], CHANNEL))
    office.settle()
    # Tom: answered by Bruno after 70 min, past the 1 h target.
    office.mention("tom_h", "box crushed")
    office.advance(timedelta(minutes=70))
    office.reply_in_thread("UBRUNO", "Sorry Tom!", office.card_of("tom_h")["ts"])
    office.settle()
    # Marco: never answered, now overdue.
    office.mention("marco_b", "charged twice")
    office.advance(timedelta(hours=2))

    report = office.app.services.stats.report(office.clock.now() - timedelta(days=1))
    team = report.team
    assert (team.opened, team.answered) == (3, 2)
    assert team.first_within_target == 1 / 3  # Marco, overdue and unanswered, is a miss too
    assert team.never_answered == 1 / 3
    assert team.exchanges_to_close == 2
    assert round(team.first_response_median.total_seconds() / 60) == 40  # 10 and 70 min
    assert set(report.per_agent) == {"UANNA", "UBRUNO"}

    assert "Carebridge stats" in care(office, "UCARLA", "stats today")
    assert "'bad' is not a period" in care(office, "UCARLA", "stats bad")


def test_the_first_wait_in_business_time_is_kept_when_answered(office: World) -> None:
    office.advance(timedelta(hours=7, minutes=50))  # Monday 17:50 in Rome, closing at 18:00
    office.mention("giulia_r", "parcel stuck")
    office.advance(timedelta(hours=15, minutes=20))  # Tuesday 09:10
    office.reply_in_thread("UANNA", "Good morning, on it!", office.card_of("giulia_r")["ts"])
    office.settle()
    office.app.services.hours.set("mon-sun 00:00-24:00", "UCARLA")  # kept: not recomputed

    team = office.app.services.stats.report(office.clock.now() - timedelta(days=1)).team
    assert team.first_response_median == timedelta(hours=15, minutes=20)
    assert team.first_response_business_median == timedelta(minutes=20)


def test_next_response_targets_judge_follow_ups_once_answered_or_overdue(office: World) -> None:
    minute = timedelta(minutes=1)

    def answer(user: str, handle: str, text: str) -> None:
        office.reply_in_thread(user, text, office.card_of(handle)["ts"])
        office.settle()

    def answered_at_once(handle: str, text: str, user: str, reply: str) -> None:
        """A customer writes; an agent answers a minute later; a minute passes."""
        office.mention(handle, text)
        office.advance(minute)
        answer(user, handle, reply)
        office.advance(minute)

    office.mention("giulia_r", "parcel stuck")  # 10:00
    office.advance(5 * minute)
    answer("UANNA", "giulia_r", "On it!")
    office.advance(5 * minute)
    office.mention("giulia_r", "any news?")  # 10:10, due 10:40
    office.advance(20 * minute)
    answer("UANNA", "giulia_r", "Tomorrow.")  # 10:30: met
    answered_at_once("tom_h", "box crushed", "UBRUNO", "Sorry Tom!")
    office.mention("tom_h", "so what now?")  # 10:32, due 11:02
    office.advance(3 * minute)
    office.mention("giulia_r", "which time tomorrow?")  # 10:35, due 11:05: never answered
    office.advance(40 * minute)
    answer("UBRUNO", "tom_h", "A new one is on its way.")  # 11:15: late
    answered_at_once("sara_p", "wrong size", "UANNA", "We will swap it.")
    office.mention("sara_p", "and the receipt?")  # 11:17, due 11:47, then resolved: the clock stops
    office.advance(3 * minute)
    office.press("UANNA", blocks.RESOLVE, office.slack.message(office.card_of("sara_p")["ts"]))
    office.settle()
    answered_at_once("marco_b", "charged twice", "UBRUNO", "Checking.")
    office.mention("marco_b", "twice!")  # 11:22, due 11:52: never answered
    office.advance(30 * minute)  # 11:52: Sara's would be overdue too, had she not been resolved
    answered_at_once("luca_v", "hello", "UANNA", "Hi Luca!")
    office.mention("luca_v", "where is it?")  # 11:54, due 12:24: still running, not judged yet
    office.advance(minute)

    team = office.app.services.stats.report(office.clock.now() - timedelta(days=1)).team
    assert (team.opened, team.answered) == (5, 5)
    assert team.first_within_target == 1.0
    # Giulia's first follow-up met; Tom's answered late; Giulia's second and Marco's overdue.
    assert team.next_within_target == 1 / 4


def test_stats_are_answered_after_the_acknowledgement_privately(office: World) -> None:
    acknowledged = office.events.slash_command("UCARLA", "/care", "stats 30d", CHANNEL)
    assert "Counting" in acknowledged.text and "Carebridge stats" not in acknowledged.text
    [answer] = office.slack.responses
    assert answer["response_type"] == "ephemeral"
    assert "Carebridge stats" in answer["text"]
    assert answer["url"].startswith("/hooks/commands/")


def test_stats_on_the_command_line_as_a_table_and_csv(office: World, tmp_path) -> None:
    office.mention("giulia_r", "parcel stuck")
    office.advance(timedelta(minutes=10))
    office.reply_in_thread("UANNA", "On it!", office.card_of("giulia_r")["ts"])
    office.settle()
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "X_"))},
        "DATABASE_URL": office.app.settings.database_url,
        "TIMEZONE": "Europe/Rome",
        "BUSINESS_HOURS": ROME_OFFICE["BUSINESS_HOURS"],
    }
    # The real clock is used: ask for a window wide enough to hold the test's morning.
    command = [sys.executable, "-m", "bot", "stats", "--since", "3650d"]
    table = subprocess.run(command, env=env, capture_output=True, text=True, timeout=60)
    assert table.returncode == 0, table.stderr
    assert "First response" in table.stdout or "first response" in table.stdout.lower()
    result = subprocess.run(
        [*command, "--csv"], env=env, capture_output=True, text=True, timeout=60
    )
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    team = next(r for r in rows if r["scope"] == "team")
    assert team["opened"] == "1" and team["answered"] == "1"
    assert int(team["first_response_median_s"]) == 600


def test_weekly_digest_posts_the_figures_and_a_chart_once(office: World) -> None:
    office.mention("giulia_r", "parcel stuck")
    office.advance(timedelta(minutes=10))
    office.reply_in_thread("UANNA", "On it!", office.card_of("giulia_r")["ts"])
    office.settle()
    office.clock.advance(timedelta(days=7) - timedelta(hours=1))  # next Monday 09:00 in Rome
    stats = office.app.services.stats
    stats.enqueue_digest()
    stats.enqueue_digest()  # a second process, or a restart
    office.settle()

    [digest] = [m for m in office.slack.messages(CHANNEL) if "week of" in m["text"]]
    assert "week of 23 Nov 2026" in digest["text"] and "1 opened" in digest["text"]
    [chart] = office.slack.uploaded_files
    assert chart["bytes"].startswith(b"\x89PNG") and chart["thread_ts"] == digest["ts"]


def test_digest_can_be_switched_off(slack_emulator, x_emulator, database_url, clock) -> None:
    env = {"DIGEST_SCHEDULE": "off"}
    with running_world(database_url, clock, slack=slack_emulator, x=x_emulator, env=env) as world:
        assert world.app.settings.digest is None
