"""Text normalisation and the terms of the lexical channel.

Users type Vietnamese in NFC or NFD and often without diacritics, Chinese in either script,
and full-width forms from CJK keyboards. Everything the lexical channel compares goes through
:func:`fold`, so all of those variants meet on the same terms.
"""

from __future__ import annotations

import re
import unicodedata

from catalog.language import VI_SYLLABLE as _VI_SYLLABLE
from catalog.language import detect_language, identify, to_simplified

__all__ = ["STOPWORDS", "detect_language", "fold", "identify", "normalize", "simplify", "strip_diacritics", "terms"]

_SPACE = re.compile(r"\s+")
_TOKEN = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]+|[^\W_]+", re.UNICODE)
_CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")
STOPWORDS = frozenset(
    # English and diacritic-free Vietnamese function words: frequent, and meaningless alone.
    [
        "a",
        "an",
        "and",
        "are",
        "as",
        "at",
        "be",
        "by",
        "for",
        "from",
        "has",
        "have",
        "in",
        "is",
        "it",
        "its",
        "of",
        "on",
        "or",
        "that",
        "the",
        "this",
        "to",
        "with",
        "we",
        "our",
        "can",
        "will",
        "which",
        "their",
        "they",
        "into",
        "than",
        "also",
        "more",
        "such",
        "these",
        "those",
        "how",
        "what",
        "who",
        "why",
        "where",
        "when",
        "va",
        "cua",
        "cho",
        "cac",
        "nhung",
        "mot",
        "la",
        "de",
        "co",
        "duoc",
        "trong",
        "voi",
        "tai",
        "tu",
        "den",
        "khi",
        "nay",
        "do",
        "the",
        "nhu",
        "ve",
        "thi",
        "ma",
        "se",
        "da",
        "dang",
        "can",
        "muon",
        "tim",
        "kiem",
        "chung",
        "toi",
        "minh",
    ]
)


def normalize(text: str) -> str:
    """NFC (Vietnamese typed as NFD becomes NFC) and collapsed white space.

    What is embedded keeps its full-width punctuation: the model's own tokenizer maps those
    forms, and was trained on text as people write it.
    """
    return _SPACE.sub(" ", unicodedata.normalize("NFC", text)).strip()


def strip_diacritics(text: str) -> str:
    """Vietnamese without accents: what a phone keyboard without Telex produces."""
    decomposed = unicodedata.normalize("NFD", text.replace("đ", "d").replace("Đ", "D"))
    return unicodedata.normalize("NFC", "".join(ch for ch in decomposed if not unicodedata.combining(ch)))


def simplify(text: str) -> str:
    """Lower case, no full-width forms, Simplified Chinese; diacritics kept."""
    text = normalize(unicodedata.normalize("NFKC", text)).lower()
    return to_simplified(text) if _CJK.search(text) else text


def fold(text: str) -> str:
    """Lower case, no diacritics, no full-width forms, Simplified Chinese: how lexical terms compare."""
    return strip_diacritics(simplify(text))


def terms(text: str, language: str = "", query: bool = False) -> list[str]:
    """Lexical terms: content words, adjacent word pairs, and CJK character bigrams.

    A Vietnamese word is mostly two or more syllables, and one syllable alone means little
    ("cảm" is in both "cảm ơn", thank you, and "cảm biến", sensor): Vietnamese text pairs
    every two adjacent syllables, and a Vietnamese query of several words matches syllables
    only as pairs (words that are not syllables, such as names and numbers, still alone).
    """
    vietnamese = language == "vi"
    out: list[str] = []
    words: list[str] = []
    tokens = _TOKEN.findall(fold(text))
    pairs_only = vietnamese and query and sum(not _CJK.match(t) for t in tokens) > 1
    for token in tokens:
        if _CJK.match(token):
            out.extend(token if len(token) == 1 else (token[i : i + 2] for i in range(len(token) - 1)))
            words.clear()
            continue
        stop = token in STOPWORDS or (len(token) < 2 and not token.isdigit())
        if stop and not vietnamese:
            words.clear()
            continue
        if not stop and not (pairs_only and _VI_SYLLABLE.match(token)):
            out.append(token)
        if words:
            out.append(words[-1] + " " + token)
        words.append(token)
    return out
