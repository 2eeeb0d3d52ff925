"""One place where failures of listeners become messages to the agent and log events."""

from __future__ import annotations

import uuid
from typing import Any

import structlog
from slack_bolt import App, BoltResponse

from bot.domain.facts import Refusal
from bot.services.context import TryAgainLater, UnknownConversation
from bot.services.registry import Services

log = structlog.get_logger(__name__)


def register(app: App, services: Services) -> None:
    @app.error
    def on_error(error: Exception, body: dict[str, Any], response: BoltResponse | None) -> None:
        user = _id(body.get("user")) or _text(body.get("user_id"))
        channel = _id(body.get("channel")) or _text(body.get("channel_id"))
        if isinstance(error, UnknownConversation):
            log.warning("slack.unknown_conversation", reason=str(error), user=user)
            refusal = Refusal("unknown_conversation")
        elif isinstance(error, TryAgainLater):
            log.warning("slack.try_again_later", reason=str(error), user=user)
            refusal = Refusal("try_again")
        else:
            error_id = uuid.uuid4().hex[:8]
            log.error("slack.listener_failed", error_id=error_id, exc_info=error, user=user)
            refusal = Refusal("failed", error_id)
        # A 500 makes Slack redeliver an event (safe: handling is idempotent) and show an error
        # icon on a button. Keep it for failures of events that a redelivery may cure (the agent
        # learns nothing yet: the redelivery will likely succeed); everything else is told
        # privately and answered normally.
        redeliver = body.get("type") == "event_callback" and not isinstance(
            error, UnknownConversation
        )
        if user and channel and not (redeliver and isinstance(error, TryAgainLater)):
            services.tell(channel=channel, user=user, fact=refusal)
        if response is not None and not redeliver:
            response.status = 200


def _id(value: Any) -> str | None:
    return _text(value.get("id")) if isinstance(value, dict) else None


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None
