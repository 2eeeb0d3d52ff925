"""Copy every row from one Carebridge database to another (moving from SQLite to PostgreSQL).

The poll cursors and every message's network id come along, so the bot continues on the new
database without fetching or posting anything twice. The target is migrated to head first and
must be empty; the source must be at head too, so both have the same tables.
"""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import Connection, func, select, text

from storage import migrate
from storage.db import Database
from storage.models import Base

BATCH = 1_000
# Told, after each batch, the table, the rows of it copied so far and how many it has: the
# command line turns it into a bar or log events, so storage stays free of any of it.
Progress = Callable[[str, int, int], None]


class CopyError(Exception):
    pass


def copy_database(
    source: Database, target: Database, progress: Progress | None = None
) -> dict[str, int]:
    """Copy all tables in dependency order; return the row count per table."""
    if migrate.current_revision(source) != migrate.head_revision():
        raise CopyError("the source database is not at the latest revision: upgrade it first")
    migrate.upgrade(target)
    tables = Base.metadata.sorted_tables
    with target.engine.connect() as connection:
        filled = [t.name for t in tables if connection.scalar(select(func.count()).select_from(t))]
    if filled:
        raise CopyError(f"the target database is not empty ({', '.join(filled)})")
    counts: dict[str, int] = {}
    with source.engine.connect() as reading, target.engine.begin() as writing:
        for table in tables:
            counts[table.name] = 0
            total = reading.scalar(select(func.count()).select_from(table)) or 0
            rows = reading.execute(select(table).order_by(*table.primary_key.columns))
            while batch := rows.fetchmany(BATCH):
                writing.execute(table.insert(), [row._asdict() for row in batch])
                counts[table.name] += len(batch)
                if progress is not None:
                    progress(table.name, counts[table.name], total)
        if target.engine.dialect.name == "postgresql":
            _advance_sequences(writing)
    return counts


def _advance_sequences(connection: Connection) -> None:
    """Rows came with their ids; PostgreSQL's id sequences must continue after them."""
    for table in Base.metadata.sorted_tables:
        if "id" not in table.columns:
            continue
        connection.execute(
            text(
                f"SELECT setval(pg_get_serial_sequence('{table.name}', 'id'), "
                f"COALESCE((SELECT MAX(id) FROM {table.name}), 1), "
                f"(SELECT MAX(id) FROM {table.name}) IS NOT NULL)"
            )
        )
