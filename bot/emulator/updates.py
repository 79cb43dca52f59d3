"""Delivering updates to the bot: the queue, long polling, webhooks, and waiting on the bot."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import re
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any

from aiohttp import ClientError, ClientSession

from .protocol import JSON, BotApiError, _bad, _dumps

_log = logging.getLogger(__name__)

_OPT_IN_UPDATES = frozenset({"chat_member", "message_reaction", "message_reaction_count"})
_SECRET_TOKEN = re.compile(r"[A-Za-z0-9_-]{1,256}")
_IDLE_GAP = 0.05
_WEBHOOK_RETRY = (0.05, 1.0)


def _status_line(status: int) -> str:
    """'403 Forbidden': the standard phrase, not the webhook's custom reason."""
    try:
        return f"{status} {HTTPStatus(status).phrase}"
    except ValueError:
        return str(status)


@dataclass(slots=True)
class _Webhook:
    url: str
    secret_token: str | None
    max_connections: int
    ip_address: str | None
    last_error_date: int | None = None
    last_error_message: str | None = None


class Updates:
    """The update queue and its consumers; a base of ``BotApiEmulator``, which creates the state."""

    _queue: deque[JSON]
    _allowed: frozenset[str] | None
    _last_update_id: int
    _poll_generation: int
    _bot_events: list[JSON]
    _mark: int
    _inflight: int
    _last_activity: float
    _cond: asyncio.Condition
    _closing: bool
    _webhook: _Webhook | None
    _webhook_task: asyncio.Task[None] | None
    _session: ClientSession | None

    def mark(self) -> int:
        """A position in the stream of bot messages and edits, for ``wait_for(since=...)``."""
        return len(self._bot_events)

    def events_since(self, mark: int) -> list[JSON]:
        """Bot messages and edits (as the edited message) after ``mark``, in order."""
        return list(self._bot_events[mark:])

    async def wait_for(
        self, predicate: Callable[[JSON], bool], timeout: float = 10.0, *, since: int | None = None
    ) -> JSON:
        """First bot message or edit matching predicate, sent after the last simulated user action.

        ``since`` (from ``mark()``) overrides the starting point. Edits are passed as the
        edited message (it has ``edit_date``). Raises TimeoutError listing what did arrive.
        """
        index = self._mark if since is None else since
        start = index
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        async with self._cond:
            while True:
                while index < len(self._bot_events):
                    event = self._bot_events[index]
                    index += 1
                    if predicate(event):
                        return event
                remaining = deadline - loop.time()
                if remaining <= 0:
                    seen = [e.get("text", e.get("caption", "<media>")) for e in self._bot_events[start:]][-5:]
                    raise TimeoutError(f"no matching bot message within {timeout}s; last ones: {seen!r}")
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(remaining):
                        await self._cond.wait()

    async def wait_idle(self, timeout: float = 10.0) -> None:
        """Until the bot confirmed every update and no API call happened for ~50 ms.

        A fetched update counts only once the next poll's offset confirms it (a webhook: once
        answered): until then it may still be on its way into the bot's queue."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        async with self._cond:
            while True:
                now = loop.time()
                busy = self._inflight > 0 or bool(self._queue)
                quiet_left = self._last_activity + _IDLE_GAP - now
                if not busy and quiet_left <= 0:
                    return
                if now >= deadline:
                    raise TimeoutError(
                        f"bot not idle after {timeout}s: {self._inflight} calls in flight, "
                        f"{len(self._queue)} updates pending"
                    )
                wait = deadline - now if busy else min(quiet_left, deadline - now)
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(wait):
                        await self._cond.wait()

    async def _notify(self) -> None:
        async with self._cond:
            self._cond.notify_all()

    # ------------------------------------------------------------------ updates

    def _wants(self, kind: str) -> bool:
        return kind not in _OPT_IN_UPDATES if self._allowed is None else kind in self._allowed

    def _set_allowed(self, allowed: Any) -> None:
        """Telegram keeps the last allowed_updates; an empty list means the default set."""
        if not isinstance(allowed, list):
            raise _bad("can't parse allowed updates JSON object")
        self._allowed = frozenset(allowed) or None
        self._queue = deque(u for u in self._queue if self._wants(next(k for k in u if k != "update_id")))

    def _drop_pending(self) -> None:
        self._queue.clear()

    async def _enqueue(self, kind: str, payload: JSON) -> None:
        self._last_update_id += 1
        self._mark = len(self._bot_events)
        if self._wants(kind):
            self._queue.append({"update_id": self._last_update_id, kind: payload})
        await self._notify()

    async def _get_updates(self, params: JSON) -> list[JSON]:
        """Long poll: confirm by offset, wait up to timeout, end older polls with 409."""
        if self._webhook is not None:
            raise BotApiError(
                409,
                "Conflict: can't use getUpdates method while webhook is active; "
                "use deleteWebhook to delete the webhook first",
            )
        if "allowed_updates" in params:
            self._set_allowed(params["allowed_updates"])
        offset = params.get("offset", 0)
        limit = min(max(params.get("limit", 100), 1), 100)
        if offset < 0:
            while len(self._queue) > -offset:
                self._queue.popleft()
        while self._queue and self._queue[0]["update_id"] < offset:
            self._queue.popleft()
        self._poll_generation += 1
        generation = self._poll_generation
        await self._notify()
        loop = asyncio.get_running_loop()
        deadline = loop.time() + max(params.get("timeout", 0), 0)
        async with self._cond:
            while True:
                if generation != self._poll_generation:
                    raise BotApiError(
                        409,
                        "Conflict: terminated by other getUpdates request; "
                        "make sure that only one bot instance is running",
                    )
                remaining = deadline - loop.time()
                if self._queue or self._closing or remaining <= 0:
                    break
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(remaining):
                        await self._cond.wait()
        batch = list(itertools.islice(self._queue, limit))
        if batch:
            self._last_activity = loop.time()
        return batch

    def _set_webhook(self, params: JSON) -> bool:
        url = params.get("url", "")
        secret = params.get("secret_token")
        if secret is not None and not _SECRET_TOKEN.fullmatch(secret):
            raise _bad("secret token contains unallowed characters")
        if "allowed_updates" in params:
            self._set_allowed(params["allowed_updates"])
        if params.get("drop_pending_updates"):
            self._drop_pending()
        self._cancel_webhook_task()
        if not url:
            self._webhook = None
            return True
        self._webhook = _Webhook(url, secret, params.get("max_connections", 40), params.get("ip_address"))
        self._webhook_task = asyncio.get_running_loop().create_task(self._deliver(self._webhook))
        return True

    def _delete_webhook(self, params: JSON) -> bool:
        if params.get("drop_pending_updates"):
            self._drop_pending()
        self._cancel_webhook_task()
        self._webhook = None
        return True

    def _get_webhook_info(self, params: JSON) -> JSON:
        hook = self._webhook
        info: JSON = {
            "url": hook.url if hook else "",
            "has_custom_certificate": False,
            "pending_update_count": len(self._queue),
        }
        if hook is not None:
            info["max_connections"] = hook.max_connections
            if hook.ip_address:
                info["ip_address"] = hook.ip_address
            if self._allowed is not None:
                info["allowed_updates"] = sorted(self._allowed)
            if hook.last_error_date is not None:
                info["last_error_date"] = hook.last_error_date
                info["last_error_message"] = hook.last_error_message
        return info

    def _cancel_webhook_task(self) -> None:
        if self._webhook_task is not None:
            self._webhook_task.cancel()
            self._webhook_task = None

    async def _stop_webhook_task(self) -> None:
        task = self._webhook_task
        self._cancel_webhook_task()
        if task is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _deliver(self, hook: _Webhook) -> None:
        """POST queued updates to the webhook one by one, in order, retrying with backoff."""
        assert self._session is not None
        headers = {"Content-Type": "application/json"}
        if hook.secret_token:
            headers["X-Telegram-Bot-Api-Secret-Token"] = hook.secret_token
        loop = asyncio.get_running_loop()
        backoff = _WEBHOOK_RETRY[0]
        while True:
            async with self._cond:
                await self._cond.wait_for(lambda: bool(self._queue))
            update = self._queue[0]
            error: str | None = None
            try:
                async with self._session.post(hook.url, data=_dumps(update), headers=headers) as response:
                    if not 200 <= response.status < 300:
                        error = f"Wrong response from the webhook: {_status_line(response.status)}"
            except (ClientError, TimeoutError) as exc:
                error = f"Connection failed: {exc or type(exc).__name__}"
            if error is None:
                if self._queue and self._queue[0] is update:
                    self._queue.popleft()
                self._last_activity = loop.time()
                backoff = _WEBHOOK_RETRY[0]
                await self._notify()
            else:
                _log.debug("webhook delivery of update %s failed: %s", update["update_id"], error)
                hook.last_error_date = int(time.time())
                hook.last_error_message = error
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, _WEBHOOK_RETRY[1])
