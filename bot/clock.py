"""The time that date-dependent decisions read: expiry, reminders, digests, event reminders.

One object in :class:`~bot.services.Services`, so tests (and a demo) can move time forward
without waiting for it.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo


class Clock:
    def __init__(self, zone: str = "Asia/Ho_Chi_Minh") -> None:
        self.zone = ZoneInfo(zone)
        self.offset = timedelta()

    def now(self) -> datetime:
        return datetime.now(UTC) + self.offset

    def today(self) -> date:
        """The department's calendar date (entries expire at the end of a local day)."""
        return self.now().astimezone(self.zone).date()

    def advance(self, delta: timedelta) -> None:
        self.offset += delta
