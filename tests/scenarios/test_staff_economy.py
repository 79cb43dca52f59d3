"""The staff group takes about 20 messages a minute for every ticket together: users never wait
for it, and a staff member can follow the tickets they hold in their private chat (/mirror),
where Telegram allows a message a second.
"""

from __future__ import annotations

import asyncio

import pytest
from support import (
    OTHER_USER,
    STAFF,
    TW_FORM,
    TW_USER,
    VI,
    VI_USER,
    bot_texts,
    claim,
    fill,
    is_card,
    last_id,
    lines_of,
    open_ticket,
    press_form,
    say,
    sent,
    start_form,
    topic_messages,
)

from bot.db import Attachment, Outgoing, Ticket
from bot.delivery import file_to_staff, to_staff
from bot.demo import STAFF_CHAT_ID, STAFF_ID
from bot.mirror import FOLLOWING
from bot.router import UNCLEAR

pytestmark = pytest.mark.both_databases


async def staff_dm(live, text: str, *, reply_to: int | None = None) -> dict:
    message = await live.emulator.send_text(STAFF_ID, text, reply_to=reply_to)
    await live.settle()
    return message


def headed(live, ticket: Ticket) -> list[dict]:
    """The bot's messages in the staff member's private chat that carry a user's message of the ticket."""
    return [
        m
        for m in live.emulator.messages(STAFF_ID, from_bot=True)
        if (m.get("text") or "").startswith(f"💬 #{ticket.id} ·")
    ]


async def test_a_user_is_told_at_once_that_the_request_went_to_staff_while_the_group_is_at_its_budget(live):
    await start_form(live, VI_USER, "Hoa", "vi")
    await fill(
        live,
        VI_USER,
        ["Nguyễn Thị Hoa", "Công ty Thủy sản Cát Hải", "Giám đốc", "0912 345 678", "Tìm công nghệ vắc-xin cho cá mú"],
    )
    svc = live.services
    # the staff group's minute is used up: the ticket's topic and card must wait for the next one
    await svc.outbox.post(live.app.bot, svc, *[to_staff(svc, f"tin nhắn {n}") for n in range(20)])
    await live.settle()
    await press_form(live, VI_USER, "agree")

    await live.settle(timeout=60)
    ticket = await svc.store.newest_ticket(VI_USER)
    assert ticket.card_message_id and is_card(topic_messages(live, ticket)[0], ticket)  # staff got it
    texts = [params.get("text", "") for params in live.emulator.calls_to("sendMessage")]
    told = next(i for i, text in enumerate(texts) if text.startswith(sent("vi", ticket.id)))
    card = next(i for i, text in enumerate(texts) if text.startswith("🎫"))
    assert told < card, "the user waited for the staff group's next minute"
    assert [t for t in bot_texts(live, STAFF_CHAT_ID) if t.startswith("tin nhắn")] == [
        f"tin nhắn {n}" for n in range(20)
    ]


async def test_three_users_writing_past_the_groups_budget_share_messages_in_order_and_a_photo_keeps_its_own(live):
    tickets = [
        await open_ticket(live, VI_USER, language_code="vi"),
        await open_ticket(live, TW_USER, language_code="zh-tw", via_menu=True, answers=TW_FORM),
        await open_ticket(live, OTHER_USER, language_code="vi", via_menu=True),
    ]

    async def write(user_id: int) -> None:
        for n in range(1, 9):
            if user_id == VI_USER and n == 4:
                await live.emulator.send_media(VI_USER, "photo", caption="ảnh bể nuôi")
            await live.emulator.send_text(user_id, f"{user_id} câu {n}")

    await asyncio.gather(*(write(t.user_id) for t in tickets))  # 25 messages: more than the group's minute
    await live.settle(timeout=60)

    carried_all = 0
    for ticket in tickets:
        carried = [m for m in topic_messages(live, ticket) if "câu" in (m.get("text") or "") or "photo" in m]
        lines = lines_of([m if "photo" not in m else {"text": "<ảnh>"} for m in carried])
        expected = [f"{ticket.user_id} câu {n}" for n in range(1, 9)]
        if ticket.user_id == VI_USER:
            expected.insert(3, "<ảnh>")
            assert [m.get("caption") for m in carried if "photo" in m] == ["ảnh bể nuôi"]  # copied as it is
        assert lines == expected  # every message, in order, in its own ticket's topic
        carried_all += len(carried)
    assert carried_all < 25  # the texts that waited for the group shared messages
    assert (await live.services.store.rows(Outgoing, Outgoing.status != "sent")) == []


