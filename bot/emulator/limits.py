"""Telegram's flood limits, enforced on a time scale so tests stay fast while the limits keep their shape.

Telegram documents roughly one message per second in a private chat (short bursts are
tolerated), 20 messages per minute in a group and 30 per second overall, and answers
429 with ``retry_after`` beyond that. Only calls that create a message count.
"""

from __future__ import annotations

import math
import time
from collections import deque
from dataclasses import dataclass

# The methods whose name starts with "send" but that create no message.
_NOT_SENDING = frozenset({"sendchataction", "sendmessagedraft"})
_COPYING = frozenset({"copymessage", "copymessages", "forwardmessage", "forwardmessages"})


@dataclass(frozen=True, slots=True)
class Limits:
    """The limits to enforce; every period is multiplied by ``time_scale`` (0.05: a group minute is 3 s)."""

    time_scale: float = 1.0
    private_per_second: float = 1.0
    private_burst: int = 3
    group_per_minute: int = 20
    global_per_second: int = 30

    def __post_init__(self) -> None:
        if self.time_scale <= 0 or self.private_per_second <= 0:
            raise ValueError("time_scale and private_per_second must be positive")
        if min(self.private_burst, self.group_per_minute, self.global_per_second) < 1:
            raise ValueError("burst and per-period counts must be at least 1")


def creates_message(method_key: str) -> bool:
    """Whether a call (lower-case method name) posts a message, the only kind the limits count."""
    return method_key in _COPYING or (method_key.startswith("send") and method_key not in _NOT_SENDING)


def retry_after_seconds(seconds: float) -> int:
    """The Bot API's retry_after: whole seconds, at least 1."""
    return max(1, math.ceil(seconds))


class FloodControl:
    """A token bucket per private chat, a sliding window per group and one over all chats."""

    def __init__(self, limits: Limits) -> None:
        self.limits = limits
        self._buckets: dict[int, tuple[float, float]] = {}  # chat id -> (tokens, when)
        self._group_sends: dict[int, deque[float]] = {}
        self._all_sends: deque[float] = deque()

    def wait(self, chat_id: int, *, private: bool) -> float:
        """Real seconds until a message to the chat is allowed; 0 if it is allowed now."""
        now = time.monotonic()
        scale = self.limits.time_scale
        waits = [self._window_wait(self._all_sends, self.limits.global_per_second, scale, now)]
        if private:
            tokens = self._tokens(chat_id, now)
            waits.append(0.0 if tokens >= 1 else (1 - tokens) / self._refill_rate)
        else:
            sends = self._group_sends.get(chat_id, deque())
            waits.append(self._window_wait(sends, self.limits.group_per_minute, 60 * scale, now))
        return max(waits)

    def record(self, chat_id: int, *, private: bool) -> None:
        """Count one message sent to the chat."""
        now = time.monotonic()
        self._all_sends.append(now)
        if private:
            self._buckets[chat_id] = (self._tokens(chat_id, now) - 1, now)
        else:
            self._group_sends.setdefault(chat_id, deque()).append(now)

    @property
    def _refill_rate(self) -> float:
        """Tokens per real second."""
        return self.limits.private_per_second / self.limits.time_scale

    def _tokens(self, chat_id: int, now: float) -> float:
        tokens, since = self._buckets.get(chat_id, (float(self.limits.private_burst), now))
        return min(float(self.limits.private_burst), tokens + (now - since) * self._refill_rate)

    @staticmethod
    def _window_wait(sends: deque[float], allowed: int, period: float, now: float) -> float:
        while sends and sends[0] <= now - period:
            sends.popleft()
        return 0.0 if len(sends) < allowed else sends[-allowed] + period - now
