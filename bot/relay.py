"""Carrying a ticket to the staff group and messages between a user and the ticket's topic.

Every relayed message is a row first and a Telegram message second: a row without a target is
in the outbox, delivered when the staff group can be reached again. A deleted topic is
replaced by a new one with the summary card posted again. Nothing here tells the user "sent":
callers say so only when delivery succeeded.
"""
from __future__ import annotations

import logging
from html import escape

from telegram import Bot, InlineKeyboardMarkup, Message, ReplyParameters
from telegram.constants import ParseMode
from telegram.error import BadRequest, Forbidden, NetworkError

from bot.db import Relay, StaffTopic, Ticket, now
from bot.i18n import LANGUAGE_NAMES, gettext_for
from bot.render import button, fit, owner_line, shorten
from bot.services import Services
from catalog.taxonomy import sector_label

log = logging.getLogger("techconnect.relay")


class StaffUnreachable(Exception):
    """The staff group cannot be written to now (wrong id, bot removed, network)."""


def _topic_gone(exc: BadRequest) -> bool:
    text = exc.message.lower()
    return "thread not found" in text or "topic_deleted" in text or "topic was deleted" in text or "topic_closed" in text


async def summary_card(services: Services, ticket: Ticket) -> tuple[str, InlineKeyboardMarkup | None]:
    """The first post of a ticket's topic, in the staff language, with Claim / Close while it is active."""
    staff_language = services.settings.staff_language
    _ = gettext_for(staff_language)
    contact = ticket.contact
    lines = [
        "🎫 <b>" + _("Ticket #{number}").format(number=ticket.id) + "</b> · " + escape(LANGUAGE_NAMES[ticket.language]),
        "👤 " + escape(" · ".join(x for x in (contact.get("name"), contact.get("role"), contact.get("organisation")) if x)),
        "📞 " + escape(contact.get("reach", "")),
    ]
    if ticket.consent_at:
        lines.append("✅ " + _("Consent to share these details given {when}").format(when=ticket.consent_at.strftime("%Y-%m-%d %H:%M UTC")))
    if contact.get("purpose"):
        lines.append("🎯 " + escape(contact["purpose"]))
    if ticket.queries:
        lines.append("🔎 " + escape(" · ".join(f"“{shorten(q, 60)}”" for q in ticket.queries[-3:])))
    records = await services.catalog.get_many(ticket.entries)
    if records:
        lines.append("\n📌 <b>" + _("Entries asked about") + "</b>")
    for record_id in ticket.entries:
        record = records.get(record_id)
        if record is None:
            continue
        title = record.title.get(staff_language) or record.title[record.language]
        owner = owner_line(record, staff_language)
        reach = ", ".join(record.contact.get(k, "") for k in ("name", "email", "phone") if record.contact.get(k))
        lines.append(f"• <b>{escape(title)}</b> (<code>{escape(record.id)}</code>)\n  {escape(owner)}\n  ☎️ {escape(reach or '—')}")
    recent = await services.store.relays(Relay.ticket_id == ticket.id, Relay.direction == "to_staff", limit=5, newest=True)
    if recent:
        lines.append("\n💬 <b>" + _("Last messages") + "</b>")
        lines += [escape(shorten(r.text, 200)) or "📎" for r in reversed(recent)]
    if ticket.claimed_by:
        lines.append("\n🙋 " + _("Claimed by {name}").format(name=escape(ticket.claimed_name or str(ticket.claimed_by))))
    if ticket.status not in ("open", "claimed"):
        lines.append("\n✅ " + _("Closed"))
        return fit("\n".join(lines)), None
    keyboard = InlineKeyboardMarkup([[
        button("🙋 " + _("Claim"), "tk", ticket.id, "claim"), button("✅ " + _("Close"), "tk", ticket.id, "close"),
    ]])
    return fit("\n".join(lines)), keyboard


