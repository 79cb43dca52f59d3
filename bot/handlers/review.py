"""Staff review of posted entries: a card in the staff group's review topic with Approve, Edit
and Reject (a reason from a list, or typed). Approved entries enter the catalogue and the
index at once; the submitter hears the outcome in their language.
"""
from __future__ import annotations

from datetime import timedelta
from html import escape

from telegram import Bot, InlineKeyboardMarkup, Update
from telegram.constants import ParseMode
from telegram.error import BadRequest, Forbidden, NetworkError
from telegram.ext import CallbackQueryHandler, ContextTypes

from bot import entry_form as form
from bot.callbacks import parse
from bot.db import Submission, now
from bot.handlers.staff import is_staff, staff_gettext
from bot.i18n import LANGUAGE_NAMES, N_, gettext_for
from bot.publishing import publish
from bot.delivery import notify, to_staff, to_user
from bot.render import KIND_LABELS, button, long_date
from bot.services import Services, services

REASONS = {
    "unclear": N_("The description is too short or unclear."),
    "scope": N_("It is not a technology offer or need."),
    "duplicate": N_("The same entry is already published."),
    "contact": N_("The contact details could not be verified."),
    "advert": N_("It reads as an advertisement rather than a technology."),
}


def review_card(svc: Services, submission: Submission) -> tuple[str, InlineKeyboardMarkup | None]:
    """The card staff review, in the staff language; buttons while it waits for a decision."""
    language = svc.settings.staff_language
    staff_ = gettext_for(language)
    head = "📝 <b>" + staff_("Entry #{number} to review").format(number=submission.id) + "</b> · "
    head += staff_(KIND_LABELS[submission.kind]) + " · " + escape(LANGUAGE_NAMES[submission.language])
    lines = [head]
    if submission.record_id:
        lines.append(staff_("Changes to the published entry {id}").format(id=f"<code>{escape(submission.record_id)}</code>"))
    lines += ["", form.preview(submission, language)]
    if submission.status == "pending":
        keyboard = InlineKeyboardMarkup([[
            button("✅ " + staff_("Approve"), "rv", submission.id, "ok"),
            button("✏️ " + staff_("Edit"), "rv", submission.id, "edit"),
            button("❌ " + staff_("Reject"), "rv", submission.id, "no"),
        ]])
        return "\n".join(lines), keyboard
    who = escape(submission.reviewed_by or "")
    outcome = {
        "approved": "✅ " + staff_("Approved by {name}").format(name=who),
        "rejected": "❌ " + staff_("Rejected by {name}: {reason}").format(name=who, reason=escape(reason_text(submission, language))),
        "withdrawn": "🗑 " + staff_("Withdrawn by the user"),
    }.get(submission.status, "🗑 " + staff_("Withdrawn by the user"))
    return "\n".join(lines + ["", outcome]), None


def reason_text(submission: Submission, language: str) -> str:
    """A reason from the list in ``language``, or the reason a staff member typed, as typed."""
    reason = submission.reason or ""
    return gettext_for(language)(REASONS[reason]) if reason in REASONS else reason


async def send_for_review(bot: Bot, svc: Services, submission: Submission) -> bool:
    """Queue the review card for the staff group's review topic; False when it must wait to be delivered."""
    text, keyboard = review_card(svc, submission)
    return await svc.outbox.send(bot, svc, to_staff(svc, text, keyboard, topic="review", ref=f"review:{submission.id}"))


async def refresh_card(bot: Bot, svc: Services, submission: Submission, keyboard: InlineKeyboardMarkup | None = None) -> None:
    """Show the submission's current state on its card (``keyboard`` replaces the usual buttons)."""
    if not submission.review_message_id:
        return
    text, buttons = review_card(svc, submission)
    try:
        await bot.edit_message_text(text, svc.settings.staff_chat_id, submission.review_message_id,
                                    parse_mode=ParseMode.HTML, reply_markup=keyboard or buttons)
    except (BadRequest, Forbidden, NetworkError):
        pass  # the decision is recorded either way; the card is only its picture


async def approve(bot: Bot, svc: Services, submission: Submission, staff_name: str) -> None:
    """Publish: the catalogue and the index have the entry before the owner is told."""
    expires = svc.clock.today() + timedelta(days=svc.settings.entry_days)
    record = form.to_record(submission, expires_at=expires)
    submission.record_id, submission.status, submission.reviewed_by = record.id, "approved", staff_name
    submission.expiry_notice_for = None
    _ = gettext_for(submission.language)
    text = _("Good news: your entry “{title}” is published. Others can find it now, in every language. "
             "It stays online until {date}; I will remind you a week before. See /mine to edit, renew or withdraw it.")
    notice = to_user(submission.user_id, escape(text.format(title=submission.draft["title"], date=long_date(expires, submission.language))))
    await svc.store.save(submission, notice)  # the owner hears of it first, once it is searchable
    await refresh_card(bot, svc, submission)
    await publish(bot, svc, [record])
    await svc.outbox.deliver(bot, svc, [notice])


