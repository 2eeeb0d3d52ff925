"""One customer across networks, from the card: Same person as... (a picker), and the
suggestions' Link / Not the same."""

from __future__ import annotations

from typing import Any

from slack_bolt import Ack, App
from slack_sdk import WebClient

from bot.i18n import _, speaking
from bot.services.registry import Services
from bot.slack import blocks
from bot.slack import person_modal as modal
from handlers.actions import card_id


def register(app: App, services: Services) -> None:
    customers, people = services.customers, services.customers.people

    @app.action(blocks.LINK_SUGGESTED)
    def link(ack: Ack, body: dict[str, Any], action: dict[str, Any]) -> None:
        ack()
        people.decide(card_id(action.get("value")), body["user"]["id"], same=True)

    @app.action(blocks.NOT_SAME)
    def not_same(ack: Ack, body: dict[str, Any], action: dict[str, Any]) -> None:
        ack()
        people.decide(card_id(action.get("value")), body["user"]["id"], same=False)

    @app.action(blocks.MORE)
    def more(ack: Ack, body: dict[str, Any], action: dict[str, Any], client: WebClient) -> None:
        ack()
        value = str((action.get("selected_option") or {}).get("value") or "")
        what, _, conversation = value.partition("|")
        if what == blocks.SAME_PERSON:
            with speaking(services.languages.of(body["user"]["id"])):  # the clicker's
                view = modal.same_person_modal(card_id(conversation))
            client.views_open(trigger_id=body["trigger_id"], view=view)

    @app.options(modal.PICK)
    def suggest(ack: Ack, body: dict[str, Any]) -> None:
        conversation = blocks.conversation_of(body.get("view") or {})
        if conversation is None:
            ack(options=[])
            return
        found = customers.same_person_options(conversation, str(body.get("value") or ""))
        ack(options=[modal.option(id_, label) for id_, label in found])

    @app.view(modal.CALLBACK_ID)
    def chosen(ack: Ack, body: dict[str, Any], view: dict[str, Any]) -> None:
        conversation, customer = blocks.conversation_of(view), modal.chosen(view)
        if conversation is None or customer is None:
            with speaking(services.languages.of(body["user"]["id"])):  # the clicker's
                pick = _("Pick a customer first.")
            ack(response_action="errors", errors={modal.BLOCK_ID: pick})
            return
        problem = customers.link_conversation(conversation, customer, body["user"]["id"])
        if problem:
            ack(response_action="errors", errors={modal.BLOCK_ID: problem})
            return
        ack()
