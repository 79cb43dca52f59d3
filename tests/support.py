"""What scenario tests share: simulated users, their messages and taps, and reading what the bot sent.

Scenario tests drive the real bot through the Bot API emulator over HTTP (the ``live`` fixture);
these helpers are the words they speak in. Test modules import from here, never from each other.
"""

from __future__ import annotations

import json
from datetime import timedelta

from sqlalchemy import func, select

from bot.app import build_application, build_services
from bot.db import Search, StaffTopic, Submission, Ticket
from bot.demo import STAFF_CHAT_ID, STAFF_ID, buttons
from bot.i18n import gettext_for, plural_for
from catalog.model import PARTNERSHIPS

VI_USER, TW_USER, OTHER_USER = 501, 502, 503
VI = gettext_for("vi")
TW = gettext_for("zh-Hant")
STAFF = VI  # Settings.staff_language defaults to "vi"

VI_QUERY = "nuôi cá mú giống"
VI_FORM = ["Nguyễn Thị Hoa", "Công ty Thủy sản Cát Hải", "Giám đốc", "0912 345 678", "Tìm công nghệ vắc-xin cho cá mú"]
TW_FORM = ["林美華", "澎湖海洋科技公司", "業務經理", "mei.lin@example.com.tw", "尋找越南的養殖合作夥伴"]


# A Vietnamese-only offer for catalogue imports by staff.
SILK = {
    "id": "vn-hp-silk-001",
    "kind": "offer",
    "country": "VN",
    "sector": "equipment",
    "organization": "Công ty Cơ khí Kiến An",
    "contact": {"email": "info@cokhikienan.vn"},
    "title": {"vi": "Máy ươm tơ tằm tự động"},
    "description": {"vi": "Máy ươm tơ tự động cho kén tằm, năng suất cao, sợi tơ đều, tiết kiệm nước."},
}


def import_refused(count: int) -> str:
    """How a staff file import with ``count`` bad rows is refused (staff language: vi)."""
    return "❌ " + plural_for("vi")(
        "{count} row could not be imported; nothing was saved.",
        "{count} rows could not be imported; nothing was saved.",
        count,
    ).format(count=count)


def jsonl(*rows: dict) -> bytes:
    """Rows as a JSON-lines file, as staff send them."""
    return "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows).encode()


def newest_with(live, chat_id: int, prefix: str, *, thread_id: int | None = None) -> tuple[dict, dict]:
    """The newest bot message in the chat with a button whose callback data starts with prefix."""
    for message in reversed(live.emulator.messages(chat_id, thread_id=thread_id, from_bot=True)):
        for b in buttons(message):
            if b.get("callback_data", "").startswith(prefix):
                return message, b
    raise AssertionError(f"no bot message in {chat_id} with a {prefix!r} button")


async def tap(live, user_id: int, prefix: str, *, chat_id: int | None = None) -> None:
    message, b = newest_with(live, user_id if chat_id is None else chat_id, prefix)
    await live.emulator.press(user_id, message, b["callback_data"])
    await live.settle()


async def say(live, user_id: int, text: str) -> dict:
    message = await live.emulator.send_text(user_id, text)
    await live.settle()
    return message


async def staff_says(live, text: str, ticket: Ticket) -> dict:
    message = await live.emulator.send_text(STAFF_ID, text, chat_id=STAFF_CHAT_ID, message_thread_id=ticket.topic_id)
    await live.settle()
    return message


def bot_texts(live, chat_id: int, *, since: int = 0, thread_id: int | None = None) -> list[str]:
    """Texts (or captions) of the bot's messages in a chat with a message id above ``since``."""
    return [
        m.get("text") or m.get("caption") or ""
        for m in live.emulator.messages(chat_id, thread_id=thread_id, from_bot=True)
        if m["message_id"] > since
    ]


def lines_of(messages: list[dict]) -> list[str]:
    """The texts of messages line by line, as staff read them: texts that waited for the staff
    group share one message, a "💬 " line each."""
    return [line.removeprefix("💬 ") for m in messages for line in (m.get("text") or "").splitlines()]


def last_id(live, chat_id: int) -> int:
    messages = live.emulator.messages(chat_id)
    return messages[-1]["message_id"] if messages else 0


def copies_to_staff(live) -> list[dict]:
    return [c for c in live.emulator.calls_to("copyMessage") if c["chat_id"] == STAFF_CHAT_ID]


async def start_form(live, user_id: int, name: str, language_code: str, *, via_menu: bool = False) -> None:
    live.emulator.user(user_id, name, language_code)
    await say(live, user_id, "/start")
    if via_menu:
        await tap(live, user_id, "menu:staff")
    else:
        await say(live, user_id, VI_QUERY)
        await tap(live, user_id, "intr:")


