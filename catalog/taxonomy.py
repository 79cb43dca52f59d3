"""Sectors and countries, with labels in every UI language.

Sector labels are catalogue data (they describe the records), so they live here beside
the keys; country names come from Babel's CLDR data.
"""
from __future__ import annotations

from functools import cache

from babel import Locale

from catalog.language import LANGUAGES

SECTORS: dict[str, dict[str, str]] = {
    "aquaculture": {"vi": "Thủy sản & giống", "en": "Aquaculture & breeding", "zh-Hant": "水產養殖與育種", "zh-Hans": "水产养殖与育种"},
    "agriculture": {"vi": "Nông nghiệp", "en": "Agriculture", "zh-Hant": "農業", "zh-Hans": "农业"},
    "food_processing": {"vi": "Chế biến thực phẩm", "en": "Food processing", "zh-Hant": "食品加工", "zh-Hans": "食品加工"},
    "agri_machinery": {"vi": "Máy nông nghiệp", "en": "Farm machinery", "zh-Hant": "農業機械", "zh-Hans": "农业机械"},
    "biotech": {"vi": "Công nghệ sinh học", "en": "Biotechnology", "zh-Hant": "生物科技", "zh-Hans": "生物技术"},
    "semiconductors": {"vi": "Bán dẫn", "en": "Semiconductors", "zh-Hant": "半導體", "zh-Hans": "半导体"},
    "iot": {"vi": "IoT & tự động hóa", "en": "IoT & automation", "zh-Hant": "物聯網與自動化", "zh-Hans": "物联网与自动化"},
    "renewable_energy": {"vi": "Năng lượng tái tạo", "en": "Renewable energy", "zh-Hant": "再生能源", "zh-Hans": "可再生能源"},
    "equipment": {"vi": "Thiết bị & công cụ", "en": "Equipment & tools", "zh-Hant": "設備與工具", "zh-Hans": "设备与工具"},
    "water_treatment": {"vi": "Xử lý nước", "en": "Water treatment", "zh-Hant": "水處理", "zh-Hans": "水处理"},
    "port_logistics": {"vi": "Cảng & logistics", "en": "Ports & logistics", "zh-Hant": "港口與物流", "zh-Hans": "港口与物流"},
}

_BABEL_LOCALE = {"vi": "vi", "en": "en", "zh-Hant": "zh_Hant", "zh-Hans": "zh_Hans"}


def babel_locale(language: str) -> Locale:
    return Locale.parse(_BABEL_LOCALE.get(language, "en"))


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


@cache
def _country_names() -> dict[str, str]:
    """Country names in every UI language (and English), lower-cased, to their codes."""
    names: dict[str, str] = {}
    for language in ("en", *LANGUAGES):
        for code, name in babel_locale(language).territories.items():
            if len(code) == 2 and code.isalpha():
                names.setdefault(name.lower(), code)
    return names


def country_code(text: str) -> str | None:
    """The ISO code a user meant by a code or a country name in any UI language, or None."""
    text = " ".join(text.split()).strip(" .")
    if is_country_code(text):
        return text.upper()
    return _country_names().get(text.lower())
