"""Where to draw "no good match": margins of on- and off-topic queries on the sample catalogue.

A hit is good when its score stands MIN_MARGIN above the query's background (its median
similarity to the catalogue). Printed beside the plain alternative, a fixed cosine threshold
on the best hit, at each one's best cut.

    python bench/confidence.py     (uses TECHCONNECT_DATA_DIR, building the sample index if needed)
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bot.bootstrap import open_catalog, open_engine
from index import search


def best_cut(on: list[float], off: list[float]) -> tuple[float, float]:
    """The threshold with the best accuracy on these two sets, and that accuracy."""
    candidates = sorted(on + off)
    scored = [((sum(x >= t for x in on) + sum(x < t for x in off)) / (len(on) + len(off)), t) for t in candidates]
    accuracy, cut = max(scored)
    return cut, accuracy


async def main() -> None:
    queries = json.loads((Path(__file__).parent / "queries" / "confidence.json").read_text(encoding="utf-8"))
    catalog = await open_catalog(seed=True)
    engine, _, _ = await open_engine(catalog)
    await catalog.engine.dispose()
    rows: dict[str, dict[str, list[float]]] = {"margin": {}, "cosine": {}}
    for label in ("on_topic", "off_topic"):
        results = [engine.search(q) for q in queries[label]]
        rows["margin"][label] = [r.hits[0].margin for r in results]
        rows["cosine"][label] = [r.hits[0].dense for r in results]
    print("| rule | on-topic min / median | off-topic median / max | best cut | accuracy | accuracy at MIN_MARGIN |")
    print("|---|---|---|---|---|---|")
    for rule, values in rows.items():
        on, off = sorted(values["on_topic"]), sorted(values["off_topic"])
        cut, accuracy = best_cut(on, off)
        current = ""
        if rule == "margin":
            t = search.MIN_MARGIN
            current = f"{(sum(x >= t for x in on) + sum(x < t for x in off)) / (len(on) + len(off)):.2f} ({t})"
        print(
            f"| {rule} | {on[0]:.3f} / {on[len(on) // 2]:.3f} | {off[len(off) // 2]:.3f} / {off[-1]:.3f} | {cut:.3f} | {accuracy:.2f} | {current} |"
        )


if __name__ == "__main__":
    asyncio.run(main())
