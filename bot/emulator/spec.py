"""Conformance with the published Bot API reference, so every test doubles as a conformance test.

The reference is ``api.json`` (methods and types with fields, types, required flags and
descriptions), read from the repository's sibling folder ``../shared/data`` or from
``$TECHCONNECT_BOT_API_SPEC``. Each call is checked before it is performed: the method
exists, no unknown parameter, required ones present, value types (objects field by field,
"X or Y" unions, arrays) and the length limits the descriptions state ("1-4096
characters after entities parsing", "1-64 bytes"). Without the file nothing is checked.
"""

from __future__ import annotations

import functools
import json
import logging
import os
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import bot

from .html import parse_html
from .protocol import JSON, BotApiError, Upload

SPEC_ENV = "TECHCONNECT_BOT_API_SPEC"

_log = logging.getLogger(__name__)

_LENGTH = re.compile(r"(\d+)-(\d+) (characters|bytes)")
_MUST_BE = re.compile(r"must be ([a-z_]+)$")  # "Scope type, must be chat"
_BOOLEANS = {"true": True, "1": True, "false": False, "0": False}
# Character sets the descriptions state in words: (what the server accepts, how to say it).
_CHARSETS = {
    "lowercase English letters, digits and underscores": (
        re.compile(r"[a-z0-9_]*"),
        "lowercase English letters, digits and underscores",
    ),
    "Only characters A-Z, a-z, 0-9, _ and - are allowed": (re.compile(r"[A-Za-z0-9_-]*"), "A-Z, a-z, 0-9, _ and -"),
}
_SCALARS: dict[str, Callable[[Any], bool]] = {
    "Integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "Float": lambda v: isinstance(v, int | float) and not isinstance(v, bool),
    "String": lambda v: isinstance(v, str),
    "Boolean": lambda v: isinstance(v, bool),
    "True": lambda v: v is True,
    "InputFile": lambda v: isinstance(v, str),  # a file_id, URL or attach:// name inside an object
}
# The server's own error texts for limits the bot can plausibly hit: (too short or missing, too long).
_REASONS: dict[str, tuple[str | None, str]] = {
    "sendMessage.text": ("message text is empty", "message is too long"),
    "editMessageText.text": ("message text is empty", "message is too long"),
    "caption": (None, "message caption is too long"),
    "InlineKeyboardButton.callback_data": ("BUTTON_DATA_INVALID", "BUTTON_DATA_INVALID"),
    "BotCommand.command": ("BOT_COMMAND_INVALID", "BOT_COMMAND_INVALID"),
    "BotCommand.description": ("BOT_COMMAND_DESCRIPTION_INVALID", "BOT_COMMAND_DESCRIPTION_INVALID"),
    "createForumTopic.name": ("TOPIC_TITLE_EMPTY", "TOPIC_TITLE_TOO_LONG"),
    "editForumTopic.name": ("TOPIC_TITLE_EMPTY", "TOPIC_TITLE_TOO_LONG"),
}


@dataclass(frozen=True, slots=True)
class Problem:
    """One way a call departs from the reference; ``reason`` is the server's text when known."""

    path: str
    what: str
    reason: str | None = None

    def describe(self, method: str) -> str:
        """ "method: parameter: problem", as listed in ``BotApiEmulator.violations``."""
        return f"{method}: {self.path}: {self.what}" if self.path else f"{method}: {self.what}"


@functools.lru_cache(maxsize=256)
def _json(raw: str) -> Any:
    """A JSON field, decoded once for all the types of a union (callers only read it)."""
    return json.loads(raw)


def refusal(problems: list[Problem]) -> BotApiError:
    """The answer to a non-conforming call, worded like the server where its wording is known."""
    first = problems[0]
    if not first.path:
        return BotApiError(404, "Not Found")
    return BotApiError(400, f"Bad Request: {first.reason or f'{first.path}: {first.what}'}")


def spec_path() -> Path | None:
    """The reference beside the repository (``../shared/data``), else ``$TECHCONNECT_BOT_API_SPEC``."""
    beside = Path(bot.__file__).resolve().parents[1].parent / "shared" / "data" / "telegram-bot-api" / "api.json"
    if beside.is_file():
        return beside
    configured = os.environ.get(SPEC_ENV)
    return Path(configured) if configured and Path(configured).is_file() else None


@functools.cache
def _load(path: Path | None) -> Conformance | None:
    if path is None:
        _log.warning("Bot API reference not found (set %s); calls are not checked against it", SPEC_ENV)
        return None
    return Conformance(json.loads(path.read_text(encoding="utf-8")))


def conformance() -> Conformance | None:
    """The checker for the reference found now, loaded once per path; None (logged once) without one."""
    return _load(spec_path())


@dataclass(frozen=True, slots=True)
class _Field:
    """A parameter or object field with the rules its description states, read once."""

    owner: str  # the method or type it belongs to
    name: str
    types: tuple[str, ...]
    required: bool
    length: tuple[int, int, str] | None  # (low, high, "characters" or "bytes")
    after_entities: bool
    charsets: tuple[tuple[re.Pattern[str], str], ...]
    must_be: str | None  # the value a subtype's discriminating field has

    @classmethod
    def read(cls, owner: str, spec: JSON) -> _Field:
        description = spec["description"]
        limit = _LENGTH.search(description)
        must_be = _MUST_BE.search(description)
        return cls(
            owner=owner,
            name=spec["name"],
            types=tuple(spec["types"]),
            required=spec["required"],
            length=(int(limit.group(1)), int(limit.group(2)), limit.group(3)) if limit else None,
            after_entities="after entit" in description,
            charsets=tuple(rule for words, rule in _CHARSETS.items() if words in description),
            must_be=must_be.group(1) if must_be else None,
        )

    def reason(self, *, too_long: bool) -> str | None:
        """The server's text for this field being missing, too short or too long, if known."""
        reasons = _REASONS.get(f"{self.owner}.{self.name}") or _REASONS.get(self.name)
        return None if reasons is None else reasons[too_long]


