"""Chirp: a made-up social network that pushes messages by webhook, in tests only.

It proves that a network is one package: everything Chirp is lives here (its spec, adapter,
webhook receiver and emulator) and the bot learns of it only through the registry
(`Registry.default().with_network(CHIRP)`). Nothing outside this folder names it.

Chirp's rules: handles are 1-20 lower-case letters, digits or `_`; public replies hold 500
characters; replies thread under the customer's post, so public notices start with no @handle;
the brand can DM anyone who wrote to it. A webhook delivery is JSON signed with
`X-Chirp-Signature: sha256=<hex HMAC-SHA256 of the body with the app secret>`.
"""

from __future__ import annotations

import re
from datetime import timedelta

from bot.clock import Clock
from bot.networks.base import (
    AccountConfig,
    AccountIdentity,
    Finding,
    Handles,
    NetworkSpec,
    Setting,
    SocialChannel,
    Webhook,
)
from bot.parsing import http_url
from tests.chirp.adapter import ChirpChannel
from tests.chirp.webhook import ChirpReceiver

NAME = "chirp"
HANDLE = re.compile(r"[a-z0-9_]{1,20}")

SETTINGS = (
    Setting("api_url", parse=http_url, required=True, expects="the Chirp API's URL"),
    Setting("account_id", required=True, expects="the brand account's Chirp id"),
    Setting("token", required=True, secret=True, expects="the account's API token"),
    Setting("app_secret", required=True, secret=True, expects="the webhook signing secret"),
)


def build(account: AccountConfig, clock: Clock, timeout: timedelta) -> ChirpChannel:
    return ChirpChannel(
        api_url=str(account.value("api_url")),
        token=str(account.value("token")),
        timeout=timeout.total_seconds(),
    )


def check(account: AccountConfig, channel: SocialChannel) -> Finding:
    me = channel.identify()
    return Finding(True, f"@{me.handle} ({me.external_id})")


def dm_link(account: AccountIdentity) -> str:
    return f"https://chirp.example/messages/{account.handle}"


CHIRP = NetworkSpec(
    name=NAME,
    label="Chirp",
    settings=SETTINGS,
    build=build,
    public_text_limit=500,
    public_length=len,
    handles=Handles(HANDLE, 20, lambda handle: f"https://chirp.example/{handle}"),
    address_public_notices=False,
    webhook=Webhook("/webhooks/chirp", ChirpReceiver.for_accounts),
    private_message_link=dm_link,
    credentials_fix="create a new token for the account in Chirp's settings",
    doctor=check,
)
