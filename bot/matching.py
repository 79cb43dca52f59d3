"""What follows publication: the index learns the entries at once, counterparts (a need and the
offers for it, an offer and the needs it answers) are found across languages and announced to
the owners in their languages and to staff with a one-tap "Propose introduction", and
subscribers' next digests receive the new entries.
"""

from __future__ import annotations

from dataclasses import dataclass
from html import escape

from telegram import Bot, InlineKeyboardMarkup

from bot.db import Match, Submission
from bot.delivery import notify, to_staff
from bot.i18n import gettext_for
from bot.render import KIND_LABELS, button, facts, fit, pick, shorten
from bot.services import Services
from catalog.model import Record
from index.search import Filters, SearchResult


@dataclass(frozen=True)
class MatchRule:
    """When an entry of the other kind is worth a notice nobody asked for.

    Every language version of the new entry is searched (its own words: the title, and the title
    with the start of its description); a counterpart's score is its best margin over the
    query's background.
    Texts in two different languages score lower even when they describe the same system, so
    pairs without a common language face a lower bar, and so do pairs in a sector both owners
    chose. Counterparts are ranked by how far they clear their bar. On hand-labelled pairs of
    the sample catalogue (bench/matching.py) this lifts F1 over a search from the entry's own
    language with the search's bar for entries as the posting form makes them, e.g. needs among
    offers 0.53 -> 0.58 in one language plus an English title, 0.47 -> 0.51 in one language
    only; on the mostly translated catalogue as written, the search's bar does better.
    """

    margin: float = 0.07
    same_sector_margin: float = 0.06
    cross_margin: float = 0.06  # the two entries share no language (0.055 before the glossary grew: bench/matching.py)
    cross_same_sector_margin: float = 0.04
    most: int = 2
    every_language: bool = True
    query_chars: int = 400
    candidates: int = 10  # hits looked at per query

    def queries(self, record: Record) -> tuple[list[tuple[str, str]], Filters]:
        """(language, the entry's own words in it) for each of its versions, and the entries to search:
        a need looks among offers, an offer among needs for a technology. A supplier's "partner
        wanted" post looks for no entry (staff broker it), and no offer finds it."""
        if record.seeking == "partner":
            return [], Filters(kind="offer")
        texts = []
        for language in record.languages() if self.every_language else [record.language]:
            title, description = record.text(language)
            texts.append((language, title))  # short: what the search can also put into other languages
            if description:
                texts.append((language, f"{title}\n{shorten(description, self.query_chars)}"))
        if record.kind == "request":
            return texts, Filters(kind="offer")
        return texts, Filters(kind="request", seeking="technology")

    def bar(self, record: Record, other: Record, same_language: bool) -> float:
        """The margin a pair needs, by whether the two texts compared share a language (so a
        translation, which adds a comparison, never raises the bar) and whether they share a sector."""
        same_sector = bool(record.sector) and other.sector == record.sector
        if same_language:
            return self.same_sector_margin if same_sector else self.margin
        return self.cross_same_sector_margin if same_sector else self.cross_margin

    def pick(
        self, record: Record, results: list[tuple[str, SearchResult]], others: dict[str, Record]
    ) -> list[tuple[str, float]]:
        """(id, margin) of the counterparts that clear their bar in some comparison, the furthest above it first."""
        best: dict[str, tuple[float, float]] = {}  # id -> (excess over the bar, margin)
        for language, result in results:
            for hit in result.hits:
                if hit.id == record.id or hit.id not in others:
                    continue
                excess = hit.margin - self.bar(record, others[hit.id], hit.language == language)
                best[hit.id] = max(best.get(hit.id, (excess, hit.margin)), (excess, hit.margin))
        cleared = sorted(((excess, rid, margin) for rid, (excess, margin) in best.items() if excess >= 0), reverse=True)
        return [(rid, round(margin, 4)) for _excess, rid, margin in cleared[: self.most]]


RULE = MatchRule()


