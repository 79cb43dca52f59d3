"""The built wheel on its own: installed in a fresh virtual environment without torch, it serves
the offline demo in Vietnamese (its gettext catalogs, sample catalogue and migrations inside)."""

from __future__ import annotations

import os

import pytest
from packaged import ROOT, build_wheel, install, run

from bot.i18n import gettext_for

VI, EN = gettext_for("vi"), gettext_for("en")
HELLO = "Hello {name}! I am TechConnect, the technology supply–demand connection assistant of Hai Phong's Department of Science and Technology."
RESULTS = "Results for “{query}”"


@pytest.mark.wheel
def test_the_wheel_without_torch_answers_a_vietnamese_user_in_vietnamese(tmp_path):
    venv = tmp_path / "venv"
    install(venv, build_wheel(tmp_path))
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
