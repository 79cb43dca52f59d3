"""A local Telegram Bot API server for tests, demos and benchmarks.

Telegram's servers are unreachable where TechConnect is tested, so this module speaks
the Bot API over real HTTP on loopback. The real python-telegram-bot ``Bot`` and
``Application`` talk to it unchanged (``base_url``/``base_file_url``), which exercises
PTB's own request encoding, response parsing and exception mapping. The emulator also
plays the Telegram side: simulated users send messages, press buttons and edit, and
failures (blocked users, deleted topics, flood limits) can be injected with the
server's real error texts.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import logging
import mimetypes
import re
import time
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from http import HTTPStatus
from pathlib import PurePosixPath
from types import TracebackType
from typing import Any

from aiohttp import ClientError, ClientSession, ClientTimeout, web

__all__ = ["BotApiEmulator", "BotApiError", "Upload", "parse_html"]

JSON = dict[str, Any]

_log = logging.getLogger(__name__)

# How PTB encodes a request: every value is a form field, JSON-dumped unless it is a str.
# Like the real server, the emulator knows each field's type to decode it back.
_INT_FIELDS = frozenset(
    {
        "chat_id", "from_chat_id", "message_id", "message_thread_id", "offset", "limit",
        "timeout", "user_id", "icon_color", "cache_time", "max_connections", "duration",
        "width", "height",
    }
)
_BOOL_FIELDS = frozenset(
    {
        "disable_notification", "protect_content", "show_alert", "drop_pending_updates",
        "allow_sending_without_reply", "has_spoiler", "show_caption_above_media",
        "disable_content_type_detection", "allow_paid_broadcast",
    }
)
_JSON_FIELDS = frozenset(
    {
        "reply_markup", "reply_parameters", "link_preview_options", "entities",
        "caption_entities", "allowed_updates", "commands", "scope", "menu_button",
    }
)

_MEDIA_KINDS = ("photo", "document", "voice", "video", "sticker")
_CONTENT_KEYS = (
    "text", "entities", "html", "link_preview_options", "location",
    *_MEDIA_KINDS, "caption", "caption_entities",
)
_EDITABLE_KEYS = ("text", "entities", "caption", "caption_entities", "reply_markup")
_FILE_PREFIX = {"photo": "AgAC", "document": "BQAC", "voice": "AwAC", "video": "BAAC", "sticker": "CAAC"}
_FILE_FOLDER = {"photo": "photos", "document": "documents", "voice": "voice", "video": "videos", "sticker": "stickers"}
_FILE_EXT = {"photo": ".jpg", "document": "", "voice": ".oga", "video": ".mp4", "sticker": ".webp"}
_BUTTON_ACTIONS = frozenset(
    {
        "url", "callback_data", "web_app", "login_url", "switch_inline_query",
        "switch_inline_query_current_chat", "switch_inline_query_chosen_chat", "copy_text",
        "callback_game", "pay",
    }
)
_CHAT_ACTIONS = frozenset(
    {
        "typing", "upload_photo", "record_video", "upload_video", "record_voice", "upload_voice",
        "upload_document", "choose_sticker", "find_location", "record_video_note",
        "upload_video_note",
    }
)
_TOPIC_COLORS = frozenset({0x6FB9F0, 0xFFD67E, 0xCB86DB, 0x8EEE98, 0xFF93B2, 0xFB6F5F})
_GENERAL_TOPIC = 1
_OPT_IN_UPDATES = frozenset({"chat_member", "message_reaction", "message_reaction_count"})
_COMMAND_NAME = re.compile(r"[a-z0-9_]{1,32}")
_SECRET_TOKEN = re.compile(r"[A-Za-z0-9_-]{1,256}")
_AUTO_ENTITY = re.compile(
    r"(?<![\w/@])(/[A-Za-z0-9_]{1,64}(?:@[A-Za-z0-9_]{3,32})?)(?![\w/@])"
    r"|(?<![\w@])@[A-Za-z0-9_]{3,32}(?![\w@])"
)
_NOT_MODIFIED = (
    "message is not modified: specified new message content and reply markup are exactly "
    "the same as a current content and reply markup of the message"
)
_QUERY_TOO_OLD = "query is too old and response timeout expired or query ID is invalid"
_IDLE_GAP = 0.05
_WEBHOOK_RETRY = (0.05, 1.0)
_MAX_BODY = 64 * 1024 * 1024


class BotApiError(Exception):
    """An error answer of the Bot API; raised inside handlers, sent as the JSON error body."""

    def __init__(self, code: int, description: str, *, retry_after: int | None = None) -> None:
        super().__init__(description)
        self.code = code
        self.description = description
        self.retry_after = retry_after

    def body(self) -> JSON:
        """The response body in the exact shape PTB parses into its exceptions."""
        out: JSON = {"ok": False, "error_code": self.code, "description": self.description}
        if self.retry_after is not None:
            out["parameters"] = {"retry_after": self.retry_after}
        return out


def _bad(reason: str) -> BotApiError:
    return BotApiError(400, f"Bad Request: {reason}")


@dataclass(frozen=True, slots=True)
class Upload:
    """A file the bot uploaded as a multipart part (recorded in ``calls`` instead of bytes)."""

    filename: str | None
    content_type: str
    data: bytes = field(repr=False)


# ---------------------------------------------------------------------------- text and HTML

_HTML_TAGS = frozenset(
    {"a", "b", "strong", "i", "em", "u", "ins", "s", "strike", "del", "span", "tg-spoiler",
     "code", "pre", "blockquote", "tg-emoji"}
)
_TAG_ENTITY = {
    "b": "bold", "strong": "bold", "i": "italic", "em": "italic", "u": "underline",
    "ins": "underline", "s": "strikethrough", "strike": "strikethrough", "del": "strikethrough",
    "span": "spoiler", "tg-spoiler": "spoiler", "code": "code", "pre": "pre",
    "blockquote": "blockquote", "a": "text_link", "tg-emoji": "custom_emoji",
}
_HTML_ENTITY = re.compile(r"&(?:#(\d{1,7})|#[xX]([0-9a-fA-F]{1,6})|([a-zA-Z]+));")
_NAMED_ENTITIES = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}
_SPECIAL = re.compile(r"[<&]")
_SPACES = re.compile(r"\s*")
_TAG_NAME = re.compile(r"[^\s>]*")
_ATTRIBUTE = re.compile(r"""([^\s=>]+)(?:\s*=\s*(?:"([^"]*)"|'([^']*)'|([A-Za-z0-9.\-]+)))?""")


def _utf16_len(text: str) -> int:
    """Telegram measures entity offsets and lengths in UTF-16 code units."""
    return len(text) if text.isascii() else len(text.encode("utf-16-le")) // 2


def _decode_entity(match: re.Match[str]) -> str | None:
    decimal, hexadecimal, name = match.groups()
    if name is not None:
        return _NAMED_ENTITIES.get(name)
    code = int(decimal) if decimal is not None else int(hexadecimal, 16)
    if code == 0 or code > 0x10FFFF or 0xD800 <= code <= 0xDFFF:
        return None
    return chr(code)


