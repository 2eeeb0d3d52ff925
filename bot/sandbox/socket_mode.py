"""Slack's side of Socket Mode, on loopback: the WebSocket links an app opens with the URL that
`apps.connections.open` hands out, and the envelopes Slack sends over them.

What Slack does, as its Socket Mode documentation and slack_sdk's clients describe it:

- The URL carries a one-time `ticket`. On a good one the server sends `hello` (with
  `num_connections`, `debug_info` and `connection_info`); an app may hold 10 connections, and an
  11th gets `disconnect` with reason `too_many_websockets` instead of `hello`.
- Envelopes (`events_api`, `interactive`, `slash_commands`) carry `envelope_id`, `payload`,
  `accepts_response_payload`, `retry_attempt` and `retry_reason`, each as one text frame, each
  sent to one connection (spread over the app's connections in turn). The app acknowledges with
  `{"envelope_id": ..., "payload": ...}` within 3 seconds; an Events API envelope that is not
  acknowledged is sent again (to any connection) with a higher `retry_attempt`, up to 3 times.
- The server pings every connection now and then, and answers the client's pings with a pong
  that echoes their payload (slack_sdk's client drops a connection whose pongs do not).
- `disconnect` with reason `warning` comes before a refresh, `refresh_requested` asks the app to
  reconnect (the old link stays open a while, so the app may open the new one first), and
  `link_disabled` ends the link.

Faults for tests: `drop()` closes a link without a close frame, `stall()` makes it silent (no
pongs, nothing sent), `deafen()` loses what the app sends on it (its acks, its pings) while
Slack still sends, and `forget()` makes Slack stop using it while it still answers pings (no
envelopes, no server pings: the "connected but deaf" sockets users report).
"""

from __future__ import annotations

import contextlib
import itertools
import json
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlsplit

from wsproto import ConnectionType, WSConnection
from wsproto.events import (
    AcceptConnection,
    CloseConnection,
    Message,
    Ping,
    Pong,
    RejectConnection,
    Request,
    TextMessage,
)

MAX_CONNECTIONS = 10
ACK_TIMEOUT = 3.0
MAX_RETRIES = 3  # of an Events API envelope; interactions and commands are not sent again
REFRESH_GRACE = 10.0  # how long a link asked to refresh stays open
CONNECTION_TIME = 18_060  # what `hello` says a link lasts, in seconds


@dataclass
class Envelope:
    """One envelope Slack sends, and what became of it."""

    id: str
    kind: str  # events_api | interactive | slash_commands
    payload: dict[str, Any]
    accepts_response_payload: bool
    sent: list[tuple[int, float]] = field(default_factory=list)  # (link id, when), per attempt
    acked_at: float | None = None
    acked_by: int | None = None
    response: dict[str, Any] | None = None  # the ack's payload
    done: threading.Event = field(default_factory=threading.Event)  # acked, or given up

    @property
    def retry_attempt(self) -> int:
        return max(len(self.sent) - 1, 0)

    @property
    def ack_seconds(self) -> float | None:
        """From the last send to the ack."""
        if self.acked_at is None or not self.sent:
            return None
        return self.acked_at - self.sent[-1][1]


@dataclass
class Link:
    """One WebSocket an app opened."""

    id: int
    sock: socket.socket
    ws: WSConnection
    opened_at: float
    state: str = "open"  # open | retiring | forgotten | stalled | deaf | closed
    pings_received: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def usable(self) -> bool:
        """Slack sends envelopes and pings here."""
        return self.state in ("open", "deaf")


