"""``techconnect backup`` and ``restore``, on SQLite and PostgreSQL: every row of every table comes
back, the index is restored and brought in line with the restored catalogue, an older backup is
migrated without keeping rows newer than it, and what cannot be restored is refused in one line."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime

import pytest
from alembic.script import ScriptDirectory
from sqlalchemy import select, text

from bot import migrations
from bot.backup import libpq_environment
from bot.bootstrap import open_catalog
from bot.cli import main
from bot.config import database_url
from bot.db import Attachment, BotStore, Outgoing, Ticket
from catalog.model import parse_record
from catalog.sample import sample_records
from catalog.store import CatalogStore, make_engine

pytestmark = pytest.mark.both_databases

HEAD = ScriptDirectory.from_config(migrations.config()).get_current_head()
SEAWEED = parse_record(
    {
        "id": "test-seaweed-001",
        "kind": "offer",
        "sector": "aquaculture",
        "country": "NL",
        "title": {"en": "Seaweed biostimulant extraction by cold enzymatic hydrolysis"},
        "description": {
            "en": "Brown seaweed (Ascophyllum) is hydrolysed with enzymes at 35 °C into a liquid biostimulant."
        },
    }
)
LYCHEE = parse_record(
    {
        "id": "test-req-vi-001",
        "kind": "request",
        "sector": "food_processing",
        "country": "VN",
        "title": "Cần dây chuyền đóng hộp vải thiều Thanh Hà công suất 2 tấn/giờ",
    }
)


async def every_row() -> dict[str, list[tuple]]:
    """Every row of every table of the catalogue and the bot, in key order."""
    engine = make_engine(database_url())
    try:
        async with engine.connect() as conn:
            return {
                table.name: [tuple(row) for row in await conn.execute(select(table).order_by(*table.primary_key))]
                for metadata in migrations.METADATA
                for table in metadata.sorted_tables
            }
    finally:
        await engine.dispose()


async def populate() -> None:
    """The sample catalogue, one more entry, and a user with a ticket, a pending message and a report."""
    catalog = await open_catalog(seed=True)
    await catalog.upsert([SEAWEED])
    store = BotStore(catalog.engine)
    await store.user(42, "Lan")
    await store.save(
        Ticket(
            user_id=42, status="open", language="vi", entries=[SEAWEED.id], contact={"name": "Lan", "reach": "+84 912"}
        ),
        Outgoing(lane="user:42", chat_id=42, action="send", text="<b>Đã chuyển</b> cho cán bộ"),
        Attachment(key="report:2026-04", name="report-2026-04.xlsx", data=bytes(range(256))),
    )
    await catalog.engine.dispose()


async def add(record) -> None:
    catalog = CatalogStore(make_engine(database_url()))
    await catalog.upsert([record])
    await catalog.engine.dispose()


async def change_everything() -> None:
    """What happens after the backup: entries withdrawn or edited, a ticket claimed, a message sent
    and gone, a new user with a ticket."""
    engine = make_engine(database_url())
    catalog, store = CatalogStore(engine), BotStore(engine)
    await catalog.delete(SEAWEED.id)
    await catalog.delete(LYCHEE.id)
    edited = sample_records()[0]
    edited.title = {**edited.title, edited.language: "Something else entirely"}
    await catalog.upsert([edited])
    (ticket,) = await store.tickets()
    await store.update(Ticket, ticket.id, status="claimed", claimed_by=7, claimed_name="Hà")
    (message,) = await store.rows(Outgoing)
    await store.delete(Outgoing, message.id)
    await store.delete(Attachment, "report:2026-04")
    await store.user(99, "Minh")
    await store.save(Ticket(user_id=99, status="open", language="en"))
    await engine.dispose()


async def fingerprints() -> dict[str, str]:
    catalog = CatalogStore(make_engine(database_url()))
    try:
        return await catalog.fingerprints()
    finally:
        await catalog.engine.dispose()


def search(capsys, query: str) -> list[str]:
    assert main(["search", query, "--top", "3", "--json"]) == 0
    return [hit["id"] for hit in json.loads(capsys.readouterr().out)["results"]]


def test_restore_brings_back_every_row_and_a_working_index(sample_env, tmp_path, capsys):
    asyncio.run(populate())
    assert main(["index", "build"]) == 0
    asyncio.run(add(LYCHEE))  # not indexed yet when the backup is taken
    before = asyncio.run(every_row())
    backup = tmp_path / "backup"
    capsys.readouterr()

    assert main(["backup", str(backup)]) == 0
    assert capsys.readouterr().out.startswith(f"backed up {sum(map(len, before.values()))} row(s) ")
    manifest = json.loads((backup / "manifest.json").read_text())
    assert manifest["revision"] == HEAD
    assert manifest["tables"] == {name: len(rows) for name, rows in before.items()}
    assert manifest["index"]["records"] == len(before["catalog_entries"]) - 1

    asyncio.run(change_everything())
    assert main(["index", "build"]) == 0
    assert asyncio.run(every_row()) != before
    capsys.readouterr()

    assert main(["restore", str(backup)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith(f"restored {sum(map(len, before.values()))} row(s) in {len(before)} table(s)")
    assert (
        out[1] == "index: 1 record(s) embedded and 0 removed to match the restored catalogue"
    )  # the backup's index, plus LYCHEE
    assert asyncio.run(every_row()) == before

    index = json.loads((sample_env / "index" / "manifest.json").read_text())
    assert {rid: meta["hash"] for rid, meta in index["records"].items()} == asyncio.run(fingerprints())
    assert search(capsys, "seaweed biostimulant enzymatic extraction")[0] == SEAWEED.id
    assert LYCHEE.id in search(capsys, "đóng hộp vải thiều")

    async def next_ticket() -> int:  # the restored sequences go on after the restored rows
        store = BotStore(make_engine(database_url()))
        ticket = Ticket(user_id=42, status="open", language="vi")
        await store.save(ticket)
        await store.engine.dispose()
        return ticket.id

    assert asyncio.run(next_ticket()) > max(row[0] for row in before["bot_tickets"])


def test_an_older_backup_is_migrated_and_nothing_newer_survives(data_dir, tmp_path, capsys):
    async def at_first_revision() -> None:
        engine = make_engine(database_url())
        await migrations.upgrade(engine, "0001")
        async with engine.begin() as conn:
            await conn.execute(
                text("INSERT INTO bot_users (id, first_name, created_at) VALUES (7, 'Lan', :at)"),
                {"at": datetime(2026, 4, 1, tzinfo=UTC)},
            )
        await engine.dispose()

    asyncio.run(at_first_revision())
    backup = tmp_path / "backup"
    assert main(["backup", str(backup)]) == 0
    assert "bot_attachments" not in json.loads((backup / "manifest.json").read_text())["tables"]

    async def newer_rows() -> None:  # bot_attachments (revision 0002) gets a row the backup cannot have
        catalog = await open_catalog()
        store = BotStore(catalog.engine)
        await store.save(Attachment(key="report:2026-05", name="report.xlsx", data=b"PK"))
        await store.user(8, "Minh")
        await catalog.engine.dispose()

    asyncio.run(newer_rows())
    capsys.readouterr()
    assert main(["restore", str(backup)]) == 0
    assert capsys.readouterr().out.splitlines()[0].endswith(f"schema revision 0001 -> {HEAD}")
    rows = asyncio.run(every_row())
    assert [row[0] for row in rows["bot_users"]] == [7]
    assert rows["bot_attachments"] == []


def test_restore_refuses_what_is_not_a_backup_of_the_configured_database(
    data_dir, database, tmp_path, capsys, monkeypatch
):
    assert main(["db", "upgrade"]) == 0
    backup = tmp_path / "backup"
    assert main(["backup", str(backup)]) == 0
    assert main(["backup", str(backup)]) == 1
    capsys.readouterr()

    def refusal(path) -> str:
        assert main(["restore", str(path)]) == 1
        out, err = capsys.readouterr()
        assert out == "" and err.count("\n") == 1
        return err

    assert refusal(tmp_path) == f"techconnect restore: {tmp_path} is not a TechConnect backup\n"
    (backup / "manifest.json").rename(tmp_path / "manifest.json")
    assert refusal(tmp_path) == f"techconnect restore: {tmp_path} is not a TechConnect backup\n"  # a manifest alone
    (tmp_path / "manifest.json").rename(backup / "manifest.json")
    if database == "sqlite":  # a PostgreSQL that is never reached: the refusal comes first
        monkeypatch.setenv("TECHCONNECT_DATABASE_URL", "postgresql://nobody@127.0.0.1:9/none")
    else:
        monkeypatch.delenv("TECHCONNECT_DATABASE_URL")
    other = "postgresql" if database == "sqlite" else "sqlite"
    assert (
        refusal(backup)
        == f"techconnect restore: {backup} is a {database} backup, but the configured database is {other}\n"
    )


@pytest.mark.parametrize(
    "url, environment",
    [
        (
            "postgresql+asyncpg://postgres:@/test_3?host=/tmp/pg-socket",
            {"PGHOST": "/tmp/pg-socket", "PGUSER": "postgres", "PGDATABASE": "test_3"},
        ),
        (
            "postgresql://tc:s3cret@db.example:6543/techconnect?ssl=require",
            {
                "PGHOST": "db.example",
                "PGPORT": "6543",
                "PGUSER": "tc",
                "PGPASSWORD": "s3cret",
                "PGDATABASE": "techconnect",
                "PGSSLMODE": "require",
            },
        ),
    ],
)
def test_libpq_tools_reach_the_database_the_url_names(url, environment):
    assert libpq_environment(url) == environment
