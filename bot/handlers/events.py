"""Connection events: the sessions the department runs (e.g. a Vietnam–Taiwan session with a
delegation of suppliers), where users ask to meet participants.

Staff create events with /newevent or an ``events*`` file (sent to the staff group, see
``catalog_files``); users browse them with /events, and "Meet" on a participant both records
the wish and opens (or extends) a handoff ticket, because staff arrange the meetings. Times are
stored in UTC and shown in the department's time zone; every decision reads ``svc.clock``.
"""
from __future__ import annotations

import logging
import re
from datetime import datetime, timedelta, timezone
from html import escape
from pathlib import Path
from typing import Any, Callable
from zoneinfo import ZoneInfo

from babel.dates import format_datetime
from sqlalchemy.exc import IntegrityError
from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.constants import ParseMode
from telegram.ext import CallbackQueryHandler, CommandHandler, ContextTypes, filters

from bot.callbacks import parse
from bot.db import Event, EventRegistration, User
from bot.handlers.handoff import request_handoff
from bot.handlers.staff import staff_only, staff_gettext
from bot.i18n import DEFAULT_LANGUAGE, gettext_for
from bot.delivery import notify
from bot.render import button, details, fit, owner_line, pick, shorten
from bot.services import Services, current_user, services
from catalog.io import ImportFailed, RowError, raw_rows
from catalog.language import LANGUAGES, detect_language, normalize_language_code
from catalog.model import Record, RecordError
from catalog.taxonomy import babel_locale

log = logging.getLogger("techconnect.events")
REMIND_BEFORE = timedelta(hours=24)
_WHEN = re.compile(r"^\d{4}-\d{2}-\d{2}[ T]\d{1,2}:\d{2}")
EXAMPLE = ("/newevent\ndate: 2026-12-15 09:00\nplace: Hai Phong Science and Technology Center\n"
           "vi: Phiên kết nối công nghệ Việt Nam – Đài Loan\nen: Vietnam–Taiwan technology connection session\n"
           "entries: tw-aqua-001, tw-aqua-002")


# ----------------------------------------------------------------------------- what an event shows

def zone(svc: Services) -> ZoneInfo:
    return ZoneInfo(svc.settings.office_hours.zone)


def event_title(event: Event, language: str) -> str:
    """In ``language`` when staff wrote it, else in another language they did."""
    return pick(event.title, language, next(iter(event.title)))[0]


def when(moment: datetime, language: str, tz: ZoneInfo) -> str:
    """Full local date and short time, ordered as the reader's locale orders them."""
    locale = babel_locale(language)
    pattern = locale.datetime_formats["medium"].format(locale.time_formats["short"].pattern, locale.date_formats["full"].pattern)
    return format_datetime(moment, pattern, tzinfo=tz, locale=locale)


def heading(event: Event, language: str, tz: ZoneInfo) -> list[str]:
    lines = [f"📅 <b>{escape(event_title(event, language))}</b>", "🕘 " + escape(when(event.starts_at, language, tz))]
    if event.place:
        lines.append("📍 " + escape(event.place))
    return lines


def participant(record: Record, language: str) -> str:
    """Title in the reader's language (or the original), organisation, flag and country."""
    title = pick(record.title, language, record.language)[0]
    owner = owner_line(record, language)
    return f"<b>{escape(title)}</b>" + (f" — {escape(owner)}" if owner else "")


async def participants(svc: Services, event: Event) -> list[tuple[int, Record]]:
    """(position in the event, record) of the entries still published; positions stay stable for buttons."""
    records = await svc.catalog.get_many(event.entries)
    return [(n, records[rid]) for n, rid in enumerate(event.entries, 1)
            if rid in records and records[rid].status == "published"]


def event_view(event: Event, entries: list[tuple[int, Record]], language: str, tz: ZoneInfo) -> str:
    _ = gettext_for(language)
    lines = heading(event, language, tz)
    if entries:
        lines += ["", "<b>" + _("Participants") + "</b>"]
        lines += [f"{n}. {participant(record, language)}" for n, record in entries]
    return fit("\n".join(lines))


# ----------------------------------------------------------------------------- checking what staff give

