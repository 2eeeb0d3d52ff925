"""A loopback HTTP server that records every request and can inject faults.

The Slack and X emulators subclass `LoopbackServer` and implement `handle()`. Tests and the demo
run them on 127.0.0.1 with port 0, so several can run side by side and nothing leaves the machine.

Faults are queued per key (the emulator decides the key: a Slack method name, an X route) and
consumed in order by the next matching requests:

- a `Fault` with a `status` answers with that status instead of handling the request;
- `reset=True` closes the connection without an answer, before handling (nothing happened);
- `after=True` handles the request first (the state changes) and then fails: the ambiguous case
  where the client cannot know whether its request took effect;
- `delay` holds the answer that many seconds (a client timeout shorter than it gives up).

`chaos(rate, seed)` fails a share of all requests at random instead (seeded, so a failing run can
be replayed), with the faults the real service produces: each emulator's `random_fault()` adds
its own rate-limit answer to the common server errors, resets and timeouts.
"""

from __future__ import annotations

import contextlib
import json
import random
import socket
import threading
import time
from collections import Counter, defaultdict, deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self
from urllib.parse import parse_qs, urlsplit


@dataclass(frozen=True)
class Request:
    """One request as the emulator received it."""

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes
    received_at: float

    def json(self) -> Any:
        return json.loads(self.body or b"null")

    def form(self) -> dict[str, str]:
        return {k: v[-1] for k, v in parse_qs(self.body.decode(), keep_blank_values=True).items()}

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())


@dataclass(frozen=True)
class Reply:
    status: int
    body: Any = None
    headers: Mapping[str, str] = field(default_factory=dict)

    def encode(self) -> bytes:
        if self.body is None:
            return b""
        if isinstance(self.body, bytes):
            return self.body
        return json.dumps(self.body).encode()


@dataclass(frozen=True)
class Fault:
    status: int | None = None
    body: Any = None
    headers: Mapping[str, str] = field(default_factory=dict)
    reset: bool = False
    after: bool = False
    delay: float = 0.0

    @classmethod
    def server_error(cls, status: int = 500, *, after: bool = False) -> Fault:
        return cls(status=status, body={"error": "emulated server error"}, after=after)

    @classmethod
    def connection_reset(cls, *, after: bool = False) -> Fault:
        return cls(reset=True, after=after)

    @classmethod
    def timeout(cls, seconds: float) -> Fault:
        """Handle the request, then answer only after `seconds` (longer than the client waits)."""
        return cls(after=True, delay=seconds)


@dataclass
class _Chaos:
    rate: float
    rng: random.Random
    timeout_after: float


class LoopbackServer:
    """Base of the emulators: threading HTTP server on 127.0.0.1:0 with recording and faults."""

    name = "loopback"

    def __init__(self, *, clock: Callable[[], float] = time.time) -> None:
        self.clock = clock
        self.requests: list[Request] = []
        self._faults: dict[str, deque[Fault]] = defaultdict(deque)
        self._lock = threading.RLock()
        self._chaos: _Chaos | None = None
        self.faults_injected: Counter[str] = Counter()  # by kind, for a run's report
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # --- to implement -------------------------------------------------------------------------
    def fault_key(self, request: Request) -> str:
        return f"{request.method} {request.path}"

    def handle(self, request: Request) -> Reply:
        raise NotImplementedError

    # --- faults ---------------------------------------------------------------------------------
    def inject(self, key: str, fault: Fault, times: int = 1) -> None:
        with self._lock:
            self._faults[key].extend([fault] * times)

    def _next_fault(self, key: str) -> Fault | None:
        with self._lock:
            queue = self._faults.get(key)
            return queue.popleft() if queue else None

    def chaos(self, rate: float, seed: int, *, timeout_after: float = 2.0) -> None:
        """Fail `rate` of the following requests at random; a "timeout" holds its answer
        `timeout_after` seconds after handling the request (set it above the client's timeout)."""
        with self._lock:
            self._chaos = _Chaos(rate, random.Random(seed), timeout_after)

    def calm(self) -> None:
        """Stop failing requests at random (queued faults still apply)."""
        with self._lock:
            self._chaos = None

    def random_fault(
        self, request: Request, rng: random.Random, timeout_after: float
    ) -> tuple[str, Fault]:
        """One fault picked at random, with its kind; emulators add their rate-limit answer."""
        return rng.choice(
            [
                ("500", Fault.server_error(500)),
                ("502", Fault.server_error(502)),
                ("503", Fault.server_error(503)),
                ("500 after handling", Fault.server_error(500, after=True)),
                ("reset", Fault.connection_reset()),
                ("reset after handling", Fault.connection_reset(after=True)),
                ("timeout after handling", Fault.timeout(timeout_after)),
            ]
        )

    def _chaos_fault(self, request: Request) -> Fault | None:
        with self._lock:
            chaos = self._chaos
            if chaos is None or chaos.rng.random() >= chaos.rate:
                return None
            kind, fault = self.random_fault(request, chaos.rng, chaos.timeout_after)
            self.faults_injected[kind] += 1
            return fault

    def pending_faults(self) -> int:
        with self._lock:
            return sum(len(q) for q in self._faults.values())

    # --- lifecycle ------------------------------------------------------------------------------
    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError(f"{self.name} emulator is not started")
        return self._server.server_address[1]

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> Self:
        handler = _make_handler(self)
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},  # stop() waits up to one poll interval
            name=f"{self.name}-emulator",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # --- plumbing -------------------------------------------------------------------------------
    def _serve(self, request: Request) -> Reply | None:
        """Return the reply to write, or None to drop the connection."""
        with self._lock:
            self.requests.append(request)
        fault = self._next_fault(self.fault_key(request)) or self._chaos_fault(request)
        if fault is None:
            return self.handle(request)
        if not fault.after:
            return None if fault.reset else Reply(fault.status or 500, fault.body, fault.headers)
        reply = self.handle(request)
        if fault.delay:
            time.sleep(fault.delay)
            return reply
        return None if fault.reset else Reply(fault.status or 500, fault.body, fault.headers)


def _make_handler(server: LoopbackServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        # Headers and body are written separately; without this each answer waits ~40 ms on
        # Nagle's algorithm.
        disable_nagle_algorithm = True

        def log_message(self, format: str, *args: object) -> None:
            pass  # the emulator records requests; stderr noise helps nobody

        def _dispatch(self) -> None:
            parts = urlsplit(self.path)
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            request = Request(
                method=self.command,
                path=parts.path,
                query={k: v[-1] for k, v in parse_qs(parts.query, keep_blank_values=True).items()},
                headers={k.lower(): v for k, v in self.headers.items()},
                body=body,
                received_at=server.clock(),
            )
            try:
                reply = server._serve(request)
            except Exception as error:  # an emulator bug must surface as a 500, not a hang
                reply = Reply(500, {"error": f"emulator: {type(error).__name__}: {error}"})
            if reply is None:
                self.close_connection = True
                with contextlib.suppress(OSError):  # the client may have gone already
                    self.connection.shutdown(socket.SHUT_RDWR)
                return
            payload = reply.encode()
            self.send_response(reply.status)
            headers = {"content-type": "application/json; charset=utf-8", **reply.headers}
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(payload)))
            try:
                self.end_headers()
                self.wfile.write(payload)
            except (BrokenPipeError, ConnectionResetError):
                self.close_connection = True  # the client gave up (a timeout test): fine

        do_GET = do_POST = do_DELETE = do_PUT = _dispatch

    return Handler
