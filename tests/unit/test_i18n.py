"""Every UI string is translated in every locale, with the same placeholders."""

import re
from datetime import UTC
from pathlib import Path

import pytest
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.pofile import read_po

from bot.i18n import BABEL_LOCALES, LOCALES_DIR, gettext_for

ROOT = Path(__file__).resolve().parents[2]  # the project, above tests/unit
PLACEHOLDER = re.compile(r"\{[a-z_]*\}")
TAG = re.compile(r"</?[a-z]+>")


def extracted() -> set[str]:
    keywords = {**DEFAULT_KEYWORDS, "N_": None, "staff_": None, "translate": (2,)}
    found = set()
    for _file, _line, message, _comments, _context in extract_from_dir(str(ROOT / "bot"), keywords=keywords):
        found.add(message if isinstance(message, str) else message[0])
    return found


MESSAGES = extracted()


def test_strings_are_extracted():
    assert "Details" in MESSAGES and len(MESSAGES) > 40


@pytest.mark.parametrize("locale", sorted(BABEL_LOCALES.values()))
def test_every_string_translated_with_same_placeholders(locale):
    with (LOCALES_DIR / locale / "LC_MESSAGES" / "messages.po").open("rb") as handle:
        catalog = read_po(handle, locale=locale)
    problems = []
    for msgid in sorted(MESSAGES):
        entry = catalog.get(msgid)
        forms = entry.string if entry is not None and isinstance(entry.string, tuple) else (entry and entry.string,)
        if entry is None or not all(forms) or entry.fuzzy:
            problems.append(f"untranslated: {msgid!r}")
            continue
        for form in forms:  # a count's every plural form
            if sorted(PLACEHOLDER.findall(msgid)) != sorted(PLACEHOLDER.findall(form)):
                problems.append(f"placeholders differ: {msgid!r} -> {form!r}")
            if sorted(TAG.findall(msgid)) != sorted(TAG.findall(form)):
                problems.append(f"HTML tags differ: {msgid!r} -> {form!r}")
    assert not problems, "\n".join(problems)


def test_translations_are_used():
    assert gettext_for("vi")("Details") != "Details"
    assert gettext_for("zh-Hant")("Language") != gettext_for("zh-Hans")("Language")  # 語言 / 语言
    assert gettext_for("xx")("Details") == "Details"


@pytest.mark.parametrize(
    "language, typed, expected",
    [
        ("vi", "Đàm phán", ("negotiation", "")),
        ("vi", "khong thanh gia qua cao", ("declined", "gia qua cao")),
        ("zh-Hant", "已婉拒 價格太高", ("declined", "價格太高")),
        ("ja", "面談", ("meeting", "")),
        ("ja", "agreement", ("agreement", "")),
        ("ko", "모름", (None, "")),
    ],
)
def test_introduction_stages_are_typed_in_the_staff_language_or_as_keywords(language, typed, expected):
    from bot.handlers.staff.tickets import parse_stage

    assert parse_stage(typed.split(), gettext_for(language)) == expected


@pytest.mark.parametrize(
    "language, expected",
    [
        ("zh-Hant", "2026年11月30日 星期一 上午8:00"),  # never "星期一, 30 11月"
        ("vi", "08:00 Thứ Hai, 30 tháng 11, 2026"),
        ("ja", "2026年11月30日月曜日 8:00"),
    ],
)
def test_times_are_worded_and_ordered_as_the_readers_locale_does_it(language, expected):
    from datetime import datetime
    from zoneinfo import ZoneInfo

    from bot.render import when

    assert when(datetime(2026, 11, 30, 1, 0, tzinfo=UTC), language, ZoneInfo("Asia/Ho_Chi_Minh")) == expected


@pytest.mark.parametrize(
    "language, one, five",
    [
        ("en", "1 entry", "5 entries"),
        ("vi", "1 bản ghi", "5 bản ghi"),
        ("zh-Hant", "共 1 筆項目", "共 5 筆項目"),
    ],
)
def test_counts_take_the_languages_plural_forms(language, one, five):
    from bot.i18n import plural_for

    ngettext = plural_for(language)
    assert [ngettext("{count} entry", "{count} entries", n).format(count=n) for n in (1, 5)] == [one, five]
