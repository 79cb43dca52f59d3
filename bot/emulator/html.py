"""Telegram-flavoured HTML and the entities Telegram derives from text."""

from __future__ import annotations

import re
from typing import Any

from .protocol import JSON, BotApiError, _bad

_AUTO_ENTITY = re.compile(
    r"(?<![\w/@])(/[A-Za-z0-9_]{1,64}(?:@[A-Za-z0-9_]{3,32})?)(?![\w/@])"
    r"|(?<![\w@])@[A-Za-z0-9_]{3,32}(?![\w@])"
)
_HTML_TAGS = frozenset(
    {
        "a",
        "b",
        "strong",
        "i",
        "em",
        "u",
        "ins",
        "s",
        "strike",
        "del",
        "span",
        "tg-spoiler",
        "code",
        "pre",
        "blockquote",
        "tg-emoji",
    }
)
_TAG_ENTITY = {
    "b": "bold",
    "strong": "bold",
    "i": "italic",
    "em": "italic",
    "u": "underline",
    "ins": "underline",
    "s": "strikethrough",
    "strike": "strikethrough",
    "del": "strikethrough",
    "span": "spoiler",
    "tg-spoiler": "spoiler",
    "code": "code",
    "pre": "pre",
    "blockquote": "blockquote",
    "a": "text_link",
    "tg-emoji": "custom_emoji",
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
                raise fail(f'Unmatched end tag at byte offset {at(begin)}, expected "</{tag}>", found "</{end_name}>"')
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
                    f'Expected equal sign in declaration of an attribute of the tag "{tag}" at byte offset {at(begin)}'
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
