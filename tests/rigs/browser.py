"""Headless Chromium (Debian package, driven by playwright) for report/site tests.

`browser` is session-scoped (one Chromium for the whole test run); `open_page(browser, path)`
loads a file:// page and returns it with every console error and page error collected.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = os.environ.get("HARNESS_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--no-first-run", "--disable-sync"]


@dataclass
class LoadedPage:
    page: Any
    errors: list[str] = field(default_factory=list)
    dialogs: list[str] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    if not Path(CHROMIUM).exists():
        pytest.skip(f"no Chromium at {CHROMIUM}: run scripts/install-test-deps.sh")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        try:
            yield b
        finally:
            b.close()


def open_page(browser: Any, path: Path, *, width: int = 1280, height: int = 900) -> LoadedPage:
    """Load ``path`` from file://, waiting for the network to settle; collect errors and dialogs.

    ``browser`` may also be a BrowserContext: pages of one context share Chromium's cache, so
    plotly.min.js is parsed once for a whole site instead of once per page."""
    if hasattr(browser, "browser"):  # a BrowserContext: its viewport is set per page
        page = browser.new_page()
        page.set_viewport_size({"width": width, "height": height})
    else:
        page = browser.new_page(viewport={"width": width, "height": height})
    loaded = LoadedPage(page)
    page.on("console", lambda m: loaded.errors.append(f"console: {m.text}") if m.type == "error" else None)
    page.on("pageerror", lambda e: loaded.errors.append(f"pageerror: {e}"))
    page.on("request", lambda r: loaded.requests.append(r.url))

    def on_dialog(d: Any) -> None:  # an alert() means a script we did not write ran
        loaded.dialogs.append(d.message)
        d.dismiss()

    page.on("dialog", on_dialog)
    page.goto(Path(path).resolve().as_uri(), wait_until="load")
    page.wait_for_load_state("networkidle")  # plotly draws after load
    return loaded
