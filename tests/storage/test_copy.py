"""Moving to another database: every row, ids and cursors included, and the bot carries on."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from bot.clock import ManualClock
from bot.sandbox.world import running_world
from storage.copy import CopyError, copy_database
from storage.db import Database
from storage.models import Base, ChannelAccount, Conversation, Survey


def cursors(database: Database) -> dict:
    with database.transaction() as session:
        return dict(session.scalar(select(ChannelAccount)).cursors)


def test_copy_then_continue_on_the_target(database_url: str, clock: ManualClock, tmp_path) -> None:
    target_url = f"sqlite:///{tmp_path / 'target.db'}"
    source, target = Database(database_url), Database(target_url)
    with running_world(database_url, clock) as world:
        world.mention("giulia_r", "parcel stuck", "Giulia Rossi")
        world.direct_message("marco_b", "charged twice", "Marco Bianchi")
        # A person and a survey come along too (issue 17): links are data.
        assert world.care("UANNA", "link @giulia_r @marco_b").startswith("Linked")
        with source.transaction() as session:
            conversation = session.scalar(select(Conversation))
            assert conversation is not None
            session.add(
                Survey(
                    conversation_id=conversation.id,
                    customer_id=conversation.customer_id,
                    status="answered",
                    due_at=clock.now(),
                    score=4,
                    language="it",
                )
            )

        counts = copy_database(source, target)
        assert counts["conversations"] == 2 and counts["messages"] == 2
        assert counts["people"] == 1 and counts["surveys"] == 1
        with target.engine.connect() as connection:
            for table in Base.metadata.sorted_tables:
                rows = connection.scalar(select(func.count()).select_from(table))
                assert rows == counts[table.name], table.name
        assert cursors(target) == cursors(source) != {}
        with pytest.raises(CopyError, match="not empty"):
            copy_database(source, target)

        with running_world(target_url, clock, slack=world.slack, x=world.x) as moved:
            assert moved.poll() == 0  # the cursors came along: nothing fetched twice
            moved.mention("luca_v", "discount code broken", "Luca Verdi")
            assert len(moved.cards()) == 3  # and new rows get fresh ids
    source.dispose()
    target.dispose()


def test_sqlite_to_postgresql_continues_the_id_sequences(
    clock: ManualClock, tmp_path, worker_id: str
) -> None:
    from tests.conftest import _postgres_schema_url, postgres_url

    if not postgres_url():
        pytest.skip("set TEST_DATABASE_URL to copy into PostgreSQL")
    sqlite_url = f"sqlite:///{tmp_path / 'source.db'}"
    postgres = _postgres_schema_url(f"{worker_id}_copy")
    with running_world(sqlite_url, clock) as world:
        world.mention("giulia_r", "parcel stuck", "Giulia Rossi")
        source, target = Database(sqlite_url), Database(postgres)
        assert copy_database(source, target)["conversations"] == 1
        with running_world(postgres, clock, slack=world.slack, x=world.x) as moved:
            moved.mention("luca_v", "discount code broken", "Luca Verdi")  # needs id 2
            assert len(moved.cards()) == 2
    source.dispose()
    target.dispose()
