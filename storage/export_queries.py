"""What `carebridge export` reads: the conversations opened in a period and their messages, in
id order, a batch at a time.

Batches are taken by id (`id > last ORDER BY id LIMIT n`), so however large the database only one
batch is in memory, on every backend and driver, and each batch's surveys and forwards are read
in one query each rather than one per conversation.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import Session

from storage.models import ChannelAccount, Conversation, Customer, Forward, Message, Survey, Team
from storage.surveys import ANSWERED

BATCH = 500


@dataclass(frozen=True)
class ConversationRecord:
    id: int
    account: str  # the account's name in the configuration, else its handle
    network: str
    visibility: str
    status: str
    priority: str
    topic: str | None
    opened_at: datetime
    first_response_at: datetime | None
    first_response_business_seconds: float | None
    resolved_at: datetime | None
    resolved_by: str | None
    assignee: str | None
    inbound_count: int
    outbound_count: int
    reopened_count: int
    csat_score: int | None  # an answered survey's
    slack_permalink: str | None
    forwarded_to: tuple[str, ...]  # the teams, in the order they were asked
    customer_handle: str
    customer_name: str
    customer_external_id: str  # the network's id: on WhatsApp, a phone number
    csat_comment: str | None


@dataclass(frozen=True)
class MessageRecord:
    id: int
    conversation_id: int
    direction: str
    visibility: str
    network: str
    created_at: datetime
    deleted_at: datetime | None
    author: str  # a customer's handle, a Slack user id, or the bot's own "carebridge:<kind>"
    delivery: str
    text: str


def _opened_in(since: datetime, until: datetime) -> ColumnElement[bool]:
    return (Conversation.opened_at >= since) & (Conversation.opened_at < until)


def count_conversations(session: Session, since: datetime, until: datetime) -> int:
    return session.scalar(select(func.count(Conversation.id)).where(_opened_in(since, until))) or 0


def count_messages(session: Session, since: datetime, until: datetime) -> int:
    query = (
        select(func.count(Message.id))
        .join(Conversation, Conversation.id == Message.conversation_id)
        .where(_opened_in(since, until))
    )
    return session.scalar(query) or 0


def conversations(
    session: Session, since: datetime, until: datetime, *, batch: int = BATCH
) -> Iterator[ConversationRecord]:
    """The conversations opened in `[since, until)`, by id."""
    query = (
        select(
            Conversation.id,
            func.coalesce(ChannelAccount.name, ChannelAccount.handle).label("account"),
            ChannelAccount.network,
            Conversation.visibility,
            Conversation.status,
            Conversation.priority,
            Conversation.topic,
            Conversation.opened_at,
            Conversation.first_response_at,
            Conversation.first_response_business_seconds,
            Conversation.resolved_at,
            Conversation.resolved_by,
            Conversation.assignee,
            Conversation.inbound_count,
            Conversation.outbound_count,
            Conversation.reopened_count,
            Conversation.slack_permalink,
            Customer.handle.label("customer_handle"),
            Customer.name.label("customer_name"),
            Customer.external_id.label("customer_external_id"),
        )
        .join(ChannelAccount, ChannelAccount.id == Conversation.account_id)
        .join(Customer, Customer.id == Conversation.customer_id)
        .where(_opened_in(since, until))
        .order_by(Conversation.id)
        .limit(batch)
    )
    after = 0
    while True:
        rows = session.execute(query.where(Conversation.id > after)).all()
        ids = [row.id for row in rows]
        surveys = _answered_surveys(session, ids)
        teams = _forwarded_to(session, ids)
        for row in rows:
            score, comment = surveys.get(row.id, (None, None))
            yield ConversationRecord(
                **row._asdict(),
                csat_score=score,
                csat_comment=comment,
                forwarded_to=tuple(teams.get(row.id, ())),
            )
        if len(rows) < batch:
            return
        after = ids[-1]


def messages(
    session: Session, since: datetime, until: datetime, *, batch: int = BATCH
) -> Iterator[MessageRecord]:
    """Every message of the conversations opened in `[since, until)`, by id."""
    query = (
        select(
            Message.id,
            Message.conversation_id,
            Message.direction,
            Message.visibility,
            Message.network,
            Message.created_at,
            Message.deleted_at,
            Message.author,
            Message.delivery,
            Message.text,
        )
        .join(Conversation, Conversation.id == Message.conversation_id)
        .where(_opened_in(since, until))
        .order_by(Message.id)
        .limit(batch)
    )
    after = 0
    while True:
        rows = session.execute(query.where(Message.id > after)).all()
        for row in rows:
            yield MessageRecord(**row._asdict())
        if len(rows) < batch:
            return
        after = rows[-1].id


def _answered_surveys(session: Session, ids: list[int]) -> dict[int, tuple[int | None, str | None]]:
    if not ids:
        return {}
    rows = session.execute(
        select(Survey.conversation_id, Survey.score, Survey.comment).where(
            Survey.conversation_id.in_(ids), Survey.status == ANSWERED
        )
    )
    return {conversation_id: (score, comment) for conversation_id, score, comment in rows}


def _forwarded_to(session: Session, ids: list[int]) -> dict[int, list[str]]:
    teams: defaultdict[int, list[str]] = defaultdict(list)
    if not ids:
        return teams
    rows = session.execute(
        select(Forward.conversation_id, Team.name)
        .join(Team, Team.id == Forward.team_id)
        .where(Forward.conversation_id.in_(ids))
        .order_by(Forward.conversation_id, Forward.id)
    )
    for conversation_id, name in rows:
        if name not in teams[conversation_id]:
            teams[conversation_id].append(name)
    return teams
