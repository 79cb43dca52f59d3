"""The ``techconnect`` command line (also ``python -m bot``); contract in DESIGN.md."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from pathlib import Path

from bot import backup
from bot.bootstrap import open_catalog, open_engine
from catalog.io import ImportFailed, read_records, write_records


async def open_search(*, quiet: bool = False, build_spec: str | None = None):
    """(engine, records embedded, records removed): search over an index brought up to date first."""
    catalog = await open_catalog(seed=True)
    with _progress(quiet) as progress:
        opened = await open_engine(catalog, build_spec=build_spec, progress=progress)
    await catalog.engine.dispose()
    return opened


class _progress:
    """A tqdm bar on stderr while units are embedded; silent when quiet or nothing to do."""

    def __init__(self, quiet: bool) -> None:
        self.quiet, self.bar = quiet, None

    def __enter__(self):
        return None if self.quiet else self

    def __call__(self, done: int, total: int) -> None:
        if self.bar is None:
            from tqdm import tqdm

            self.bar = tqdm(total=total, unit="passage", desc="indexing", file=sys.stderr)
        self.bar.update(done - self.bar.n)

    def __exit__(self, *exc) -> None:
        if self.bar is not None:
            self.bar.close()


async def cmd_import(args) -> int:
    try:
        records = read_records(args.path)
    except ImportFailed as failed:
        for error in failed.errors:
            print(error, file=sys.stderr)
        print(f"{len(failed.errors)} bad row(s); nothing was imported", file=sys.stderr)
        return 1
    catalog = await open_catalog()
    inserted, updated = await catalog.upsert(records)
    await catalog.engine.dispose()
    print(f"imported {len(records)} record(s): {inserted} new, {updated} updated")
    return 0


async def cmd_export(args) -> int:
    catalog = await open_catalog()
    records = await catalog.all()
    await catalog.engine.dispose()
    write_records(records, args.path)
    print(f"exported {len(records)} record(s) to {args.path}")
    return 0


async def cmd_build(args) -> int:
    engine, added, removed = await open_search(build_spec=args.build_with)
    store = engine.store
    print(
        f"index: {len(store.records)} record(s), {store.faiss.ntotal} passage(s); "
        f"{added} embedded, {removed} removed; model {store.model_id}"
    )
    return 0


async def cmd_search(args) -> int:
    from index.search import Filters

    queries = (
        [args.query]
        if args.query is not None
        else [line.rstrip("\n") for line in Path(args.queries).read_text(encoding="utf-8").splitlines() if line.strip()]
    )
    engine, _, _ = await open_search(quiet=args.json)
    filters = Filters(kind=args.kind, sector=args.sector, country=args.country)
    for query in queries:
        result = engine.search(query, top_k=args.top, filters=filters)
        if args.json:
            hits = [{"id": h.id, "score": round(h.score, 4)} for h in result.hits]
            print(json.dumps({"query": query, "results": hits}, ensure_ascii=False), flush=True)
            continue
        print(f"# {query}  [{result.language}]")
        if not result.good:
            print("  no good match")
        for rank, hit in enumerate(result.hits, 1):
            mark = "" if hit in result.good else "  (weak)"
            print(f"  {rank}. {hit.id}  {hit.score:.3f}  matched in {hit.language}{mark}")
    return 0


async def cmd_db(args) -> int:
    """``db upgrade``: the schema to the newest revision; ``db revision``: a new one from the models."""
    from bot import migrations
    from bot.config import database_url
    from catalog.store import make_engine

    engine = make_engine(database_url())
    try:
        await migrations.upgrade(engine)
        if args.action == "revision":
            print(f"wrote {await migrations.revision(engine, args.message)}: read it before committing")
        else:
            print(f"database at revision {await migrations.current(engine)}")
    finally:
        await engine.dispose()
    return 0


async def cmd_model_export(args) -> int:
    from index.export import export_sentence_transformers

    print(export_sentence_transformers(args.dir))
    return 0


async def cmd_backup(args) -> int:
    manifest = await backup.backup(Path(args.path))
    index = (
        f"the index ({manifest['index']['records']} record(s))"
        if manifest["index"]
        else "no index (none was built yet)"
    )
    print(
        f"backed up {sum(manifest['tables'].values())} row(s) in {len(manifest['tables'])} table(s) "
        f"(schema revision {manifest['revision']}) and {index} to {args.path}"
    )
    return 0


async def cmd_restore(args) -> int:
    with _progress(False) as progress:
        restored = await backup.restore(Path(args.path), progress)
    manifest = restored.manifest
    print(
        f"restored {sum(manifest['tables'].values())} row(s) in {len(manifest['tables'])} table(s) from the backup "
        f"of {manifest['created_at']}; schema revision {manifest['revision']} -> {restored.revision}"
    )
    if restored.embedded or restored.removed:
        print(
            f"index: {restored.embedded} record(s) embedded and {restored.removed} removed to match the restored catalogue"
        )
    else:
        print("index: restored, and it matches the restored catalogue")
    return 0


def cmd_run(args) -> int:
    from bot.app import run
    from bot.config import ConfigError, Settings

    try:
        settings = Settings.from_env()
    except ConfigError as exc:
        print(f"techconnect run: cannot start:\n{exc}", file=sys.stderr)
        return 2
    run(settings)
    return 0


async def cmd_demo(args) -> int:
    from bot.demo import read_script, run_demo

    return await run_demo(read_script(args.script) if args.script else None, args.lang)


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="techconnect", description="TechConnect: multilingual technology discovery")
    sub = p.add_subparsers(dest="command", required=True)
    catalog = sub.add_parser("catalog", help="import or export the catalogue").add_subparsers(
        dest="action", required=True
    )
    c = catalog.add_parser("import", help="import a .jsonl/.json/.csv file (all or nothing)")
    c.add_argument("path")
    c.set_defaults(func=cmd_import)
    c = catalog.add_parser("export", help="export the catalogue to .jsonl/.json/.csv")
    c.add_argument("path")
    c.set_defaults(func=cmd_export)
    index = sub.add_parser("index", help="build the search index").add_subparsers(dest="action", required=True)
    c = index.add_parser("build", help="build or update the index")
    c.add_argument(
        "--build-with",
        metavar="EMBEDDER",
        help="embedder for passages, e.g. st:DIR (same weights as the query embedder)",
    )
    c.set_defaults(func=cmd_build)
    c = sub.add_parser("search", help="search the catalogue")
    c.add_argument("query", nargs="?")
    c.add_argument("--queries", metavar="FILE", help="one query per line")
    c.add_argument("--top", type=int, default=5)
    c.add_argument("--kind", choices=("offer", "request"))
    c.add_argument("--sector")
    c.add_argument("--country", type=str.upper)
    c.add_argument("--json", action="store_true", help="one JSON object per query")
    c.set_defaults(func=cmd_search)
    db = sub.add_parser("db", help="the database schema").add_subparsers(dest="action", required=True)
    c = db.add_parser("upgrade", help="bring the schema to the newest revision (the bot does it at start)")
    c.set_defaults(func=cmd_db)
    c = db.add_parser("revision", help="write a migration for what the models declare beyond the newest revision")
    c.add_argument("message")
    c.set_defaults(func=cmd_db)
    model = sub.add_parser("model", help="the embedding model").add_subparsers(dest="action", required=True)
    c = model.add_parser("export", help="write the bundled model as a sentence-transformers directory")
    c.add_argument("dir")
    c.set_defaults(func=cmd_model_export)
    c = sub.add_parser("backup", help="back up the database and the index into a new folder")
    c.add_argument("path")
    c.set_defaults(func=cmd_backup)
    c = sub.add_parser("restore", help="replace the database and the index with a backup (stop the bot first)")
    c.add_argument("path")
    c.set_defaults(func=cmd_restore)
    c = sub.add_parser("run", help="run the bot (polling; webhook when configured)")
    c.set_defaults(func=cmd_run)
    c = sub.add_parser("demo", help="the offline demo: emulator + bot + terminal chat")
    c.add_argument("--script", metavar="FILE", help="run the steps of FILE and print the transcript")
    c.add_argument("--lang", metavar="CODE", help="the demo user's Telegram language_code, e.g. vi, zh-tw")
    c.set_defaults(func=cmd_demo)
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    if args.command == "search" and (args.query is None) == (args.queries is None):
        parser().error("search takes a QUERY or --queries FILE")
    if args.command == "run":  # PTB runs its own event loop
        return args.func(args)
    try:
        return asyncio.run(args.func(args))
    except backup.BackupError as refused:
        print(f"techconnect {args.command}: {refused}", file=sys.stderr)
        return 1
