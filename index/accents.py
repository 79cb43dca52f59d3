"""Putting the diacritics back on Vietnamese typed without them.

"nuoi tom" could be many things to an embedding model; "nuôi tôm" is shrimp farming. The
catalogue's own Vietnamese (and the sample catalogue's) says which accented form each plain
syllable, or pair of syllables, most often stands for, so the query is embedded as the user
meant it. The lexical channel needs none of this: it compares folded terms anyway.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from itertools import pairwise

from catalog.sample import sample_records
from index.text import normalize, strip_diacritics

_WORD = re.compile(r"[^\W\d_]+", re.UNICODE)


class AccentRestorer:
    def __init__(self) -> None:
        self.words: dict[str, Counter] = defaultdict(Counter)
        self.pairs: dict[str, Counter] = defaultdict(Counter)

    def learn(self, text: str) -> None:
        """Count the accented words and word pairs of a Vietnamese text."""
        words = _WORD.findall(normalize(text).lower())
        for word in words:
            self.words[strip_diacritics(word)][word] += 1
        for a, b in pairwise(words):
            self.pairs[strip_diacritics(f"{a} {b}")][f"{a} {b}"] += 1

    def restore(self, text: str) -> str:
        """``text`` with each plain word replaced by its likeliest accented form (pairs first)."""
        tokens = re.split(r"([^\W\d_]+)", normalize(text))
        words = [i for i, t in enumerate(tokens) if t and _WORD.fullmatch(t)]
        out = list(tokens)
        done: set[int] = set()
        for a, b in pairwise(words):
            pair = self.pairs.get(f"{tokens[a].lower()} {tokens[b].lower()}")
            if pair and a not in done and tokens[a + 1] == " ":
                first, second = pair.most_common(1)[0][0].split(" ")
                out[a], out[b] = _case_like(tokens[a], first), _case_like(tokens[b], second)
                done.update((a, b))
        for i in words:
            if i not in done and (forms := self.words.get(tokens[i].lower())):
                out[i] = _case_like(tokens[i], forms.most_common(1)[0][0])
        return "".join(out)


def _case_like(original: str, word: str) -> str:
    return word.capitalize() if original[:1].isupper() else word


def needs_restoring(text: str, language: str) -> bool:
    """Vietnamese with not a single diacritic: typed on a keyboard without Telex."""
    return language == "vi" and strip_diacritics(text) == text


def base_restorer() -> AccentRestorer:
    """A restorer that already knows the sample catalogue's Vietnamese."""
    restorer = AccentRestorer()
    for record in sample_records():
        for texts in (record.title, record.description):
            if "vi" in texts:
                restorer.learn(texts["vi"])
    return restorer
