"""Chirp's webhook: a signed JSON delivery of posts and DMs to one brand account."""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from bot.domain.model import Author, InboundMessage, Visibility
from bot.networks.base import AccountConfig, MalformedPayload, Pushed

SIGNATURE_HEADER = "x-chirp-signature"


def signature(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


class ChirpReceiver:
    def __init__(self, secrets: Sequence[str]) -> None:
        self.secrets = [s for s in secrets if s]

    @classmethod
    def for_accounts(cls, accounts: Sequence[AccountConfig]) -> ChirpReceiver:
        return cls([str(a.value("app_secret") or "") for a in accounts])

    def handshake(self, query: Mapping[str, str]) -> tuple[int, str]:
        challenge = query.get("challenge", "")
        return (200, challenge) if challenge.isalnum() else (403, "forbidden")

    def verify(self, headers: Mapping[str, str], body: bytes) -> bool:
        given = headers.get(SIGNATURE_HEADER, "")
        return any(hmac.compare_digest(given, signature(s, body)) for s in self.secrets)

    def parse(self, body: bytes) -> list[Pushed]:
        try:
            delivery = json.loads(body)
            account = delivery["account"]
            return [Pushed(str(account), _message(event)) for event in delivery["events"]]
        except (ValueError, KeyError, TypeError) as error:
            raise MalformedPayload(f"not a Chirp delivery: {error}") from None


def _message(event: dict[str, Any]) -> InboundMessage:
    author = event["author"]
    kind = event["type"]
    if kind not in ("post", "dm"):
        raise ValueError(f"unknown event type {kind!r}")
    return InboundMessage(
        network="chirp",
        external_id=str(event["id"]),
        author=Author(
            external_id=str(author["id"]),
            handle=str(author["handle"]),
            name=str(author.get("name", "")),
            followers=int(author.get("followers", 0)),
            profile_url=f"https://chirp.example/{author['handle']}",
        ),
        text=str(event["text"]),
        created_at=datetime.fromtimestamp(int(event["created_at"]), UTC),
        visibility=Visibility.PUBLIC if kind == "post" else Visibility.PRIVATE,
        permalink=f"https://chirp.example/posts/{event['id']}" if kind == "post" else "",
    )
