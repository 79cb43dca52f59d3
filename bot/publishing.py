"""Publishing: one path from a change of the catalogue to everyone who should hear of it.

Write the catalogue, refresh the index (searchable at once, in every language), then, for
entries that are newly published or whose text changed: find their counterparts and announce
them, and queue them for subscribers' digests. Approvals, staff imports, renewals and
withdrawals all go through :func:`publish`.
"""

from __future__ import annotations

from datetime import date, timedelta

from telegram import Bot

from bot.db import INSERTS, DigestItem, Submission, Subscription
from bot.matching import announce, find_counterparts
from bot.services import Services
from catalog.model import Record
from index.search import Filters


async def publish(bot: Bot, svc: Services, records: list[Record]) -> tuple[int, int]:
    """Write ``records`` and tell whom it concerns; (inserted, updated)."""
    before = await svc.catalog.get_many(r.id for r in records)
    inserted, updated = await svc.catalog.upsert(records)
    await svc.engine.refresh(svc.catalog)
    fresh = [r for r in records if r.status == "published" and _news(r, before.get(r.id))]
    for record in fresh:
        matches = await find_counterparts(svc, record)
        if matches:
            await announce(bot, svc, record, matches)
    await queue_for_subscribers(svc, fresh)
    return inserted, updated


def listing_end(record: Record, svc: Services) -> date:
    """The last day a posted entry is listed: the deadline its owner set (a need "by March 2027"
    is wanted until then), else ``entry_days`` from today."""
    return record.deadline or svc.clock.today() + timedelta(days=svc.settings.entry_days)


def _news(record: Record, before: Record | None) -> bool:
    """Newly published, or published with another text: worth matching and announcing."""
    return (
        before is None
        or before.status != "published"
        or (before.title, before.description) != (record.title, record.description)
    )


async def queue_for_subscribers(svc: Services, records: list[Record]) -> int:
    """Queue newly published ``records`` for every active subscriber who follows their sector or
    whose interest finds them (the search's own "good match" rule, across languages); never a
    user's own entry, never twice. Returns how many items were queued. The index must know the
    records already."""
    today = svc.clock.today()
    fresh = {r.id: r for r in records if r.is_live(today)}
    if not fresh:
        return 0
    owned = {(s.user_id, s.record_id) for s in await svc.store.rows(Submission, Submission.record_id.in_(fresh))}
    found: dict[str, list[str]] = {}  # interest -> ids it matches: one search per interest
    rows = []
    for sub in await svc.store.rows(Subscription, Subscription.active.is_(True), order_by=Subscription.user_id):
        reasons = {
            rid: record.sector for rid, record in fresh.items() if record.sector and record.sector in sub.sectors
        }
        if sub.interest:
            if sub.interest not in found:
                result = await svc.engine.asearch(
                    sub.interest, top_k=len(fresh), filters=Filters(ids=frozenset(fresh)), today=today
                )
                found[sub.interest] = [hit.id for hit in result.good]
            for rid in found[sub.interest]:
                reasons.setdefault(rid, "interest")
        rows += [
            {"user_id": sub.user_id, "record_id": rid, "reason": reason}
            for rid, reason in reasons.items()
            if (sub.user_id, rid) not in owned
        ]
    if not rows:
        return 0
    insert = INSERTS[svc.store.engine.dialect.name]
    async with svc.store.session.begin() as session:
        queued = await session.execute(insert(DigestItem).on_conflict_do_nothing().returning(DigestItem.id), rows)
        return len(queued.all())
