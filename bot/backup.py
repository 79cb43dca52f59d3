"""Backups of the database and the search index, and restoring them.

A backup is a folder: the database (``database.sqlite3``, or ``database.pgdump`` in pg_dump's
custom format), ``index/`` (the index as last saved) and ``manifest.json``: when, which kind of
database, its schema revision and the rows of each table. The manifest is written last, so a
backup cut short is never taken for one. A backup copies the database as it is, without
migrating it first, so one taken before an upgrade restores into the newer version.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import shutil
import sqlite3
import subprocess
import tempfile
import time
from contextlib import closing
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib.util import find_spec
from pathlib import Path

from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import func, inspect, select, table, text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from bot import migrations
from bot.bootstrap import open_catalog, open_engine
from bot.config import data_dir, database_url
from catalog.store import make_engine
from index.build import Progress

FORMAT = 1
MANIFEST = "manifest.json"
DUMPS = {"sqlite": "database.sqlite3", "postgresql": "database.pgdump"}  # database kind -> its file in a backup


class BackupError(RuntimeError):
    """Why a backup or a restore was refused or failed, in one line."""


@dataclass(frozen=True)
class Restored:
    manifest: dict  # the backup's
    revision: str | None  # the schema's after the upgrade
    embedded: int  # records the index had to embed to match the restored catalogue
    removed: int  # records the index held that the catalogue does not


async def backup(path: Path) -> dict:
    """Write a backup of the configured database and the index to ``path`` (a new folder); its manifest."""
    if path.exists():
        raise BackupError(f"{path} already exists: a backup goes to a new folder")
    url = database_url()
    kind = _kind(url)
    path.mkdir(parents=True)
    try:
        dump = _dump_sqlite if kind == "sqlite" else _dump_postgresql
        revision, tables = await dump(url, path / DUMPS[kind])
        manifest = {
            "techconnect_backup": FORMAT,
            "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "database": kind,
            "revision": revision,
            "tables": tables,
            "index": _copy_index(data_dir() / "index", path / "index"),
        }
        (path / MANIFEST).write_text(json.dumps(manifest, indent=2), encoding="utf-8")
    except BaseException:
        shutil.rmtree(path)
        raise
    return manifest


async def restore(path: Path, progress: Progress | None = None) -> Restored:
    """Replace the configured database and the index with the backup in ``path``.

    The database is checked against the manifest's counts before it is migrated to this version's
    schema; the restored index is then brought in line with the restored catalogue (as the bot
    does at start): a backup taken while the bot saved an entry may hold an index a step behind.
    """
    manifest = _read_manifest(path)
    url = database_url()
    kind = _kind(url)
    if manifest["database"] != kind:
        raise BackupError(f"{path} is a {manifest['database']} backup, but the configured database is {kind}")
    revision = manifest["revision"]
    known = {script.revision for script in ScriptDirectory.from_config(migrations.config()).walk_revisions()}
    if revision is not None and revision not in known:
        raise BackupError(
            f"{path} has schema revision {revision}, unknown to this version of TechConnect: upgrade it first"
        )
    if kind == "sqlite":
        _load_sqlite(url, path / DUMPS[kind])
    else:
        await _load_postgresql(url, path / DUMPS[kind], set(manifest["tables"]))
    _check(await _census_of(make_engine(url)), manifest)

    catalog = await open_catalog(url)  # migrated to this version's schema
    try:
        index = data_dir() / "index"
        shutil.rmtree(index, ignore_errors=True)
        if (path / "index").is_dir():
            shutil.copytree(path / "index", index)
        _engine, embedded, removed = await open_engine(catalog, progress=progress)
        return Restored(manifest, await migrations.current(catalog.engine), embedded, removed)
    finally:
        await catalog.engine.dispose()


def _read_manifest(path: Path) -> dict:
    """The manifest of the backup in ``path``; :class:`BackupError` if ``path`` holds none."""
    try:
        manifest = json.loads((path / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        manifest = None
    kind = manifest.get("database") if isinstance(manifest, dict) else None
    if kind not in DUMPS or manifest.get("techconnect_backup") != FORMAT or not (path / DUMPS[kind]).is_file():
        raise BackupError(f"{path} is not a TechConnect backup")
    return manifest


def _kind(url: str) -> str:
    kind = make_engine(
        url
    ).dialect.name  # as the bot reads the URL: postgres:// is PostgreSQL too (no connection is made)
    if kind not in DUMPS:
        raise BackupError(f"backups cover SQLite and PostgreSQL, not {kind}")
    return kind


def _census(sync) -> tuple[str | None, dict[str, int]]:
    """The schema revision and the rows of every table, as the connection ``sync`` sees them."""
    names = sorted(set(inspect(sync).get_table_names()) - {"alembic_version"})
    rows = {name: sync.scalar(select(func.count()).select_from(table(name))) for name in names}
    return MigrationContext.configure(sync).get_current_revision(), rows


async def _census_of(engine: AsyncEngine) -> tuple[str | None, dict[str, int]]:
    try:
        async with engine.connect() as conn:
            return await conn.run_sync(_census)
    finally:
        await engine.dispose()


def _check(census: tuple[str | None, dict[str, int]], manifest: dict) -> None:
    """The restored database holds what the backup counted (tables it does not name are not ours)."""
    revision, tables = census
    if revision != manifest["revision"]:
        raise BackupError(
            f"the restored database is at schema revision {revision}, the backup at {manifest['revision']}"
        )
    for name, rows in manifest["tables"].items():
        if tables.get(name) != rows:
            raise BackupError(f"the restored table {name} holds {tables.get(name)} rows, the backup {rows}")


# --- SQLite ------------------------------------------------------------------------------
async def _dump_sqlite(url: str, dump: Path) -> tuple[str | None, dict[str, int]]:
    """SQLite's online backup API: a consistent copy even while the bot writes."""
    live = Path(make_url(url).database)
    if not live.is_file():
        raise BackupError(f"there is no database at {live}")
    with closing(sqlite3.connect(live, timeout=30)) as source, closing(sqlite3.connect(dump)) as copy:
        source.backup(copy)
        copy.execute("PRAGMA journal_mode=DELETE")  # one self-contained file, not one waiting for its -wal
    return await _census_of(create_async_engine(f"sqlite+aiosqlite:///{dump}"))


