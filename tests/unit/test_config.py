from datetime import UTC, datetime

import pytest

from bot.config import ConfigError, Settings
from bot.office_hours import OfficeHours

TOKEN = "123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw"


def test_every_problem_is_reported_at_once():
    with pytest.raises(ConfigError) as info:
        Settings.from_env(
            {
                "TELEGRAM_BOT_TOKEN": "nonsense",
                "TECHCONNECT_STAFF_CHAT_ID": "12x",
                "TECHCONNECT_WEBHOOK_URL": "http://x",
                "TECHCONNECT_LOG_LEVEL": "LOUD",
                "TECHCONNECT_OFFICE_HOURS": "always",
                "TECHCONNECT_STAFF_IDS": "1,abc",
            }
        )
    lines = str(info.value).splitlines()
    assert len(lines) == 7
    assert any("TELEGRAM_BOT_TOKEN" in line for line in lines)
    assert any("https://" in line for line in lines) and any("WEBHOOK_SECRET" in line for line in lines)


def test_missing_token_and_positive_staff_chat():
    with pytest.raises(ConfigError, match="TELEGRAM_BOT_TOKEN is not set"):
        Settings.from_env({})
    with pytest.raises(ConfigError, match="negative"):
        Settings.from_env({"TELEGRAM_BOT_TOKEN": TOKEN, "TECHCONNECT_STAFF_CHAT_ID": "42"})


def test_valid_settings_never_show_the_token():
    settings = Settings.from_env(
        {
            "TELEGRAM_BOT_TOKEN": TOKEN,
            "TECHCONNECT_STAFF_CHAT_ID": "-1001234",
            "TECHCONNECT_STAFF_IDS": "5, 6",
            "TECHCONNECT_WEBHOOK_URL": "https://bot.example.org/hook",
            "TECHCONNECT_WEBHOOK_SECRET": "s3cret_x",
            "TELEGRAM_API_URL": "http://127.0.0.1:8081",
        }
    )
    assert settings.staff_chat_id == -1001234 and settings.staff_ids == {5, 6}
    assert settings.base_url == "http://127.0.0.1:8081/bot"
    assert TOKEN not in repr(settings) and TOKEN not in str(settings)


def test_office_hours_in_vietnam_time():
    hours = OfficeHours.parse("mon-fri 08:00-17:00", "2026-12-01")
    saturday_noon_utc = datetime(2026, 11, 28, 5, 0, tzinfo=UTC)  # 12:00 in Hanoi
    assert not hours.is_open(saturday_noon_utc)
    opening = hours.next_opening(saturday_noon_utc)
    assert (opening.year, opening.month, opening.day, opening.hour) == (2026, 11, 30, 8)
    monday_evening = datetime(2026, 11, 30, 11, 0, tzinfo=UTC)  # 18:00 local; Tuesday is a holiday
    assert hours.next_opening(monday_evening).day == 2
    assert hours.is_open(datetime(2026, 11, 30, 2, 0, tzinfo=UTC))  # 09:00 local


def test_health_port_and_log_format():
    settings = Settings.from_env({"TELEGRAM_BOT_TOKEN": TOKEN})
    assert settings.health_port is None and settings.log_format == "text"  # off unless asked for
    assert Settings.from_env({"TELEGRAM_BOT_TOKEN": TOKEN, "TECHCONNECT_HEALTH_PORT": "0"}).health_port is None
    settings = Settings.from_env(
        {"TELEGRAM_BOT_TOKEN": TOKEN, "TECHCONNECT_HEALTH_PORT": "9102", "TECHCONNECT_LOG_FORMAT": "JSON"}
    )
    assert settings.health_port == 9102 and settings.health_listen == "0.0.0.0" and settings.log_format == "json"
    with pytest.raises(ConfigError) as info:
        Settings.from_env(
            {"TELEGRAM_BOT_TOKEN": TOKEN, "TECHCONNECT_HEALTH_PORT": "70000", "TECHCONNECT_LOG_FORMAT": "xml"}
        )
    assert "TECHCONNECT_HEALTH_PORT" in str(info.value) and "TECHCONNECT_LOG_FORMAT" in str(info.value)
