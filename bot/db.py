"""The bot's own state in the database: users, searches, handoff tickets, relays, introductions.

Nothing a conversation needs lives only in process memory, so a restart (or a second worker)
picks up where the last one left off, and every button refers to a row it can be checked against.
"""
from __future__ import annotations

from datetime import datetime, timezone

from sqlalchemy import JSON, BigInteger, Boolean, ForeignKey, Integer, String, Text, UniqueConstraint, func, select
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from catalog.store import Database, UtcDateTime


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
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=now)


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
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=now)


ACTIVE = ("collecting", "open", "claimed")
STAGES = ("introduced", "meeting", "negotiation", "agreement", "declined")


class Ticket(Base):
    """A user's request for staff: collecting contact details -> open -> claimed -> resolved."""

    __tablename__ = "bot_tickets"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    user_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("bot_users.id"), index=True)
    status: Mapped[str] = mapped_column(String(12), index=True)  # collecting, open, claimed, resolved, cancelled
    step: Mapped[str | None] = mapped_column(String(20))  # while collecting: the detail asked for
    language: Mapped[str] = mapped_column(String(8))
    entries: Mapped[list] = mapped_column(JSON, default=list)  # catalogue record ids asked about
    queries: Mapped[list] = mapped_column(JSON, default=list)  # what the user searched
    contact: Mapped[dict] = mapped_column(JSON, default=dict)  # name, organisation, role, reach, purpose
    consent_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    topic_id: Mapped[int | None] = mapped_column(BigInteger)  # forum topic in the staff group
    card_message_id: Mapped[int | None] = mapped_column(BigInteger)
    claimed_by: Mapped[int | None] = mapped_column(BigInteger)
    claimed_name: Mapped[str | None] = mapped_column(String(200))
    bot_answers: Mapped[bool] = mapped_column(Boolean, default=True)  # False while a human holds it
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=now)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=now, onupdate=now)
    closed_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    alerted_at: Mapped[datetime | None] = mapped_column(UtcDateTime)


class Relay(Base):
    """One message carried between a user and a ticket's topic (or a staff note); also the outbox."""

    __tablename__ = "bot_relays"
    __table_args__ = (UniqueConstraint("source_chat", "source_message_id", name="uq_relay_source"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    ticket_id: Mapped[int] = mapped_column(Integer, ForeignKey("bot_tickets.id"), index=True)
    direction: Mapped[str] = mapped_column(String(10))  # to_staff, to_user, note
    source_chat: Mapped[int] = mapped_column(BigInteger)
    source_message_id: Mapped[int] = mapped_column(BigInteger)
    target_message_id: Mapped[int | None] = mapped_column(BigInteger)  # None until delivered
    text: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=now)


class Introduction(Base):
    """An introduction staff made between a requester and an entry's owner, and what came of it."""

    __tablename__ = "bot_introductions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    ticket_id: Mapped[int] = mapped_column(Integer, ForeignKey("bot_tickets.id"), index=True)
    record_id: Mapped[str] = mapped_column(String(100))
    stage: Mapped[str] = mapped_column(String(12), default="introduced")
    reason: Mapped[str | None] = mapped_column(Text)
    staff_id: Mapped[int] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=now)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=now, onupdate=now)


class BotStore(Database):
    metadata = Base.metadata

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

    async def _get(self, model, row_id: int | None):
        """The row with this id; None for none (ids from buttons may name nothing)."""
        if row_id is None:
            return None
        async with self.session() as session:
            return await session.get(model, row_id)

    async def _newest(self, model, *conditions):
        """The newest row of ``model`` that meets ``conditions``, or None."""
        async with self.session() as session:
            return await session.scalar(select(model).where(*conditions).order_by(model.id.desc()).limit(1))

    async def search(self, search_id: int | None) -> Search | None:
        return await self._get(Search, search_id)

    async def latest_search(self, user_id: int) -> Search | None:
        return await self._newest(Search, Search.user_id == user_id)

    # --- handoff --------------------------------------------------------------------------
    async def active_ticket(self, user_id: int) -> Ticket | None:
        return await self._newest(Ticket, Ticket.user_id == user_id, Ticket.status.in_(ACTIVE))

    async def newest_ticket(self, user_id: int) -> Ticket | None:
        return await self._newest(Ticket, Ticket.user_id == user_id)

    async def ticket(self, ticket_id: int | None) -> Ticket | None:
        return await self._get(Ticket, ticket_id)

    async def ticket_by_topic(self, topic_id: int) -> Ticket | None:
        return await self._newest(Ticket, Ticket.topic_id == topic_id)

    async def tickets(self, *conditions) -> list[Ticket]:
        async with self.session() as session:
            return list((await session.scalars(select(Ticket).where(*conditions).order_by(Ticket.id))).all())

    async def save(self, *rows) -> None:
        """Insert new rows and update loaded ones (tickets, relays, introductions) in one transaction."""
        async with self.session.begin() as session:
            for row in rows:
                if row.id is None:
                    session.add(row)
                else:
                    await session.merge(row)

    async def relay_for(self, source_chat: int, source_message_id: int) -> Relay | None:
        return await self._newest(Relay, Relay.source_chat == source_chat, Relay.source_message_id == source_message_id)

    async def relay_by_target(self, ticket_id: int, target_message_id: int) -> Relay | None:
        return await self._newest(Relay, Relay.ticket_id == ticket_id, Relay.target_message_id == target_message_id)

    async def relays(self, *conditions, limit: int | None = None, newest: bool = False) -> list[Relay]:
        async with self.session() as session:
            query = select(Relay).where(*conditions).order_by(Relay.id.desc() if newest else Relay.id)
            return list((await session.scalars(query.limit(limit) if limit else query)).all())

    async def introductions(self, *conditions) -> list[Introduction]:
        async with self.session() as session:
            return list((await session.scalars(select(Introduction).where(*conditions).order_by(Introduction.id))).all())

    async def introduction(self, intro_id: int) -> Introduction | None:
        return await self._get(Introduction, intro_id)

    async def count_by(self, column, *conditions) -> dict:
        async with self.session() as session:
            rows = await session.execute(select(column, func.count()).where(*conditions).group_by(column))
            return dict(rows.all())
