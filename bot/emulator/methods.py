"""The Bot API methods the emulator implements, with the server's checks and error texts."""

from __future__ import annotations

import itertools
import json
import re
import time
from typing import Any

from .html import parse_html
from .protocol import JSON, _bad
from .world import _MEDIA_KINDS, World, _Chat, _public

_CONTENT_KEYS = (
    "text",
    "entities",
    "html",
    "link_preview_options",
    "location",
    *_MEDIA_KINDS,
    "caption",
    "caption_entities",
)
_EDITABLE_KEYS = ("text", "entities", "caption", "caption_entities", "reply_markup")
_BUTTON_ACTIONS = frozenset(
    {
        "url",
        "callback_data",
        "web_app",
        "login_url",
        "switch_inline_query",
        "switch_inline_query_current_chat",
        "switch_inline_query_chosen_chat",
        "copy_text",
        "callback_game",
        "pay",
    }
)
_CHAT_ACTIONS = frozenset(
    {
        "typing",
        "upload_photo",
        "record_video",
        "upload_video",
        "record_voice",
        "upload_voice",
        "upload_document",
        "choose_sticker",
        "find_location",
        "record_video_note",
        "upload_video_note",
    }
)
_TOPIC_COLORS = frozenset({0x6FB9F0, 0xFFD67E, 0xCB86DB, 0x8EEE98, 0xFF93B2, 0xFB6F5F})
_COMMAND_NAME = re.compile(r"[a-z0-9_]{1,32}")
_NOT_MODIFIED = (
    "message is not modified: specified new message content and reply markup are exactly "
    "the same as a current content and reply markup of the message"
)
_QUERY_TOO_OLD = "query is too old and response timeout expired or query ID is invalid"


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


class Methods(World):
    """One handler per Bot API method, acting on the world; a base of ``BotApiEmulator``."""

    callback_answers: list[JSON]
    _commands: dict[tuple[str, str], list[JSON]]
    _menu_buttons: dict[int | None, JSON]
    _bot_events: list[JSON]

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
            rights = (
                "can_manage_chat",
                "can_delete_messages",
                "can_manage_video_chats",
                "can_restrict_members",
                "can_change_info",
                "can_invite_users",
                "can_pin_messages",
            )
            member.update(dict.fromkeys(rights, True))
            member.update(
                can_be_edited=False,
                is_anonymous=False,
                can_promote_members=False,
                can_post_stories=False,
                can_edit_stories=False,
                can_delete_stories=False,
            )
            if chat.is_forum:
                member["can_manage_topics"] = True
        return member

    def _get_file(self, params: JSON) -> JSON:
        record = self._files.get(params.get("file_id", ""))
        if record is None:
            raise _bad("invalid file_id")
        return {
            "file_id": record.media["file_id"],
            "file_unique_id": record.media["file_unique_id"],
            "file_size": len(record.data),
            "file_path": record.path,
        }
