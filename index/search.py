"""Hybrid search: dense (bias-corrected e5 vectors in FAISS) fused with lexical BM25.

query -> normalise -> detect language -> its topic and a country it names (``index.asking``) ->
translate its known terms (``index.glossary``) -> embed the topic in each language -> FAISS
top-N -> fuse with lexical hits -> filters -> threshold -> the named country's good matches
first. Each language version of a record is compared with the query in its own language where
there is one (weighed by how much of the query the translation carries, :func:`blend`); a
record scores its best version, by the margin over that query's background.
"""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime

import numpy as np

from catalog.language import LANGUAGES
from catalog.store import CatalogStore
from index.accents import needs_restoring
from index.asking import read_query
from index.build import Changes, apply, embed_units, finish, pending, plan
from index.embedder import Embedder
from index.glossary import Translations, glossary
from index.store import VectorStore
from index.text import identify, normalize

DENSE_CANDIDATES = 64
LEXICAL_CANDIDATES = 64
LEXICAL_WEIGHT = 0.10  # same language family (vi with or without accents; Hant and Hans); bench/retrieval.py
CROSS_LEXICAL_WEIGHT = 0.05  # across languages shared terms are mostly names and numbers
SCRIPT_SIBLING = {
    "zh-Hant": "zh-Hans",
    "zh-Hans": "zh-Hant",
}  # a version in one script is compared with a query in the other
MIN_MARGIN = 0.056  # a good match stands this far above the query's background; bench/confidence.py
COUNTRY_MATCH = 0.015  # margin an entry gains from being from the country a query names ("台湾的", "from Japan")
REFRESH_UNITS = 1  # passages embedded at a time while searches wait: up to ~0.15 s each (bench/publish.py)
ALLOWED_CACHE = 256  # filter combinations whose units are kept (sector x kind x country in use)
BACKGROUND_UNITS = 2000  # units sampled to estimate how well a query matches anything at all


def versions(units: list[list]) -> dict[str, list[int]]:
    """A record's unit ids by language version, each version's title first (see ``units_of``)."""
    out: dict[str, list[int]] = {}
    for unit, language, _written in units:
        out.setdefault(language, []).append(unit)
    return out


def version_score(cosines: list[float]) -> float:
    """One language version's match: its title and its best full text, averaged.

    The best of the two would favour short texts: a title alone scores higher on short queries
    than any full text does, so a record would rank by how terse its title is.
    """
    title, *full = cosines
    return (title + max(full)) / 2 if full else title


def blend(translated: Hit, typed: Hit, known: float) -> Hit:
    """A comparison through a translation speaks for the share of the query the glossary knew; the
    query as typed speaks for the rest. Whole, a partial translation would be a vaguer query ("bếp
    nấu ăn dùng năng lượng mặt trời" is just "solar-powered") that anything in its field matches."""

    def mix(a: float, b: float) -> float:
        return known * a + (1 - known) * b

    return Hit(
        translated.id,
        mix(translated.score, typed.score),
        translated.language,
        mix(translated.dense, typed.dense),
        mix(translated.lexical, typed.lexical),
        mix(translated.margin, typed.margin),
    )


