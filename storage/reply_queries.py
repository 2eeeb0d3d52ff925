"""What `/care stats replies` reads: the answers sent with a saved reply in a period, and
whether their customer wrote again soon after."""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bot.domain.model import Delivery, Direction
from storage.models import Message


@dataclass(frozen=True)
class ReplyUses:
    name: str
    by: Counter[str]  # Slack user -> answers sent with it
    wrote_again: int


def saved_reply_uses(
    session: Session, since: datetime, until: datetime, within: timedelta
) -> list[ReplyUses]:
    """Per saved reply (by name, removed ones too), the answers sent with it in the period,
    and how many were followed by a customer message within `within`."""
    sent = session.execute(
        select(
            Message.id,
            Message.saved_reply_name,
            Message.author,
            Message.conversation_id,
            Message.created_at,
        )
        .where(
            Message.saved_reply_name.is_not(None),
            Message.direction == Direction.OUTBOUND,
            Message.delivery == Delivery.SENT,
            Message.created_at >= since,
            Message.created_at <= until,
        )
        .order_by(Message.id)
    ).all()
    if not sent:
        return []
    conversations = {row.conversation_id for row in sent}
    # Later means stored later (a larger id): a clock's second holds both in tests and bursts.
    inbound: dict[int, list[tuple[int, datetime]]] = defaultdict(list)
    for message_id, conversation_id, at in session.execute(
        select(Message.id, Message.conversation_id, Message.created_at).where(
            Message.conversation_id.in_(conversations),
            Message.direction == Direction.INBOUND,
            Message.created_at >= since,
        )
    ):
        inbound[conversation_id].append((message_id, at))
    by: dict[str, Counter[str]] = defaultdict(Counter)
    again: Counter[str] = Counter()
    for row in sent:
        name = str(row.saved_reply_name)
        by[name][row.author] += 1
        later = inbound[row.conversation_id]
        if any(i > row.id and at <= row.created_at + within for i, at in later):
            again[name] += 1
    return [ReplyUses(name, counts, again[name]) for name, counts in by.items()]


def answers_sent(session: Session, since: datetime, until: datetime) -> int:
    query = select(func.count(Message.id)).where(
        Message.direction == Direction.OUTBOUND,
        Message.delivery == Delivery.SENT,
        Message.created_at >= since,
        Message.created_at <= until,
    )
    return int(session.scalar(query) or 0)