class SocketModeServer:
    """The Socket Mode links of one app; `apps.connections.open` asks it for a URL."""

    def __init__(
        self,
        app_id: str,
        *,
        clock: Callable[[], float] = time.time,
        ping_interval: float = 5.0,
        ack_timeout: float = ACK_TIMEOUT,
        refresh_grace: float = REFRESH_GRACE,
    ) -> None:
        self.app_id = app_id
        self.clock = clock  # only for what tests read; timers run on the wall clock
        self.ping_interval = ping_interval
        self.ack_timeout = ack_timeout
        self.refresh_grace = refresh_grace
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._lock = threading.Lock()
        self._tickets: set[str] = set()
        self._links: dict[int, Link] = {}
        self._envelopes: dict[str, Envelope] = {}
        self._waiting: list[Envelope] = []  # sent when a link is there to take them
        self._ids = itertools.count(1)
        self._turn = itertools.count()
        self._stopped = threading.Event()
        self.refused_connections = 0  # the 11th and later
        self._threads = [
            threading.Thread(target=self._accept, name="socket-mode-accept", daemon=True),
            threading.Thread(target=self._tick, name="socket-mode-tick", daemon=True),
        ]
        for thread in self._threads:
            thread.start()

    @property
    def port(self) -> int:
        return int(self._listener.getsockname()[1])

    def issue_url(self) -> str:
        """A one-time URL, as `apps.connections.open` answers."""
        ticket = f"{next(self._ids):08x}-{self.app_id.lower()}"
        with self._lock:
            self._tickets.add(ticket)
        return f"ws://127.0.0.1:{self.port}/link/?ticket={ticket}&app_id={self.app_id}"

    def stop(self) -> None:
        self._stopped.set()
        with contextlib.suppress(OSError):
            self._listener.close()
        for link in self.links():
            self._close_socket(link)

    # --- what tests see -------------------------------------------------------------------------
    def links(self) -> list[Link]:
        with self._lock:
            return list(self._links.values())

    def open_links(self) -> list[Link]:
        return [link for link in self.links() if link.state != "closed"]

    def envelopes(self) -> list[Envelope]:
        with self._lock:
            return list(self._envelopes.values())

    def wait_for_links(self, count: int = 1, timeout: float = 10.0) -> list[Link]:
        """Until `count` links have said hello and are usable."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            usable = [link for link in self.links() if link.usable]
            if len(usable) >= count:
                return usable
            time.sleep(0.01)
        raise TimeoutError(f"{count} Socket Mode link(s) expected, {len(self.open_links())} open")

    # --- Slack sends ----------------------------------------------------------------------------
    def send(
        self, kind: str, payload: dict[str, Any], *, accepts_response_payload: bool = False
    ) -> Envelope:
        """Send an envelope to one of the app's links (or as soon as one is there)."""
        envelope = Envelope(
            id=f"{next(self._ids):08x}-{int(self.clock())}-sandbox-envelope",
            kind=kind,
            payload=payload,
            accepts_response_payload=accepts_response_payload,
        )
        with self._lock:
            self._envelopes[envelope.id] = envelope
            self._waiting.append(envelope)
        self._flush()
        return envelope

    def _flush(self) -> None:
        """Send what waits, each envelope to the next usable link in turn."""
        with self._lock:
            usable = [link for link in self._links.values() if link.usable]
            if not usable:
                return
            waiting, self._waiting = self._waiting, []
        for envelope in waiting:
            link = usable[next(self._turn) % len(usable)]
            frame = {
                "envelope_id": envelope.id,
                "payload": envelope.payload,
                "type": envelope.kind,
                "accepts_response_payload": envelope.accepts_response_payload,
                "retry_attempt": len(envelope.sent),
                "retry_reason": "timeout" if envelope.sent else "",
            }
            envelope.sent.append((link.id, time.monotonic()))
            self._send_text(link, frame)

    # --- faults ---------------------------------------------------------------------------------
    def disconnect(self, reason: str, link: Link | None = None) -> None:
        """Send `disconnect` (warning, refresh_requested, link_disabled) on a link (the newest)."""
        target = link or self._newest()
        self._send_text(target, {"type": "disconnect", "reason": reason, "debug_info": _debug()})
        if reason == "refresh_requested":
            target.state = "retiring"
            timer = threading.Timer(self.refresh_grace, self._close, args=(target,))
            timer.daemon = True
            timer.start()
        elif reason == "link_disabled":
            self._close(target)

    def drop(self, link: Link | None = None) -> None:
        """Close the TCP connection without a close frame, as a network failure would."""
        self._close_socket(link or self._newest())

    def stall(self, link: Link | None = None) -> None:
        """Say nothing more on the link, not even a pong: a half-dead TCP connection."""
        (link or self._newest()).state = "stalled"

    def deafen(self, link: Link | None = None) -> None:
        """Slack still sends on the link, but nothing the app sends arrives (acks, pings): the
        app processes an envelope and Slack, never hearing the ack, sends it again."""
        (link or self._newest()).state = "deaf"

    def forget(self, link: Link | None = None) -> None:
        """Slack stops using the link but it stays open: pongs still come, nothing else."""
        (link or self._newest()).state = "forgotten"

    def _newest(self) -> Link:
        links = [link for link in self.links() if link.state != "closed"]
        if not links:
            raise LookupError("no open Socket Mode link")
        return links[-1]

    # --- the links ------------------------------------------------------------------------------
    def _accept(self) -> None:
        while not self._stopped.is_set():
            try:
                sock, _ = self._listener.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(sock,), daemon=True).start()

    def _serve(self, sock: socket.socket) -> None:
        ws = WSConnection(ConnectionType.SERVER)
        link: Link | None = None
        sock.settimeout(0.5)
        while not self._stopped.is_set():
            try:
                data = sock.recv(65536)
            except TimeoutError:
                continue
            except OSError:
                break
            if not data:
                break
            ws.receive_data(data)
            for event in ws.events():
                if isinstance(event, Request):
                    link = self._handshake(sock, ws, event)
                    if link is None:
                        return
                elif link is not None and not self._on_frame(link, event):
                    self._close(link)
                    return
        if link is not None:
            link.state = "closed"
        with contextlib.suppress(OSError):
            sock.close()

    def _handshake(self, sock: socket.socket, ws: WSConnection, request: Request) -> Link | None:
        ticket = parse_qs(urlsplit(request.target).query).get("ticket", [""])[0]
        with self._lock:
            known = ticket in self._tickets
            self._tickets.discard(ticket)  # one use
        if not known:
            sock.sendall(ws.send(RejectConnection(status_code=401)))
            sock.close()
            return None
        sock.sendall(ws.send(AcceptConnection()))
        with self._lock:
            link = Link(next(self._ids), sock, ws, time.monotonic())
            live = [other for other in self._links.values() if other.state != "closed"]
            self._links[link.id] = link
        if len(live) >= MAX_CONNECTIONS:
            self.refused_connections += 1
            refusal = {"type": "disconnect", "reason": "too_many_websockets"}
            self._send_text(link, {**refusal, "debug_info": _debug()})
            self._close(link)
            return None
        hello = {
            "type": "hello",
            "num_connections": len(live) + 1,
            "debug_info": {**_debug(), "approximate_connection_time": CONNECTION_TIME},
            "connection_info": {"app_id": self.app_id},
        }
        self._send_text(link, hello)
        self._flush()
        return link

    def _on_frame(self, link: Link, event: object) -> bool:
        """Handle one frame from the app; False when the link is over."""
        if link.state == "deaf":
            return True  # nothing from the app arrives
        if isinstance(event, Ping):
            link.pings_received += 1
            if link.state != "stalled":
                self._send(link, event.response())  # the pong echoes the ping's payload
        elif isinstance(event, TextMessage):
            self._on_text(link, event.data)
        elif isinstance(event, CloseConnection):
            if link.state != "stalled":
                self._send(link, event.response())
            return False
        elif isinstance(event, Message | Pong):
            pass  # binary frames are not Slack's; pongs answer our pings
        return True

    def _on_text(self, link: Link, text: str) -> None:
        if link.state in ("stalled", "closed"):
            return  # a half-dead connection: what the app sends never reaches Slack
        try:
            ack = json.loads(text)
        except ValueError:
            return
        if not isinstance(ack, dict):
            return
        envelope = self._envelopes.get(str(ack.get("envelope_id", "")))
        if envelope is None or envelope.acked_at is not None:
            return
        payload = ack.get("payload")
        envelope.response = payload if isinstance(payload, dict) else None
        envelope.acked_by = link.id
        envelope.acked_at = time.monotonic()
        envelope.done.set()

    def _tick(self) -> None:
        """Ping the links Slack uses; send again what was not acknowledged in time."""
        last_ping = time.monotonic()
        while not self._stopped.wait(0.1):
            now = time.monotonic()
            if now - last_ping >= self.ping_interval:
                last_ping = now
                for link in self.links():
                    if link.usable:
                        self._send(link, Ping(payload=f"slack-{int(now)}".encode()))
            for envelope in self.envelopes():
                if envelope.done.is_set() or not envelope.sent:
                    continue
                if now - envelope.sent[-1][1] < self.ack_timeout:
                    continue
                if envelope.kind != "events_api" or envelope.retry_attempt >= MAX_RETRIES:
                    envelope.done.set()  # Slack gives up (an interaction shows the user an error)
                    continue
                with self._lock:
                    if envelope not in self._waiting:
                        self._waiting.append(envelope)
            self._flush()

    def _send_text(self, link: Link, frame: dict[str, Any]) -> None:
        self._send(link, TextMessage(data=json.dumps(frame)))

    def _send(self, link: Link, event: Any) -> None:
        if link.state in ("stalled", "closed"):
            return
        with link.lock:
            try:
                link.sock.sendall(link.ws.send(event))
            except (OSError, Exception):  # the app went away, or wsproto says the link is over
                link.state = "closed"

    def _close(self, link: Link) -> None:
        if link.state == "closed":
            return
        with link.lock, contextlib.suppress(Exception):
            link.sock.sendall(link.ws.send(CloseConnection(code=1000)))
        self._close_socket(link)

    def _close_socket(self, link: Link) -> None:
        link.state = "closed"
        with contextlib.suppress(OSError):
            link.sock.shutdown(socket.SHUT_RDWR)
        with contextlib.suppress(OSError):
            link.sock.close()


def _debug() -> dict[str, Any]:
    return {"host": "applink-sandbox-1", "build_number": 42}
