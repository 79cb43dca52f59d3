"""The offline demo: the Bot API emulator, the real bot against it, and a terminal chat.

``techconnect demo`` lets you type as a Telegram user; ``--script FILE`` runs the steps of a
file and prints the transcript (format in DESIGN.md). :class:`LiveBot` is the same set-up
for the tests.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import sys
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import TextIO

from telegram.ext import Application

from bot.app import build_application, build_services, redact_logs
from bot.bootstrap import open_catalog, open_engine
from bot.config import Settings, data_dir
from bot.emulator import BotApiEmulator, Limits
from bot.i18n import translations_containing
from bot.services import Services

USER_ID = 100001
STAFF_ID = 900001
STAFF_CHAT_ID = -1001000000001


class ScriptError(Exception):
    """A step named a button or a ticket that does not exist (exit status 2)."""


class LiveBot:
    """Emulator + the real bot polling it over HTTP, with a staff forum group."""

    def __init__(
        self,
        services: Services | None = None,
        *,
        rate_limits: bool = True,
        ordered: bool = True,
        limits: Limits | None = None,
        health_port: int | None = None,
    ) -> None:
        """``limits``: Telegram's flood limits, enforced by the emulator and paced by the bot at the same time scale;
        ``health_port``: serve /healthz and /metrics on loopback (0: any free port)."""
        self.emulator = BotApiEmulator(limits=limits)
        self.time_scale = limits.time_scale if limits else 1.0
        self.services = services
        self.rate_limits = rate_limits
        self.ordered = ordered
        self.health_port = health_port
        self.app: Application | None = None

    async def start(self) -> LiveBot:
        await self.emulator.start()
        settings = Settings(
            token=self.emulator.token,
            staff_chat_id=STAFF_CHAT_ID,
            base_url=self.emulator.base_url,
            base_file_url=self.emulator.base_file_url,
            time_scale=self.time_scale,
            health_port=self.health_port,
            health_listen="127.0.0.1",
        )
        redact_logs(settings)
        if self.services is None:
            self.services = await build_services(settings)
        else:
            self.services.settings = settings
        self.emulator.user(STAFF_ID, "Lan", "vi", username="lan_staff")
        self.emulator.group(STAFF_CHAT_ID, "TechConnect staff", forum=True, members=[STAFF_ID], admins=[STAFF_ID])
        self.app = build_application(self.services, rate_limits=self.rate_limits, ordered=self.ordered)
        await self.app.initialize()
        await self.app.post_init(self.app)  # run_polling would call it; the demo starts the parts itself
        await self.app.start()
        await self.app.updater.start_polling(poll_interval=0, timeout=1)
        return self

    async def stop(self) -> None:
        if self.app is not None:
            await self.app.updater.stop()
            await self.app.stop()
            await self.app.post_stop(self.app)  # as run_polling does
            await self.app.shutdown()
        await self.emulator.stop()

    async def __aenter__(self) -> LiveBot:
        return await self.start()

    async def __aexit__(self, *exc) -> None:
        await self.stop()

    async def settle(self, timeout: float = 30.0) -> None:
        """Until the bot has fetched and fully handled everything sent so far."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            await self.emulator.wait_idle(timeout=max(deadline - loop.time(), 0.1))
            if not self.app.update_queue.pending and not self.services.outbox.busy:
                return
            if loop.time() > deadline:
                raise TimeoutError("the bot is still busy")
            await asyncio.sleep(0.01)


def render_message(message: dict) -> str:
    """A bot message as the transcript shows it: plain text, then its buttons row by row."""
    lines = [message.get("text") or message.get("caption") or f"<{_media_kind(message)}>"]
    for row in message.get("reply_markup", {}).get("inline_keyboard", []):
        lines.append(" ".join(f"[{b['text']}]" for b in row))
    return "\n".join(lines)


def _media_kind(message: dict) -> str:
    return next((k for k in ("photo", "document", "voice", "video", "sticker", "location") if k in message), "message")


def buttons(message: dict) -> list[dict]:
    return [b for row in message.get("reply_markup", {}).get("inline_keyboard", []) for b in row]


