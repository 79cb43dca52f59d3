"""Every message reaches the right place, once and in order: races, retries, outages and edits.

Users type faster than the bot answers, staff tap together, Telegram says 429, topics get
deleted, and the staff group drops out; through all of it both sides see each message once,
in the order it was written.
"""

from __future__ import annotations

import asyncio

from support import (
    STAFF,
    VI,
    VI_FORM,
    VI_NEED,
    VI_USER,
    claim,
    deliver_waiting,
    lines_of,
    newest_with,
    open_ticket,
    post,
    press_form,
    say,
    staff_says,
    start_form,
    topic_messages,
)

from bot.db import Outgoing, StaffTopic, Submission, Ticket
from bot.demo import STAFF_CHAT_ID, STAFF_ID, buttons

OTHER_STAFF = 900002


def texts_in(live, ticket: Ticket) -> list[str]:
    return [m.get("text") for m in topic_messages(live, ticket)]


def user_texts(live, user_id: int) -> list[str]:
    return [m.get("text") or m.get("caption") for m in live.emulator.messages(user_id, from_bot=True)]


# ----------------------------------------------------------------------------- ordering and races


async def test_back_to_back_messages_reach_staff_in_order_for_every_user(live):
    users = list(range(701, 711))
    tickets = {}
    for user_id in users:
        tickets[user_id] = await claim(live, await open_ticket(live, user_id, answers=VI_FORM))
    for round_ in range(3):  # everyone types three lines without waiting for anything
        for user_id in users:
            await live.emulator.send_text(user_id, f"{user_id}: dòng {round_ + 1}")
    await live.settle(timeout=120)

    def lines_from(user_id: int) -> list[str]:
        return [line for line in lines_of(topic_messages(live, tickets[user_id])) if line.startswith(f"{user_id}:")]

    for _round in range(40):  # what the group's flood limit held back waits in the outbox (a scaled 3 s window)
        if all(len(lines_from(u)) >= 3 for u in users):
            break
        await asyncio.sleep(0.5)
        await deliver_waiting(live)
    for user_id in users:
        assert lines_from(user_id) == [f"{user_id}: dòng {n}" for n in (1, 2, 3)]


async def test_quick_answers_to_the_contact_form_keep_their_places(live):
    await start_form(live, VI_USER, "Hoa", "vi")
    for answer in VI_FORM:
        await live.emulator.send_text(VI_USER, answer)  # no waiting between answers
    await live.settle()
    ticket = await live.services.store.newest_ticket(VI_USER)
    assert ticket.contact == dict(zip(("name", "organisation", "role", "reach", "purpose"), VI_FORM))


async def test_a_double_tap_on_consent_opens_one_ticket_with_one_topic(live):
    await start_form(live, VI_USER, "Hoa", "vi")
    for answer in VI_FORM:
        await say(live, VI_USER, answer)
    message, _button = newest_with(live, VI_USER, "hf:")
    agree = next(b for b in buttons(message) if b["callback_data"].endswith(":agree"))
    await asyncio.gather(*(live.emulator.press(VI_USER, message, agree["callback_data"]) for _ in range(2)))
    await live.settle()
    assert len(await live.services.store.tickets(Ticket.user_id == VI_USER, Ticket.status == "open")) == 1
    assert len(live.emulator.calls_to("createForumTopic")) == 1


async def test_two_staff_pressing_claim_together_get_one_holder(live):
    ticket = await open_ticket(live)
    live.emulator.user(OTHER_STAFF, "Tuấn", "vi")
    await live.emulator.send_text(OTHER_STAFF, "Chào cả nhà", chat_id=STAFF_CHAT_ID)  # a member of the staff group
    card, claim_button = newest_with(live, STAFF_CHAT_ID, f"tk:{ticket.id}:claim", thread_id=ticket.topic_id)
    await asyncio.gather(
        live.emulator.press(STAFF_ID, card, claim_button["callback_data"]),
        live.emulator.press(OTHER_STAFF, card, claim_button["callback_data"]),
    )
    await live.settle()
    ticket = await live.services.store.ticket(ticket.id)
    answers = {a["callback_query_id"]: a.get("text", "") for a in live.emulator.callback_answers}
    holders = [text for text in answers.values() if text == STAFF("You hold this ticket now.")]
    assert ticket.claimed_by in (STAFF_ID, OTHER_STAFF) and len(holders) == 1
    joined = VI("{name} from the Department's staff has joined this conversation. I will stay quiet while you talk.")
    assert user_texts(live, VI_USER).count(joined.format(name=ticket.claimed_name)) == 1


