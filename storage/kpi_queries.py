"""The counts behind `/care stats` and the digest, by the rules of bot/domain/kpis.py, in a few
aggregate queries whatever the number of conversations.

Conversations keep what their answers settled (services.sla.Deadlines.answered: the first wait
in business time, the follow-ups answered and answered in time), so a month of 100,000
conversations is read from the conversations table alone, plus the customer messages still
waiting for an answer (a partial index) for the follow-ups that became overdue.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVarTuple

from sqlalchemy import ColumnElement, Select, case, func, literal, select
from sqlalchemy.orm import Session

from bot.domain.kpis import Sample, Tally
from bot.domain.model import Direction
from storage.durations import seconds_between
from storage.models import ChannelAccount, Conversation, Message

Ts = TypeVarTuple("Ts")
# The wait from opening to first answer in the account's business time, in seconds: for
# conversations answered before revision 0009 kept it.
BusinessWait = Callable[[str | None, datetime, datetime], float]


@dataclass(frozen=True)
class Scope:
    """Which conversations the figures count: one account, one channel, or all (both None)."""

    account: str | None = None
    channel: str | None = None

    def applied(self, query: Select[*Ts], since: datetime, until: datetime) -> Select[*Ts]:
        query = query.where(Conversation.opened_at >= since, Conversation.opened_at < until)
        if self.account is not None:
            query = query.join(ChannelAccount, ChannelAccount.id == Conversation.account_id)
            query = query.where(ChannelAccount.name == self.account)
        if self.channel is not None:
            query = query.where(Conversation.slack_channel_id == self.channel)
        return query


def samples(
    session: Session,
    scope: Scope,
    since: datetime,
    until: datetime,
    now: datetime,
    business_wait: BusinessWait,
) -> dict[str | None, Sample]:
    """Each assignee's sample (None: the unassigned conversations) of conversations opened in
    `[since, until)`, judged at `now`."""
    at = literal(now, Conversation.resolved_at.type)
    overdue = _overdue_follow_ups(session, scope, since, until, at)
    durations: dict[str | None, tuple[list[float], list[float], list[float]]] = defaultdict(
        lambda: ([], [], [])
    )
    for assignee, wait, business, resolution in (
        session.connection()
        .execute(
            scope.applied(
                select(
                    Conversation.assignee,
                    seconds_between(Conversation.first_response_at, Conversation.opened_at),
                    Conversation.first_response_business_seconds,
                    seconds_between(Conversation.resolved_at, Conversation.opened_at),
                ).where(Conversation.first_response_at.is_not(None) | _resolved()),
                since,
                until,
            )
        )
        .all()
    ):  # fetched at once: row by row took a third longer
        waits, business_waits, resolutions = durations[assignee]
        if wait is not None:
            waits.append(wait)
        if business is not None:
            business_waits.append(business)
        if resolution is not None:
            resolutions.append(resolution)
    for assignee, business in _older_business_waits(session, scope, since, until, business_wait):
        durations[assignee][1].append(business)
    found = {}
    for row in session.connection().execute(scope.applied(_counts(at), since, until)):
        assignee = row[0]
        waits, business_waits, resolutions = durations[assignee]
        first_met, first_measured, next_met, next_answered = (int(v or 0) for v in row[2:6])
        found[assignee] = Sample(
            opened=int(row[1]),
            first=Tally(first_met, first_measured),
            next=Tally(next_met, next_answered + overdue.get(assignee, 0)),
            judged=int(row[6] or 0),
            never_answered=int(row[7] or 0),
            resolved=int(row[8] or 0),
            answers_when_resolved=int(row[9] or 0),
            first_waits=waits,
            business_waits=business_waits,
            resolutions=resolutions,
        )
    return found


def openings(
    session: Session, scope: Scope, since: datetime, until: datetime
) -> list[tuple[datetime, float | None]]:
    """When each conversation of `[since, until)` was opened, and its first wait in seconds."""
    query = select(
        Conversation.opened_at,
        seconds_between(Conversation.first_response_at, Conversation.opened_at),
    )
    return [
        (opened, wait)
        for opened, wait in session.connection().execute(scope.applied(query, since, until))
    ]


def _counts(at: ColumnElement[datetime]) -> Select[*tuple[Any, ...]]:
    """By assignee: opened; first responses met and measured; follow-ups met and answered;
    conversations judged and, of those, never answered; resolved, and their answers."""
    c = Conversation
    answered, due = c.first_response_at.is_not(None), c.first_response_due_at
    stop = case((c.resolved_at < at, c.resolved_at), else_=at)  # where an open clock stopped
    judged = answered | _resolved() | (due <= at)
    return select(
        c.assignee,
        func.count(),
        _number_of(answered & (c.first_response_at <= due)),
        _number_of(due.is_not(None) & (answered | (due <= stop))),
        func.sum(c.follow_ups_met),
        func.sum(c.follow_ups_answered),
        _number_of(judged),
        _number_of(judged & c.first_response_at.is_(None)),
        _number_of(_resolved()),
        func.sum(case((_resolved(), c.outbound_count), else_=0)),
    ).group_by(c.assignee)


def _overdue_follow_ups(
    session: Session, scope: Scope, since: datetime, until: datetime, at: ColumnElement[datetime]
) -> dict[str | None, int]:
    """By assignee: follow-ups unanswered and overdue before the conversation was resolved.
    (The opening message is the first response's clock: written at the opening's very time.)"""
    stop = case((Conversation.resolved_at < at, Conversation.resolved_at), else_=at)
    query = (
        select(Conversation.assignee, func.count())
        .select_from(Message)
        .join(Conversation, Conversation.id == Message.conversation_id)
        .where(
            # As ix_messages_waiting's condition, so that it is the index read.
            Message.response_due_at.is_not(None),
            Message.responded_at.is_(None),
            Message.direction == Direction.INBOUND,
            Message.created_at != Conversation.opened_at,
            Message.response_due_at <= stop,
        )
        .group_by(Conversation.assignee)
    )
    return {
        row[0]: int(row[1])
        for row in session.connection().execute(scope.applied(query, since, until))
    }


def _older_business_waits(
    session: Session, scope: Scope, since: datetime, until: datetime, business_wait: BusinessWait
) -> list[tuple[str | None, float]]:
    """Conversations answered before revision 0009 kept their business wait: computed here."""
    query = select(
        Conversation.assignee,
        ChannelAccount.name,
        Conversation.opened_at,
        Conversation.first_response_at,
    ).where(
        Conversation.first_response_at.is_not(None),
        Conversation.first_response_business_seconds.is_(None),
    )
    if scope.account is None:  # Scope.applied joins the accounts for an account's figures
        query = query.join(ChannelAccount, ChannelAccount.id == Conversation.account_id)
    rows = session.connection().execute(scope.applied(query, since, until))
    return [
        (assignee, business_wait(account, opened, answered))
        for assignee, account, opened, answered in rows
        if answered is not None  # as the query asked
    ]


def _resolved() -> ColumnElement[bool]:
    return Conversation.resolved_at.is_not(None)


def _number_of(condition: ColumnElement[bool]) -> ColumnElement[int]:
    return func.sum(case((condition, 1), else_=0))
