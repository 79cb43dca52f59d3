"""Prometheus metrics: what an operator watches to see the bot keep up, in counts, kinds and
seconds only (never what anyone wrote).

Each :class:`Metrics` has a registry of its own, so two bots in one process (a test and its
restart) count apart. Counters are bumped where things happen; the gauges read from the
database are refreshed when scraped (:meth:`Metrics.refresh`, called by :mod:`bot.health`).
"""

from __future__ import annotations

from collections.abc import Awaitable
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, ProcessCollector
from telegram import Update
from telegram.ext import ContextTypes, JobQueue

from bot.db import BotStore, now


def update_kind(update: object) -> str:
    """``message``, ``edited_message``, ``callback_query``...: what kind of update, never what it says."""
    if not isinstance(update, Update):
        return "other"
    return next((name for name in Update.ALL_TYPES if getattr(update, name, None) is not None), "other")


class Metrics:
    def __init__(self) -> None:
        self.registry = registry = CollectorRegistry()
        ProcessCollector(registry=registry)  # memory and CPU: the embedding model is most of both
        self.updates = Counter("techconnect_updates", "Updates handled, by kind", ["kind"], registry=registry)
        self.update_seconds = Histogram(
            "techconnect_update_seconds",
            "Time the handlers took over one update, by kind (not the wait behind "
            "earlier updates of the same conversation)",
            ["kind"],
            registry=registry,
        )
        self.search_seconds = Histogram(
            "techconnect_search_seconds", "A user's search: embedding, ranking and filters", registry=registry
        )
        self.outbox_depth = Gauge(
            "techconnect_outbox_depth", "Outbox messages not delivered yet (pending or sending)", registry=registry
        )
        self.outbox_oldest = Gauge(
            "techconnect_outbox_oldest_pending_seconds",
            "Age of the oldest outbox message not delivered yet (0 when none waits)",
            registry=registry,
        )
        self.unclaimed = Gauge(
            "techconnect_unclaimed_tickets", "Tickets with staff that nobody holds", registry=registry
        )
        self.too_many_requests = Counter(
            "techconnect_telegram_429",
            "Telegram's 429 answers: every one the rate limiter met (it retries a few), "
            "and those that made an outbox message wait",
            ["seen_by"],
            registry=registry,
        )
        self.job_runs = Counter("techconnect_job_runs", "Runs of periodic jobs, by job", ["job"], registry=registry)
        self.job_failures = Counter(
            "techconnect_job_failures", "Runs of periodic jobs that raised, by job", ["job"], registry=registry
        )

    async def handled(self, update: object, handling: Awaitable[Any]) -> None:
        """Await ``handling`` (the handlers of ``update``), counted and timed by the update's kind."""
        kind = update_kind(update)
        self.updates.labels(kind).inc()
        with self.update_seconds.labels(kind).time():
            await handling

    async def refresh(self, store: BotStore) -> None:
        """The gauges that live in the database, read now."""
        depth, oldest = await store.backlog()
        self.outbox_depth.set(depth)
        self.outbox_oldest.set((now() - oldest).total_seconds() if oldest else 0)
        self.unclaimed.set(await store.unclaimed())


class CountedJobQueue(JobQueue):
    """PTB's job queue, counting every run of a job by its name; a run that raises reaches the
    error handlers, where :func:`count_failed_job` counts it (PTB catches it inside the run)."""

    def __init__(self, metrics: Metrics) -> None:
        super().__init__()
        self.metrics = metrics

    @staticmethod
    async def job_callback(job_queue: CountedJobQueue, job) -> None:
        job_queue.metrics.job_runs.labels(job.name).inc()
        await JobQueue.job_callback(job_queue, job)


async def count_failed_job(_update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Error handler: a job's failure (errors of updates are the other handler's business)."""
    if context.job is not None:
        context.application.job_queue.metrics.job_failures.labels(context.job.name).inc()
