"""A user's own entries (/mine): where each stands, and edit, renew, withdraw; plus the job that
reminds owners a week before an entry expires (expired entries simply leave search results).
An entry is listed until the deadline its owner set, else for ``entry_days`` at a time.
"""

from __future__ import annotations

from datetime import date, timedelta
from html import escape

from telegram import Bot, InlineKeyboardMarkup, Update
from telegram.constants import ParseMode
from telegram.ext import CallbackQueryHandler, CommandHandler, ContextTypes, filters

from bot import entry_form as form
from bot.callbacks import parse
from bot.db import Submission
from bot.delivery import notify
from bot.entry_form import ask, post_keyboard
from bot.i18n import gettext_for, plural_for
from bot.publishing import listing_end, publish
from bot.render import KIND_ICONS, button, long_date, shorten
from bot.review_card import reason_text, refresh_card
from bot.services import Services, current_user, pressed_row, services
from bot.workers import alone
from catalog.model import Record

LISTED = 20


def state(submission: Submission, record: Record | None, today: date, language: str) -> str:
    """Where the entry stands, in a few words: published until, expired, under review..."""
    _ = gettext_for(language)
    if record is None:
        return {
            "drafting": _("unfinished draft"),
            "pending": _("waiting for staff review"),
            "rejected": _("not published: {reason}").format(reason=reason_text(submission, language)),
        }.get(submission.status, _("withdrawn"))
    if record.status != "published":
        live = _("withdrawn")
    elif record.expires_at and record.expires_at < today:
        live = _("expired on {date}").format(date=long_date(record.expires_at, language))
    else:
        live = (
            _("published until {date}").format(date=long_date(record.expires_at, language))
            if record.expires_at
            else _("published")
        )
    change = {
        "drafting": _("changes not sent yet"),
        "pending": _("changes waiting for review"),
        "rejected": _("changes not accepted: {reason}").format(reason=reason_text(submission, language)),
    }.get(submission.status)
    return f"{live} · {change}" if change else live


def actions(submission: Submission, record: Record | None, language: str) -> InlineKeyboardMarkup:
    _ = gettext_for(language)
    key = submission.id
    if submission.status == "drafting":
        return InlineKeyboardMarkup(
            [[button("▶️ " + _("Continue"), "pst", key, "resume"), button("✖️ " + _("Cancel"), "pst", key, "cancel")]]
        )
    row = []
    if submission.status != "pending":
        row.append(button("✏️ " + _("Edit"), "my", key, "edit"))
    if record is not None and record.status == "published":
        row.append(button("🔄 " + _("Renew"), "my", key, "renew"))
    if submission.status == "pending" or (record is not None and record.status == "published"):
        row.append(button("🗑 " + _("Withdraw"), "my", key, "withdraw"))
    return InlineKeyboardMarkup([row])


