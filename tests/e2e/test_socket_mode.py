"""Socket Mode's own failure modes, through the bot's receiver and the emulator's Socket Mode:
refreshes, dropped, stalled and forgotten links, a refused app token, a slow database, replicas.

These run real sockets and real threads, so they wait on the wall clock for what the receiver
does by itself (reconnect, ping); no response-time deadline is waited for.
"""

from __future__ import annotations

import random
import resource
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import pytest
import requests
from sqlalchemy import create_engine, select, text

from bot.clock import ManualClock
from bot.domain.model import Direction
from bot.networks.x.emulator import XEmulator
from bot.sandbox.loopback import Fault
from bot.sandbox.slack_api import SlackEmulator
from bot.sandbox.socket_mode import SocketModeServer
from bot.sandbox.world import CHANNEL, World, running_world
from handlers.socket_mode import Timing
from storage.models import Message

FAST = Timing(ping_interval=0.3, pong_timeout=0.6, silence_timeout=1.5, max_backoff=1.0)


@contextmanager
def socket_world(
    database_url: str,
    clock: ManualClock,
    slack: SlackEmulator,
    x: XEmulator,
    timing: Timing = FAST,
    **env: str,
) -> Iterator[World]:
    slack.socket_mode.ping_interval = 0.3  # Slack's pings, sped up like the receiver's
    with running_world(
        database_url,
        clock,
        slack=slack,
        x=x,
        env={"SLACK_LEADS": "UCARLA", **env},
        transport="socket",
        socket_timing=timing,
    ) as world:
        yield world


@pytest.fixture
def world(
    database_url: str, clock: ManualClock, slack_emulator: SlackEmulator, x_emulator: XEmulator
) -> Iterator[World]:
    with socket_world(database_url, clock, slack_emulator, x_emulator) as running:
        yield running


def until(condition: Callable[[], bool], timeout: float = 15.0) -> float:
    """Wait for real threads to make `condition` true; how long it took."""
    started = time.monotonic()
    while not condition():
        assert time.monotonic() - started < timeout, "timed out"
        time.sleep(0.02)
    return time.monotonic() - started


def server(world: World) -> SocketModeServer:
    return world.slack.socket_mode


def answer_in_card(world: World, handle: str, text: str) -> None:
    world.reply_in_thread("UANNA", text, world.card_of(handle)["ts"])
    world.settle()


def sent_texts(world: World) -> list[str]:
    return [t["text"] for t in world.x.sent_tweets]


# --- reconnection ----------------------------------------------------------------------------
def test_refresh_opens_the_new_link_before_closing_the_old_and_acks_at_once(world: World) -> None:
    world.mention("giulia_r", "parcel stuck", "Giulia")
    [old] = server(world).open_links()
    server(world).disconnect("refresh_requested")
    until(lambda: len([link for link in server(world).links() if link.usable]) == 1)
    new = next(link for link in server(world).links() if link.usable)
    assert new.id != old.id
    answer_in_card(world, "giulia_r", "Ciao Giulia, ci pensiamo noi")  # right after the refresh
    [envelope] = [e for e in server(world).envelopes() if e.kind == "events_api"]
    assert envelope.acked_by == new.id and envelope.ack_seconds is not None
    assert envelope.ack_seconds < 1.0  # Slack allows 3
    until(lambda: old.state == "closed")  # the bot let the old one go itself
    assert sent_texts(world) == ["Ciao Giulia, ci pensiamo noi"]


@pytest.mark.parametrize("fault", ["drop", "stall", "forget", "link_disabled"])
def test_a_lost_link_is_replaced_by_itself_within_seconds(world: World, fault: str) -> None:
    [old] = server(world).open_links()
    faults: dict[str, Callable[[], None]] = {
        "drop": lambda: server(world).drop(old),  # closed without a close frame
        "stall": lambda: server(world).stall(old),  # no pong, nothing
        "forget": lambda: server(world).forget(old),  # pongs, but Slack sends nothing
        "link_disabled": lambda: server(world).disconnect("link_disabled", old),
    }
    cpu_before = resource.getrusage(resource.RUSAGE_SELF).ru_utime
    faults[fault]()
    took = until(lambda: any(link.usable and link.id != old.id for link in server(world).links()))
    cpu = resource.getrusage(resource.RUSAGE_SELF).ru_utime - cpu_before
    assert took < 10  # with the production timings too: see the test below
    assert cpu < max(took, 0.5) * 0.5  # no busy loop while the link was down
    world.mention("tom_h", "box crushed", "Tom")
    assert len(world.cards()) == 1
    status = world.app.health()["slack"]
    assert status["connected"] is True and status["reconnects_last_hour"] == 1


