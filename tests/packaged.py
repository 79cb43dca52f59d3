"""The wheel as users get it: built from a clean copy of the sources, installed into a virtual
environment of its own with the runtime dependencies only (nothing there asks for torch).
Shared by the packaging test and bench/service.py."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SOURCES = ("pyproject.toml", "README.md", "bot", "catalog", "index", "locales")


def run(*command: str | Path, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run([str(part) for part in command], capture_output=True, text=True, timeout=900, **kwargs)


def build_wheel(folder: Path) -> Path:
    """The wheel, built in ``folder`` from a copy of the sources (setuptools leaves its build
    folder behind, stale files and all)."""
    source = folder / "source"
    source.mkdir(parents=True)
    for name in SOURCES:
        if (ROOT / name).is_dir():
            shutil.copytree(ROOT / name, source / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy(ROOT / name, source / name)
    built = run(
        sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-w", folder / "dist", source
    )
    assert built.returncode == 0, built.stderr
    (wheel,) = (folder / "dist").glob("techconnect-*.whl")
    return wheel


def install(venv: Path, wheel: Path, *options: str) -> None:
    """``wheel`` into ``venv`` (created without pip if missing): our pip (and its cache) installs
    the versions CI tested, from the lock; ``options`` go to pip."""
    if not (venv / "bin" / "python").exists():
        assert run(sys.executable, "-m", "venv", "--without-pip", venv).returncode == 0
    installed = run(
        sys.executable,
        "-m",
        "pip",
        "--python",
        venv / "bin" / "python",
        "install",
        "-q",
        "-c",
        ROOT / "requirements.lock",
        *options,
        wheel,
    )
    assert installed.returncode == 0, installed.stderr
