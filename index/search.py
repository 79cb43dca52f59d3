"""Hybrid search: dense (bias-corrected e5 vectors in FAISS) fused with lexical BM25.

query -> normalise -> detect language -> embed -> FAISS top-N -> fuse with lexical hits ->
filters -> threshold. A record scores its best unit; each hit says which language version that was.
"""
from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date, datetime, timezone

import numpy as np

from catalog.store import CatalogStore
from index.accents import needs_restoring
from index.build import Changes, apply, embed_units, finish, pending, plan
from index.embedder import Embedder
from index.store import VectorStore
from catalog.language import LANGUAGES
from index.text import identify, normalize

DENSE_CANDIDATES = 64
LEXICAL_CANDIDATES = 64
LEXICAL_WEIGHT = 0.10  # same language family (vi with or without accents; Hant and Hans); bench/retrieval.py
CROSS_LEXICAL_WEIGHT = 0.05  # across languages shared terms are mostly names and numbers
MIN_MARGIN = 0.056  # a good match stands this far above the query's background; bench/confidence.py
REFRESH_UNITS = 1  # passages embedded at a time while searches wait: up to ~0.15 s each (bench/publish.py)
BACKGROUND_UNITS = 2000  # units sampled to estimate how well a query matches anything at all


def versions(units: list[list]) -> dict[str, list[int]]:
    """A record's unit ids by language version, each version's title first (see ``units_of``)."""
    out: dict[str, list[int]] = {}
    for unit, language, _written in units:
        out.setdefault(language, []).append(unit)
    return out


@dataclass(frozen=True)
class Filters:
    kind: str | None = None
    sector: str | None = None
    country: str | None = None
    ids: frozenset[str] | None = None  # only these records (e.g. the entries just published)

    def admits(self, record_id: str, meta: dict, today: date) -> bool:
        return (
            meta["status"] == "published"
            and (self.ids is None or record_id in self.ids)
            and (meta["expires_at"] is None or meta["expires_at"] >= today.isoformat())
            and (self.kind is None or meta["kind"] == self.kind)
            and (self.sector is None or meta["sector"] == self.sector)
            and (self.country is None or meta["country"] == self.country)
        )


@dataclass(frozen=True)
class Hit:
    id: str
    score: float
    language: str  # the language version of the record that matched
    dense: float
    lexical: float


@dataclass
class SearchResult:
    query: str
    language: str
    hits: list[Hit] = field(default_factory=list)
    background: float = 0.0  # the query's median similarity to the catalogue

    @property
    def good(self) -> list[Hit]:
        """Hits that stand out from the background: a vague or off-topic query has none.

        Absolute cosines of e5 are compressed (unrelated text still scores ~0.8), so the
        threshold is on the margin over what the query scores against everything.
        """
        return [hit for hit in self.hits if hit.score - self.background >= MIN_MARGIN]


class SearchEngine:
    """Answers queries against one :class:`VectorStore`; ``asearch`` keeps callers' event loops free."""

    def __init__(self, store: VectorStore, embedder: Embedder) -> None:
        self.store = store
        self.embedder = embedder
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="search")
        self._refreshing = asyncio.Lock()
        identify("warm up")  # loads the language models now rather than in someone's first search

    def allowed_units(self, filters: Filters, today: date) -> np.ndarray | None:
        """Unit ids that pass the filters, or None when every unit does."""
        metas = self.store.records
        admitted = [rid for rid, meta in metas.items() if filters.admits(rid, meta, today)]
        if len(admitted) == len(metas):
            return None
        return np.array([u for rid in admitted for u, *_ in metas[rid]["units"]], dtype=np.int64)

    def search(self, query: str, top_k: int = 5, filters: Filters = Filters(), today: date | None = None) -> SearchResult:
        text = normalize(query)
        spoken = identify(text)  # any language; the result names the nearest catalogue language
        result = SearchResult(query=query, language=spoken if spoken in LANGUAGES else "en")
        if not text or not self.store.records:
            return result
        today = today or datetime.now(timezone.utc).date()
        allowed = self.allowed_units(filters, today)
        if allowed is not None and not len(allowed):
            return result
        meant = self.store.accents.restore(text) if needs_restoring(text, spoken) else text
        vector = self.embedder.encode_queries([meant])[0] - self.store.query_offsets.get(spoken, 0.0)
        result.background = float(np.median(self.store.background_sample(BACKGROUND_UNITS) @ vector))
        dense: dict[int, float] = dict(zip(*(a.tolist() for a in self.store.dense(vector, DENSE_CANDIDATES, allowed))))
        allowed_set = None if allowed is None else set(allowed.tolist())
        lexical = self.store.lexical.search(text, allowed_set, spoken)
        extra = [u for u in sorted(lexical, key=lexical.get, reverse=True)[:LEXICAL_CANDIDATES] if u not in dense]
        candidates = {self.store.unit_record[u] for u in [*dense, *extra]}
        rest = [u for rid in candidates for u, *_ in self.store.records[rid]["units"] if u not in dense]
        if rest:
            dense.update(zip(rest, (self.store.vectors_of(rest) @ vector).tolist()))
        family = spoken[:2]
        best: dict[str, Hit] = {}
        for record_id in candidates:
            for language, units in versions(self.store.records[record_id]["units"]).items():
                cosine = max(dense[u] for u in units)
                lex = max(lexical.get(u, 0.0) for u in units)
                weight = LEXICAL_WEIGHT if self.store.unit_written[units[0]][:2] == family else CROSS_LEXICAL_WEIGHT
                hit = Hit(record_id, cosine + weight * lex, language, cosine, lex)
                if record_id not in best or hit.score > best[record_id].score:
                    best[record_id] = hit
        result.hits = sorted(best.values(), key=lambda h: h.score, reverse=True)[:top_k]
        return result

    async def asearch(self, query: str, top_k: int = 5, filters: Filters = Filters(), today: date | None = None) -> SearchResult:
        return await asyncio.get_running_loop().run_in_executor(self._pool, self.search, query, top_k, filters, today)

    async def refresh(self, catalog: CatalogStore) -> Changes:
        """Bring the index in line with the catalogue while searches go on.

        New texts are embedded a few units at a time in the search thread, so a search asked
        for meanwhile waits for one small batch at most, not for the whole import; the store
        then changes (and is saved) between two searches, so none sees half an update.
        """
        async with self._refreshing:
            records, gone = await pending(catalog, self.store)
            if not records and not gone:
                return Changes()
            changes = plan(self.store, records, gone)
            loop = asyncio.get_running_loop()
            parts = [await loop.run_in_executor(self._pool, embed_units, self.embedder, changes.units[i : i + REFRESH_UNITS])
                     for i in range(0, len(changes.units), REFRESH_UNITS)]
            vectors = np.concatenate(parts) if parts else np.zeros((0, self.store.dim), np.float32)
            await loop.run_in_executor(self._pool, self._apply, finish(self.store, self.embedder, changes, vectors))
            return changes

    def _apply(self, changes: Changes) -> None:
        apply(self.store, changes)
        self.store.save()