async def fill(live, user_id: int, answers: list[str]) -> None:
    for answer in answers:
        await say(live, user_id, answer)


async def open_ticket(
    live, user_id: int = VI_USER, *, language_code: str = "vi", via_menu: bool = False, answers: list[str] = VI_FORM
) -> Ticket:
    """A user asks for an introduction, fills in the form and consents: an open ticket with a topic."""
    await start_form(live, user_id, "Hoa" if language_code == "vi" else "Mei", language_code, via_menu=via_menu)
    await fill(live, user_id, answers)
    await press_form(live, user_id, "agree")
    ticket = await live.services.store.newest_ticket(user_id)
    assert ticket is not None and ticket.status == "open" and ticket.topic_id is not None
    return ticket


async def press_form(live, user_id: int, action: str) -> None:
    """Back / Cancel / Edit / I agree on the newest message of the contact form."""
    message, _ = newest_with(live, user_id, "hf:")
    chosen = next(b for b in buttons(message) if b["callback_data"].endswith(f":{action}"))
    await live.emulator.press(user_id, message, chosen["callback_data"])
    await live.settle()


async def claim(live, ticket: Ticket) -> Ticket:
    message, b = newest_with(live, STAFF_CHAT_ID, f"tk:{ticket.id}:claim", thread_id=ticket.topic_id)
    await live.emulator.press(STAFF_ID, message, b["callback_data"])
    await live.settle()
    return await live.services.store.ticket(ticket.id)


async def search_count(live, user_id: int) -> int:
    async with live.services.store.session() as session:
        return await session.scalar(select(func.count()).select_from(Search).where(Search.user_id == user_id))


def topic_messages(live, ticket: Ticket) -> list[dict]:
    return live.emulator.messages(STAFF_CHAT_ID, thread_id=ticket.topic_id)


def is_card(message: dict, ticket: Ticket) -> bool:
    return any(b.get("callback_data", "").startswith(f"tk:{ticket.id}:") for b in buttons(message))


def sent(language: str, number: int) -> str:
    return gettext_for(language)(
        "Your request #{number} has been sent to our staff. A staff member will reply in this chat; "
        "anything you write here reaches them."
    ).format(number=number)


def joined(language: str, name: str = "Lan") -> str:
    return gettext_for(language)(
        "{name} from the Department's staff has joined this conversation. I will stay quiet while you talk."
    ).format(name=name)


async def send_file(live, name: str, content: bytes) -> list[str]:
    mark = last_id(live, STAFF_CHAT_ID)
    await live.emulator.send_media(STAFF_ID, "document", chat_id=STAFF_CHAT_ID, content=content, file_name=name)
    await live.settle()
    return [
        m.get("text") or m.get("caption") or ""
        for m in live.emulator.messages(STAFF_CHAT_ID, from_bot=True)
        if m["message_id"] > mark and "message_thread_id" not in m
    ]  # the answer, not match notices in their topic


async def deliver_waiting(live, after: timedelta = timedelta(minutes=10)) -> None:
    """What the outbox job does once the waiting times of undelivered messages have passed."""
    live.services.clock.advance(after)
    try:
        await live.services.outbox.drain_all(live.app.bot, live.services)
    finally:
        live.services.clock.advance(-after)
    await live.settle()


# ----------------------------------------------------------------------------- posting entries

VI_NEED = {
    "title": "Cần hệ thống nuôi tôm tuần hoàn RAS tiết kiệm nước",
    "title_en": "Water-saving indoor recirculating shrimp farming system",
    "description": "Công ty nuôi tôm thẻ chân trắng 20 ha ở Cát Hải, Hải Phòng, cần công nghệ nuôi tuần hoàn RAS "
    "trong nhà để giảm thay nước và dịch bệnh, công suất 200 tấn mỗi năm.",
    "contact": ["Nguyễn Thị Hoa", "Công ty Thủy sản Cát Hải", "Giám đốc", "0912 345 678"],
}
TW_OFFER = {
    "title": "室內循環水白蝦養殖系統（RAS）",
    "description": "提供室內循環水養殖系統，適用於白蝦高密度養殖，節水百分之九十五，含生物過濾、臭氧消毒與自動水質監控，已在台灣與越南南部運轉。",
    "contact": ["林美華", "澎湖海洋科技公司", "業務經理", "mei.lin@example.com.tw"],
}


