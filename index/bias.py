"""Correction of same-language bias.

A multilingual encoder places texts of one language near each other whatever they say, so a
plain dense search ranks a weak match in the query's language above a strong one in another.
On parallel text (records written in full in several languages) the part of a vector that
comes from its language alone can be measured: the mean, over records, of each version's
difference from its record's mean. Subtracting that offset from every stored vector makes the
inner product compare content rather than language.

Queries carry their language too: the same measurement on titles embedded as queries gives
query offsets, and removing part of the query's own language pulls it towards the meaning
it shares with texts in other languages.
"""

from __future__ import annotations

from collections import defaultdict

import numpy as np

from catalog.model import Record
from catalog.sample import sample_records
from index.embedder import Embedder
from index.store import Unit, units_of

MIN_RECORDS = 30  # translated records needed to measure offsets on the catalogue itself
QUERY_STRENGTH = 0.5  # share of the query offset removed; tuned in bench/retrieval.py


def parallel_rows(records: list[Record], units: list[Unit]) -> list[int]:
    """Indices of units that are full translations (title and description) of a multilingual record."""
    full = {r.id: {lang for lang in r.title if lang in r.description} for r in records}
    return [i for i, u in enumerate(units) if len(full[u.record_id]) > 1 and u.language in full[u.record_id]]


def estimate_offsets(vectors: np.ndarray, units: list[Unit]) -> dict[str, np.ndarray]:
    """Per-language offset from rows of ``vectors``; units of one record are one text in several languages."""
    rows_by_record: dict[str, list[int]] = defaultdict(list)
    for row, unit in enumerate(units):
        rows_by_record[unit.record_id].append(row)
    residuals: dict[str, list[np.ndarray]] = defaultdict(list)
    for rows in rows_by_record.values():
        mean = vectors[rows].mean(axis=0)
        for row in rows:
            residuals[units[row].language].append(vectors[row] - mean)
    return {language: np.mean(r, axis=0).astype(np.float32) for language, r in residuals.items()}


def measure_offsets(records: list[Record], units: list[Unit], vectors: np.ndarray) -> dict[str, np.ndarray] | None:
    """Offsets from a catalogue being indexed, when it has enough translated records."""
    rows = parallel_rows(records, units)
    if len({units[i].record_id for i in rows}) < MIN_RECORDS:
        return None
    return estimate_offsets(vectors[rows], [units[i] for i in rows])


def sample_offsets(embedder: Embedder) -> dict[str, np.ndarray]:
    """Offsets measured on the shipped sample catalogue, for catalogues with few translations."""
    records = sample_records()
    units = [u for record in records for u in units_of(record)]
    chosen = [units[i] for i in parallel_rows(records, units)]
    return estimate_offsets(embedder.encode_passages([u.text for u in chosen]), chosen)


def apply_offsets(vectors: np.ndarray, units: list[Unit], offsets: dict[str, np.ndarray]) -> np.ndarray:
    if not units:
        return vectors
    zero = np.zeros(vectors.shape[1], np.float32)
    return vectors - np.stack([offsets.get(u.written, zero) for u in units])


def sample_query_offsets(embedder: Embedder) -> dict[str, np.ndarray]:
    """Query-side offsets: the sample catalogue's translated titles, embedded as queries."""
    units = [Unit(r.id, lang, r.title[lang], lang) for r in sample_records() if len(r.title) > 1 for lang in r.title]
    offsets = estimate_offsets(embedder.encode_queries([u.text for u in units]), units)
    return {language: QUERY_STRENGTH * offset for language, offset in offsets.items()}
