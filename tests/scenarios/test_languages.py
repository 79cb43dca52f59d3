"""Every reader served in a language they read, and every entry found from every language.

Users as they come: a Vietnamese on a phone set to English, a Japanese supplier, a reader of
Simplified Chinese meeting a Traditional entry, a farmer typing without diacritics, a
Taiwanese supplier looking for local buyers, and people who greet rather than search.
"""

from __future__ import annotations

import re

from support import TW, VI, bot_texts, last_id, newest_with, post, say, staff_press

from bot.db import Match, Search, Submission
from bot.demo import buttons
from bot.entry_form import PROMPTS
from bot.i18n import LANGUAGE_NAMES, gettext_for
from bot.ui_language import COMMANDS
from catalog.language import to_simplified

EN, JA, HANS = gettext_for("en"), gettext_for("ja"), gettext_for("zh-Hans")
VI_ON_EN_PHONE, JA_SUPPLIER, HANS_READER, FARMER, TW_SUPPLIER, VISITOR, FR_VISITOR = range(520001, 520008)
DRIP_NEED = "req-vn-hp-agri-002"  # Vietnamese only: melon greenhouse with drip irrigation
DESALINATION_NEED = "req-vn-hp-water-002"  # Vietnamese only: solar desalination for Cát Bà
SENSOR_NEED = "req-vn-hp-iot-001"  # Cát Hải: IoT water-quality sensors for cages and ponds
ORCHID_OFFER = "tw-agri-003"  # Traditional Chinese only
TW_RAS_OFFER = "tw-aqua-002"


async def hit_ids(live, user_id: int) -> list[str]:
    search = await live.services.store.newest(Search, Search.user_id == user_id)
    return [hit[0] for hit in search.hits] if search else []


def labels(message: dict) -> list[str]:
    return [b["text"] for b in buttons(message)]


def chat_menu(live, user_id: int) -> list[str]:
    return [c["description"] for c in live.emulator.my_commands(scope={"type": "chat", "chat_id": user_id})]


async def test_a_vietnamese_on_an_english_phone_is_answered_in_vietnamese_from_the_first_search(live):
    live.emulator.user(VI_ON_EN_PHONE, "Minh", "en")
    await say(live, VI_ON_EN_PHONE, "/start")
    assert EN("Find technology") in " ".join(labels(live.emulator.messages(VI_ON_EN_PHONE, from_bot=True)[-1]))
    mark = last_id(live, VI_ON_EN_PHONE)
    await say(live, VI_ON_EN_PHONE, "máy sấy nông sản")
    notice, results = bot_texts(live, VI_ON_EN_PHONE, since=mark)
    assert notice == VI("I will answer in {language}.").format(language=LANGUAGE_NAMES["vi"])
    assert results.startswith(VI("Results for “{query}”").format(query="máy sấy nông sản"))
    assert chat_menu(live, VI_ON_EN_PHONE) == [VI(description) for _name, description in COMMANDS]
    # searching in English afterwards is a choice of words, not of language
    mark = last_id(live, VI_ON_EN_PHONE)
    await say(live, VI_ON_EN_PHONE, "solar dryer for fruit and spices")
    assert bot_texts(live, VI_ON_EN_PHONE, since=mark)[0].startswith(
        VI("Results for “{query}”").format(query="solar dryer for fruit and spices")
    )
    # the choice is shown and can be changed back
    await say(live, VI_ON_EN_PHONE, "/language")
    keyboard = labels(live.emulator.messages(VI_ON_EN_PHONE, from_bot=True)[-1])
    assert "✅ " + LANGUAGE_NAMES["vi"] in keyboard and LANGUAGE_NAMES["en"] in keyboard
    message, button = newest_with(live, VI_ON_EN_PHONE, "lang:en")
    await live.emulator.press(VI_ON_EN_PHONE, message, button["callback_data"])
    await live.settle()
    mark = last_id(live, VI_ON_EN_PHONE)
    await say(live, VI_ON_EN_PHONE, "máy sấy nông sản")  # a language chosen is never overridden
    assert bot_texts(live, VI_ON_EN_PHONE, since=mark)[0].startswith(
        EN("Results for “{query}”").format(query="máy sấy nông sản")
    )
    assert chat_menu(live, VI_ON_EN_PHONE) == []  # Telegram's English menu fits again


