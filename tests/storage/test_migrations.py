"""Alembic owns the schema: the migrations build exactly what the models describe, both ways."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect

from storage import migrate
from storage.db import Database
from storage.models import Base

# Indexes on expressions: Alembic cannot compare them (SQLite does not reflect them, PostgreSQL
# gives them back normalised); test_queues checks that the database uses each as the query needs.
EXPRESSION_INDEXES = {"ix_conversations_queue"}


def _compared(obj: object, name: str | None, type_: str, reflected: bool, other: object) -> bool:
    return not (type_ == "index" and name in EXPRESSION_INDEXES)


@pytest.mark.filterwarnings("ignore:.*expression-based index")
def test_migrations_match_the_models(database: Database) -> None:
    with database.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"include_object": _compared})
        differences = compare_metadata(context, Base.metadata)
    assert differences == []
    assert migrate.current_revision(database) == migrate.head_revision()


def test_downgrade_to_base_and_upgrade_again(database: Database) -> None:
    migrate.downgrade(database, "base")
    assert set(inspect(database.engine).get_table_names()) <= {"alembic_version"}
    migrate.upgrade(database)
    assert {"conversations", "messages", "outbox", "audit_log"} <= set(
        inspect(database.engine).get_table_names()
    )
