"""Queries of the satisfaction surveys (one row per conversation)."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime

from sqlalchemy import Select, exists, func, select
from sqlalchemy.orm import Session

from bot.domain.model import Direction, Visibility
from storage.models import Message, Survey

SCHEDULED, SENT, ANSWERED = "scheduled", "sent", "answered"
CANCELLED, SKIPPED, FAILED = "cancelled", "skipped", "failed"


def of_conversation(session: Session, conversation_id: int, *, lock: bool = False) -> Survey | None:
    query = select(Survey).where(Survey.conversation_id == conversation_id)
    if lock:
        query = query.with_for_update()
    return session.scalar(query)


def of_message(session: Session, message_id: int) -> Survey | None:
    return session.scalar(select(Survey).where(Survey.message_id == message_id))


def due(session: Session, now: datetime, limit: int = 100) -> list[int]:
    query = (
        select(Survey.id)
        .where(Survey.status == SCHEDULED, Survey.due_at <= now)
        .order_by(Survey.due_at)
        .limit(limit)
    )
    return list(session.scalars(query))


def next_due(session: Session) -> datetime | None:
    return session.scalar(select(func.min(Survey.due_at)).where(Survey.status == SCHEDULED))


def last_asked(session: Session, customers: Select[int] | Collection[int]) -> datetime | None:
    """When one of these customers (a person's accounts) was last sent a survey."""
    query = select(func.max(Survey.sent_at)).where(
        Survey.customer_id.in_(customers), Survey.sent_at.is_not(None)
    )
    return session.scalar(query)


def had_private_part(session: Session, conversation_id: int) -> bool:
    """Whether the customer or the team wrote privately in this conversation."""
    query = select(
        exists().where(
            Message.conversation_id == conversation_id,
            Message.visibility == Visibility.PRIVATE,
            Message.direction.in_((Direction.INBOUND, Direction.OUTBOUND)),
        )
    )
    return bool(session.scalar(query))