@dataclass(frozen=True)
class Filters:
    kind: str | None = None
    sector: str | None = None
    country: str | None = None
    seeking: str | None = None  # requests for a technology, or for partners (catalog.model.SEEKING)
    ids: frozenset[str] | None = None  # only these records (e.g. the entries just published)

    def admits(self, record_id: str, meta: dict, today: date) -> bool:
        return (
            meta["status"] == "published"
            and (self.ids is None or record_id in self.ids)
            and (meta["expires_at"] is None or meta["expires_at"] >= today.isoformat())
            and (self.kind is None or meta["kind"] == self.kind)
            and (self.seeking is None or meta.get("seeking") == self.seeking)
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
    margin: float  # over the background of the query it was compared with: what ranks and what is "good"


@dataclass
class SearchResult:
    query: str
    language: str
    hits: list[Hit] = field(default_factory=list)
    background: float = 0.0  # the query's median similarity to the catalogue (as typed)

    @property
    def good(self) -> list[Hit]:
        """Hits that stand out from the background: a vague or off-topic query has none.

        Absolute cosines of e5 are compressed (unrelated text still scores ~0.8), so the
        threshold is on the margin over what the query scores against everything.
        """
        return [hit for hit in self.hits if hit.margin >= MIN_MARGIN]


class SearchEngine:
    """Answers queries against one :class:`VectorStore`; ``asearch`` keeps callers' event loops free."""

    def __init__(self, store: VectorStore, embedder: Embedder) -> None:
        self.store = store
        self.embedder = embedder
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="search")
        self._refreshing = asyncio.Lock()
        self._allowed: dict[tuple, np.ndarray | None] = {}  # see allowed_units
        self._countries: tuple[tuple, frozenset[str]] = ((), frozenset())  # see countries
        identify("warm up")  # loads the language models now rather than in someone's first search

    def allowed_units(self, filters: Filters, today: date) -> np.ndarray | None:
        """Unit ids that pass the filters, or None when every unit does; kept until the index
        changes or the day ends (checking 6k records took a tenth of a search's time)."""
        key = (self.store, self.store.changes, filters, today)
        if key not in self._allowed:
            if len(self._allowed) >= ALLOWED_CACHE:
                self._allowed.clear()
            self._allowed[key] = self._admitted_units(filters, today)
        return self._allowed[key]

    def _admitted_units(self, filters: Filters, today: date) -> np.ndarray | None:
        metas = self.store.records
        admitted = [rid for rid, meta in metas.items() if filters.admits(rid, meta, today)]
        if len(admitted) == len(metas):
            return None
        return np.array([u for rid in admitted for u, *_ in metas[rid]["units"]], dtype=np.int64)

    def translations(self, text: str, spoken: str) -> Translations:
        """The query in the languages the index has versions in; one Chinese script stands for both
        (a version in the other is compared with it, as with a query typed in either)."""
        wanted = set(self.store.languages()) - {spoken, SCRIPT_SIBLING.get(spoken)}
        if {"zh-Hant", "zh-Hans"} <= wanted:
            wanted.discard("zh-Hans")
        texts, known = glossary().translations(text, spoken)
        return Translations({language: q for language, q in texts.items() if language in wanted}, known)

    def search(
        self, query: str, top_k: int = 5, filters: Filters = Filters(), today: date | None = None
    ) -> SearchResult:
        text = normalize(query)
        spoken = identify(text)  # any language; the result names the nearest catalogue language
        result = SearchResult(query=query, language=spoken if spoken in LANGUAGES else "en")
        if not text or not self.store.records:
            return result
        today = today or datetime.now(UTC).date()
        allowed = self.allowed_units(filters, today)
        if allowed is not None and not len(allowed):
            return result
        asked = read_query(text, spoken, self.countries())
        hits, result.background = self._compared(asked.topic, spoken, allowed)
        if asked.topic != text and not any(hit.margin >= MIN_MARGIN for hit in hits):
            hits, result.background = self._compared(text, spoken, allowed)  # what looked like framing was not
        if asked.country:
            hits = self._from_first(hits, asked.country)
        result.hits = hits[:top_k]
        return result

    def _from_first(self, hits: list[Hit], country: str) -> list[Hit]:
        """A named country is part of what was asked: entries from it match that part too
        (``COUNTRY_MATCH`` more margin), and its good matches come first."""
        named = {h.id for h in hits if self.store.records[h.id]["country"] == country}
        hits = sorted(
            (replace(h, margin=h.margin + COUNTRY_MATCH) if h.id in named else h for h in hits),
            key=lambda h: h.margin,
            reverse=True,
        )
        return sorted(hits, key=lambda h: not (h.id in named and h.margin >= MIN_MARGIN))

    def countries(self) -> frozenset[str]:
        """The countries the index has entries from: the only ones a query is read as naming."""
        if self._countries[0] != (self.store, self.store.changes):
            found = frozenset(meta["country"] for meta in self.store.records.values() if meta["country"])
            self._countries = ((self.store, self.store.changes), found)
        return self._countries[1]

    def _compared(self, text: str, spoken: str, allowed: np.ndarray | None) -> tuple[list[Hit], float]:
        """Every candidate record's best comparison with ``text``, best first; the query's background."""
        meant = self.store.accents.restore(text) if needs_restoring(text, spoken) else text
        translated, known = self.translations(text, spoken)
        queries = {spoken: meant, **translated}
        vectors = self.embedder.encode_queries(list(queries.values()))
        vectors -= np.stack(
            [self.store.query_offsets.get(language, np.zeros(self.store.dim, np.float32)) for language in queries]
        )
        backgrounds = np.median(self.store.background_sample(BACKGROUND_UNITS) @ vectors.T, axis=0)
        allowed_set = None if allowed is None else set(allowed.tolist())
        lexical = {language: self.store.lexical.search(q, allowed_set, language) for language, q in queries.items()}
        candidates: set[str] = set()
        for row, language in enumerate(queries):
            units = self.store.dense(vectors[row], DENSE_CANDIDATES, allowed)[0].tolist()
            hits = lexical[language]
            units += sorted(hits, key=hits.__getitem__, reverse=True)[:LEXICAL_CANDIDATES]
            candidates.update(self.store.unit_record[u] for u in units)
        column = {language: row for row, language in enumerate(queries)}
        by_version = {record_id: versions(self.store.records[record_id]["units"]) for record_id in candidates}
        every_unit = [u for record in by_version.values() for units in record.values() for u in units]
        cosines = dict(zip(every_unit, (self.store.vectors_of(every_unit) @ vectors.T).tolist()))  # unit -> per query
        best: dict[str, Hit] = {}

        def compared(record_id: str, version: str, units: list[int], asked: str) -> Hit:
            cosine = version_score([cosines[u][column[asked]] for u in units])
            lex = max(lexical[asked].get(u, 0.0) for u in units)
            weight = LEXICAL_WEIGHT if self.store.unit_written[units[0]][:2] == asked[:2] else CROSS_LEXICAL_WEIGHT
            score = cosine + weight * lex
            return Hit(record_id, score, version, cosine, lex, score - float(backgrounds[column[asked]]))

        for record_id, record in by_version.items():
            for version, units in record.items():
                typed = compared(record_id, version, units, spoken)
                comparisons = [typed]  # a rough translation never loses what the query itself finds
                target = next((q for q in (version, SCRIPT_SIBLING.get(version)) if q in column), spoken)
                if target != spoken:
                    comparisons.append(blend(compared(record_id, version, units, target), typed, known))
                for hit in comparisons:
                    if record_id not in best or hit.margin > best[record_id].margin:
                        best[record_id] = hit
        return sorted(best.values(), key=lambda h: h.margin, reverse=True), float(backgrounds[0])

    async def asearch(
        self, query: str, top_k: int = 5, filters: Filters = Filters(), today: date | None = None
    ) -> SearchResult:
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
            parts = [
                await loop.run_in_executor(self._pool, embed_units, self.embedder, changes.units[i : i + REFRESH_UNITS])
                for i in range(0, len(changes.units), REFRESH_UNITS)
            ]
            vectors = np.concatenate(parts) if parts else np.zeros((0, self.store.dim), np.float32)
            await loop.run_in_executor(self._pool, self._apply, finish(self.store, self.embedder, changes, vectors))
            return changes

    def _apply(self, changes: Changes) -> None:
        apply(self.store, changes)
        self.store.save()
