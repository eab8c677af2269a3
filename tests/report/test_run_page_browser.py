"""A run page shares one plotly.min.js beside the run folders and still draws every chart from
file:// in Chromium; `--self-contained` inlines plotly.js for a page that travels alone."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from harness.results.store import Store
from tests.commands.conftest import WORKLOAD
from tests.helpers import tiny_workloads
from tests.rigs.browser import open_page

REPO = Path(__file__).resolve().parents[2]
PAGE_BUDGET = 200_000  # bytes of a two-cell run page beside the shared script


def harness(env: dict[str, str], *args: str) -> str:
    proc = subprocess.run([sys.executable, "-m", "harness", *args], cwd=REPO, env=env, capture_output=True, text=True,
                          timeout=600)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc.stdout


@pytest.mark.slow
@pytest.mark.rig
def test_a_two_cell_run_page_shares_plotly_and_draws_from_file(tmp_path: Path, browser) -> None:
    env = dict(os.environ, HARNESS_STORE=str(tmp_path / "store.db"), HARNESS_BUILDS=str(tmp_path / "builds"),
               HARNESS_LOCAL_WORKDIR=str(tmp_path / "device"), COLUMNS="200")
    workloads = tiny_workloads(tmp_path, WORKLOAD.format(precisions="[fp32, fp16]", min_seconds=0.5))
    runs = tmp_path / "reports" / "runs"
    harness(env, "run", "--workloads-dir", str(workloads), "--report-dir", str(runs / "one"))
    run_id = Store(env["HARNESS_STORE"]).list_runs()[0]["run_id"]
    # the same run again, as a page to mail: `--resume latest` has no cell left, so it only reports
    harness(env, "run", "--resume", "latest", "--self-contained", "--report-dir", str(runs / "mail"))

    page, mailed, shared = runs / "one" / "index.html", runs / "mail" / "index.html", runs / "plotly.min.js"
    assert shared.is_file() and list(runs.rglob("plotly.min.js")) == [shared]
    assert '<script src="../plotly.min.js">' in page.read_text() and run_id in page.read_text()
    assert "<script src=" not in mailed.read_text()
    print(f"\nrun page {page.stat().st_size / 1e3:.1f} kB + shared plotly.min.js {shared.stat().st_size / 1e6:.2f} MB "
          f"(written once per reports folder); self-contained page {mailed.stat().st_size / 1e6:.2f} MB")
    assert page.stat().st_size <= PAGE_BUDGET
    assert mailed.stat().st_size > shared.stat().st_size  # the mailed page carries plotly.js itself

    for path, expect_shared in ((page, True), (mailed, False)):
        loaded = open_page(browser, path)
        p = loaded.page
        figures = p.locator("div.figure").count()
        drawn = p.evaluate("() => Array.from(document.querySelectorAll('div.figure'))"
                           ".filter(d => d.querySelector('.main-svg')).length")  # a figure div may be the plot itself
        boxes = p.locator("div.figure .boxlayer .trace").count()
        assert loaded.errors == [] and loaded.dialogs == [], loaded.errors
        assert all(u.startswith("file://") for u in loaded.requests), loaded.requests
        assert any(u.endswith("/runs/plotly.min.js") for u in loaded.requests) == expect_shared
        assert figures >= 2 and drawn == figures, (figures, drawn)  # every figure drew its SVG
        assert boxes == 2  # one latency box per cell
        p.close()
