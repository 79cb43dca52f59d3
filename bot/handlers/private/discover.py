"""Technology discovery: free text is a search; results page, filter and open in place."""

from __future__ import annotations

import re
from html import escape

from telegram import InlineKeyboardMarkup, Message, Update
from telegram.constants import ChatType, ParseMode
from telegram.error import BadRequest
from telegram.ext import CallbackQueryHandler, ContextTypes, MessageHandler, filters

from bot.callbacks import Callback, parse
from bot.db import Search, User
from bot.i18n import gettext_for, translate
from bot.render import (
    button,
    card,
    details,
    filters_keyboard,
    menu_keyboard,
    pick,
    results_keyboard,
    sector_buttons,
    shorten,
    version_rows,
)
from bot.services import current_user, services
from bot.small_talk import Meaning, meaning
from catalog.model import Record
from catalog.taxonomy import SECTORS, country_name, sector_label
from index.search import Filters

MAX_HITS = 20
MAX_QUERY = 500  # characters embedded; a longer message is searched by its beginning


def handoff_enabled(context: ContextTypes.DEFAULT_TYPE) -> bool:
    return services(context).settings.staff_chat_id is not None


async def on_mention(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """In a group, a message that names the bot is a search."""
    user, language = await current_user(update, context)
    await search_text(update, context, user, language)


async def search_text(update: Update, context: ContextTypes.DEFAULT_TYPE, user: User, language: str) -> None:
    """The message's text as a query; a kind chosen in the menu ("Find partners") applies to this search only."""
    message = update.effective_message
    text = message.text or ""
    if message.chat.type != ChatType.PRIVATE:  # in groups only mentions reach here
        text = re.sub(rf"@{re.escape(context.bot.username)}\b", " ", text, flags=re.IGNORECASE)
    text = " ".join(text.split())
    _ = gettext_for(language)
    if not text:
        await message.reply_text(_("Write what you are looking for after my name."))
        return
    if len(text) > MAX_QUERY:
        await message.reply_text(
            _("Your message is long; I searched with its first {count} characters. Short queries work best.").format(
                count=MAX_QUERY
            )
        )
        text = shorten(text, MAX_QUERY)
    kind = meaning(text)
    if kind is Meaning.CHAT:
        await message.reply_text(
            _("Hello! Tell me in a few words what technology you need or offer, or choose below."),
            reply_markup=menu_keyboard(language),
        )
        return
    if user.mode:
        await services(context).store.update_user(user.id, mode=None)
    if kind is Meaning.BROAD:  # the sector the user picks makes it a search (``on_result_button``, "fs")
        search = await services(context).store.save_search(Search(user_id=user.id, query=text, kind=user.mode, hits=[]))
        await message.reply_text(
            _("“{query}” is broad: which sector?").format(query=shorten(text, 80)),
            reply_markup=InlineKeyboardMarkup(sector_buttons(language, search.id)),
        )
        return
    await context.bot.send_chat_action(message.chat_id, "typing")
    search = await new_search(context, user, text, searched_kind(user.mode))
    await show(message, context, search, language, 1)


def searched_kind(mode: str | None) -> Filters:
    """The menu's choice: "Find technology" looks among offers; "Find partners" among enterprises'
    needs for a technology (not other suppliers' "partner wanted" posts)."""
    return Filters(kind=mode, seeking="technology" if mode == "request" else None)


async def new_search(context, user: User, query: str, filters: Filters, *, like: Record | None = None) -> Search:
    """Run ``query`` and keep its hits as a row the result buttons point at.

    A typed query keeps only confident hits; "more like this" (``like``: the entry searched
    from, by its title and description as written, and left out; ``query`` is then its title)
    keeps the nearest neighbours, since a whole entry as a query says clearly what it is about
    and its neighbours are what the user asked for; so does a broad query within a sector the
    user chose: they are browsing it.
    """
    svc = services(context)
    text = "\n".join(like.text(like.language)) if like else query
    with svc.metrics.search_seconds.time():
        result = await svc.engine.asearch(text, top_k=MAX_HITS + 1, filters=filters, today=svc.clock.today())
    browsing = filters.sector is not None and meaning(query) is Meaning.BROAD
    kept = result.hits if like or browsing else result.good
    hits = [[h.id, round(h.score, 4), h.language] for h in kept if not like or h.id != like.id][:MAX_HITS]
    return await services(context).store.save_search(
        Search(
            user_id=user.id,
            query=query,
            like_entry=like.id if like else None,
            kind=filters.kind,
            sector=filters.sector,
            country=filters.country,
            hits=hits,
        )
    )


def filters_of(search: Search) -> Filters:
    return Filters(search.kind, search.sector, search.country)


def filter_summary(search: Search, language: str) -> str:
    _ = gettext_for(language)
    parts = []
    if search.kind:
        parts.append(_("offers") if search.kind == "offer" else _("requests"))
    if search.sector:
        parts.append(sector_label(search.sector, language))
    if search.country:
        parts.append(country_name(search.country, language))
    return " · ".join(parts)


async def show(message: Message, context, search: Search, language: str, position: int, *, edit: bool = False) -> None:
    """Result ``position`` of ``search`` (1-based), as a new message or by editing ``message``."""
    _ = gettext_for(language)
    hits = search.hits
    active = filter_summary(search, language)
    shown = escape(shorten(search.query, 80))
    if search.like_entry:  # "more like this": the query is that entry's title, not words the user typed
        header = _("Entries like “{title}”").format(title=shown)
    else:
        header = _("Results for “{query}”").format(query=shown)
    if active:
        header += f" <i>({escape(active)})</i>"
    if not hits:
        text = "\n".join(
            [
                header,
                "",
                _("No good match. Try other or fewer words, or another language; filters may also be too narrow."),
                _("Department staff can look for you: tap “Talk to staff”."),
            ]
        )
        rows = [[button("⚙️ " + _("Filters"), "filt", search.id)]]
        if handoff_enabled(context):
            rows.insert(0, [button("💬 " + _("Talk to staff"), "menu", "staff")])
        markup = InlineKeyboardMarkup(rows)
    else:
        position = min(max(position, 1), len(hits))
        record_id = hits[position - 1][0]
        record = await services(context).catalog.get(record_id)
        body = card(record, language, position, len(hits)) if record else _("This entry is no longer available.")
        text = f"{header}\n\n{body}"
        markup = results_keyboard(language, search.id, position, len(hits), handoff_enabled(context))
    if edit:
        try:
            await message.edit_text(text, parse_mode=ParseMode.HTML, reply_markup=markup)
        except BadRequest as exc:  # a double tap: the message already shows this
            if "not modified" not in exc.message:
                raise
    else:
        await message.reply_text(text, parse_mode=ParseMode.HTML, reply_markup=markup)


async def on_result_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Every button under a result: checked against the search row it names."""
    query = update.callback_query
    user, language = await current_user(update, context)
    _ = gettext_for(language)
    callback = parse(query.data)
    search = await services(context).store.search(callback.number()) if callback else None
    if search is None or search.user_id != user.id or not _valid_arg(callback, search):
        await query.answer(_("This button is no longer valid. Please search again."), show_alert=True)
        return
    await query.answer()
    action, arg = callback.action, callback.arg
    if action == "page":
        await show(query.message, context, search, language, int(arg), edit=True)
    elif action == "det":
        record = await services(context).catalog.get(search.hits[int(arg) - 1][0])
        if record is None:
            await query.message.reply_text(_("This entry is no longer available."))
            return
        rows = [[button("🔎 " + _("More like this"), "like", search.id, arg)]]
        if handoff_enabled(context):
            rows[0].insert(0, button("🤝 " + _("Request introduction"), "intr", search.id, arg))
        await query.message.reply_text(
            details(record, language),
            parse_mode=ParseMode.HTML,
            reply_markup=InlineKeyboardMarkup(rows + version_rows(record, language)),
        )
    elif action == "like":
        record = await services(context).catalog.get(search.hits[int(arg) - 1][0])
        if record is None:
            await query.message.reply_text(_("This entry is no longer available."))
            return
        title = pick(record.title, language, record.language)[0]
        similar = await new_search(context, user, title, filters_of(search), like=record)
        await show(query.message, context, similar, language, 1)
    elif action == "filt":
        countries = await _countries(context, search)
        await query.edit_message_reply_markup(filters_keyboard(language, search.id, filters_of(search), countries))
    else:
        value = None if arg == "*" else arg
        current = filters_of(search)
        changed = {
            "fk": Filters(value, current.sector, current.country),
            "fs": Filters(current.kind, value, current.country),
            "fc": Filters(current.kind, current.sector, value),
            "fx": Filters(),
        }[action]
        like = await services(context).catalog.get(search.like_entry) if search.like_entry else None
        refined = await new_search(context, user, search.query, changed, like=like)
        await show(query.message, context, refined, language, 1, edit=True)


async def on_version(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Another language version of an entry, as written (any published entry: nothing private)."""
    query = update.callback_query
    _user, language = await current_user(update, context)
    callback = parse(query.data)
    version = (callback.arg or "").replace("_", "-")
    svc = services(context)
    record = await svc.catalog.published_by_digest(callback.key)
    if record is None or not record.is_live(svc.clock.today()) or version not in record.title:
        await query.answer(translate(language, "This entry is no longer available."), show_alert=True)
        return
    await query.answer()
    others = version_rows(record, language, version)
    await query.message.reply_text(
        details(record, language, version),
        parse_mode=ParseMode.HTML,
        reply_markup=InlineKeyboardMarkup(others) if others else None,
    )


def _valid_arg(callback: Callback, search: Search) -> bool:
    arg = callback.arg
    if callback.action in ("page", "det", "like"):
        return bool(
            arg
            and arg.isdigit()
            and 1 <= int(arg) <= max(len(search.hits), 1)
            and (search.hits or callback.action == "page")
        )
    if callback.action in ("filt", "fx"):
        return arg is None
    return {
        "fk": lambda: arg in ("offer", "request", "*"),
        "fs": lambda: arg == "*" or arg in SECTORS,
        "fc": lambda: arg == "*" or bool(arg and re.fullmatch(r"[A-Z]{2}", arg)),
    }.get(callback.action, lambda: False)()


async def _countries(context, search: Search) -> list[str]:
    """Countries worth offering as a filter: those of the search's hits, most frequent first."""
    records = await services(context).catalog.get_many(h[0] for h in search.hits)
    counts: dict[str, int] = {}
    for record in records.values():
        if record.country:
            counts[record.country] = counts.get(record.country, 0) + 1
    if search.country:
        counts.setdefault(search.country, 0)
    return sorted(counts, key=lambda c: -counts[c])


def _mentions_bot(message: Message, username: str) -> bool:
    return f"@{username}".lower() in (message.text or "").lower()


class _MentionFilter(filters.MessageFilter):
    """Group messages that mention the bot by its username."""

    def filter(self, message: Message) -> bool:
        return _mentions_bot(message, message.get_bot().username)


HANDLERS = [
    # new messages only: editing a group message into a mention (a staff topic too) is no search
    MessageHandler(
        filters.ChatType.GROUPS & filters.UpdateType.MESSAGE & filters.TEXT & ~filters.COMMAND & _MentionFilter(),
        on_mention,
    ),
    CallbackQueryHandler(on_result_button, pattern=r"^(page|det|like|filt|fk|fs|fc|fx):"),
    CallbackQueryHandler(on_version, pattern=r"^ver:[0-9a-f]{12}:[A-Za-z_]{2,8}$"),
]
