"""The outbox worker: performs due side effects, paced and retried, each taking effect once.

A job handler does three things for its kind of job:
- `perform(job)`: the network call (it may read the database in its own short transaction);
  raises a `DeliveryError` subclass on failure;
- `record(session, job, result, now)`: store what the call returned (a Slack ts, a tweet id) and
  enqueue follow-ups, in the same transaction that marks the job done;
- `give_up(session, job, reason, now)`: tell people when retrying is over.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

import structlog
from sqlalchemy.orm import Session

from bot.clock import Clock
from bot.domain.delivery import (
    DeliveryError,
    PermanentError,
    RateLimited,
    TransientError,
    backoff,
    rate_limit_until,
)
from storage import outbox_rows as rows
from storage.db import Database
from storage.models import OutboxJob

log = structlog.get_logger(__name__)
RECORD_BATCH = 10  # results recorded per write transaction, at most


@dataclass(frozen=True)
class Job:
    """A leased job, detached from the database session."""

    id: int
    kind: str
    key: str
    payload: dict[str, Any]
    attempts: int
    lane: str | None
    # An earlier attempt started, so it may have taken effect although we never heard: a rate
    # limit does not count as an attempt, yet may have hit a call after the effect.
    tried_before: bool = False

    @classmethod
    def of(cls, row: OutboxJob) -> Job:
        tried = row.attempts > 1 or row.last_error is not None
        payload = dict(row.payload)
        return cls(row.id, row.kind, row.idempotency_key, payload, row.attempts, row.lane, tried)


@dataclass(frozen=True)
class _Performed:
    """A job whose call succeeded, waiting for its result to be recorded."""

    job: Job
    handler: JobHandler
    result: dict[str, Any] | None
    at: datetime


class JobHandler(Protocol):
    max_attempts: int

    def perform(self, job: Job) -> dict[str, Any] | None: ...

    def record(
        self, session: Session, job: Job, result: dict[str, Any] | None, now: datetime
    ) -> None: ...

    def give_up(self, session: Session, job: Job, reason: str, now: datetime) -> None: ...


class OutboxWorker:
    def __init__(
        self,
        database: Database,
        handlers: Mapping[str, JobHandler],
        clock: Clock,
        *,
        pacing: Mapping[str, timedelta] | None = None,
        lease: timedelta = timedelta(seconds=30),
        batch: int = 20,
        kinds: rows.Kinds | None = None,
        urgent: bool = False,
    ) -> None:
        self.database = database
        self.handlers = dict(handlers)
        self.clock = clock
        # Minimum gap between two jobs of a lane, by the lane's prefix: Slack allows about one
        # message per second per channel.
        self.pacing = dict(pacing if pacing is not None else {"slack": timedelta(seconds=1)})
        self.lease = lease
        self.batch = batch
        self.kinds = kinds
        self._lane_free_at: dict[str, datetime] = {}
        self.urgent = urgent  # a worker of what customers wait for (answers): see _transaction
        self._wake = threading.Event()

    def taking(self, kinds: rows.Kinds, *, urgent: bool = False) -> OutboxWorker:
        """A worker like this one for only some kinds of job, to run in a thread of its own:
        answers to customers then never wait behind a batch of Slack posts and renders (and,
        `urgent`, their writes not behind queued background ones)."""
        return OutboxWorker(
            self.database,
            self.handlers,
            self.clock,
            pacing=self.pacing,
            lease=self.lease,
            batch=self.batch,
            kinds=kinds,
            urgent=urgent,
        )

    def notify(self) -> None:
        """Something was enqueued: look now instead of at the next planned wake-up."""
        self._wake.set()

    def run_due(self) -> int:
        """Perform every job that is due now; return how many were attempted."""
        attempted = 0
        while True:
            now = self.clock.now()
            busy = {lane for lane, free_at in self._lane_free_at.items() if free_at > now}
            # Chosen in a read, taken in a short write: SQLite's write lock is not held while
            # the outbox looks through what is due (webhooks and listeners wait on that lock).
            with self.database.reading() as session:
                chosen = rows.due_candidates(
                    session,
                    now,
                    limit=self.batch,
                    skip_lanes=busy,
                    paced=self._paced,
                    kinds=self.kinds,
                )
            if not chosen:
                return attempted
            with self._transaction() as session:
                jobs = [Job.of(row) for row in rows.lease(session, chosen, now, self.lease)]
            if not jobs:
                continue  # another worker took them meanwhile: look again
            leased_at = self.clock.now()
            performed: list[_Performed] = []
            for job in jobs:
                # The lease runs from the batch's start: once a third is used up (Slack is
                # slow), each job's is renewed at its turn, and the results so far recorded
                # first, as one left unrecorded could outlive its job's lease and another
                # worker repeat the job. Until then results are recorded by ten.
                late = self.clock.now() - leased_at > self.lease / 3
                if late and performed:
                    self._record(performed)
                    performed = []
                if late and not self._renew(job):
                    log.info("outbox.lease_lost", job_id=job.id, kind=job.kind)
                    continue  # another worker took it while it waited its turn
                done = self._perform(job)
                attempted += 1
                if done is not None:
                    performed.append(done)
                if len(performed) == RECORD_BATCH:
                    self._record(performed)
                    performed = []
            self._record(performed)

    def _transaction(self) -> AbstractContextManager[Session]:
        # The customer-facing worker's writes go before queued background ones (storage.db).
        return self.database.transaction(urgent=self.urgent)

    def _paced(self, lane: str) -> bool:
        """Whether posts in `lane` are kept apart (Slack's channels, unless SLACK_POST_INTERVAL
        is 0s): then one job of it per batch."""
        return bool(self.pacing.get(lane.split(":", 1)[0]))

    def next_wake(self) -> datetime | None:
        """The next moment a job may become runnable (a due time, a lease, a lane's pacing)."""
        with self.database.reading() as session:
            due = rows.next_due_at(session, self.kinds)
        now = self.clock.now()
        if due is None or due > now:
            return due
        # Due but not taken: its lane is pacing (or another replica holds it).
        lanes = [t for t in self._lane_free_at.values() if t > now]
        return min(lanes) if lanes else now

    def run_forever(self, stop: threading.Event, *, idle: float = 5.0) -> None:
        log.info("outbox.started")
        while not stop.is_set():
            # Cleared before looking, not after waiting: a job enqueued while this round runs
            # leaves the flag set, so the wait below returns at once instead of missing it.
            self._wake.clear()
            try:
                self.run_due()
                wake = self.next_wake()
            except Exception:
                log.exception("outbox.loop_failed")
                wake = None
            delay = idle if wake is None else (wake - self.clock.now()).total_seconds()
            self._wake.wait(timeout=min(max(delay, 0.05), idle))
        log.info("outbox.stopped")

    # --- one job -------------------------------------------------------------------------------
    def _perform(self, job: Job) -> _Performed | None:
        """Make the job's call; what it returned, to be recorded, or None when it failed (the
        failure is recorded here)."""
        handler = self.handlers.get(job.kind)
        bound = log.bind(job_id=job.id, kind=job.kind, attempt=job.attempts)
        if handler is None:
            self._finish_failed(job, None, f"no handler for job kind {job.kind!r}")
            bound.error("outbox.unknown_kind")
            return None
        try:
            result = handler.perform(job)
        except RateLimited as limited:
            retry_at = rate_limit_until(limited.retry_at, self.clock.now())
            if job.lane:
                self._lane_free_at[job.lane] = retry_at
            self._retry(job, retry_at, limited.reason, count_attempt=False)
            bound.warning("outbox.rate_limited", retry_at=retry_at.isoformat())
            return None
        except PermanentError as error:
            self._finish_failed(job, handler, error.reason)
            bound.warning("outbox.failed", reason=error.reason)
            return None
        except (TransientError, DeliveryError) as error:
            self._retry_or_give_up(job, handler, error.reason, bound)
            return None
        except Exception as error:  # a bug in a handler must not stop the outbox
            bound.exception("outbox.handler_crashed")
            self._retry_or_give_up(job, handler, f"{type(error).__name__}: {error}", bound)
            return None
        now = self.clock.now()
        gap = self.pacing.get(job.lane.split(":", 1)[0]) if job.lane else None
        if job.lane and gap:
            self._lane_free_at[job.lane] = now + gap
        return _Performed(job, handler, result, now)

    def _record(self, performed: list[_Performed]) -> None:
        """Store what the calls returned and mark their jobs done, several in one transaction:
        a write transaction per job made a backlog's cards wait for SQLite's lock in turn.
        Should one job's record fail, the others are recorded one by one, as before."""
        if not performed:
            return
        try:
            with self._transaction() as session:
                for done in performed:
                    self._record_one(session, done)
        except Exception:
            if len(performed) == 1:
                raise  # the loop logs it; the job's lease runs out and it is tried again
            for done in performed:
                try:
                    self._record([done])
                except Exception:
                    log.exception("outbox.record_failed", job_id=done.job.id, kind=done.job.kind)
            return
        for done in performed:
            log.info(
                "outbox.done", job_id=done.job.id, kind=done.job.kind, attempt=done.job.attempts
            )
        self._wake.set()  # record() may have enqueued follow-ups (a reaction after a delivery)

    @staticmethod
    def _record_one(session: Session, done: _Performed) -> None:
        row = session.get(OutboxJob, done.job.id)
        if row is None or not rows.held(row, done.job.attempts):
            return  # lease expired and another worker took over; it records instead
        done.handler.record(session, done.job, done.result, done.at)
        rows.mark_done(row, done.at, done.result)

    def _renew(self, job: Job) -> bool:
        """A batch is leased at once; each job's lease restarts when its turn comes, so a
        long batch does not outlive its leases and a crash strands a job for one lease only."""
        with self._transaction() as session:
            return rows.renew_lease(session, job.id, job.attempts, self.clock.now() + self.lease)

    def _retry_or_give_up(self, job: Job, handler: JobHandler, reason: str, bound: Any) -> None:
        if job.attempts >= handler.max_attempts:
            self._finish_failed(job, handler, reason)
            bound.warning("outbox.gave_up", reason=reason)
            return
        retry_at = self.clock.now() + backoff(job.attempts)
        self._retry(job, retry_at, reason)
        bound.info("outbox.retry", reason=reason, retry_at=retry_at.isoformat())

    def _retry(self, job: Job, at: datetime, reason: str, *, count_attempt: bool = True) -> None:
        with self._transaction() as session:
            row = session.get(OutboxJob, job.id)
            if row is not None and rows.held(row, job.attempts):
                rows.mark_retry(row, at, reason, count_attempt=count_attempt)

    def _finish_failed(self, job: Job, handler: JobHandler | None, reason: str) -> None:
        now = self.clock.now()
        with self._transaction() as session:
            row = session.get(OutboxJob, job.id)
            if row is None or not rows.held(row, job.attempts):
                return
            rows.mark_failed(row, now, reason)
            if handler is not None:
                handler.give_up(session, job, reason, now)
