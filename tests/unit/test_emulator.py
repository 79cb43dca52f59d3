"""The Bot API emulator, driven by the real python-telegram-bot over real local HTTP."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dtm
import html
import socket
from collections.abc import AsyncIterator

import httpx
import pytest
import pytest_asyncio
from telegram import (
    Bot,
    BotCommand,
    BotCommandScopeAllPrivateChats,
    BotCommandScopeChat,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    ReplyParameters,
    Update,
)
from telegram.error import BadRequest, Conflict, EndPointNotFound, Forbidden, InvalidToken, RetryAfter, TimedOut
from telegram.ext import (
    AIORateLimiter,
    Application,
    ApplicationBuilder,
    BaseHandler,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    ExtBot,
    MessageHandler,
    filters,
)
from telegram.request import HTTPXRequest

from bot.emulator import BotApiEmulator, Limits
from bot.emulator.spec import conformance

pytestmark = pytest.mark.asyncio

TOKEN = "123456:TEST-TOKEN"
ALICE = 1001
FORUM = -1001234567890


@pytest_asyncio.fixture
async def emu() -> AsyncIterator[BotApiEmulator]:
    async with BotApiEmulator(TOKEN) as emulator:
        emulator.user(ALICE, "Alice", "en", "alice")
        yield emulator


@pytest_asyncio.fixture
async def bot(emu: BotApiEmulator) -> AsyncIterator[Bot]:
    async with Bot(TOKEN, base_url=emu.base_url, base_file_url=emu.base_file_url) as telegram_bot:
        yield telegram_bot


def build_app(emu: BotApiEmulator, *handlers: BaseHandler) -> Application:
    app = ApplicationBuilder().token(TOKEN).base_url(emu.base_url).base_file_url(emu.base_file_url).build()
    for handler in handlers:
        app.add_handler(handler)
    return app


@contextlib.asynccontextmanager
async def polling_app(emu: BotApiEmulator, *handlers: BaseHandler) -> AsyncIterator[Application]:
    app = build_app(emu, *handlers)
    await app.initialize()
    await app.start()
    await app.updater.start_polling(poll_interval=0, timeout=1)
    try:
        yield app
    finally:
        await app.updater.stop()
        await app.stop()
        await app.shutdown()


async def echo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    await update.effective_message.reply_text(update.effective_message.text)


async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    keyboard = InlineKeyboardMarkup([[InlineKeyboardButton("Help", callback_data="help")]])
    name = html.escape(update.effective_user.first_name)
    await update.effective_message.reply_html(f"Welcome, <b>{name}</b>!", reply_markup=keyboard)


async def on_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    query = update.callback_query
    await query.answer(f"got {query.data}")
    await query.edit_message_text(f"You chose {query.data}")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


async def test_get_me_and_token_check(emu: BotApiEmulator, bot: Bot) -> None:
    me = await bot.get_me()
    assert (me.id, me.username, me.is_bot) == (123456, "techconnect_bot", True)
    with pytest.raises(InvalidToken):
        await Bot("123456:WRONG", base_url=emu.base_url).get_me()
    with pytest.raises(EndPointNotFound):
        await bot.do_api_request("noSuchMethod")


async def test_echo_round_trip_over_polling(emu: BotApiEmulator) -> None:
    emu.group(-500, "Makers", members=[ALICE])
    handlers = (CommandHandler("start", start), MessageHandler(filters.TEXT & ~filters.COMMAND, echo))
    async with polling_app(emu, *handlers):
        sent = await emu.send_text(ALICE, "hello ✨ world")
        reply = await emu.wait_for(lambda m: m["chat"]["id"] == ALICE)
        assert reply["text"] == "hello ✨ world"
        assert reply["from"]["id"] == 123456 and reply["message_id"] == sent["message_id"] + 1

        group_command = await emu.send_text(ALICE, "/start@techconnect_bot", chat_id=-500)
        assert group_command["entities"] == [{"type": "bot_command", "offset": 0, "length": 22}]
        welcome = await emu.wait_for(lambda m: m["chat"]["id"] == -500)
        assert welcome["text"] == "Welcome, Alice!"
        assert welcome["html"] == "Welcome, <b>Alice</b>!"
        assert welcome["entities"] == [{"type": "bold", "offset": 9, "length": 5}]
        await emu.wait_idle()
    assert [m["text"] for m in emu.messages(ALICE)] == ["hello ✨ world", "hello ✨ world"]
    assert len(emu.calls_to("sendMessage")) == 2


async def test_html_is_validated_and_stored_as_seen(emu: BotApiEmulator, bot: Bot) -> None:
    for bad in ("<b>unclosed", "a < b", "Tom & Jerry", "<foo>x</foo>", "<b>x</i>", '<span class="x">s</span>'):
        with pytest.raises(BadRequest, match="(?i)can't parse entities"):
            await bot.send_message(ALICE, bad, parse_mode="HTML")
    with pytest.raises(BadRequest, match='(?i)unsupported start tag "foo" at byte offset 3'):
        await bot.send_message(ALICE, "ab <foo>", parse_mode="HTML")
    message = await bot.send_message(
        ALICE, '😀 <b>bold</b> &lt;3 &amp; <a href="https://t.me/x?a=1&amp;b=2">link</a>', parse_mode="HTML"
    )
    assert message.text == "😀 bold <3 & link"
    assert [message.parse_entity(e) for e in message.entities] == ["bold", "link"]
    assert message.entities[1].url == "https://t.me/x?a=1&b=2"
    assert "html" not in message.api_kwargs
    assert emu.messages(ALICE)[-1]["html"].startswith("😀 <b>bold</b>")


async def test_message_length_limits(emu: BotApiEmulator, bot: Bot) -> None:
    await bot.send_message(ALICE, "x" * 4096)
    await bot.send_message(ALICE, "<b>" + "&amp;" * 4096 + "</b>", parse_mode="HTML")
    with pytest.raises(BadRequest, match="Message is too long"):
        await bot.send_message(ALICE, "x" * 4097)
    with pytest.raises(BadRequest, match="Message text is empty"):
        await bot.send_message(ALICE, "<b></b>", parse_mode="HTML")
    with pytest.raises(BadRequest, match="Message caption is too long"):
        await bot.send_photo(ALICE, b"png", caption="c" * 1025)
    assert len(emu.messages(ALICE)) == 2


async def test_callback_data_limit_is_64_bytes(emu: BotApiEmulator, bot: Bot) -> None:
    def keyboard(data: str) -> InlineKeyboardMarkup:
        return InlineKeyboardMarkup([[InlineKeyboardButton("go", callback_data=data)]])

    ok = await bot.send_message(ALICE, "fits", reply_markup=keyboard("a" * 64))
    assert ok.reply_markup.inline_keyboard[0][0].callback_data == "a" * 64
    for too_long in ("a" * 65, "é" * 33):  # 33 characters, but 66 bytes
        with pytest.raises(BadRequest, match="(?i)button_data_invalid"):
            await bot.send_message(ALICE, "too long", reply_markup=keyboard(too_long))
    assert [m["text"] for m in emu.messages(ALICE)] == ["fits"]


async def test_button_press_reaches_callback_handler(emu: BotApiEmulator) -> None:
    async with polling_app(emu, CommandHandler("start", start), CallbackQueryHandler(on_button)) as app:
        await emu.send_text(ALICE, "/start")
        welcome = await emu.wait_for(lambda m: m.get("text", "").startswith("Welcome"))
        query = await emu.press(ALICE, welcome, "help")
        assert query["message"]["message_id"] == welcome["message_id"] and query["chat_instance"]
        edited = await emu.wait_for(lambda m: "edit_date" in m)
        assert edited["text"] == "You chose help" and "reply_markup" not in edited
        await emu.wait_idle()
        assert [(a["callback_query_id"], a["text"]) for a in emu.callback_answers] == [(query["id"], "got help")]
        with pytest.raises(BadRequest, match="Query is too old"):
            await app.bot.answer_callback_query(query["id"])
        with pytest.raises(ValueError, match="no button"):
            await emu.press(ALICE, welcome, "help")  # the edit removed the keyboard


async def test_edit_not_modified_and_missing(emu: BotApiEmulator, bot: Bot) -> None:
    keyboard = InlineKeyboardMarkup([[InlineKeyboardButton("A", callback_data="a")]])
    sent = await bot.send_message(ALICE, "<i>hello</i>", parse_mode="HTML", reply_markup=keyboard)
    with pytest.raises(BadRequest, match="Message is not modified"):
        await bot.edit_message_text("<em>hello</em>", ALICE, sent.message_id, parse_mode="HTML", reply_markup=keyboard)
    edited = await bot.edit_message_text("<em>hello</em>", ALICE, sent.message_id, parse_mode="HTML")
    assert edited.reply_markup is None and edited.edit_date is not None
    with pytest.raises(BadRequest, match="Message is not modified"):
        await bot.edit_message_reply_markup(ALICE, sent.message_id)
    with pytest.raises(BadRequest, match="Message to edit not found"):
        await bot.edit_message_text("x", ALICE, 999)
    assert emu.messages(ALICE)[0]["html"] == "<em>hello</em>"


async def test_flood_raises_retry_after(emu: BotApiEmulator, bot: Bot, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PTB_TIMEDELTA", "true")
    emu.flood("sendMessage", retry_after=3, times=1)
    with pytest.raises(RetryAfter) as caught:
        await bot.send_message(ALICE, "too fast")
    assert caught.value.retry_after == dtm.timedelta(seconds=3)
    await bot.send_message(ALICE, "later")
    assert [m["text"] for m in emu.messages(ALICE)] == ["later"]


async def test_blocked_kicked_and_unknown_chats(emu: BotApiEmulator, bot: Bot) -> None:
    emu.block(ALICE)
    with pytest.raises(Forbidden, match="Forbidden: bot was blocked by the user"):
        await bot.send_message(ALICE, "hi")
    await emu.send_text(ALICE, "/start")  # writing again unblocks, as Telegram's Restart does
    await bot.send_message(ALICE, "welcome back")
    emu.group(-100500, "Team", supergroup=True)
    emu.set_unreachable(-100500)
    with pytest.raises(Forbidden, match="kicked from the supergroup chat"):
        await bot.send_message(-100500, "hi")
    with pytest.raises(BadRequest, match="Chat not found"):
        await bot.send_message(424242, "hi")


async def test_forum_topic_lifecycle(emu: BotApiEmulator, bot: Bot) -> None:
    emu.group(FORUM, "Tech forum", forum=True, members=[ALICE])
    topic = await bot.create_forum_topic(FORUM, "Solar panels")
    thread = topic.message_thread_id
    posted = await bot.send_message(FORUM, "in topic", message_thread_id=thread)
    assert posted.is_topic_message and posted.message_thread_id == thread
    question = await emu.send_text(ALICE, "question", chat_id=FORUM, message_thread_id=thread)
    answer = await bot.send_message(FORUM, "answer", reply_parameters=ReplyParameters(question["message_id"]))
    assert answer.message_thread_id == thread  # replies land in the replied message's topic
    assert [m["text"] for m in emu.messages(FORUM, thread_id=thread)] == ["in topic", "question", "answer"]
    assert await bot.delete_forum_topic(FORUM, thread)
    with pytest.raises(BadRequest, match="Message thread not found"):
        await bot.send_message(FORUM, "late", message_thread_id=thread)
    other = await bot.create_forum_topic(FORUM, "Batteries")
    emu.delete_topic(FORUM, other.message_thread_id)
    with pytest.raises(BadRequest, match="Message thread not found"):
        await bot.send_message(FORUM, "late", message_thread_id=other.message_thread_id)
    emu.group(-42, "Plain group")
    with pytest.raises(BadRequest, match="The chat is not a forum"):
        await bot.create_forum_topic(-42, "nope")


async def test_copy_and_forward_user_photo_into_topic(emu: BotApiEmulator, bot: Bot) -> None:
    photo = await emu.send_media(ALICE, "photo", caption="my panel @alice")
    emu.group(FORUM, "Tech forum", forum=True)
    thread = (await bot.create_forum_topic(FORUM, "Showcase")).message_thread_id
    copied_id = await bot.copy_message(FORUM, ALICE, photo["message_id"], message_thread_id=thread)
    recaptioned = await bot.copy_message(
        FORUM, ALICE, photo["message_id"], message_thread_id=thread, caption="<b>Panel</b>", parse_mode="HTML"
    )
    forwarded = await bot.forward_message(FORUM, ALICE, photo["message_id"], message_thread_id=thread)
    copy, second, _ = emu.messages(FORUM, thread_id=thread)
    assert copy["message_id"] == copied_id.message_id and copy["from"]["id"] == 123456
    assert copy["photo"][0]["file_id"] == photo["photo"][0]["file_id"]
    assert copy["caption"] == "my panel @alice" and copy["caption_entities"][0]["type"] == "mention"
    assert second["message_id"] == recaptioned.message_id and second["caption"] == "Panel"
    assert forwarded.forward_origin.sender_user.id == ALICE and forwarded.caption == "my panel @alice"
    assert forwarded.photo[-1].file_id == photo["photo"][0]["file_id"]
    with pytest.raises(BadRequest, match="Message to copy not found"):
        await bot.copy_message(FORUM, ALICE, 999)


async def test_webhook_delivery_with_secret_token(emu: BotApiEmulator) -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}/hook"
    app = build_app(emu, MessageHandler(filters.TEXT, echo))
    await app.initialize()
    await app.updater.start_webhook(
        listen="127.0.0.1", port=port, url_path="hook", webhook_url=url, secret_token="s3cret_Token-1"
    )
    await app.start()
    try:
        assert emu.webhook_url == url and emu.calls_to("setWebhook")[-1]["secret_token"] == "s3cret_Token-1"
        await emu.send_text(ALICE, "via webhook")
        assert (await emu.wait_for(lambda m: m["chat"]["id"] == ALICE))["text"] == "via webhook"

        async with httpx.AsyncClient() as client:
            forged = await client.post(url, json={"update_id": 1}, headers={"X-Telegram-Bot-Api-Secret-Token": "wrong"})
        assert forged.status_code == 403

        await app.bot.set_webhook(url, secret_token="wrong")
        await emu.send_text(ALICE, "second")
        info = await app.bot.get_webhook_info()
        for _ in range(200):
            if info.last_error_message:
                break
            await asyncio.sleep(0.01)
            info = await app.bot.get_webhook_info()
        assert info.last_error_message == "Wrong response from the webhook: 403 Forbidden"
        assert info.pending_update_count == 1
        await app.bot.set_webhook(url, secret_token="s3cret_Token-1")
        assert (await emu.wait_for(lambda m: m.get("text") == "second"))["chat"]["id"] == ALICE
        await emu.wait_idle()
        assert (await app.bot.get_webhook_info()).pending_update_count == 0
    finally:
        await app.updater.stop()
        await app.stop()
        await app.shutdown()


async def test_get_updates_conflicts_with_webhook(emu: BotApiEmulator, bot: Bot) -> None:
    await bot.set_webhook("http://127.0.0.1:9/unreachable")
    with pytest.raises(Conflict, match="can't use getUpdates method while webhook is active"):
        await bot.get_updates()
    await emu.send_text(ALICE, "queued")
    assert await bot.delete_webhook()
    updates = await bot.get_updates(timeout=0)
    assert [u.message.text for u in updates] == ["queued"]


async def test_long_poll_wakes_on_update_and_offset_confirms(emu: BotApiEmulator, bot: Bot) -> None:
    loop = asyncio.get_running_loop()
    began = loop.time()
    poll = asyncio.create_task(bot.get_updates(timeout=5))
    await asyncio.sleep(0.05)
    await emu.send_text(ALICE, "ping")
    first = await poll
    assert [u.message.text for u in first] == ["ping"] and loop.time() - began < 2
    assert [u.update_id for u in await bot.get_updates(timeout=0)] == [first[0].update_id]
    assert await bot.get_updates(offset=first[0].update_id + 1, timeout=0) == ()


async def test_the_bot_is_idle_only_once_it_confirmed_what_it_fetched(emu: BotApiEmulator, bot: Bot) -> None:
    """A fetched update may still be on its way into the bot's queue; only the next poll's offset
    says the bot has it."""
    await emu.send_text(ALICE, "ping")
    (update,) = await bot.get_updates(timeout=0)
    with pytest.raises(TimeoutError, match="1 updates pending"):
        await emu.wait_idle(timeout=0.3)
    await bot.get_updates(offset=update.update_id + 1, timeout=0)
    await emu.wait_idle(timeout=1)


async def test_document_download_via_get_file(emu: BotApiEmulator, bot: Bot) -> None:
    payload = b'{"title": "solar inverter"}\n'
    await emu.send_media(ALICE, "document", content=payload, file_name="x.jsonl")
    (update,) = await bot.get_updates(timeout=0)
    document = update.message.document
    assert document.file_name == "x.jsonl" and document.file_size == len(payload)
    remote = await bot.get_file(document.file_id)
    assert bytes(await remote.download_as_bytearray()) == payload
    sent = await bot.send_document(ALICE, b"report", filename="r.txt")
    assert bytes(await (await bot.get_file(sent.document.file_id)).download_as_bytearray()) == b"report"
    with pytest.raises(BadRequest, match="Can't use file of type document as photo"):
        await bot.send_photo(ALICE, document.file_id)
    with pytest.raises(BadRequest, match="Invalid file_id"):
        await bot.get_file("nope")


async def test_commands_per_scope_and_language_and_membership(emu: BotApiEmulator, bot: Bot) -> None:
    scope = BotCommandScopeAllPrivateChats()
    await bot.set_my_commands([BotCommand("start", "Start")], scope=scope, language_code="vi")
    await bot.set_my_commands([BotCommand("help", "Help")])
    assert [c.command for c in await bot.get_my_commands(scope=scope, language_code="vi")] == ["start"]
    assert await bot.get_my_commands(scope=scope) == ()
    assert emu.my_commands() == [{"command": "help", "description": "Help"}]
    with pytest.raises(BadRequest, match="(?i)bot_command_invalid"):
        await bot.set_my_commands([BotCommand("Bad-Name", "x")])
    emu.group(-7, "Club", members=[ALICE])
    assert (await bot.get_chat_member(-7, ALICE)).status == "member"
    assert (await bot.get_chat_member(-7, 123456)).status == "administrator"
    emu.user(2002, "Bob")
    assert (await bot.get_chat_member(-7, 2002)).status == "left"
    assert (await bot.get_chat(-7)).title == "Club"


@contextlib.asynccontextmanager
async def limited(scale: float) -> AsyncIterator[tuple[BotApiEmulator, Bot]]:
    """An emulator enforcing Telegram's flood limits on a time scale, and a Bot using it."""
    async with BotApiEmulator(TOKEN, limits=Limits(time_scale=scale)) as emulator:
        emulator.user(ALICE, "Alice", "en", "alice")
        async with Bot(TOKEN, base_url=emulator.base_url) as telegram_bot:
            yield emulator, telegram_bot


