"""The bot as a real process, killed (SIGKILL) at random points of scripted handoffs.

After every restart, what users and staff wrote must still arrive as the README promises: every
message at least once, in order, duplicates only for a call a kill interrupted, one topic per
ticket, and tickets in a state that matches what happened.
"""

from __future__ import annotations

import asyncio
import os
import random
import signal
import sys

from support import VI_FORM, lines_of

from bot.demo import STAFF_CHAT_ID, STAFF_ID, buttons
from bot.emulator import BotApiEmulator

TOKEN = "424242:FAULT-TEST-TOKEN-abcdefghijkl"
USERS = [801, 802, 803, 804]
FOLLOW_UPS = 3
KILLS = 20
SEED = 20261129


class BotProcess:
    """``python -m bot run`` against the emulator, started and killed at will."""

    def __init__(self, emulator: BotApiEmulator, data_dir) -> None:
        self.emulator = emulator
        self.env = {
            **os.environ,
            "TELEGRAM_BOT_TOKEN": TOKEN,
            "TELEGRAM_API_URL": emulator.base_url[: -len("/bot")],
            "TECHCONNECT_STAFF_CHAT_ID": str(STAFF_CHAT_ID),
            "TECHCONNECT_DATA_DIR": str(data_dir),
            "TECHCONNECT_LOG_LEVEL": "WARNING",
            "OMP_NUM_THREADS": "1",
        }
        self.process: asyncio.subprocess.Process | None = None

    async def start(self) -> None:
        polls = len(self.emulator.calls_to("getUpdates"))
        self.process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bot",
            "run",
            env=self.env,
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.DEVNULL,
        )
        for _ in range(1200):  # until it polls: it is ready for updates
            if len(self.emulator.calls_to("getUpdates")) > polls:
                return
            assert self.process.returncode is None, "the bot exited"
            await asyncio.sleep(0.05)
        raise TimeoutError("the bot did not start polling")

    async def kill(self) -> None:
        self.process.send_signal(signal.SIGKILL)
        await self.process.wait()

    async def stop(self) -> None:
        if self.process and self.process.returncode is None:
            await self.kill()


def newest_button(emulator: BotApiEmulator, chat_id: int, suffix: str) -> tuple[dict, str] | None:
    for message in reversed(emulator.messages(chat_id, from_bot=True)):
        for b in buttons(message):
            if b.get("callback_data", "").endswith(suffix):
                return message, b["callback_data"]
    return None


async def until(predicate, timeout: float = 60.0) -> bool:
    for _ in range(int(timeout / 0.1)):
        if predicate():
            return True
        await asyncio.sleep(0.1)
    return predicate()


async def test_sigkill_at_random_points_loses_nothing_and_keeps_order(sample_env):
    rng = random.Random(SEED)
    async with BotApiEmulator(token=TOKEN) as emulator:
        emulator.user(STAFF_ID, "Lan", "vi")
        emulator.group(STAFF_CHAT_ID, "TechConnect staff", forum=True, members=[STAFF_ID])
        for user_id in USERS:
            emulator.user(user_id, f"User {user_id}", "vi")
        bot = BotProcess(emulator, sample_env)
        await bot.start()
        try:
            steps = script(emulator)
            kill_at = set(rng.sample(range(len(steps)), KILLS))
            for number, step in enumerate(steps):
                await step()
                if number in kill_at:
                    await asyncio.sleep(rng.uniform(0.0, 0.4))
                    await bot.kill()
                    await bot.start()
                else:
                    await asyncio.sleep(0.05)
            await settle_all(emulator)
        finally:
            await bot.stop()
        check(emulator)


def script(emulator: BotApiEmulator) -> list:
    """Per user: /start, Talk to staff, the form, consent, follow-ups; staff reply to each; interleaved."""
    per_user = []
    for user_id in USERS:
        steps = [lambda u=user_id: emulator.send_text(u, "/start"), lambda u=user_id: press(emulator, u, "menu:staff")]
        steps += [lambda u=user_id, a=answer: answer_form(emulator, u, a) for answer in VI_FORM]
        steps += [lambda u=user_id: press(emulator, u, ":agree")]
        for n in range(1, FOLLOW_UPS + 1):
            steps += [
                lambda u=user_id, n=n: emulator.send_text(u, f"{u} hỏi {n}"),
                lambda u=user_id, n=n: staff_reply(emulator, u, f"trả lời {u} số {n}"),
            ]
        per_user.append(steps)
    ordered = []
    while any(per_user):
        for steps in per_user:
            if steps:
                ordered.append(steps.pop(0))
    return ordered


