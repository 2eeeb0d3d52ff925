"""Messages in the support channel's threads: an agent answering, or talking among agents."""

from __future__ import annotations

from typing import Any

from slack_bolt import App

from bot.services.registry import Services
from bot.slack.mrkdwn import to_plain_text

# A thread reply also sent to the channel is still a thread reply; edits, joins and bot posts
# are not answers.
_ANSWER_SUBTYPES = {None, "thread_broadcast"}


def register(app: App, services: Services) -> None:
    @app.event("message")
    def on_message(event: dict[str, Any]) -> None:
        if event.get("subtype") not in _ANSWER_SUBTYPES or event.get("bot_id"):
            return
        thread_ts, ts = event.get("thread_ts"), event.get("ts")
        if event.get("channel") != services.slack_channel_id or not thread_ts or thread_ts == ts:
            return
        services.replies.agent_message(
            channel=event["channel"],
            thread_ts=thread_ts,
            user=event["user"],
            text=to_plain_text(event.get("text", "")),
            ts=ts,
        )
