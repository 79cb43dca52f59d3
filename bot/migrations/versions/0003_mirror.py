"""A staff member's choice to follow the tickets they hold in their private chat, and which
private chat a ticket's conversation is mirrored to. Like the first revision, it adopts a
database that already has them.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-30
"""
from alembic import op
import sqlalchemy as sa

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    inspector = sa.inspect(op.get_bind())
    for table, column in (("bot_users", sa.Column("mirror", sa.Boolean(), nullable=True)),
                          ("bot_tickets", sa.Column("mirror_chat", sa.BigInteger(), nullable=True))):
        if column.name not in {c["name"] for c in inspector.get_columns(table)}:
            with op.batch_alter_table(table) as batch:
                batch.add_column(column)


def downgrade() -> None:
    with op.batch_alter_table("bot_tickets") as batch:
        batch.drop_column("mirror_chat")
    with op.batch_alter_table("bot_users") as batch:
        batch.drop_column("mirror")
