"""Thirty users hand off to staff at once, write follow-ups while staff reply, all under
Telegram's flood limits (enforced by the emulator, paced by the bot's production rate limiter).

Nothing may be lost, misrouted or reordered, and the database must never refuse a write.
"""

from __future__ import annotations

import asyncio

from support import VI_FORM, deliver_waiting, lines_of

from bot.db import Ticket
from bot.demo import STAFF_CHAT_ID, STAFF_ID, buttons

USERS = list(range(1101, 1131))
FOLLOW_UPS = 3


async def until(predicate, timeout: float = 60.0) -> None:
    for _ in range(int(timeout / 0.05)):
        if predicate():
            return
        await asyncio.sleep(0.05)
    assert predicate(), "timed out"


def replies(live, user_id: int) -> int:
    return len(live.emulator.messages(user_id, from_bot=True))


def agree_button(live, user_id: int) -> tuple[dict, str] | None:
    for message in reversed(live.emulator.messages(user_id, from_bot=True)):
        for b in buttons(message):
            if b["callback_data"].endswith(":agree"):
                return message, b["callback_data"]
    return None


async def hand_off(live, user_id: int) -> None:
    """As a person would: each answer after the bot's question; the follow-ups back to back."""
    emulator = live.emulator
    emulator.user(user_id, f"Khách {user_id}", "vi")
    await emulator.send_text(user_id, "/start")
    await until(lambda: replies(live, user_id) >= 1)
    menu = emulator.messages(user_id, from_bot=True)[-1]
    await emulator.press(
        user_id, menu, next(b["callback_data"] for b in buttons(menu) if b["callback_data"] == "menu:staff")
    )
    for answer in VI_FORM:
        asked = replies(live, user_id)
        await until(lambda asked=asked: replies(live, user_id) >= asked)
        await emulator.send_text(user_id, f"{answer} {user_id}" if answer == VI_FORM[0] else answer)
        await until(lambda asked=asked: replies(live, user_id) > asked)
    await until(lambda: agree_button(live, user_id) is not None)
    await emulator.press(user_id, *agree_button(live, user_id))
    await until(
        lambda: any(
            b["callback_data"].startswith("end:") for m in emulator.messages(user_id, from_bot=True) for b in buttons(m)
        ),
        timeout=120,
    )
    for n in range(1, FOLLOW_UPS + 1):
        await emulator.send_text(user_id, f"{user_id} hỏi {n}")


def follow_ups(live, ticket: Ticket) -> list[str]:
    """The user's follow-ups as staff read them in the topic."""
    lines = lines_of(live.emulator.messages(STAFF_CHAT_ID, thread_id=ticket.topic_id, from_bot=True))
    return [line for line in lines if line.startswith(f"{ticket.user_id} hỏi")]


async def staff_replies(live) -> None:
    """Staff answer each follow-up as it arrives in its topic."""
    store = live.services.store
    answered: dict[int, int] = {}
    while sum(answered.values()) < len(USERS) * FOLLOW_UPS:
        for ticket in await store.tickets(Ticket.topic_id.is_not(None)):
            for line in follow_ups(live, ticket)[answered.get(ticket.user_id, 0) :]:
                n = line.rsplit(" ", 1)[1]
                await live.emulator.send_text(
                    STAFF_ID,
                    f"trả lời {ticket.user_id} số {n}",
                    chat_id=STAFF_CHAT_ID,
                    message_thread_id=ticket.topic_id,
                )
                answered[ticket.user_id] = answered.get(ticket.user_id, 0) + 1
        await asyncio.sleep(0.1)


async def test_thirty_handoffs_with_follow_ups_under_telegrams_limits(live, caplog):
    await asyncio.wait_for(asyncio.gather(*(hand_off(live, u) for u in USERS), staff_replies(live)), timeout=600)
    await live.settle(timeout=120)
    await deliver_waiting(live)

    tickets = await live.services.store.tickets()
    assert sorted(t.user_id for t in tickets) == USERS and all(t.status == "claimed" for t in tickets)
    assert len({t.topic_id for t in tickets}) == len(USERS) == len(live.emulator.calls_to("createForumTopic"))
    for ticket in tickets:
        assert follow_ups(live, ticket) == [f"{ticket.user_id} hỏi {n}" for n in range(1, FOLLOW_UPS + 1)]
        assert ticket.contact["name"] == f"{VI_FORM[0]} {ticket.user_id}"  # no answer went to another user's form
        to_user = [m.get("text") for m in live.emulator.messages(ticket.user_id, from_bot=True)]
        assert [t for t in to_user if t and t.startswith("trả lời")] == [
            f"trả lời {ticket.user_id} số {n}" for n in range(1, FOLLOW_UPS + 1)
        ]
    assert "IntegrityError" not in caplog.text and "database is locked" not in caplog.text
    assert "error while handling" not in caplog.text
