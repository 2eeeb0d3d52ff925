"""People: one person's customers on several networks, joined by the team (`/care link`, the
card's Same person as..., an accepted suggestion) or by what a network says (a private reply
to a comment reached the commenter's Messenger id). Every join and split is audited."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from storage.models import Customer, CustomerIdentifier, LinkSuggestion, Person, Vip


def join(session: Session, customers: Sequence[Customer], by: str, now: datetime) -> int:
    """Make `customers`, and everyone already linked to any of them, one person; its id."""
    people = sorted({c.person_id for c in customers if c.person_id is not None})
    if people:
        person = people[0]
    else:
        row = Person(created_at=now, created_by=by)
        session.add(row)
        session.flush()
        person = row.id
    for customer in customers:
        customer.person_id = person
    session.flush()
    for merged in people[1:]:  # two people become one: the second's customers move over
        for moved in session.scalars(select(Customer).where(Customer.person_id == merged)):
            moved.person_id = person
        session.flush()
        session.delete(session.get(Person, merged))
    return person


def split(session: Session, customer: Customer) -> None:
    """`customer` is someone else after all: no longer one of its person's accounts. A person
    left with a single customer is no person any more."""
    person = customer.person_id
    if person is None:
        return
    customer.person_id = None
    session.flush()
    left = list(session.scalars(select(Customer).where(Customer.person_id == person)))
    if len(left) <= 1:
        for alone in left:
            alone.person_id = None
        session.flush()
        row = session.get(Person, person)
        if row is not None:
            session.delete(row)


def accounts(session: Session, customer: Customer) -> list[Customer]:
    """All of this person's customers, this one included, oldest first."""
    if customer.person_id is None:
        return [customer]
    query = select(Customer).where(Customer.person_id == customer.person_id).order_by(Customer.id)
    return list(session.scalars(query))


def same_person(first: Customer, second: Customer) -> bool:
    return first.id == second.id or (
        first.person_id is not None and first.person_id == second.person_id
    )


def named(session: Session, network: str, name: str) -> list[Customer]:
    """Customers of `network` called `name` (any case): on a network without handles."""
    query = select(Customer).where(
        Customer.network == network, func.lower(Customer.name) == name.lower()
    )
    return list(session.scalars(query.limit(10)))


def recent_customers(
    session: Session, networks: Collection[str], text: str, *, limit: int = 20
) -> list[Customer]:
    """Customers whose handle or name contains `text`, the most recently seen first: the
    searchable list of Same person as..."""
    query = select(Customer).where(Customer.network.in_(networks))
    if text.strip():
        like = f"%{text.strip().lower()}%"
        query = query.where(
            func.lower(Customer.handle).like(like) | func.lower(Customer.name).like(like)
        )
    return list(session.scalars(query.order_by(Customer.updated_at.desc()).limit(limit)))


def vip_note(session: Session, customer: Customer) -> str | None:
    """The VIP note of any of this person's accounts: VIP on one network, VIP on all."""
    if customer.person_id is None:
        return None
    accounts_vip = (
        select(Vip.note)
        .join(
            Customer,
            (Customer.network == Vip.network) & (func.lower(Customer.handle) == Vip.handle),
        )
        .where(Customer.person_id == customer.person_id)
        .limit(1)
    )
    note = session.scalar(accounts_vip)
    if note:
        return note
    query = select(Customer.vip_note).where(
        Customer.person_id == customer.person_id, Customer.vip_note.is_not(None)
    )
    return session.scalar(query.limit(1))


# --- what identifies a person, and the links it suggests -------------------------------------
def remember(
    session: Session, customer: Customer, kind: str, digest: str, shown: str, now: datetime
) -> bool:
    """Keep that `customer` wrote this identifier; True when it is new for them."""
    row = session.scalar(
        select(CustomerIdentifier).filter_by(customer_id=customer.id, kind=kind, digest=digest)
    )
    if row is not None:
        row.seen_at = now
        return False
    session.add(
        CustomerIdentifier(
            customer_id=customer.id, kind=kind, digest=digest, shown=shown, seen_at=now
        )
    )
    return True


def others_with(
    session: Session, customer: Customer, kind: str, digest: str, since: datetime | None
) -> list[Customer]:
    """Other customers who wrote the same identifier (since `since`, when given)."""
    query = (
        select(Customer)
        .join(CustomerIdentifier, CustomerIdentifier.customer_id == Customer.id)
        .where(
            CustomerIdentifier.kind == kind,
            CustomerIdentifier.digest == digest,
            Customer.id != customer.id,
        )
    )
    if since is not None:
        query = query.where(CustomerIdentifier.seen_at >= since)
    return list(session.scalars(query.limit(10)))


def suggestion_between(session: Session, first: int, second: int) -> LinkSuggestion | None:
    low, high = sorted((first, second))
    return session.scalar(select(LinkSuggestion).filter_by(customer_id=low, other_id=high))


def open_suggestions(session: Session, customer_ids: Collection[int]) -> list[LinkSuggestion]:
    """Undecided suggestions about any of these customers, newest first."""
    ids = list(customer_ids)
    query = (
        select(LinkSuggestion)
        .where(
            LinkSuggestion.status == "open",
            LinkSuggestion.customer_id.in_(ids) | LinkSuggestion.other_id.in_(ids),
        )
        .order_by(LinkSuggestion.id.desc())
    )
    return list(session.scalars(query.limit(3)))
