"""Handoff, the staff's side: claim and close, relay from topics, notes, canned replies,
introductions and their outcomes, lists and exports, and the periodic jobs.

Staff commands work only for members of the staff group (or configured staff ids).
"""

from __future__ import annotations

import csv
import io
import logging
from datetime import timedelta
from html import escape

from telegram import InlineKeyboardMarkup, Update
from telegram.constants import ChatType, ParseMode
from telegram.ext import CallbackQueryHandler, CommandHandler, ContextTypes

from bot import mirror, tickets
from bot.callbacks import parse
from bot.db import STAGES, Introduction, Outgoing, Relay, Ticket, now
from bot.delivery import copy_of, edit_of, to_staff, to_ticket, to_user, user_lane
from bot.i18n import LANGUAGE_NAMES, N_, gettext_for, translate
from bot.render import MAX_MESSAGE, button, shorten
from bot.reporting import STAGE_LABELS
from bot.services import Services, current_user, services
from bot.staffing import is_staff, staff_data_only, staff_gettext, staff_only
from bot.workers import alone
from catalog.io import csv_safe
from catalog.language import clear_language
from index.text import fold

log = logging.getLogger("techconnect.staff")
CANNED = {
    "hello": N_(
        "Hello, I am from the Department of Science and Technology. I have read your request and will help you."
    ),
    "contacting": N_("We are contacting the technology owner and will get back to you within two working days."),
    "details": N_("Could you tell us more: your current scale, budget and timeline?"),
    "meeting": N_("The other party agreed to meet. We will send you the time and place shortly."),
    "thanks": N_("Thank you. We will follow up on the outcome of the introduction."),
}


async def _ticket_here(update: Update, context: ContextTypes.DEFAULT_TYPE) -> Ticket | None:
    """The ticket whose topic this staff message is in (None, with a hint, elsewhere)."""
    message = update.effective_message
    ticket = None
    if message.chat_id == services(context).settings.staff_chat_id and message.is_topic_message:
        ticket = await services(context).store.ticket_by_topic(message.message_thread_id)
    if ticket is None:
        await message.reply_text(
            translate(services(context).settings.staff_language, "Use this command inside a ticket's topic.")
        )
    return ticket


def _holder_notice(ticket: Ticket, staff_name: str | None) -> str:
    _ = gettext_for(ticket.language)
    if staff_name:
        return escape(
            _(
                "{name} from the Department's staff has joined this conversation. I will stay quiet while you talk."
            ).format(name=staff_name)
        )
    return escape(
        _("You are back with the assistant: write what you are looking for. Staff still see this conversation.")
    )


async def _hand_back(context: ContextTypes.DEFAULT_TYPE, ticket: Ticket) -> None:
    """Nobody holds the ticket any more: the assistant answers the user's searches again."""
    svc = services(context)
    ticket.status, ticket.claimed_by, ticket.claimed_name, ticket.bot_answers = "open", None, None, True
    await svc.store.save(ticket)
    await mirror.unfollow(context.bot, svc, ticket)
    svc.outbox.refresh_card(context.bot, svc, ticket.id)
    await svc.outbox.send(context.bot, svc, to_user(ticket.user_id, _holder_notice(ticket, None), ticket_id=ticket.id))


async def _claim(context: ContextTypes.DEFAULT_TYPE, ticket: Ticket, staff_id: int, staff_name: str) -> bool:
    """Take the ticket if nobody holds it (the user is told who joined); False when someone else does."""
    svc = services(context)
    if not await svc.store.claim(ticket.id, staff_id, staff_name):
        return False
    await svc.outbox.send(
        context.bot, svc, to_user(ticket.user_id, _holder_notice(ticket, staff_name), ticket_id=ticket.id)
    )
    await _claimed(context, ticket.id, staff_id)
    return True


async def _claimed(context: ContextTypes.DEFAULT_TYPE, ticket_id: int, staff_id: int) -> None:
    """The card shows the holder, who follows the ticket in their private chat if they chose to."""
    svc = services(context)
    svc.outbox.refresh_card(context.bot, svc, ticket_id)
    await mirror.follow(context.bot, svc, ticket_id, staff_id)


