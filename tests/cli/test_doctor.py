"""`carebridge doctor` against the Slack and X emulators, through the real slack-sdk and tweepy."""

from __future__ import annotations

import re
import socket
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
from rich.console import Console

from bot.clock import ManualClock
from bot.doctor import Check, format_hours, run_doctor, show
from bot.domain.hours import parse_business_hours
from bot.networks.x.emulator import XEmulator
from bot.sandbox.loopback import Fault
from bot.sandbox.slack_api import SlackEmulator
from bot.slack.scopes import REQUIRED_BOT_SCOPES
from storage.migrate import head_revision
from tests.e2e.conftest import settings_env

HEAD = head_revision()

MANIFEST = Path(__file__).resolve().parents[2] / "slack-manifest.yml"
# Monday 23 November 2026, 10:12 in Rome.
MONDAY_MORNING = datetime(2026, 11, 23, 9, 12, tzinfo=UTC)


def doctor(env: dict[str, str], clock: ManualClock | None = None) -> tuple[int, list[str]]:
    console = Console(record=True, width=120, force_terminal=False)
    status = run_doctor(env, console=console, clock=clock or ManualClock(MONDAY_MORNING))
    return status, console.export_text().splitlines()


def line(lines: list[str], name: str) -> str:
    found = [text for text in lines if text[2:].startswith(f"{name}:")]
    assert len(found) == 1, lines
    return found[0]


@pytest.fixture
def env(slack_emulator: SlackEmulator, x_emulator: XEmulator, database_url: str) -> dict[str, str]:
    return settings_env(slack_emulator, x_emulator, database_url)


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]  # nothing listens once the socket is closed


def test_everything_set_up_passes(env: dict[str, str]) -> None:
    env |= {"TIMEZONE": "Europe/Rome", "BUSINESS_HOURS": "mon-fri 09:00-18:00"}
    status, lines = doctor(env)
    assert status == 0, lines
    assert [text[0] for text in lines] == ["✔"] * 7
    assert line(lines, "Slack token") == "✔ Slack token: bot @carebridge in Sandbox"
    assert line(lines, "Slack scopes") == "✔ Slack scopes: all 10 required scopes granted"
    assert line(lines, "Support channel") == (
        "✔ Support channel: #support (CSUPPORT), @carebridge is a member"
    )
    assert line(lines, "Slack connection").startswith("✔ Slack connection: HTTP mode on port 3000")
    assert line(lines, "X account") == "✔ X account: @acmecare (1000000000000000001)"
    assert re.fullmatch(
        rf"✔ Database: (sqlite|postgresql\+psycopg)://.+ at revision {HEAD} \(head\)",
        line(lines, "Database"),
    )
    assert line(lines, "Business hours") == (
        "✔ Business hours: Europe/Rome, mon-fri 09:00-18:00 — open now (Mon 10:12)"
    )


def test_business_hours_always_open_and_closed_now(env: dict[str, str]) -> None:
    assert line(doctor(env)[1], "Business hours") == "✔ Business hours: UTC, always open"
    env |= {"BUSINESS_HOURS": "sat 09:00-13:00"}
    assert "closed now (Mon 09:12)" in line(doctor(env)[1], "Business hours")


def test_hours_are_printed_as_carebridge_understood_them() -> None:
    hours = parse_business_hours("sat 09:00-13:00; mon-fri 09:00-18:00; sun 10:00-24:00")
    assert format_hours(hours) == "mon-fri 09:00-18:00; sat 09:00-13:00; sun 10:00-24:00"
    split = parse_business_hours("mon-tue 08:00-12:00; mon-tue 14:00-18:00; thu 09:00-17:00")
    assert format_hours(split) == "mon-tue 08:00-12:00; mon-tue 14:00-18:00; thu 09:00-17:00"


def test_a_missing_scope_is_named(
    x_emulator: XEmulator, database_url: str, clock: ManualClock
) -> None:
    granted = [s for s in REQUIRED_BOT_SCOPES if s != "reactions:write"] + ["im:history"]
    with SlackEmulator(clock=clock.timestamp, scopes=granted) as slack:
        status, lines = doctor(settings_env(slack, x_emulator, database_url))
    assert status == 1
    assert line(lines, "Slack scopes") == (
        "✘ Slack scopes: missing reactions:write — fix: add reactions:write under OAuth & "
        "Permissions (or re-paste slack-manifest.yml) and reinstall the app"
    )
    assert sum(text.startswith("✔") for text in lines) == 6