async def press(emulator: BotApiEmulator, user_id: int, suffix: str) -> None:
    """Tap a button, waiting for it to appear (the bot may be restarting)."""
    assert await until(lambda: newest_button(emulator, user_id, suffix) is not None), (
        f"no {suffix} button for {user_id}"
    )
    message, data = newest_button(emulator, user_id, suffix)
    await emulator.press(user_id, message, data)


async def answer_form(emulator: BotApiEmulator, user_id: int, answer: str) -> None:
    """The next answer once the form asked the question before it (answers are not typed ahead)."""
    asked = len([m for m in emulator.messages(user_id, from_bot=True)])
    await until(lambda: len(emulator.messages(user_id, from_bot=True)) >= asked)
    await emulator.send_text(user_id, answer)
    await until(lambda: len(emulator.messages(user_id, from_bot=True)) > asked, timeout=30)


def topic_of(emulator: BotApiEmulator, user_id: int) -> int | None:
    """The topic whose card names the user's phone (the form's answers are the same for all users)."""
    for message in emulator.messages(STAFF_CHAT_ID, from_bot=True):
        if message.get("message_thread_id") and f"{user_id} hỏi" in (message.get("text") or ""):
            return message["message_thread_id"]
    return None


async def staff_reply(emulator: BotApiEmulator, user_id: int, text: str) -> None:
    assert await until(lambda: topic_of(emulator, user_id) is not None, timeout=120), f"no topic for {user_id}"
    await emulator.send_text(STAFF_ID, text, chat_id=STAFF_CHAT_ID, message_thread_id=topic_of(emulator, user_id))


async def settle_all(emulator: BotApiEmulator) -> None:
    """Until every message has arrived (the outbox job retries every few seconds)."""

    def done() -> bool:
        return all(
            len(set(delivered_to_user(emulator, u))) >= FOLLOW_UPS
            and len(set(delivered_to_staff(emulator, u))) >= FOLLOW_UPS
            for u in USERS
        )  # distinct: a duplicate must not count for a message still on its way

    await until(done, timeout=180)


def delivered_to_staff(emulator: BotApiEmulator, user_id: int) -> list[str]:
    """The user's messages in their topic, a line each."""
    topic = topic_of(emulator, user_id)
    lines = lines_of(emulator.messages(STAFF_CHAT_ID, thread_id=topic, from_bot=True)) if topic else []
    return [line for line in lines if line.startswith(f"{user_id} hỏi")]


def delivered_to_user(emulator: BotApiEmulator, user_id: int) -> list[str]:
    return [
        m["text"]
        for m in emulator.messages(user_id, from_bot=True)
        if (m.get("text") or "").startswith(f"trả lời {user_id}")
    ]


def first_occurrences(items: list[str]) -> list[str]:
    return list(dict.fromkeys(items))


def check(emulator: BotApiEmulator) -> None:
    duplicates = 0
    for user_id in USERS:
        to_staff, to_user = delivered_to_staff(emulator, user_id), delivered_to_user(emulator, user_id)
        assert first_occurrences(to_staff) == [f"{user_id} hỏi {n}" for n in range(1, FOLLOW_UPS + 1)], to_staff
        assert first_occurrences(to_user) == [f"trả lời {user_id} số {n}" for n in range(1, FOLLOW_UPS + 1)], to_user
        duplicates += len(to_staff) - FOLLOW_UPS + len(to_user) - FOLLOW_UPS
    created = [c["name"].split(" ")[0] for c in emulator.calls_to("createForumTopic")]
    assert len(set(created)) == len(created) == len(USERS), f"topics created: {created}"
    assert duplicates <= KILLS, f"{duplicates} duplicates for {KILLS} kills"
