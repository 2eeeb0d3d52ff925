"""Polling the brand accounts: each stream's new messages are ingested with their cursor, page by
page, atomically.

Everything is per account: cursors, rate limits, backoff and health (bot/services/health.py).
One account's 429 or refused token never delays another's.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import structlog

from bot.domain.delivery import DeliveryError, RateLimited, rate_limit_until
from bot.services.accounts import Account
from bot.services.context import Context
from bot.services.health import AccountsHealth
from bot.services.ingest import Ingest
from storage.models import ChannelAccount

log = structlog.get_logger(__name__)
# Messages per transaction: half an X page. SQLite's writer lock is held about 50 ms for it, so an
# agent's answer waits at most that long for each of its writes while a backlog is stored (a
# whole page, 0.1 s, took answers to 0.4 s); chunks of 20 cost a quarter of the throughput.
CHUNK = 50


class Poller:
    def __init__(self, context: Context, ingest: Ingest, health: AccountsHealth) -> None:
        self.context = context
        self.ingest = ingest
        self.health = health
        self._blocked_until: dict[tuple[str, str], datetime] = {}
        self._backfill_logged: set[tuple[str, str]] = set()

    def poll_once(self, *, force: bool = False) -> int:
        """Fetch every stream of every polled account once; return how many were new. With
        `force`, accounts waiting out a failure's backoff are polled too."""
        accounts = [account for account in self.context.accounts if account.polled]
        return sum(self.poll(account, force=force) for account in accounts)

    def poll(self, account: Account, *, force: bool = False) -> int:
        """One account's streams; a failing account waits out its backoff unless `force`."""
        now = self.context.clock.now()
        retry_at = self.health.retry_at(account)
        if not force and retry_at is not None and retry_at > now:
            return 0
        try:
            self.context.accounts.identify(account)
        except DeliveryError as error:
            log.warning("poll.identify_failed", account=account.name, reason=error.reason)
            self.health.observe(account, [error], polled=True)
            return 0
        stored = 0
        errors: list[DeliveryError] = []
        for stream in account.channel.streams:
            new, failure = self._poll_stream(account, stream)
            stored += new
            if failure is not None:
                errors.append(failure)
        self.health.observe(account, errors, polled=True)
        return stored

    def _poll_stream(self, account: Account, stream: str) -> tuple[int, DeliveryError | None]:
        """Fetch and ingest one stream, page by page; returns how many messages were new, and
        the error if a fetch failed (a rate limit is not a failure: the network asked to wait)."""
        now = self.context.clock.now()
        lane = (account.name, stream)
        if self._blocked_until.get(lane, now) > now:
            return 0, None  # rate limited: the rest of the bot carries on meanwhile
        account_id = account.account_id
        assert account_id is not None  # identified above
        with self.context.database.reading() as session:
            row = session.get(ChannelAccount, account_id)
            cursor = (row.cursors or {}).get(stream) if row is not None else None
        bound = log.bind(account=account.name, stream=stream)
        backfill = account.config.value("backfill")
        since = now - (backfill if isinstance(backfill, timedelta) else timedelta(hours=24))
        if cursor is None and lane not in self._backfill_logged:
            # Until the stream has a first message it has no cursor; say so once, not per poll.
            self._backfill_logged.add(lane)
            bound.info("poll.backfill", since=since.isoformat())
        stored = fetched = pages = 0
        try:
            for batch in account.channel.fetch(stream, cursor, since):
                # A page is stored in short transactions (CHUNK messages each), so Slack's acks
                # and the outbox never wait long for the database; the cursor goes with the last
                # (a page cut short by a crash is fetched again, and what was stored is skipped).
                events = list(batch.messages)
                if len(events) > CHUNK:
                    with self.context.database.reading() as session:
                        events = self.ingest.vips_first(session, events)
                chunks = [events[i : i + CHUNK] for i in range(0, len(events), CHUNK)] or [[]]
                for number, chunk in enumerate(chunks, start=1):
                    # The outbox is woken once the whole page is stored, so that it chooses
                    # among the page (and the VIPs' messages are stored first, should something
                    # else wake it meanwhile).
                    last = number == len(chunks)
                    transaction = (
                        self.context.transaction if last else self.context.database.transaction
                    )
                    readings = self.ingest.read(chunk)  # outside the writer lock
                    with transaction() as session:
                        row = session.get(ChannelAccount, account_id)
                        assert row is not None
                        stored += self.ingest.ingest(session, row, chunk, readings)
                        if last and batch.cursor is not None:
                            row.cursors = {**(row.cursors or {}), stream: batch.cursor}
                fetched += len(events)
                pages += 1
                if cursor is None and events:
                    # The first start's backfill (a day of mentions: minutes, at 50 pages a
                    # poll) shows it is moving; a longer one goes on at the next poll, whose
                    # `poll.ingested` says it.
                    bound.info("poll.backfill_progress", pages=pages, fetched=fetched)
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
