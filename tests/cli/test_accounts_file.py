"""ACCOUNTS_FILE: several brand accounts from TOML; every fault named at once, with file and
line, exit status 2, no traceback, and no secret repeated back."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest

from bot.config import ConfigError, load_settings
from bot.domain.hours import parse_business_hours

BASE = {
    "SLACK_BOT_TOKEN": "xoxb-1-2-abc",
    "SLACK_CHANNEL_ID": "C0123ABCD",
    "SLACK_SIGNING_SECRET": "secret",
}
GOOD = """
[[accounts]]
name = "acme-care"
network = "x"
consumer_key = "${CARE_CK}"
consumer_secret = "${CARE_CS}"
access_token = "${CARE_AT}"
access_token_secret = "${CARE_ATS}"
poll_seconds = 30
out_of_hours_public = true
listen_query = "(acme OR #acmecare) -is:retweet"
read_budget = 5000

[[accounts]]
name = "acme-brand"
network = "x"
slack_channel = "C0BRAND01"
consumer_key = "brand-key-1"
consumer_secret = "brand-secret-1"
access_token = "brand-token-1"
access_token_secret = "brand-token-secret-1"
api_url = "http://127.0.0.1:9"
backfill = "2h"
business_hours = "mon-fri 09:00-18:00"
sla_first_response = "15m"
"""
CARE = {"CARE_CK": "ck-care", "CARE_CS": "cs-care", "CARE_AT": "at-care", "CARE_ATS": "ats-care"}


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "accounts.toml"
    path.write_text(text)
    return path


def test_a_good_file_defines_each_account_with_its_settings(tmp_path: Path) -> None:
    path = write(tmp_path, GOOD)
    settings = load_settings({**BASE, **CARE, "ACCOUNTS_FILE": str(path)})
    care, brand = settings.accounts
    assert (care.name, care.slack_channel, brand.slack_channel) == (
        "acme-care",
        "C0123ABCD",  # SLACK_CHANNEL_ID by default
        "C0BRAND01",
    )
    assert care.value("consumer_key") == "ck-care"  # ${VAR} read from the environment
    assert care.value("poll_seconds") == 30 and care.out_of_hours_public is True
    assert care.value("api_url") == "https://api.twitter.com"
    assert brand.value("backfill") == timedelta(hours=2)
    assert brand.business_hours == parse_business_hours("mon-fri 09:00-18:00")
    assert brand.sla_first_response == timedelta(minutes=15)
    assert settings.support_channels == {"C0123ABCD", "C0BRAND01"}
    assert brand.source == f"{path}:14"
    assert care.value("listen_query") == "(acme OR #acmecare) -is:retweet"
    assert (care.value("read_budget"), brand.value("listen_query")) == (5000, None)
    # Every account's secrets are known to the log redactor; no value shows in a repr.
    assert {"ck-care", "brand-secret-1", "brand-token-1"} <= set(settings.secrets())
    assert "brand-secret-1" not in repr(brand)


def test_every_fault_is_named_with_its_line(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
[[accounts]]
name = "acme-care"
network = "x"
consumer_key = "${CARE_CK}"
consumer_secret = "${NOT_SET_ANYWHERE}"
access_token = "at"
access_token_secret = "super-secret-value"
pol_seconds = 30

[[accounts]]
name = "acme-care"
network = "x"
consumer_key = "k"
consumer_secret = "s"
access_token = "t"
access_token_secret = "ts"

[[accounts]]
name = "acme-fb"
network = "myspace"

[[accounts]]
name = "acme-three"
network = "x"
consumer_key = "k"
poll_seconds = "often"
slack_channel = "support"
""",
    )
    with pytest.raises(ConfigError) as caught:
        load_settings({**BASE, **CARE, "ACCOUNTS_FILE": str(path)})
    problems = caught.value.problems
    expected = [
        f"{path}:6: account 'acme-care': consumer_secret uses ${{NOT_SET_ANYWHERE}}, which is "
        "not set in the environment",
        f"{path}:9: account 'acme-care': unknown key 'pol_seconds' for X",
        f"{path}:12: the name 'acme-care' is already used on line 3",
        f"{path}:21: account 'acme-fb': unknown network 'myspace' "
        "(known: x, facebook, instagram, whatsapp)",
        f"{path}:28: account 'acme-three': slack_channel: expected a channel id",
        f"{path}:23: account 'acme-three' has no consumer_secret",
        f"{path}:27: account 'acme-three': poll_seconds: expected whole seconds",
    ]
    text = "\n".join(problems)
    for fault in expected:
        assert fault in text, fault
    assert "super-secret-value" not in text