async def on_ticket_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Claim / Close on a ticket's summary card."""
    query = update.callback_query
    staff_ = staff_gettext(context)
    callback = parse(query.data)
    if not await is_staff(context, query.from_user.id):
        await query.answer(staff_("Only department staff can do this."), show_alert=True)
        return
    ticket = await services(context).store.ticket(callback.number())
    if ticket is None or ticket.status not in ("open", "claimed"):
        await query.answer(staff_("This ticket is already closed."), show_alert=True)
        return
    if callback.arg == "claim":
        if ticket.claimed_by == query.from_user.id:
            await query.answer(staff_("You hold this ticket now."))
        elif ticket.claimed_by or not await _claim(context, ticket, query.from_user.id, query.from_user.full_name):
            holder = await services(context).store.ticket(ticket.id)
            await query.answer(staff_("Already claimed by {name}.").format(name=holder.claimed_name), show_alert=True)
        else:
            await query.answer(staff_("You hold this ticket now."))
    else:
        await query.answer()
        await tickets.close(context.bot, services(context), ticket, by_user=False)


async def relay_to_user(update: Update, context: ContextTypes.DEFAULT_TYPE, ticket: Ticket) -> None:
    """Whatever staff write in a ticket's topic goes to the user, claiming the ticket if nobody
    holds it; a closed ticket reopens. The claim, the message and its delivery are written in one
    transaction before anything is sent."""
    svc = services(context)
    message = update.effective_message
    if await svc.store.relay_for(message.chat_id, message.message_id):
        return  # handled before a restart
    staff_ = staff_gettext(context)
    if ticket.status not in ("open", "claimed"):
        ticket.status = "claimed" if ticket.claimed_by else "open"
        ticket.closed_at, ticket.ended_by_user = None, False
        await svc.store.save(ticket)
        await message.reply_text(
            "🔄 " + staff_("The ticket was closed; it is open again and your message goes to the user.")
        )
    reply_to = None
    if message.reply_to_message and message.reply_to_message.message_id != message.message_thread_id:
        original = await svc.store.relay_by_target(ticket.id, message.reply_to_message.message_id)
        reply_to = original.id if original and original.direction == "to_staff" else None
    name = message.from_user.full_name
    lane = user_lane(ticket.user_id)
    in_form = bool((await svc.store.user(ticket.user_id)).focus)
    text = message.text or message.caption or ""
    unread = await _language_notice(svc, ticket, text)

    def deliveries(relay: Relay, claimed: bool) -> list:
        rows = [copy_of(relay, lane, ticket.user_id, ticket_id=ticket.id, reply_to_relay=reply_to)]
        if claimed:
            rows.insert(0, to_user(ticket.user_id, _holder_notice(ticket, name), ticket_id=ticket.id))
        if in_form:  # the user answers staff next, not the form they had open
            parked = translate(
                ticket.language,
                "Your unfinished form is kept: what you write now goes to staff. "
                "Send /post or tap Talk to staff to continue it.",
            )
            rows.append(to_user(ticket.user_id, "✏️ " + escape(parked), ticket_id=ticket.id))
        return rows + unread

    relay = Relay(
        ticket_id=ticket.id,
        direction="to_user",
        source_chat=message.chat_id,
        source_message_id=message.message_id,
        text=text,
    )
    rows, claimed = await svc.store.save_relay(
        relay, deliveries, claim=(message.from_user.id, name) if not ticket.claimed_by else None
    )
    if in_form:
        await svc.store.set_focus(ticket.user_id, None)
    await svc.outbox.deliver(context.bot, svc, rows)
    if claimed:
        await _claimed(context, ticket.id, message.from_user.id)
    elif ticket.mirror_chat:  # the topic shows the conversation on the card only
        svc.outbox.refresh_card(context.bot, svc, ticket.id, within=mirror.CARD_ACTIVITY)


async def _language_notice(svc: Services, ticket: Ticket, text: str) -> list[Outgoing]:
    """Staff hear when what they write is plainly in a language the user does not read (it is
    sent all the same): once, until they write in the user's language again."""
    if not _foreign(ticket.language, text):
        return []
    earlier = await svc.store.relays(Relay.ticket_id == ticket.id, Relay.direction == "to_user", limit=1, newest=True)
    if earlier and _foreign(ticket.language, earlier[0].text):
        return []
    notice = translate(
        svc.settings.staff_language,
        "This user reads {language}, and your message does not look written in it. It was sent as "
        "written; /reply has ready-made replies in their language.",
    ).format(language=LANGUAGE_NAMES.get(ticket.language, ticket.language))
    return mirror.staff_notices(svc, ticket, "🌐 " + escape(notice))


def _foreign(language: str, text: str) -> bool:
    """Whether ``text`` is plainly written in another language than ``language`` (Chinese in
    either script counts as Chinese)."""
    written = clear_language(text)
    return written is not None and written[:2] != language[:2]


