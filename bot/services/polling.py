"""Polling the brand accounts: each stream's new messages are ingested with their cursor, page by
page, atomically.

Everything is per account: cursors, rate limits, backoff and health. One account's 429 or
refused token never delays another's. Health is said in the account's own channel: a refused
credential at once (with the fix), passing failures after five minutes; and once again when the
account works.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import structlog

from bot.domain.delivery import (
    CredentialsRefused,
    DeliveryError,
    RateLimited,
    backoff,
    rate_limit_until,
)
from bot.domain.facts import AccountFailing, AccountRecovered, CredentialsWork, Fact
from bot.domain.facts import CredentialsRefused as CredentialsRefusedFact
from bot.services.accounts import Account
from bot.services.context import Context
from bot.services.ingest import Ingest
from storage.models import ChannelAccount

log = structlog.get_logger(__name__)
FAILING_WARNING_AFTER = timedelta(minutes=5)
MAX_BACKOFF = timedelta(minutes=2)  # a failing account is tried again this often at least


@dataclass
class AccountHealth:
    last_success_at: datetime | None = None
    failing_since: datetime | None = None
    last_error: str | None = None
    failures: int = 0
    warned: bool = False  # the channel was told it fails
    refused: bool = False  # ... because the credentials were refused
    retry_at: datetime | None = None  # backoff after failures


class Poller:
    def __init__(self, context: Context, ingest: Ingest) -> None:
        self.context = context
        self.ingest = ingest
        self._blocked_until: dict[tuple[str, str], datetime] = {}
        self._backfill_logged: set[tuple[str, str]] = set()
        self._health: dict[str, AccountHealth] = {}

    def poll_once(self, *, force: bool = False) -> int:
        """Fetch every stream of every polled account once; return how many were new. With
        `force`, accounts waiting out a failure's backoff are polled too."""
        accounts = [account for account in self.context.accounts if account.polled]
        return sum(self.poll(account, force=force) for account in accounts)

    def poll(self, account: Account, *, force: bool = False) -> int:
        """One account's streams; a failing account waits out its backoff unless `force`."""
        now = self.context.clock.now()
        state = self._health.setdefault(account.name, AccountHealth())
        if not force and state.retry_at is not None and state.retry_at > now:
            return 0
        try:
            self.context.accounts.identify(account)
        except DeliveryError as error:
            log.warning("poll.identify_failed", account=account.name, reason=error.reason)
            self._observe(account, [error])
            return 0
        stored = 0
        errors: list[DeliveryError] = []
        for stream in account.channel.streams:
            new, failure = self._poll_stream(account, stream)
            stored += new
            if failure is not None:
                errors.append(failure)
        self._observe(account, errors)
        return stored

    def health(self) -> dict[str, dict[str, Any]]:
        """Per account: when polling last worked, and since when it fails (for /healthz)."""
        now = self.context.clock.now()
        report: dict[str, dict[str, Any]] = {}
        for name, state in self._health.items():
            age = (now - state.last_success_at).total_seconds() if state.last_success_at else None
            report[name] = {
                "last_poll_ok_at": state.last_success_at.isoformat()
                if state.last_success_at
                else None,
                "last_poll_age_seconds": None if age is None else int(age),
                "failing_since": state.failing_since.isoformat() if state.failing_since else None,
                "last_error": state.last_error,
                "credentials_refused": state.refused,
            }
        return report

    def _observe(self, account: Account, errors: list[DeliveryError]) -> None:
        now = self.context.clock.now()
        state = self._health.setdefault(account.name, AccountHealth())
        self._record(account, errors, now)
        handle = account.identity.handle if account.identity else ""
        if not errors:
            if state.warned and state.failing_since is not None:
                since = state.failing_since.isoformat()
                if state.refused:
                    fact: Fact = CredentialsWork(account.name, account.label, handle)
                else:
                    down = int((now - state.failing_since).total_seconds() // 60)
                    fact = AccountRecovered(account.name, account.label, handle, down)
                self._announce(account, f"health:{account.name}:{since}:recovered", fact)
            self._health[account.name] = AccountHealth(last_success_at=now)
            return
        error = errors[-1]
        state.failing_since = state.failing_since or now
        state.last_error = error.reason
        state.failures += 1
        state.retry_at = now + min(backoff(state.failures), MAX_BACKOFF)
        refused = next((e for e in errors if isinstance(e, CredentialsRefused)), None)
        since = state.failing_since.isoformat()
        if refused is not None and not state.refused:
            # Nothing works until someone fixes the credentials: say it now, with the fix.
            state.refused = state.warned = True
            fact = CredentialsRefusedFact(
                account.name, account.label, refused.reason, account.spec.credentials_fix
            )
            self._announce(account, f"health:{account.name}:{since}:refused", fact)
            return
        if not state.warned and now - state.failing_since >= FAILING_WARNING_AFTER:
            state.warned = True
            failing = AccountFailing(
                account.name, account.label, handle, state.failing_since, error.reason
            )
            self._announce(account, f"health:{account.name}:{since}:failing", failing)

    def _record(self, account: Account, errors: list[DeliveryError], now: datetime) -> None:
        """Keep how polling goes on the account's row, for `carebridge accounts`."""
        if account.account_id is None:
            return
        with self.context.database.transaction() as session:
            row = session.get(ChannelAccount, account.account_id)
            if row is None:
                return
            if errors:
                row.failing_since = row.failing_since or now
                row.last_error = errors[-1].reason[:1000]
            else:
                row.polled_at, row.failing_since, row.last_error = now, None, None

    def _announce(self, account: Account, key: str, fact: Fact) -> None:
        channel = account.slack_channel or self.context.accounts.default_channel
        with self.context.transaction() as session:
            self.context.outbox.channel(session, channel, key, fact)

    def _poll_stream(self, account: Account, stream: str) -> tuple[int, DeliveryError | None]:
        """Fetch and ingest one stream, page by page; returns how many messages were new, and
        the error if a fetch failed (a rate limit is not a failure: the network asked to wait)."""
        now = self.context.clock.now()
        lane = (account.name, stream)
        if self._blocked_until.get(lane, now) > now:
            return 0, None  # rate limited: the rest of the bot carries on meanwhile
        account_id = account.account_id
        assert account_id is not None  # identified above
        with self.context.database.transaction() as session:
            row = session.get(ChannelAccount, account_id)
            cursor = (row.cursors or {}).get(stream) if row is not None else None
        bound = log.bind(account=account.name, stream=stream)
        backfill = account.config.value("backfill")
        since = now - (backfill if isinstance(backfill, timedelta) else timedelta(hours=24))
        if cursor is None and lane not in self._backfill_logged:
            # Until the stream has a first message it has no cursor; say so once, not per poll.
            self._backfill_logged.add(lane)
            bound.info("poll.backfill", since=since.isoformat())
        stored = fetched = 0
        try:
            for batch in account.channel.fetch(stream, cursor, since):
                with self.context.transaction() as session:
                    row = session.get(ChannelAccount, account_id)
                    assert row is not None
                    stored += self.ingest.ingest(session, row, batch.messages)
                    if batch.cursor is not None:
                        row.cursors = {**(row.cursors or {}), stream: batch.cursor}
                fetched += len(batch.messages)
        except RateLimited as limited:
            retry_at = rate_limit_until(limited.retry_at, now)
            self._blocked_until[lane] = retry_at
            bound.warning("poll.rate_limited", retry_at=retry_at.isoformat())
            return stored, None
        except DeliveryError as error:
            bound.warning("poll.failed", reason=error.reason)
            return stored, error
        if stored:
            bound.info("poll.ingested", new=stored, fetched=fetched)
        return stored, None
