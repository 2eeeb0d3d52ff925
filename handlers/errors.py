"""One place where failures of listeners become messages to the agent and log events."""

from __future__ import annotations

import uuid
from typing import Any

import structlog
from slack_bolt import App

from bot.services.context import UnknownConversation
from bot.services.registry import Services

log = structlog.get_logger(__name__)


def register(app: App, services: Services) -> None:
    @app.error
    def on_error(error: Exception, body: dict[str, Any]) -> None:
        user = (body.get("user") or {}).get("id") or body.get("user_id")
        channel = (body.get("channel") or {}).get("id") or body.get("channel_id")
        if isinstance(error, UnknownConversation):
            log.warning("slack.unknown_conversation", reason=str(error), user=user)
            text = "That conversation no longer exists in Carebridge."
        else:
            error_id = uuid.uuid4().hex[:8]
            log.error("slack.listener_failed", error_id=error_id, exc_info=error, user=user)
            text = f"Something went wrong on our side (error id `{error_id}`). Please try again."
        if user and channel:
            services.tell(channel=channel, user=user, text=text)
