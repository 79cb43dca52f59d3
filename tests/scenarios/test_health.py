"""Health and metrics as an operator meets them: the real bot polling the emulator, /healthz and
/metrics read over HTTP on the health port, and the JSON log lines a collector would ship."""

from __future__ import annotations

import asyncio
import io
import json
import logging
from datetime import timedelta
from types import SimpleNamespace

import pytest
from aiohttp import ClientSession
from prometheus_client.parser import text_string_to_metric_families
from support import VI, VI_QUERY, VI_USER, say, tap
from telegram import WebhookInfo

from bot.app import JsonLines
from bot.config import Settings
from bot.db import BotStore, Outgoing, now
from bot.delivery import notify
from bot.demo import LiveBot
from bot.health import OUTBOX_STUCK, TELEGRAM_SILENCE, Health
from catalog.store import make_engine
from index.store import VectorStore

PHONE = "0912 345 678"
WRONG = "Sorry, something went wrong on our side. Please try again in a moment."


@pytest.fixture
async def monitored(sample_env):
    """The bot polling the emulator, with /healthz and /metrics on a free loopback port."""
    async with LiveBot(health_port=0) as bot:
        yield bot
    assert bot.emulator.violations == [], "calls that depart from the Bot API reference"


async def get(live, path: str) -> tuple[int, str]:
    async with (
        ClientSession() as session,
        session.get(f"http://127.0.0.1:{live.app.bot_data['health'].port}{path}") as response,
    ):
        return response.status, await response.text()


async def healthz(live) -> tuple[int, dict]:
    status, body = await get(live, "/healthz")
    return status, json.loads(body)


async def samples(live) -> dict[tuple[str, tuple], float]:
    """/metrics as {(sample name, sorted labels): value}."""
    status, body = await get(live, "/metrics")
    assert status == 200
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(body)
        for s in family.samples
    }


async def test_a_search_shows_in_healthz_and_metrics(monitored):
    live = monitored
    live.emulator.user(VI_USER, "Hoa", "vi")
    await say(live, VI_USER, "/start")
    await say(live, VI_USER, VI_QUERY)
    await tap(live, VI_USER, "intr:")  # a button: a callback query

    status, health = await healthz(live)
    assert status == 200, health
    assert health["status"] == "ok" and health["database"] == {"ok": True}
    assert health["index"]["ok"] and health["index"]["vectors"] > 0 and health["index"]["records"] > 0
    assert health["telegram"]["ok"] and health["telegram"]["mode"] == "polling" and health["telegram"]["error"] is None
    assert 0 <= health["telegram"]["seconds_since"] < TELEGRAM_SILENCE.total_seconds()
    assert health["outbox"] == {"ok": True, "depth": 0, "oldest_pending_seconds": 0.0}

    live.emulator.flood("sendMessage", retry_after=1, times=4)  # beyond the rate limiter's retries: the message waits
    assert not await notify(live.app.bot, live.services, VI_USER, "Nhắc lịch")
    metrics = await samples(live)
    assert metrics[("techconnect_updates_total", (("kind", "message"),))] >= 2
    assert metrics[("techconnect_updates_total", (("kind", "callback_query"),))] == 1
    assert metrics[("techconnect_update_seconds_count", (("kind", "message"),))] >= 2
    assert metrics[("techconnect_search_seconds_count", ())] == 1
    assert metrics[("techconnect_search_seconds_sum", ())] > 0
    assert metrics[("techconnect_outbox_depth", ())] == 1
    assert metrics[("techconnect_outbox_oldest_pending_seconds", ())] > 0
    assert metrics[("techconnect_unclaimed_tickets", ())] == 0
    assert metrics[("techconnect_telegram_429_total", (("seen_by", "rate_limiter"),))] == 4
    assert metrics[("techconnect_telegram_429_total", (("seen_by", "outbox"),))] == 1


async def test_job_runs_and_failures_are_counted_by_job(monitored):
    live = monitored

    async def broken(_context):
        raise RuntimeError("broken job")

    live.app.job_queue.run_once(broken, 0)
    for _ in range(100):
        metrics = await samples(live)
        if ("techconnect_job_failures_total", (("job", "broken"),)) in metrics:
            break
        await asyncio.sleep(0.05)
    assert metrics[("techconnect_job_runs_total", (("job", "broken"),))] == 1
    assert metrics[("techconnect_job_failures_total", (("job", "broken"),))] == 1
    assert metrics[("techconnect_job_runs_total", (("job", "check_telegram"),))] >= 1  # it ran at start
    assert ("techconnect_job_failures_total", (("job", "check_telegram"),)) not in metrics


