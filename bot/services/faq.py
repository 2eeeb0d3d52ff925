"""The FAQ that writes itself (`carebridge faq export`): the topics customers asked about most
in a period, each with a few representative questions and the saved replies that resolved its
conversations fastest. The page itself is written by `bot.reports.faq_html`/`faq_markdown`,
which anonymise the questions."""

from __future__ import annotations

import statistics
from collections import defaultdict
from datetime import datetime

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import Session

from bot.domain.faq import Faq, FaqReply, FaqTopic
from bot.domain.saved_replies import ReplyValues, fill
from bot.services.context import Context
from bot.services.saved_replies import as_saved_reply
from bot.services.topics import SUGGESTED
from storage import repositories as repo
from storage.models import Conversation, Message
from storage.models import SavedReply as SavedReplyRow

TOPICS = 10  # the page's sections
QUESTIONS = 3  # per topic
REPLIES = 2  # per topic
READ = 300  # a topic's latest conversations read for questions
QUESTION_LENGTH = (20, 280)  # shorter says too little, longer is a story, not a question
NOTHING = ReplyValues("", "", "")  # a published reply greets no one in particular


class FaqBuilder:
    def __init__(self, context: Context) -> None:
        self.context = context

    def build(self, since: datetime, until: datetime, *, lang: str, company: str = "") -> Faq:
        with self.context.database.reading() as session:
            topics = [
                FaqTopic(
                    topic,
                    asked,
                    _questions(session, topic, since, until),
                    _fastest_replies(session, topic, since, until, lang),
                )
                for topic, asked in _most_asked(session, since, until)
            ]
        days = max(1, round((until - since).total_seconds() / 86_400))
        return Faq("", company, lang, until, days, topics)


def _most_asked(session: Session, since: datetime, until: datetime) -> list[tuple[str, int]]:
    count = func.count(Conversation.id)
    rows = session.execute(
        select(Conversation.topic, count)
        .where(_in_period(since, until), Conversation.topic.is_not(None))
        .group_by(Conversation.topic)
        .order_by(count.desc(), Conversation.topic)
        .limit(TOPICS)
    ).all()
    return [(str(topic), int(n)) for topic, n in rows]


def _questions(session: Session, topic: str, since: datetime, until: datetime) -> list[str]:
    """Questions as customers put them: first messages with a question mark and of a readable
    length, those whose topic an agent confirmed first, without repeats."""
    rows = session.execute(
        select(Conversation.id, Conversation.topic_by)
        .where(_in_period(since, until), Conversation.topic == topic)
        .order_by(Conversation.id.desc())
        .limit(READ)
    ).all()
    firsts = repo.first_inbound_of(session, [row.id for row in rows])
    confirmed = {row.id for row in rows if row.topic_by not in (None, SUGGESTED)}
    low, high = QUESTION_LENGTH
    candidates = [
        (row.id not in confirmed, " ".join(firsts[row.id].text.split()))
        for row in rows
        if row.id in firsts
    ]
    chosen: dict[str, str] = {}
    for _, text in sorted(candidates, key=lambda c: c[0]):
        key = text.lower().strip("?!. ")
        if "?" in text and low <= len(text) <= high and key not in chosen:
            chosen[key] = text
        if len(chosen) == QUESTIONS:
            break
    return list(chosen.values())


def _fastest_replies(
    session: Session, topic: str, since: datetime, until: datetime, lang: str
) -> list[FaqReply]:
    """The saved replies sent in the topic's resolved conversations, fastest median time from
    the customer's first message to Resolve first."""
    rows = session.execute(
        select(Message.saved_reply_id, Conversation.opened_at, Conversation.resolved_at)
        .join(Conversation, Conversation.id == Message.conversation_id)
        .where(
            _in_period(since, until),
            Conversation.topic == topic,
            Conversation.resolved_at.is_not(None),
            Message.saved_reply_id.is_not(None),
        )
    ).all()
    waits: dict[int, list[float]] = defaultdict(list)
    for reply_id, opened, resolved in rows:
        if resolved is not None and reply_id is not None:  # as the query asks
            waits[int(reply_id)].append((resolved - opened).total_seconds())
    ranked = sorted(waits, key=lambda r: (statistics.median(waits[r]), r))
    replies = []
    for reply_id in ranked:
        row = session.get(SavedReplyRow, reply_id)
        if row is None or row.removed_at is not None or not row.public:
            continue  # only what the team would say in public goes on a public page
        reply = as_saved_reply(row)
        replies.append(FaqReply(row.name, fill(reply, lang, NOTHING)))
        if len(replies) == REPLIES:
            break
    return replies


def _in_period(since: datetime, until: datetime) -> ColumnElement[bool]:
    return (Conversation.opened_at >= since) & (Conversation.opened_at <= until)
