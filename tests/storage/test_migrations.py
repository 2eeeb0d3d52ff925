"""Alembic owns the schema: the migrations build exactly what the models describe, both ways."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect

from storage import migrate
from storage.db import Database
from storage.models import Base


def test_migrations_match_the_models(database: Database) -> None:
    with database.engine.connect() as connection:
        differences = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    assert differences == []
    assert migrate.current_revision(database) == migrate.head_revision()


def test_downgrade_to_base_and_upgrade_again(database: Database) -> None:
    migrate.downgrade(database, "base")
    assert set(inspect(database.engine).get_table_names()) <= {"alembic_version"}
    migrate.upgrade(database)
    assert {"conversations", "messages", "outbox", "audit_log"} <= set(
        inspect(database.engine).get_table_names()
    )
