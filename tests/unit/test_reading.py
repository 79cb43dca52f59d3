"""What a message is (a search, small talk, a broad word), which language it plainly is, how a
query is put into other languages, and which version of an entry a reader gets."""

import pytest

from bot.render import pick
from bot.small_talk import Meaning, meaning
from catalog.language import clear_language
from index.asking import read_query
from index.glossary import Glossary

DRIP = {
    "en": ["drip irrigation"],
    "vi": ["tưới nhỏ giọt"],
    "zh-Hant": ["滴灌"],
    "zh-Hans": ["滴灌"],
    "ja": ["点滴灌漑"],
    "ko": ["점적관개"],
}
SENSOR = {
    "en": ["sensor"],
    "vi": ["cảm biến"],
    "zh-Hant": ["感測器"],
    "zh-Hans": ["传感器"],
    "ja": ["センサー"],
    "ko": ["센서"],
}


@pytest.mark.parametrize(
    "text",
    [
        "xin chào",
        "Xin chao!",
        "cảm ơn bạn nhiều",
        "thanks!",
        "hi there",
        "👍",
        "?",
        "谢谢",
        "謝謝你",
        "ありがとうございます",
        "감사합니다",
        "ok",
    ],
)
def test_small_talk_is_not_a_search(text):
    assert meaning(text) is Meaning.CHAT


@pytest.mark.parametrize(
    "text", ["máy", "công nghệ", "Cần tìm công nghệ", "technology", "we need new equipment", "我需要技术"]
)
def test_words_naming_no_technology_are_broad(text):
    assert meaning(text) is Meaning.BROAD


@pytest.mark.parametrize(
    "text", ["cảm biến", "camera", "he thong tuoi nho giot", "máy sấy nông sản", "RAS", "养殖技术", "123"]
)
def test_queries_are_searches(text):
    assert meaning(text) is None


@pytest.mark.parametrize(
    "text, language",
    [
        ("xin chao", "vi"),
        ("cảm ơn", "vi"),
        ("養殖技術", "zh-Hant"),
        ("养殖技术", "zh-Hans"),
        ("エビの養殖", "ja"),
        ("새우 양식 기술", "ko"),
        ("solar dryer for fruit", "en"),
        ("hola necesito un secador solar", "es"),
        ("RAS", None),
        ("IoT sensor", None),
        ("tôm", None),
        ("👍", None),
    ],
)
def test_only_plain_writing_tells_a_readers_language(text, language):
    assert clear_language(text) == language


def test_a_query_is_put_into_every_other_language_term_by_term():
    glossary = Glossary([DRIP, SENSOR])
    assert glossary.translations("he thong tuoi nho giot", "vi").texts["en"] == "drip irrigation"
    assert glossary.translations("IoT sensor 4G", "en") == (
        {
            "vi": "4g cảm biến iot",
            "zh-Hant": "iot 感測器 4g",
            "zh-Hans": "iot 传感器 4g",
            "ja": "iot センサー 4g",
            "ko": "iot 센서 4g",
        },
        1.0,
    )  # every word known or carried over
    assert glossary.translations("滴灌", "zh-Hant").texts["vi"] == "tưới nhỏ giọt"
    assert glossary.translations("solar dryer", "en").texts == {}  # nothing known
    assert glossary.translations("sensor for measuring oxygen in deep fish cages", "en").texts == {}  # too little


def test_a_translation_says_how_much_of_the_query_it_carries():
    """Chinese and Japanese run words together: one known term in a run is not the whole run."""
    glossary = Glossary([DRIP, SENSOR])
    assert glossary.translations("滴灌", "zh-Hant").known == 1.0
    partial = glossary.translations("溫室滴灌", "zh-Hant")  # greenhouse drip irrigation: the greenhouse is lost
    assert partial.texts["en"] == "drip irrigation"
    assert partial.known == 0.5


def test_readers_get_their_language_then_the_other_chinese_script_then_english_then_the_original():
    texts = {"zh-Hant": "蝴蝶蘭組織培養", "vi": "Nhân giống lan"}
    assert pick(texts, "vi", "zh-Hant") == ("Nhân giống lan", "vi")
    assert pick(texts, "zh-Hans", "zh-Hant") == ("蝴蝶兰组织培养", "zh-Hans")
    assert pick({**texts, "en": "Orchid tissue culture"}, "ja", "zh-Hant") == ("Orchid tissue culture", "en")
    assert pick(texts, "ko", "zh-Hant") == ("蝴蝶蘭組織培養", "zh-Hant")


CATALOGUE_COUNTRIES = {"VN", "TW", "JP", "KR", "NL", "IL", "CN", "DE", "US", "GB"}


@pytest.mark.parametrize(
    "query, language, topic, country",
    [
        ("有没有台湾的半导体设备", "zh-Hans", "半导体设备", "TW"),
        ("尋找越南的養殖合作夥伴", "zh-Hant", "養殖合作夥伴", "VN"),
        ("do you have grain dryers from Japan", "en", "grain dryers", "JP"),
        (
            "I'm looking for a water quality sensor for shrimp ponds",
            "en",
            "water quality sensor for shrimp ponds",
            None,
        ),
        ("Japanese grain dryers", "en", "grain dryers", "JP"),
        ("có máy sấy lúa nào của Nhật không", "vi", "máy sấy lúa", "JP"),
        ("can cong nghe say kho hai san", "vi", "cong nghe say kho hai san", None),
        ("thiet bi ban dan dai loan", "vi", "thiet bi ban dan", "TW"),
        ("日本の精米機はありますか", "ja", "精米機", "JP"),
        ("대만의 반도체 장비 있나요", "ko", "반도체 장비", "TW"),
    ],
)
def test_a_query_is_read_as_its_topic_and_the_country_it_names(query, language, topic, country):
    assert read_query(query, language, CATALOGUE_COUNTRIES) == (topic, country)


@pytest.mark.parametrize(
    "query, language",
    [
        ("cân điện tử", "vi"),  # scales, not "need"
        ("co khi chinh xac", "vi"),  # "cơ khí" without diacritics, not "có"
        ("giao duc STEM", "vi"),  # education, not Germany (Đức)
        ("công nghệ của anh", "vi"),  # "your technology", not England's
        ("grain dryer from my farm", "en"),
        ("AI camera for fish counting", "en"),
        ("turkey farming", "en"),
        ("chế phẩm EM", "vi"),
    ],
)
def test_words_that_only_look_like_framing_or_a_country_are_kept(query, language):
    assert read_query(query, language, CATALOGUE_COUNTRIES | {"TR"}) == (query, None)


def test_a_country_without_entries_in_the_catalogue_is_part_of_the_topic():
    assert read_query("solar dryers from Kenya", "en", CATALOGUE_COUNTRIES) == ("solar dryers from Kenya", None)
