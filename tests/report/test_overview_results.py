"""The site's overview in headless Chromium for a store with one good run after a failed one
(tests/lab.py: a "device busy" run, then four devices): results first — the matrix with one
column group per device and its charts, every chart drawn with data — then changes, where the
failed run is no baseline: "no baseline yet", never an "incomparable" headline.

Set HARNESS_SCREENSHOTS=DIR to keep the screenshots for a person to look at.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

import pytest

from harness.report.site.publish import publish
from harness.results.store import Store
from tests.lab import Lab
from tests.rigs.browser import open_page

pytestmark = [pytest.mark.slow, pytest.mark.rig]
DEVICES = ["local-a", "local-b", "rig-adb", "rig-ssh"]

# For every plot: traces, points with a value, and whether plotly drew it (an SVG with marks).
PLOTS = """() => [...document.querySelectorAll('.plot')].map(d => ({
  id: d.id,
  traces: (d.data || []).length,
  points: (d.data || []).map(t => (t.y || t.z || []).filter(v => v !== null).length),
  drawn: d.querySelectorAll('.main-svg .bars path, .main-svg .scatterlayer .point, .main-svg .hm').length,
}))"""


@pytest.fixture(scope="module")
def site(lab: Lab, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("lab-site") / "site"
    store = Store(lab.store_path)
    publish(store, out, run_pages=5)
    store.close()
    return out


def _look(browser: Any, page_path: Path, shots: Path, name: str) -> dict[str, Any]:
    loaded = open_page(browser, page_path, width=1400)
    page = loaded.page
    shot = shots / f"{name}.png"
    page.screenshot(path=str(shot), full_page=True)
    facts = {"errors": loaded.errors, "plots": page.evaluate(PLOTS), "text": page.locator("body").inner_text(),
             "groups": page.evaluate("() => [...document.querySelectorAll('table.results-matrix th.group')]"
                                     ".map(t => t.dataset.device)"),
             "screenshot": shot}
    page.close()
    keep = os.environ.get("HARNESS_SCREENSHOTS")
    if keep:
        Path(keep).mkdir(parents=True, exist_ok=True)
        shutil.copy(shot, Path(keep) / shot.name)
    return facts


def test_overview_shows_results_first_and_no_baseline_instead_of_incomparable(site: Path, browser, lab: Lab,
                                                                               tmp_path: Path) -> None:
    facts = _look(browser, site / "index.html", tmp_path, "overview")
    assert facts["errors"] == []
    assert facts["groups"] == DEVICES  # the results matrix, one column group per device
    text = facts["text"]
    assert text.index("Results") < text.index("Changes")
    assert "incomparable" not in text.lower()
    assert text.count("no baseline yet") == len(DEVICES)  # local-a's earlier run failed: not a baseline
    ids = [p["id"] for p in facts["plots"]]
    assert "overview-heatmap" not in ids  # nothing was judged: no empty grey box
    assert {"overview-latency-0", "overview-memory"} <= set(ids)
    for p in facts["plots"]:
        assert p["traces"] > 0 and all(n > 0 for n in p["points"]) and p["drawn"] > 0, p
    assert facts["screenshot"].stat().st_size > 40_000


def test_run_report_and_single_run_series_pages(site: Path, browser, lab: Lab, tmp_path: Path) -> None:
    run = _look(browser, site / "runs" / lab.good_run / "index.html", tmp_path, "run-report")
    assert run["errors"] == [] and run["groups"] == DEVICES
    assert run["text"].index("Results") < run["text"].index("Changes") < run["text"].index("Every cell")
    assert all(p["traces"] > 0 and p["drawn"] > 0 for p in run["plots"]), run["plots"]
    failed = _look(browser, site / "runs" / lab.failed_run / "index.html", tmp_path, "failed-run-report")
    assert failed["errors"] == [] and failed["groups"] == ["local-a"] and failed["plots"] == []  # no data: no chart
    series = sorted((site / "series").glob("*.html"))
    # local-a and local-b are one machine (one fingerprint) and both ran `cpu`: a series is keyed by profile
    # and fingerprint, so local-a's `cpu` series holds its own cell of that run, not local-b's beside it
    page = next(p for p in series if p.name != "index.html" and "local-a · " in p.read_text()
                and " · cpu · " in p.read_text())
    one = _look(browser, page, tmp_path, "series")
    assert one["errors"] == [] and one["plots"] == []  # one run: the numbers, not a one-dot chart
    assert "1 run(s)" in one["text"] and lab.good_run in one["text"]
