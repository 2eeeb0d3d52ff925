"""Specialist teams and forwarded conversations; facts looked up in the CRM.

`teams`: a name, its Slack channel and its own response target (business time), managed with
`/care teams`. `forwards`: one hand-over of a conversation to a team, from the care owner's
Forward to the team's answer or Send back, with the team's deadline and alerts. A customer's
CRM facts (CRM_LOOKUP_URL) are cached on the customer. Surveys get an index on when they were
asked: the CSAT figures count by it.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-08 01:15:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "teams",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=40), nullable=False),
        sa.Column("slack_channel_id", sa.String(length=32), nullable=False),
        sa.Column("target_seconds", sa.Integer(), nullable=True),
        sa.Column("updated_by", sa.String(length=32), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("removed_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "forwards",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("conversation_id", sa.Integer(), nullable=False),
        sa.Column("team_id", sa.Integer(), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("forwarded_by", sa.String(length=32), nullable=False),
        sa.Column("forwarded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("specialist", sa.String(length=32), nullable=True),
        sa.Column("taken_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("answered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("warned_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("breached_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("slack_channel_id", sa.String(length=32), nullable=False),
        sa.Column("slack_ts", sa.String(length=32), nullable=True),
        sa.ForeignKeyConstraint(["conversation_id"], ["conversations.id"]),
        sa.ForeignKeyConstraint(["team_id"], ["teams.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("slack_channel_id", "slack_ts"),
    )
    op.create_index("ix_forwards_conversation", "forwards", ["conversation_id"])
    op.create_index("ix_forwards_status_due", "forwards", ["status", "due_at"])
    op.create_index("ix_surveys_sent", "surveys", ["sent_at"])
    op.add_column("customers", sa.Column("crm_facts", sa.JSON(), nullable=True))
    op.add_column(
        "customers", sa.Column("crm_checked_at", sa.DateTime(timezone=True), nullable=True)
    )


def downgrade() -> None:
    op.drop_column("customers", "crm_checked_at")
    op.drop_column("customers", "crm_facts")
    op.drop_index("ix_surveys_sent", table_name="surveys")
    op.drop_index("ix_forwards_status_due", table_name="forwards")
    op.drop_index("ix_forwards_conversation", table_name="forwards")
    op.drop_table("forwards")
    op.drop_table("teams")
