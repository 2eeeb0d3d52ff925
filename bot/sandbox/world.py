"""A whole Carebridge world on loopback: both emulators and the real bot between them.

The bot is built by the same composition root as `carebridge run` and answers Slack in HTTP mode
behind waitress; Slack's side (events, button clicks) is sent signed, as Slack sends it. Time is a
`ManualClock`: `settle()` moves it to each next wake-up of the outbox instead of waiting, which is
how the tests stay fast and the demo compresses a morning into seconds.
"""

from __future__ import annotations

import json
import shutil
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

from waitress.server import BaseWSGIServer, create_server

from bot.app import Carebridge
from bot.clock import ManualClock
from bot.config import load_settings
from bot.networks.base import NetworkSpec
from bot.networks.facebook import FACEBOOK
from bot.networks.facebook.emulator import GraphEmulator
from bot.networks.instagram import INSTAGRAM
from bot.networks.instagram.emulator import InstagramEmulator
from bot.networks.registry import Registry
from bot.networks.whatsapp import WHATSAPP
from bot.networks.whatsapp.emulator import WhatsAppEmulator
from bot.networks.x import X
from bot.networks.x.emulator import XEmulator
from bot.sandbox.slack_api import SlackEmulator
from bot.sandbox.slack_events import SlackEventSender, SocketModeSender
from handlers.socket_mode import Timing

CHANNEL = "CSUPPORT"
TRANSPORTS = ("http", "socket")
SIGNING_SECRET = "sandbox-signing-secret"


def sandbox_env(slack: SlackEmulator, x: XEmulator, database_url: str) -> dict[str, str]:
    """Settings for a bot that talks only to the emulators: one X account, the emulator's."""
    return {
        "SLACK_BOT_TOKEN": "xoxb-sandbox",
        "SLACK_CHANNEL_ID": CHANNEL,
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "SLACK_API_URL": slack.url,
        **network_env(X, X.sandbox_values(x.url)),
        "DATABASE_URL": database_url,
    }


def network_env(spec: NetworkSpec, values: dict[str, str]) -> dict[str, str]:
    """An account's settings as the environment variables that give them."""
    return {s.env: values[s.key] for s in spec.settings if s.env and s.key in values}


