"""Response-time targets: deadlines are set on every state change; the sweeper fires alerts.

Deadlines are columns. Each conversation also stores `next_alert_at`, the earliest moment a
warning, breach or escalation is due for its current deadline, so finding due work is one indexed
query whatever the number of open conversations. Alerts are rows with a unique key (conversation,
kind, deadline): each fires once, across restarts and processes.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import datetime, timedelta

import structlog
from sqlalchemy.orm import Session

from bot.domain.hours import BusinessCalendar
from bot.domain.model import Status
from bot.domain.sla import (
    AlertKind,
    Deadline,
    PlannedAlert,
    Priority,
    SlaPolicy,
    due_alert,
    next_alert,
)
from bot.services.context import Context
from bot.services.oncall import OnCallService
from bot.slack.mrkdwn import escape
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
TARGET_LABEL = {"first_response": "first answer", "next_response": "answer to the follow-up"}


class Deadlines:
    """Sets and clears a conversation's deadlines; called inside the services' transactions."""

    def __init__(
        self, policy: SlaPolicy, calendar: Callable[[], BusinessCalendar] | None = None
    ) -> None:
        self._policy = policy
        self._calendar = calendar  # the hours in force, which `/care hours set` can change

    @property
    def policy(self) -> SlaPolicy:
        if self._calendar is None:
            return self._policy
        return replace(self._policy, calendar=self._calendar())

    def current(self, conversation: Conversation) -> Deadline | None:
        if conversation.status == Status.RESOLVED or conversation.netiquette_hold:
            return None
        if conversation.first_response_at is None and conversation.first_response_due_at:
            return Deadline("first_response", conversation.first_response_due_at)
        if conversation.next_response_due_at is not None:
            return Deadline("next_response", conversation.next_response_due_at)
        return None

    def opened(self, conversation: Conversation, message: Message) -> None:
        due = self.policy.first_response_due(message.created_at, _priority(conversation))
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
        due = self.policy.next_response_due(message.created_at, _priority(conversation))
        conversation.next_response_due_at = message.response_due_at = due
        self._restart(conversation)

    def answered(self, session: Session, conversation: Conversation, at: datetime) -> None:
        """A delivered answer stops the clock; none starts until the customer writes again."""
        conversation.next_response_due_at = None
        for message in repo.waiting_for_response(session, conversation.id):
            message.responded_at = at
        self._restart(conversation)

    def resumed(self, session: Session, conversation: Conversation, now: datetime) -> None:
        """After a netiquette hold: if the customer still waits, the clock starts again now."""
        priority = _priority(conversation)
        if conversation.first_response_at is None:
            conversation.first_response_due_at = self.policy.first_response_due(now, priority)
        elif repo.waiting_for_response(session, conversation.id):
            conversation.next_response_due_at = self.policy.next_response_due(now, priority)
        self._restart(conversation)

    def stopped(self, conversation: Conversation) -> None:
        """Resolve stops everything."""
        conversation.next_response_due_at = None
        conversation.next_alert_at = None
        conversation.sla_state = "none"

    def reschedule(self, conversation: Conversation) -> PlannedAlert | None:
        fired = FIRED_BY_STATE.get(conversation.sla_state, set())
        planned = next_alert(self.current(conversation), fired, self.policy)
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
        with self.context.database.transaction() as session:
            return repo.earliest_alert_at(session)

    def _fire(self, session: Session, conversation: Conversation, now: datetime) -> int:
        deadline = self.deadlines.current(conversation)
        fired = FIRED_BY_STATE.get(conversation.sla_state, set())
        # After downtime several may be due: only the most advanced one is still worth saying.
        alert = due_alert(deadline, fired, self.deadlines.policy, now)
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
        self.context.effects.refresh_card(session, conversation)
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
        what = TARGET_LABEL[alert.deadline.target]
        due = self.oncall.local_time(alert.deadline.due, now)
        key = f"sla:{conversation.id}:{alert.kind}:{alert.deadline.due.isoformat()}"
        late_note = " (late: Carebridge was not running then)" if late else ""
        if alert.kind == AlertKind.WARNING:
            who = conversation.assignee or on_call
            mention = f"<@{who}> " if who else ""
            minutes = max(0, round((alert.deadline.due - now).total_seconds() / 60))
            text = f":alarm_clock: {mention}{what} due at {due}, in {minutes} min.{late_note}"
            self.context.effects.thread_message(session, conversation, key, text)
            return
        customer = f"@{escape(conversation.customer.handle)}"
        link = (
            f"<{conversation.slack_permalink}|{customer}'s conversation>"
            if conversation.slack_permalink
            else f"{customer}'s conversation"
        )
        headline = (
            f"Target missed: {what} was due at {due} for {link}"
            if alert.kind == AlertKind.BREACH
            else f"Still unanswered: {what} was due at {due} for {link}"
        )
        people = [f"<@{on_call}>"] if on_call else []
        people += [f"<!subteam^{i}>" if i.startswith("S") else f"<@{i}>" for i in self.escalate_to]
        mentions = " ".join(people) or "(nobody is on call: /care oncall set ...)"
        text = f":rotating_light: {headline}.{late_note} {mentions}"
        self.context.effects.channel_message(session, conversation.slack_channel_id, key, text)


def _priority(conversation: Conversation) -> Priority:
    try:
        return Priority(conversation.priority)
    except ValueError:
        return Priority.NORMAL


def deadline_note(
    conversation: Conversation, deadlines: Deadlines, oncall: OnCallService, now: datetime
) -> str | None:
    """The card's deadline line ("first answer due 14:32, in 12 min"), as of `now`. Cards are
    re-rendered when the state changes, not every minute, so it names the time, not only the gap."""
    deadline = deadlines.current(conversation)
    if deadline is None:
        return None
    what = TARGET_LABEL[deadline.target]
    due = oncall.local_time(deadline.due, now)
    if conversation.sla_state in (AlertKind.BREACH, AlertKind.ESCALATION) or deadline.due <= now:
        return f":rotating_light: *Breached*: {what} was due {due}"
    minutes = int((deadline.due - now).total_seconds() // 60)
    left = f"{minutes} min" if minutes < 60 else f"{minutes // 60} h {minutes % 60:02d} min"
    return f":alarm_clock: {what} due {due}, in {left}"