class Conversation:
    """Runs script steps as the demo user and staff, printing every bot message and edit."""

    def __init__(self, live: LiveBot, out: TextIO, language_code: str | None) -> None:
        self.live = live
        self.emu = live.emulator
        self.out = out
        self.emu.user(USER_ID, "Minh", language_code, username="minh_demo")
        self.seen = self.emu.mark()

    def _newest_with(self, chat_id: int, predicate) -> tuple[dict, dict]:
        for message in reversed(self.emu.messages(chat_id, from_bot=True)):
            for button in buttons(message):
                if predicate(button):
                    return message, button
        raise ScriptError("no such button")

    async def step(self, line: str) -> None:
        line = line.rstrip("\n")
        if not line.strip() or line.lstrip().startswith("#"):
            return
        if line.startswith("staff>"):
            await self.emu.send_text(
                STAFF_ID, line[6:].strip(), chat_id=STAFF_CHAT_ID, message_thread_id=await self._ticket_topic()
            )
        elif line.startswith("staff*"):
            label = line[6:].strip()
            message, button = self._find(STAFF_CHAT_ID, label)
            await self.emu.press(STAFF_ID, message, button["callback_data"])
        elif line.startswith("*#"):
            number = line[2:].strip()
            found = next((m for m in reversed(self.emu.messages(USER_ID, from_bot=True)) if buttons(m)), None)
            if not number.isdigit() or found is None or not 1 <= int(number) <= len(buttons(found)):
                raise ScriptError(f"no button #{number} in the newest message with buttons")
            await self.emu.press(USER_ID, found, buttons(found)[int(number) - 1]["callback_data"])
        elif line.startswith("*"):
            label = line[1:].strip()
            message, button = self._find(USER_ID, label)
            await self.emu.press(USER_ID, message, button["callback_data"])
        elif line.startswith(">"):
            await self.emu.send_text(USER_ID, line[1:].strip())
        else:
            raise ScriptError(f"not a step: {line!r}")
        await self.live.settle()
        self.flush()

    def _find(self, chat_id: int, label: str) -> tuple[dict, dict]:
        """A button by what it shows, or by (part of) its English label in any UI language: "Claim" finds "Nhận xử lý"."""
        names = {label.lower()} | {text.lower() for text in translations_containing(label)}
        try:
            return self._newest_with(
                chat_id, lambda b: "callback_data" in b and any(n in b["text"].lower() for n in names)
            )
        except ScriptError:
            raise ScriptError(f"no button labelled {label!r}") from None

    async def _ticket_topic(self) -> int:
        ticket = await self.live.services.store.newest_ticket(USER_ID)
        if ticket is None or ticket.topic_id is None:
            raise ScriptError("the demo user has no ticket with a staff topic")
        return ticket.topic_id

    def flush(self) -> None:
        for message in self.emu.events_since(self.seen):
            who = "[staff]" if message["chat"]["id"] == STAFF_CHAT_ID else "[user]"
            print(f"{who}\n{render_message(message)}\n", file=self.out, flush=True)
        self.seen = self.emu.mark()


async def run_demo(script: Iterable[str] | None, language_code: str | None, out: TextIO = sys.stdout) -> int:
    """Run a script (or the interactive chat when ``script`` is None); the exit status.

    Every run works in a sandbox: a scratch data directory holding a copy of the catalogue and
    its index (built once in the real data directory), so conversations, posted entries and
    approvals of a demo never reach the real catalogue.
    """
    catalog = await open_catalog(seed=True)
    await open_engine(catalog)  # the index is built (or brought up to date) where it is kept
    source = data_dir()
    with tempfile.TemporaryDirectory() as scratch, _sandbox(Path(scratch)) as sandbox:
        copy = await open_catalog()
        await copy.upsert(await catalog.all())
        await catalog.engine.dispose()
        await copy.engine.dispose()
        shutil.copytree(source / "index", sandbox / "index")
        if (source / "models").exists():
            (sandbox / "models").symlink_to((source / "models").resolve(), target_is_directory=True)
        return await _run_demo(script, language_code, out)


@contextlib.contextmanager
def _sandbox(folder: Path) -> Iterator[Path]:
    """TECHCONNECT_DATA_DIR pointed at ``folder`` (and no other database) for the demo's duration."""
    saved = {key: os.environ.get(key) for key in ("TECHCONNECT_DATA_DIR", "TECHCONNECT_DATABASE_URL")}
    os.environ["TECHCONNECT_DATA_DIR"] = str(folder)
    os.environ.pop("TECHCONNECT_DATABASE_URL", None)
    try:
        yield folder
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


async def _run_demo(script: Iterable[str] | None, language_code: str | None, out: TextIO) -> int:
    async with LiveBot() as live:
        conversation = Conversation(live, out, language_code)
        if script is not None:
            try:
                for line in script:
                    await conversation.step(line)
            except ScriptError as exc:
                print(f"demo: {exc}", file=sys.stderr)
                return 2
            return 0
        print(
            "TechConnect demo: type as a Telegram user (/start to begin; '* Label' taps a button; Ctrl-D quits).",
            file=out,
        )
        while True:
            try:
                line = await asyncio.to_thread(input, "> ")
            except EOFError:
                return 0
            if not line.strip():
                continue
            try:
                await conversation.step(line if line[:1] in ">*#" or line.startswith("staff") else f"> {line}")
            except ScriptError as exc:
                print(f"demo: {exc}", file=out)


def read_script(path: str) -> list[str]:
    return Path(path).read_text(encoding="utf-8").splitlines()
