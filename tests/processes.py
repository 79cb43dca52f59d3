"""Real bot processes against the emulator, and the steps of a scripted conversation with them
(a user's form and follow-ups, staff replies, what arrived where)."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from pathlib import Path

from support import VI_FORM, lines_of

from bot.demo import STAFF_CHAT_ID, STAFF_ID, buttons
from bot.emulator import BotApiEmulator


class BotProcess:
    """``python -m bot run`` against the emulator, started and killed at will; ``env`` adds
    settings (a webhook's, for one of several workers); ``command`` and ``cwd`` run another
    program or installation (bench/service.py: a bare bot, a venv of its own)."""

    def __init__(
        self,
        emulator: BotApiEmulator,
        data_dir,
        *,
        command: tuple[str, ...] = (sys.executable, "-m", "bot", "run"),
        cwd: Path | None = None,
        **env: str,
    ) -> None:
        self.emulator = emulator
        self.command, self.cwd = command, cwd
        self.env = {
            **os.environ,
            "TELEGRAM_BOT_TOKEN": emulator.token,
            "TELEGRAM_API_URL": emulator.base_url[: -len("/bot")],
            "TECHCONNECT_STAFF_CHAT_ID": str(STAFF_CHAT_ID),
            "TECHCONNECT_DATA_DIR": str(data_dir),
            "TECHCONNECT_LOG_LEVEL": "WARNING",
            "OMP_NUM_THREADS": "1",
            **env,
        }
        self.process: asyncio.subprocess.Process | None = None
        self.log = Path(data_dir) / f"bot-{env.get('TECHCONNECT_WEBHOOK_PORT', 'polling')}.log"  # what it said

    async def start(self) -> None:
        ready = "setWebhook" if "TECHCONNECT_WEBHOOK_URL" in self.env else "getUpdates"
        polls = len(self.emulator.calls_to(ready))
        self.process = await asyncio.create_subprocess_exec(
            *self.command,
            cwd=self.cwd,
            env=self.env,
            stdout=asyncio.subprocess.DEVNULL,
            stderr=self.log.open("ab"),
        )
        for _ in range(1200):  # until it polls (or sets its webhook): it is ready for updates
            if len(self.emulator.calls_to(ready)) > polls:
                return
            assert self.process.returncode is None, "the bot exited: " + self.log.read_text()[-3000:]
            await asyncio.sleep(0.05)
        raise TimeoutError("the bot did not start")

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


def handoff_steps(emulator: BotApiEmulator, user_id: int) -> list:
    """A user's way to staff: /start, Talk to staff, the contact form, consent."""
    steps = [lambda: emulator.send_text(user_id, "/start"), lambda: press(emulator, user_id, "menu:staff")]
    steps += [lambda a=answer: answer_form(emulator, user_id, a) for answer in VI_FORM]
    return [*steps, lambda: press(emulator, user_id, ":agree")]
