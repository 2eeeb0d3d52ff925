"""SQLAlchemy 2.0 typed models. Alembic owns the schema: change a model, add a revision."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    DateTime,
    Dialect,
    Float,
    ForeignKey,
    Index,
    LargeBinary,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    case,
    false,
    literal_column,
    null,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship
from sqlalchemy.sql.elements import Grouping

from bot.domain.model import Delivery, Direction, Status, Visibility


class UTCDateTime(TypeDecorator[datetime]):
    """`DateTime(timezone=True)` that is aware on every backend: SQLite keeps no offset, so
    times are stored as UTC and read back as UTC; a naive datetime is a bug and is refused."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r}: pass an aware UTC time")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    type_annotation_map = {datetime: UTCDateTime(), dict[str, Any]: JSON}


class ChannelAccount(Base):
    """A brand account on a network, and where its conversations are mirrored in Slack."""

    __tablename__ = "channel_accounts"
    __table_args__ = (UniqueConstraint("network", "external_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    network: Mapped[str] = mapped_column(String(16))
    external_id: Mapped[str] = mapped_column(String(64))
    # The name it is configured under (ACCOUNTS_FILE); None once no configured account is it.
    name: Mapped[str | None] = mapped_column(String(40))
    handle: Mapped[str] = mapped_column(String(100))
    slack_channel_id: Mapped[str] = mapped_column(String(32))
    # Poll positions per stream (e.g. {"mentions": "<since_id>", "dms": "<last event id>"}):
    # committed with the messages they cover, so a restart neither loses nor repeats anything.
    cursors: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime]
    # How polling goes, for `carebridge accounts`: the last poll that worked, and since when
    # and why it fails.
    polled_at: Mapped[datetime | None]
    failing_since: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)


class Person(Base):
    """One person seen on several networks or accounts (`/care link`, or a suggestion the team
    accepted): history, priority, VIP status and surveys see all their customers."""

    __tablename__ = "people"

    id: Mapped[int] = mapped_column(primary_key=True)
    created_at: Mapped[datetime]
    created_by: Mapped[str] = mapped_column(String(32))