async def find_counterparts(svc: Services, record: Record) -> list[Match]:
    """New pairs of ``record`` with the best entries of the other kind that pass :data:`RULE`.

    Pairs announced before (either way round) are not announced again, so an edited or
    re-imported entry does not repeat its notices.
    """
    if record.status != "published":
        return []
    texts, filters = RULE.queries(record)
    today = svc.clock.today()
    results = [
        (language, await svc.engine.asearch(text, top_k=RULE.candidates, filters=filters, today=today))
        for language, text in texts
    ]
    others = await svc.catalog.get_many({hit.id for _language, result in results for hit in result.hits})
    matches = []
    for counterpart, margin in RULE.pick(record, results, others):
        known = await svc.store.newest(
            Match,
            ((Match.record_id == record.id) & (Match.counterpart_id == counterpart))
            | ((Match.record_id == counterpart) & (Match.counterpart_id == record.id)),
        )
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
    return [
        button("ℹ️ " + _("Details") + suffix, "mt", match.id, "det"),
        button("🤝 " + _("Ask for an introduction") + suffix, "mt", match.id, "ask"),
    ]


async def announce(bot: Bot, svc: Services, record: Record, matches: list[Match]) -> None:
    """Tell the entry's owner, the counterparts' owners and staff about new matches."""
    records = await svc.catalog.get_many([m.counterpart_id for m in matches])
    owned = await owners(svc, [record.id, *records])
    owner = owned.get(record.id)
    if owner is not None:
        _ = gettext_for(owner.language)
        intro = (
            _("Good news: these technology offers may answer your need “{title}”:")
            if record.kind == "request"
            else _("Good news: these enterprises may need your technology “{title}”:")
        )
        lines = [escape(intro.format(title=owner.draft.get("title", "")))]
        lines += [f"\n{n}. {entry_lines(records[m.counterpart_id], owner.language)}" for n, m in enumerate(matches, 1)]
        keyboard = InlineKeyboardMarkup([owner_keyboard(m, owner.language, n) for n, m in enumerate(matches, 1)])
        await notify(bot, svc, owner.user_id, fit("\n".join(lines)), keyboard)
    for match in matches:
        other = owned.get(match.counterpart_id)
        if other is None or (owner is not None and other.user_id == owner.user_id):
            continue
        _ = gettext_for(other.language)
        intro = (
            _("A new need may match your offer “{title}”:")
            if record.kind == "request"
            else _("A new technology offer may answer your need “{title}”:")
        )
        text = escape(intro.format(title=other.draft.get("title", ""))) + "\n\n" + entry_lines(record, other.language)
        await notify(bot, svc, other.user_id, fit(text), InlineKeyboardMarkup([owner_keyboard(match, other.language)]))
    await _tell_staff(bot, svc, record, matches, records, owned)


async def _tell_staff(
    bot: Bot, svc: Services, record: Record, matches: list[Match], records: dict, owned: dict
) -> None:
    """The staff digest: the new entry, its counterparts, and Propose introduction where a party uses the bot."""
    language = svc.settings.staff_language
    staff_ = gettext_for(language)
    lines = [
        "🔗 <b>"
        + staff_("New {kind}").format(kind=staff_(KIND_LABELS[record.kind]).lower())
        + f"</b> <code>{escape(record.id)}</code>",
        entry_lines(record, language),
        "",
        staff_("Possible counterparts:"),
    ]
    rows = []
    for number, match in enumerate(matches, 1):
        lines.append(
            f"{number}. <code>{escape(match.counterpart_id)}</code> · +{match.score:.3f}\n{entry_lines(records[match.counterpart_id], language)}"
        )
        if record.id in owned or match.counterpart_id in owned:
            rows.append([button("🤝 " + staff_("Propose introduction {number}").format(number=number), "pi", match.id)])
        else:
            lines.append(
                "<i>" + staff_("Neither party uses the bot: introduce them by their contact details.") + "</i>"
            )
    await svc.outbox.post(
        bot, svc, to_staff(svc, fit("\n".join(lines)), InlineKeyboardMarkup(rows) if rows else None, topic="matches")
    )
