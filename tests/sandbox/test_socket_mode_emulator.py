"""The emulator's Socket Mode, checked through slack_sdk's own Socket Mode client (the one Bolt's
SocketModeHandler uses) and at the frame level with websocket-client."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import websocket
from slack_sdk import WebClient
from slack_sdk.socket_mode import SocketModeClient
from slack_sdk.socket_mode.request import SocketModeRequest
from slack_sdk.socket_mode.response import SocketModeResponse

from bot.sandbox.slack_api import SlackEmulator
from bot.sandbox.socket_mode import SocketModeServer


@pytest.fixture
def slack() -> Iterator[SlackEmulator]:
    with SlackEmulator() as emulator:
        yield emulator


def sdk_client(
    slack: SlackEmulator, *, ack: bool = True, ping_interval: float = 1.0
) -> tuple[SocketModeClient, list[SocketModeRequest]]:
    web = WebClient(token=slack.bot_token, base_url=slack.url)
    client = SocketModeClient(
        app_token=slack.app_token, web_client=web, ping_interval=ping_interval
    )
    received: list[SocketModeRequest] = []

    def on_request(client: SocketModeClient, request: SocketModeRequest) -> None:
        received.append(request)
        if ack:
            answer = {"text": "got it"} if request.type == "slash_commands" else None
            client.send_socket_mode_response(SocketModeResponse(request.envelope_id, answer))

    client.socket_mode_request_listeners.append(on_request)  # type: ignore[arg-type]
    return client, received


def raw_link(slack: SlackEmulator) -> tuple[websocket.WebSocket, dict[str, Any]]:
    url = WebClient(base_url=slack.url).apps_connections_open(app_token=slack.app_token)["url"]
    ws = websocket.create_connection(url, timeout=5)
    return ws, json.loads(ws.recv())


def test_hello_then_envelopes_acknowledged_with_their_payload(slack: SlackEmulator) -> None:
    client, received = sdk_client(slack)
    client.connect()
    try:
        server = slack.socket_mode
        server.wait_for_links(1)
        command = server.send(
            "slash_commands", {"command": "/care", "text": "help"}, accepts_response_payload=True
        )
        event = server.send("events_api", {"type": "event_callback", "event": {"type": "message"}})
        assert command.done.wait(5) and event.done.wait(5)
        assert command.response == {"text": "got it"} and event.response is None
        # slack_sdk hands each message to a thread pool: the listeners may see them either way.
        assert sorted(r.type for r in received) == ["events_api", "slash_commands"]
        (slash,) = [r for r in received if r.type == "slash_commands"]
        assert slash.payload == {"command": "/care", "text": "help"}
        assert slash.accepts_response_payload is True and slash.retry_attempt == 0
        assert command.ack_seconds is not None and command.ack_seconds < 1
    finally:
        client.close()


def test_hello_says_how_many_links_the_app_has_and_for_how_long() -> None:
    with SlackEmulator() as slack:
        first, hello = raw_link(slack)
        second, hello_again = raw_link(slack)
        assert hello["type"] == "hello" and hello["num_connections"] == 1
        assert hello_again["num_connections"] == 2
        assert hello["connection_info"] == {"app_id": "ASANDBOX"}
        assert hello["debug_info"]["approximate_connection_time"] == 18060
        assert isinstance(hello["debug_info"]["host"], str)
        first.close()
        second.close()


def test_a_ticket_works_once() -> None:
    with SlackEmulator() as slack:
        url = WebClient(base_url=slack.url).apps_connections_open(app_token=slack.app_token)["url"]
        websocket.create_connection(url, timeout=5).close()
        with pytest.raises(websocket.WebSocketBadStatusException) as refused:
            websocket.create_connection(url, timeout=5)
        assert refused.value.status_code == 401


def test_an_envelope_not_acknowledged_in_3_seconds_comes_again_then_slack_gives_up(
    slack: SlackEmulator,
) -> None:
    client, received = sdk_client(slack, ack=False)
    client.connect()
    try:
        server = slack.socket_mode
        server.wait_for_links(1)
        event = server.send("events_api", {"type": "event_callback", "event": {"type": "message"}})
        assert event.done.wait(20)
        assert event.acked_at is None
        assert [(r.retry_attempt, r.retry_reason) for r in received] == [
            (0, ""),  # as Slack's first attempt says it
            (1, "timeout"),
            (2, "timeout"),
            (3, "timeout"),
        ]
        assert len({r.envelope_id for r in received}) == 1  # the same envelope each time
        click = server.send("interactive", {"type": "block_actions"}, accepts_response_payload=True)
        assert click.done.wait(5) and click.retry_attempt == 0  # an interaction is not sent again
    finally:
        client.close()


def test_the_pong_echoes_the_clients_ping_so_slack_sdks_client_keeps_its_link(
    slack: SlackEmulator,
) -> None:
    # slack_sdk's client drops a link whose pongs do not echo its session id, after 4 intervals.
    client, _ = sdk_client(slack, ping_interval=0.3)
    client.connect()
    try:
        server = slack.socket_mode
        [link] = server.wait_for_links(1)
        until(lambda: link.pings_received >= 6)  # past the four intervals it would wait
        assert server.open_links() == [link]
    finally:
        client.close()


def test_the_server_pings_each_link_it_uses_and_a_forgotten_link_only_pongs() -> None:
    with SlackEmulator() as slack:
        slack.socket_mode.ping_interval = 0.2
        ws, _ = raw_link(slack)
        opcode, _frame = ws.recv_data_frame(control_frame=True)
        assert opcode == websocket.ABNF.OPCODE_PING
        slack.socket_mode.forget()
        ws.ping(b"are you there")
        ws.settimeout(1.0)
        opcode, frame = ws.recv_data_frame(control_frame=True)
        assert (opcode, frame.data) == (websocket.ABNF.OPCODE_PONG, b"are you there")
        with pytest.raises(websocket.WebSocketTimeoutException):
            ws.recv_data_frame(control_frame=True)  # no ping from Slack any more
        ws.close()


def test_envelopes_are_spread_over_the_links_one_link_each() -> None:
    with SlackEmulator() as slack:
        links = [raw_link(slack)[0] for _ in range(3)]
        server = slack.socket_mode
        for n in range(6):
            server.send("events_api", {"type": "event_callback", "event": {"n": n}})
        seen: list[list[int]] = []
        for ws in links:
            ws.settimeout(2)
            frames = [json.loads(ws.recv()) for _ in range(2)]
            seen.append([f["payload"]["event"]["n"] for f in frames])
            ws.close()
        assert sorted(n for ns in seen for n in ns) == list(range(6))
        assert all(len(ns) == 2 for ns in seen)


def test_an_eleventh_link_is_told_too_many_websockets_instead_of_hello() -> None:
    with SlackEmulator() as slack:
        links = [raw_link(slack)[0] for _ in range(10)]
        extra, first = raw_link(slack)
        assert first == {
            "type": "disconnect",
            "reason": "too_many_websockets",
            "debug_info": first["debug_info"],
        }
        assert slack.socket_mode.refused_connections == 1
        for ws in [*links, extra]:
            ws.close()


def test_refresh_requested_leaves_the_old_link_open_while_the_app_opens_a_new_one() -> None:
    with SlackEmulator() as slack:
        server = slack.socket_mode
        server.refresh_grace = 0.5
        old, _ = raw_link(slack)
        server.disconnect("refresh_requested")
        assert json.loads(old.recv()) == {
            "type": "disconnect",
            "reason": "refresh_requested",
            "debug_info": {"host": "applink-sandbox-1", "build_number": 42},
        }
        new, hello = raw_link(slack)  # opened while the old one is still open
        assert hello["type"] == "hello" and hello["num_connections"] == 2
        event = server.send("events_api", {"type": "event_callback", "event": {"type": "x"}})
        new.settimeout(2)
        assert json.loads(new.recv())["envelope_id"] == event.id  # not to the retiring link
        until(lambda: server.links()[0].state == "closed")  # after the (shortened) grace
        new.close()


def test_slack_sdks_client_follows_a_refresh_and_a_drop(slack: SlackEmulator) -> None:
    client, received = sdk_client(slack, ping_interval=0.5)
    client.connect()
    try:
        server: SocketModeServer = slack.socket_mode
        server.wait_for_links(1)
        server.disconnect("refresh_requested")
        event = server.send("events_api", {"type": "event_callback", "event": {"type": "a"}})
        assert event.done.wait(15) and event.acked_at is not None
        server.drop()
        again = server.send("events_api", {"type": "event_callback", "event": {"type": "b"}})
        assert again.done.wait(60) and again.acked_at is not None
        assert [r.payload["event"]["type"] for r in received][-1] == "b"
    finally:
        client.close()


def test_a_stalled_link_answers_nothing_and_loses_what_is_sent_on_it() -> None:
    with SlackEmulator() as slack:
        ws, _ = raw_link(slack)
        server = slack.socket_mode
        server.stall()
        ws.ping(b"hello?")
        ws.settimeout(0.5)
        with pytest.raises(websocket.WebSocketTimeoutException):
            ws.recv_data_frame(control_frame=True)
        ws.close()


def until(condition: Callable[[], bool], timeout: float = 10.0) -> None:
    """Poll a condition that real threads make true (a real client's pings, a real timer)."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)
