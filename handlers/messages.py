"""Messages in the support channels' threads: an agent answering, or talking among agents."""

from __future__ import annotations

from typing import Any

from slack_bolt import App, BoltContext

from bot.services.registry import Services
from bot.slack.mrkdwn import is_user_id, to_plain_text

# A thread reply also sent to the channel is still a thread reply; edits, joins and bot posts
# are not answers.
_ANSWER_SUBTYPES = {None, "thread_broadcast"}


def register(app: App, services: Services) -> None:
    @app.event("message")
    def on_message(event: dict[str, Any], context: BoltContext) -> None:
        subtype = event.get("subtype")
        if not (subtype is None or isinstance(subtype, str)) or subtype not in _ANSWER_SUBTYPES:
            return
        if event.get("bot_id"):
            return
        fields = [event.get(key) for key in ("channel", "thread_ts", "ts", "user")]
        strings = [value for value in fields if isinstance(value, str) and value]
        if len(strings) != len(fields):
            return  # not a person's thread message as Slack sends it
        channel, thread_ts, ts, user = strings
        if not is_user_id(user):
            return
        text = event.get("text", "")
        # Any channel: a thread is a conversation's only if it is stored as one, and a removed
        # account's channel keeps its conversations (their answers are refused, and said so).
        if thread_ts == ts or not isinstance(text, str):
            return
        forward = services.forwarding.team_thread(channel, thread_ts)
        if forward is not None:  # a specialist, under a team card: a note for the care owner
            services.forwarding.specialist_wrote(forward, user, to_plain_text(text), ts)
            return
        parent = event.get("parent_user_id")
        services.replies.agent_message(
            channel=channel,
            thread_ts=thread_ts,
            user=user,
            text=to_plain_text(text),
            ts=ts,
            bots_thread=parent is None or parent == context.bot_user_id,
        )
