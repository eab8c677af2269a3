"""The published site in real headless Chromium: charts render, no console errors, strings escaped.

Each page is loaded once (module fixture) and the facts the tests check are collected there:
parsing plotly.js costs seconds per page on a 2-core machine.
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest

from harness.report.site.publish import publish
from harness.results.store import Store
from harness.views.history import load_series, sync_alerts
from tests.analysis.synthetic import CellSpec, record_history
from tests.rigs.browser import open_page

XSS = "<script>alert(1)</script>"
IMG = "<img src=x onerror=alert(2)>"
CELLS = (
    CellSpec(),
    CellSpec(workload="bert"),
    CellSpec(device=XSS, fingerprint="fp-x\"'<b>", workload="resnet"),
    CellSpec(device="pi5", fingerprint="fp-pi5", workload=f"w{XSS}"),
    CellSpec(device=XSS, fingerprint="fp-x\"'<b>", workload=IMG),  # also a chart label (plotly parses some tags)
)
PAGES = ("index.html", "regressions.html", "devices.html", "runs.html", "compare/index.html", "compare/pixel.html",
         "series/index.html", "runs/night-011/index.html")


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("site")
    store = Store(root / "s.db")
    record_history(store, 12, cells=CELLS, levels={("pixel", "resnet"): {7: 1.2}}, n=30)
    sync_alerts(store, load_series(store), canaries={})  # what `harness history` or a night does before
    result = publish(store, root / "site", run_pages=2)
    store.close()
    assert len(list((root / "site").rglob("plotly.min.js"))) == 1  # plotly.js written once per site
    assert max(result.sizes().values()) < 5_000_000
    return root / "site"


@pytest.fixture(scope="module")
def seen(site: Path, browser, tmp_path_factory) -> dict[str, Any]:
    doc = json.loads((site / "regressions.json").read_text())
    alert = next(a for a in doc["alerts"] if a["device"] == "pixel" and a["metric"] == "latency_ms@b1")
    out: dict[str, Any] = {"alert": alert}
    context = browser.new_context()
    for rel in (*PAGES, alert["series"]):
        loaded = open_page(context, site / rel)
        page = loaded.page
        facts = {
            "errors": loaded.errors,
            "dialogs": loaded.dialogs,
            "offline": all(u.startswith("file://") for u in loaded.requests),
            "inline_scripts": page.evaluate("() => document.querySelectorAll('script:not([src])').length"),
            "plots": page.evaluate("() => document.querySelectorAll('.plot, .plotly-graph-div').length"),
            "text": page.locator("body").inner_text(),
        }
        if rel == "index.html":
            facts["heatmap"] = page.locator("#overview-heatmap g.hm").count()
            facts["heatmap_text"] = page.locator("#overview-heatmap").inner_text()
            shot = tmp_path_factory.mktemp("shots") / "overview.png"
            page.screenshot(path=str(shot), full_page=True)
            facts["screenshot"] = shot
            facts["chart_png"] = len(page.locator("#overview-heatmap").screenshot())
        if rel == alert["series"]:
            facts["traces"] = page.locator("#series .scatterlayer .trace").count()
            facts["shapes"] = page.locator("#series .shapelayer path").count()
            facts["hover"] = page.evaluate("() => document.getElementById('series').data[2].customdata")
        out[rel] = facts
        page.close()
    context.close()
    return out


@pytest.mark.slow
@pytest.mark.rig
def test_pages_open_offline_without_errors(seen) -> None:
    for rel in (*PAGES, seen["alert"]["series"]):
        assert seen[rel]["errors"] == [], (rel, seen[rel]["errors"])
        assert seen[rel]["dialogs"] == [], rel
        assert seen[rel]["offline"], rel


@pytest.mark.slow
@pytest.mark.rig
def test_overview_heatmap_renders(seen) -> None:
    facts = seen["index.html"]
    assert facts["heatmap"] == 1 and "n.s." in facts["heatmap_text"]
    assert facts["screenshot"].stat().st_size > 20_000
    assert facts["chart_png"] > 8_000  # the chart area holds a drawing (a blank box compresses to ~1 kB)


@pytest.mark.slow
@pytest.mark.rig
def test_series_page_marks_the_change_point(seen) -> None:
    alert = seen["alert"]
    assert alert["run_id"] == "night-007"
    facts = seen[alert["series"]]
    assert facts["traces"] == 4  # q3, IQR band, median, change point
    assert facts["shapes"] >= 1  # the change-point line
    assert facts["hover"][7][:2] == ["night-007", "b007"]  # run and build ids on hover
    assert "night-007" in facts["text"]


@pytest.mark.slow
@pytest.mark.rig
def test_user_strings_are_escaped_everywhere(site: Path, seen) -> None:
    for path in site.rglob("*.html"):
        assert XSS not in path.read_text() and IMG not in path.read_text(), path
    for rel in PAGES:
        if rel.startswith("runs/"):
            continue  # the run report page is the runs engineer's; its plotly divs carry their own scripts
        assert seen[rel]["inline_scripts"] == seen[rel]["plots"], rel  # no script but our chart calls
    assert XSS in seen["devices.html"]["text"]  # shown as text
    assert XSS in seen["index.html"]["text"]


def test_feed_and_json_are_well_formed(site: Path) -> None:
    feed = ET.parse(site / "feed.xml").getroot()
    ns = {"a": "http://www.w3.org/2005/Atom"}
    titles = [e.findtext("a:title", namespaces=ns) for e in feed.findall("a:entry", ns)]
    assert any("pixel resnet" in t for t in titles)
    doc = json.loads((site / "regressions.json").read_text())
    assert {a["state"] for a in doc["alerts"]} <= {"suspected", "confirmed", "acknowledged", "invalid", "fixed"}
    assert all((site / a["series"]).exists() for a in doc["alerts"])
