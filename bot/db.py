"""The bot's own state in the database: users, searches, handoff tickets, relays, introductions,
posted entries under review, matches, subscriptions and their digests, connection events.

Nothing a conversation needs lives only in process memory, so a restart (or a second worker)
picks up where the last one left off, and every button refers to a row it can be checked against.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from enum import StrEnum

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    Float,
    ForeignKey,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
    delete,
    func,
    select,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, validates

from catalog.store import Database, UtcDateTime

INSERTS = {"sqlite": sqlite.insert, "postgresql": postgresql.insert}  # both can skip rows that exist


def now() -> datetime:
    return datetime.now(UTC)


class Base(DeclarativeBase):
    pass


class User(Base):
    __tablename__ = "bot_users"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)  # Telegram user id
    language: Mapped[str | None] = mapped_column(String(8))
    language_settled: Mapped[bool | None] = mapped_column(
        Boolean, default=False
    )  # chosen, or followed their writing once
    mode: Mapped[str | None] = mapped_column(
        String(10)
    )  # kind the next search looks for: offer, request or None (both)
    first_name: Mapped[str] = mapped_column(String(200), default="")
    focus: Mapped[str | None] = mapped_column(String(30))  # the form the user is filling in now: "post:12", "contact:5"
    focus_at: Mapped[datetime | None] = mapped_column(UtcDateTime)  # when that form last asked something
    mirror: Mapped[bool | None] = mapped_column(
        Boolean, default=False
    )  # staff: follow held tickets in this private chat
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=now)


class Search(Base):
    """One query and its ranked hits: what the result buttons page through."""

    __tablename__ = "bot_searches"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    user_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("bot_users.id"), index=True)
    query: Mapped[str] = mapped_column(Text)
    like_entry: Mapped[str | None] = mapped_column(String(100))  # "more like this": the entry searched from
    kind: Mapped[str | None] = mapped_column(String(10))
    sector: Mapped[str | None] = mapped_column(String(60))
    country: Mapped[str | None] = mapped_column(String(2))
    hits: Mapped[list] = mapped_column(JSON, default=list)  # [[record id, score, matched language], ...]
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=now)


class TicketStatus(StrEnum):
    COLLECTING = "collecting"  # the contact form, before consent
    OPEN = "open"  # with staff, nobody holds it
    CLAIMED = "claimed"  # a staff member holds it
    RESOLVED = "resolved"  # closed; reopens when either side writes again
    CANCELLED = "cancelled"  # the form was cancelled: nothing reached staff


class SubmissionStatus(StrEnum):
    DRAFTING = "drafting"
    PENDING = "pending"  # waiting for staff review
    APPROVED = "approved"
    REJECTED = "rejected"
    WITHDRAWN = "withdrawn"
    CANCELLED = "cancelled"


T, S = TicketStatus, SubmissionStatus
MOVES: dict[StrEnum, set[StrEnum]] = {  # the only ways a status may change; anything else is a bug, raised at once
    T.COLLECTING: {T.OPEN, T.CANCELLED},
    T.OPEN: {T.CLAIMED, T.RESOLVED},
    T.CLAIMED: {T.OPEN, T.RESOLVED},
    T.RESOLVED: {T.OPEN, T.CLAIMED},  # reopened, by the same holder when there was one
    T.CANCELLED: set(),
    S.DRAFTING: {
        S.PENDING,
        S.CANCELLED,
        S.APPROVED,
        S.REJECTED,
        S.WITHDRAWN,
    },  # cancelling an edit restores the entry's state
    S.PENDING: {S.APPROVED, S.REJECTED, S.WITHDRAWN},
    S.APPROVED: {S.DRAFTING, S.WITHDRAWN},
    S.REJECTED: {S.DRAFTING, S.WITHDRAWN},
    S.WITHDRAWN: {S.DRAFTING},
    S.CANCELLED: {S.DRAFTING},
}
ACTIVE = (T.COLLECTING, T.OPEN, T.CLAIMED)
STAGES = ("introduced", "meeting", "negotiation", "agreement", "declined")


def _checked_move(row, kind: type[StrEnum], new: str) -> str:
    """The status a row may take next (see MOVES); a new row may start in any."""
    old = row.__dict__.get("status")
    if old is not None and old != new and kind(new) not in MOVES[kind(old)]:
        raise ValueError(f"{type(row).__name__} {row.id}: {old} -> {new} is not allowed")
    return kind(new)


class Ticket(Base):
    """A user's request for staff: collecting contact details -> open -> claimed -> resolved."""

    __tablename__ = "bot_tickets"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    user_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("bot_users.id"), index=True)
    status: Mapped[str] = mapped_column(String(12), index=True)  # a TicketStatus
    step: Mapped[str | None] = mapped_column(
        String(20)
    )  # while collecting: the detail asked for, "fields" or "confirm"
    to_preview: Mapped[bool | None] = mapped_column(
        Boolean, default=False
    )  # editing one detail: back to "confirm" after it
    language: Mapped[str] = mapped_column(String(8))
    entries: Mapped[list] = mapped_column(JSON, default=list)  # catalogue record ids asked about
    queries: Mapped[list] = mapped_column(JSON, default=list)  # what the user searched
    contact: Mapped[dict] = mapped_column(JSON, default=dict)  # name, organisation, role, reach, purpose
    consent_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    topic_id: Mapped[int | None] = mapped_column(BigInteger)  # forum topic in the staff group
    card_message_id: Mapped[int | None] = mapped_column(BigInteger)
    claimed_by: Mapped[int | None] = mapped_column(BigInteger)
    claimed_name: Mapped[str | None] = mapped_column(String(200))
    bot_answers: Mapped[bool] = mapped_column(Boolean, default=False)  # True only after staff hand the user back (/bot)
    mirror_chat: Mapped[int | None] = mapped_column(BigInteger)  # the holder's private chat the conversation goes to
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=now)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=now, onupdate=now)
    closed_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    ended_by_user: Mapped[bool | None] = mapped_column(
        Boolean, default=False
    )  # then writing again is a search, not a reopen
    alerted_at: Mapped[datetime | None] = mapped_column(UtcDateTime)

    @validates("status")
    def _move(self, _key: str, status: str) -> str:
        return _checked_move(self, TicketStatus, status)


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


