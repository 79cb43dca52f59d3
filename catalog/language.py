"""Language codes and detection.

Detection lives here, not in ``index``, because the catalogue must know which language a
plain-string title is written in when it is imported. :func:`identify` names any language
we meet (``es``, ``th``... as themselves), for the index; :func:`detect_language` maps that
onto the catalogue and interface languages.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

LANGUAGES: tuple[str, ...] = ("vi", "en", "zh-Hant", "zh-Hans", "ja", "ko")
BABEL_LOCALES = {"vi": "vi", "en": "en", "zh-Hant": "zh_Hant", "zh-Hans": "zh_Hans", "ja": "ja", "ko": "ko"}

_CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")
_LATIN_WORD = re.compile(r"[^\W\d_]+")
# Marks (after NFD) no other language we meet puts on a Latin letter: horn (ơ ư), breve (ă),
# hook above, dot below, a tone over a circumflex (ấ ề ộ), a tilde over e i u y; and đ.
_VI_MARK = re.compile("[\u031b\u0306\u0309\u0323]|\u0302[\u0300\u0301\u0303]|[eiuy]\u0303|đ")
VI_MARKED_SHARE = 0.25  # of the words: an English text naming Đà Nẵng is still English
# A Vietnamese syllable without its diacritics: optional onset, one to three vowels, optional coda.
VI_SYLLABLE = re.compile(r"^(ngh|ng|nh|ch|gh|gi|kh|ph|qu|th|tr|[bcdghklmnprstvx])?[aeiouy]{1,3}(ch|ng|nh|[cmnpt])?$")
# Frequent Vietnamese syllables; a plain-text query needs some to count as Vietnamese.
_VI_COMMON = frozenset(
    [
        "cua",
        "cho",
        "nhung",
        "mot",
        "cac",
        "trong",
        "nay",
        "duoc",
        "voi",
        "khong",
        "nguoi",
        "cong",
        "nghe",
        "viec",
        "thi",
        "la",
        "va",
        "de",
        "ve",
        "tai",
        "tu",
        "nhu",
        "nhieu",
        "hon",
        "da",
        "dang",
        "se",
        "can",
        "muon",
        "tim",
        "nuoi",
        "tom",
        "ca",
        "giong",
        "thuy",
        "san",
        "nong",
        "nghiep",
        "may",
        "moc",
        "che",
        "bien",
        "nuoc",
        "thai",
        "xu",
        "ly",
        "dien",
        "nang",
        "luong",
        "mat",
        "troi",
        "doanh",
        "nghiep",
        "hai",
        "phong",
        "xuat",
        "he",
        "thong",
        "thiet",
        "bi",
        "gia",
        "tri",
        "cao",
        "chat",
        "ky",
        "thuat",
        "giai",
        "phap",
        "cung",
        "cap",
        "chuyen",
        "giao",
        "hop",
        "tac",
        "dau",
        "dong",
        "hoa",
        "nha",
        "cang",
        "kho",
        "lanh",
        "say",
        "banh",
        "nhiet",
        "lam",
        "gi",
        "sao",
        "bao",
        "nam",
        "ngay",
        "thang",
        "nao",
        "duong",
        "phai",
        "biet",
        "minh",
        "ban",
        "toi",
        "chung",
        "ho",
        "cai",
        "con",
        "vao",
        "ra",
        "len",
        "xuong",
        "trai",
        "cay",
        "lua",
        "gao",
        "rau",
        "thit",
        "trung",
        "sua",
        "phan",
        "bon",
        "thuoc",
        "benh",
        "dich",
        "moi",
        "truong",
        "sach",
        "xanh",
        "ao",
        "song",
        "ruong",
        "vuon",
        "dat",
        "nhua",
        "giay",
        "ai",
        "dau",
        "doi",
        "so",
        "lan",
        "nhat",
        "cu",
        "phun",
        "tuoi",
        "nho",
        "giot",
        "cam",
        "ung",
        "dung",
        "san",
        "pham",
        "loc",
        "rac",
        "tai",
        "che",
        "bep",
        "sinh",
        "khoi",
        "an",
        "toan",
        "ca",
        "phe",
        "che",
        "tao",
        "xin",
        "chao",
        "cam",
        "on",
        "anh",
        "chi",
        "em",
        "oi",
        "vui",
        "long",
        "gioi",
        "thieu",
        "tot",
        "nguyen",
        "tran",
        "pham",
        "hoang",
    ]
)
# English words that Vietnamese typed without diacritics never forms ("he", "do", "an", "to",
# "on"... are also Vietnamese syllables: hệ, đó, ăn, tô, ổn, so they prove nothing).
_EN_WORDS = frozenset(
    [
        "the",
        "is",
        "are",
        "was",
        "were",
        "be",
        "been",
        "of",
        "and",
        "for",
        "with",
        "what",
        "who",
        "why",
        "how",
        "when",
        "where",
        "which",
        "this",
        "that",
        "these",
        "those",
        "it",
        "its",
        "she",
        "they",
        "we",
        "you",
        "my",
        "your",
        "our",
        "their",
        "his",
        "her",
        "not",
        "yes",
        "does",
        "did",
        "have",
        "has",
        "had",
        "will",
        "would",
        "from",
        "by",
        "at",
        "in",
        "as",
    ]
)
# Languages the detector chooses among: the catalogue's, its neighbours', and those of UNDP's records.
_LINGUA = (
    "VIETNAMESE",
    "ENGLISH",
    "CHINESE",
    "JAPANESE",
    "KOREAN",
    "SPANISH",
    "FRENCH",
    "THAI",
    "INDONESIAN",
    "GERMAN",
    "PORTUGUESE",
    "MALAY",
    "TAGALOG",
    "RUSSIAN",
    "ARABIC",
)
IDENTIFY_CHARS = 500  # the start of a record decides as well as the whole, in a tenth of the time
ENGLISH_PRIOR = 0.25  # short Latin text is English unless another language is this much likelier


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


@lru_cache(maxsize=1)
def _detector():
    """Built once: lingua restricted to the languages above (its models load on first use)."""
    from lingua import Language, LanguageDetectorBuilder

    return LanguageDetectorBuilder.from_languages(*(getattr(Language, name) for name in _LINGUA)).build()


def plain_vietnamese(words: list[str]) -> bool:
    """Vietnamese typed without diacritics: syllable-shaped words, several of them common ones."""
    syllables = sum(bool(VI_SYLLABLE.match(w)) for w in words)
    common = sum(w in _VI_COMMON for w in words)
    english = sum(w in _EN_WORDS for w in words)
    return syllables >= 0.6 * len(words) and common >= min(2, len(words)) and english <= common // 4


def identify(text: str) -> str:
    """ISO 639-1 code of ``text`` (``zh-Hant`` / ``zh-Hans`` for Chinese); ``en`` when unsure.

    Vietnamese is told by its own marks, or, typed without them, by the shape of its syllables;
    lingua, which knows neither short accented nor unaccented Vietnamese well, decides the rest.
    """
    text = unicodedata.normalize("NFC", text[:IDENTIFY_CHARS])
    lower = text.lower()
    words = _LATIN_WORD.findall(lower)
    cjk = len(_CJK.findall(text))
    if not words:
        return "en"
    latin = [w for w in words if w.isascii() or unicodedata.name(w[0], "").startswith("LATIN")]
    if len(latin) >= cjk and latin:
        marked = sum(bool(_VI_MARK.search(unicodedata.normalize("NFD", w))) for w in latin)
        if marked >= VI_MARKED_SHARE * len(latin):
            return "vi"
        if all(w.isascii() for w in latin) and plain_vietnamese(latin):
            return "vi"
    values = _detector().compute_language_confidence_values(text)
    if not values:
        return "en"
    best = values[0]
    code = best.language.iso_code_639_1.name.lower()
    if code == "zh":
        return chinese_script(text)
    if code != "en" and latin and len(latin) >= cjk:
        english = next((v.value for v in values if v.language.iso_code_639_1.name == "EN"), 0.0)
        if best.value - english < ENGLISH_PRIOR and len(latin) < 4:
            return "en"
    return code


_KANA = re.compile(r"[\u3040-\u30ff]")
_HANGUL = re.compile(r"[\uac00-\ud7af]")
SURE_WORDS = 3  # Latin words it takes to tell English (or Spanish...) from a name or a term


def clear_language(text: str) -> str | None:
    """The language ``text`` is plainly written in, or None when it is too short to tell.

    What decides a user's interface must be surer than what routes a search: "RAS", "IoT
    sensor" or a name say nothing of what their writer reads, "cảm ơn" or "養殖技術" do.
    """
    text = unicodedata.normalize("NFC", text)
    if len(_KANA.findall(text)) >= 2:
        return "ja"
    if len(_HANGUL.findall(text)) >= 2:
        return "ko"
    language = identify(text)
    words = len(_LATIN_WORD.findall(text))
    if language.startswith("zh"):
        return language if len(_CJK.findall(text)) >= 2 else None
    if language == "vi":
        return language if words >= 2 else None
    return language if words >= SURE_WORDS else None


def detect_language(text: str) -> str:
    """Best guess among :data:`LANGUAGES`: other languages count as English, the lingua franca."""
    language = identify(text)
    return language if language in LANGUAGES else "en"


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
    return base if base in LANGUAGES else None
