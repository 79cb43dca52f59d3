"""Connection events, the user's side: /events lists the sessions the department runs (e.g. a
Vietnam–Taiwan session with a delegation of suppliers); "Meet" on a participant records the wish
and opens (or extends) a handoff ticket, because staff arrange the meetings; /events also lists
the user's registrations, each of which they can cancel; registered users are reminded the day
before. Times are shown in the department's time zone; every decision reads
``svc.clock``."""

from __future__ import annotations

import logging
from contextlib import suppress
from datetime import timedelta
from html import escape

from sqlalchemy.exc import IntegrityError
from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.constants import ParseMode
from telegram.error import BadRequest
from telegram.ext import CallbackQueryHandler, CommandHandler, ContextTypes, filters

from bot.callbacks import parse
from bot.contact import request_handoff
from bot.db import Event, EventRegistration
from bot.delivery import notify
from bot.events import event_title, event_view, heading, participant, participants, user_language, zone
from bot.i18n import gettext_for, translate
from bot.mirror import staff_notices
from bot.render import button, details, fit, pick, shorten, version_rows
from bot.services import Services, current_user, services
from bot.workers import alone
from catalog.model import Record

log = logging.getLogger("techconnect.events")
REMIND_BEFORE = timedelta(hours=24)


# ----------------------------------------------------------------------------- what an event shows


# ----------------------------------------------------------------------------- checking what staff give


# ----------------------------------------------------------------------------- staff: /newevent, /cancelevent


# ----------------------------------------------------------------------------- staff: events files


# ----------------------------------------------------------------------------- users: /events, Details, Meet


