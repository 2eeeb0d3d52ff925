"""Outbox rows: enqueue (inside the caller's transaction) and lease due jobs (short transactions).

A job is leased, performed outside any transaction, then finished in another short transaction.
Holding a database transaction open across a network call would block every other writer on
SQLite; a lease that expires lets another worker (or this one after a restart) pick it up again.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, and_, delete, exists, literal, select, true, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, aliased

from storage.db import matched_rows
from storage.models import OutboxJob

PENDING, RUNNING, DONE, FAILED = "pending", "running", "done", "failed"


@dataclass(frozen=True)
class NewJob:
    kind: str
    key: str
    payload: dict[str, Any]
    priority: int = 0
    ordering_key: str | None = None
    lane: str | None = None
    delay: timedelta = timedelta(0)


def enqueue(session: Session, job: NewJob, now: datetime) -> bool:
    """Insert the job unless one with the same idempotency key exists. True if inserted."""
    values = {
        "kind": job.kind,
        "payload": job.payload,
        "idempotency_key": job.key,
        "status": PENDING,
        "priority": job.priority,
        "ordering_key": job.ordering_key,
        "lane": job.lane,
        "attempts": 0,
        "next_attempt_at": now + job.delay,
        "created_at": now,
    }
    statement = _INSERTS[session.get_bind().dialect.name]
    return session.execute(statement, values).scalar() is not None


# One statement per dialect, on the table rather than the ORM class: built and compiled once,
# not per job (the ORM's bulk-insert path was an eighth of ingesting a message). RETURNING, not
# rowcount: an insert that does nothing on conflict reports no usable rowcount on PostgreSQL.
_INSERTS = {
    name: dialect.insert(OutboxJob.__table__)
    .on_conflict_do_nothing()
    .returning(OutboxJob.__table__.c.id)
    for name, dialect in (("postgresql", postgresql), ("sqlite", sqlite))
}


def due_candidates(
    session: Session,
    now: datetime,
    *,
    limit: int,
    skip_lanes: set[str],
    paced: Callable[[str], bool] = lambda lane: True,
    kinds: Kinds | None = None,
) -> list[int]:
    """The ids of up to `limit` due jobs, highest priority first, each the oldest of its
    ordering key, none in `skip_lanes` (waiting out their pacing) and one per lane that `paced`
    says is. Chosen by id, priority and lane alone (no payload read), in a read: `lease()`
    takes them in a short write. Expired leases of a crashed worker count as due again."""
    candidates: list[tuple[int, int, str | None]] = []
    for due in _due(now):  # apart, so each is one walk of its index
        query = select(OutboxJob.id, OutboxJob.priority, OutboxJob.lane).where(
            due, _first_of_its_ordering_key(), _of_kinds(kinds)
        )
        if skip_lanes:
            query = query.where(OutboxJob.lane.is_(None) | OutboxJob.lane.not_in(skip_lanes))
        query = query.order_by(OutboxJob.priority.desc(), OutboxJob.id).limit(limit * 4)
        candidates += [(row.id, row.priority, row.lane) for row in session.execute(query)]
    chosen: list[int] = []
    lanes_taken: set[str] = set()
    for job_id, _, lane in sorted(candidates, key=lambda c: (-c[1], c[0])):
        if lane is not None and paced(lane):
            if lane in lanes_taken:
                continue  # one job per paced lane per batch: pacing decides the next
            lanes_taken.add(lane)
        chosen.append(job_id)
        if len(chosen) == limit:
            break
    return chosen


def lease(session: Session, ids: list[int], now: datetime, duration: timedelta) -> list[OutboxJob]:
    """Take the jobs among `ids` that are still due (another worker may have taken some since
    they were chosen); on PostgreSQL with `FOR UPDATE SKIP LOCKED`, so replicas never share."""
    if not ids:
        return []
    pending, expired = _due(now)
    locked = (
        select(OutboxJob)
        .where(OutboxJob.id.in_(ids), pending | expired)
        .order_by(OutboxJob.priority.desc(), OutboxJob.id)
        .with_for_update(skip_locked=True, of=OutboxJob)
    )
    jobs = list(session.scalars(locked))
    for job in jobs:
        job.status = RUNNING
        job.attempts += 1
        job.leased_until = now + duration
    return jobs


def _due(now: datetime) -> tuple[ColumnElement[bool], ColumnElement[bool]]:
    pending = (OutboxJob.status == PENDING) & (OutboxJob.next_attempt_at <= now)
    expired = (OutboxJob.status == RUNNING) & (OutboxJob.leased_until <= now)
    return pending, expired


def next_due_at(session: Session, kinds: Kinds | None = None) -> datetime | None:
    """When the earliest runnable job (or expiring lease) becomes due: the worker sleeps until.
    Jobs waiting behind an earlier job of their ordering key don't count: that one decides."""
    pending = select(OutboxJob.next_attempt_at).where(
        (OutboxJob.status == PENDING) & _first_of_its_ordering_key() & _of_kinds(kinds)
    )
    leased = select(OutboxJob.leased_until).where((OutboxJob.status == RUNNING) & _of_kinds(kinds))
    times = [
        session.scalar(pending.order_by(OutboxJob.next_attempt_at).limit(1)),
        session.scalar(leased.order_by(OutboxJob.leased_until).limit(1)),
    ]
    present = [t for t in times if t is not None]
    return min(present) if present else None


