"""The handoff to department staff, end to end: the real bot polling the Bot API emulator.

Every scenario drives simulated Telegram users and a staff member through the emulator and
checks what each side sees (compared with the catalogue translations, which are still being
written) and the rows the bot keeps in its database.
"""

from __future__ import annotations

import csv
import io
from zoneinfo import ZoneInfo

import pytest
from support import (
    OTHER_USER,
    STAFF,
    TW,
    TW_FORM,
    TW_USER,
    VI,
    VI_FORM,
    VI_USER,
    bot_texts,
    claim,
    copies_to_staff,
    deliver_waiting,
    fill,
    is_card,
    joined,
    last_id,
    newest_with,
    open_ticket,
    press_form,
    restart,
    say,
    search_count,
    sent,
    staff_says,
    start_form,
    topic_messages,
)

from bot.contact import HINTS, PROMPTS
from bot.db import STAGES, Relay
from bot.demo import STAFF_CHAT_ID, STAFF_ID, buttons
from bot.handlers.staff.tickets import CANNED
from bot.i18n import LANGUAGE_NAMES
from bot.render import when
from bot.reporting import STAGE_LABELS

pytestmark = pytest.mark.both_databases

# ----------------------------------------------------------------------------- opening tickets


async def test_two_users_in_two_languages_each_get_their_own_topic(live):
    vi_ticket = await open_ticket(live, VI_USER, language_code="vi")
    tw_ticket = await open_ticket(live, TW_USER, language_code="zh-tw", via_menu=True, answers=TW_FORM)

    assert (vi_ticket.language, tw_ticket.language) == ("vi", "zh-Hant")
    assert vi_ticket.topic_id != tw_ticket.topic_id
    first_hit = (await live.services.store.latest_search(VI_USER)).hits[0][0]
    assert vi_ticket.entries == [first_hit] and tw_ticket.entries == []  # a result vs. "Talk to staff"
    assert vi_ticket.consent_at is not None and tw_ticket.consent_at is not None
    assert vi_ticket.contact == dict(zip(("name", "organisation", "role", "reach", "purpose"), VI_FORM))
    topics = {c["name"]: c for c in live.emulator.calls_to("createForumTopic")}
    names = sorted(topics)
    assert len(names) == 2
    assert names[0].startswith(f"#{vi_ticket.id} · vi") and names[1] == f"#{tw_ticket.id} · zh-Hant"

    # each user is told "sent" in their own language, with the ticket number
    assert any(t.startswith(sent("vi", vi_ticket.id)) for t in bot_texts(live, VI_USER))
    assert any(t.startswith(sent("zh-Hant", tw_ticket.id)) for t in bot_texts(live, TW_USER))
    assert sent("vi", vi_ticket.id) != sent("zh-Hant", tw_ticket.id)

    # the summary card opens each topic, in the staff language, with the user's details
    vi_card, tw_card = topic_messages(live, vi_ticket)[0], topic_messages(live, tw_ticket)[0]
    assert is_card(vi_card, vi_ticket) and is_card(tw_card, tw_ticket)
    assert STAFF("Ticket #{number}").format(number=vi_ticket.id) in vi_card["text"]
    assert (
        LANGUAGE_NAMES["vi"] in vi_card["text"] and "0912 345 678" in vi_card["text"] and first_hit in vi_card["text"]
    )
    assert LANGUAGE_NAMES["zh-Hant"] in tw_card["text"] and "mei.lin@example.com.tw" in tw_card["text"]
    assert "林美華" in tw_card["text"] and "林美華" not in vi_card["text"]
    consent = when(
        vi_ticket.consent_at, "vi", ZoneInfo(live.services.settings.office_hours.zone)
    )  # Vietnam time, in words
    assert (
        STAFF("Consent to share these details given {when}").format(when=consent) in vi_card["text"]
        and "UTC" not in vi_card["text"]
    )

    # while both are open, each user's messages go to their own topic only
    await say(live, VI_USER, "Cho tôi hỏi giá chuyển giao")
    await say(live, TW_USER, "請問技術轉移的費用")
    vi_topic = [m.get("text") for m in topic_messages(live, vi_ticket)]
    tw_topic = [m.get("text") for m in topic_messages(live, tw_ticket)]
    assert "Cho tôi hỏi giá chuyển giao" in vi_topic and "請問技術轉移的費用" not in vi_topic
    assert "請問技術轉移的費用" in tw_topic and "Cho tôi hỏi giá chuyển giao" not in tw_topic


