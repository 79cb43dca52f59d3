"""A ticket's life after consent: introductions (each side told whom they meet), reopened when the
user writes again soon after it closed, and closed with both sides told (after whatever is still on
its way to them)."""

from __future__ import annotations

from datetime import timedelta
from html import escape

from telegram import Bot

from bot.db import Ticket, User, now
from bot.delivery import notify, to_user, topic_state
from bot.i18n import N_, gettext_for
from bot.matching import entry_lines, owners
from bot.mirror import staff_notices
from bot.services import Services
from catalog.model import Record

PROPOSED = N_("Our staff propose to introduce you to:")
INTRODUCED = N_("Staff have introduced you to:")


def introduction(language: str, headline: str, whom: str, mine: str | None, in_ticket: bool) -> str:
    """What one side of an introduction reads (HTML): whom they meet (``whom``, HTML), for which of
    their own entries, and what happens next: in a ticket a reply reaches staff, outside one it
    would be a search."""
    _ = gettext_for(language)
    lines = ["🤝 " + escape(_(headline)), whom]
    if mine:
        lines.append(escape(_("This concerns your entry “{title}”.").format(title=mine)))
    then = (
        _("Staff will arrange a meeting; reply here to ask them anything.")
        if in_ticket
        else _("Staff will contact you to arrange a meeting. To reach them, tap Talk to staff in /start.")
    )
    return "\n".join(lines) + "\n\n" + escape(then)


async def introduce(bot: Bot, svc: Services, ticket: Ticket, record: Record) -> None:
    """Staff introduced the ticket's user and ``record``'s owner: each hears whom they meet, in
    their language; the owner only when they posted the entry through the bot."""
    owned = await owners(svc, [*ticket.entries, record.id])
    own = next((rid for rid in ticket.entries if rid in owned and owned[rid].user_id == ticket.user_id), None)
    text = introduction(
        ticket.language, INTRODUCED, entry_lines(record, ticket.language), _title(owned.get(own)), in_ticket=True
    )
    await svc.outbox.send(bot, svc, to_user(ticket.user_id, text, ticket_id=ticket.id))
    owner = owned.get(record.id)
    if owner is None or owner.user_id == ticket.user_id:
        return
    theirs = await svc.catalog.get(own) if own else None
    if theirs is not None:
        whom = entry_lines(theirs, owner.language)
    else:  # the contact details the user agreed to share with the other party
        whom = (
            "<b>" + escape(ticket.contact.get("organisation", "")) + "</b> · " + escape(ticket.contact.get("name", ""))
        )
    await notify(
        bot, svc, owner.user_id, introduction(owner.language, INTRODUCED, whom, _title(owner), in_ticket=False)
    )


def _title(submission) -> str | None:
    return submission.draft.get("title") if submission else None


async def close(bot: Bot, svc: Services, ticket: Ticket, *, by_user: bool) -> None:
    """Resolve the ticket; both sides are told (after whatever is still on its way to them)."""
    ticket.status, ticket.closed_at, ticket.bot_answers, ticket.ended_by_user = "resolved", now(), False, by_user
    await svc.store.save(ticket)
    _ = gettext_for(ticket.language)
    staff_ = gettext_for(svc.settings.staff_language)
    note = staff_("The user ended the conversation.") if by_user else staff_("Ticket closed.")
    farewell = (
        _(
            "This conversation with staff is closed, and I am back to searching for you. "
            "To reach staff again, tap Talk to staff in /start."
        )
        if by_user
        else _(
            "This conversation with staff is closed. Write again within {days} days to reopen it; "
            "otherwise I am back to searching for you."
        ).format(days=svc.settings.reopen_days)
    )
    await svc.outbox.send(bot, svc, to_user(ticket.user_id, escape(farewell), ticket_id=ticket.id))
    await svc.outbox.post(
        bot, svc, *staff_notices(svc, ticket, "✅ " + escape(note)), topic_state(svc, ticket.id, is_open=False)
    )
    svc.outbox.refresh_card(bot, svc, ticket.id)


async def conversation(bot: Bot, svc: Services, user: User) -> Ticket | None:
    """The user's open ticket; one staff closed less than ``reopen_days`` ago reopens, with the
    same holder (both sides are told). One the user ended stays closed: their text is a search."""
    ticket = await svc.store.active_ticket(user.id)
    if ticket is not None:
        return ticket if ticket.status != "collecting" else None
    ticket = await svc.store.newest_ticket(user.id)
    if (
        ticket is None
        or ticket.status != "resolved"
        or ticket.closed_at is None
        or ticket.ended_by_user
        or now() - ticket.closed_at > timedelta(days=svc.settings.reopen_days)
    ):
        return None
    ticket.status = "claimed" if ticket.claimed_by else "open"
    ticket.closed_at, ticket.alerted_at, ticket.bot_answers = None, now(), False
    await svc.store.save(ticket)
    staff_ = gettext_for(svc.settings.staff_language)
    await svc.outbox.post(
        bot,
        svc,
        topic_state(svc, ticket.id, is_open=True),
        *staff_notices(svc, ticket, "🔄 " + escape(staff_("Reopened: the user wrote again."))),
    )
    svc.outbox.refresh_card(bot, svc, ticket.id)
    _ = gettext_for(ticket.language)
    reopened = _("Your conversation #{number} with staff is open again; what you write goes to them. /end closes it.")
    await svc.outbox.send(
        bot, svc, to_user(ticket.user_id, escape(reopened.format(number=ticket.id)), ticket_id=ticket.id)
    )
    return ticket