def test_bot_not_in_the_channel_gets_the_invite_fix(
    env: dict[str, str], slack_emulator: SlackEmulator
) -> None:
    slack_emulator.add_channel("CELSEWHERE", name="care", bot_is_member=False)
    status, lines = doctor(env | {"SLACK_CHANNEL_ID": "CELSEWHERE"})
    assert status == 1
    assert line(lines, "Support channel") == (
        "✘ Support channel: @carebridge is not a member of #care (CELSEWHERE) — fix: "
        "/invite @carebridge in #care"
    )


def test_unknown_channel(env: dict[str, str]) -> None:
    status, lines = doctor(env | {"SLACK_CHANNEL_ID": "C0NOPE"})
    assert status == 1
    assert line(lines, "Support channel").startswith(
        "✘ Support channel: SLACK_CHANNEL_ID C0NOPE was not found — fix: copy the channel id "
        "from the channel details"
    )


def test_a_bad_slack_token_fails_and_the_other_checks_still_run(env: dict[str, str]) -> None:
    status, lines = doctor(env | {"SLACK_BOT_TOKEN": "xoxb-revoked"})
    assert status == 1
    assert line(lines, "Slack token") == (
        "✘ Slack token: Slack refused the bot token (Slack answered invalid_auth) — fix: copy the "
        "Bot User OAuth Token (xoxb-…) from OAuth & Permissions into SLACK_BOT_TOKEN; reinstall "
        "the app if it was revoked"
    )
    for name in ("Slack scopes", "Support channel"):
        assert line(lines, name).endswith(
            "not checked: Slack answered invalid_auth — fix: fix the Slack token first"
        )
    for name in ("Slack connection", "X account", "Database", "Business hours"):
        assert line(lines, name).startswith("✔")


def test_slack_unreachable(env: dict[str, str], slack_emulator: SlackEmulator) -> None:
    url = f"http://127.0.0.1:{closed_port()}/api/"
    status, lines = doctor(env | {"SLACK_API_URL": url})
    assert status == 1
    assert line(lines, "Slack token") == (
        "✘ Slack token: could not reach the server ([Errno 111] Connection refused) — fix: check "
        f"SLACK_API_URL ({url}) and the network, then try again"
    )
    assert "Traceback" not in "\n".join(lines)


def test_x_refusing_the_credentials_gets_the_credentials_fix(
    env: dict[str, str], x_emulator: XEmulator
) -> None:
    unauthorized = {"title": "Unauthorized", "type": "about:blank", "status": 401}
    x_emulator.inject(
        "GET /2/users/me", Fault(status=401, body=unauthorized | {"detail": "Unauthorized"})
    )
    status, lines = doctor(env)
    assert status == 1
    text = line(lines, "X account")
    assert text.startswith("✘ X account: X refused (401) while looking up the brand account")
    assert (
        "fix: check X_CONSUMER_KEY, X_CONSUMER_SECRET, X_ACCESS_TOKEN and X_ACCESS_TOKEN_SECRET"
        in text
    )
    assert "brand account" in text and "Read and write and Direct message" in text
    assert sum(t.startswith("✔") for t in lines) == 6


def test_x_unreachable(env: dict[str, str]) -> None:
    url = f"http://127.0.0.1:{closed_port()}"
    status, lines = doctor(env | {"X_API_URL": url})
    assert status == 1
    assert line(lines, "X account") == (
        "✘ X account: X could not be reached while looking up the brand account — fix: check "
        f"X_API_URL ({url}) and the network, then try again"
    )
    assert line(lines, "Database").startswith("✔")


def test_a_database_behind_head_asks_for_an_upgrade(env: dict[str, str], tmp_path: Path) -> None:
    empty = tmp_path / "empty.db"
    empty.touch()
    status, lines = doctor(env | {"DATABASE_URL": f"sqlite:///{empty}"})
    assert status == 1
    assert line(lines, "Database") == (
        f"✘ Database: sqlite:///{empty} has no Carebridge schema yet; the code expects {HEAD} — "
        "fix: run `carebridge db upgrade` (carebridge run also upgrades on start)"
    )


def test_no_database_file_yet_is_fine_and_doctor_creates_nothing(
    env: dict[str, str], tmp_path: Path
) -> None:
    (tmp_path / "fresh").mkdir()
    missing = tmp_path / "fresh" / "new.db"
    status, lines = doctor(env | {"DATABASE_URL": f"sqlite:///{missing}"})
    assert status == 0, lines
    assert line(lines, "Database") == (
        f"✔ Database: sqlite:///{missing}: no database yet: carebridge run or carebridge db "
        "upgrade creates it"
    )
    assert list((tmp_path / "fresh").iterdir()) == []
    status, lines = doctor(env | {"DATABASE_URL": f"sqlite:///{tmp_path}/nowhere/new.db"})
    assert status == 1
    assert "does not exist" in line(lines, "Database")