async def reject(bot: Bot, svc: Services, submission: Submission, reason: str, staff_name: str) -> None:
    submission.status, submission.reason, submission.reviewed_by = "rejected", reason, staff_name
    await svc.store.save(submission)
    await refresh_card(bot, svc, submission)
    _ = gettext_for(submission.language)
    text = (_("Your changes to “{title}” were not accepted: {reason} The published version stays online; you can edit it again with /mine.")
            if submission.record_id else
            _("Your entry “{title}” was not published: {reason} You can correct it and send it again with /mine."))
    await notify(bot, svc, submission.user_id, escape(text.format(title=submission.draft["title"], reason=reason_text(submission, submission.language))))


async def on_review_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Approve / Edit / Reject and their follow-up choices on a review card."""
    query = update.callback_query
    callback = parse(query.data)
    svc = services(context)
    staff_ = staff_gettext(context)
    if not await is_staff(context, query.from_user.id):
        await query.answer(staff_("Only department staff can do this."), show_alert=True)
        return
    submission = await svc.store.get(Submission, callback.number())
    if submission is None or submission.status != "pending":
        await query.answer(staff_("This entry is no longer waiting for review."), show_alert=True)
        return
    code, bot, name = callback.arg or "", context.bot, query.from_user.full_name
    language = svc.settings.staff_language
    back = [button("◀️ " + staff_("Back"), "rv", submission.id, "back")]
    if code == "ok":
        if not await svc.store.change_status(Submission, submission.id, "pending", status="approved", reviewed_by=name):
            await query.answer(staff_("This entry is no longer waiting for review."), show_alert=True)
            return
        await query.answer(staff_("Approved."))
        await approve(bot, svc, submission, name)
    elif code == "no":
        await query.answer()
        rows = [[button(staff_(text), "rv", submission.id, f"r-{key}")] for key, text in REASONS.items()]
        rows += [[button("✍️ " + staff_("Another reason (type it)"), "rv", submission.id, "r-type")], back]
        await refresh_card(bot, svc, submission, InlineKeyboardMarkup(rows))
    elif code.startswith("r-") and code[2:] in REASONS:
        await query.answer(staff_("Rejected."))
        await reject(bot, svc, submission, code[2:], name)
    elif code == "r-type" or code.startswith("e-") and code[2:] in form.TEXT_STEPS:
        await query.answer()
        submission.staff_field, submission.staff_editor = ("reason" if code == "r-type" else code[2:]), query.from_user.id
        submission.staff_thread = query.message.message_thread_id if query.message.is_topic_message else None
        submission.staff_asked_at = now()
        await svc.store.save(submission)
        what = staff_("the reason, sent to the user as you write it") if code == "r-type" else staff_(form.FIELD_NAMES[code[2:]])
        await query.message.reply_text("✍️ " + staff_("{name}, write {what} as your next message in this topic.").format(
            name=escape(name), what=what), parse_mode=ParseMode.HTML)
    elif code == "edit":
        await query.answer()
        await refresh_card(bot, svc, submission, InlineKeyboardMarkup(form.field_rows(submission, language, "rv") + [back]))
    elif code.startswith("e-") and code[2:] in form.steps(submission):
        await query.answer()
        submission.step = code[2:]  # the choice buttons below are those of this field
        await svc.store.save(submission)
        await refresh_card(bot, svc, submission, InlineKeyboardMarkup(form.choice_rows(submission, language, "rv") + [back]))
    elif code == "back":
        await query.answer()
        submission.step = None
        await svc.store.save(submission)
        await refresh_card(bot, svc, submission)
    elif code.startswith("p-") and code != "p-done" and form.toggle_partnership(submission, code):
        await query.answer()
        await svc.store.save(submission)
        await refresh_card(bot, svc, submission, InlineKeyboardMarkup(form.choice_rows(submission, language, "rv") + [back]))
    elif code == "p-done" or (answer := form.choice(submission, code, svc.clock.today())) is not None:
        await query.answer(staff_("Updated."))
        if code != "p-done":
            form.set_value(submission, *answer)
        submission.step = None
        await svc.store.save(submission)
        await refresh_card(bot, svc, submission)
    else:
        await query.answer(staff_("This button is no longer valid."), show_alert=True)


async def staff_answer(update: Update, context: ContextTypes.DEFAULT_TYPE, submission: Submission) -> None:
    """A staff member's typed correction or rejection reason, in the topic where they were asked for it."""
    svc = services(context)
    message = update.effective_message
    staff_ = staff_gettext(context)
    field = submission.staff_field
    if field == "reason":
        submission.staff_field = submission.staff_editor = None
        await reject(context.bot, svc, submission, " ".join(message.text.split())[:500], message.from_user.full_name)
        await message.reply_text("❌ " + staff_("Rejected."))
        return
    value = form.parse_text(field, message.text, svc.clock.today())
    if value is None:
        await message.reply_text(form.hint(field, svc.settings.staff_language))
        return
    form.set_value(submission, field, value)
    submission.staff_field = submission.staff_editor = None
    await svc.store.save(submission)
    await refresh_card(context.bot, svc, submission)
    await message.reply_text("✏️ " + staff_("Updated."))


HANDLERS = [CallbackQueryHandler(on_review_button, pattern=r"^rv:\d+:")]
