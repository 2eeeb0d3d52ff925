"""`carebridge doctor` for a Facebook Page: the token works and names the Page, the app is
subscribed to the fields Carebridge needs, the token has the permissions, the webhook's secrets
are set."""

from __future__ import annotations

from bot.domain.delivery import CredentialsRefused, DeliveryError, RateLimited
from bot.networks.base import AccountConfig, Finding, SocialChannel

FIELDS = ("feed", "messages", "message_echoes", "message_edits", "message_reactions", "mention")
PERMISSIONS = (
    "pages_messaging",
    "pages_manage_metadata",
    "pages_read_engagement",
    "pages_read_user_content",
    "pages_manage_engagement",
)


def check(account: AccountConfig, channel: SocialChannel) -> Finding:
    from bot.networks.facebook import CREDENTIALS_FIX
    from bot.networks.facebook.adapter import FacebookChannel

    assert isinstance(channel, FacebookChannel)
    try:
        page = channel.identify()
        fields = set(channel.subscribed_fields())
        granted = channel.permissions()
    except RateLimited as error:
        return Finding(False, error.reason, "Meta asks to wait; run doctor again later")
    except CredentialsRefused as error:
        return Finding(False, error.reason, CREDENTIALS_FIX)
    except DeliveryError as error:
        return Finding(False, error.reason, "check META_GRAPH_URL and the network")
    problems, fixes = [], []
    missing_fields = [f for f in FIELDS if f not in fields]
    if missing_fields:
        problems.append(f"the app is not subscribed to {', '.join(missing_fields)}")
        fixes.append(
            f"subscribe the Page: POST /{page.external_id}/subscribed_apps with "
            f"subscribed_fields={','.join(FIELDS)}, and add the same fields to the app's "
            "Webhooks product (Page)"
        )
    missing = [p for p in PERMISSIONS if granted.get(p) != "granted"]
    if missing:
        problems.append(f"the token lacks {', '.join(missing)}")
        fixes.append(f"generate the Page token again granting {', '.join(missing)}")
    for key, name in (("app_secret", "META_APP_SECRET"), ("verify_token", "META_VERIFY_TOKEN")):
        if not account.value(key):
            problems.append(f"{name} is not set")
            fixes.append(f"set {name}")
    if problems:
        return Finding(
            False, f"{page.name} ({page.external_id}): " + "; ".join(problems), "; ".join(fixes)
        )
    return Finding(
        True,
        f"{page.name} ({page.external_id}): subscribed to {len(FIELDS)} webhook fields, the token "
        f"has the {len(PERMISSIONS)} permissions, the webhook's secret and verify token are set",
    )