def test_an_unreachable_database_hides_the_password(env: dict[str, str]) -> None:
    url = f"postgresql+psycopg://carebridge:s3cret@127.0.0.1:{closed_port()}/carebridge"
    status, lines = doctor(env | {"DATABASE_URL": url})
    assert status == 1
    text = line(lines, "Database")
    assert text.startswith("✘ Database: cannot connect to postgresql+psycopg://carebridge:***@")
    assert "s3cret" not in "\n".join(lines)


def test_configuration_errors_stop_everything_with_each_problem_listed() -> None:
    status, lines = doctor({"SLACK_BOT_TOKEN": "xoxp-user", "TIMEZONE": "Mars/Olympus"})
    assert status == 2
    assert all(text.startswith("✘ Configuration: ") for text in lines), lines
    text = "\n".join(lines)
    for problem in (
        "SLACK_BOT_TOKEN",
        "SLACK_CHANNEL_ID",
        "SLACK_SIGNING_SECRET",
        "X_CONSUMER_KEY",
        "TIMEZONE",
    ):
        assert problem in text
    assert "fix: set or correct it in the environment or in .env" in lines[0]


def test_socket_mode_with_a_good_app_token(
    env: dict[str, str], slack_emulator: SlackEmulator
) -> None:
    status, lines = doctor(env | {"SLACK_APP_TOKEN": slack_emulator.app_token})
    assert status == 0, lines
    assert line(lines, "Slack connection") == (
        "✔ Slack connection: Socket Mode: connected, Slack said hello "
        "(1 connection(s) open for this app)"
    )
    assert len(slack_emulator.calls("apps.connections.open")) == 1
    [link] = slack_emulator.socket_mode.links()  # a real link: opened, hello read, closed
    deadline = time.monotonic() + 5
    while link.state != "closed" and time.monotonic() < deadline:
        time.sleep(0.02)  # the emulator's reader notices the close on its own thread
    assert link.state == "closed"


def test_socket_mode_with_a_bad_app_token(env: dict[str, str]) -> None:
    status, lines = doctor(env | {"SLACK_APP_TOKEN": "xapp-1-A0-revoked"})
    assert status == 1
    text = line(lines, "Slack connection")
    assert text.startswith(
        "✘ Slack connection: Socket Mode: Slack refused the app-level token (Slack answered "
        "invalid_auth) — fix: under Basic Information → App-Level Tokens, create a token with "
        "connections:write"
    )
    assert "turn Socket Mode on" in text


def test_a_non_json_answer_is_not_blamed_on_the_token(
    env: dict[str, str], slack_emulator: SlackEmulator
) -> None:
    slack_emulator.inject("auth.test", Fault(status=200, body=b"<html>maintenance</html>"))
    status, lines = doctor(env)
    assert status == 1
    text = line(lines, "Slack token")
    assert text.startswith("✘ Slack token: Slack answered Received a response in a non-JSON")
    assert "fix: check SLACK_API_URL" in text and "OAuth" not in text
    assert line(lines, "Slack scopes").endswith("fix: fix the Slack token first")
    assert len(slack_emulator.calls("auth.test")) == 1  # the failure is remembered, not retried


def test_a_malformed_answer_is_one_failed_line_not_a_traceback(
    env: dict[str, str], x_emulator: XEmulator
) -> None:
    x_emulator.inject("GET /2/users/me", Fault(status=200, body={}))  # no "data"
    status, lines = doctor(env)
    assert status == 1
    assert len(lines) == 7
    assert line(lines, "X account").startswith(
        "✘ X account: X sent a malformed answer while looking up the brand account"
    )
    assert "Traceback" not in "\n".join(lines)
    assert line(lines, "Database").startswith("✔")


def test_colours_on_a_terminal_and_plain_text_when_piped() -> None:
    colour = Console(record=True, width=60, force_terminal=True, color_system="standard")
    show(colour, Check("X account", False, "a [bold] reason", "do this"))
    assert "\x1b[" in colour.export_text(styles=True)
    plain = Console(record=True, width=60, force_terminal=False)
    show(plain, Check("X account", False, "a [bold] reason " + "long " * 20, "do this"))
    lines = plain.export_text().splitlines()
    assert len(lines) == 1  # one line per check even past the width: greppable
    assert lines[0].startswith("✘ X account: a [bold] reason long")


