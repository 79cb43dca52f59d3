"""Users' settled interface language; files the outbox sends (the monthly report).

Like the first revision, it adopts a database that already has what it adds.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-30
"""
from alembic import op
import sqlalchemy as sa

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    inspector = sa.inspect(op.get_bind())
    if "language_settled" not in {c["name"] for c in inspector.get_columns("bot_users")}:
        with op.batch_alter_table("bot_users") as batch:
            batch.add_column(sa.Column("language_settled", sa.Boolean(), nullable=True))
    if not inspector.has_table("bot_attachments"):
        op.create_table(
            "bot_attachments",
            sa.Column("key", sa.String(length=40), nullable=False),
            sa.Column("name", sa.String(length=200), nullable=False),
            sa.Column("data", sa.LargeBinary(), nullable=False),
            sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
            sa.PrimaryKeyConstraint("key"),
        )


def downgrade() -> None:
    op.drop_table("bot_attachments")
    with op.batch_alter_table("bot_users") as batch:
        batch.drop_column("language_settled")
