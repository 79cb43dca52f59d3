"""Several bot processes on one PostgreSQL database: webhook workers behind one URL.

Each process is a worker with a name, alive while it refreshes its row every few seconds
(``beat``). Work only one process may do at a time takes a lease: an outbox lane (delivered in
order and once), a scheduled job (run once across workers). A lease, and the updates a worker was
handling, pass to another worker once their worker is no longer alive. The updates of one
conversation are handled in the order they arrived, whichever worker received them.

On SQLite there is one process: every lease is granted without a query and nothing is waited for.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import os
import socket
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import timedelta

from sqlalchemy import delete, exists, or_, select, update
from sqlalchemy.dialects import postgresql
from telegram.ext import ContextTypes

from bot.config import Settings
from bot.db import BotStore, InboxUpdate, Lease, Worker, now

log = logging.getLogger("techconnect.workers")
HEARTBEAT = 5.0  # seconds between a worker's signs of life
DEAD_AFTER = timedelta(seconds=30)  # a worker silent this long is taken for dead
WAIT_STEP = 0.05  # seconds between two looks at a lease or a conversation someone else holds
TURN_PATIENCE = 120.0  # seconds an update waits for an earlier one of its conversation, then goes ahead


def worker_name(settings: Settings) -> str:
    """``TECHCONNECT_WORKER``, else the host and, for a webhook worker, its port: the same name
    after a restart, so a worker takes back at once what its previous run left unfinished."""
    if name := os.environ.get("TECHCONNECT_WORKER"):
        return name
    host = socket.gethostname()
    return f"{host}:{settings.webhook_port}" if settings.webhook_url else host


class Workers:
    """This process among the others on the database."""

    def __init__(self, store: BotStore, name: str) -> None:
        self.store = store
        self.name = name
        self.shared = store.engine.dialect.name == "postgresql"  # SQLite: one process

    async def beat(self) -> None:
        """This worker is alive."""
        if not self.shared:
            return
        insert = postgresql.insert(Worker).values(name=self.name, seen_at=now())
        async with self.store.session.begin() as session:
            await session.execute(
                insert.on_conflict_do_update(index_elements=[Worker.name], set_={"seen_at": insert.excluded.seen_at})
            )

    def _alive(self):
        return select(Worker.name).where(Worker.seen_at > now() - DEAD_AFTER)

    async def take(self, key: str) -> bool:
        """Hold ``key`` unless another worker that is alive holds it."""
        if not self.shared:
            return True
        insert = postgresql.insert(Lease).values(key=key, worker=self.name, taken_at=now())
        taken = insert.on_conflict_do_update(
            index_elements=[Lease.key],
            set_={"worker": insert.excluded.worker, "taken_at": insert.excluded.taken_at},
            where=or_(Lease.worker == self.name, Lease.worker.not_in(self._alive())),
        ).returning(Lease.key)
        async with self.store.session.begin() as session:
            return (await session.execute(taken)).first() is not None

    async def release(self, key: str) -> None:
        if self.shared:
            async with self.store.session.begin() as session:
                await session.execute(delete(Lease).where(Lease.key == key, Lease.worker == self.name))

    @asynccontextmanager
    async def lease(self, key: str, *, wait: float = 0.0) -> AsyncIterator[bool]:
        """Hold ``key`` for the block (waiting up to ``wait`` seconds for it); yields whether it is held."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + wait
        while not (held := await self.take(key)) and loop.time() < deadline:
            await asyncio.sleep(WAIT_STEP)
        try:
            yield held
        finally:
            if held:
                await self.release(key)

    # ------------------------------------------------------------------------------ updates
    async def adopt(self, *, starting: bool) -> list[InboxUpdate]:
        """Unfinished updates of workers no longer alive (at start, also this worker's previous
        run's), now this worker's to handle, oldest first."""
        if not self.shared:
            return await self.store.unfinished_updates() if starting else []
        owners = [InboxUpdate.worker.is_(None), InboxUpdate.worker.not_in(self._alive())]
        if starting:
            owners.append(InboxUpdate.worker == self.name)
        async with self.store.session.begin() as session:
            adopted = await session.scalars(
                update(InboxUpdate)
                .where(InboxUpdate.done.is_(False), or_(*owners))
                .values(worker=self.name)
                .returning(InboxUpdate)
            )
            return sorted(adopted.all(), key=lambda row: row.update_id)

    async def turn(self, update_id: int, conversation: str | None) -> None:
        """Wait until every earlier update of ``conversation`` has been handled, by any worker (an
        earlier update that a live worker has not finished in ``TURN_PATIENCE`` no longer holds it up)."""
        if not self.shared or conversation is None:
            return
        deadline = asyncio.get_running_loop().time() + TURN_PATIENCE
        earlier = exists().where(
            InboxUpdate.conversation == conversation,
            InboxUpdate.update_id < update_id,
            InboxUpdate.done.is_(False),
        )
        while asyncio.get_running_loop().time() < deadline:
            async with self.store.session() as session:
                if not await session.scalar(select(earlier)):
                    return
            await asyncio.sleep(WAIT_STEP)
        log.warning("update %s goes ahead of an earlier update of its conversation still unfinished", update_id)


def alone(job: Callable[[ContextTypes.DEFAULT_TYPE], Awaitable[None]]):
    """A scheduled job that runs in one worker at a time; the others skip that run. Each job keeps
    its own record of what it did (a digest sent, a reminder given), so a later run repeats nothing."""

    @functools.wraps(job)
    async def run(context: ContextTypes.DEFAULT_TYPE) -> None:
        async with context.bot_data["services"].workers.lease(f"job:{job.__name__}") as held:
            if held:
                await job(context)

    return run
