"""Hardening, end to end through the emulator: personal data stays in staff places, CSV cells
cannot run as formulas, logs hold no secrets or user text, webhooks behind a path, forged
buttons, double approvals, long ticket lists, edited mentions and apologies after a failure.
"""

from __future__ import annotations

import csv
import dataclasses
import io
import logging
import socket

from support import OTHER_USER, STAFF, VI, VI_USER, bot_texts, errors_logged, forge, last_id, open_ticket, say

from bot.app import build_application, build_services, redact_logs, webhook_arguments
from bot.config import Settings
from bot.db import Submission, Ticket
from bot.demo import STAFF_CHAT_ID, STAFF_ID, buttons
from bot.emulator import BotApiEmulator
from catalog.model import PARTNERSHIPS

GROUP = -1002000000077
PHONE = "0912 345 678"
WRONG = "Sorry, something went wrong on our side. Please try again in a moment."
NOT_HERE = "This command works only in the staff group or in a private chat with me."


async def add_ticket(live, user_id: int, **contact: str) -> Ticket:
    """An open ticket row as the contact form leaves it (no conversation needed to list it)."""
    await live.services.store.user(user_id, "User")
    ticket = Ticket(
        user_id=user_id,
        status="open",
        language="vi",
        contact={
            "name": "Hoa",
            "organisation": "Công ty Cát Hải",
            "role": "Giám đốc",
            "reach": PHONE,
            "purpose": "vắc-xin",
            **contact,
        },
    )
    await live.services.store.save(ticket)
    return ticket


async def staff_command(live, text: str, chat_id: int) -> list[dict]:
    mark = last_id(live, chat_id)
    await live.emulator.send_text(STAFF_ID, text, chat_id=chat_id)
    await live.settle()
    return [m for m in live.emulator.messages(chat_id, from_bot=True) if m["message_id"] > mark]


async def document_text(live, message: dict) -> str:
    data = await (await live.app.bot.get_file(message["document"]["file_id"])).download_as_bytearray()
    return bytes(data).decode("utf-8-sig")


# ----------------------------------------------------------------------------- 23: where staff data may go


async def test_staff_data_commands_answer_only_in_the_staff_group_or_privately(live):
    await add_ticket(live, VI_USER)
    live.emulator.user(OTHER_USER, "Khách", "vi")
    live.emulator.group(GROUP, "Hội doanh nghiệp", members=[STAFF_ID, OTHER_USER])
    for command in ("/export", "/export_catalog csv", "/open", "/stats"):
        replies = await staff_command(live, command, GROUP)
        assert [m.get("text") for m in replies] == [STAFF(NOT_HERE)], command
    assert all(PHONE not in (m.get("text") or "") for m in live.emulator.messages(GROUP))
    assert live.emulator.calls_to("sendDocument") == []

    for chat in (STAFF_CHAT_ID, STAFF_ID):  # the staff group and the private chat with the bot
        (listing,) = await staff_command(live, "/open", chat)
        assert "Công ty Cát Hải" in listing["text"]
        exported = await staff_command(live, "/export", chat)
        assert [m["document"]["file_name"] for m in exported] == ["tickets.csv", "introductions.csv"]


# ----------------------------------------------------------------------------- 24: CSV formula injection


async def test_tickets_csv_cells_cannot_start_a_formula(live):
    await add_ticket(
        live, VI_USER, name='=HYPERLINK("http://evil.example","x")', organisation="@SUM(A1)", reach="+84 912 345 678"
    )
    tickets, _intros = await staff_command(live, "/export", STAFF_CHAT_ID)
    (row,) = csv.DictReader(io.StringIO(await document_text(live, tickets)))
    assert row["name"] == '\'=HYPERLINK("http://evil.example","x")'
    assert row["organisation"] == "'@SUM(A1)" and row["reach"] == "'+84 912 345 678"
    assert all(not value.startswith(("=", "+", "-", "@", "\t", "\r")) for value in row.values())


