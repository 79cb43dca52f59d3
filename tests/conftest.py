"""Shared fixtures: every test gets its own data directory (a real SQLite file, a real index)."""
from __future__ import annotations

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")

import pytest


@pytest.fixture
def data_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("TECHCONNECT_DATA_DIR", str(tmp_path / "var"))
    monkeypatch.delenv("TECHCONNECT_DATABASE_URL", raising=False)
    return tmp_path / "var"