@pytest.mark.parametrize(
    ("content", "fault"),
    [
        ("[[accounts]\nname = ", "not valid TOML"),
        ("title = 'x'\n", "no [[accounts]] entries"),
        ("[[accounts]]\nnetwork = 'x'\n", "account 1 has no name"),
        ("[[accounts]]\nname = 'Acme Care!'\nnetwork = 'x'\n", "a name that is not lower-case"),
    ],
)
def test_a_broken_file_says_what_is_wrong(tmp_path: Path, content: str, fault: str) -> None:
    path = write(tmp_path, content)
    with pytest.raises(ConfigError) as caught:
        load_settings({**BASE, "ACCOUNTS_FILE": str(path)})
    assert any(fault in p for p in caught.value.problems), caught.value.problems


def test_a_missing_or_unreadable_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no such file"):
        load_settings({**BASE, "ACCOUNTS_FILE": str(tmp_path / "nope.toml")})
    latin = tmp_path / "latin.toml"
    latin.write_bytes("[[accounts]]\nname = 'caf\xe9'\n".encode("latin-1"))
    with pytest.raises(ConfigError, match="not UTF-8"):
        load_settings({**BASE, "ACCOUNTS_FILE": str(latin)})


def test_slack_channel_id_is_needed_only_by_accounts_without_their_own(tmp_path: Path) -> None:
    own = GOOD.replace('name = "acme-care"', 'name = "acme-care"\nslack_channel = "C0CARE001"')
    path = write(tmp_path, own)
    env = {k: v for k, v in BASE.items() if k != "SLACK_CHANNEL_ID"}
    settings = load_settings({**env, **CARE, "ACCOUNTS_FILE": str(path)})
    assert settings.support_channels == {"C0CARE001", "C0BRAND01"}
    with pytest.raises(ConfigError, match="SLACK_CHANNEL_ID is required"):
        load_settings({**env, **CARE, "ACCOUNTS_FILE": str(write(tmp_path, GOOD))})


def test_a_bad_file_stops_start_up_with_one_message_and_status_2(tmp_path: Path) -> None:
    path = write(tmp_path, "[[accounts]]\nname = 'acme'\nnetwork = 'x'\nconsumer_key = 'k'\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "X_"))}
    env |= {**BASE, "ACCOUNTS_FILE": str(path)}
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
    assert f"{path}:1: account 'acme' has no consumer_secret" in result.stderr
    assert f"{path}:1: account 'acme' has no access_token_secret" in result.stderr


PAGES = """
[[accounts]]
name = "acme-x"
network = "x"
consumer_key = "ck"
consumer_secret = "cs"
access_token = "at"
access_token_secret = "ats"

[[accounts]]
name = "acme-italia"
network = "facebook"
slack_channel = "C0PAGES01"
page_id = "1029384756"
page_access_token = "${ITALIA_TOKEN}"
human_agent = true

[[accounts]]
name = "acme-outlet"
network = "facebook"
page_id = "5647382910"
page_access_token = "outlet-token"
app_secret = "outlet-app-secret"
verify_token = "outlet-verify"
"""


def test_facebook_pages_in_the_file_share_the_apps_secret_from_the_environment(
    tmp_path: Path,
) -> None:
    path = write(tmp_path, PAGES)
    env = {
        **BASE,
        "ACCOUNTS_FILE": str(path),
        "ITALIA_TOKEN": "italia-token",
        "META_APP_SECRET": "app-secret",
        "META_VERIFY_TOKEN": "verify-me",
    }
    x, italia, outlet = load_settings(env).accounts
    assert x.network == "x" and (italia.network, outlet.network) == ("facebook", "facebook")
    assert (italia.slack_channel, outlet.slack_channel) == ("C0PAGES01", "C0123ABCD")
    assert italia.value("page_access_token") == "italia-token"
    assert italia.value("human_agent") is True and outlet.value("human_agent") is False
    assert (italia.value("app_secret"), italia.value("verify_token")) == ("app-secret", "verify-me")
    assert outlet.value("app_secret") == "outlet-app-secret"  # a Page of another Meta app


def test_a_page_without_its_token_or_the_apps_secret_is_named_with_its_line(
    tmp_path: Path,
) -> None:
    text = PAGES.replace('page_access_token = "outlet-token"\n', "")
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as caught:
        load_settings({**BASE, "ACCOUNTS_FILE": str(path), "ITALIA_TOKEN": "t"})
    message = str(caught.value)
    assert f"{path}:18: account 'acme-outlet' has no page_access_token" in message
    assert "account 'acme-italia' has no app_secret" in message
    assert "italia-token" not in message and "outlet-app-secret" not in message
