"""An agent's thread message: an answer to the customer, or kept internal (and why)."""

from __future__ import annotations

import structlog
from sqlalchemy.orm import Session

from bot.domain.conversation import AgentMessage, AgentMessageKind, classify_agent_message
from bot.domain.events import EventKind
from bot.domain.facts import KeptInternal, Refusal
from bot.domain.model import Delivery, Direction, Visibility
from bot.services.context import Access, Context, ThreadNotReady, UnknownConversation
from bot.services.outbox import POST_CARD, slack_lane
from storage import outbox_rows
from storage import repositories as repo
from storage.models import Conversation, Message

log = structlog.get_logger(__name__)


class Replies:
    def __init__(self, context: Context, access: Access | None = None) -> None:
        self.context = context
        self.access = access or Access()

    def agent_message(
        self, *, channel: str, thread_ts: str, user: str, text: str, ts: str, bots_thread: bool
    ) -> AgentMessageKind | None:
        """Handle a message an agent wrote in a conversation's thread. `text` is plain text.
        Returns what it was, or None if the thread is not a conversation or was seen before."""
        # Most threads the bot hears are no conversation (agents chatting in any channel the
        # bot is in): a database read settles that before Slack is asked anything.
        with self.context.database.reading() as session:
            if repo.conversation_by_thread(session, channel, thread_ts) is None:
                if bots_thread and outbox_rows.unfinished(session, POST_CARD, slack_lane(channel)):
                    raise ThreadNotReady(f"thread {thread_ts} may be a card not yet recorded")
                return None
        # Ask Slack (or the cache) outside the transaction: a slow lookup must not hold the
        # database, and a failed one (AccessUnknown) must not store anything.
        member = self.access.is_member(user, channel)
        with self.context.transaction(urgent=True) as session:  # an answer on its way
            conversation = repo.conversation_by_thread(session, channel, thread_ts)
            if conversation is None:
                return None
            if repo.message_by_slack_ts(session, conversation.id, ts) is not None:
                return None  # a retried delivery of the same Slack event
            decision = self._classify(conversation, user, text, member)
            if decision.claims and not repo.claim(session, conversation.id, user):
                session.refresh(conversation)  # somebody claimed it a moment ago
                decision = self._classify(conversation, user, text, member)
            if decision.claims:
                session.refresh(conversation)
                repo.audit(
                    session, conversation.id, user, "claim", self.context.clock.now(), via="answer"
                )
                self.context.events.emit(
                    session, EventKind.CLAIMED, conversation, by=user, via="answer"
                )
            message = self._store(session, conversation, user, text, ts, decision)
            repo.audit(
                session,
                conversation.id,
                user,
                f"thread_{decision.kind}",
                self.context.clock.now(),
                message_id=message.id,
            )
            self._follow_up(session, conversation, message, decision, user, ts)
        log.info(
            "conversation.agent_wrote",
            conversation_id=conversation.id,
            user=user,
            kind=decision.kind,
        )
        return decision.kind

    def answer_from_slack(
        self, conversation_id: int, user: str, text: str, *, saved_reply: tuple[int, str]
    ) -> AgentMessageKind:
        """An answer written in a Carebridge modal (a saved reply, by id and name) instead of
        the thread: the rules of a thread message, but only an answer is stored and sent; the
        bot then shows it in the thread as the agent's. Anything else is returned, for the
        modal to say why."""
        with self.context.database.reading() as session:
            found = repo.conversation(session, conversation_id)
            if found is None:
                raise UnknownConversation(f"no conversation {conversation_id}")
            channel = found.slack_channel_id
        member = self.access.is_member(user, channel)
        with self.context.transaction(urgent=True) as session:
            conversation = repo.conversation(session, conversation_id)
            if conversation is None:
                raise UnknownConversation(f"no conversation {conversation_id}")
            decision = self._classify(conversation, user, text, member)
            if decision.claims and not repo.claim(session, conversation.id, user):
                session.refresh(conversation)  # somebody claimed it a moment ago
                decision = self._classify(conversation, user, text, member)
            if decision.kind != AgentMessageKind.ANSWER:
                return decision.kind
            now = self.context.clock.now()
            if decision.claims:
                session.refresh(conversation)
                repo.audit(session, conversation.id, user, "claim", now, via="saved_reply")
                self.context.events.emit(
                    session, EventKind.CLAIMED, conversation, by=user, via="saved_reply"
                )
            message = self._store(session, conversation, user, text, None, decision)
            message.saved_reply_id, message.saved_reply_name = saved_reply
            repo.audit(
                session,
                conversation.id,
                user,
                "saved_reply_sent",
                now,
                message_id=message.id,
                reply=saved_reply[1],
            )
            self.context.outbox.post_answer(session, conversation, message)
            self.context.outbox.deliver(session, message)
            if decision.claims:
                self.context.outbox.refresh_card(session, conversation)
        log.info("conversation.saved_reply_sent", conversation_id=conversation_id, user=user)
        return AgentMessageKind.ANSWER

    def retry_delivery(self, message_id: int, user: str) -> None:
        with self.context.database.reading() as session:  # Slack is asked outside the write
            found = repo.message(session, message_id)
            if found is None or found.direction != Direction.OUTBOUND:
                raise UnknownConversation(f"no answer {message_id} to retry")
            channel = found.conversation.slack_channel_id
        member = self.access.is_member(user, channel)
        with self.context.transaction() as session:
            message = repo.message(session, message_id)
            if message is None or message.delivery != Delivery.FAILED:
                return  # already retried or sent: one click is enough
            if not member:
                self.context.outbox.tell(
                    session, channel=channel, user=user, fact=Refusal("not_member")
                )
                return
            message.delivery, message.delivery_error = Delivery.PENDING, None
            now = self.context.clock.now()
            repo.audit(
                session, message.conversation_id, user, "retry_delivery", now, message_id=message_id
            )
            # The FAILED -> PENDING switch above makes a double click a no-op, so each retry
            # may have a key of its own.
            self.context.outbox.deliver(session, message, attempt=int(now.timestamp() * 1e6))

    # --- parts ---------------------------------------------------------------------------------
    def _classify(
        self, conversation: Conversation, user: str, text: str, member: bool
    ) -> AgentMessage:
        spec = self.context.accounts.spec(conversation.account.network)
        return classify_agent_message(
            text=text,
            writer=user,
            assignee=conversation.assignee,
            status=conversation.status,
            visibility=conversation.visibility,
            length=spec.public_length(text)
            if spec and conversation.visibility == Visibility.PUBLIC
            else len(text),
            public_limit=spec.public_text_limit if spec else None,
            private_limit=spec.private_text_limit if spec else None,
            member=member,
            by_hand=conversation.by_hand,
        )

    def _store(
        self,
        session: Session,
        conversation: Conversation,
        user: str,
        text: str,
        ts: str | None,
        decision: AgentMessage,
    ) -> Message:
        answer = decision.kind in (AgentMessageKind.ANSWER, AgentMessageKind.TOO_LONG)
        in_reply_to = None
        if answer and conversation.visibility == Visibility.PUBLIC:
            latest = repo.latest_inbound(session, conversation.id, Visibility.PUBLIC)
            in_reply_to = latest.external_id if latest else None
        message = Message(
            conversation_id=conversation.id,
            direction=Direction.OUTBOUND if answer else Direction.NOTE,
            visibility=conversation.visibility,
            network=conversation.account.network,
            author=user,
            text=text,
            created_at=self.context.clock.now(),
            slack_ts=ts,
            delivery=Delivery.PENDING
            if decision.kind == AgentMessageKind.ANSWER
            else Delivery.NOT_SENT,
            delivery_error=_TOO_LONG if decision.kind == AgentMessageKind.TOO_LONG else None,
            in_reply_to_external_id=in_reply_to,
        )
        session.add(message)
        session.flush()
        return message

    def _follow_up(
        self,
        session: Session,
        conversation: Conversation,
        message: Message,
        decision: AgentMessage,
        user: str,
        ts: str,
    ) -> None:
        outbox = self.context.outbox
        if decision.kind == AgentMessageKind.ANSWER:
            outbox.deliver(session, message)
            if decision.claims:
                outbox.refresh_card(session, conversation)
            return
        kept = KeptInternal(
            kind=str(decision.kind),
            conversation_id=conversation.id,
            owner=conversation.assignee,
            length=decision.length,
            limit=decision.limit,
            network_label=self.context.label(conversation.account.network),
            text=message.text if decision.kind == AgentMessageKind.TOO_LONG else "",
            private=conversation.visibility == Visibility.PRIVATE,
        )
        outbox.tell(
            session,
            channel=conversation.slack_channel_id,
            user=user,
            key=f"{conversation.id}:{ts}",
            fact=kept,
            thread_ts=conversation.slack_thread_ts,
        )


_TOO_LONG = "too long for a public reply"