async def test_private_chat_tolerates_a_burst_then_429s(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PTB_TIMEDELTA", "true")
    async with limited(0.5) as (emu, bot):
        for n in range(3):
            await bot.send_message(ALICE, f"burst {n}")
        with pytest.raises(RetryAfter) as caught:
            await bot.send_message(ALICE, "one too many")
        assert caught.value.retry_after == dtm.timedelta(seconds=1)  # ceil of < 0.5 s, at least 1
        assert emu.rate_limited == [("sendMessage", ALICE)]
        await bot.edit_message_text("edited", ALICE, 1)  # edits are not limited
        await asyncio.sleep(0.5)  # one second on this scale refills one message
        await bot.send_message(ALICE, "after the wait")
        assert [m["text"] for m in emu.messages(ALICE)] == ["edited", "burst 1", "burst 2", "after the wait"]


async def test_group_allows_twenty_per_minute_over_all_topics(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PTB_TIMEDELTA", "true")
    async with limited(0.05) as (emu, bot):  # the minute lasts 3 s
        emu.group(FORUM, "Makers", forum=True)
        topic = await bot.create_forum_topic(FORUM, "Ideas")
        for n in range(20):
            thread = topic.message_thread_id if n % 2 else None
            await bot.send_message(FORUM, f"m{n}", message_thread_id=thread)
        with pytest.raises(RetryAfter):
            await bot.copy_message(FORUM, FORUM, 3)
        await bot.edit_message_text("still editable", FORUM, 3)
        await bot.send_message(ALICE, "private chats have their own limit")
        assert emu.rate_limited == [("copyMessage", FORUM)]
        assert len(emu.messages(FORUM)) == 20


async def test_thirty_messages_per_second_over_all_chats(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PTB_TIMEDELTA", "true")
    async with limited(2.0) as (emu, bot):  # the second lasts 2 s
        for chat_id in (-1, -2, -3):
            emu.group(chat_id, f"Group {chat_id}")
        for n in range(30):
            await bot.send_message(-1 - n % 2, f"m{n}")
        with pytest.raises(RetryAfter):
            await bot.send_message(-3, "31st")
        assert emu.rate_limited == [("sendMessage", -3)]


async def test_ptb_rate_limiter_with_scaled_periods_delivers_everything_in_order(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("PTB_TIMEDELTA", "true")
    scale = 0.015
    async with BotApiEmulator(TOKEN, limits=Limits(time_scale=scale)) as emu:
        emu.group(FORUM, "Makers", forum=True)
        # PTB's leaky bucket lets the 21st message out 1/20 of a window after the 20th, where the
        # sliding window still refuses it: the 429 is retried after retry_after, in order.
        limiter = AIORateLimiter(overall_time_period=1 * scale, group_time_period=60 * scale, max_retries=3)
        async with ExtBot(TOKEN, base_url=emu.base_url, rate_limiter=limiter) as bot:
            for n in range(25):
                await bot.send_message(FORUM, f"m{n}")
        assert [m["text"] for m in emu.messages(FORUM)] == [f"m{n}" for n in range(25)]


async def test_answer_late_performs_the_call_but_the_client_times_out(emu: BotApiEmulator) -> None:
    emu.answer_late("sendMessage", 0.6)
    request = HTTPXRequest(read_timeout=0.1)
    async with Bot(TOKEN, base_url=emu.base_url, request=request) as bot:
        with pytest.raises(TimedOut):
            await bot.send_message(ALICE, "did it arrive?")
        assert [m["text"] for m in emu.messages(ALICE)] == ["did it arrive?"]
        await bot.send_message(ALICE, "answered at once")
    await emu.wait_idle()
    assert [m["text"] for m in emu.messages(ALICE)] == ["did it arrive?", "answered at once"]


needs_spec = pytest.mark.skipif(conformance() is None, reason="the Bot API reference (api.json) is not available")


@needs_spec
@pytest.mark.filterwarnings("ignore:Please use:telegram.warnings.PTBUserWarning")  # raw calls on purpose
async def test_calls_against_the_reference_are_refused_and_listed(emu: BotApiEmulator, bot: Bot) -> None:
    with pytest.raises(BadRequest, match="(?i)colour: unknown parameter"):
        await bot.send_message(ALICE, "hi", api_kwargs={"colour": "red"})
    with pytest.raises(BadRequest, match="Message text is empty"):
        await bot.do_api_request("sendMessage", api_kwargs={"chat_id": ALICE})
    with pytest.raises(BadRequest, match="(?i)disable_notification: must be Boolean"):
        await bot.do_api_request(
            "sendMessage", api_kwargs={"chat_id": ALICE, "text": "x", "disable_notification": "maybe"}
        )
    with pytest.raises(BadRequest, match="(?i)reply_parameters.message_id: must be Integer"):
        await bot.send_message(ALICE, "x", api_kwargs={"reply_parameters": {"message_id": "first"}})
    with pytest.raises(BadRequest, match="Message is too long"):
        await bot.send_message(ALICE, "<b>x</b>" * 1000 + "y" * 3097, parse_mode="HTML")
    await bot.send_message(ALICE, "<b>x</b>" * 1000 + "y" * 3096, parse_mode="HTML")  # 4096 after parsing
    too_much = InlineKeyboardMarkup([[InlineKeyboardButton("A", callback_data="é" * 32 + "x")]])
    with pytest.raises(BadRequest, match="(?i)button_data_invalid"):
        await bot.send_message(ALICE, "menu", reply_markup=too_much)
    with pytest.raises(EndPointNotFound):
        await bot.do_api_request("sendTelepathy", api_kwargs={"chat_id": ALICE})
    assert emu.violations == [
        "sendMessage: colour: unknown parameter",
        "sendMessage: text: required but missing",
        "sendMessage: disable_notification: must be Boolean",
        "sendMessage: reply_parameters.message_id: must be Integer",
        "sendMessage: text: must be 1-4096 characters, not 4097",
        "sendMessage: reply_markup.inline_keyboard[0][0].callback_data: must be 1-64 bytes, not 65",
        "sendTelepathy: unknown method",
    ]
    assert len(emu.messages(ALICE)) == 1


@needs_spec
@pytest.mark.filterwarnings("ignore:Please use:telegram.warnings.PTBUserWarning")  # raw calls on purpose
async def test_reference_limits_on_commands_topics_and_callback_answers(emu: BotApiEmulator, bot: Bot) -> None:
    emu.group(FORUM, "Makers", forum=True)
    with pytest.raises(BadRequest, match="(?i)topic_title_too_long"):
        await bot.create_forum_topic(FORUM, "t" * 129)
    with pytest.raises(BadRequest, match="(?i)bot_command_description_invalid"):
        await bot.set_my_commands([BotCommand("help", "")])
    with pytest.raises(BadRequest, match="(?i)bot_command_invalid"):
        await bot.set_my_commands([BotCommand("c" * 33, "Too long a name")])
    with pytest.raises(BadRequest, match="(?i)text: must be 0-200 characters, not 201"):
        await bot.answer_callback_query("1", text="n" * 201)
    with pytest.raises(BadRequest, match="(?i)scope.type: must be chat"):
        await bot.do_api_request("getMyCommands", api_kwargs={"scope": {"type": "chats", "chat_id": FORUM}})
    await bot.set_my_commands([BotCommand("help", "Help")], scope=BotCommandScopeChat(FORUM))
    assert len(emu.violations) == 5


async def test_without_the_reference_the_methods_still_check(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr("bot.emulator.server.conformance", lambda: None)
    async with BotApiEmulator(TOKEN) as emu:
        emu.user(ALICE, "Alice")
        async with Bot(TOKEN, base_url=emu.base_url) as bot:
            with pytest.raises(BadRequest, match="Message is too long"):
                await bot.send_message(ALICE, "y" * 4097)
            await bot.send_message(ALICE, "hi", api_kwargs={"colour": "red"})  # unknown parameters pass
        assert emu.violations == [] and len(emu.messages(ALICE)) == 1
