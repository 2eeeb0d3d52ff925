"""Configuring Instagram from the environment: its own id asks for it; the Page token and the
Meta app's secrets it shares with Facebook do not."""

from __future__ import annotations

import pytest

from bot.config import ConfigError, load_settings

BASE = {
    "SLACK_BOT_TOKEN": "xoxb-1",
    "SLACK_SIGNING_SECRET": "signing",
    "SLACK_CHANNEL_ID": "C0123ABCD",
    "META_PAGE_ACCESS_TOKEN": "page-token",
    "META_APP_SECRET": "app-secret",
    "META_VERIFY_TOKEN": "verify",
}
ACCOUNT = {"INSTAGRAM_ACCOUNT_ID": "17841400000000001"}


@pytest.mark.parametrize(
    ("extra", "networks"),
    [
        ({"META_PAGE_ID": "1000000000000001"}, ["facebook"]),
        (ACCOUNT, ["instagram"]),
        ({"META_PAGE_ID": "1000000000000001", **ACCOUNT}, ["facebook", "instagram"]),
    ],
)
def test_each_meta_product_is_configured_by_its_own_id(
    extra: dict[str, str], networks: list[str]
) -> None:
    settings = load_settings({**BASE, **extra})
    assert [account.network for account in settings.accounts] == networks


def test_a_username_is_not_an_account_id() -> None:
    with pytest.raises(ConfigError, match=r"INSTAGRAM_ACCOUNT_ID='acme\.italia': expected the"):
        load_settings({**BASE, "INSTAGRAM_ACCOUNT_ID": "acme.italia"})


def test_without_the_page_token_the_account_says_what_is_missing() -> None:
    env = {k: v for k, v in BASE.items() if k != "META_PAGE_ACCESS_TOKEN"}
    with pytest.raises(ConfigError, match="META_PAGE_ACCESS_TOKEN required for Instagram"):
        load_settings({**env, **ACCOUNT})