@dataclass
class World:
    app: Carebridge
    clock: ManualClock
    slack: SlackEmulator
    x: XEmulator
    events: SlackEventSender
    meta: GraphEmulator | None = None  # Facebook, when the world has a Page
    instagram: InstagramEmulator | None = None  # when the world has an Instagram account
    whatsapp: WhatsAppEmulator | None = None  # when the world has a WhatsApp number
    base_url: str = ""  # the bot's HTTP server (webhooks, /healthz)
    transport: str = "http"  # how Slack reaches the bot: "http" or "socket" (Socket Mode)
    _customers: set[str] = field(default_factory=set)

    # --- time and work -------------------------------------------------------------------------
    def poll(self) -> int:
        return self.app.services.poller.poll_once(force=True)

    def run_due(self) -> int:
        """Perform what is due now, without moving the clock."""
        return self.app.services.worker.run_due()

    def settle(self, *, limit: timedelta = timedelta(hours=1)) -> None:
        """Run the outbox until idle, moving the clock to each next wake-up (pacing, backoff,
        rate-limit resets) instead of sleeping; stop at `limit` of simulated time."""
        deadline = self.clock.now() + limit
        for _ in range(10_000):
            self.run_due()
            wake = self.app.services.worker.next_wake()
            if wake is None or wake > deadline:
                return
            if wake > self.clock.now():
                self.clock.advance(wake - self.clock.now())
        raise RuntimeError("the outbox did not settle")

    def sweep(self) -> int:
        """Fire the response-time alerts due now (what the scheduler's timer does), then post."""
        fired = self.app.services.sweeper.sweep()
        self.settle()
        return fired

    def advance(self, delta: timedelta) -> None:
        """Let time pass: alerts fire at their moment, on the way, as the timer would fire them."""
        end = self.clock.now() + delta
        while (wake := self.app.services.sweeper.next_wake()) is not None and wake <= end:
            if wake > self.clock.now():
                self.clock.advance(wake - self.clock.now())
            self.sweep()
        if end > self.clock.now():
            self.clock.advance(end - self.clock.now())
        self.settle()

    def ask_surveys(self) -> int:
        """Send the satisfaction surveys due now (what the scheduler does every 30 s)."""
        asked = self.app.services.surveys.send_due()
        self.settle()
        return asked

    # --- customers -----------------------------------------------------------------------------
    def customer(self, handle: str, name: str = "", **profile: Any) -> None:
        if handle in self._customers:
            return
        try:
            self.x.user(handle)  # a customer of an earlier run on the same emulator
        except KeyError:
            self.x.add_user(handle, name or handle.title(), **profile)
        self._customers.add(handle)

    def mention(
        self, handle: str, text: str, name: str = "", *, to: str | None = None, **tweet: Any
    ) -> dict[str, Any]:
        """A customer mentions the brand (or the brand account `to`); the bot polls and posts.
        Returns the tweet."""
        self.customer(handle, name)
        brand = to or self.x.brand["username"]
        posted = self.x.post_tweet(handle, f"@{brand} {text}", **tweet)
        self.poll()
        self.settle()
        return posted

    def direct_message(
        self, handle: str, text: str, name: str = "", *, to: str | None = None
    ) -> dict[str, Any]:
        self.customer(handle, name)
        event = self.x.send_dm(handle, text, recipient=to)
        self.poll()
        self.settle()
        return event

    # --- Facebook ------------------------------------------------------------------------------
    @property
    def webhook_url(self) -> str:
        return f"{self.base_url}/webhooks/meta"

    def deliver(self, *, batch: bool = False) -> None:
        """Meta delivers what is pending (comments, messages, echoes...) to the bot's webhook,
        then the bot processes and posts."""
        assert self.meta or self.instagram or self.whatsapp, "this world has no Meta account"
        for _ in range(5):  # an answer's echo is a new delivery: until nothing is pending
            delivered = False
            if self.meta is not None and self.meta.pending():
                self.meta.deliver(self.webhook_url, batch=batch)
                delivered = True
            if self.instagram is not None and self.instagram.pending():
                self.instagram.deliver(self.webhook_url)
                delivered = True
            if self.whatsapp is not None and self.whatsapp.pending():
                self.whatsapp.deliver(self.webhook_url)
                delivered = True
            if not delivered:
                break
            self.settle()

    # --- Slack ---------------------------------------------------------------------------------
    def cards(self, channel: str = CHANNEL) -> list[dict[str, Any]]:
        """The conversations' root messages: the bot's posts with blocks (its notices in the
        channel, such as escalations and urgent pings, are plain text)."""
        return [m for m in self.slack.messages(channel) if m.get("bot_id") and m.get("blocks")]

    def card_of(self, handle: str, channel: str = CHANNEL) -> dict[str, Any]:
        """The latest card of a customer."""
        cards = [c for c in self.cards(channel) if f"@{handle}>" in str(c["blocks"])]
        if not cards:
            raise LookupError(f"no card for @{handle} in {channel}")
        return cards[-1]

    def card_named(self, name: str, channel: str = CHANNEL) -> dict[str, Any]:
        """The latest card of a customer known by name (a network without @handles)."""
        cards = [c for c in self.cards(channel) if f"*{name}*" in str(c["blocks"])]
        if not cards:
            raise LookupError(f"no card for {name} in {channel}")
        return cards[-1]

    def reply_in_thread(
        self, user: str, text: str, thread_ts: str, channel: str = CHANNEL
    ) -> dict[str, Any]:
        """An agent writes in a thread: Slack stores it, then sends the event to the bot."""
        message = self.slack.post_as_user(user, text, thread_ts=thread_ts, channel=channel)
        response = self.events.message(user, text, channel, message["ts"], thread_ts=thread_ts)
        if response.status_code != 200:
            raise RuntimeError(f"the bot answered {response.status_code}: {response.text}")
        return message

    def care(self, user: str, text: str, channel: str = CHANNEL) -> str:
        """`/care <text>`: what the person sees, the acknowledgement's text and then whatever
        the bot answered through the command's response_url (slow reports come that way)."""
        before = len(self.slack.responses)
        response = self.events.slash_command(user, "/care", text, channel)
        if response.status_code != 200:
            raise RuntimeError(f"the bot answered {response.status_code}: {response.text}")
        later = [
            f"{r.get('text', '')} {r.get('blocks', '')}" for r in self.slack.responses[before:]
        ]
        return "\n".join([response.text, *later])

    def click(
        self, user: str, action_id: str, value: str, message_ts: str, channel: str = CHANNEL
    ) -> None:
        response = self.events.block_action(
            user, action_id, value, channel=channel, message_ts=message_ts
        )
        if response.status_code != 200:
            raise RuntimeError(f"the bot answered {response.status_code}: {response.text}")

    def press(
        self, user: str, action_id: str, card: dict[str, Any], channel: str = CHANNEL
    ) -> None:
        """Press a button of a card, with the value the card carries."""
        for block in card["blocks"]:
            for element in block.get("elements", []) if block["type"] == "actions" else []:
                if element.get("action_id") == action_id:
                    self.click(user, action_id, element["value"], card["ts"], channel)
                    return
        raise LookupError(f"the card has no {action_id!r} button")

    def choose(
        self, user: str, action_id: str, card: dict[str, Any], option: str, channel: str = CHANNEL
    ) -> None:
        """Choose `option` (its text) in a menu of a card."""
        for block in card["blocks"]:
            for element in block.get("elements", []) if block["type"] == "actions" else []:
                if element.get("action_id") != action_id:
                    continue
                chosen = next(o for o in element["options"] if o["text"]["text"] == option)
                response = self.events.block_action(
                    user, action_id, "", channel=channel, message_ts=card["ts"],
                    selected_option=chosen,
                )  # fmt: skip
                if response.status_code != 200:
                    raise RuntimeError(f"the bot answered {response.status_code}")
                return
        raise LookupError(f"the card has no {action_id!r} menu")

    def ephemerals_for(self, user: str) -> list[dict[str, Any]]:
        return [e for e in self.slack.ephemerals if e["user"] == user]


