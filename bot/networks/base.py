"""The one interface every social network adapter implements. Services see only this."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from bot.domain.model import InboundMessage, SentMessage


@dataclass(frozen=True)
class AccountIdentity:
    """The brand's own account on the network."""

    external_id: str
    handle: str
    name: str


@dataclass(frozen=True)
class Batch:
    """What one fetch of a stream brought: messages oldest first, and the cursor to keep."""

    messages: list[InboundMessage]
    cursor: str | None


class SocialChannel(Protocol):
    network: str  # "x", "facebook": stored with accounts, customers and messages
    label: str  # what people call it: "X"
    streams: tuple[str, ...]  # what to poll, e.g. ("mentions", "dms")
    public_reply_limit: int | None  # longest public answer, in the network's own counting

    def identify(self) -> AccountIdentity: ...

    def fetch(self, stream: str, cursor: str | None, since: datetime) -> Batch:
        """Messages newer than `cursor`; with no cursor yet, those since `since` (backfill).
        Raises RateLimited, TransientError or PermanentError."""
        ...

    def public_length(self, text: str) -> int: ...

    def reply_publicly(self, text: str, in_reply_to: str) -> SentMessage: ...

    def send_private(self, recipient_id: str, text: str) -> SentMessage: ...

    def find_sent(
        self, text: str, *, in_reply_to: str | None, recipient_id: str | None, since: datetime
    ) -> SentMessage | None:
        """An earlier attempt of this very message, if it reached the network (its answer was
        lost): a retry looks here first, so nothing goes out twice."""
        ...

    def private_message_link(self, account: AccountIdentity) -> str:
        """Where a customer starts a private conversation with the brand."""
        ...
