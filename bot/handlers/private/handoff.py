"""Handoff, the user's side: contact details with consent, a ticket for staff, the relay to staff.

A ticket starts from "Request introduction" on a result, "Talk to staff" in the menu, or the
offer after "no good match". Its state is in the database, so a restart loses nothing.
"""

from __future__ import annotations

from html import escape
from zoneinfo import ZoneInfo

from telegram import InlineKeyboardMarkup, Update
from telegram.ext import CallbackQueryHandler, CommandHandler, ContextTypes, filters

from bot import mirror, tickets
from bot.callbacks import parse
from bot.contact import STEPS, advance, applies, ask, request_handoff
from bot.db import Relay, Ticket, now
from bot.delivery import ticket_lane
from bot.i18n import gettext_for, translate
from bot.render import button, shorten, when
from bot.services import Services, current_user, services


async def on_talk_to_staff(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    await update.callback_query.answer()
    search = await services(context).store.latest_search(update.effective_user.id)
    await request_handoff(update, context, [], search.query if search else None)


async def on_request_introduction(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    query = update.callback_query
    callback = parse(query.data)
    user, language = await current_user(update, context)
    search = await services(context).store.search(callback.number())
    if (
        search is None
        or search.user_id != user.id
        or not (callback.arg or "").isdigit()
        or not 1 <= int(callback.arg) <= len(search.hits)
    ):
        await query.answer(translate(language, "This button is no longer valid. Please search again."), show_alert=True)
        return
    await query.answer()
    await request_handoff(update, context, [search.hits[int(callback.arg) - 1][0]], search.query)


async def on_form_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Back, Keep, Cancel, Edit (any detail) and consent buttons of the contact form."""
    query = update.callback_query
    callback = parse(query.data)
    svc = services(context)
    user, language = await current_user(update, context)
    _ = gettext_for(language)
    ticket = await svc.store.ticket(callback.number() if callback else None)
    action = (callback.arg if callback else None) or ""
    if ticket is None or ticket.user_id != user.id or ticket.status != "collecting" or not applies(ticket, action):
        await query.answer(_("This button is no longer valid. Please search again."), show_alert=True)
        return
    await query.answer()
    await query.edit_message_reply_markup(None)
    if action == "cancel":
        ticket.status, ticket.step, ticket.closed_at = "cancelled", None, now()
        await svc.store.save(ticket)
        await svc.store.set_focus(user.id, None)
        await query.message.reply_text(_("Cancelled. Nothing was sent to staff."))
        return
    if action == "agree":
        await submit(update, context, ticket, language)
        return
    if action == "back":
        ticket.step = "confirm" if ticket.to_preview or ticket.step == "fields" else STEPS[STEPS.index(ticket.step) - 1]
        ticket.to_preview = False
    elif action == "edit":
        ticket.step = "fields"
    elif action.startswith("e-"):
        ticket.step, ticket.to_preview = action[2:], True
    elif action == "keep":
        advance(ticket)
    await svc.store.save(ticket)
    await ask(query.message, svc, language, ticket)


UNREACHABLE_WAIT = 0.5  # seconds (scaled like Telegram's limits) to hear whether the staff group took the request
MIN_UNREACHABLE_WAIT = 0.25  # real seconds the bot needs at least to hear back from the staff group


async def submit(update: Update, context: ContextTypes.DEFAULT_TYPE, ticket: Ticket, language: str) -> None:
    """Consent given: the ticket is open and the user is told at once; its topic and card follow
    (the staff group's budget never keeps the user waiting). If the group refuses them soon after,
    the user hears that the request is kept, and again once it reaches staff."""
    svc = services(context)
    _ = gettext_for(language)
    ticket.status, ticket.step, ticket.consent_at = "open", None, now()
    await svc.store.save(ticket)
    await svc.store.set_focus(ticket.user_id, None)
    message = update.effective_message
    text = _(
        "Your request #{number} has been sent to our staff. A staff member will reply in this chat; "
        "anything you write here reaches them."
    ).format(number=ticket.id)
    await message.reply_text(
        text + _away_note(svc, language),
        reply_markup=InlineKeyboardMarkup([[button("🛑 " + _("End conversation"), "end", ticket.id)]]),
    )
    lane = ticket_lane(ticket.id)
    svc.outbox.kick(context.bot, svc, lane)
    wait = max(UNREACHABLE_WAIT * svc.settings.time_scale, MIN_UNREACHABLE_WAIT)
    if await svc.outbox.finished(lane, timeout=wait) and not (await svc.store.ticket(ticket.id)).card_message_id:
        await message.reply_text(
            _(
                "Your request #{number} is saved, but our staff cannot be reached right now. "
                "It will reach them as soon as possible, and I will tell you."
            ).format(number=ticket.id)
        )


def _away_note(svc: Services, language: str) -> str:
    hours = svc.settings.office_hours
    moment = now()
    if hours.is_open(moment):
        return ""
    _ = gettext_for(language)
    opening = when(hours.next_opening(moment), language, ZoneInfo(hours.zone))
    return "\n\n" + _("Our office is closed now; expect an answer from {when} (Vietnam time).").format(when=opening)


async def on_end(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """The user ends their conversation with staff (button or /end)."""
    svc = services(context)
    user, language = await current_user(update, context)
    _ = gettext_for(language)
    ticket = await svc.store.active_ticket(user.id)
    if update.callback_query:  # the button names its ticket: one closed since, or another's, is not ended here
        if ticket is None or ticket.id != parse(update.callback_query.data).number():
            await update.callback_query.answer(_("This button is no longer valid."), show_alert=True)
            return
        await update.callback_query.answer()
    if ticket is None or ticket.status == "collecting":
        await update.effective_message.reply_text(_("You have no open conversation with staff."))
        return
    await tickets.close(context.bot, svc, ticket, by_user=True)


async def relay_to_staff(update: Update, context: ContextTypes.DEFAULT_TYPE, ticket: Ticket) -> None:
    """The user's message goes to staff (the ticket's topic, or its holder's private chat), behind
    everything sent before it; if staff cannot be reached, the user is told it is kept."""
    svc = services(context)
    message = update.effective_message
    if await svc.store.relay_for(message.chat_id, message.message_id):
        return  # handled before a restart
    relay = Relay(
        ticket_id=ticket.id,
        direction="to_staff",
        source_chat=message.chat_id,
        source_message_id=message.message_id,
        text=message.text or message.caption or "",
    )
    rows, _claimed = await svc.store.save_relay(relay, lambda r, _c: [mirror.staff_copy(svc, ticket, r, message)])
    svc.outbox.kick(context.bot, svc, *(row.lane for row in rows))  # the group's budget never holds up the user
    if ticket.mirror_chat:
        svc.outbox.refresh_card(context.bot, svc, ticket.id, within=mirror.CARD_ACTIVITY)


async def on_user_edit(update: Update, context: ContextTypes.DEFAULT_TYPE, relay: Relay) -> None:
    """A user edited a message that went to staff: the new text is shown under its copy."""
    svc = services(context)
    edited = update.edited_message
    staff_ = gettext_for(svc.settings.staff_language)
    text = "✏️ " + staff_("Edited: {text}").format(text=escape(shorten(edited.text or edited.caption or "", 3000)))
    ticket = await svc.store.ticket(relay.ticket_id)
    await svc.outbox.post(context.bot, svc, *mirror.staff_notices(svc, ticket, text, reply_to_relay=relay.id))


HANDLERS = [
    CallbackQueryHandler(on_talk_to_staff, pattern=r"^menu:staff$"),
    CallbackQueryHandler(on_request_introduction, pattern=r"^intr:"),
    CallbackQueryHandler(on_form_button, pattern=r"^hf:"),
    CallbackQueryHandler(on_end, pattern=r"^end:\d+$"),
    CommandHandler("end", on_end, filters=filters.ChatType.PRIVATE),
]
