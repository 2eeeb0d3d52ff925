"""EVENTS_WEBHOOK_URL, EVENTS_WEBHOOK_SECRET, EVENTS_INCLUDE_TEXT: checked with the rest, the
secret never quoted nor logged, all three documented where operators look."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from bot.config import ConfigError, load_settings
from tests.cli.test_config import VALID

ROOT = Path(__file__).resolve().parents[2]
SECRET = "s3cret-that-is-long-enough"


def test_off_by_default() -> None:
    settings = load_settings(VALID)
    assert settings.events_webhook_url is None
    assert settings.events_webhook_secret is None
    assert settings.events_include_text is False


def test_a_url_with_its_secret() -> None:
    settings = load_settings(
        {
            **VALID,
            "EVENTS_WEBHOOK_URL": "https://crm.example.com/hooks/carebridge",
            "EVENTS_WEBHOOK_SECRET": SECRET,
            "EVENTS_INCLUDE_TEXT": "true",
        }
    )
    assert settings.events_webhook_url == "https://crm.example.com/hooks/carebridge"
    assert settings.events_include_text is True
    assert SECRET in settings.secrets()  # never written in a log line


@pytest.mark.parametrize(
    ("env", "problem"),
    [
        ({"EVENTS_WEBHOOK_URL": "crm.example.com/hooks"}, "EVENTS_WEBHOOK_URL="),
        ({"EVENTS_WEBHOOK_URL": "https://crm.example.com/"}, "EVENTS_WEBHOOK_SECRET is required"),
        (
            {"EVENTS_WEBHOOK_URL": "https://crm.example.com/", "EVENTS_WEBHOOK_SECRET": "short"},
            "EVENTS_WEBHOOK_SECRET: expected 16 characters or more",
        ),
        ({"EVENTS_INCLUDE_TEXT": "perhaps"}, "EVENTS_INCLUDE_TEXT="),
    ],
)
def test_a_bad_value_is_named(env: dict[str, str], problem: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings({**VALID, **env})
    assert problem in str(caught.value)
    assert "short" not in str(caught.value)  # a secret is never quoted


@pytest.mark.parametrize(
    "name", ["EVENTS_WEBHOOK_URL", "EVENTS_WEBHOOK_SECRET", "EVENTS_INCLUDE_TEXT"]
)
def test_documented_in_env_example_and_the_readme(name: str) -> None:
    example = (ROOT / ".env.example").read_text()
    assert re.search(rf"^(# )?{name}=", example, re.MULTILINE)
    assert f"| `{name}` |" in (ROOT / "README.md").read_text()
