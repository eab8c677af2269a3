"""The README's two commands work in either order on a fresh clone: the main command makes a `.venv`
folder, so the test command (tox) must not leave a `.venv` redirect file in its place."""

from __future__ import annotations

import configparser
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_the_main_command_makes_dot_venv_and_tox_leaves_it_free() -> None:
    readme = (ROOT / "README.md").read_text()
    assert re.search(r"python3 -m venv \.venv\b", readme)
    tox = configparser.ConfigParser()
    tox.read(ROOT / "tox.ini")
    assert tox["tox"].get("venv_redirect", "").strip().lower() == "false"
