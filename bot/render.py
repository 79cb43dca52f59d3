"""What users see: result cards, entry details and keyboards, in the user's language.

Every text that comes from users or the catalogue is HTML-escaped here, and nothing longer
than Telegram's 4,096 characters leaves this module.
"""
from __future__ import annotations

from datetime import date
from html import escape

from babel.dates import format_date
from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from bot.callbacks import Callback
from bot.i18n import LANGUAGE_NAMES, N_, gettext_for
from catalog.model import Record
from catalog.taxonomy import SECTORS, babel_locale, country_name, sector_label

MAX_MESSAGE = 4096
SUMMARY_CHARS = 260
KIND_LABELS = {"offer": N_("Technology offer"), "request": N_("Technology request")}
KIND_ICONS = {"offer": "💡", "request": "📝"}  # as on the menu's "Offer a technology" / "Post a need"
IP_LABELS = {
    "patented": N_("Patented"), "patent_pending": N_("Patent pending"), "trade_secret": N_("Trade secret"),
    "open": N_("Open"), "none": N_("No IP protection"),
}
PARTNERSHIP_LABELS = {
    "licensing": N_("Licensing"), "joint_venture": N_("Joint venture"), "equipment_sale": N_("Equipment purchase"),
    "technical_cooperation": N_("Technical cooperation"), "investment": N_("Investment"),
    "research_collaboration": N_("Research collaboration"), "training": N_("Training"),
}
_FALLBACK = ("en", "vi", "zh-Hant", "zh-Hans")


def flag(country: str | None) -> str:
    if not country or len(country) != 2 or not country.isalpha():
        return ""
    return "".join(chr(0x1F1E6 + ord(c) - ord("A")) for c in country.upper())


def pick(texts: dict[str, str], language: str, original: str) -> tuple[str, str]:
    """(text, its language): the user's language, else the original, else any."""
    for lang in (language, original, *_FALLBACK):
        if texts.get(lang):
            return texts[lang], lang
    return "", language


def long_date(day: date, language: str) -> str:
    return format_date(day, format="long", locale=babel_locale(language))


def shorten(text: str, limit: int) -> str:
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    cut = text[:limit].rsplit(" ", 1)[0] if " " in text[: limit] else text[:limit]
    return cut.rstrip(",.;:") + "…"


def _title_line(record: Record, language: str) -> str:
    title, lang = pick(record.title, language, record.language)
    marked = "" if lang == language else f" <i>({escape(LANGUAGE_NAMES[lang])})</i>"
    return f"<b>{escape(title)}</b>{marked}"


def owner_line(record: Record, language: str) -> str:
    """Who offers or needs it, and where from: organisation · flag and country (plain text)."""
    where = f"{flag(record.country)} {country_name(record.country, language)}" if record.country else ""
    return " · ".join(x for x in (record.organization, where) if x)


def facts(record: Record, language: str) -> str:
    """Country with flag, sector, kind and TRL on one line."""
    _ = gettext_for(language)
    parts = [f"{flag(record.country)} {escape(country_name(record.country, language))}".strip()] if record.country else []
    if record.sector:
        parts.append(escape(sector_label(record.sector, language)))
    parts.append(_(KIND_LABELS[record.kind]))
    if record.trl:
        parts.append(_("TRL {trl}").format(trl=record.trl))
    return " · ".join(parts)


def card(record: Record, language: str, position: int, total: int) -> str:
    """A compact result: title, facts, a short summary."""
    summary, lang = pick(record.description, language, record.language)
    lines = [f"{position}/{total} · {_title_line(record, language)}", facts(record, language)]
    if summary:
        lines.append(escape(shorten(summary, SUMMARY_CHARS)))
    return "\n".join(lines)


