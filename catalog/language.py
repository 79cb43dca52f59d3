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
# A Vietnamese syllable without its diacritics: optional onset, one to three vowels, optional coda.
_VI_SYLLABLE = re.compile(r"^(ngh|ng|nh|ch|gh|gi|kh|ph|qu|th|tr|[bcdghklmnprstvx])?[aeiouy]{1,3}(ch|ng|nh|[cmnpt])?$")
# Frequent Vietnamese syllables; a plain-text query needs some to count as Vietnamese.
_VI_COMMON = frozenset(
    "cua cho nhung mot cac trong nay duoc voi khong nguoi cong nghe viec thi la va de "
    "ve tai tu nhu nhieu hon da dang se can muon tim nuoi tom ca giong thuy san nong "
    "nghiep may moc che bien nuoc thai xu ly dien nang luong mat troi doanh nghiep "
    "hai phong xuat he thong thiet bi gia tri cao chat ky thuat giai phap cung cap "
    "chuyen giao hop tac dau dong hoa nha cang kho lanh say banh nhiet lam gi sao bao "
    "nam ngay thang nao duong phai biet minh ban toi chung ho cai con vao ra len xuong "
    "trai cay lua gao rau thit trung sua phan bon thuoc benh dich moi truong sach xanh "
    "ao song ruong vuon dat nhua giay ai dau doi so lan nhat cu phun tuoi".split()
)
# English words that Vietnamese typed without diacritics never forms.
_EN_WORDS = frozenset(
    "the is are was were be been of and to for with what who why how when where which "
    "this that these those it its he she they we you my your our their his her not "
    "yes do does did have has had will would from by at on in an as".split()
)


@lru_cache(maxsize=1)
def _opencc():
    import opencc

    return opencc.OpenCC("t2s"), opencc.OpenCC("s2t")


def to_simplified(text: str) -> str:
    return _opencc()[0].convert(text)


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
    syllables = sum(bool(_VI_SYLLABLE.match(w)) for w in words)
    common = sum(w in _VI_COMMON for w in words)
    english = sum(w in _EN_WORDS for w in words)
    plausible = syllables >= 0.6 * len(words) and common >= min(2, len(words)) and english <= common // 4
    return "vi" if plausible else "en"


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
