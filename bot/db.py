"""The bot's own state in the database: users and their searches.

Nothing a conversation needs lives only in process memory, so a restart (or a second worker)
picks up where the last one left off, and every button refers to a row it can be checked against.
"""
from __future__ import annotations

from datetime import datetime, timezone

from sqlalchemy import JSON, BigInteger, DateTime, ForeignKey, Integer, String, Text, select
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


def now() -> datetime:
    return datetime.now(timezone.utc)


class Base(DeclarativeBase):
    pass


class User(Base):
    __tablename__ = "bot_users"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)  # Telegram user id
    language: Mapped[str | None] = mapped_column(String(8))
    mode: Mapped[str | None] = mapped_column(String(10))  # kind searched by default: offer, request or None (both)
    first_name: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=now)


class Search(Base):
    """One query and its ranked hits: what the result buttons page through."""

    __tablename__ = "bot_searches"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    user_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("bot_users.id"), index=True)
    query: Mapped[str] = mapped_column(Text)
    kind: Mapped[str | None] = mapped_column(String(10))
    sector: Mapped[str | None] = mapped_column(String(60))
    country: Mapped[str | None] = mapped_column(String(2))
    hits: Mapped[list] = mapped_column(JSON, default=list)  # [[record id, score, matched language], ...]
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=now)


class BotStore:
    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        self.session = async_sessionmaker(engine, expire_on_commit=False)

    async def create(self) -> None:
        async with self.engine.begin() as conn:
            await conn.run_sync(Base.metadata.create_all)

    async def user(self, user_id: int, first_name: str = "") -> User:
        """The user's row, created on first contact."""
        async with self.session.begin() as session:
            user = await session.get(User, user_id)
            if user is None:
                user = User(id=user_id, first_name=first_name[:200])
                session.add(user)
            return user

    async def update_user(self, user_id: int, **values) -> None:
        async with self.session.begin() as session:
            user = await session.get(User, user_id)
            for key, value in values.items():
                setattr(user, key, value)

    async def save_search(self, search: Search) -> Search:
        async with self.session.begin() as session:
            session.add(search)
        return search

    async def search(self, search_id: int) -> Search | None:
        async with self.session() as session:
            return await session.get(Search, search_id)

    async def latest_search(self, user_id: int) -> Search | None:
        async with self.session() as session:
            return await session.scalar(
                select(Search).where(Search.user_id == user_id).order_by(Search.id.desc()).limit(1)
            )