async def test_bad_phone_or_email_gets_a_hint_and_the_form_waits(live):
    await start_form(live, VI_USER, "Hoa", "vi")
    await fill(live, VI_USER, VI_FORM[:3])
    for bad in ("gọi tôi nhé", "12345", "hoa@congty"):
        mark = last_id(live, VI_USER)
        await say(live, VI_USER, bad)
        replies = [m for m in live.emulator.messages(VI_USER, from_bot=True) if m["message_id"] > mark]
        assert [m["text"] for m in replies] == [VI(HINTS["reach"])], bad
        assert {b["callback_data"].rsplit(":", 1)[1] for b in buttons(replies[0])} == {"back", "cancel"}
    ticket = await live.services.store.newest_ticket(VI_USER)
    assert ticket.status == "collecting" and ticket.step == "reach" and "reach" not in ticket.contact

    await say(live, VI_USER, "hoa@cathai.com.vn")
    ticket = await live.services.store.newest_ticket(VI_USER)
    assert ticket.contact["reach"] == "hoa@cathai.com.vn" and ticket.step == "purpose"
    assert bot_texts(live, VI_USER)[-1] == VI(PROMPTS["purpose"])


async def test_back_returns_to_the_previous_question_and_cancel_sends_nothing(live):
    await start_form(live, VI_USER, "Hoa", "vi")
    await fill(live, VI_USER, VI_FORM[:2])
    assert bot_texts(live, VI_USER)[-1] == VI(PROMPTS["role"])
    await press_form(live, VI_USER, "back")
    assert (
        bot_texts(live, VI_USER)[-1].startswith(VI(PROMPTS["organisation"]))
        and VI_FORM[1] in bot_texts(live, VI_USER)[-1]
    )
    ticket = await live.services.store.newest_ticket(VI_USER)
    assert ticket.step == "organisation"

    await say(live, VI_USER, "Hợp tác xã Đồ Sơn")
    ticket = await live.services.store.newest_ticket(VI_USER)
    assert ticket.contact["organisation"] == "Hợp tác xã Đồ Sơn" and ticket.step == "role"

    await press_form(live, VI_USER, "cancel")
    assert bot_texts(live, VI_USER)[-1] == VI("Cancelled. Nothing was sent to staff.")
    ticket = await live.services.store.newest_ticket(VI_USER)
    assert ticket.status == "cancelled" and ticket.topic_id is None
    assert live.emulator.messages(STAFF_CHAT_ID) == [] and live.emulator.calls_to("createForumTopic") == []

    # afterwards free text is a search again, not a form answer
    searches = await search_count(live, VI_USER)
    await say(live, VI_USER, "máy sấy nông sản")
    assert await search_count(live, VI_USER) == searches + 1
    assert (await live.services.store.newest_ticket(VI_USER)).contact.get("role") is None
    assert live.emulator.messages(STAFF_CHAT_ID) == []


async def test_nothing_reaches_staff_before_i_agree(live):
    await start_form(live, VI_USER, "Hoa", "vi")
    await fill(live, VI_USER, VI_FORM)
    confirmation = live.emulator.messages(VI_USER, from_bot=True)[-1]
    assert VI("Please check your details") in confirmation["text"]
    assert all(value in confirmation["text"] for value in VI_FORM)
    await say(live, VI_USER, "gửi luôn đi")  # words are no consent
    assert bot_texts(live, VI_USER)[-1] == VI("Please use the buttons above.")
    ticket = await live.services.store.newest_ticket(VI_USER)
    assert ticket.status == "collecting" and ticket.consent_at is None and ticket.topic_id is None
    assert live.emulator.calls_to("createForumTopic") == [] and live.emulator.messages(STAFF_CHAT_ID) == []
    assert await live.services.store.relays() == []

    agree = next(b for b in buttons(confirmation) if b["callback_data"].endswith(":agree"))
    await live.emulator.press(VI_USER, confirmation, agree["callback_data"])
    await live.settle()
    ticket = await live.services.store.newest_ticket(VI_USER)
    assert ticket.status == "open" and ticket.consent_at is not None
    assert len(live.emulator.calls_to("createForumTopic")) == 1
    assert "gửi luôn đi" not in [m.get("text") for m in live.emulator.messages(STAFF_CHAT_ID)]


