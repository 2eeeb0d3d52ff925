"""KPIs from stored conversations: `/care stats`, `carebridge stats`, and the weekly digest."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import structlog
from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.domain.hours import BusinessCalendar
from bot.domain.kpis import ConversationFacts, DailyPoint, Exchange, KpiReport, compute_kpis
from bot.domain.kpis import daily_series as daily
from bot.domain.model import Delivery, Direction
from bot.reports.render import kpi_blocks, parse_since
from bot.services.context import Context
from bot.services.effects import DIGEST
from storage.models import Conversation, Message
from storage.outbox import NewJob, enqueue

log = structlog.get_logger(__name__)


class Stats:
    def __init__(
        self, context: Context, calendar: Callable[[], BusinessCalendar], channel: str
    ) -> None:
        self.context = context
        self._calendar = calendar  # business-time figures use the hours in force and holidays
        self.channel = channel

    @property
    def calendar(self) -> BusinessCalendar:
        return self._calendar()

    @property
    def zone(self) -> ZoneInfo:
        return self.calendar.zone

    def report(self, since: datetime, until: datetime | None = None) -> KpiReport:
        now = self.context.clock.now()
        until = until or now
        with self.context.database.transaction() as session:
            facts = self.facts(session, since, until)
        return compute_kpis(facts, since, until, now)

    def daily_series(self, since: datetime, until: datetime) -> list[DailyPoint]:
        with self.context.database.transaction() as session:
            facts = self.facts(session, since, until)
        return daily(facts, since, until, self.zone)

    def facts(self, session: Session, since: datetime, until: datetime) -> list[ConversationFacts]:
        conversations = session.scalars(
            select(Conversation)
            .where(Conversation.opened_at >= since, Conversation.opened_at < until)
            .order_by(Conversation.id)
        ).unique()
        return [self._facts(session, c) for c in conversations]

    def _facts(self, session: Session, conversation: Conversation) -> ConversationFacts:
        messages = list(
            session.scalars(
                select(Message)
                .filter_by(conversation_id=conversation.id)
                .order_by(Message.created_at, Message.id)
            )
        )
        inbound = [m for m in messages if m.direction == Direction.INBOUND]
        first = Exchange(
            asked_at=conversation.opened_at,
            answered_at=conversation.first_response_at,
            due_at=conversation.first_response_due_at,
            business_wait=self._wait(conversation.opened_at, conversation.first_response_at),
        )
        follow_ups = tuple(
            Exchange(
                m.created_at,
                m.responded_at,
                m.response_due_at,
                self._wait(m.created_at, m.responded_at),
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

    def _wait(self, asked: datetime, answered: datetime | None) -> timedelta | None:
        return None if answered is None else self.calendar.between(asked, answered)

    def command(self, text: str) -> tuple[str, list[dict] | None]:
        """`/care stats [today|7d|30d]`: the figures as a private Slack message."""
        period = text.strip() or "7d"
        try:
            since = parse_since(period, self.context.clock.now(), self.zone)
        except ValueError as error:
            return f":warning: {error}", None
        return kpi_blocks(self.report(since), f"Carebridge stats · {period}")

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

    def enqueue_digest(self) -> None:
        """Queue last week's digest; the key makes it once per week whatever the processes."""
        since, until = self.last_week(self.context.clock.now())
        with self.context.transaction() as session:
            job = NewJob(
                DIGEST,
                f"digest:{since.date().isoformat()}",
                {"since": since.isoformat(), "until": until.isoformat(), "channel": self.channel},
                lane=f"slack:{self.channel}",
            )
            enqueue(session, job, self.context.clock.now())
        log.info("digest.queued", week=since.date().isoformat())