def _end_of(pattern: re.Pattern[str], source: str, pos: int) -> int:
    match = pattern.match(source, pos)
    return match.end() if match else pos


def _unescape_attribute(value: str) -> str:
    return _HTML_ENTITY.sub(lambda m: _decode_entity(m) or m.group(), value)


def parse_html(source: str) -> tuple[str, list[JSON]]:
    """Turn Telegram-flavoured HTML into (visible text, entities), failing like the server.

    Error texts follow the server's ("Unsupported start tag ... at byte offset N"). One
    deliberate difference: a bare ``&`` or an unknown ``&name;`` is rejected, as the Bot API
    docs require escaping them, although the server tolerates them as literal text.
    """

    def fail(detail: str) -> BotApiError:
        return _bad(f"can't parse entities: {detail}")

    def at(index: int) -> int:
        return len(source[:index].encode())

    parts: list[str] = []
    offset = 0  # UTF-16 length of the visible text so far
    stack: list[list[Any]] = []  # [tag, argument, utf-16 start]
    entities: list[JSON] = []
    i, n = 0, len(source)
    while i < n:
        char = source[i]
        if char == "&":
            match = _HTML_ENTITY.match(source, i)
            decoded = _decode_entity(match) if match else None
            if match is None or decoded is None:
                raise fail(f'Character "&" must be escaped as "&amp;" at byte offset {at(i)}')
            parts.append(decoded)
            offset += _utf16_len(decoded)
            i = match.end()
            continue
        if char != "<":
            special = _SPECIAL.search(source, i)
            end = special.start() if special else n
            chunk = source[i:end]
            parts.append(chunk)
            offset += _utf16_len(chunk)
            i = end
            continue
        begin = i
        if source.startswith("</", i):
            if not stack:
                raise fail(f"Unexpected end tag at byte offset {at(begin)}")
            name_end = _end_of(_TAG_NAME, source, i + 2)
            end_name = source[i + 2 : name_end].lower()
            i = _end_of(_SPACES, source, name_end)
            if i >= n or source[i] != ">":
                raise fail(f"Unclosed end tag at byte offset {at(begin)}")
            i += 1
            tag, argument, start = stack.pop()
            if end_name and end_name != tag:
                raise fail(
                    f'Unmatched end tag at byte offset {at(begin)}, expected "</{tag}>", '
                    f'found "</{end_name}>"'
                )
            if tag == "code" and stack and stack[-1][0] == "pre" and stack[-1][2] == start:
                stack[-1][1] = argument  # <pre><code class="language-x"> is one pre entity
                continue
            length = offset - start
            if length <= 0 or (tag == "a" and not argument):
                continue
            entity: JSON = {"type": _TAG_ENTITY[tag], "offset": start, "length": length}
            if tag == "a":
                entity["url"] = argument
            elif tag == "pre" and argument:
                entity["language"] = argument
            elif tag == "tg-emoji":
                entity["custom_emoji_id"] = argument
            elif tag == "blockquote" and argument:
                entity["type"] = "expandable_blockquote"
            entities.append(entity)
            continue
        name_end = _end_of(_TAG_NAME, source, i + 1)
        tag = source[i + 1 : name_end].lower()
        if name_end >= n:
            raise fail(f"Unclosed start tag at byte offset {at(begin)}")
        if tag not in _HTML_TAGS:
            raise fail(f'Unsupported start tag "{tag}" at byte offset {at(begin)}')
        attributes: dict[str, str] = {}
        i = name_end
        while True:
            i = _end_of(_SPACES, source, i)
            if i >= n:
                raise fail(f'Unclosed start tag "{tag}" at byte offset {at(begin)}')
            if source[i] == ">":
                i += 1
                break
            attribute = _ATTRIBUTE.match(source, i)
            if attribute is None:
                raise fail(f'Empty attribute name in the tag "{tag}" at byte offset {at(begin)}')
            name = attribute.group(1).lower()
            value = next((v for v in attribute.groups()[1:] if v is not None), None)
            if value is None and not (tag == "blockquote" and name == "expandable"):
                raise fail(
                    f'Expected equal sign in declaration of an attribute of the tag "{tag}" '
                    f"at byte offset {at(begin)}"
                )
            attributes[name] = _unescape_attribute(value or "")
            i = attribute.end()
        argument = ""
        if tag == "a":
            argument = attributes.get("href", "")
        elif tag == "code":
            css_class = attributes.get("class", "")
            argument = css_class.removeprefix("language-") if css_class.startswith("language-") else ""
        elif tag == "span" and attributes.get("class") != "tg-spoiler":
            raise fail(f'Tag "span" must have class "tg-spoiler" at byte offset {at(begin)}')
        elif tag == "tg-emoji":
            argument = attributes.get("emoji-id", "")
            if not argument.isdigit():
                raise fail(f'Tag "tg-emoji" must have a numeric "emoji-id" at byte offset {at(begin)}')
        elif tag == "blockquote" and "expandable" in attributes:
            argument = "expandable"
        stack.append([tag, argument, offset])
    if stack:
        raise fail(f'Can\'t find end tag corresponding to start tag "{stack[-1][0]}"')
    entities.sort(key=lambda e: (e["offset"], -e["length"]))
    return "".join(parts), entities


def _auto_entities(text: str) -> list[JSON]:
    """The bot_command and mention entities Telegram's clients attach to what users type."""
    return [
        {
            "type": "bot_command" if match.group(1) else "mention",
            "offset": _utf16_len(text[: match.start()]),
            "length": _utf16_len(match.group()),
        }
        for match in _AUTO_ENTITY.finditer(text)
    ]


def _check_markup(markup: Any) -> JSON | None:
    """Validate reply_markup; return it only if it is an inline keyboard, the kind a Message echoes."""
    if markup is None:
        return None
    if not isinstance(markup, dict):
        raise _bad("can't parse reply keyboard markup JSON object")
    if "inline_keyboard" in markup:
        rows = markup["inline_keyboard"]
        if not isinstance(rows, list) or not all(isinstance(row, list) for row in rows):
            raise _bad('can\'t parse inline keyboard button: Field "inline_keyboard" must be of type Array')
        for button in itertools.chain.from_iterable(rows):
            if not isinstance(button, dict) or not isinstance(button.get("text"), str):
                raise _bad('can\'t parse inline keyboard button: Field "text" must be of type String')
            if not _BUTTON_ACTIONS & button.keys():
                raise _bad("can't parse inline keyboard button: Text buttons are unallowed in the inline keyboard")
            if "callback_data" in button:
                data = button["callback_data"]
                if not isinstance(data, str) or not 1 <= len(data.encode()) <= 64:
                    raise _bad("BUTTON_DATA_INVALID")
        return markup if any(rows) else None
    if "keyboard" in markup:
        rows = markup["keyboard"]
        if not isinstance(rows, list) or not all(isinstance(row, list) for row in rows):
            raise _bad('can\'t parse keyboard button: Field "keyboard" must be of type Array')
        return None
    if markup.get("remove_keyboard") is True or markup.get("force_reply") is True:
        return None
    raise _bad("can't parse reply keyboard markup JSON object")


