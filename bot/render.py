"""What users see: result cards, entry details and keyboards, in the user's language.

Every text that comes from users or the catalogue is HTML-escaped here, and nothing longer
than Telegram's 4,096 characters leaves this module.
"""

from __future__ import annotations

from datetime import date, datetime
from html import escape
from zoneinfo import ZoneInfo

from babel.dates import format_date, format_datetime
from babel.lists import format_list
from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from bot.callbacks import Callback
from bot.i18n import LANGUAGE_NAMES, N_, gettext_for
from catalog.language import to_simplified, to_traditional
from catalog.model import Record, id_digest
from catalog.taxonomy import SECTORS, babel_locale, country_name, sector_label
from index.search import Filters

MAX_MESSAGE = 4096
SUMMARY_CHARS = 260
KIND_LABELS = {"offer": N_("Technology offer"), "request": N_("Technology request")}
KIND_ICONS = {"offer": "💡", "request": "📝"}  # as on the menu's "Offer a technology" / "Post a need"
IP_LABELS = {
    "patented": N_("Patented"),
    "patent_pending": N_("Patent pending"),
    "trade_secret": N_("Trade secret"),
    "open": N_("Open"),
    "none": N_("No IP protection"),
}
MATURITY = {  # technology readiness levels a poster chooses from, in plain words
    2: N_("Idea or research"),
    4: N_("Lab prototype"),
    6: N_("Pilot or demonstration"),
    8: N_("Ready, first customers"),
    9: N_("Proven on the market"),
}
SEEKING_LABELS = {"technology": N_("A technology for my business"), "partner": N_("A partner, distributor or buyer")}
PARTNERSHIP_LABELS = {
    "licensing": N_("Licensing"),
    "joint_venture": N_("Joint venture"),
    "equipment_sale": N_("Equipment purchase"),
    "technical_cooperation": N_("Technical cooperation"),
    "investment": N_("Investment"),
    "research_collaboration": N_("Research collaboration"),
    "training": N_("Training"),
}
# A Chinese reader missing their script reads the other one converted, not another language.
_OTHER_SCRIPT = {"zh-Hans": ("zh-Hant", to_simplified), "zh-Hant": ("zh-Hans", to_traditional)}


def flag(country: str | None) -> str:
    if not country or len(country) != 2 or not country.isalpha():
        return ""
    return "".join(chr(0x1F1E6 + ord(c) - ord("A")) for c in country.upper())


def pick(texts: dict[str, str], language: str, original: str) -> tuple[str, str]:
    """(text, the language it is shown in): the reader's own; the other Chinese script,
    converted; English, which most readers read; the original; any."""
    if texts.get(language):
        return texts[language], language
    source, convert = _OTHER_SCRIPT.get(language, ("", None))
    if convert and texts.get(source):
        return convert(texts[source]), language
    for lang in ("en", original, *texts):
        if texts.get(lang):
            return texts[lang], lang
    return "", language


def written_in(lang: str, language: str) -> str:
    """ "(English) " before a text not in the reader's language, else nothing."""
    return "" if lang == language else f"<i>({escape(LANGUAGE_NAMES.get(lang, lang))})</i> "


def long_date(day: date, language: str) -> str:
    return format_date(day, format="long", locale=babel_locale(language))


def listing(items, language: str) -> str:
    """Items joined as the reader's language joins a list ("A, B và C", "A、B和C")."""
    return format_list(list(items), locale=babel_locale(language))


def when(moment: datetime, language: str, tz: ZoneInfo) -> str:
    """Full local date and short time, ordered and worded as the reader's locale does it."""
    locale = babel_locale(language)
    pattern = locale.datetime_formats["medium"].format(
        locale.time_formats["short"].pattern, locale.date_formats["full"].pattern
    )
    return format_datetime(moment, pattern, tzinfo=tz, locale=locale)


def shorten(text: str, limit: int) -> str:
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    cut = text[:limit].rsplit(" ", 1)[0] if " " in text[:limit] else text[:limit]
    return cut.rstrip(",.;:") + "…"


def _title_line(record: Record, language: str, version: str | None = None) -> str:
    title, lang = pick(record.title, version or language, record.language)
    return f"<b>{escape(title)}</b> " + written_in(lang, language)


def owner_line(record: Record, language: str) -> str:
    """Who offers or needs it, and where from: organisation · flag and country (plain text)."""
    where = f"{flag(record.country)} {country_name(record.country, language)}" if record.country else ""
    return " · ".join(x for x in (record.organization, where) if x)


def maturity_label(trl: int) -> str:
    """The plain words (msgid) for a technology readiness level: the stage it has reached."""
    return MATURITY[max(level for level in MATURITY if level <= max(trl, min(MATURITY)))]


def facts(record: Record, language: str, *, trl_number: bool = False) -> str:
    """Country with flag, sector, kind and maturity in plain words (with the TRL number when
    asked: Details) on one line."""
    _ = gettext_for(language)
    parts = (
        [f"{flag(record.country)} {escape(country_name(record.country, language))}".strip()] if record.country else []
    )
    if record.sector:
        parts.append(escape(sector_label(record.sector, language)))
    parts.append(_(KIND_LABELS[record.kind]))
    if record.trl:
        stage = _(maturity_label(record.trl))
        parts.append(f"{stage} ({_('TRL {trl}').format(trl=record.trl)})" if trl_number else stage)
    return " · ".join(parts)