@dataclass(frozen=True)
class Kinds:
    """Which kinds of job a worker takes: `only` these, or every kind but `but`."""

    only: frozenset[str] | None = None
    but: frozenset[str] = frozenset()


def _of_kinds(kinds: Kinds | None) -> ColumnElement[bool]:
    if kinds is None:
        return true()
    condition: ColumnElement[bool] = true()
    if kinds.only is not None:
        condition = OutboxJob.kind.in_(sorted(kinds.only))
    if kinds.but:
        condition = condition & OutboxJob.kind.not_in(sorted(kinds.but))
    return condition


def _first_of_its_ordering_key() -> ColumnElement[bool]:
    earlier = aliased(OutboxJob)
    blocked_by_earlier = exists().where(
        and_(
            earlier.ordering_key == OutboxJob.ordering_key,
            # Written out, not bound: only then can SQLite prove the partial index's condition
            # (ix_outbox_unfinished_by_key) and seek by key instead of walking every unfinished job.
            earlier.status.in_([literal(s, literal_execute=True) for s in (PENDING, RUNNING)]),
            earlier.id < OutboxJob.id,
        )
    )
    return OutboxJob.ordering_key.is_(None) | ~blocked_by_earlier


def unfinished(session: Session, kind: str, lane: str | None = None) -> bool:
    """Whether a job of `kind` (in `lane`, if given) is still pending or running."""
    active = (OutboxJob.kind == kind) & OutboxJob.status.in_((PENDING, RUNNING))
    if lane is not None:
        active &= OutboxJob.lane == lane
    return session.scalar(select(exists().where(active))) or False


def renew_lease(session: Session, job_id: int, attempt: int, until: datetime) -> bool:
    """Extend the lease of a job this worker still holds (the same attempt); False when the lease
    expired and another worker has taken the job since."""
    held = (
        (OutboxJob.id == job_id) & (OutboxJob.status == RUNNING) & (OutboxJob.attempts == attempt)
    )
    return matched_rows(session, update(OutboxJob).where(held).values(leased_until=until)) == 1


def held(job: OutboxJob | None, attempt: int) -> bool:
    """Whether `job` is still leased by the worker that took it at `attempt`."""
    return job is not None and job.status == RUNNING and job.attempts == attempt


def mark_done(job: OutboxJob, now: datetime, result: dict[str, Any] | None) -> None:
    job.status = DONE
    job.done_at = now
    job.leased_until = None
    job.result = result
    job.last_error = None


def mark_retry(job: OutboxJob, at: datetime, error: str, *, count_attempt: bool = True) -> None:
    job.status = PENDING
    job.next_attempt_at = at
    job.leased_until = None
    job.last_error = error
    if not count_attempt:
        job.attempts -= 1


def mark_failed(job: OutboxJob, now: datetime, error: str) -> None:
    job.status = FAILED
    job.done_at = now
    job.leased_until = None
    job.last_error = error


def prune(session: Session, before: datetime, *, batch: int = 5_000) -> int:
    """Delete up to `batch` jobs finished (done or given up) before `before`; the caller
    repeats, committing in between, so no transaction holds the table long."""
    finished = select(OutboxJob.id).where(
        OutboxJob.status.in_((DONE, FAILED)), OutboxJob.done_at < before
    )
    ids = list(session.scalars(finished.limit(batch)))
    if ids:
        session.execute(delete(OutboxJob).where(OutboxJob.id.in_(ids)))
    return len(ids)
