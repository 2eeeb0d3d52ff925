"""The counts behind the satisfaction figures of `/care stats`, `carebridge stats` and the weekly
digest, by the rules of bot/domain/csat_kpis.py: one aggregate query, grouped by agent, topic
and network, whatever the number of surveys. The groups are few (agents x topics x networks);
the domain sums them into the team's figures and each breakdown."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ColumnElement, case, func, literal, select
from sqlalchemy.orm import Session

from bot.domain.csat_kpis import CsatCell, SurveyCount
from bot.domain.surveys import SCORES
from storage.kpi_queries import Scope
from storage.models import ChannelAccount, Conversation, Survey
from storage.surveys import ANSWERED, SENT
from storage.topic_queries import NO_TOPIC

ASKED = (SENT, ANSWERED)  # the question went out; skipped, failed and cancelled ones did not


def survey_counts(
    session: Session, scope: Scope, since: datetime, until: datetime
) -> list[CsatCell]:
    """Surveys asked in `[since, until)` and their answers per score, by agent, topic and
    network (the network's name: the caller turns it into its label)."""
    # Grouped by the label: PostgreSQL sees two bound '' as two different expressions.
    topic = func.coalesce(Conversation.topic, literal(NO_TOPIC)).label("topic")
    query = (
        select(
            Survey.agent,
            topic,
            ChannelAccount.network,
            func.count(),
            *(_number_of((Survey.status == ANSWERED) & (Survey.score == n)) for n in SCORES),
        )
        .select_from(Survey)
        .join(Conversation, Conversation.id == Survey.conversation_id)
        .join(ChannelAccount, ChannelAccount.id == Conversation.account_id)
        .where(Survey.status.in_(ASKED), Survey.sent_at >= since, Survey.sent_at < until)
        .group_by(Survey.agent, topic, ChannelAccount.network)
    )
    # The scope's account or channel, as Scope.applied has them (its period is the opening's).
    if scope.account is not None:
        query = query.where(ChannelAccount.name == scope.account)
    if scope.channel is not None:
        query = query.where(Conversation.slack_channel_id == scope.channel)
    return [
        CsatCell(
            agent, str(name), network, SurveyCount(int(asked), tuple(int(n or 0) for n in scores))
        )
        for agent, name, network, asked, *scores in session.connection().execute(query)
    ]


def _number_of(condition: ColumnElement[bool]) -> ColumnElement[int]:
    return func.sum(case((condition, 1), else_=0))
