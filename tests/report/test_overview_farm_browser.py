"""The overview in headless Chromium after a full nightly matrix and then a 2-cell follow-up run
(issue 24): the full matrix is still on the front page, each cell dated; the alert count equals
the regressed cells the heatmap and the matrix show (one decision); trends are drawn per workload
and no chart holds a single point.

Set HARNESS_SCREENSHOTS=DIR to keep the screenshots for a person to look at.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

import pytest

from harness.records import CalibratedNoise
from harness.report.site.publish import publish
from harness.results.analysis_tables import save_run_noise
from harness.results.store import Store
from tests.analysis.synthetic import CellSpec, record_history, record_run
from tests.rigs.browser import open_page

pytestmark = [pytest.mark.slow, pytest.mark.rig]

CELLS = tuple(CellSpec(device=d, fingerprint=f"fp-{d}", workload=w, precision=p, base_ms=ms * k)
              for d, k in (("pixel", 1.0), ("pi5", 3.0))
              for w, ms in (("resnet", 10.0), ("bert", 20.0), ("vad", 0.014))  # vad: 14 µs a call
              for p in ("fp32", "fp16", "int8"))
FACTS = """() => {
  const hm = document.getElementById('overview-heatmap');
  const z = hm ? hm.data[0].z.flat() : [];
  const plots = [...document.querySelectorAll('.plot')].map(d => ({id: d.id,
      points: (d.data || []).map(t => (t.y || t.z || []).flat().filter(v => v !== null).length),
      drawn: d.querySelectorAll('.main-svg .scatterlayer .point, .main-svg .bars path, .main-svg .hm').length,
      legend: d.querySelectorAll('.legend .traces').length}));
  const cells = [...document.querySelectorAll('#overview-matrix tbody td.num')];
  return {
    alerts: Number(document.getElementById('alert-count').dataset.count),
    red_tiles: z.filter(v => v !== null && v > 0).length,
    regressed_badges: document.querySelectorAll('#overview-matrix .badge.b-regressed').length,
    dated: document.querySelectorAll('#overview-matrix .at').length,
    failed: cells.filter(td => td.classList.contains('st-failed')).length,
    rows: document.querySelectorAll('#overview-matrix tbody tr').length,
    groups: [...document.querySelectorAll('#overview-matrix th.group')].map(t => t.dataset.device),
    plots,
    text: document.body.innerText,
    overflow: document.documentElement.scrollWidth - document.documentElement.clientWidth,
  };
}"""


def _look(browser: Any, page_path: Path, name: str, out: Path) -> dict[str, Any]:
    loaded = open_page(browser, page_path, width=1280)
    facts = loaded.page.evaluate(FACTS)
    shot = out / f"{name}.png"
    loaded.page.screenshot(path=str(shot), full_page=True)
    facts["errors"], facts["screenshot"] = loaded.errors, shot
    loaded.page.close()
    keep = os.environ.get("HARNESS_SCREENSHOTS")
    if keep:
        Path(keep).mkdir(parents=True, exist_ok=True)
        shutil.copy(shot, Path(keep) / shot.name)
    return facts


def test_overview_after_a_full_run_then_a_two_cell_run(tmp_path: Path, browser) -> None:
    store = Store(tmp_path / "s.db")
    # 6 nights of the 18-cell matrix; night 5 makes pixel's resnet 60 % slower (every precision): +40 % no longer
    # clears k = 1 once the rows share α with the device's common-shift test (issue 22)
    record_history(store, 6, cells=CELLS, levels={("pixel", "resnet"): {5: 1.6}}, n=30)
    # a calibrated farm (`harness calibrate`): one run per side then gives a verdict, where an assumed
    # σ_run would only say SUSPECTED (issue 22's k = 1 policy). A quiet device, calibrated at 1 %: at
    # k = 1 REGRESSED is tested against Student t with 3 dof (heavy-tailed run offsets) and Holm over the
    # device's 18 noisy rows, so at σ_run 2 % it takes about +60 % (+40 % stays SUSPECTED)
    save_run_noise(store, [CalibratedNoise(c.fingerprint, c.workload, c.precision, c.backend, "latency_ms@b1", c.device,
                                           sigma=0.01, low=0.007, high=0.018, df=9, n_runs=10, within=0.005)
                           for c in CELLS])
    publish(store, tmp_path / "full", run_pages=0)
    full = _look(browser, tmp_path / "full" / "index.html", "overview-full", tmp_path)

    two = [c for c in CELLS if c.device == "pixel" and c.workload == "bert" and c.precision in ("fp32", "fp16")]
    record_run(store, "follow-up", cells=two, created_at="2026-01-02T12:00:00+00:00", build_id="b-two", seed=99,
               n=30, sigma=0.03)
    publish(store, tmp_path / "after", run_pages=0)
    after = _look(browser, tmp_path / "after" / "index.html", "overview-after-two-cells", tmp_path)
    store.close()

    for facts in (full, after):
        assert facts["errors"] == [], facts["errors"]
        assert facts["groups"] == ["pi5", "pixel"] and facts["rows"] == 9  # 3 workloads × 3 precisions
        assert facts["dated"] == len(CELLS) and facts["failed"] == 0  # every cell of the matrix, each dated
        assert facts["alerts"] == 3, facts["alerts"]  # pixel resnet fp32 / fp16 / int8
        assert facts["alerts"] == facts["red_tiles"] == facts["regressed_badges"]
        assert f"{facts['alerts']} regression alert(s)" in facts["text"]
        assert "µs" in facts["text"] and "e-0" not in facts["text"]  # 14 µs, never "1.40e-02 ms"
        assert facts["overflow"] <= 0  # the matrix scrolls inside its box, the page does not
        trends = [p for p in facts["plots"] if p["id"].startswith("overview-trend-")]
        assert len(trends) == 3  # one small multiple per workload
        for p in facts["plots"]:
            assert p["drawn"] > 0 and sum(p["points"]) >= 2, p  # drawn, and never a chart of a single point
            assert p["legend"] > 0 or p["id"] == "overview-heatmap", p  # every chart has a legend (the heatmap: a colour bar)
        for p in trends:
            assert all(n >= 2 for n in p["points"]), p  # a line of one build is never drawn
    assert "follow-up" in after["text"] and "2026-01-02" in after["text"]
    assert full["screenshot"].stat().st_size > 40_000 and after["screenshot"].stat().st_size > 40_000