def test_with_the_production_timings_a_stalled_link_is_replaced_within_10_seconds(
    database_url: str, clock: ManualClock, slack_emulator: SlackEmulator, x_emulator: XEmulator
) -> None:
    with socket_world(database_url, clock, slack_emulator, x_emulator, timing=Timing()) as world:
        [old] = server(world).open_links()
        server(world).stall(old)
        took = until(lambda: any(link.usable for link in server(world).links()), timeout=20)
        assert took < 10


def test_the_bot_never_keeps_more_than_one_link(world: World) -> None:
    for fault in ("refresh", "drop", "refresh", "forget", "drop", "refresh"):
        [link] = until_one_usable(world)
        if fault == "refresh":
            server(world).disconnect("refresh_requested", link)
        elif fault == "drop":
            server(world).drop(link)
        else:
            server(world).forget(link)
        until(lambda link=link: any(o.usable and o.id != link.id for o in server(world).links()))
    until(lambda: len(server(world).open_links()) == 1)  # retiring ones closed by the bot


def until_one_usable(world: World) -> list:
    until(lambda: len([link for link in server(world).links() if link.usable]) == 1)
    return [link for link in server(world).links() if link.usable]


def test_opening_a_link_backs_off_and_honours_retry_after(
    database_url: str, clock: ManualClock, slack_emulator: SlackEmulator, x_emulator: XEmulator
) -> None:
    slack_emulator.clock = time.time  # requests stamped with the wall time the receiver waits on
    with socket_world(database_url, clock, slack_emulator, x_emulator) as world:
        slack = world.slack
        slack.inject("apps.connections.open", Fault.server_error(503), times=2)
        limited = {"ok": False, "error": "ratelimited"}
        slack.inject("apps.connections.open", Fault(429, limited, {"Retry-After": "2"}))
        calls_before = len(slack.calls("apps.connections.open"))
        server(world).drop()
        until(lambda: len([link for link in server(world).links() if link.usable]) == 1)
        times = [r.received_at for r in slack.requests if r.path.endswith("connections.open")]
        gaps = [
            b - a for a, b in zip(times[calls_before:], times[calls_before + 1 :], strict=False)
        ]
        assert len(gaps) == 3
        assert gaps[0] >= 0.9 and gaps[1] >= 0.9  # backing off after each 503 (1 s, then capped)
        assert gaps[2] >= 2.0  # the Retry-After of the 429


def test_a_refused_app_token_is_said_once_with_the_fix_and_healthz_turns_503(
    database_url: str, clock: ManualClock, slack_emulator: SlackEmulator, x_emulator: XEmulator
) -> None:
    timing = Timing(ping_interval=0.3, pong_timeout=0.6, refused_retry=0.5, unhealthy_after=1.0)
    with socket_world(database_url, clock, slack_emulator, x_emulator, timing=timing) as world:
        world.slack.revoke_app_token()
        server(world).drop()
        until(lambda: len(world.slack.calls("apps.connections.open")) >= 4)  # retried, slowly
        world.settle()
        told = [m["text"] for m in world.slack.messages(CHANNEL) if "app-level token" in m["text"]]
        assert len(told) == 1
        assert "(`token_revoked`)" in told[0] and "SLACK_APP_TOKEN" in told[0]
        assert "connections:write" in told[0]
        health = f"{world.base_url}/healthz"
        until(lambda: requests.get(health, timeout=5).status_code == 503)
        slack_status = requests.get(health, timeout=5).json()["slack"]
        assert slack_status["connected"] is False and slack_status["app_token_refused"] is True

        world.slack.revoke_app_token(False)
        until(lambda: requests.get(health, timeout=5).status_code == 200)
        world.mention("giulia_r", "ci siete?", "Giulia")  # heard again
        assert len(world.cards()) == 1


# --- envelopes -------------------------------------------------------------------------------
def test_every_envelope_is_acknowledged_within_3_seconds_even_with_a_slow_database(
    world: World,
) -> None:
    world.mention("giulia_r", "parcel stuck", "Giulia")
    card = world.card_of("giulia_r")
    release = hold_the_database(world, seconds=4.0)
    try:
        message = world.slack.post_as_user("UANNA", "Eccoci!", thread_ts=card["ts"])
        event = world.events.message_event("UANNA", "Eccoci!", CHANNEL, message["ts"], card["ts"])
        response = world.events.event(event)
    finally:
        release()
    [envelope] = [e for e in server(world).envelopes() if e.kind == "events_api"]
    assert response.status_code == 200 and envelope.retry_attempt == 0
    assert envelope.ack_seconds is not None and envelope.ack_seconds < 3.0
    until(lambda: stored_answers(world) == ["Eccoci!"])  # the work goes on after the ack
    world.settle()
    assert sent_texts(world) == ["Eccoci!"]  # once


