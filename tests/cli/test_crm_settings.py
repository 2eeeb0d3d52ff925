"""CRM_LOOKUP_URL and its companions: defaults, what is refused, and the token kept secret."""

from __future__ import annotations

from datetime import timedelta

import pytest

from bot.config import ConfigError, load_settings

VALID = {
    "SLACK_BOT_TOKEN": "xoxb-1-2-abc",
    "SLACK_CHANNEL_ID": "C0123ABCD",
    "SLACK_SIGNING_SECRET": "secret",
    "X_CONSUMER_KEY": "ck",
    "X_CONSUMER_SECRET": "cs",
    "X_ACCESS_TOKEN": "at",
    "X_ACCESS_TOKEN_SECRET": "ats",
}
URL = "https://crm.example.com/api/lookup?network={network}&handle={handle}"


def test_crm_lookup_is_off_unless_set_and_has_a_short_timeout_and_an_hour_of_cache() -> None:
    default = load_settings(VALID)
    assert default.crm_lookup_url is None and default.crm_lookup_token is None
    assert default.crm_lookup_ttl == timedelta(hours=1)
    assert default.crm_lookup_timeout == timedelta(seconds=2)

    chosen = load_settings(
        {
            **VALID,
            "CRM_LOOKUP_URL": URL,
            "CRM_LOOKUP_TOKEN": "crm-secret-token",
            "CRM_LOOKUP_TTL": "1d",
            "CRM_LOOKUP_TIMEOUT": "0.5s",
        }
    )
    assert chosen.crm_lookup_url == URL
    assert chosen.crm_lookup_ttl == timedelta(days=1)
    assert chosen.crm_lookup_timeout == timedelta(seconds=0.5)
    assert "crm-secret-token" in chosen.secrets()
    assert load_settings({**VALID, "CRM_LOOKUP_TIMEOUT": "3"}).crm_lookup_timeout == timedelta(
        seconds=3
    )


def test_a_lookup_url_that_cannot_work_and_bad_durations_are_named_at_once() -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings(
            {
                **VALID,
                "CRM_LOOKUP_URL": "https://crm.example.com/lookup?email={email}",
                "CRM_LOOKUP_TTL": "soon",
                "CRM_LOOKUP_TIMEOUT": "30s",
            }
        )
    message = str(caught.value)
    assert "CRM_LOOKUP_URL" in message and "{handle} or {external_id}" in message
    assert "CRM_LOOKUP_TTL" in message
    assert "CRM_LOOKUP_TIMEOUT" in message and "0.1s to 10s" in message
