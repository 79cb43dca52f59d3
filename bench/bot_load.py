"""Per-message handling cost of the bot through the Bot API emulator (real HTTP, real PTB).

The bot runs without its rate limiter here: Telegram's own limits (about 30 messages a second
overall, 1 a second per chat) would cap every row at 30/s; what is measured is how much the
bot can handle, i.e. the headroom it has under those limits.

50 simulated users send 1,000 messages in all (each waits for its reply before the next, as a
person would). The /start rows with and without per-chat ordering show what ordering costs. Latency runs from the user's message reaching the emulator to the bot's reply
arriving there. Baseline in the same run: a bare python-telegram-bot echo application on the
same emulator, i.e. the cost of the transport alone.

    python bench/bot_load.py [--users 50] [--messages 1000]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np
from telegram.ext import ApplicationBuilder, MessageHandler, filters

from bot.demo import LiveBot

QUERIES = [
    "nuôi tôm tuần hoàn",
    "半導體封裝測試設備",
    "rice dryer",
    "xu ly nuoc thai",
    "港口貨櫃自動化",
    "drone phun thuốc",
    "water quality sensor",
    "giống cá mú",
    "biogas cho trang trại",
    "光伏发电",
    "cold chain for seafood",
    "máy cắt laser",
]


async def drive(emulator, users: int, total: int, text_for, answer=lambda m: True) -> tuple[list[float], float]:
    """Every user sends its share of messages one after another, waiting for the first bot message
    that is an ``answer`` (not, say, a note before it); latencies and wall time."""
    latencies: list[float] = []

    async def user(uid: int, count: int) -> None:
        for i in range(count):
            mark = emulator.mark()
            started = time.perf_counter()
            await emulator.send_text(uid, text_for(uid, i))
            await emulator.wait_for(lambda m: m["chat"]["id"] == uid and answer(m), timeout=60, since=mark)
            latencies.append(time.perf_counter() - started)

    for uid in range(1, users + 1):
        emulator.user(10_000 + uid, f"user{uid}", "vi")
    started = time.perf_counter()
    await asyncio.gather(*(user(10_000 + u, total // users) for u in range(1, users + 1)))
    return latencies, time.perf_counter() - started


async def paced(emulator, users: int, total: int, rate: float, text_for) -> tuple[list[float], float]:
    """Open loop: messages arrive at ``rate`` per second whatever the replies do (users take turns)."""
    latencies: list[float] = []

    async def one(uid: int, i: int) -> None:
        mark = emulator.mark()
        started = time.perf_counter()
        await emulator.send_text(uid, text_for(uid, i))
        await emulator.wait_for(
            lambda m: m["chat"]["id"] == uid and m.get("reply_to_message") is None, timeout=60, since=mark
        )
        latencies.append(time.perf_counter() - started)

    for uid in range(1, users + 1):
        emulator.user(20_000 + uid, f"paced{uid}", "vi")
    started = time.perf_counter()
    tasks = []
    for i in range(total):
        tasks.append(asyncio.create_task(one(20_000 + 1 + i % users, i)))
        await asyncio.sleep(max(0.0, started + (i + 1) / rate - time.perf_counter()))
    await asyncio.gather(*tasks)
    return latencies, time.perf_counter() - started


async def echo_baseline(users: int, total: int) -> tuple[list[float], float]:
    from bot.emulator import BotApiEmulator

    async with BotApiEmulator() as emulator:
        app = (
            ApplicationBuilder()
            .token(emulator.token)
            .base_url(emulator.base_url)
            .base_file_url(emulator.base_file_url)
            .concurrent_updates(True)
            .build()
        )

        async def echo(update, context):
            await update.effective_message.reply_text(update.effective_message.text)

        app.add_handler(MessageHandler(filters.TEXT, echo))
        await app.initialize()
        await app.start()
        await app.updater.start_polling(poll_interval=0, timeout=1)
        try:
            return await drive(emulator, users, total, lambda uid, i: f"hello {i}")
        finally:
            await app.updater.stop()
            await app.stop()
            await app.shutdown()


def row(name: str, latencies: list[float], wall: float) -> str:
    ms = np.array(latencies) * 1000
    return f"| {name} | {len(ms)} | {len(ms) / wall:.0f} | {np.percentile(ms, 50):.1f} | {np.percentile(ms, 95):.1f} |"


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--messages", type=int, default=1000)
    args = parser.parse_args()
    rows = [row("baseline: bare PTB echo bot", *await echo_baseline(args.users, args.messages))]
    scratch = None if "TECHCONNECT_DATA_DIR" in os.environ else tempfile.TemporaryDirectory()
    if scratch:
        os.environ["TECHCONNECT_DATA_DIR"] = scratch.name
    async with LiveBot(rate_limits=False) as live:
        emulator = live.emulator
        rows.append(
            row("/start (menu, localized)", *await drive(emulator, args.users, args.messages, lambda uid, i: "/start"))
        )
        search_text = lambda uid, i: QUERIES[(uid + i) % len(QUERIES)] + f" {i % 7}"  # noqa: E731
        rows.append(row("search (card + buttons)", *await drive(emulator, args.users, args.messages, search_text)))
        rows.append(
            row(
                "search, paced at 30/s (Telegram's overall limit)",
                *await paced(emulator, args.users, 600, 30, search_text),
            )
        )
        services = live.services
    async with LiveBot(services, rate_limits=False, ordered=False) as unordered:
        rows.append(
            row(
                "/start without per-chat ordering (updates of one chat at once)",
                *await drive(unordered.emulator, args.users, args.messages, lambda uid, i: "/start"),
            )
        )
    if scratch:
        scratch.cleanup()
    print("Closed loop (each user waits for its reply), except the paced row.\n")
    print("| messages | n | messages/s | p50 ms | p95 ms |")
    print("|---|---|---|---|---|")
    print("\n".join(rows))


if __name__ == "__main__":
    asyncio.run(main())
