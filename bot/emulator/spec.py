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
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import bot

from .html import parse_html
from .protocol import JSON, BotApiError, Upload

SPEC_ENV = "TECHCONNECT_BOT_API_SPEC"

_log = logging.getLogger(__name__)

_LENGTH = re.compile(r"(\d+)-(\d+) (characters|bytes)")
_MUST_BE = re.compile(r"must be ([a-z_]+)$")
_BOOLEANS = {"true": True, "1": True, "false": False, "0": False}
# Character sets the descriptions state in words.
_CHARSETS = {
    "lowercase English letters, digits and underscores": re.compile(r"[a-z0-9_]*"),
    "Only characters A-Z, a-z, 0-9, _ and - are allowed": re.compile(r"[A-Za-z0-9_-]*"),
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
        """"method: parameter: problem", as listed in ``BotApiEmulator.violations``."""
        return f"{method}: {self.path}: {self.what}" if self.path else f"{method}: {self.what}"


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


class Conformance:
    """Checks raw request parameters (form strings or JSON values) against the reference."""

    def __init__(self, spec: JSON) -> None:
        self.version = spec.get("version", "")
        self._methods: dict[str, JSON] = {name.lower(): method for name, method in spec["methods"].items()}
        self._types: dict[str, JSON] = spec["types"]

    def check(self, method: str, params: JSON) -> list[Problem]:
        """Every problem of one call; an unknown method is a single problem with an empty path."""
        spec = self._methods.get(method.lower())
        if spec is None:
            return [Problem("", "unknown method")]
        return self._fields(spec["name"], spec.get("fields", []), params, "", decode=True)

    def error(self, problems: list[Problem]) -> BotApiError:
        """The answer to a non-conforming call, worded like the server where its wording is known."""
        first = problems[0]
        if not first.path:
            return BotApiError(404, "Not Found")
        return BotApiError(400, f"Bad Request: {first.reason or f'{first.path}: {first.what}'}")

    def _fields(self, owner: str, fields: list[JSON], value: JSON, prefix: str, *, decode: bool) -> list[Problem]:
        known = {f["name"]: f for f in fields}
        problems = [Problem(f"{prefix}{name}", "unknown parameter" if decode else "unknown field")
                    for name in value if name not in known]
        for name, field in known.items():
            path = f"{prefix}{name}"
            if name not in value or value[name] is None:
                if field["required"]:
                    reason = self._reason(owner, name, too_long=False) or f"{name} is empty"
                    problems.append(Problem(path, "required but missing", reason))
                continue
            wrong = self._union(field["types"], value[name], path, decode=decode)
            if not wrong and "String" in field["types"] and isinstance(value[name], str):
                wrong = self._text_limits(owner, field, value, path)
            problems += wrong
        return problems

    def _union(self, types: list[str], value: Any, path: str, *, decode: bool) -> list[Problem]:
        """"X or Y": fine if any alternative fits, else the problems of the closest one."""
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
        if name in ("Integer", "Float", "String", "Boolean", "True", "InputFile"):
            fits = {
                "Integer": isinstance(value, int) and not isinstance(value, bool),
                "Float": isinstance(value, int | float) and not isinstance(value, bool),
                "String": isinstance(value, str),
                "Boolean": isinstance(value, bool),
                "True": value is True,
                "InputFile": isinstance(value, str),  # file_id or URL in an InputMedia
            }[name]
            return [] if fits else wrong
        spec = self._types.get(name)
        if spec is None:
            return [Problem(path, f"type {name} is not in the reference")]
        if "subtypes" in spec:
            return self._union(spec["subtypes"], value, path, decode=False)
        if not isinstance(value, dict):
            return wrong
        problems = self._fields(name, spec.get("fields", []), value, f"{path}.", decode=False)
        return problems + self._discriminator(spec, value, path)

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
            value = json.loads(raw)
        except ValueError:
            return [Problem(path, f"must be JSON-serialized {name}")]
        return self._typed(name, value, path, decode=False)

    @staticmethod
    def _discriminator(spec: JSON, value: JSON, path: str) -> list[Problem]:
        """Subtypes say which one they are in a field described as "must be <value>"."""
        for field in spec.get("fields", []):
            match = _MUST_BE.search(field["description"])
            if match and field["name"] in value and value[field["name"]] != match.group(1):
                return [Problem(f"{path}.{field['name']}", f"must be {match.group(1)}")]
        return []

    def _text_limits(self, owner: str, field: JSON, container: JSON, path: str) -> list[Problem]:
        """The "N-M characters/bytes" limit and character set the description states."""
        name, description, text = field["name"], field["description"], container[field["name"]]
        problems = []
        for words, allowed in _CHARSETS.items():
            if words in description and not allowed.fullmatch(text):
                problems.append(Problem(path, f"may contain only {words.removeprefix('Only ')}",
                                        self._reason(owner, name, too_long=False)))
        limit = _LENGTH.search(description)
        if limit is None:
            return problems
        low, high, unit = int(limit.group(1)), int(limit.group(2)), limit.group(3)
        if "after entit" in description:
            mode = container.get(f"{name}_parse_mode", container.get("parse_mode"))
            if str(mode or "").lower() == "html":
                try:
                    text = parse_html(text)[0]
                except BotApiError:
                    return problems  # the method answers the parse error itself
            text = text.strip()
        size = len(text.encode()) if unit == "bytes" else len(text)
        if not low <= size <= high:
            reason = self._reason(owner, name, too_long=size > high)
            problems.append(Problem(path, f"must be {low}-{high} {unit}, not {size}", reason))
        return problems

    @staticmethod
    def _reason(owner: str, name: str, *, too_long: bool) -> str | None:
        reasons = _REASONS.get(f"{owner}.{name}") or _REASONS.get(name)
        return None if reasons is None else reasons[too_long]
