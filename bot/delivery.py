"""The outbox: every message that must reach someone is a row before it is a Telegram message.

Rows are grouped in lanes, one per recipient: a user's private chat (``user:<id>``), a ticket's
topic in the staff group (``ticket:<id>``), a standing staff topic (``topic:review``). A lane is
delivered strictly in order: its oldest undelivered row goes first, and a row that must wait
(Telegram's 429, staff group unreachable) holds back the rows behind it, so nothing overtakes.
A handler writes its rows, then drains the lane at once; a job drains what had to wait.

Guarantees, by what Telegram allows:
- A row is marked ``sending`` before its call and ``sent`` right after, so it is sent once. The one
  window left is a crash (or a timeout past the long send timeout) during the call itself: then
  the row is sent again on restart (at least once; a duplicate only in that window).
- A row that cannot be delivered for good (the user blocked the bot, the message to copy was
  deleted) is marked ``failed`` and the other side is told; nothing is dropped silently.
- Deleted topics are re-created (with the ticket's card) and the row is posted there.
"""
from __future__ import annotations

import asyncio
import logging
from datetime import timedelta
from html import escape
from typing import TYPE_CHECKING

from telegram import Bot, InlineKeyboardMarkup, InputFile, ReplyParameters
from telegram.constants import ParseMode
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter
from sqlalchemy import delete, update

from bot.db import Attachment, HandledUpdate, InboxUpdate, Outgoing, Relay, StaffTopic, Ticket, now
from bot.i18n import gettext_for
from bot.relay import TOPIC_NAMES, ensure_ticket_topic, topic_gone

if TYPE_CHECKING:
    from bot.services import Services

log = logging.getLogger("techconnect.delivery")
MAX_ATTEMPTS = 6  # transient failures of one row before it is given up and someone is told
MAX_BACKOFF = timedelta(minutes=5)


def user_lane(user_id: int) -> str:
    return f"user:{user_id}"


def ticket_lane(ticket_id: int) -> str:
    return f"ticket:{ticket_id}"


def topic_lane(key: str) -> str:
    return f"topic:{key}"


STAFF_LANE = "staff"  # the staff group's General topic


def to_user(user_id: int, text: str, keyboard: InlineKeyboardMarkup | None = None, *, ticket_id: int | None = None) -> Outgoing:
    """A bot message (HTML) for a user's private chat."""
    return Outgoing(lane=user_lane(user_id), chat_id=user_id, ticket_id=ticket_id, action="send", text=text,
                    markup=keyboard.to_dict() if keyboard else None)


def to_ticket(svc: Services, ticket_id: int, text: str, *, reply_to_relay: int | None = None) -> Outgoing:
    """A bot notice (HTML) in a ticket's topic."""
    return Outgoing(lane=ticket_lane(ticket_id), chat_id=svc.settings.staff_chat_id, ticket_id=ticket_id, action="send",
                    text=text, reply_to_relay=reply_to_relay)


def to_staff(svc: Services, text: str, keyboard: InlineKeyboardMarkup | None = None, *, topic: str | None = None,
             ref: str | None = None) -> Outgoing:
    """A bot message (HTML) in a standing topic of the staff group (``review``, ``matches``), or its General topic."""
    return Outgoing(lane=topic_lane(topic) if topic else STAFF_LANE, chat_id=svc.settings.staff_chat_id, action="send",
                    text=text, markup=keyboard.to_dict() if keyboard else None, ref=ref)


def file_to_staff(svc: Services, key: str, caption: str) -> Outgoing:
    """A file (the :class:`~bot.db.Attachment` under ``key``) with an HTML caption in the staff group's General topic."""
    return Outgoing(lane=STAFF_LANE, chat_id=svc.settings.staff_chat_id, action="document", text=caption, ref=key)


def copy_of(relay: Relay, lane: str, chat_id: int, *, ticket_id: int, reply_to_relay: int | None = None) -> Outgoing:
    """A copy of the relayed message (any kind: text, photo, file...) for the other side."""
    return Outgoing(lane=lane, chat_id=chat_id, ticket_id=ticket_id, action="copy", from_chat=relay.source_chat,
                    from_message_id=relay.source_message_id, relay_id=relay.id, reply_to_relay=reply_to_relay)


def edit_of(relay: Relay, lane: str, chat_id: int, text: str, *, caption: bool, ticket_id: int) -> Outgoing:
    """The new text of a relayed message, applied to its delivered copy."""
    return Outgoing(lane=lane, chat_id=chat_id, ticket_id=ticket_id, action="edit_caption" if caption else "edit",
                    text=text, relay_id=relay.id)


