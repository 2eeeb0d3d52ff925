"""Keeping the database small: finished outbox jobs and processed webhook deliveries are
deleted once they are older than OUTBOX_RETENTION (their keys have kept effects once-only for
as long as a retry or a redelivery could come)."""

from __future__ import annotations

from datetime import timedelta

import structlog
from sqlalchemy import delete, select

from bot.services.context import Context
from storage import outbox_rows
from storage.models import InboxDelivery

log = structlog.get_logger(__name__)
BATCH = 5_000


class Housekeeping:
    def __init__(self, context: Context, retention: timedelta) -> None:
        self.context = context
        self.retention = retention

    def prune(self) -> int:
        """Delete what is past retention, a batch per transaction; how many rows went."""
        before = self.context.clock.now() - self.retention
        removed = 0
        while True:
            with self.context.database.transaction() as session:
                jobs = outbox_rows.prune(session, before, batch=BATCH)
                old = select(InboxDelivery.id).where(InboxDelivery.processed_at < before)
                ids = list(session.scalars(old.limit(BATCH)))
                if ids:
                    session.execute(delete(InboxDelivery).where(InboxDelivery.id.in_(ids)))
            removed += jobs + len(ids)
            if jobs < BATCH and len(ids) < BATCH:
                break
        if removed:
            log.info("housekeeping.pruned", rows=removed, before=before.isoformat())
        return removed
