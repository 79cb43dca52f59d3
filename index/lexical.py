"""BM25 over folded terms: the channel that catches exact names, codes and no-diacritics Vietnamese.

Scores are divided by the best score the query could reach, so 1.0 means every query term
matched as well as it can; that makes them comparable across queries and fusable with cosines.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict

from index.text import terms

K1, B = 1.2, 0.75


class LexicalIndex:
    def __init__(self) -> None:
        self.postings: dict[str, dict[int, int]] = defaultdict(dict)
        self.lengths: dict[int, int] = {}
        self.unit_terms: dict[int, list[str]] = {}
        self.total_length = 0

    def add(self, unit_id: int, text: str, language: str = "") -> None:
        counts = Counter(terms(text, language))
        for term, tf in counts.items():
            self.postings[term][unit_id] = tf
        self.unit_terms[unit_id] = list(counts)
        length = sum(counts.values())
        self.lengths[unit_id] = length
        self.total_length += length

    def remove(self, unit_id: int) -> None:
        for term in self.unit_terms.pop(unit_id, ()):
            bucket = self.postings[term]
            bucket.pop(unit_id, None)
            if not bucket:
                del self.postings[term]
        self.total_length -= self.lengths.pop(unit_id, 0)

    def idf(self, term: str) -> float:
        df = len(self.postings.get(term, ()))
        n = len(self.lengths)
        return math.log(1 + (n - df + 0.5) / (df + 0.5))

    def search(self, query: str, allowed: set[int] | None = None, language: str = "") -> dict[int, float]:
        """unit id -> BM25 score divided by the query's attainable maximum (0..1)."""
        q_terms = Counter(terms(query, language, query=True))
        if not q_terms or not self.lengths:
            return {}
        avg = self.total_length / len(self.lengths)
        scores: dict[int, float] = defaultdict(float)
        best = 0.0
        for term, q_tf in q_terms.items():
            idf = self.idf(term)
            best += idf * (K1 + 1) * q_tf
            for unit, tf in self.postings.get(term, {}).items():
                if allowed is not None and unit not in allowed:
                    continue
                norm = tf + K1 * (1 - B + B * self.lengths[unit] / avg)
                scores[unit] += q_tf * idf * tf * (K1 + 1) / norm
        if best <= 0:
            return {}
        return {unit: score / best for unit, score in scores.items()}
