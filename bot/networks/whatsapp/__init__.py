"""WhatsApp: a business phone number's conversations through Meta's WhatsApp Business Cloud
API, received by Meta's webhooks and answered through the Graph API.

`WHATSAPP` is the network's spec: one account is one business phone number (its phone number
id and an access token of the business); the Meta app's secret and verify token are shared with
the app's other products, on the same webhook path. WhatsApp is private only: every customer
message opens (or continues) a private conversation, answered in up to 4,096 characters within
24 hours of the customer's last message. Past that window only an approved template message may
go out (`reopen_template`), inviting the customer to write again.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta

from bot.clock import Clock
from bot.networks.base import AccountConfig, NetworkSpec, Setting, Webhook
from bot.networks.meta.settings import APP_SECRET, GRAPH, GRAPH_URL, VERIFY_TOKEN
from bot.networks.whatsapp.adapter import WhatsAppChannel
from bot.networks.whatsapp.doctor import check
from bot.networks.whatsapp.numbers import masked
from bot.networks.whatsapp.webhook import WhatsAppReceiver

NETWORK = "whatsapp"
WEBHOOK_PATH = "/webhooks/meta"  # shared with Facebook: each receiver parses its own `object`
TEXT_LIMIT = 4_096
CUSTOMER_SERVICE_WINDOW = timedelta(hours=24)
CREDENTIALS_FIX = (
    "generate a permanent access token for a system user of the business (Meta Business "
    "Settings > Users > System users > Generate new token, with whatsapp_business_messaging and "
    "whatsapp_business_management, for the app that owns the number) and put it in "
    "WHATSAPP_ACCESS_TOKEN (or the account's access_token in ACCOUNTS_FILE); the temporary "
    "token of the app's API Setup page stops working after 24 hours"
)

_DIGITS = re.compile(r"[0-9]{1,32}")
# Meta's template names are lower-case letters, digits and underscores; languages are codes
# such as "it", "en_US", "es_419".
_TEMPLATE = re.compile(r"([a-z0-9_]{1,512}):([a-z]{2,3}(?:_[A-Za-z0-9]{2,4})?)")


@dataclass(frozen=True)
class Template:
    """An approved message template of the business, in one of its languages."""

    name: str
    language: str


def digits(value: str) -> str:
    text = value.strip()
    if not _DIGITS.fullmatch(text):
        raise ValueError(value)
    return text


def template(value: str) -> Template:
    """`name:language`, e.g. "riapertura:it"."""
    match = _TEMPLATE.fullmatch(value.strip())
    if match is None:
        raise ValueError(value)
    return Template(match.group(1), match.group(2))


SETTINGS = (
    Setting(
        "phone_number_id",
        "WHATSAPP_PHONE_NUMBER_ID",
        required=True,
        parse=digits,
        expects="the phone number id (digits) of WhatsApp Manager or the app's API Setup page",
    ),
    Setting(
        "access_token",
        "WHATSAPP_ACCESS_TOKEN",
        required=True,
        secret=True,
        expects="an access token of the business with whatsapp_business_messaging",
    ),
    APP_SECRET,
    VERIFY_TOKEN,
    GRAPH,
    Setting(
        "reopen_template",
        "WHATSAPP_REOPEN_TEMPLATE",
        parse=template,
        expects="an approved template as name:language, e.g. riapertura:it",
    ),
)


def build(account: AccountConfig, clock: Clock, timeout: timedelta) -> WhatsAppChannel:
    reopening = account.value("reopen_template")
    return WhatsAppChannel(
        graph_url=str(account.value("graph_url") or GRAPH_URL).rstrip("/"),
        phone_number_id=str(account.value("phone_number_id")),
        access_token=str(account.value("access_token")),
        clock=clock,
        timeout=timeout.total_seconds(),
        reopen_template=(reopening.name, reopening.language) if reopening else None,
    )


def sandbox_values(graph_url: str) -> dict[str, str]:
    """The settings of the emulator's default number (Acme Italia), as written in the
    environment."""
    from bot.networks.whatsapp.emulator import SANDBOX_NUMBER

    return {**SANDBOX_NUMBER, "graph_url": graph_url}


WHATSAPP = NetworkSpec(
    name=NETWORK,
    label="WhatsApp",
    settings=SETTINGS,
    build=build,
    public_text_limit=None,  # nothing on WhatsApp is public
    private_text_limit=TEXT_LIMIT,
    public_name="message",  # never shown: there are no public messages
    private_name="WhatsApp",
    handles=None,  # a WhatsApp user has a phone number, not an @handle
    has_followers=False,
    address_public_notices=False,
    webhook=Webhook(WEBHOOK_PATH, WhatsAppReceiver.for_accounts),
    # The customer already writes privately: there is nothing to move to, and a wa.me link
    # would publish the business's number where it may not belong.
    private_message_link=None,
    invites_privately=False,
    private_window=CUSTOMER_SERVICE_WINDOW,
    extended_private_window=None,  # WhatsApp has no tag like Messenger's HUMAN_AGENT
    extended_window_setting=None,
    can_hide=False,
    credentials_fix=CREDENTIALS_FIX,
    doctor=check,
    sandbox_values=sandbox_values,
    shown_id=masked,  # a wa_id is the customer's phone number
)