# ----------------------------------------------------------------------------- claim and relay


async def test_claim_tells_the_user_in_their_language(live):
    ticket = await open_ticket(live, TW_USER, language_code="zh-tw", via_menu=True, answers=TW_FORM)
    mark = last_id(live, TW_USER)
    ticket = await claim(live, ticket)

    assert (ticket.status, ticket.claimed_by, ticket.claimed_name, ticket.bot_answers) == (
        "claimed",
        STAFF_ID,
        "Lan",
        False,
    )
    assert bot_texts(live, TW_USER, since=mark) == [joined("zh-Hant")]
    assert joined("zh-Hant") != joined("en")  # really translated, not the English msgid
    card = topic_messages(live, ticket)[0]
    assert STAFF("Claimed by {name}").format(name="Lan") in card["text"]
    assert live.emulator.callback_answers[-1].get("text") == STAFF("You hold this ticket now.")


async def test_user_text_and_photo_reach_the_topic_and_staff_text_reaches_the_user(live):
    ticket = await open_ticket(live)
    await say(live, VI_USER, "Hệ thống này nuôi được bao nhiêu tấn?")
    photo = await live.emulator.send_media(
        VI_USER, "photo", caption="Ảnh ao nuôi của chúng tôi", content=b"\xff\xd8 pond"
    )
    await live.settle()

    copies = copies_to_staff(live)
    assert [c["from_chat_id"] for c in copies] == [VI_USER, VI_USER]
    assert {c["message_thread_id"] for c in copies} == {ticket.topic_id}
    assert copies[1]["message_id"] == photo["message_id"]
    relayed = topic_messages(live, ticket)[1:]
    assert relayed[0]["text"] == "Hệ thống này nuôi được bao nhiêu tấn?"
    assert "photo" in relayed[1] and relayed[1]["caption"] == "Ảnh ao nuôi của chúng tôi"
    # the photo is for staff: no "I can only read text" answer
    assert VI(
        "I can only read text. Describe the technology you need or offer in a few words, or use /start for the menu."
    ) not in bot_texts(live, VI_USER)
    rows = await live.services.store.relays(Relay.direction == "to_staff")
    assert [(r.text, r.target_message_id) for r in rows] == [
        ("Hệ thống này nuôi được bao nhiêu tấn?", relayed[0]["message_id"]),
        ("Ảnh ao nuôi của chúng tôi", relayed[1]["message_id"]),
    ]

    mark = last_id(live, VI_USER)
    await staff_says(live, "Chào chị Hoa, khoảng 50 tấn mỗi năm.", ticket)
    assert bot_texts(live, VI_USER, since=mark) == [joined("vi"), "Chào chị Hoa, khoảng 50 tấn mỗi năm."]
    back = await live.services.store.relays(Relay.direction == "to_user")
    assert len(back) == 1 and back[0].target_message_id is not None
    assert (await live.services.store.ticket(ticket.id)).claimed_by == STAFF_ID  # writing claims it


async def test_follow_up_after_claim_reaches_staff_and_gets_no_search_results(live):
    ticket = await claim(live, await open_ticket(live))
    searches = await search_count(live, VI_USER)
    mark = last_id(live, VI_USER)
    await say(live, VI_USER, "máy sấy nông sản năng lượng mặt trời")

    assert topic_messages(live, ticket)[-1]["text"] == "máy sấy nông sản năng lượng mặt trời"
    assert bot_texts(live, VI_USER, since=mark) == []  # the human holds it: the bot stays quiet
    assert await search_count(live, VI_USER) == searches


