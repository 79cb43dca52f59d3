"""What a message means: forms, tickets and searches never take each other's messages.

Each test replays a way users and staff really mixed them up, through the emulator over HTTP.
"""

from __future__ import annotations

from support import (
    VI,
    VI_FORM,
    VI_NEED,
    VI_USER,
    bot_texts,
    claim,
    fill,
    last_id,
    open_ticket,
    post,
    press,
    press_form,
    say,
    search_count,
    staff_press,
    staff_says,
    start_form,
    tap,
    topic_messages,
)

from bot.contact import PROMPTS
from bot.db import Search, Submission, Ticket
from bot.demo import STAFF_CHAT_ID, STAFF_ID, buttons
from bot.entry_form import PROMPTS as POST_PROMPTS
from bot.render import SEEKING_LABELS

NO_MATCH_PREFIX = VI("No good match")[:10]


async def test_an_unfinished_draft_does_not_capture_the_conversation_with_staff(live):
    live.emulator.user(VI_USER, "Hoa", "vi")
    await say(live, VI_USER, "/post")
    await press(live, VI_USER, "need")
    await say(live, VI_USER, VI_NEED["title"])  # the draft now waits for the English title
    ticket = await open_ticket(live)

    await say(live, VI_USER, "Chào anh, tôi cần báo giá hệ thống")
    assert "Chào anh, tôi cần báo giá hệ thống" in [m.get("text") for m in topic_messages(live, ticket)]
    draft = await live.services.store.newest(Submission, Submission.user_id == VI_USER)
    assert draft.status == "drafting" and "title_en" not in draft.draft  # kept, untouched, resumable
    await say(live, VI_USER, "/post")
    await press(live, VI_USER, "need")
    assert "resume" in [
        b["callback_data"].rsplit(":", 1)[1] for b in buttons(live.emulator.messages(VI_USER, from_bot=True)[-1])
    ]


async def test_a_pending_reason_does_not_swallow_a_ticket_reply(live):
    ticket = await claim(live, await open_ticket(live))
    await post(live, 611, "request", VI_NEED, "vi")
    await staff_press(live, "no")
    await staff_press(live, "r-type")

    await staff_says(live, "Chào chị Hoa, tôi đã nhận yêu cầu", ticket)
    assert "Chào chị Hoa, tôi đã nhận yêu cầu" in [m.get("text") for m in live.emulator.messages(VI_USER)]
    submission = await live.services.store.newest(Submission, Submission.user_id == 611)
    assert submission.status == "pending" and submission.reason is None
    assert not any("Chào chị Hoa" in t for t in bot_texts(live, 611))


async def test_messages_in_an_open_ticket_go_to_staff_only_also_after_a_reopen(live):
    ticket = await open_ticket(live)
    searches = await search_count(live, VI_USER)
    mark = last_id(live, VI_USER)
    await say(live, VI_USER, "máy cho tôm ăn tự động")
    assert bot_texts(live, VI_USER, since=mark) == []  # reached staff; no search answer on top
    assert await search_count(live, VI_USER) == searches

    await staff_says(live, "/close", ticket)
    mark = last_id(live, VI_USER)
    await say(live, VI_USER, "Tôi muốn hỏi thêm về giá")
    texts = [m.get("text") for m in topic_messages(live, ticket)]
    assert texts[-1] == "Tôi muốn hỏi thêm về giá"
    assert not any(t.startswith(NO_MATCH_PREFIX) for t in bot_texts(live, VI_USER, since=mark))
    assert await search_count(live, VI_USER) == searches


async def test_a_command_leaves_a_form_and_the_next_text_is_a_search(live):
    await start_form(live, VI_USER, "Hoa", "vi", via_menu=True)  # the form asks for the name
    await say(live, VI_USER, "/start")
    searches = await search_count(live, VI_USER)
    await say(live, VI_USER, "máy sấy nông sản")
    assert await search_count(live, VI_USER) == searches + 1
    ticket = await live.services.store.newest_ticket(VI_USER)
    assert ticket.status == "collecting" and "name" not in ticket.contact

    await tap(live, VI_USER, "menu:staff")  # the same form, where it was
    assert bot_texts(live, VI_USER)[-1].startswith(VI(PROMPTS["name"]))
    await say(live, VI_USER, VI_FORM[0])
    assert (await live.services.store.ticket(ticket.id)).contact["name"] == VI_FORM[0]


