"""Language identification: the rule-based detector it replaced beside the current one, in the same run.

Short texts: XQuAD questions (vi, en, zh-Hans), the same Vietnamese questions without
diacritics, Tatoeba sentences (vie, cmn, eng), the UNDP benchmark queries, and hand-labelled
queries in ja, ko, es, fr, th, id, de (``bench/queries/langid.jsonl``). Whole records: XQuAD
paragraphs, and UNDP solutions (title and description together; UNDP has no language labels,
so that part shows what each detector makes of them).

Two scores: the exact language, and the catalogue language (ja, ko, es... count as English,
as the catalogue files them). The old detector knows only the catalogue languages.

    python bench/langid.py [--limit N]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
import types
from collections import Counter
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.data import tatoeba, undp, xquad  # noqa: E402
from catalog.language import LANGUAGES, identify  # noqa: E402
from index.text import strip_diacritics  # noqa: E402

OLD = "55ef3f6"  # the last commit with the rule-based detector


def old_detector():
    """``detect_language`` as it was at :data:`OLD`, read from git history."""
    source = subprocess.run(
        ["git", "show", f"{OLD}:catalog/language.py"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout
    module = types.ModuleType("old_language")
    exec(compile(source, "old_language.py", "exec"), module.__dict__)
    return module.detect_language


def same(found: str, gold: str) -> bool:
    """Tatoeba's cmn mixes both scripts: for gold ``zh`` either script is right."""
    return found == gold or (gold == "zh" and found.startswith("zh"))


def catalogue(language: str) -> str:
    return language if language in LANGUAGES or language == "zh" else "en"


def short_texts(limit: int) -> dict[str, list[tuple[str, str]]]:
    _, questions = xquad()
    sets = {f"XQuAD questions {lang}": [(q, lang) for q, _ in qs[:limit]] for lang, qs in questions.items()}
    sets["XQuAD questions vi, no diacritics"] = [(strip_diacritics(q), "vi") for q, _ in questions["vi"][:limit]]
    for pair, lang in (("vie", "vi"), ("cmn", "zh")):
        foreign, english = tatoeba(pair)
        sets[f"Tatoeba {pair}"] = [(t, lang) for t in foreign[:limit]]
    sets["Tatoeba eng"] = [(t, "en") for t in english[:limit]]
    queries = [json.loads(x) for x in (ROOT / "bench" / "queries" / "undp_short.jsonl").open(encoding="utf-8")]
    sets["UNDP queries (vi, no diacritics, Hant, Hans)"] = [
        (x["query"], x["lang"].replace("-nodiac", "")) for x in queries
    ]
    labelled = [json.loads(x) for x in (ROOT / "bench" / "queries" / "langid.jsonl").open(encoding="utf-8")]
    for lang in sorted({x["lang"] for x in labelled}):
        sets[f"hand-labelled queries {lang}"] = [(x["text"], lang) for x in labelled if x["lang"] == lang]
    return sets


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--limit", type=int, default=300, help="texts per set")
    args = parser.parse_args()
    old = old_detector()
    identify("warm up")
    print(
        f"| {'texts':<46} | {'n':>4} | {'old: catalogue lang':>19} | {'new: catalogue lang':>19} | {'new: exact lang':>15} |"
    )
    print("|" + "-" * 48 + "|------|" + "-" * 21 + "|" + "-" * 21 + "|" + "-" * 17 + "|")
    paragraphs, _ = xquad()
    sets = short_texts(args.limit)
    sets |= {
        f"XQuAD paragraphs {lang} (records)": [(p, lang) for p in ps[: args.limit]] for lang, ps in paragraphs.items()
    }
    for name, texts in sets.items():
        n = len(texts)
        old_ok = sum(same(old(t), catalogue(g)) for t, g in texts) / n
        new = [identify(t) for t, _ in texts]
        exact = sum(same(f, g) for f, (_, g) in zip(new, texts)) / n
        mapped = sum(same(catalogue(f), catalogue(g)) for f, (_, g) in zip(new, texts)) / n
        print(f"| {name:<46} | {n:>4} | {old_ok:>19.3f} | {mapped:>19.3f} | {exact:>15.3f} |")
    rows = undp()
    started = time.time()
    together = [identify(f"{r['title']}\n{r.get('text') or ''}") for r in rows]
    per_text = (time.time() - started) / len(rows) * 1000
    split = Counter((old(r["title"] or ""), old(r["text"]) if r.get("text") else None) for r in rows)
    print(
        f"\nUNDP solutions ({len(rows)}), old detector per field (title, description): "
        + ", ".join(f"{t}/{d}: {c}" for (t, d), c in split.most_common())
    )
    print(
        "new detector, title and description together: "
        + ", ".join(f"{lang}: {c}" for lang, c in Counter(together).most_common())
        + f"  ({per_text:.1f} ms a record)"
    )
    disagreed = Counter(
        lang for r, lang in zip(rows, together) if r.get("text") and old(r["title"] or "") != old(r["text"])
    )
    print(
        "of which the records whose fields the old detector split: "
        + ", ".join(f"{lang}: {c}" for lang, c in disagreed.most_common())
    )
    print(
        "as the catalogue files them: "
        + ", ".join(f"{lang}: {c}" for lang, c in Counter(map(catalogue, together)).most_common())
    )


if __name__ == "__main__":
    main()