async def test_a_japanese_supplier_is_greeted_and_served_in_japanese(live):
    live.emulator.user(JA_SUPPLIER, "Sato", "ja")
    await say(live, JA_SUPPLIER, "/start")
    welcome = live.emulator.messages(JA_SUPPLIER, from_bot=True)[-1]
    assert JA("Find technology") != "Find technology" and JA("Find technology") in " ".join(labels(welcome))
    assert [c["description"] for c in live.emulator.my_commands(language_code="ja")] == [JA(d) for _n, d in COMMANDS]
    mark = last_id(live, JA_SUPPLIER)
    await say(live, JA_SUPPLIER, "養殖池の水質センサー")
    assert bot_texts(live, JA_SUPPLIER, since=mark)[0].startswith(
        JA("Results for “{query}”").format(query="養殖池の水質センサー")
    )
    assert SENSOR_NEED in await hit_ids(live, JA_SUPPLIER)


async def test_a_simplified_chinese_reader_reads_a_traditional_entry_converted_and_can_open_the_original(live):
    live.emulator.user(HANS_READER, "伟", "zh-hans")
    mark = last_id(live, HANS_READER)
    await say(live, HANS_READER, "蝴蝶兰组织培养")
    assert (await hit_ids(live, HANS_READER))[0] == ORCHID_OFFER
    card = bot_texts(live, HANS_READER, since=mark)[0]
    original = "蝴蝶蘭組織培養與瓶苗量產技術"
    assert to_simplified(original) in card and original not in card and LANGUAGE_NAMES["zh-Hant"] not in card
    message, details_button = newest_with(live, HANS_READER, "det:")
    await live.emulator.press(HANS_READER, message, details_button["callback_data"])
    await live.settle()
    details = live.emulator.messages(HANS_READER, from_bot=True)[-1]
    assert to_simplified(original) in details["text"]
    assert "📖 " + LANGUAGE_NAMES["zh-Hant"] in labels(details)
    message, version = newest_with(live, HANS_READER, "ver:")
    await live.emulator.press(HANS_READER, message, version["callback_data"])
    await live.settle()
    as_written = live.emulator.messages(HANS_READER, from_bot=True)[-1]["text"]
    assert (
        original in as_written and HANS("Organisation: {name}").replace("{name}", "") in as_written
    )  # labels stay Simplified


async def test_vietnamese_only_needs_are_found_without_diacritics_and_from_english_and_chinese(live):
    for user_id, code, query, wanted in [
        (FARMER, "vi", "he thong tuoi nho giot", DRIP_NEED),
        (VISITOR, "en", "drip irrigation", DRIP_NEED),
        (VISITOR, "en", "desalination", DESALINATION_NEED),
        (TW_SUPPLIER, "zh-tw", "海水淡化", DESALINATION_NEED),
        (TW_SUPPLIER, "zh-tw", "滴灌溫室", DRIP_NEED),
    ]:
        live.emulator.user(user_id, "User", code)
        await say(live, user_id, query)
        assert wanted in (await hit_ids(live, user_id))[:5], query


async def test_a_freshly_approved_vietnamese_need_is_found_in_english_and_chinese(live):
    need = {
        "title": "Cần máy sấy vải thiều bằng bơm nhiệt cho hợp tác xã",
        "description": "Hợp tác xã trồng vải thiều ở Lục Ngạn cần dây chuyền sấy vải thiều bằng bơm nhiệt, "
        "hai tấn quả tươi mỗi mẻ, giữ màu và độ ngọt, thay cho lò sấy đốt củi.",
        "contact": ["Trần Văn Nam", "HTX Vải thiều Lục Ngạn", "Chủ nhiệm", "0987 654 321"],
    }
    await post(live, FARMER, "request", need, "vi", sector="agriculture")
    await staff_press(live, "ok")
    submission = await live.services.store.newest(Submission, Submission.user_id == FARMER)
    assert submission.status == "approved"
    for user_id, code, query in [(VISITOR, "en", "lychee dryer"), (TW_SUPPLIER, "zh-tw", "荔枝乾燥機")]:
        live.emulator.user(user_id, "User", code)
        await say(live, user_id, query)
        assert submission.record_id in (await hit_ids(live, user_id))[:5], query


