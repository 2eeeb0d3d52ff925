"""The brand accounts at run time: each configured account with its network and its adapter.

An account is matched to its stored row (`channel_accounts`) by the network's own id of the
brand account, learnt by asking the network once: renaming an account in ACCOUNTS_FILE renames
the row and keeps its conversations; an account removed from the file leaves its row (and its
conversations) in place, with no adapter to send through.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime

import structlog
from sqlalchemy import select, update

from bot.clock import Clock
from bot.domain.delivery import DeliveryError, TransientError
from bot.networks.base import AccountConfig, AccountIdentity, NetworkSpec, SocialChannel
from bot.networks.registry import Registry
from storage import repositories as repo
from storage.db import Database
from storage.models import ChannelAccount

log = structlog.get_logger(__name__)


@dataclass
class Account:
    config: AccountConfig
    spec: NetworkSpec
    channel: SocialChannel
    identity: AccountIdentity | None = None
    account_id: int | None = None  # its channel_accounts row, once identified

    @property
    def name(self) -> str:
        return self.config.name

    @property
    def network(self) -> str:
        return self.spec.name

    @property
    def label(self) -> str:
        return self.spec.label

    @property
    def slack_channel(self) -> str:
        return self.config.slack_channel

    @property
    def polled(self) -> bool:
        return bool(self.channel.streams)


class Accounts:
    def __init__(
        self,
        database: Database,
        clock: Clock,
        accounts: Sequence[Account],
        registry: Registry,
        *,
        default_channel: str = "",
    ) -> None:
        self.database = database
        self.clock = clock
        self.registry = registry
        self._accounts = list(accounts)
        self.default_channel = default_channel
        self._lock = threading.Lock()

    def __iter__(self) -> Iterator[Account]:
        return iter(self._accounts)

    def __len__(self) -> int:
        return len(self._accounts)

    def by_name(self, name: str) -> Account | None:
        return next((a for a in self._accounts if a.name == name), None)

    def of_network(self, network: str) -> list[Account]:
        return [a for a in self._accounts if a.network == network]

    def support_channels(self) -> frozenset[str]:
        channels = {a.slack_channel for a in self._accounts if a.slack_channel}
        return frozenset(channels | ({self.default_channel} if self.default_channel else set()))

    def spec(self, network: str) -> NetworkSpec | None:
        return self.registry.find(network)

    def label(self, network: str) -> str:
        return self.registry.label(network)

    def networks(self) -> list[NetworkSpec]:
        """The networks of the configured accounts, each once."""
        seen: dict[str, NetworkSpec] = {}
        for account in self._accounts:
            seen.setdefault(account.network, account.spec)
        return list(seen.values())

    # --- matching stored rows ------------------------------------------------------------------
    def identify(self, account: Account) -> AccountIdentity:
        """Ask the network who the account is (once) and keep its row in step with the file:
        its name, handle and Slack channel. Raises what the adapter raises."""
        if account.identity is not None and account.account_id is not None:
            return account.identity
        identity = account.channel.identify()
        now = self.clock.now()
        with self.database.transaction() as session:
            # The name moves to this row: an account renamed, or re-pointed at another id.
            session.execute(
                update(ChannelAccount)
                .where(ChannelAccount.name == account.name)
                .where(ChannelAccount.network == account.network)
                .where(ChannelAccount.external_id != identity.external_id)
                .values(name=None)
            )
            row = session.scalar(
                select(ChannelAccount).filter_by(
                    network=account.network, external_id=identity.external_id
                )
            )
            if row is None:
                row = ChannelAccount(
                    network=account.network,
                    external_id=identity.external_id,
                    cursors={},
                    created_at=now,
                )
                session.add(row)
            # What the cards call the account: its @handle, or its name on a network without
            # handles (a Facebook Page).
            shown = identity.handle if account.spec.handles else identity.name or identity.handle
            row.name, row.handle = account.name, shown
            row.slack_channel_id = account.slack_channel or self.default_channel
            session.flush()
            account_id = row.id
        with self._lock:
            account.identity, account.account_id = identity, account_id
        log.info("account.identified", account=account.name, handle=identity.handle)
        return identity

    def find(
        self, *, account_id: int, network: str, external_id: str, name: str | None = None
    ) -> Account | None:
        """The configured account a stored row belongs to; None when none is (it was removed
        from the configuration). Call it outside a transaction: it may ask the network who an
        account is. The account the row names is asked first, and only its failure is raised
        (a rate limit, refused credentials): another account's trouble never holds it up."""
        for account in self._accounts:
            if account.account_id == account_id:
                return account
        candidates = sorted(self.of_network(network), key=lambda a: a.name != name)
        unknown: DeliveryError | None = None
        for account in candidates:
            try:
                identity = account.identity or self.identify(account)
            except DeliveryError as error:
                if account.name == name:
                    raise
                unknown = unknown or error
                continue
            if identity.external_id == external_id:
                return account
        if unknown is not None:
            raise TransientError(f"could not tell which account this is: {unknown.reason}")
        return None

    def stored(self) -> list[StoredAccount]:
        """Every stored account with its open conversations: `carebridge accounts`."""
        with self.database.reading() as session:
            return [
                StoredAccount(
                    account_id=row.id,
                    name=row.name,
                    network=row.network,
                    handle=row.handle,
                    slack_channel=row.slack_channel_id,
                    open_conversations=open_,
                    polled_at=row.polled_at,
                    failing_since=row.failing_since,
                    last_error=row.last_error,
                )
                for row, open_ in repo.accounts_with_open_conversations(session)
            ]


@dataclass(frozen=True)
class StoredAccount:
    account_id: int
    name: str | None
    network: str
    handle: str
    slack_channel: str
    open_conversations: int
    polled_at: datetime | None
    failing_since: datetime | None
    last_error: str | None
