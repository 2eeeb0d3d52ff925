"""Chirp's adapter: answers through its small JSON API; messages arrive by webhook."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any

import requests

from bot.domain.delivery import CredentialsRefused, PermanentError, TransientError
from bot.domain.model import InboundMessage, SentMessage
from bot.networks.base import AccountIdentity, Batch


class ChirpChannel:
    streams: tuple[str, ...] = ()  # nothing to poll: Chirp pushes

    def __init__(self, *, api_url: str, token: str, timeout: float) -> None:
        self.api_url = api_url.rstrip("/")
        self.session = requests.Session()
        self.session.headers["Authorization"] = f"Bearer {token}"
        self.timeout = timeout

    def identify(self) -> AccountIdentity:
        me = self._call("GET", "/me")
        return AccountIdentity(me["id"], me["handle"], me["name"])

    def fetch(self, stream: str, cursor: str | None, since: datetime) -> Iterator[Batch]:
        raise ValueError("Chirp pushes its messages: nothing to fetch")

    def reply_publicly(self, text: str, in_reply_to: str) -> SentMessage:
        sent = self._call("POST", f"/posts/{in_reply_to}/replies", {"text": text})
        return SentMessage(sent["id"], sent["url"])

    def complete(self, message: InboundMessage) -> InboundMessage:
        return message  # Chirp sends whole authors

    def send_private(
        self, recipient_id: str, text: str, *, extended: bool = False, marker: str | None = None
    ) -> SentMessage:
        sent = self._call("POST", f"/dms/{recipient_id}", {"text": text})
        return SentMessage(sent["id"], sent["url"])

    def find_sent(
        self, text: str, *, in_reply_to: str | None, recipient_id: str | None, since: datetime
    ) -> SentMessage | None:
        for sent in self._call("GET", "/sent")["items"]:
            to = sent.get("in_reply_to") if in_reply_to else sent.get("recipient")
            if sent["text"] == text and to in (in_reply_to, recipient_id):
                return SentMessage(sent["id"], sent["url"])
        return None

    def _call(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        try:
            response = self.session.request(
                method, self.api_url + path, json=body, timeout=self.timeout
            )
        except requests.RequestException as error:
            raise TransientError(f"Chirp could not be reached: {type(error).__name__}") from error
        if response.status_code == 401:
            raise CredentialsRefused("Chirp refused the token (401)")
        if response.status_code >= 500:
            raise TransientError(f"Chirp answered {response.status_code}")
        if response.status_code >= 400:
            raise PermanentError(f"Chirp refused ({response.status_code})")
        return response.json()