async def test_healthz_answers_503_while_a_part_is_missing(monitored, tmp_path):
    live = monitored
    services = live.services
    assert (await healthz(live))[0] == 200

    store, unreachable = (
        services.store,
        BotStore(make_engine(f"sqlite+aiosqlite:///{tmp_path / 'gone' / 'tc.db'}")),
    )  # no such folder
    services.store = unreachable
    status, health = await healthz(live)
    services.store = store
    await unreachable.engine.dispose()
    assert status == 503 and health["status"] == "unhealthy"
    assert health["database"] == {"ok": False, "error": "OperationalError"}
    assert health["outbox"] == {"ok": False, "error": "OperationalError"} and health["index"]["ok"]

    index = services.engine.store
    services.engine.store = VectorStore(
        tmp_path / "empty", index.model_id, index.dim
    )  # no vectors: nothing can be found
    status, health = await healthz(live)
    services.engine.store = index
    assert status == 503 and health["index"] == {"ok": False, "records": 0, "vectors": 0}
    assert health["database"]["ok"] and health["outbox"]["ok"]

    stuck = Outgoing(
        lane="user:1",
        chat_id=1,
        action="send",
        text="x",
        status="pending",
        error="429",
        created_at=now() - OUTBOX_STUCK - timedelta(minutes=1),
        not_before=now() + timedelta(days=1),
    )
    await services.store.save(stuck)
    status, health = await healthz(live)
    assert status == 503 and health["outbox"]["ok"] is False and health["outbox"]["depth"] == 1
    await services.store.update(Outgoing, stuck.id, status="failed")

    assert (await healthz(live))[0] == 200
    live.app.bot_data["health"].telegram.at -= TELEGRAM_SILENCE + timedelta(
        seconds=1
    )  # the last getMe answered too long ago
    status, health = await healthz(live)
    assert status == 503 and health["telegram"]["ok"] is False
    await live.app.job_queue.get_jobs_by_name("check_telegram")[0].run(live.app)  # Telegram answers again
    assert (await healthz(live))[0] == 200


async def test_json_log_lines_hold_ids_and_kinds_but_no_message_text(live, caplog):
    caplog.set_level(logging.DEBUG)  # PTB's debug lines carry every call's parameters: cut before any format
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonLines())
    logging.getLogger().addHandler(handler)

    async def broken(*args, **kwargs):
        raise RuntimeError(f"index unavailable while searching 'máy sấy, gọi {PHONE}'")  # an exception quoting the user

    try:
        live.emulator.user(VI_USER, "Hoa", "vi")
        await say(live, VI_USER, f"máy sấy vải thiều, gọi tôi {PHONE}")
        live.services.engine.asearch = broken
        await say(live, VI_USER, f"máy sấy, gọi {PHONE}")
    finally:
        logging.getLogger().removeHandler(handler)
        del live.services.engine.asearch
    assert VI(WRONG) in [m.get("text") for m in live.emulator.messages(VI_USER, from_bot=True)]
    raw = stream.getvalue().splitlines()
    lines = [json.loads(line) for line in raw]
    assert len(lines) > 20 and all({"time", "level", "logger", "message"} <= set(line) for line in lines)
    (failure,) = [line for line in lines if line["message"].startswith("error while handling update")]
    assert failure["message"].endswith(f"(message, chat {VI_USER}, user {VI_USER})")
    assert failure["exception"] == "RuntimeError" and any("discover.py" in frame for frame in failure["trace"])
    assert any(PHONE in (record.exc_text or "") for record in caplog.records)  # what a text traceback would have shown
    for line in raw:
        assert PHONE not in line and "máy sấy" not in line, line


def test_a_webhook_set_elsewhere_or_failing_is_unhealthy():
    settings = Settings(token="1:x", webhook_url="https://bot.example.org/hook", webhook_secret="s")
    health = Health(SimpleNamespace(settings=settings))
    moment = now()
    health.telegram.at = moment

    def state(**info) -> dict:
        health.telegram.webhook = WebhookInfo(has_custom_certificate=False, **info)
        return health.telegram_state(moment)

    assert state(url=settings.webhook_url, pending_update_count=0)["ok"]
    assert not state(url="https://other.example.org/hook", pending_update_count=0)["ok"]  # another instance took it
    assert not state(url="", pending_update_count=0)["ok"]
    failing = state(
        url=settings.webhook_url,
        pending_update_count=12,
        last_error_date=moment - timedelta(minutes=1),
        last_error_message="Connection refused",
    )
    assert not failing["ok"] and failing["webhook"]["pending_updates"] == 12
    assert state(url=settings.webhook_url, pending_update_count=12, last_error_date=moment - timedelta(hours=2))[
        "ok"
    ]  # long recovered
    assert state(url=settings.webhook_url, pending_update_count=0, last_error_date=moment - timedelta(minutes=1))["ok"]
