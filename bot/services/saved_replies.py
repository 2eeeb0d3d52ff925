"""Saved replies: kept by the team (`/care replies`), found by type-ahead on a card or in a
thread, filled in for the customer in their language, and sent through the same path as an
answer written in the thread: claimed if unclaimed, delivered by the outbox with its marks and
retries, counted in the figures. The thread shows it as the agent's answer, naming the reply.
"""

from __future__ import annotations

from dataclasses import dataclass

import structlog
from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.domain.conversation import AgentMessageKind
from bot.domain.language import guess_language
from bot.domain.model import Visibility
from bot.domain.saved_replies import (
    ReplyValues,
    SavedReply,
    SavedReplyDraft,
    checked,
    fill,
    matching,
)
from bot.domain.templates import notice_language
from bot.services.context import Access, Context, UnknownConversation
from bot.services.replies import Replies
from storage import repositories as repo
from storage.models import Conversation
from storage.models import SavedReply as SavedReplyRow

log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class Room:
    """How long an answer is as its network counts, and the room it has there."""

    length: int
    limit: int | None  # None: no limit
    network_label: str


@dataclass(frozen=True)
class Filled:
    """A saved reply filled in for one conversation's customer."""

    reply: SavedReply
    text: str
    room: Room


class SavedReplies:
    def __init__(self, context: Context, replies: Replies, access: Access) -> None:
        self.context = context
        self.replies = replies
        self.access = access

    # --- the team's list -----------------------------------------------------------------------
    def all(self) -> list[SavedReply]:
        with self.context.database.reading() as session:
            return [as_saved_reply(row) for row in _kept(session)]

    def get(self, reply_id: int) -> SavedReply | None:
        with self.context.database.reading() as session:
            row = session.get(SavedReplyRow, reply_id)
            return as_saved_reply(row) if row is not None and row.removed_at is None else None

    def save(self, reply_id: int | None, draft: SavedReplyDraft, user: str) -> SavedReply:
        """Add (no id) or change a saved reply; SavedReplyError says what to fix."""
        now = self.context.clock.now()
        with self.context.transaction() as session:
            rows = _kept(session)
            taken = {row.name for row in rows if row.id != reply_id}
            clean = checked(draft, taken)
            row = next((r for r in rows if r.id == reply_id), None) if reply_id else None
            if row is None:
                if reply_id is not None:
                    raise UnknownConversation(f"no saved reply {reply_id}")
                row = SavedReplyRow()
                session.add(row)
            row.name, row.topic, row.public = clean.name, clean.topic, clean.public
            row.text_it, row.text_en = clean.text_it, clean.text_en
            row.updated_by, row.updated_at = user, now
            session.flush()
            action = "saved_reply_changed" if reply_id else "saved_reply_added"
            repo.audit(session, None, user, action, now, reply=row.name, reply_id=row.id)
            log.info(f"saved_reply.{'changed' if reply_id else 'added'}", reply_id=row.id)
            return as_saved_reply(row)

    def remove(self, reply_id: int, user: str) -> None:
        now = self.context.clock.now()
        with self.context.transaction() as session:
            row = session.get(SavedReplyRow, reply_id)
            if row is None or row.removed_at is not None:
                return  # removed already: a double click
            row.removed_at = now
            repo.audit(session, None, user, "saved_reply_removed", now, reply=row.name)
            log.info("saved_reply.removed", reply_id=reply_id)

    # --- using one -----------------------------------------------------------------------------
    def search(self, conversation_id: int, query: str) -> list[SavedReply]:
        """Type-ahead in the picker: only replies allowed in public for a public conversation."""
        with self.context.database.reading() as session:
            conversation = _conversation(session, conversation_id)
            public = conversation.visibility == Visibility.PUBLIC
            replies = [as_saved_reply(row) for row in _kept(session)]
        return matching(replies, query, public=public)

    def filled(self, conversation_id: int, reply_id: int, agent: str) -> Filled:
        """The reply for this conversation's customer, in their language; `agent` is the name
        `{agent}` becomes."""
        with self.context.database.reading() as session:
            conversation = _conversation(session, conversation_id)
            row = session.get(SavedReplyRow, reply_id)
            if row is None or row.removed_at is not None:
                raise UnknownConversation(f"no saved reply {reply_id}")
            reply = as_saved_reply(row)
            latest = repo.latest_inbound(session, conversation.id)
            customer = conversation.customer
            language = notice_language(guess_language(latest.text if latest else ""))
            spec = self.context.accounts.spec(conversation.account.network)
            handle = f"@{customer.handle}" if customer.handle and spec and spec.handles else ""
            values = ReplyValues(customer.name or customer.handle, agent, handle)
            text = fill(reply, language, values)
            room = self._room(conversation, text)
        return Filled(reply, text, room)

    def measure(self, conversation_id: int, text: str) -> Room:
        with self.context.database.reading() as session:
            return self._room(_conversation(session, conversation_id), text)

    def _room(self, conversation: Conversation, text: str) -> Room:
        network = conversation.account.network
        spec = self.context.accounts.spec(network)
        label = self.context.label(network)
        if spec is None:
            return Room(len(text), None, label)
        if conversation.visibility == Visibility.PUBLIC:
            return Room(spec.public_length(text), spec.public_text_limit, label)
        return Room(len(text), spec.private_text_limit, label)

    def send(self, conversation_id: int, reply_id: int, text: str, user: str) -> AgentMessageKind:
        """Send the (edited) reply as `user`'s answer; anything but ANSWER is not sent and says
        why (somebody else owns it, resolved, too long, not in the channel)."""
        reply = self.get(reply_id)
        if reply is None:
            raise UnknownConversation(f"no saved reply {reply_id}")
        return self.replies.answer_from_slack(
            conversation_id, user, text, saved_reply=(reply.id, reply.name)
        )


def _kept(session: Session) -> list[SavedReplyRow]:
    query = select(SavedReplyRow).where(SavedReplyRow.removed_at.is_(None))
    return list(session.scalars(query.order_by(SavedReplyRow.name)))


def as_saved_reply(row: SavedReplyRow) -> SavedReply:
    return SavedReply(row.id, row.name, row.topic, row.text_it, row.text_en, row.public)


def _conversation(session: Session, conversation_id: int) -> Conversation:
    conversation = repo.conversation(session, conversation_id)
    if conversation is None:
        raise UnknownConversation(f"no conversation {conversation_id}")
    return conversation
