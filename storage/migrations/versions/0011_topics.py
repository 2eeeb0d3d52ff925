"""Topics: the team's list (`/care topics`, started from the defaults), and each
conversation's topic with who set it ("carebridge" when suggested from the customer's words).

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-07 22:15:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "topics",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=40), nullable=False),
        sa.Column("keywords", sa.JSON(), nullable=False),
        sa.Column("updated_by", sa.String(length=32), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("removed_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.add_column("conversations", sa.Column("topic", sa.String(length=40), nullable=True))
    op.add_column("conversations", sa.Column("topic_by", sa.String(length=32), nullable=True))


def downgrade() -> None:
    op.drop_column("conversations", "topic_by")
    op.drop_column("conversations", "topic")
    op.drop_table("topics")
