"""A webhook endpoint on loopback that does with a Meta delivery what Carebridge's does: checks
its signature with the network's receiver, parses it, and keeps the events (403 for a delivery
whose signature is wrong)."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from bot.domain.model import NetworkEvent
from bot.networks.base import WebhookReceiver


class Endpoint:
    def __init__(self, receiver: WebhookReceiver) -> None:
        self.events: list[NetworkEvent] = []
        endpoint = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: object) -> None:
                pass

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                headers = {k.lower(): v for k, v in self.headers.items()}
                signed = receiver.verify(headers, body)
                if signed:
                    endpoint.events += [pushed.event for pushed in receiver.parse(body)]
                self.send_response(200 if signed else 403)
                self.send_header("Content-Length", "0")
                self.end_headers()

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/webhooks/meta"

    def __enter__(self) -> Endpoint:
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