def topic_name(services: Services, ticket: Ticket, sector: str | None) -> str:
    label = sector_label(sector, services.settings.staff_language) if sector else ""
    return " · ".join(x for x in (f"#{ticket.id}", ticket.language, label) if x)[:128]


async def ensure_topic(bot: Bot, services: Services, ticket: Ticket, *, fresh: bool = False) -> Ticket:
    """The ticket with a live topic holding its summary card; StaffUnreachable when impossible."""
    if ticket.topic_id and not fresh:
        return ticket
    chat_id = services.settings.staff_chat_id
    records = await services.catalog.get_many(ticket.entries[:1])
    sector = next((r.sector for r in records.values()), None)
    text, keyboard = await summary_card(services, ticket)
    try:
        topic = await bot.create_forum_topic(chat_id, topic_name(services, ticket, sector))
        card = await bot.send_message(
            chat_id, text, parse_mode=ParseMode.HTML, reply_markup=keyboard, message_thread_id=topic.message_thread_id
        )
    except (Forbidden, BadRequest, NetworkError) as exc:
        log.warning("staff group unreachable for ticket %s: %s", ticket.id, exc)
        raise StaffUnreachable(str(exc)) from exc
    ticket.topic_id, ticket.card_message_id, ticket.alerted_at = topic.message_thread_id, card.message_id, now()
    await services.store.save(ticket)
    return ticket


async def refresh_card(bot: Bot, services: Services, ticket: Ticket) -> None:
    """Show the ticket's current state (claim, entries) on its summary card."""
    if not ticket.card_message_id:
        return
    text, keyboard = await summary_card(services, ticket)
    try:
        await bot.edit_message_text(text, services.settings.staff_chat_id, ticket.card_message_id,
                                    parse_mode=ParseMode.HTML, reply_markup=keyboard)
    except (BadRequest, Forbidden, NetworkError) as exc:
        log.info("summary card of ticket %s not refreshed: %s", ticket.id, exc)


async def post_to_topic(bot: Bot, services: Services, ticket: Ticket, text: str) -> int:
    """A bot notice in the ticket's topic (a new topic if it was deleted); its message id."""
    for attempt in (1, 2):
        ticket = await ensure_topic(bot, services, ticket)
        try:
            message = await bot.send_message(services.settings.staff_chat_id, text, parse_mode=ParseMode.HTML,
                                             message_thread_id=ticket.topic_id)
            return message.message_id
        except BadRequest as exc:
            if not _topic_gone(exc) or attempt == 2:
                raise StaffUnreachable(str(exc)) from exc
            ticket.topic_id = None
        except (Forbidden, NetworkError) as exc:
            raise StaffUnreachable(str(exc)) from exc
    raise AssertionError("unreachable")


async def post_to_staff_topic(
    bot: Bot, services: Services, key: str, name: str, text: str, keyboard: InlineKeyboardMarkup | None = None
) -> Message:
    """A message in one of the staff group's standing topics (``key``: review, matches), created on
    first use and again when someone deleted it; StaffUnreachable when the group cannot be written to."""
    chat_id = services.settings.staff_chat_id
    for attempt in (1, 2):
        try:
            row = await services.store.get(StaffTopic, key)
            if row is None:
                topic = await bot.create_forum_topic(chat_id, name[:128])
                row = StaffTopic(key=key, topic_id=topic.message_thread_id)
                await services.store.save(row)
            return await bot.send_message(chat_id, text, parse_mode=ParseMode.HTML, reply_markup=keyboard,
                                          message_thread_id=row.topic_id)
        except BadRequest as exc:
            if not _topic_gone(exc) or attempt == 2:
                raise StaffUnreachable(str(exc)) from exc
            await services.store.delete(StaffTopic, key)
        except (Forbidden, NetworkError) as exc:
            raise StaffUnreachable(str(exc)) from exc
    raise AssertionError("unreachable")


