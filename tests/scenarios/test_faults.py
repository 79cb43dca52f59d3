"""The bot as a real process, killed (SIGKILL) at random points of scripted handoffs.

After every restart, what users and staff wrote must still arrive as the README promises: every
message at least once, in order, duplicates only for a call a kill interrupted, one topic per
ticket, and tickets in a state that matches what happened.
"""

from __future__ import annotations

import asyncio
import random

from processes import (
    BotProcess,
    delivered_to_staff,
    delivered_to_user,
    first_occurrences,
    handoff_steps,
    staff_reply,
    until,
)

from bot.demo import STAFF_CHAT_ID, STAFF_ID
from bot.emulator import BotApiEmulator

USERS = [801, 802, 803, 804]
FOLLOW_UPS = 3
KILLS = 20
SEED = 20261129


async def test_sigkill_at_random_points_loses_nothing_and_keeps_order(sample_env):
    rng = random.Random(SEED)
    async with BotApiEmulator(token="424242:FAULT-TEST-TOKEN-abcdefghijkl") as emulator:
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
        steps = handoff_steps(emulator, user_id)
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


async def settle_all(emulator: BotApiEmulator) -> None:
    """Until every message has arrived (the outbox job retries every few seconds)."""

    def done() -> bool:
        return all(
            len(set(delivered_to_user(emulator, u))) >= FOLLOW_UPS
            and len(set(delivered_to_staff(emulator, u))) >= FOLLOW_UPS
            for u in USERS
        )  # distinct: a duplicate must not count for a message still on its way

    await until(done, timeout=180)


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
