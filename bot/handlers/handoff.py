"""Handoff, the user's side: contact details with consent, a ticket for staff, the relay to staff.

A ticket starts from "Request introduction" on a result, "Talk to staff" in the menu, or the
offer after "no good match". Its state is in the database, so a restart loses nothing.
"""
from __future__ import annotations

from datetime import timedelta
from html import escape

from babel.dates import format_datetime
from telegram import InlineKeyboardMarkup, Message, Update
from telegram.constants import ParseMode
from telegram.ext import ApplicationHandlerStop, CallbackQueryHandler, CommandHandler, ContextTypes, MessageHandler, filters

from bot.callbacks import parse
from bot.contact import HINTS, PROMPTS, STEPS, valid
from bot.db import Relay, Ticket, User, now
from bot.i18n import gettext_for
from bot.relay import StaffUnreachable, deliver_to_staff, ensure_topic, post_to_topic, refresh_card, send_to_user
from bot.render import button, shorten
from bot.services import Services, current_user, services
from catalog.taxonomy import babel_locale

def step_keyboard(language: str, ticket: Ticket) -> InlineKeyboardMarkup:
    _ = gettext_for(language)
    row = [button("✖️ " + _("Cancel"), "hf", ticket.id, "cancel")]
    if ticket.step != STEPS[0]:
        row.insert(0, button("◀️ " + _("Back"), "hf", ticket.id, "back"))
    return InlineKeyboardMarkup([row])


def confirmation(language: str, ticket: Ticket) -> tuple[str, InlineKeyboardMarkup]:
    _ = gettext_for(language)
    c = ticket.contact
    text = "\n".join([
        "<b>" + _("Please check your details") + "</b>",
        _("Name: {value}").format(value=escape(c["name"])),
        _("Organisation: {name}").format(name=escape(c["organisation"])),
        _("Role: {value}").format(value=escape(c["role"])),
        _("Phone or e-mail: {value}").format(value=escape(c["reach"])),
        _("Purpose: {value}").format(value=escape(c["purpose"])),
        "",
        _("By tapping “I agree” you consent to the Department sharing these details with its staff "
          "and with the other party of the introduction, for this introduction only."),
    ])
    keyboard = InlineKeyboardMarkup([
        [button("✅ " + _("I agree, send to staff"), "hf", ticket.id, "agree")],
        [button("✏️ " + _("Edit details"), "hf", ticket.id, "edit"), button("✖️ " + _("Cancel"), "hf", ticket.id, "cancel")],
    ])
    return text, keyboard


async def ask(message: Message, language: str, ticket: Ticket) -> None:
    """Prompt for the ticket's current step (or the confirmation once everything is known)."""
    _ = gettext_for(language)
    if ticket.step == "confirm":
        text, keyboard = confirmation(language, ticket)
        await message.reply_text(text, parse_mode=ParseMode.HTML, reply_markup=keyboard)
        return
    await message.reply_text(_(PROMPTS[ticket.step]), reply_markup=step_keyboard(language, ticket))


async def request_handoff(update: Update, context: ContextTypes.DEFAULT_TYPE, entries: list[str], query: str | None) -> None:
    """Open a ticket (or add to the user's open one) about ``entries``."""
    svc = services(context)
    user, language = await current_user(update, context)
    _ = gettext_for(language)
    message = update.effective_message
    if svc.settings.staff_chat_id is None:
        await message.reply_text(_("Introductions by staff are not available at the moment."))
        return
    ticket = await svc.store.active_ticket(user.id)
    if ticket is not None:
        new = [e for e in entries if e not in ticket.entries]
        ticket.entries = ticket.entries + new
        if query and query not in ticket.queries:
            ticket.queries = ticket.queries + [query]
        await svc.store.save(ticket)
        if ticket.status == "collecting":
            await ask(message, language, ticket)
            return
        if new:
            records = await svc.catalog.get_many(new)
            staff_ = gettext_for(svc.settings.staff_language)
            titles = ", ".join(escape(r.title.get(svc.settings.staff_language) or r.title[r.language]) for r in records.values())
            try:
                await post_to_topic(context.bot, svc, ticket, "➕ " + staff_("The user also asks about: {titles}").format(titles=titles))
                await refresh_card(context.bot, svc, ticket)
            except StaffUnreachable:
                pass  # the card shows every entry when the topic is (re)created
        await message.reply_text(_("Added to your open request #{number}. Staff will see it there.").format(number=ticket.id))
        return
    previous = await svc.store.newest_ticket(user.id)
    known = dict(previous.contact) if previous and all(previous.contact.get(s) for s in STEPS[:4]) else {}
    ticket = Ticket(user_id=user.id, status="collecting", language=language, entries=list(entries),
                    queries=[query] if query else [], contact=known, step="purpose" if known else STEPS[0])
    await svc.store.save(ticket)
    intro = _("To introduce you, staff need a few details. You can go back or cancel at any step.")
    if known:
        intro = _("To introduce you, staff will use the details you gave last time; you can edit them.")
    await message.reply_text(intro)
    await ask(message, language, ticket)