class Outbox:
    """Delivers lanes; one lock per lane keeps a handler and the job from racing on one recipient."""

    def __init__(self) -> None:
        self._locks: dict[str, asyncio.Lock] = {}

    async def send(self, bot: Bot, svc: Services, *rows: Outgoing) -> bool:
        """Write ``rows`` (one transaction), then deliver them; True when all of them arrived."""
        await svc.store.save(*rows)
        return await self.deliver(bot, svc, rows)

    async def deliver(self, bot: Bot, svc: Services, rows) -> bool:
        """Deliver the lanes of rows already written; True when all of them arrived."""
        for lane in dict.fromkeys(row.lane for row in rows):
            await self.drain(bot, svc, lane)
        states = await svc.store.rows(Outgoing, Outgoing.id.in_([row.id for row in rows]))
        return all(row.status == "sent" for row in states)

    # --------------------------------------------------------------------------- delivering
    async def drain(self, bot: Bot, svc: Services, lane: str, *, eager: bool = True) -> None:
        """Deliver the lane's rows in order until it is empty or its oldest row must wait.

        ``eager`` (a new message for the lane) tries a row that waits after a failure again at
        once; only Telegram's own "retry after" is always honoured."""
        lock = self._locks.setdefault(lane, asyncio.Lock())
        notices: list[Outgoing] = []  # for the other side of what could not be delivered
        async with lock:
            if lane.startswith("ticket:") and not await self._ticket_topic(bot, svc, int(lane[7:])):
                return
            while (row := await svc.store.next_outgoing(lane)) is not None:
                if row.not_before and row.not_before > svc.clock.now() and (row.error == "429" or not eager):
                    break
                if not await self._deliver(bot, svc, row, notices):
                    break
        for notice in notices:  # outside this lane's lock: two lanes never wait for each other
            await self.drain(bot, svc, notice.lane)

    async def drain_all(self, bot: Bot, svc: Services) -> None:
        """Job: every lane with rows that waited, and tickets whose topic could not be created yet
        (their users are told once the request has reached staff)."""
        orphans = await svc.store.tickets(Ticket.status.in_(("open", "claimed")), Ticket.card_message_id.is_(None))
        for ticket in orphans:
            await self._drain_alone(bot, svc, ticket_lane(ticket.id))
            if (await svc.store.ticket(ticket.id)).card_message_id:
                _ = gettext_for(ticket.language)
                await self.send(bot, svc, to_user(ticket.user_id, _("Your request has now reached our staff. They will reply here."),
                                                       ticket_id=ticket.id))
        for lane in await svc.store.waiting_lanes():
            await self._drain_alone(bot, svc, lane)

    async def _drain_alone(self, bot: Bot, svc: Services, lane: str) -> None:
        """One lane for the job: whatever goes wrong in it must not hold back the other lanes."""
        try:
            await self.drain(bot, svc, lane, eager=False)
        except Exception:
            log.exception("outbox lane %s failed; it is tried again with the next run", lane)

    async def _ticket_topic(self, bot: Bot, svc: Services, ticket_id: int) -> bool:
        """The ticket has a topic holding its card (created now when missing); False while staff are unreachable."""
        ticket = await svc.store.ticket(ticket_id)
        if ticket is None or ticket.consent_at is None or (ticket.topic_id and ticket.card_message_id):
            return ticket is not None
        try:
            await ensure_ticket_topic(bot, svc, ticket)
        except (Forbidden, BadRequest, NetworkError) as exc:
            log.warning("ticket %s: staff group unreachable (%s)", ticket.id, type(exc).__name__)
            return False
        return True

    async def _deliver(self, bot: Bot, svc: Services, row: Outgoing, notices: list[Outgoing]) -> bool:
        """One row; True when the lane may go on (sent, or failed for good)."""
        await svc.store.mark(row, status="sending", attempts=row.attempts + 1)
        try:
            message = await self._call(bot, svc, row)
        except RetryAfter as exc:
            wait = exc.retry_after if isinstance(exc.retry_after, timedelta) else timedelta(seconds=exc.retry_after)
            await svc.store.mark(row, status="pending", not_before=svc.clock.now() + wait, error="429")
            return False
        except BadRequest as exc:
            if topic_gone(exc) and row.attempts <= MAX_ATTEMPTS:
                await self._forget_topic(svc, row)
                await svc.store.mark(row, status="pending")
                return True  # the lane goes on with this row, which re-creates the topic on its way
            return await self._give_up(svc, row, exc.message, notices)
        except Forbidden as exc:
            if row.lane.startswith("user:"):
                return await self._give_up(svc, row, "blocked", notices)
            return await self._later(svc, row, exc)  # the bot was removed from the staff group: keep it for when it is back
        except NetworkError as exc:  # includes timeouts: the call may or may not have arrived; sent again (at least once)
            if row.attempts >= MAX_ATTEMPTS and row.lane.startswith("user:"):
                return await self._give_up(svc, row, str(exc), notices)
            return await self._later(svc, row, exc)
        await svc.store.delivered(row, getattr(message, "message_id", None))  # a Message, or copyMessage's MessageId
        return True

    async def _call(self, bot: Bot, svc: Services, row: Outgoing):
        thread = await self._thread(bot, svc, row)
        reply = await self._reply_parameters(svc, row)
        markup = InlineKeyboardMarkup.de_json(row.markup, bot) if row.markup else None
        if row.action == "copy":
            return await bot.copy_message(row.chat_id, row.from_chat, row.from_message_id, message_thread_id=thread,
                                          reply_parameters=reply)
        if row.action in ("edit", "edit_caption"):
            relay = await svc.store.get(Relay, row.relay_id)
            if relay is None or relay.target_message_id is None:
                return None  # the message it edits never arrived: nothing to edit
            if row.action == "edit":
                return await bot.edit_message_text(row.text, row.chat_id, relay.target_message_id)
            return await bot.edit_message_caption(row.chat_id, relay.target_message_id, caption=row.text)
        if row.action == "document":
            attachment = await svc.store.get(Attachment, row.ref)
            return await bot.send_document(row.chat_id, InputFile(attachment.data, filename=attachment.name), caption=row.text,
                                           parse_mode=ParseMode.HTML, message_thread_id=thread)
        return await bot.send_message(row.chat_id, row.text, parse_mode=ParseMode.HTML, reply_markup=markup,
                                      message_thread_id=thread, reply_parameters=reply)

    async def _thread(self, bot: Bot, svc: Services, row: Outgoing) -> int | None:
        if row.lane.startswith("ticket:"):
            return (await ensure_ticket_topic(bot, svc, await svc.store.ticket(row.ticket_id))).topic_id
        if row.lane.startswith("topic:"):
            key = row.lane[6:]
            topic = await svc.store.get(StaffTopic, key)
            if topic is None:
                created = await bot.create_forum_topic(svc.settings.staff_chat_id, gettext_for(svc.settings.staff_language)(TOPIC_NAMES[key]))
                topic = StaffTopic(key=key, topic_id=created.message_thread_id)
                await svc.store.save(topic)
            return topic.topic_id
        return None

    @staticmethod
    async def _reply_parameters(svc: Services, row: Outgoing) -> ReplyParameters | None:
        if row.reply_to_relay is None:
            return None
        relay = await svc.store.get(Relay, row.reply_to_relay)
        if relay is None:
            return None
        # staff reply to a user's message: the user sees it under their original; user edits: under the staff copy
        target = relay.source_message_id if relay.source_chat == row.chat_id else relay.target_message_id
        return ReplyParameters(target, allow_sending_without_reply=True) if target else None

    @staticmethod
    async def _forget_topic(svc: Services, row: Outgoing) -> None:
        if row.lane.startswith("ticket:"):
            await svc.store.update(Ticket, row.ticket_id, topic_id=None, card_message_id=None)
        elif row.lane.startswith("topic:"):
            await svc.store.delete(StaffTopic, row.lane[6:])

    @staticmethod
    async def _later(svc: Services, row: Outgoing, exc: Exception) -> bool:
        backoff = min(timedelta(seconds=2 ** row.attempts), MAX_BACKOFF)
        log.info("outbox row %s (%s) waits %s: %s", row.id, row.lane, backoff, type(exc).__name__)
        await svc.store.mark(row, status="pending", not_before=svc.clock.now() + backoff, error=type(exc).__name__)
        return False

    @staticmethod
    async def _give_up(svc: Services, row: Outgoing, reason: str, notices: list[Outgoing]) -> bool:
        """Mark the row failed, and write a notice for the side that expected it to arrive."""
        log.warning("outbox row %s (%s) not deliverable: %s", row.id, row.lane, reason)
        await svc.store.mark(row, status="failed", error=reason[:500])
        if row.ticket_id is None:
            return True
        ticket = await svc.store.ticket(row.ticket_id)
        if row.lane.startswith("user:"):
            staff_ = gettext_for(svc.settings.staff_language)
            text = staff_("The user has blocked the bot; this was not delivered.") if reason == "blocked" else \
                staff_("This message could not be delivered to the user: {reason}").format(reason=reason)
            notice = to_ticket(svc, ticket.id, "⚠️ " + escape(text), reply_to_relay=row.relay_id)
        else:
            _ = gettext_for(ticket.language)
            notice = to_user(ticket.user_id, "⚠️ " + escape(_("One of your messages could not be delivered to staff. Please send it again.")),
                             ticket_id=ticket.id)
        await svc.store.save(notice)
        notices.append(notice)
        return True


async def recover(svc: Services) -> int:
    """At start: rows a crash left ``sending`` are sent again (the at-least-once window); updates
    handled more than two days ago are forgotten (Telegram redelivers only unconfirmed ones)."""
    old = now() - timedelta(days=2)
    async with svc.store.session.begin() as session:
        result = await session.execute(update(Outgoing).where(Outgoing.status == "sending").values(status="pending"))
        await session.execute(delete(HandledUpdate).where(HandledUpdate.handled_at < old))
        await session.execute(delete(InboxUpdate).where(InboxUpdate.done.is_(True), InboxUpdate.received_at < old))
        return result.rowcount



async def notify(bot: Bot, svc: Services, user_id: int, html: str, keyboard: InlineKeyboardMarkup | None = None) -> bool:
    """A bot message to a user outside any ticket (outcomes, matches, reminders); False when it did
    not arrive now (it waits in the outbox, or the user blocked the bot)."""
    return await svc.outbox.send(bot, svc, to_user(user_id, html, keyboard))