# ----------------------------------------------------------------------------- 25 + 26: webhook behind a path, clean logs


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


async def test_webhook_with_a_path_gets_updates_and_logs_hold_no_token_secret_or_phone(sample_env, caplog):
    caplog.set_level(logging.DEBUG)
    secret = "hook-Secret_4242"
    async with BotApiEmulator() as emulator:
        port = free_port()
        settings = Settings(
            token=emulator.token,
            staff_chat_id=STAFF_CHAT_ID,
            base_url=emulator.base_url,
            base_file_url=emulator.base_file_url,
            webhook_url=f"http://127.0.0.1:{port}/tg/hook",
            webhook_secret=secret,
            webhook_listen="127.0.0.1",
            webhook_port=port,
            log_level="DEBUG",
        )
        redact_logs(settings)
        services = await build_services(settings)
        emulator.group(STAFF_CHAT_ID, "TechConnect staff", forum=True, members=[STAFF_ID])
        application = build_application(services)
        async with application:
            await application.start()
            await application.updater.start_webhook(**webhook_arguments(settings))
            try:
                emulator.user(VI_USER, "Hoa", "vi")
                await emulator.send_text(VI_USER, "/start")
                await emulator.wait_for(lambda m: m["chat"]["id"] == VI_USER, timeout=20)
                assert emulator.webhook_url == settings.webhook_url
                await emulator.send_text(VI_USER, f"gọi tôi {PHONE} về máy sấy")  # searched, and kept as a search row
                await emulator.wait_for(lambda m: m["chat"]["id"] == VI_USER, timeout=20)

                async def broken(*args, **kwargs):
                    raise RuntimeError("index unavailable")

                services.engine.asearch = broken  # the search fails: the error handler logs the update
                await emulator.send_text(VI_USER, f"máy sấy, gọi {PHONE}")
                await emulator.wait_for(lambda m: m.get("text") == VI(WRONG), timeout=20)
            finally:
                await application.updater.stop()
                await application.stop()
    logged = [record.getMessage() + (record.exc_text or "") for record in caplog.records]
    assert any("error while handling" in line for line in logged)
    assert any("api.telegram" in line or "/bot" in line for line in logged)  # the URL lines are there, redacted
    for line in logged:
        assert emulator.token not in line and emulator.token.split(":")[1] not in line, line
        assert secret not in line, line
        assert PHONE not in line, line


def test_webhook_arguments_listen_on_the_path_of_the_url():
    settings = Settings(
        token="1:x", webhook_url="https://bot.example.org/tg/hook", webhook_secret="s", webhook_port=8443
    )
    arguments = webhook_arguments(settings)
    assert arguments["url_path"] == "tg/hook"
    assert arguments["webhook_url"] == "https://bot.example.org/tg/hook"
    assert arguments["secret_token"] == "s" and arguments["port"] == 8443
    assert (
        webhook_arguments(Settings(token="1:x", webhook_url="https://bot.example.org", webhook_secret="s"))["url_path"]
        == ""
    )


# ----------------------------------------------------------------------------- 27a: forged callback data