async def test_find_partners_shows_a_supplier_the_needs_of_local_enterprises(live):
    live.emulator.user(TW_SUPPLIER, "美玲", "zh-tw")
    await say(live, TW_SUPPLIER, "/start")
    assert chat_menu(live, TW_SUPPLIER) == [TW(d) for _n, d in COMMANDS]  # Telegram's "zh" menu is Simplified
    message, partners = newest_with(live, TW_SUPPLIER, "menu:partners")
    await live.emulator.press(TW_SUPPLIER, message, partners["callback_data"])
    await live.settle()
    await say(live, TW_SUPPLIER, "水產養殖水質感測器")
    found = await live.services.catalog.get_many(await hit_ids(live, TW_SUPPLIER))
    assert SENSOR_NEED in found
    assert {(r.kind, r.seeking) for r in found.values()} == {("request", "technology")}


async def test_greetings_and_thanks_get_the_menu_and_a_broad_word_gets_a_choice_of_sector(live):
    live.emulator.user(VISITOR, "Lan", "vi")
    for text in ("xin chào", "cảm ơn", "👍", "Xin chao!"):
        mark = last_id(live, VISITOR)
        await say(live, VISITOR, text)
        reply = live.emulator.messages(VISITOR, from_bot=True)[-1]
        assert reply["message_id"] > mark and reply["text"] == VI(
            "Hello! Tell me in a few words what technology you need or offer, or choose below."
        ), text
        assert VI("Find technology") in " ".join(labels(reply))
    assert await hit_ids(live, VISITOR) == []  # nothing was searched
    await say(live, VISITOR, "máy")
    prompt = live.emulator.messages(VISITOR, from_bot=True)[-1]
    assert prompt["text"] == VI("“{query}” is broad: which sector?").format(query="máy")
    message, _sector = newest_with(live, VISITOR, "fs:")
    machinery = next(b for b in buttons(message) if b["callback_data"].endswith(":agri_machinery"))
    await live.emulator.press(VISITOR, message, machinery["callback_data"])
    await live.settle()
    found = await live.services.catalog.get_many(await hit_ids(live, VISITOR))
    assert found and {r.sector for r in found.values()} == {"agri_machinery"}


async def test_a_visitor_whose_language_the_bot_lacks_is_told_once_in_english(live):
    live.emulator.user(FR_VISITOR, "Claire", "fr")
    await say(live, FR_VISITOR, "/start")
    hint = EN(
        "I do not speak {language} yet, so I answer in English. Tap /language to choose Vietnamese, Chinese, "
        "Japanese or Korean."
    ).format(language="French")
    assert hint in live.emulator.messages(FR_VISITOR, from_bot=True)[-1]["text"]
    mark = last_id(live, FR_VISITOR)
    await say(live, FR_VISITOR, "Je cherche un séchoir solaire pour les fruits")
    assert bot_texts(live, FR_VISITOR, since=mark)[0] == hint
    mark = last_id(live, FR_VISITOR)
    await say(live, FR_VISITOR, "Je cherche un séchoir solaire pour le café")
    assert hint not in bot_texts(live, FR_VISITOR, since=mark)


async def test_the_posting_forms_own_example_need_meets_the_taiwanese_ras_offer(live):
    example = re.search(r"“(.+?)”", VI(PROMPTS[("request", "title")]))[1]
    need = {
        "title": example,
        "description": "Trại sản xuất tôm giống ở Hải Phòng cần hệ thống lọc tuần hoàn nước cho bể ương tôm post, "
        "giảm thay nước và kiểm soát dịch bệnh.",
        "contact": ["Nguyễn Thị Hoa", "Trại giống Đồ Sơn", "Giám đốc", "0912 345 678"],
    }
    await post(live, FARMER, "request", need, "vi")
    await staff_press(live, "ok")
    submission = await live.services.store.newest(Submission, Submission.user_id == FARMER)
    matches = await live.services.store.rows(Match, Match.record_id == submission.record_id)
    assert TW_RAS_OFFER in {m.counterpart_id for m in matches}


async def test_an_unknown_command_gets_the_menu_in_the_users_language(live):
    for user_id, code, T in [(VISITOR, "vi", VI), (JA_SUPPLIER, "ja", JA)]:
        live.emulator.user(user_id, "User", code)
        await say(live, user_id, "/find_partners")
        reply = live.emulator.messages(user_id, from_bot=True)[-1]
        assert reply["text"] == T("I do not know that command. Here is what I can do:")
        assert T("Find technology") in " ".join(labels(reply))