async def test_internal_note_is_not_relayed_to_the_user(live):
    ticket = await open_ticket(live)
    mark = last_id(live, VI_USER)
    copies = len(live.emulator.calls_to("copyMessage"))
    await staff_says(live, "/note khách hàng tiềm năng, ưu tiên", ticket)

    assert bot_texts(live, STAFF_CHAT_ID, thread_id=ticket.topic_id)[-1] == "📝 " + STAFF(
        "Internal note saved; the user does not see it."
    )
    assert bot_texts(live, VI_USER, since=mark) == []
    assert len(live.emulator.calls_to("copyMessage")) == copies
    notes = await live.services.store.relays(Relay.direction == "note")
    assert [(n.ticket_id, n.text) for n in notes] == [(ticket.id, "khách hàng tiềm năng, ưu tiên")]
    assert await live.services.store.relays(Relay.direction == "to_user") == []
    assert (await live.services.store.ticket(ticket.id)).status == "open"  # a note does not claim


async def test_canned_reply_arrives_in_the_users_language(live):
    ticket = await open_ticket(live, TW_USER, language_code="zh-tw", via_menu=True, answers=TW_FORM)
    await staff_says(live, "/reply", ticket)
    menu, _ = newest_with(live, STAFF_CHAT_ID, f"cr:{ticket.id}:", thread_id=ticket.topic_id)
    assert [b["callback_data"] for b in buttons(menu)] == [f"cr:{ticket.id}:{key}" for key in CANNED]
    assert buttons(menu)[0]["text"].startswith(STAFF(CANNED["hello"])[:30])  # labels in the staff language

    mark = last_id(live, TW_USER)
    await live.emulator.press(STAFF_ID, menu, f"cr:{ticket.id}:contacting")
    await live.settle()
    expected = TW(CANNED["contacting"])
    assert expected != CANNED["contacting"]
    assert bot_texts(live, TW_USER, since=mark) == [joined("zh-Hant"), expected]
    edited = next(m for m in live.emulator.messages(STAFF_CHAT_ID) if m["message_id"] == menu["message_id"])
    assert edited["text"] == "📤 " + STAFF("Sent to the user: {text}").format(text=expected)


async def test_staff_hear_once_when_they_write_in_a_language_the_user_does_not_read(live):
    ticket = await open_ticket(live, TW_USER, language_code="zh-tw", via_menu=True, answers=TW_FORM)
    notice = "🌐 " + STAFF(
        "This user reads {language}, and your message does not look written in it. It was sent as "
        "written; /reply has ready-made replies in their language."
    ).format(language=LANGUAGE_NAMES["zh-Hant"])
    written = [
        "Chào chị Mei, chúng tôi sẽ liên hệ đối tác ngay.",
        "Chị cho biết thêm quy mô nuôi nhé.",  # staff were told already
        "您好，我們會盡快聯絡合作夥伴。",  # in the user's language
        "Cảm ơn chị rất nhiều.",  # after writing in the user's language: told again
    ]
    mark = last_id(live, TW_USER)
    for text in written:
        await staff_says(live, text, ticket)
    assert bot_texts(live, TW_USER, since=mark) == [joined("zh-Hant"), *written]  # all sent, as written, in order
    topic = bot_texts(live, STAFF_CHAT_ID, thread_id=ticket.topic_id)
    assert topic.count(notice) == 2
    assert "This user reads" not in notice  # in the staff language


async def test_bot_command_hands_the_user_back_to_search(live):
    ticket = await claim(live, await open_ticket(live))
    mark = last_id(live, VI_USER)
    await staff_says(live, "/bot", ticket)
    assert bot_texts(live, VI_USER, since=mark) == [
        VI("You are back with the assistant: write what you are looking for. Staff still see this conversation.")
    ]
    assert bot_texts(live, STAFF_CHAT_ID, thread_id=ticket.topic_id)[-1] == "🤖 " + STAFF(
        "The assistant answers the user again."
    )
    ticket = await live.services.store.ticket(ticket.id)
    assert (ticket.status, ticket.claimed_by, ticket.bot_answers) == ("open", None, True)

    searches = await search_count(live, VI_USER)
    mark = last_id(live, VI_USER)
    await say(live, VI_USER, "máy sấy nông sản")
    assert await search_count(live, VI_USER) == searches + 1
    answer = [m for m in live.emulator.messages(VI_USER, from_bot=True) if m["message_id"] > mark]
    assert len(answer) == 1 and answer[0]["text"].startswith(
        VI("Results for “{query}”").format(query="máy sấy nông sản")
    )
    assert topic_messages(live, ticket)[-1]["text"] == "máy sấy nông sản"  # staff still see it


