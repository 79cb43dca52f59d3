"""Sectors and countries, with labels in every UI language.

Sector labels are catalogue data (they describe the records), so they live here beside
the keys; country names come from Babel's CLDR data.
"""

from __future__ import annotations

import unicodedata
from functools import cache

from babel import Locale

from catalog.language import BABEL_LOCALES, LANGUAGES

SECTORS: dict[str, dict[str, str]] = {
    "aquaculture": {
        "vi": "Thủy sản & giống",
        "en": "Aquaculture & breeding",
        "zh-Hant": "水產養殖與育種",
        "zh-Hans": "水产养殖与育种",
        "ja": "水産養殖・育種",
        "ko": "수산 양식·육종",
    },
    "agriculture": {
        "vi": "Nông nghiệp",
        "en": "Agriculture",
        "zh-Hant": "農業",
        "zh-Hans": "农业",
        "ja": "農業",
        "ko": "농업",
    },
    "food_processing": {
        "vi": "Chế biến thực phẩm",
        "en": "Food processing",
        "zh-Hant": "食品加工",
        "zh-Hans": "食品加工",
        "ja": "食品加工",
        "ko": "식품 가공",
    },
    "agri_machinery": {
        "vi": "Máy nông nghiệp",
        "en": "Farm machinery",
        "zh-Hant": "農業機械",
        "zh-Hans": "农业机械",
        "ja": "農業機械",
        "ko": "농기계",
    },
    "biotech": {
        "vi": "Công nghệ sinh học",
        "en": "Biotechnology",
        "zh-Hant": "生物科技",
        "zh-Hans": "生物技术",
        "ja": "バイオテクノロジー",
        "ko": "생명공학",
    },
    "semiconductors": {
        "vi": "Bán dẫn",
        "en": "Semiconductors",
        "zh-Hant": "半導體",
        "zh-Hans": "半导体",
        "ja": "半導体",
        "ko": "반도체",
    },
    "iot": {
        "vi": "IoT & tự động hóa",
        "en": "IoT & automation",
        "zh-Hant": "物聯網與自動化",
        "zh-Hans": "物联网与自动化",
        "ja": "IoT・自動化",
        "ko": "IoT·자동화",
    },
    "renewable_energy": {
        "vi": "Năng lượng tái tạo",
        "en": "Renewable energy",
        "zh-Hant": "再生能源",
        "zh-Hans": "可再生能源",
        "ja": "再生可能エネルギー",
        "ko": "재생에너지",
    },
    "equipment": {
        "vi": "Thiết bị & công cụ",
        "en": "Equipment & tools",
        "zh-Hant": "設備與工具",
        "zh-Hans": "设备与工具",
        "ja": "設備・工具",
        "ko": "장비·공구",
    },
    "water_treatment": {
        "vi": "Xử lý nước",
        "en": "Water treatment",
        "zh-Hant": "水處理",
        "zh-Hans": "水处理",
        "ja": "水処理",
        "ko": "수처리",
    },
    "port_logistics": {
        "vi": "Cảng & logistics",
        "en": "Ports & logistics",
        "zh-Hant": "港口與物流",
        "zh-Hans": "港口与物流",
        "ja": "港湾・物流",
        "ko": "항만·물류",
    },
}

# Names people type that CLDR does not list in that form: short, historic or colloquial ones.
COUNTRY_ALIASES = {
    "korea": "KR",
    "south korea": "KR",
    "republic of korea": "KR",
    "韓國": "KR",
    "韩国": "KR",
    "한국": "KR",
    "nam han": "KR",
    "dai han": "KR",
    "holland": "NL",
    "the netherlands": "NL",
    "ha lan": "NL",
    "taiwan roc": "TW",
    "dai loan": "TW",
    "臺灣": "TW",
    "台灣": "TW",
    "台湾": "TW",
    "중화민국": "TW",
    "viet nam": "VN",
    "越南": "VN",
    "usa": "US",
    "america": "US",
    "united states of america": "US",
    "uk": "GB",
    "britain": "GB",
    "england": "GB",
    "anh": "GB",
    "trung quoc": "CN",
    "nhat": "JP",
    "nhật": "JP",
    "mỹ": "US",
}


# How people name a country before a product ("Japanese dryers"): read in queries, not in imports.
COUNTRY_ADJECTIVES = {
    "japanese": "JP",
    "taiwanese": "TW",
    "korean": "KR",
    "israeli": "IL",
    "dutch": "NL",
    "german": "DE",
    "chinese": "CN",
    "vietnamese": "VN",
    "american": "US",
    "singaporean": "SG",
    "thai": "TH",
    "indian": "IN",
    "french": "FR",
    "british": "GB",
}


def babel_locale(language: str) -> Locale:
    return Locale.parse(BABEL_LOCALES.get(language, "en"))


def sector_label(sector: str | None, language: str) -> str:
    """Localized label; unknown sectors are shown as they were written."""
    if not sector:
        return ""
    labels = SECTORS.get(sector)
    if labels is None:
        return sector.replace("_", " ")
    return labels.get(language) or labels["en"]


def country_name(code: str | None, language: str) -> str:
    if not code:
        return ""
    return babel_locale(language).territories.get(code.upper(), code.upper())


def is_country_code(code: str) -> bool:
    return len(code) == 2 and code.upper() in Locale.parse("en").territories


def _name_key(text: str) -> str:
    """How country names compare: lower case, no diacritics, no spaces or dots ("Việt Nam" = "viet nam")."""
    decomposed = unicodedata.normalize("NFKD", text.replace("đ", "d").replace("Đ", "D").lower())
    return "".join(ch for ch in decomposed if ch.isalnum() and not unicodedata.combining(ch))


@cache
def _country_names() -> dict[str, str]:
    """:func:`country_names` keyed the way names compare (:func:`_name_key`)."""
    return {_name_key(name): code for name, code in country_names().items()}


def country_code(text: str) -> str | None:
    """The ISO code a user meant by a code or a country name in any common form and script, or None."""
    text = " ".join(text.split()).strip(" .")
    if is_country_code(text):
        return text.upper()
    return _country_names().get(_name_key(text))


@cache
def country_names() -> dict[str, str]:
    """Country names as written in a sentence (lower case, words apart) in every UI language (and
    English), and the aliases above, to their codes."""
    names: dict[str, str] = {}
    for language in LANGUAGES:
        for code, name in babel_locale(language).territories.items():
            if len(code) == 2 and code.isalpha():
                names.setdefault(name.lower(), code)
    names.update(COUNTRY_ALIASES)
    return names
