"""Text normalisation and the terms of the lexical channel.

Users type Vietnamese in NFC or NFD and often without diacritics, Chinese in either script,
and full-width forms from CJK keyboards. Everything the lexical channel compares goes through
:func:`fold`, so all of those variants meet on the same terms.
"""
from __future__ import annotations

import re
import unicodedata

from catalog.language import detect_language, to_simplified

__all__ = ["normalize", "fold", "strip_diacritics", "terms", "detect_language"]

_SPACE = re.compile(r"\s+")
_TOKEN = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]+|[^\W_]+", re.UNICODE)
_CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")
_STOP = frozenset(
    # English and diacritic-free Vietnamese function words: frequent, and meaningless alone.
    "a an and are as at be by for from has have in is it its of on or that the this to with we our "
    "can will which their they into than also more such these those how what who why where when "
    "va cua cho cac nhung mot la de co duoc trong voi tai tu den khi nay do the nhu ve thi ma se "
    "da dang can muon tim kiem chung toi minh".split()
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


def fold(text: str) -> str:
    """Lower case, no diacritics, no full-width forms, Simplified Chinese: how lexical terms compare."""
    text = normalize(unicodedata.normalize("NFKC", text)).lower()
    if _CJK.search(text):
        text = to_simplified(text)
    return strip_diacritics(text)


def terms(text: str) -> list[str]:
    """Lexical terms: content words, adjacent word pairs, and CJK character bigrams."""
    out: list[str] = []
    words: list[str] = []
    for token in _TOKEN.findall(fold(text)):
        if _CJK.match(token):
            out.extend(token if len(token) == 1 else (token[i : i + 2] for i in range(len(token) - 1)))
            words.clear()
            continue
        if token in _STOP or (len(token) < 2 and not token.isdigit()):
            words.clear()
            continue
        out.append(token)
        if words:
            out.append(words[-1] + " " + token)
        words.append(token)
    return out
