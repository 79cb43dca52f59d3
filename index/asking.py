"""How people ask: the words around what they look for, and a country they name.

"有没有台湾的半导体设备" (is there Taiwanese semiconductor equipment?) found nothing good: the
question and the country took half the query, and the model looked for them too. Read as
"半导体设备" from Taiwan, the equipment stands out, and Taiwan's matches can come first.

Phrases compare in lower case with their diacritics, so "cần" (need) is not "cân" (scales)
nor "Đức" (Germany) "dục"; a query typed without any diacritics is also read in that form,
except for the few phrases that would then be common words ("co" is also "cơ" of "cơ khí").
"""

from __future__ import annotations

import re
from collections.abc import Collection
from functools import cache
from typing import NamedTuple

from catalog.taxonomy import COUNTRY_ADJECTIVES, country_names
from index.text import simplify, strip_diacritics

# Phrases that frame a query and say nothing of its topic, by language family: leading, trailing.
# Chinese ones in Simplified: queries are compared simplified.
FRAMES: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "en": (
        (
            "hi",
            "hello",
            "please",
            "is there any",
            "are there any",
            "is there a",
            "is there an",
            "is there",
            "are there",
            "do you have any",
            "do you have",
            "does anyone have",
            "does anyone offer",
            "who has",
            "who offers",
            "i need",
            "we need",
            "i want",
            "we want",
            "i would like",
            "we would like",
            "i am looking for",
            "we are looking for",
            "i'm looking for",
            "we're looking for",
            "looking for",
            "searching for",
            "search for",
            "find me",
            "help me find",
            "can you find",
            "any",
            "some",
            "a",
            "an",
            "the",
        ),
        ("please", "thanks", "thank you"),
    ),
    "vi": (
        (
            "xin chào",
            "chào",
            "cho hỏi",
            "cho tôi hỏi",
            "cho em hỏi",
            "bên bạn có",
            "ai có",
            "tôi",
            "chúng tôi",
            "bên tôi",
            "mình",
            "em cần",
            "em muốn",
            "em tìm",
            "công ty tôi",
            "đang",
            "cần",
            "muốn",
            "tìm",
            "tìm kiếm",
            "có",
        ),
        ("nào", "ạ", "nhé", "nha", "vậy", "với"),
    ),
    "zh": (
        (
            "你好",
            "您好",
            "请问",
            "我们",
            "我",
            "想",
            "要",
            "需要",
            "想要",
            "想找",
            "寻找",
            "找",
            "求购",
            "求",
            "有没有",
            "是否有",
            "有无",
            "哪里有",
        ),
        ("吗", "呢", "吧"),
    ),
    "ja": ((), ("を探しています", "を探している", "はありますか", "ありますか", "が欲しい", "がほしい")),
    "ko": ((), ("있나요", "있습니까", "찾고 있습니다", "찾습니다", "있어요")),
}
# A yes-no question, "có ... không?": its end only counts after its opening ("chân không" is vacuum).
YES_NO: dict[str, tuple[str, tuple[str, ...]]] = {"vi": ("có", ("không", "ko", "nào không", "không ạ", "được không"))}
# Without diacritics these are everyday words of their own: read only as typed with them.
ACCENTED_ONLY = frozenset({"có", "vậy", "với", "nha", "ai có"})
# Words that tie a country to the topic: where it comes from ("from Japan", "của Nhật", "台湾的",
# "日本の", "대만의") or where it is ("in Japan", "ở Nhật", "ベトナムで").
ORIGIN = ("from", "made in", "của", "từ", "đến từ", "xuất xứ", "nước", "来自", "从", "产自")
LOCATION = ("based in", "in", "at", "ở", "tại", "在")
ORIGIN_AFTER = ("的", "产", "の", "製", "から", "의")
LOCATION_AFTER = ("で",)
# The users' own country, named without saying it is the origin, says where ("IC plant site in
# Vietnam", "越南代理"), not whose entries they want.
HOME = "VN"
# Country names that are also words ("Turkey", "Chad") or too short to trust alone ("Đức", "Nhật"):
# they name a country only after one of the tying words.
COMMON_WORD_COUNTRIES = frozenset({"turkey", "guinea", "jersey", "jordan", "georgia", "chile", "niger", "chad"})
NOT_COUNTRIES = frozenset({"anh", "my"})  # "của anh" is "yours", "from my" English
_PUNCTUATION = " \t,.;:!?-–—，。；：！？、…"
_SEPARATOR = f"[{re.escape(_PUNCTUATION)}]*"
_UNSPACED = re.compile(r"[\u3040-\u30ff\u3400-\u9fff\uf900-\ufaff\uac00-\ud7af]")  # kana, CJK, Hangul


class Asked(NamedTuple):
    topic: str  # what to search for: the query without its framing and the country it names
    country: str | None  # the ISO code of a country the query names, one the catalogue has entries from


