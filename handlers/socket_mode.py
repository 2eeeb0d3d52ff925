"""Socket Mode: Slack's events, interactions and commands over a WebSocket the bot opens.

Why not slack_sdk's SocketModeClient (which Bolt's SocketModeHandler uses): tried against a
faithful Socket Mode server, its built-in client took about a minute to notice a socket closed
without a close frame (spinning a core on the empty reads meanwhile) or a socket that stopped
answering pings; it reads a refreshed connection only after closing the old one, which pushed an
acknowledgement past Slack's 3 seconds; and it retries a refused app token every 10 seconds
forever without telling anyone. The websocket-client based one reconnects without asking for a
new URL (python-slack-sdk #1379). This receiver keeps one link (a second only while a refresh
hands over), on websocket-client's plain WebSocket:

- A link lives until Slack closes it, the socket drops (seen at once), our ping goes unanswered
  for `pong_timeout`, or Slack sends nothing at all (no ping, no envelope) for
  `silence_timeout`: a link Slack has forgotten still answers pings but is deaf.
- On `disconnect` with `refresh_requested` the next link is opened first, then the old one is
  closed; `warning` is only noted.
- `apps.connections.open` failures back off (1 s doubling to 30 s, Slack's `Retry-After` on
  `ratelimited`); a refused app token is said once through `on_refused` and retried every few
  minutes, and `/healthz` turns 503 after a minute without a working link.
- Each envelope goes to Bolt on a worker thread; it is acknowledged when Bolt is done (its
  response as the payload) or after `ack_budget` seconds, whichever comes first, so a slow
  database never lets Slack's 3 seconds pass. A listener that fails before the ack leaves the
  envelope unacknowledged, so Slack sends it again, as a 500 does in HTTP mode. Handling is
  idempotent, so an envelope delivered again (after a reconnect, to another replica) changes
  nothing twice.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import structlog
import websocket
from slack_bolt import App
from slack_bolt.request import BoltRequest
from slack_bolt.response import BoltResponse
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.slack.failures import NETWORK_FAILED
from handlers.shapes import MAX_PAYLOAD_BYTES, socket_mode_payload

log = structlog.get_logger(__name__)

REFUSED = {"invalid_auth", "token_revoked", "not_allowed_token_type", "account_inactive"}
KEEP_ACKED = 2000  # envelope ids remembered, so a repeat is acknowledged without a second run


@dataclass
class Timing:
    """How patient the receiver is, in seconds (tests shorten them)."""

    ping_interval: float = 3.0
    pong_timeout: float = 4.0
    silence_timeout: float = 30.0  # Slack pings every few seconds; silence means a dead link
    hello_timeout: float = 10.0
    ack_budget: float = 2.0
    max_backoff: float = 30.0  # between attempts to connect, at most
    refused_retry: float = 300.0  # a refused app token is tried again this often
    unhealthy_after: float = 60.0  # /healthz turns 503 after this long without a working link


@dataclass
class LinkHealth:
    connected_since: float | None = None  # wall time
    down_since: float | None = None  # monotonic
    reconnects: deque[float] = field(default_factory=deque)  # monotonic times, last hour
    last_error: str | None = None
    refused: bool = False


class Link:
    """One WebSocket to Slack, read by its own thread."""

    _ids = itertools.count(1)

    def __init__(self, ws: websocket.WebSocket, receiver: SocketModeReceiver) -> None:
        self.id = next(self._ids)
        self.ws = ws
        self.receiver = receiver
        self.over = threading.Event()
        self.refresh = threading.Event()
        self.reason = ""
        self._ping_sent_at: float | None = None  # monotonic, while a pong is awaited
        self._ping_payload = b""
        self._last_ping = time.monotonic()
        self._last_heard = time.monotonic()  # anything from Slack but a pong
        self._thread = threading.Thread(target=self._read, name=f"socket-link-{self.id}")
        self._thread.daemon = True

    def start(self) -> None:
        self._thread.start()

    def end(self, reason: str) -> None:
        if not self.over.is_set():
            self.reason = reason
            self.over.set()

    def close(self) -> None:
        """Close the link (a close frame, then the socket) and let its reader go."""
        self.end(self.reason or "closed")
        with contextlib.suppress(Exception):  # it may be gone already; closing is all that is left
            self.ws.send_close()
        self.ws.shutdown()

    def send_json(self, frame: dict[str, Any]) -> bool:
        try:
            self.ws.send(json.dumps(frame))
            return True
        except (websocket.WebSocketException, OSError) as error:
            self.end(f"send failed: {type(error).__name__}")
            return False

    def _read(self) -> None:
        timing = self.receiver.timing
        while not self.over.is_set():
            try:
                opcode, frame = self.ws.recv_data_frame(control_frame=True)
            except websocket.WebSocketTimeoutException:
                self._check(timing)
                continue
            except (websocket.WebSocketException, OSError, ValueError) as error:
                self.end(f"dropped: {type(error).__name__}")
                return
            now = time.monotonic()
            if opcode == websocket.ABNF.OPCODE_PONG:
                if frame.data == self._ping_payload:
                    self._ping_sent_at = None
            elif opcode == websocket.ABNF.OPCODE_CLOSE:
                self.end("closed by Slack")
                return
            else:
                self._last_heard = now  # a ping (answered by the library) or a message
                if opcode == websocket.ABNF.OPCODE_TEXT:
                    data = frame.data
                    text = data.decode("utf-8", "replace") if isinstance(data, bytes) else data
                    self.receiver.on_text(self, str(text))
            self._check(timing)
        return

    def _check(self, timing: Timing) -> None:
        now = time.monotonic()
        if self._ping_sent_at is not None and now - self._ping_sent_at > timing.pong_timeout:
            self.end("no pong")
        elif now - self._last_heard > timing.silence_timeout:
            self.end("silent: Slack no longer uses this connection")
        elif self._ping_sent_at is None and now - self._last_ping >= timing.ping_interval:
            self._last_ping = self._ping_sent_at = now
            self._ping_payload = f"carebridge-{self.id}-{now:.3f}".encode()
            try:
                self.ws.ping(self._ping_payload)
            except (websocket.WebSocketException, OSError) as error:
                self.end(f"ping failed: {type(error).__name__}")


class SocketModeReceiver:
    def __init__(
        self,
        app: App,
        client: WebClient,
        app_token: str,
        *,
        on_refused: Callable[[str], None] = lambda reason: None,
        timing: Timing | None = None,
        workers: int = 8,
    ) -> None:
        self.app = app
        self.client = client
        self.app_token = app_token
        self.on_refused = on_refused
        self.timing = timing or Timing()
        self.health = LinkHealth(down_since=time.monotonic())
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="socket-envelope")
        self._acked: OrderedDict[str, None] = OrderedDict()
        self._lock = threading.Lock()
        self._links: list[Link] = []
        self._told_refused = False
        self.connected = threading.Event()  # a link said hello and works

    # --- the connection ---------------------------------------------------------------------------
    def run(self, stop: threading.Event) -> None:
        """Hold a link to Slack until `stop`, reconnecting as needed."""
        link: Link | None = None
        try:
            while not stop.is_set():
                if link is None:
                    link = self._connect(stop)
                    if link is None:
                        break
                while not (link.over.is_set() or link.refresh.is_set() or stop.is_set()):
                    link.over.wait(0.2)
                if stop.is_set():
                    break
                if link.refresh.is_set() and not link.over.is_set():
                    # Slack asks for a new link: open it before letting this one go.
                    log.info("socket_mode.refreshing", link=link.id)
                    fresh = self._connect(stop)
                    self._retire(link, "refreshed")
                    link = fresh
                else:
                    log.warning("socket_mode.link_lost", link=link.id, reason=link.reason)
                    self._retire(link, link.reason)
                    self._down(link.reason)
                    link = None
        finally:
            for open_link in list(self._links):
                self._retire(open_link, "stopping")
            self._pool.shutdown(wait=False, cancel_futures=True)

    def _connect(self, stop: threading.Event) -> Link | None:
        failures = 0
        while not stop.is_set():
            wait = self._try_connect()
            if isinstance(wait, Link):
                return wait
            failures += 1
            delay = (
                wait if wait is not None else min(2.0 ** (failures - 1), self.timing.max_backoff)
            )
            log.info("socket_mode.retry_in", seconds=round(delay, 1), attempt=failures)
            stop.wait(delay)
        return None

    def _try_connect(self) -> Link | float | None:
        """A link that said hello; else how long to wait (None: the usual backoff)."""
        try:
            response = self.client.apps_connections_open(app_token=self.app_token)
        except SlackApiError as error:
            code = str(error.response.get("error", ""))
            self.health.last_error = code
            if code in REFUSED:
                self._refused(code)
                return self.timing.refused_retry
            if error.response.status_code == 429:
                return float(error.response.headers.get("Retry-After", "1") or 1)
            log.warning("socket_mode.open_failed", error=code)
            return None
        except NETWORK_FAILED as error:
            self.health.last_error = type(error).__name__
            log.warning("socket_mode.open_failed", error=type(error).__name__)
            return None
        if self.health.refused:
            log.info("socket_mode.token_accepted")
        self.health.refused = False
        self._told_refused = False
        return self._open(str(response["url"]))

    def _open(self, url: str) -> Link | None:
        try:
            ws = websocket.create_connection(
                url, timeout=self.timing.hello_timeout, enable_multithread=True
            )
            hello = json.loads(ws.recv())
        except (websocket.WebSocketException, OSError, ValueError) as error:
            self.health.last_error = f"connect: {type(error).__name__}"
            log.warning("socket_mode.connect_failed", error=type(error).__name__)
            return None
        if not isinstance(hello, dict) or hello.get("type") != "hello":
            reason = hello.get("reason") if isinstance(hello, dict) else None
            self.health.last_error = f"refused: {reason or 'no hello'}"
            log.warning("socket_mode.no_hello", reason=reason)
            ws.close()
            return None
        ws.settimeout(0.5)  # the reader wakes this often to ping and to check the link
        link = Link(ws, self)
        with self._lock:
            self._links.append(link)
        link.start()
        now = time.monotonic()
        self.health.reconnects.append(now)
        self.health.connected_since = time.time()
        self.health.down_since = None
        self.connected.set()
        log.info(
            "socket_mode.connected",
            link=link.id,
            connections=hello.get("num_connections"),
            host=(hello.get("debug_info") or {}).get("host"),
        )
        return link

    def _retire(self, link: Link, reason: str) -> None:
        link.end(reason)
        link.close()
        with self._lock:
            if link in self._links:
                self._links.remove(link)

    def _down(self, reason: str) -> None:
        self.connected.clear()
        self.health.connected_since = None
        self.health.down_since = self.health.down_since or time.monotonic()
        self.health.last_error = reason

    def _refused(self, code: str) -> None:
        self._down(f"app token refused: {code}")
        self.health.refused = True
        log.error("socket_mode.token_refused", error=code)
        if not self._told_refused:
            self._told_refused = True
            self.on_refused(code)

    def status(self) -> dict[str, Any]:
        """For /healthz: whether a link works, since when, reconnects in the last hour."""
        now = time.monotonic()
        reconnects = self.health.reconnects
        while reconnects and now - reconnects[0] > 3600:
            reconnects.popleft()
        down = self.health.down_since
        since = self.health.connected_since
        return {
            "transport": "socket_mode",
            "connected": since is not None,
            "connected_since": _iso(since) if since is not None else None,
            "down_for_seconds": int(now - down) if down is not None else 0,
            "reconnects_last_hour": max(len(reconnects) - 1, 0),
            "app_token_refused": self.health.refused,
            "last_error": self.health.last_error,
            "ok": down is None or now - down < self.timing.unhealthy_after,
        }

    # --- envelopes --------------------------------------------------------------------------------
    def on_text(self, link: Link, text: str) -> None:
        try:  # a frame far bigger than Slack's is not even parsed
            frame = json.loads(text) if len(text) <= 10 * MAX_PAYLOAD_BYTES else None
        except ValueError:
            frame = None
        if not isinstance(frame, dict):
            log.warning("socket_mode.malformed_frame", size=len(text))
            return
        kind = frame.get("type")
        if kind == "disconnect":
            reason = str(frame.get("reason", ""))
            log.info("socket_mode.disconnect_asked", link=link.id, reason=reason)
            if reason == "refresh_requested":
                link.refresh.set()
            elif reason != "warning":  # a refresh follows a warning: nothing to do yet
                link.end(f"disconnect: {reason}")
            return
        envelope_id = frame.get("envelope_id")
        if not isinstance(envelope_id, str) or not envelope_id:
            return  # hello again, or something Slack added: nothing to acknowledge
        payload = frame.get("payload")
        oversized = len(text) > MAX_PAYLOAD_BYTES
        if oversized or not isinstance(payload, dict) or not socket_mode_payload(kind, payload):
            log.warning("socket_mode.malformed_envelope", type=str(kind)[:40], size=len(text))
            self._ack(link, envelope_id, None)  # never again: it cannot get better
            return
        with self._lock:
            seen = envelope_id in self._acked
        if seen:  # handled, but the ack was lost on the way: Slack sent it again
            log.info("socket_mode.acked_again", envelope_id=envelope_id)
            self._send_ack(link, envelope_id, None)
            return
        headers: dict[str, str | Sequence[str]] = {}
        if isinstance(frame.get("retry_attempt"), int) and frame["retry_attempt"] > 0:
            headers["x-slack-retry-num"] = str(frame["retry_attempt"])
            headers["x-slack-retry-reason"] = str(frame.get("retry_reason") or "timeout")
        request = BoltRequest(mode="socket_mode", body=payload, headers=headers)
        future = self._pool.submit(self.app.dispatch, request)
        timer = threading.Timer(self.timing.ack_budget, self._ack_late, (link, envelope_id, future))
        timer.daemon = True
        timer.start()
        future.add_done_callback(lambda done: self._finished(link, envelope_id, done, timer))

    def _finished(
        self, link: Link, envelope_id: str, done: Future[BoltResponse], timer: threading.Timer
    ) -> None:
        timer.cancel()
        try:
            response = done.result()
        except Exception:
            log.exception("socket_mode.dispatch_failed", envelope_id=envelope_id)
            return  # not acknowledged: Slack sends it again
        if response.status != 200:
            log.warning("socket_mode.not_acked", envelope_id=envelope_id, status=response.status)
            return
        self._ack(link, envelope_id, _payload(response))

    def _ack_late(self, link: Link, envelope_id: str, future: Future[BoltResponse]) -> None:
        if not future.done():
            log.warning("socket_mode.acked_before_done", envelope_id=envelope_id)
            self._ack(link, envelope_id, None)

    def _ack(self, link: Link, envelope_id: str, payload: dict[str, Any] | None) -> None:
        """Acknowledge once: the first of Bolt's answer and the budget's end wins."""
        with self._lock:
            if envelope_id in self._acked:
                return
            self._acked[envelope_id] = None
            while len(self._acked) > KEEP_ACKED:
                self._acked.popitem(last=False)
        self._send_ack(link, envelope_id, payload)

    def _send_ack(self, link: Link, envelope_id: str, payload: dict[str, Any] | None) -> None:
        frame: dict[str, Any] = {"envelope_id": envelope_id}
        if payload:
            frame["payload"] = payload
        link.send_json(frame)


def _payload(response: BoltResponse) -> dict[str, Any] | None:
    """What Bolt answered, as the ack's payload (a slash command's or an interaction's reply)."""
    body = response.body
    if not body:
        return None
    content_type = (response.headers.get("content-type") or [""])[0]
    if content_type.startswith("application/json"):
        parsed = json.loads(body)
        return parsed if isinstance(parsed, dict) else None
    return {"text": body}


def _iso(timestamp: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(timestamp))
