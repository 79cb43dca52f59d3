"""Catalogue storage with SQLAlchemy 2 (async): a SQLite file by default, PostgreSQL by setting.

The whole record is kept as JSON beside the columns that filters need, so new optional fields
never need a migration. The schema itself is created and changed by the bot's migrations.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, date, datetime

from sqlalchemy import JSON, Date, DateTime, Integer, String, TypeDecorator, delete, event, func, select
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from catalog.model import Record, id_digest, parse_record


def make_engine(url: str) -> AsyncEngine:
    """An engine for ``url`` (the bot's settings name it: ``bot.config.database_url``); a plain
    ``postgresql://`` URL gets the async driver."""
    if url.startswith(("postgresql://", "postgres://")):
        url = "postgresql+asyncpg://" + url.split("://", 1)[1]
    if url.startswith("sqlite"):
        engine = create_async_engine(url, connect_args={"timeout": 30})
        event.listen(engine.sync_engine, "connect", _write_ahead_log)
        return engine
    return create_async_engine(url, pool_pre_ping=True)


def _write_ahead_log(connection, _record) -> None:
    """SQLite in WAL mode: readers never wait for a writer (searches during imports and relays)."""
    cursor = connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.close()


class UtcDateTime(TypeDecorator):
    """A time zone-aware timestamp on every database, kept in UTC: SQLite stores the wall clock
    without its offset and hands back naive values (read as UTC), PostgreSQL keeps the instant."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect) -> datetime | None:
        if value is not None and value.tzinfo is None:
            raise ValueError(f"a naive timestamp would mean different instants on different databases: {value}")
        return value if value is None else value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect) -> datetime | None:
        return value if value is None or value.tzinfo else value.replace(tzinfo=UTC)


class Base(DeclarativeBase):
    pass


class EntryRow(Base):
    __tablename__ = "catalog_entries"

    id: Mapped[str] = mapped_column(String(100), primary_key=True)
    kind: Mapped[str] = mapped_column(String(10), index=True)
    status: Mapped[str] = mapped_column(String(12), index=True)
    sector: Mapped[str | None] = mapped_column(String(60), index=True)
    country: Mapped[str | None] = mapped_column(String(2), index=True)
    trl: Mapped[int | None] = mapped_column(Integer)
    expires_at: Mapped[date | None] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)
    written_at: Mapped[datetime | None] = mapped_column(UtcDateTime, index=True)  # this row's last write (version)
    content_hash: Mapped[str] = mapped_column(String(16))
    data: Mapped[dict] = mapped_column(JSON)

    def record(self) -> Record:
        record = parse_record(self.data)
        record.created_at = self.created_at
        record.updated_at = self.updated_at
        return record


class Database:
    """An async engine and its session factory."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        self.session = async_sessionmaker(engine, expire_on_commit=False)


class CatalogStore(Database):
    """Records in the database; every write is one transaction."""

    async def upsert(self, records: Iterable[Record]) -> tuple[int, int]:
        """Insert new records and update existing ones by id: (inserted, updated)."""
        now = datetime.now(UTC)
        records = list(records)
        inserted = updated = 0
        async with self.session.begin() as session:
            existing = (
                {
                    row.id: row
                    for row in (
                        await session.scalars(select(EntryRow).where(EntryRow.id.in_([r.id for r in records])))
                    ).all()
                }
                if records
                else {}
            )
            for record in records:
                row = existing.get(record.id)
                if row is None:
                    row = EntryRow(id=record.id, created_at=record.created_at or now)
                    session.add(row)
                    existing[record.id] = row
                    inserted += 1
                else:
                    updated += 1
                row.kind, row.status, row.sector = record.kind, record.status, record.sector
                row.country, row.trl, row.expires_at = record.country, record.trl, record.expires_at
                row.updated_at, row.written_at = record.updated_at or now, now
                row.content_hash = record.content_hash()
                row.data = {k: v for k, v in record.to_json().items() if k not in ("created_at", "updated_at")}
        return inserted, updated

    async def get(self, record_id: str) -> Record | None:
        async with self.session() as session:
            row = await session.get(EntryRow, record_id)
            return row.record() if row else None

    async def published_by_digest(self, digest: str) -> Record | None:
        """The published record whose :func:`id_digest` is ``digest`` (buttons carry digests, not ids)."""
        async with self.session() as session:
            ids = (await session.scalars(select(EntryRow.id).where(EntryRow.status == "published"))).all()
        record_id = next((i for i in ids if id_digest(i) == digest), None)
        return await self.get(record_id) if record_id else None

    async def get_many(self, ids: Iterable[str]) -> dict[str, Record]:
        ids = list(ids)
        if not ids:
            return {}
        async with self.session() as session:
            rows = (await session.scalars(select(EntryRow).where(EntryRow.id.in_(ids)))).all()
            return {row.id: row.record() for row in rows}

    async def all(self) -> list[Record]:
        async with self.session() as session:
            rows = (await session.scalars(select(EntryRow).order_by(EntryRow.id))).all()
            return [row.record() for row in rows]

    async def fingerprints(self) -> dict[str, str]:
        """id -> content hash of every record, to tell what an index is missing."""
        async with self.session() as session:
            return dict((await session.execute(select(EntryRow.id, EntryRow.content_hash))).all())

    async def delete(self, record_id: str) -> bool:
        async with self.session.begin() as session:
            deleted = await session.execute(delete(EntryRow).where(EntryRow.id == record_id).returning(EntryRow.id))
            return deleted.first() is not None

    async def version(self) -> tuple[int, datetime | None]:
        """Changes whenever a record is written or deleted: cheap to ask before reading them all."""
        async with self.session() as session:
            count, newest = (await session.execute(select(func.count(), func.max(EntryRow.written_at)))).one()
            return count, newest

    async def count(self) -> int:
        async with self.session() as session:
            return await session.scalar(select(func.count()).select_from(EntryRow)) or 0
