"""``/healthz`` and ``/metrics`` for operators, on a port of their own (``TECHCONNECT_HEALTH_PORT``)
in polling and webhook mode alike: the webhook's server is Telegram's door, not the monitoring one.

``/healthz`` answers 200 when the bot can do its work and 503 when it cannot: the database does
not answer ``SELECT 1``, the search index holds no vectors, Telegram has not answered for
:data:`TELEGRAM_SILENCE` (or, with a webhook, it is set elsewhere or Telegram cannot deliver to
it), or an outbox message has waited longer than :data:`OUTBOX_STUCK`. Its JSON says which.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import text
from telegram import WebhookInfo
from telegram.error import TelegramError
from telegram.ext import Application, ContextTypes

from bot.db import now
from bot.services import Services

log = logging.getLogger("techconnect.health")

CHECK_INTERVAL = 60  # seconds between getMe (polling) or getWebhookInfo (webhook) calls
TELEGRAM_SILENCE = timedelta(minutes=5)  # five checks in a row failed: Telegram unreachable, or the token revoked
# A message waits for a 429 (seconds), the staff group's 20 a minute (a busy hour's backlog) or a
# retry (at most 5 minutes apart); a quarter of an hour means deliveries are stuck, e.g. the bot
# was removed from the staff group.
OUTBOX_STUCK = timedelta(minutes=15)
DATABASE_TIMEOUT = 5.0  # seconds for SELECT 1: a database slower than this is as good as down for users


@dataclass
class TelegramContact:
    """The last call Telegram answered, and what went wrong since (the error's kind only)."""

    at: datetime | None = None
    error: str | None = None
    webhook: WebhookInfo | None = None


class Health:
    """The checks, the job that keeps in touch with Telegram, and the small HTTP server."""

    def __init__(self, services: Services) -> None:
        self.services = services
        self.telegram = TelegramContact()
        self._runner: web.AppRunner | None = None

    def schedule(self, application: Application) -> None:
        """The Telegram check as soon as the bot has started (however long its start took: a repeating
        job's first run would slip to the next interval), then every minute."""
        application.job_queue.run_once(
            self.check_telegram, 0, name="check_telegram", job_kwargs={"misfire_grace_time": None}
        )
        application.job_queue.run_repeating(
            self.check_telegram, interval=CHECK_INTERVAL, first=CHECK_INTERVAL, name="check_telegram"
        )

    async def check_telegram(self, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Job: one cheap call shows Telegram answers us; with a webhook, getWebhookInfo also says
        whether Telegram can deliver to it."""
        try:
            if self.services.settings.webhook_url:
                self.telegram.webhook = await context.bot.get_webhook_info()
            else:
                await context.bot.get_me()
        except TelegramError as exc:
            self.telegram.error = type(exc).__name__
            log.warning("Telegram did not answer the health check (%s)", type(exc).__name__)
            return
        self.telegram.at, self.telegram.error = now(), None

    # ------------------------------------------------------------------------------- checks
    async def database(self) -> dict:
        try:
            async with asyncio.timeout(DATABASE_TIMEOUT):
                async with self.services.store.engine.connect() as connection:
                    await connection.execute(text("SELECT 1"))
        except Exception as exc:  # noqa: BLE001 - whatever the driver raises, the database is not usable
            return {"ok": False, "error": type(exc).__name__}
        return {"ok": True}

    def index(self) -> dict:
        store = self.services.engine.store
        return {"ok": store.faiss.ntotal > 0, "records": len(store.records), "vectors": store.faiss.ntotal}

    def telegram_state(self, moment: datetime) -> dict:
        contact = self.telegram
        silence = (moment - contact.at).total_seconds() if contact.at else None
        state = {
            "ok": contact.at is not None and moment - contact.at <= TELEGRAM_SILENCE,
            "mode": "webhook" if self.services.settings.webhook_url else "polling",
            "last_contact": contact.at.isoformat() if contact.at else None,
            "seconds_since": silence,
            "error": contact.error,
        }
        if (info := contact.webhook) is not None:
            failing = bool(
                info.pending_update_count and info.last_error_date and moment - info.last_error_date <= TELEGRAM_SILENCE
            )  # updates pile up at Telegram
            registered = info.url == self.services.settings.webhook_url
            state["webhook"] = {
                "registered": registered,
                "pending_updates": info.pending_update_count,
                "last_error_date": info.last_error_date.isoformat() if info.last_error_date else None,
                "last_error": info.last_error_message,
            }
            state["ok"] = state["ok"] and registered and not failing
        return state

    async def outbox(self, moment: datetime) -> dict:
        try:
            depth, oldest = await self.services.store.backlog()
        except Exception as exc:  # noqa: BLE001 - reported by the database check; here only "unknown"
            return {"ok": False, "error": type(exc).__name__}
        waited = (moment - oldest).total_seconds() if oldest else 0.0
        return {"ok": waited <= OUTBOX_STUCK.total_seconds(), "depth": depth, "oldest_pending_seconds": waited}

    # ------------------------------------------------------------------------------- HTTP
    async def healthz(self, _request: web.Request) -> web.Response:
        moment = now()
        checks = {
            "database": await self.database(),
            "index": self.index(),
            "telegram": self.telegram_state(moment),
            "outbox": await self.outbox(moment),
        }
        healthy = all(check["ok"] for check in checks.values())
        return web.json_response({"status": "ok" if healthy else "unhealthy", **checks}, status=200 if healthy else 503)

    async def metrics(self, _request: web.Request) -> web.Response:
        metrics = self.services.metrics
        try:
            await metrics.refresh(self.services.store)
        except Exception as exc:  # noqa: BLE001 - the counters are still worth serving; the database's gauges are unknown
            log.warning("metrics: database gauges not refreshed (%s)", type(exc).__name__)
            for gauge in (metrics.outbox_depth, metrics.outbox_oldest, metrics.unclaimed):
                gauge.set(float("nan"))
        return web.Response(body=generate_latest(metrics.registry), headers={"Content-Type": CONTENT_TYPE_LATEST})

    async def start(self, host: str, port: int) -> None:
        app = web.Application()
        app.add_routes([web.get("/healthz", self.healthz), web.get("/metrics", self.metrics)])
        self._runner = web.AppRunner(app, access_log=None)  # a scrape every few seconds is not news
        await self._runner.setup()
        await web.TCPSite(self._runner, host, port).start()
        log.info("health and metrics on port %s", self.port)

    @property
    def port(self) -> int:
        """The port listened on (the one chosen when configured as 0)."""
        return self._runner.addresses[0][1]

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
