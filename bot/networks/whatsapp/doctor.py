"""`carebridge doctor` for a WhatsApp number: the token works and names the number, Meta rates
the number's quality well enough, the webhook's secrets are set."""

from __future__ import annotations

from bot.domain.delivery import CredentialsRefused, DeliveryError, RateLimited
from bot.networks.base import AccountConfig, Finding, SocialChannel

# Meta's quality rating of a number, from what its customers did lately (blocks, reports).
QUALITY = {
    "GREEN": "high quality",
    "YELLOW": "medium quality: customers lately blocked or reported it more than usual",
    "RED": "low quality: Meta may soon limit how many customers it can write to",
    "UNKNOWN": "no quality rating yet",
}
QUALITY_FIX = (
    "see the number's Insights in WhatsApp Manager: answer within the 24 hours, send templates "
    "only to customers who asked for them, and let customers stop messages easily"
)


def check(account: AccountConfig, channel: SocialChannel) -> Finding:
    from bot.networks.whatsapp import CREDENTIALS_FIX
    from bot.networks.whatsapp.adapter import WhatsAppChannel

    assert isinstance(channel, WhatsAppChannel)
    try:
        number = channel.number()
    except RateLimited as error:
        return Finding(False, error.reason, "Meta asks to wait; run doctor again later")
    except CredentialsRefused as error:
        return Finding(False, error.reason, CREDENTIALS_FIX)
    except DeliveryError as error:
        return Finding(
            False, error.reason, "check WHATSAPP_PHONE_NUMBER_ID, META_GRAPH_URL and the network"
        )
    named = f"{number.verified_name} ({number.display_phone_number})"
    quality = QUALITY.get(number.quality_rating, f"quality rating {number.quality_rating}")
    problems, fixes = [], []
    if number.quality_rating == "RED":
        problems.append(quality)
        fixes.append(QUALITY_FIX)
    for key, name in (("app_secret", "META_APP_SECRET"), ("verify_token", "META_VERIFY_TOKEN")):
        if not account.value(key):
            problems.append(f"{name} is not set")
            fixes.append(f"set {name}")
    if problems:
        return Finding(False, f"{named}: " + "; ".join(problems), "; ".join(fixes))
    fix = QUALITY_FIX if number.quality_rating == "YELLOW" else ""
    return Finding(True, f"{named}: {quality}; the webhook's secret and verify token are set", fix)
