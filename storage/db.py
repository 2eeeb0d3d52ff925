"""Engine and sessions. SQLite runs in WAL mode with write transactions taken up front
(`BEGIN IMMEDIATE`), so concurrent writers queue on the lock instead of failing half-way; reads
(`Database.reading()`) take no lock at all, so /healthz, Slack's acknowledgements and the
outbox's renders never wait behind a writer.

Within the process, SQLite writers also queue on a lock of ours before `BEGIN IMMEDIATE`:
SQLite's busy handler retries by sleeping (up to 100 ms a time, no queue), so under a burst a
writer could lose the lock again and again (webhook acknowledgements waited 2 s that way);
a thread waiting on our lock is woken the moment the writer before it commits. The lock is
handed over in arrival order: Python's own locks are not fair, and the poller, ingesting a
backlog in back-to-back transactions, took it again before the waiting outbox woke up, so no card
was posted until the whole backlog was stored."""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import CursorResult, Engine, Update, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

SQLITE_BUSY_TIMEOUT_MS = 15_000


class Database:
    def __init__(self, url: str, *, echo: bool = False) -> None:
        self.url = url
        self.engine = create_database_engine(url, echo=echo)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)
        # On SQLite, reads get an engine of their own whose transactions begin deferred: a
        # snapshot, no write lock. PostgreSQL's reads never block writers anyway.
        self._read_engine = (
            create_database_engine(url, echo=echo, for_reading=True)
            if self.is_sqlite
            else self.engine
        )
        self._readers = sessionmaker(self._read_engine, expire_on_commit=False)
        self._writers = FairLock()  # SQLite: one writer at a time, the others queued

    @property
    def is_sqlite(self) -> bool:
        return self.engine.dialect.name == "sqlite"

    @contextmanager
    def transaction(self, *, urgent: bool = False) -> Iterator[Session]:
        """One unit of work: committed when the block ends, rolled back if it raises. On
        SQLite, an `urgent` one (someone waits for it) goes before queued background writers."""
        if not self.is_sqlite:
            with self._sessions.begin() as session:
                yield session
            return
        # Re-entrant, and given up after SQLite's own timeout: a nested transaction or a writer
        # in another process then meets SQLite's busy handler and its error, as without it.
        gated = self._writers.acquire(timeout=SQLITE_BUSY_TIMEOUT_MS / 1000, urgent=urgent)
        try:
            with self._sessions.begin() as session:
                yield session
        finally:
            if gated:
                self._writers.release()

    @contextmanager
    def reading(self) -> Iterator[Session]:
        """A consistent read that writes nothing (on SQLite it could not: it holds no lock)."""
        with self._readers.begin() as session:
            yield session

    def dispose(self) -> None:
        self.engine.dispose()
        if self._read_engine is not self.engine:
            self._read_engine.dispose()


class FairLock:
    """A re-entrant lock taken in the order it was asked for, except that a thread someone is
    waiting on (an agent's answer on its way to the customer) goes before background work
    (a backlog being stored, cards being recorded): it then waits for the holder only."""

    def __init__(self) -> None:
        self._changed = threading.Condition(threading.Lock())
        self._waiting: deque[object] = deque()
        self._urgent: deque[object] = deque()
        self._owner: int | None = None
        self._depth = 0

    def acquire(self, timeout: float, *, urgent: bool = False) -> bool:
        me = threading.get_ident()
        with self._changed:
            if self._owner == me:
                self._depth += 1
                return True
            turn, line = object(), self._urgent if urgent else self._waiting
            line.append(turn)
            if not self._changed.wait_for(
                lambda: self._owner is None and self._next() is turn, timeout
            ):
                line.remove(turn)
                self._changed.notify_all()  # the next in line may be first now
                return False
            line.popleft()
            self._owner, self._depth = me, 1
            return True

    def _next(self) -> object | None:
        line = self._urgent or self._waiting
        return line[0] if line else None

    def release(self) -> None:
        with self._changed:
            if self._owner != threading.get_ident():
                raise RuntimeError("released by a thread that does not hold it")
            self._depth -= 1
            if self._depth == 0:
                self._owner = None
                self._changed.notify_all()


def create_database_engine(url: str, *, echo: bool = False, for_reading: bool = False) -> Engine:
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        # Without a connect timeout, a host that drops packets hangs start-up and doctor for
        # minutes (the system's TCP timeout) instead of failing with a clear message.
        return create_engine(
            url, echo=echo, pool_pre_ping=True, connect_args={"connect_timeout": 10}
        )
    engine = create_engine(url, echo=echo, connect_args={"check_same_thread": False, "timeout": 15})
    _sqlite_transactions(engine, begin="BEGIN" if for_reading else "BEGIN IMMEDIATE")
    return engine


def _sqlite_transactions(engine: Engine, begin: str) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy, not pysqlite, decide when a transaction begins (see "begin" below).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        connection.exec_driver_sql(begin)


def session_dialect(session: Session) -> str:
    return session.get_bind().dialect.name


def matched_rows(session: Session, statement: Update) -> int:
    """Run an UPDATE and return how many rows its WHERE matched (for compare-and-set).

    Session.execute is typed as returning a plain Result; an UPDATE without RETURNING gives the
    CursorResult that carries the row count."""
    result = session.execute(statement)
    if not isinstance(result, CursorResult):
        raise TypeError(f"an UPDATE returned {type(result).__name__}, not a CursorResult")
    return result.rowcount