class Customer(Base):
    __tablename__ = "customers"
    __table_args__ = (UniqueConstraint("network", "external_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    network: Mapped[str] = mapped_column(String(16))
    external_id: Mapped[str] = mapped_column(String(64))
    handle: Mapped[str] = mapped_column(String(100))
    name: Mapped[str] = mapped_column(String(200))
    followers: Mapped[int] = mapped_column(default=0)
    verified: Mapped[bool] = mapped_column(default=False)
    profile_url: Mapped[str] = mapped_column(String(500), default="")
    vip_note: Mapped[str | None] = mapped_column(String(200))
    # The person this customer is one account of; None: known on this account only.
    person_id: Mapped[int | None] = mapped_column(
        ForeignKey("people.id", name="fk_customers_person"), index=True
    )
    # When the netiquette rules were last sent to this person: once per window (30 days).
    netiquette_notice_at: Mapped[datetime | None]
    first_seen_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    # What CRM_LOOKUP_URL said of them: {"name", "customer_id", "facts": [...]}; {} when the
    # CRM knows them not; None: never asked. Asked again once `crm_checked_at` is old.
    crm_facts: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    crm_checked_at: Mapped[datetime | None]


class Conversation(Base):
    __tablename__ = "conversations"
    __table_args__ = (
        UniqueConstraint("slack_channel_id", "slack_thread_ts"),
        Index("ix_conversations_customer_opened", "customer_id", "opened_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("channel_accounts.id"))
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"))
    previous_id: Mapped[int | None] = mapped_column(ForeignKey("conversations.id"))
    visibility: Mapped[Visibility] = mapped_column(String(16))
    status: Mapped[Status] = mapped_column(String(32), default=Status.OPEN)
    assignee: Mapped[str | None] = mapped_column(String(32))
    priority: Mapped[str] = mapped_column(String(16), default="normal")
    slack_channel_id: Mapped[str] = mapped_column(String(32))
    slack_thread_ts: Mapped[str | None] = mapped_column(String(32))
    slack_permalink: Mapped[str | None] = mapped_column(String(500))
    opened_at: Mapped[datetime]
    last_inbound_at: Mapped[datetime]
    first_response_at: Mapped[datetime | None]
    first_response_due_at: Mapped[datetime | None]
    next_response_due_at: Mapped[datetime | None]
    # Kept as answers come, so that `/care stats` reads a month of figures from this table
    # alone (services.sla.Deadlines.answered): the first wait in the account's business time
    # as it stood then (None before revision 0009), and the follow-ups answered, and in time.
    first_response_business_seconds: Mapped[float | None] = mapped_column(Float)
    follow_ups_answered: Mapped[int] = mapped_column(default=0, server_default="0")
    follow_ups_met: Mapped[int] = mapped_column(default=0, server_default="0")
    resolved_at: Mapped[datetime | None]
    resolved_by: Mapped[str | None] = mapped_column(String(32))
    dm_invited_at: Mapped[datetime | None]
    # Response-time tracking: the earliest moment an alert (warning, breach, escalation) is due
    # for the current deadline, so the sweeper finds due work with one indexed query however
    # many conversations are open; and how far the current deadline's alerts have gone.
    next_alert_at: Mapped[datetime | None] = mapped_column(index=True)
    # A customer abusive again within the netiquette window: the response clock stops until an
    # owner or a lead lifts the hold.
    priority_reasons: Mapped[list[str]] = mapped_column(JSON, default=list, server_default="[]")
    urgent_pinged_at: Mapped[datetime | None]  # the on-call agent is pinged once per conversation
    netiquette_hold: Mapped[bool] = mapped_column(default=False, server_default=false())
    # The opening that ends the closed period already covered by an out-of-hours notice: one
    # notice per conversation per closed period.
    out_of_hours_until: Mapped[datetime | None]
    sla_state: Mapped[str] = mapped_column(String(16), default="none", server_default="none")
    inbound_count: Mapped[int] = mapped_column(default=0)
    outbound_count: Mapped[int] = mapped_column(default=0)
    reopened_count: Mapped[int] = mapped_column(default=0)
    card_version: Mapped[int] = mapped_column(default=0)
    topic: Mapped[str | None] = mapped_column(String(40))  # one of the team's topics, by name
    topic_by: Mapped[str | None] = mapped_column(String(32))  # a Slack user, or "carebridge"
    # Engaged from a listened post the app may not answer (X): answered on the network by
    # hand until the customer writes to the brand.
    by_hand: Mapped[bool] = mapped_column(default=False, server_default=false())

    account: Mapped[ChannelAccount] = relationship(lazy="joined")
    customer: Mapped[Customer] = relationship(lazy="joined")
    previous: Mapped[Conversation | None] = relationship(remote_side=[id])


# The order of the queues (App Home, the team's and each agent's): priority, urgent first; then
# the deadline the card shows (services.sla.Deadlines.current), none last; then the oldest.
# Written out, with no bound parameters, so that the query's ORDER BY is the very expression of
# the index below and both SQLite and PostgreSQL walk it and stop at the page's last row: sorting
# 80,000 open conversations for 50 took 400 ms on SQLite.
QUEUE_RANK = case(
    *(
        (Conversation.priority == literal_column(f"'{name}'"), literal_column(str(rank)))
        for rank, name in enumerate(("urgent", "high", "normal", "low"))
    ),
    else_=literal_column("2"),  # an unknown priority shows, and sorts, as normal
)
QUEUE_DEADLINE = case(
    # The bare column, not `= true`: PostgreSQL simplifies that in the query, not in the index.
    (Conversation.netiquette_hold, null()),
    (
        Conversation.first_response_at.is_(None) & Conversation.first_response_due_at.is_not(None),
        Conversation.first_response_due_at,
    ),
    else_=Conversation.next_response_due_at,
)
QUEUE_ORDER = (
    # A queue is one assignee's (or the unclaimed), so this orders nothing; yet PostgreSQL reads
    # the index in order after `assignee IS NULL` only when the column leads the ORDER BY too.
    Conversation.assignee,
    Grouping(QUEUE_RANK),  # parenthesised: PostgreSQL indexes an expression only so written
    QUEUE_DEADLINE.is_(None),
    Grouping(QUEUE_DEADLINE),
    Conversation.opened_at,
    Conversation.id,
)
UNRESOLVED = Conversation.status != literal_column(f"'{Status.RESOLVED.value}'")
Index(
    "ix_conversations_queue",
    *QUEUE_ORDER,
    # Last: a queue limited to some channels is filtered while the index is walked, no row read.
    Conversation.slack_channel_id,
    postgresql_where=UNRESOLVED,
    sqlite_where=UNRESOLVED,
)


WAITING = text("response_due_at IS NOT NULL AND responded_at IS NULL")


class Message(Base):
    __tablename__ = "messages"
    __table_args__ = (
        # A message is stored once however often a poll or a retried Slack event brings it.
        UniqueConstraint("network", "external_id"),
        UniqueConstraint("conversation_id", "slack_ts"),
        Index("ix_messages_conversation_created", "conversation_id", "created_at"),
        # The customer messages still waiting for an answer: few, whatever the history; with
        # what `/care stats` asks of them, so that it reads the index alone.
        Index(
            "ix_messages_waiting",
            "conversation_id",
            "response_due_at",
            "created_at",
            "direction",
            postgresql_where=WAITING,
            sqlite_where=WAITING,
        ),
        # Negative customer messages by time: the spike alert counts them per window.
        Index(
            "ix_messages_negative",
            "created_at",
            postgresql_where=text("negative"),
            sqlite_where=text("negative"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    conversation_id: Mapped[int] = mapped_column(ForeignKey("conversations.id"))
    direction: Mapped[Direction] = mapped_column(String(16))
    visibility: Mapped[Visibility] = mapped_column(String(16))
    network: Mapped[str] = mapped_column(String(16))
    external_id: Mapped[str | None] = mapped_column(String(64))
    permalink: Mapped[str] = mapped_column(String(500), default="")
    author: Mapped[str] = mapped_column(String(100))  # customer handle or Slack user id
    text: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime]
    slack_ts: Mapped[str | None] = mapped_column(String(32))
    delivery: Mapped[Delivery] = mapped_column(String(16))
    delivery_error: Mapped[str | None] = mapped_column(Text)
    in_reply_to_external_id: Mapped[str | None] = mapped_column(String(64))
    # A customer message that started a response clock: when the answer is due, and when it came.
    response_due_at: Mapped[datetime | None]
    responded_at: Mapped[datetime | None]
    # Who wrote it (inbound): one person may write as two ids, and answers go to the writer.
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("customers.id"))
    # What the customer did to it afterwards, as the network reported it.
    edited_at: Mapped[datetime | None]
    deleted_at: Mapped[datetime | None]
    reaction: Mapped[str | None] = mapped_column(String(40))
    hidden: Mapped[bool] = mapped_column(default=False, server_default=false())
    negative: Mapped[bool] = mapped_column(default=False, server_default=false())  # spike alert
    # Photos, files, stickers...: [{"kind", "url", "title"}]
    attachments: Mapped[list[dict[str, str]]] = mapped_column(
        JSON, default=list, server_default="[]"
    )
    # An answer sent from a saved reply: which one (kept when the reply is removed, by name).
    saved_reply_id: Mapped[int | None]  # saved_replies.id; those rows are never deleted
    saved_reply_name: Mapped[str | None] = mapped_column(String(40))

    conversation: Mapped[Conversation] = relationship()
    customer: Mapped[Customer | None] = relationship()


class OutboxJob(Base):
    """A side effect on Slack or a network, written in the transaction of the change causing it."""

    __tablename__ = "outbox"
    __table_args__ = (
        Index("ix_outbox_due", "status", "next_attempt_at"),
        # "Is an earlier job of this ordering key still waiting?" is asked for every due job:
        # a partial index of the unfinished ones answers it without walking the finished ones,
        # however many have piled up (both SQLite and PostgreSQL use it).
        Index(
            "ix_outbox_unfinished_by_key",
            "ordering_key",
            "id",
            postgresql_where=text("status IN ('pending', 'running')"),
            sqlite_where=text("status IN ('pending', 'running')"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(40))
    payload: Mapped[dict[str, Any]] = mapped_column(default=dict)
    idempotency_key: Mapped[str] = mapped_column(String(200), unique=True)
    status: Mapped[str] = mapped_column(String(16), default="pending")
    priority: Mapped[int] = mapped_column(default=0)
    # Jobs with the same ordering key run one after the other, in id order (a conversation's
    # root message before its replies); `lane` is the rate-limit bucket (a Slack channel, X).
    ordering_key: Mapped[str | None] = mapped_column(String(80))
    lane: Mapped[str | None] = mapped_column(String(80))
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime]
    leased_until: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    result: Mapped[dict[str, Any] | None]
    created_at: Mapped[datetime]
    done_at: Mapped[datetime | None]


class InboxDelivery(Base):
    """A webhook delivery, stored before it is answered and processed after (by the outbox job
    that is enqueued with it): the network hears 200 at once whatever the load, and a delivery
    is never lost to a crash between the two."""

    __tablename__ = "inbox"

    id: Mapped[int] = mapped_column(primary_key=True)
    path: Mapped[str] = mapped_column(String(80))
    body: Mapped[bytes] = mapped_column(LargeBinary)
    received_at: Mapped[datetime]
    processed_at: Mapped[datetime | None]
    outcome: Mapped[str | None] = mapped_column(Text)


class AuditEntry(Base):
    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(primary_key=True)
    conversation_id: Mapped[int | None] = mapped_column(ForeignKey("conversations.id"), index=True)
    actor: Mapped[str] = mapped_column(String(32))  # Slack user id, or "carebridge"
    action: Mapped[str] = mapped_column(String(40))
    detail: Mapped[dict[str, Any]] = mapped_column(default=dict)
    at: Mapped[datetime]


class Alert(Base):
    """A response-time warning, breach or escalation that fired. The unique key makes each fire
    once per deadline, however many processes look and however often they restart."""

    __tablename__ = "alerts"
    __table_args__ = (UniqueConstraint("conversation_id", "kind", "deadline"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    conversation_id: Mapped[int] = mapped_column(ForeignKey("conversations.id"))
    kind: Mapped[str] = mapped_column(String(16))  # warning, breach, escalation
    target: Mapped[str] = mapped_column(String(16))  # first_response, next_response
    deadline: Mapped[datetime]
    planned_at: Mapped[datetime]
    fired_at: Mapped[datetime]
    late: Mapped[bool] = mapped_column(default=False)  # planned while the bot was down


class OnCallRotation(Base):
    """The team's on-call roster; the newest row is the one in force."""

    __tablename__ = "oncall_rotations"

    id: Mapped[int] = mapped_column(primary_key=True)
    members: Mapped[list[str]] = mapped_column(JSON)
    period: Mapped[str] = mapped_column(String(8))  # daily, weekly
    handoff: Mapped[str] = mapped_column(String(5))  # HH:MM in TIMEZONE
    weekday: Mapped[int | None]
    anchor: Mapped[datetime]
    created_by: Mapped[str] = mapped_column(String(32))
    created_at: Mapped[datetime]


class OnCallOverride(Base):
    __tablename__ = "oncall_overrides"
    __table_args__ = (Index("ix_oncall_overrides_ends", "ends_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user: Mapped[str] = mapped_column(String(32))
    starts_at: Mapped[datetime]
    ends_at: Mapped[datetime]
    created_by: Mapped[str] = mapped_column(String(32))
    created_at: Mapped[datetime]


class NoticeTemplate(Base):
    """A team's own text for an automatic notice, edited from Slack; the code has defaults."""

    __tablename__ = "notice_templates"
    __table_args__ = (UniqueConstraint("kind", "language"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))
    language: Mapped[str] = mapped_column(String(8))
    text: Mapped[str] = mapped_column(Text)
    updated_by: Mapped[str] = mapped_column(String(32))
    updated_at: Mapped[datetime]


class SavedReply(Base):
    """A team's answer to a question that keeps coming, in Italian and English
    (`bot.domain.saved_replies`). Removing one keeps its row, so the answers sent with it and
    `/care stats replies` still name it."""

    __tablename__ = "saved_replies"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(40))
    topic: Mapped[str] = mapped_column(String(40), default="")
    text_it: Mapped[str] = mapped_column(Text, default="")
    text_en: Mapped[str] = mapped_column(Text, default="")
    public: Mapped[bool] = mapped_column(default=True)
    updated_by: Mapped[str] = mapped_column(String(32))
    updated_at: Mapped[datetime]
    removed_at: Mapped[datetime | None]


class Topic(Base):
    """One of the team's topics (`bot.domain.topics`): a removed one keeps its row, so the
    conversations that had it still name it."""

    __tablename__ = "topics"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(40))
    keywords: Mapped[list[str]] = mapped_column(JSON, default=list)
    updated_by: Mapped[str] = mapped_column(String(32))
    updated_at: Mapped[datetime]
    removed_at: Mapped[datetime | None]


class ListenedPost(Base):
    """A post found by listening (`bot.services.listening`): not addressed to the brand, shown
    in the listening channel until someone engages (a support conversation) or dismisses it."""

    __tablename__ = "listened_posts"
    __table_args__ = (
        UniqueConstraint("network", "external_id"),
        Index("ix_listened_posts_status_found", "status", "found_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("channel_accounts.id"))
    network: Mapped[str] = mapped_column(String(16))
    external_id: Mapped[str] = mapped_column(String(64))
    author_id: Mapped[str] = mapped_column(String(64))
    handle: Mapped[str] = mapped_column(String(100))
    name: Mapped[str] = mapped_column(String(200))
    followers: Mapped[int]
    verified: Mapped[bool]
    text: Mapped[str] = mapped_column(Text)
    permalink: Mapped[str] = mapped_column(String(500))
    posted_at: Mapped[datetime]
    sentiment: Mapped[str] = mapped_column(String(16))  # negative | neutral | positive
    # new | engaged | dismissed; under a flood, batched until the minute's summary, then summarised
    status: Mapped[str] = mapped_column(String(16))
    found_at: Mapped[datetime]
    decided_by: Mapped[str | None] = mapped_column(String(32))
    slack_ts: Mapped[str | None] = mapped_column(String(32))
    conversation_id: Mapped[int | None] = mapped_column(ForeignKey("conversations.id"))

    account: Mapped[ChannelAccount] = relationship(lazy="joined")


class PostReads(Base):
    """Posts read per account and month (X bills each), against X_READ_BUDGET; `paused_said`:
    the listening channel was told once that listening stopped for the month."""

    __tablename__ = "post_reads"

    account_id: Mapped[int] = mapped_column(ForeignKey("channel_accounts.id"), primary_key=True)
    month: Mapped[str] = mapped_column(String(7), primary_key=True)  # "2026-12", UTC
    posts: Mapped[int] = mapped_column(default=0)
    paused_said: Mapped[bool] = mapped_column(default=False)


class TeamSetting(Base):
    """A setting changed from Slack (e.g. `/care hours set ...`); it wins over the environment."""

    __tablename__ = "team_settings"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(Text)
    updated_by: Mapped[str] = mapped_column(String(32))
    updated_at: Mapped[datetime]


class Vip(Base):
    """A person whose messages jump the queue, with a note for the agents ("journalist, ...").
    Kept by handle, so a VIP can be listed before they ever write."""

    __tablename__ = "vips"
    __table_args__ = (UniqueConstraint("network", "handle"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    network: Mapped[str] = mapped_column(String(16))
    handle: Mapped[str] = mapped_column(String(100))  # lower case, without the @
    note: Mapped[str] = mapped_column(String(200))
    added_by: Mapped[str] = mapped_column(String(32))
    added_at: Mapped[datetime]


class CustomerIdentifier(Base):
    """A phone number, e-mail or order number a customer wrote (or is: a WhatsApp number), as a
    digest: two customers with the same one may be one person. `shown`: what a card may say of
    it (an order code; never a phone number or an e-mail)."""

    __tablename__ = "customer_identifiers"
    __table_args__ = (
        UniqueConstraint("customer_id", "kind", "digest"),
        Index("ix_customer_identifiers_digest", "kind", "digest"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"))
    kind: Mapped[str] = mapped_column(String(8))  # phone | email | order
    digest: Mapped[str] = mapped_column(String(64))
    shown: Mapped[str] = mapped_column(String(40), default="")
    seen_at: Mapped[datetime]  # last written: an order number matches within 7 days only


class LinkSuggestion(Base):
    """ "This may be the same person as ...": proposed on the newer customer's card, decided by
    the team (linked, or rejected: never proposed again)."""

    __tablename__ = "link_suggestions"
    __table_args__ = (
        UniqueConstraint("customer_id", "other_id"),
        Index("ix_link_suggestions_other", "other_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"))  # the lower id of two
    other_id: Mapped[int] = mapped_column(ForeignKey("customers.id"))
    reason: Mapped[str] = mapped_column(String(8))  # phone | email | order
    shown: Mapped[str] = mapped_column(String(40), default="")
    status: Mapped[str] = mapped_column(String(16))  # open | linked | rejected
    created_at: Mapped[datetime]
    decided_by: Mapped[str | None] = mapped_column(String(32))
    decided_at: Mapped[datetime | None]

    customer: Mapped[Customer] = relationship(foreign_keys=[customer_id])
    other: Mapped[Customer] = relationship(foreign_keys=[other_id])


class Survey(Base):
    """The satisfaction survey of one conversation: scheduled at Resolve, then sent, answered,
    cancelled (the customer wrote again, it reopened) or skipped (`reason`)."""

    __tablename__ = "surveys"
    __table_args__ = (
        UniqueConstraint("conversation_id"),
        Index("ix_surveys_status_due", "status", "due_at"),
        Index("ix_surveys_customer_sent", "customer_id", "sent_at"),
        Index("ix_surveys_sent", "sent_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    conversation_id: Mapped[int] = mapped_column(ForeignKey("conversations.id"))
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"))
    # scheduled | sent | answered | expired | cancelled | skipped | failed
    status: Mapped[str] = mapped_column(String(16))
    due_at: Mapped[datetime]
    sent_at: Mapped[datetime | None]
    answered_at: Mapped[datetime | None]
    score: Mapped[int | None]
    comment: Mapped[str | None] = mapped_column(Text)
    reason: Mapped[str | None] = mapped_column(String(40))
    message_id: Mapped[int | None]  # the question, a notice message
    language: Mapped[str] = mapped_column(String(8))
    agent: Mapped[str | None] = mapped_column(String(32))  # who resolved: the KPIs' agent

    conversation: Mapped[Conversation] = relationship()


class Team(Base):
    """A specialist team conversations are forwarded to (`/care teams`): its Slack channel and
    its own response target, in business time (None: no target)."""

    __tablename__ = "teams"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(40))  # unique among teams not removed
    slack_channel_id: Mapped[str] = mapped_column(String(32))
    target_seconds: Mapped[int | None]
    updated_by: Mapped[str] = mapped_column(String(32))
    updated_at: Mapped[datetime]
    removed_at: Mapped[datetime | None]  # kept: past forwards name it


class Forward(Base):
    """A conversation handed to a team: `waiting` for a specialist, `taken` by one, `answered`
    (the team wrote back), `sent_back` (the team returned it), `taken_over` (a specialist now
    owns the conversation) or `closed` (the conversation was resolved)."""

    __tablename__ = "forwards"
    __table_args__ = (
        UniqueConstraint("slack_channel_id", "slack_ts"),
        Index("ix_forwards_conversation", "conversation_id"),
        Index("ix_forwards_status_due", "status", "due_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    conversation_id: Mapped[int] = mapped_column(ForeignKey("conversations.id"))
    team_id: Mapped[int] = mapped_column(ForeignKey("teams.id"))
    note: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16))
    forwarded_by: Mapped[str] = mapped_column(String(32))
    forwarded_at: Mapped[datetime]
    specialist: Mapped[str | None] = mapped_column(String(32))
    taken_at: Mapped[datetime | None]
    answered_at: Mapped[datetime | None]  # the team's first message back
    closed_at: Mapped[datetime | None]
    due_at: Mapped[datetime | None]  # the team's target
    warned_at: Mapped[datetime | None]
    breached_at: Mapped[datetime | None]
    slack_channel_id: Mapped[str] = mapped_column(String(32))  # the team's channel
    slack_ts: Mapped[str | None] = mapped_column(String(32))  # the team's card

    conversation: Mapped[Conversation] = relationship()
    team: Mapped[Team] = relationship()  # not joined: forwards are locked FOR UPDATE
