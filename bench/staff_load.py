"""Relays between users and staff at Telegram's real limits, through the Bot API emulator.

The emulator enforces Telegram's limits (about 1 message/s per private chat, 20 messages in any
minute per group, 30/s overall) on a time scale; the bot runs with its production rate limiter.
Every figure is in Telegram seconds (real seconds / scale): the bot's own processing time is
scaled up with them, so the figures are on the pessimistic side.

- **Conversations:** 10 tickets held by 5 staff members (2 each). Each user writes 5 messages a
  minute (jittered) for several minutes; staff answer each message 5 s after they see it.
  Latency runs from a message's sending to its arrival on the other side.
- **Handoffs:** 30 users consent at the same moment; how long each waits to be told their request
  was sent, and how long until its card reaches the staff group. This one runs in real time (scale
  1): the wait is mostly the bot's own work, which a time scale would inflate. It runs twice: with
  the bot in the bench's process (sharing one core with the emulator and the 30 simulated phones),
  and as deployed, ``python -m bot run`` in a process of its own polling the emulator.

Designs, in the same run:
- ``mirror``: staff follow the tickets they hold in their private chats (/mirror);
- ``group``: everything through the staff group (the same code, /mirror not used);
- ``baseline``: the same driver against an older checkout (``--baseline REV``, default the
  last commit before the staff message economy), in its own process.

    python bench/staff_load.py [--scale 0.2] [--minutes 3] [--baseline REV]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
import time
from itertools import pairwise
from pathlib import Path
from types import SimpleNamespace

os.environ.setdefault("OMP_NUM_THREADS", "1")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))  # processes: the bot as a process of its own
BASELINE = "3757243"  # the last commit before the staff message economy

FORM = [
    "Nguyễn Văn {n}",
    "Công ty Thủy sản số {n}",
    "Giám đốc",
    "0912 345 6{n:02d}",
    "Tìm công nghệ nuôi tôm tuần hoàn",
]
STAFF = [9101, 9102, 9103, 9104, 9105]
HANDOFF_USERS = list(range(8001, 8031))  # the 30 who consent at once
DESIGNS = {  # --worker: its row in the table
    "mirror": "mirror (this code)",
    "group": "group (this code)",
    "deployed": "handoffs only, bot in its own process (this code)",
}
TOKEN = re.compile(r"\b([ur])(\d+) m(\d+)\b")


class Clock:
    """Telegram seconds since the start of a run."""

    def __init__(self, scale: float) -> None:
        self.scale, self.start = scale, time.perf_counter()

    def now(self) -> float:
        return (time.perf_counter() - self.start) / self.scale

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds * self.scale)


async def until(predicate, clock: Clock, limit: float, every: float = 0.01) -> bool:
    """Poll ``predicate`` every ``every`` real seconds (the bot shares this event loop: polling costs it time)."""
    deadline = clock.now() + limit
    while clock.now() < deadline:
        if predicate():
            return True
        await asyncio.sleep(every)
    return predicate()


def button(emulator, chat_id: int, suffix: str, thread_id: int | None = None) -> tuple[dict, str] | None:
    for message in reversed(emulator.messages(chat_id, thread_id=thread_id, from_bot=True)):
        for row in message.get("reply_markup", {}).get("inline_keyboard", []):
            for b in row:
                if b.get("callback_data", "").endswith(suffix) or b.get("callback_data") == suffix:
                    return message, b["callback_data"]
    return None


async def fill_form(live, clock: Clock, uid: int, n: int) -> None:
    """/start, Talk to staff, the five details: the form waits at its confirmation."""
    emulator = live.emulator
    emulator.user(uid, f"Khách {n}", "vi")
    count = lambda: len(emulator.messages(uid, from_bot=True))  # noqa: E731
    await emulator.send_text(uid, "/start")
    await until(lambda: button(emulator, uid, "menu:staff"), clock, 120)
    await emulator.press(uid, *button(emulator, uid, "menu:staff"))
    for answer in FORM:
        asked = count()
        await emulator.send_text(uid, answer.format(n=n))
        await until(lambda asked=asked: count() > asked, clock, 120)
    await until(lambda: button(emulator, uid, ":agree"), clock, 120)


async def handoffs(live, clock: Clock, users: list[int]) -> dict:
    """Every user consents at once: seconds until told "sent", and until the card is in the group."""
    emulator = live.emulator
    await asyncio.gather(*(fill_form(live, clock, uid, i) for i, uid in enumerate(users)))
    await asyncio.sleep(3)  # whatever the forms left to send is out of the way
    from bot.i18n import gettext_for

    told_prefix = gettext_for("vi")(
        "Your request #{number} has been sent to our staff. A staff member will reply in this chat; "
        "anything you write here reaches them."
    ).split("{number}")[0]
    told, carded = {}, {}
    pressed = clock.now()
    for uid in users:
        await emulator.press(uid, *button(emulator, uid, ":agree"))

    def check() -> bool:
        for uid in users:
            if uid not in told and any(
                (m.get("text") or "").startswith(told_prefix) for m in emulator.messages(uid, from_bot=True)[-2:]
            ):
                told[uid] = clock.now() - pressed
        cards = [m for m in emulator.messages(live.staff_chat, from_bot=True) if (m.get("text") or "").startswith("🎫")]
        for card in cards:
            match = re.search(r"0912 345 6(\d\d)", card["text"])
            if match and users[int(match.group(1))] not in carded:
                carded[users[int(match.group(1))]] = clock.now() - pressed
        return len(told) == len(users) and len(carded) == len(users)

    await until(check, clock, 900, every=0.05)
    return {
        "told": list(told.values()),
        "carded": list(carded.values()),
        "users": len(users),
        "untold": len(users) - len(told),
        "uncarded": len(users) - len(carded),
    }


async def conversations(live, clock: Clock, users: list[int], minutes: float, mirror: bool) -> dict:
    """10 users write, 5 staff answer; latencies both ways, and what was lost, doubled or reordered."""
    emulator, store = live.emulator, live.services.store
    await asyncio.gather(*(fill_form(live, clock, uid, 40 + i) for i, uid in enumerate(users)))
    for uid in users:
        await emulator.press(uid, *button(emulator, uid, ":agree"))
    await until(
        lambda: (
            len(
                [m for m in emulator.messages(live.staff_chat, from_bot=True) if (m.get("text") or "").startswith("🎫")]
            )
            >= len(users)
        ),
        clock,
        900,
    )
    tickets = sorted(await store.tickets(), key=lambda t: t.user_id)
    tickets = [t for t in tickets if t.user_id in users]
    for i, staff_id in enumerate(STAFF):
        emulator.user(staff_id, f"Cán bộ {i}", "vi")
        await emulator.send_text(staff_id, "Xin chào", chat_id=live.staff_chat)  # a member of the staff group
        if mirror:
            await emulator.send_text(staff_id, "/mirror")
    await asyncio.sleep(1)
    holder = {}
    for i, ticket in enumerate(tickets):
        staff_id = STAFF[i % len(STAFF)]
        holder[ticket.user_id] = staff_id
        found = button(emulator, live.staff_chat, f"tk:{ticket.id}:claim", thread_id=ticket.topic_id)
        await emulator.press(staff_id, *found)
    await asyncio.sleep(3)
    topic_of = {t.user_id: t.topic_id for t in tickets}
    user_of_topic = {t.topic_id: t.user_id for t in tickets}

    sent: dict[tuple[str, int, int], float] = {}
    arrived: dict[tuple[str, int, int], list[tuple[float, int]]] = {}
    seen: set[tuple[int, int]] = set()
    stop = clock.now() + minutes * 60

    async def user(uid: int) -> None:
        n = 0
        await clock.sleep(random.uniform(0, 12))
        while clock.now() < stop:
            n += 1
            sent[("u", uid, n)] = clock.now()
            await emulator.send_text(uid, f"u{uid} m{n}")
            await clock.sleep(random.uniform(6, 18))  # 5 a minute on average

    async def answer(staff_id: int, uid: int, n: int, reply_to: int | None, thread: int | None) -> None:
        await clock.sleep(5)
        sent[("r", uid, n)] = clock.now()
        if thread is None:
            await emulator.send_text(staff_id, f"r{uid} m{n}", reply_to=reply_to)
        else:
            await emulator.send_text(staff_id, f"r{uid} m{n}", chat_id=live.staff_chat, message_thread_id=thread)

    def look(tasks: list) -> None:
        places = (
            [(sid, None) for sid in STAFF]
            + [(live.staff_chat, t) for t in topic_of.values()]
            + [(uid, None) for uid in users]
        )
        for chat, thread in places:
            for message in emulator.messages(chat, thread_id=thread, from_bot=True):
                text = message.get("text") or message.get("caption") or ""
                if (chat, message["message_id"]) in seen or text.startswith("🎫"):
                    continue
                seen.add((chat, message["message_id"]))
                for kind, uid, n in TOKEN.findall(text):
                    key = (kind, int(uid), int(n))
                    arrived.setdefault(key, []).append((clock.now(), message["message_id"]))
                    if kind == "u":
                        uid = int(uid)
                        staff_id = holder[uid]
                        in_topic = chat == live.staff_chat
                        if in_topic and user_of_topic.get(thread) != uid:
                            continue  # misrouted: counted below
                        tasks.append(
                            asyncio.create_task(
                                answer(
                                    staff_id,
                                    uid,
                                    int(n),
                                    None if in_topic else message["message_id"],
                                    thread if in_topic else None,
                                )
                            )
                        )

    async def watch() -> list:
        tasks: list = []
        while clock.now() < stop + 900:  # a backlog in the group drains at 20 a minute
            look(tasks)
            if clock.now() > stop and tasks and all(t.done() for t in tasks) and set(sent) <= set(arrived):
                break
            await asyncio.sleep(0.01)
        await asyncio.gather(*tasks)
        return tasks

    await asyncio.gather(watch(), *(user(uid) for uid in users))
    latency = {"u": [], "r": []}
    reordered = 0
    for key, when in sent.items():
        if key in arrived:
            latency[key[0]].append(arrived[key][0][0] - when)
    for kind in "ur":
        for uid in users:
            ids = [arrived[(kind, uid, n)][0][1] for n in range(1, 1000) if (kind, uid, n) in arrived]
            reordered += sum(1 for a, b in pairwise(ids) if b < a)
    return {
        "to_staff": latency["u"],
        "to_user": latency["r"],
        "messages": len(sent),
        "lost": len(set(sent) - set(arrived)),
        "duplicates": sum(len(v) - 1 for v in arrived.values()),
        "reordered": reordered,
        "429": len(emulator.rate_limited),
    }


async def sample_data(folder: Path | str) -> None:
    """The sample catalogue and its index in ``folder``, which becomes the data directory."""
    from bot.bootstrap import open_catalog, open_engine

    os.environ["TECHCONNECT_DATA_DIR"] = str(folder)
    catalog = await open_catalog(seed=True)
    await open_engine(catalog)
    await catalog.engine.dispose()


async def run_design(scale: float, minutes: float, mirror: bool) -> dict:
    """Both scenarios, each on its own copy of a data directory holding the sample catalogue and its index."""
    from bot.demo import STAFF_CHAT_ID, LiveBot
    from bot.emulator import Limits

    scenarios = {  # name: (time scale, run)
        "conversations": (
            scale,
            lambda live: conversations(live, Clock(scale), list(range(7001, 7011)), minutes, mirror),
        ),
        "handoffs": (1.0, lambda live: handoffs(live, Clock(1.0), HANDOFF_USERS)),
    }
    results = {}
    with tempfile.TemporaryDirectory() as scratch:
        built = Path(scratch) / "built"
        await sample_data(built)
        for name, (time_scale, scenario) in scenarios.items():
            os.environ["TECHCONNECT_DATA_DIR"] = str(shutil.copytree(built, Path(scratch) / name, symlinks=True))
            async with LiveBot(limits=Limits(time_scale=time_scale)) as live:
                live.staff_chat = STAFF_CHAT_ID
                results[name] = await scenario(live)
    return results


async def handoffs_deployed() -> dict:
    """The 30 handoffs with the bot as deployed: ``python -m bot run`` in its own process, so
    Telegram's side (the emulator) and the 30 phones no longer share the bot's core."""
    from processes import BotProcess

    from bot.demo import STAFF_CHAT_ID, STAFF_ID
    from bot.emulator import BotApiEmulator, Limits

    with tempfile.TemporaryDirectory() as data:
        await sample_data(data)
        async with BotApiEmulator(token="424242:STAFF-LOAD-abcdefghijklmn", limits=Limits(time_scale=1.0)) as emulator:
            emulator.user(STAFF_ID, "Lan", "vi")
            emulator.group(STAFF_CHAT_ID, "TechConnect staff", forum=True, members=[STAFF_ID], admins=[STAFF_ID])
            bot = BotProcess(emulator, data)
            await bot.start()
            try:
                live = SimpleNamespace(emulator=emulator, staff_chat=STAFF_CHAT_ID)
                return await handoffs(live, Clock(1.0), HANDOFF_USERS)
            finally:
                await bot.stop()


def baseline(rev: str, scale: float, minutes: float) -> dict:
    """The group design of an older checkout, in its own process (its code first on the path)."""
    with tempfile.TemporaryDirectory() as tree:
        subprocess.run(
            ["git", "-C", str(ROOT), "worktree", "add", "--detach", tree, rev], check=True, capture_output=True
        )
        try:
            out = subprocess.run(
                [
                    sys.executable,
                    __file__,
                    "--worker",
                    "group",
                    "--code",
                    tree,
                    "--scale",
                    str(scale),
                    "--minutes",
                    str(minutes),
                ],
                check=True,
                capture_output=True,
                text=True,
            )
        finally:
            subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", tree], capture_output=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def pct(values: list[float], q: float) -> str:
    if not values:
        return "—"
    ordered = sorted(values)
    return f"{ordered[min(len(ordered) - 1, int(q * len(ordered)))]:.1f}"


def table(rows: dict[str, dict]) -> str:
    lines = [
        "| design | relay to staff p50 / p95 s | relay to user p50 / p95 s | messages | not arrived in 15 min | doubled | reordered "
        "| 429s | 30 handoffs: told 'sent' p50 / max s | card in group p50 / max s |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for name, r in rows.items():
        h = r["handoffs"]
        relays = "| — " * 7
        if c := r.get("conversations"):
            relays = (
                f"| {pct(c['to_staff'], 0.5)} / {pct(c['to_staff'], 0.95)} | {pct(c['to_user'], 0.5)} / "
                f"{pct(c['to_user'], 0.95)} | {c['messages']} | {c['lost']} | {c['duplicates']} | {c['reordered']} | {c['429']} "
            )
        lines.append(
            f"| {name} {relays}| "
            f"{pct(h['told'], 0.5)} / {pct(h['told'], 1)} (untold {h['untold']}) | "
            f"{pct(h['carded'], 0.5)} / {pct(h['carded'], 1)} |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--scale", type=float, default=0.2)
    parser.add_argument("--minutes", type=float, default=3)
    parser.add_argument("--baseline", default=BASELINE)
    parser.add_argument("--worker", choices=list(DESIGNS))
    parser.add_argument("--code", default=str(ROOT))
    args = parser.parse_args()
    sys.path.insert(0, args.code)
    random.seed(7)
    if args.worker:
        import logging

        logging.disable(logging.WARNING)
        if args.worker == "deployed":
            print(json.dumps({"handoffs": asyncio.run(handoffs_deployed())}))
        else:
            print(json.dumps(asyncio.run(run_design(args.scale, args.minutes, args.worker == "mirror"))))
        return
    rows = {}
    for design, row in DESIGNS.items():
        out = subprocess.run(
            [sys.executable, __file__, "--worker", design, "--scale", str(args.scale), "--minutes", str(args.minutes)],
            check=True,
            capture_output=True,
            text=True,
        )
        rows[row] = json.loads(out.stdout.strip().splitlines()[-1])
    rows[f"baseline {args.baseline} (group)"] = baseline(args.baseline, args.scale, args.minutes)
    print(
        f"Telegram seconds; conversations at time scale {args.scale} ({args.minutes} minutes, 10 tickets, 5 staff), "
        "handoffs in real time.\n"
    )
    print(table(rows))


if __name__ == "__main__":
    main()