async def test_close_then_the_user_writes_again_reopens_the_ticket(live):
    ticket = await claim(live, await open_ticket(live))
    mark = last_id(live, VI_USER)
    await staff_says(live, "/close", ticket)
    closed = await live.services.store.ticket(ticket.id)
    assert closed.status == "resolved" and closed.closed_at is not None
    assert bot_texts(live, VI_USER, since=mark) == [
        VI(
            "This conversation with staff is closed. Write again within {days} days to reopen it; "
            "otherwise I am back to searching for you."
        ).format(days=7)
    ]
    assert [c["message_thread_id"] for c in live.emulator.calls_to("closeForumTopic")] == [ticket.topic_id]
    assert buttons(topic_messages(live, ticket)[0]) == []  # the card lost Claim / Close

    await say(live, VI_USER, "Tôi còn một câu hỏi nữa")
    reopened = await live.services.store.ticket(ticket.id)
    assert reopened.status == "claimed" and reopened.claimed_by == STAFF_ID  # the same holder carries on
    assert reopened.closed_at is None and reopened.topic_id == ticket.topic_id
    assert [c["message_thread_id"] for c in live.emulator.calls_to("reopenForumTopic")] == [ticket.topic_id]
    texts = [m.get("text") for m in topic_messages(live, ticket)]
    assert texts[-2:] == ["🔄 " + STAFF("Reopened: the user wrote again."), "Tôi còn một câu hỏi nữa"]
    assert await live.services.store.active_ticket(VI_USER) is not None
    assert len(await live.services.store.tickets()) == 1  # the same ticket, not a new one


async def test_after_reopening_a_staff_reply_silences_the_bot_again(live):
    ticket = await claim(live, await open_ticket(live))
    await staff_says(live, "/close", ticket)
    await say(live, VI_USER, "Tôi còn một câu hỏi nữa")
    await staff_says(live, "Vâng, chị cứ hỏi.", ticket)
    searches = await search_count(live, VI_USER)
    mark = last_id(live, VI_USER)
    await say(live, VI_USER, "giá chuyển giao công nghệ là bao nhiêu")
    assert bot_texts(live, VI_USER, since=mark) == []
    assert await search_count(live, VI_USER) == searches
    ticket = await live.services.store.ticket(ticket.id)
    assert ticket.status == "claimed" and ticket.bot_answers is False


# ----------------------------------------------------------------------------- failures


async def test_deleted_topic_is_replaced_and_nothing_is_lost(live):
    ticket = await open_ticket(live)
    await say(live, VI_USER, "Tin nhắn đầu tiên")
    live.emulator.delete_topic(STAFF_CHAT_ID, ticket.topic_id)
    mark = last_id(live, VI_USER)
    await say(live, VI_USER, "Tin nhắn sau khi xoá chủ đề")

    fresh = await live.services.store.ticket(ticket.id)
    assert fresh.topic_id not in (None, ticket.topic_id)
    assert len(live.emulator.calls_to("createForumTopic")) == 2
    messages = topic_messages(live, fresh)
    assert is_card(messages[0], fresh) and fresh.card_message_id == messages[0]["message_id"]
    assert "Tin nhắn đầu tiên" in messages[0]["text"]  # earlier messages are summarised on the new card
    assert messages[-1]["text"] == "Tin nhắn sau khi xoá chủ đề"
    relay = (await live.services.store.relays(Relay.direction == "to_staff"))[-1]
    assert relay.target_message_id == messages[-1]["message_id"]
    assert VI(
        "Our staff cannot be reached right now. Your message is kept and will reach them as soon as possible."
    ) not in bot_texts(live, VI_USER, since=mark)

    # staff go on in the new topic
    mark = last_id(live, VI_USER)
    await staff_says(live, "Đã nhận, cảm ơn chị.", fresh)
    assert bot_texts(live, VI_USER, since=mark)[-1] == "Đã nhận, cảm ơn chị."


