"""X (Twitter): mentions and DMs polled through the API v2, answers as replies and DMs.

`X` is the network's spec: the settings of an X account (the four OAuth 1.0a user-context
credentials of the brand account, and where and how often to poll), how to build its adapter,
X's length counting and handles, and the doctor's check.
"""

from __future__ import annotations

from datetime import timedelta

from bot.clock import Clock
from bot.domain.delivery import CredentialsRefused, DeliveryError, RateLimited, TransientError
from bot.networks.base import AccountConfig, Finding, Handles, NetworkSpec, Setting, SocialChannel
from bot.networks.x.adapter import NETWORK, PAGES_PER_POLL, XChannel, private_message_link
from bot.networks.x.query import listen_query
from bot.networks.x.text import (
    HANDLE,
    HANDLE_MAX_LENGTH,
    X_MAX_WEIGHTED_LENGTH,
    profile_url,
    x_weighted_length,
)
from bot.parsing import POSITIVE_DURATION_FORM, http_url, int_between, positive_duration

API_URL = "https://api.twitter.com"
CREDENTIALS_FIX = (
    "check X_CONSUMER_KEY, X_CONSUMER_SECRET, X_ACCESS_TOKEN and X_ACCESS_TOKEN_SECRET (or the "
    "account's four credentials in ACCOUNTS_FILE): the access token and secret must be "
    "generated while logged in as the brand account, for an app with Read and write and Direct "
    "message permission (regenerate them after changing it, or after they were revoked)"
)


def _credential(key: str, env: str) -> Setting:
    return Setting(key, env, required=True, secret=True, expects="the credential from the X app")


SETTINGS = (
    _credential("consumer_key", "X_CONSUMER_KEY"),
    _credential("consumer_secret", "X_CONSUMER_SECRET"),
    _credential("access_token", "X_ACCESS_TOKEN"),
    _credential("access_token_secret", "X_ACCESS_TOKEN_SECRET"),
    Setting("bearer_token", "X_BEARER_TOKEN", secret=True, expects="an app-only bearer token"),
    Setting("api_url", "X_API_URL", parse=http_url, expects="an http(s) URL", default=API_URL),
    Setting(
        "poll_seconds",
        "X_POLL_SECONDS",
        parse=int_between(5, 86_400),
        expects="whole seconds from 5 to 86400",
        default=60,
    ),
    Setting(
        "backfill",
        "X_BACKFILL",
        parse=positive_duration,
        expects=POSITIVE_DURATION_FORM,
        default=timedelta(hours=24),
    ),
    Setting(
        "listen_query",
        "LISTEN_QUERY",
        parse=listen_query,
        expects="an X search query, e.g. (acme OR #acmecare) -is:retweet lang:it",
    ),
    Setting(
        "read_budget",
        "X_READ_BUDGET",
        parse=int_between(10, 100_000_000),
        expects="the posts listening may read per month, e.g. 10000",
    ),
    Setting(
        "pages_per_poll",
        parse=int_between(1, 1000),
        expects="a whole number of pages of 100 from 1 to 1000",
        default=PAGES_PER_POLL,
    ),
)


def build(account: AccountConfig, clock: Clock, timeout: timedelta) -> XChannel:
    return XChannel.default(
        consumer_key=account.value("consumer_key"),
        consumer_secret=account.value("consumer_secret"),
        access_token=account.value("access_token"),
        access_token_secret=account.value("access_token_secret"),
        bearer_token=account.value("bearer_token"),
        api_url=str(account.value("api_url") or API_URL).rstrip("/"),
        clock=clock,
        timeout=timeout.total_seconds(),
        pages_per_poll=int(account.value("pages_per_poll") or PAGES_PER_POLL),
    )


def check(account: AccountConfig, channel: SocialChannel) -> Finding:
    """Doctor: the credentials work, and whose they are."""
    api_url = account.value("api_url") or API_URL
    where = "X_API_URL" if account.source == "the environment" else f"api_url of {account.name}"
    try:
        me = channel.identify()
    except RateLimited as error:
        when = f" until {error.retry_at:%H:%M} UTC" if error.retry_at else ""
        return Finding(False, error.reason, f"X asks to wait{when}; run doctor again then")
    except CredentialsRefused as error:
        return Finding(False, error.reason, CREDENTIALS_FIX)
    except TransientError as error:
        return Finding(
            False, error.reason, f"check {where} ({api_url}) and the network, then try again"
        )
    except DeliveryError as error:
        return Finding(False, error.reason, CREDENTIALS_FIX)
    return Finding(True, f"@{me.handle} ({me.external_id})")


def sandbox_values(api_url: str) -> dict[str, str]:
    """The credentials the emulator's default brand account (@acmecare) accepts."""
    from bot.networks.x.emulator import SANDBOX_CREDENTIALS

    return {**SANDBOX_CREDENTIALS, "api_url": api_url}


X = NetworkSpec(
    name=NETWORK,
    label="X",
    answers_listened_posts=False,  # since February 2026: answered on X by hand
    surveys_public_authors=True,  # a DM, where the customer's settings allow one
    settings=SETTINGS,
    build=build,
    public_text_limit=X_MAX_WEIGHTED_LENGTH,
    public_length=x_weighted_length,
    private_text_limit=10_000,  # a DM
    handles=Handles(HANDLE, HANDLE_MAX_LENGTH, profile_url),
    # X refuses a post identical to an earlier one: two customers greeted by the same first
    # name would get one notice. Starting with the customer's @handle makes each unique.
    address_public_notices=True,
    private_message_link=private_message_link,
    credentials_fix=CREDENTIALS_FIX,
    doctor=check,
    sandbox_values=sandbox_values,
)
