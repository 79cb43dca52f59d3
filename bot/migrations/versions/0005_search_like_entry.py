"""The entry a search was run from ("more like this"), so its results are headed by that entry and
keep resembling it when filtered. Like the first revision, it adopts a database that already has it.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-30
"""
from alembic import op
import sqlalchemy as sa

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if "like_entry" not in {c["name"] for c in sa.inspect(op.get_bind()).get_columns("bot_searches")}:
        with op.batch_alter_table("bot_searches") as batch:
            batch.add_column(sa.Column("like_entry", sa.String(length=100), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("bot_searches") as batch:
        batch.drop_column("like_entry")
