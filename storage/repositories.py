"""Queries the services need, in one place. Each takes the caller's session (the caller owns the
transaction) and returns typed models."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Select, Table, bindparam, func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from bot.domain.model import Author, Delivery, Direction, Status, Visibility
from bot.domain.sla import PlannedAlert
from storage.db import matched_rows
from storage.models import (
    QUEUE_ORDER,
    UNRESOLVED,
    Alert,
    AuditEntry,
    ChannelAccount,
    Conversation,
    Customer,
    Message,
    OnCallOverride,
    OnCallRotation,
    Vip,
)


def account(session: Session, network: str, external_id: str) -> ChannelAccount | None:
    return session.scalar(
        select(ChannelAccount).filter_by(network=network, external_id=external_id)
    )


def accounts_with_open_conversations(session: Session) -> list[tuple[ChannelAccount, int]]:
    open_count = (
        select(func.count(Conversation.id))
        .where(Conversation.account_id == ChannelAccount.id, Conversation.status != Status.RESOLVED)
        .scalar_subquery()
    )
    rows = session.execute(select(ChannelAccount, open_count).order_by(ChannelAccount.id))
    return [(row, int(count or 0)) for row, count in rows.tuples()]


def message_by_external_id(session: Session, network: str, external_id: str) -> Message | None:
    return session.scalar(select(Message).filter_by(network=network, external_id=external_id))


def message_exists(session: Session, network: str, external_id: str) -> bool:
    query = select(Message.id).filter_by(network=network, external_id=external_id)
    return session.scalar(query) is not None


def stored_message_ids(session: Session, network: str, external_ids: Collection[str]) -> set[str]:
    """Which of these messages of `network` are stored already: one query for a page."""
    if not external_ids:
        return set()
    query = select(Message.external_id).where(
        Message.network == network, Message.external_id.in_(external_ids)
    )
    return set(session.scalars(query))


def customers_by_id(
    session: Session, network: str, external_ids: Collection[str]
) -> dict[str, Customer]:
    """The known customers among these authors of `network`, by their network id."""
    if not external_ids:
        return {}
    query = select(Customer).where(
        Customer.network == network, Customer.external_id.in_(external_ids)
    )
    return {customer.external_id: customer for customer in session.scalars(query)}


def update_customer(customer: Customer, author: Author, now: datetime) -> None:
    """The network's latest word on name, handle and followers wins; a count of 0 is a lookup
    that could not say (Instagram's personal commenters, Facebook) and keeps the last known."""
    customer.handle, customer.name = author.handle, author.name or author.handle
    customer.followers = author.followers or customer.followers or 0
    customer.verified = author.verified
    customer.profile_url, customer.updated_at = author.profile_url, now


def find_or_add_customer(session: Session, network: str, author: Author, now: datetime) -> Customer:
    """The customer with this id, or a new one from `author`; an existing one is left as is."""
    customer = session.scalar(
        select(Customer).filter_by(network=network, external_id=author.external_id)
    )
    return customer if customer is not None else upsert_customer(session, network, author, now)


def upsert_customer(session: Session, network: str, author: Author, now: datetime) -> Customer:
    customer = session.scalar(
        select(Customer).filter_by(network=network, external_id=author.external_id)
    )
    if customer is None:
        customer = Customer(
            network=network, external_id=author.external_id, first_seen_at=now, vip_note=None
        )
        session.add(customer)
    update_customer(customer, author, now)
    session.flush()
    return customer


def latest_conversation(session: Session, customer_id: int, account_id: int) -> Conversation | None:
    return session.scalar(
        select(Conversation)
        .filter_by(customer_id=customer_id, account_id=account_id)
        .order_by(Conversation.opened_at.desc(), Conversation.id.desc())
        .limit(1)
    )


def latest_conversation_of_person(
    session: Session, customer: Customer, account_id: int
) -> Conversation | None:
    """The latest conversation with this account of the person (every id linked to theirs)."""
    return session.scalar(
        select(Conversation)
        .where(
            Conversation.customer_id.in_(linked_customers(customer)),
            Conversation.account_id == account_id,
        )
        .order_by(Conversation.opened_at.desc(), Conversation.id.desc())
        .limit(1)
    )


def conversation(
    session: Session, conversation_id: int, *, lock: bool = False
) -> Conversation | None:
    query = select(Conversation).filter_by(id=conversation_id)
    if lock:
        query = query.with_for_update(of=Conversation)
    return session.scalar(query)


def conversation_by_thread(session: Session, channel: str, thread_ts: str) -> Conversation | None:
    return session.scalar(
        select(Conversation).filter_by(slack_channel_id=channel, slack_thread_ts=thread_ts)
    )


def claim(session: Session, conversation_id: int, user: str) -> bool:
    """Compare-and-set: only one agent can turn an unclaimed conversation into theirs."""
    matched = matched_rows(
        session,
        update(Conversation)
        .where(Conversation.id == conversation_id, Conversation.assignee.is_(None))
        .values(assignee=user)
        .execution_options(synchronize_session=False),
    )
    session.expire_all()
    return matched == 1


def message(session: Session, message_id: int) -> Message | None:
    return session.get(Message, message_id)


def message_by_slack_ts(session: Session, conversation_id: int, slack_ts: str) -> Message | None:
    return session.scalar(
        select(Message).filter_by(conversation_id=conversation_id, slack_ts=slack_ts)
    )


def latest_inbound(
    session: Session, conversation_id: int, visibility: Visibility | None = None
) -> Message | None:
    query = select(Message).filter_by(conversation_id=conversation_id, direction=Direction.INBOUND)
    if visibility is not None:
        query = query.filter_by(visibility=visibility)
    return session.scalar(query.order_by(Message.created_at.desc(), Message.id.desc()).limit(1))


def inbound_messages(session: Session, conversation_id: int, limit: int = 50) -> list[Message]:
    """A conversation's first customer messages, oldest first."""
    query = select(Message).filter_by(conversation_id=conversation_id, direction=Direction.INBOUND)
    return list(session.scalars(query.order_by(Message.id).limit(limit)))


def first_inbound(session: Session, conversation_id: int) -> Message | None:
    query = select(Message).filter_by(conversation_id=conversation_id, direction=Direction.INBOUND)
    # The message that opened it, as stored: a mention polled after a DM may be older, but the
    # card was posted with the DM and must keep showing it.
    return session.scalar(query.order_by(Message.id).limit(1))


def record_card(session: Session, conversation_id: int, ts: str, permalink: str | None) -> None:
    """The card's ts on its conversation and on the message it shows (the first inbound):
    two prebuilt updates on the tables, nothing loaded, since a backlog records hundreds of
    cards a second (building the ORM statements each time was most of their cost)."""
    values = {"card_conversation": conversation_id, "card_ts": ts, "card_permalink": permalink}
    session.execute(_CARD_ON_CONVERSATION, values)
    session.execute(_CARD_ON_MESSAGE, values)


_conversations = cast(Table, Conversation.__table__)
_messages = cast(Table, Message.__table__)
_CARD_ON_CONVERSATION = (
    update(_conversations)
    .where(_conversations.c.id == bindparam("card_conversation"))
    .values(slack_thread_ts=bindparam("card_ts"), slack_permalink=bindparam("card_permalink"))
)
_CARD_ON_MESSAGE = (
    update(_messages)
    .where(
        _messages.c.id
        == select(func.min(_messages.c.id))
        .where(
            _messages.c.conversation_id == bindparam("card_conversation"),
            _messages.c.direction == Direction.INBOUND,
        )
        .scalar_subquery()
    )
    .values(slack_ts=bindparam("card_ts"))
)


def first_inbound_of(session: Session, conversation_ids: list[int]) -> dict[int, Message]:
    """Each conversation's first inbound message (as first_inbound), in one query."""
    if not conversation_ids:
        return {}
    firsts = (
        select(func.min(Message.id))
        .where(
            Message.conversation_id.in_(conversation_ids),
            Message.direction == Direction.INBOUND,
        )
        .group_by(Message.conversation_id)
    )
    rows = session.scalars(select(Message).where(Message.id.in_(firsts)))
    return {m.conversation_id: m for m in rows}


def open_conversations(
    session: Session,
    *,
    assignee: str | None = None,
    channels: Collection[str] | None = None,
    limit: int = 50,
) -> tuple[list[Conversation], int]:
    """The `limit` most urgent open conversations of `assignee` (None: the unclaimed ones), in
    `channels` if given, and how many there are: by priority (urgent first), then the current
    response deadline (none last), then the oldest."""
    owner = Conversation.assignee == assignee if assignee else Conversation.assignee.is_(None)
    where = [UNRESOLVED, owner]
    if channels is not None:
        where.append(Conversation.slack_channel_id.in_(channels))
    # The ids first, then their rows: selecting whole rows (joined to the customer and the
    # account) put the LIMIT above the joins. The ids, and the count when no channels are
    # given, come off ix_conversations_queue alone.
    chosen = list(
        session.scalars(select(Conversation.id).where(*where).order_by(*QUEUE_ORDER).limit(limit))
    )
    rows = session.scalars(select(Conversation).where(Conversation.id.in_(chosen))).unique()
    by_id = {conversation.id: conversation for conversation in rows}
    total = session.scalar(select(func.count()).select_from(Conversation).where(*where))
    return [by_id[i] for i in chosen if i in by_id], int(total or 0)


def audit(
    session: Session,
    conversation_id: int | None,
    actor: str,
    action: str,
    now: datetime,
    **detail: Any,
) -> None:
    session.add(
        AuditEntry(
            conversation_id=conversation_id, actor=actor, action=action, detail=detail, at=now
        )
    )


RECEIPTS_COVER = 20  # a watermark receipt marks at most the latest answers sent before it


def sent_to_customer(
    session: Session,
    account_id: int,
    network: str,
    customer_external_id: str,
    up_to: datetime | None,
) -> list[Message]:
    """The latest answers delivered to a customer of an account, sent by `up_to` if given."""
    query = (
        select(Message)
        .join(Conversation, Conversation.id == Message.conversation_id)
        .join(Customer, Customer.id == Conversation.customer_id)
        .where(
            Conversation.account_id == account_id,
            Customer.network == network,
            Customer.external_id == customer_external_id,
            Message.direction == Direction.OUTBOUND,
            Message.delivery == Delivery.SENT,
        )
    )
    if up_to is not None:
        query = query.where(Message.created_at <= up_to)
    return list(session.scalars(query.order_by(Message.created_at.desc()).limit(RECEIPTS_COVER)))


def answered_since(session: Session, conversation_id: int, since: datetime, before_id: int) -> bool:
    """Whether the team wrote to the customer (an answer, a notice) at or after `since`, in a
    message older than `before_id`."""
    query = select(Message.id).where(
        Message.conversation_id == conversation_id,
        Message.direction == Direction.OUTBOUND,
        Message.created_at >= since,
        Message.id < before_id,
    )
    return session.scalar(query.limit(1)) is not None


def kept_answers(session: Session, conversation_id: int) -> list[Message]:
    """Answers kept past the network's reply window, oldest first."""
    return list(
        session.scalars(
            select(Message)
            .where(Message.conversation_id == conversation_id, Message.delivery == Delivery.KEPT)
            .order_by(Message.created_at, Message.id)
        )
    )


# --- response times -----------------------------------------------------------------------------
def waiting_for_response(session: Session, conversation_id: int) -> list[Message]:
    return list(
        session.scalars(
            select(Message).where(
                Message.conversation_id == conversation_id,
                Message.response_due_at.is_not(None),
                Message.responded_at.is_(None),
            )
        )
    )


def due_for_alerts(session: Session, now: datetime, *, limit: int) -> list[Conversation]:
    """Conversations with an alert due; replicas on PostgreSQL take disjoint ones."""
    return list(
        session.scalars(
            select(Conversation)
            .where(Conversation.next_alert_at <= now)
            .order_by(Conversation.next_alert_at)
            .limit(limit)
            .with_for_update(skip_locked=True, of=Conversation)
        ).unique()
    )


def earliest_alert_at(session: Session) -> datetime | None:
    return session.scalar(select(func.min(Conversation.next_alert_at)))


def record_alert(
    session: Session, conversation_id: int, alert: PlannedAlert, now: datetime, *, late: bool
) -> bool:
    """Insert the alert unless it fired already (unique per conversation, kind and deadline)."""
    insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    statement = (
        insert(Alert)
        .values(
            conversation_id=conversation_id,
            kind=str(alert.kind),
            target=alert.deadline.target,
            deadline=alert.deadline.due,
            planned_at=alert.at,
            fired_at=now,
            late=late,
        )
        .on_conflict_do_nothing()
        .returning(Alert.id)
    )
    # RETURNING, not rowcount: an ORM-enabled insert reports no usable rowcount on PostgreSQL.
    return session.execute(statement).scalar() is not None


# --- on call ------------------------------------------------------------------------------------
def current_rotation(session: Session) -> OnCallRotation | None:
    return session.scalar(select(OnCallRotation).order_by(OnCallRotation.id.desc()).limit(1))


def active_overrides(session: Session, now: datetime) -> list[OnCallOverride]:
    query = select(OnCallOverride).where(OnCallOverride.ends_at > now)
    return list(session.scalars(query.order_by(OnCallOverride.starts_at, OnCallOverride.id)))


# --- priority -----------------------------------------------------------------------------------
def vip_notes(session: Session, network: str, handles: Collection[str]) -> dict[str, str]:
    """The VIP notes of these handles (lower case) of `network`: one query for a page."""
    if not handles:
        return {}
    query = select(Vip.handle, Vip.note).where(Vip.network == network, Vip.handle.in_(handles))
    return {handle: note for handle, note in session.execute(query)}


def vips(session: Session, network: str) -> list[Vip]:
    return list(session.scalars(select(Vip).filter_by(network=network).order_by(Vip.handle)))


def upsert_vip(
    session: Session, network: str, handle: str, note: str, user: str, now: datetime
) -> None:
    vip = session.scalar(select(Vip).filter_by(network=network, handle=handle))
    if vip is None:
        vip = Vip(network=network, handle=handle)
        session.add(vip)
    vip.note, vip.added_by, vip.added_at = note, user, now


def delete_vip(session: Session, network: str, handle: str) -> bool:
    vip = session.scalar(select(Vip).filter_by(network=network, handle=handle))
    if vip is not None:
        session.delete(vip)
    return vip is not None


def linked_customers(customer: Customer) -> Select[int]:
    """The ids of every account of this person, as a subquery for `in_()`."""
    if customer.person_id is None:
        return select(Customer.id).where(Customer.id == customer.id)
    return select(Customer.id).where(Customer.person_id == customer.person_id)


def linked_customer_ids(session: Session, customer: Customer) -> list[int]:
    return list(session.scalars(linked_customers(customer)))


def contacts_since(session: Session, customer: Customer, since: datetime) -> int:
    """Conversations of this person (all linked accounts) opened since `since`."""
    query = select(func.count(Conversation.id)).where(
        Conversation.customer_id.in_(linked_customers(customer)), Conversation.opened_at >= since
    )
    return session.scalar(query) or 0


def person_conversations(
    session: Session, customer: Customer, *, limit: int = 15
) -> list[Conversation]:
    query = (
        select(Conversation)
        .where(Conversation.customer_id.in_(linked_customers(customer)))
        .order_by(Conversation.opened_at.desc(), Conversation.id.desc())
        .limit(limit)
    )
    return list(session.scalars(query).unique())


def customer_by_external_id(session: Session, network: str, external_id: str) -> Customer | None:
    return session.scalar(
        select(Customer).where(Customer.network == network, Customer.external_id == external_id)
    )


def customer_by_handle(session: Session, network: str, handle: str) -> Customer | None:
    return session.scalar(
        select(Customer).where(
            Customer.network == network, func.lower(Customer.handle) == handle.lower()
        )
    )


def audit_entries(session: Session, conversation_id: int) -> list[AuditEntry]:
    query = select(AuditEntry).filter_by(conversation_id=conversation_id)
    return list(session.scalars(query.order_by(AuditEntry.at, AuditEntry.id)))
