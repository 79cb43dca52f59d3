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
- With several workers, one of them at a time delivers a lane (a lease: :mod:`bot.workers`).
"""

from __future__ import annotations

import asyncio
import itertools
import logging
from datetime import timedelta
from html import escape
from typing import TYPE_CHECKING

from sqlalchemy import delete, update
from telegram import Bot, InlineKeyboardMarkup, InputFile, ReplyParameters
from telegram.constants import ParseMode
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter

from bot.db import Attachment, HandledUpdate, InboxUpdate, Outgoing, Relay, StaffTopic, Ticket, now
from bot.i18n import gettext_for
from bot.relay import TOPIC_NAMES, ensure_ticket_topic, refresh_card, topic_gone
from bot.render import MAX_MESSAGE

if TYPE_CHECKING:
    from bot.services import Services

log = logging.getLogger("techconnect.delivery")
MAX_ATTEMPTS = 6  # transient failures of one row before it is given up and someone is told
MAX_BACKOFF = timedelta(minutes=5)
SHARED_TEXT = "text"  # ref of a plain text copy for a topic: near the group's limit it may share one message
BATCH_BELOW = 3  # messages left of the group's minute below which waiting texts share a message
SHARE_AFTER = 5.0  # seconds (scaled like Telegram's limits) a text waited for the group, after which those behind it share its message
MAX_RIDERS = 15
LANE_WAIT = 5.0  # seconds a new message waits for another worker that is delivering its lane
MAX_WAIT_HERE = 60.0  # seconds: a background drain waits out a shorter 429 itself; the job takes longer ones


def retry_after(exc: RetryAfter) -> timedelta:
    """How long Telegram asked to wait (PTB gives seconds or a timedelta, depending on its settings)."""
    return exc.retry_after if isinstance(exc.retry_after, timedelta) else timedelta(seconds=exc.retry_after)


def user_lane(user_id: int) -> str:
    return f"user:{user_id}"


def ticket_lane(ticket_id: int) -> str:
    return f"ticket:{ticket_id}"


def topic_lane(key: str) -> str:
    return f"topic:{key}"


STAFF_LANE = "staff"  # the staff group's General topic


def to_user(
    user_id: int, text: str, keyboard: InlineKeyboardMarkup | None = None, *, ticket_id: int | None = None
) -> Outgoing:
    """A bot message (HTML) for a user's private chat."""
    return Outgoing(
        lane=user_lane(user_id),
        chat_id=user_id,
        ticket_id=ticket_id,
        action="send",
        text=text,
        markup=keyboard.to_dict() if keyboard else None,
    )


def to_ticket(svc: Services, ticket_id: int, text: str, *, reply_to_relay: int | None = None) -> Outgoing:
    """A bot notice (HTML) in a ticket's topic."""
    return Outgoing(
        lane=ticket_lane(ticket_id),
        chat_id=svc.settings.staff_chat_id,
        ticket_id=ticket_id,
        action="send",
        text=text,
        reply_to_relay=reply_to_relay,
    )


def to_staff(
    svc: Services,
    text: str,
    keyboard: InlineKeyboardMarkup | None = None,
    *,
    topic: str | None = None,
    ref: str | None = None,
) -> Outgoing:
    """A bot message (HTML) in a standing topic of the staff group (``review``, ``matches``), or its General topic."""
    return Outgoing(
        lane=topic_lane(topic) if topic else STAFF_LANE,
        chat_id=svc.settings.staff_chat_id,
        action="send",
        text=text,
        markup=keyboard.to_dict() if keyboard else None,
        ref=ref,
    )


def file_to_staff(svc: Services, key: str, caption: str) -> Outgoing:
    """A file (the :class:`~bot.db.Attachment` under ``key``) with an HTML caption in the staff group's General topic."""
    return Outgoing(lane=STAFF_LANE, chat_id=svc.settings.staff_chat_id, action="document", text=caption, ref=key)


def topic_state(svc: Services, ticket_id: int, *, is_open: bool) -> Outgoing:
    """Reopening or closing a ticket's topic, in turn with the messages posted there before and after."""
    return Outgoing(
        lane=ticket_lane(ticket_id),
        chat_id=svc.settings.staff_chat_id,
        ticket_id=ticket_id,
        action="reopen" if is_open else "close",
    )


def copy_of(relay: Relay, lane: str, chat_id: int, *, ticket_id: int, reply_to_relay: int | None = None) -> Outgoing:
    """A copy of the relayed message (any kind: text, photo, file...) for the other side."""
    return Outgoing(
        lane=lane,
        chat_id=chat_id,
        ticket_id=ticket_id,
        action="copy",
        from_chat=relay.source_chat,
        from_message_id=relay.source_message_id,
        relay_id=relay.id,
        reply_to_relay=reply_to_relay,
    )


