"""Posting a need or offering a technology: a guided form in the user's language.

The draft is a row, saved at every answer, so a restart loses nothing and an unfinished
draft can be resumed. Back, Cancel and (at the end) Edit work at every step; the draft goes
to staff for review only with the user's consent.
"""

from __future__ import annotations

from telegram import InlineKeyboardMarkup, Message, Update
from telegram.ext import CallbackQueryHandler, CommandHandler, ContextTypes, filters

from bot import entry_form as form
from bot.callbacks import parse
from bot.contact import known
from bot.db import Submission
from bot.entry_form import ask, keyboard, post_keyboard
from bot.i18n import gettext_for
from bot.render import button
from bot.review_card import send_for_review
from bot.services import Services, current_user, pressed_row, services
from catalog.model import KINDS


async def start_posting(update: Update, context: ContextTypes.DEFAULT_TYPE, kind: str) -> None:
    """Begin a draft of ``kind`` (offer or request), or offer to resume an unfinished one."""
    svc = services(context)
    user, language = await current_user(update, context)
    _ = gettext_for(language)
    message = update.effective_message
    unfinished = await svc.store.newest(Submission, Submission.user_id == user.id, Submission.status == "drafting")
    if unfinished is not None:
        title = unfinished.draft.get("title") or "…"
        await message.reply_text(
            _("You have an unfinished draft: “{title}”. Continue it or start a new one?").format(title=title),
            reply_markup=InlineKeyboardMarkup(
                [
                    [
                        button("▶️ " + _("Continue"), "pst", unfinished.id, "resume"),
                        button("🆕 " + _("Start a new one"), "pst", unfinished.id, f"new-{kind}"),
                    ]
                ]
            ),
        )
        return
    await _new_draft(message, svc, user.id, language, kind)


async def _new_draft(message: Message, svc: Services, user_id: int, language: str, kind: str) -> None:
    _ = gettext_for(language)
    submission = Submission(
        user_id=user_id,
        kind=kind,
        language=language,
        status="drafting",
        draft={},
        contact=known(await svc.store.consented_contacts(user_id)),
    )
    submission.step = form.first_missing(submission)
    await svc.store.save(submission)
    intro = (
        _("Let us post your need. Staff review it before it is published; you can go back or cancel at any step.")
        if kind == "request"
        else _(
            "Let us post your technology offer. Staff review it before it is published; you can go back or cancel at any step."
        )
    )
    await message.reply_text(intro)
    await ask(message, svc, language, submission)


async def on_post_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/post: choose between posting a need and offering a technology."""
    _user, language = await current_user(update, context)
    _ = gettext_for(language)
    await update.effective_message.reply_text(_("What would you like to post?"), reply_markup=post_keyboard(language))


async def on_post_menu(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    await update.callback_query.answer()
    await start_posting(update, context, "request" if parse(update.callback_query.data).key == "need" else "offer")


async def on_form_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Every button of the form: answers, Back, Cancel, Edit, Submit, Continue / Start a new one."""
    submission, language = await pressed_row(update, context, Submission, lambda s: s.status == "drafting")
    if submission is None:
        return
    query = update.callback_query
    callback = parse(query.data)
    svc = services(context)
    _ = gettext_for(language)
    code = callback.arg or ""
    if code == "resume" or (code.startswith("new-") and code[4:] in KINDS):
        await query.answer()
        await query.edit_message_reply_markup(None)
        if code == "resume":
            await ask(query.message, svc, language, submission)
        else:
            await cancel(svc, submission)
            await _new_draft(query.message, svc, submission.user_id, language, code[4:])
        return
    if not await _apply_button(query.message, svc, submission, code, language):
        await query.answer(_("This button is no longer valid."), show_alert=True)
        return
    await query.answer()
    if code.startswith("p-") and code != "p-done":  # a tick: the same question, its buttons updated
        await query.edit_message_reply_markup(keyboard(submission, language))
        return
    await query.edit_message_reply_markup(None)
    if code == "cancel":
        await query.message.reply_text(
            _("Cancelled. Your published entry is unchanged.")
            if submission.record_id
            else _("Cancelled. Nothing was sent to staff.")
        )
    elif submission.status == "drafting":
        await ask(query.message, svc, language, submission)


