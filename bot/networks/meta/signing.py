"""Meta's webhook handshake and signature, the same for every product of an app."""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Iterable, Mapping

SIGNATURE_HEADER = "x-hub-signature-256"
CHALLENGE = re.compile(r"[0-9]{1,64}")  # Meta's challenges are digits: nothing else is echoed


def signature(app_secret: str, body: bytes) -> str:
    """What Meta sends in X-Hub-Signature-256 for `body`."""
    return "sha256=" + hmac.new(app_secret.encode(), body, hashlib.sha256).hexdigest()


def matches(given: str, expected: Iterable[str]) -> bool:
    # Bytes, because compare_digest refuses non-ASCII str; surrogatepass, because a query or
    # header can carry any str and an encoding error must not become a 500. A list, not a
    # generator: every candidate is compared, so the time says nothing about which matched.
    given_bytes = given.encode("utf-8", "surrogatepass")
    return any([hmac.compare_digest(given_bytes, e.encode()) for e in expected])


class Signed:
    """The handshake and signature check of a receiver, for the app secrets and verify tokens
    of its accounts (unset values dropped, so an empty signature or token never matches)."""

    def __init__(self, app_secrets: Iterable[str], verify_tokens: Iterable[str]) -> None:
        self.app_secrets = tuple(dict.fromkeys(s for s in app_secrets if s))
        self.verify_tokens = tuple(dict.fromkeys(t for t in verify_tokens if t))

    def handshake(self, query: Mapping[str, str]) -> tuple[int, str]:
        challenge = query.get("hub.challenge", "")
        if (
            query.get("hub.mode") == "subscribe"
            and CHALLENGE.fullmatch(challenge)
            and matches(query.get("hub.verify_token", ""), self.verify_tokens)
        ):
            return 200, challenge
        return 403, "forbidden"

    def verify(self, headers: Mapping[str, str], body: bytes) -> bool:
        given = headers.get(SIGNATURE_HEADER, "")
        return matches(given, [signature(secret, body) for secret in self.app_secrets])
