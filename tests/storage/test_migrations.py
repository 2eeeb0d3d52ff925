"""Alembic owns the schema: the migrations build exactly what the models describe, both ways."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect, text

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


def test_links_made_before_the_people_table_keep_their_person(database: Database) -> None:
    """0013: a linked group's person_id was its first customer's id; it becomes a person."""
    migrate.downgrade(database, "0012")
    customers = (
        "INSERT INTO customers (id, network, external_id, handle, name, followers, verified, "
        "profile_url, person_id, first_seen_at, updated_at) VALUES "
        "(1, 'x', '11', 'giulia_work', 'Giulia', 0, false, '', 1, :t, :t), "
        "(2, 'x', '12', 'giulia_home', 'Giulia', 0, false, '', 1, :t, :t), "
        "(3, 'x', '13', 'marco', 'Marco', 0, false, '', NULL, :t, :t)"
    )
    with database.engine.begin() as connection:
        connection.execute(text(customers), {"t": "2026-11-01 10:00:00+00:00"})
    migrate.upgrade(database)
    with database.engine.begin() as connection:
        people = connection.execute(text("SELECT id, created_by FROM people")).all()
        linked = connection.execute(text("SELECT id, person_id FROM customers ORDER BY id")).all()
        # New people continue after the migrated ones (PostgreSQL's sequence was advanced).
        connection.execute(
            text("INSERT INTO people (created_at, created_by) VALUES (:t, 'test')"),
            {"t": "2026-12-01 10:00:00+00:00"},
        )
        newest = connection.scalar(text("SELECT max(id) FROM people"))
    assert people == [(1, "migration")]
    assert linked == [(1, 1), (2, 1), (3, None)]
    assert newest == 2
