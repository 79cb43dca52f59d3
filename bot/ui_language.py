"""Which language a user reads: a first guess, then what they write, then their own choice.

Telegram's ``language_code`` says how a phone is set up, not what its owner reads: most
Vietnamese use their phone in English. So the first message plainly written in another
language switches the interface, once, and says so with a button to change it; a language
chosen with /language is never overridden. A language the interface lacks gets English and
a one-line hint. Each user's command menu follows their interface language.
"""

from __future__ import annotations

import logging

from babel import Locale
from telegram import BotCommand, BotCommandScopeChat, InlineKeyboardMarkup
from telegram.error import TelegramError

from bot.db import BotStore, User
from bot.i18n import DEFAULT_LANGUAGE, LANGUAGE_NAMES, N_, gettext_for, translate
from bot.render import button
from catalog.language import LANGUAGES, clear_language, normalize_language_code
from catalog.taxonomy import babel_locale

log = logging.getLogger(__name__)
COMMANDS = [
    ("start", N_("Menu: find technology or partners")),
    ("help", N_("How to use TechConnect")),
    ("language", N_("Change language")),
    ("post", N_("Post a need or offer a technology")),
    ("mine", N_("Your posted entries")),
    ("events", N_("Upcoming connection events")),
    ("subscribe", N_("Follow new entries: a daily digest")),
    ("unsubscribe", N_("Stop the daily digest")),
    ("end", N_("End the conversation with staff")),
]
# Telegram code -> the menu set for it; commands menus are keyed by two-letter codes only.
MENU_LANGUAGES = {"vi": "vi", "en": "en", "zh": "zh-Hans", "ja": "ja", "ko": "ko"}


def commands(language: str) -> list[BotCommand]:
    _ = gettext_for(language)
    return [BotCommand(name, _(description)) for name, description in COMMANDS]


def menu_language(telegram_code: str | None) -> str:
    """The UI language of the command menu Telegram shows a user of ``telegram_code``."""
    return MENU_LANGUAGES.get((telegram_code or "").split("-")[0].lower(), DEFAULT_LANGUAGE)


def first_guess(telegram_code: str | None) -> str:
    """From Telegram's coarse code: ``zh-tw`` is Traditional; a language the UI lacks gets English."""
    return normalize_language_code(telegram_code) or DEFAULT_LANGUAGE


def language_name(code: str, reader: str) -> str:
    """``es`` as a reader of ``reader`` calls it: "Spanish", "tiếng Tây Ban Nha"."""
    try:
        return Locale.parse(code.replace("-", "_")).get_display_name(babel_locale(reader)) or code
    except (ValueError, LookupError):
        return code


def unsupported_hint(code: str) -> str:
    """One line for a reader of a language the UI lacks, in English (the language they get)."""
    return translate(
        DEFAULT_LANGUAGE,
        "I do not speak {language} yet, so I answer in English. Tap /language to choose Vietnamese, Chinese, Japanese or Korean.",
    ).format(language=language_name(code, DEFAULT_LANGUAGE))


async def remember(
    bot, store: BotStore, user: User, language: str, telegram_code: str | None, *, settled: bool
) -> None:
    """Store ``language`` for ``user``, with a command menu of their own when Telegram's would differ."""
    shown = menu_language(telegram_code)
    had_own_menu = user.language is not None and user.language != shown
    user.language, user.language_settled = language, settled or bool(user.language_settled)
    await store.update_user(user.id, language=language, language_settled=user.language_settled)
    scope = BotCommandScopeChat(user.id)
    try:
        if language != shown:
            await bot.set_my_commands(commands(language), scope=scope)
        elif had_own_menu:
            await bot.delete_my_commands(scope=scope)
    except TelegramError as exc:  # the menu is a convenience; the answer must not wait for it
        log.warning("command menu of a user not updated: %s", exc)


def change_keyboard(language: str) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup([[button("🌐 " + translate(language, "Change language"), "menu", "lang")]])


async def follow(message, store: BotStore, user: User, language: str) -> str:
    """The UI language after ``user`` wrote ``message`` (a search), told to them when it changes.

    It follows once, and only a user who has not chosen. English, and languages the UI lacks
    (answered in English), switch only a user who reads English already: someone whose phone
    is set to Vietnamese and who searches in English is choosing search words, not a language.
    """
    if user.language_settled:
        return language
    written = clear_language(message.text or "")
    if written is None or written == language:
        return language
    target = written if written in LANGUAGES else DEFAULT_LANGUAGE
    if target == DEFAULT_LANGUAGE and language != DEFAULT_LANGUAGE:
        return language
    await remember(message.get_bot(), store, user, target, message.from_user.language_code, settled=True)
    _ = gettext_for(target)
    if target != language:
        text = _("I will answer in {language}.").format(language=LANGUAGE_NAMES[target])
    else:
        text = unsupported_hint(written)
    await message.reply_text(text, reply_markup=change_keyboard(target))
    return target
