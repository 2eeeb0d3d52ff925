"""One customer across networks, and satisfaction surveys.

`people` holds a person seen on several networks: their customers' `person_id` points here (a
customer on one network only has none). Before, a linked group's `person_id` was the id of its
first customer; those numbers become the people's ids, so nothing else moves.

`customer_identifiers` keeps digests of the phone numbers, e-mails and order numbers customers
wrote (never the values, except an order code the card may show), to suggest links;
`link_suggestions` keeps what was suggested and what the team decided, so a "Not the same" is
never asked again. `surveys`: one per conversation, from its scheduling after Resolve to the
customer's score.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-08 01:10:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "people",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(length=32), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    connection = op.get_bind()
    connection.execute(
        sa.text(
            "INSERT INTO people (id, created_at, created_by) "
            "SELECT person_id, MIN(first_seen_at), 'migration' FROM customers "
            "WHERE person_id IS NOT NULL GROUP BY person_id"
        )
    )
    if connection.dialect.name == "postgresql":
        connection.execute(
            sa.text(
                "SELECT setval(pg_get_serial_sequence('people', 'id'), "
                "COALESCE((SELECT MAX(id) FROM people), 1), "
                "(SELECT MAX(id) FROM people) IS NOT NULL)"
            )
        )
    with op.batch_alter_table("customers") as batch:
        batch.create_foreign_key("fk_customers_person", "people", ["person_id"], ["id"])

    op.create_table(
        "customer_identifiers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("shown", sa.String(length=40), nullable=False),
        sa.Column("seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["customer_id"], ["customers.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("customer_id", "kind", "digest"),
    )
    op.create_index("ix_customer_identifiers_digest", "customer_identifiers", ["kind", "digest"])
    op.create_table(
        "link_suggestions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.Column("other_id", sa.Integer(), nullable=False),
        sa.Column("reason", sa.String(length=8), nullable=False),
        sa.Column("shown", sa.String(length=40), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("decided_by", sa.String(length=32), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["customer_id"], ["customers.id"]),
        sa.ForeignKeyConstraint(["other_id"], ["customers.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("customer_id", "other_id"),
    )
    op.create_index("ix_link_suggestions_other", "link_suggestions", ["other_id"])
    op.create_table(
        "surveys",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("conversation_id", sa.Integer(), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("answered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("score", sa.Integer(), nullable=True),
        sa.Column("comment", sa.Text(), nullable=True),
        sa.Column("reason", sa.String(length=40), nullable=True),
        sa.Column("message_id", sa.Integer(), nullable=True),
        sa.Column("language", sa.String(length=8), nullable=False),
        sa.Column("agent", sa.String(length=32), nullable=True),
        sa.ForeignKeyConstraint(["conversation_id"], ["conversations.id"]),
        sa.ForeignKeyConstraint(["customer_id"], ["customers.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("conversation_id"),
    )
    op.create_index("ix_surveys_status_due", "surveys", ["status", "due_at"])
    op.create_index("ix_surveys_customer_sent", "surveys", ["customer_id", "sent_at"])


def downgrade() -> None:
    op.drop_index("ix_surveys_customer_sent", table_name="surveys")
    op.drop_index("ix_surveys_status_due", table_name="surveys")
    op.drop_table("surveys")
    op.drop_index("ix_link_suggestions_other", table_name="link_suggestions")
    op.drop_table("link_suggestions")
    op.drop_index("ix_customer_identifiers_digest", table_name="customer_identifiers")
    op.drop_table("customer_identifiers")
    with op.batch_alter_table("customers") as batch:
        batch.drop_constraint("fk_customers_person", type_="foreignkey")
    op.drop_table("people")
