"""Buttons on conversation cards, ephemerals and failure notices."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from slack_bolt import Ack, App

from bot.services.context import UnknownConversation
from bot.services.registry import Services
from bot.slack import blocks, listening


def register(app: App, services: Services) -> None:
    conversations = services.conversations
    routes: dict[str, Callable[[int, str], Any]] = {
        blocks.CLAIM: conversations.claim,
        blocks.TAKE_OVER: conversations.take_over,
        blocks.RESOLVE: conversations.resolve,
        blocks.REOPEN: conversations.reopen,
        blocks.MOVE_TO_DM: conversations.move_to_dm,
        blocks.RETRY: services.replies.retry_delivery,
        blocks.SEND_TEMPLATE: services.reopen.send_template,
        blocks.LIFT_HOLD: conversations.lift_hold,
        listening.ENGAGE: services.listener.engage,
        listening.DISMISS: services.listener.dismiss,
        blocks.HIDE: lambda conversation_id, user: services.moderation.hide_from_card(
            conversation_id, user, True
        ),
        blocks.UNHIDE: lambda conversation_id, user: services.moderation.hide_from_card(
            conversation_id, user, False
        ),
    }
    for action_id, use_case in routes.items():
        app.action(action_id)(_listener(use_case))

    def link_opened(ack: Ack) -> None:
        ack()  # the browser opens the URL; Slack still expects an answer

    for link_action in ("open_link", "open_crm"):
        app.action(link_action)(link_opened)

    @app.action(blocks.SET_TOPIC)
    def topic_chosen(ack: Ack, body: dict[str, Any], action: dict[str, Any]) -> None:
        ack()
        value = str((action.get("selected_option") or {}).get("value") or "")
        conversation, _, topic = value.partition("|")
        services.topics.set(card_id(conversation), topic, body["user"]["id"])


def _listener(use_case: Callable[[int, str], Any]) -> Callable[..., None]:
    def listener(ack: Ack, body: dict[str, Any], action: dict[str, Any]) -> None:
        ack()
        use_case(card_id(action.get("value")), body["user"]["id"])  # web.py checked user.id

    return listener


def card_id(value: Any) -> int:
    # A button value is an id we wrote; anything else (too long for a database integer
    # included) names no conversation.
    if not isinstance(value, str) or not value.isdigit() or len(value) > 15:
        raise UnknownConversation(f"not a conversation id: {str(value)[:40]!r}")
    return int(value)
