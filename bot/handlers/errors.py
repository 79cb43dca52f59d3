"""The central error handler: log with context, tell the user in their language, never a traceback."""
from __future__ import annotations

import logging

from telegram import Update
from telegram.error import Forbidden
from telegram.ext import ContextTypes

from bot.i18n import gettext_for

log = logging.getLogger("techconnect.errors")


async def on_error(update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
    where = update.to_dict() if isinstance(update, Update) else repr(update)
    log.error("error while handling update %s", where, exc_info=context.error)
    if not isinstance(update, Update) or update.effective_chat is None or isinstance(context.error, Forbidden):
        return
    language = "en"
    try:
        store = context.bot_data["services"].store
        user = await store.user(update.effective_user.id) if update.effective_user else None
        language = user.language or language if user else language
    except Exception:  # the database may be what failed; answer in English then
        log.debug("no language for the error reply", exc_info=True)
    _ = gettext_for(language)
    try:
        if update.callback_query:
            await update.callback_query.answer()
        await context.bot.send_message(
            update.effective_chat.id, _("Sorry, something went wrong on our side. Please try again in a moment.")
        )
    except Exception:
        log.warning("could not tell the user about the error", exc_info=True)
