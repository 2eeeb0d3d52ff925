"""Response-time targets: deadlines are set on every state change; the sweeper fires alerts.

Deadlines are columns. Each conversation also stores `next_alert_at`, the earliest moment a
warning, breach or escalation is due for its current deadline, so finding due work is one indexed
query whatever the number of open conversations. Alerts are rows with a unique key (conversation,
kind, deadline): each fires once, across restarts and processes.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from datetime import datetime, timedelta

import structlog
from sqlalchemy.orm import Session, object_session

from bot.domain.events import EventKind
from bot.domain.facts import ResponseDueSoon, ResponseMissed
from bot.domain.model import Status
from bot.domain.sla import (
    AlertKind,
    Deadline,
    PlannedAlert,
    Priority,
    SlaPolicy,
    Targets,
    due_alert,
    next_alert,
)
from bot.services.context import Context
from bot.services.oncall import OnCallService
from bot.services.service_hours import ServiceHours
from storage import repositories as repo
from storage.models import Conversation, Message

log = structlog.get_logger(__name__)
LATE_AFTER = timedelta(seconds=60)  # fired this long after its time: the bot was not running
FIRED_BY_STATE: dict[str, set[AlertKind]] = {
    "none": set(),
    "on_track": set(),
    AlertKind.WARNING: {AlertKind.WARNING},
    AlertKind.BREACH: {AlertKind.WARNING, AlertKind.BREACH},
    AlertKind.ESCALATION: {AlertKind.WARNING, AlertKind.BREACH, AlertKind.ESCALATION},
}


class Deadlines:
    """Sets and clears a conversation's deadlines; called inside the services' transactions.

    The policy is the conversation's account's: its targets (ACCOUNTS_FILE) and the business
    hours in force for it (read in the conversation's own session)."""

    def __init__(
        self,
        policy: SlaPolicy,
        hours: ServiceHours | None = None,
        account_targets: Mapping[str, Mapping[Priority, Targets]] | None = None,
    ) -> None:
        self._policy = policy
        self._hours = hours
        self._targets = dict(account_targets or {})

    @property
    def policy(self) -> SlaPolicy:
        """The team's policy, for what belongs to no account."""
        return self._policy

    def policy_for(self, conversation: Conversation) -> SlaPolicy:
        account = conversation.account.name
        targets = self._targets.get(account, self._policy.targets) if account else None
        session = object_session(conversation)
        calendar = (
            self._hours.calendar(session, account)
            if self._hours is not None and session is not None
            else self._policy.calendar
        )
        return replace(self._policy, calendar=calendar, targets=targets or self._policy.targets)

    def current(self, conversation: Conversation) -> Deadline | None:
        if conversation.status == Status.RESOLVED or conversation.netiquette_hold:
            return None
        if conversation.first_response_at is None and conversation.first_response_due_at:
            return Deadline("first_response", conversation.first_response_due_at)
        if conversation.next_response_due_at is not None:
            return Deadline("next_response", conversation.next_response_due_at)
        return None

    def opened(self, conversation: Conversation, message: Message) -> None:
        policy = self.policy_for(conversation)
        due = policy.first_response_due(message.created_at, _priority(conversation))
        conversation.first_response_due_at = message.response_due_at = due
        self._restart(conversation)

    def customer_wrote(self, conversation: Conversation, message: Message) -> None:
        """A follow-up starts the next-response clock, unless a clock is already running."""
        if conversation.status == Status.RESOLVED or conversation.netiquette_hold:
            return
        if conversation.first_response_at is None:
            if conversation.sla_state == "none":  # resolved unanswered, now reopened
                self.opened(conversation, message)
            return
        if conversation.next_response_due_at is not None:
            return  # the earliest unanswered message keeps setting the pace
        policy = self.policy_for(conversation)
        due = policy.next_response_due(message.created_at, _priority(conversation))
        conversation.next_response_due_at = message.response_due_at = due
        self._restart(conversation)

    def answered(self, session: Session, conversation: Conversation, at: datetime) -> None:
        """A delivered answer stops the clock; none starts until the customer writes again.

        It also keeps what `/care stats` reads (bot/services/stats.py): the first wait in
        business time, and the follow-ups answered (every customer message with a clock but
        the opening one), and answered in time."""
        if conversation.first_response_at is None:
            conversation.first_response_at = at
            calendar = self.policy_for(conversation).calendar
            wait = calendar.between(conversation.opened_at, at)
            conversation.first_response_business_seconds = wait.total_seconds()
        conversation.next_response_due_at = None
        for message in repo.waiting_for_response(session, conversation.id):
            message.responded_at = at
            if message.created_at != conversation.opened_at:
                conversation.follow_ups_answered += 1
                conversation.follow_ups_met += at <= (message.response_due_at or at)
        self._restart(conversation)

    def resumed(self, session: Session, conversation: Conversation, now: datetime) -> None:
        """After a netiquette hold: if the customer still waits, the clock starts again now."""
        priority, policy = _priority(conversation), self.policy_for(conversation)
        if conversation.first_response_at is None:
            conversation.first_response_due_at = policy.first_response_due(now, priority)
        elif repo.waiting_for_response(session, conversation.id):
            conversation.next_response_due_at = policy.next_response_due(now, priority)
        self._restart(conversation)

    def stopped(self, conversation: Conversation) -> None:
        """Resolve stops everything."""
        conversation.next_response_due_at = None
        conversation.next_alert_at = None
        conversation.sla_state = "none"

    def reschedule(self, conversation: Conversation) -> PlannedAlert | None:
        fired = FIRED_BY_STATE.get(conversation.sla_state, set())
        planned = next_alert(self.current(conversation), fired, self.policy_for(conversation))
        conversation.next_alert_at = planned.at if planned else None
        return planned

    def _restart(self, conversation: Conversation) -> None:
        conversation.sla_state = "on_track"
        self.reschedule(conversation)


class SlaSweeper:
    """Fires the alerts that are due, then says when it needs to look again."""

    def __init__(
        self,
        context: Context,
        deadlines: Deadlines,
        oncall: OnCallService,
        *,
        escalate_to: tuple[str, ...] = (),
        batch: int = 200,
    ) -> None:
        self.context = context
        self.deadlines = deadlines
        self.oncall = oncall
        self.escalate_to = escalate_to
        self.batch = batch

    def sweep(self) -> int:
        """Fire every alert due now; return how many fired (each at most once, ever)."""
        fired = 0
        while True:
            now = self.context.clock.now()
            with self.context.transaction() as session:
                due = repo.due_for_alerts(session, now, limit=self.batch)
                for conversation in due:
                    fired += self._fire(session, conversation, now)
            if len(due) < self.batch:
                return fired

    def next_wake(self) -> datetime | None:
        with self.context.database.reading() as session:
            return repo.earliest_alert_at(session)

    def _fire(self, session: Session, conversation: Conversation, now: datetime) -> int:
        deadline = self.deadlines.current(conversation)
        fired = FIRED_BY_STATE.get(conversation.sla_state, set())
        # After downtime several may be due: only the most advanced one is still worth saying.
        alert = due_alert(deadline, fired, self.deadlines.policy_for(conversation), now)
        if alert is None:
            self.deadlines.reschedule(conversation)
            return 0
        fired_at = self.context.clock.now()  # not the batch's start: lateness must be honest
        late = fired_at - alert.at > LATE_AFTER
        inserted = repo.record_alert(session, conversation.id, alert, fired_at, late=late)
        conversation.sla_state = alert.kind
        self.deadlines.reschedule(conversation)
        if not inserted:
            return 0  # another process fired it a moment ago
        self._announce(session, conversation, alert, late, now)
        self.context.outbox.refresh_card(session, conversation)
        self.context.events.emit(
            session,
            EventKind.ALERT_FIRED,
            conversation,
            alert=alert.kind,
            target=alert.deadline.target,
            due_at=alert.deadline.due,
            late=late,
        )
        log.info(
            "sla.alert",
            conversation_id=conversation.id,
            kind=alert.kind,
            target=alert.deadline.target,
            late=late,
            lateness_ms=int((now - alert.at).total_seconds() * 1000),
        )
        return 1

    def _announce(
        self,
        session: Session,
        conversation: Conversation,
        alert: PlannedAlert,
        late: bool,
        now: datetime,
    ) -> None:
        on_call = self.oncall.current(session, now).user
        zone = self.oncall.zone.key
        key = f"sla:{conversation.id}:{alert.kind}:{alert.deadline.due.isoformat()}"
        target, due = alert.deadline.target, alert.deadline.due
        if alert.kind == AlertKind.WARNING:
            warning = ResponseDueSoon(
                conversation.assignee or on_call, target, due, now, zone, late
            )
            self.context.outbox.thread(session, conversation, key, warning)
            return
        missed = ResponseMissed(
            escalation=alert.kind == AlertKind.ESCALATION,
            target=target,
            due_at=due,
            decided_at=now,
            zone=zone,
            handle=conversation.customer.handle,
            name=conversation.customer.name,
            thread_link=conversation.slack_permalink,
            on_call=on_call,
            escalate_to=self.escalate_to,
            late=late,
        )
        self.context.outbox.channel(session, conversation.slack_channel_id, key, missed)


def _priority(conversation: Conversation) -> Priority:
    try:
        return Priority(conversation.priority)
    except ValueError:
        return Priority.NORMAL