async def press(live, user_id: int, code: str, *, chat_id: int | None = None, thread_id: int | None = None) -> None:
    """Tap the button whose callback data ends with ``:code`` on the newest bot message that has it."""
    chat = user_id if chat_id is None else chat_id
    for message in reversed(live.emulator.messages(chat, thread_id=thread_id, from_bot=True)):
        for b in buttons(message):
            if b.get("callback_data", "").endswith(f":{code}") or b.get("callback_data") == code:
                await live.emulator.press(user_id, message, b["callback_data"])
                await live.settle()
                return
    raise AssertionError(f"no button {code!r} in chat {chat}")


async def review_topic(live) -> int:
    row = await live.services.store.get(StaffTopic, "review")
    assert row is not None, "no review topic in the staff group"
    return row.topic_id


async def staff_press(live, code: str, topic: str = "review") -> None:
    row = await live.services.store.get(StaffTopic, topic)
    await press(live, STAFF_ID, code, chat_id=STAFF_CHAT_ID, thread_id=row.topic_id)


async def post(
    live,
    user_id: int,
    kind: str,
    entry: dict,
    language_code: str,
    *,
    sector: str = "aquaculture",
    country: str = "c-VN",
    seeking: str = "technology",
    deadline: str = "d-6",
    submit: bool = True,
) -> Submission:
    """Fill in the whole form (buttons where there are buttons, a need's ``deadline`` a button's
    code or a typed date) and consent."""
    live.emulator.user(user_id, "Poster", language_code)
    await say(live, user_id, "/start")
    await press(live, user_id, "need" if kind == "request" else "offer")
    await say(live, user_id, entry["title"])
    await english_title(live, user_id, entry)
    await say(live, user_id, entry["description"])
    if kind == "request":
        await press(live, user_id, f"k-{seeking}")
    await press(live, user_id, f"s-{sector}")
    await press(live, user_id, country)
    await press(live, user_id, "t-6")
    await press(live, user_id, f"p-{PARTNERSHIPS.index('technical_cooperation')}")
    await press(live, user_id, "p-done")
    if kind == "request" and not deadline.startswith("d-"):
        await say(live, user_id, deadline)
    else:
        await press(live, user_id, deadline if kind == "request" else "i-patented")
    for answer in entry["contact"]:
        await say(live, user_id, answer)
    if submit:
        await press(live, user_id, "submit")
    return await live.services.store.newest(Submission, Submission.user_id == user_id)


async def english_title(live, user_id: int, entry: dict) -> None:
    """The optional English title: given, skipped, or not asked (the title is English already)."""
    if entry.get("title_en"):
        await say(live, user_id, entry["title_en"])
    elif (await live.services.store.newest(Submission, Submission.user_id == user_id)).step == "title_en":
        await press(live, user_id, "n-none")


async def publish(live, user_id: int, kind: str, entry: dict, language_code: str, **kwargs) -> Submission:
    await post(live, user_id, kind, entry, language_code, **kwargs)
    await staff_press(live, "ok")
    submission = await live.services.store.newest(Submission, Submission.user_id == user_id)
    assert submission.status == "approved" and submission.record_id
    return submission


async def restart(live) -> None:
    """Stop the bot and start a new process's worth of it (services, application) on the same data
    directory; Telegram (the emulator) keeps running, as it does when a real bot restarts."""
    old_app, old_services = live.app, live.services
    if old_app.updater.running:
        await old_app.updater.stop()
    await old_app.stop()
    await old_app.post_stop(old_app)
    await old_app.shutdown()
    await old_services.catalog.engine.dispose()
    live.services = await build_services(old_services.settings)
    assert live.services.store is not old_services.store
    live.app = build_application(live.services)
    await live.app.initialize()
    await live.app.post_init(live.app)
    await live.app.start()
    await live.app.updater.start_polling(poll_interval=0, timeout=1)


async def forge(live, user_id: int, message: dict, data: str) -> dict | None:
    """Press callback data no button carried (a modified client can send any); the answer, or None.

    The emulator only lets users press buttons that exist, so a button with ``data`` is put on
    the stored message for the moment of the press.
    """
    stored = next(m for m in live.emulator.messages(message["chat"]["id"]) if m["message_id"] == message["message_id"])
    had_markup = "reply_markup" in stored
    rows = stored.setdefault("reply_markup", {"inline_keyboard": []})["inline_keyboard"]
    rows.append([{"text": "forged", "callback_data": data}])
    try:
        query = await live.emulator.press(user_id, stored, data)
    finally:
        rows.pop()
        if not had_markup:
            del stored["reply_markup"]
    await live.settle()
    return next((a for a in live.emulator.callback_answers if a.get("callback_query_id") == query["id"]), None)


def errors_logged(caplog) -> list[str]:
    """What reached the central error handler."""
    return [r.getMessage() for r in caplog.records if r.name == "techconnect.errors" and r.levelname == "ERROR"]
