"""The team's topics: the list (`/care topics`), a suggestion for every new conversation from
the customer's words, the agent's one-click change on the card, and the suggestion again on
Resolve when the conversation still has none.

A new team starts with `DEFAULT_TOPICS`, read from the code until the team first changes the
list (then it is stored, and `topics_seeded` remembers it). The suggester learns from the
conversations whose topic an agent chose: their first messages are the topics' examples.
"""

from __future__ import annotations

import re
import threading
import time
from collections import defaultdict
from datetime import datetime

import structlog
from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.domain.answers import CommandError, TopicList
from bot.domain.topic_defaults import DEFAULT_TOPICS
from bot.domain.topics import TopicProfile, suggest
from bot.services.context import Context, UnknownConversation
from storage import repositories as repo
from storage.models import Conversation, TeamSetting, Topic

log = structlog.get_logger(__name__)

SUGGESTED = "carebridge"  # topic_by of a topic Carebridge suggested
SEEDED = "topics_seeded"
CACHE_SECONDS = 60.0  # other replicas' changes show within a minute
EXAMPLES = 400  # the latest conversations labelled by hand, read as examples
NAME = re.compile(r"[\w][\w -]{0,38}[\w]|[\w]")


class Topics:
    def __init__(self, context: Context) -> None:
        self.context = context
        self._lock = threading.Lock()
        self._cached: tuple[float, tuple[TopicProfile, ...]] | None = None

    # --- reading ---------------------------------------------------------------------------------
    def profiles(self) -> tuple[TopicProfile, ...]:
        """The team's topics with their keywords and examples; cached a minute."""
        with self._lock:
            if self._cached and time.monotonic() - self._cached[0] < CACHE_SECONDS:
                return self._cached[1]
        with self.context.database.reading() as session:
            profiles = _with_examples(session, _listed(session))
        with self._lock:
            self._cached = (time.monotonic(), profiles)
        return profiles

    def names(self) -> tuple[str, ...]:
        return tuple(p.name for p in self.profiles())

    def suggest(self, text: str) -> str | None:
        found = suggest(text, self.profiles())
        return found.topic if found is not None else None

    # --- changing ------------------------------------------------------------------------------
    def set(self, conversation_id: int, topic: str, user: str) -> None:
        """An agent picks the topic on the card."""
        if topic not in self.names():
            raise UnknownConversation(f"no topic {topic[:40]!r}")
        with self.context.transaction() as session:
            conversation = repo.conversation(session, conversation_id)
            if conversation is None:
                raise UnknownConversation(f"no conversation {conversation_id}")
            if conversation.topic == topic and conversation.topic_by == user:
                return
            now = self.context.clock.now()
            before = conversation.topic
            conversation.topic, conversation.topic_by = topic, user
            repo.audit(session, conversation_id, user, "topic", now, topic=topic, was=before)
            self.context.outbox.refresh_card(session, conversation)
        self._forget()

    def command(self, text: str, user: str) -> TopicList | CommandError:
        """`/care topics`, `/care topics add <name>: <keyword>, ...`, `/care topics remove
        <name>`."""
        word, _, rest = text.strip().partition(" ")
        word = word.lower()
        if not word:
            return TopicList(self.profiles())
        name, _, words = rest.partition(":")
        name = " ".join(name.split()).lower()
        if word not in ("add", "remove") or not NAME.fullmatch(name):
            return CommandError(
                "say which topic, e.g. `/care topics add fibra: ftth, modem`", usage="topics"
            )
        keywords = tuple(k.strip() for k in words.split(",") if k.strip())
        with self.context.transaction() as session:
            now = self.context.clock.now()
            rows = _stored(session, now)
            row = next((r for r in rows if r.name == name), None)
            if word == "add":
                if row is None:
                    row = Topic(name=name, keywords=[], updated_by=user, updated_at=now)
                    session.add(row)
                row.keywords = list(dict.fromkeys([*row.keywords, *keywords]))
                row.updated_by, row.updated_at = user, now
                changed = (
                    f"{name} added" if len(row.keywords) == len(keywords) else f"{name} changed"
                )
            elif row is None:
                return CommandError(f"there is no topic {name}", usage="topics")
            else:
                row.removed_at = now
                changed = f"{name} removed"
            repo.audit(session, None, user, f"topic_{word}", now, topic=name, keywords=keywords)
        self._forget()
        log.info("topics.changed", change=word, user=user)
        return TopicList(self.profiles(), changed)

    def _forget(self) -> None:
        with self._lock:
            self._cached = None


def _listed(session: Session) -> tuple[TopicProfile, ...]:
    if session.get(TeamSetting, SEEDED) is None:
        return DEFAULT_TOPICS
    rows = session.scalars(select(Topic).where(Topic.removed_at.is_(None)).order_by(Topic.id))
    return tuple(TopicProfile(row.name, tuple(row.keywords)) for row in rows)


def _stored(session: Session, now: datetime) -> list[Topic]:
    """The stored list, written from the defaults the first time the team changes it."""
    if session.get(TeamSetting, SEEDED) is None:
        for profile in DEFAULT_TOPICS:
            keywords = list(profile.keywords)
            session.add(
                Topic(name=profile.name, keywords=keywords, updated_by=SUGGESTED, updated_at=now)
            )
        session.add(TeamSetting(key=SEEDED, value="1", updated_by=SUGGESTED, updated_at=now))
        session.flush()
    return list(session.scalars(select(Topic).where(Topic.removed_at.is_(None))))


def _with_examples(
    session: Session, profiles: tuple[TopicProfile, ...]
) -> tuple[TopicProfile, ...]:
    labelled = session.execute(
        select(Conversation.id, Conversation.topic)
        .where(Conversation.topic.is_not(None), Conversation.topic_by != SUGGESTED)
        .order_by(Conversation.id.desc())
        .limit(EXAMPLES)
    ).all()
    firsts = repo.first_inbound_of(session, [row.id for row in labelled])
    examples: dict[str, list[str]] = defaultdict(list)
    for row in labelled:
        if row.id in firsts:
            examples[str(row.topic)].append(firsts[row.id].text)
    return tuple(
        TopicProfile(p.name, p.keywords, tuple(examples.get(p.name, ()))) for p in profiles
    )
