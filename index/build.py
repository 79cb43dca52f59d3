"""Bring the index in line with the catalogue: full build, or only what changed.

Records are compared by content hash, so adding, editing or withdrawing one entry embeds just
that entry. An index from another model is rebuilt (or refused, when rebuilding is not allowed).
"""
from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np

from catalog.model import Record
from catalog.store import CatalogStore
from index.bias import apply_offsets, measure_offsets, sample_offsets, sample_query_offsets
from index.embedder import Embedder
from index.store import IndexMismatch, Unit, VectorStore, units_of

BATCH = 32
Progress = Callable[[int, int], None]  # (units done, units in all)


def embed_units(embedder: Embedder, units: list[Unit], progress: Progress | None = None) -> np.ndarray:
    """Passage vectors in batches of similar length (less padding for batched backends)."""
    order = sorted(range(len(units)), key=lambda i: len(units[i].text))
    out = np.zeros((len(units), embedder.dim), np.float32)
    for start in range(0, len(order), BATCH):
        rows = order[start : start + BATCH]
        out[rows] = embedder.encode_passages([units[i].text for i in rows])
        if progress:
            progress(min(start + BATCH, len(order)), len(order))
    return out


def add_records(store: VectorStore, embedder: Embedder, records: list[Record], progress: Progress | None = None) -> None:
    """Embed and (re)insert ``records``; the store is not saved."""
    units = [unit for record in records for unit in units_of(record)]
    vectors = embed_units(embedder, units, progress)
    if units and not store.offsets:  # a new index: measure on its own translations, else on the sample's
        store.offsets = measure_offsets(records, units, vectors) or sample_offsets(embedder)
        store.query_offsets = sample_query_offsets(embedder)
    store.add(records, apply_offsets(vectors, units, store.offsets), units)


def open_or_create(folder: Path, embedder: Embedder, *, rebuild: bool = True, fresh: bool = False) -> VectorStore:
    """The index in ``folder`` if it fits ``embedder``; else a new empty one (or IndexMismatch)."""
    if not fresh and (folder / "manifest.json").exists():
        try:
            return VectorStore.load(folder, embedder.model_id)
        except IndexMismatch:
            if not rebuild:
                raise
    return VectorStore(folder, embedder.model_id, embedder.dim)


BULK_RECORDS = 40  # from this many changed records on, a bulk embedder is worth loading


async def sync(
    catalog: CatalogStore, folder: Path, embedder: Embedder, *, rebuild: bool = True,
    full: bool = False, progress: Progress | None = None, bulk: Callable[[], Embedder] | None = None,
) -> tuple[VectorStore, int, int]:
    """Update the index from the catalogue: (store, records embedded, records removed).

    ``bulk`` loads an embedder with the same weights that is faster in batches; it is used
    only when many records changed.
    """
    store = open_or_create(folder, embedder, rebuild=rebuild, fresh=full)
    current = await catalog.fingerprints()
    stale = [rid for rid, digest in current.items() if store.records.get(rid, {}).get("hash") != digest]
    gone = [rid for rid in store.records if rid not in current]
    records = list((await catalog.get_many(stale)).values())
    store.remove(gone)
    if bulk is not None and len(records) >= BULK_RECORDS:
        embedder = bulk()
    add_records(store, embedder, records, progress)
    if records or gone or not (folder / "manifest.json").exists():
        store.save()
    return store, len(records), len(gone)

