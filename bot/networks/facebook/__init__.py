"""Facebook: a Page's comments and Messenger conversations, received by Meta's webhooks and
answered through the Graph API.

`FACEBOOK` is the network's spec: one account is one Page (its id and Page access token); the
Meta app's secret and verify token are shared by every Page of the app. Comments are public
conversations answered under the customer's latest comment (8,000 characters); Messenger is
private (2,000 characters), within 24 hours of the customer's last message, or 7 days with the
HUMAN_AGENT tag when the Page is approved for it. Move to DM is a private reply to the comment.
"""

from __future__ import annotations

from datetime import timedelta

from bot.clock import Clock
from bot.networks.base import (
    AccountConfig,
    AccountIdentity,
    NetworkSpec,
    Setting,
    Webhook,
)
from bot.networks.facebook.adapter import FacebookChannel
from bot.networks.facebook.doctor import check
from bot.networks.facebook.webhook import MetaReceiver
from bot.networks.meta.settings import (
    APP_SECRET,
    GRAPH,
    GRAPH_URL,
    HIDE_ABUSIVE,
    HUMAN_AGENT,
    VERIFY_TOKEN,
)

NETWORK = "facebook"
WEBHOOK_PATH = "/webhooks/meta"
COMMENT_LIMIT = 8_000
MESSENGER_LIMIT = 2_000
CREDENTIALS_FIX = (
    "generate a new Page access token (Meta app > Messenger API settings, or the Graph API "
    "Explorer with the Page selected) and put it in META_PAGE_ACCESS_TOKEN (or the account's "
    "page_access_token in ACCOUNTS_FILE); a token stops working when it expires, when the "
    "person who made it changes their password, or when the app is removed from the Page"
)

SETTINGS = (
    Setting("page_id", "META_PAGE_ID", required=True, expects="the Page's numeric id"),
    Setting(
        "page_access_token",
        "META_PAGE_ACCESS_TOKEN",
        required=True,
        secret=True,
        expects="the Page access token",
    ),
    APP_SECRET,
    VERIFY_TOKEN,
    GRAPH,
    HUMAN_AGENT,
    HIDE_ABUSIVE,
)


def build(account: AccountConfig, clock: Clock, timeout: timedelta) -> FacebookChannel:
    return FacebookChannel(
        graph_url=str(account.value("graph_url") or GRAPH_URL).rstrip("/"),
        page_id=str(account.value("page_id")),
        page_access_token=str(account.value("page_access_token")),
        clock=clock,
        timeout=timeout.total_seconds(),
    )


def messenger_link(page: AccountIdentity) -> str:
    return f"https://m.me/{page.external_id}"


def sandbox_values(graph_url: str) -> dict[str, str]:
    """The settings of the emulator's default Page (Acme Italia)."""
    from bot.networks.facebook.emulator import SANDBOX_PAGE

    return {**SANDBOX_PAGE, "graph_url": graph_url}


FACEBOOK = NetworkSpec(
    name=NETWORK,
    label="Facebook",
    settings=SETTINGS,
    build=build,
    public_text_limit=COMMENT_LIMIT,
    private_text_limit=MESSENGER_LIMIT,
    public_name="comment",
    private_name="Messenger",
    handles=None,  # a Facebook user has no public @handle Carebridge can address
    has_followers=False,  # a Page sees a person, not their audience
    address_public_notices=False,  # a reply threads under the customer's comment
    webhook=Webhook(WEBHOOK_PATH, MetaReceiver.for_accounts),
    private_message_link=messenger_link,
    invites_privately=True,
    private_window=timedelta(hours=24),
    extended_private_window=timedelta(days=7),
    extended_window_setting="human_agent",
    can_hide=True,
    credentials_fix=CREDENTIALS_FIX,
    doctor=check,
    sandbox_values=sandbox_values,
)