def read_query(text: str, language: str, countries: Collection[str]) -> Asked:
    """The topic of a (normalised) query and the country it names; the query itself when reading
    it would leave nothing, or when its lower-case form does not line up with it letter by letter."""
    lowered = simplify(text)
    if len(lowered) != len(text):
        return Asked(text, None)
    plain = lowered.isascii()
    country = None
    found = _country_pattern(plain).search(lowered)
    while found and not (country := _named(found, countries, plain)):
        found = _country_pattern(plain).search(lowered, found.start() + 1)
    rest, lowered = (_cut(text, found), _cut(lowered, found)) if found else (text, lowered)
    start, end = _topic_span(lowered, language[:2], plain)
    topic = rest[start:end].strip(_PUNCTUATION)
    return Asked(topic if len(topic) > 1 else text, country)


def _topic_span(lowered: str, family: str, plain: bool) -> tuple[int, int]:
    """Where the topic starts and ends once the framing of its language is left out."""
    leading, trailing = FRAMES.get(family, ((), ()))
    start, end = next(_leading(leading, plain).finditer(lowered)).end(), len(lowered)  # matches at 0, maybe empty
    if family in YES_NO:
        opening, endings = YES_NO[family]
        opened = rf"(?<![^\W_]){re.escape(strip_diacritics(opening) if plain else opening)}(?![^\W_])\s*"
        ending = _trailing(endings, plain).search(lowered, start)
        if ending and ending.group().strip(_PUNCTUATION) and re.search(opened, lowered[: ending.start()]):
            start += len(m.group()) if (m := re.match(opened, lowered[start:])) else 0
            end = ending.start()
    if framed := _trailing(trailing, plain).search(lowered, start, end):
        end = framed.start()
    return start, end


def _named(found: re.Match[str], countries: Collection[str], plain: bool) -> str | None:
    """The country a match names, if the catalogue has entries from it and the words around it
    make it a country: a name that is also a word needs a tying word, the home country an origin."""
    name = found.group("name")
    code = _country_forms(plain)[name]
    tied = found.group("origin") or found.group("location")
    if code not in countries or (not tied and name in _untrusted(plain)):
        return None
    if code == HOME and not (found.group("origin") or found.group("after")):
        return None
    return code


def _cut(text: str, found: re.Match[str]) -> str:
    return (text[: found.start()].rstrip() + " " + text[found.end() :].lstrip()).strip()


def _forms(phrases: tuple[str, ...], plain: bool) -> list[str]:
    """The phrases as a query may hold them; without diacritics too when it has none."""
    forms = set(phrases)
    if plain:
        forms |= {strip_diacritics(p) for p in phrases if p not in ACCENTED_ONLY}
    return sorted(forms, key=len, reverse=True)  # the longest first: "nào không" before "không"


def _alternatives(forms: list[str]) -> str:
    """One regex alternation; words of alphabets stand alone, CJK and Hangul ones need no spaces."""
    return "|".join(re.escape(f) if _UNSPACED.search(f) else rf"(?<![^\W_]){re.escape(f)}(?![^\W_])" for f in forms)


@cache
def _leading(phrases: tuple[str, ...], plain: bool) -> re.Pattern[str]:
    return re.compile(rf"{_SEPARATOR}(?:(?:{_alternatives(_forms(phrases, plain)) or '(?!)'}){_SEPARATOR})*")


@cache
def _trailing(phrases: tuple[str, ...], plain: bool) -> re.Pattern[str]:
    return re.compile(rf"(?:{_SEPARATOR}(?:{_alternatives(_forms(phrases, plain)) or '(?!)'}))*{_SEPARATOR}$")


@cache
def _untrusted(plain: bool) -> frozenset[str]:
    """Country names that are short or common words: a country only after a tying word."""
    return frozenset(
        n for n in _country_forms(plain) if not _UNSPACED.search(n) and (len(n) < 5 or n in COMMON_WORD_COUNTRIES)
    )


@cache
def _country_pattern(plain: bool) -> re.Pattern[str]:
    """Any country name (not one too short to tell from other words), with the words tying it."""
    usable = sorted(
        (n for n in _country_forms(plain) if (_UNSPACED.search(n) or len(n) > 2) and n not in NOT_COUNTRIES),
        key=len,
        reverse=True,
    )
    origin = _alternatives(_forms(ORIGIN, plain))
    location = _alternatives(_forms(LOCATION, plain))
    after = "|".join(map(re.escape, ORIGIN_AFTER))
    at = "|".join(map(re.escape, LOCATION_AFTER))
    return re.compile(
        rf"(?:(?P<origin>{origin})\s*|(?P<location>{location})\s*)?(?P<name>{_alternatives(usable)})(?:\s*(?:(?P<after>{after})|{at}))?"
    )


@cache
def _country_forms(plain: bool) -> dict[str, str]:
    """How a query may name a country (its name, an alias, an adjective: "Dutch"), to its code;
    without diacritics too when ``plain``."""
    forms = country_names() | COUNTRY_ADJECTIVES
    return {strip_diacritics(form): code for form, code in forms.items()} | forms if plain else forms
