"""The spike alert: when negative posts (customers' messages on every network, and listening's
finds) in the last 15 minutes reach several times the usual for that moment of the week, one
alert in the support channel with the on-call agent mentioned; a second message when it
subsides. The rules are `bot.domain.spikes`; this counts from the database, keeps the incident
between checks (team_settings) and says it through the outbox."""

from __future__ import annotations

import json
from dataclasses import asdict
from datetime import datetime
from zoneinfo import ZoneInfo

import structlog
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bot.domain.facts import SpikeAlerted, SpikeSubsided
from bot.domain.model import Direction
from bot.domain.spike_alert import NegativePost, describe_spike
from bot.domain.spikes import (
    Assessment,
    Decision,
    Incident,
    Span,
    SpikeThresholds,
    assess,
    baseline_windows,
    recent_window,
    usual,
)
from bot.services.context import Context
from bot.services.oncall import OnCallService
from storage.models import Customer, ListenedPost, Message, TeamSetting

log = structlog.get_logger(__name__)
STATE = "spike_incident"  # team_settings: the incident under way, as JSON


class SpikeWatch:
    def __init__(
        self,
        context: Context,
        oncall: OnCallService,
        channel: str,
        thresholds: SpikeThresholds,
        zone: ZoneInfo,
    ) -> None:
        self.context = context
        self.oncall = oncall
        self.channel = channel
        self.thresholds = thresholds
        self.zone = zone

    def check(self) -> Decision:
        """One check (every few minutes, by the leader)."""
        now = self.context.clock.now()
        recent = recent_window(now, self.thresholds)
        with self.context.database.reading() as session:
            since = _data_since(session)
            spans = baseline_windows(now, self.zone, self.thresholds, data_since=since)
            counts = [_count(session, span) for span in spans]
            posts = _posts(session, recent)
        usual_count = usual(counts, self.thresholds)
        with self.context.transaction() as session:
            state = _load(session)
            decided = assess(now, len(posts), usual_count, state, self.thresholds)
            _store(session, decided.state, now)
            self._say(session, decided, posts, now)
        if decided.decision in (Decision.ALERT, Decision.SUBSIDED):
            log.warning(f"spike.{decided.decision}", posts=len(posts), usual=round(usual_count, 1))
        return decided.decision

    def _say(
        self, session: Session, decided: Assessment, posts: list[NegativePost], now: datetime
    ) -> None:
        incident = decided.incident
        if incident is None or decided.decision not in (Decision.ALERT, Decision.SUBSIDED):
            return
        key = f"spike:{incident.started_at.isoformat()}"
        if decided.decision == Decision.ALERT:
            alert = describe_spike(posts, incident.usual, self.thresholds)
            on_call = self.oncall.current(session, now).user
            fact = SpikeAlerted(
                alert.count,
                alert.usual,
                int(alert.window.total_seconds() // 60),
                alert.top_words,
                alert.verified,
                alert.examples,
                on_call,
            )
            self.context.outbox.channel(session, self.channel, key, fact)
            return
        subsided = SpikeSubsided(incident.started_at, now, incident.peak, self.zone.key)
        self.context.outbox.channel(session, self.channel, f"{key}:over", subsided)


def _count(session: Session, span: Span) -> int:
    messages = select(func.count(Message.id)).where(
        Message.negative,
        Message.direction == Direction.INBOUND,
        Message.created_at >= span.start,
        Message.created_at < span.end,
    )
    listened = select(func.count(ListenedPost.id)).where(
        ListenedPost.sentiment == "negative",
        ListenedPost.posted_at >= span.start,
        ListenedPost.posted_at < span.end,
    )
    return int(session.scalar(messages) or 0) + int(session.scalar(listened) or 0)


def _posts(session: Session, span: Span) -> list[NegativePost]:
    """The recent window's negative posts, for the count and the alert's words and links."""
    messages = session.execute(
        select(Message, Customer)
        .outerjoin(Customer, Customer.id == Message.customer_id)
        .where(
            Message.negative,
            Message.direction == Direction.INBOUND,
            Message.created_at >= span.start,
            Message.created_at < span.end,
        )
    ).all()
    found = [
        NegativePost(
            m.created_at,
            m.text,
            bool(c and c.verified),
            m.permalink,
            m.network,
            c.followers if c else None,
        )
        for m, c in messages
    ]
    listened = session.scalars(
        select(ListenedPost).where(
            ListenedPost.sentiment == "negative",
            ListenedPost.posted_at >= span.start,
            ListenedPost.posted_at < span.end,
        )
    )
    found += [
        NegativePost(p.posted_at, p.text, p.verified, p.permalink, p.network, p.followers)
        for p in listened
    ]
    return found


def _data_since(session: Session) -> datetime | None:
    """When Carebridge started seeing customers' messages: earlier weeks are no baseline."""
    return session.scalar(select(func.min(Message.created_at)))


def _load(session: Session) -> Incident | None:
    row = session.get(TeamSetting, STATE)
    if row is None or not row.value:
        return None
    data = json.loads(row.value)
    for name in ("started_at", "peak_at", "calm_since"):
        if data.get(name):
            data[name] = datetime.fromisoformat(data[name])
    return Incident(**data)


def _store(session: Session, state: Incident | None, now: datetime) -> None:
    value = "" if state is None else json.dumps(asdict(state), default=datetime.isoformat)
    row = session.get(TeamSetting, STATE)
    if row is None:
        session.add(TeamSetting(key=STATE, value=value, updated_by="carebridge", updated_at=now))
    elif row.value != value:
        row.value, row.updated_at = value, now