class Submission(Base):
    """An offer or a need posted through the bot: drafting -> pending (staff review) -> approved | rejected.

    ``draft`` holds the fields as the user gave them; once approved, ``record_id`` names the
    catalogue entry, which stays published in its last approved version while a later edit
    is drafted or reviewed.
    """

    __tablename__ = "bot_submissions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    user_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("bot_users.id"), index=True)
    kind: Mapped[str] = mapped_column(String(10))  # offer or request
    language: Mapped[str] = mapped_column(String(8))
    status: Mapped[str] = mapped_column(String(12), index=True)  # a SubmissionStatus
    step: Mapped[str | None] = mapped_column(String(20))  # while drafting: the field asked for, or "confirm"
    to_preview: Mapped[bool] = mapped_column(Boolean, default=False)  # editing one field: back to "confirm" after it
    draft: Mapped[dict] = mapped_column(
        JSON, default=dict
    )  # title, description, sector, country, trl, partnership, ip_status, deadline
    contact: Mapped[dict] = mapped_column(JSON, default=dict)  # name, organisation, role, reach
    consent_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    record_id: Mapped[str | None] = mapped_column(String(100), index=True)
    review_message_id: Mapped[int | None] = mapped_column(BigInteger)
    staff_field: Mapped[str | None] = mapped_column(String(20))  # a field a staff member is rewriting
    staff_editor: Mapped[int | None] = mapped_column(BigInteger)
    staff_thread: Mapped[int | None] = mapped_column(BigInteger)  # the topic where that staff member was asked to type
    staff_asked_at: Mapped[datetime | None] = mapped_column(UtcDateTime)  # the request expires
    reviewed_by: Mapped[str | None] = mapped_column(String(200))
    reason: Mapped[str | None] = mapped_column(Text)  # why it was rejected
    expiry_notice_for: Mapped[date | None] = mapped_column(Date)  # the expiry date the owner was reminded of
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=now)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=now, onupdate=now)

    @validates("status")
    def _move(self, _key: str, status: str) -> str:
        return _checked_move(self, SubmissionStatus, status)


class StaffTopic(Base):
    """Forum topics of the staff group kept for one purpose (entries to review, matches)."""

    __tablename__ = "bot_staff_topics"

    key: Mapped[str] = mapped_column(String(20), primary_key=True)
    topic_id: Mapped[int] = mapped_column(BigInteger)


