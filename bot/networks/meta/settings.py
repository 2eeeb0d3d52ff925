"""The settings every Meta product shares: the app's secret and verify token (one webhook URL
for the whole app), the Graph API's address, and the Human Agent approval."""

from __future__ import annotations

from bot.networks.base import Setting
from bot.parsing import boolean, http_url

GRAPH_URL = "https://graph.facebook.com/v25.0"

APP_SECRET = Setting(
    "app_secret",
    "META_APP_SECRET",
    required=True,
    secret=True,
    app_wide=True,
    expects="the Meta app's secret (App settings > Basic)",
)
VERIFY_TOKEN = Setting(
    "verify_token",
    "META_VERIFY_TOKEN",
    required=True,
    secret=True,
    app_wide=True,
    expects="the verify token you typed when subscribing the webhook",
)
GRAPH = Setting(
    "graph_url",
    "META_GRAPH_URL",
    parse=http_url,
    expects="an http(s) URL with the Graph API version, e.g. " + GRAPH_URL,
    default=GRAPH_URL,
)
HIDE_ABUSIVE = Setting(
    "hide_abusive",
    "META_HIDE_ABUSIVE",
    parse=boolean,
    expects="true or false",
    default=False,
)
HUMAN_AGENT = Setting(
    "human_agent",
    "META_HUMAN_AGENT",
    parse=boolean,
    expects="true or false",
    default=False,
)
