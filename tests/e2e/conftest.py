"""The real bot (Bolt in HTTP mode behind waitress, slack-sdk, tweepy) against the emulators."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import pytest
import waitress

from bot.app import Carebridge
from bot.clock import ManualClock
from bot.config import load_settings
from bot.sandbox.slack_api import SlackEmulator
from bot.sandbox.slack_events import SlackEventSender
from bot.sandbox.x_api import XEmulator

CHANNEL = "CSUPPORT"
SIGNING_SECRET = "sandbox-signing-secret"


@dataclass
class Harness:
    app: Carebridge
    clock: ManualClock
    slack: SlackEmulator
    x: XEmulator
    events: SlackEventSender
    _customers: list[str] = field(default_factory=list)

    def poll(self) -> int:
        return self.app.services.poller.poll_once()

    def run_due(self) -> int:
        """Perform what is due now, without moving the clock."""
        return self.app.services.worker.run_due()

    def settle(self, *, limit: timedelta = timedelta(hours=1)) -> None:
        """Run the outbox until idle, moving the manual clock to each next wake-up (pacing,
        backoff, rate-limit resets) instead of sleeping. Stops at `limit` of simulated time."""
        deadline = self.clock.now() + limit
        for _ in range(10_000):
            self.run_due()
            wake = self.app.services.worker.next_wake()
            if wake is None or wake > deadline:
                return
            if wake > self.clock.now():
                self.clock.advance(wake - self.clock.now())
        raise AssertionError("outbox did not settle")

    def mention(self, handle: str, text: str, name: str = "") -> dict[str, Any]:
        """A customer mentions the brand; the bot polls and posts. Returns the tweet."""
        if not any(u == handle for u in self._customers):
            self.x.add_user(handle, name or handle.title())
            self._customers.append(handle)
        tweet = self.x.post_tweet(handle, f"@acmecare {text}")
        self.poll()
        self.settle()
        return tweet

    def cards(self) -> list[dict[str, Any]]:
        return [m for m in self.slack.messages(CHANNEL) if m.get("bot_id")]

    def reply_in_thread(self, user: str, text: str, thread_ts: str) -> dict[str, Any]:
        """An agent writes in a thread: Slack stores it, then sends the event to the bot."""
        message = self.slack.post_as_user(user, text, thread_ts=thread_ts, channel=CHANNEL)
        response = self.events.message(user, text, CHANNEL, message["ts"], thread_ts=thread_ts)
        assert response.status_code == 200, response.text
        return message

    def click(self, user: str, action_id: str, value: str, message_ts: str) -> None:
        response = self.events.block_action(
            user, action_id, value, channel=CHANNEL, message_ts=message_ts
        )
        assert response.status_code == 200, response.text

    def ephemerals_for(self, user: str) -> list[dict[str, Any]]:
        return [e for e in self.slack.ephemerals if e["user"] == user]


def settings_env(slack: SlackEmulator, x: XEmulator, database_url: str) -> dict[str, str]:
    return {
        "SLACK_BOT_TOKEN": "xoxb-sandbox",
        "SLACK_CHANNEL_ID": CHANNEL,
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "SLACK_API_URL": slack.url,
        "X_CONSUMER_KEY": "sandbox-consumer-key",
        "X_CONSUMER_SECRET": "sandbox-consumer-secret",
        "X_ACCESS_TOKEN": "sandbox-access-token",
        "X_ACCESS_TOKEN_SECRET": "sandbox-access-secret",
        "X_API_URL": x.url,
        "DATABASE_URL": database_url,
    }


@pytest.fixture
def bot(
    slack_emulator: SlackEmulator, x_emulator: XEmulator, database_url: str, clock: ManualClock
) -> Iterator[Harness]:
    yield from run_harness(slack_emulator, x_emulator, database_url, clock)


def run_harness(
    slack: SlackEmulator, x: XEmulator, database_url: str, clock: ManualClock
) -> Iterator[Harness]:
    settings = load_settings(settings_env(slack, x, database_url))
    app = Carebridge.build(settings, clock=clock)
    server = waitress.create_server(app.wsgi(), host="127.0.0.1", port=0, threads=4)
    closing = threading.Event()

    def serve() -> None:
        try:
            server.run()
        except OSError:
            # close() from this thread races waitress's select(): a closed descriptor is the
            # stop we asked for, anything else is a real failure.
            if not closing.is_set():
                raise

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{server.effective_port}/slack/events"
    events = SlackEventSender(url, SIGNING_SECRET)
    try:
        yield Harness(app, clock, slack, x, events)
    finally:
        closing.set()
        server.close()
        app.close()
