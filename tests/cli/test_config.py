"""Configuration: every problem reported at once, exit status 2, no traceback."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import timedelta

import pytest

from bot.config import ConfigError, load_settings
from bot.parsing import parse_duration

VALID = {
    "SLACK_BOT_TOKEN": "xoxb-1-2-abc",
    "SLACK_CHANNEL_ID": "C0123ABCD",
    "SLACK_SIGNING_SECRET": "secret",
    "X_CONSUMER_KEY": "ck",
    "X_CONSUMER_SECRET": "cs",
    "X_ACCESS_TOKEN": "at",
    "X_ACCESS_TOKEN_SECRET": "ats",
}


def test_defaults_match_the_public_table() -> None:
    settings = load_settings(VALID)
    assert settings.slack_api_url == "https://slack.com/api/"
    [account] = settings.accounts
    assert (account.name, account.network, account.slack_channel) == ("x", "x", "C0123ABCD")
    assert account.value("api_url") == "https://api.twitter.com"
    assert account.value("poll_seconds") == 60
    assert account.value("backfill") == timedelta(hours=24)
    assert settings.database_url == "sqlite:///carebridge.db"
    assert settings.port == 3000
    assert str(settings.timezone) == "UTC"
    assert settings.business_hours.always_open
    assert settings.sla_first_response == timedelta(hours=1)
    assert settings.sla_next_response == timedelta(hours=1)
    assert settings.sla_warn_before == timedelta(minutes=10)
    assert not settings.socket_mode


def test_every_problem_is_named_at_once() -> None:
    env = {
        "SLACK_BOT_TOKEN": "xoxp-user-token",
        "SLACK_CHANNEL_ID": "support",
        "X_POLL_SECONDS": "soon",
        "TIMEZONE": "Mars/Olympus",
        "BUSINESS_HOURS": "weekdays 9-5",
        "SLA_FIRST_RESPONSE": "fast",
        "DATABASE_URL": "mysql://db",
        "LOG_FORMAT": "xml",
    }
    with pytest.raises(ConfigError) as caught:
        load_settings(env)
    message = str(caught.value)
    for name in (
        "SLACK_BOT_TOKEN",
        "SLACK_CHANNEL_ID",
        "SLACK_SIGNING_SECRET",
        "X_CONSUMER_KEY",
        "X_POLL_SECONDS",
        "TIMEZONE",
        "BUSINESS_HOURS",
        "SLA_FIRST_RESPONSE",
        "DATABASE_URL",
        "LOG_FORMAT",
    ):
        assert name in message, name
    assert len(caught.value.problems) == 10


def test_socket_mode_needs_no_signing_secret_and_postgres_urls_are_normalised() -> None:
    env = {**VALID, "SLACK_APP_TOKEN": "xapp-1-A-1", "DATABASE_URL": "postgres://u@h/db"}
    del env["SLACK_SIGNING_SECRET"]
    settings = load_settings(env)
    assert settings.socket_mode
    assert settings.database_url == "postgresql+psycopg://u@h/db"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("30s", timedelta(seconds=30)),
        ("15m", timedelta(minutes=15)),
        ("1h30m", timedelta(minutes=90)),
        ("2d", timedelta(days=2)),
    ],
)
def test_durations(text: str, expected: timedelta) -> None:
    assert parse_duration(text) == expected


def test_bad_configuration_stops_start_up_with_one_message_and_status_2(tmp_path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "X_"))}
    env["SLACK_CHANNEL_ID"] = "not-a-channel"
    result = subprocess.run(
        [sys.executable, "-m", "bot", "run"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert "SLACK_BOT_TOKEN is required" in result.stderr
    assert "SLACK_CHANNEL_ID='not-a-channel'" in result.stderr


SLACK_ONLY = {k: v for k, v in VALID.items() if not k.startswith("X_")}
PAGE = {
    "META_PAGE_ID": "1029384756",
    "META_PAGE_ACCESS_TOKEN": "EAAGpage",
    "META_APP_SECRET": "app-secret",
    "META_VERIFY_TOKEN": "verify-me",
}


def test_a_facebook_page_alone_needs_no_x_setting_and_x_alone_no_meta_one() -> None:
    [page] = load_settings({**SLACK_ONLY, **PAGE}).accounts
    assert (page.network, page.value("page_id"), page.value("human_agent")) == (
        "facebook",
        "1029384756",
        False,
    )
    assert page.value("graph_url").startswith("https://graph.facebook.com/v")
    [x] = load_settings(VALID).accounts
    assert x.network == "x"
    both = load_settings({**VALID, **PAGE, "META_HUMAN_AGENT": "true"}).accounts
    assert [(a.network, a.value("human_agent")) for a in both] == [
        ("x", None),
        ("facebook", True),
    ]


def test_slack_post_interval_paces_posts_and_may_be_lifted() -> None:
    assert load_settings(VALID).slack_post_interval == timedelta(seconds=1)
    assert load_settings({**VALID, "SLACK_POST_INTERVAL": "0s"}).slack_post_interval == timedelta()
    with pytest.raises(ConfigError):
        load_settings({**VALID, "SLACK_POST_INTERVAL": "often"})


def test_outbox_retention_is_a_day_or_more() -> None:
    assert load_settings(VALID).outbox_retention == timedelta(days=7)
    assert load_settings({**VALID, "OUTBOX_RETENTION": "30d"}).outbox_retention.days == 30
    with pytest.raises(ConfigError) as caught:
        load_settings({**VALID, "OUTBOX_RETENTION": "1h"})
    assert "OUTBOX_RETENTION" in str(caught.value) and "a day or more" in str(caught.value)


def test_no_account_at_all_names_every_networks_way_in() -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings(SLACK_ONLY)
    [problem] = caught.value.problems
    assert "no brand account is configured" in problem
    assert "X_CONSUMER_KEY" in problem and "META_PAGE_ID" in problem and "ACCOUNTS_FILE" in problem


def test_a_page_half_configured_names_what_is_missing_and_repeats_no_secret() -> None:
    env = {**SLACK_ONLY, "META_PAGE_ID": "1029384756", "META_PAGE_ACCESS_TOKEN": "EAAGpage"}
    with pytest.raises(ConfigError) as caught:
        load_settings({**env, "META_HUMAN_AGENT": "sometimes"})
    message = str(caught.value)
    assert "META_APP_SECRET, META_VERIFY_TOKEN required for Facebook" in message
    assert "META_HUMAN_AGENT" in message and "true or false" in message
    assert "EAAGpage" not in message


def test_csat_settings_and_their_defaults() -> None:
    from bot.domain.surveys import SurveyMode

    default = load_settings(VALID)
    assert (default.csat, default.csat_delay, default.csat_cooldown) == (
        SurveyMode.PRIVATE,
        timedelta(minutes=10),
        timedelta(days=7),
    )
    chosen = load_settings({**VALID, "CSAT": "ALL", "CSAT_DELAY": "30m", "CSAT_COOLDOWN": "0s"})
    assert (chosen.csat, chosen.csat_delay, chosen.csat_cooldown) == (
        SurveyMode.ALL,
        timedelta(minutes=30),
        timedelta(0),
    )
    with pytest.raises(ConfigError) as caught:
        load_settings({**VALID, "CSAT": "sometimes", "CSAT_DELAY": "later"})
    message = str(caught.value)
    assert "CSAT" in message and "'off', 'private'" in message and "CSAT_DELAY" in message
