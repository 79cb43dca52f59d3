"""The card staff review a posted entry on, in the staff group's review topic: the entry as it
will be published, Approve / Edit / Reject while it waits, the decision once it is taken."""

from __future__ import annotations

from contextlib import suppress
from html import escape

from telegram import Bot, InlineKeyboardMarkup
from telegram.constants import ParseMode
from telegram.error import BadRequest, Forbidden, NetworkError

from bot import entry_form as form
from bot.db import Submission
from bot.delivery import to_staff
from bot.i18n import LANGUAGE_NAMES, N_, gettext_for
from bot.render import KIND_LABELS, button
from bot.services import Services

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
    if submission.record_id and submission.status == "pending":  # an edit of a published entry
        lines.append(
            staff_("Changes to the published entry {id}").format(id=f"<code>{escape(submission.record_id)}</code>")
        )
    lines += ["", form.preview(submission, language)]
    if submission.status == "pending":
        keyboard = InlineKeyboardMarkup(
            [
                [
                    button("✅ " + staff_("Approve"), "rv", submission.id, "ok"),
                    button("✏️ " + staff_("Edit"), "rv", submission.id, "edit"),
                    button("❌ " + staff_("Reject"), "rv", submission.id, "no"),
                ]
            ]
        )
        return "\n".join(lines), keyboard
    who = escape(submission.reviewed_by or "")
    outcome = {
        "approved": "✅ " + staff_("Approved by {name}").format(name=who),
        "rejected": "❌ "
        + staff_("Rejected by {name}: {reason}").format(name=who, reason=escape(reason_text(submission, language))),
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


async def refresh_card(
    bot: Bot, svc: Services, submission: Submission, keyboard: InlineKeyboardMarkup | None = None
) -> None:
    """Show the submission's current state on its card (``keyboard`` replaces the usual buttons)."""
    if not submission.review_message_id:
        return
    text, buttons = review_card(svc, submission)
    with suppress(BadRequest, Forbidden, NetworkError):  # the decision is recorded either way; the card is its picture
        await bot.edit_message_text(
            text,
            svc.settings.staff_chat_id,
            submission.review_message_id,
            parse_mode=ParseMode.HTML,
            reply_markup=keyboard or buttons,
        )
