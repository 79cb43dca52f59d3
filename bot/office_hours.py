"""Office hours of the department (Asia/Ho_Chi_Minh by default): when a human can answer."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_SPEC = re.compile(r"^(mon|tue|wed|thu|fri|sat|sun)-(mon|tue|wed|thu|fri|sat|sun) (\d{1,2}):(\d\d)-(\d{1,2}):(\d\d)$")


@dataclass(frozen=True)
class OfficeHours:
    first_day: int = 0
    last_day: int = 4
    opens: time = time(8, 0)
    closes: time = time(17, 0)
    zone: str = "Asia/Ho_Chi_Minh"
    holidays: frozenset[date] = field(default_factory=frozenset)

    @classmethod
    def parse(cls, spec: str, holidays: str = "", zone: str = "Asia/Ho_Chi_Minh") -> OfficeHours:
        """``"mon-fri 08:00-17:00"`` and ``"2026-01-01,2026-04-30"``; ValueError when malformed."""
        match = _SPEC.match(spec.strip().lower())
        if not match:
            raise ValueError(f"office hours must look like 'mon-fri 08:00-17:00', not {spec!r}")
        d1, d2, h1, m1, h2, m2 = match.groups()
        ZoneInfo(zone)
        days = frozenset(date.fromisoformat(d.strip()) for d in holidays.split(",") if d.strip())
        return cls(DAYS.index(d1), DAYS.index(d2), time(int(h1), int(m1)), time(int(h2), int(m2)), zone, days)

    def _working_day(self, day: date) -> bool:
        return self.first_day <= day.weekday() <= self.last_day and day not in self.holidays

    def is_open(self, moment: datetime) -> bool:
        local = moment.astimezone(ZoneInfo(self.zone))
        return self._working_day(local.date()) and self.opens <= local.time() < self.closes

    def next_opening(self, moment: datetime) -> datetime:
        """``moment`` itself when open, else when staff are next at their desks (local time)."""
        local = moment.astimezone(ZoneInfo(self.zone))
        if self.is_open(local):
            return local
        day = local.date() if local.time() < self.opens else local.date() + timedelta(days=1)
        while not self._working_day(day):
            day += timedelta(days=1)
        return datetime.combine(day, self.opens, ZoneInfo(self.zone))
