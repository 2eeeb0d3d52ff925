"""Instagram: a professional account's comments and Direct messages, received by Meta's
webhooks and answered through the Graph API with the token of the Facebook Page it is linked to.

`INSTAGRAM` is the network's spec: one account is one Instagram professional account (its id)
and the linked Page's access token; the Meta app's secret and verify token are shared with the
app's other products. Comments are public conversations answered under the customer's comment
(2,200 characters); Direct messages are private (1,000 characters), within 24 hours of the
customer's last message, or 7 days with the HUMAN_AGENT tag when the app is approved for it.
Move to DM is a private reply to the comment.

Priority counts followers where Meta gives them: a Direct sender's profile says how many follow
them; a commenter's (or mentioner's) count comes from Business Discovery, which answers only for
business and creator accounts and needs `instagram_basic` and `pages_read_engagement` on the
Page token (its reference also lists `instagram_manage_insights`). A personal account's count is
not public: it stays 0, and the comment arrives all the same.
"""

from __future__ import annotations

import re
from datetime import timedelta

from bot.clock import Clock
from bot.networks.base import (
    AccountConfig,
    AccountIdentity,
    Handles,
    NetworkSpec,
    Setting,
    Webhook,
)
from bot.networks.instagram.adapter import InstagramChannel
from bot.networks.instagram.doctor import check
from bot.networks.instagram.webhook import InstagramReceiver
from bot.networks.meta.settings import (
    APP_SECRET,
    GRAPH,
    GRAPH_URL,
    HIDE_ABUSIVE,
    HUMAN_AGENT,
    VERIFY_TOKEN,
)

NETWORK = "instagram"
WEBHOOK_PATH = "/webhooks/meta"
COMMENT_LIMIT = 2_200
DIRECT_LIMIT = 1_000
USERNAME = re.compile(r"[A-Za-z0-9._]{1,30}")
CREDENTIALS_FIX = (
    "generate a new access token for the Facebook Page linked to the Instagram account (with "
    "instagram_basic, instagram_manage_messages and instagram_manage_comments, and "
    "pages_read_engagement and instagram_manage_insights for commenters' followers) and put it "
    "in META_PAGE_ACCESS_TOKEN (or the account's page_access_token in ACCOUNTS_FILE)"
)


def _account_id(value: str) -> str:
    if not value.isascii() or not value.isdigit():
        raise ValueError("not a numeric id")
    return value


SETTINGS = (
    Setting(
        "account_id",
        "INSTAGRAM_ACCOUNT_ID",
        required=True,
        parse=_account_id,
        expects="the Instagram professional account's numeric id",
    ),
    Setting(
        "page_access_token",
        "META_PAGE_ACCESS_TOKEN",
        required=True,
        secret=True,
        expects="the access token of the Facebook Page linked to the account",
    ),
    APP_SECRET,
    VERIFY_TOKEN,
    GRAPH,
    HUMAN_AGENT,
    HIDE_ABUSIVE,
)


def build(account: AccountConfig, clock: Clock, timeout: timedelta) -> InstagramChannel:
    return InstagramChannel(
        graph_url=str(account.value("graph_url") or GRAPH_URL),
        account_id=str(account.value("account_id")),
        page_access_token=str(account.value("page_access_token")),
        clock=clock,
        timeout=timeout.total_seconds(),
    )


def direct_link(account: AccountIdentity) -> str:
    return f"https://ig.me/m/{account.handle}"


def sandbox_values(graph_url: str) -> dict[str, str]:
    """The settings of the emulator's default account (acme.italia)."""
    from bot.networks.instagram.emulator import SANDBOX_ACCOUNT

    return {**SANDBOX_ACCOUNT, "graph_url": graph_url}


INSTAGRAM = NetworkSpec(
    name=NETWORK,
    label="Instagram",
    settings=SETTINGS,
    build=build,
    public_text_limit=COMMENT_LIMIT,
    private_text_limit=DIRECT_LIMIT,
    public_name="comment",
    private_name="Direct message",
    handles=Handles(USERNAME, 30, lambda name: f"https://www.instagram.com/{name}/"),
    has_followers=True,  # a Direct sender's profile; a business commenter's Business Discovery
    address_public_notices=False,  # a reply threads under the customer's comment
    webhook=Webhook(WEBHOOK_PATH, InstagramReceiver.for_accounts),
    private_message_link=direct_link,
    invites_privately=True,
    private_window=timedelta(hours=24),
    extended_private_window=timedelta(days=7),
    extended_window_setting="human_agent",
    can_hide=True,
    credentials_fix=CREDENTIALS_FIX,
    doctor=check,
    sandbox_values=sandbox_values,
)