class Match(Base):
    """A newly published entry and a counterpart found for it (a need and an offer)."""

    __tablename__ = "bot_matches"
    __table_args__ = (UniqueConstraint("record_id", "counterpart_id", name="uq_match_pair"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    record_id: Mapped[str] = mapped_column(String(100), index=True)
    counterpart_id: Mapped[str] = mapped_column(String(100))
    score: Mapped[float] = mapped_column(Float)
    ticket_id: Mapped[int | None] = mapped_column(Integer)  # once staff proposed the introduction
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=now)


class Subscription(Base):
    """What a user follows: sectors and/or an interest in their own words."""

    __tablename__ = "bot_subscriptions"

    user_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("bot_users.id"), primary_key=True)
    sectors: Mapped[list] = mapped_column(JSON, default=list)
    interest: Mapped[str | None] = mapped_column(Text)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    last_digest_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=now)


class Digest(Base):
    """One digest message; written before it is sent, so a restart never sends it twice."""

    __tablename__ = "bot_digests"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    user_id: Mapped[int] = mapped_column(BigInteger, index=True)
    status: Mapped[str] = mapped_column(String(10), default="sending")  # sending, sent, failed
    message_id: Mapped[int | None] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=now)


class DigestItem(Base):
    """A new entry waiting for a subscriber's next digest."""

    __tablename__ = "bot_digest_items"
    __table_args__ = (UniqueConstraint("user_id", "record_id", name="uq_digest_item"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    user_id: Mapped[int] = mapped_column(BigInteger, index=True)
    record_id: Mapped[str] = mapped_column(String(100))
    reason: Mapped[str] = mapped_column(String(80))  # the sector key, or "interest"
    digest_id: Mapped[int | None] = mapped_column(Integer, ForeignKey("bot_digests.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=now)


class Event(Base):
    """A connection session the department runs, with the entries taking part."""

    __tablename__ = "bot_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    key: Mapped[str | None] = mapped_column(String(100), unique=True)  # id from an imported file: re-import updates
    title: Mapped[dict] = mapped_column(JSON)  # language -> title
    starts_at: Mapped[datetime] = mapped_column(UtcDateTime, index=True)
    place: Mapped[str] = mapped_column(Text, default="")
    entries: Mapped[list] = mapped_column(JSON, default=list)  # catalogue record ids
    status: Mapped[str] = mapped_column(String(10), default="scheduled")  # scheduled, cancelled
    created_by: Mapped[int | None] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=now)


class EventRegistration(Base):
    """A user's wish to meet one participant of an event."""

    __tablename__ = "bot_event_registrations"
    __table_args__ = (UniqueConstraint("event_id", "user_id", "record_id", name="uq_registration"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    event_id: Mapped[int] = mapped_column(Integer, ForeignKey("bot_events.id"), index=True)
    user_id: Mapped[int] = mapped_column(BigInteger, index=True)
    record_id: Mapped[str] = mapped_column(String(100))
    reminded_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=now)


class Outgoing(Base):
    """A message that must reach someone, written down before any network call.

    Rows of one ``lane`` (a user's chat, a ticket's topic, a standing staff topic) are delivered
    one after another in id order by :mod:`bot.delivery`; a ticket's topic is resolved (and
    re-created when deleted) at delivery time, so a row never names a topic that may vanish.
    """

    __tablename__ = "bot_outbox"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    lane: Mapped[str] = mapped_column(String(40), index=True)  # user:<id>, ticket:<id>, topic:<key>
    chat_id: Mapped[int] = mapped_column(BigInteger)
    ticket_id: Mapped[int | None] = mapped_column(Integer)
    action: Mapped[str] = mapped_column(
        String(10)
    )  # send, copy, edit, edit_caption, document (an Attachment), close/reopen (a topic)
    text: Mapped[str | None] = mapped_column(Text)  # HTML
    markup: Mapped[dict | None] = mapped_column(JSON)
    from_chat: Mapped[int | None] = mapped_column(BigInteger)
    from_message_id: Mapped[int | None] = mapped_column(BigInteger)
    reply_to_relay: Mapped[int | None] = mapped_column(Integer)  # reply to the delivered copy of this relay
    relay_id: Mapped[int | None] = mapped_column(Integer)  # the relay this delivers (copy) or edits
    ref: Mapped[str | None] = mapped_column(String(40))  # what the sent message is, e.g. "review:12" (its card)
    status: Mapped[str] = mapped_column(String(10), default="pending", index=True)  # pending, sending, sent, failed
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    not_before: Mapped[datetime | None] = mapped_column(UtcDateTime)
    error: Mapped[str | None] = mapped_column(Text)
    message_id: Mapped[int | None] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=now)
    sent_at: Mapped[datetime | None] = mapped_column(UtcDateTime)


class Attachment(Base):
    """A file an outbox row sends (``ref`` names it), kept under a key that says what it is, e.g.
    "report:2026-04": a key that exists means the file was made and queued, so it is made once."""

    __tablename__ = "bot_attachments"

    key: Mapped[str] = mapped_column(String(40), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    data: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=now)


def _claim(ticket_id: int, staff_id: int, staff_name: str):
    return (
        update(Ticket)
        .where(Ticket.id == ticket_id, Ticket.claimed_by.is_(None), Ticket.status.in_(("open", "claimed")))
        .values(
            status="claimed", claimed_by=staff_id, claimed_name=staff_name[:200], bot_answers=False, updated_at=now()
        )
    )


class HandledUpdate(Base):
    """An update whose effect was saved: Telegram sends unconfirmed updates again after a crash,
    and a form answer must not be applied twice (written in the same transaction as the answer)."""

    __tablename__ = "bot_handled_updates"

    update_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    handled_at: Mapped[datetime] = mapped_column(UtcDateTime, default=now, index=True)


class InboxUpdate(Base):
    """An update as Telegram sent it, kept before Telegram is told it arrived (polling confirms it
    with the next getUpdates, a webhook with its answer), so a crash never loses one."""

    __tablename__ = "bot_inbox"

    update_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    payload: Mapped[dict] = mapped_column(JSON)
    done: Mapped[bool] = mapped_column(Boolean, default=False, index=True)
    received_at: Mapped[datetime] = mapped_column(UtcDateTime, default=now, index=True)
    conversation: Mapped[str | None] = mapped_column(String(60), index=True)  # bot.ordering.conversation_key
    worker: Mapped[str | None] = mapped_column(String(100))  # the process handling it (bot.workers)


class Worker(Base):
    """A bot process on this database, alive while it keeps ``seen_at`` fresh (bot.workers)."""

    __tablename__ = "bot_workers"

    name: Mapped[str] = mapped_column(String(100), primary_key=True)
    seen_at: Mapped[datetime] = mapped_column(UtcDateTime)


class Lease(Base):
    """Work only one process may do at a time (an outbox lane, a scheduled job), and who does it.
    A lease held by a process that stopped being alive may be taken over."""

    __tablename__ = "bot_leases"

    key: Mapped[str] = mapped_column(String(120), primary_key=True)
    worker: Mapped[str] = mapped_column(String(100))
    taken_at: Mapped[datetime] = mapped_column(UtcDateTime)


class BotStore(Database):
    async def user(self, user_id: int, first_name: str = "") -> User:
        """The user's row, created on first contact (an insert that tolerates a concurrent one)."""
        async with self.session.begin() as session:
            user = await session.get(User, user_id)
            if user is None:
                insert = INSERTS[self.engine.dialect.name]
                await session.execute(
                    insert(User)
                    .values(id=user_id, first_name=first_name[:200], created_at=now())
                    .on_conflict_do_nothing()
                )
                user = await session.get(User, user_id)
            return user

    async def update_user(self, user_id: int, **values) -> None:
        async with self.session.begin() as session:
            user = await session.get(User, user_id)
            for key, value in values.items():
                setattr(user, key, value)

    async def set_focus(self, user_id: int, form: str | None) -> None:
        """The form the user's next typed message answers ("post:12", "contact:5"), or none."""
        await self.update_user(user_id, focus=form, focus_at=now() if form else None)

    async def claim(self, ticket_id: int, staff_id: int, staff_name: str) -> bool:
        """Take an active ticket nobody holds; False when someone else got it first."""
        async with self.session.begin() as session:
            return (await session.execute(_claim(ticket_id, staff_id, staff_name))).rowcount == 1

    async def save_relay(
        self, relay: Relay, deliveries, *, claim: tuple[int, str] | None = None
    ) -> tuple[list[Outgoing], bool]:
        """The relay and the outbox rows that carry it (``deliveries(relay, claimed)``) in one
        transaction, with the claim of an unheld ticket when ``claim`` is (staff id, name): a
        crash never leaves a claim without its message, or a message without its delivery."""
        async with self.session.begin() as session:
            claimed = claim is not None and (await session.execute(_claim(relay.ticket_id, *claim))).rowcount == 1
            session.add(relay)
            await session.flush()
            rows = deliveries(relay, claimed)
            session.add_all(rows)
        return rows, claimed

    async def save_once(self, attachment: Attachment, *rows) -> bool:
        """The attachment and ``rows`` in one transaction, unless an attachment with its key exists
        (an earlier run or another worker made it): then nothing, and False."""
        insert = INSERTS[self.engine.dialect.name]
        async with self.session.begin() as session:
            values = {"key": attachment.key, "name": attachment.name, "data": attachment.data, "created_at": now()}
            if (await session.execute(insert(Attachment).values(**values).on_conflict_do_nothing())).rowcount != 1:
                return False
            session.add_all(rows)
        return True

    async def save_search(self, search: Search) -> Search:
        async with self.session.begin() as session:
            session.add(search)
        return search

    async def get(self, model, key):
        """The row with this primary key; None for none (ids from buttons may name nothing)."""
        if key is None:
            return None
        async with self.session() as session:
            return await session.get(model, key)

    async def newest(self, model, *conditions):
        """The newest row of ``model`` that meets ``conditions``, or None."""
        async with self.session() as session:
            return await session.scalar(select(model).where(*conditions).order_by(model.id.desc()).limit(1))

    async def rows(self, model, *conditions, order_by=None, limit: int | None = None) -> list:
        """Rows of ``model`` that meet ``conditions``, oldest first unless ``order_by`` says otherwise."""
        async with self.session() as session:
            query = select(model).where(*conditions).order_by(model.id if order_by is None else order_by)
            return list((await session.scalars(query.limit(limit) if limit else query)).all())

    async def search(self, search_id: int | None) -> Search | None:
        return await self.get(Search, search_id)

    async def latest_search(self, user_id: int) -> Search | None:
        return await self.newest(Search, Search.user_id == user_id)

    # --- handoff --------------------------------------------------------------------------
    async def active_ticket(self, user_id: int) -> Ticket | None:
        return await self.newest(Ticket, Ticket.user_id == user_id, Ticket.status.in_(ACTIVE))

    async def newest_ticket(self, user_id: int) -> Ticket | None:
        return await self.newest(Ticket, Ticket.user_id == user_id)

    async def ticket(self, ticket_id: int | None) -> Ticket | None:
        return await self.get(Ticket, ticket_id)

    async def ticket_by_topic(self, topic_id: int) -> Ticket | None:
        return await self.newest(Ticket, Ticket.topic_id == topic_id)

    async def tickets(self, *conditions) -> list[Ticket]:
        return await self.rows(Ticket, *conditions)

    async def save(self, *rows, handled_update: int | None = None) -> None:
        """Insert new rows and update loaded ones in one transaction (rows keyed otherwise than by
        a generated id are merged: inserted or updated), with the update that caused them, if given."""
        async with self.session.begin() as session:
            if handled_update is not None:
                await session.merge(HandledUpdate(update_id=handled_update, handled_at=now()))
            for row in rows:
                if getattr(row, "id", 0) is None:
                    session.add(row)
                else:
                    await session.merge(row)

    async def keep_update(self, update_id: int, payload: dict, *, conversation: str | None, worker: str) -> bool:
        """Write an incoming update down; False when it was written in the last day (Telegram sent it
        again). An older id is a new update: Telegram picks ids afresh after a week without updates."""
        insert = INSERTS[self.engine.dialect.name]
        async with self.session.begin() as session:
            await session.execute(
                delete(InboxUpdate).where(
                    InboxUpdate.update_id == update_id, InboxUpdate.received_at < now() - timedelta(days=1)
                )
            )
            result = await session.execute(
                insert(InboxUpdate)
                .values(
                    update_id=update_id,
                    payload=payload,
                    done=False,
                    received_at=now(),
                    conversation=conversation,
                    worker=worker,
                )
                .on_conflict_do_nothing()
            )
            return result.rowcount == 1

    async def update_done(self, update_id: int) -> None:
        await self.update(InboxUpdate, update_id, done=True)

    async def unfinished_updates(self) -> list[InboxUpdate]:
        return await self.rows(InboxUpdate, InboxUpdate.done.is_(False), order_by=InboxUpdate.update_id)

    async def handled(self, update_id: int) -> bool:
        """Whether this update's effect was saved in the last day (older ids may be reused by Telegram)."""
        row = await self.get(HandledUpdate, update_id)
        return row is not None and row.handled_at > now() - timedelta(days=1)

    async def change_status(self, model, key, old: str, **values) -> bool:
        """Compare and set: update the row only while its status is still ``old``, and say whether
        it did (of two staff deciding at once, one wins)."""
        async with self.session.begin() as session:
            result = await session.execute(update(model).where(model.id == key, model.status == old).values(**values))
            return result.rowcount == 1

    async def delete(self, model, key) -> None:
        async with self.session.begin() as session:
            row = await session.get(model, key)
            if row is not None:
                await session.delete(row)

    async def consented_contacts(self, user_id: int) -> list[dict]:
        """Contact details the user gave with their consent (tickets and posted entries), newest first."""
        async with self.session() as session:
            tickets = await session.execute(
                select(Ticket.contact, Ticket.consent_at).where(
                    Ticket.user_id == user_id, Ticket.consent_at.is_not(None)
                )
            )
            entries = await session.execute(
                select(Submission.contact, Submission.consent_at).where(
                    Submission.user_id == user_id, Submission.consent_at.is_not(None)
                )
            )
            return [
                contact for contact, _ in sorted([*tickets.all(), *entries.all()], key=lambda row: row[1], reverse=True)
            ]

    async def relay_for(self, source_chat: int, source_message_id: int) -> Relay | None:
        return await self.newest(Relay, Relay.source_chat == source_chat, Relay.source_message_id == source_message_id)

    async def relay_by_target(self, ticket_id: int, target_message_id: int) -> Relay | None:
        return await self.newest(Relay, Relay.ticket_id == ticket_id, Relay.target_message_id == target_message_id)

    async def relays(self, *conditions, limit: int | None = None, newest: bool = False) -> list[Relay]:
        return await self.rows(Relay, *conditions, order_by=Relay.id.desc() if newest else None, limit=limit)

    async def introductions(self, *conditions) -> list[Introduction]:
        return await self.rows(Introduction, *conditions)

    async def introduction(self, intro_id: int) -> Introduction | None:
        return await self.get(Introduction, intro_id)

    async def update(self, model, key, **values) -> None:
        """Set columns of one row without loading it (no read-modify-write of other columns)."""
        async with self.session.begin() as session:
            await session.execute(update(model).where(model.__mapper__.primary_key[0] == key).values(**values))

    # --- outbox ---------------------------------------------------------------------------
    async def next_outgoing(self, lane: str) -> Outgoing | None:
        """The lane's oldest row not yet delivered (or given up)."""
        async with self.session() as session:
            return await session.scalar(
                select(Outgoing)
                .where(Outgoing.lane == lane, Outgoing.status.in_(("pending", "sending")))
                .order_by(Outgoing.id)
                .limit(1)
            )

    async def waiting_lanes(self) -> list[str]:
        async with self.session() as session:
            return list(
                (
                    await session.scalars(
                        select(Outgoing.lane)
                        .where(Outgoing.status == "pending")
                        .group_by(Outgoing.lane)
                        .order_by(func.min(Outgoing.id))
                    )
                ).all()
            )

    async def backlog(self) -> tuple[int, datetime | None]:
        """Rows not delivered yet (pending or sending), and when the oldest of them was written."""
        async with self.session() as session:
            count, oldest = (
                await session.execute(
                    select(func.count(), func.min(Outgoing.created_at)).where(
                        Outgoing.status.in_(("pending", "sending"))
                    )
                )
            ).one()
            return count, oldest

    async def unclaimed(self) -> int:
        """Tickets that reached staff and that nobody holds."""
        async with self.session() as session:
            return await session.scalar(
                select(func.count()).select_from(Ticket).where(Ticket.status == TicketStatus.OPEN)
            )

    async def mark(self, row: Outgoing, **values) -> None:
        for key, value in values.items():
            setattr(row, key, value)
        await self.update(Outgoing, row.id, **values)

    async def delivered(self, row: Outgoing, message_id: int | None) -> None:
        """The row arrived: record it, and what the new message is (a relay's copy, a review card)."""
        async with self.session.begin() as session:
            await session.execute(
                update(Outgoing)
                .where(Outgoing.id == row.id)
                .values(status="sent", message_id=message_id, sent_at=now(), error=None)
            )
            if row.action in ("copy", "send") and row.relay_id and message_id:
                await session.execute(
                    update(Relay).where(Relay.id == row.relay_id).values(target_message_id=message_id)
                )
            if row.ref and row.ref.startswith("review:") and message_id:
                await session.execute(
                    update(Submission).where(Submission.id == int(row.ref[7:])).values(review_message_id=message_id)
                )
        row.status, row.message_id = "sent", message_id
