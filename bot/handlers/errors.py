"""The central error handler: log with context, tell the user in their language, never a traceback."""

from __future__ import annotations

import logging

from telegram import Update
from telegram.error import Forbidden
from telegram.ext import ContextTypes

from bot.i18n import gettext_for
from bot.metrics import update_kind

log = logging.getLogger("techconnect.errors")


def _describe(update: object) -> str:
    """Which update failed, never what it says (texts hold phones and e-mails)."""
    if not isinstance(update, Update):
        return type(update).__name__
    kind = update_kind(update)
    chat = update.effective_chat.id if update.effective_chat else None
    user = update.effective_user.id if update.effective_user else None
    return f"{update.update_id} ({kind}, chat {chat}, user {user})"


async def on_error(update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
    log.error("error while handling update %s", _describe(update), exc_info=context.error)
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
    if update.callback_query:
        try:  # stops the spinner, unless the handler answered the tap before it failed
            await update.callback_query.answer()
        except Exception:
            log.debug("the failed button was answered already", exc_info=True)
    try:
        await context.bot.send_message(
            update.effective_chat.id, _("Sorry, something went wrong on our side. Please try again in a moment.")
        )
    except Exception:
        log.warning("could not tell the user about the error", exc_info=True)
