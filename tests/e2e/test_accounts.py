"""Two X brand accounts side by side, from ACCOUNTS_FILE: @acmecare into #support, @acmebrand
into #brand. Each is its own: credentials (the emulator checks every OAuth signature), channel,
cursors, rate limits and health; answers go out from the account the customer wrote to."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.clock import ManualClock
from bot.networks.x.emulator import XEmulator
from bot.sandbox.slack_api import SlackEmulator
from bot.sandbox.world import CHANNEL, World, running_world, sandbox_env
from bot.slack import blocks
from storage.models import AuditEntry, ChannelAccount

BRAND_CHANNEL = "CBRAND"
BRAND = {
    "consumer_key": "brand-consumer-key",
    "consumer_secret": "brand-consumer-secret",
    "access_token": "brand-access-token",
    "access_token_secret": "brand-access-token-secret",
}
MENTIONS = "GET /2/users/:id/mentions"


def accounts_toml(x: XEmulator, *, brand_name: str = "acme-brand", brand: bool = True) -> str:
    care = f"""
[[accounts]]
name = "acme-care"
network = "x"
consumer_key = "${{X_CONSUMER_KEY}}"
consumer_secret = "${{X_CONSUMER_SECRET}}"
access_token = "${{X_ACCESS_TOKEN}}"
access_token_secret = "${{X_ACCESS_TOKEN_SECRET}}"
api_url = "{x.url}"
"""
    other = f"""
