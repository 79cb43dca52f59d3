"""Incoming updates are written down before Telegram learns they arrived, and replayed after a crash.

PTB confirms a polled update with its next getUpdates call (and a webhook answers 200) as soon as
the update is queued, not when it was handled: a crash in between would lose what a user or a
staff member wrote. The queue below writes each update to the database first; an update is
marked done once handled (:mod:`bot.ordering`), and unfinished ones are handled again at start
(or, with several workers, by another worker once theirs has stopped: :mod:`bot.workers`).
Handling twice is safe: relays are unique per source message, form answers per update.
"""

from __future__ import annotations

import asyncio

from telegram import Bot, Update

from bot.ordering import conversation_name
from bot.workers import Workers


class DurableQueue(asyncio.Queue):
    """The Application's update queue, writing each new update down before it is queued."""

    def __init__(self, workers: Workers) -> None:
        super().__init__()
        self.workers = workers
        self.writing = 0  # updates received and being written down, not yet queued
        self.unfinished = 0  # updates queued and not yet handled to the end

    @property
    def pending(self) -> int:
        """Updates received and not yet handled: being written down, queued, or in the Application's
        hands (waiting for their conversation's turn, handled, being marked done)."""
        return self.writing + self.unfinished

    def put_nowait(self, item: object) -> None:
        super().put_nowait(item)
        self.unfinished += 1

    def task_done(self) -> None:
        """The Application calls this once an update taken from the queue is handled."""
        super().task_done()
        self.unfinished -= 1

    async def put(self, item: object) -> None:
        self.writing += 1
        try:
            if isinstance(item, Update) and not await self.workers.store.keep_update(
                item.update_id, item.to_dict(), conversation=conversation_name(item), worker=self.workers.name
            ):
                return  # sent again by Telegram: handled already, or queued by the replay
            await super().put(item)
        finally:
            self.writing -= 1

    async def replay(self, bot: Bot, *, starting: bool) -> int:
        """Queue the updates a stop left unfinished (at start, before any new one); how many."""
        unfinished = await self.workers.adopt(starting=starting)
        for row in unfinished:
            await super().put(Update.de_json(row.payload, bot))
        return len(unfinished)
