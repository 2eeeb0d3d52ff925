"""Saved replies: the team's answers to the questions that keep coming, and on each answer
sent with one, which it was (by id, and by name for when it is removed).

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-07 22:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "saved_replies",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=40), nullable=False),
        sa.Column("topic", sa.String(length=40), nullable=False),
        sa.Column("text_it", sa.Text(), nullable=False),
        sa.Column("text_en", sa.Text(), nullable=False),
        sa.Column("public", sa.Boolean(), nullable=False),
        sa.Column("updated_by", sa.String(length=32), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("removed_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    # Added in place, without a foreign key: SQLite adds a constraint only by copying the
    # messages table (rebuilding 0009's partial index), and saved replies are never deleted
    # (a removed one keeps its row), so there is nothing for the key to guard.
    op.add_column("messages", sa.Column("saved_reply_id", sa.Integer(), nullable=True))
    op.add_column("messages", sa.Column("saved_reply_name", sa.String(length=40), nullable=True))


def downgrade() -> None:
    op.drop_column("messages", "saved_reply_name")
    op.drop_column("messages", "saved_reply_id")
    op.drop_table("saved_replies")
