"""Staff create connection events with /newevent (``key: value`` lines, checked like an events
file) and cancel them with /cancelevent; users who registered are told of a cancellation."""

from __future__ import annotations

import logging
from html import escape

from telegram import Update
from telegram.constants import ParseMode
from telegram.ext import CommandHandler, ContextTypes

from bot.db import Event, EventRegistration
from bot.delivery import notify
from bot.events import (
    EXAMPLE,
    check_event,
    command_fields,
    event_title,
    event_view,
    participants,
    unknown_entries,
    user_language,
    zone,
)
from bot.i18n import gettext_for, plural_for
from bot.render import when
from bot.services import services
from bot.staffing import staff_gettext, staff_only

log = logging.getLogger("techconnect.events")


# ----------------------------------------------------------------------------- what an event shows


# ----------------------------------------------------------------------------- checking what staff give


# ----------------------------------------------------------------------------- staff: /newevent, /cancelevent


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
        lines = [
            "⚠️ " + staff_("The event was not created:"),
            *(f"• {escape(f)}: {escape(r)}" for f, r in problems),
            "",
            staff_("Write it like this:"),
            f"<code>{escape(EXAMPLE)}</code>",
        ]
        await message.reply_text("\n".join(lines), parse_mode=ParseMode.HTML)
        return
    event = Event(**values, created_by=update.effective_user.id)
    await svc.store.save(event)
    language = svc.settings.staff_language
    summary = event_view(event, await participants(svc, event), language, zone(svc))
    await message.reply_text(
        "✅ " + staff_("Event #{number} created.").format(number=event.id) + "\n\n" + summary, parse_mode=ParseMode.HTML
    )


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
        text = "❌ " + _(
            "“{title}” on {when} has been cancelled. Staff will contact you about the meetings you asked for."
        ).format(title=escape(event_title(event, language)), when=escape(when(event.starts_at, language, zone(svc))))
        await notify(context.bot, svc, user_id, text)
    ngettext = plural_for(svc.settings.staff_language)
    await update.effective_message.reply_text(
        ngettext(
            "Event #{number} cancelled; {count} user was told.",
            "Event #{number} cancelled; {count} users were told.",
            len(registered),
        ).format(number=event.id, count=len(registered))
    )


# ----------------------------------------------------------------------------- staff: events files


# ----------------------------------------------------------------------------- users: /events, Details, Meet


# ----------------------------------------------------------------------------- reminders


HANDLERS = [
    CommandHandler("newevent", new_event),
    CommandHandler("cancelevent", cancel_event),
]