def _load_sqlite(url: str, dump: Path) -> None:
    """The backup API again, the other way: the live file is rewritten page by page under SQLite's
    locks, its write-ahead log included, rather than replaced behind a connection's back."""
    live = Path(make_url(url).database)
    with (
        closing(sqlite3.connect(f"{dump.resolve().as_uri()}?mode=ro", uri=True)) as source,
        closing(sqlite3.connect(live, timeout=30)) as target,
    ):
        source.backup(target)


# --- PostgreSQL --------------------------------------------------------------------------
async def _dump_postgresql(url: str, dump: Path) -> tuple[str | None, dict[str, int]]:
    """pg_dump from a snapshot this connection exports, so the counts describe exactly what was dumped."""
    tools = _postgresql_tools()
    engine = make_engine(url)
    try:
        async with engine.connect() as conn:
            await conn.execution_options(isolation_level="REPEATABLE READ")
            snapshot = await conn.scalar(text("SELECT pg_export_snapshot()"))
            census = await conn.run_sync(_census)
            await _tool(tools / "pg_dump", "--format=custom", f"--snapshot={snapshot}", f"--file={dump}", url=url)
            return census
    finally:
        await engine.dispose()


async def _load_postgresql(url: str, dump: Path, tables: set[str]) -> None:
    """pg_restore's script run by psql in one transaction: a failed restore changes nothing.

    Tables of this version that the backup lacks (it is older) are dropped in the same
    transaction, so no row newer than the backup survives to be adopted by the migrations.
    """
    tools = _postgresql_tools()
    newer = sorted({t.name for metadata in migrations.METADATA for t in metadata.tables.values()} - tables)
    quoted = ", ".join(f'"{name}"' for name in newer)
    drop = [f"--command=DROP TABLE IF EXISTS {quoted} CASCADE"] if newer else []
    with tempfile.TemporaryDirectory() as scratch:
        script = Path(scratch) / "restore.sql"
        await _tool(
            tools / "pg_restore",
            "--clean",
            "--if-exists",
            "--no-owner",
            "--no-privileges",
            f"--file={script}",
            str(dump),
            url=url,
        )
        await _tool(
            tools / "psql",
            "--no-psqlrc",
            "--quiet",
            "--set=ON_ERROR_STOP=1",
            "--single-transaction",
            *drop,
            f"--file={script}",
            url=url,
        )


