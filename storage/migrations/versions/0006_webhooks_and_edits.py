"""Webhook deliveries kept before they are answered; customers' edits, deletions, reactions
and attachments on the messages mirrored.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01 23:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # A delivery is stored (with the job that processes it) before the 200, processed after.
    op.create_table(
        "inbox",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("path", sa.String(length=80), nullable=False),
        sa.Column("body", sa.LargeBinary(), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("processed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("outcome", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.add_column(sa.Column("edited_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("reaction", sa.String(length=40), nullable=True))
        batch_op.add_column(
            sa.Column("attachments", sa.JSON(), nullable=False, server_default="[]")
        )
        batch_op.add_column(
            sa.Column("hidden", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        # Who wrote an inbound message: one person may write as two ids (a Facebook comment's
        # author and their Messenger id), and an answer goes to the one who wrote.
        batch_op.add_column(sa.Column("customer_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key("fk_messages_customer_id", "customers", ["customer_id"], ["id"])


def downgrade() -> None:
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.drop_constraint("fk_messages_customer_id", type_="foreignkey")
        for column in (
            "customer_id",
            "hidden",
            "attachments",
            "reaction",
            "deleted_at",
            "edited_at",
        ):
            batch_op.drop_column(column)
    op.drop_table("inbox")
