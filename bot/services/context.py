"""What every use case needs, wired once by the composition root (bot/app.py)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from sqlalchemy.orm import Session

from bot.clock import Clock
from bot.services.accounts import Account, Accounts
from bot.services.events import Events
from bot.services.outbox import Outbox
from storage.db import Database
from storage.models import Conversation


class Notifier:
    """Called after every commit: wakes whoever acts on what was just written (the outbox
    worker, the response-time timer)."""

    def __init__(self) -> None:
        self._listeners: list[Callable[[], None]] = []

    def subscribe(self, listener: Callable[[], None]) -> None:
        self._listeners.append(listener)

    def __call__(self) -> None:
        for listener in self._listeners:
            listener()


@dataclass(frozen=True)
class Access:
    """Who may do what: members of a support channel work its conversations; the owner or a
    lead (SLACK_LEADS) takes over and lifts holds. The Slack side resolves both."""

    is_member: Callable[[str, str], bool] = field(default=lambda _user, _channel: True)
    is_lead: Callable[[str], bool] = field(default=lambda _: False)
    # Renews what `is_member` keeps of these channels before it expires (the scheduler calls it).
    refresh: Callable[[Iterable[str]], None] = field(default=lambda _channels: None)

    def standing(self, user: str, channel: str, *, lead: bool = False) -> Standing:
        """What Slack says of `user`, asked before a write transaction begins: a slow Slack
        must not hold the database (only what `lead` asks for is looked up)."""
        return Standing(self.is_member(user, channel), self.is_lead(user) if lead else False)


@dataclass(frozen=True)
class Standing:
    member: bool  # of the conversation's support channel
    lead: bool  # one of SLACK_LEADS (False when not asked)


class TryAgainLater(Exception):
    """Nothing was done, and the same request will likely succeed in a moment: Slack redelivers
    an event that failed; a person clicking a button is asked to click again."""


class AccessUnknown(TryAgainLater):
    """Slack could not say who is in the channel or a group, and nothing is cached: better to
    fail the action than to refuse a member."""


class ThreadNotReady(TryAgainLater):
    """A reply in a thread the bot does not know yet, while a card's post is unconfirmed: the
    card may be that thread (posted, but its answer lost or the bot killed before recording)."""


class UnknownConversation(Exception):
    """An id from Slack (a button value, a thread) that matches no conversation."""


@dataclass(frozen=True)
class Context:
    database: Database
    outbox: Outbox
    clock: Clock
    accounts: Accounts
    notify: Callable[[], None] = field(default=lambda: None)  # wakes the outbox worker
    events: Events = field(default_factory=Events)  # EVENTS_WEBHOOK_URL; by default none sent

    @contextmanager
    def transaction(self, *, urgent: bool = False) -> Iterator[Session]:
        """A unit of work; once committed, the outbox looks at what it enqueued right away.
        `urgent`: someone waits for it (see Database.transaction)."""
        with self.database.transaction(urgent=urgent) as session:
            yield session
        self.notify()

    def label(self, network: str) -> str:
        """What people call a network ("X")."""
        return self.accounts.label(network)

    def account_of(self, conversation: Conversation) -> Account | None:
        """The configured account a conversation came through; None once it is removed from
        the configuration. Outside a transaction: it may ask the network who an account is."""
        row = conversation.account
        return self.accounts.find(
            account_id=row.id, network=row.network, external_id=row.external_id, name=row.name
        )
