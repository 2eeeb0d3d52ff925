"""Automatic notices: out of hours, and netiquette (rules once, then a hold).

Decided inside the ingest transaction for each new customer message; sent like any answer, as
an outbound message through the outbox (once, by its key), in the channel the customer used.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta

import structlog
from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.domain.hours import BusinessCalendar, parse_business_hours
from bot.domain.language import guess_language
from bot.domain.model import Delivery, Direction, Visibility
from bot.domain.netiquette import Verdict, assess
from bot.domain.templates import (
    DEFAULTS,
    NoticeKind,
    NoticeValues,
    describe_hours,
    describe_next_open,
    notice_text,
    validate_template,
)
from bot.networks.x.text import x_weighted_length
from bot.services.context import Context
from bot.services.sla import Deadlines
from bot.slack import blocks
from bot.slack.mrkdwn import escape, truncate
from storage import repositories as repo
from storage.models import Conversation, Customer, Message, NoticeTemplate, TeamSetting

log = structlog.get_logger(__name__)
FRESH = timedelta(hours=1)  # backfilled messages older than this never get a notice
NOTICE_AUTHOR = "carebridge:"  # + the notice kind, on the notice's message row
HOURS_KEY = "business_hours"


class TeamHours:
    """The business calendar in force: BUSINESS_HOURS, unless changed with `/care hours set`."""

    def __init__(self, context: Context, default: BusinessCalendar) -> None:
        self.context = context
        self.calendar = default

    def load(self) -> None:
        with self.context.database.transaction() as session:
            stored = session.get(TeamSetting, HOURS_KEY)
        if stored is not None:
            self.calendar = replace(self.calendar, hours=parse_business_hours(stored.value))

    def set(self, text: str, user: str) -> None:
        """Validate and store new hours (ValueError says what is wrong); they apply at once to
        new deadlines and notices."""
        hours = parse_business_hours(text)
        now = self.context.clock.now()
        with self.context.transaction() as session:
            row = session.get(TeamSetting, HOURS_KEY) or TeamSetting(key=HOURS_KEY)
            row.value, row.updated_by, row.updated_at = text.strip(), user, now
            session.add(row)
            repo.audit(session, None, user, "hours_set", now, hours=text.strip())
        self.calendar = replace(self.calendar, hours=hours)
        log.info("hours.set", user=user)

    def describe(self, now: datetime) -> str:
        calendar = self.calendar
        if calendar.always_open:
            return f":clock9: Always open ({calendar.zone.key})."
        hours = describe_hours(calendar.hours, "en")
        if calendar.is_open(now):
            closes = calendar.next_change(now)
            state = f"open now, until {_local(closes, calendar)}" if closes else "open now"
        else:
            opens = calendar.next_open(now)
            when = describe_next_open(opens, now, calendar.zone, "en") if opens else "not soon"
            state = f"closed now, opening {when}"
        return f":clock9: {hours} ({calendar.zone.key}): {state}."


class Templates:
    """The teams' own notice texts (stored), over the defaults in the code."""

    def __init__(self, context: Context) -> None:
        self.context = context

    def override(self, session: Session, kind: NoticeKind, language: str) -> str | None:
        row = session.scalar(select(NoticeTemplate).filter_by(kind=kind, language=language))
        return row.text if row else None

    def current(self, kind: NoticeKind, language: str) -> tuple[str, bool]:
        """The text in force and whether it is the default."""
        with self.context.database.transaction() as session:
            stored = self.override(session, kind, language)
        if stored is not None:
            return stored, False
        return DEFAULTS[(kind, language)], True

    def save(self, kind: NoticeKind, language: str, text: str, user: str) -> None:
        """Store a team's text; raises TemplateError (unknown placeholder, too long for X)."""
        validate_template(text, length=x_weighted_length)
        now = self.context.clock.now()
        with self.context.transaction() as session:
            row = session.scalar(select(NoticeTemplate).filter_by(kind=kind, language=language))
            if row is None:
                row = NoticeTemplate(kind=str(kind), language=language)
                session.add(row)
            row.text, row.updated_by, row.updated_at = text, user, now
            repo.audit(session, None, user, "template_set", now, kind=str(kind), language=language)
        log.info("template.saved", kind=str(kind), language=language, user=user)


