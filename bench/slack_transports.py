"""How fast does the bot acknowledge Slack, and how soon does an agent's answer reach the
customer, over HTTP mode and over Socket Mode?

Run:  .venv/bin/python bench/slack_transports.py [--answers 200] [--agents 4] [--every 0.5]
      [--database-url postgresql+psycopg://postgres@127.0.0.1:5432/test]

For each transport the real bot runs as `carebridge run` runs it (its outbox worker and
scheduler threads, the system clock, waitress on loopback; in Socket Mode its receiver holding a
link to the emulator's Socket Mode server) against the Slack and X emulators. Customers' mentions
are mirrored first; then `--agents` agents answer in the threads at once, `--answers` answers in
all, each agent one every `--every` seconds. For each answer it measures:

- envelope-to-ack: from Slack sending the event (the POST, or the envelope's frame) to the bot's
  answer (the HTTP 200, or the ack frame);
- envelope-to-first-effect: from Slack sending the event to the reply reaching X (the emulator
  receiving `POST /2/tweets`).

Prints p50, p99 and max per transport, and the command line. It measures; it asserts nothing.
"""

from __future__ import annotations

import argparse
import logging
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import text
from waitress.server import BaseWSGIServer, create_server

from bot.app import Carebridge
from bot.config import load_settings
from bot.logs import configure_logging
from bot.networks.x.emulator import XEmulator
from bot.sandbox.slack_api import SlackEmulator
from bot.sandbox.slack_events import SlackEventSender
from bot.sandbox.world import CHANNEL, SIGNING_SECRET, sandbox_env
from storage.db import Database


@dataclass
class Sample:
    sent: float  # wall time the event left "Slack"
    acked: float | None = None
    effect: float | None = None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--answers", type=int, default=200)
    parser.add_argument("--agents", type=int, default=4, help="answering at the same time")
    parser.add_argument(
        "--every",
        type=float,
        default=0.5,
        help="seconds between two answers of one agent (0: back to back, a saturation test)",
    )
    parser.add_argument("--database-url", default=None, help="default: SQLite in a temp folder")
    args = parser.parse_args()
    configure_logging("console", level=logging.WARNING)
    rows = {
        t: measure(t, args.answers, args.agents, args.every, args.database_url)
        for t in ("http", "socket")
    }
    print(f"\n{'transport':<12} | {'what':<26} | {'p50 ms':>7} | {'p99 ms':>7} | {'max ms':>7}")
    print("-" * 70)
    for transport, samples in rows.items():
        name = "HTTP mode" if transport == "http" else "Socket Mode"
        acks = [s.acked - s.sent for s in samples if s.acked is not None]
        effects = [s.effect - s.sent for s in samples if s.effect is not None]
        for what, values in (("envelope to ack", acks), ("envelope to first effect", effects)):
            p50, p99, worst = _percentiles(values)
            print(f"{name:<12} | {what:<26} | {p50:>7.1f} | {p99:>7.1f} | {worst:>7.1f}")
        lost = len(samples) - len(effects)
        if lost:
            print(f"{name:<12} | answers that never reached X: {lost}")
    print(
        f"\n{len(rows['http'])} answers per transport, {args.agents} agents at once,"
        f" each answering every {args.every} s"
    )
    print("command:", " ".join([Path(sys.executable).name, *sys.argv]))


