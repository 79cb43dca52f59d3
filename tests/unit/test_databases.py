"""The schema and the storage behave the same on SQLite and PostgreSQL: the migrations build exactly
what the models declare, a database made before migrations keeps every row, and timestamps,
JSON, inserts that may meet an existing row and compare-and-set agree."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect

from bot import migrations
from bot.bootstrap import open_catalog
from bot.cli import main
from bot.config import database_url
from bot.db import Base as BotBase
from bot.db import BotStore, Event, Ticket
from catalog.sample import sample_records
from catalog.store import Base as CatalogBase
from catalog.store import CatalogStore, make_engine

pytestmark = pytest.mark.both_databases

HEAD = ScriptDirectory.from_config(migrations.config()).get_current_head()


async def schema_differences(engine) -> list:
    async with engine.connect() as conn:
        return await conn.run_sync(lambda sync: compare_metadata(MigrationContext.configure(sync), migrations.METADATA))


def test_db_upgrade_brings_a_new_database_to_the_newest_revision(data_dir, capsys):
    assert main(["db", "upgrade"]) == 0
    assert capsys.readouterr().out == f"database at revision {HEAD}\n"


async def test_the_migrations_build_what_the_models_declare(data_dir):
    engine = make_engine(database_url())
    await migrations.upgrade(engine)
    await migrations.upgrade(engine)  # a second run finds nothing to do
    assert await migrations.current(engine) == HEAD
    assert await schema_differences(engine) == []
    await engine.dispose()


@pytest.mark.parametrize("made_by", ["command line", "bot"])
async def test_a_database_made_before_migrations_is_adopted_with_every_row(data_dir, made_by):
    """Before migrations, the command line created the catalogue's table alone, the bot all tables."""
    engine = make_engine(database_url())
    async with engine.begin() as conn:
        for metadata in [CatalogBase.metadata] + ([BotBase.metadata] if made_by == "bot" else []):
            await conn.run_sync(metadata.create_all)
    catalog, store = CatalogStore(engine), BotStore(engine)
    await catalog.upsert(sample_records()[:20])
    before = [record.to_json() for record in await catalog.all()]
    if made_by == "bot":
        await store.user(42, "Lan")
        await store.save(Ticket(user_id=42, status="open", language="vi", contact={"name": "Lan", "note": "Hải Phòng"}))

    await migrations.upgrade(engine)
    assert await migrations.current(engine) == HEAD
    assert await schema_differences(engine) == []
    assert [record.to_json() for record in await catalog.all()] == before
    if made_by == "bot":
        (ticket,) = await store.tickets()
        assert (ticket.user_id, ticket.status, ticket.contact) == (42, "open", {"name": "Lan", "note": "Hải Phòng"})
    async with engine.connect() as conn:
        assert set(await conn.run_sync(lambda sync: inspect(sync).get_table_names())) == {
            "alembic_version",
            *CatalogBase.metadata.tables,
            *BotBase.metadata.tables,
        }
    await engine.dispose()


@pytest.fixture
async def store(data_dir):
    catalog = await open_catalog()
    yield BotStore(catalog.engine)
    await catalog.engine.dispose()


async def test_timestamps_keep_their_instant_and_come_back_in_utc(store):
    local = datetime(2026, 12, 15, 9, 0, tzinfo=ZoneInfo("Asia/Ho_Chi_Minh"))
    event = Event(title={"vi": "Phiên kết nối", "zh-Hant": "媒合會"}, starts_at=local, entries=["tw-aqua-001"])
    await store.save(event)
    (back,) = await store.rows(
        Event, Event.starts_at > local - timedelta(minutes=1), Event.starts_at < local + timedelta(minutes=1)
    )
    assert back.starts_at == local and back.starts_at.utcoffset() == timedelta(0)
    assert (back.title, back.entries) == ({"vi": "Phiên kết nối", "zh-Hant": "媒合會"}, ["tw-aqua-001"])
    with pytest.raises(Exception, match="naive"):
        await store.save(Event(title={}, starts_at=datetime(2026, 12, 15, 9, 0)))


async def test_inserts_that_meet_an_existing_row_keep_it(store):
    users = await asyncio.gather(*(store.user(7, f"Minh {n}") for n in range(5)))
    assert len({user.first_name for user in users}) == 1  # one row, whichever insert came first
    assert await store.keep_update(1001, {"message": {"text": "xin chào"}}, conversation="7:None", worker="w") is True
    assert await store.keep_update(1001, {"message": {"text": "again"}}, conversation="7:None", worker="w") is False
    (kept,) = await store.unfinished_updates()
    assert kept.payload == {"message": {"text": "xin chào"}}


async def test_of_two_status_changes_at_once_exactly_one_wins(store):
    await store.user(8)
    ticket = Ticket(user_id=8, status="open", language="en")
    await store.save(ticket)
    results = await asyncio.gather(*(store.claim(ticket.id, staff, f"Staff {staff}") for staff in range(1, 6)))
    assert sorted(results) == [False] * 4 + [True]
    holder = (await store.ticket(ticket.id)).claimed_by
    assert results[holder - 1] is True