def check_event(raw: dict[str, Any], tz: ZoneInfo, staff_: Callable[[str], str]) -> tuple[dict[str, Any], list[tuple[str, str]]]:
    """The event's columns from raw fields (title, date, place, entries), and what is wrong with
    them as (field, reason) in the staff's language."""
    problems: list[tuple[str, str]] = []
    title = raw.get("title")
    titles: dict[str, str] = {}
    if isinstance(title, str) and title.strip():
        titles = {detect_language(title): title.strip()}
    elif isinstance(title, dict):
        for code, text in title.items():
            language = normalize_language_code(str(code))
            if language is None:
                problems.append(("title", staff_("unknown language {code} (use one of {languages})").format(
                    code=code, languages=", ".join(LANGUAGES))))
            elif not isinstance(text, str):
                problems.append(("title", staff_("{code} must be a text").format(code=code)))
            elif text.strip():
                titles[language] = " ".join(text.split())
    elif title not in (None, ""):
        problems.append(("title", staff_("must be a text or an object keyed by language")))
    if not titles and not problems:
        problems.append(("title", staff_("is required, in at least one language")))
    starts_at = None
    date = str(raw.get("date") or "").strip()
    if not date:
        problems.append(("date", staff_("is required")))
    else:
        try:
            if not _WHEN.match(date):
                raise ValueError(date)
            value = datetime.fromisoformat(date)
            starts_at = (value if value.tzinfo else value.replace(tzinfo=tz)).astimezone(timezone.utc)
        except ValueError:
            problems.append(("date", staff_("must be YYYY-MM-DD HH:MM (local time) or ISO 8601 with an offset, not {value}").format(value=date)))
    entries = raw.get("entries") or []
    if isinstance(entries, str):
        entries = re.split(r"[,;\s]+", entries)
    if not isinstance(entries, list) or not all(isinstance(e, str) for e in entries):
        problems.append(("entries", staff_("must be a list of catalogue entry ids")))
        entries = []
    entries = list(dict.fromkeys(e.strip() for e in entries if e.strip()))
    values = {"title": titles, "starts_at": starts_at, "place": " ".join(str(raw.get("place") or "").split()), "entries": entries}
    return values, problems


def unknown_entries(entries: list[str], found: dict[str, Record], staff_: Callable[[str], str]) -> list[tuple[str, str]]:
    missing = [e for e in entries if e not in found]
    return [("entries", staff_("no catalogue entry with id {ids}").format(ids=", ".join(missing)))] if missing else []


# ----------------------------------------------------------------------------- staff: /newevent, /cancelevent

def command_fields(text: str, staff_: Callable[[str], str]) -> tuple[dict[str, Any], list[tuple[str, str]]]:
    """The ``key: value`` lines after /newevent as raw fields; titles keyed by language."""
    parts = text.split(None, 1)
    raw: dict[str, Any] = {"title": {}}
    problems: list[tuple[str, str]] = []
    for line in (parts[1] if len(parts) > 1 else "").splitlines():
        if not line.strip():
            continue
        key, colon, value = line.partition(":")
        key = key.strip()
        if not colon:
            problems.append((shorten(line, 40), staff_("write each line as key: value")))
        elif key.lower() in ("date", "place", "entries"):
            raw[key.lower()] = value.strip()
        elif normalize_language_code(key):
            raw["title"][key] = value.strip()
        else:
            problems.append((key, staff_("unknown key; use date, place, entries, or a language: vi, en, zh-Hant, zh-Hans")))
    return raw, problems