async def until(condition) -> None:
    """Wait (up to a generous deadline) for something the bot does in the background."""
    async with asyncio.timeout(60):
        while not condition():
            await asyncio.sleep(0.01)


async def test_a_429_in_the_staff_group_holds_back_the_group_and_no_private_chat(live):
    ticket = await claim(live, await open_ticket(live))
    svc = live.services
    live.emulator.flood("sendMessage", retry_after=5, chat_id=STAFF_CHAT_ID)
    await svc.outbox.post(live.app.bot, svc, to_staff(svc, "Báo cáo tuần"))
    tries = lambda: [p for p in live.emulator.calls_to("sendMessage") if p.get("text") == "Báo cáo tuần"]  # noqa: E731
    await until(lambda: len(tries()) == 1)  # refused: retry after 5 s

    replies = ["Chào chị, em là Lan", "Chị gửi giúp em hồ sơ năng lực nhé"]
    for text in replies:
        await live.emulator.send_text(STAFF_ID, text, chat_id=STAFF_CHAT_ID, message_thread_id=ticket.topic_id)
    await until(lambda: bot_texts(live, VI_USER)[-2:] == replies)
    assert len(tries()) == 1, "the user's replies waited for the staff group's 429"

    await live.settle()
    assert len(tries()) == 2 and bot_texts(live, STAFF_CHAT_ID).count("Báo cáo tuần") == 1


async def test_the_bots_pace_never_meets_a_429_in_the_staff_group(live):
    """Telegram counts a message when it handles the call: a slow upload first in the group's
    minute must not let the minute's 21st message in early."""
    svc = live.services
    await svc.store.save(Attachment(key="report:test", name="bao-cao.csv", data=b"x" * 8_000_000))
    texts = [f"tin nhắn {n}" for n in range(25)]
    rows = [file_to_staff(svc, "report:test", "Báo cáo"), *[to_staff(svc, text) for text in texts]]
    await svc.outbox.post(live.app.bot, svc, *rows)
    await live.settle(timeout=60)
    assert [t for t in bot_texts(live, STAFF_CHAT_ID) if t.startswith("tin nhắn")] == texts
    assert live.emulator.rate_limited == []


