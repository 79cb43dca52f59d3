"""Correction of same-language bias.

A multilingual encoder places texts of one language near each other whatever they say, so a
plain dense search ranks a weak match in the query's language above a strong one in another.
On parallel text (records written in several languages) the part of a vector that comes from
its language alone can be measured: the mean, over records, of each version's difference from
its record's mean. Subtracting that offset from every stored vector makes the inner product
compare content, not language.
"""
from __future__ import annotations

from collections import defaultdict

import numpy as np

from catalog.sample import sample_records
from index.embedder import Embedder
from index.store import units_of

STRENGTH = 1.0  # share of the measured offset removed; tuned in bench/retrieval.py


def estimate_offsets(vectors: np.ndarray, groups: list[str], languages: list[str]) -> dict[str, np.ndarray]:
    """Per-language offset from rows of ``vectors``; rows of a group are one text in several languages."""
    rows_by_group: dict[str, list[int]] = defaultdict(list)
    for row, group in enumerate(groups):
        rows_by_group[group].append(row)
    residuals: dict[str, list[np.ndarray]] = defaultdict(list)
    for rows in rows_by_group.values():
        if len(rows) < 2:
            continue
        mean = vectors[rows].mean(axis=0)
        for row in rows:
            residuals[languages[row]].append(vectors[row] - mean)
    return {language: STRENGTH * np.mean(r, axis=0).astype(np.float32) for language, r in residuals.items()}


def sample_offsets(embedder: Embedder) -> dict[str, np.ndarray]:
    """Offsets measured on the sample catalogue's entries translated in full (title and description)."""
    units = [
        unit for record in sample_records()
        if sum(language in record.description for language in record.title) > 1
        for unit in units_of(record) if unit.language in record.description
    ]
    vectors = embedder.encode_passages([u.text for u in units])
    return estimate_offsets(vectors, [u.record_id for u in units], [u.language for u in units])


def apply_offsets(vectors: np.ndarray, languages: list[str], offsets: dict[str, np.ndarray]) -> np.ndarray:
    zero = np.zeros(vectors.shape[1], np.float32)
    return vectors - np.stack([offsets.get(language, zero) for language in languages]) if len(languages) else vectors
