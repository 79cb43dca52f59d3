"""Subscriptions and daily digests: users follow sectors and/or an interest in their own words,
newly published entries that fit are queued for them, and a job sends each subscriber at most
one digest a day.

A digest is written (with its entries attached) before it is sent, so a crash or a restart
never sends it twice; Telegram's overall limit is shared with conversations, so digests are
paced below it.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime, timedelta
from html import escape

from sqlalchemy import delete, func, or_, select, update
from telegram import InlineKeyboardMarkup, Message, Update
from telegram.constants import ParseMode
from telegram.error import Forbidden, TelegramError
from telegram.ext import CallbackQueryHandler, CommandHandler, ContextTypes, filters

from bot.callbacks import parse
from bot.contact import request_handoff
from bot.db import Digest, DigestItem, Subscription, User
from bot.i18n import DEFAULT_LANGUAGE, gettext_for, translate
from bot.render import KIND_ICONS, button, details, fit, flag, grid, listing, pick, version_rows
from bot.services import Services, current_user, pressed_row, services
from bot.workers import alone
from catalog.model import Record
from catalog.taxonomy import SECTORS, country_name, sector_label

log = logging.getLogger("techconnect.digests")
DIGEST_EVERY = timedelta(hours=24)
SHOWN = 10  # entries listed in one digest; the rest are counted
DIGESTS_PER_SECOND = 25  # below Telegram's ~30/s, which conversations share; the limiter alone allows bursts of 30
INTEREST_CHARS = (3, 200)
INTEREST = "interest"  # the user's focus (``bot.router``) while their next message is the interest they follow


# ----------------------------------------------------------------------------- /subscribe, /unsubscribe


def following(sub: Subscription, language: str) -> str:
    """What the user follows, and how digests work."""
    _ = gettext_for(language)
    sectors = listing((sector_label(key, language) for key in SECTORS if key in sub.sectors), language)
    lines = [
        "<b>" + _("Daily digest of new entries") + "</b>",
        _("Sectors: {sectors}").format(sectors=escape(sectors or "—")),
        _("Interest: {interest}").format(interest=escape(f"“{sub.interest}”" if sub.interest else "—")),
        "",
        _(
            "Tick the sectors you follow, or tap ✏️ to describe in a few words what interests you (e.g. shrimp "
            "farming water treatment). When new offers or needs fit, I send you at most one digest a day. "
            "/unsubscribe stops it."
        ),
    ]
    return "\n".join(lines)


def sectors_keyboard(sub: Subscription, language: str) -> InlineKeyboardMarkup:
    _ = gettext_for(language)
    toggles = [
        button(("✅ " if key in sub.sectors else "") + sector_label(key, language), "sub", "t", key) for key in SECTORS
    ]
    rows = grid(toggles, 2)
    interest = _("Change the interest") if sub.interest else _("Add an interest")
    rows.append([button("✏️ " + interest, "sub", "i"), button("✔️ " + _("Done"), "sub", "done")])
    return InlineKeyboardMarkup(rows)


async def subscription(svc: Services, user_id: int) -> Subscription:
    """The user's subscription, active: whoever opens /subscribe wants digests (again)."""
    sub = await svc.store.get(Subscription, user_id) or Subscription(user_id=user_id, sectors=[], interest=None)
    sub.active = True
    return sub


def valid_interest(text: str | None) -> str | None:
    """The interest as it will be searched (spaces tidied), or None when too short or too long."""
    interest = " ".join((text or "").split())
    low, high = INTEREST_CHARS
    return interest if low <= len(interest) <= high else None


