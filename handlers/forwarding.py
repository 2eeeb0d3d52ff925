"""Forwarding to specialist teams: the support card's Forward (a modal), the team card's Take,
Send back and Take over, and specialists writing under a team card."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from slack_bolt import Ack, App
from slack_sdk import WebClient

from bot.i18n import _, speaking
from bot.services.registry import Services
from bot.slack import blocks, team_cards
from handlers.actions import card_id


def register(app: App, services: Services) -> None:
    forwarding = services.forwarding

    @app.action(blocks.FORWARD)
    def open_modal(
        ack: Ack, body: dict[str, Any], action: dict[str, Any], client: WebClient
    ) -> None:
        ack()
        teams = services.teams.list()
        with speaking(services.languages.of(body["user"]["id"])):  # the clicker's
            view = team_cards.forward_modal(card_id(action.get("value")), teams)
        client.views_open(trigger_id=body["trigger_id"], view=view)

    @app.view(team_cards.MODAL)
    def submitted(ack: Ack, body: dict[str, Any], view: dict[str, Any]) -> None:
        conversation, team, note = team_cards.submitted(view)
        if conversation is None or not team:
            with speaking(services.languages.of(body["user"]["id"])):  # the clicker's
                pick = _("Pick a team.")
            ack(response_action="errors", errors={"team": pick})
            return
        problem = forwarding.forward(conversation, team, note, body["user"]["id"])
        if problem:
            ack(response_action="errors", errors={"team": problem})
            return
        ack()

    routes = {
        team_cards.TAKE: forwarding.take,
        team_cards.SEND_BACK: forwarding.send_back,
        team_cards.TEAM_TAKE_OVER: forwarding.take_over,
    }
    for action_id, use_case in routes.items():
        app.action(action_id)(_listener(use_case))


def _listener(use_case: Callable[[int, str], None]) -> Callable[..., None]:
    # Bolt passes a listener its arguments by name: the use case is bound here, not as one.
    def listener(ack: Ack, body: dict[str, Any], action: dict[str, Any]) -> None:
        ack()
        use_case(card_id(action.get("value")), body["user"]["id"])

    return listener