async def _apply_button(message: Message, svc: Services, submission: Submission, code: str, language: str) -> bool:
    """Change the draft as the button says and save it; False for a button of another step."""
    if code == "cancel":
        await cancel(svc, submission)
        return True
    if code == "keep" and form.current_text(submission, submission.step):
        _advance(submission)
    elif code == "back":
        back_to_preview = submission.to_preview or submission.step == "fields"
        submission.step = "confirm" if back_to_preview else form.previous_step(submission) or submission.step
        submission.to_preview = False
    elif code == "edit" and submission.step == "confirm":
        submission.step = "fields"
    elif code.startswith("e-") and submission.step == "fields" and code[2:] in form.steps(submission):
        submission.step, submission.to_preview = code[2:], True
    elif code == "submit" and submission.step == "confirm":
        await submit(message, svc, submission, language)
        return True
    elif code == "p-done" and submission.step == "partnership":
        _advance(submission)
    elif code.startswith("p-"):
        if not form.toggle_partnership(submission, code):
            return False
    else:
        answer = form.choice(submission, code, svc.clock.today())
        if answer is None:
            return False
        form.set_value(submission, *answer)
        _advance(submission)
    await svc.store.save(submission)
    return True


def _advance(submission: Submission) -> None:
    submission.step = "confirm" if submission.to_preview else form.first_missing(submission, after=submission.step)
    submission.to_preview = False


async def cancel(svc: Services, submission: Submission) -> None:
    """Drop a new draft; an edit of a published entry goes back to the published version, and
    one of a rejected entry leaves it rejected (its reason is kept until it is sent again)."""
    if submission.record_id:
        record = await svc.catalog.get(submission.record_id)
        submission.status = "approved" if record and record.status == "published" else "withdrawn"
        submission.draft = form.draft_of(record) if record else submission.draft
    else:
        submission.status = "rejected" if submission.reason else "cancelled"
    submission.step, submission.to_preview = None, False
    await svc.store.save(submission)
    await svc.store.set_focus(submission.user_id, None)


async def submit(message: Message, svc: Services, submission: Submission, language: str) -> None:
    """Consent given: the draft waits for staff review (the card reaches staff now, or when they can be reached)."""
    _ = gettext_for(language)
    submission.status, submission.step, submission.consent_at = "pending", None, svc.clock.now()
    submission.reason = None
    await svc.store.save(submission)
    await svc.store.set_focus(submission.user_id, None)
    reached = await send_for_review(message.get_bot(), svc, submission)
    text = _("Thank you! Your entry #{number} was sent to staff for review. I will tell you when it is published.")
    if not reached:
        text = _(
            "Thank you! Your entry #{number} is saved; staff will review it as soon as they can be reached. "
            "I will tell you when it is published."
        )
    await message.reply_text(text.format(number=submission.id))


async def answer(update: Update, context: ContextTypes.DEFAULT_TYPE, submission: Submission, language: str) -> None:
    """A typed answer to the draft's current step (a button's label counts as tapping it)."""
    svc = services(context)
    message = update.effective_message
    _ = gettext_for(language)
    step = submission.step
    code = form.typed_choice(submission, message.text, language) if message.text else None
    if code is not None:
        await _apply_button(message, svc, submission, code, language)
        if submission.status == "drafting":
            await ask(message, svc, language, submission)
        return
    if not message.text or step not in form.TEXT_STEPS:
        await message.reply_text(_("Please tap one of the buttons above."), reply_markup=keyboard(submission, language))
        return
    value = form.parse_text(step, message.text, svc.clock.today())
    if value is None:
        await message.reply_text(form.hint(step, language), reply_markup=keyboard(submission, language))
        return
    form.set_value(submission, step, value)
    _advance(submission)
    await svc.store.save(submission, handled_update=update.update_id)
    await ask(message, svc, language, submission)


HANDLERS = [
    CommandHandler("post", on_post_command, filters=filters.ChatType.PRIVATE),
    CallbackQueryHandler(on_post_menu, pattern=r"^menu:(need|offer)$"),
    CallbackQueryHandler(on_form_button, pattern=r"^pst:\d+:"),
]
