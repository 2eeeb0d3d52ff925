"""Chirp's side, on loopback: its API (whoami, replies, DMs, what was sent) and a way to push
signed webhook deliveries to the bot, as Chirp would."""

from __future__ import annotations

import itertools
import json
from typing import Any

import requests

from bot.sandbox.loopback import LoopbackServer, Reply, Request
from tests.chirp.webhook import SIGNATURE_HEADER, signature


class ChirpEmulator(LoopbackServer):
    name = "chirp"

    def __init__(self, *, account_id: str, handle: str, token: str, app_secret: str, **kw: Any):
        super().__init__(**kw)
        self.account = {"id": account_id, "handle": handle, "name": handle.title()}
        self.token, self.app_secret = token, app_secret
        self.sent: list[dict[str, Any]] = []
        self._ids = itertools.count(1)

    def handle(self, request: Request) -> Reply:
        if request.header("authorization") != f"Bearer {self.token}":
            return Reply(401, {"error": "bad token"})
        if request.method == "GET" and request.path == "/me":
            return Reply(200, self.account)
        if request.method == "GET" and request.path == "/sent":
            return Reply(200, {"items": self.sent})
        parts = request.path.strip("/").split("/")
        body = request.json() or {}
        if request.method == "POST" and len(parts) == 3 and parts[0] == "posts":
            return self._record({"in_reply_to": parts[1], "text": body.get("text", "")})
        if request.method == "POST" and len(parts) == 2 and parts[0] == "dms":
            return self._record({"recipient": parts[1], "text": body.get("text", "")})
        return Reply(404, {"error": "not found"})

    def _record(self, sent: dict[str, Any]) -> Reply:
        with self._lock:
            sent_id = f"s{next(self._ids)}"
            sent |= {"id": sent_id, "url": f"https://chirp.example/posts/{sent_id}"}
            self.sent.append(sent)
        return Reply(201, sent)

    def push(self, webhook_url: str, events: list[dict[str, Any]], *, sign: bool = True) -> Any:
        """Deliver `events` to the bot's webhook, signed as Chirp signs."""
        body = json.dumps({"account": self.account["id"], "events": events}).encode()
        headers = {"Content-Type": "application/json"}
        if sign:
            headers[SIGNATURE_HEADER] = signature(self.app_secret, body)
        return requests.post(webhook_url, data=body, headers=headers, timeout=5)
