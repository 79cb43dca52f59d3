"""Language codes and detection for the four catalogue languages.

Detection lives here, not in ``index``, because the catalogue must know which language a
plain-string title is written in when it is imported.
"""
from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

LANGUAGES: tuple[str, ...] = ("vi", "en", "zh-Hant", "zh-Hans")

_CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")
_LATIN_WORD = re.compile(r"[^\W\d_]+")
# Letters that exist only in Vietnamese among the languages we meet (after NFC).
_VI_LETTERS = set("ăâđêôơưĂÂĐÊÔƠƯ")
_VI_TONES = {"\u0300", "\u0301", "\u0303", "\u0309", "\u0323"}
# Frequent Vietnamese syllables that survive the loss of diacritics and are rare in English.
_VI_SYLLABLES = frozenset(
    "cua cho nhung mot cac trong nay duoc voi khong nguoi cong nghe viec thi la va de "
    "ve tai tu nhu nhieu hon da dang se can muon tim nuoi tom ca giong thuy san nong "
    "nghiep may moc che bien nuoc thai xu ly dien nang luong mat troi doanh nghiep "
    "hai phong san xuat he thong thiet bi gia tri cao chat luong ky thuat giai phap "
    "cung cap chuyen giao hop tac dau tu tu dong hoa nha may cang bien kho lanh".split()
)


@lru_cache(maxsize=1)
def _opencc():
    import opencc

    return opencc.OpenCC("t2s"), opencc.OpenCC("s2t")


def to_simplified(text: str) -> str:
    return _opencc()[0].convert(text)


def to_traditional(text: str) -> str:
    return _opencc()[1].convert(text)


def chinese_script(text: str) -> str:
    """``zh-Hant`` or ``zh-Hans``: whichever script converting would change less."""
    t2s, s2t = _opencc()
    hant_chars = sum(a != b for a, b in zip(text, t2s.convert(text)))
    hans_chars = sum(a != b for a, b in zip(text, s2t.convert(text)))
    return "zh-Hant" if hant_chars and hant_chars >= hans_chars else "zh-Hans"


def detect_language(text: str) -> str:
    """Best guess among :data:`LANGUAGES`; English when nothing points elsewhere."""
    text = unicodedata.normalize("NFC", text)
    cjk = len(_CJK.findall(text))
    words = _LATIN_WORD.findall(text.lower())
    if cjk and cjk >= len(words):
        return chinese_script(text)
    if not words:
        return "en"
    if any(ch in _VI_LETTERS for ch in text) or any(
        ch in _VI_TONES for ch in unicodedata.normalize("NFD", text)
    ):
        return "vi"
    hits = sum(w in _VI_SYLLABLES for w in words)
    return "vi" if hits * 3 >= len(words) and hits >= 1 else "en"


def normalize_language_code(code: str | None) -> str | None:
    """Map free-form codes (``zh-tw``, ``zh_CN``, ``vi-VN``, ``zh``) to one of :data:`LANGUAGES`."""
    if not code:
        return None
    c = code.strip().replace("_", "-").lower()
    if c.startswith("zh"):
        if any(tag in c for tag in ("hant", "-tw", "-hk", "-mo")):
            return "zh-Hant"
        return "zh-Hans"
    base = c.split("-")[0]
    return base if base in ("vi", "en") else None