def edit_of(relay: Relay, lane: str, chat_id: int, text: str, *, caption: bool, ticket_id: int) -> Outgoing:
    """The new text of a relayed message, applied to its delivered copy."""
    return Outgoing(
        lane=lane,
        chat_id=chat_id,
        ticket_id=ticket_id,
        action="edit_caption" if caption else "edit",
        text=text,
        relay_id=relay.id,
    )


class Outbox:
    """Delivers lanes; one lock per lane keeps a handler and the job from racing on one recipient.

    A handler either waits for its rows (``send``, ``deliver``: it needs to know they arrived) or
    hands them to a background drain of their lanes (``post``, ``kick``): a message to the staff
    group may wait for the group's budget of 20 a minute, and nobody's conversation waits with it.
    Ticket cards are refreshed in the background too, coalesced (``refresh_card``)."""

    def __init__(self) -> None:
        self._locks: dict[str, asyncio.Lock] = {}
        self._draining: dict[str, asyncio.Task] = {}
        self._again: set[str] = set()  # lanes given new rows while their drain was running
        self._cards_due: dict[int, float] = {}  # ticket id -> loop time its card is refreshed at the latest
        self._tasks: set[asyncio.Task] = set()
        self._resting: set[asyncio.Task] = set()  # drains waiting out a 429: not busy, just waiting

    async def send(self, bot: Bot, svc: Services, *rows: Outgoing) -> bool:
        """Write ``rows`` (one transaction), then deliver them; True when all of them arrived."""
        await svc.store.save(*rows)
        return await self.deliver(bot, svc, rows)

    async def post(self, bot: Bot, svc: Services, *rows: Outgoing) -> None:
        """Write ``rows`` (one transaction); they are delivered in the background, in lane order."""
        await svc.store.save(*rows)
        self.kick(bot, svc, *(row.lane for row in rows))

    def kick(self, bot: Bot, svc: Services, *lanes: str) -> None:
        """Drain ``lanes`` in the background (rows already written)."""
        for lane in dict.fromkeys(lanes):
            running = self._draining.get(lane)
            if running is not None and not running.done():
                self._again.add(lane)  # the running drain goes round once more
                continue
            self._draining[lane] = self._start(self._drain_in_background(bot, svc, lane))

    def refresh_card(self, bot: Bot, svc: Services, ticket_id: int, *, within: float = 0.0) -> None:
        """Show the ticket's current state on its card within ``within`` seconds (scaled like
        Telegram's limits); requests in the meantime share one edit."""
        loop = asyncio.get_running_loop()
        due = loop.time() + within * svc.settings.time_scale
        if ticket_id in self._cards_due:
            self._cards_due[ticket_id] = min(self._cards_due[ticket_id], due)
            return
        self._cards_due[ticket_id] = due
        self._start(self._refresh_card_when_due(bot, svc, ticket_id))

    async def finished(self, lane: str, *, timeout: float) -> bool:
        """Wait up to ``timeout`` seconds for the lane's background drain; True when it is over."""
        running = self._draining.get(lane)
        if running is None:
            return True
        done, _pending = await asyncio.wait({running}, timeout=timeout)
        return bool(done) and lane not in self._again

    @property
    def busy(self) -> bool:
        """Whether background deliveries or card refreshes are still at work (not waiting out a 429)."""
        return any(not task.done() and task not in self._resting for task in self._tasks)

    async def stop(self) -> None:
        """Cancel the background work (its rows stay in the outbox for the next start)."""
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._draining.clear()
        self._cards_due.clear()

    def _start(self, work) -> asyncio.Task:
        task = asyncio.create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    async def _drain_in_background(self, bot: Bot, svc: Services, lane: str) -> None:
        """Until the lane is empty; a row Telegram asked to wait for a while (429) is waited for here."""
        try:
            while True:
                await self.drain(bot, svc, lane)
                head = await svc.store.next_outgoing(lane)
                if head is not None and head.error == "429" and head.not_before:
                    wait = (head.not_before - svc.clock.now()).total_seconds()
                    if wait > MAX_WAIT_HERE:
                        return  # the job comes back for it
                    resting = asyncio.current_task()
                    self._resting.add(resting)
                    try:
                        await asyncio.sleep(max(wait, 0.0))
                    finally:
                        self._resting.discard(resting)
                    continue
                if lane not in self._again:
                    return
                self._again.discard(lane)
        except Exception:
            log.exception("outbox lane %s failed; it is tried again with the next run", lane)

    async def _refresh_card_when_due(self, bot: Bot, svc: Services, ticket_id: int) -> None:
        loop = asyncio.get_running_loop()
        while (wait := self._cards_due[ticket_id] - loop.time()) > 0:
            await asyncio.sleep(min(wait, 0.5))
        del self._cards_due[ticket_id]  # a change from here on asks for another edit
        try:
            if (ticket := await svc.store.ticket(ticket_id)) is not None:
                await refresh_card(bot, svc, ticket)
        except Exception:
            log.exception("card of ticket %s not refreshed", ticket_id)

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
        async with lock, svc.workers.lease(f"lane:{lane}", wait=LANE_WAIT if eager else 0.0) as held:
            if not held:  # another worker is delivering the lane; the job looks again if it stops
                return
            if lane.startswith("ticket:") and not await self._ticket_topic(bot, svc, int(lane[7:])):
                return
            while (row := await svc.store.next_outgoing(lane)) is not None:
                if row.not_before and row.not_before > svc.clock.now() and (row.error == "429" or not eager):
                    break
                if not await self._deliver(bot, svc, row, notices, *await self._riders(bot, svc, row)):
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
                await self.send(
                    bot,
                    svc,
                    to_user(
                        ticket.user_id,
                        _("Your request has now reached our staff. They will reply here."),
                        ticket_id=ticket.id,
                    ),
                )
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

    @staticmethod
    async def _riders(bot: Bot, svc: Services, row: Outgoing) -> tuple[list[Outgoing], list[str]]:
        """The rows that share the message of ``row`` while the staff group is near its limit (few
        messages left of its minute, or this row already waited for it): the plain texts a user
        wrote, waiting right behind it in the ticket's topic; and the lines of the shared message."""
        if row.ref != SHARED_TEXT:
            return [], []
        room = getattr(getattr(bot, "rate_limiter", None), "room", None)
        waited = (now() - row.created_at).total_seconds() > SHARE_AFTER * svc.settings.time_scale
        if not waited and (room is None or room(row.chat_id) >= BATCH_BELOW):
            return [], []
        behind = await svc.store.rows(
            Outgoing, Outgoing.lane == row.lane, Outgoing.status == "pending", Outgoing.id > row.id, limit=MAX_RIDERS
        )
        riders = list(itertools.takewhile(lambda r: r.ref == SHARED_TEXT, behind))
        texts = {r.id: r.text for r in await svc.store.rows(Relay, Relay.id.in_([x.relay_id for x in [row, *riders]]))}
        lines = [_shared_line(texts[row.relay_id])]
        for rider in riders:
            line = _shared_line(texts[rider.relay_id])
            if len("\n".join([*lines, line])) > MAX_MESSAGE:
                break
            lines.append(line)
        return riders[: len(lines) - 1], lines

    async def _deliver(
        self,
        bot: Bot,
        svc: Services,
        row: Outgoing,
        notices: list[Outgoing],
        riders: list[Outgoing] = (),
        lines: list[str] = (),
    ) -> bool:
        """One row, and the rows riding in its message; True when the lane may go on (sent, or failed for good).
        A crash during the call sends them again, like a single row."""
        await svc.store.mark(row, status="sending", attempts=row.attempts + 1)
        try:
            message = await (self._call_shared(bot, svc, row, lines) if riders else self._call(bot, svc, row))
        except RetryAfter as exc:
            svc.metrics.too_many_requests.labels("outbox").inc()
            await svc.store.mark(row, status="pending", not_before=svc.clock.now() + retry_after(exc), error="429")
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
            return await self._later(
                svc, row, exc, notices
            )  # the bot was removed from the staff group: kept for when it is back
        except (
            NetworkError
        ) as exc:  # includes timeouts: the call may or may not have arrived; sent again (at least once)
            if row.attempts >= MAX_ATTEMPTS and row.lane.startswith("user:"):
                return await self._give_up(svc, row, str(exc), notices)
            return await self._later(svc, row, exc, notices)
        for sent in (row, *riders):
            await svc.store.delivered(
                sent, getattr(message, "message_id", None)
            )  # a Message, or copyMessage's MessageId
        return True

    async def _call_shared(self, bot: Bot, svc: Services, row: Outgoing, lines: list[str]):
        """One message in the ticket's topic carrying the texts of several user messages, in order."""
        return await bot.send_message(
            row.chat_id,
            "\n".join(lines),
            parse_mode=ParseMode.HTML,
            message_thread_id=await self._thread(bot, svc, row),
        )

    async def _call(self, bot: Bot, svc: Services, row: Outgoing):
        thread = await self._thread(bot, svc, row)
        reply = await self._reply_parameters(svc, row)
        markup = InlineKeyboardMarkup.de_json(row.markup, bot) if row.markup else None
        if row.action == "copy":  # with a new caption (HTML) when the row has a text
            return await bot.copy_message(
                row.chat_id,
                row.from_chat,
                row.from_message_id,
                message_thread_id=thread,
                reply_parameters=reply,
                caption=row.text,
                parse_mode=ParseMode.HTML if row.text else None,
            )
        if row.action in ("edit", "edit_caption"):
            relay = await svc.store.get(Relay, row.relay_id)
            if relay is None or relay.target_message_id is None:
                return None  # the message it edits never arrived: nothing to edit
            if row.action == "edit":
                return await bot.edit_message_text(row.text, row.chat_id, relay.target_message_id)
            return await bot.edit_message_caption(row.chat_id, relay.target_message_id, caption=row.text)
        if row.action in ("close", "reopen"):
            change = bot.reopen_forum_topic if row.action == "reopen" else bot.close_forum_topic
            try:
                return await change(row.chat_id, thread)
            except BadRequest as exc:  # a courtesy: a topic already in that state (or gone) is fine as it is
                log.info("topic of ticket %s not changed (%s): %s", row.ticket_id, row.action, exc.message)
                return None
        if row.action == "document":
            attachment = await svc.store.get(Attachment, row.ref)
            return await bot.send_document(
                row.chat_id,
                InputFile(attachment.data, filename=attachment.name),
                caption=row.text,
                parse_mode=ParseMode.HTML,
                message_thread_id=thread,
            )
        return await bot.send_message(
            row.chat_id,
            row.text,
            parse_mode=ParseMode.HTML,
            reply_markup=markup,
            message_thread_id=thread,
            reply_parameters=reply,
        )

    async def _thread(self, bot: Bot, svc: Services, row: Outgoing) -> int | None:
        if row.lane.startswith("ticket:"):
            return (await ensure_ticket_topic(bot, svc, await svc.store.ticket(row.ticket_id))).topic_id
        if row.lane.startswith("topic:"):
            key = row.lane[6:]
            topic = await svc.store.get(StaffTopic, key)
            if topic is None:
                created = await bot.create_forum_topic(
                    svc.settings.staff_chat_id, gettext_for(svc.settings.staff_language)(TOPIC_NAMES[key])
                )
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
    async def _later(svc: Services, row: Outgoing, exc: Exception, notices: list[Outgoing]) -> bool:
        """The row waits; a user whose message could not reach staff at the first try is told it is kept."""
        backoff = min(timedelta(seconds=2**row.attempts), MAX_BACKOFF)
        log.info("outbox row %s (%s) waits %s: %s", row.id, row.lane, backoff, type(exc).__name__)
        await svc.store.mark(row, status="pending", not_before=svc.clock.now() + backoff, error=type(exc).__name__)
        if row.attempts == 1 and row.action == "copy" and row.lane.startswith("ticket:"):
            ticket = await svc.store.ticket(row.ticket_id)
            _ = gettext_for(ticket.language)
            notice = to_user(
                ticket.user_id,
                escape(
                    _(
                        "Our staff cannot be reached right now. Your message is kept and will "
                        "reach them as soon as possible."
                    )
                ),
                ticket_id=ticket.id,
            )
            await svc.store.save(notice)
            notices.append(notice)
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
            text = (
                staff_("The user has blocked the bot; this was not delivered.")
                if reason == "blocked"
                else staff_("This message could not be delivered to the user: {reason}").format(reason=reason)
            )
            notice = to_ticket(svc, ticket.id, "⚠️ " + escape(text), reply_to_relay=row.relay_id)
        else:
            _ = gettext_for(ticket.language)
            notice = to_user(
                ticket.user_id,
                "⚠️ " + escape(_("One of your messages could not be delivered to staff. Please send it again.")),
                ticket_id=ticket.id,
            )
        await svc.store.save(notice)
        notices.append(notice)
        return True


def _shared_line(text: str) -> str:
    return "💬 " + escape(text)


async def recover(svc: Services) -> int:
    """At start: rows a crash left ``sending`` are sent again (the at-least-once window); updates
    handled more than two days ago are forgotten (Telegram redelivers only unconfirmed ones)."""
    old = now() - timedelta(days=2)
    async with svc.store.session.begin() as session:
        result = await session.execute(update(Outgoing).where(Outgoing.status == "sending").values(status="pending"))
        await session.execute(delete(HandledUpdate).where(HandledUpdate.handled_at < old))
        await session.execute(delete(InboxUpdate).where(InboxUpdate.done.is_(True), InboxUpdate.received_at < old))
        return result.rowcount


async def notify(
    bot: Bot, svc: Services, user_id: int, html: str, keyboard: InlineKeyboardMarkup | None = None
) -> bool:
    """A bot message to a user outside any ticket (outcomes, matches, reminders); False when it did
    not arrive now (it waits in the outbox, or the user blocked the bot)."""
    return await svc.outbox.send(bot, svc, to_user(user_id, html, keyboard))
