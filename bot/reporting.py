"""The department's programme in numbers, for the dashboard (/stats) and the workbook (/report).

The funnel follows one enterprise from looking to agreeing: a search, a request to be introduced
(the contact form started), a ticket (the request reached staff), an introduction staff made, an
agreement (an introduction whose outcome is "agreement"). Every counted step keeps what it was
about (sector, country, the user's language, the connection event where the user met that entry),
so any breakdown is a count over the same steps and the totals always agree.

Pure queries and arithmetic: no Telegram types, so reports can be made by a job or a command alike.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from statistics import median
from zoneinfo import ZoneInfo

from babel.dates import format_skeleton
from sqlalchemy import func, or_, select

from bot.db import BotStore, Event, EventRegistration, Introduction, Relay, Search, Ticket, User
from bot.i18n import LANGUAGE_NAMES, N_, translate
from catalog.model import Record
from catalog.store import CatalogStore, EntryRow
from catalog.taxonomy import babel_locale, country_name, sector_label

FUNNEL = ("searches", "requests", "tickets", "introductions", "agreements")
FUNNEL_NAMES = {
    "searches": N_("Searches"),
    "requests": N_("Introduction requests"),
    "tickets": N_("Tickets"),
    "introductions": N_("Introductions"),
    "agreements": N_("Agreements"),
}
DIMENSIONS = ("month", "sector", "country", "language", "event")
DIMENSION_NAMES = {
    "month": N_("Month"),
    "sector": N_("Sector"),
    "country": N_("Country"),
    "language": N_("User language"),
    "event": N_("Event"),
}
STAGE_LABELS = {  # an introduction's outcome so far (bot.db.STAGES)
    "introduced": N_("Introduced"),
    "meeting": N_("Meeting"),
    "negotiation": N_("Negotiation"),
    "agreement": N_("Agreement"),
    "declined": N_("Declined"),
}
OUTCOMES = ("agreement", "declined")
_MONTH = re.compile(r"^(\d{4})-(\d{2})$")


@dataclass(frozen=True)
class Period:
    """Whole calendar months in the department's time zone, ``first`` to ``last`` (year, month)."""

    first: tuple[int, int]
    last: tuple[int, int]
    zone: ZoneInfo

    @classmethod
    def ending(cls, year: int, month: int, zone: ZoneInfo, months: int = 1) -> Period:
        index = year * 12 + month - 1 - (months - 1)
        return cls((index // 12, index % 12 + 1), (year, month), zone)

    def months(self) -> list[tuple[int, int]]:
        first, last = self.first[0] * 12 + self.first[1] - 1, self.last[0] * 12 + self.last[1] - 1
        return [(i // 12, i % 12 + 1) for i in range(first, last + 1)]

    @property
    def start(self) -> datetime:
        """Local midnight of the first day, in UTC (as the database compares it)."""
        return datetime(*self.first, 1, tzinfo=self.zone).astimezone(UTC)

    @property
    def end(self) -> datetime:
        year, month = self.last
        return datetime(year + month // 12, month % 12 + 1, 1, tzinfo=self.zone).astimezone(UTC)

    def holds(self, moment: datetime | None) -> bool:
        return moment is not None and self.start <= moment < self.end

    def month_of(self, moment: datetime) -> str:
        local = moment.astimezone(self.zone)
        return f"{local.year}-{local.month:02d}"

    def name(self) -> str:
        first, last = (f"{y}-{m:02d}" for y, m in (self.first, self.last))
        return first if first == last else f"{first} – {last}"


def parse_month(text: str) -> tuple[int, int] | None:
    """``"2026-04"`` as (2026, 4); None for anything else."""
    match = _MONTH.match(text.strip())
    if not match or not 1 <= int(match[2]) <= 12 or not 2000 <= int(match[1]) <= 2100:
        return None
    return int(match[1]), int(match[2])


def previous_month(moment: datetime, zone: ZoneInfo) -> tuple[int, int]:
    local = moment.astimezone(zone)
    return (local.year, local.month - 1) if local.month > 1 else (local.year - 1, 12)


@dataclass(frozen=True)
class Step:
    """One counted step of the funnel, with what it was about."""

    stage: str
    at: datetime
    sector: str | None
    country: str | None
    language: str | None
    event: int | None


class Meetings:
    """Who asked to meet which entry at which connection event, and when."""

    def __init__(self, registrations: list[EventRegistration]) -> None:
        self._by_pair: dict[tuple[int, str], list[EventRegistration]] = {}
        for registration in sorted(registrations, key=lambda r: r.created_at):
            self._by_pair.setdefault((registration.user_id, registration.record_id), []).append(registration)

    def event(self, user_id: int, record_ids, moment: datetime) -> int | None:
        """The event where the user had last asked, by ``moment``, to meet one of these entries:
        what came of a meeting there is counted for that event."""
        earlier = [
            r for record_id in record_ids for r in self._by_pair.get((user_id, record_id), []) if r.created_at <= moment
        ]
        return max(earlier, key=lambda r: r.created_at).event_id if earlier else None


@dataclass
class Report:
    period: Period
    steps: list[Step]
    tickets: list[Ticket]  # created in the period, or reached staff in it
    introductions: list[Introduction]  # made in the period
    outcomes: list[Introduction]  # agreement or declined reached in the period (its last change)
    entries: list[tuple[Record, bool, bool]]  # (entry, published in the period, expired in the period)
    events: list[Event]  # starting in the period
    registrations: list[EventRegistration]  # for those events
    records: dict[str, Record]  # the entries that rows name
    ticket_of: dict[int, Ticket]  # tickets of the introductions and outcomes
    event_titles: dict[int, dict]  # every event a step or a row names
    meetings: Meetings
    first_reply: dict[int, datetime]  # ticket -> the first message staff wrote to its user
    unclaimed: int  # open tickets nobody holds, at the time of the report
    made_at: datetime

    def funnel(self) -> dict[str, int]:
        counts = Counter(step.stage for step in self.steps)
        return {stage: counts[stage] for stage in FUNNEL}

    def breakdown(self, dimension: str) -> dict[str | int | None, dict[str, int]]:
        """Funnel counts per value of ``dimension``: months in order (every month of the period),
        anything else by its number of steps, most first, "none" last."""
        counts: dict = {}
        for step in self.steps:
            key = self.period.month_of(step.at) if dimension == "month" else getattr(step, dimension)
            counts.setdefault(key, Counter())[step.stage] += 1
        if dimension == "month":
            keys = [f"{y}-{m:02d}" for y, m in self.period.months()]
        else:
            keys = sorted(counts, key=lambda k: (k is None, -sum(counts[k].values()), str(k)))
        return {key: {stage: counts.get(key, Counter())[stage] for stage in FUNNEL} for key in keys}

    def reply_times(self) -> dict[int, timedelta]:
        """Ticket -> how long after reaching staff its user got the first message staff wrote, for
        tickets that reached staff in the period."""
        return {
            ticket.id: self.first_reply[ticket.id] - ticket.consent_at
            for ticket in self.tickets
            if self.period.holds(ticket.consent_at) and ticket.id in self.first_reply
        }

    def median_reply(self) -> timedelta | None:
        times = list(self.reply_times().values())
        return median(times) if times else None

    def label(self, dimension: str, key, language: str) -> str:
        """What a breakdown's row is called, in ``language``."""
        if key is None:
            return translate(language, "(none)")
        if dimension == "month":
            year, month = (int(part) for part in key.split("-"))
            return format_skeleton("yMMM", date(year, month, 1), locale=babel_locale(language))
        if dimension == "sector":
            return sector_label(key, language)
        if dimension == "country":
            return country_name(key, language)
        if dimension == "language":
            return LANGUAGE_NAMES.get(key, key)
        return event_title(self.event_titles.get(key, {}), language) or f"#{key}"


def event_title(titles: dict, language: str) -> str:
    """In ``language`` when staff wrote it, else in the first language they did."""
    return titles.get(language) or next(iter(titles.values()), "")


def _between(column, period: Period):
    return (column >= period.start) & (column < period.end)


async def gather(store: BotStore, catalog: CatalogStore, period: Period, now: datetime) -> Report:
    """Everything the period's report shows, read in one go."""
    async with store.session() as session:
        searches = (
            await session.execute(
                select(Search.created_at, Search.sector, Search.country, Search.hits, User.language)
                .join(User, User.id == Search.user_id)
                .where(_between(Search.created_at, period))
            )
        ).all()
        tickets = list(
            (
                await session.scalars(
                    select(Ticket)
                    .where(or_(_between(Ticket.created_at, period), _between(Ticket.consent_at, period)))
                    .order_by(Ticket.id)
                )
            ).all()
        )
        introductions = list(
            (
                await session.scalars(
                    select(Introduction)
                    .where(
                        or_(
                            _between(Introduction.created_at, period),
                            Introduction.stage.in_(OUTCOMES) & _between(Introduction.updated_at, period),
                        )
                    )
                    .order_by(Introduction.id)
                )
            ).all()
        )
        registrations = list((await session.scalars(select(EventRegistration).order_by(EventRegistration.id))).all())
        events = {event.id: event for event in (await session.scalars(select(Event))).all()}
        first_reply = dict(
            (
                await session.execute(
                    select(Relay.ticket_id, func.min(Relay.created_at))
                    .where(Relay.direction == "to_user")
                    .group_by(Relay.ticket_id)
                )
            ).all()
        )
        intro_tickets = {
            t.id: t
            for t in (
                await session.scalars(select(Ticket).where(Ticket.id.in_({i.ticket_id for i in introductions})))
            ).all()
        }
        unclaimed = await session.scalar(
            select(func.count())
            .select_from(Ticket)
            .where(Ticket.status == "open", Ticket.claimed_by.is_(None), Ticket.consent_at.is_not(None))
        )
    held = sorted((e for e in events.values() if period.holds(e.starts_at)), key=lambda e: e.starts_at)
    registered = [r for r in registrations if r.event_id in {e.id for e in held}]
    entries = await _entries(catalog, period, now.astimezone(period.zone).date())
    wanted = {hits[0][0] for *_, hits, _ in searches if hits} | {i.record_id for i in introductions}
    wanted |= {record_id for t in tickets for record_id in t.entries[:1]} | {r.record_id for r in registered}
    records = {**await catalog.get_many(wanted), **{record.id: record for record, *_ in entries}}
    meetings = Meetings(registrations)

    def about(record_id: str | None) -> tuple[str | None, str | None]:
        record = records.get(record_id) if record_id else None
        return (record.sector, record.country) if record else (None, None)

    steps = []
    for created_at, sector, country, hits, language in searches:  # what was asked for, else what was found first
        found = about(hits[0][0] if hits else None)
        steps.append(Step("searches", created_at, sector or found[0], country or found[1], language, None))
    for ticket in tickets:
        attributes = (*about(ticket.entries[0] if ticket.entries else None), ticket.language)
        for stage, moment in (("requests", ticket.created_at), ("tickets", ticket.consent_at)):
            if period.holds(moment):
                steps.append(Step(stage, moment, *attributes, meetings.event(ticket.user_id, ticket.entries, moment)))
    for intro in introductions:
        ticket = intro_tickets[intro.ticket_id]
        attributes = (
            *about(intro.record_id),
            ticket.language,
            meetings.event(ticket.user_id, [intro.record_id], intro.created_at),
        )
        if period.holds(intro.created_at):
            steps.append(Step("introductions", intro.created_at, *attributes))
        if intro.stage == "agreement" and period.holds(intro.updated_at):
            steps.append(Step("agreements", intro.updated_at, *attributes))
    return Report(
        period=period,
        steps=steps,
        tickets=tickets,
        introductions=[i for i in introductions if period.holds(i.created_at)],
        outcomes=[i for i in introductions if i.stage in OUTCOMES and period.holds(i.updated_at)],
        entries=entries,
        events=held,
        registrations=registered,
        records=records,
        ticket_of=intro_tickets,
        event_titles={i: e.title for i, e in events.items()},
        meetings=meetings,
        first_reply=first_reply,
        unclaimed=unclaimed or 0,
        made_at=now,
    )


async def _entries(catalog: CatalogStore, period: Period, today: date) -> list[tuple[Record, bool, bool]]:
    """Catalogue entries (not the sample ones) published in the period, or whose listing ended in it."""
    first_day, end_day = date(*period.first, 1), period.end.astimezone(period.zone).date()
    async with catalog.session() as session:
        rows = (
            await session.scalars(
                select(EntryRow)
                .where(
                    or_(
                        _between(EntryRow.created_at, period),
                        (EntryRow.expires_at >= first_day) & (EntryRow.expires_at < min(end_day, today)),
                    )
                )
                .order_by(EntryRow.created_at)
            )
        ).all()
    result = []
    for row in rows:
        record = row.record()
        if not record.sample:
            expired = record.expires_at is not None and first_day <= record.expires_at < min(end_day, today)
            result.append((record, period.holds(row.created_at), expired))
    return result
