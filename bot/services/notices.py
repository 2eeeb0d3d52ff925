"""Automatic notices: out of hours, and netiquette (rules once, then a hold).

Decided inside the ingest transaction for each new customer message; sent like any answer, as
an outbound message through the outbox (once, by its key), in the channel the customer used.

What a notice says is the team's words and values Carebridge checked: the hours and the next
opening it computed, the rules link from the settings, a handle the network issued, and the
customer's first name only when it is a plain name (no @, link or markup), else no name at all.
A customer's display name chooses nothing the brand publishes.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime, timedelta

import structlog
from sqlalchemy.orm import Session

from bot.domain.facts import AbuseNoted, NetiquetteHold, OutOfHoursNotSent
from bot.domain.model import Delivery, Direction, Visibility
from bot.domain.netiquette import Verdict
from bot.domain.reading import Reading
from bot.domain.templates import (
    NoticeKind,
    NoticeValues,
    describe_hours,
    describe_next_open,
    notice_text,
)
from bot.services.context import Context
from bot.services.moderation import Moderation
from bot.services.notice_templates import NoticeTemplates
from bot.services.service_hours import ServiceHours
from bot.services.sla import Deadlines
from storage import repositories as repo
from storage.models import Conversation, Customer, Message

log = structlog.get_logger(__name__)
FRESH = timedelta(hours=1)  # backfilled messages older than this never get a notice
NOTICE_AUTHOR = "carebridge:"  # + the notice kind, on the notice's message row
# A first name as people write one: letters, maybe joined by an apostrophe or a hyphen.
_JOINERS = re.compile(r"['\u2019-]")
MAX_NAME = 30


class Notices:
    def __init__(
        self,
        context: Context,
        hours: ServiceHours,
        templates: NoticeTemplates,
        deadlines: Deadlines,
        moderation: Moderation,
        *,
        public_out_of_hours: bool,
        netiquette_url: str | None,
        netiquette_window: timedelta,
        account_public_out_of_hours: Mapping[str, bool] | None = None,
    ) -> None:
        self.context = context
        self.hours = hours
        self.templates = templates
        self.deadlines = deadlines
        self.moderation = moderation
        self.public_out_of_hours = public_out_of_hours
        self.account_public_out_of_hours = dict(account_public_out_of_hours or {})
        self.netiquette_url = netiquette_url
        self.netiquette_window = netiquette_window

    def on_inbound(
        self,
        session: Session,
        conversation: Conversation,
        message: Message,
        customer: Customer,
        reading: Reading,
    ) -> None:
        """`reading`: what the message says (its language, whether it is abusive)."""
        now = self.context.clock.now()
        fresh = now - message.created_at <= FRESH
        language, assessment = reading.language, reading.netiquette
        if assessment.verdict == Verdict.ABUSE:
            reasons = "; ".join(assessment.reasons) or "abusive"
            self._abusive(session, conversation, message, customer, reasons, language, fresh, now)
            return
        calendar = self.hours.calendar(session, conversation.account.name)
        if fresh and not calendar.is_open(message.created_at):
            self._out_of_hours(session, conversation, message, customer, language, now)

    # --- netiquette ----------------------------------------------------------------------------
    def _abusive(
        self,
        session: Session,
        conversation: Conversation,
        message: Message,
        customer: Customer,
        reasons: str,
        language: str,
        fresh: bool,
        now: datetime,
    ) -> None:
        outbox, key = self.context.outbox, f"netiquette:{message.id}"
        last = customer.netiquette_notice_at
        if last is not None and now - last < self.netiquette_window:
            conversation.netiquette_hold = True
            self.deadlines.stopped(conversation)
            hold = NetiquetteHold(
                conversation.id,
                customer.handle,
                reasons,
                self.netiquette_window.days,
                name=customer.name,
            )
            outbox.thread(session, conversation, key, hold)
            outbox.refresh_card(session, conversation)
            if message.visibility == Visibility.PUBLIC and self._hides_abuse(conversation):
                self.moderation.hide(session, message, True, by=None)
            repo.audit(
                session,
                conversation.id,
                "carebridge",
                "netiquette_hold",
                now,
                message_id=message.id,
            )
            log.info("netiquette.hold", conversation_id=conversation.id)
            return
        if not fresh:
            outbox.thread(session, conversation, key, AbuseNoted(reasons, "too_old"))
            return
        if self.netiquette_url is None:
            outbox.thread(session, conversation, key, AbuseNoted(reasons, "no_rules_url"))
            return
        text = self._text(session, NoticeKind.NETIQUETTE, language, conversation, message, now)
        self._send(session, conversation, message, NoticeKind.NETIQUETTE, text, now)
        customer.netiquette_notice_at = now
        outbox.thread(session, conversation, key, AbuseNoted(reasons, "rules_sent"))
        log.info("netiquette.notice", conversation_id=conversation.id, language=language)

    # --- out of hours --------------------------------------------------------------------------
    def _out_of_hours(
        self,
        session: Session,
        conversation: Conversation,
        message: Message,
        customer: Customer,
        language: str,
        now: datetime,
    ) -> None:
        calendar = self.hours.calendar(session, conversation.account.name)
        opens = calendar.next_open(message.created_at)
        if opens is None or conversation.out_of_hours_until == opens:
            return  # one notice per conversation per closed period
        conversation.out_of_hours_until = opens
        text = self._text(session, NoticeKind.OUT_OF_HOURS, language, conversation, message, now)
        if message.visibility == Visibility.PRIVATE or self._public_allowed(conversation):
            self._send(session, conversation, message, NoticeKind.OUT_OF_HOURS, text, now)
            log.info("out_of_hours.notice", conversation_id=conversation.id, language=language)
            return
        self.context.outbox.thread(
            session,
            conversation,
            f"out_of_hours:{message.id}",
            OutOfHoursNotSent(opens, now, calendar.zone.key),
        )
        repo.audit(session, conversation.id, "carebridge", "out_of_hours_not_sent", now)

    def _hides_abuse(self, conversation: Conversation) -> bool:
        """Whether the account hides a second abusive public message by itself (a Facebook
        Page with META_HIDE_ABUSIVE)."""
        spec = self.context.accounts.spec(conversation.account.network)
        account = self.context.accounts.by_name(conversation.account.name or "")
        return bool(spec and spec.can_hide and account and account.config.value("hide_abusive"))

    def _public_allowed(self, conversation: Conversation) -> bool:
        name = conversation.account.name
        return self.account_public_out_of_hours.get(name or "", self.public_out_of_hours)

    def preview(self, kind: NoticeKind, language: str, text: str) -> str:
        """A template filled with example values, as the editor shows it."""
        now = self.context.clock.now()
        calendar = self.hours.calendar_now()
        opens = calendar.next_open(now) or now
        values = NoticeValues(
            name="Giulia" if language == "it" else "Tom",
            hours=describe_hours(calendar.hours, language),
            next_open=describe_next_open(opens, now, calendar.zone, language),
            rules_url=self.netiquette_url or "https://example.com/rules",
        )
        return notice_text(kind, language, values, text)

    # --- shared --------------------------------------------------------------------------------
    def _text(
        self,
        session: Session,
        kind: NoticeKind,
        language: str,
        conversation: Conversation,
        message: Message,
        now: datetime,
    ) -> str:
        calendar = self.hours.calendar(session, conversation.account.name)
        opens = calendar.next_open(message.created_at) or now
        values = NoticeValues(
            name=plain_first_name(conversation.customer.name),
            hours=describe_hours(calendar.hours, language),
            next_open=describe_next_open(opens, now, calendar.zone, language),
            rules_url=self.netiquette_url or "",
        )
        return notice_text(kind, language, values, self.templates.override(session, kind, language))

    def _send(
        self,
        session: Session,
        conversation: Conversation,
        message: Message,
        kind: NoticeKind,
        text: str,
        now: datetime,
    ) -> None:
        public = message.visibility == Visibility.PUBLIC
        spec = self.context.accounts.spec(conversation.account.network)
        if public and spec is not None:
            text = spec.public_address(conversation.customer.handle) + text
        notice = Message(
            conversation_id=conversation.id,
            direction=Direction.NOTICE,
            visibility=message.visibility,
            network=message.network,
            author=f"{NOTICE_AUTHOR}{kind}",
            text=text,
            created_at=now,
            delivery=Delivery.PENDING,
            in_reply_to_external_id=message.external_id if public else None,
        )
        session.add(notice)
        session.flush()
        self.context.outbox.deliver(session, notice)
        repo.audit(
            session,
            conversation.id,
            "carebridge",
            f"{kind}_notice",
            now,
            message_id=notice.id,
            text=text[:500],
        )


def plain_first_name(display_name: str) -> str:
    """ "Ciao Sofia", not "Ciao Sofia Longo": the first word of the display name, when it is a
    plain name. Anything else ("@victim", "evil.example/login", emoji, markup) gives no name:
    the brand must never publish words a customer chose."""
    words = (display_name or "").split()
    first = words[0] if words else ""
    parts = _JOINERS.split(first)
    # str.isalpha: letters only (not "½" or "²", which regular expressions count as word
    # characters), in any script.
    if len(first) > MAX_NAME or not all(part.isalpha() for part in parts):
        return ""
    return first
