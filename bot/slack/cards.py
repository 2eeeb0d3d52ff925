"""A conversation's card, its customer's messages and its App Home line, from stored state,
built when the job that posts them runs."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.clock import Clock
from bot.domain.model import Direction, Status, Visibility
from bot.domain.sla import AlertKind
from bot.i18n import N_, _
from bot.networks.base import NetworkSpec
from bot.services.accounts import Accounts
from bot.services.crm import CrmLookup
from bot.services.customers import Customers
from bot.services.oncall import OnCallService
from bot.services.sla import Deadlines
from bot.services.topics import SUGGESTED
from bot.slack import blocks
from bot.slack.content import Quoted, Written, written_blocks
from bot.slack.history import history_line
from bot.slack.home import HomeItem
from bot.slack.render import local_time
from storage import repositories as repo
from storage import surveys
from storage.models import Conversation, Forward, Message, Team

_DUE = {  # a deadline's target: (its line while it runs, once missed)
    "first_response": (
        N_("first answer due {due}, in {left}"),
        N_("*Breached*: first answer was due {due}"),
    ),
    "next_response": (
        N_("answer to the follow-up due {due}, in {left}"),
        N_("*Breached*: answer to the follow-up was due {due}"),
    ),
}


class Cards:
    def __init__(
        self,
        accounts: Accounts,
        deadlines: Deadlines,
        oncall: OnCallService,
        customers: Customers,
        clock: Clock,
        topics: Callable[[], Sequence[str]] = tuple,
        crm: CrmLookup | None = None,
    ) -> None:
        self.topics = topics  # the team's topics, for the card's menu
        self.crm = crm  # CRM_LOOKUP_URL: the CRM's facts on the card
        self.accounts = accounts
        self.deadlines = deadlines
        self.oncall = oncall
        self.customers = customers
        self.clock = clock

    def card(self, session: Session, conversation: Conversation) -> blocks.Card:
        first = repo.first_inbound(session, conversation.id)
        resolved = conversation.status == Status.RESOLVED
        survey = surveys.of_conversation(session, conversation.id) if resolved else None
        previous = conversation.previous
        history = self.customers.history(session, conversation)
        spec = self.accounts.spec(conversation.account.network)
        public = conversation.visibility == Visibility.PUBLIC
        latest_public = repo.latest_inbound(session, conversation.id, Visibility.PUBLIC)
        return blocks.Card(
            conversation_id=conversation.id,
            network_label=self.accounts.label(conversation.account.network),
            public_name=spec.public_name if spec else "mention",
            private_name=spec.private_name if spec else "DM",
            account_handle=conversation.account.handle if spec and spec.handles else "",
            account_name=conversation.account.handle,
            customer=customer(conversation, spec),
            text=first.text if first else "",
            body=body(first, quoted(session, first)) if first else None,
            permalink=first.permalink if first else "",
            visibility=conversation.visibility,
            status=conversation.status,
            assignee=conversation.assignee,
            resolved_by=conversation.resolved_by,
            previous_permalink=previous.slack_permalink if previous else None,
            dm_invited=conversation.dm_invited_at is not None,
            deadline=self.deadline_line(conversation),
            window=None if public else self.window_line(session, conversation),
            on_hold=conversation.netiquette_hold,
            priority=conversation.priority,
            priority_reasons=tuple(conversation.priority_reasons or ()),
            history=history_line(
                history.contacts,
                history.last,
                history.now,
                self.accounts.label(conversation.account.network),
            ),
            crm_url=self.customers.crm_url(conversation.customer),
            crm=self.crm.facts(conversation.customer) if self.crm else None,
            can_hide=bool(spec and spec.can_hide and public and latest_public is not None),
            hidden=bool(latest_public and latest_public.hidden),
            topic=conversation.topic,
            by_hand=conversation.by_hand,
            csat_score=survey.score if survey else None,
            csat_comment=(survey.comment or "") if survey else "",
            suggestions=self.customers.people.suggestions(session, conversation.customer),
            elsewhere=history.elsewhere,
            forwards=forward_lines(session, conversation.id),
            can_forward=has_teams(session),
            topic_suggested=conversation.topic_by == SUGGESTED,
            topics=tuple(self.topics()),
        )

    def customer_message(self, session: Session, message: Message) -> tuple[str, blocks.Blocks]:
        return blocks.customer_message(
            customer(message.conversation),
            message.text,
            message.permalink,
            self.accounts.label(message.network),
            body(message, quoted(session, message)),
        )

    def home_items(self, session: Session, conversations: list[Conversation]) -> list[HomeItem]:
        """App Home's lines: the conversations' first messages read in one query."""
        firsts = repo.first_inbound_of(session, [c.id for c in conversations])
        return [self.home_item(c, firsts.get(c.id)) for c in conversations]

    def home_item(self, conversation: Conversation, first: Message | None) -> HomeItem:
        deadline = self.deadlines.current(conversation)
        return HomeItem(
            conversation_id=conversation.id,
            priority=conversation.priority,
            customer_name=conversation.customer.name,
            customer_handle=conversation.customer.handle,
            network_label=self.accounts.label(conversation.account.network),
            account_handle=conversation.account.handle,
            text=first.text if first else "",
            permalink=conversation.slack_permalink,
            due_at=deadline.due if deadline else None,
            on_hold=conversation.netiquette_hold,
        )

    def deadline_line(self, conversation: Conversation) -> str | None:
        """The card's deadline line ("first answer due 14:32, in 12 min"), as of now. Cards are
        re-rendered when the state changes, not every minute, so it names the time too."""
        deadline = self.deadlines.current(conversation)
        if deadline is None:
            return None
        now, zone = self.clock.now(), self.oncall.zone.key
        running, breached = _DUE[deadline.target]
        due = local_time(deadline.due, now, zone)
        missed = conversation.sla_state in (AlertKind.BREACH, AlertKind.ESCALATION)
        if missed or deadline.due <= now:
            return ":rotating_light: " + _(breached).format(due=due)
        minutes = int((deadline.due - now).total_seconds() // 60)
        left = f"{minutes} min" if minutes < 60 else f"{minutes // 60} h {minutes % 60:02d} min"
        return ":alarm_clock: " + _(running).format(due=due, left=left)

    def window_line(self, session: Session, conversation: Conversation) -> str | None:
        """Until when a private answer can reach the customer ("Messenger: can answer until
        14:32"), on a network with a reply window."""
        spec = self.accounts.spec(conversation.account.network)
        if spec is None or spec.private_window is None:
            return None
        latest = repo.latest_inbound(session, conversation.id, Visibility.PRIVATE)
        if latest is None:
            return None
        now, zone = self.clock.now(), self.oncall.zone.key
        until = latest.created_at + spec.private_window
        extended = self._extended_window(conversation)
        kind = spec.private_name
        if until > now:
            open_until = _("{kind}: can answer until {time}")
            return ":hourglass_flowing_sand: " + open_until.format(
                kind=kind, time=local_time(until, now, zone)
            )
        if extended is not None and latest.created_at + extended > now:
            later = local_time(latest.created_at + extended, now, zone)
            tagged = _("{kind}: can answer until {time} (human agent tag)")
            return ":hourglass_flowing_sand: " + tagged.format(kind=kind, time=later)
        closed = _(
            "{kind}: the window closed {time}; an answer goes out once the customer writes again"
        )
        return ":hourglass: " + closed.format(kind=kind, time=local_time(until, now, zone))

    def _extended_window(self, conversation: Conversation) -> timedelta | None:
        spec = self.accounts.spec(conversation.account.network)
        account = self.accounts.by_name(conversation.account.name or "")
        if spec is None or account is None or spec.extended_window_setting is None:
            return None
        allowed = account.config.value(spec.extended_window_setting)
        return spec.extended_private_window if allowed else None


def forward_lines(session: Session, conversation_id: int) -> tuple[blocks.ForwardLine, ...]:
    """The teams that have the conversation now (a team's request over, its line goes)."""
    query = select(Forward).where(
        Forward.conversation_id == conversation_id,
        Forward.status.in_(("waiting", "taken", "answered")),
    )
    return tuple(
        blocks.ForwardLine(f.team.name, f.status, f.specialist)
        for f in session.scalars(query.order_by(Forward.id))
    )


def has_teams(session: Session) -> bool:
    return session.scalar(select(Team.id).where(Team.removed_at.is_(None)).limit(1)) is not None


def customer(conversation: Conversation, spec: NetworkSpec | None = None) -> blocks.Customer:
    c = conversation.customer
    # 0 is also "the network would not say" (an Instagram commenter's personal account): an
    # audience of nobody is not worth a line on the card either way.
    count = c.followers if (spec is None or spec.has_followers) and c.followers else None
    shown = spec.shown_id(c.external_id) if spec and spec.shown_id else ""
    return blocks.Customer(c.name, c.handle, c.profile_url, count, c.verified, shown)


def body(message: Message, replying_to: Quoted | None = None) -> blocks.Blocks | None:
    """What the customer wrote, when there is more to show than the text."""
    changed = message.edited_at or message.deleted_at or message.reaction
    if not message.attachments and not changed and replying_to is None:
        return None
    return written_blocks(
        Written(
            message.text,
            tuple(message.attachments or ()),
            edited=message.edited_at is not None,
            deleted=message.deleted_at is not None,
            reaction=message.reaction,
            replying_to=replying_to,
        )
    )


def quoted(session: Session, message: Message) -> Quoted | None:
    """The message a customer's message quotes (WhatsApp's swipe to reply), as far as it is
    known here: an answer of the team's, an earlier message of theirs, or one from before."""
    if message.direction != Direction.INBOUND or not message.in_reply_to_external_id:
        return None
    found = repo.message_by_external_id(session, message.network, message.in_reply_to_external_id)
    if found is None:
        return Quoted()
    if found.direction == Direction.OUTBOUND:
        return Quoted(found.text, agent=found.author)
    return Quoted(found.text)
