"""The wire format: error answers, uploads and how request fields are decoded."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

JSON = dict[str, Any]


# How PTB encodes a request: every value is a form field, JSON-dumped unless it is a str.
# Like the real server, the emulator knows each field's type to decode it back.
_INT_FIELDS = frozenset(
    {
        "chat_id",
        "from_chat_id",
        "message_id",
        "message_thread_id",
        "offset",
        "limit",
        "timeout",
        "user_id",
        "icon_color",
        "cache_time",
        "max_connections",
        "duration",
        "width",
        "height",
    }
)
_BOOL_FIELDS = frozenset(
    {
        "disable_notification",
        "protect_content",
        "show_alert",
        "drop_pending_updates",
        "allow_sending_without_reply",
        "has_spoiler",
        "show_caption_above_media",
        "disable_content_type_detection",
        "allow_paid_broadcast",
    }
)
_JSON_FIELDS = frozenset(
    {
        "reply_markup",
        "reply_parameters",
        "link_preview_options",
        "entities",
        "caption_entities",
        "allowed_updates",
        "commands",
        "scope",
        "menu_button",
    }
)


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


async def _read_raw(request: web.Request) -> JSON:
    """Query string, url-encoded/multipart form (PTB's encoding) or a JSON body, as sent."""
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
    return raw


def _decode(raw: JSON) -> JSON:
    """Request fields typed the way the server types them."""
    return {key: _coerce(key, value) for key, value in raw.items()}
