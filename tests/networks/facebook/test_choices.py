"""Messenger quick replies over loopback: `send_choices` reaches the Graph emulator in the Send
API's documented shape, the customer taps one, and the signed webhook becomes a message whose
text is the title and whose choice is the payload; Meta's limits and refusals."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
import requests

from bot.clock import ManualClock
from bot.domain.model import AnsweredElsewhere, InboundMessage
from bot.networks.base import Choice
from bot.networks.facebook.adapter import FacebookChannel
from bot.networks.facebook.emulator import SANDBOX_PAGE, GraphEmulator
from bot.networks.facebook.webhook import MetaReceiver
from tests.networks.meta_endpoint import Endpoint

PAGE = SANDBOX_PAGE["page_id"]
TOKEN = SANDBOX_PAGE["page_access_token"]
GIULIA = "2000000000000001"
SEND = "POST /{page-id}/messages"
SURVEY = [Choice(f"csat:{score}", "⭐" * score) for score in range(1, 6)]


@pytest.fixture
def graph(clock: ManualClock) -> Iterator[GraphEmulator]:
    with GraphEmulator(clock=clock.timestamp) as emulator:
        emulator.add_user(GIULIA, "Giulia", "Rossi")
        emulator.message(GIULIA, "Grazie, tutto risolto")  # opens the 24 hours
        yield emulator


@pytest.fixture
def channel(graph: GraphEmulator, clock: ManualClock) -> FacebookChannel:
    return FacebookChannel(
        graph_url=graph.graph_url, page_id=PAGE, page_access_token=TOKEN, clock=clock, timeout=5
    )


@pytest.fixture
def endpoint() -> Iterator[Endpoint]:
    receiver = MetaReceiver([PAGE], [SANDBOX_PAGE["app_secret"]], [SANDBOX_PAGE["verify_token"]])
    with Endpoint(receiver) as running:
        yield running


def send_raw(graph: GraphEmulator, quick_replies: Any) -> requests.Response:
    message = {"text": "Come siamo andati?", "quick_replies": quick_replies}
    return requests.post(
        f"{graph.graph_url}/{PAGE}/messages",
        json={"recipient": {"id": GIULIA}, "messaging_type": "RESPONSE", "message": message},
        headers={"Authorization": f"Bearer {TOKEN}"},
        timeout=5,
    )


def test_choices_are_a_messenger_message_with_text_quick_replies(
    graph: GraphEmulator, channel: FacebookChannel
) -> None:
    sent = channel.send_choices(GIULIA, "Come siamo andati?", SURVEY, marker="carebridge:9")
    [request] = graph.calls(SEND)
    assert request.json() == {
        "recipient": {"id": GIULIA},
        "message": {
            "text": "Come siamo andati?",
            "quick_replies": [
                {"content_type": "text", "title": "⭐" * score, "payload": f"csat:{score}"}
                for score in range(1, 6)
            ],
            "metadata": "carebridge:9",
        },
        "messaging_type": "RESPONSE",
    }
    [stored] = graph.sent_messages
    assert stored["message_id"] == sent.external_id
    assert [q["payload"] for q in stored["quick_replies"]] == [c.payload for c in SURVEY]


def test_the_customer_taps_and_the_webhook_gives_the_title_and_the_payload(
    graph: GraphEmulator, channel: FacebookChannel, endpoint: Endpoint
) -> None:
    sent = channel.send_choices(GIULIA, "Come siamo andati?", SURVEY, marker="carebridge:9")
    tapped = graph.tap_quick_reply(GIULIA, "csat:4")
    graph.deliver(endpoint.url)

    typed, echo, answer = endpoint.events
    assert isinstance(typed, InboundMessage) and typed.choice == ""  # words: no choice
    # The echo of the question: Carebridge's own send, by its marker.
    assert isinstance(echo, AnsweredElsewhere)
    assert (echo.external_id, echo.marker) == (sent.external_id, "carebridge:9")
    assert isinstance(answer, InboundMessage)
    assert (answer.external_id, answer.author.external_id) == (tapped, GIULIA)
    assert (answer.text, answer.choice) == ("⭐⭐⭐⭐", "csat:4")


def test_a_tap_opens_the_reply_window_as_any_message_does(
    graph: GraphEmulator, channel: FacebookChannel, clock: ManualClock
) -> None:
    channel.send_choices(GIULIA, "Come siamo andati?", SURVEY)
    clock.advance(timedelta(hours=23))
    graph.tap_quick_reply(GIULIA, "csat:5")
    clock.advance(timedelta(hours=23))
    assert channel.send_private(GIULIA, "Grazie del voto!").external_id


def test_a_title_longer_than_a_quick_reply_holds_is_cut_by_the_adapter(
    graph: GraphEmulator, channel: FacebookChannel
) -> None:
    choices = [Choice("yes", "Sì, tutto perfettamente risolto"), Choice("no", "No")]
    channel.send_choices(GIULIA, "Risolto?", choices)
    titles = [q["title"] for q in graph.sent_messages[-1]["quick_replies"]]
    assert titles == ["Sì, tutto perfettam…", "No"]
    assert all(len(title) <= 20 for title in titles)


def test_meta_takes_a_longer_title_and_cuts_it_on_screen(graph: GraphEmulator) -> None:
    quick = [{"content_type": "text", "title": "Sì, tutto perfettamente risolto", "payload": "y"}]
    assert send_raw(graph, quick).ok


@pytest.mark.parametrize(
    ("quick_replies", "message"),
    [
        (
            [{"content_type": "text", "title": str(n), "payload": str(n)} for n in range(14)],
            "(#100) param message[quick_replies] must have at most 13 elements.",
        ),
        (
            [{"content_type": "text", "title": "Sì"}],
            "(#100) param message[quick_replies][0][payload] must be a string or a number.",
        ),
        (
            [{"content_type": "text", "title": "Sì", "payload": ""}],
            "(#100) param message[quick_replies][0][payload] must be a non-empty string.",
        ),
        (
            [{"content_type": "text", "title": "", "payload": "y"}],
            "(#100) param message[quick_replies][0][title] must be a non-empty string.",
        ),
        (
            [{"content_type": "text", "title": "Sì", "payload": "y" * 1_001}],
            "(#100) Length of param message[quick_replies][0][payload] must be less than or "
            "equal to 1000",
        ),
        (
            [{"content_type": "location", "title": "Dove?"}],
            "(#100) param message[quick_replies][0][content_type] must be one of {TEXT, "
            'USER_PHONE_NUMBER, USER_EMAIL} - got "location".',
        ),
    ],
)
def test_meta_refuses_what_quick_replies_cannot_be(
    graph: GraphEmulator, quick_replies: Any, message: str
) -> None:
    response = send_raw(graph, quick_replies)
    assert response.status_code == 400
    error = response.json()["error"]
    assert (error["code"], error["type"], error["message"]) == (100, "OAuthException", message)
    assert graph.sent_messages == []


def test_only_the_latest_messages_quick_replies_can_be_tapped_and_only_once(
    graph: GraphEmulator, channel: FacebookChannel
) -> None:
    with pytest.raises(ValueError, match="no quick reply 'csat:3'"):
        graph.tap_quick_reply(GIULIA, "csat:3")  # nothing offered yet

    channel.send_choices(GIULIA, "Come siamo andati?", SURVEY)
    with pytest.raises(ValueError, match="no quick reply 'csat:9'"):
        graph.tap_quick_reply(GIULIA, "csat:9")
    graph.tap_quick_reply(GIULIA, "csat:3")
    with pytest.raises(ValueError):
        graph.tap_quick_reply(GIULIA, "csat:3")  # dismissed once tapped

    channel.send_choices(GIULIA, "E il corriere?", SURVEY)
    channel.send_private(GIULIA, "Grazie!")
    with pytest.raises(ValueError):
        graph.tap_quick_reply(GIULIA, "csat:5")  # a later message took their place
