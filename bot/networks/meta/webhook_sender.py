"""Meta's side of an app's webhook, for the emulators of its products (a Page, an Instagram
account, a WhatsApp number): the payload bytes as Meta writes them, signed as Meta signs them,
POSTed again while the bot does not answer 200, and Meta's subscription check."""

from __future__ import annotations

import hashlib
import hmac
import json
import random
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import requests


@dataclass(frozen=True)
class Attempt:
    """One POST of a delivery: the status the bot answered (None: no answer) and how long it
    took to answer."""

    status: int | None
    seconds: float
    error: str = ""


@dataclass(frozen=True)
class Delivery:
    """A webhook POST as Meta made it, with every attempt."""

    body: bytes
    signature: str
    attempts: tuple[Attempt, ...]

    @property
    def payload(self) -> dict[str, Any]:
        parsed: dict[str, Any] = json.loads(self.body)
        return parsed

    @property
    def delivered(self) -> bool:
        return bool(self.attempts) and self.attempts[-1].status == 200


def encode(payload: Mapping[str, Any]) -> bytes:
    """A webhook body as Meta writes it: compact JSON, non-ASCII escaped as \\uXXXX (emoji as
    surrogate pairs) and "/" as "\\/". A receiver must verify the signature over these bytes,
    not over its own re-encoding."""
    text = json.dumps(payload, ensure_ascii=True, separators=(",", ":"))
    return text.replace("/", "\\/").encode("ascii")  # "/" occurs only inside JSON strings


def signature(body: bytes, app_secret: str) -> str:
    """The X-Hub-Signature-256 header of `body`."""
    return "sha256=" + hmac.new(app_secret.encode(), body, hashlib.sha256).hexdigest()


class WebhookSender:
    def __init__(
        self, app_secret: str, verify_token: str, *, attempts: int = 3, pause: float = 0.0
    ) -> None:
        self.app_secret = app_secret
        self.verify_token = verify_token
        self.attempts = attempts
        self.pause = pause  # seconds between attempts; Meta's are minutes

    def post(
        self,
        url: str,
        body: bytes,
        *,
        attempts: int | None = None,
        pause: float | None = None,
        timeout: float = 20.0,
    ) -> Delivery:
        """POST `body`, again while the answer is not 200, `attempts` times in all."""
        made: list[Attempt] = []
        wait = self.pause if pause is None else pause
        for number in range(attempts or self.attempts):
            if number and wait:
                time.sleep(wait)  # a real pause: the bot under test runs in real time
            started = time.monotonic()
            try:
                response = requests.post(
                    url, data=body, headers=self.headers(body), timeout=timeout
                )
            except requests.RequestException as error:
                made.append(Attempt(None, time.monotonic() - started, type(error).__name__))
                continue
            made.append(Attempt(response.status_code, time.monotonic() - started))
            if response.status_code == 200:
                break
        return Delivery(body, signature(body, self.app_secret), tuple(made))

    def post_raw(
        self, url: str, body: bytes, *, signature: str | None = None, timeout: float = 20.0
    ) -> requests.Response:
        """POST `body` once, with `signature` as X-Hub-Signature-256 instead of the right one
        ("" sends none): for tests of what the bot refuses."""
        headers = self.headers(body)
        if signature is not None:
            headers.pop("X-Hub-Signature-256")
            if signature:
                headers["X-Hub-Signature-256"] = signature
        return requests.post(url, data=body, headers=headers, timeout=timeout)

    def handshake(self, url: str, *, verify_token: str | None = None) -> bool:
        """Meta's subscription check: a GET with hub.mode=subscribe, the verify token and a
        challenge; True when the webhook answers 200 with the challenge."""
        challenge = str(random.randrange(10**9, 10**10))  # Meta's challenges are digits
        response = requests.get(
            url,
            params={
                "hub.mode": "subscribe",
                "hub.verify_token": verify_token or self.verify_token,
                "hub.challenge": challenge,
            },
            timeout=20,
        )
        return response.status_code == 200 and response.text == challenge

    def headers(self, body: bytes) -> dict[str, str]:
        sha1 = hmac.new(self.app_secret.encode(), body, hashlib.sha1).hexdigest()
        return {
            "Content-Type": "application/json",
            "User-Agent": "facebookexternalua",
            "X-Hub-Signature": f"sha1={sha1}",
            "X-Hub-Signature-256": signature(body, self.app_secret),
        }
