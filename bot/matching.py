"""What follows publication: the index learns the entries at once, counterparts (a need and the
offers for it, an offer and the needs it answers) are found across languages and announced to
the owners in their languages and to staff with a one-tap "Propose introduction", and
subscribers' next digests receive the new entries.
"""
from __future__ import annotations

from dataclasses import dataclass
from html import escape

from telegram import Bot, InlineKeyboardMarkup
from telegram.constants import ParseMode
from telegram.error import BadRequest, Forbidden

from bot.db import Match, Submission
from bot.handlers.subscribe import queue_for_subscribers
from bot.i18n import N_, gettext_for
from bot.relay import StaffUnreachable, post_to_staff_topic
from bot.render import KIND_LABELS, button, facts, fit, pick, shorten
from bot.services import Services
from catalog.model import Record
from index.search import Filters, SearchResult

@dataclass(frozen=True)
class MatchRule:
    """When an entry of the other kind is worth a notice nobody asked for.

    The bar is a margin over the query's background similarity. Alone, a strict bar misses
    most counterparts written in another language (they score lower even when they describe
    the same system), so a sector both owners chose lowers it. On hand-labelled pairs of the
    sample catalogue (bench/matching.py) this finds 0.67 of the pairs a need should hear of
    (0.47 with the search's own bar) at a precision of 0.52 (0.72): the best F1 of the rules it
    compares (a wider grid of bars found nothing better by more than 0.01). Staff, who see every
    match, judge which introductions to propose.
    """

    margin: float = 0.07
    same_sector_margin: float = 0.045
    most: int = 3
    query_chars: int = 400

    def query(self, record: Record) -> tuple[str, Filters]:
        """The entry's own words, searched among entries of the other kind."""
        title, description = record.text(record.language)
        other = "offer" if record.kind == "request" else "request"
        return f"{title}\n{shorten(description, self.query_chars)}", Filters(kind=other)

    def pick(self, record: Record, result: SearchResult, sectors: dict[str, str | None]) -> list[tuple[str, float]]:
        """(id, margin) of the counterparts that pass, best first."""
        chosen = []
        for hit in result.hits:
            margin = hit.score - result.background
            bar = self.same_sector_margin if record.sector and sectors.get(hit.id) == record.sector else self.margin
            if hit.id != record.id and margin >= bar and len(chosen) < self.most:
                chosen.append((hit.id, round(margin, 4)))
        return chosen


RULE = MatchRule()
TOPIC_NAME = N_("Matches")


async def on_published(bot: Bot, svc: Services, records: list[Record]) -> None:
    """Call after ``records`` were written to the catalogue as published (new or newly approved)."""
    await svc.engine.refresh(svc.catalog)
    for record in records:
        matches = await find_counterparts(svc, record)
        if matches:
            await announce(bot, svc, record, matches)
    await queue_for_subscribers(svc, records)


async def find_counterparts(svc: Services, record: Record) -> list[Match]:
    """New pairs of ``record`` with the best entries of the other kind that pass :data:`RULE`.

    Pairs announced before (either way round) are not announced again, so an edited or
    re-imported entry does not repeat its notices.
    """
    if record.status != "published":
        return []
    text, filters = RULE.query(record)
    result = await svc.engine.asearch(text, top_k=2 * RULE.most, filters=filters, today=svc.clock.today())
    sectors = {rid: r.sector for rid, r in (await svc.catalog.get_many(h.id for h in result.hits)).items()}
    matches = []
    for counterpart, margin in RULE.pick(record, result, sectors):
        known = await svc.store.newest(Match, ((Match.record_id == record.id) & (Match.counterpart_id == counterpart))
                                       | ((Match.record_id == counterpart) & (Match.counterpart_id == record.id)))
        if known is None:
            matches.append(Match(record_id=record.id, counterpart_id=counterpart, score=margin))
    await svc.store.save(*matches)
    return matches


async def owners(svc: Services, record_ids: list[str]) -> dict[str, Submission]:
    """Entries posted through the bot, by record id: whom to tell about them."""
    rows = await svc.store.rows(Submission, Submission.record_id.in_(record_ids))
    return {row.record_id: row for row in rows}