[[accounts]]
name = "{brand_name}"
network = "x"
slack_channel = "{BRAND_CHANNEL}"
consumer_key = "${{BRAND_CK}}"
consumer_secret = "${{BRAND_CS}}"
access_token = "${{BRAND_AT}}"
access_token_secret = "${{BRAND_ATS}}"
api_url = "{x.url}"
business_hours = "mon-fri 09:00-18:00"
"""
    return care + (other if brand else "")


def brand_env(path: Path) -> dict[str, str]:
    return {
        "ACCOUNTS_FILE": str(path),
        "BRAND_CK": BRAND["consumer_key"],
        "BRAND_CS": BRAND["consumer_secret"],
        "BRAND_AT": BRAND["access_token"],
        "BRAND_ATS": BRAND["access_token_secret"],
    }


@pytest.fixture
def setup(
    tmp_path: Path, slack_emulator: SlackEmulator, x_emulator: XEmulator
) -> tuple[Path, dict[str, str]]:
    x_emulator.add_account("acmebrand", "Acme", **BRAND)
    slack_emulator.add_channel(BRAND_CHANNEL, members=["UANNA", "UBRUNO"], name="brand")
    path = tmp_path / "accounts.toml"
    path.write_text(accounts_toml(x_emulator))
    return path, brand_env(path)


@pytest.fixture
def two(
    setup: tuple[Path, dict[str, str]],
    slack_emulator: SlackEmulator,
    x_emulator: XEmulator,
    database_url: str,
    clock: ManualClock,
    transport: str,
) -> Iterator[World]:
    _, env = setup
    with running_world(
        database_url, clock, slack=slack_emulator, x=x_emulator, env=env, transport=transport
    ) as world:
        yield world


def where_line(card: dict[str, object]) -> str:
    return str(card["blocks"][0]["elements"][0]["text"])  # type: ignore[index]


def test_each_account_mirrors_into_its_own_channel_and_says_which_account(two: World) -> None:
    two.mention("giulia_r", "il pacco è fermo", to="acmecare")
    two.mention("tom_h", "my order is late", to="acmebrand")

    care_card = two.card_of("giulia_r", CHANNEL)
    brand_card = two.card_of("tom_h", BRAND_CHANNEL)
    assert where_line(care_card).startswith("*X* · @acmecare · Public mention")
    assert where_line(brand_card).startswith("*X* · @acmebrand · Public mention")
    assert not any("tom_h" in str(c["blocks"]) for c in two.cards(CHANNEL))
    assert not any("giulia_r" in str(c["blocks"]) for c in two.cards(BRAND_CHANNEL))


def test_answers_go_out_from_the_account_the_customer_wrote_to(two: World) -> None:
    brand = two.x.user("acmebrand")
    care = two.x.user("acmecare")
    two.mention("tom_h", "my order is late", to="acmebrand")
    two.direct_message("sara_k", "problema con la fattura", to="acmebrand")
    two.mention("giulia_r", "il pacco è fermo", to="acmecare")

    two.reply_in_thread(
        "UANNA", "On its way, Tom", two.card_of("tom_h", BRAND_CHANNEL)["ts"], BRAND_CHANNEL
    )
    two.reply_in_thread(
        "UBRUNO", "Ti scrivo subito", two.card_of("sara_k", BRAND_CHANNEL)["ts"], BRAND_CHANNEL
    )
    two.reply_in_thread("UANNA", "Controllo ora", two.card_of("giulia_r")["ts"])
    two.settle()

    authors = {t["text"]: t["author_id"] for t in two.x.sent_tweets}
    assert authors == {"On its way, Tom": brand["id"], "Controllo ora": care["id"]}
    [dm] = two.x.sent_dms
    assert dm["text"] == "Ti scrivo subito" and dm["sender_id"] == brand["id"]
    # The emulator checked every signature: each reply was signed with its own account's token.
    for call in two.x.calls("POST /2/tweets"):
        signer = two.x.authenticated_user(call)
        assert signer is not None
        sent = call.json()["text"]
        assert signer["id"] == authors[sent]


def test_one_accounts_rate_limit_holds_up_nobody_else(two: World) -> None:
    two.x.rate_limit(MENTIONS, reset_in=300, account="acmebrand")
    two.x.add_user("tom_h", "Tom")
    two.x.post_tweet("tom_h", "@acmebrand where is my order")
    two.mention("giulia_r", "il pacco è fermo", to="acmecare")

    assert two.card_of("giulia_r")  # @acmecare's mention came through at once
    with pytest.raises(LookupError):
        two.card_of("tom_h", BRAND_CHANNEL)
    brand_calls = len(two.x.calls(MENTIONS, account="acmebrand"))
    two.clock.advance(timedelta(seconds=60))
    two.poll()
    assert len(two.x.calls(MENTIONS, account="acmebrand")) == brand_calls  # waits for the reset
    two.clock.advance(timedelta(seconds=300))
    two.poll()
    two.settle()
    assert two.card_of("tom_h", BRAND_CHANNEL)


def test_a_revoked_token_is_said_once_in_its_channel_with_the_fix_and_once_when_fixed(
    two: World,
) -> None:
    two.poll()
    two.x.revoke(BRAND["access_token"])
    two.x.add_user("tom_h", "Tom")
    two.x.post_tweet("tom_h", "@acmebrand hello?")
    for _ in range(3):  # polls a minute apart: the first one tells, the others stay quiet
        two.mention("giulia_r", "ancora io", to="acmecare")
        two.clock.advance(timedelta(minutes=1))

    refused = [m["text"] for m in two.slack.messages(BRAND_CHANNEL) if "refused" in m["text"]]
    assert len(refused) == 1
    assert refused[0].startswith(":no_entry: X refused the credentials of the account *acme-brand*")
    assert "X_ACCESS_TOKEN" in refused[0] and "ACCOUNTS_FILE" in refused[0]  # the fix
    assert BRAND["access_token"] not in refused[0]
    assert not any("refused" in m["text"] for m in two.slack.messages(CHANNEL))
    assert len([c for c in two.cards(CHANNEL) if "giulia_r" in str(c["blocks"])]) == 1
    health = two.app.services.health()["accounts"]
    assert health["acme-brand"]["credentials_refused"] is True
    assert health["acme-care"]["failing_since"] is None

    two.x.restore(BRAND["access_token"])
    two.poll()
    two.settle()
    two.poll()
    two.settle()
    works = [m["text"] for m in two.slack.messages(BRAND_CHANNEL) if "again" in m["text"]]
    assert len(works) == 1 and "accepts the credentials of *acme-brand*" in works[0]
    assert two.card_of("tom_h", BRAND_CHANNEL)  # what waited arrives


def test_a_restart_keeps_each_accounts_cursors(
    setup: tuple[Path, dict[str, str]],
    slack_emulator: SlackEmulator,
    x_emulator: XEmulator,
    database_url: str,
    clock: ManualClock,
) -> None:
    _, env = setup
    kwargs = {"slack": slack_emulator, "x": x_emulator, "env": env}
    with running_world(database_url, clock, **kwargs) as world:
        world.mention("giulia_r", "prima", to="acmecare")
        world.mention("tom_h", "order one", to="acmebrand")
    with running_world(database_url, clock, **kwargs) as world:
        assert world.poll() == 0  # nothing fetched twice
        world.mention("tom_h", "order two", to="acmebrand")
        world.mention("giulia_r", "seconda", to="acmecare")
        with world.app.database.transaction() as session:
            rows = {r.name: r for r in session.scalars(select(ChannelAccount))}
            cursors = {name: row.cursors["mentions"] for name, row in rows.items()}
        assert set(cursors) == {"acme-care", "acme-brand"}
        assert cursors["acme-care"] != cursors["acme-brand"]
    care = [t["text"] for t in x_emulator.sent_tweets]
    assert care == []  # nobody answered: nothing was sent by either account
    [card] = [m for m in slack_emulator.messages(BRAND_CHANNEL) if m.get("blocks")]
    thread = slack_emulator.thread(card["ts"], BRAND_CHANNEL)
    texts = " ".join(str(m.get("blocks")) for m in [card, *thread])
    assert texts.count("order one") == 1 and texts.count("order two") == 1


def test_renaming_or_removing_an_account_orphans_no_conversation(
    setup: tuple[Path, dict[str, str]],
    slack_emulator: SlackEmulator,
    x_emulator: XEmulator,
    database_url: str,
    clock: ManualClock,
) -> None:
    path, env = setup
    kwargs = {"slack": slack_emulator, "x": x_emulator, "env": env}
    with running_world(database_url, clock, **kwargs) as world:
        world.mention("tom_h", "first", to="acmebrand")
        card = world.card_of("tom_h", BRAND_CHANNEL)

    path.write_text(accounts_toml(x_emulator, brand_name="acme-shop"))
    with running_world(database_url, clock, **kwargs) as world:
        world.reply_in_thread("UANNA", "Renamed, still here", card["ts"], BRAND_CHANNEL)
        world.settle()
        assert x_emulator.sent_tweets[-1]["text"] == "Renamed, still here"
        assert x_emulator.sent_tweets[-1]["author_id"] == x_emulator.user("acmebrand")["id"]
        with world.app.database.transaction() as session:
            names = sorted(str(r.name) for r in session.scalars(select(ChannelAccount)))
        assert names == ["acme-care", "acme-shop"]

    path.write_text(accounts_toml(x_emulator, brand=False))
    with running_world(database_url, clock, **kwargs) as world:
        world.reply_in_thread("UANNA", "Anyone there?", card["ts"], BRAND_CHANNEL)
        world.settle()
        assert x_emulator.sent_tweets[-1]["text"] == "Renamed, still here"  # not sent
        thread = slack_emulator.thread(card["ts"], BRAND_CHANNEL)
        failed = [m["text"] for m in thread if m["text"].startswith(":warning: Not delivered")]
        assert len(failed) == 1 and "no longer configured" in failed[0]


def test_access_and_commands_work_per_support_channel(two: World) -> None:
    two.slack.add_channel(BRAND_CHANNEL, members=["UANNA", "UBRUNO", "UDORA"], name="brand")
    two.mention("giulia_r", "il pacco è fermo", to="acmecare")
    two.mention("tom_h", "my order is late", to="acmebrand")
    # Dora works the brand channel only: she may claim there, not in #support.
    two.press("UDORA", blocks.CLAIM, two.card_of("tom_h", BRAND_CHANNEL), BRAND_CHANNEL)
    two.press("UDORA", blocks.CLAIM, two.card_of("giulia_r"))
    two.settle()
    assert "claimed by <@UDORA>" in str(two.card_of("tom_h", BRAND_CHANNEL)["blocks"])
    assert "unclaimed" in str(two.card_of("giulia_r")["blocks"])
    with two.app.database.transaction() as session:
        refused = session.scalars(select(AuditEntry).filter_by(actor="UDORA", action="refused"))
        assert [e.detail["reason"] for e in refused] == ["not a member"]

    two.clock.advance(timedelta(minutes=5))
    stats = two.care("UANNA", "stats 7d acme-brand", CHANNEL)
    assert "acme-brand" in stats and "1 opened" in stats
    assert "1 opened" in two.care("UANNA", "stats 7d", BRAND_CHANNEL)
    assert "2 opened" in two.care("UANNA", "stats 7d all", BRAND_CHANNEL)
    unknown = two.care("UANNA", "stats 7d acme-nope", CHANNEL)
    assert "no account 'acme-nope'" in unknown and "acme-brand" in unknown


def test_an_account_has_its_own_business_hours(two: World) -> None:
    # Monday 09:00 UTC: the brand account (mon-fri 09:00-18:00) is open, the care account is
    # always open; on Sunday only the brand account is closed.
    two.clock.advance(timedelta(days=6))
    two.direct_message("sara_k", "siete aperti?", to="acmebrand")
    two.direct_message("marco_b", "ci siete?", to="acmecare")
    notices = [d for d in two.x.sent_dms if "chiusi" in d["text"]]
    assert [d["sender_id"] for d in notices] == [two.x.user("acmebrand")["id"]]
    hours = two.events.slash_command("UANNA", "/care", "hours acme-brand", CHANNEL)
    assert "for *acme-brand*" in hours.text and "closed now" in hours.text


def test_carebridge_accounts_lists_each_account_with_its_state(
    two: World, setup: tuple[Path, dict[str, str]], database_url: str
) -> None:
    two.mention("giulia_r", "il pacco è fermo", to="acmecare")
    two.mention("tom_h", "my order is late", to="acmebrand")
    two.mention("sara_k", "and mine?", to="acmebrand")
    two.x.revoke(BRAND["access_token"])
    two.poll()
    _, env = setup
    result = subprocess.run(
        [sys.executable, "-m", "bot", "accounts"],
        env={
            **os.environ,
            **sandbox_env(two.slack, two.x, database_url),
            **env,
            "COLUMNS": "200",
        },
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    rows = {line.split("│")[1].strip(): line for line in result.stdout.splitlines() if "│" in line}
    assert "@acmecare" in rows["acme-care"] and "ok" in rows["acme-care"]
    assert rows["acme-care"].rstrip(" │").endswith("1")
    assert "@acmebrand" in rows["acme-brand"] and "CBRAND" in rows["acme-brand"]
    assert "failing since" in rows["acme-brand"] and "401" in rows["acme-brand"]
    assert rows["acme-brand"].rstrip(" │").endswith("2")
    assert BRAND["access_token"] not in result.stdout + result.stderr


def test_app_home_shows_the_queue_of_the_channels_one_works_in(two: World) -> None:
    two.slack.add_channel(BRAND_CHANNEL, members=["UANNA", "UDORA"], name="brand")
    two.mention("giulia_r", "il pacco è fermo", to="acmecare")
    two.mention("tom_h", "my order is late", to="acmebrand")
    for user in ("UDORA", "UANNA"):
        two.events.event({"type": "app_home_opened", "user": user, "tab": "home"})
    two.settle()
    dora = str(two.slack.views_published["UDORA"]["blocks"])
    assert "@tom_h" in dora and "@giulia_r" not in dora
    assert "X · @acmebrand" in dora  # which account the customer wrote to
    anna = str(two.slack.views_published["UANNA"]["blocks"])
    assert "@tom_h" in anna and "@giulia_r" in anna
