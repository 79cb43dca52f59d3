"""Updates of one conversation are handled one after another; different conversations at once.

A conversation is a private chat, or one topic of a group (the staff group's tickets are
independent of each other). With several workers, an update also waits for the earlier updates
of its conversation that other workers received (:mod:`bot.workers`). Without this, two quick messages of one user run concurrently over
the same rows: answers overwrite each other, relays swap places, a double tap opens two tickets.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Hashable
from typing import Any

from telegram import Update
from telegram.ext import BaseUpdateProcessor

from bot.metrics import Metrics
from bot.workers import Workers


def conversation_key(update: object) -> Hashable:
    """(chat, topic) of an update; updates without a chat share one key per user or run freely."""
    if not isinstance(update, Update):
        return None
    message = update.effective_message
    chat = update.effective_chat
    if chat is None:
        return ("user", update.effective_user.id) if update.effective_user else None
    thread = message.message_thread_id if message is not None and message.is_topic_message else None
    return (chat.id, thread)


def conversation_name(update: object) -> str | None:
    """:func:`conversation_key` as the inbox keeps it."""
    return _named(conversation_key(update))


def _named(key: Hashable) -> str | None:
    return None if key is None else ":".join(str(part) for part in key)


class ConversationOrder(BaseUpdateProcessor):
    """Per-conversation FIFO on top of a bound on concurrent updates; each handled update is
    counted and timed (:mod:`bot.metrics`), and marked done in the inbox (:mod:`bot.inbox`).

    PTB starts updates in arrival order; asyncio locks are FIFO, so the order of one
    conversation is kept while the others go on. ``ordered=False`` only to measure what the
    order costs.
    """

    def __init__(
        self,
        workers: Workers,
        metrics: Metrics,
        *,
        ordered: bool = True,
        max_concurrent_updates: int = 256,
    ) -> None:
        super().__init__(max_concurrent_updates)
        self.workers = workers
        self.metrics = metrics
        self.ordered = ordered
        self._locks: dict[Hashable, asyncio.Lock] = {}
        self._waiting: dict[Hashable, int] = {}

    async def do_process_update(self, update: object, coroutine: Awaitable[Any]) -> None:
        await self._in_order(update, self.metrics.handled(update, coroutine))
        if isinstance(update, Update):
            await self.workers.store.update_done(update.update_id)

    async def _in_order(self, update: object, coroutine: Awaitable[Any]) -> None:
        key = conversation_key(update) if self.ordered else None
        if key is None:
            await coroutine
            return
        await self.workers.turn(update.update_id, _named(key))  # before this process's lock
        lock = self._locks.setdefault(key, asyncio.Lock())
        self._waiting[key] = self._waiting.get(key, 0) + 1
        try:
            async with lock:
                await coroutine
        finally:
            self._waiting[key] -= 1
            if not self._waiting[key]:  # nobody queued behind: forget the conversation
                del self._waiting[key], self._locks[key]

    async def initialize(self) -> None:
        """Nothing to set up."""

    async def shutdown(self) -> None:
        """Nothing to release."""
