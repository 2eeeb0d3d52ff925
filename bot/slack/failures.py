"""What a failed Slack Web API call raises, named once: Slack's answer (`SlackApiError` and the
SDK's other errors) or the network as urllib reports it (timeouts, resets, cut-off bodies)."""

from __future__ import annotations

import http.client

from slack_sdk.errors import SlackClientError

NETWORK_FAILED = (OSError, http.client.HTTPException)
CALL_FAILED = (SlackClientError, *NETWORK_FAILED)
