"""The FAISS store: vectors of every language version of every record, their ids, a manifest.

Each record contributes one *unit* per language it is written in, so a hit can say which
language it matched in. Stored vectors are ``passage - offset[language]`` (see
:mod:`index.bias`): the inner product FAISS computes is then already corrected for the
pull of same-language text. The manifest names the model and the content hash of every
record, so an index from another model, or from an older catalogue, is never used as is.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import pickle
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import faiss
import numpy as np

from catalog.model import Record
from index.accents import AccentRestorer, base_restorer
from index.lexical import LexicalIndex
from index.text import identify, normalize

FORMAT = 5  # 5: descriptions in another language than any title are indexed; units name their detected language
faiss.omp_set_num_threads(1)


class IndexMismatch(RuntimeError):
    """The index on disk was built by another model or in another format."""


@dataclass(frozen=True)
class Unit:
    record_id: str
    language: str  # the record's language version (a catalogue language)
    text: str
    written: str  # the language the text is in (any code: es, ja...); offsets and lexical weights use it


def units_of(record: Record) -> list[Unit]:
    """Passages of every language version: the title alone, and the title with the description.

    The title alone is what short queries (and queries in another language) match best; the
    full text carries the detail. A description in a language the record has no title in goes
    with the record's own title, so no text is left out. Text filed as English is identified,
    since an import files every language it does not serve (Spanish, French...) as English.
    """
    out = []
    for language in record.languages():
        title, description = record.text(language)
        written = identify(f"{title}\n{description}") if language == "en" else language
        out.append(Unit(record.id, language, normalize(title), written))
        if description:
            out.append(Unit(record.id, language, normalize(f"{title}\n{description}"), written))
    own = record.title[record.language]
    for language, description in record.description.items():
        if language not in record.title:
            written = identify(description) if language == "en" else language
            out.append(Unit(record.id, record.language, normalize(f"{own}\n{description}"), written))
    return out


def text_hash(units: list[Unit]) -> str:
    """Changes only when what is embedded changes: a renewal or a withdrawal re-embeds nothing."""
    digest = hashlib.sha1()
    for unit in units:
        digest.update(f"{unit.language}\0{unit.text}\0".encode())
    return digest.hexdigest()[:16]


def record_meta(record: Record) -> dict:
    """What filters need at search time, so a search never waits on the database."""
    return {
        "hash": record.content_hash(),
        "text": text_hash(units_of(record)),
        "kind": record.kind,
        "seeking": record.seeking,
        "sector": record.sector,
        "country": record.country,
        "status": record.status,
        "expires_at": record.expires_at.isoformat() if record.expires_at else None,
    }


class VectorStore:
    """Vectors + id map + manifest + lexical postings, saved together under one folder."""

    def __init__(self, folder: Path, model_id: str, dim: int, accents: AccentRestorer | None = None) -> None:
        self.folder = folder
        self.model_id = model_id
        self.dim = dim
        # Any: faiss's stubs describe its SWIG layer, not the numpy signatures its wrappers give it
        self.faiss: Any = faiss.IndexIDMap2(faiss.IndexFlatIP(dim))
        self.records: dict[str, dict] = {}  # record id -> meta + "units": [unit ids]
        self.unit_record: dict[int, str] = {}
        self.unit_language: dict[int, str] = {}
        self.unit_written: dict[int, str] = {}
        self.lexical = LexicalIndex()
        self.offsets: dict[str, np.ndarray] = {}  # per language, subtracted from passages
        self.query_offsets: dict[str, np.ndarray] = {}  # per language, subtracted from queries
        self.next_unit = 0
        self.changes = 0  # counts every change, so readers can cache what they derive from the records
        self._background: np.ndarray | None = None
        self._languages: frozenset[str] | None = None
        self.accents = accents or base_restorer()

    # --- persistence -------------------------------------------------------------------
    @classmethod
    def load(cls, folder: Path, model_id: str) -> VectorStore:
        """Open the index in ``folder``; :class:`IndexMismatch` if it belongs to another model."""
        with _locked(folder, fcntl.LOCK_SH):
            return cls._load(folder, model_id)

    @classmethod
    def _load(cls, folder: Path, model_id: str) -> VectorStore:
        manifest = json.loads((folder / "manifest.json").read_text())
        if manifest.get("format") != FORMAT:
            raise IndexMismatch(f"index format {manifest.get('format')} is not {FORMAT}")
        if manifest["model_id"] != model_id:
            raise IndexMismatch(f"index was built with {manifest['model_id']!r}, not {model_id!r}")
        with (folder / "lexical.pkl").open("rb") as handle:
            lexical, accents = pickle.load(handle)
        store = cls(folder, model_id, manifest["dim"], accents)
        store.lexical = lexical
        store.faiss = faiss.read_index(str(folder / "vectors.faiss"))
        store.records = manifest["records"]
        store.next_unit = manifest["next_unit"]
        for record_id, meta in store.records.items():
            for unit, language, written in meta["units"]:
                store.unit_record[unit] = record_id
                store.unit_language[unit] = language
                store.unit_written[unit] = written
        with np.load(folder / "offsets.npz") as offsets:
            for key in offsets.files:
                side, language = key.split(":", 1)
                (store.query_offsets if side == "query" else store.offsets)[language] = offsets[key]
        if store.faiss.ntotal != len(store.unit_record):
            raise IndexMismatch("index files disagree with the manifest")
        return store

    def _offset_arrays(self) -> dict[str, Any]:  # Any: numpy's stubs would match a value to savez's flags
        return {f"passage:{k}": v for k, v in self.offsets.items()} | {
            f"query:{k}": v for k, v in self.query_offsets.items()
        }

    def save(self) -> None:
        """Write every file beside its final name, then rename, under the folder's lock: a reader
        never sees half an index, nor files of two different saves."""
        self.folder.mkdir(parents=True, exist_ok=True)
        manifest = {
            "format": FORMAT,
            "model_id": self.model_id,
            "dim": self.dim,
            "count": len(self.records),
            "units": self.faiss.ntotal,
            "catalogue": self.fingerprint(),
            "next_unit": self.next_unit,
            "records": self.records,
        }
        staged = {
            "vectors.faiss": lambda p: faiss.write_index(self.faiss, str(p)),
            "lexical.pkl": lambda p: p.write_bytes(
                pickle.dumps((self.lexical, self.accents), protocol=pickle.HIGHEST_PROTOCOL)
            ),
            "offsets.npz": lambda p: np.savez(p.open("wb"), **self._offset_arrays()),
            "manifest.json": lambda p: p.write_text(json.dumps(manifest, ensure_ascii=False)),
        }
        with _locked(self.folder, fcntl.LOCK_EX):  # several processes may share the folder
            for name, write in staged.items():
                tmp = self.folder / f".{name}.tmp"
                write(tmp)
                os.replace(tmp, self.folder / name)

    def fingerprint(self) -> str:
        digest = hashlib.sha1()
        for record_id in sorted(self.records):
            digest.update(f"{record_id}:{self.records[record_id]['hash']};".encode())
        return digest.hexdigest()[:16]

    # --- changes -----------------------------------------------------------------------
    def same_text(self, record: Record) -> bool:
        """True when ``record`` is indexed with exactly these texts (only its metadata changed)."""
        meta = self.records.get(record.id)
        return meta is not None and meta.get("text") == text_hash(units_of(record))

    def update_meta(self, records: Iterable[Record]) -> None:
        """New status, expiry, sector... for records whose texts did not change."""
        for record in records:
            self.records[record.id] = {**record_meta(record), "units": self.records[record.id]["units"]}
        self.changes += 1

    def remove(self, record_ids: Iterable[str]) -> None:
        doomed: list[int] = []
        for record_id in record_ids:
            meta = self.records.pop(record_id, None)
            for unit, *_ in meta["units"] if meta else ():
                doomed.append(unit)
                self.lexical.remove(unit)
                del self.unit_record[unit], self.unit_language[unit], self.unit_written[unit]
        if doomed:
            self.faiss.remove_ids(np.array(doomed, dtype=np.int64))
            self._background = self._languages = None
            self.changes += 1

    def add(self, records: list[Record], vectors: np.ndarray, units: list[Unit]) -> None:
        """Add records whose units were embedded (rows of ``vectors``, already offset)."""
        self.remove([r.id for r in records])
        ids = np.arange(self.next_unit, self.next_unit + len(units), dtype=np.int64)
        self.next_unit += len(units)
        by_record: dict[str, list] = {r.id: [] for r in records}
        for unit_id, unit in zip(ids.tolist(), units):
            by_record[unit.record_id].append([unit_id, unit.language, unit.written])
            self.unit_record[unit_id] = unit.record_id
            self.unit_language[unit_id] = unit.language
            self.unit_written[unit_id] = unit.written
            self.lexical.add(unit_id, unit.text, unit.written)
            if unit.written == "vi":
                self.accents.learn(unit.text)
        for record in records:
            self.records[record.id] = {**record_meta(record), "units": by_record[record.id]}
        if len(units):
            self.faiss.add_with_ids(np.ascontiguousarray(vectors, dtype=np.float32), ids)
        self._background = self._languages = None
        self.changes += 1

    # --- reading -----------------------------------------------------------------------
    def dense(self, query: np.ndarray, k: int, allowed: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Top ``k`` units by inner product, optionally only among ``allowed`` unit ids."""
        k = min(k, self.faiss.ntotal if allowed is None else len(allowed))
        if k <= 0:
            return np.empty(0, np.int64), np.empty(0, np.float32)
        params = None
        if allowed is not None:
            selector = faiss.IDSelectorBatch(allowed.astype(np.int64))
            params = faiss.SearchParameters(sel=selector)  # type: ignore[call-arg]  # keyword fields come from faiss's wrapper
        scores, ids = self.faiss.search(query.reshape(1, -1).astype(np.float32), k, params=params)
        keep = ids[0] >= 0
        return ids[0][keep], scores[0][keep]

    def languages(self) -> frozenset[str]:
        """The language versions the index holds: the languages a query is worth putting into."""
        if self._languages is None:
            self._languages = frozenset(self.unit_language.values())
        return self._languages

    def background_sample(self, size: int) -> np.ndarray:
        """Up to ``size`` stored vectors, evenly spread: what an arbitrary query is compared with."""
        if self._background is None or len(self._background) != min(size, self.faiss.ntotal):
            units = sorted(self.unit_record)
            step = max(1, len(units) // size)
            self._background = self.vectors_of(units[::step][:size])
        return self._background

    def vectors_of(self, unit_ids: Iterable[int]) -> np.ndarray:
        unit_ids = list(unit_ids)
        return (
            np.stack([self.faiss.reconstruct(int(u)) for u in unit_ids])
            if unit_ids
            else np.empty((0, self.dim), np.float32)
        )


@contextmanager
def _locked(folder: Path, how: int) -> Iterator[None]:
    """The index folder's lock (``fcntl.LOCK_SH`` to read, ``LOCK_EX`` to write), across processes."""
    folder.mkdir(parents=True, exist_ok=True)
    with (folder / ".lock").open("a") as handle:
        fcntl.flock(handle, how)
        yield
