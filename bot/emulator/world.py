"""The simulated Telegram side: users, chats, forum topics, messages and files."""

from __future__ import annotations

import itertools
import mimetypes
import time
from collections.abc import Awaitable, Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import Any

from .html import _auto_entities
from .protocol import JSON, BotApiError, Upload, _bad

_MEDIA_KINDS = ("photo", "document", "voice", "video", "sticker")
_FILE_PREFIX = {"photo": "AgAC", "document": "BQAC", "voice": "AwAC", "video": "BAAC", "sticker": "CAAC"}
_FILE_FOLDER = {"photo": "photos", "document": "documents", "voice": "voice", "video": "videos", "sticker": "stickers"}
_FILE_EXT = {"photo": ".jpg", "document": "", "voice": ".oga", "video": ".mp4", "sticker": ".webp"}
_GENERAL_TOPIC = 1


def _quoted(message: JSON) -> JSON:
    """A message as embedded in reply_to_message: Telegram doesn't nest replies further."""
    return {k: v for k, v in message.items() if k not in ("reply_to_message", "html")}


def _public(message: JSON) -> JSON:
    """A stored message without the emulator-only raw ``html`` field, as sent to the bot."""
    return {k: v for k, v in message.items() if k != "html"} if "html" in message else message


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


class World:
    """Users, chats and what they contain, and the actions of simulated users.

    A base of ``BotApiEmulator``, which creates the state; what users do reaches the bot
    through ``Updates._enqueue``.
    """

    bot_id: int
    _me: JSON
    _users: dict[int, JSON]
    _chats: dict[int, _Chat]
    _files: dict[str, _File]
    _file_paths: dict[str, str]
    _open_queries: set[str]
    _seq: Iterator[int]
    _enqueue: Callable[[str, JSON], Awaitable[None]]

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
        message: JSON = {
            "message_id": chat.last_message_id,
            "from": sender,
            "chat": chat.info,
            "date": int(time.time()),
        }
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
