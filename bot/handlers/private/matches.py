"""Buttons under match notices to owners: a counterpart's details, or a request for an introduction."""

from __future__ import annotations

from telegram import InlineKeyboardMarkup, Update
from telegram.constants import ParseMode
from telegram.ext import CallbackQueryHandler, ContextTypes

from bot.callbacks import parse
from bot.contact import request_handoff
from bot.db import Match
from bot.i18n import translate
from bot.matching import owners
from bot.render import details, version_rows
from bot.services import current_user, services


async def on_owner_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Details of the other side, or a request for an introduction to it (the usual handoff)."""
    query = update.callback_query
    callback = parse(query.data)
    svc = services(context)
    user, language = await current_user(update, context)
    match = await svc.store.get(Match, callback.number())
    owned = await owners(svc, [match.record_id, match.counterpart_id]) if match else {}
    mine = [rid for rid, submission in owned.items() if submission.user_id == user.id]
    if not mine:
        await query.answer(translate(language, "This button is no longer valid."), show_alert=True)
        return
    other_id = match.counterpart_id if mine[0] == match.record_id else match.record_id
    record = await svc.catalog.get(other_id)
    await query.answer()
    if record is None:
        return
    if callback.arg == "det":
        versions = version_rows(record, language)
        await query.message.reply_text(
            details(record, language),
            parse_mode=ParseMode.HTML,
            reply_markup=InlineKeyboardMarkup(versions) if versions else None,
        )
    else:
        await request_handoff(update, context, [other_id], owned[mine[0]].draft.get("title"))


HANDLERS = [CallbackQueryHandler(on_owner_button, pattern=r"^mt:\d+:(det|ask)$")]