def _quoted(message: JSON) -> JSON:
    """A message as embedded in reply_to_message: Telegram doesn't nest replies further."""
    return {k: v for k, v in message.items() if k not in ("reply_to_message", "html")}


def _public(message: JSON) -> JSON:
    """A stored message without the emulator-only raw ``html`` field, as sent to the bot."""
    return {k: v for k, v in message.items() if k != "html"} if "html" in message else message


def _status_line(status: int) -> str:
    """'403 Forbidden': the standard phrase, not the webhook's custom reason."""
    try:
        return f"{status} {HTTPStatus(status).phrase}"
    except ValueError:
        return str(status)


def _dumps(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode()


def _coerce(key: str, value: Any) -> Any:
    """Decode one request field the way the server types it."""
    if not isinstance(value, str):
        return value
    if key in _INT_FIELDS:
        try:
            return int(value)
        except ValueError:
            return value
    if key in _BOOL_FIELDS:
        return value.lower() in ("true", "1")
    if key in _JSON_FIELDS:
        try:
            return json.loads(value)
        except ValueError:
            raise _bad(f"can't parse {key} JSON object") from None
    return value


async def _read_params(request: web.Request) -> JSON:
    """Query string, url-encoded/multipart form (PTB's encoding) or a JSON body, typed."""
    raw: dict[str, Any] = dict(request.query)
    if request.body_exists:
        if request.content_type == "application/json":
            try:
                body = await request.json()
            except ValueError:
                raise _bad("can't parse JSON object") from None
            if isinstance(body, dict):
                raw.update(body)
        else:
            for key, value in (await request.post()).items():
                if isinstance(value, web.FileField):
                    raw[key] = Upload(value.filename, value.content_type, value.file.read())
                else:
                    raw[key] = value
    return {key: _coerce(key, value) for key, value in raw.items()}


# ---------------------------------------------------------------------------- state


@dataclass(slots=True)
class _Chat:
    info: JSON
    members: set[int] = field(default_factory=set)
    admins: set[int] = field(default_factory=set)
    messages: dict[int, JSON] = field(default_factory=dict)
    topics: dict[int, JSON] = field(default_factory=dict)
    closed_topics: set[int] = field(default_factory=set)
    last_message_id: int = 0
    blocked: bool = False
    unreachable: bool = False

    @property
    def is_forum(self) -> bool:
        return bool(self.info.get("is_forum"))

    @property
    def is_private(self) -> bool:
        return self.info["type"] == "private"


@dataclass(slots=True)
class _File:
    kind: str
    media: JSON  # the object as it appears in a Message (one PhotoSize for photos)
    data: bytes
    path: str


@dataclass(slots=True)
class _Webhook:
    url: str
    secret_token: str | None
    max_connections: int
    ip_address: str | None
    last_error_date: int | None = None
    last_error_message: str | None = None


class BotApiEmulator:
    """Bot API server plus simulated Telegram users, on 127.0.0.1 over real HTTP.

    Simplifications: the bot is an administrator of every group, sees every group message
    (privacy mode off), may message users who never started it, and MarkdownV2 text is
    stored unparsed. Everything else aims at the server's behaviour and error texts.
    """

    def __init__(
        self,
        token: str = "123456:TEST-TOKEN",
        *,
        bot_username: str = "techconnect_bot",
        bot_name: str = "TechConnect",
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        bot_id, _, secret = token.partition(":")
        if not bot_id.isdigit() or not secret:
            raise ValueError("a bot token looks like '123456:secret'")
        self.token = token
        self.bot_id = int(bot_id)
        self._me: JSON = {"id": self.bot_id, "is_bot": True, "first_name": bot_name, "username": bot_username}
        self._host = host
        self._port = port
        self.base_url = ""
        self.base_file_url = ""
        self.calls: list[tuple[str, JSON]] = []
        self.callback_answers: list[JSON] = []
        self._users: dict[int, JSON] = {}
        self._chats: dict[int, _Chat] = {}
        self._files: dict[str, _File] = {}
        self._file_paths: dict[str, str] = {}
        self._commands: dict[tuple[str, str], list[JSON]] = {}
        self._menu_buttons: dict[int | None, JSON] = {}
        self._open_queries: set[str] = set()
        self._floods: dict[str, list[int]] = {}
        self._queue: deque[JSON] = deque()
        self._allowed: frozenset[str] | None = None
        self._last_update_id = 0
        self._fetched_upto = 0
        self._poll_generation = 0
        self._bot_events: list[JSON] = []
        self._mark = 0
        self._inflight = 0
        self._last_activity = 0.0
        self._cond = asyncio.Condition()
        self._closing = False
        self._webhook: _Webhook | None = None
        self._webhook_task: asyncio.Task[None] | None = None
        self._runner: web.AppRunner | None = None
        self._session: ClientSession | None = None
        self._seq = itertools.count(1)
        self._handlers: dict[str, Callable[[JSON], Any]] = {
            name.lower(): handler
            for name, handler in {
                "getMe": self._get_me,
                "logOut": lambda params: True,
                "close": lambda params: True,
                "setWebhook": self._set_webhook,
                "deleteWebhook": self._delete_webhook,
                "getWebhookInfo": self._get_webhook_info,
                "sendMessage": self._send_message,
                "sendPhoto": lambda params: self._send_media("photo", params),
                "sendDocument": lambda params: self._send_media("document", params),
                "sendVoice": lambda params: self._send_media("voice", params),
                "sendVideo": lambda params: self._send_media("video", params),
                "sendSticker": lambda params: self._send_media("sticker", params),
                "copyMessage": lambda params: self._copy(params, forward=False),
                "forwardMessage": lambda params: self._copy(params, forward=True),
                "editMessageText": lambda params: self._edit(params, "text"),
                "editMessageCaption": lambda params: self._edit(params, "caption"),
                "editMessageReplyMarkup": lambda params: self._edit(params, "reply_markup"),
                "deleteMessage": self._delete_message,
                "answerCallbackQuery": self._answer_callback_query,
                "setMyCommands": self._set_my_commands,
                "getMyCommands": lambda params: list(self._commands.get(self._commands_key(params), [])),
                "deleteMyCommands": self._delete_my_commands,
                "setChatMenuButton": self._set_chat_menu_button,
                "getChatMenuButton": self._get_chat_menu_button,
                "sendChatAction": self._send_chat_action,
                "createForumTopic": self._create_forum_topic,
                "editForumTopic": self._edit_forum_topic,
                "closeForumTopic": lambda params: self._close_forum_topic(params, closed=True),
                "reopenForumTopic": lambda params: self._close_forum_topic(params, closed=False),
                "deleteForumTopic": self._delete_forum_topic,
                "getChat": self._get_chat,
                "getChatMember": self._get_chat_member,
                "getFile": self._get_file,
            }.items()
        }

    # ------------------------------------------------------------------ lifecycle

    async def start(self) -> None:
        """Listen on host:port (port 0 picks a free one) and fill in the base URLs."""
        app = web.Application(client_max_size=_MAX_BODY)
        app.router.add_route("*", "/bot{token}/{method}", self._api)
        app.router.add_get("/file/bot{token}/{path:.+}", self._download)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
        await self._runner.setup()
        await web.TCPSite(self._runner, self._host, self._port).start()
        host, port = self._runner.addresses[0][:2]
        netloc = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
        self.base_url = f"http://{netloc}/bot"
        self.base_file_url = f"http://{netloc}/file/bot"
        self._session = ClientSession(timeout=ClientTimeout(total=10))
        self._closing = False

    async def stop(self) -> None:
        """End long polls at once, stop webhook delivery and close the server."""
        self._closing = True
        await self._notify()
        await self._stop_webhook_task()
        if self._session is not None:
            await self._session.close()
            self._session = None
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> BotApiEmulator:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.stop()

    # ------------------------------------------------------------------ simulated Telegram side

    def user(
        self, user_id: int, first_name: str, language_code: str | None = None, username: str | None = None
    ) -> JSON:
        """Register a Telegram user (and their private chat with the bot); returns the User."""
        if user_id <= 0:
            raise ValueError("user ids are positive")
        user: JSON = {"id": user_id, "is_bot": False, "first_name": first_name}
        info: JSON = {"id": user_id, "type": "private", "first_name": first_name}
        if username:
            user["username"] = info["username"] = username
        if language_code:
            user["language_code"] = language_code
        self._users[user_id] = user
        chat = self._chats.get(user_id)
        if chat is None:
            self._chats[user_id] = _Chat(info, members={user_id})
        else:
            chat.info = info
        return user

    def group(
        self,
        chat_id: int,
        title: str,
        *,
        forum: bool = False,
        members: Iterable[int] = (),
        admins: Iterable[int] = (),
        supergroup: bool = False,
    ) -> JSON:
        """Register a group the bot is an administrator of; forums are supergroups."""
        if chat_id >= 0:
            raise ValueError("group chat ids are negative")
        info: JSON = {"id": chat_id, "type": "supergroup" if forum or supergroup else "group", "title": title}
        if forum:
            info["is_forum"] = True
        admin_ids = set(admins)
        self._chats[chat_id] = _Chat(
            info,
            members=set(members) | admin_ids,
            admins=admin_ids,
            last_message_id=_GENERAL_TOPIC if forum else 0,  # message 1 founded the General topic
        )
        return info

    def create_topic(self, chat_id: int, name: str, icon_color: int = 0x6FB9F0) -> JSON:
        """A forum topic created by a human admin; returns the ForumTopic."""
        chat = self._known_chat(chat_id)
        if not chat.is_forum:
            raise ValueError(f"chat {chat_id} is not a forum")
        return self._new_topic(chat, name, icon_color, None)

    async def send_text(
        self,
        user_id: int,
        text: str,
        *,
        chat_id: int | None = None,
        message_thread_id: int | None = None,
        reply_to: int | None = None,
    ) -> JSON:
        """A user sends text (to the bot's private chat unless chat_id); returns the Message."""
        content: JSON = {"text": text}
        entities = _auto_entities(text)
        if entities:
            content["entities"] = entities
        return await self._user_message(user_id, chat_id, message_thread_id, reply_to, content)

    async def send_media(
        self,
        user_id: int,
        kind: str,
        *,
        chat_id: int | None = None,
        message_thread_id: int | None = None,
        caption: str | None = None,
        content: bytes | None = None,
        file_name: str | None = None,
    ) -> JSON:
        """A user sends photo/document/voice/video/sticker/location; the file is downloadable."""
        body: JSON
        if kind == "location":
            body = {"location": {"latitude": 52.520008, "longitude": 13.404954}}
        elif kind in _MEDIA_KINDS:
            data = content if content is not None else f"{kind} sent by {user_id}".encode()
            media = self._register_file(kind, data, file_name, None).media
            body = {kind: [media] if kind == "photo" else media}
        else:
            raise ValueError(f"unknown media kind {kind!r}")
        if caption and kind not in ("sticker", "location"):
            body["caption"] = caption
            entities = _auto_entities(caption)
            if entities:
                body["caption_entities"] = entities
        return await self._user_message(user_id, chat_id, message_thread_id, None, body)

    async def press(self, user_id: int, message: JSON, callback_data: str) -> JSON:
        """A user presses an inline button of a bot message; returns the CallbackQuery."""
        sender = self._known_user(user_id)
        chat = self._known_chat(message["chat"]["id"])
        current = chat.messages.get(message["message_id"])
        if current is None:
            raise ValueError(f"message {message['message_id']} no longer exists")
        rows = current.get("reply_markup", {}).get("inline_keyboard", [])
        if not any(b.get("callback_data") == callback_data for b in itertools.chain.from_iterable(rows)):
            raise ValueError(f"message {current['message_id']} has no button with callback_data {callback_data!r}")
        query: JSON = {
            "id": str(self.bot_id * 1000 + next(self._seq)),
            "from": sender,
            "message": _public(current),
            "chat_instance": str(abs(chat.info["id"]) * 2654435761 % 2**63),
            "data": callback_data,
        }
        self._open_queries.add(query["id"])
        await self._enqueue("callback_query", query)
        return query

    async def edit_text(self, user_id: int, message: JSON, new_text: str) -> JSON:
        """A user edits their own text message; the bot gets an edited_message update."""
        chat = self._known_chat(message["chat"]["id"])
        current = chat.messages.get(message["message_id"])
        if current is None or current["from"]["id"] != user_id or "text" not in current:
            raise ValueError("users can only edit their own existing text messages")
        updated = {k: v for k, v in current.items() if k != "entities"}
        updated["text"] = new_text
        entities = _auto_entities(new_text)
        if entities:
            updated["entities"] = entities
        updated["edit_date"] = int(time.time())
        chat.messages[updated["message_id"]] = updated
        await self._enqueue("edited_message", updated)
        return updated

    def messages(self, chat_id: int, *, thread_id: int | None = None, from_bot: bool | None = None) -> list[JSON]:
        """Current messages of a chat in order, with edits applied and deletions gone."""
        chat = self._chats.get(chat_id)
        if chat is None:
            return []
        return [
            m
            for m in chat.messages.values()
            if (thread_id is None or m.get("message_thread_id") == thread_id)
            and (from_bot is None or (m["from"]["id"] == self.bot_id) == from_bot)
        ]

    def mark(self) -> int:
        """A position in the stream of bot messages and edits, for ``wait_for(since=...)``."""
        return len(self._bot_events)

    def events_since(self, mark: int) -> list[JSON]:
        """Bot messages and edits (as the edited message) after ``mark``, in order."""
        return list(self._bot_events[mark:])

    async def wait_for(
        self, predicate: Callable[[JSON], bool], timeout: float = 10.0, *, since: int | None = None
    ) -> JSON:
        """First bot message or edit matching predicate, sent after the last simulated user action.

        ``since`` (from ``mark()``) overrides the starting point. Edits are passed as the
        edited message (it has ``edit_date``). Raises TimeoutError listing what did arrive.
        """
        index = self._mark if since is None else since
        start = index
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        async with self._cond:
            while True:
                while index < len(self._bot_events):
                    event = self._bot_events[index]
                    index += 1
                    if predicate(event):
                        return event
                remaining = deadline - loop.time()
                if remaining <= 0:
                    seen = [e.get("text", e.get("caption", "<media>")) for e in self._bot_events[start:]][-5:]
                    raise TimeoutError(f"no matching bot message within {timeout}s; last ones: {seen!r}")
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(remaining):
                        await self._cond.wait()

    async def wait_idle(self, timeout: float = 10.0) -> None:
        """Until every update was fetched by the bot and no API call happened for ~50 ms."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        async with self._cond:
            while True:
                now = loop.time()
                busy = self._inflight > 0 or self._has_unfetched()
                quiet_left = self._last_activity + _IDLE_GAP - now
                if not busy and quiet_left <= 0:
                    return
                if now >= deadline:
                    raise TimeoutError(
                        f"bot not idle after {timeout}s: {self._inflight} calls in flight, "
                        f"{len(self._queue)} updates pending"
                    )
                wait = deadline - now if busy else min(quiet_left, deadline - now)
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(wait):
                        await self._cond.wait()

    def calls_to(self, method: str) -> list[JSON]:
        """Parameters of every call of one method, e.g. ``calls_to("sendMessage")``."""
        key = method.lower()
        return [params for name, params in self.calls if name.lower() == key]

    def my_commands(self, scope: JSON | None = None, language_code: str = "") -> list[JSON]:
        """The command list set for exactly this (scope, language_code) pair."""
        return list(self._commands.get(self._commands_key({"scope": scope, "language_code": language_code}), []))

    @property
    def webhook_url(self) -> str:
        return self._webhook.url if self._webhook else ""

    # ------------------------------------------------------------------ failure injection

    def block(self, user_id: int) -> None:
        """The user blocks the bot: sends to their private chat get 403 until they write again."""
        self._known_chat(user_id).blocked = True

    def delete_topic(self, chat_id: int, thread_id: int) -> None:
        """A human deletes a forum topic; later sends into it fail with 'message thread not found'."""
        chat = self._known_chat(chat_id)
        if thread_id not in chat.topics:
            raise ValueError(f"chat {chat_id} has no topic {thread_id}")
        self._remove_topic(chat, thread_id)

    def set_unreachable(self, chat_id: int, unreachable: bool = True) -> None:
        """Private chats become 'chat not found'; groups 'bot was kicked' (403)."""
        self._known_chat(chat_id).unreachable = unreachable

    def flood(self, method: str, retry_after: int = 1, times: int = 1) -> None:
        """The next `times` calls of method answer 429 with parameters.retry_after."""
        if retry_after < 1 or times < 1:
            raise ValueError("retry_after and times must be positive")
        self._floods[method.lower()] = [retry_after, times]

    # ------------------------------------------------------------------ HTTP plumbing

    async def _api(self, request: web.Request) -> web.Response:
        """Every Bot API call: check token, decode, dispatch, answer like the server."""
        if request.match_info["token"] != self.token:
            return self._respond(BotApiError(401, "Unauthorized"))
        method = request.match_info["method"]
        key = method.lower()
        polling = key == "getupdates"
        loop = asyncio.get_running_loop()
        if not polling:
            self._inflight += 1
            self._last_activity = loop.time()
        try:
            params = await _read_params(request)
            self.calls.append((method, params))
            handler = self._handlers.get(key)
            if handler is None and not polling:
                raise BotApiError(404, "Not Found")
            self._take_flood(key)
            result = await self._get_updates(params) if handler is None else handler(params)
            response = web.Response(body=_dumps({"ok": True, "result": result}), content_type="application/json")
        except BotApiError as exc:
            response = self._respond(exc)
        finally:
            if not polling:
                self._inflight -= 1
                self._last_activity = loop.time()
                await self._notify()
        return response

    @staticmethod
    def _respond(error: BotApiError) -> web.Response:
        return web.Response(status=error.code, body=_dumps(error.body()), content_type="application/json")

    async def _download(self, request: web.Request) -> web.Response:
        """Serve file contents under base_file_url, as getFile's file_path promises."""
        file_id = self._file_paths.get(request.match_info["path"])
        if request.match_info["token"] != self.token or file_id is None:
            return self._respond(BotApiError(404, "Not Found"))
        return web.Response(body=self._files[file_id].data, content_type="application/octet-stream")

    async def _notify(self) -> None:
        async with self._cond:
            self._cond.notify_all()

    def _take_flood(self, key: str) -> None:
        rule = self._floods.get(key)
        if rule is None:
            return
        rule[1] -= 1
        if rule[1] <= 0:
            del self._floods[key]
        raise BotApiError(429, f"Too Many Requests: retry after {rule[0]}", retry_after=rule[0])

    # ------------------------------------------------------------------ updates

    def _wants(self, kind: str) -> bool:
        return kind not in _OPT_IN_UPDATES if self._allowed is None else kind in self._allowed

    def _set_allowed(self, allowed: Any) -> None:
        """Telegram keeps the last allowed_updates; an empty list means the default set."""
        if not isinstance(allowed, list):
            raise _bad("can't parse allowed updates JSON object")
        self._allowed = frozenset(allowed) or None
        self._queue = deque(u for u in self._queue if self._wants(next(k for k in u if k != "update_id")))

    def _has_unfetched(self) -> bool:
        return bool(self._queue) and self._queue[-1]["update_id"] > self._fetched_upto

    def _drop_pending(self) -> None:
        self._queue.clear()
        self._fetched_upto = self._last_update_id

    async def _enqueue(self, kind: str, payload: JSON) -> None:
        self._last_update_id += 1
        self._mark = len(self._bot_events)
        if self._wants(kind):
            self._queue.append({"update_id": self._last_update_id, kind: payload})
        await self._notify()

    async def _get_updates(self, params: JSON) -> list[JSON]:
        """Long poll: confirm by offset, wait up to timeout, end older polls with 409."""
        if self._webhook is not None:
            raise BotApiError(
                409,
                "Conflict: can't use getUpdates method while webhook is active; "
                "use deleteWebhook to delete the webhook first",
            )
        if "allowed_updates" in params:
            self._set_allowed(params["allowed_updates"])
        offset = params.get("offset", 0)
        limit = min(max(params.get("limit", 100), 1), 100)
        if offset < 0:
            while len(self._queue) > -offset:
                self._queue.popleft()
        while self._queue and self._queue[0]["update_id"] < offset:
            self._queue.popleft()
        self._poll_generation += 1
        generation = self._poll_generation
        await self._notify()
        loop = asyncio.get_running_loop()
        deadline = loop.time() + max(params.get("timeout", 0), 0)
        async with self._cond:
            while True:
                if generation != self._poll_generation:
                    raise BotApiError(
                        409,
                        "Conflict: terminated by other getUpdates request; "
                        "make sure that only one bot instance is running",
                    )
                remaining = deadline - loop.time()
                if self._queue or self._closing or remaining <= 0:
                    break
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(remaining):
                        await self._cond.wait()
        batch = list(itertools.islice(self._queue, limit))
        if batch:
            self._fetched_upto = max(self._fetched_upto, batch[-1]["update_id"])
            self._last_activity = loop.time()
        return batch

    def _set_webhook(self, params: JSON) -> bool:
        url = params.get("url", "")
        secret = params.get("secret_token")
        if secret is not None and not _SECRET_TOKEN.fullmatch(secret):
            raise _bad("secret token contains unallowed characters")
        if "allowed_updates" in params:
            self._set_allowed(params["allowed_updates"])
        if params.get("drop_pending_updates"):
            self._drop_pending()
        self._cancel_webhook_task()
        if not url:
            self._webhook = None
            return True
        self._webhook = _Webhook(url, secret, params.get("max_connections", 40), params.get("ip_address"))
        self._webhook_task = asyncio.get_running_loop().create_task(self._deliver(self._webhook))
        return True

    def _delete_webhook(self, params: JSON) -> bool:
        if params.get("drop_pending_updates"):
            self._drop_pending()
        self._cancel_webhook_task()
        self._webhook = None
        return True

    def _get_webhook_info(self, params: JSON) -> JSON:
        hook = self._webhook
        info: JSON = {"url": hook.url if hook else "", "has_custom_certificate": False,
                      "pending_update_count": len(self._queue)}
        if hook is not None:
            info["max_connections"] = hook.max_connections
            if hook.ip_address:
                info["ip_address"] = hook.ip_address
            if self._allowed is not None:
                info["allowed_updates"] = sorted(self._allowed)
            if hook.last_error_date is not None:
                info["last_error_date"] = hook.last_error_date
                info["last_error_message"] = hook.last_error_message
        return info

    def _cancel_webhook_task(self) -> None:
        if self._webhook_task is not None:
            self._webhook_task.cancel()
            self._webhook_task = None

    async def _stop_webhook_task(self) -> None:
        task = self._webhook_task
        self._cancel_webhook_task()
        if task is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _deliver(self, hook: _Webhook) -> None:
        """POST queued updates to the webhook one by one, in order, retrying with backoff."""
        assert self._session is not None
        headers = {"Content-Type": "application/json"}
        if hook.secret_token:
            headers["X-Telegram-Bot-Api-Secret-Token"] = hook.secret_token
        loop = asyncio.get_running_loop()
        backoff = _WEBHOOK_RETRY[0]
        while True:
            async with self._cond:
                await self._cond.wait_for(lambda: bool(self._queue))
            update = self._queue[0]
            error: str | None = None
            try:
                async with self._session.post(hook.url, data=_dumps(update), headers=headers) as response:
                    if not 200 <= response.status < 300:
                        error = f"Wrong response from the webhook: {_status_line(response.status)}"
            except (ClientError, TimeoutError) as exc:
                error = f"Connection failed: {exc or type(exc).__name__}"
            if error is None:
                if self._queue and self._queue[0] is update:
                    self._queue.popleft()
                self._fetched_upto = max(self._fetched_upto, update["update_id"])
                self._last_activity = loop.time()
                backoff = _WEBHOOK_RETRY[0]
                await self._notify()
            else:
                _log.debug("webhook delivery of update %s failed: %s", update["update_id"], error)
                hook.last_error_date = int(time.time())
                hook.last_error_message = error
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, _WEBHOOK_RETRY[1])

    # ------------------------------------------------------------------ chats and messages

    def _known_user(self, user_id: int) -> JSON:
        user = self._users.get(user_id)
        if user is None:
            raise ValueError(f"unknown user {user_id}; register it with user() first")
        return user

    def _known_chat(self, chat_id: int) -> _Chat:
        chat = self._chats.get(chat_id)
        if chat is None:
            raise ValueError(f"unknown chat {chat_id}; register it with user() or group() first")
        return chat

    def _chat(self, params: JSON, key: str = "chat_id", *, write: bool = False) -> _Chat:
        """Resolve a chat parameter with the server's chat-level errors."""
        chat_id = params.get(key)
        if chat_id is None or chat_id == "":
            raise _bad(f"{key} is empty")
        chat = self._chats.get(chat_id) if isinstance(chat_id, int) else None
        if chat is None or (chat.unreachable and chat.is_private):
            raise _bad("chat not found")
        if chat.unreachable:
            kind = "supergroup chat" if chat.info["type"] == "supergroup" else "group chat"
            raise BotApiError(403, f"Forbidden: bot was kicked from the {kind}")
        if write and chat.blocked:
            raise BotApiError(403, "Forbidden: bot was blocked by the user")
        return chat

    def _store(self, chat: _Chat, sender: JSON, thread: int | None, content: JSON) -> JSON:
        chat.last_message_id += 1
        message: JSON = {"message_id": chat.last_message_id, "from": sender, "chat": chat.info, "date": int(time.time())}
        if thread is not None:
            message["message_thread_id"] = thread
            message["is_topic_message"] = True
        message.update(content)
        chat.messages[chat.last_message_id] = message
        return message

    def _thread(self, chat: _Chat, thread_id: Any, reply_to: JSON | None) -> int | None:
        """The topic a message goes to; replies land in the replied message's topic."""
        if thread_id is None and reply_to is not None and reply_to.get("is_topic_message"):
            thread_id = reply_to["message_thread_id"]
        if thread_id is None or not chat.is_forum:
            return None
        if thread_id == _GENERAL_TOPIC:
            return None
        if thread_id not in chat.topics:
            raise _bad("message thread not found")
        return int(thread_id)

    def _reply_target(self, chat: _Chat, reply_parameters: Any) -> JSON | None:
        if reply_parameters is None:
            return None
        if not isinstance(reply_parameters, dict) or not isinstance(reply_parameters.get("message_id"), int):
            raise _bad("can't parse reply parameters JSON object")
        target = chat.messages.get(reply_parameters["message_id"])
        if target is None:
            if reply_parameters.get("allow_sending_without_reply"):
                return None
            raise _bad("message to be replied not found")
        return _quoted(target)

    def _formatted(self, params: JSON, key: str) -> JSON:
        """Text or caption with parse_mode/entities applied: what the user will see."""
        raw = params.get(key)
        entities_key = "entities" if key == "text" else "caption_entities"
        if raw is None or raw == "":
            if key == "text":
                raise _bad("message text is empty")
            return {}
        raw = str(raw)
        mode = str(params.get("parse_mode") or "").lower()
        content: JSON = {}
        if mode == "html":
            text, entities = parse_html(raw)
            content["html"] = raw
        elif mode in ("", "markdown", "markdownv2"):
            text, entities = raw, params.get(entities_key) or []
        else:
            raise _bad("unsupported parse_mode")
        if not text.strip():
            if key == "text":
                raise _bad("message text is empty")
            return {}
        if key == "text" and len(text) > 4096:
            raise _bad("message is too long")
        if key == "caption" and len(text) > 1024:
            raise _bad("message caption is too long")
        content[key] = text
        if entities:
            content[entities_key] = entities
        return content

    def _post_bot_message(self, chat: _Chat, params: JSON, content: JSON) -> JSON:
        reply_to = self._reply_target(chat, params.get("reply_parameters"))
        thread = self._thread(chat, params.get("message_thread_id"), reply_to)
        if reply_to is not None:
            content["reply_to_message"] = reply_to
        markup = _check_markup(params.get("reply_markup"))
        if markup is not None:
            content["reply_markup"] = markup
        if params.get("protect_content"):
            content["has_protected_content"] = True
        message = self._store(chat, self._me, thread, content)
        self._bot_events.append(message)
        return _public(message)

    async def _user_message(
        self, user_id: int, chat_id: int | None, thread_id: int | None, reply_to: int | None, content: JSON
    ) -> JSON:
        sender = self._known_user(user_id)
        chat = self._known_chat(user_id if chat_id is None else chat_id)
        if chat.is_private:
            if chat.info["id"] != user_id:
                raise ValueError("a user can only write to the bot in their own private chat")
            chat.blocked = False  # writing to a bot you blocked unblocks it ("Restart")
        else:
            chat.members.add(user_id)
        target = None
        if reply_to is not None:
            target = chat.messages.get(reply_to)
            if target is None:
                raise ValueError(f"chat {chat.info['id']} has no message {reply_to}")
            content["reply_to_message"] = _quoted(target)
        try:
            thread = self._thread(chat, thread_id, target)
        except BotApiError as exc:
            raise ValueError(f"topic {thread_id} does not exist in chat {chat.info['id']}") from exc
        if thread is not None and thread in chat.closed_topics and user_id not in chat.admins:
            raise ValueError(f"topic {thread} is closed")
        message = self._store(chat, sender, thread, content)
        await self._enqueue("message", message)
        return message

    def _register_file(self, kind: str, data: bytes, file_name: str | None, mime_type: str | None) -> _File:
        n = next(self._seq)
        file_id = f"{_FILE_PREFIX[kind]}{self.bot_id:x}{n:08d}"
        suffix = PurePosixPath(file_name).suffix if file_name else _FILE_EXT[kind]
        media: JSON = {"file_id": file_id, "file_unique_id": f"AQAD{n:08d}", "file_size": len(data)}
        if kind == "photo":
            media.update(width=1280, height=960)
        elif kind == "document":
            media["file_name"] = file_name or f"document_{n}"
            media["mime_type"] = mime_type or mimetypes.guess_type(media["file_name"])[0] or "application/octet-stream"
        elif kind == "voice":
            media.update(duration=1, mime_type="audio/ogg")
        elif kind == "video":
            media.update(width=1280, height=720, duration=1, mime_type="video/mp4")
        else:
            media.update(type="regular", width=512, height=512, is_animated=False, is_video=False)
        record = _File(kind, media, data, f"{_FILE_FOLDER[kind]}/file_{n}{suffix}")
        self._files[file_id] = record
        self._file_paths[record.path] = file_id
        return record

    def _media(self, kind: str, value: Any) -> JSON:
        """An uploaded file, a known file_id or a URL, as the Message field for kind."""
        if isinstance(value, Upload):
            return self._register_file(kind, value.data, value.filename, value.content_type).media
        if isinstance(value, str) and value:
            known = self._files.get(value)
            if known is not None:
                if known.kind != kind:
                    raise _bad(f"can't use file of type {known.kind.title()} as {kind.title()}")
                return known.media
            if value.startswith(("http://", "https://")):
                return self._register_file(kind, b"", value.rsplit("/", 1)[-1], None).media
            raise _bad("wrong file identifier/HTTP URL specified")
        raise _bad(f"there is no {kind} in the request")

    def _remove_topic(self, chat: _Chat, thread_id: int) -> None:
        del chat.topics[thread_id]
        chat.closed_topics.discard(thread_id)
        for message_id in [i for i, m in chat.messages.items() if m.get("message_thread_id") == thread_id]:
            del chat.messages[message_id]

    def _new_topic(self, chat: _Chat, name: str, icon_color: int, emoji: str | None) -> JSON:
        chat.last_message_id += 1  # a topic's id is the id of its creation service message
        topic: JSON = {"message_thread_id": chat.last_message_id, "name": name, "icon_color": icon_color}
        if emoji:
            topic["icon_custom_emoji_id"] = emoji
        chat.topics[chat.last_message_id] = topic
        return dict(topic)

    def _topic(self, params: JSON) -> tuple[_Chat, int]:
        chat = self._chat(params)
        if not chat.is_forum:
            raise _bad("the chat is not a forum")
        thread_id = params.get("message_thread_id")
        if thread_id not in chat.topics:
            raise _bad("message thread not found")
        return chat, thread_id

    @staticmethod
    def _commands_key(params: JSON) -> tuple[str, str]:
        scope = params.get("scope") or {"type": "default"}
        if not isinstance(scope, dict) or not isinstance(scope.get("type"), str):
            raise _bad("can't parse BotCommandScope JSON object")
        return json.dumps(scope, sort_keys=True), str(params.get("language_code") or "")

    # ------------------------------------------------------------------ Bot API methods

    def _get_me(self, params: JSON) -> JSON:
        return {
            **self._me,
            "can_join_groups": True,
            "can_read_all_group_messages": True,
            "supports_inline_queries": False,
            "can_connect_to_business": False,
            "has_main_web_app": False,
        }

    def _send_message(self, params: JSON) -> JSON:
        chat = self._chat(params, write=True)
        content = self._formatted(params, "text")
        if params.get("link_preview_options") is not None:
            content["link_preview_options"] = params["link_preview_options"]
        return self._post_bot_message(chat, params, content)

    def _send_media(self, kind: str, params: JSON) -> JSON:
        chat = self._chat(params, write=True)
        media = self._media(kind, params.get(kind))
        content: JSON = {kind: [media] if kind == "photo" else media}
        if kind != "sticker":
            content.update(self._formatted(params, "caption"))
        return self._post_bot_message(chat, params, content)

    def _copy(self, params: JSON, *, forward: bool) -> JSON:
        chat = self._chat(params, write=True)
        source = self._chat(params, "from_chat_id").messages.get(params.get("message_id"))
        if source is None:
            raise _bad(f"message to {'forward' if forward else 'copy'} not found")
        content = {k: source[k] for k in _CONTENT_KEYS if k in source}
        if not content:
            raise _bad("message can't be copied")
        if forward:
            content["forward_origin"] = {"type": "user", "date": source["date"], "sender_user": source["from"]}
        elif "caption" in params and not {"text", "sticker", "location"} & content.keys():
            for key in ("caption", "caption_entities", "html"):
                content.pop(key, None)
            content.update(self._formatted(params, "caption"))
        message = self._post_bot_message(chat, params, content)
        return message if forward else {"message_id": message["message_id"]}

    def _edit(self, params: JSON, part: str) -> JSON:
        """editMessageText/Caption/ReplyMarkup, including the server's 'not modified' rule.

        As on Telegram, an edit without reply_markup removes the inline keyboard.
        """
        if "inline_message_id" in params:
            raise _bad("inline messages are not supported by the emulator")
        chat = self._chat(params, write=True)
        current = chat.messages.get(params.get("message_id"))
        if current is None:
            raise _bad("message to edit not found")
        if current["from"]["id"] != self.bot_id:
            raise _bad("message can't be edited")
        updated = {k: v for k, v in current.items() if k not in ("reply_markup", "edit_date")}
        if part == "text":
            if "text" not in current:
                raise _bad("there is no text in the message to edit")
            for key in ("text", "entities", "html"):
                updated.pop(key, None)
            updated.update(self._formatted(params, "text"))
        elif part == "caption":
            if not any(kind in current for kind in _MEDIA_KINDS):
                raise _bad("there is no caption in the message to edit")
            for key in ("caption", "caption_entities", "html"):
                updated.pop(key, None)
            updated.update(self._formatted(params, "caption"))
        markup = _check_markup(params.get("reply_markup"))
        if markup is not None:
            updated["reply_markup"] = markup
        if all(updated.get(key) == current.get(key) for key in _EDITABLE_KEYS):
            raise _bad(_NOT_MODIFIED)
        updated["edit_date"] = int(time.time())
        chat.messages[updated["message_id"]] = updated
        self._bot_events.append(updated)
        return _public(updated)

    def _delete_message(self, params: JSON) -> bool:
        chat = self._chat(params)
        if chat.messages.pop(params.get("message_id"), None) is None:
            raise _bad("message to delete not found")
        return True

    def _answer_callback_query(self, params: JSON) -> bool:
        query_id = params.get("callback_query_id")
        if query_id not in self._open_queries:
            raise _bad(_QUERY_TOO_OLD)
        self._open_queries.discard(query_id)
        self.callback_answers.append(params)
        return True

    def _set_my_commands(self, params: JSON) -> bool:
        commands = params.get("commands")
        if not isinstance(commands, list) or len(commands) > 100:
            raise _bad("can't parse commands JSON object")
        for command in commands:
            if not isinstance(command, dict) or not _COMMAND_NAME.fullmatch(str(command.get("command", ""))):
                raise _bad("BOT_COMMAND_INVALID")
            if not 1 <= len(str(command.get("description", ""))) <= 256:
                raise _bad("BOT_COMMAND_DESCRIPTION_INVALID")
        key = self._commands_key(params)
        if commands:
            self._commands[key] = [{"command": c["command"], "description": c["description"]} for c in commands]
        else:
            self._commands.pop(key, None)
        return True

    def _delete_my_commands(self, params: JSON) -> bool:
        self._commands.pop(self._commands_key(params), None)
        return True

    def _set_chat_menu_button(self, params: JSON) -> bool:
        chat_id = self._chat(params).info["id"] if params.get("chat_id") is not None else None
        button = params.get("menu_button") or {"type": "default"}
        if not isinstance(button, dict) or button.get("type") not in ("default", "commands", "web_app"):
            raise _bad("can't parse menu button JSON object")
        self._menu_buttons[chat_id] = button
        return True

    def _get_chat_menu_button(self, params: JSON) -> JSON:
        chat_id = self._chat(params).info["id"] if params.get("chat_id") is not None else None
        return self._menu_buttons.get(chat_id) or self._menu_buttons.get(None) or {"type": "default"}

    def _send_chat_action(self, params: JSON) -> bool:
        chat = self._chat(params, write=True)
        if params.get("action") not in _CHAT_ACTIONS:
            raise _bad("wrong parameter action in request")
        self._thread(chat, params.get("message_thread_id"), None)
        return True

    def _create_forum_topic(self, params: JSON) -> JSON:
        chat = self._chat(params, write=True)
        if not chat.is_forum:
            raise _bad("the chat is not a forum")
        name = str(params.get("name") or "")
        if not 1 <= len(name) <= 128:
            raise _bad("TOPIC_TITLE_EMPTY" if not name else "TOPIC_TITLE_TOO_LONG")
        icon_color = params.get("icon_color", 0x6FB9F0)
        if icon_color not in _TOPIC_COLORS:
            raise _bad("TOPIC_ICON_COLOR_INVALID")
        return self._new_topic(chat, name, icon_color, params.get("icon_custom_emoji_id"))

    def _edit_forum_topic(self, params: JSON) -> bool:
        chat, thread_id = self._topic(params)
        topic = chat.topics[thread_id]
        changes = {k: params[k] for k in ("name", "icon_custom_emoji_id") if params.get(k) is not None}
        if all(topic.get(k) == v for k, v in changes.items()):
            raise _bad("TOPIC_NOT_MODIFIED")
        topic.update(changes)
        return True

    def _close_forum_topic(self, params: JSON, *, closed: bool) -> bool:
        chat, thread_id = self._topic(params)
        if (thread_id in chat.closed_topics) == closed:
            raise _bad("TOPIC_NOT_MODIFIED")
        if closed:
            chat.closed_topics.add(thread_id)
        else:
            chat.closed_topics.discard(thread_id)
        return True

    def _delete_forum_topic(self, params: JSON) -> bool:
        chat, thread_id = self._topic(params)
        self._remove_topic(chat, thread_id)
        return True

    def _get_chat(self, params: JSON) -> JSON:
        chat = self._chat(params)
        gifts = dict.fromkeys(
            ("unlimited_gifts", "limited_gifts", "unique_gifts", "premium_subscription", "gifts_from_channels"),
            True,
        )
        return {**chat.info, "accent_color_id": 0, "max_reaction_count": 11, "accepted_gift_types": gifts}

    def _get_chat_member(self, params: JSON) -> JSON:
        chat = self._chat(params)
        user_id = params.get("user_id")
        user = self._me if user_id == self.bot_id else self._users.get(user_id)
        if user is None:
            raise _bad("user not found")
        if chat.is_private:
            status = "member" if user_id in (self.bot_id, chat.info["id"]) else "left"
        elif user_id == self.bot_id or user_id in chat.admins:
            status = "administrator"
        else:
            status = "member" if user_id in chat.members else "left"
        member: JSON = {"status": status, "user": user}
        if status == "administrator":
            rights = ("can_manage_chat", "can_delete_messages", "can_manage_video_chats", "can_restrict_members",
                      "can_change_info", "can_invite_users", "can_pin_messages")
            member.update(dict.fromkeys(rights, True))
            member.update(can_be_edited=False, is_anonymous=False, can_promote_members=False, can_post_stories=False,
                          can_edit_stories=False, can_delete_stories=False)
            if chat.is_forum:
                member["can_manage_topics"] = True
        return member

    def _get_file(self, params: JSON) -> JSON:
        record = self._files.get(params.get("file_id", ""))
        if record is None:
            raise _bad("invalid file_id")
        return {"file_id": record.media["file_id"], "file_unique_id": record.media["file_unique_id"],
                "file_size": len(record.data), "file_path": record.path}
