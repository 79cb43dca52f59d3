"""Alembic's entry point: migrate the connection :func:`bot.migrations.config` carries."""

from alembic import context

from bot.migrations import METADATA
from catalog.store import UtcDateTime


def render_item(kind: str, obj, autogen_context):
    """A revision spells out plain column types, so it keeps working when a model's type changes."""
    if kind == "type" and isinstance(obj, UtcDateTime):
        return "sa.DateTime(timezone=True)"
    return False


connection = context.config.attributes["connection"]
context.configure(
    connection=connection,
    target_metadata=METADATA,
    render_as_batch=connection.dialect.name == "sqlite",  # SQLite alters a table by copying it
    render_item=render_item,
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
