"""WhatsApp choices over loopback: `send_choices` is an interactive message (reply buttons for up
to 3 choices, a list for more) in the Cloud API's documented shape, the customer picks a row or
taps a button, and the signed webhook becomes a message whose text is the title and whose
choice is the id; the Cloud API's limits and refusals (131009)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from bot.clock import ManualClock
from bot.domain.model import InboundMessage
from bot.networks.base import Choice
from bot.networks.whatsapp.adapter import WhatsAppChannel
from bot.networks.whatsapp.emulator import SANDBOX_DISPLAY_NUMBER, SANDBOX_NUMBER, WhatsAppEmulator
from bot.networks.whatsapp.webhook import WhatsAppReceiver
from tests.networks.meta_endpoint import Endpoint

NUMBER = SANDBOX_NUMBER["phone_number_id"]
TOKEN = SANDBOX_NUMBER["access_token"]
GIULIA = "393331234567"
SEND = "POST /{phone-number-id}/messages"
SURVEY = [Choice(f"csat:{score}", "⭐" * score) for score in range(1, 6)]
RECEIVER = WhatsAppReceiver([NUMBER], [SANDBOX_NUMBER["app_secret"]], ["verify"])


@pytest.fixture
def wa(clock: ManualClock) -> Iterator[WhatsAppEmulator]:
    with WhatsAppEmulator(clock=clock.timestamp) as emulator:
        emulator.message(GIULIA, "Giulia", "Grazie, tutto risolto")  # opens the 24 hours
        yield emulator


@pytest.fixture
def channel(wa: WhatsAppEmulator, clock: ManualClock) -> WhatsAppChannel:
    return WhatsAppChannel(
        graph_url=wa.graph_url, phone_number_id=NUMBER, access_token=TOKEN, clock=clock, timeout=5
    )


def received(wa: WhatsAppEmulator) -> list[InboundMessage]:
    """The customers' messages of what the emulator delivers to a webhook on loopback."""
    with Endpoint(RECEIVER) as endpoint:
        wa.deliver(endpoint.url)
    return [e for e in endpoint.events if isinstance(e, InboundMessage)]


def send_raw(wa: WhatsAppEmulator, interactive: dict[str, Any]) -> requests.Response:
    body = {
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": GIULIA,
        "type": "interactive",
        "interactive": interactive,
    }
    return requests.post(
        f"{wa.graph_url}/{NUMBER}/messages",
        json=body,
        headers={"Authorization": f"Bearer {TOKEN}"},
        timeout=5,
    )


def a_list(rows: list[dict[str, Any]], button: str = "⭐ … ⭐⭐⭐⭐⭐") -> dict[str, Any]:
    return {
        "type": "list",
        "body": {"text": "Com'è andata?"},
        "action": {"button": button, "sections": [{"rows": rows}]},
    }


def test_five_choices_are_an_interactive_list(
    wa: WhatsAppEmulator, channel: WhatsAppChannel
) -> None:
    sent = channel.send_choices(GIULIA, "Com'è andata, da 1 a 5?", SURVEY, marker="carebridge:5")
    [request] = wa.calls(SEND)
    assert request.json() == {
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": GIULIA,
        "type": "interactive",
        "interactive": {
            "type": "list",
            "body": {"text": "Com'è andata, da 1 a 5?"},
            "action": {
                "button": "⭐ … ⭐⭐⭐⭐⭐",  # the range of the choices
                "sections": [
                    {"rows": [{"id": f"csat:{n}", "title": "⭐" * n} for n in range(1, 6)]}
                ],
            },
        },
        "biz_opaque_callback_data": "carebridge:5",
    }
    [stored] = wa.sent
    assert (stored["message_id"], stored["text"], stored["marker"]) == (
        sent.external_id,
        "Com'è andata, da 1 a 5?",
        "carebridge:5",
    )


def test_up_to_three_choices_are_reply_buttons(
    wa: WhatsAppEmulator, channel: WhatsAppChannel
) -> None:
    choices = [Choice("yes", "Sì"), Choice("no", "No, ancora no")]
    channel.send_choices(GIULIA, "Risolto?", choices)
    assert wa.sent[-1]["request_json"]["interactive"] == {
        "type": "button",
        "body": {"text": "Risolto?"},
        "action": {
            "buttons": [
                {"type": "reply", "reply": {"id": "yes", "title": "Sì"}},
                {"type": "reply", "reply": {"id": "no", "title": "No, ancora no"}},
            ]
        },
    }


def test_the_customer_picks_a_row_and_the_webhook_gives_its_title_and_id(
    wa: WhatsAppEmulator, channel: WhatsAppChannel
) -> None:
    sent = channel.send_choices(GIULIA, "Com'è andata?", SURVEY)
    picked = wa.choose_list_row(GIULIA, "Giulia", "csat:4")
    reply = wa.pending()[-1]["entry"][0]["changes"][0]["value"]["messages"][0]
    assert reply["interactive"] == {
        "type": "list_reply",
        "list_reply": {"id": "csat:4", "title": "⭐⭐⭐⭐"},
    }
    assert reply["context"] == {"from": SANDBOX_DISPLAY_NUMBER, "id": sent.external_id}

    typed, answer = received(wa)
    assert typed.choice == ""
    assert (answer.external_id, answer.author.external_id) == (picked, GIULIA)
    assert (answer.text, answer.choice, answer.in_reply_to) == (
        "⭐⭐⭐⭐",
        "csat:4",
        sent.external_id,
    )