async def new_event(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/newevent with ``key: value`` lines: every problem in one reply, else the event's summary."""
    if not await staff_only(update, context):
        return
    svc = services(context)
    staff_ = staff_gettext(context)
    message = update.effective_message
    raw, problems = command_fields(message.text or "", staff_)
    values, more = check_event(raw, zone(svc), staff_)
    problems += more + unknown_entries(values["entries"], await svc.catalog.get_many(values["entries"]), staff_)
    if values["starts_at"] and values["starts_at"] < svc.clock.now():
        problems.append(("date", staff_("is in the past")))
    if problems:
        lines = ["⚠️ " + staff_("The event was not created:"), *(f"• {escape(f)}: {escape(r)}" for f, r in problems),
                 "", staff_("Write it like this:"), f"<code>{escape(EXAMPLE)}</code>"]
        await message.reply_text("\n".join(lines), parse_mode=ParseMode.HTML)
        return
    event = Event(**values, created_by=update.effective_user.id)
    await svc.store.save(event)
    language = svc.settings.staff_language
    summary = event_view(event, await participants(svc, event), language, zone(svc))
    await message.reply_text("✅ " + staff_("Event #{number} created.").format(number=event.id) + "\n\n" + summary,
                             parse_mode=ParseMode.HTML)


async def cancel_event(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/cancelevent N: the event disappears from /events; users who asked to meet someone are told."""
    if not await staff_only(update, context):
        return
    svc = services(context)
    staff_ = staff_gettext(context)
    arg = context.args[0].lstrip("#") if context.args else ""
    event = await svc.store.get(Event, int(arg)) if arg.isdigit() and len(arg) <= 12 else None
    if event is None or event.status != "scheduled":
        await update.effective_message.reply_text(staff_("Use /cancelevent N with the number of a scheduled event."))
        return
    event.status = "cancelled"
    await svc.store.save(event)
    registered = {r.user_id for r in await svc.store.rows(EventRegistration, EventRegistration.event_id == event.id)}
    for user_id in registered:
        language = await user_language(svc, user_id)
        _ = gettext_for(language)
        text = "❌ " + _("“{title}” on {when} has been cancelled. Staff will contact you about the meetings you asked for.").format(
            title=escape(event_title(event, language)), when=escape(when(event.starts_at, language, zone(svc))))
        await notify(context.bot, svc, user_id, text)
    await update.effective_message.reply_text(staff_("Event #{number} cancelled; {count} users were told.").format(
        number=event.id, count=len(registered)))


# ----------------------------------------------------------------------------- staff: events files

EVENT_COLUMNS = frozenset({"id", "title", "date"})


async def import_events(path: Path, svc: Services, staff_id: int, staff_: Callable[[str], str]) -> tuple[int, int]:
    """Create or update (by ``id``) the events of a file: (new, updated). All or nothing: raises
    :class:`ImportFailed` with every bad row, reasons in the staff's language."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ImportFailed([RowError(path.name, 0, "file", str(exc))]) from None
    errors: list[RowError] = []
    rows: list[tuple[int, str, dict[str, Any]]] = []
    seen: dict[str, int] = {}
    for line, raw in raw_rows(text, path.suffix.lower(), EVENT_COLUMNS):
        if isinstance(raw, RecordError):
            errors.append(RowError(path.name, line, raw.field, raw.reason))
            continue
        if not isinstance(raw, dict):
            errors.append(RowError(path.name, line, "record", staff_("must be a JSON object")))
            continue
        key = str(raw.get("id") or "").strip()
        values, problems = check_event(raw, zone(svc), staff_)
        if not key or len(key) > 100:
            problems.insert(0, ("id", staff_("is required (at most 100 characters)")))
        elif key in seen:
            problems.insert(0, ("id", staff_("duplicate of line {line}").format(line=seen[key])))
        errors += [RowError(path.name, line, field, reason) for field, reason in problems]
        seen.setdefault(key, line)
        rows.append((line, key, values))
    found = await svc.catalog.get_many({e for _, _, values in rows for e in values["entries"]})
    for line, _key, values in rows:
        errors += [RowError(path.name, line, field, reason) for field, reason in unknown_entries(values["entries"], found, staff_)]
    if errors:
        raise ImportFailed(sorted(errors, key=lambda e: e.line))
    existing = {e.key: e for e in await svc.store.rows(Event, Event.key.in_([key for _, key, _ in rows]))}
    events = []
    for _line, key, values in rows:
        event = existing.get(key) or Event(key=key, created_by=staff_id)
        for name, value in values.items():
            setattr(event, name, value)
        events.append(event)
    await svc.store.save(*events)
    return len(rows) - len(existing), len(existing)


# ----------------------------------------------------------------------------- users: /events, Details, Meet

async def list_events(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/events: the upcoming scheduled events, each with a button to open it."""
    svc = services(context)
    _user, language = await current_user(update, context)
    _ = gettext_for(language)
    events = await svc.store.rows(Event, Event.status == "scheduled", Event.starts_at >= svc.clock.now(),
                                  order_by=Event.starts_at, limit=20)
    if not events:
        await update.effective_message.reply_text(
            _("No connection events are planned at the moment. Meanwhile, just write what technology you are looking for."))
        return
    blocks = ["<b>" + _("Upcoming connection events") + "</b>"]
    blocks += ["\n".join(heading(event, language, zone(svc))) for event in events]
    rows = [[button(shorten(event_title(event, language), 60), "ev", event.id)] for event in events]
    await update.effective_message.reply_text(fit("\n\n".join(blocks)), parse_mode=ParseMode.HTML,
                                              reply_markup=InlineKeyboardMarkup(rows))


async def _pressed(update: Update, context: ContextTypes.DEFAULT_TYPE) -> tuple[str, Event | None, Record | None]:
    """(language, event, participant) a button names; None for what is gone, past or forged."""
    svc = services(context)
    _user, language = await current_user(update, context)
    callback = parse(update.callback_query.data)
    event = await svc.store.get(Event, callback.number()) if callback else None
    if event is None or event.status != "scheduled" or event.starts_at < svc.clock.now():
        return language, None, None
    arg = callback.arg or ""
    if not arg.isdigit() or not 1 <= int(arg) <= len(event.entries):
        return language, event, None
    record = await svc.catalog.get(event.entries[int(arg) - 1])
    return language, event, record if record and record.status == "published" else None


async def _stale(update: Update, language: str) -> None:
    await update.callback_query.answer(gettext_for(language)("This event is no longer open. Send /events for the current ones."),
                                       show_alert=True)


def meet_button(language: str, event: Event, position: int) -> InlineKeyboardButton:
    return button("🤝 " + gettext_for(language)("Meet"), "evm", event.id, position)


async def on_open(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """An event from the list: its participants, each with Details and Meet."""
    language, event, _record = await _pressed(update, context)
    if event is None:
        await _stale(update, language)
        return
    svc = services(context)
    _ = gettext_for(language)
    await update.callback_query.answer()
    entries = await participants(svc, event)
    rows = [[button(f"ℹ️ {n}. " + shorten(pick(r.title, language, r.language)[0], 40), "evd", event.id, n),
             meet_button(language, event, n)] for n, r in entries]
    await update.callback_query.message.reply_text(event_view(event, entries, language, zone(svc)), parse_mode=ParseMode.HTML,
                                                   reply_markup=InlineKeyboardMarkup(rows) if rows else None)


async def on_details(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    language, event, record = await _pressed(update, context)
    if record is None:
        await _stale(update, language)
        return
    await update.callback_query.answer()
    position = int(parse(update.callback_query.data).arg)
    await update.callback_query.message.reply_text(details(record, language), parse_mode=ParseMode.HTML,
                                                   reply_markup=InlineKeyboardMarkup([[meet_button(language, event, position)]]))


async def on_meet(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Record the wish to meet a participant (once) and bring it to staff as a handoff ticket."""
    language, event, record = await _pressed(update, context)
    if record is None:
        await _stale(update, language)
        return
    svc = services(context)
    _ = gettext_for(language)
    user_id = update.effective_user.id
    await update.callback_query.answer()
    known = await svc.store.newest(EventRegistration, EventRegistration.event_id == event.id,
                                   EventRegistration.user_id == user_id, EventRegistration.record_id == record.id)
    if known is None:
        try:
            await svc.store.save(EventRegistration(event_id=event.id, user_id=user_id, record_id=record.id))
        except IntegrityError:  # a double tap already registered it
            pass
    title = event_title(event, language)
    name = record.organization or pick(record.title, language, record.language)[0]
    await update.callback_query.message.reply_text(
        "✅ " + _("Noted: you would like to meet {name} at “{event}”. I will remind you the day before.").format(
            name=escape(name), event=escape(title)), parse_mode=ParseMode.HTML)
    await request_handoff(update, context, [record.id], query=title)


# ----------------------------------------------------------------------------- reminders

async def user_language(svc: Services, user_id: int) -> str:
    user = await svc.store.get(User, user_id)
    return user.language if user and user.language else DEFAULT_LANGUAGE


async def remind(context: ContextTypes.DEFAULT_TYPE) -> None:
    """Job: users who asked to meet someone at an event starting within 24 hours are reminded once.

    Registrations are marked before the message goes out, so a restart never reminds twice.
    """
    svc = services(context)
    now = svc.clock.now()
    events = await svc.store.rows(Event, Event.status == "scheduled", Event.starts_at >= now, Event.starts_at <= now + REMIND_BEFORE)
    for event in events:
        by_user: dict[int, list[EventRegistration]] = {}
        for registration in await svc.store.rows(EventRegistration, EventRegistration.event_id == event.id):
            by_user.setdefault(registration.user_id, []).append(registration)
        for user_id, registrations in by_user.items():
            if any(r.reminded_at for r in registrations):
                continue
            for registration in registrations:
                registration.reminded_at = now
            await svc.store.save(*registrations)
            language = await user_language(svc, user_id)
            _ = gettext_for(language)
            records = await svc.catalog.get_many(r.record_id for r in registrations)
            lines = ["⏰ " + _("Reminder: you are expected at this connection event.")] + heading(event, language, zone(svc))
            lines.append(_("You asked to meet:"))
            lines += ["• " + participant(records[r.record_id], language) for r in registrations if r.record_id in records]
            await notify(context.bot, svc, user_id, fit("\n".join(lines)))


HANDLERS = [
    CommandHandler("events", list_events, filters=filters.ChatType.PRIVATE),
    CommandHandler("newevent", new_event),
    CommandHandler("cancelevent", cancel_event),
    CallbackQueryHandler(on_open, pattern=r"^ev:\d+$"),
    CallbackQueryHandler(on_details, pattern=r"^evd:\d+:\d+$"),
    CallbackQueryHandler(on_meet, pattern=r"^evm:\d+:\d+$"),
]


def schedule(application) -> None:
    """The reminder job, every 10 minutes (its name lets tests find and run it)."""
    application.job_queue.run_repeating(remind, interval=600, first=600, name="event_reminders")
