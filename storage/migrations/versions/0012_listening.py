"""Listening: the posts found by an account's LISTEN_QUERY (shown in the listening channel,
engaged or dismissed there), and the posts read per account and month, which X bills.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-07 22:40:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "listened_posts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("network", sa.String(length=16), nullable=False),
        sa.Column("external_id", sa.String(length=64), nullable=False),
        sa.Column("author_id", sa.String(length=64), nullable=False),
        sa.Column("handle", sa.String(length=100), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("followers", sa.Integer(), nullable=False),
        sa.Column("verified", sa.Boolean(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("permalink", sa.String(length=500), nullable=False),
        sa.Column("posted_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sentiment", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("found_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("decided_by", sa.String(length=32), nullable=True),
        sa.Column("slack_ts", sa.String(length=32), nullable=True),
        sa.Column("conversation_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["account_id"], ["channel_accounts.id"]),
        sa.ForeignKeyConstraint(["conversation_id"], ["conversations.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("network", "external_id"),
    )
    op.create_index("ix_listened_posts_status_found", "listened_posts", ["status", "found_at"])
    op.create_table(
        "post_reads",
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("month", sa.String(length=7), nullable=False),
        sa.Column("posts", sa.Integer(), nullable=False),
        sa.Column("paused_said", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(["account_id"], ["channel_accounts.id"]),
        sa.PrimaryKeyConstraint("account_id", "month"),
    )
    # A conversation engaged from a post the app may not answer (X's rule): answered on the
    # network by hand until the customer addresses the brand.
    op.add_column(
        "conversations",
        sa.Column("by_hand", sa.Boolean(), nullable=False, server_default=sa.false()),
    )
    # Negative customer messages, counted per window for the spike alert.
    op.add_column(
        "messages", sa.Column("negative", sa.Boolean(), nullable=False, server_default=sa.false())
    )
    op.create_index(
        "ix_messages_negative",
        "messages",
        ["created_at"],
        postgresql_where=sa.text("negative"),
        sqlite_where=sa.text("negative"),
    )


def downgrade() -> None:
    op.drop_index("ix_messages_negative", table_name="messages")
    op.drop_column("messages", "negative")
    op.drop_column("conversations", "by_hand")
    op.drop_table("post_reads")
    op.drop_index("ix_listened_posts_status_found", table_name="listened_posts")
    op.drop_table("listened_posts")