async def test_a_closed_tickets_deleted_topic_is_replaced_when_the_user_writes_again(live):
    ticket = await open_ticket(live)
    await staff_says(live, "/close", ticket)
    live.emulator.delete_topic(STAFF_CHAT_ID, ticket.topic_id)
    await say(live, VI_USER, "Tôi hỏi lại sau một tuần")

    fresh = await live.services.store.ticket(ticket.id)
    assert fresh.status == "open" and fresh.topic_id not in (None, ticket.topic_id)
    texts = [m.get("text") for m in topic_messages(live, fresh)]
    assert is_card(topic_messages(live, fresh)[0], fresh)
    assert texts[1:] == ["🔄 " + STAFF("Reopened: the user wrote again."), "Tôi hỏi lại sau một tuần"]


async def test_closing_the_ticket_of_a_user_who_blocked_the_bot(live):
    ticket = await claim(live, await open_ticket(live))
    live.emulator.block(VI_USER)
    await staff_says(live, "/close", ticket)
    assert (await live.services.store.ticket(ticket.id)).status == "resolved"
    assert buttons(topic_messages(live, ticket)[0]) == []
    assert "⚠️ " + STAFF("The user has blocked the bot; this was not delivered.") in bot_texts(
        live, STAFF_CHAT_ID, thread_id=ticket.topic_id
    )


async def test_unreachable_staff_group_keeps_the_message_until_it_can_be_delivered(live):
    ticket = await claim(live, await open_ticket(live))  # claimed: the bot does not search the text
    live.emulator.set_unreachable(STAFF_CHAT_ID)
    mark = last_id(live, VI_USER)
    message = await say(live, VI_USER, "Chị cần gặp trực tiếp tuần sau")

    kept = VI("Our staff cannot be reached right now. Your message is kept and will reach them as soon as possible.")
    assert bot_texts(live, VI_USER, since=mark) == [kept]
    rows = await live.services.store.relays(Relay.direction == "to_staff")
    assert [(r.source_message_id, r.target_message_id) for r in rows] == [(message["message_id"], None)]
    assert "Chị cần gặp trực tiếp tuần sau" not in [m.get("text") for m in topic_messages(live, ticket)]

    live.emulator.set_unreachable(STAFF_CHAT_ID, False)
    await deliver_waiting(live)
    delivered = topic_messages(live, ticket)[-1]
    assert delivered["text"] == "Chị cần gặp trực tiếp tuần sau"
    row = (await live.services.store.relays(Relay.direction == "to_staff"))[0]
    assert row.target_message_id == delivered["message_id"]
    await deliver_waiting(live)  # delivered once only
    assert [m.get("text") for m in topic_messages(live, ticket)].count("Chị cần gặp trực tiếp tuần sau") == 1
    assert len(copies_to_staff(live)) == 2  # the attempt refused with 403, then the delivery


async def test_unreachable_staff_group_at_consent_saves_the_ticket_and_sends_it_later(live):
    live.emulator.set_unreachable(STAFF_CHAT_ID)
    await start_form(live, VI_USER, "Hoa", "vi")
    await fill(live, VI_USER, VI_FORM)
    await press_form(live, VI_USER, "agree")
    ticket = await live.services.store.newest_ticket(VI_USER)
    texts = bot_texts(live, VI_USER)
    assert ticket.status == "open" and ticket.topic_id is None
    assert texts[-2].startswith(sent("vi", ticket.id))  # told at once, before the group is tried
    assert texts[-1] == VI(
        "Your request #{number} is saved, but our staff cannot be reached right now. "
        "It will reach them as soon as possible, and I will tell you."
    ).format(number=ticket.id)

    live.emulator.set_unreachable(STAFF_CHAT_ID, False)
    await deliver_waiting(live)
    ticket = await live.services.store.ticket(ticket.id)
    assert ticket.topic_id is not None and is_card(topic_messages(live, ticket)[0], ticket)
    assert bot_texts(live, VI_USER)[-1] == VI("Your request has now reached our staff. They will reply here.")