def details(record: Record, language: str) -> str:
    """The whole entry as the user may see it (never the staff-only contact)."""
    _ = gettext_for(language)
    lines = [_title_line(record, language), facts(record, language)]
    if record.organization:
        lines.append(_("Organisation: {name}").format(name=escape(record.organization)))
    if record.ip_status:
        lines.append(_("Intellectual property: {status}").format(status=_(IP_LABELS[record.ip_status])))
    if record.partnership:
        kinds = ", ".join(_(PARTNERSHIP_LABELS[p]) for p in record.partnership)
        lines.append(_("Partnership: {kinds}").format(kinds=kinds))
    if record.tags:
        lines.append("🏷 " + escape(", ".join(record.tags)))
    description, lang = pick(record.description, language, record.language)
    if description:
        marked = "" if lang == language else f"<i>({escape(LANGUAGE_NAMES[lang])})</i>\n"
        lines.append("\n" + marked + escape(description))
    others = [LANGUAGE_NAMES[lang] for lang in record.languages() if lang != language]
    if others:
        lines.append("\n<i>" + escape(_("Also written in: {languages}").format(languages=", ".join(others))) + "</i>")
    return fit("\n".join(lines))


def fit(html: str, limit: int = MAX_MESSAGE) -> str:
    """Trim HTML built here to Telegram's limit without cutting a tag or an entity in half."""
    if len(html) <= limit:
        return html
    cut = html[: limit - 1]
    cut = cut[: max(cut.rfind("\n"), limit // 2)]
    amp, semi = cut.rfind("&"), cut.rfind(";")
    if amp > semi:
        cut = cut[:amp]
    open_tag = cut.rfind("<")
    if open_tag > cut.rfind(">"):
        cut = cut[:open_tag]
    for tag in ("i", "b"):  # close what the cut left open
        if cut.count(f"<{tag}>") > cut.count(f"</{tag}>"):
            cut += f"</{tag}>"
    return cut + "…"


def button(label: str, action: str, key: object = "", arg: object = None) -> InlineKeyboardButton:
    return InlineKeyboardButton(label, callback_data=Callback(action, str(key), None if arg is None else str(arg)).encode())


def results_keyboard(language: str, search_id: int, position: int, total: int, handoff: bool) -> InlineKeyboardMarkup:
    """Buttons under one result: details, introduction, similar, paging, filters."""
    _ = gettext_for(language)
    rows = [[button("ℹ️ " + _("Details"), "det", search_id, position)]]
    if handoff:
        rows[0].append(button("🤝 " + _("Request introduction"), "intr", search_id, position))
    rows.append([button("🔎 " + _("More like this"), "like", search_id, position)])
    paging = []
    if position > 1:
        paging.append(button("◀️ " + _("Previous"), "page", search_id, position - 1))
    if position < total:
        paging.append(button(_("Next") + " ▶️", "page", search_id, position + 1))
    if paging:
        rows.append(paging)
    rows.append([button("⚙️ " + _("Filters"), "filt", search_id)])
    return InlineKeyboardMarkup(rows)


def filters_keyboard(language: str, search_id: int, countries: list[str]) -> InlineKeyboardMarkup:
    """Kind, sector and country choices for the search ``search_id``."""
    _ = gettext_for(language)
    rows = [[
        button(_("Offers"), "fk", search_id, "offer"),
        button(_("Requests"), "fk", search_id, "request"),
        button(_("Both"), "fk", search_id, "*"),
    ]]
    sectors = [button(sector_label(key, language), "fs", search_id, key) for key in SECTORS]
    rows += [sectors[i : i + 2] for i in range(0, len(sectors), 2)]
    rows.append([button(_("All sectors"), "fs", search_id, "*")])
    flags = [button(f"{flag(c)} {country_name(c, language)}", "fc", search_id, c) for c in countries[:8]]
    rows += [flags[i : i + 4] for i in range(0, len(flags), 4)]
    rows.append([button(_("All countries"), "fc", search_id, "*"), button("↩️ " + _("Back to results"), "page", search_id, 1)])
    return InlineKeyboardMarkup(rows)
