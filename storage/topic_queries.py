"""What `/care stats topics` and the weekly digest read: per topic, the conversations opened in
a period, how many were first answered within their target, and the exchanges it took to
resolve them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import case, func, literal, select
from sqlalchemy.orm import Session

from bot.domain.model import Status
from storage.models import Conversation

NO_TOPIC = ""  # conversations nobody gave a topic, counted together


@dataclass(frozen=True)
class TopicCount:
    topic: str
    opened: int
    answered: int  # first answered at all
    answered_in_time: int  # ... by the first response target
    resolved: int
    exchanges: int  # messages both ways in the resolved ones


def topic_counts(session: Session, since: datetime, until: datetime) -> list[TopicCount]:
    in_time = case(
        (
            (Conversation.first_response_at.is_not(None))
            & (Conversation.first_response_at <= Conversation.first_response_due_at),
            1,
        ),
        else_=0,
    )
    resolved = Conversation.status == Status.RESOLVED
    # Grouped by the label: PostgreSQL sees two bound '' as two different expressions.
    topic = func.coalesce(Conversation.topic, literal(NO_TOPIC)).label("topic")
    rows = session.execute(
        select(
            topic,
            func.count(Conversation.id),
            func.count(Conversation.first_response_at),
            func.sum(in_time),
            func.sum(case((resolved, 1), else_=0)),
            func.sum(
                case((resolved, Conversation.inbound_count + Conversation.outbound_count), else_=0)
            ),
        )
        .where(Conversation.opened_at >= since, Conversation.opened_at < until)
        .group_by(topic)
    ).all()
    return [
        TopicCount(str(t), int(n), int(a or 0), int(i or 0), int(r or 0), int(x or 0))
        for t, n, a, i, r, x in rows
    ]
