"""`carebridge doctor` for an Instagram account: the Page token reads the account, and the
webhook's secrets are set."""

from __future__ import annotations

from bot.domain.delivery import CredentialsRefused, DeliveryError, RateLimited
from bot.networks.base import AccountConfig, Finding, SocialChannel

FIELDS = ("comments", "mentions", "messages", "message_reactions", "message_edit")
PERMISSIONS = ("instagram_basic", "instagram_manage_messages", "instagram_manage_comments")


def check(account: AccountConfig, channel: SocialChannel) -> Finding:
    from bot.networks.instagram import CREDENTIALS_FIX

    try:
        found = channel.identify()
    except RateLimited as error:
        return Finding(False, error.reason, "Meta asks to wait; run doctor again later")
    except CredentialsRefused as error:
        return Finding(False, error.reason, CREDENTIALS_FIX)
    except DeliveryError as error:
        return Finding(
            False,
            error.reason,
            "check INSTAGRAM_ACCOUNT_ID (the professional account's id, not its @username), "
            f"that the Page token has {', '.join(PERMISSIONS)}, and META_GRAPH_URL",
        )
    unset = [
        name
        for key, name in (("app_secret", "META_APP_SECRET"), ("verify_token", "META_VERIFY_TOKEN"))
        if not account.value(key)
    ]
    if unset:
        return Finding(False, f"@{found.handle}: {' and '.join(unset)} not set", "set them")
    return Finding(
        True,
        f"@{found.handle} ({found.external_id}): the Page token reads the account; subscribe "
        f"the app's Instagram webhook to {', '.join(FIELDS)}",
    )
