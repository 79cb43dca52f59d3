"""Bring the index in line with the catalogue: full build, or only what changed.

Records are compared by content hash, so adding, editing or withdrawing one entry embeds just
that entry. An index from another model is rebuilt (or refused, when rebuilding is not allowed).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
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


@dataclass
class Changes:
    """What brings an index in line with the catalogue, embedded and ready to apply in one step."""

    embedded: list[Record] = field(default_factory=list)  # new or rewritten: their units and vectors follow
    units: list[Unit] = field(default_factory=list)
    vectors: np.ndarray | None = None
    relabelled: list[Record] = field(default_factory=list)  # same texts, new metadata (status, expiry...)
    removed: list[str] = field(default_factory=list)
    offsets: tuple[dict, dict] | None = None  # passage and query offsets, for a new index

    def __bool__(self) -> bool:
        return bool(self.embedded or self.relabelled or self.removed)


def plan(store: VectorStore, records: list[Record], removed: Sequence[str] = ()) -> Changes:
    """Sort changed records into those to embed and those only relabelled; nothing embedded yet."""
    changes = Changes(removed=list(removed))
    for record in records:
        (changes.relabelled if store.same_text(record) else changes.embedded).append(record)
    changes.units = [unit for record in changes.embedded for unit in units_of(record)]
    return changes


def finish(store: VectorStore, embedder: Embedder, changes: Changes, vectors: np.ndarray) -> Changes:
    """Attach the vectors; a new index also gets its language offsets (measured on its own
    translations, else on the sample's)."""
    changes.vectors = vectors
    if changes.units and not store.offsets:
        passage = measure_offsets(changes.embedded, changes.units, vectors) or sample_offsets(embedder)
        changes.offsets = passage, sample_query_offsets(embedder)
    return changes


def prepare(
    store: VectorStore,
    embedder: Embedder,
    records: list[Record],
    removed: Sequence[str] = (),
    progress: Progress | None = None,
) -> Changes:
    """The slow half (embedding); it only reads ``store``."""
    changes = plan(store, records, removed)
    return finish(store, embedder, changes, embed_units(embedder, changes.units, progress))


def apply(store: VectorStore, changes: Changes) -> None:
    """The quick half: change the store in memory (the caller saves it)."""
    store.remove(changes.removed)
    store.update_meta(changes.relabelled)
    assert changes.vectors is not None, "apply() takes changes that prepare() or finish() embedded"
    if changes.offsets is not None:
        store.offsets, store.query_offsets = changes.offsets
    store.add(changes.embedded, apply_offsets(changes.vectors, changes.units, store.offsets), changes.units)


def add_records(
    store: VectorStore, embedder: Embedder, records: list[Record], progress: Progress | None = None
) -> None:
    """Embed and (re)insert ``records``; the store is not saved."""
    apply(store, prepare(store, embedder, records, progress=progress))


async def pending(catalog: CatalogStore, store: VectorStore) -> tuple[list[Record], list[str]]:
    """Records whose indexed version is missing or out of date, and ids no longer in the catalogue."""
    current = await catalog.fingerprints()
    stale = [rid for rid, digest in current.items() if store.records.get(rid, {}).get("hash") != digest]
    gone = [rid for rid in store.records if rid not in current]
    return list((await catalog.get_many(stale)).values()), gone


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
    catalog: CatalogStore,
    folder: Path,
    embedder: Embedder,
    *,
    rebuild: bool = True,
    full: bool = False,
    progress: Progress | None = None,
    bulk: Callable[[], Embedder] | None = None,
) -> tuple[VectorStore, int, int]:
    """Update the index from the catalogue: (store, records embedded, records removed).

    ``bulk`` loads an embedder with the same weights that is faster in batches; it is used
    only when many records changed.
    """
    store = open_or_create(folder, embedder, rebuild=rebuild, fresh=full)
    records, gone = await pending(catalog, store)
    if bulk is not None and sum(not store.same_text(r) for r in records) >= BULK_RECORDS:
        embedder = bulk()
    changes = prepare(store, embedder, records, gone, progress)
    apply(store, changes)
    if changes or not (folder / "manifest.json").exists():
        store.save()
    return store, len(changes.embedded), len(gone)
