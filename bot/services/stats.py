"""KPIs from stored conversations: `/care stats`, `carebridge stats`, and the weekly digest.

Figures are per support channel or per brand account when asked (`/care stats 7d acme-care`);
typed in one of several support channels, `/care stats` shows that channel's conversations.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import structlog
from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from bot.domain.answers import CommandError, StatsReport
from bot.domain.kpis import ConversationFacts, DailyPoint, Exchange, KpiReport, compute_kpis
from bot.domain.kpis import daily_series as daily
from bot.domain.model import Delivery, Direction
from bot.domain.periods import parse_since
from bot.services.context import Context
from bot.services.service_hours import ServiceHours
from storage.models import ChannelAccount, Conversation, Message

log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class Scope:
    """Which conversations the figures count: one account, one channel, or all (both None)."""

    account: str | None = None
    channel: str | None = None

    def applied(self, query: Select[Conversation]) -> Select[Conversation]:
        if self.account is not None:
            query = query.join(ChannelAccount).where(ChannelAccount.name == self.account)
        if self.channel is not None:
            query = query.where(Conversation.slack_channel_id == self.channel)
        return query


class Stats:
    def __init__(self, context: Context, hours: ServiceHours) -> None:
        self.context = context
        self.hours = hours  # business-time figures use each account's hours and the holidays

    @property
    def zone(self) -> ZoneInfo:
        return self.hours.default.zone

    def report(
        self, since: datetime, until: datetime | None = None, scope: Scope | None = None
    ) -> KpiReport:
        now = self.context.clock.now()
        until = until or now
        with self.context.database.transaction() as session:
            facts = self.facts(session, since, until, scope or Scope())
        return compute_kpis(facts, since, until, now)

    def daily_series(
        self, since: datetime, until: datetime, scope: Scope | None = None
    ) -> list[DailyPoint]:
        with self.context.database.transaction() as session:
            facts = self.facts(session, since, until, scope or Scope())
        return daily(facts, since, until, self.zone)

    def facts(
        self, session: Session, since: datetime, until: datetime, scope: Scope
    ) -> list[ConversationFacts]:
        query = select(Conversation).where(
            Conversation.opened_at >= since, Conversation.opened_at < until
        )
        conversations = session.scalars(scope.applied(query).order_by(Conversation.id)).unique()
        return [self._facts(session, c) for c in conversations]

    def _facts(self, session: Session, conversation: Conversation) -> ConversationFacts:
        messages = list(
            session.scalars(
                select(Message)
                .filter_by(conversation_id=conversation.id)
                .order_by(Message.created_at, Message.id)
            )
        )
        calendar = self.hours.calendar(session, conversation.account.name)

        def wait(asked: datetime, answered: datetime | None) -> timedelta | None:
            return None if answered is None else calendar.between(asked, answered)

        inbound = [m for m in messages if m.direction == Direction.INBOUND]
        first = Exchange(
            asked_at=conversation.opened_at,
            answered_at=conversation.first_response_at,
            due_at=conversation.first_response_due_at,
            business_wait=wait(conversation.opened_at, conversation.first_response_at),
        )
        follow_ups = tuple(
            Exchange(
                m.created_at, m.responded_at, m.response_due_at, wait(m.created_at, m.responded_at)
            )
            for m in inbound[1:]
            if m.response_due_at is not None
        )
        answers = sum(
            1 for m in messages if m.direction == Direction.OUTBOUND and m.delivery == Delivery.SENT
        )
        return ConversationFacts(
            conversation_id=conversation.id,
            opened_at=conversation.opened_at,
            assignee=conversation.assignee,
            first=first,
            next=follow_ups,
            resolved_at=conversation.resolved_at,
            agent_messages=answers,
        )

    def command(self, text: str, channel: str | None = None) -> StatsReport | CommandError:
        """`/care stats [today|7d|30d] [account|all]`: the figures, privately."""
        words = text.split()
        period = words[0] if words else "7d"
        try:
            since = parse_since(period, self.context.clock.now(), self.zone)
        except ValueError as error:
            return CommandError(str(error), usage="stats")
        scope = self.scope(words[1] if len(words) > 1 else None, channel)
        if isinstance(scope, CommandError):
            return scope
        return StatsReport(self.report(since, scope=scope), period, scope.account, scope.channel)

    def scope(self, account: str | None, channel: str | None) -> Scope | CommandError:
        names = sorted(a.name for a in self.context.accounts)
        if account is not None and account.lower() != "all":
            if account not in names:
                return CommandError(
                    f"no account {account[:40]!r}: known are {', '.join(names)}", usage="stats"
                )
            return Scope(account=account)
        channels = self.context.accounts.support_channels()
        if account is None and channel in channels and len(channels) > 1:
            return Scope(channel=channel)
        return Scope()

    # --- the weekly digest ---------------------------------------------------------------------
    def last_week(self, now: datetime) -> tuple[datetime, datetime]:
        """Monday 00:00 to Monday 00:00 of the week before `now`, local time."""
        local = now.astimezone(self.zone)
        this_monday = (local - timedelta(days=local.weekday())).replace(
            hour=0, minute=0, second=0, microsecond=0
        )
        last_monday = (this_monday - timedelta(days=7)).replace(tzinfo=None)
        start = last_monday.replace(tzinfo=self.zone)  # 00:00 local, whatever DST did meanwhile
        return start, this_monday

    def enqueue_digest(self, channels: Sequence[str] | None = None) -> None:
        """Queue last week's digest in every support channel (each with its own figures); the
        key makes it once per channel and week whatever the processes."""
        since, until = self.last_week(self.context.clock.now())
        targets = channels or sorted(self.context.accounts.support_channels())
        with self.context.transaction() as session:
            for channel in targets:
                self.context.outbox.digest(session, channel, since, until)
        log.info("digest.queued", week=since.date().isoformat(), channels=len(targets))

    def digest_scope(self, channel: str) -> Scope:
        """A channel's digest counts that channel's conversations when there are several."""
        several = len(self.context.accounts.support_channels()) > 1
        return Scope(channel=channel) if several else Scope()