async def on_talk_to_staff(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    await update.callback_query.answer()
    search = await services(context).store.latest_search(update.effective_user.id)
    await request_handoff(update, context, [], search.query if search else None)


async def on_request_introduction(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    query = update.callback_query
    callback = parse(query.data)
    user, language = await current_user(update, context)
    search = await services(context).store.search(callback.number())
    if (search is None or search.user_id != user.id or not (callback.arg or "").isdigit()
            or not 1 <= int(callback.arg) <= len(search.hits)):
        await query.answer(gettext_for(language)("This button is no longer valid. Please search again."), show_alert=True)
        return
    await query.answer()
    await request_handoff(update, context, [search.hits[int(callback.arg) - 1][0]], search.query)


async def on_form_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Back, cancel, edit and consent buttons of the contact form."""
    query = update.callback_query
    callback = parse(query.data)
    svc = services(context)
    user, language = await current_user(update, context)
    _ = gettext_for(language)
    ticket = await svc.store.ticket(callback.number())
    if ticket is None or ticket.user_id != user.id or ticket.status != "collecting":
        await query.answer(_("This button is no longer valid. Please search again."), show_alert=True)
        return
    await query.answer()
    await query.edit_message_reply_markup(None)
    action = callback.arg
    if action == "cancel":
        ticket.status, ticket.step, ticket.closed_at = "cancelled", None, now()
        await svc.store.save(ticket)
        await query.message.reply_text(_("Cancelled. Nothing was sent to staff."))
        return
    if action == "back" and ticket.step in STEPS[1:]:
        ticket.step = STEPS[STEPS.index(ticket.step) - 1]
    elif action == "edit":
        ticket.step = STEPS[0]
    elif action == "agree" and ticket.step == "confirm":
        await submit(update, context, ticket, language)
        return
    await svc.store.save(ticket)
    await ask(query.message, language, ticket)


async def submit(update: Update, context: ContextTypes.DEFAULT_TYPE, ticket: Ticket, language: str) -> None:
    """Consent given: open the ticket and bring it to staff (or keep it until they can be reached)."""
    svc = services(context)
    _ = gettext_for(language)
    ticket.status, ticket.step, ticket.consent_at = "open", None, now()
    await svc.store.save(ticket)
    message = update.effective_message
    try:
        await ensure_topic(context.bot, svc, ticket)
    except StaffUnreachable:
        await message.reply_text(_("Your request #{number} is saved, but our staff cannot be reached right now. "
                                   "It will reach them as soon as possible, and I will tell you.").format(number=ticket.id))
        return
    text = _("Your request #{number} has been sent to our staff. A staff member will reply in this chat; "
             "anything you write here reaches them.").format(number=ticket.id)
    await message.reply_text(text + _away_note(svc, language),
                             reply_markup=InlineKeyboardMarkup([[button("🛑 " + _("End conversation"), "end", ticket.id)]]))


def _away_note(svc: Services, language: str) -> str:
    hours = svc.settings.office_hours
    moment = now()
    if hours.is_open(moment):
        return ""
    _ = gettext_for(language)
    when = format_datetime(hours.next_opening(moment), "EEEE, d MMMM, HH:mm", locale=babel_locale(language))
    return "\n\n" + _("Our office is closed now; expect an answer from {when} (Vietnam time).").format(when=when)


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
    await close_ticket(context, ticket, by_user=True)


async def close_ticket(context: ContextTypes.DEFAULT_TYPE, ticket: Ticket, *, by_user: bool) -> None:
    svc = services(context)
    ticket.status, ticket.closed_at, ticket.bot_answers = "resolved", now(), True
    await svc.store.save(ticket)
    _ = gettext_for(ticket.language)
    staff_ = gettext_for(svc.settings.staff_language)
    note = staff_("The user ended the conversation.") if by_user else staff_("Ticket closed.")
    try:
        await post_to_topic(context.bot, svc, ticket, "✅ " + note)
        await context.bot.close_forum_topic(svc.settings.staff_chat_id, ticket.topic_id)
    except Exception:  # closing the topic is a courtesy; the ticket is closed either way
        pass
    await send_to_user(context.bot, svc, ticket, _(
        "This conversation with staff is closed. Write again within {days} days to reopen it; "
        "otherwise I am back to searching for you."
    ).format(days=svc.settings.reopen_days))


async def on_user_message(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Every private message while a ticket is active: the contact form, or the relay to staff.

    Runs before the search handlers; stops them when a human holds the ticket, when the
    message is not text, or when it was an answer in the contact form.
    """
    svc = services(context)
    message = update.effective_message
    user, language = await current_user(update, context)
    ticket = await svc.store.active_ticket(user.id)
    if ticket is None:
        ticket = await _reopenable(svc, user)
        if ticket is None:
            return
        ticket.status, ticket.closed_at, ticket.alerted_at = "open", None, now()
        ticket.claimed_by = ticket.claimed_name = None  # whoever answers now claims it again
        await svc.store.save(ticket)
        staff_ = gettext_for(svc.settings.staff_language)
        try:
            await context.bot.reopen_forum_topic(svc.settings.staff_chat_id, ticket.topic_id)
        except Exception:  # a deleted topic is replaced when the message is relayed
            pass
        try:
            await post_to_topic(context.bot, svc, ticket, "🔄 " + staff_("Reopened: the user wrote again."))
        except StaffUnreachable:
            pass
    if ticket.status == "collecting":
        await _form_answer(message, svc, language, ticket)
        raise ApplicationHandlerStop
    if await svc.store.relay_for(message.chat_id, message.message_id):
        raise ApplicationHandlerStop  # already relayed before a restart
    relay = Relay(ticket_id=ticket.id, direction="to_staff", source_chat=message.chat_id,
                  source_message_id=message.message_id, text=message.text or message.caption or "")
    await svc.store.save(relay)
    if not await deliver_to_staff(context.bot, svc, ticket, relay):
        _ = gettext_for(language)
        await message.reply_text(_("Our staff cannot be reached right now. Your message is kept and will reach them as soon as possible."))
    if not ticket.bot_answers or not message.text:
        raise ApplicationHandlerStop


async def _reopenable(svc: Services, user: User) -> Ticket | None:
    ticket = await svc.store.newest_ticket(user.id)
    if (ticket is None or ticket.status != "resolved" or ticket.closed_at is None
            or now() - ticket.closed_at > timedelta(days=svc.settings.reopen_days)):
        return None
    return ticket


async def _form_answer(message: Message, svc: Services, language: str, ticket: Ticket) -> None:
    _ = gettext_for(language)
    if not message.text or ticket.step == "confirm":
        await message.reply_text(_("Please use the buttons above, or answer with text."))
        return
    value = valid(ticket.step, message.text)
    if value is None:
        await message.reply_text(_(HINTS[ticket.step]), reply_markup=step_keyboard(language, ticket))
        return
    ticket.contact = {**ticket.contact, ticket.step: value}
    following = STEPS[STEPS.index(ticket.step) + 1:]
    ticket.step = next((s for s in following if not ticket.contact.get(s)), "confirm")
    await svc.store.save(ticket)
    await ask(message, language, ticket)


async def on_user_edit(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A user edited a message that reached staff: show the new text under the relayed one."""
    svc = services(context)
    edited = update.edited_message
    relay = await svc.store.relay_for(edited.chat_id, edited.message_id)
    if relay is None or relay.target_message_id is None:
        return
    ticket = await svc.store.ticket(relay.ticket_id)
    staff_ = gettext_for(svc.settings.staff_language)
    await context.bot.send_message(
        svc.settings.staff_chat_id, "✏️ " + staff_("Edited: {text}").format(text=escape(shorten(edited.text or "", 3000))),
        parse_mode=ParseMode.HTML, message_thread_id=ticket.topic_id, reply_to_message_id=relay.target_message_id,
    )


HANDLERS = [
    CallbackQueryHandler(on_talk_to_staff, pattern=r"^menu:staff$"),
    CallbackQueryHandler(on_request_introduction, pattern=r"^intr:"),
    CallbackQueryHandler(on_form_button, pattern=r"^hf:\d+:(cancel|back|edit|agree)$"),
    CallbackQueryHandler(on_end, pattern=r"^end:\d+$"),
    CommandHandler("end", on_end, filters=filters.ChatType.PRIVATE),
    MessageHandler(filters.UpdateType.EDITED_MESSAGE & filters.ChatType.PRIVATE & filters.TEXT, on_user_edit),
]
# In its own group before the others: decides whether search and media replies run at all.
RELAY_HANDLERS = [MessageHandler(filters.ChatType.PRIVATE & filters.UpdateType.MESSAGE & ~filters.COMMAND, on_user_message)]