def _accounts_file(folder: Path, accounts: list[tuple[NetworkSpec, str]]) -> str:
    """An ACCOUNTS_FILE with the sandbox account of each network, at its emulator's URL."""
    entries = []
    for spec, url in accounts:
        values = spec.sandbox_values(url)
        lines = [f"name = {json.dumps(spec.name)}", f"network = {json.dumps(spec.name)}"]
        lines += [f"{key} = {json.dumps(value)}" for key, value in values.items()]
        entries.append("[[accounts]]\n" + "\n".join(lines))
    path = folder / "accounts.toml"
    path.write_text("\n\n".join(entries) + "\n")
    return str(path)


@contextmanager
def running_world(
    database_url: str,
    clock: ManualClock,
    *,
    slack: SlackEmulator | None = None,
    x: XEmulator | None = None,
    agents: dict[str, str] | None = None,
    env: dict[str, str] | None = None,
    registry: Registry | None = None,
    meta: GraphEmulator | None = None,
    instagram: InstagramEmulator | None = None,
    whatsapp: WhatsAppEmulator | None = None,
    transport: str = "http",
    socket_timing: Timing | None = None,
) -> Iterator[World]:
    """Start the emulators (unless given) and the bot; stop what was started here. `env` adds
    or overrides settings (hours, targets, on-call...). `transport`: how Slack reaches the bot,
    "http" (signed requests to /slack/events) or "socket" (Socket Mode envelopes over a
    WebSocket the bot opens); the HTTP server runs either way, for webhooks and /healthz."""
    if transport not in TRANSPORTS:
        raise ValueError(f"transport is one of {', '.join(TRANSPORTS)}")
    agents = agents or {}
    own_slack, own_x = slack is None, x is None
    slack = slack or SlackEmulator(clock=clock.timestamp, members=list(agents)).start()
    x = x or XEmulator(clock=clock.timestamp).start()
    for user_id, name in agents.items():
        slack.add_user(user_id, name)
    registry = registry or Registry.default()
    metas = [
        (spec, emulator.graph_url)
        for spec, emulator in ((FACEBOOK, meta), (INSTAGRAM, instagram), (WHATSAPP, whatsapp))
        if emulator is not None
    ]
    folder = tempfile.mkdtemp(prefix="carebridge-world-")
    if len(metas) > 1:
        # From the environment they would all take META_GRAPH_URL, one emulator's address:
        # several Meta products are accounts of a file, each with its emulator's.
        page = {"ACCOUNTS_FILE": _accounts_file(Path(folder), [(X, x.url), *metas])}
    else:
        page = {
            k: v
            for spec, url in metas
            for k, v in network_env(spec, spec.sandbox_values(url)).items()
        }
    socket = {"SLACK_APP_TOKEN": slack.app_token} if transport == "socket" else {}
    settings = load_settings(
        {**sandbox_env(slack, x, database_url), **page, **socket, **(env or {})},
        registry=registry,
    )
    # What listeners answer after their acknowledgement runs at once: tests see it when the
    # request returns, and never wait for a thread.
    app = Carebridge.build(settings, clock=clock, registry=registry, later=lambda job: job())
    server = create_server(app.wsgi(), host="127.0.0.1", port=0, threads=4)
    if not isinstance(server, BaseWSGIServer):  # one host and port make one server, not several
        raise TypeError(f"waitress served one address with a {type(server).__name__}")
    closing = threading.Event()

    def serve() -> None:
        try:
            server.run()
        except OSError:
            # close() from another thread races waitress's select(): a closed descriptor is
            # the stop we asked for, anything else is a real failure.
            if not closing.is_set():
                raise

    threading.Thread(target=serve, name="sandbox-http", daemon=True).start()
    _, port = server.getsockname()
    url = f"http://127.0.0.1:{port}/slack/events"
    events: SlackEventSender = SlackEventSender(url, SIGNING_SECRET, response_urls=slack.hooks_url)
    if transport == "socket":
        threading.Thread(
            target=app.socket_mode(socket_timing).run,
            args=(closing,),
            name="sandbox-socket",
            daemon=True,
        ).start()
        if not app.socket_mode().connected.wait(10):
            raise TimeoutError("the bot opened no Socket Mode link")
        events = SocketModeSender(
            slack.socket_mode, url, SIGNING_SECRET, response_urls=slack.hooks_url
        )
    try:
        base_url = f"http://127.0.0.1:{port}"
        yield World(
            app,
            clock,
            slack,
            x,
            events,
            meta,
            instagram,
            whatsapp,
            base_url=base_url,
            transport=transport,
        )
    finally:
        closing.set()
        server.close()
        app.close()
        shutil.rmtree(folder, ignore_errors=True)
        if own_slack:
            slack.stop()
        if own_x:
            x.stop()
