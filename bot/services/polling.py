"""Polling the networks: each stream's new messages are ingested with their cursor, atomically."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta

import structlog

from bot.channels.base import AccountIdentity, SocialChannel
from bot.domain.delivery import DeliveryError, RateLimited, rate_limit_until
from bot.services.context import Context
from bot.services.ingest import Ingest
from storage import repositories as repo

log = structlog.get_logger(__name__)


class Poller:
    def __init__(
        self, context: Context, ingest: Ingest, *, slack_channel_id: str, backfill: timedelta
    ) -> None:
        self.context = context
        self.ingest = ingest
        self.slack_channel_id = slack_channel_id
        self.backfill = backfill
        self._accounts: dict[str, AccountIdentity] = {}
        self._blocked_until: dict[tuple[str, str], datetime] = {}
        self._backfill_logged: set[tuple[str, str]] = set()

    def poll_once(self) -> int:
        """Fetch every stream of every channel once; return how many new messages were stored."""
        stored = 0
        for network, channel in self.context.channels.items():
            try:
                identity = self._identity(network, channel)
            except DeliveryError as error:
                log.warning("poll.identify_failed", network=network, reason=error.reason)
                continue
            for stream in channel.streams:
                stored += self._poll_stream(network, channel, identity, stream)
        return stored

    def _identity(self, network: str, channel: SocialChannel) -> AccountIdentity:
        if network not in self._accounts:
            identity = channel.identify()
            with self.context.transaction() as session:
                repo.ensure_account(
                    session,
                    network=network,
                    external_id=identity.external_id,
                    handle=identity.handle,
                    slack_channel_id=self.slack_channel_id,
                    now=self.context.clock.now(),
                )
            self._accounts[network] = identity
            log.info("poll.account", network=network, handle=identity.handle)
        return self._accounts[network]

    def _poll_stream(
        self, network: str, channel: SocialChannel, identity: AccountIdentity, stream: str
    ) -> int:
        now = self.context.clock.now()
        if self._blocked_until.get((network, stream), now) > now:
            return 0  # rate limited: the rest of the bot carries on meanwhile
        with self.context.database.transaction() as session:
            account = repo.account(session, network, identity.external_id)
            assert account is not None
            cursor = (account.cursors or {}).get(stream)
        bound = log.bind(network=network, stream=stream)
        if cursor is None and (network, stream) not in self._backfill_logged:
            # Until the stream has a first message it has no cursor; say so once, not per poll.
            self._backfill_logged.add((network, stream))
            bound.info("poll.backfill", since=(now - self.backfill).isoformat())
        try:
            batch = channel.fetch(stream, cursor, now - self.backfill)
        except RateLimited as limited:
            retry_at = rate_limit_until(limited.retry_at, now)
            self._blocked_until[(network, stream)] = retry_at
            bound.warning("poll.rate_limited", retry_at=retry_at.isoformat())
            return 0
        except DeliveryError as error:
            bound.warning("poll.failed", reason=error.reason)
            return 0
        with self.context.transaction() as session:
            account = repo.account(session, network, identity.external_id)
            assert account is not None
            stored = self.ingest.ingest(session, account, batch.messages)
            if batch.cursor is not None:
                account.cursors = {**(account.cursors or {}), stream: batch.cursor}
        if stored:
            bound.info("poll.ingested", new=stored, fetched=len(batch.messages))
        return stored

    @property
    def accounts(self) -> Mapping[str, AccountIdentity]:
        return dict(self._accounts)
