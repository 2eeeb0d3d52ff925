"""One place where failures of listeners become messages to the agent and log events."""

from __future__ import annotations

import uuid
from typing import Any

import structlog
from slack_bolt import App, BoltResponse

from bot.services.context import UnknownConversation
from bot.services.registry import Services

log = structlog.get_logger(__name__)


def register(app: App, services: Services) -> None:
    @app.error
    def on_error(error: Exception, body: dict[str, Any], response: BoltResponse | None) -> None:
        user = _id(body.get("user")) or _text(body.get("user_id"))
        channel = _id(body.get("channel")) or _text(body.get("channel_id"))
        if isinstance(error, UnknownConversation):
            log.warning("slack.unknown_conversation", reason=str(error), user=user)
            text = "That conversation no longer exists in Carebridge."
        else:
            error_id = uuid.uuid4().hex[:8]
            log.error("slack.listener_failed", error_id=error_id, exc_info=error, user=user)
            text = f"Something went wrong on our side (error id `{error_id}`). Please try again."
        if user and channel:
            services.tell(channel=channel, user=user, text=text)
        # A 500 makes Slack redeliver an event (safe: handling is idempotent) and show an error
        # icon on a button. Keep it for unexpected failures of events; everything the agent has
        # been told about privately is answered normally.
        expected = isinstance(error, UnknownConversation)
        if response is not None and (expected or body.get("type") != "event_callback"):
            response.status = 200


def _id(value: Any) -> str | None:
    return _text(value.get("id")) if isinstance(value, dict) else None


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None
