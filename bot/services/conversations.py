"""Agent actions on a conversation: claim, take over, resolve, reopen, move to DM."""

from __future__ import annotations

import re
from collections.abc import Callable
from zoneinfo import ZoneInfo

import structlog
from sqlalchemy.orm import Session

from bot.domain.answers import AuditLine, AuditTrail, NotAConversation, Usage
from bot.domain.conversation import dm_invitation, private_invitation
from bot.domain.events import EventKind
from bot.domain.facts import ClaimedByOther, HoldLifted, Refusal, TakenOver
from bot.domain.model import Delivery, Direction, Status, Visibility
from bot.networks.base import AccountIdentity
from bot.services.context import Access, Context, Standing, UnknownConversation
from bot.services.forwarding import Forwarding
from bot.services.sla import Deadlines
from bot.services.surveys import Surveys
from bot.services.topics import SUGGESTED
from storage import repositories as repo
from storage.models import Conversation, Message

log = structlog.get_logger(__name__)


class Conversations:
    def __init__(
        self,
        context: Context,
        deadlines: Deadlines,
        access: Access | None = None,
        *,
        suggest_topic: Callable[[str], str | None] = lambda text: None,
        topic_required: bool = False,
        surveys: Surveys | None = None,
        forwarding: Forwarding | None = None,
    ):
        self.surveys = surveys
        self.forwarding = forwarding
        self.suggest_topic = suggest_topic
        self.topic_required = topic_required  # TOPIC_ON_RESOLVE=require
        self.context = context
        self.deadlines = deadlines
        self.access = access or Access()

    def _standing(self, conversation_id: int, user: str, *, lead: bool = False) -> Standing:
        """Slack's answer about `user`, from a short read before the write transaction."""
        with self.context.database.reading() as session:
            channel = _get(session, conversation_id).slack_channel_id
        return self.access.standing(user, channel, lead=lead)

    def _member(
        self, session: Session, conversation: Conversation, user: str, standing: Standing
    ) -> bool:
        if standing.member:
            return True
        return self._refuse(session, conversation, user, Refusal("not_member"), "not a member")

    def _owner_or_lead(
        self,
        session: Session,
        conversation: Conversation,
        user: str,
        what: str,
        standing: Standing,
    ) -> bool:
        if user == conversation.assignee or standing.lead:
            return True
        refusal = Refusal("owner_or_lead", what)
        return self._refuse(
            session, conversation, user, refusal, f"not the owner or a lead: {what}"
        )

    def _refuse(
        self,
        session: Session,
        conversation: Conversation,
        user: str,
        refusal: Refusal,
        reason: str,
    ) -> bool:
        """Tell the user privately why not, and record the attempt; always False."""
        self._tell(session, conversation, user, refusal)
        now = self.context.clock.now()
        repo.audit(session, conversation.id, user, "refused", now, reason=reason)
        return False

    def lift_hold(self, conversation_id: int, user: str) -> None:
        """The owner or a lead lifts a netiquette hold; the clock runs again if needed."""
        standing = self._standing(conversation_id, user, lead=True)
        with self.context.transaction() as session:
            conversation = _get(session, conversation_id, lock=True)
            if not conversation.netiquette_hold:
                self._tell(session, conversation, user, Refusal("not_on_hold"))
                return
            if not self._owner_or_lead(session, conversation, user, "lift the hold", standing):
                return
            now = self.context.clock.now()
            conversation.netiquette_hold = False
            self.deadlines.resumed(session, conversation, now)
            repo.audit(session, conversation_id, user, "lift_hold", now)
            self.context.outbox.thread(
                session,
                conversation,
                f"lift_hold:{conversation_id}:{now.isoformat()}",
                HoldLifted(user),
            )
            self.context.outbox.refresh_card(session, conversation)
            log.info("netiquette.hold_lifted", conversation_id=conversation_id, user=user)

    def claim(self, conversation_id: int, user: str) -> bool:
        standing = self._standing(conversation_id, user)
        with self.context.transaction() as session:
            conversation = _get(session, conversation_id)
            if not self._member(session, conversation, user, standing):
                return False
            if conversation.status == Status.RESOLVED:
                self._tell(session, conversation, user, Refusal("reopen_first"))
                return False
            if repo.claim(session, conversation_id, user):
                conversation = _get(session, conversation_id)
                repo.audit(session, conversation_id, user, "claim", self.context.clock.now())
                self.context.outbox.refresh_card(session, conversation)
                self.context.events.emit(
                    session, EventKind.CLAIMED, conversation, by=user, via="button"
                )
                log.info("conversation.claimed", conversation_id=conversation_id, user=user)
                return True
            self._refuse_not_owner(session, _get(session, conversation_id), user)
            return False

    def take_over(self, conversation_id: int, user: str) -> None:
        standing = self._standing(conversation_id, user, lead=True)
        with self.context.transaction() as session:
            conversation = _get(session, conversation_id, lock=True)
            if not self._member(session, conversation, user, standing):
                return
            taking = conversation.assignee not in (None, user)
            if taking and not self._owner_or_lead(
                session, conversation, user, "take it over", standing
            ):
                return
            previous = conversation.assignee
            if previous == user:
                self._tell(session, conversation, user, Refusal("already_yours"))
                return
            conversation.assignee = user
            now = self.context.clock.now()
            repo.audit(session, conversation_id, user, "take_over", now, previous=previous)
            self.context.outbox.refresh_card(session, conversation)
            self.context.outbox.thread(
                session,
                conversation,
                f"take_over:{conversation_id}:{now.isoformat()}",
                TakenOver(user, previous),
            )
            self.context.events.emit(
                session, EventKind.TAKEN_OVER, conversation, by=user, previous=previous
            )
            log.info("conversation.taken_over", conversation_id=conversation_id, user=user)

    def resolve(self, conversation_id: int, user: str) -> None:
        standing = self._standing(conversation_id, user)
        with self.context.transaction() as session:
            conversation = _get(session, conversation_id, lock=True)
            if not self._member(session, conversation, user, standing):
                return
            if conversation.status == Status.RESOLVED:
                self._tell(session, conversation, user, Refusal("already_resolved"))
                return
            if conversation.topic is None:  # suggested from everything the customer wrote
                words = " ".join(m.text for m in repo.inbound_messages(session, conversation.id))
                conversation.topic = self.suggest_topic(words)
                conversation.topic_by = SUGGESTED if conversation.topic else None
            if conversation.topic is None and self.topic_required:
                self._tell(session, conversation, user, Refusal("topic_first"))
                return
            now = self.context.clock.now()
            conversation.status, conversation.resolved_at = Status.RESOLVED, now
            conversation.resolved_by = user
            self.deadlines.stopped(conversation)
            repo.audit(session, conversation_id, user, "resolve", now)
            if self.surveys is not None:
                self.surveys.resolved(session, conversation, user)
            if self.forwarding is not None:
                self.forwarding.resolved(session, conversation)
            self.context.outbox.refresh_card(session, conversation)
            self.context.events.emit(session, EventKind.RESOLVED, conversation, by=user)
            log.info("conversation.resolved", conversation_id=conversation_id, user=user)

    def reopen(self, conversation_id: int, user: str) -> None:
        standing = self._standing(conversation_id, user)
        with self.context.transaction() as session:
            conversation = _get(session, conversation_id, lock=True)
            if not self._member(session, conversation, user, standing):
                return
            if conversation.status != Status.RESOLVED:
                self._tell(session, conversation, user, Refusal("already_open"))
                return
            conversation.status, conversation.resolved_at = Status.OPEN, None
            conversation.resolved_by = None
            conversation.reopened_count += 1
            repo.audit(session, conversation_id, user, "reopen", self.context.clock.now())
            if self.surveys is not None:
                self.surveys.reopened(session, conversation, "reopened")
            self.context.outbox.refresh_card(session, conversation)
            self.context.events.emit(session, EventKind.REOPENED, conversation, by=user)
            log.info("conversation.reopened", conversation_id=conversation_id, user=user)

    def move_to_dm(self, conversation_id: int, user: str) -> None:
        """Invite the customer to continue privately on the same network: publicly with the
        link where the network has no private reply (X), else by a private reply (Facebook)."""
        standing = self._standing(conversation_id, user)
        with self.context.transaction() as session:
            conversation = _get(session, conversation_id, lock=True)
            if not self._member(session, conversation, user, standing):
                return
            if (
                conversation.visibility != Visibility.PUBLIC
                or conversation.status == Status.RESOLVED
            ):
                self._tell(session, conversation, user, Refusal("not_public"))
                return
            if conversation.assignee not in (None, user):
                self._refuse_not_owner(session, conversation, user)
                return
            latest = repo.latest_inbound(session, conversation_id, Visibility.PUBLIC)
            if latest is None or latest.external_id is None:
                self._tell(session, conversation, user, Refusal("no_public_post"))
                return
            spec = self.context.accounts.spec(conversation.account.network)
            if spec is None or (spec.private_message_link is None and not spec.invites_privately):
                label = self.context.label(conversation.account.network)
                self._tell(session, conversation, user, Refusal("no_private_messages", label))
                return
            now = self.context.clock.now()
            if conversation.assignee is None:
                conversation.assignee = user
                self.context.events.emit(
                    session, EventKind.CLAIMED, conversation, by=user, via="move_to_dm"
                )
            brand = AccountIdentity(
                conversation.account.external_id, conversation.account.handle, ""
            )
            if spec.invites_privately or spec.private_message_link is None:
                visibility, text = Visibility.PRIVATE, private_invitation()
            else:
                visibility = Visibility.PUBLIC
                text = dm_invitation(spec.private_message_link(brand))
            invitation = Message(
                conversation_id=conversation_id,
                direction=Direction.OUTBOUND,
                visibility=visibility,
                network=conversation.account.network,
                author=user,
                text=text,
                created_at=now,
                delivery=Delivery.PENDING,
                in_reply_to_external_id=latest.external_id,
            )
            session.add(invitation)
            session.flush()
            conversation.dm_invited_at = now
            repo.audit(session, conversation_id, user, "move_to_dm", now, message_id=invitation.id)
            self.context.outbox.deliver(session, invitation)
            self.context.outbox.refresh_card(session, conversation)
            log.info("conversation.dm_invited", conversation_id=conversation_id, user=user)

    def id_of_thread(self, channel: str, thread_ts: str) -> int | None:
        """The conversation whose thread this is; None for any other thread."""
        with self.context.database.reading() as session:
            conversation = repo.conversation_by_thread(session, channel, thread_ts)
            return conversation.id if conversation is not None else None

    def audit_report(self, link: str, zone: ZoneInfo) -> AuditTrail | NotAConversation | Usage:
        """`/care audit <thread link>`: who did what to that conversation, oldest first."""
        match = _PERMALINK.search(link)
        if match is None:
            return Usage("audit")
        channel, ts = match["channel"], f"{match['seconds']}.{match['micros']}"
        with self.context.database.reading() as session:
            conversation = repo.conversation_by_thread(session, channel, ts)
            if conversation is None:
                return NotAConversation()
            lines = tuple(
                AuditLine(e.at, e.actor, e.action, _details(e.detail))
                for e in repo.audit_entries(session, conversation.id)
            )
            customer = conversation.customer
            return AuditTrail(customer.handle, lines, zone.key, name=customer.name)

    # --- feedback ------------------------------------------------------------------------------
    def _refuse_not_owner(self, session: Session, conversation: Conversation, user: str) -> None:
        if conversation.assignee == user:
            self._tell(session, conversation, user, Refusal("already_yours"))
            return
        claimed = ClaimedByOther(conversation.assignee or "", conversation.id)
        self.context.outbox.tell(
            session, channel=conversation.slack_channel_id, user=user, fact=claimed
        )

    def _tell(
        self, session: Session, conversation: Conversation, user: str, refusal: Refusal
    ) -> None:
        self.context.outbox.tell(
            session, channel=conversation.slack_channel_id, user=user, fact=refusal
        )


_PERMALINK = re.compile(r"/archives/(?P<channel>[A-Z0-9]+)/p(?P<seconds>\d{10})(?P<micros>\d{6})")


def _details(detail: dict[str, object]) -> tuple[str, ...]:
    shown = ("reason", "previous", "via", "handle")
    return tuple(str(value) for key, value in detail.items() if key in shown)


def _get(session: Session, conversation_id: int, *, lock: bool = False) -> Conversation:
    conversation = repo.conversation(session, conversation_id, lock=lock)
    if conversation is None:
        raise UnknownConversation(f"no conversation {conversation_id}")
    return conversation
