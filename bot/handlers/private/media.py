"""Photos, voice, stickers, documents, locations outside a conversation with staff: say what the bot can do instead."""

from __future__ import annotations

from telegram import Update
from telegram.ext import ContextTypes

from bot.i18n import gettext_for
from bot.services import current_user


async def on_media(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    _user, language = await current_user(update, context)
    _ = gettext_for(language)
    await update.effective_message.reply_text(
        _("I can only read text. Describe the technology you need or offer in a few words, or use /start for the menu.")
    )