def _postgresql_tools() -> Path:
    """The folder of the newest pg_dump on PATH or shipped by the ``pgserver`` package (with
    pg_restore and psql): pg_dump refuses a server newer than itself, and reads older ones."""
    folders = [Path(found).parent for found in [shutil.which("pg_dump")] if found]
    spec = find_spec("pgserver")
    if spec is not None and spec.submodule_search_locations:
        folders.append(Path(spec.submodule_search_locations[0]) / "pginstall" / "bin")
    versions = {folder: _version(folder / "pg_dump") for folder in folders if (folder / "pg_dump").is_file()}
    if not versions:
        raise BackupError("pg_dump was not found: install PostgreSQL's client tools (pg_dump, pg_restore, psql)")
    return max(versions, key=versions.get)


def _version(program: Path) -> tuple[int, ...]:
    found = re.search(r"\d+(\.\d+)*", subprocess.run([program, "--version"], capture_output=True, text=True).stdout)
    return tuple(int(part) for part in found[0].split(".")) if found else ()


def libpq_environment(url: str) -> dict[str, str]:
    """What libpq's tools connect with, from the SQLAlchemy URL (``postgresql+asyncpg://``; asyncpg
    takes a Unix-socket folder as ``?host=``). The password goes into the environment, not onto
    the command line, where every user of the machine can read it."""
    parsed = make_url(url)
    settings = {
        "PGHOST": parsed.host or parsed.query.get("host"),
        "PGPORT": parsed.port or parsed.query.get("port"),
        "PGUSER": parsed.username,
        "PGPASSWORD": parsed.password,
        "PGDATABASE": parsed.database,
        "PGSSLMODE": parsed.query.get("sslmode") or parsed.query.get("ssl"),
    }
    return {name: str(value) for name, value in settings.items() if value}


async def _tool(program: Path, *args: str, url: str) -> None:
    """Run a PostgreSQL client tool on the database ``url`` names; its first error, in one line, if it fails."""
    process = await asyncio.create_subprocess_exec(
        program, *args, env=os.environ | libpq_environment(url), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    _, errors = await process.communicate()
    if process.returncode:
        lines = [line.strip() for line in errors.decode(errors="replace").splitlines() if line.strip()]
        reason = next(
            (line for line in lines if "error" in line.lower()),
            lines[-1] if lines else f"exit status {process.returncode}",
        )
        raise BackupError(f"{program.name} failed: {reason}")


# --- the index ---------------------------------------------------------------------------
def _copy_index(source: Path, target: Path) -> dict | None:
    """Copy the index as one saved state; what its manifest says (None when there is no index).

    The bot saves the index file by file, the manifest last (:meth:`index.store.VectorStore.save`):
    the copy is kept only when the manifest was the newest file (no save under way) and no file
    changed while it was copied.
    """
    deadline = time.monotonic() + 10
    while True:
        before = _stamps(source)
        if MANIFEST not in before:
            return None
        if before[MANIFEST][1] >= max(stamp[1] for stamp in before.values()):
            shutil.copytree(source, target, ignore=shutil.ignore_patterns(".*"))
            if _stamps(source) == before:
                index = json.loads((target / MANIFEST).read_text(encoding="utf-8"))
                return {"model": index["model_id"], "records": index["count"]}
            shutil.rmtree(target)
        if time.monotonic() > deadline:
            raise BackupError("the index kept changing during the backup: try again")
        time.sleep(0.1)


def _stamps(folder: Path) -> dict[str, tuple[int, int, int]]:
    """Name -> (inode, modification time, size) of the index's files (a save replaces a file: a new inode)."""
    stamps = {}
    for file in folder.iterdir() if folder.is_dir() else ():
        if not file.name.startswith("."):  # files being written, renamed into place when complete
            info = file.stat()
            stamps[file.name] = (info.st_ino, info.st_mtime_ns, info.st_size)
    return stamps
