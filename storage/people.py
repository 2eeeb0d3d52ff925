"""People: one person's customers on several networks, joined by the team (`/care link`, the
card's Same person as..., an accepted suggestion) or by what a network says (a private reply
to a comment reached the commenter's Messenger id). Every join and split is audited."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from storage.models import Customer, Person


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