async def deliver_to_staff(bot: Bot, services: Services, ticket: Ticket, relay: Relay) -> bool:
    """Copy a user's message into the topic; False (kept in the outbox) when staff cannot be reached."""
    chat_id = services.settings.staff_chat_id
    for attempt in (1, 2):
        try:
            ticket = await ensure_topic(bot, services, ticket)
            copied = await bot.copy_message(chat_id, relay.source_chat, relay.source_message_id, message_thread_id=ticket.topic_id)
        except StaffUnreachable:
            return False
        except BadRequest as exc:
            if _topic_gone(exc) and attempt == 1:
                ticket.topic_id = None  # deleted by someone: open a new topic and post again
                await services.store.save(ticket)
                continue
            log.warning("relay %s to staff failed: %s", relay.id, exc)
            return False
        except (Forbidden, NetworkError) as exc:
            log.warning("relay %s to staff failed: %s", relay.id, exc)
            return False
        relay.target_message_id = copied.message_id
        await services.store.save(relay)
        return True
    return False


async def deliver_to_user(bot: Bot, services: Services, ticket: Ticket, relay: Relay, reply_to: int | None) -> str | None:
    """Copy a staff message to the user; None when delivered, else the reason."""
    try:
        copied = await bot.copy_message(
            ticket.user_id, relay.source_chat, relay.source_message_id,
            reply_parameters=ReplyParameters(reply_to, allow_sending_without_reply=True) if reply_to else None,
        )
    except Forbidden:
        return "blocked"
    except (BadRequest, NetworkError) as exc:
        return str(exc)
    relay.target_message_id = copied.message_id
    await services.store.save(relay)
    return None


async def flush_outbox(bot: Bot, services: Services) -> int:
    """Deliver tickets and user messages that waited for the staff group; how many got through."""
    delivered = 0
    pending = await services.store.relays(Relay.direction == "to_staff", Relay.target_message_id.is_(None))
    tickets = {t.id: t for t in await services.store.tickets(Ticket.status.in_(("open", "claimed")))}
    for ticket in tickets.values():
        if ticket.topic_id is None:
            try:
                await ensure_topic(bot, services, ticket)
            except StaffUnreachable:
                return delivered
            await _tell_user_delivered(bot, ticket)
    for relay in pending:
        ticket = tickets.get(relay.ticket_id)
        if ticket and await deliver_to_staff(bot, services, ticket, relay):
            delivered += 1
    return delivered


async def _tell_user_delivered(bot: Bot, ticket: Ticket) -> None:
    _ = gettext_for(ticket.language)
    try:
        await bot.send_message(ticket.user_id, _("Your request has now reached our staff. They will reply here."))
    except (Forbidden, BadRequest, NetworkError):
        log.info("could not tell user %s that ticket %s was delivered", ticket.user_id, ticket.id)


async def notify(bot: Bot, chat_id: int, html: str, keyboard: InlineKeyboardMarkup | None = None) -> bool:
    """A bot message to a user outside any ticket (outcomes, matches, reminders); False when it
    cannot arrive (they blocked the bot, or the chat is gone), which is logged, never raised."""
    try:
        await bot.send_message(chat_id, html, parse_mode=ParseMode.HTML, reply_markup=keyboard)
        return True
    except (Forbidden, BadRequest) as exc:
        log.info("message to user %s not delivered: %s", chat_id, exc)
        return False


async def send_to_user(bot: Bot, services: Services, ticket: Ticket, text: str) -> bool:
    """A bot message to the ticket's user; when they blocked the bot, staff are told in the topic."""
    try:
        await bot.send_message(ticket.user_id, text)
        return True
    except Forbidden:
        staff_ = gettext_for(services.settings.staff_language)
        try:
            await post_to_topic(bot, services, ticket, "⚠️ " + staff_("The user has blocked the bot; this was not delivered."))
        except StaffUnreachable:
            log.info("ticket %s: user blocked the bot and staff cannot be reached", ticket.id)
        return False
