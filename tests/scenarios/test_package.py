"""The built wheel on its own: installed in a fresh virtual environment without torch, it serves
the offline demo in Vietnamese (its gettext catalogs, sample catalogue and migrations inside)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from bot.i18n import gettext_for

ROOT = Path(__file__).resolve().parents[2]
VI, EN = gettext_for("vi"), gettext_for("en")
HELLO = "Hello {name}! I am TechConnect, the technology supply–demand connection assistant of Hai Phong's Department of Science and Technology."
RESULTS = "Results for “{query}”"
SOURCES = ("pyproject.toml", "README.md", "bot", "catalog", "index", "locales")


def run(*command: str | Path, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run([str(part) for part in command], capture_output=True, text=True, timeout=900, **kwargs)


@pytest.mark.wheel
def test_the_wheel_without_torch_answers_a_vietnamese_user_in_vietnamese(tmp_path):
    source = tmp_path / "source"  # a copy: setuptools leaves its build folder behind, stale files and all
    source.mkdir()
    for name in SOURCES:
        if (ROOT / name).is_dir():
            shutil.copytree(ROOT / name, source / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy(ROOT / name, source / name)
    built = run(
        sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-w", tmp_path / "dist", source
    )
    assert built.returncode == 0, built.stderr
    (wheel,) = (tmp_path / "dist").glob("techconnect-*.whl")
    venv = tmp_path / "venv"
    assert run(sys.executable, "-m", "venv", "--without-pip", venv).returncode == 0
    # our pip (and its cache) installs into it the versions CI tested, from the lock; nothing asks for torch
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
        wheel,
    )
    assert installed.returncode == 0, installed.stderr
    assert run(venv / "bin" / "python", "-c", "import torch").returncode != 0
    assert run(venv / "bin" / "python", "-c", "import sentence_transformers").returncode != 0

    script = tmp_path / "script.txt"
    script.write_text("> /start\n> máy sấy vải thiều\n", encoding="utf-8")
    env = {key: value for key, value in os.environ.items() if not key.startswith(("TECHCONNECT_", "PYTHON"))}
    env["TECHCONNECT_DATA_DIR"] = str(tmp_path / "var")
    demo = run(venv / "bin" / "techconnect", "demo", "--lang", "vi", "--script", script, cwd=tmp_path, env=env)
    assert demo.returncode == 0, demo.stderr
    assert str(ROOT) not in run(venv / "bin" / "python", "-c", "import bot; print(bot.__file__)", cwd=tmp_path).stdout
    for message, values in ((HELLO, {"name": "Minh"}), (RESULTS, {"query": "máy sấy vải thiều"})):
        assert VI(message) != EN(message)
        assert VI(message).format(**values) in demo.stdout