async def relay_edit(update: Update, context: ContextTypes.DEFAULT_TYPE, ticket: Ticket) -> None:
    """Staff corrected a message the user received: the user's copy shows the correction."""
    svc = services(context)
    edited = update.edited_message
    relay = await svc.store.relay_for(edited.chat_id, edited.message_id)
    if relay is None or relay.direction != "to_user" or not (edited.text or edited.caption):
        return
    row = edit_of(
        relay,
        user_lane(ticket.user_id),
        ticket.user_id,
        edited.text or edited.caption,
        caption=edited.text is None,
        ticket_id=ticket.id,
    )
    await svc.outbox.send(context.bot, svc, row)


async def toggle_mirror(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/mirror, in a staff member's private chat with the bot: the conversations of the tickets they
    hold come there (one message a second, not the group's 20 a minute), or go back to their topics."""
    if not await staff_only(update, context):
        return
    svc = services(context)
    staff_ = staff_gettext(context)
    message = update.effective_message
    if update.effective_chat.type != ChatType.PRIVATE:
        await message.reply_text(staff_("Send /mirror in your private chat with me."))
        return
    user, _language = await current_user(update, context)
    following = not user.mirror
    await svc.store.update_user(user.id, mirror=following)
    await message.reply_text(
        staff_(
            "The conversations of the tickets you hold now come to this chat. Reply to a user's message to answer it; "
            "the ticket's topic shows the latest messages on its card. /mirror again stops this."
        )
        if following
        else staff_("The conversations of your tickets go to their topics in the staff group again.")
    )
    for ticket in await svc.store.tickets(Ticket.claimed_by == user.id, Ticket.status.in_(("open", "claimed"))):
        if following:
            await mirror.follow(context.bot, svc, ticket.id, user.id)
        else:
            await mirror.unfollow(context.bot, svc, ticket)


async def note(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    if not await staff_only(update, context) or (ticket := await _ticket_here(update, context)) is None:
        return
    message = update.effective_message
    text = " ".join(context.args)
    staff_ = staff_gettext(context)
    if not text:
        await message.reply_text(staff_("Write the note after the command: /note text"))
        return
    await services(context).store.save(
        Relay(
            ticket_id=ticket.id,
            direction="note",
            source_chat=message.chat_id,
            source_message_id=message.message_id,
            target_message_id=message.message_id,
            text=text,
        )
    )
    await message.reply_text("📝 " + staff_("Internal note saved; the user does not see it."))


async def canned(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Buttons with the ready-made replies, sent in the user's language."""
    if not await staff_only(update, context) or (ticket := await _ticket_here(update, context)) is None:
        return
    staff_ = staff_gettext(context)
    rows = [[button(shorten(staff_(text), 60), "cr", ticket.id, key)] for key, text in CANNED.items()]
    await update.effective_message.reply_text(
        staff_("Choose a reply; it is sent in the user's language:"), reply_markup=InlineKeyboardMarkup(rows)
    )


async def on_canned(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    query = update.callback_query
    callback = parse(query.data)
    staff_ = staff_gettext(context)
    ticket = await services(context).store.ticket(callback.number())
    if not await is_staff(context, query.from_user.id) or ticket is None or callback.arg not in CANNED:
        await query.answer(staff_("Only department staff can do this."), show_alert=True)
        return
    if ticket.status not in ("open", "claimed"):
        await query.answer(staff_("This ticket is already closed."), show_alert=True)
        return
    await query.answer()
    if ticket.claimed_by is None:
        await _claim(context, ticket, query.from_user.id, query.from_user.full_name)
    text = gettext_for(ticket.language)(CANNED[callback.arg])
    svc = services(context)
    if await svc.outbox.send(context.bot, svc, to_user(ticket.user_id, escape(text), ticket_id=ticket.id)):
        await query.edit_message_text("📤 " + staff_("Sent to the user: {text}").format(text=text))


async def back_to_bot(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/bot: staff step back; the assistant answers the user's searches again (the ticket stays open)."""
    if not await staff_only(update, context) or (ticket := await _ticket_here(update, context)) is None:
        return
    await _hand_back(context, ticket)
    await update.effective_message.reply_text(
        "🤖 " + translate(services(context).settings.staff_language, "The assistant answers the user again.")
    )


async def close(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    if not await staff_only(update, context) or (ticket := await _ticket_here(update, context)) is None:
        return
    await tickets.close(context.bot, services(context), ticket, by_user=False)


async def introduce(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/introduce [N | entry id]: record an introduction between the requester and an entry's owner;
    both hear whom they meet."""
    if not await staff_only(update, context) or (ticket := await _ticket_here(update, context)) is None:
        return
    svc = services(context)
    staff_ = staff_gettext(context)
    arg = " ".join(context.args) if context.args else ("1" if len(ticket.entries) == 1 else "")
    record_id = ticket.entries[int(arg) - 1] if arg.isdigit() and 1 <= int(arg) <= len(ticket.entries) else arg
    record = await svc.catalog.get(record_id) if record_id else None
    if record is None:
        listing = "\n".join(f"{i}. {escape(e)}" for i, e in enumerate(ticket.entries, 1)) or "—"
        await update.effective_message.reply_text(
            staff_("Which entry? /introduce N (number in the ticket) or /introduce ENTRY_ID.") + "\n" + listing,
            parse_mode=ParseMode.HTML,
        )
        return
    if record.id not in ticket.entries:
        ticket.entries = ticket.entries + [record.id]
        await svc.store.save(ticket)
    intro = Introduction(
        ticket_id=ticket.id, record_id=record.id, stage="introduced", staff_id=update.effective_user.id
    )
    await svc.store.save(intro)
    title = record.title.get(svc.settings.staff_language) or record.title[record.language]
    await update.effective_message.reply_text(
        "🤝 "
        + staff_(
            "Introduction #{number} recorded: {title}. Update it with /stage {number} meeting|negotiation|agreement|declined REASON"
        ).format(number=intro.id, title=escape(title)),
        parse_mode=ParseMode.HTML,
    )
    await tickets.introduce(context.bot, svc, ticket, record)


def parse_stage(words: list[str], staff_) -> tuple[str | None, str]:
    """(stage, reason) from the words after an introduction's number: the stage by its English
    keyword or by its name in the staff language, in any case, with or without diacritics."""
    folded = [fold(word) for word in words]
    for key in STAGES:
        for name in (key, staff_(STAGE_LABELS[key])):
            name_words = [fold(word) for word in name.split()]
            if folded[: len(name_words)] == name_words:
                return key, " ".join(words[len(name_words) :])
    return None, ""


async def stage(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/stage ID STAGE [reason]: move an introduction's outcome on (declined needs a reason)."""
    if not await staff_only(update, context):
        return
    svc = services(context)
    staff_ = staff_gettext(context)
    args = context.args
    intro = await svc.store.introduction(int(args[0])) if args and args[0].isdigit() and len(args[0]) <= 12 else None
    new_stage, reason = parse_stage(args[1:], staff_)
    if intro is None or new_stage is None or (new_stage == "declined" and not reason):
        stages = ", ".join(f"{staff_(STAGE_LABELS[s]).lower()} ({s})" for s in STAGES)
        await update.effective_message.reply_text(
            staff_("Use /stage ID STAGE [reason], STAGE one of: {stages}; declined needs a reason.").format(
                stages=stages
            )
        )
        return
    intro.stage, intro.reason = new_stage, reason or None
    await svc.store.save(intro)
    await update.effective_message.reply_text(
        "📈 " + staff_("Introduction #{number}: {stage}").format(number=intro.id, stage=staff_(STAGE_LABELS[new_stage]))
    )


def _ticket_line(ticket: Ticket, staff_) -> str:
    who = ticket.contact.get("organisation") or ticket.contact.get("name") or str(ticket.user_id)
    holder = staff_("claimed by {name}").format(name=ticket.claimed_name) if ticket.claimed_by else staff_("unclaimed")
    return f"#{ticket.id} · {ticket.language} · {escape(who)} · {escape(holder)}"


async def _list_tickets(
    update: Update, context: ContextTypes.DEFAULT_TYPE, title: str, empty: str, *conditions
) -> None:
    """The list in as many messages as Telegram's length limit needs, whole lines each."""
    if not await staff_data_only(update, context):
        return
    staff_ = staff_gettext(context)
    tickets = await services(context).store.tickets(*conditions)
    messages = ["<b>" + staff_(title) + "</b>"]
    for line in [_ticket_line(t, staff_) for t in tickets] or [staff_(empty)]:
        if len(messages[-1]) + 1 + len(line) > MAX_MESSAGE:
            messages.append(line)
        else:
            messages[-1] += "\n" + line
    for text in messages:
        await update.effective_message.reply_text(text, parse_mode=ParseMode.HTML)


async def list_open(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    await _list_tickets(update, context, N_("Unclaimed tickets"), N_("No unclaimed tickets."), Ticket.status == "open")


async def list_mine(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    await _list_tickets(
        update,
        context,
        N_("Your tickets"),
        N_("You hold no tickets."),
        Ticket.status == "claimed",
        Ticket.claimed_by == update.effective_user.id,
    )


async def export(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Tickets and introductions as two CSV files."""
    if not await staff_data_only(update, context):
        return
    svc = services(context)
    tickets = await svc.store.tickets()
    intros = await svc.store.introductions()
    ticket_rows = [
        {
            "ticket": t.id,
            "status": t.status,
            "language": t.language,
            "created_at": t.created_at.isoformat(),
            "closed_at": t.closed_at.isoformat() if t.closed_at else "",
            "claimed_by": t.claimed_name or "",
            "entries": " ".join(t.entries),
            **{k: t.contact.get(k, "") for k in ("name", "organisation", "role", "reach", "purpose")},
        }
        for t in tickets
    ]
    intro_rows = [
        {
            "introduction": i.id,
            "ticket": i.ticket_id,
            "entry": i.record_id,
            "stage": i.stage,
            "reason": i.reason or "",
            "created_at": i.created_at.isoformat(),
            "updated_at": i.updated_at.isoformat(),
        }
        for i in intros
    ]
    for name, rows in (("tickets.csv", ticket_rows), ("introductions.csv", intro_rows)):
        buffer = io.StringIO()
        if rows:
            writer = csv.DictWriter(buffer, fieldnames=list(rows[0]))
            writer.writeheader()
            writer.writerows({key: csv_safe(value) for key, value in row.items()} for row in rows)
        await update.effective_message.reply_document(buffer.getvalue().encode("utf-8-sig"), filename=name)


async def realert_unclaimed(context: ContextTypes.DEFAULT_TYPE) -> None:
    """Job: tickets nobody claimed for the configured minutes are announced again (in their topic and General)."""
    svc = services(context)
    limit = now() - timedelta(minutes=svc.settings.unclaimed_alert_minutes)
    staff_ = staff_gettext(context)
    for ticket in await svc.store.tickets(Ticket.status == "open", Ticket.topic_id.is_not(None)):
        if (ticket.alerted_at or ticket.created_at) > limit:
            continue
        text = "⏰ " + escape(staff_("Ticket #{number} is still unclaimed.").format(number=ticket.id))
        await svc.store.update(Ticket, ticket.id, alerted_at=now())
        await svc.outbox.post(context.bot, svc, to_ticket(svc, ticket.id, text), to_staff(svc, text))


COMMANDS = [
    ("open", N_("Unclaimed tickets")),
    ("mine", N_("Tickets you hold")),
    ("stats", N_("Statistics")),
    ("report", N_("Monthly report as a workbook: /report YYYY-MM")),
    ("export", N_("Tickets and introductions as CSV")),
    ("note", N_("Internal note (in a ticket topic)")),
    ("reply", N_("Ready-made replies (in a ticket topic)")),
    ("introduce", N_("Record an introduction")),
    ("stage", N_("Update an introduction's outcome")),
    ("bot", N_("Hand the user back to the assistant")),
    ("close", N_("Close the ticket")),
    ("mirror", N_("Follow the tickets you hold in your private chat with me")),
    ("newevent", N_("Create a connection event")),
    ("cancelevent", N_("Cancel a connection event")),
    ("export_catalog", N_("The catalogue as a file (jsonl or csv)")),
]


def handlers() -> list:
    """The staff commands and buttons (messages in topics are routed by :mod:`bot.router`)."""
    return [
        CallbackQueryHandler(on_ticket_button, pattern=r"^tk:\d+:(claim|close)$"),
        CallbackQueryHandler(on_canned, pattern=r"^cr:\d+:[a-z]+$"),
        CommandHandler("mirror", toggle_mirror),
        CommandHandler("note", note),
        CommandHandler("reply", canned),
        CommandHandler("bot", back_to_bot),
        CommandHandler("close", close),
        CommandHandler("introduce", introduce),
        CommandHandler("stage", stage),
        CommandHandler("open", list_open),
        CommandHandler("mine", list_mine),
        CommandHandler("export", export),
    ]


def schedule(application) -> None:
    """The periodic job: unclaimed re-alerts."""
    application.job_queue.run_repeating(alone(realert_unclaimed), interval=60, first=60, name="realert_unclaimed")
