"""Proactive matching: how well the rule in bot/matching.py finds the counterparts staff would
propose, on the sample catalogue with hand-made labels (bench/queries/matches.jsonl: for every
need, the offers that answer it).

Three catalogues: as written (most entries translated); every entry reduced to its own language
plus its English title, as entries posted through the bot with the optional English title are;
and every entry reduced to its own language only. Each entry is searched from its side (a need
among offers, an offer among needs), as when it is published. Baselines in the same run: the
search's "good match" bar on the entry's own language, and the rule this one replaced.

    python bench/matching.py
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import tempfile
from dataclasses import replace
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bot.matching import RULE, MatchRule  # noqa: E402
from catalog.model import Record  # noqa: E402
from catalog.sample import sample_records  # noqa: E402

LABELS = ROOT / "bench" / "queries" / "matches.jsonl"
RULES = {
    "baseline: search's good-match bar, own language": MatchRule(
        0.056, 0.056, 0.056, 0.056, most=3, every_language=False
    ),
    "baseline: 0.07 (0.045 in a sector), own language": MatchRule(
        0.07, 0.045, 0.07, 0.045, most=3, every_language=False
    ),
    "ours: every language, bars by shared language and sector": RULE,
}


def own_language(record: Record, english_title: bool = False) -> Record:
    """The entry as its owner would have posted it: one language, no translations (but the
    English title, when asked for and there is one)."""
    lang = record.language
    title = {lang: record.title[lang]}
    if english_title and "en" in record.title:
        title["en"] = record.title["en"]
    return replace(
        record, title=title, description={lang: record.description[lang]} if lang in record.description else {}
    )


async def predictions(records: list[Record]) -> dict[str, dict[str, set[tuple[str, str]]]]:
    """rule -> direction -> predicted (need, offer) pairs, on an index built from ``records``."""
    from bot.bootstrap import open_catalog, open_engine

    catalog = await open_catalog()
    await catalog.upsert(records)
    engine, _, _ = await open_engine(catalog)
    by_id = {r.id: r for r in records}
    out = {name: {"need → offers": set(), "offer → needs": set()} for name in RULES}
    for record in records:
        for name, rule in RULES.items():
            texts, filters = rule.queries(record)
            results = [
                (language, engine.search(text, top_k=rule.candidates, filters=filters)) for language, text in texts
            ]
            for other, _margin in rule.pick(record, results, by_id):
                if record.kind == "request":
                    out[name]["need → offers"].add((record.id, other))
                else:
                    out[name]["offer → needs"].add((other, record.id))
    await catalog.engine.dispose()
    return out


def run(records: list[Record]) -> dict:
    with tempfile.TemporaryDirectory() as folder:
        os.environ["TECHCONNECT_DATA_DIR"] = folder
        models = ROOT / "var" / "models"
        if models.exists():  # the exported model, for a fast bulk build
            os.symlink(models, Path(folder) / "models")
        return asyncio.run(predictions(records))


def main() -> None:
    gold = {
        (row["request"], offer)
        for line in LABELS.read_text().splitlines()
        if line.strip()
        for row in [json.loads(line)]
        for offer in row["offers"]
    }
    records = sample_records()
    needs = sum(r.kind == "request" for r in records)
    print(f"\n{len(gold)} labelled need-offer pairs among {needs} needs and {len(records) - needs} offers\n")
    print(
        "| catalogue | searched from | rule | notices | correct | precision | recall | F1 |\n|---|---|---|---|---|---|---|---|"
    )
    variants = (
        ("as written", records),
        ("own language + English title", [own_language(r, True) for r in records]),
        ("own language only", [own_language(r) for r in records]),
    )
    for catalogue, variant in variants:
        found = run(variant)
        for direction in ("need → offers", "offer → needs"):
            for name in RULES:
                pairs = found[name][direction]
                hits = len(pairs & gold)
                precision, recall = (hits / len(pairs) if pairs else 0.0), hits / len(gold)
                f1 = 2 * precision * recall / (precision + recall) if hits else 0.0
                print(
                    f"| {catalogue} | {direction} | {name} | {len(pairs)} | {hits} | {precision:.2f} | {recall:.2f} | {f1:.2f} |"
                )


if __name__ == "__main__":
    main()
