"""Query translation through a multilingual glossary of the domain's terms.

A small multilingual encoder matches a short English query with a Vietnamese-only entry
poorly: "drip irrigation" and "tưới nhỏ giọt" are near, but not nearer than other English
texts about farming. Dictionary translation of the query's terms, the old remedy of
cross-language retrieval, turns that into a comparison within one language: the search
compares each language version of an entry with the query in that language.

``glossary.jsonl`` holds one concept a line, its terms in every catalogue language. Terms are
found in the query in lower case and Simplified Chinese, longest first; Latin and Korean terms
only as whole words, Chinese and Japanese ones anywhere.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import NamedTuple

from catalog.language import LANGUAGES, VI_SYLLABLE
from index.text import STOPWORDS, fold, simplify, strip_diacritics

GLOSSARY = Path(__file__).with_name("glossary.jsonl")
MAX_CHARS = 120  # a longer text is a description (More like this, matching): its own words carry it
MIN_COVERED = 0.5  # share of the query's content a translation must carry, or it says something else
_ANYWHERE = re.compile(r"[\u3040-\u30ff\u3400-\u9fff\uf900-\ufaff]")  # Chinese and Japanese run words together
_WORD = re.compile(r"\w[\w.+/-]*")
_CODE = re.compile(r"[A-Za-z0-9][A-Za-z0-9.+/-]*")  # names, codes and numbers carry over untranslated
_NON_LATIN = frozenset({"zh-Hant", "zh-Hans", "ja", "ko"})


class Translations(NamedTuple):
    texts: dict[str, str]  # language -> the query in it, term by term
    known: float  # share of the query's text (in characters) that the glossary knew or carried over


@dataclass(frozen=True)
class Span:
    start: int
    end: int
    concept: int


class _Matcher:
    """Finds terms (compared forms -> concept): Latin and Korean ones as whole words only."""

    def __init__(self, terms: dict[str, int]) -> None:
        self.terms = terms
        alternatives = [
            re.escape(t) if _ANYWHERE.search(t) else rf"(?<!\w){re.escape(t)}(?!\w)"
            for t in sorted(terms, key=len, reverse=True)
        ]  # the first alternative that fits wins
        self.pattern = re.compile("|".join(alternatives)) if alternatives else None

    def spans(self, text: str) -> list[Span]:
        return (
            []
            if self.pattern is None
            else [Span(m.start(), m.end(), self.terms[m.group()]) for m in self.pattern.finditer(text)]
        )


class Glossary:
    """Terms found as written ("sắn" is cassava, "sản" of "nông sản" is not), or, in a query typed
    without diacritics, as folded (then "san" is either: the longer term around it decides)."""

    def __init__(self, concepts: list[dict[str, list[str]]]) -> None:
        self.concepts = concepts
        self.forms = {
            form: _Matcher({form(t): n for n, c in enumerate(concepts) for lang in LANGUAGES for t in c.get(lang, [])})
            for form in (simplify, fold)
        }

    def spans(self, text: str) -> tuple[str, list[Span]]:
        """``text`` as compared, and the glossary terms in it, left to right, longest match first."""
        form = fold if strip_diacritics(text) == text else simplify
        compared = form(text)
        return compared, self.forms[form].spans(compared)

    def translations(self, text: str, language: str) -> Translations:
        """``text`` in each other catalogue language, term by term; none when too little of it is known.

        Words the glossary lacks carry over when they are codes or numbers (RAS, IoT, 4G), or
        Latin words in a query of another script (names); other words are dropped: they are
        words of the query's own language, which the other versions do not contain. What was
        dropped is measured (``known``): "子ども向けロボット教材" becomes just "robot", which
        speaks for a fifth of the query, however many of its words were known.
        """
        if len(text) > MAX_CHARS:
            return Translations({}, 0.0)
        compared, spans = self.spans(text)
        latin = language not in _NON_LATIN
        codes = {
            t.lower() for t in _CODE.findall(text) if any(c.isdigit() for c in t) or sum(c.isupper() for c in t) > 1
        }

        def keep(piece: str) -> list[str]:
            """Codes; in a query of another script any Latin word; in Vietnamese a word no Vietnamese syllable is ("flip")."""
            return [
                t
                for t in _WORD.findall(piece)
                if t.isascii() and (not latin or t in codes or (language == "vi" and not VI_SYLLABLE.match(t)))
            ]

        gaps = [compared[a:b] for a, b in zip([0, *(s.end for s in spans)], [*(s.start for s in spans), len(compared)])]
        kept = [keep(gap) for gap in gaps]  # the words between the terms that carry over
        carried = [w for s in spans for w in re.findall(r"\w+", compared[s.start : s.end])] + [
            w for k in kept for w in k
        ]
        content = [w for w in re.findall(r"\w+", compared) if fold(w) not in STOPWORDS]
        if not spans or len(carried) < MIN_COVERED * len(content):
            return Translations({}, 0.0)
        known = sum(map(len, carried)) / max(1, sum(map(len, content)))
        out: dict[str, str] = {}
        for target in LANGUAGES:
            if target == language:
                continue
            pieces = list(kept[0])
            for span, words in zip(spans, kept[1:]):
                pieces += [self.concepts[span.concept][target][0], *words]
            if (language == "vi") != (
                target == "vi"
            ):  # Vietnamese puts the head first: "máy sấy vải thiều", "lychee dryer"
                pieces.reverse()
            out[target] = " ".join(pieces)
        return Translations(out, min(1.0, known))


@cache
def glossary() -> Glossary:
    lines = GLOSSARY.read_text(encoding="utf-8").splitlines() if GLOSSARY.exists() else []
    return Glossary([json.loads(line) for line in lines if line.strip()])