def stored_answers(world: World) -> list[str]:
    with world.app.database.transaction() as session:
        query = select(Message.text).where(Message.direction == Direction.OUTBOUND)
        return list(session.scalars(query))


def hold_the_database(world: World, seconds: float) -> Callable[[], None]:
    """Another connection holds a write lock on the database for a while: every write waits."""
    engine = create_engine(world.app.settings.database_url)
    connection = engine.connect()
    if engine.dialect.name == "sqlite":
        connection.exec_driver_sql("BEGIN IMMEDIATE")
    else:
        connection.begin()
        connection.execute(text("LOCK TABLE messages, conversations IN EXCLUSIVE MODE"))
    timer = threading.Timer(seconds, connection.close)
    timer.start()

    def release() -> None:
        timer.join()
        engine.dispose()

    return release


def test_malformed_or_oversized_envelopes_are_acknowledged_and_change_nothing(world: World) -> None:
    junk = [
        ("events_api", {"type": "event_callback"}),  # no event
        ("interactive", {"type": "block_actions", "user": "UANNA"}),  # user is not an object
        ("slash_commands", {"text": "help"}),  # no command
        ("events_api", {"type": "event_callback", "event": {"type": "x", "text": "y" * 1_100_000}}),
    ]
    sent = [server(world).send(kind, payload) for kind, payload in junk]
    for envelope in sent:
        assert envelope.done.wait(5) and envelope.acked_at is not None
    assert world.cards() == [] and world.slack.ephemerals == []
    world.mention("giulia_r", "still fine?", "Giulia")  # the link is still up and listening
    assert len(world.cards()) == 1


def test_answers_around_dropped_links_are_delivered_exactly_once(world: World) -> None:
    rng = random.Random(7)
    handles = [f"cust{n}" for n in range(6)]
    for handle in handles:
        world.mention(handle, f"question from {handle}", handle.title())
    expected = []
    for round_ in range(4):
        for handle in handles:
            if rng.random() < 0.3:
                server(world).drop()  # the link goes, the agent keeps answering
            text_ = f"answer {round_} to {handle}"
            expected.append(text_)
            card = world.card_of(handle)
            message = world.slack.post_as_user("UANNA", text_, thread_ts=card["ts"])
            event = world.events.message_event("UANNA", text_, CHANNEL, message["ts"], card["ts"])
            assert world.events.event(event).status_code == 200  # acknowledged, perhaps on retry
        world.settle()
    until(lambda: len(world.x.sent_tweets) >= len(expected))
    world.settle()
    assert sorted(sent_texts(world)) == sorted(expected)  # none lost, none twice


def test_an_envelope_redelivered_after_a_stalled_ack_is_handled_once(world: World) -> None:
    world.mention("giulia_r", "parcel stuck", "Giulia")
    card = world.card_of("giulia_r")
    server(world).deafen()  # Slack still sends on the link, but the bot's ack never arrives
    message = world.slack.post_as_user("UANNA", "Ci siamo!", thread_ts=card["ts"])
    event = world.events.message_event("UANNA", "Ci siamo!", CHANNEL, message["ts"], card["ts"])
    response = world.events.event(event)  # sent again on the bot's next link, then acked
    assert response.status_code == 200
    [envelope] = [e for e in server(world).envelopes() if e.kind == "events_api"]
    assert envelope.retry_attempt >= 1
    world.settle()
    assert sent_texts(world) == ["Ci siamo!"]


# --- replicas ---------------------------------------------------------------------
def test_two_replicas_each_hold_one_link_and_share_the_envelopes(
    database_url: str, clock: ManualClock, slack_emulator: SlackEmulator, x_emulator: XEmulator
) -> None:
    with (
        socket_world(database_url, clock, slack_emulator, x_emulator) as one,
        socket_world(database_url, clock, slack_emulator, x_emulator) as two,
    ):
        assert len(server(one).open_links()) == 2
        handles = [f"cust{n}" for n in range(6)]
        for handle in handles:
            one.mention(handle, f"question from {handle}", handle.title())
        for handle in handles:
            one.reply_in_thread("UANNA", f"answer to {handle}", one.card_of(handle)["ts"])
        one.settle()
        two.settle()
        acked_by = {e.acked_by for e in server(one).envelopes() if e.kind == "events_api"}
        assert len(acked_by) == 2  # both links took some
        assert sorted(sent_texts(one)) == sorted(f"answer to {h}" for h in handles)