async def test_the_first_two_messages_of_a_new_user_are_both_answered(live, caplog):
    live.emulator.user(720, "An", "vi")
    await asyncio.gather(live.emulator.send_text(720, "/start"), live.emulator.send_text(720, "máy sấy nông sản"))
    await live.settle()
    assert "IntegrityError" not in caplog.text and "error while handling" not in caplog.text
    assert len(user_texts(live, 720)) >= 2


async def test_a_reply_held_up_by_a_slow_database_is_still_awaited(live, monkeypatch):
    """An update that left the queue and waits for its conversation's turn (a database query) is
    not handled yet: whoever waits for the bot to settle waits for its answer too."""
    turn = live.services.workers.turn

    async def slow_turn(update_id: int, conversation: str | None) -> None:
        await asyncio.sleep(0.3)
        await turn(update_id, conversation)

    monkeypatch.setattr(live.services.workers, "turn", slow_turn)
    live.emulator.user(721, "An", "vi")
    await say(live, 721, "/start")
    assert user_texts(live, 721)


# ----------------------------------------------------------------------------- durability


async def test_a_staff_reply_refused_with_429_waits_in_the_outbox_and_arrives_once(live):
    ticket = await claim(live, await open_ticket(live))
    live.emulator.flood("copyMessage", retry_after=1, times=5)  # more than the rate limiter's retries
    await staff_says(live, "Chị gửi giúp em hồ sơ năng lực nhé", ticket)
    assert "Chị gửi giúp em hồ sơ năng lực nhé" not in user_texts(live, VI_USER)
    general = [
        m.get("text") for m in live.emulator.messages(STAFF_CHAT_ID, from_bot=True) if not m.get("message_thread_id")
    ]
    assert not any("Sorry" in (t or "") for t in general)

    await deliver_waiting(live)
    assert user_texts(live, VI_USER).count("Chị gửi giúp em hồ sơ năng lực nhé") == 1
    await deliver_waiting(live)
    assert user_texts(live, VI_USER).count("Chị gửi giúp em hồ sơ năng lực nhé") == 1


async def test_the_outbox_and_a_new_message_racing_create_one_topic(live):
    live.emulator.set_unreachable(STAFF_CHAT_ID)
    await start_form(live, VI_USER, "Hoa", "vi")
    for answer in VI_FORM:
        await say(live, VI_USER, answer)
    await press_form(live, VI_USER, "agree")
    live.emulator.set_unreachable(STAFF_CHAT_ID, False)
    await asyncio.gather(deliver_waiting(live), live.emulator.send_text(VI_USER, "Em gửi thêm thông tin"))
    await live.settle()
    ticket = await live.services.store.newest_ticket(VI_USER)
    assert len(live.emulator.calls_to("createForumTopic")) == 2  # the refused attempt, then one topic
    assert texts_in(live, ticket)[-1] == "Em gửi thêm thông tin"


async def test_after_an_outage_older_messages_arrive_before_newer_ones(live):
    ticket = await claim(live, await open_ticket(live))
    live.emulator.set_unreachable(STAFF_CHAT_ID)
    await say(live, VI_USER, "một")
    await say(live, VI_USER, "hai")
    live.emulator.set_unreachable(STAFF_CHAT_ID, False)
    await say(live, VI_USER, "ba")
    await deliver_waiting(live)
    assert [t for t in lines_of(topic_messages(live, ticket)) if t in ("một", "hai", "ba")] == ["một", "hai", "ba"]


