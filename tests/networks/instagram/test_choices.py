"""Instagram Direct quick replies over loopback: `send_choices` reaches the emulator in the Send
API's documented shape, the customer taps one, and the signed `instagram` webhook becomes a
message whose text is the title and whose choice is the payload; Meta's limits."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from bot.clock import ManualClock
from bot.domain.model import AnsweredElsewhere, InboundMessage
from bot.networks.base import Choice
from bot.networks.instagram.adapter import InstagramChannel
from bot.networks.instagram.emulator import SANDBOX_ACCOUNT, InstagramEmulator
from bot.networks.instagram.webhook import InstagramReceiver
from tests.networks.meta_endpoint import Endpoint

ACCOUNT = SANDBOX_ACCOUNT["account_id"]
SURVEY = [Choice(f"csat:{score}", "⭐" * score) for score in range(1, 6)]
RECEIVER = InstagramReceiver([ACCOUNT], [SANDBOX_ACCOUNT["app_secret"]], ["verify"])


@pytest.fixture
def instagram(clock: ManualClock) -> Iterator[InstagramEmulator]:
    with InstagramEmulator(clock=clock.timestamp) as emulator:
        emulator.customer("giulia.r", name="Giulia Rossi")
        emulator.message("giulia.r", "Grazie, tutto risolto")  # opens the 24 hours
        yield emulator


@pytest.fixture
def channel(instagram: InstagramEmulator, clock: ManualClock) -> InstagramChannel:
    return InstagramChannel(
        graph_url=instagram.graph_url,
        account_id=ACCOUNT,
        page_access_token=SANDBOX_ACCOUNT["page_access_token"],
        clock=clock,
        timeout=5,
    )


def giulia(instagram: InstagramEmulator) -> str:
    return instagram.customer("giulia.r").id


def test_choices_are_a_direct_message_with_text_quick_replies(
    instagram: InstagramEmulator, channel: InstagramChannel
) -> None:
    sent = channel.send_choices(giulia(instagram), "Com'è andata?", SURVEY, marker="carebridge:3")
    [stored] = instagram.sent_messages
    assert stored["mid"] == sent.external_id
    request = stored["request_json"]
    assert (request["recipient"], request["messaging_type"]) == (
        {"id": giulia(instagram)},
        "RESPONSE",
    )
    assert request["message"].pop("quick_replies") == [
        {"content_type": "text", "title": choice.title, "payload": choice.payload}
        for choice in SURVEY
    ]
    assert request["message"] == {"text": "Com'è andata?", "metadata": "carebridge:3"}


def test_the_customer_taps_and_the_webhook_gives_the_title_and_the_payload(
    instagram: InstagramEmulator, channel: InstagramChannel
) -> None:
    sent = channel.send_choices(giulia(instagram), "Com'è andata?", SURVEY, marker="carebridge:3")
    tapped = instagram.tap_quick_reply("giulia.r", "csat:2")
    with Endpoint(RECEIVER) as endpoint:
        instagram.deliver(endpoint.url)
    typed, echo, answer = endpoint.events
    assert isinstance(typed, InboundMessage) and typed.choice == ""
    assert isinstance(echo, AnsweredElsewhere)
    assert (echo.external_id, echo.marker) == (sent.external_id, "carebridge:3")
    assert isinstance(answer, InboundMessage)
    assert (answer.external_id, answer.author.external_id) == (tapped, giulia(instagram))
    assert (answer.text, answer.choice) == ("⭐⭐", "csat:2")


def test_a_title_longer_than_a_quick_reply_holds_is_cut_by_the_adapter(
    instagram: InstagramEmulator, channel: InstagramChannel
) -> None:
    choices = [Choice("yes", "Sì, tutto perfettamente risolto"), Choice("no", "No")]
    channel.send_choices(giulia(instagram), "Risolto?", choices)
    titles = [q["title"] for q in instagram.sent_messages[-1]["quick_replies"]]
    assert titles == ["Sì, tutto perfettam…", "No"]


def test_only_the_latest_messages_quick_replies_can_be_tapped_and_only_once(
    instagram: InstagramEmulator, channel: InstagramChannel
) -> None:
    with pytest.raises(ValueError, match="no quick reply"):
        instagram.tap_quick_reply("giulia.r", "csat:1")
    channel.send_choices(giulia(instagram), "Com'è andata?", SURVEY)
    with pytest.raises(ValueError, match="no quick reply 'csat:6'"):
        instagram.tap_quick_reply("giulia.r", "csat:6")
    instagram.tap_quick_reply("giulia.r", "csat:1")
    with pytest.raises(ValueError):
        instagram.tap_quick_reply("giulia.r", "csat:1")


def test_the_documented_quick_reply_webhook_is_a_choice() -> None:
    """Meta's example of a tapped quick reply on Instagram (its documentation's shape)."""
    body = {
        "object": "instagram",
        "entry": [
            {
                "id": ACCOUNT,
                "time": 1502905976963,
                "messaging": [
                    {
                        "sender": {"id": "1234567"},
                        "recipient": {"id": ACCOUNT},
                        "timestamp": 1502905976377,
                        "message": {
                            "quick_reply": {"payload": "csat:5"},
                            "mid": "aWdfZAG1faXRlbToxOklHTWVzc2FnZAUlEOjE3",
                            "text": "⭐⭐⭐⭐⭐",
                        },
                    }
                ],
            }
        ],
    }
    [pushed] = RECEIVER.parse(json.dumps(body).encode())
    message = pushed.event
    assert isinstance(message, InboundMessage)
    assert (message.text, message.choice, message.author.external_id) == (
        "⭐⭐⭐⭐⭐",
        "csat:5",
        "1234567",
    )
    assert message.created_at == datetime(2017, 8, 16, 17, 52, 56, 377000, tzinfo=UTC)
