"""Tickets in the staff group: the topic each one gets, and the summary card at its top.

Messages themselves travel through :mod:`bot.delivery`; this module only knows what a ticket's
topic is called, what its card says, and how to create both (at delivery time, so a deleted
topic is simply created again).
"""

from __future__ import annotations

import logging
from html import escape
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from telegram import Bot, InlineKeyboardMarkup
from telegram.constants import ParseMode
from telegram.error import BadRequest, Forbidden, NetworkError

from bot.db import Relay, Ticket, now
from bot.i18n import LANGUAGE_NAMES, N_, gettext_for
from bot.render import button, fit, owner_line, shorten, when

if TYPE_CHECKING:
    from bot.services import Services
from catalog.taxonomy import sector_label

log = logging.getLogger("techconnect.relay")
TOPIC_NAMES = {"review": N_("Entries to review"), "matches": N_("Matches")}  # the staff group's standing topics


def topic_gone(exc: BadRequest) -> bool:
    text = exc.message.lower()
    return (
        "thread not found" in text or "topic_deleted" in text or "topic was deleted" in text or "topic_closed" in text
    )


async def summary_card(svc: Services, ticket: Ticket) -> tuple[str, InlineKeyboardMarkup | None]:
    """The first post of a ticket's topic, in the staff language, with Claim / Close while it is active."""
    staff_language = svc.settings.staff_language
    _ = gettext_for(staff_language)
    contact = ticket.contact
    lines = [
        "🎫 <b>" + _("Ticket #{number}").format(number=ticket.id) + "</b> · " + escape(LANGUAGE_NAMES[ticket.language]),
        "👤 "
        + escape(" · ".join(x for x in (contact.get("name"), contact.get("role"), contact.get("organisation")) if x)),
        "📞 " + escape(contact.get("reach", "")),
    ]
    if ticket.consent_at:
        given = when(ticket.consent_at, staff_language, ZoneInfo(svc.settings.office_hours.zone))
        lines.append("✅ " + _("Consent to share these details given {when}").format(when=given))
    if contact.get("purpose"):
        lines.append("🎯 " + escape(contact["purpose"]))
    if ticket.queries:
        lines.append("🔎 " + escape(" · ".join(f"“{shorten(q, 60)}”" for q in ticket.queries[-3:])))
    records = await svc.catalog.get_many(ticket.entries)
    if records:
        lines.append("\n📌 <b>" + _("Entries asked about") + "</b>")
    for record_id in ticket.entries:
        record = records.get(record_id)
        if record is None:
            continue
        title = record.title.get(staff_language) or record.title[record.language]
        owner = owner_line(record, staff_language)
        reach = ", ".join(record.contact.get(k, "") for k in ("name", "email", "phone") if record.contact.get(k))
        lines.append(
            f"• <b>{escape(title)}</b> (<code>{escape(record.id)}</code>)\n  {escape(owner)}\n  ☎️ {escape(reach or '—')}"
        )
    recent = await svc.store.relays(
        Relay.ticket_id == ticket.id, Relay.direction.in_(("to_staff", "to_user")), limit=5, newest=True
    )
    if recent:
        lines.append("\n💬 <b>" + _("Last messages") + "</b>")
        lines += [
            ("👤 " if r.direction == "to_staff" else "🙋 ") + (escape(shorten(r.text, 200)) or "📎")
            for r in reversed(recent)
        ]
    if ticket.claimed_by:
        lines.append(
            "\n🙋 " + _("Claimed by {name}").format(name=escape(ticket.claimed_name or str(ticket.claimed_by)))
        )
        if ticket.mirror_chat:
            lines.append(
                "📱 " + _("The conversation goes on in their private chat with the bot; the last messages show here.")
            )
    if ticket.status not in ("open", "claimed"):
        lines.append("\n✅ " + _("Closed"))
        return fit("\n".join(lines)), None
    row = [button("✅ " + _("Close"), "tk", ticket.id, "close")]
    if not ticket.claimed_by:
        row.insert(0, button("🙋 " + _("Claim"), "tk", ticket.id, "claim"))
    keyboard = InlineKeyboardMarkup([row])
    return fit("\n".join(lines)), keyboard


def topic_name(svc: Services, ticket: Ticket, sector: str | None) -> str:
    label = sector_label(sector, svc.settings.staff_language) if sector else ""
    return " · ".join(x for x in (f"#{ticket.id}", ticket.language, label) if x)[:128]


async def ensure_ticket_topic(bot: Bot, svc: Services, ticket: Ticket) -> Ticket:
    """The ticket with a topic whose first post is its card; each step is saved as soon as it is
    done, so a failure half-way never leaves a second topic behind."""
    chat_id = svc.settings.staff_chat_id
    if not ticket.topic_id:
        records = await svc.catalog.get_many(ticket.entries[:1])
        sector = next((r.sector for r in records.values()), None)
        topic = await bot.create_forum_topic(chat_id, topic_name(svc, ticket, sector))
        ticket.topic_id, ticket.card_message_id = topic.message_thread_id, None
        await svc.store.update(Ticket, ticket.id, topic_id=ticket.topic_id, card_message_id=None)
    if not ticket.card_message_id:
        text, keyboard = await summary_card(svc, ticket)
        card = await bot.send_message(
            chat_id, text, parse_mode=ParseMode.HTML, reply_markup=keyboard, message_thread_id=ticket.topic_id
        )
        ticket.card_message_id, ticket.alerted_at = card.message_id, now()
        await svc.store.update(Ticket, ticket.id, card_message_id=card.message_id, alerted_at=ticket.alerted_at)
    return ticket


async def refresh_card(bot: Bot, svc: Services, ticket: Ticket) -> None:
    """Show the ticket's current state (claim, entries) on its summary card."""
    if not ticket.card_message_id:
        return
    text, keyboard = await summary_card(svc, ticket)
    try:
        await bot.edit_message_text(
            text, svc.settings.staff_chat_id, ticket.card_message_id, parse_mode=ParseMode.HTML, reply_markup=keyboard
        )
    except (BadRequest, Forbidden, NetworkError) as exc:
        log.info("summary card of ticket %s not refreshed: %s", ticket.id, exc)
