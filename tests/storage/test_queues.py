"""What the database answers for lists and keeps: App Home's queues (the most urgent of all open
conversations, counted in full) and the clean-up of finished work."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from bot.clock import ManualClock
from bot.domain.model import Status, Visibility
from bot.services.context import Context
from bot.services.housekeeping import Housekeeping
from bot.services.outbox import Outbox
from storage import repositories as repo
from storage.db import Database
from storage.models import (
    QUEUE_ORDER,
    UNRESOLVED,
    ChannelAccount,
    Conversation,
    Customer,
    InboxDelivery,
    OutboxJob,
)

T0 = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


def add_conversations(database: Database, specs: list[dict[str, object]]) -> list[int]:
    with database.transaction() as session:
        account = ChannelAccount(
            network="x", external_id="1", handle="acme", slack_channel_id="C1", created_at=T0
        )
        session.add(account)
        session.flush()
        ids = []
        for n, spec in enumerate(specs):
            customer = Customer(
                network="x",
                external_id=str(100 + n),
                handle=f"c{n}",
                name=f"C {n}",
                first_seen_at=T0,
                updated_at=T0,
            )
            session.add(customer)
            session.flush()
            conversation = Conversation(
                account_id=account.id,
                customer_id=customer.id,
                visibility=Visibility.PUBLIC,
                slack_channel_id="C1",
                opened_at=T0 + timedelta(minutes=n),
                last_inbound_at=T0 + timedelta(minutes=n),
                **spec,
            )
            session.add(conversation)
            session.flush()
            ids.append(conversation.id)
        return ids


def test_the_queue_is_the_most_urgent_of_all_not_the_oldest(database: Database) -> None:
    due = T0 + timedelta(hours=1)
    specs: list[dict[str, object]] = [{"priority": "normal"} for _ in range(120)]  # the oldest
    specs += [
        {"priority": "high", "first_response_due_at": due + timedelta(minutes=5)},
        {"priority": "high", "first_response_due_at": due},
        {"priority": "urgent"},  # no deadline: still first, being urgent
        {"priority": "normal", "status": Status.RESOLVED},  # not open
        {"priority": "urgent", "assignee": "UANNA"},  # someone's, not the team queue's
        {"priority": "low", "next_response_due_at": due},
        {"priority": "urgent", "netiquette_hold": True, "first_response_due_at": due},
    ]
    ids = add_conversations(database, specs)
    with database.transaction() as session:
        queue, total = repo.open_conversations(session, limit=5)
        assert total == 125  # 120 normal, two high, two urgent, one low; unclaimed and open
        # urgent (on hold: no deadline, like the other), high by deadline, then the oldest
        assert [c.id for c in queue] == [ids[122], ids[126], ids[121], ids[120], ids[0]]
        mine, mine_total = repo.open_conversations(session, assignee="UANNA")
        assert [c.id for c in mine] == [ids[124]] and mine_total == 1
        other, other_total = repo.open_conversations(session, channels=["C2"])
        assert other == [] and other_total == 0


def test_the_queue_is_read_in_order_from_its_index_not_sorted(database: Database) -> None:
    """With 80,000 open conversations, sorting all of them for a page of 50 took 400 ms on
    SQLite; the migrations' ix_conversations_queue must hold the very expressions the query
    orders by, or the database falls back to that sort."""
    add_conversations(database, [{"priority": "normal"}, {"priority": "urgent"}])
    page = (
        select(Conversation.id)
        .where(UNRESOLVED, Conversation.assignee.is_(None))
        .order_by(*QUEUE_ORDER)
        .limit(50)
    )
    with database.engine.connect() as connection:
        if connection.dialect.name == "sqlite":
            sql = str(page.compile(connection, compile_kwargs={"literal_binds": True}))
            plan = " ".join(
                str(row[-1]) for row in connection.exec_driver_sql(f"EXPLAIN QUERY PLAN {sql}")
            )
        else:
            connection.exec_driver_sql("SET LOCAL enable_sort = off")  # a tiny table sorts anyway
            sql = str(page.compile(connection, compile_kwargs={"literal_binds": True}))
            plan = " ".join(str(row[0]) for row in connection.exec_driver_sql(f"EXPLAIN {sql}"))
    assert "ix_conversations_queue" in plan
    assert "TEMP B-TREE" not in plan and "Sort" not in plan, plan


def test_finished_jobs_and_deliveries_are_pruned_after_the_retention(
    database: Database,
) -> None:
    clock = ManualClock(T0)
    old, recent = T0 - timedelta(days=8), T0 - timedelta(days=6)
    with database.transaction() as session:
        for n, (status, done_at) in enumerate(
            [("done", old), ("failed", old), ("done", recent), ("pending", None), ("running", None)]
        ):
            session.add(
                OutboxJob(
                    kind="slack.thread_message",
                    idempotency_key=f"job-{n}",
                    status=status,
                    next_attempt_at=old,
                    created_at=old,
                    done_at=done_at,
                )
            )
        session.add(
            InboxDelivery(path="/webhooks/meta", body=b"{}", received_at=old, processed_at=old)
        )
        session.add(InboxDelivery(path="/webhooks/meta", body=b"{}", received_at=old))
    context = Context(database, Outbox(clock), clock, accounts=None)  # type: ignore[arg-type]
    assert Housekeeping(context, timedelta(days=7)).prune() == 3
    with database.transaction() as session:
        kept = sorted(j.idempotency_key for j in session.query(OutboxJob))
        assert kept == ["job-2", "job-3", "job-4"]  # recent, and everything not finished
        [waiting] = session.query(InboxDelivery).all()
        assert waiting.processed_at is None  # a delivery not yet processed is never dropped
