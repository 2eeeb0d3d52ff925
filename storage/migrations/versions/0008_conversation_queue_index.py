"""The queues' order indexed: App Home lists the 50 most urgent open conversations by priority,
then deadline, then age. Sorting every open conversation for them took 400 ms on SQLite with
80,000 open; with this partial index on the very expressions of the ORDER BY, both SQLite and
PostgreSQL read the first 50 entries and stop. The support channel comes last, so a queue
limited to some channels is filtered from the index alone.

The expressions are those of `storage.models.QUEUE_ORDER` as they stood at this revision.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-07 13:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.sql.elements import Grouping

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def _queue_order() -> list[sa.ColumnElement[object]]:
    c = sa.table(
        "conversations",
        *(
            sa.column(name)
            for name in (
                "priority",
                "netiquette_hold",
                "first_response_at",
                "first_response_due_at",
                "next_response_due_at",
            )
        ),
    ).c
    rank = sa.case(
        *(
            (c.priority == sa.literal_column(f"'{name}'"), sa.literal_column(str(n)))
            for n, name in enumerate(("urgent", "high", "normal", "low"))
        ),
        else_=sa.literal_column("2"),
    )
    deadline = sa.case(
        (sa.column("netiquette_hold", sa.Boolean), sa.null()),
        (
            c.first_response_at.is_(None) & c.first_response_due_at.is_not(None),
            c.first_response_due_at,
        ),
        else_=c.next_response_due_at,
    )
    return [
        sa.column("assignee"),
        Grouping(rank),
        deadline.is_(None),
        Grouping(deadline),
        sa.column("opened_at"),
        sa.column("id"),
        sa.column("slack_channel_id"),
    ]


UNRESOLVED = sa.text("status != 'resolved'")


def upgrade() -> None:
    op.create_index(
        "ix_conversations_queue",
        "conversations",
        _queue_order(),
        unique=False,
        postgresql_where=UNRESOLVED,
        sqlite_where=UNRESOLVED,
    )


def downgrade() -> None:
    op.drop_index("ix_conversations_queue", table_name="conversations")
