"""Two workers on one PostgreSQL behind one webhook URL: real ``python -m bot run`` processes, with
a round-robin reverse proxy handing them the emulator's deliveries in turn, so consecutive updates
of one conversation land in different processes. Every message arrives once and in order, each
ticket has one topic and one card, a catalogue change made in one worker is found by the other,
and a scheduled job runs in one worker at a time.
"""

from __future__ import annotations

import asyncio
import itertools
import socket
from types import SimpleNamespace

import pytest
from aiohttp import ClientSession, web
from processes import (
    BotProcess,
    delivered_to_staff,
    delivered_to_user,
    handoff_steps,
    staff_reply,
    topic_of,
    until,
)
from support import SILK, jsonl

from bot.db import BotStore, Worker, now
from bot.demo import STAFF_CHAT_ID, STAFF_ID, buttons
from bot.emulator import BotApiEmulator
from bot.workers import DEAD_AFTER, Workers, alone

pytestmark = pytest.mark.parametrize("database", ["postgresql"], indirect=True)

USERS = [901, 902, 903]
SEARCHER = 904  # no ticket: what they write is a search
FOLLOW_UPS = 3
SECRET = "two-workers-secret"


class RoundRobin:
    """The reverse proxy in front of the workers: each request goes to the next one."""

    def __init__(self, ports: list[int]) -> None:
        self.ports = ports
        self.turn = itertools.cycle(range(len(ports)))
        self.served = [0] * len(ports)
        self.runner: web.AppRunner | None = None
        self.port = free_port()

    async def __aenter__(self) -> RoundRobin:
        app = web.Application()
        app.router.add_post("/{path:.*}", self.forward)
        self.runner = web.AppRunner(app)
        await self.runner.setup()
        await web.TCPSite(self.runner, "127.0.0.1", self.port).start()
        return self

    async def __aexit__(self, *exc_info) -> None:
        await self.runner.cleanup()

    async def forward(self, request: web.Request) -> web.Response:
        worker = next(self.turn)
        headers = {k: v for k, v in request.headers.items() if k.lower().startswith(("content-type", "x-telegram"))}
        try:
            async with (
                ClientSession() as session,
                session.post(
                    f"http://127.0.0.1:{self.ports[worker]}{request.path}", data=await request.read(), headers=headers
                ) as response,
            ):
                if response.status == 200:
                    self.served[worker] += 1
                return web.Response(status=response.status, body=await response.read())
        except OSError:  # that worker is not listening (yet): Telegram delivers the update again
            return web.Response(status=502)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


