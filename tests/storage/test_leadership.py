"""Replicas on PostgreSQL: exactly one leader; a dead leader's place is taken at once."""

from __future__ import annotations

import pytest
from sqlalchemy.engine import make_url

from storage.db import Database
from storage.leadership import Leadership
from tests.conftest import postgres_url


def test_sqlite_has_one_process_which_always_leads(tmp_path) -> None:
    database = Database(f"sqlite:///{tmp_path / 'one.db'}")
    assert Leadership(database).is_leader() and Leadership(database).is_leader()


def test_one_leader_among_replicas_and_a_dead_leader_is_replaced(database_url: str) -> None:
    if not postgres_url():
        pytest.skip("replicas coordinate through PostgreSQL: set TEST_DATABASE_URL")
    replicas = [Database(database_url) for _ in range(3)]
    leaderships = [Leadership(db) for db in replicas]
    leaders = [lead.is_leader() for lead in leaderships]
    assert leaders == [True, False, False]
    assert [lead.is_leader() for lead in leaderships] == [True, False, False]  # stable

    leaderships[0]._connection.invalidate()  # the leader's process dies: its session ends
    replicas[0].dispose()
    assert leaderships[1].is_leader() is True  # the next attempt takes over
    assert leaderships[2].is_leader() is False
    for lead, db in zip(leaderships, replicas, strict=True):
        lead.resign()  # a checked-out connection outlives dispose(): end the session's lock
        db.dispose()


def test_two_deployments_in_their_own_schemas_each_have_a_leader(database_url: str) -> None:
    if not postgres_url():
        pytest.skip("replicas coordinate through PostgreSQL: set TEST_DATABASE_URL")
    other_schema = make_url(database_url).update_query_dict({"options": "-csearch_path=public"})
    ours, theirs = Database(database_url), Database(other_schema.render_as_string(False))
    first, second, other = Leadership(ours), Leadership(ours), Leadership(theirs)
    try:
        assert first.is_leader() and other.is_leader()
        assert not second.is_leader()  # still one per deployment
    finally:
        for lead in (first, second, other):
            lead.resign()
        ours.dispose()
        theirs.dispose()