async def subscribe(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/subscribe: what the user follows, with sector toggles; /subscribe WORDS sets the interest."""
    svc = services(context)
    user, language = await current_user(update, context)
    _ = gettext_for(language)
    sub = await subscription(svc, user.id)
    if context.args:
        interest = valid_interest(" ".join(context.args))
        if interest is None:
            await update.effective_message.reply_text(
                _(
                    "Describe your interest in {low} to {high} characters after the command, e.g. "
                    "/subscribe shrimp farming water treatment"
                ).format(low=INTEREST_CHARS[0], high=INTEREST_CHARS[1])
            )
            return
        sub.interest = interest
    await svc.store.save(sub)
    await update.effective_message.reply_text(
        following(sub, language), parse_mode=ParseMode.HTML, reply_markup=sectors_keyboard(sub, language)
    )


async def ask_interest(message: Message, svc: Services, language: str, sub: Subscription) -> None:
    """The question whose answer, the user's next message, is the interest they follow (``bot.router``)."""
    _ = gettext_for(language)
    await svc.store.set_focus(sub.user_id, INTEREST)
    text = escape(
        _(
            "What interests you? Write it in a few words (e.g. shrimp farming water treatment): new offers and "
            "needs that fit will come in your daily digest."
        )
    )
    if sub.interest:
        text += "\n" + _("Now: {value}").format(value="<i>" + escape(sub.interest) + "</i>")
    await message.reply_text(text, parse_mode=ParseMode.HTML)


async def answer_interest(update: Update, context: ContextTypes.DEFAULT_TYPE, sub: Subscription, language: str) -> None:
    """The user's message after "Add an interest": saved as their interest, or the question stands."""
    svc = services(context)
    interest = valid_interest(update.effective_message.text)
    if interest is None:
        await update.effective_message.reply_text(
            translate(
                language, "Describe your interest in {low} to {high} characters, e.g. shrimp farming water treatment"
            ).format(low=INTEREST_CHARS[0], high=INTEREST_CHARS[1])
        )
        return
    sub.interest = interest
    await svc.store.save(sub, handled_update=update.update_id)
    await interest_saved(update.effective_message, svc, language, sub)


async def interest_saved(message: Message, svc: Services, language: str, sub: Subscription) -> None:
    """What the user now follows; the question is answered (after the reply, so that a crash in between
    repeats the reply rather than taking the answer for a search)."""
    await message.reply_text(
        following(sub, language) + "\n\n✅ " + translate(language, "Saved."),
        parse_mode=ParseMode.HTML,
        reply_markup=sectors_keyboard(sub, language),
    )
    await svc.store.set_focus(sub.user_id, None)


async def stop(svc: Services, user_id: int) -> None:
    """Nothing followed, nothing pending: a later /subscribe starts afresh."""
    async with svc.store.session.begin() as session:
        sub = await session.get(Subscription, user_id)
        if sub is not None:
            sub.active, sub.sectors, sub.interest = False, [], None
        await session.execute(delete(DigestItem).where(DigestItem.user_id == user_id, DigestItem.digest_id.is_(None)))


async def unsubscribe(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    user, language = await current_user(update, context)
    await stop(services(context), user.id)
    await update.effective_message.reply_text(
        translate(
            language, "You are unsubscribed: no more digests. Send /subscribe to follow sectors or an interest again."
        )
    )


async def on_subscribe_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A sector toggle, the interest, Done, or Unsubscribe (under a digest); each acts on the presser's own
    subscription."""
    query = update.callback_query
    callback = parse(query.data)
    svc = services(context)
    user, language = await current_user(update, context)
    _ = gettext_for(language)
    if callback.key == "stop":
        await query.answer()
        await stop(svc, user.id)
        await query.message.reply_text(
            _("You are unsubscribed: no more digests. Send /subscribe to follow sectors or an interest again.")
        )
        return
    if callback.key == "t" and callback.arg not in SECTORS:
        await query.answer(_("This button is no longer valid."), show_alert=True)
        return
    await query.answer()
    sub = await subscription(svc, user.id)
    if callback.key == "t":
        sector = callback.arg
        sub.sectors = [s for s in sub.sectors if s != sector] if sector in sub.sectors else [*sub.sectors, sector]
        await svc.store.save(sub)
        await query.edit_message_text(
            following(sub, language), parse_mode=ParseMode.HTML, reply_markup=sectors_keyboard(sub, language)
        )
    elif callback.key == "i":
        await svc.store.save(sub)
        await ask_interest(query.message, svc, language, sub)
    else:
        await svc.store.save(sub)
        if user.focus == INTEREST:  # done without writing one: the next message is a search again
            await svc.store.set_focus(user.id, None)
        await query.edit_message_text(following(sub, language) + "\n\n✅ " + _("Saved."), parse_mode=ParseMode.HTML)


async def on_digest_entry(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Details of one entry of the presser's own digest, or (from there) a request for an introduction."""
    query = update.callback_query
    svc = services(context)
    callback = parse(query.data)
    item, language = await pressed_row(update, context, DigestItem)
    if item is None:
        return
    record = await svc.catalog.get(item.record_id)
    if record is None or not record.is_live(svc.clock.today()):
        await query.answer(translate(language, "This button is no longer valid."), show_alert=True)
        return
    await query.answer()
    if callback.action == "dgi":
        await request_handoff(update, context, [record.id], None)
        return
    ask = (
        [[button("🤝 " + translate(language, "Request introduction"), "dgi", item.id)]]
        if svc.settings.staff_chat_id is not None
        else []
    )
    rows = ask + version_rows(record, language)
    await query.message.reply_text(
        details(record, language), parse_mode=ParseMode.HTML, reply_markup=InlineKeyboardMarkup(rows) if rows else None
    )


# ----------------------------------------------------------------------------- the digest job


def digest_text(items: list[DigestItem], records: dict[str, Record], language: str) -> str:
    """One line pair per entry, short enough to skim; the Details buttons carry the rest."""
    _ = gettext_for(language)
    lines = ["📬 <b>" + _("New on TechConnect for you") + "</b>"]
    for number, item in enumerate(items[:SHOWN], 1):
        record = records[item.record_id]
        where = f"{flag(record.country)} {country_name(record.country, language)}".strip()
        facts = " · ".join(escape(x) for x in (sector_label(record.sector, language), where) if x)
        title = pick(record.title, language, record.language)[0]
        lines.append(f"\n{number}. {KIND_ICONS[record.kind]} <b>{escape(title)}</b>" + (f"\n{facts}" if facts else ""))
    if len(items) > SHOWN:
        lines.append("\n" + _("…and {count} more.").format(count=len(items) - SHOWN))
    lines.append("\n<i>" + escape(_("At most one digest a day. /subscribe changes what you follow.")) + "</i>")
    return fit("\n".join(lines))


def digest_keyboard(items: list[DigestItem], language: str) -> InlineKeyboardMarkup:
    _ = gettext_for(language)
    detail = [button(f"ℹ️ {number}", "dgd", item.id) for number, item in enumerate(items[:SHOWN], 1)]
    rows = grid(detail, 5)
    rows.append([button("🔕 " + _("Unsubscribe"), "sub", "stop")])
    return InlineKeyboardMarkup(rows)


async def _pending(svc: Services, user_id: int) -> tuple[list[int], dict[str, Record]]:
    """The user's waiting items whose entries are still published, and those entries; items
    whose entries were withdrawn or expired since they were queued are dropped."""
    pending = await svc.store.rows(DigestItem, DigestItem.user_id == user_id, DigestItem.digest_id.is_(None))
    today = svc.clock.today()
    records = {
        rid: r for rid, r in (await svc.catalog.get_many({i.record_id for i in pending})).items() if r.is_live(today)
    }
    gone = [item.id for item in pending if item.record_id not in records]
    if gone:
        async with svc.store.session.begin() as session:
            await session.execute(delete(DigestItem).where(DigestItem.id.in_(gone), DigestItem.digest_id.is_(None)))
    return [item.id for item in pending if item.record_id in records], records


def _due(now: datetime) -> list:
    """Conditions on a subscription that may get a digest now."""
    return [
        Subscription.active.is_(True),
        or_(Subscription.last_digest_at.is_(None), Subscription.last_digest_at <= now - DIGEST_EVERY),
    ]


async def _claim(svc: Services, user_id: int, item_ids: list[int]) -> tuple[Digest, list[DigestItem]] | None:
    """In one transaction: ``last_digest_at`` moved on, a digest row ("sending"), the items
    attached to it. None when the user is not due (any more: another worker may have taken them).
    The subscription is written first, so concurrent claims wait for each other rather than both read."""
    now = svc.clock.now()
    async with svc.store.session.begin() as session:
        taken = await session.execute(
            update(Subscription).where(Subscription.user_id == user_id, *_due(now)).values(last_digest_at=now)
        )
        if taken.rowcount != 1:
            return None
        digest = Digest(user_id=user_id, status="sending", created_at=now)
        session.add(digest)
        await session.flush()
        await session.execute(
            update(DigestItem)
            .where(DigestItem.id.in_(item_ids), DigestItem.digest_id.is_(None))
            .values(digest_id=digest.id)
        )
        items = (
            await session.scalars(select(DigestItem).where(DigestItem.digest_id == digest.id).order_by(DigestItem.id))
        ).all()
    return digest, list(items)


async def _finish(
    svc: Services,
    digest: Digest,
    status: str,
    message_id: int | None = None,
    *,
    release: bool = False,
    subscription: dict | None = None,
) -> None:
    """How sending went: the digest's status, its items back in the queue (``release``) and
    changes to the subscription, in one transaction."""
    async with svc.store.session.begin() as session:
        await session.execute(update(Digest).where(Digest.id == digest.id).values(status=status, message_id=message_id))
        if release:
            await session.execute(update(DigestItem).where(DigestItem.digest_id == digest.id).values(digest_id=None))
        if subscription:
            await session.execute(
                update(Subscription).where(Subscription.user_id == digest.user_id).values(**subscription)
            )


async def send_digest(context: ContextTypes.DEFAULT_TYPE, user_id: int, language: str) -> None:
    """One user's digest: claimed, sent, recorded. Blocked: failed and unsubscribed. Any other
    failure (after the rate limiter's retries): failed, and the entries wait for the next run."""
    svc = services(context)
    item_ids, records = await _pending(svc, user_id)
    claimed = await _claim(svc, user_id, item_ids) if item_ids else None
    if claimed is None:
        return
    digest, items = claimed
    try:
        message = await context.bot.send_message(
            user_id,
            digest_text(items, records, language),
            parse_mode=ParseMode.HTML,
            reply_markup=digest_keyboard(items, language),
        )
    except Forbidden as exc:
        log.info("digest %s: user %s blocked the bot (%s); subscription stopped", digest.id, user_id, exc)
        await _finish(svc, digest, "failed", subscription={"active": False})
    except TelegramError as exc:
        log.warning("digest %s to user %s not sent (%s); its entries wait for the next run", digest.id, user_id, exc)
        last_sent = (
            select(func.max(Digest.created_at))
            .where(Digest.user_id == user_id, Digest.status == "sent")
            .scalar_subquery()
        )
        await _finish(svc, digest, "failed", release=True, subscription={"last_digest_at": last_sent})
    else:
        await _finish(svc, digest, "sent", message.message_id)


async def send_digests(context: ContextTypes.DEFAULT_TYPE) -> None:
    """Job: every subscriber who is due (no digest in the last 24 hours) and has entries waiting
    gets one digest. Digests start at a steady pace below Telegram's overall limit and overlap
    while they wait for the network, so the pace, not the latency, bounds a run."""
    svc = services(context)
    async with svc.store.session() as session:
        due = (
            await session.scalars(
                select(DigestItem.user_id)
                .distinct()
                .join(Subscription, Subscription.user_id == DigestItem.user_id)
                .where(DigestItem.digest_id.is_(None), *_due(svc.clock.now()))
                .order_by(DigestItem.user_id)
            )
        ).all()
    languages = {user.id: user.language for user in await svc.store.rows(User, User.id.in_(due))}
    loop = asyncio.get_running_loop()
    start, sending = loop.time(), []
    for number, user_id in enumerate(due):
        await asyncio.sleep(max(0.0, start + number / DIGESTS_PER_SECOND - loop.time()))
        sending.append(asyncio.create_task(send_digest(context, user_id, languages.get(user_id) or DEFAULT_LANGUAGE)))
    for user_id, outcome in zip(due, await asyncio.gather(*sending, return_exceptions=True)):
        if isinstance(outcome, Exception):
            log.error("digest for user %s failed", user_id, exc_info=outcome)


HANDLERS = [
    CommandHandler("subscribe", subscribe, filters=filters.ChatType.PRIVATE),
    CommandHandler("unsubscribe", unsubscribe, filters=filters.ChatType.PRIVATE),
    CallbackQueryHandler(on_subscribe_button, pattern=r"^sub:(done|stop|i|t:[a-z_]+)$"),
    CallbackQueryHandler(on_digest_entry, pattern=r"^dg[di]:\d+$"),
]


def schedule(application) -> None:
    """The digest job, every minute (its name lets tests find and run it)."""
    application.job_queue.run_repeating(alone(send_digests), interval=60, first=60, name="send_digests")