async def list_events(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/events: the upcoming scheduled events, each with a button to open it, and the meetings the
    user asked for there, each with a button to cancel it."""
    svc = services(context)
    _user, language = await current_user(update, context)
    text, keyboard = await _listing(svc, update.effective_user.id, language)
    await update.effective_message.reply_text(text, parse_mode=ParseMode.HTML, reply_markup=keyboard)


async def _listing(svc: Services, user_id: int, language: str) -> tuple[str, InlineKeyboardMarkup | None]:
    _ = gettext_for(language)
    events = await svc.store.rows(
        Event, Event.status == "scheduled", Event.starts_at >= svc.clock.now(), order_by=Event.starts_at, limit=20
    )
    if not events:
        return _(
            "No connection events are planned at the moment. Meanwhile, just write what technology you are looking for."
        ), None
    blocks = ["<b>" + _("Upcoming connection events") + "</b>"]
    blocks += ["\n".join(heading(event, language, zone(svc))) for event in events]
    rows = [[button(shorten(event_title(event, language), 60), "ev", event.id)] for event in events]
    registered = {
        (r.event_id, r.record_id)
        for r in await svc.store.rows(
            EventRegistration,
            EventRegistration.user_id == user_id,
            EventRegistration.event_id.in_([e.id for e in events]),
        )
    }
    mine = []
    for event in events:
        meetings = [(n, r) for n, r in await participants(svc, event) if (event.id, r.id) in registered]
        if meetings:
            mine.append("📅 " + escape(event_title(event, language)))
            mine += ["• " + participant(record, language) for _n, record in meetings]
            rows += [
                [
                    button(
                        "❌ " + _("Cancel: {name}").format(name=shorten(whom(record, language), 40)), "evx", event.id, n
                    )
                ]
                for n, record in meetings
            ]
    if mine:
        blocks.append("📋 <b>" + _("Your registrations") + "</b>\n" + "\n".join(mine))
    return fit("\n\n".join(blocks)), InlineKeyboardMarkup(rows)


def whom(record: Record, language: str) -> str:
    """Whom the user meets: the organisation, else the entry's title."""
    return record.organization or pick(record.title, language, record.language)[0]


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
    await update.callback_query.answer(
        translate(language, "This event is no longer open. Send /events for the current ones."), show_alert=True
    )


def meet_button(language: str, event: Event, position: int) -> InlineKeyboardButton:
    return button("🤝 " + translate(language, "Meet"), "evm", event.id, position)


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
    rows = [
        [
            button(f"ℹ️ {n}. " + shorten(pick(r.title, language, r.language)[0], 40), "evd", event.id, n),
            meet_button(language, event, n),
        ]
        for n, r in entries
    ]
    await update.callback_query.message.reply_text(
        event_view(event, entries, language, zone(svc)),
        parse_mode=ParseMode.HTML,
        reply_markup=InlineKeyboardMarkup(rows) if rows else None,
    )


async def on_details(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    language, event, record = await _pressed(update, context)
    if record is None:
        await _stale(update, language)
        return
    await update.callback_query.answer()
    position = int(parse(update.callback_query.data).arg)
    await update.callback_query.message.reply_text(
        details(record, language),
        parse_mode=ParseMode.HTML,
        reply_markup=InlineKeyboardMarkup([[meet_button(language, event, position)], *version_rows(record, language)]),
    )


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
    known = await svc.store.newest(
        EventRegistration,
        EventRegistration.event_id == event.id,
        EventRegistration.user_id == user_id,
        EventRegistration.record_id == record.id,
    )
    if known is None:
        with suppress(IntegrityError):  # a double tap already registered it
            await svc.store.save(EventRegistration(event_id=event.id, user_id=user_id, record_id=record.id))
    title = event_title(event, language)
    await update.callback_query.message.reply_text(
        "✅ "
        + _("Noted: you would like to meet {name} at “{event}”. I will remind you the day before.").format(
            name=escape(whom(record, language)), event=escape(title)
        ),
        parse_mode=ParseMode.HTML,
    )
    await request_handoff(update, context, [record.id], query=title)


async def on_cancel(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Cancel a meeting the user asked for (once: a second tap finds nothing to cancel), refresh the
    list, and tell staff in the user's ticket, where they arrange the meetings."""
    language, event, _record = await _pressed(update, context)
    position = int(parse(update.callback_query.data).arg)
    if event is None or not 1 <= position <= len(event.entries):
        await _stale(update, language)
        return
    svc = services(context)
    _ = gettext_for(language)
    user_id = update.effective_user.id
    registration = await svc.store.newest(
        EventRegistration,
        EventRegistration.event_id == event.id,
        EventRegistration.user_id == user_id,
        EventRegistration.record_id == event.entries[position - 1],
    )
    if registration is None:
        await update.callback_query.answer(_("Already cancelled."))
        return
    await svc.store.delete(EventRegistration, registration.id)
    record = await svc.catalog.get(registration.record_id)
    who = whom(record, language) if record else registration.record_id
    await update.callback_query.answer(_("Cancelled: you no longer ask to meet {name}.").format(name=who))
    text, keyboard = await _listing(svc, user_id, language)
    with suppress(BadRequest):  # the list shows the same as before
        await update.callback_query.edit_message_text(text, parse_mode=ParseMode.HTML, reply_markup=keyboard)
    ticket = await svc.store.active_ticket(user_id)
    if ticket is not None and ticket.consent_at and registration.record_id in ticket.entries:
        staff_ = gettext_for(svc.settings.staff_language)
        notice = staff_("The user no longer asks to meet {name} at “{event}”.").format(
            name=whom(record, svc.settings.staff_language) if record else registration.record_id,
            event=event_title(event, svc.settings.staff_language),
        )
        await svc.outbox.post(context.bot, svc, *staff_notices(svc, ticket, "❌ " + escape(notice)))


# ----------------------------------------------------------------------------- reminders


async def remind(context: ContextTypes.DEFAULT_TYPE) -> None:
    """Job: users who asked to meet someone at an event starting within 24 hours are reminded once.

    Registrations are marked before the message goes out, so a restart never reminds twice.
    """
    svc = services(context)
    now = svc.clock.now()
    events = await svc.store.rows(
        Event, Event.status == "scheduled", Event.starts_at >= now, Event.starts_at <= now + REMIND_BEFORE
    )
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
            lines = ["⏰ " + _("Reminder: you are expected at this connection event.")] + heading(
                event, language, zone(svc)
            )
            lines.append(_("You asked to meet:"))
            lines += [
                "• " + participant(records[r.record_id], language) for r in registrations if r.record_id in records
            ]
            await notify(context.bot, svc, user_id, fit("\n".join(lines)))


HANDLERS = [
    CommandHandler("events", list_events, filters=filters.ChatType.PRIVATE),
    CallbackQueryHandler(on_open, pattern=r"^ev:\d+$"),
    CallbackQueryHandler(on_details, pattern=r"^evd:\d+:\d+$"),
    CallbackQueryHandler(on_meet, pattern=r"^evm:\d+:\d+$"),
    CallbackQueryHandler(on_cancel, pattern=r"^evx:\d+:\d+$"),
]


def schedule(application) -> None:
    """The reminder job, every 10 minutes (its name lets tests find and run it)."""
    application.job_queue.run_repeating(alone(remind), interval=600, first=600, name="event_reminders")
