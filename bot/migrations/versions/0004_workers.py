"""Several bot processes on one database: the workers alive, the leases they hold, which worker
handles each update of the inbox (and of which conversation it is), and when each catalogue entry
was last written (so a worker sees cheaply that another one changed the catalogue). Like the
first revision, it adopts a database that already has them.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-30
"""
from alembic import op
import sqlalchemy as sa

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    inspector = sa.inspect(op.get_bind())
    if not inspector.has_table("bot_workers"):
        op.create_table(
            "bot_workers",
            sa.Column("name", sa.String(100), primary_key=True),
            sa.Column("seen_at", sa.DateTime(timezone=True), nullable=False),
        )
    if not inspector.has_table("bot_leases"):
        op.create_table(
            "bot_leases",
            sa.Column("key", sa.String(120), primary_key=True),
            sa.Column("worker", sa.String(100), nullable=False),
            sa.Column("taken_at", sa.DateTime(timezone=True), nullable=False),
        )
    for table, column, kind, indexed in (
        ("bot_inbox", "conversation", sa.String(60), True),
        ("bot_inbox", "worker", sa.String(100), False),
        ("catalog_entries", "written_at", sa.DateTime(timezone=True), True),
    ):
        if column not in {c["name"] for c in inspector.get_columns(table)}:
            with op.batch_alter_table(table) as batch:
                batch.add_column(sa.Column(column, kind, nullable=True))
                if indexed:
                    batch.create_index(f"ix_{table}_{column}", [column])


def downgrade() -> None:
    with op.batch_alter_table("catalog_entries") as batch:
        batch.drop_index("ix_catalog_entries_written_at")
        batch.drop_column("written_at")
    with op.batch_alter_table("bot_inbox") as batch:
        batch.drop_index("ix_bot_inbox_conversation")
        batch.drop_column("worker")
        batch.drop_column("conversation")
    op.drop_table("bot_leases")
    op.drop_table("bot_workers")