async def test_an_abandoned_posting_does_not_take_a_later_search(live):
    live.emulator.user(VI_USER, "Hoa", "vi")
    await say(live, VI_USER, "/start")
    await tap(live, VI_USER, "menu:need")
    assert bot_texts(live, VI_USER)[-1].startswith(VI(POST_PROMPTS[("request", "title")]))
    await tap(live, VI_USER, "menu:find")  # the menu: the draft is kept
    await say(live, VI_USER, "cảm biến oxy hòa tan")
    draft = await live.services.store.newest(Submission, Submission.user_id == VI_USER)
    assert draft.draft.get("title") is None
    assert (await live.services.store.latest_search(VI_USER)).query == "cảm biến oxy hòa tan"


async def test_find_partners_applies_to_the_next_search_only(live):
    live.emulator.user(VI_USER, "Hoa", "vi")
    await say(live, VI_USER, "/start")
    await tap(live, VI_USER, "menu:partners")
    await say(live, VI_USER, "cảm biến chất lượng nước")
    assert (await live.services.store.latest_search(VI_USER)).kind == "request"
    await say(live, VI_USER, "hệ thống tưới nhỏ giọt")
    assert (await live.services.store.latest_search(VI_USER)).kind is None

    await tap(live, VI_USER, "menu:partners")
    await say(live, VI_USER, "/start")
    await say(live, VI_USER, "máy sấy")
    assert (await live.services.store.latest_search(VI_USER)).kind is None


async def test_a_staff_edit_to_a_mention_posts_no_search_in_the_staff_group(live):
    ticket = await claim(live, await open_ticket(live))
    message = await staff_says(live, "Chị chờ chút nhé", ticket)
    before = len(live.emulator.messages(STAFF_CHAT_ID, from_bot=True))
    live.emulator.user(STAFF_ID, "Lan", "vi")
    await live.emulator.edit_text(STAFF_ID, message, f"@{live.app.bot.username} máy sấy nông sản")
    await live.settle()
    assert len(live.emulator.messages(STAFF_CHAT_ID, from_bot=True)) == before
    async with live.services.store.session() as session:
        assert (await session.get(Search, 1)) is None or all(
            s.user_id != STAFF_ID for s in await live.services.store.rows(Search)
        )


# ----------------------------------------------------------------------------- forms


async def test_edit_details_lets_the_user_fix_any_one_field(live):
    await start_form(live, VI_USER, "Hoa", "vi")
    await fill(live, VI_USER, VI_FORM[:3] + ["0912 000 000"] + VI_FORM[4:])
    await press_form(live, VI_USER, "edit")
    await press_form(live, VI_USER, "e-reach")
    prompt = bot_texts(live, VI_USER)[-1]
    assert prompt.startswith(VI(PROMPTS["reach"])) and "0912 000 000" in prompt  # the current answer is shown
    await say(live, VI_USER, "0912 345 678")
    ticket = await live.services.store.newest_ticket(VI_USER)
    assert ticket.step == "confirm" and ticket.contact["reach"] == "0912 345 678"
    assert ticket.contact["name"] == VI_FORM[0] and ticket.contact["purpose"] == VI_FORM[4]


async def test_details_of_a_cancelled_form_are_not_reused(live):
    await start_form(live, VI_USER, "Hoa", "vi")
    await fill(live, VI_USER, VI_FORM[:3] + ["0999 999 999"])
    await press_form(live, VI_USER, "cancel")
    await tap(live, VI_USER, "intr:")
    assert bot_texts(live, VI_USER)[-1].startswith(VI(PROMPTS["name"]))  # asked again, nothing carried over
    ticket = await live.services.store.newest_ticket(VI_USER)
    assert ticket.contact == {}


