"""Opening the catalogue and a current search index: shared by the command line and the bot."""

from __future__ import annotations

from bot import migrations
from bot.config import data_dir, database_url, embedder_spec
from catalog.store import CatalogStore, make_engine
from index.build import Progress, sync
from index.embedder import bulk_embedder, load_embedder
from index.search import SearchEngine


async def open_catalog(url: str | None = None, *, seed: bool = False) -> CatalogStore:
    """The catalogue database, its schema brought to the newest revision (the bot's tables too);
    with ``seed``, an empty catalogue first receives the sample catalogue."""
    store = CatalogStore(make_engine(url or database_url()))
    async with migrations.setting_up(store.engine):
        await migrations.upgrade(store.engine)
        if seed and await store.count() == 0:
            from catalog.sample import sample_records

            await store.upsert(sample_records())
    return store


async def open_engine(
    catalog: CatalogStore, *, build_spec: str | None = None, progress: Progress | None = None
) -> tuple[SearchEngine, int, int]:
    """A search engine over an index brought up to date with ``catalog`` first.

    Large builds use a backend with the same weights that is faster in batches: ``build_spec``
    (e.g. ``st:DIR``), else the bundled model through sentence-transformers when installed.
    Queries always use the default embedder.
    """
    embedder = load_embedder(embedder_spec())
    bulk = (lambda: load_embedder(build_spec)) if build_spec else bulk_embedder(embedder, data_dir() / "models")
    store, added, removed = await sync(catalog, data_dir() / "index", embedder, progress=progress, bulk=bulk)
    return SearchEngine(store, embedder), added, removed
