"""Handoff, the user's side: contact details with consent, a ticket for staff, the relay to staff.

A ticket starts from "Request introduction" on a result, "Talk to staff" in the menu, or the
offer after "no good match". Its state is in the database, so a restart loses nothing.
"""
from __future__ import annotations

import logging
from datetime import timedelta
from html import escape

from babel.dates import format_datetime
from telegram import InlineKeyboardMarkup, Message, Update
from telegram.constants import ParseMode
from telegram.ext import CallbackQueryHandler, CommandHandler, ContextTypes, filters

from bot.callbacks import parse
from bot.contact import HINTS, PROMPTS, STEPS, known, valid
from bot.db import Relay, Ticket, User, now
from bot.delivery import copy_of, ticket_lane, to_ticket, to_user
from bot.i18n import N_, gettext_for
from bot.relay import refresh_card
from bot.render import button, shorten
from bot.services import Services, current_user, services
from catalog.taxonomy import babel_locale

log = logging.getLogger("techconnect.handoff")
FIELD_NAMES = {"name": N_("Name"), "organisation": N_("Organisation"), "role": N_("Role"),
               "reach": N_("Phone or e-mail"), "purpose": N_("Purpose")}

def step_keyboard(language: str, ticket: Ticket) -> InlineKeyboardMarkup:
    _ = gettext_for(language)
    if ticket.step == "fields":
        rows = [[button(_(FIELD_NAMES[step]), "hf", ticket.id, f"e-{step}")] for step in STEPS]
        return InlineKeyboardMarkup(rows + [[button("◀️ " + _("Back"), "hf", ticket.id, "back")]])
    row = [button("✖️ " + _("Cancel"), "hf", ticket.id, "cancel")]
    if ticket.step != STEPS[0] or ticket.to_preview:
        row.insert(0, button("◀️ " + _("Back"), "hf", ticket.id, "back"))
    rows = [row]
    if ticket.contact.get(ticket.step):
        rows.insert(0, [button("✔️ " + _("Keep it"), "hf", ticket.id, "keep")])
    return InlineKeyboardMarkup(rows)


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


async def ask(message: Message, svc: Services, language: str, ticket: Ticket) -> None:
    """Prompt for the ticket's current step (or the confirmation once everything is known);
    the user's next message answers it."""
    _ = gettext_for(language)
    await svc.store.set_focus(ticket.user_id, f"contact:{ticket.id}")
    if ticket.step == "confirm":
        text, keyboard = confirmation(language, ticket)
        await message.reply_text(text, parse_mode=ParseMode.HTML, reply_markup=keyboard)
        return
    if ticket.step == "fields":
        await message.reply_text(_("Which detail would you like to change?"), reply_markup=step_keyboard(language, ticket))
        return
    text = escape(_(PROMPTS[ticket.step]))
    if ticket.contact.get(ticket.step):
        text += "\n" + _("Now: {value}").format(value="<i>" + escape(ticket.contact[ticket.step]) + "</i>")
    await message.reply_text(text, parse_mode=ParseMode.HTML, reply_markup=step_keyboard(language, ticket))


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
            await ask(message, svc, language, ticket)
            return
        if new:
            records = await svc.catalog.get_many(new)
            staff_ = gettext_for(svc.settings.staff_language)
            titles = ", ".join(escape(r.title.get(svc.settings.staff_language) or r.title[r.language]) for r in records.values())
            await svc.outbox.send(context.bot, svc, to_ticket(svc, ticket.id, "➕ " + staff_("The user also asks about: {titles}").format(titles=titles)))
            await refresh_card(context.bot, svc, ticket)
        await message.reply_text(_("Added to your open request #{number}. Staff will see it there.").format(number=ticket.id))
        return
    details = known(await svc.store.consented_contacts(user.id))
    ticket = Ticket(user_id=user.id, status="collecting", language=language, entries=list(entries),
                    queries=[query] if query else [], contact=details, step="purpose" if details else STEPS[0])
    await svc.store.save(ticket)
    intro = _("To introduce you, staff need a few details. You can go back or cancel at any step.")
    if details:
        intro = _("To introduce you, staff will use the details you gave last time; you can edit them.")
    await message.reply_text(intro)
    await ask(message, svc, language, ticket)


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
    """Back, Keep, Cancel, Edit (any detail) and consent buttons of the contact form."""
    query = update.callback_query
    callback = parse(query.data)
    svc = services(context)
    user, language = await current_user(update, context)
    _ = gettext_for(language)
    ticket = await svc.store.ticket(callback.number() if callback else None)
    action = (callback.arg if callback else None) or ""
    if ticket is None or ticket.user_id != user.id or ticket.status != "collecting" or not _applies(ticket, action):
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
        _advance(ticket)
    await svc.store.save(ticket)
    await ask(query.message, svc, language, ticket)


def _applies(ticket: Ticket, action: str) -> bool:
    """Whether a form button fits the step the form is at now (an old message's buttons do not)."""
    if action in ("cancel", "back"):
        return ticket.step != STEPS[0] or action == "cancel" or bool(ticket.to_preview)
    if action in ("agree", "edit"):
        return ticket.step == "confirm"
    if action.startswith("e-"):
        return ticket.step == "fields" and action[2:] in STEPS
    return action == "keep" and ticket.step in STEPS and bool(ticket.contact.get(ticket.step))


def _advance(ticket: Ticket) -> None:
    following = STEPS[STEPS.index(ticket.step) + 1:]
    ticket.step = "confirm" if ticket.to_preview else next((s for s in following if not ticket.contact.get(s)), "confirm")
    ticket.to_preview = False