async def test_back_shows_the_answer_given_and_keep_it_moves_on(live):
    await start_form(live, VI_USER, "Hoa", "vi")
    await fill(live, VI_USER, VI_FORM[:2])
    await press_form(live, VI_USER, "back")
    assert VI_FORM[1] in bot_texts(live, VI_USER)[-1]
    await press_form(live, VI_USER, "keep")
    assert bot_texts(live, VI_USER)[-1] == VI(PROMPTS["role"])


async def test_a_typed_button_label_answers_a_button_step(live):
    live.emulator.user(VI_USER, "Hoa", "vi")
    await say(live, VI_USER, "/post")
    await press(live, VI_USER, "need")
    await say(live, VI_USER, VI_NEED["title"])
    await say(live, VI_USER, VI_NEED["title_en"])
    await say(live, VI_USER, VI_NEED["description"])
    await say(live, VI_USER, VI(SEEKING_LABELS["technology"]))  # a whole label typed
    await say(live, VI_USER, "thủy sản")  # the words of one sector button, typed (any case)
    draft = await live.services.store.newest(Submission, Submission.user_id == VI_USER)
    assert draft.draft.get("sector") == "aquaculture" and draft.step == "country"
    await say(live, VI_USER, "Việt Nam")
    await say(live, VI_USER, "xin chào")  # at the stage step: not a label, so a hint that names the buttons only
    assert bot_texts(live, VI_USER)[-1] == VI("Please tap one of the buttons above.")


async def test_the_handoff_form_does_not_ask_again_what_posting_collected(live):
    await post(live, VI_USER, "request", VI_NEED, "vi")
    await say(live, VI_USER, "/start")
    await tap(live, VI_USER, "menu:staff")
    ticket = await live.services.store.newest(Ticket, Ticket.user_id == VI_USER)
    assert ticket.step == "purpose" and ticket.contact["reach"] == VI_NEED["contact"][3]


async def test_a_staff_message_parks_the_form_the_user_had_open(live):
    ticket = await claim(live, await open_ticket(live))
    await say(live, VI_USER, "/post")
    await press(live, VI_USER, "need")
    await say(live, VI_USER, VI_NEED["title"])  # the draft now waits for the English title
    await staff_says(live, "Chị cần sấy bao nhiêu kg mỗi mẻ?", ticket)
    assert bot_texts(live, VI_USER)[-1].startswith(
        "✏️ "
        + VI(
            "Your unfinished form is kept: what you write now goes to staff. "
            "Send /post or tap Talk to staff to continue it."
        )
    )
    await say(live, VI_USER, "Dạ khoảng 500 kg mỗi mẻ")
    assert [m.get("text") for m in topic_messages(live, ticket)][-1] == "Dạ khoảng 500 kg mỗi mẻ"
    draft = await live.services.store.newest(Submission, Submission.user_id == VI_USER)
    assert draft.status == "drafting" and "title_en" not in draft.draft


async def test_after_the_user_ends_the_conversation_their_text_is_a_search(live):
    ticket = await open_ticket(live)
    await say(live, VI_USER, "/end")
    searches = await search_count(live, VI_USER)
    await say(live, VI_USER, "máy sấy nông sản")
    assert await search_count(live, VI_USER) == searches + 1
    assert "máy sấy nông sản" not in [m.get("text") for m in topic_messages(live, ticket)]
    assert (await live.services.store.ticket(ticket.id)).status == "resolved"


async def test_a_reopened_ticket_keeps_its_holder_and_the_user_is_told(live):
    ticket = await claim(live, await open_ticket(live))
    await staff_says(live, "/close", ticket)
    await say(live, VI_USER, "Em hỏi thêm một câu")
    reopened = await live.services.store.ticket(ticket.id)
    assert (reopened.status, reopened.claimed_by) == ("claimed", STAFF_ID)
    told = VI("Your conversation #{number} with staff is open again; what you write goes to them. /end closes it.")
    assert told.format(number=ticket.id) in bot_texts(live, VI_USER)
    await staff_says(live, "Vâng, chị cứ hỏi", ticket)
    joined = VI("{name} from the Department's staff has joined this conversation. I will stay quiet while you talk.")
    assert bot_texts(live, VI_USER).count(joined.format(name="Lan")) == 1
