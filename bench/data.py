"""Loading the shared benchmark data (read in place from ../shared/data, never copied)."""

from __future__ import annotations

import hashlib
import json
import os
import random
from dataclasses import replace
from pathlib import Path

import numpy as np

from catalog.model import Record, parse_record

DATA = Path(os.environ.get("TECHCONNECT_SHARED_DATA", Path(__file__).resolve().parents[2] / "shared" / "data"))
XQUAD_LANGS = {"en": "en", "vi": "vi", "zh": "zh-Hans"}
CACHE = Path(__file__).resolve().parent / ".cache"


def xquad() -> tuple[dict[str, list[str]], dict[str, list[tuple[str, int]]]]:
    """Paragraphs per language (same index = same paragraph) and (question, paragraph index) per language."""
    paragraphs: dict[str, list[str]] = {}
    questions: dict[str, list[tuple[str, int]]] = {}
    for code, lang in XQUAD_LANGS.items():
        data = json.loads((DATA / "xquad" / f"xquad.{code}.json").read_text(encoding="utf-8"))["data"]
        paras = [p for article in data for p in article["paragraphs"]]
        paragraphs[lang] = [p["context"] for p in paras]
        questions[lang] = [(qa["question"], i) for i, p in enumerate(paras) for qa in p["qas"]]
    return paragraphs, questions


def tatoeba(pair: str) -> tuple[list[str], list[str]]:
    """Aligned (foreign, English) sentences for pair 'vie' or 'cmn'."""
    base = DATA / "tatoeba" / f"tatoeba.{pair}-eng"
    return (
        Path(f"{base}.{pair}").read_text(encoding="utf-8").splitlines(),
        Path(f"{base}.eng").read_text(encoding="utf-8").splitlines(),
    )


def undp(limit: int | None = None) -> list[dict]:
    rows = [json.loads(line) for line in (DATA / "undp-sdg-commons" / "solutions.jsonl").open(encoding="utf-8")]
    return rows[:limit] if limit else rows


def undp_records(rows: list[dict]) -> list[Record]:
    """Records as a catalogue import makes them from plain strings: languages are detected."""
    return [
        replace(
            parse_record(
                {"id": "undp", "kind": "offer", "title": r["title"] or str(r["id"]), "description": r.get("text")}
            ),
            id=str(r["id"])[:100],
        )
        for r in rows
    ]


def paragraph_records(texts: list[str], languages: list[str]) -> list[Record]:
    """One record per paragraph, written in the given language; ids are the paragraph index."""
    return [
        Record(id=f"p{i}", kind="offer", title={lang: text}, language=lang)
        for i, (text, lang) in enumerate(zip(texts, languages))
    ]


def mixed_languages(n: int, langs: list[str], seed: int = 7) -> list[str]:
    rng = random.Random(seed)
    return [rng.choice(langs) for _ in range(n)]


class CachedEmbedder:
    """Wraps an embedder with an on-disk cache, so a baseline and our pipeline embed each text once."""

    def __init__(self, embedder, passages=None) -> None:
        self.inner = embedder
        self.passages = passages or embedder  # same weights, faster in batches (see index.embedder.bulk_embedder)
        self.model_id = embedder.model_id
        self.dim = embedder.dim
        CACHE.mkdir(exist_ok=True)
        self.path = CACHE / (hashlib.sha1(self.model_id.encode()).hexdigest()[:10] + ".npz")
        self.memory: dict[str, np.ndarray] = {}
        if self.path.exists():
            with np.load(self.path) as stored:
                self.memory = {k: stored[k] for k in stored.files}
        self.dirty = False

    def _get(self, texts: list[str], mode: str, encode) -> np.ndarray:
        keys = [hashlib.sha1(f"{mode}:{t}".encode()).hexdigest() for t in texts]
        missing = [i for i, k in enumerate(keys) if k not in self.memory]
        if missing:
            vectors = encode([texts[i] for i in missing])
            for i, v in zip(missing, vectors):
                self.memory[keys[i]] = v
            self.dirty = True
        return np.stack([self.memory[k] for k in keys]) if keys else np.zeros((0, self.dim), np.float32)

    def encode_queries(self, texts):
        return self._get(list(texts), "q", self.inner.encode_queries)

    def encode_passages(self, texts):
        return self._get(list(texts), "p", lambda missing: self.passages.encode_passages(missing))

    def save(self) -> None:
        if self.dirty:
            np.savez(self.path, **self.memory)
            self.dirty = False
