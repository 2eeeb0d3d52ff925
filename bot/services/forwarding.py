"""Forwarding a conversation to a specialist team, inside Slack, without breaking the one-owner
rule: the team gets a card in its channel; what specialists write in that card's thread reaches
the care owner as internal notes, never the customer; only the care owner answers the customer,
unless a specialist takes the conversation over (audited, said in both channels).

The customer's clock keeps running while a team works; the team has its own target (business
time), warned about and missed like the customer-facing ones, in its channel and to the owner.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import structlog
from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.domain.events import EventKind
from bot.domain.facts import (
    Forwarded,
    Refusal,
    SentBack,
    SpecialistNote,
    SpecialistTookOver,
    TeamTargetAlert,
)
from bot.domain.model import Delivery, Direction, Status, Visibility
from bot.services.context import Access, Context, UnknownConversation
from bot.services.service_hours import ServiceHours
from bot.services.teams import active
from storage import repositories as repo
from storage.models import Conversation, Forward, Message

log = structlog.get_logger(__name__)
WAITING, TAKEN, ANSWERED = "waiting", "taken", "answered"
SENT_BACK, TAKEN_OVER, CLOSED = "sent_back", "taken_over", "closed"
OPEN = (WAITING, TAKEN, ANSWERED)  # the team still has it
CLOCKED = (WAITING, TAKEN)  # the team's target runs until its first answer


class Forwarding:
    def __init__(
        self,
        context: Context,
        hours: ServiceHours,
        access: Access | None = None,
        *,
        warn_before: timedelta = timedelta(minutes=10),
    ) -> None:
        self.context = context
        self.hours = hours
        self.access = access or Access()
        self.warn_before = warn_before

    # --- from the support card -----------------------------------------------------------------
    def forward(self, conversation_id: int, team_name: str, note: str, user: str) -> str | None:
        """**Forward** (the owner or a lead): None when done, else why not (for the form)."""
        with self.context.database.reading() as session:
            conversation = _conversation(session, conversation_id)
            channel = conversation.slack_channel_id
        standing = self.access.standing(user, channel, lead=True)
        with self.context.transaction() as session:
            conversation = _conversation(session, conversation_id, lock=True)
            if conversation.status == Status.RESOLVED:
                return "This conversation is resolved: reopen it first."
            if user != conversation.assignee and not standing.lead:
                return "Only the conversation's owner or a lead can forward it."
            team = active(session, team_name)
            if team is None:
                return f"There is no team {team_name!r}: /care teams lists them."
            if any(f.team_id == team.id for f in _open(session, conversation.id)):
                return f"{team.name} already has this conversation."
            now = self.context.clock.now()
            due = None
            if team.target_seconds:
                calendar = self.hours.calendar(session, conversation.account.name)
                due = calendar.add(now, timedelta(seconds=team.target_seconds))
            forward = Forward(
                conversation_id=conversation.id,
                team_id=team.id,
                note=note.strip(),
                status=WAITING,
                forwarded_by=user,
                forwarded_at=now,
                due_at=due,
                slack_channel_id=team.slack_channel_id,
            )
            session.add(forward)
            session.flush()
            outbox = self.context.outbox
            outbox.team_card(session, team.slack_channel_id, forward.id)
            fact = Forwarded(team.name, team.slack_channel_id, user, forward.note)
            outbox.thread(session, conversation, f"forward:{forward.id}", fact)
            outbox.refresh_card(session, conversation)
            repo.audit(
                session, conversation.id, user, "forward", now, team=team.name, note=note[:500]
            )
            self.context.events.emit(
                session, EventKind.FORWARDED, conversation, by=user, team=team.name, team_due_at=due
            )
        log.info("conversation.forwarded", conversation_id=conversation_id, user=user)
        return None

    # --- from the team's card ------------------------------------------------------------------
    def take(self, forward_id: int, user: str) -> None:
        """A specialist takes the request: the support card says who the owner waits on."""
        self._team_action(forward_id, user, "take")

    def send_back(self, forward_id: int, user: str) -> None:
        """The team returns the request (not theirs, or nothing to do): the owner is told."""
        self._team_action(forward_id, user, "send_back")

    def take_over(self, forward_id: int, user: str) -> None:
        """A specialist takes the whole conversation: they now answer the customer."""
        self._team_action(forward_id, user, "take_over")

    def _team_action(self, forward_id: int, user: str, action: str) -> None:
        with self.context.database.reading() as session:
            forward = _forward(session, forward_id)
            channel, team = forward.slack_channel_id, forward.team.name
            support = forward.conversation.slack_channel_id
        if not self.access.standing(user, channel).member:
            # Told where they are: Slack shows a private note only to a channel's members.
            with self.context.transaction() as session:
                refusal = Refusal("team_only", team)
                self.context.outbox.tell(session, channel=support, user=user, fact=refusal)
            return
        with self.context.transaction() as session:
            forward = _forward(session, forward_id, lock=True)
            conversation = forward.conversation
            now, outbox = self.context.clock.now(), self.context.outbox
            if forward.status not in OPEN:
                refusal = Refusal("forward_over", forward.team.name)
                outbox.tell(session, channel=channel, user=user, fact=refusal)
                return
            if action == "take":
                forward.status, forward.specialist = TAKEN, user
                forward.taken_at = forward.taken_at or now
            elif action == "send_back":
                forward.status, forward.closed_at = SENT_BACK, now
                owner = conversation.assignee
                fact = SentBack(forward.team.name, user, owner)
                outbox.thread(session, conversation, f"sent_back:{forward.id}", fact)
            else:
                previous = conversation.assignee
                forward.status, forward.closed_at = TAKEN_OVER, now
                forward.specialist = user
                conversation.assignee = user
                taken = SpecialistTookOver(forward.team.name, user, previous)
                outbox.thread(session, conversation, f"team_take_over:{forward.id}", taken)
                in_team = SpecialistTookOver(
                    forward.team.name, user, previous, conversation.slack_permalink
                )
                outbox.channel(session, channel, f"team_take_over:{forward.id}", in_team)
            repo.audit(
                session, conversation.id, user, f"team_{action}", now, team=forward.team.name
            )
            outbox.team_card(session, channel, forward.id, update=True)
            outbox.refresh_card(session, conversation)
        log.info(f"forward.{action}", forward_id=forward_id, user=user)

    def team_thread(self, channel: str, thread_ts: str) -> int | None:
        """The forward whose team card this thread is under; None for any other thread."""
        with self.context.database.reading() as session:
            found = session.scalar(
                select(Forward.id).where(
                    Forward.slack_channel_id == channel, Forward.slack_ts == thread_ts
                )
            )
            return found

    def specialist_wrote(self, forward_id: int, user: str, text: str, ts: str) -> None:
        """A specialist's message under the team card: an internal note in the support
        thread, for the care owner (pinged). The team's first one stops its clock."""
        with self.context.transaction() as session:
            forward = _forward(session, forward_id, lock=True)
            conversation = forward.conversation
            now = self.context.clock.now()
            note = Message(
                conversation_id=conversation.id,
                direction=Direction.NOTE,
                visibility=Visibility.PRIVATE,
                network=conversation.account.network,
                author=user,
                text=text,
                created_at=now,
                delivery=Delivery.NOT_SENT,
                delivery_error=f"a note from {forward.team.name}",
            )
            session.add(note)
            if forward.answered_at is None:
                forward.answered_at = now
            if forward.status in CLOCKED:
                forward.status = ANSWERED
                forward.specialist = forward.specialist or user
            fact = SpecialistNote(forward.team.name, user, text, conversation.assignee)
            self.context.outbox.thread(session, conversation, f"specialist:{channel_ts(ts)}", fact)
            self.context.outbox.team_card(
                session, forward.slack_channel_id, forward.id, update=True
            )
            self.context.outbox.refresh_card(session, conversation)
            repo.audit(session, conversation.id, user, "team_note", now, team=forward.team.name)
        log.info("forward.specialist_wrote", forward_id=forward_id, user=user)

    # --- when the conversation ends ------------------------------------------------------------
    def resolved(self, session: Session, conversation: Conversation) -> None:
        """Resolve closes the conversation's open forwards: their cards say so."""
        now = self.context.clock.now()
        for forward in _open(session, conversation.id):
            forward.status, forward.closed_at = CLOSED, now
            self.context.outbox.team_card(
                session, forward.slack_channel_id, forward.id, update=True
            )

    # --- the teams' own targets ----------------------------------------------------------------
    def sweep(self) -> int:
        """Warn before a team's target and say when it is missed, once each."""
        now = self.context.clock.now()
        fired = 0
        with self.context.transaction() as session:
            query = select(Forward).where(
                Forward.status.in_(CLOCKED),
                Forward.due_at.is_not(None),
                Forward.breached_at.is_(None),
                Forward.due_at <= now + self.warn_before,
            )
            for forward in session.scalars(query.with_for_update(skip_locked=True)):
                fired += self._alert(session, forward, now)
        return fired

    def _alert(self, session: Session, forward: Forward, now: datetime) -> bool:
        due = forward.due_at
        assert due is not None
        missed = now >= due
        if missed:
            forward.breached_at = now
        elif forward.warned_at is None:
            forward.warned_at = now
        else:
            return False
        conversation = forward.conversation
        zone = self.hours.default.zone.key
        fact = TeamTargetAlert(
            forward.team.name,
            missed,
            due,
            now,
            zone,
            conversation.assignee,
            forward.specialist,
            conversation.slack_permalink,
        )
        key = f"team_{'missed' if missed else 'due'}:{forward.id}"
        self.context.outbox.channel(session, forward.slack_channel_id, key, fact)
        self.context.outbox.thread(session, conversation, key, fact)
        log.info("forward.target_alert", forward_id=forward.id, missed=missed)
        return True

    def next_wake(self) -> datetime | None:
        with self.context.database.reading() as session:
            due = session.scalars(
                select(Forward.due_at).where(
                    Forward.status.in_(CLOCKED), Forward.breached_at.is_(None)
                )
            )
            times = [d - self.warn_before for d in due if d is not None]
        return min(times, default=None)


def channel_ts(ts: str) -> str:
    return ts.replace(".", "")


def _open(session: Session, conversation_id: int) -> list[Forward]:
    query = select(Forward).where(
        Forward.conversation_id == conversation_id, Forward.status.in_(OPEN)
    )
    return list(session.scalars(query))


def _forward(session: Session, forward_id: int, *, lock: bool = False) -> Forward:
    forward = session.get(Forward, forward_id, with_for_update=lock)
    if forward is None:
        raise UnknownConversation(f"no forward {forward_id}")
    return forward


def _conversation(session: Session, conversation_id: int, *, lock: bool = False) -> Conversation:
    conversation = repo.conversation(session, conversation_id, lock=lock)
    if conversation is None:
        raise UnknownConversation(f"no conversation {conversation_id}")
    return conversation
