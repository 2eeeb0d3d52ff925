"""The outbox job that POSTs one event to EVENTS_WEBHOOK_URL, signed.

Headers: `Content-Type: application/json`, `X-Carebridge-Timestamp` (Unix seconds when this
attempt was made), `X-Carebridge-Signature: sha256=<hex HMAC-SHA256 of "<timestamp>.<body>">`
keyed with EVENTS_WEBHOOK_SECRET, and `X-Carebridge-Event-Id` (the body's `id`).

A 2xx answer delivers it. A 408, 429, 5xx, timeout or lost connection is tried again with the
outbox's backoff (2 s, 4 s ... then every 5 minutes) for a day, a 429's Retry-After honoured;
any other answer (a 4xx: the receiver refuses this event) ends it, logged. A receiver may get an
event twice (its 2xx was lost): it dedupes on `id`. Logs name the event's id and type, never
its body (customers' words) nor the secret.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Any

import requests
import structlog
from sqlalchemy.orm import Session

from bot.clock import Clock
from bot.domain.delivery import PermanentError, RateLimited, TransientError, backoff
from bot.domain.events import SIGNATURE_HEADER, TIMESTAMP_HEADER, signature
from bot.services.outbox import EventJob, read
from bot.services.worker import Job

log = structlog.get_logger(__name__)
RETRY_HORIZON = timedelta(days=1)  # a receiver down longer than this loses events (logged)
LONGEST_WAIT = timedelta(hours=1)  # a Retry-After beyond this is taken as this
RETRIED_STATUSES = frozenset({408, 429})


def attempts_within(horizon: timedelta) -> int:
    """How many attempts the outbox's backoff spreads over `horizon`."""
    waited, attempts = timedelta(0), 1
    while waited < horizon:
        waited += backoff(attempts)
        attempts += 1
    return attempts


class PostEvent:
    max_attempts = attempts_within(RETRY_HORIZON)

    def __init__(
        self,
        url: str,
        secret: str,
        clock: Clock,
        *,
        timeout: timedelta,
        http: requests.Session | None = None,
    ) -> None:
        self.url = url
        self._secret = secret
        self.clock = clock
        self.timeout = timeout.total_seconds()
        self.http = http or requests.Session()

    def perform(self, job: Job) -> dict[str, Any]:
        try:
            event = read(EventJob, job.payload)
        except ValueError as error:
            raise PermanentError(f"not an event: {error}") from None
        payload = event.body.encode()
        timestamp = int(self.clock.now().timestamp())
        headers = {
            "Content-Type": "application/json",
            "User-Agent": "Carebridge-Events/1",
            TIMESTAMP_HEADER: str(timestamp),
            SIGNATURE_HEADER: signature(self._secret, timestamp, payload),
            "X-Carebridge-Event-Id": event.event_id,
        }
        try:
            with self.http.post(
                self.url,
                data=payload,
                headers=headers,
                timeout=self.timeout,
                allow_redirects=False,
                stream=True,  # its answer's body is not read
            ) as response:
                status = response.status_code
                retry_after = response.headers.get("Retry-After")
        except requests.Timeout:
            raise TransientError("the events receiver did not answer in time") from None
        except requests.RequestException as error:
            raise TransientError(
                f"the events receiver is unreachable: {type(error).__name__}"
            ) from None
        if 200 <= status < 300:
            return {"status": status}
        if status == 429:
            raise RateLimited("the events receiver asked to wait", self._until(retry_after))
        if status >= 500 or status in RETRIED_STATUSES:
            raise TransientError(f"the events receiver answered {status}")
        raise PermanentError(f"the events receiver refused the event with {status}")

    def record(
        self, session: Session, job: Job, result: dict[str, Any] | None, now: datetime
    ) -> None:
        pass  # nothing to keep: the outbox logs it done

    def give_up(self, session: Session, job: Job, reason: str, now: datetime) -> None:
        log.warning(
            "events.not_delivered",
            event_id=job.payload.get("event_id"),
            attempts=job.attempts,
            reason=reason,
        )

    def _until(self, retry_after: str | None) -> datetime | None:
        """When a Retry-After (seconds, or an HTTP date) allows the next attempt; None when
        absent or unreadable (the outbox then waits a minute)."""
        if not retry_after:
            return None
        now = self.clock.now()
        value = retry_after.strip()
        try:
            at = (
                now + timedelta(seconds=int(value))
                if value.isdigit()
                else parsedate_to_datetime(value)
            )
        except (TypeError, ValueError, OverflowError):
            return None
        return min(at, now + LONGEST_WAIT) if at.tzinfo is not None else None