async def mine(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/mine: the user's entries, newest first, one button each."""
    svc = services(context)
    user, language = await current_user(update, context)
    _ = gettext_for(language)
    submissions = await svc.store.rows(
        Submission,
        Submission.user_id == user.id,
        Submission.status != "cancelled",
        order_by=Submission.id.desc(),
        limit=LISTED,
    )
    if not submissions:
        await update.effective_message.reply_text(
            _("You have not posted anything yet."), reply_markup=post_keyboard(language)
        )
        return
    records = await svc.catalog.get_many(s.record_id for s in submissions if s.record_id)
    today = svc.clock.today()
    lines = ["<b>" + _("Your entries") + "</b>"]
    rows = []
    for number, submission in enumerate(submissions, 1):
        title = submission.draft.get("title") or "…"
        lines.append(
            f"{number}. {KIND_ICONS[submission.kind]} {escape(shorten(title, 80))}\n    {escape(state(submission, records.get(submission.record_id), today, language))}"
        )
        rows.append([button(f"{number}. {shorten(title, 40)}", "my", submission.id, "open")])
    await update.effective_message.reply_text(
        "\n".join(lines), parse_mode=ParseMode.HTML, reply_markup=InlineKeyboardMarkup(rows)
    )


async def on_entry_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Open, Edit, Renew, Withdraw (and its confirmation) on one of the user's entries."""
    submission, language = await pressed_row(update, context, Submission, lambda s: s.status != "cancelled")
    if submission is None:
        return
    query = update.callback_query
    callback = parse(query.data)
    svc = services(context)
    _ = gettext_for(language)
    record = await svc.catalog.get(submission.record_id) if submission.record_id else None
    code = callback.arg
    live = record is not None and record.status == "published"
    allowed = {
        "open": True,
        "edit": submission.status not in ("pending", "drafting"),
        "renew": live,
        "withdraw": live or submission.status == "pending",
        "gone": live or submission.status == "pending",
    }
    if not allowed.get(code, False):
        await query.answer(_("This button is no longer valid."), show_alert=True)
        return
    await query.answer()
    if code == "open":
        text = (
            form.preview(submission, language)
            + "\n\n<i>"
            + escape(state(submission, record, svc.clock.today(), language))
            + "</i>"
        )
        await query.message.reply_text(
            text, parse_mode=ParseMode.HTML, reply_markup=actions(submission, record, language)
        )
    elif code == "edit":
        submission.status, submission.step, submission.to_preview = "drafting", "confirm", False
        await svc.store.save(submission)
        await query.edit_message_reply_markup(None)
        await ask(query.message, svc, language, submission)
    elif code == "renew":
        if await renew(context.bot, svc, record):
            await query.edit_message_reply_markup(None)
            text = _("Renewed: “{title}” stays online until {date}.")
        elif bounded(record):
            text = _("“{title}” stays online until its deadline, {date}. To keep it online longer, edit the deadline.")
        else:
            ngettext = plural_for(language)
            text = ngettext(
                "“{title}” stays online until {date}. You can renew it from {days} day before then; I will remind you.",
                "“{title}” stays online until {date}. You can renew it from {days} days before then; I will remind you.",
                svc.settings.expiry_notice_days,
            )
        await query.message.reply_text(
            text.format(
                title=submission.draft.get("title", ""),
                date=long_date(record.expires_at, language),
                days=svc.settings.expiry_notice_days,
            )
        )
    elif code == "withdraw":
        await query.edit_message_reply_markup(
            InlineKeyboardMarkup(
                [
                    [
                        button("🗑 " + _("Yes, withdraw it"), "my", submission.id, "gone"),
                        button(_("Keep it"), "my", submission.id, "open"),
                    ]
                ]
            )
        )
    else:
        await withdraw(context, svc, submission, record)
        await query.edit_message_reply_markup(None)
        await query.message.reply_text(
            _("Withdrawn: “{title}” no longer appears in searches.").format(title=submission.draft.get("title", ""))
        )


async def renew(bot: Bot, svc: Services, record: Record) -> bool:
    """Another period online, from ``expiry_notice_days`` before the listing ends (or after), never
    past the deadline the owner set; False when it is not due or its deadline ends it. The index
    only relabels the entry."""
    end = listing_end(record, svc)
    due = record.expires_at is None or record.expires_at <= svc.clock.today() + timedelta(
        days=svc.settings.expiry_notice_days
    )
    if not due or (record.expires_at is not None and end <= record.expires_at):
        return False
    record.expires_at = end
    await publish(bot, svc, [record])
    return True


def bounded(record: Record) -> bool:
    """Listed until the deadline its owner set: only a later deadline (an edit) keeps it longer."""
    return record.deadline is not None and record.expires_at is not None and record.expires_at >= record.deadline


async def withdraw(
    context: ContextTypes.DEFAULT_TYPE, svc: Services, submission: Submission, record: Record | None
) -> None:
    """Off the search results at once; a review still waiting is called off on its card."""
    if record is not None:
        record.status = "withdrawn"
        await publish(context.bot, svc, [record])
    reviewing = submission.status == "pending"
    submission.status, submission.step = "withdrawn", None
    await svc.store.save(submission)
    if reviewing:
        await refresh_card(context.bot, svc, submission)


async def remind_expiring(context: ContextTypes.DEFAULT_TYPE) -> None:
    """Job: owners hear once, a week (configurable) before, that an entry will expire, with a Renew
    button, or with Edit when its deadline ends it."""
    svc = services(context)
    today = svc.clock.today()
    horizon = today + timedelta(days=svc.settings.expiry_notice_days)
    owned = await svc.store.rows(Submission, Submission.record_id.is_not(None), Submission.status != "withdrawn")
    records = await svc.catalog.get_many(s.record_id for s in owned)
    for submission in owned:
        record = records.get(submission.record_id)
        if (
            record is None
            or record.status != "published"
            or record.expires_at is None
            or not today <= record.expires_at <= horizon
            or submission.expiry_notice_for == record.expires_at
        ):
            continue
        submission.expiry_notice_for = record.expires_at  # saved first: a restart never reminds twice
        await svc.store.save(submission)
        _ = gettext_for(submission.language)
        if bounded(record):
            text = _(
                "Your entry “{title}” reaches its deadline on {date} and will then leave search results. "
                "If you still need it, edit the deadline to keep it online."
            )
            action = button("✏️ " + _("Edit"), "my", submission.id, "edit")
        else:
            text = _(
                "Your entry “{title}” expires on {date} and will then leave search results. Renew it to keep it online."
            )
            action = button("🔄 " + _("Renew"), "my", submission.id, "renew")
        await notify(
            context.bot,
            svc,
            submission.user_id,
            escape(
                text.format(
                    title=submission.draft.get("title", ""), date=long_date(record.expires_at, submission.language)
                )
            ),
            InlineKeyboardMarkup([[action]]),
        )


HANDLERS = [
    CommandHandler("mine", mine, filters=filters.ChatType.PRIVATE),  # staff's /mine in the staff group lists tickets
    CallbackQueryHandler(on_entry_button, pattern=r"^my:\d+:[a-z]+$"),
]


def schedule(application) -> None:
    application.job_queue.run_repeating(alone(remind_expiring), interval=3600, first=120, name="remind_expiring")