class Conformance:
    """Checks raw request parameters (form strings or JSON values) against the reference."""

    def __init__(self, spec: JSON) -> None:
        self._methods = {name.lower(): self._read(name, method) for name, method in spec["methods"].items()}
        self._objects = {name: self._read(name, kind) for name, kind in spec["types"].items() if "subtypes" not in kind}
        self._subtypes: dict[str, list[str]] = {
            name: kind["subtypes"] for name, kind in spec["types"].items() if "subtypes" in kind
        }

    @staticmethod
    def _read(owner: str, spec: JSON) -> dict[str, _Field]:
        return {field["name"]: _Field.read(owner, field) for field in spec.get("fields", [])}

    def check(self, method: str, params: JSON) -> list[Problem]:
        """Every problem of one call; an unknown method is a single problem with an empty path."""
        fields = self._methods.get(method.lower())
        if fields is None:
            return [Problem("", "unknown method")]
        return self._fields(fields, params, "", decode=True)

    def _fields(self, fields: dict[str, _Field], value: JSON, prefix: str, *, decode: bool) -> list[Problem]:
        problems = [
            Problem(f"{prefix}{name}", "unknown parameter" if decode else "unknown field")
            for name in value
            if name not in fields
        ]
        for name, field in fields.items():
            path = f"{prefix}{name}"
            if value.get(name) is None:
                if field.required:
                    problems.append(
                        Problem(path, "required but missing", field.reason(too_long=False) or f"{name} is empty")
                    )
                continue
            wrong = self._union(field.types, value[name], path, decode=decode)
            if not wrong and isinstance(value[name], str) and "String" in field.types:
                wrong = self._text_limits(field, value, path)
            if not wrong and field.must_be is not None and value[name] != field.must_be:
                wrong = [Problem(path, f"must be {field.must_be}")]
            problems += wrong
        return problems

    def _union(self, types: Sequence[str], value: Any, path: str, *, decode: bool) -> list[Problem]:
        """ "X or Y": fine if any alternative fits, else the problems of the closest one."""
        best: list[Problem] | None = None
        for name in types:
            problems = self._typed(name, value, path, decode=decode)
            if not problems:
                return []
            if best is None or len(problems) < len(best):
                best = problems
        return best or []

    def _typed(self, name: str, value: Any, path: str, *, decode: bool) -> list[Problem]:
        """Check one value against one type; ``decode``: a top-level form field, JSON-encoded unless a String."""
        if isinstance(value, Upload):
            return [] if name == "InputFile" else [Problem(path, f"must be {name}, not a file")]
        if decode and isinstance(value, str) and name not in ("String", "InputFile"):
            return self._decoded(name, value, path)
        wrong = [Problem(path, f"must be {name}")]
        if name.startswith("Array of "):
            if not isinstance(value, list):
                return wrong
            item = name.removeprefix("Array of ")
            return [p for i, v in enumerate(value) for p in self._typed(item, v, f"{path}[{i}]", decode=False)]
        if name in _SCALARS:
            return [] if _SCALARS[name](value) else wrong
        if name in self._subtypes:
            return self._union(self._named_subtypes(name, value), value, path, decode=False)
        fields = self._objects.get(name)
        if fields is None:
            return [Problem(path, f"type {name} is not in the reference")]
        return self._fields(fields, value, f"{path}.", decode=False) if isinstance(value, dict) else wrong

    def _named_subtypes(self, name: str, value: Any) -> list[str]:
        """The subtypes whose discriminating field ("type": "chat") the value has, else all of them."""
        subtypes = self._subtypes[name]
        if not isinstance(value, dict):
            return subtypes
        named = [
            subtype
            for subtype in subtypes
            if all(value.get(f.name) == f.must_be for f in self._objects.get(subtype, {}).values() if f.must_be)
        ]
        return named or subtypes

    def _decoded(self, name: str, raw: str, path: str) -> list[Problem]:
        """A form field as the server reads it: numbers and booleans from text, everything else JSON."""
        if name in ("Integer", "Float"):
            try:
                int(raw) if name == "Integer" else float(raw)
            except ValueError:
                return [Problem(path, f"must be {name}")]
            return []
        if name in ("Boolean", "True"):
            value = _BOOLEANS.get(raw.lower())
            return [] if value is True or (value is False and name == "Boolean") else [Problem(path, f"must be {name}")]
        try:
            value = _json(raw)
        except ValueError:
            return [Problem(path, f"must be JSON-serialized {name}")]
        return self._typed(name, value, path, decode=False)

    @staticmethod
    def _text_limits(field: _Field, container: JSON, path: str) -> list[Problem]:
        """The "N-M characters/bytes" limit and character set the description states."""
        text = container[field.name]
        problems = [
            Problem(path, f"may contain only {label}", field.reason(too_long=False))
            for allowed, label in field.charsets
            if not allowed.fullmatch(text)
        ]
        if field.length is None:
            return problems
        low, high, unit = field.length
        if field.after_entities:
            mode = container.get(f"{field.name}_parse_mode", container.get("parse_mode"))
            if str(mode or "").lower() == "html":
                try:
                    text = parse_html(text)[0]
                except BotApiError:
                    return problems  # the method answers the parse error itself
            text = text.strip()
        size = len(text.encode()) if unit == "bytes" else len(text)
        if not low <= size <= high:
            problems.append(
                Problem(path, f"must be {low}-{high} {unit}, not {size}", field.reason(too_long=size > high))
            )
        return problems
