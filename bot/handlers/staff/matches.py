"""Staff's "Propose introduction" under a match in the Matches topic: it opens (or extends) a
handoff ticket holding both parties' entries, for the party that uses the bot, a need's owner first."""

from __future__ import annotations

from html import escape

from telegram import Update
from telegram.ext import CallbackQueryHandler, ContextTypes

from bot.callbacks import parse
from bot.db import Match, Ticket
from bot.delivery import notify, ticket_lane
from bot.matching import entry_lines, owners
from bot.mirror import staff_notices
from bot.services import Services, services
from bot.staffing import is_staff, staff_gettext
from bot.tickets import PROPOSED, introduction


async def on_propose(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Staff: open (or extend) a ticket for the party that uses the bot, a need's owner first."""
    query = update.callback_query
    svc = services(context)
    staff_ = staff_gettext(context)
    if not await is_staff(context, query.from_user.id):
        await query.answer(staff_("Only department staff can do this."), show_alert=True)
        return
    match = await svc.store.get(Match, parse(query.data).number())
    if match is None:
        await query.answer(staff_("This button is no longer valid."), show_alert=True)
        return
    if match.ticket_id:
        await query.answer(
            staff_("Already proposed: ticket #{number}.").format(number=match.ticket_id), show_alert=True
        )
        return
    records = await svc.catalog.get_many([match.record_id, match.counterpart_id])
    owned = await owners(svc, list(records))
    parties = sorted(owned, key=lambda rid: records[rid].kind != "request")  # the need's owner leads the ticket
    if not parties:
        await query.answer(
            staff_("Neither party uses the bot: introduce them by their contact details."), show_alert=True
        )
        return
    await query.answer()
    lead = owned[parties[0]]
    ticket = await ticket_for(
        context,
        svc,
        lead,
        [match.counterpart_id if parties[0] == match.record_id else match.record_id, parties[0]],
        staff_("Introduction proposed by staff (match #{number})").format(number=match.id),
    )
    match.ticket_id = ticket.id
    await svc.store.save(match)
    await query.message.reply_text(
        "🤝 " + staff_("Ticket #{number} opened for this introduction.").format(number=ticket.id)
    )
    for rid in parties:
        other = records[match.record_id if rid == match.counterpart_id else match.counterpart_id]
        owner = owned[rid]
        text = introduction(
            owner.language,
            PROPOSED,
            entry_lines(other, owner.language),
            owner.draft.get("title"),
            in_ticket=owner.user_id == lead.user_id,
        )
        await notify(context.bot, svc, owner.user_id, text)  # one who blocked the bot is still introduced by staff


async def ticket_for(
    context: ContextTypes.DEFAULT_TYPE, svc: Services, owner, entries: list[str], purpose: str
) -> Ticket:
    """The owner's active ticket with ``entries`` added, or a new open one with the contact details
    and consent they gave when posting their entry."""
    ticket = await svc.store.active_ticket(owner.user_id)
    if ticket is not None:
        ticket.entries = ticket.entries + [e for e in entries if e not in ticket.entries]
        await svc.store.save(ticket)
        await svc.outbox.post(context.bot, svc, *staff_notices(svc, ticket, "🤝 " + escape(purpose)))
        svc.outbox.refresh_card(context.bot, svc, ticket.id)
        return ticket
    ticket = Ticket(
        user_id=owner.user_id,
        status="open",
        language=owner.language,
        entries=entries,
        queries=[],
        contact={**owner.contact, "purpose": purpose},
        consent_at=owner.consent_at,
    )
    await svc.store.save(ticket)
    svc.outbox.kick(context.bot, svc, ticket_lane(ticket.id))  # its topic, now or when the group can be reached
    return ticket


HANDLERS = [CallbackQueryHandler(on_propose, pattern=r"^pi:\d+$")]
