"""Priority: who writes and how. Scored when a customer writes; picks targets and outbox order."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

import structlog
from sqlalchemy.orm import Session

from bot.domain.priority import PriorityInput, PriorityResult, PriorityRules, score_priority
from bot.domain.sentiment import sentiment
from bot.domain.sla import Priority
from bot.services.context import Context
from bot.services.oncall import OnCallService
from bot.slack.mrkdwn import escape
from storage import repositories as repo
from storage.models import Conversation, Customer, Message

log = structlog.get_logger(__name__)


class Prioritizer:
    def __init__(self, context: Context, rules: PriorityRules, oncall: OnCallService) -> None:
        self.context = context
        self.rules = rules
        self.oncall = oncall

    def assess(
        self, session: Session, conversation: Conversation, customer: Customer, message: Message
    ) -> PriorityResult:
        """Score the conversation on the customer's latest message (inside ingest's transaction);
        an urgent one pings the on-call agent in the channel, once."""
        now = self.context.clock.now()
        since = now - timedelta(days=self.rules.repeat_window_days)
        facts = PriorityInput(
            vip_note=repo.vip_note(session, customer) or customer.vip_note,
            followers=customer.followers,
            verified=customer.verified,
            sentiment_score=sentiment(message.text).score,
            text=message.text,
            contacts_in_window=repo.contacts_since(session, customer, since),
        )
        result = score_priority(facts, self.rules)
        conversation.priority = str(result.priority)
        conversation.priority_reasons = list(result.reasons)
        if result.priority == Priority.URGENT and conversation.urgent_pinged_at is None:
            conversation.urgent_pinged_at = now
            on_call = self.oncall.current(session, now).user
            who = f"<@{on_call}>" if on_call else "(nobody is on call: /care oncall set ...)"
            reasons = escape(" · ".join(result.reasons))
            self.context.effects.channel_message(
                session,
                conversation.slack_channel_id,
                f"urgent:{conversation.id}",
                f":red_circle: *Urgent*: @{escape(customer.handle)} ({reasons}). {who}",
                after=conversation,
            )
            log.info("priority.urgent", conversation_id=conversation.id)
        return result


class Vips:
    """The VIP list, managed from Slack (`/care vip ...`) and imported from CSV."""

    def __init__(self, context: Context, network: str = "x") -> None:
        self.context = context
        self.network = network

    def command(self, text: str, user: str) -> str:
        words = text.split(maxsplit=2)
        action = words[0].lower() if words else "list"
        handle = _handle(words[1]) if len(words) > 1 else ""
        if action == "list":
            return self._list()
        if action == "add" and handle and len(words) == 3:
            self.add(handle, words[2], user)
            return f":star: @{escape(handle)} is a VIP: {escape(words[2])}"
        if action == "remove" and handle:
            removed = self.remove(handle, user)
            return f"Removed @{escape(handle)}." if removed else f"@{escape(handle)} was not a VIP."
        return VIP_USAGE

    def add(self, handle: str, note: str, user: str) -> None:
        now = self.context.clock.now()
        with self.context.transaction() as session:
            repo.upsert_vip(session, self.network, _handle(handle), note.strip()[:200], user, now)
            repo.audit(session, None, user, "vip_add", now, handle=_handle(handle))

    def remove(self, handle: str, user: str) -> bool:
        now = self.context.clock.now()
        with self.context.transaction() as session:
            removed = repo.delete_vip(session, self.network, _handle(handle))
            if removed:
                repo.audit(session, None, user, "vip_remove", now, handle=_handle(handle))
            return removed

    def import_csv(self, text: str, user: str) -> int:
        """Rows of `handle,note` (a header row is allowed); returns how many were stored."""
        rows = [r for r in csv.reader(io.StringIO(text)) if r and r[0].strip()]
        if rows and rows[0][0].strip().lower() == "handle":
            rows = rows[1:]
        problems = [f"line {n}: expected handle,note" for n, r in enumerate(rows, 1) if len(r) < 2]
        if problems:
            raise ValueError("; ".join(problems[:5]))
        for handle, note, *_ in rows:
            self.add(handle, note, user)
        return len(rows)

    def _list(self) -> str:
        with self.context.database.transaction() as session:
            vips = repo.vips(session, self.network)
        if not vips:
            return "No VIPs yet. " + VIP_USAGE
        return "\n".join(f":star: @{escape(v.handle)}: {escape(v.note)}" for v in vips)


VIP_USAGE = "Use: `/care vip add @handle note`, `/care vip remove @handle`, `/care vip list`"


def _handle(text: str) -> str:
    return text.strip().lstrip("@").lower()