def entry_lines(record: Record, language: str) -> str:
    title, _lang = pick(record.title, language, record.language)
    who = f" · {escape(record.organization)}" if record.organization else ""
    return f"<b>{escape(title)}</b>{who}\n{facts(record, language)}"


def owner_keyboard(match: Match, language: str, number: int | None = None) -> list:
    _ = gettext_for(language)
    suffix = f" {number}" if number else ""
    return [button("ℹ️ " + _("Details") + suffix, "mt", match.id, "det"), button("🤝 " + _("Ask for an introduction") + suffix, "mt", match.id, "ask")]


async def announce(bot: Bot, svc: Services, record: Record, matches: list[Match]) -> None:
    """Tell the entry's owner, the counterparts' owners and staff about new matches."""
    records = await svc.catalog.get_many([m.counterpart_id for m in matches])
    owned = await owners(svc, [record.id, *records])
    owner = owned.get(record.id)
    if owner is not None:
        _ = gettext_for(owner.language)
        intro = (_("Good news: these technology offers may answer your need “{title}”:") if record.kind == "request"
                 else _("Good news: these enterprises may need your technology “{title}”:"))
        lines = [escape(intro.format(title=owner.draft.get("title", "")))]
        lines += [f"\n{n}. {entry_lines(records[m.counterpart_id], owner.language)}" for n, m in enumerate(matches, 1)]
        keyboard = InlineKeyboardMarkup([owner_keyboard(m, owner.language, n) for n, m in enumerate(matches, 1)])
        await _send(bot, owner.user_id, fit("\n".join(lines)), keyboard)
    for match in matches:
        other = owned.get(match.counterpart_id)
        if other is None or owner is not None and other.user_id == owner.user_id:
            continue
        _ = gettext_for(other.language)
        intro = (_("A new need may match your offer “{title}”:") if record.kind == "request"
                 else _("A new technology offer may answer your need “{title}”:"))
        text = escape(intro.format(title=other.draft.get("title", ""))) + "\n\n" + entry_lines(record, other.language)
        await _send(bot, other.user_id, fit(text), InlineKeyboardMarkup([owner_keyboard(match, other.language)]))
    await _tell_staff(bot, svc, record, matches, records, owned)


async def _send(bot: Bot, chat_id: int, text: str, keyboard: InlineKeyboardMarkup) -> None:
    try:
        await bot.send_message(chat_id, text, parse_mode=ParseMode.HTML, reply_markup=keyboard)
    except (Forbidden, BadRequest):
        pass  # blocked or gone: staff still see the match


async def _tell_staff(bot: Bot, svc: Services, record: Record, matches: list[Match], records: dict, owned: dict) -> None:
    """The staff digest: the new entry, its counterparts, and Propose introduction where a party uses the bot."""
    language = svc.settings.staff_language
    staff_ = gettext_for(language)
    lines = ["🔗 <b>" + staff_("New {kind}").format(kind=staff_(KIND_LABELS[record.kind]).lower()) + f"</b> <code>{escape(record.id)}</code>",
             entry_lines(record, language), "", staff_("Possible counterparts:")]
    rows = []
    for number, match in enumerate(matches, 1):
        lines.append(f"{number}. <code>{escape(match.counterpart_id)}</code> · +{match.score:.3f}\n{entry_lines(records[match.counterpart_id], language)}")
        if record.id in owned or match.counterpart_id in owned:
            rows.append([button("🤝 " + staff_("Propose introduction {number}").format(number=number), "pi", match.id)])
        else:
            lines.append("<i>" + staff_("Neither party uses the bot: introduce them by their contact details.") + "</i>")
    try:
        await post_to_staff_topic(bot, svc, "matches", staff_(TOPIC_NAME), fit("\n".join(lines)), InlineKeyboardMarkup(rows) if rows else None)
    except StaffUnreachable:
        pass  # owners were told; staff see the pairs in the entries' tickets when introductions are asked for