class Notices:
    def __init__(
        self,
        context: Context,
        hours: TeamHours,
        templates: Templates,
        deadlines: Deadlines,
        *,
        public_out_of_hours: bool,
        netiquette_url: str | None,
        netiquette_window: timedelta,
    ) -> None:
        self.context = context
        self.hours = hours
        self.templates = templates
        self.deadlines = deadlines
        self.public_out_of_hours = public_out_of_hours
        self.netiquette_url = netiquette_url
        self.netiquette_window = netiquette_window

    def on_inbound(
        self, session: Session, conversation: Conversation, message: Message, customer: Customer
    ) -> None:
        now = self.context.clock.now()
        fresh = now - message.created_at <= FRESH
        language = guess_language(message.text)
        assessment = assess(message.text)  # both word lists: a guessed language can be wrong
        if assessment.verdict == Verdict.ABUSE:
            reasons = "; ".join(assessment.reasons) or "abusive"
            self._abusive(session, conversation, message, customer, reasons, language, fresh, now)
        elif fresh and not self.hours.calendar.is_open(message.created_at):
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
        effects, key = self.context.effects, f"netiquette:{message.id}"
        last = customer.netiquette_notice_at
        if last is not None and now - last < self.netiquette_window:
            conversation.netiquette_hold = True
            self.deadlines.stopped(conversation)
            text = (
                f":shield: *Netiquette hold*: @{escape(customer.handle)} wrote abusively again "
                f"({escape(reasons)}) within {self.netiquette_window.days} days of the rules. "
                "Nothing is sent and the response clock is stopped; the owner or a lead can "
                "lift the hold."
            )
            hold = [
                blocks.section(text),
                blocks.actions(blocks.button("Lift hold", blocks.LIFT_HOLD, str(conversation.id))),
            ]
            effects.thread_message(session, conversation, key, text, hold)
            effects.refresh_card(session, conversation)
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
        label = f":shield: Abusive message ({escape(reasons)})."
        if not fresh:
            effects.thread_message(
                session, conversation, key, f"{label} No notice for a message older than an hour."
            )
            return
        if self.netiquette_url is None:
            effects.thread_message(
                session,
                conversation,
                key,
                f"{label} No netiquette notice: NETIQUETTE_URL is not set.",
            )
            return
        text = self._text(session, NoticeKind.NETIQUETTE, language, customer, now, message)
        self._send(session, conversation, message, NoticeKind.NETIQUETTE, text, now)
        customer.netiquette_notice_at = now
        effects.thread_message(session, conversation, key, f"{label} Sending the rules, once.")
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
        opens = self.hours.calendar.next_open(message.created_at)
        if opens is None or conversation.out_of_hours_until == opens:
            return  # one notice per conversation per closed period
        conversation.out_of_hours_until = opens
        text = self._text(session, NoticeKind.OUT_OF_HOURS, language, customer, now, message)
        if message.visibility == Visibility.PRIVATE or self.public_out_of_hours:
            self._send(session, conversation, message, NoticeKind.OUT_OF_HOURS, text, now)
            log.info("out_of_hours.notice", conversation_id=conversation.id, language=language)
            return
        when = describe_next_open(opens, now, self.hours.calendar.zone, "en")
        self.context.effects.thread_message(
            session,
            conversation,
            f"out_of_hours:{message.id}",
            f":crescent_moon: No out-of-hours notice sent: automated public replies are off "
            f"(OUT_OF_HOURS_PUBLIC=false). We open {when}.",
        )
        repo.audit(session, conversation.id, "carebridge", "out_of_hours_not_sent", now)

    def preview(self, kind: NoticeKind, language: str, text: str) -> str:
        """A template filled with example values, as the editor shows it."""
        now = self.context.clock.now()
        calendar = self.hours.calendar
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
        customer: Customer,
        now: datetime,
        message: Message,
    ) -> str:
        calendar = self.hours.calendar
        opens = calendar.next_open(message.created_at) or now
        values = NoticeValues(
            name=_first_name(customer),
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
        if public:
            text = f"@{conversation.customer.handle} {text}"  # see PUBLIC_NOTICE_LIMIT
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
        self.context.effects.deliver(session, notice)
        repo.audit(
            session,
            conversation.id,
            "carebridge",
            f"{kind}_notice",
            now,
            message_id=notice.id,
            text=truncate(text, 500),
        )


def _first_name(customer: Customer) -> str:
    """ "Ciao Sofia", not "Ciao Sofia Longo": notices greet like a person would."""
    words = (customer.name or "").split()
    return words[0] if words else customer.handle


def _local(moment: datetime, calendar: BusinessCalendar) -> str:
    return moment.astimezone(calendar.zone).strftime("%H:%M")
