"""What handlers share: settings, stores, the search engine, this worker and the metrics, kept in ``bot_data``."""

from __future__ import annotations

from dataclasses import dataclass, field

from telegram import Update
from telegram.ext import ContextTypes

from bot.callbacks import parse
from bot.clock import Clock
from bot.config import Settings
from bot.db import BotStore, User
from bot.delivery import Outbox
from bot.i18n import translate
from bot.metrics import Metrics
from bot.ui_language import first_guess, remember
from bot.workers import Workers
from catalog.store import CatalogStore
from index.search import SearchEngine


@dataclass
class Services:
    settings: Settings
    catalog: CatalogStore
    store: BotStore
    engine: SearchEngine
    workers: Workers
    clock: Clock = field(default_factory=Clock)
    outbox: Outbox = field(default_factory=Outbox)
    metrics: Metrics = field(default_factory=Metrics)


def services(context: ContextTypes.DEFAULT_TYPE) -> Services:
    return context.bot_data["services"]


async def current_user(update: Update, context: ContextTypes.DEFAULT_TYPE) -> tuple[User, str]:
    """The sender's row and UI language; a first guess from Telegram's code is stored on first contact
    (what the user then writes may change it: ``bot.ui_language.follow``)."""
    tg_user = update.effective_user
    store = services(context).store
    user = await store.user(tg_user.id, tg_user.first_name or "")
    if user.language is None:
        await remember(
            context.bot, store, user, first_guess(tg_user.language_code), tg_user.language_code, settled=False
        )
    return user, user.language


async def pressed_row(
    update: Update, context: ContextTypes.DEFAULT_TYPE, model, *conditions
) -> tuple[object | None, str]:
    """The row a button's key names, when it belongs to the user pressing it and meets
    ``conditions`` (a predicate on the row); else the press is answered "no longer valid" and
    the row is None. Anyone can forge button data, so every user-side button goes through here."""
    user, language = await current_user(update, context)
    query = update.callback_query
    callback = parse(query.data)
    row = await services(context).store.get(model, callback.number() if callback else None)
    if row is None or row.user_id != user.id or not all(condition(row) for condition in conditions):
        await query.answer(translate(language, "This button is no longer valid."), show_alert=True)
        return None, language
    return row, language
