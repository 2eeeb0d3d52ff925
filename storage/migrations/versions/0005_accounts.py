"""Several brand accounts: each stored account keeps the name it is configured under.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01 21:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("channel_accounts", schema=None) as batch_op:
        # Matched by the network's id, not the name: renaming an account in ACCOUNTS_FILE
        # renames the row and keeps its conversations.
        batch_op.add_column(sa.Column("name", sa.String(length=40), nullable=True))
        # How polling goes, for `carebridge accounts` (another process than the bot's).
        batch_op.add_column(sa.Column("polled_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("failing_since", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("last_error", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("channel_accounts", schema=None) as batch_op:
        batch_op.drop_column("last_error")
        batch_op.drop_column("failing_since")
        batch_op.drop_column("polled_at")
        batch_op.drop_column("name")