async def test_forged_buttons_of_every_kind_are_answered_politely(live, caplog):
    ticket = await open_ticket(live, VI_USER)
    search = await live.services.store.latest_search(VI_USER)
    live.emulator.user(OTHER_USER, "Khách", "vi")
    await say(live, OTHER_USER, "/start")
    (menu,) = live.emulator.messages(OTHER_USER, from_bot=True)[-1:]
    huge = "9" * 20
    not_theirs = [
        f"hf:{ticket.id}:agree",
        f"hf:{ticket.id}:cancel",
        f"end:{ticket.id}",
        f"intr:{search.id}:1",
        f"tk:{ticket.id}:claim",
        f"tk:{ticket.id}:close",
        f"cr:{ticket.id}:hello",
    ]
    forged = [
        # rows that do not exist, keys too big, malformed or missing arguments
        "hf:1:",
        f"hf:{huge}:back",
        "end:",
        f"end:{huge}",
        "intr:",
        "intr:x",
        f"intr:{search.id}",
        f"intr:{search.id}:0",
        f"intr:{search.id}:{huge}",
        "intr:1:!",
        "tk:1:",
        f"tk:{huge}:claim",
        "cr:1:",
        f"cr:{huge}:hello",
        "pst:1:",
        "pst:1:zz",
        f"pst:{huge}:submit",
        "pst:1:ok!",
        "pst:x:y",
        "my:1:edit",
        f"my:{huge}:renew",
        "my:1:",
        "rv:1:",
        "rv:1:ok",
        f"rv:{huge}:ok",
        "rv:1:ok!",
        "mt:1:det",
        f"mt:{huge}:ask",
        "pi:1",
        f"pi:{huge}",
        "sub:t:nosuch",
        "sub:t:",
        "sub:t:a-b",
        "dgd:1",
        f"dgi:{huge}",
        "ev:1",
        f"ev:{huge}",
        "evd:1:1",
        f"evd:1:{huge}",
        "evm:1:1",
        f"evm:{huge}:1",
        "menu:",
        "menu:need!",
        "lang:",
        "lang:x!x",
        "page:1:x!",
        "det:",
        # keys too long to be any row
        *(
            f"{prefix}:{huge * 2}{tail}"
            for prefix, tail in (
                ("hf", ":agree"),
                ("end", ""),
                ("intr", ":1"),
                ("tk", ":claim"),
                ("cr", ":hello"),
                ("pst", ":submit"),
                ("my", ":open"),
                ("rv", ":ok"),
                ("mt", ":det"),
                ("pi", ""),
                ("dgd", ""),
                ("ev", ""),
                ("evd", ":1"),
                ("evm", ":1"),
                ("page", ":1"),
            )
        ),
    ]
    presses = [(OTHER_USER, data) for data in not_theirs] + [
        (who, data) for data in forged for who in (OTHER_USER, STAFF_ID)
    ]
    for who, data in presses:
        mark = last_id(live, OTHER_USER)
        answer = await forge(live, who, menu, data)
        assert answer is not None and answer.get("text"), (who, data, answer)
        assert errors_logged(caplog) == [], (who, data)
        assert VI(WRONG) not in bot_texts(live, OTHER_USER, since=mark), (who, data)
    assert (await live.services.store.ticket(ticket.id)).status == "open"


# ----------------------------------------------------------------------------- 27b: two approvals at once


async def press_code(live, user_id: int, code: str, *, chat_id: int | None = None) -> None:
    for message in reversed(live.emulator.messages(user_id if chat_id is None else chat_id, from_bot=True)):
        for b in buttons(message):
            if b.get("callback_data", "").endswith(f":{code}"):
                await live.emulator.press(user_id, message, b["callback_data"])
                await live.settle()
                return
    raise AssertionError(f"no button {code!r}")


async def post_need(live, user_id: int) -> Submission:
    live.emulator.user(user_id, "Minh", "vi")
    await say(live, user_id, "/start")
    await press_code(live, user_id, "need")
    await say(live, user_id, "Máy sấy vải thiều bằng năng lượng mặt trời")
    if (await live.services.store.newest(Submission, Submission.user_id == user_id)).step == "title_en":
        await press_code(live, user_id, "n-none")
    await say(
        live,
        user_id,
        "Hợp tác xã trồng vải thiều ở Thanh Hà cần máy sấy dùng năng lượng mặt trời, công suất 2 tấn mỗi mẻ.",
    )
    for code in (
        "k-technology",
        "s-agriculture",
        "c-VN",
        "t-6",
        f"p-{PARTNERSHIPS.index('technical_cooperation')}",
        "p-done",
        "d-6",
    ):
        await press_code(live, user_id, code)
    for answer in ("Nguyễn Văn Minh", "HTX Vải thiều Thanh Hà", "Giám đốc", PHONE):
        await say(live, user_id, answer)
    await press_code(live, user_id, "submit")
    submission = await live.services.store.newest(Submission, Submission.user_id == user_id)
    assert submission.status == "pending" and submission.review_message_id
    return submission