def test_the_customer_taps_a_reply_button(wa: WhatsAppEmulator, channel: WhatsAppChannel) -> None:
    channel.send_choices(GIULIA, "Risolto?", [Choice("yes", "Sì"), Choice("no", "No")])
    wa.tap_reply_button(GIULIA, "Giulia", "no")
    answer = received(wa)[-1]
    assert (answer.text, answer.choice) == ("No", "no")


def test_a_list_stays_open_but_only_what_was_offered_can_be_picked(
    wa: WhatsAppEmulator, channel: WhatsAppChannel
) -> None:
    with pytest.raises(ValueError, match="no list row 'csat:1'"):
        wa.choose_list_row(GIULIA, "Giulia", "csat:1")
    channel.send_choices(GIULIA, "Com'è andata?", SURVEY)
    with pytest.raises(ValueError, match="no reply button 'csat:1'"):
        wa.tap_reply_button(GIULIA, "Giulia", "csat:1")  # a row, not a button
    with pytest.raises(ValueError, match="no list row 'csat:6'"):
        wa.choose_list_row(GIULIA, "Giulia", "csat:6")
    wa.choose_list_row(GIULIA, "Giulia", "csat:1")
    wa.choose_list_row(GIULIA, "Giulia", "csat:5")  # changed their mind
    assert [m.choice for m in received(wa)] == ["", "csat:1", "csat:5"]


def test_long_titles_are_cut_by_the_adapter_and_whole_in_the_rows_description(
    wa: WhatsAppEmulator, channel: WhatsAppChannel
) -> None:
    long = "Molto soddisfatta del servizio"  # 30 characters
    choices = [Choice(f"c{n}", f"{n}. {long}") for n in range(1, 5)]
    channel.send_choices(GIULIA, "Com'è andata?", choices)
    interactive = wa.sent[-1]["request_json"]["interactive"]
    assert interactive["action"]["button"] == "⭐"  # "1. Molto … 4. Molto …" is too long
    [row, *_] = interactive["action"]["sections"][0]["rows"]
    assert row == {"id": "c1", "title": "1. Molto soddisfatta de…", "description": f"1. {long}"}

    channel.send_choices(GIULIA, "Risolto?", [Choice("yes", long), Choice("no", "No")])
    buttons = wa.sent[-1]["request_json"]["interactive"]["action"]["buttons"]
    assert [b["reply"]["title"] for b in buttons] == ["Molto soddisfatta d…", "No"]


@pytest.mark.parametrize(
    ("interactive", "details"),
    [
        (
            a_list([{"id": f"r{n}", "title": str(n)} for n in range(11)]),
            "Total row count exceed max allowed count: 10",
        ),
        (
            a_list([{"id": "r1", "title": "Molto soddisfatta del servizio"}]),
            "Row title is too long. Max length is 24",
        ),
        (
            {
                "type": "button",
                "body": {"text": "Risolto?"},
                "action": {
                    "buttons": [{"type": "reply", "reply": {"id": "y", "title": "Sì, " * 6}}]
                },
            },
            "Button title length invalid. Min length: 1, Max length: 20",
        ),
        (
            {
                "type": "button",
                "body": {"text": "Da 1 a 4?"},
                "action": {
                    "buttons": [
                        {"type": "reply", "reply": {"id": str(n), "title": str(n)}}
                        for n in range(4)
                    ]
                },
            },
            "Buttons count is invalid. Min count: 1, Max count: 3",
        ),
        (
            a_list([{"id": "r1", "title": "1"}], button="Scegli un voto da uno a cinque"),
            "Button text length invalid. Min length: 1, Max length: 20",
        ),
        (a_list([{"title": "1"}]), "Row id is required"),
        (
            a_list([{"id": "r1", "title": "1"}, {"id": "r1", "title": "2"}]),
            "Row ids must be unique",
        ),
    ],
)
def test_the_cloud_api_refuses_an_interactive_message_past_its_limits(
    wa: WhatsAppEmulator, interactive: dict[str, Any], details: str
) -> None:
    response = send_raw(wa, interactive)
    assert response.status_code == 400
    error = response.json()["error"]
    assert (error["code"], error["message"], error["type"]) == (
        131009,
        "(#131009) Parameter value is not valid",
        "OAuthException",
    )
    assert error["error_data"] == {"messaging_product": "whatsapp", "details": details}
    assert wa.sent == []


def test_a_list_reply_is_parsed_into_its_title_and_id() -> None:
    """A list row picked, in the shape of Meta's documentation: its description is left out."""
    message = {
        "from": GIULIA,
        "id": "wamid.L1",
        "timestamp": "1779526800",
        "context": {"from": SANDBOX_DISPLAY_NUMBER, "id": "wamid.Q1"},
        "type": "interactive",
        "interactive": {
            "type": "list_reply",
            "list_reply": {"id": "csat:3", "title": "⭐⭐⭐", "description": "Così così"},
        },
    }
    value = {
        "messaging_product": "whatsapp",
        "metadata": {"display_phone_number": SANDBOX_DISPLAY_NUMBER, "phone_number_id": NUMBER},
        "contacts": [{"profile": {"name": "Giulia"}, "wa_id": GIULIA}],
        "messages": [message],
    }
    delivery = {
        "object": "whatsapp_business_account",
        "entry": [{"id": "1", "changes": [{"field": "messages", "value": value}]}],
    }
    [pushed] = RECEIVER.parse(json.dumps(delivery).encode())
    answer = pushed.event
    assert isinstance(answer, InboundMessage)
    assert (answer.text, answer.choice, answer.in_reply_to) == ("⭐⭐⭐", "csat:3", "wamid.Q1")
