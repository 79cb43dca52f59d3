"""What a message means, decided in one place from the chat and the state stored for its sender.

Private chat, in this order:
1. the form the user is filling in now (posting, contact details, the interest they subscribe
   to): the last one that asked them something, within ``FORM_IDLE``. A command or the menu
   leaves it (kept as a draft, resumable); so does ``FORM_IDLE`` without an answer;
2. a staff member following tickets here (/mirror): the message answers the ticket of the message
   it replies to, or the one ticket they follow (``bot.mirror``);
3. an open ticket (or one closed less than ``reopen_days`` ago, which reopens): the message goes
   to staff, and the assistant stays quiet unless staff handed the user back (/bot);
4. otherwise text is a search (whose language the interface may follow: ``bot.ui_language``),
   and anything else gets a hint.

Staff group:
1. a message in a ticket's topic goes to that ticket's user (a closed ticket reopens);
2. elsewhere, the answer a staff member was asked to type (a rejection reason, a field), in the
   topic where it was asked and within ``STAFF_ACTION_IDLE``;
3. anything else is staff talking among themselves (files outside tickets are imports).
"""

from __future__ import annotations

from datetime import timedelta

from telegram import Update
from telegram.ext import CallbackQueryHandler, ContextTypes, MessageHandler, filters

from bot import contact, mirror, tickets, ui_language
from bot.db import Submission, Subscription, Ticket, User, now
from bot.handlers.private import discover, handoff, media, start, submit, subscribe
from bot.handlers.staff import review
from bot.handlers.staff import tickets as staff
from bot.i18n import N_, translate
from bot.services import Services, current_user, services

FORM_IDLE = timedelta(minutes=30)
UNCLEAR = N_(
    "You follow several tickets here: reply to a message of the ticket you are answering (swipe it to the left)."
)
STAFF_ACTION_IDLE = timedelta(minutes=15)
# Each form: (its answer, what follows a saved answer: sent again for an update answered before a restart).
FORMS = {
    Submission: (submit.answer, submit.ask),
    Ticket: (contact.answer, contact.ask),
    Subscription: (subscribe.answer_interest, subscribe.interest_saved),
}


async def active_form(svc: Services, user: User) -> Submission | Ticket | Subscription | None:
    """The draft, contact form or subscription whose question the user's next message answers, if any."""
    if not user.focus or user.focus_at is None or now() - user.focus_at > FORM_IDLE:
        return None
    if user.focus == subscribe.INTEREST:
        sub = await svc.store.get(Subscription, user.id)
        return sub if sub is not None and sub.active else None
    kind, _, key = user.focus.partition(":")
    model, status = (Submission, "drafting") if kind == "post" else (Ticket, "collecting")
    row = await svc.store.get(model, int(key)) if key.isdigit() else None
    return row if row is not None and row.user_id == user.id and row.status == status else None


async def on_private_message(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    svc = services(context)
    user, language = await current_user(update, context)
    form = await active_form(svc, user)
    if form is not None:
        answer, follow_up = FORMS[type(form)]
        if await svc.store.handled(update.update_id):  # answered before a restart, and Telegram sent it again:
            await follow_up(update.effective_message, svc, language, form)  # only what followed is sent again
        else:
            await answer(update, context, form, language)
        return
    followed, unclear = await mirror.answered_ticket(svc, update.effective_message, user)
    if followed is not None:
        await staff.relay_to_user(update, context, followed)
        return
    if unclear:
        await update.effective_message.reply_text(translate(svc.settings.staff_language, UNCLEAR))
        return
    ticket = await tickets.conversation(context.bot, svc, user)
    if ticket is not None:
        await handoff.relay_to_staff(update, context, ticket)
        if not ticket.bot_answers:
            return
    if update.effective_message.text:
        language = await ui_language.follow(update.effective_message, svc.store, user, language)
        await discover.search_text(update, context, user, language)
    else:
        await media.on_media(update, context)


async def on_private_edit(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """An edit of a message relayed from here is shown on the other side; other edits change nothing."""
    edited = update.edited_message
    relay = await services(context).store.relay_for(edited.chat_id, edited.message_id)
    if relay is None:
        return
    if relay.direction == "to_staff":
        await handoff.on_user_edit(update, context, relay)
    else:  # a staff member's answer from their private chat
        await staff.relay_edit(update, context, await services(context).store.ticket(relay.ticket_id))


async def leave_form(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A command or the menu: the form in progress is kept as a draft, and the next search is plain."""
    user = await services(context).store.user(update.effective_user.id, update.effective_user.first_name or "")
    if user.focus or user.mode:
        await services(context).store.update_user(user.id, focus=None, focus_at=None, mode=None)


async def on_staff_message(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    svc = services(context)
    message = update.effective_message
    if message.from_user is None or message.from_user.is_bot:
        return
    thread = message.message_thread_id if message.is_topic_message else None
    ticket = await svc.store.ticket_by_topic(thread) if thread else None
    if ticket is not None:
        await staff.relay_to_user(update, context, ticket)
        return
    pending = await svc.store.newest(
        Submission,
        Submission.status == "pending",
        Submission.staff_editor == message.from_user.id,
        Submission.staff_field.is_not(None),
        Submission.staff_thread == thread,
        Submission.staff_asked_at > now() - STAFF_ACTION_IDLE,
    )
    if pending is not None and message.text:
        await review.staff_answer(update, context, pending)


async def on_staff_edit(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Staff corrected a message in a ticket's topic: the user's copy is corrected too."""
    message = update.edited_message
    if message.from_user is None or message.from_user.is_bot or not message.is_topic_message:
        return
    ticket = await services(context).store.ticket_by_topic(message.message_thread_id)
    if ticket is not None:
        await staff.relay_edit(update, context, ticket)


def handlers(staff_chat_id: int | None) -> tuple[list, list]:
    """(before everything: leaving forms), (the routers)."""
    private = filters.ChatType.PRIVATE
    leaving = [
        MessageHandler(private & filters.COMMAND & filters.UpdateType.MESSAGE, leave_form),
        CallbackQueryHandler(leave_form, pattern=r"^menu:"),
    ]
    routers = [
        MessageHandler(private & filters.UpdateType.MESSAGE & ~filters.COMMAND, on_private_message),
        MessageHandler(private & filters.UpdateType.EDITED_MESSAGE, on_private_edit),
        MessageHandler(
            private & filters.UpdateType.MESSAGE & filters.COMMAND, start.on_unknown_command
        ),  # no command took it
    ]
    if staff_chat_id is not None:
        staff_chat = filters.Chat(staff_chat_id)
        routers += [
            MessageHandler(staff_chat & filters.UpdateType.MESSAGE & ~filters.COMMAND, on_staff_message),
            MessageHandler(staff_chat & filters.UpdateType.EDITED_MESSAGE, on_staff_edit),
        ]
    return leaving, routers
