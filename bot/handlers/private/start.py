"""Welcome, menu, help and language choice."""

from __future__ import annotations

from html import escape

from telegram import InlineKeyboardMarkup, Update
from telegram.constants import ParseMode
from telegram.ext import CallbackQueryHandler, CommandHandler, ContextTypes

from bot.callbacks import parse
from bot.i18n import LANGUAGE_NAMES, gettext_for, translate
from bot.render import button, grid, menu_keyboard
from bot.services import current_user, services
from bot.ui_language import remember, unsupported_hint
from catalog.language import LANGUAGES, normalize_language_code


def help_text(language: str) -> str:
    _ = gettext_for(language)
    return "\n".join(
        [
            "<b>" + _("How to use TechConnect") + "</b>",
            _(
                "Write what you need in a few words, in Vietnamese, English, Chinese, Japanese or Korean, e.g. "
                "“shrimp hatchery water treatment” or “máy sấy nông sản”."
            ),
            _(
                "Each result has buttons: Details, Request introduction, More like this, and Filters "
                "(offers or requests, sector, country)."
            ),
            _("Department staff can introduce you to the owner of a technology or a need."),
            _(
                "Post what you need or what your technology offers with /post: staff review it, then partners find it "
                "and I tell you about matches. /mine lists your entries."
            ),
            _("/subscribe: a daily digest of new entries in your sectors · /events: upcoming connection sessions"),
            "",
            _("/start: menu · /language: change language · /help: this help"),
        ]
    )


async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    _user, language = await current_user(update, context)
    _ = gettext_for(language)
    name = update.effective_user.first_name or ""
    text = "\n\n".join(
        [
            _(
                "Hello {name}! I am TechConnect, the technology supply–demand connection assistant of "
                "Hai Phong's Department of Science and Technology."
            ).format(name=escape(name)),
            _(
                "Tell me what technology you need, or what your technology can do, and I will find "
                "matching offers and needs from Vietnam, Taiwan, Japan, Korea, Israel, the Netherlands "
                "and more. Staff can then introduce you."
            ),
        ]
    )
    code = update.effective_user.language_code
    if code and normalize_language_code(code) is None:
        text += "\n\n<i>" + escape(unsupported_hint(code)) + "</i>"
    await update.effective_message.reply_text(text, parse_mode=ParseMode.HTML, reply_markup=menu_keyboard(language))


async def help_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    _, language = await current_user(update, context)
    await update.effective_message.reply_text(help_text(language), parse_mode=ParseMode.HTML)


def language_keyboard(current: str) -> InlineKeyboardMarkup:
    """Every UI language, two a row, the current one ticked."""
    labels = [("✅ " if code == current else "") + LANGUAGE_NAMES[code] for code in LANGUAGES]
    keys = [button(label, "lang", code.replace("-", "_")) for label, code in zip(labels, LANGUAGES)]
    return InlineKeyboardMarkup(grid(keys, 2))


async def language_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    _user, language = await current_user(update, context)
    _ = gettext_for(language)
    await update.effective_message.reply_text(_("Choose your language:"), reply_markup=language_keyboard(language))


async def on_language(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    query = update.callback_query
    callback = parse(query.data)
    code = (callback.key if callback else "").replace("_", "-")
    if code not in LANGUAGES:
        _user, language = await current_user(update, context)
        await query.answer(translate(language, "This button is no longer valid."), show_alert=True)
        return
    user, _old = await current_user(update, context)
    await remember(context.bot, services(context).store, user, code, update.effective_user.language_code, settled=True)
    _ = gettext_for(code)
    await query.answer()
    await query.edit_message_text(_("Language set to {language}.").format(language=LANGUAGE_NAMES[code]))
    await query.message.reply_text(help_text(code), parse_mode=ParseMode.HTML, reply_markup=menu_keyboard(code))


async def on_menu(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    query = update.callback_query
    item = parse(query.data).key
    user, language = await current_user(update, context)
    _ = gettext_for(language)
    await query.answer()
    if item == "find":
        await services(context).store.update_user(user.id, mode="offer")
        await query.message.reply_text(_("Describe the technology you are looking for, in a few words."))
    elif item == "partners":
        await services(context).store.update_user(user.id, mode="request")
        await query.message.reply_text(
            _("Describe what your technology does: I will look for enterprises that need it.")
        )
    elif item == "lang":
        await query.message.reply_text(_("Choose your language:"), reply_markup=language_keyboard(language))
    elif item == "help":
        await query.message.reply_text(help_text(language), parse_mode=ParseMode.HTML)


async def on_unknown_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A command the bot does not have (mistyped, or from another bot's habits): the menu instead of silence."""
    _user, language = await current_user(update, context)
    await update.effective_message.reply_text(
        translate(language, "I do not know that command. Here is what I can do:"), reply_markup=menu_keyboard(language)
    )


async def on_unknown_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A button no handler knows (forged, or from an older version): answered, never left spinning."""
    _user, language = await current_user(update, context)
    await update.callback_query.answer(
        translate(language, "This button is no longer valid. Please search again."), show_alert=True
    )


HANDLERS = [
    # first of its handler group: data that is no button of ours never reaches a handler that reads it
    CallbackQueryHandler(on_unknown_button, pattern=lambda data: parse(data) is None),
    CommandHandler("start", start),
    CommandHandler("help", help_command),
    CommandHandler("language", language_command),
    CallbackQueryHandler(on_language, pattern=r"^lang:"),
    CallbackQueryHandler(on_menu, pattern=r"^menu:(find|partners|lang|help)$"),
]
