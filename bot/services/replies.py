"""An agent's thread message: an answer to the customer, or kept internal (and why)."""

from __future__ import annotations

import structlog
from sqlalchemy.orm import Session

from bot.domain.conversation import AgentMessage, AgentMessageKind, classify_agent_message
from bot.domain.model import Delivery, Direction, Visibility
from bot.services.context import Access, Context, ThreadNotReady, UnknownConversation
from bot.services.effects import POST_CARD
from bot.slack import blocks
from bot.slack.mrkdwn import escape
from storage import outbox
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
        # Ask Slack (or the cache) before the transaction: a slow lookup must not hold the
        # database, and a failed one (AccessUnknown) must not store anything.
        member = self.access.is_member(user)
        with self.context.transaction() as session:
            conversation = repo.conversation_by_thread(session, channel, thread_ts)
            if conversation is None:
                if bots_thread and outbox.unfinished(session, POST_CARD):
                    raise ThreadNotReady(f"thread {thread_ts} may be a card not yet recorded")
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

    def retry_delivery(self, message_id: int, user: str) -> None:
        with self.context.transaction() as session:
            message = repo.message(session, message_id)
            if message is None or message.direction != Direction.OUTBOUND:
                raise UnknownConversation(f"no answer {message_id} to retry")
            if message.delivery != Delivery.FAILED:
                return  # already retried or sent: one click is enough
            if not self.access.is_member(user):
                self.context.effects.ephemeral(
                    session,
                    channel=message.conversation.slack_channel_id,
                    user=user,
                    text="Only members of the support channel can work on its conversations.",
                )
                return
            message.delivery, message.delivery_error = Delivery.PENDING, None
            now = self.context.clock.now()
            repo.audit(
                session, message.conversation_id, user, "retry_delivery", now, message_id=message_id
            )
            # The FAILED -> PENDING switch above makes a double click a no-op, so each retry
            # may have a key of its own.
            self.context.effects.deliver(session, message, attempt=int(now.timestamp() * 1e6))

    # --- parts ---------------------------------------------------------------------------------
    def _classify(
        self, conversation: Conversation, user: str, text: str, member: bool
    ) -> AgentMessage:
        channel = self.context.channel(conversation.account.network)
        return classify_agent_message(
            text=text,
            writer=user,
            assignee=conversation.assignee,
            status=conversation.status,
            visibility=conversation.visibility,
            length=channel.public_length(text),
            public_limit=channel.public_reply_limit,
            member=member,
        )

    def _store(
        self,
        session: Session,
        conversation: Conversation,
        user: str,
        text: str,
        ts: str,
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
        effects = self.context.effects
        label = self.context.channel(conversation.account.network).label
        if decision.kind == AgentMessageKind.ANSWER:
            effects.deliver(session, message)
            if decision.claims:
                effects.refresh_card(session, conversation)
            return
        owner = conversation.assignee
        reasons = {
            AgentMessageKind.NOTE: ":memo: Kept internal: messages starting with `note:` are "
            "never sent to the customer.",
            AgentMessageKind.NOT_MEMBER: ":lock: Kept internal: only members of the support "
            "channel can answer customers.",
            AgentMessageKind.NOT_OWNER: f":lock: Kept internal: <@{owner}> owns this "
            "conversation, so only their thread messages reach the customer.",
            AgentMessageKind.RESOLVED: ":lock: Kept internal: this conversation is resolved. "
            "Press Reopen on the card to answer the customer.",
            AgentMessageKind.TOO_LONG: f":no_entry: Not sent: your answer is {decision.length} "
            f"characters and a public reply on {label} allows {decision.limit}. Shorten it and "
            f"post again, or use Move to DM. Your text:\n```{escape(message.text)}```",
        }
        body = None
        if decision.kind == AgentMessageKind.NOT_OWNER:
            _, take_over = blocks.claimed_by_other(owner or "", conversation.id)
            body = [blocks.section(reasons[decision.kind]), take_over[-1]]
        effects.ephemeral(
            session,
            channel=conversation.slack_channel_id,
            user=user,
            key=f"{conversation.id}:{ts}",
            text=reasons[decision.kind],
            thread_ts=conversation.slack_thread_ts,
            blocks=body,
        )


_TOO_LONG = "too long for a public reply"