def card(record: Record, language: str, position: int, total: int) -> str:
    """A compact result: title, facts, a short summary."""
    title_lang = pick(record.title, language, record.language)[1]
    summary, lang = pick(record.description, language, record.language)
    lines = [f"{position}/{total} · {_title_line(record, language)}".rstrip(), facts(record, language)]
    if summary:
        lines.append(
            (written_in(lang, language) if lang != title_lang else "") + escape(shorten(summary, SUMMARY_CHARS))
        )
    return "\n".join(lines)


def details(record: Record, language: str, version: str | None = None) -> str:
    """The whole entry as the user may see it (never the staff-only contact): the texts of
    ``version`` (one of the record's languages) when asked for, else those the reader reads best."""
    _ = gettext_for(language)
    lines = [_title_line(record, language, version).rstrip(), facts(record, language, trl_number=True)]
    if record.organization:
        lines.append(_("Organisation: {name}").format(name=escape(record.organization)))
    if record.seeking:
        lines.append(_("Looking for: {what}").format(what=_(SEEKING_LABELS[record.seeking])))
    if record.ip_status:
        lines.append(_("Intellectual property: {status}").format(status=_(IP_LABELS[record.ip_status])))
    if record.partnership:
        kinds = listing((_(PARTNERSHIP_LABELS[p]) for p in record.partnership), language)
        lines.append(_("Partnership: {kinds}").format(kinds=kinds))
    if record.tags:
        lines.append("🏷 " + escape(", ".join(record.tags)))
    description, lang = pick(record.description, version or language, record.language)
    if description:
        lines.append("\n" + written_in(lang, language).rstrip() + "\n" * (lang != language) + escape(description))
    return fit("\n".join(lines))


def shown_version(record: Record, language: str, version: str | None = None) -> str:
    """The language version whose title ``details`` shows (the reader's, for converted Chinese)."""
    return pick(record.title, version or language, record.language)[1]


def version_rows(record: Record, language: str, version: str | None = None) -> list[list[InlineKeyboardButton]]:
    """A button for each language version the details do not show, to read it as written."""
    shown = shown_version(record, language, version)
    keys = [
        button("📖 " + LANGUAGE_NAMES[lang], "ver", id_digest(record.id), lang.replace("-", "_"))
        for lang in record.languages()
        if lang != shown
    ]
    return grid(keys, 3)


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


def grid(buttons: list[InlineKeyboardButton], width: int) -> list[list[InlineKeyboardButton]]:
    """``buttons`` in rows of ``width``: a keyboard that fits a phone."""
    return [buttons[i : i + width] for i in range(0, len(buttons), width)]


def button(label: str, action: str, key: object = "", arg: object = None) -> InlineKeyboardButton:
    return InlineKeyboardButton(
        label, callback_data=Callback(action, str(key), None if arg is None else str(arg)).encode()
    )


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


def menu_keyboard(language: str) -> InlineKeyboardMarkup:
    _ = gettext_for(language)
    return InlineKeyboardMarkup(
        [
            [button("🔎 " + _("Find technology"), "menu", "find")],
            [button("🤝 " + _("Find partners for my technology"), "menu", "partners")],
            [
                button("📝 " + _("Post a need"), "menu", "need"),
                button("💡 " + _("Offer a technology"), "menu", "offer"),
            ],
            [button("💬 " + _("Talk to staff"), "menu", "staff")],
            [button("🌐 " + _("Language"), "menu", "lang"), button("❓ " + _("Help"), "menu", "help")],
        ]
    )


def sector_buttons(language: str, search_id: int) -> list[list[InlineKeyboardButton]]:
    """Every sector, two a row, each refining the search ``search_id``."""
    return grid([button(sector_label(key, language), "fs", search_id, key) for key in SECTORS], 2)


def filters_keyboard(language: str, search_id: int, active: Filters, countries: list[str]) -> InlineKeyboardMarkup:
    """Kind, sector and country choices for the search ``search_id``, a few to a row so the keyboard
    fits a phone. An active choice is ticked, and tapping it again lifts it."""
    _ = gettext_for(language)

    def choice(label: str, action: str, value: str, current: str | None) -> InlineKeyboardButton:
        on = value == current
        return button(("✅ " if on else "") + label, action, search_id, "*" if on else value)

    rows = [[choice(_("Offers"), "fk", "offer", active.kind), choice(_("Requests"), "fk", "request", active.kind)]]
    rows += grid([choice(sector_label(key, language), "fs", key, active.sector) for key in SECTORS], 3)
    places = [choice(f"{flag(c)} {country_name(c, language)}", "fc", c, active.country) for c in countries[:4]]
    rows += grid(places, 4)
    last = [button("↩️ " + _("Back to results"), "page", search_id, 1)]
    if active.kind or active.sector or active.country:
        last.insert(0, button("✖️ " + _("Clear filters"), "fx", search_id))
    return InlineKeyboardMarkup(rows + [last])
