"""Figures of the specialist teams: how many conversations went to each, how long they stayed."""

from __future__ import annotations

from datetime import datetime, timedelta
from statistics import median

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bot.domain.teams import TeamFigures
from storage.models import Conversation, Forward, Team


def team_figures(
    session: Session, since: datetime, until: datetime, now: datetime
) -> tuple[int, int, tuple[TeamFigures, ...]]:
    """(conversations opened, of which forwarded, per team) for the period."""
    opened = session.scalar(
        select(func.count(Conversation.id)).where(
            Conversation.opened_at >= since, Conversation.opened_at < until
        )
    )
    forwarded = session.scalar(
        select(func.count(func.distinct(Forward.conversation_id)))
        .join(Conversation, Conversation.id == Forward.conversation_id)
        .where(Conversation.opened_at >= since, Conversation.opened_at < until)
    )
    rows = session.execute(
        select(Team.name, Forward)
        .join(Team, Team.id == Forward.team_id)
        .where(Forward.forwarded_at >= since, Forward.forwarded_at < until)
        .order_by(Team.name)
    ).all()
    by_team: dict[str, list[Forward]] = {}
    for name, forward in rows:
        by_team.setdefault(name, []).append(forward)
    figures = []
    for name, forwards in by_team.items():
        seconds = [
            ((f.answered_at or f.closed_at or now) - f.forwarded_at).total_seconds()
            for f in forwards
        ]
        targeted = [f for f in forwards if f.due_at is not None]
        figures.append(
            TeamFigures(
                team=name,
                forwarded=len(forwards),
                answered=sum(f.answered_at is not None for f in forwards),
                within_target=sum(
                    f.answered_at is not None and f.due_at is not None and f.answered_at <= f.due_at
                    for f in targeted
                ),
                with_target=len(targeted),
                sent_back=sum(f.status == "sent_back" for f in forwards),
                taken_over=sum(f.status == "taken_over" for f in forwards),
                median_time=timedelta(seconds=median(seconds)) if seconds else None,
            )
        )
    return opened or 0, forwarded or 0, tuple(figures)