async def test_a_message_written_before_the_user_ends_the_conversation_still_arrives(live):
    ticket = await claim(live, await open_ticket(live))
    live.emulator.set_unreachable(STAFF_CHAT_ID)
    await say(live, VI_USER, "Cảm ơn anh, em sẽ gửi hồ sơ sau")
    await say(live, VI_USER, "/end")
    live.emulator.set_unreachable(STAFF_CHAT_ID, False)
    await deliver_waiting(live)
    assert lines_of(topic_messages(live, ticket))[-2:] == [
        "Cảm ơn anh, em sẽ gửi hồ sơ sau",
        "✅ " + STAFF("The user ended the conversation."),
    ]


async def test_entries_waiting_for_review_get_a_new_topic_when_theirs_was_deleted(live):
    await post(live, 611, "request", VI_NEED, "vi")
    topic = await live.services.store.get(StaffTopic, "review")
    live.emulator.delete_topic(STAFF_CHAT_ID, topic.topic_id)
    second = await post(live, 612, "request", {**VI_NEED, "title": "Cần máy sấy vải thiều năng lượng mặt trời"}, "vi")
    fresh = await live.services.store.get(StaffTopic, "review")
    assert fresh.topic_id != topic.topic_id
    assert second.review_message_id in [
        m["message_id"] for m in live.emulator.messages(STAFF_CHAT_ID, thread_id=fresh.topic_id)
    ]


async def test_staff_edits_reach_the_user_and_user_edits_reach_a_recreated_topic(live):
    ticket = await claim(live, await open_ticket(live))
    reply = await staff_says(live, "Hẹn chị thứ Ba lúc 9 giờ", ticket)
    await live.emulator.edit_text(STAFF_ID, reply, "Hẹn chị thứ Tư lúc 9 giờ")
    await live.settle()
    assert "Hẹn chị thứ Tư lúc 9 giờ" in user_texts(live, VI_USER)
    assert "Hẹn chị thứ Ba lúc 9 giờ" not in user_texts(live, VI_USER)

    mine = await say(live, VI_USER, "Em đến được thứ Tư")
    live.emulator.delete_topic(STAFF_CHAT_ID, ticket.topic_id)
    await live.emulator.edit_text(VI_USER, mine, "Em đến được thứ Tư, 9 giờ")
    await live.settle()
    fresh = await live.services.store.ticket(ticket.id)
    assert fresh.topic_id != ticket.topic_id
    assert texts_in(live, fresh)[-1] == "✏️ " + STAFF("Edited: {text}").format(text="Em đến được thứ Tư, 9 giờ")


async def test_a_staff_message_in_a_closed_ticket_reopens_it_and_is_delivered(live):
    ticket = await claim(live, await open_ticket(live))
    await staff_says(live, "/close", ticket)
    await staff_says(live, "Chị ơi, bên em quên gửi tài liệu", ticket)
    assert "Chị ơi, bên em quên gửi tài liệu" in user_texts(live, VI_USER)
    reopened = await live.services.store.ticket(ticket.id)
    assert reopened.status == "claimed" and reopened.claimed_by == STAFF_ID


async def test_what_the_bot_must_deliver_is_written_down_before_it_is_sent(live):
    ticket = await claim(live, await open_ticket(live))
    live.emulator.block(VI_USER)
    await staff_says(live, "Chị có ở đó không?", ticket)
    rows = await live.services.store.rows(Outgoing, Outgoing.ticket_id == ticket.id)
    failed = [r for r in rows if r.status == "failed"]
    assert len(failed) == 1 and failed[0].action == "copy" and failed[0].error == "blocked"
    assert texts_in(live, ticket)[-1] == "⚠️ " + STAFF("The user has blocked the bot; this was not delivered.")
    assert all(r.status == "sent" for r in rows if r is not failed[0])
    assert (await live.services.store.newest(Submission, Submission.user_id == VI_USER)) is None


async def test_a_relay_telegram_answers_late_is_shown_once(live):
    ticket = await claim(live, await open_ticket(live))
    live.emulator.answer_late("copyMessage", 6.0)  # performed at once, answered after PTB's default 5 s timeout
    await say(live, VI_USER, "Gửi anh bảng giá")
    await live.settle(timeout=60)
    assert texts_in(live, ticket).count("Gửi anh bảng giá") == 1
    await deliver_waiting(live)
    assert texts_in(live, ticket).count("Gửi anh bảng giá") == 1
