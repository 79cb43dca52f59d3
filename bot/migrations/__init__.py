"""Schema migrations (Alembic): every table of the catalogue and of the bot, in one history.

The bot, the command line and the tests bring the database to the newest revision before
using it (:func:`upgrade`), so a new version of the code never meets an older schema.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.db import Base as BotBase
from catalog.store import Base as CatalogBase

METADATA = [CatalogBase.metadata, BotBase.metadata]


def config(connection=None) -> Config:
    """Alembic's settings without an ini file; ``env.py`` migrates the ``connection`` given here."""
    cfg = Config()
    cfg.set_main_option("script_location", str(Path(__file__).parent))
    cfg.attributes["connection"] = connection
    return cfg


SETTING_UP = 7_140_001  # PostgreSQL advisory lock: one process at a time sets up the database


@asynccontextmanager
async def setting_up(engine: AsyncEngine) -> AsyncIterator[None]:
    """Hold the database for set-up (migrations, a first seed): workers starting together on one
    PostgreSQL take turns, and the later ones find the work done. SQLite has one process."""
    if engine.dialect.name != "postgresql":
        yield
        return
    async with engine.connect() as conn:
        await conn.execute(select(func.pg_advisory_lock(SETTING_UP)))
        await conn.commit()
        try:
            yield
        finally:
            await conn.execute(select(func.pg_advisory_unlock(SETTING_UP)))
            await conn.commit()


async def upgrade(engine: AsyncEngine, revision: str = "head") -> None:
    """Bring the database to ``revision`` in one transaction (where the database allows it)."""
    async with engine.begin() as conn:
        await conn.run_sync(lambda sync: command.upgrade(config(sync), revision))


async def revision(engine: AsyncEngine, message: str) -> str:
    """Write a new revision from what the models declare beyond the database's schema (which
    should be at the newest revision); its path, to read and edit before committing."""
    async with engine.connect() as conn:
        script = await conn.run_sync(lambda sync: command.revision(config(sync), message, autogenerate=True))
    return script.path


async def current(engine: AsyncEngine) -> str | None:
    """The database's revision (None before the first)."""
    async with engine.connect() as conn:
        return await conn.run_sync(lambda sync: MigrationContext.configure(sync).get_current_revision())