async def submit(update: Update, context: ContextTypes.DEFAULT_TYPE, ticket: Ticket, language: str) -> None:
    """Consent given: the ticket is open, and its topic is created (now, or when staff can be reached)."""
    svc = services(context)
    _ = gettext_for(language)
    ticket.status, ticket.step, ticket.consent_at = "open", None, now()
    await svc.store.save(ticket)
    await svc.store.set_focus(ticket.user_id, None)
    await svc.outbox.drain(context.bot, svc, ticket_lane(ticket.id))
    message = update.effective_message
    if not (await svc.store.ticket(ticket.id)).card_message_id:
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
    """Resolve the ticket; both sides are told (after whatever is still on its way to them)."""
    svc = services(context)
    ticket.status, ticket.closed_at, ticket.bot_answers = "resolved", now(), False
    await svc.store.save(ticket)
    _ = gettext_for(ticket.language)
    staff_ = gettext_for(svc.settings.staff_language)
    note = staff_("The user ended the conversation.") if by_user else staff_("Ticket closed.")
    farewell = _("This conversation with staff is closed. Write again within {days} days to reopen it; "
                 "otherwise I am back to searching for you.").format(days=svc.settings.reopen_days)
    await svc.outbox.send(context.bot, svc, to_ticket(svc, ticket.id, "✅ " + escape(note)),
                          to_user(ticket.user_id, escape(farewell), ticket_id=ticket.id))
    if ticket.topic_id:
        try:
            await context.bot.close_forum_topic(svc.settings.staff_chat_id, ticket.topic_id)
        except Exception:  # closing the topic is a courtesy; the ticket is closed either way
            log.info("topic of ticket %s not closed", ticket.id)


async def conversation(context: ContextTypes.DEFAULT_TYPE, user: User) -> Ticket | None:
    """The user's open ticket; one closed less than ``reopen_days`` ago reopens (staff are told)."""
    svc = services(context)
    ticket = await svc.store.active_ticket(user.id)
    if ticket is not None:
        return ticket if ticket.status != "collecting" else None
    ticket = await svc.store.newest_ticket(user.id)
    if (ticket is None or ticket.status != "resolved" or ticket.closed_at is None
            or now() - ticket.closed_at > timedelta(days=svc.settings.reopen_days)):
        return None
    ticket.status, ticket.closed_at, ticket.alerted_at = "open", None, now()
    ticket.claimed_by = ticket.claimed_name = None  # whoever answers now claims it again
    await svc.store.save(ticket)
    if ticket.topic_id:
        try:
            await context.bot.reopen_forum_topic(svc.settings.staff_chat_id, ticket.topic_id)
        except Exception:  # a deleted topic is replaced when the next message is delivered
            log.info("topic of ticket %s not reopened", ticket.id)
    staff_ = gettext_for(svc.settings.staff_language)
    await svc.store.save(to_ticket(svc, ticket.id, "🔄 " + escape(staff_("Reopened: the user wrote again."))))
    await refresh_card(context.bot, svc, ticket)
    return ticket


async def relay_to_staff(update: Update, context: ContextTypes.DEFAULT_TYPE, ticket: Ticket, language: str) -> None:
    """The user's message goes to the ticket's topic, behind everything sent before it."""
    svc = services(context)
    message = update.effective_message
    if await svc.store.relay_for(message.chat_id, message.message_id):
        return  # handled before a restart
    relay = Relay(ticket_id=ticket.id, direction="to_staff", source_chat=message.chat_id,
                  source_message_id=message.message_id, text=message.text or message.caption or "")
    rows, _claimed = await svc.store.save_relay(
        relay, lambda r, _c: [copy_of(r, ticket_lane(ticket.id), svc.settings.staff_chat_id, ticket_id=ticket.id)])
    if not await svc.outbox.deliver(context.bot, svc, rows):
        _ = gettext_for(language)
        await message.reply_text(_("Our staff cannot be reached right now. Your message is kept and will reach them as soon as possible."))


async def answer(update: Update, context: ContextTypes.DEFAULT_TYPE, ticket: Ticket, language: str) -> None:
    """A typed answer in the contact form."""
    svc = services(context)
    message = update.effective_message
    _ = gettext_for(language)
    if not message.text or ticket.step in ("confirm", "fields"):
        await message.reply_text(_("Please use the buttons above."))
        return
    value = valid(ticket.step, message.text)
    if value is None:
        await message.reply_text(_(HINTS[ticket.step]), reply_markup=step_keyboard(language, ticket))
        return
    ticket.contact = {**ticket.contact, ticket.step: value}
    _advance(ticket)
    await svc.store.save(ticket, handled_update=update.update_id)
    await ask(message, svc, language, ticket)


async def on_user_edit(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A user edited a message that went to staff: the new text is shown under its copy."""
    svc = services(context)
    edited = update.edited_message
    relay = await svc.store.relay_for(edited.chat_id, edited.message_id)
    if relay is None or relay.direction != "to_staff":
        return
    staff_ = gettext_for(svc.settings.staff_language)
    text = "✏️ " + staff_("Edited: {text}").format(text=escape(shorten(edited.text or edited.caption or "", 3000)))
    await svc.outbox.send(context.bot, svc, to_ticket(svc, relay.ticket_id, text, reply_to_relay=relay.id))


HANDLERS = [
    CallbackQueryHandler(on_talk_to_staff, pattern=r"^menu:staff$"),
    CallbackQueryHandler(on_request_introduction, pattern=r"^intr:"),
    CallbackQueryHandler(on_form_button, pattern=r"^hf:"),
    CallbackQueryHandler(on_end, pattern=r"^end:\d+$"),
    CommandHandler("end", on_end, filters=filters.ChatType.PRIVATE),
]
