"""Priority, VIPs and customer history end to end, as agents see them in Slack."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import timedelta

import pytest

from bot.clock import ManualClock
from bot.networks.x.emulator import XEmulator
from bot.sandbox.slack_api import SlackEmulator
from bot.sandbox.world import CHANNEL, World, running_world
from bot.slack import blocks
from tests.e2e.conftest import MONDAY_10, ROME_OFFICE, channel_posts

ANGRY = "È la terza volta che scrivo, siete vergognosi! Voglio un rimborso subito 😡"
CRM = "https://crm.acme.example/search?q={handle}"


@pytest.fixture
def desk(
    slack_emulator: SlackEmulator, x_emulator: XEmulator, database_url: str, transport: str
) -> Iterator[World]:
    clock = ManualClock(MONDAY_10)
    slack_emulator.clock = x_emulator.clock = clock.timestamp
    env = {**ROME_OFFICE, "SLA_CLOCK": "always", "CRM_URL_TEMPLATE": CRM}
    with running_world(
        database_url, clock, slack=slack_emulator, x=x_emulator, env=env, transport=transport
    ) as world:
        yield world


def care(world: World, text: str, user: str = "UANNA") -> str:
    return world.care(user, text)


def card_text(world: World, handle: str) -> str:
    card = world.card_of(handle)
    return str(world.slack.message(card["ts"], CHANNEL)["blocks"])


def resolve(world: World, handle: str) -> None:
    card = world.card_of(handle)
    world.press("UANNA", blocks.RESOLVE, world.slack.message(card["ts"], CHANNEL))
    world.settle()


def test_a_vip_journalist_writing_angrily_for_the_third_time_is_urgent(desk: World) -> None:
    care(desk, "oncall set <@UBRUNO|bruno> daily 09:00")
    assert "is a VIP" in care(desk, "vip add @giulia_r journalist, Corriere")
    desk.customer("giulia_r", "Giulia Rossi", followers=48_000)
    for day in (1, 2):  # two earlier contacts this week, each resolved
        desk.mention("giulia_r", f"domanda numero {day}")
        resolve(desk, "giulia_r")
        desk.clock.advance(timedelta(days=1, hours=1))

    pings_before = len([p for p in channel_posts(desk) if "Urgent" in p])
    desk.mention("giulia_r", ANGRY)
    text = card_text(desk, "giulia_r")
    assert "*Urgent*: journalist, Corriere (VIP) · 48k followers · angry" in text
    assert "3rd contact this week" in text
    assert "3rd contact in 30 days" in text and "resolved by <@UANNA>" in text
    assert "first answer due 12:15, in 15 min" in text  # urgent: a quarter of the 1 h target
    [ping] = [p for p in channel_posts(desk) if "Urgent" in p][pings_before:]
    # The ping speaks of the conversation: it comes after the card, never before.
    [ping_ts] = [m["ts"] for m in desk.slack.messages(CHANNEL) if m["text"] == ping]
    assert float(desk.card_of("giulia_r")["ts"]) < float(ping_ts)
    assert "<@UBRUNO>" in ping and "@giulia_r" in ping and "3rd contact this week" in ping
    desk.mention("giulia_r", "allora?")
    pings_after = len([p for p in channel_posts(desk) if "Urgent" in p])
    assert pings_after == pings_before + 1  # once per conversation


def test_priority_is_recomputed_when_the_customer_writes_again(desk: World) -> None:
    desk.mention("tom_h", "hi, where can I see my order status?")
    assert "*Normal*" in card_text(desk, "tom_h")
    desk.mention("tom_h", "still nothing after a week, this is a scam, I want a refund NOW 😡")
    assert "*High*" in card_text(desk, "tom_h") or "*Urgent*" in card_text(desk, "tom_h")
    assert "angry" in card_text(desk, "tom_h")


def test_a_thank_you_is_low_priority(desk: World) -> None:
    desk.mention("happy_h", "grazie mille, tutto risolto! 🙏")
    assert "*Low*" in card_text(desk, "happy_h")


def test_a_vip_is_mirrored_before_a_backlog_of_ordinary_messages(desk: World) -> None:
    care(desk, "vip add @giulia_r journalist, Corriere")
    for n in range(12):
        desk.customer(f"customer{n}", f"Customer {n}")
        desk.x.post_tweet(f"customer{n}", f"@acmecare question {n}")
    desk.customer("giulia_r", "Giulia Rossi")
    desk.x.post_tweet("giulia_r", "@acmecare una domanda")
    desk.poll()
    desk.settle()
    cards = [c["text"] for c in desk.cards()]
    assert len(cards) == 13
    assert "giulia_r" in cards[0]  # polled last, posted first


def test_vip_commands_and_their_errors(desk: World) -> None:
    assert "No VIPs yet" in care(desk, "vip list")
    assert "is a VIP: journalist" in care(desk, "vip add @Giulia_R journalist, Corriere")
    assert "@giulia_r: journalist, Corriere" in care(desk, "vip list")
    assert "Use: `/care vip add @handle note`" in care(desk, "vip add @nobody")
    assert "Removed @giulia_r" in care(desk, "vip remove @giulia_r")
    assert "was not a VIP" in care(desk, "vip remove @giulia_r")


def test_vip_commands_refuse_what_is_not_a_handle_or_a_note(desk: World) -> None:
    ping = care(desk, "vip add <!channel> pings everyone")
    assert "is not a valid X handle" in ping and "<!channel>" not in ping
    assert "at most 200" in care(desk, "vip add @giulia_r " + "n" * 10_000)
    assert "control characters" in care(
        desk, "vip add @giulia_r note\u0007".encode().decode("unicode_escape")
    )
    assert "no network 'myspace'" in care(desk, "vip add myspace:@giulia_r note")
    assert "No VIPs yet" in care(desk, "vip list")  # nothing was stored


def test_commands_answer_bad_periods_and_handles_clearly(desk: World) -> None:
    assert "is not a period" in care(desk, "stats " + "9" * 40 + "d")
    assert "longer than ten years" in care(desk, "stats 99999d")
    linked = care(desk, "link <!channel> @giulia_r")
    assert "<!channel>" not in linked and "is not a valid X handle" in linked
    oncall = care(desk, "oncall set <!channel> weekly mon 09:00")
    assert oncall.startswith(":warning:") and "<!channel>" not in oncall


def test_vip_import_from_csv_on_the_command_line(desk: World, tmp_path) -> None:
    data = tmp_path / "vips.csv"
    data.write_text("handle,note\n@giulia_r,journalist\nmarco_b,CEO of a partner\n")
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "X_"))},
        "DATABASE_URL": desk.app.settings.database_url,
    }
    result = subprocess.run(
        [sys.executable, "-m", "bot", "vip", "import", str(data)],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert "imported 2 VIPs" in result.stdout
    assert "@marco_b: CEO of a partner" in care(desk, "vip list")
    bad = tmp_path / "bad.csv"
    bad.write_text("just-a-handle\n")
    failed = subprocess.run(
        [sys.executable, "-m", "bot", "vip", "import", str(bad)],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert failed.returncode == 1 and "line 1: expected handle,note" in failed.stderr


def test_customer_history_and_crm(desk: World) -> None:
    desk.mention("giulia_r", "prima domanda", "Giulia Rossi")
    assert "Open in CRM" in card_text(desk, "giulia_r")
    assert "https://crm.acme.example/search?q=giulia_r" in card_text(desk, "giulia_r")
    resolve(desk, "giulia_r")
    desk.clock.advance(timedelta(days=2))
    desk.mention("giulia_r", "seconda domanda <!channel>")

    report = care(desk, "customer @giulia_r")
    assert "Giulia Rossi" in report and "resolved by <@UANNA>" in report
    assert "&lt;!channel&gt;" in report and "<!channel>" not in report
    assert "No customer @nobody" in care(desk, "customer @nobody")


def test_linked_accounts_share_history_and_priority(desk: World) -> None:
    desk.mention("giulia_work", "domanda dal profilo di lavoro", "Giulia Rossi")
    resolve(desk, "giulia_work")
    desk.clock.advance(timedelta(days=2))
    desk.mention("giulia_home", "domanda dal profilo personale", "Giulia R.")
    assert "contact in 30 days" not in card_text(desk, "giulia_home")

    answer = care(desk, "link @giulia_work @giulia_home")
    assert answer.startswith("Linked @giulia_work on X and @giulia_home on X")
    desk.settle()
    assert "2nd contact in 30 days" in card_text(desk, "giulia_home")
    assert "Use: `/care link" in care(desk, "link @only_one")


def test_app_home_lists_mine_and_the_queue_by_priority_then_deadline(desk: World) -> None:
    care(desk, "vip add @vip_v journalist")
    desk.mention("plain_p", "una domanda")
    desk.clock.advance(timedelta(minutes=1))
    desk.mention("vip_v", "una domanda anche io")
    desk.press("UANNA", blocks.CLAIM, desk.card_of("plain_p"))
    desk.settle()
    desk.events.event({"type": "app_home_opened", "user": "UBRUNO", "tab": "home"})
    desk.settle()
    view = str(desk.slack.views_published["UBRUNO"])
    queue = view.split("Team queue")[1]
    assert "@vip_v" in queue and "@plain_p" not in queue
    mine = str(desk.slack.views_published["UANNA"]).split("Team queue")[0]  # after the claim
    assert "@plain_p" in mine and "due in" in mine