def test_required_scopes_are_the_bot_scopes_of_the_manifest() -> None:
    scopes: list[str] = []
    section: list[str] = []  # the keys leading to the current line, by indentation
    for raw in MANIFEST.read_text().splitlines():
        content = raw.split("#", 1)[0].rstrip()
        if not content.strip():
            continue
        depth = (len(content) - len(content.lstrip())) // 2
        if content.lstrip().startswith("- "):
            if section[:3] == ["oauth_config", "scopes", "bot"]:
                scopes.append(content.lstrip()[2:].strip())
            continue
        section = [*section[:depth], content.strip().rstrip(":")]
    assert scopes, "no bot scopes found in the manifest"
    assert tuple(scopes) == REQUIRED_BOT_SCOPES


def test_every_account_and_every_support_channel_is_checked(
    env: dict[str, str], slack_emulator: SlackEmulator, x_emulator: XEmulator, tmp_path: Path
) -> None:
    brand = {
        "consumer_key": "brand-ck",
        "consumer_secret": "brand-cs",
        "access_token": "brand-at",
        "access_token_secret": "brand-ats-secret",
    }
    x_emulator.add_account("acmebrand", "Acme", **brand)
    slack_emulator.add_channel("CBRAND", name="brand", bot_is_member=False)
    credentials = "\n".join(f'{key} = "{value}"' for key, value in brand.items())
    accounts = tmp_path / "accounts.toml"
    accounts.write_text(
        '[[accounts]]\nname = "acme-care"\nnetwork = "x"\n'
        'consumer_key = "${X_CONSUMER_KEY}"\nconsumer_secret = "${X_CONSUMER_SECRET}"\n'
        'access_token = "${X_ACCESS_TOKEN}"\naccess_token_secret = "${X_ACCESS_TOKEN_SECRET}"\n'
        f'api_url = "{x_emulator.url}"\n\n'
        f'[[accounts]]\nname = "acme-brand"\nnetwork = "x"\nslack_channel = "CBRAND"\n'
        f'api_url = "{x_emulator.url}"\n{credentials}\n'
    )
    x_emulator.revoke("brand-at")
    status, lines = doctor(env | {"ACCOUNTS_FILE": str(accounts)})
    assert status == 1
    assert line(lines, "Account acme-care (X)") == (
        "✔ Account acme-care (X): @acmecare (1000000000000000001) → CSUPPORT"
    )
    refused = line(lines, "Account acme-brand (X)")
    assert refused.startswith("✘ Account acme-brand (X): X refused (401)")
    assert "fix: check X_CONSUMER_KEY" in refused
    assert line(lines, "Support channel CSUPPORT").startswith("✔")
    assert line(lines, "Support channel CBRAND") == (
        "✘ Support channel CBRAND: @carebridge is not a member of #brand (CBRAND) — fix: "
        "/invite @carebridge in #brand"
    )
    assert not any(secret in "\n".join(lines) for secret in brand.values())


def test_listening_shows_the_posts_read_against_the_budget_and_refuses_a_bad_query(
    env: dict[str, str], slack_emulator: SlackEmulator
) -> None:
    slack_emulator.add_channel("CLISTEN", members=[slack_emulator.bot_user_id], name="listening")
    env |= {
        "LISTEN_CHANNEL_ID": "CLISTEN",
        "LISTEN_QUERY": "(acme OR #acmecare) -is:retweet",
        "X_READ_BUDGET": "10000",
    }
    status, lines = doctor(env)
    assert status == 0, lines
    assert line(lines, "Listening channel").startswith("✔ Listening channel: #listening (CLISTEN)")
    assert line(lines, "Listening") == (
        "✔ Listening: x: 0 posts read in 2026-11 of 10,000 (X_READ_BUDGET)"
    )
    status, lines = doctor(env | {"LISTEN_QUERY": "acme -(spam OR ads)"})
    assert status == 2 and any("LISTEN_QUERY" in text for text in lines), lines


def test_each_specialist_teams_channel_is_checked(
    env: dict[str, str], slack_emulator: SlackEmulator, database_url: str
) -> None:
    from storage.db import Database
    from storage.models import Team

    slack_emulator.add_channel("C0BILLING1", name="billing")
    slack_emulator.add_channel("C0LEGAL001", name="legal", bot_is_member=False)
    database = Database(database_url)
    with database.transaction() as session:
        for name, channel in (("Billing", "C0BILLING1"), ("Legal", "C0LEGAL001")):
            session.add(
                Team(
                    name=name,
                    slack_channel_id=channel,
                    updated_by="UCARLA",
                    updated_at=MONDAY_MORNING,
                )
            )
    database.dispose()
    status, lines = doctor(env)
    assert status == 1
    assert line(lines, "Team Billing") == (
        "✔ Team Billing: #billing (C0BILLING1), @carebridge is a member"
    )
    assert line(lines, "Team Legal").startswith(
        "✘ Team Legal: @carebridge is not a member of #legal (C0LEGAL001) — fix: /invite"
    )