async def test_two_staff_approving_at_once_publish_once(live, caplog):
    submission = await post_need(live, 611)
    second = 900002
    live.emulator.user(second, "Tuấn", "vi")
    live.services.settings = dataclasses.replace(live.services.settings, staff_ids=frozenset({second}))  # staff by id
    card = next(m for m in live.emulator.messages(STAFF_CHAT_ID) if m["message_id"] == submission.review_message_id)
    approve = f"rv:{submission.id}:ok"
    queries = [await live.emulator.press(user, card, approve) for user in (STAFF_ID, second)]
    await live.settle()
    assert errors_logged(caplog) == []
    answers = [next(a for a in live.emulator.callback_answers if a["callback_query_id"] == q["id"]) for q in queries]
    assert sorted(a.get("text") for a in answers) == sorted(
        [STAFF("Approved."), STAFF("This entry is no longer waiting for review.")]
    )
    submission = await live.services.store.get(Submission, submission.id)
    assert submission.status == "approved" and await live.services.catalog.get(submission.record_id) is not None
    good_news = VI(
        "Good news: your entry “{title}” is published. Others can find it now, in every language. It stays online "
        "until {date}; I will remind you a week before. See /mine to edit, renew or withdraw it."
    ).split("“")[0]
    published = [t for t in bot_texts(live, 611) if t.startswith(good_news)]
    assert len(published) == 1


# ----------------------------------------------------------------------------- 27c: long ticket lists


async def test_open_lists_many_tickets_in_messages_telegram_accepts(live, caplog):
    long_name = "Công ty Trách nhiệm hữu hạn Thương mại và Dịch vụ Kỹ thuật Nuôi trồng Thủy sản Cát Hải Hải Phòng " * 2
    tickets = [await add_ticket(live, VI_USER, organisation=f"{long_name} {n}") for n in range(40)]
    replies = await staff_command(live, "/open", STAFF_CHAT_ID)
    assert errors_logged(caplog) == []
    assert replies and all(len(m["text"]) <= 4096 for m in replies)
    shown = "\n".join(m["text"] for m in replies)
    assert all(f"#{t.id} ·" in shown for t in tickets)


# ----------------------------------------------------------------------------- 6: edited mentions in groups


async def test_editing_a_group_message_into_a_mention_searches_nothing(live):
    live.emulator.user(OTHER_USER, "Khách", "vi")
    live.emulator.group(GROUP, "Hội doanh nghiệp", members=[OTHER_USER])
    for user, chat in ((STAFF_ID, STAFF_CHAT_ID), (OTHER_USER, GROUP)):
        message = await live.emulator.send_text(user, "chào mọi người", chat_id=chat)
        await live.settle()
        mark = last_id(live, chat)
        await live.emulator.edit_text(user, message, "@techconnect_bot nuôi cá mú giống")
        await live.settle()
        assert bot_texts(live, chat, since=mark) == [], chat
    await say(live, OTHER_USER, "nuôi cá mú giống")  # private chats still search
    assert bot_texts(live, OTHER_USER)


# ----------------------------------------------------------------------------- 18: the apology after a failed button


async def test_a_button_that_fails_after_answering_still_gets_the_apology(live, caplog):
    live.emulator.user(OTHER_USER, "Khách", "vi")
    await say(live, OTHER_USER, "/start")
    mark = last_id(live, OTHER_USER)
    live.emulator.flood("sendMessage", retry_after=1, times=4)  # the reply fails beyond the rate limiter's retries
    message = live.emulator.messages(OTHER_USER, from_bot=True)[-1]
    data = next(b["callback_data"] for b in buttons(message) if b["callback_data"] == "menu:find")
    await live.emulator.press(OTHER_USER, message, data)
    await live.settle()
    assert errors_logged(caplog)  # the handler did fail after answering the tap
    assert bot_texts(live, OTHER_USER, since=mark) == [VI(WRONG)]
