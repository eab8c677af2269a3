"""The run report shows its caveats (issue 24), checked in headless Chromium on a 2-device run:
flags as badges in the results matrix, a legend on every chart, one colour per precision across
the page, the matrix scrolling inside its box (the page never wider than the window), durations
in the unit that fits them, and a speed-up vs error scatter that names each point's workload."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from harness.records import MetricValue
from harness.report.run_figures import PALETTE
from harness.report.run_report import write_run_report
from harness.results.store import Store
from tests.analysis.synthetic import CellSpec, record_run
from tests.rigs.browser import open_page

pytestmark = [pytest.mark.slow, pytest.mark.rig]

CELLS = tuple(CellSpec(device=d, fingerprint=f"fp-{d}-with-a-long-fingerprint", workload=w, precision=p,
                       base_ms=ms * (1.0 if p == "fp32" else 0.6))
              for d in ("pixel-7-pro-lab-3", "jetson-orin-nano-lab-1")
              for w, ms in (("resnet", 10.0), ("vad", 0.014))
              for p in ("fp32", "fp16", "int8", "int8-static"))
FLAG = {"code": "contention", "message": "measured under contention: other processes used 0.50 cores during the "
        "steady windows (flagged above 0.25)", "cores": 0.5, "threshold": 0.25}
FACTS = """() => {
  const plots = [...document.querySelectorAll('.js-plotly-plot')].map(d => ({
    id: d.id, legend: d.querySelectorAll('.legend .traces').length,
    traces: (d.data || []).map(t => ({name: String(t.name || ''), group: String(t.legendgroup || ''),
      colour: (t.marker && typeof t.marker.color === 'string') ? t.marker.color : null,
      text: Array.isArray(t.text) ? t.text : []})),
    title: (d.layout && d.layout.title && d.layout.title.text) || ''}));
  const box = document.querySelector('.matrix-box');
  return {plots,
    badges: [...document.querySelectorAll('#run-matrix .badge')].map(b => [b.textContent, b.title]),
    overflow: document.documentElement.scrollWidth - document.documentElement.clientWidth,
    box_scrolls: box.scrollWidth > box.clientWidth, box_right: box.getBoundingClientRect().right,
    text: document.body.innerText};
}"""


def test_a_two_device_run_report_shows_its_caveats(tmp_path: Path, browser) -> None:
    store = Store(tmp_path / "s.db")
    record_run(store, "r1", cells=CELLS, n=40, result={"flags": [FLAG]},
               extra_metrics=[MetricValue("rel_l2", 2e-3, "", "deterministic", "vs fp32")])
    page = write_run_report(store, "r1", tmp_path / "report")
    store.close()
    loaded = open_page(browser, page, width=1280)
    facts = loaded.page.evaluate(FACTS)
    shot = Path(os.environ.get("HARNESS_SCREENSHOTS") or tmp_path)
    shot.mkdir(parents=True, exist_ok=True)
    loaded.page.screenshot(path=str(shot / "run-report-two-devices.png"), full_page=True)
    loaded.page.close()
    assert loaded.errors == [], loaded.errors

    assert len(facts["badges"]) == len(CELLS)  # every measured cell carries its flag beside its number
    assert all(label == "contention 0.50 cores" and "other processes" in title for label, title in facts["badges"])
    assert facts["overflow"] <= 0 and facts["box_scrolls"] and facts["box_right"] <= 1280

    assert len(facts["plots"]) >= 4
    colours: dict[str, set[str]] = {}
    for p in facts["plots"]:
        assert p["legend"] > 0, p["title"]  # every chart has a legend
        for t in p["traces"]:
            precision = (t["group"] or t["name"]).split(" · ")[0]
            if t["colour"] and precision in PALETTE:
                colours.setdefault(precision, set()).add(t["colour"].lower())
    assert colours and all(c == {PALETTE[p].lower()} for p, c in colours.items()), colours  # one colour each

    scatter = next(p for p in facts["plots"] if p["title"].startswith("Speed-up vs fp32"))
    assert {x for t in scatter["traces"] for x in t["text"]} == {"resnet", "vad"}  # workload identity
    assert "14.0 µs" in facts["text"] and not re.search(r"\de-\d+ ?(ms|s)\b", facts["text"])  # never "9.78e-03 ms"
