"""Staff review of posted entries: a card in the staff group's review topic with Approve, Edit
and Reject (a reason from a list, or typed). Approved entries enter the catalogue and the
index at once; the submitter hears the outcome in their language.
"""

from __future__ import annotations

from html import escape

from telegram import Bot, InlineKeyboardMarkup, Update
from telegram.constants import ParseMode
from telegram.ext import CallbackQueryHandler, ContextTypes

from bot import entry_form as form
from bot.callbacks import parse
from bot.db import Submission, now
from bot.delivery import notify, to_user
from bot.i18n import gettext_for
from bot.publishing import listing_end, publish
from bot.render import button, long_date
from bot.review_card import REASONS, reason_text, refresh_card
from bot.services import Services, services
from bot.staffing import is_staff, staff_gettext


async def approve(bot: Bot, svc: Services, submission: Submission, staff_name: str) -> None:
    """Publish: the catalogue and the index have the entry before the owner is told."""
    record = form.to_record(submission)
    expires = record.expires_at = listing_end(record, svc)
    submission.record_id, submission.status, submission.reviewed_by = record.id, "approved", staff_name
    submission.expiry_notice_for = None
    _ = gettext_for(submission.language)
    text = _(
        "Good news: your entry “{title}” is published. Others can find it now, in every language. "
        "It stays online until {date}; I will remind you a week before. See /mine to edit, renew or withdraw it."
    )
    notice = to_user(
        submission.user_id,
        escape(text.format(title=submission.draft["title"], date=long_date(expires, submission.language))),
    )
    await svc.store.save(submission, notice)  # the owner hears of it first, once it is searchable
    await refresh_card(bot, svc, submission)
    await publish(bot, svc, [record])
    await svc.outbox.deliver(bot, svc, [notice])


async def reject(bot: Bot, svc: Services, submission: Submission, reason: str, staff_name: str) -> None:
    submission.status, submission.reason, submission.reviewed_by = "rejected", reason, staff_name
    await svc.store.save(submission)
    await refresh_card(bot, svc, submission)
    _ = gettext_for(submission.language)
    text = (
        _(
            "Your changes to “{title}” were not accepted: {reason} The published version stays online; you can edit it again with /mine."
        )
        if submission.record_id
        else _("Your entry “{title}” was not published: {reason} You can correct it and send it again with /mine.")
    )
    await notify(
        bot,
        svc,
        submission.user_id,
        escape(text.format(title=submission.draft["title"], reason=reason_text(submission, submission.language))),
    )


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
    elif code == "r-type" or (code.startswith("e-") and code[2:] in form.TEXT_STEPS):
        await query.answer()
        submission.staff_field, submission.staff_editor = (
            ("reason" if code == "r-type" else code[2:]),
            query.from_user.id,
        )
        submission.staff_thread = query.message.message_thread_id if query.message.is_topic_message else None
        submission.staff_asked_at = now()
        await svc.store.save(submission)
        what = (
            staff_("the reason, sent to the user as you write it")
            if code == "r-type"
            else staff_(form.FIELD_NAMES[code[2:]])
        )
        await query.message.reply_text(
            "✍️ "
            + staff_("{name}, write {what} as your next message in this topic.").format(name=escape(name), what=what),
            parse_mode=ParseMode.HTML,
        )
    elif code == "edit":
        await query.answer()
        await refresh_card(
            bot, svc, submission, InlineKeyboardMarkup(form.field_rows(submission, language, "rv") + [back])
        )
    elif code.startswith("e-") and code[2:] in form.steps(submission):
        await query.answer()
        submission.step = code[2:]  # the choice buttons below are those of this field
        await svc.store.save(submission)
        await refresh_card(
            bot, svc, submission, InlineKeyboardMarkup(form.choice_rows(submission, language, "rv") + [back])
        )
    elif code == "back":
        await query.answer()
        submission.step = None
        await svc.store.save(submission)
        await refresh_card(bot, svc, submission)
    elif code.startswith("p-") and code != "p-done" and form.toggle_partnership(submission, code):
        await query.answer()
        await svc.store.save(submission)
        await refresh_card(
            bot, svc, submission, InlineKeyboardMarkup(form.choice_rows(submission, language, "rv") + [back])
        )
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
