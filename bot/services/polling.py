"""Polling the networks: each stream's new messages are ingested with their cursor, atomically."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

import structlog

from bot.domain.delivery import DeliveryError, RateLimited, rate_limit_until
from bot.networks.base import AccountIdentity, SocialChannel
from bot.services.context import Context
from bot.services.ingest import Ingest
from storage import repositories as repo

log = structlog.get_logger(__name__)
FAILING_WARNING_AFTER = timedelta(minutes=5)


@dataclass
class ChannelHealth:
    last_success_at: datetime | None = None
    failing_since: datetime | None = None
    last_error: str | None = None
    warned: bool = False


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
        self._health: dict[str, ChannelHealth] = {}

    def poll_once(self) -> int:
        """Fetch every stream of every channel once; return how many new messages were stored."""
        stored = 0
        for network, channel in self.context.channels.items():
            errors: list[str] = []
            try:
                identity = self._identity(network, channel)
            except DeliveryError as error:
                log.warning("poll.identify_failed", network=network, reason=error.reason)
                self._observe(network, channel.label, [error.reason])
                continue
            for stream in channel.streams:
                new, error = self._poll_stream(network, channel, identity, stream)
                stored += new
                if error:
                    errors.append(error)
            self._observe(network, channel.label, errors)
        return stored

    def health(self) -> dict[str, dict[str, object]]:
        """Per network: when polling last worked, and since when it fails (for /healthz)."""
        now = self.context.clock.now()
        report: dict[str, dict[str, object]] = {}
        for network, state in self._health.items():
            age = (now - state.last_success_at).total_seconds() if state.last_success_at else None
            report[network] = {
                "last_poll_ok_at": state.last_success_at.isoformat()
                if state.last_success_at
                else None,
                "last_poll_age_seconds": None if age is None else int(age),
                "failing_since": state.failing_since.isoformat() if state.failing_since else None,
                "last_error": state.last_error,
            }
        return report

    def _observe(self, network: str, label: str, errors: list[str]) -> None:
        """Remember how polling went; say it in Slack once when a network fails for more than
        five minutes, and once when it recovers."""
        now = self.context.clock.now()
        state = self._health.setdefault(network, ChannelHealth())
        if not errors:
            if state.warned and state.failing_since is not None:
                down = int((now - state.failing_since).total_seconds() // 60)
                self._announce(
                    f"health:{network}:{state.failing_since.isoformat()}:recovered",
                    f":white_check_mark: {label} is back: mentions and DMs arrive again "
                    f"(failing for {down} min).",
                )
            self._health[network] = ChannelHealth(last_success_at=now)
            return
        state.failing_since = state.failing_since or now
        state.last_error = errors[-1]
        if not state.warned and now - state.failing_since >= FAILING_WARNING_AFTER:
            state.warned = True
            since = state.failing_since.strftime("%H:%M UTC")
            self._announce(
                f"health:{network}:{state.failing_since.isoformat()}:failing",
                f":warning: {label} has been failing since {since}: {errors[-1]}. New mentions "
                "and DMs are not arriving; Carebridge keeps trying and will say when it is back.",
            )

    def _announce(self, key: str, text: str) -> None:
        with self.context.transaction() as session:
            self.context.effects.channel_message(session, self.slack_channel_id, key, text)

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
    ) -> tuple[int, str | None]:
        """Fetch and ingest one stream; returns how many messages were new, and the error if
        the fetch failed (a rate limit is not a failure: the network asked us to wait)."""
        now = self.context.clock.now()
        if self._blocked_until.get((network, stream), now) > now:
            return 0, None  # rate limited: the rest of the bot carries on meanwhile
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
            return 0, None
        except DeliveryError as error:
            bound.warning("poll.failed", reason=error.reason)
            return 0, error.reason
        with self.context.transaction() as session:
            account = repo.account(session, network, identity.external_id)
            assert account is not None
            stored = self.ingest.ingest(session, account, batch.messages)
            if batch.cursor is not None:
                account.cursors = {**(account.cursors or {}), stream: batch.cursor}
        if stored:
            bound.info("poll.ingested", new=stored, fetched=len(batch.messages))
        return stored, None

    @property
    def accounts(self) -> Mapping[str, AccountIdentity]:
        return dict(self._accounts)