async def test_two_workers_behind_one_url_deliver_once_in_order_and_share_the_catalogue(sample_env):
    async with BotApiEmulator(token="424242:WORKERS-TEST-TOKEN-abcdefghijk") as emulator:
        emulator.user(STAFF_ID, "Lan", "vi")
        emulator.group(STAFF_CHAT_ID, "TechConnect staff", forum=True, members=[STAFF_ID])
        for user_id in [*USERS, SEARCHER]:
            emulator.user(user_id, f"User {user_id}", "vi")
        ports = [free_port(), free_port()]
        async with RoundRobin(ports) as proxy:
            workers = [
                BotProcess(
                    emulator,
                    sample_env,
                    TECHCONNECT_WEBHOOK_URL=f"http://127.0.0.1:{proxy.port}/tg/hook",
                    TECHCONNECT_WEBHOOK_SECRET=SECRET,
                    TECHCONNECT_WEBHOOK_LISTEN="127.0.0.1",
                    TECHCONNECT_WEBHOOK_PORT=str(port),
                )
                for port in ports
            ]
            try:
                await asyncio.gather(*(worker.start() for worker in workers))  # set-up of one database, together
                assert await until(lambda: len(emulator.calls_to("setWebhook")) >= 2, timeout=120)
                for step in script(emulator):
                    await step()
                    await asyncio.sleep(0.05)
                assert await until(lambda: all_delivered(emulator), timeout=120)

                staff_before = len(emulator.messages(STAFF_CHAT_ID, from_bot=True))
                await emulator.send_media(
                    STAFF_ID, "document", chat_id=STAFF_CHAT_ID, content=jsonl(SILK), file_name="catalogue.jsonl"
                )

                def imported() -> bool:  # the reply in the General topic (a match notice may follow in its own)
                    new = emulator.messages(STAFF_CHAT_ID, from_bot=True)[staff_before:]
                    return any("✅" in (m.get("text") or "") and "message_thread_id" not in m for m in new)

                assert await until(imported, timeout=120)
                await asyncio.sleep(4)  # the other worker looks at the catalogue's version every 2 s
                found = []
                for _ in workers:  # consecutive updates: one search in each worker
                    before = len(emulator.messages(SEARCHER, from_bot=True))
                    await emulator.send_text(SEARCHER, "máy ươm tơ tằm")
                    await until(lambda b=before: len(emulator.messages(SEARCHER, from_bot=True)) > b, timeout=30)
                    found.append("Máy ươm tơ tằm tự động" in last_text(emulator, SEARCHER))
            finally:
                for worker in workers:
                    await worker.stop()
        assert all(proxy.served), f"updates handled per worker: {proxy.served}"

    for user_id in USERS:
        expected_staff = [f"{user_id} hỏi {n}" for n in range(1, FOLLOW_UPS + 1)]
        expected_user = [f"trả lời {user_id} số {n}" for n in range(1, FOLLOW_UPS + 1)]
        assert delivered_to_staff(emulator, user_id) == expected_staff  # once each, in order
        assert delivered_to_user(emulator, user_id) == expected_user
        cards = [
            m
            for m in emulator.messages(STAFF_CHAT_ID, thread_id=topic_of(emulator, user_id), from_bot=True)
            if any(b.get("callback_data", "").startswith("tk:") for b in buttons(m))
        ]
        assert len(cards) == 1, f"cards in the topic of {user_id}: {len(cards)}"
    created = [c["name"] for c in emulator.calls_to("createForumTopic") if c["name"].startswith("#")]
    assert len(created) == len(USERS), f"ticket topics created: {created}"  # one each
    assert found == [True, True], "the entry imported in one worker is found in both"


def script(emulator: BotApiEmulator) -> list:
    """Per user: /start, Talk to staff, the form, consent, follow-ups and staff replies; users interleaved."""
    per_user = []
    for user_id in USERS:
        steps = handoff_steps(emulator, user_id)
        for n in range(1, FOLLOW_UPS + 1):
            steps += [lambda u=user_id, n=n: emulator.send_text(u, f"{u} hỏi {n}")]
        for n in range(1, FOLLOW_UPS + 1):
            steps += [lambda u=user_id, n=n: staff_reply(emulator, u, f"trả lời {u} số {n}")]
        per_user.append(steps)
    return [step for round_ in itertools.zip_longest(*per_user) for step in round_ if step is not None]


def all_delivered(emulator: BotApiEmulator) -> bool:
    return all(
        len(delivered_to_staff(emulator, u)) >= FOLLOW_UPS and len(delivered_to_user(emulator, u)) >= FOLLOW_UPS
        for u in USERS
    )


def last_text(emulator: BotApiEmulator, chat_id: int) -> str:
    messages = emulator.messages(chat_id, from_bot=True)
    return (messages[-1].get("text") or messages[-1].get("caption") or "") if messages else ""


# ----------------------------------------------------------------------------- leases


async def test_a_job_runs_in_one_worker_at_a_time_and_a_stopped_workers_lease_passes_on(sample_env):
    from bot.bootstrap import open_catalog

    store = BotStore((await open_catalog()).engine)
    first, second = Workers(store, "host-a:8443"), Workers(store, "host-b:8443")
    for worker in (first, second):
        await worker.beat()
    runs = []

    async def send_digests(context) -> None:
        runs.append(context.bot_data["services"].workers.name)
        await asyncio.sleep(0.3)

    job = alone(send_digests)
    contexts = [SimpleNamespace(bot_data={"services": SimpleNamespace(workers=w)}) for w in (first, second)]
    await asyncio.gather(*(job(context) for context in contexts))
    assert len(runs) == 1, runs

    async with first.lease("lane:user:7") as held:
        assert held
        assert not await second.take("lane:user:7")  # alive and holding it
        await store.update(Worker, "host-a:8443", seen_at=now() - DEAD_AFTER * 2)  # it stopped
        assert await second.take("lane:user:7")
    await store.engine.dispose()