async def test_restart_between_two_messages_continues_the_ticket_without_duplicates(live):
    ticket = await claim(live, await open_ticket(live))
    before_user = await say(live, VI_USER, "Tin nhắn trước khi khởi động lại")
    before_staff = await staff_says(live, "Cán bộ trả lời trước khi khởi động lại", ticket)
    assert len(live.emulator.calls_to("copyMessage")) == 2

    await live.app.updater.stop()  # the bot goes down; the user writes meanwhile
    await live.emulator.send_text(VI_USER, "Tin nhắn lúc bot đang tắt")
    await restart(live)
    await live.settle()
    mark = last_id(live, VI_USER)
    await say(live, VI_USER, "Tin nhắn sau khi khởi động lại")
    await staff_says(live, "Cán bộ trả lời sau khi khởi động lại", ticket)
    # Telegram delivering updates again (a webhook retry, a second worker): they were relayed already
    for again in (before_user, before_staff):
        await live.emulator._enqueue("message", again)
    await live.settle()

    after = await live.services.store.ticket(ticket.id)
    assert (after.status, after.topic_id, after.claimed_by) == ("claimed", ticket.topic_id, STAFF_ID)
    user_texts = [m.get("text") for m in topic_messages(live, ticket) if m["from"]["id"] != STAFF_ID]
    assert user_texts[1:] == [
        "Tin nhắn trước khi khởi động lại",
        "Tin nhắn lúc bot đang tắt",
        "Tin nhắn sau khi khởi động lại",
    ]
    assert len(copies_to_staff(live)) == 3
    assert len([c for c in live.emulator.calls_to("copyMessage") if c["chat_id"] == VI_USER]) == 2
    assert bot_texts(live, VI_USER, since=mark) == [
        "Cán bộ trả lời sau khi khởi động lại"
    ]  # no search results, no repeats
    assert len(await live.services.store.relays()) == 5
    assert len(live.emulator.calls_to("createForumTopic")) == 1


async def test_staff_commands_are_refused_to_users(live):
    ticket = await open_ticket(live)
    live.emulator.user(OTHER_USER, "Tuấn", "vi")
    await say(live, OTHER_USER, "/start")
    for command in ("/open", "/stats", "/note xem hết vé", "/export"):
        mark = last_id(live, OTHER_USER)
        await say(live, OTHER_USER, command)
        assert bot_texts(live, OTHER_USER, since=mark) == [VI("This command is for department staff.")], command
    texts = "\n".join(bot_texts(live, OTHER_USER))
    assert f"#{ticket.id}" not in texts and "Nguyễn Thị Hoa" not in texts
    assert live.emulator.calls_to("sendDocument") == []
    assert await live.services.store.relays(Relay.direction == "note") == []


async def test_staff_command_as_first_message_is_refused_in_the_users_language(live):
    live.emulator.user(OTHER_USER, "Mei", "zh-tw")
    await say(live, OTHER_USER, "/stats")
    assert bot_texts(live, OTHER_USER) == [TW("This command is for department staff.")]


async def test_staff_export(live):
    vi_ticket = await open_ticket(live, VI_USER)
    tw_ticket = await open_ticket(live, TW_USER, language_code="zh-tw", via_menu=True, answers=TW_FORM)
    await claim(live, tw_ticket)
    await staff_says(live, "/introduce", vi_ticket)

    await live.emulator.send_text(STAFF_ID, "/export", chat_id=STAFF_CHAT_ID)
    await live.settle()
    documents = [m["document"] for m in live.emulator.messages(STAFF_CHAT_ID, from_bot=True) if "document" in m]
    assert [d["file_name"] for d in documents] == ["tickets.csv", "introductions.csv"]
    tables = []
    for document in documents:
        data = await (await live.app.bot.get_file(document["file_id"])).download_as_bytearray()
        tables.append(list(csv.DictReader(io.StringIO(bytes(data).decode("utf-8-sig")))))
    tickets, intros = tables
    assert [(r["ticket"], r["status"], r["language"], r["claimed_by"]) for r in tickets] == [
        (str(vi_ticket.id), "open", "vi", ""),
        (str(tw_ticket.id), "claimed", "zh-Hant", "Lan"),
    ]
    assert tickets[0]["reach"] == "0912 345 678" and tickets[1]["name"] == "林美華"
    assert tickets[0]["entries"] == vi_ticket.entries[0] and tickets[1]["entries"] == ""
    assert [(r["ticket"], r["entry"], r["stage"]) for r in intros] == [
        (str(vi_ticket.id), vi_ticket.entries[0], "introduced")
    ]


