"""How a side effect can fail, and how long to wait before trying again.

Adapters (Slack, X) translate their SDK's exceptions into these, so the outbox can decide without
knowing any vendor.
"""

from __future__ import annotations

from datetime import datetime, timedelta


class DeliveryError(Exception):
    """Base of all delivery failures; `reason` is shown to agents, so keep it human."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class RateLimited(DeliveryError):
    """The service asked us to wait until `retry_at` (Slack's Retry-After, X's rate-limit reset)."""

    def __init__(self, reason: str, retry_at: datetime) -> None:
        super().__init__(reason)
        self.retry_at = retry_at


class TransientError(DeliveryError):
    """Worth retrying: 5xx, connection failures, timeouts."""


class PermanentError(DeliveryError):
    """Retrying won't help (bad request, forbidden, deleted tweet): report it to the agents."""


def backoff(attempt: int, *, base: float = 2.0, cap: timedelta = timedelta(minutes=5)) -> timedelta:
    """Exponential backoff: 2 s, 4 s, 8 s ... capped; `attempt` counts from 1."""
    seconds = base ** max(attempt, 1)
    return min(timedelta(seconds=seconds), cap)
