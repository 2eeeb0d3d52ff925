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
    """The service asked us to wait until `retry_at` (Slack's Retry-After, X's rate-limit reset);
    None when it did not say until when."""

    def __init__(self, reason: str, retry_at: datetime | None) -> None:
        super().__init__(reason)
        self.retry_at = retry_at


class TransientError(DeliveryError):
    """Worth retrying: 5xx, connection failures, timeouts."""


class PermanentError(DeliveryError):
    """Retrying won't help (bad request, forbidden, deleted tweet): report it to the agents."""


class OutsideWindow(PermanentError):
    """A private answer past the network's reply window (Messenger: 24 hours after the
    customer's last message): it can go out once the customer writes again."""

    def __init__(self, name: str, window: timedelta, closed_at: datetime | None) -> None:
        hours = int(window.total_seconds() // 3600)
        super().__init__(
            f"{name} allows answers only within {hours} hours of the customer's last message"
        )
        self.closed_at = closed_at


class CredentialsRefused(PermanentError):
    """The network refused the account's credentials (401: revoked, expired, mistyped): nothing
    works for that account until someone fixes them, so it is said at once."""


MIN_RATE_LIMIT_WAIT = timedelta(seconds=1)
UNKNOWN_RATE_LIMIT_WAIT = timedelta(seconds=60)


def rate_limit_until(retry_at: datetime | None, now: datetime) -> datetime:
    """When to try again after a rate limit: never in the past (a skewed clock or a reset that
    already passed would otherwise retry in a tight loop), a minute when the service was silent."""
    if retry_at is None:
        return now + UNKNOWN_RATE_LIMIT_WAIT
    return max(retry_at, now + MIN_RATE_LIMIT_WAIT)


def backoff(attempt: int, *, base: float = 2.0, cap: timedelta = timedelta(minutes=5)) -> timedelta:
    """Exponential backoff: 2 s, 4 s, 8 s ... capped; `attempt` counts from 1 (events are tried
    for a day: hundreds of attempts, whose power of two no timedelta holds)."""
    seconds = base ** min(max(attempt, 1), 64)
    return timedelta(seconds=min(seconds, cap.total_seconds()))