async def test_introduce_and_stage_record_the_outcome(live):
    ticket = await open_ticket(live)
    mark = last_id(live, VI_USER)
    await staff_says(live, "/introduce", ticket)
    intros = await live.services.store.introductions()
    assert [(i.ticket_id, i.record_id, i.stage, i.staff_id) for i in intros] == [
        (ticket.id, ticket.entries[0], "introduced", STAFF_ID)
    ]
    intro = intros[0]
    record = await live.services.catalog.get(ticket.entries[0])
    title = record.title.get("vi") or record.title[record.language]
    assert bot_texts(live, STAFF_CHAT_ID, thread_id=ticket.topic_id)[-1] == "🤝 " + STAFF(
        "Introduction #{number} recorded: {title}. Update it with /stage {number} meeting|negotiation|agreement|declined REASON"
    ).format(number=intro.id, title=title)
    (told,) = bot_texts(live, VI_USER, since=mark)  # whom they meet, and what happens next
    assert told.startswith("🤝 " + VI("Staff have introduced you to:") + "\n" + title + " · " + record.organization)
    assert told.endswith(VI("Staff will arrange a meeting; reply here to ask them anything."))

    await staff_says(live, f"/stage {intro.id} meeting", ticket)
    assert (await live.services.store.introduction(intro.id)).stage == "meeting"
    assert bot_texts(live, STAFF_CHAT_ID)[-1] == "📈 " + STAFF("Introduction #{number}: {stage}").format(
        number=intro.id, stage=STAFF("Meeting")
    )

    await staff_says(live, f"/stage {intro.id} declined", ticket)
    refused = await live.services.store.introduction(intro.id)
    assert (refused.stage, refused.reason) == ("meeting", None)
    usage = bot_texts(live, STAFF_CHAT_ID)[-1]
    assert usage.startswith(
        STAFF("Use /stage ID STAGE [reason], STAGE one of: {stages}; declined needs a reason.").split("{")[0]
    )
    assert all(
        STAFF(STAGE_LABELS[key]).lower() in usage and key in usage for key in STAGES
    )  # the staff's words, and the keywords

    await staff_says(live, f"/stage {intro.id} đàm phán", ticket)  # the stage in the staff language
    assert (await live.services.store.introduction(intro.id)).stage == "negotiation"
    await staff_says(live, f"/stage {intro.id} khong thanh giá quá cao", ticket)  # typed without diacritics
    declined = await live.services.store.introduction(intro.id)
    assert (declined.stage, declined.reason) == ("declined", "giá quá cao")


async def test_blocked_user_is_reported_to_staff_in_the_topic(live):
    ticket = await claim(live, await open_ticket(live))
    live.emulator.block(VI_USER)
    message = await staff_says(live, "Chị Hoa ơi, lịch họp thế nào?", ticket)

    warning = "⚠️ " + STAFF("The user has blocked the bot; this was not delivered.")
    replies = [
        m
        for m in topic_messages(live, ticket)
        if m["from"]["id"] != STAFF_ID and m["message_id"] > message["message_id"]
    ]
    assert [m["text"] for m in replies] == [warning]
    assert replies[0]["reply_to_message"]["message_id"] == message["message_id"]
    rows = await live.services.store.relays(Relay.direction == "to_user")
    assert [(r.text, r.target_message_id) for r in rows] == [("Chị Hoa ơi, lịch họp thế nào?", None)]
    assert "Chị Hoa ơi, lịch họp thế nào?" not in bot_texts(live, VI_USER)

    # a canned reply to a blocked user is reported the same way
    await staff_says(live, "/reply", ticket)
    menu, _ = newest_with(live, STAFF_CHAT_ID, f"cr:{ticket.id}:", thread_id=ticket.topic_id)
    await live.emulator.press(STAFF_ID, menu, f"cr:{ticket.id}:hello")
    await live.settle()
    assert bot_texts(live, STAFF_CHAT_ID, thread_id=ticket.topic_id)[-1] == warning
