"""Callback data of every inline button: one compact format, parsed and checked in one place.

Telegram allows 64 bytes, and anyone can forge a button press, so a button only carries small
numbers that point at rows the handler checks (a search belongs to the user pressing it).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_PATTERN = re.compile(r"^([a-z]{1,4}):([A-Za-z0-9_*-]{0,20})(?::([A-Za-z0-9_*-]{1,20}))?$")


@dataclass(frozen=True)
class Callback:
    action: str
    key: str
    arg: str | None = None

    def encode(self) -> str:
        data = f"{self.action}:{self.key}" + (f":{self.arg}" if self.arg is not None else "")
        assert len(data.encode()) <= 64 and _PATTERN.match(data), data
        return data

    def number(self) -> int | None:
        """The row id the key names, or None when it is not one (forged keys can be any digits)."""
        return int(self.key) if self.key.isdigit() and len(self.key) <= 12 else None


def parse(data: str | None) -> Callback | None:
    """The callback, or None for anything malformed (forged, truncated, from an old version)."""
    match = _PATTERN.match(data or "")
    return Callback(*match.groups()) if match else None
