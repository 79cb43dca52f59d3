"""A held ticket's conversation in its holder's private chat with the bot.

Telegram lets a bot post about 20 messages a minute into one group, for every ticket together,
but about one a second into each private chat. A staff member who turns on /mirror gets the
conversations of the tickets they hold in their private chat: each user message arrives there
headed by its ticket, and what they write back goes to that ticket's user (a reply to one of the
ticket's messages; any message while they follow a single ticket). The topic keeps the ticket's
card, refreshed with the latest messages of both sides, and its notices.
"""

from __future__ import annotations

from html import escape

from telegram import Bot, Message

from bot.db import Outgoing, Relay, Ticket, User
from bot.delivery import SHARED_TEXT, copy_of, ticket_lane, to_ticket, to_user, user_lane
from bot.i18n import N_, gettext_for
from bot.relay import summary_card
from bot.services import Services

CARD_ACTIVITY = 60.0  # seconds (on Telegram's time scale): how late a followed ticket's card may show new messages
MAX_CAPTION = 1024
MAX_TEXT = 4096
FOLLOWING = N_(
    "You follow this ticket here: its user's messages come to this chat. Reply to one of them to answer "
    "(while you follow only this ticket, anything you write goes to its user). /mirror stops this."
)


def _head(ticket: Ticket) -> str:
    return f"💬 <b>#{ticket.id} · {escape(ticket.contact.get('name', ''))}</b>"


def staff_copy(svc: Services, ticket: Ticket, relay: Relay, message: Message) -> Outgoing:
    """The row carrying a user's message to staff: to the holder's private chat, headed by the
    ticket, while they follow it; otherwise a copy in the ticket's topic (texts waiting there
    share one message while the group is near its limit: ``bot.delivery``)."""
    holder = ticket.mirror_chat
    if not holder:
        row = copy_of(relay, ticket_lane(ticket.id), svc.settings.staff_chat_id, ticket_id=ticket.id)
        row.ref = SHARED_TEXT if message.text is not None else None  # near the group's limit, texts share a message
        return row
    head = _head(ticket)
    if message.text is not None and len(head) + len(escape(message.text)) < MAX_TEXT:
        return Outgoing(
            lane=user_lane(holder),
            chat_id=holder,
            ticket_id=ticket.id,
            action="send",
            text=head + "\n" + escape(message.text),
            relay_id=relay.id,
        )
    row = copy_of(relay, user_lane(holder), holder, ticket_id=ticket.id)
    caption = head + ("\n" + escape(message.caption) if message.caption else "")
    if message.text is None and len(caption) <= MAX_CAPTION:
        row.text = caption
    return row


def staff_notices(svc: Services, ticket: Ticket, html: str, *, reply_to_relay: int | None = None) -> list[Outgoing]:
    """A notice for staff (HTML): in the ticket's topic, and in the holder's private chat while they follow it."""
    rows = [to_ticket(svc, ticket.id, html, reply_to_relay=reply_to_relay)]
    if ticket.mirror_chat:
        rows.append(
            Outgoing(
                lane=user_lane(ticket.mirror_chat),
                chat_id=ticket.mirror_chat,
                ticket_id=ticket.id,
                action="send",
                text=f"#{ticket.id} · {html}",
                reply_to_relay=reply_to_relay,
            )
        )
    return rows


async def follow(bot: Bot, svc: Services, ticket_id: int, holder_id: int) -> None:
    """The ticket's holder follows it in their private chat, if they chose to (/mirror)."""
    holder = await svc.store.get(User, holder_id)
    if holder is None or not holder.mirror:
        return
    await svc.store.update(Ticket, ticket_id, mirror_chat=holder_id)
    ticket = await svc.store.ticket(ticket_id)
    card, _keyboard = await summary_card(svc, ticket)
    staff_ = gettext_for(svc.settings.staff_language)
    await svc.outbox.post(bot, svc, to_user(holder_id, card + "\n\n" + escape(staff_(FOLLOWING)), ticket_id=ticket_id))
    svc.outbox.refresh_card(bot, svc, ticket_id)


async def unfollow(bot: Bot, svc: Services, ticket: Ticket) -> None:
    """The ticket's conversation goes back to its topic; the holder is told in their private chat."""
    if not ticket.mirror_chat:
        return
    holder, ticket.mirror_chat = ticket.mirror_chat, None
    await svc.store.update(Ticket, ticket.id, mirror_chat=None)
    staff_ = gettext_for(svc.settings.staff_language)
    text = staff_("Ticket #{number}: its messages go to its topic in the staff group again.").format(number=ticket.id)
    await svc.outbox.post(bot, svc, to_user(holder, escape(text), ticket_id=ticket.id))
    svc.outbox.refresh_card(bot, svc, ticket.id)


async def answered_ticket(svc: Services, message: Message, user: User) -> tuple[Ticket | None, bool]:
    """(the ticket a staff member's private message answers, whether it is unclear which): the
    ticket of the message they replied to, else the one ticket they follow. None when they follow none."""
    followed = await svc.store.tickets(Ticket.mirror_chat == user.id, Ticket.status.in_(("open", "claimed")))
    reply = message.reply_to_message
    if reply is not None:
        row = await svc.store.newest(
            Outgoing,
            Outgoing.chat_id == user.id,
            Outgoing.message_id == reply.message_id,
            Outgoing.ticket_id.is_not(None),
        )
        ticket = await svc.store.ticket(row.ticket_id) if row else None
        if ticket is not None and ticket.mirror_chat == user.id:
            return ticket, False
    if len(followed) == 1:
        return followed[0], False
    return None, len(followed) > 1