def measure(
    transport: str, answers: int, agents: int, every: float, database_url: str | None
) -> list[Sample]:
    customers = max(agents, 20)
    with (
        SlackEmulator(members=["UANNA"]) as slack,
        XEmulator() as x,
        running_bot(slack, x, transport, database_url) as (app, events),
    ):
        for n in range(customers):
            x.add_user(f"cust{n}", f"Customer {n}")
            x.post_tweet(f"cust{n}", f"@acmecare question {n}")
        app.services.poller.poll_once(force=True)
        cards = _wait_for_cards(slack, customers)
        samples = [Sample(0.0) for _ in range(answers)]

        start = time.monotonic()

        def answer(index: int) -> None:
            # Each agent answers every `every` seconds: what is measured is the path an answer
            # takes, not a queue of answers written faster than anyone types.
            time.sleep(max(0.0, start + (index // agents) * every - time.monotonic()))
            card = cards[index % len(cards)]
            words = f"answer number {index}"
            message = slack.post_as_user("UANNA", words, thread_ts=card["ts"])
            event = events.message_event("UANNA", words, CHANNEL, message["ts"], card["ts"])
            samples[index].sent = time.time()
            response = events.event(event)
            if response.status_code == 200:
                samples[index].acked = time.time()

        with ThreadPoolExecutor(max_workers=agents) as pool:
            list(pool.map(answer, range(answers)))
        deadline = time.monotonic() + 120
        while len(x.sent_tweets) < answers and time.monotonic() < deadline:
            time.sleep(0.05)
        replies = {r.json()["text"]: r.received_at for r in x.calls("POST /2/tweets")}
        for index, sample in enumerate(samples):
            sample.effect = replies.get(f"answer number {index}")
        if transport == "socket":  # as Slack saw it: the frame sent, the ack frame received
            offset = time.time() - time.monotonic()
            for envelope in slack.socket_mode.envelopes():
                words = str(envelope.payload.get("event", {}).get("text", ""))
                if envelope.kind != "events_api" or not words.startswith("answer number "):
                    continue
                sample = samples[int(words.removeprefix("answer number "))]
                sample.sent = envelope.sent[0][1] + offset
                sample.acked = envelope.acked_at + offset if envelope.acked_at else None
        return samples


@contextmanager
def running_bot(
    slack: SlackEmulator, x: XEmulator, transport: str, database_url: str | None
) -> Iterator[tuple[Carebridge, SlackEventSender]]:
    url = database_url or f"sqlite:///{Path(tempfile.mkdtemp()) / 'bench.db'}"
    if database_url:
        _reset(url)
    env = sandbox_env(slack, x, url)
    env |= {"X_POLL_SECONDS": "3600", "LOG_FORMAT": "console"}
    if transport == "socket":
        env["SLACK_APP_TOKEN"] = slack.app_token
    app = Carebridge.build(load_settings(env))
    background = app.start_background()
    server = create_server(app.wsgi(), host="127.0.0.1", port=0, threads=8)
    assert isinstance(server, BaseWSGIServer)
    threading.Thread(target=server.run, daemon=True).start()
    _, port = server.getsockname()
    events = SlackEventSender(f"http://127.0.0.1:{port}/slack/events", SIGNING_SECRET)
    stop = threading.Event()
    if transport == "socket":
        from bot.sandbox.slack_events import SocketModeSender

        threading.Thread(target=app.socket_mode().run, args=(stop,), daemon=True).start()
        app.socket_mode().connected.wait(10)
        events = SocketModeSender(slack.socket_mode, events.url, SIGNING_SECRET)
    try:
        yield app, events
    finally:
        stop.set()
        background.stop()
        server.close()
        app.close()


def _wait_for_cards(slack: SlackEmulator, count: int) -> list[dict]:
    deadline = time.monotonic() + 120  # Slack's pace: about one post per second
    while time.monotonic() < deadline:
        cards = [m for m in slack.messages(CHANNEL) if m.get("blocks")]
        if len(cards) >= count:
            return cards
        time.sleep(0.1)
    raise TimeoutError("the cards were not posted")


def _reset(url: str) -> None:
    database = Database(url)
    with database.engine.begin() as connection:
        connection.execute(text("DROP SCHEMA public CASCADE"))
        connection.execute(text("CREATE SCHEMA public"))
    database.dispose()


def _percentiles(values: list[float]) -> tuple[float, float, float]:
    if not values:
        return (float("nan"),) * 3
    ms = sorted(v * 1000 for v in values)
    p99 = ms[min(len(ms) - 1, int(len(ms) * 0.99))]
    return statistics.median(ms), p99, ms[-1]


if __name__ == "__main__":
    main()