async def test_a_holder_follows_two_tickets_in_their_private_chat_and_answers_each_user(live):
    vi_ticket = await open_ticket(live, VI_USER, language_code="vi")
    tw_ticket = await open_ticket(live, TW_USER, language_code="zh-tw", via_menu=True, answers=TW_FORM)
    live.emulator.user(STAFF_ID, "Lan", "vi")
    await staff_dm(live, "/mirror")
    assert bot_texts(live, STAFF_ID)[-1] == STAFF(
        "The conversations of the tickets you hold now come to this chat. Reply to a user's message to answer it; "
        "the ticket's topic shows the latest messages on its card. /mirror again stops this."
    )
    await claim(live, vi_ticket)
    await claim(live, tw_ticket)
    cards = [t for t in bot_texts(live, STAFF_ID) if STAFF(FOLLOWING) in t]
    assert len(cards) == 2 and "0912 345 678" in cards[0] and "mei.lin@example.com.tw" in cards[1]  # each ticket's card

    in_topic = len(topic_messages(live, vi_ticket))
    await say(live, VI_USER, "Cho tôi hỏi giá chuyển giao <b>công nghệ</b>")
    await say(live, TW_USER, "請問技術轉移的費用")
    vi_copy, tw_copy = headed(live, vi_ticket)[-1], headed(live, tw_ticket)[-1]
    assert (
        vi_copy["text"] == f"💬 #{vi_ticket.id} · Nguyễn Thị Hoa\nCho tôi hỏi giá chuyển giao <b>công nghệ</b>"
    )  # as written
    assert tw_copy["text"] == f"💬 #{tw_ticket.id} · 林美華\n請問技術轉移的費用"
    assert len(topic_messages(live, vi_ticket)) == in_topic  # nothing of it spent the group's budget

    # two tickets followed: a message that replies to neither is not guessed, and nothing is sent
    to_vi = last_id(live, VI_USER)
    await staff_dm(live, "Giá khoảng 2 tỷ")
    assert bot_texts(live, STAFF_ID)[-1] == STAFF(UNCLEAR)
    assert bot_texts(live, VI_USER, since=to_vi) == []

    await staff_dm(live, "Khoảng 2 tỷ đồng, đã gồm đào tạo.", reply_to=vi_copy["message_id"])
    await staff_dm(live, "大約新台幣兩百萬元。", reply_to=tw_copy["message_id"])
    assert bot_texts(live, VI_USER)[-1] == "Khoảng 2 tỷ đồng, đã gồm đào tạo."
    vi_answer = live.emulator.messages(VI_USER, from_bot=True)[-1]
    assert vi_answer["reply_to_message"]["text"].startswith("Cho tôi hỏi giá")  # under the question it answers
    assert bot_texts(live, TW_USER)[-1] == "大約新台幣兩百萬元。"

    # the user's correction reaches the holder under the copy it corrects
    question = next(m for m in live.emulator.messages(VI_USER) if (m.get("text") or "").startswith("Cho tôi hỏi giá"))
    await live.emulator.edit_text(VI_USER, question, "Cho tôi hỏi giá chuyển giao và bảo hành")
    await live.settle()
    edited = live.emulator.messages(STAFF_ID, from_bot=True)[-1]
    assert "bảo hành" in edited["text"] and edited["reply_to_message"]["message_id"] == vi_copy["message_id"]

    # the topic's card shows the conversation, once the latest activity is due
    await asyncio.sleep(70 * live.time_scale)
    await live.settle()
    card = next(m for m in topic_messages(live, vi_ticket) if is_card(m, vi_ticket))
    assert "👤 Cho tôi hỏi giá chuyển giao" in card["text"] and "🙋 Khoảng 2 tỷ đồng" in card["text"]
    assert (
        STAFF("The conversation goes on in their private chat with the bot; the last messages show here.")
        in card["text"]
    )


async def test_one_followed_ticket_takes_every_message_until_mirror_is_turned_off(live):
    ticket = await open_ticket(live, VI_USER, language_code="vi")
    await claim(live, ticket)
    live.emulator.user(STAFF_ID, "Lan", "vi")
    await staff_dm(live, "/mirror")  # already holding the ticket: it is followed from now on
    assert (await live.services.store.ticket(ticket.id)).mirror_chat == STAFF_ID

    await say(live, VI_USER, "Bên cung cấp ở nước nào?")
    assert headed(live, ticket)[-1]["text"].endswith("Bên cung cấp ở nước nào?")
    await staff_dm(live, "Đài Loan ạ.")  # the only ticket followed: no reply needed
    assert bot_texts(live, VI_USER)[-1] == "Đài Loan ạ."

    await staff_dm(live, "/mirror")
    assert (await live.services.store.ticket(ticket.id)).mirror_chat is None
    await say(live, VI_USER, "Cảm ơn, tôi sẽ chờ.")
    topic = [m.get("text") for m in topic_messages(live, ticket)]
    assert "Cảm ơn, tôi sẽ chờ." in topic  # back in the topic
    assert not headed(live, ticket)[-1]["text"].endswith("Cảm ơn, tôi sẽ chờ.")
    rows = await live.services.store.rows(Outgoing, Outgoing.status != "sent")
    assert rows == []


async def test_mirror_is_for_staff_and_only_in_a_private_chat(live):
    live.emulator.user(VI_USER, "Hoa", "vi")
    await say(live, VI_USER, "/mirror")
    assert bot_texts(live, VI_USER)[-1] == VI("This command is for department staff.")
    await live.emulator.send_text(STAFF_ID, "/mirror", chat_id=STAFF_CHAT_ID)
    await live.settle()
    assert bot_texts(live, STAFF_CHAT_ID)[-1] == STAFF("Send /mirror in your private chat with me.")
