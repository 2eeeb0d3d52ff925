"""One leader among replicas: the process holding a PostgreSQL advisory lock runs the pollers,
the deadline sweeper, handoffs and the digest; every replica shares the outbox.

The lock lives on a connection of its own: if the leader dies, PostgreSQL ends its session and
frees the lock, and another replica takes it at its next attempt. SQLite means one process, so
that process always leads.
"""

from __future__ import annotations

import threading
from typing import Any

import structlog
from sqlalchemy import text

from storage.db import Database

log = structlog.get_logger(__name__)
# Advisory locks belong to the whole database; the second key, from the schema the tables live
# in, keeps two deployments sharing one database (each in its own schema) from sharing a leader.
LOCK_KEY = 0x43415245  # "CARE"
SCHEMA_KEY = "hashtext(coalesce(current_schema(), ''))"


class Leadership:
    def __init__(self, database: Database) -> None:
        self.database = database
        self._connection: Any = None
        self._lock = threading.Lock()

    @property
    def shared(self) -> bool:
        return not self.database.is_sqlite

    def is_leader(self) -> bool:
        """True if this process leads; tries to become the leader when it does not."""
        if not self.shared:
            return True
        with self._lock:
            if self._connection is not None and self._alive():
                return True
            self._release()
            connection = self.database.engine.connect()
            taken = connection.execute(
                text(f"SELECT pg_try_advisory_lock(:key, {SCHEMA_KEY})"), {"key": LOCK_KEY}
            ).scalar()
            connection.commit()
            if taken:
                self._connection = connection
                log.info("leadership.acquired")
                return True
            connection.close()
            return False

    def resign(self) -> None:
        with self._lock:
            self._release()

    def _alive(self) -> bool:
        try:
            self._connection.execute(text("SELECT 1"))
            self._connection.commit()
            return True
        except Exception:  # the session is gone, and the lock with it
            log.warning("leadership.lost")
            return False

    def _release(self) -> None:
        if self._connection is not None:
            try:
                self._connection.execute(
                    text(f"SELECT pg_advisory_unlock(:key, {SCHEMA_KEY})"), {"key": LOCK_KEY}
                )
                self._connection.commit()
                self._connection.close()
            except Exception:  # already closed: the lock went with the session
                log.info("leadership.released_with_session")
            self._connection = None
