"""`harness calibrate` end to end on the local device: A/A runs -> stored noise floors -> compare uses them."""

from __future__ import annotations

import json
import math

import pytest

from harness.results.analysis_tables import calibration_map
from harness.results.store import Store
from tests.commands import test_ab as _ab
from tests.commands.test_compare import harness

built = _ab.built  # the fixture: a tiny fp32 build


@pytest.mark.slow
def test_calibrate_stores_noise_floors_that_compare_uses(built, monkeypatch, capsys) -> None:
    build_id, workloads = built
    assert harness(monkeypatch, "calibrate", "--build", build_id, "--workloads-dir", workloads, "--device", "local",
                   "--runs", "2") == 0
    out = capsys.readouterr().out
    assert "noise floors" in out and "tiny-mlp" in out
    store = Store()
    floors = calibration_map(store)
    assert floors and all(v >= 0 for v in floors.values())
    assert {k[1] for k in floors} == {"tiny-mlp"}
    a, b = (r["run_id"] for r in store.list_runs())
    # The two calibration runs differ by exactly their floor, so their own verdicts sit on the edge;
    # what must hold is that compare judged each calibrated series with max(delta, exp(floor) - 1).
    assert harness(monkeypatch, "compare", a, b, "--format", "json") != 2
    doc = json.loads(capsys.readouterr().out)
    assert any("calibrated noise floors in use" in n for n in doc["notes"])
    judged = [r for r in doc["rows"] if (r["device_fingerprint"], r["workload"], r["metric"]) in floors]
    assert judged
    for r in judged:
        floor = floors[(r["device_fingerprint"], r["workload"], r["metric"])]
        assert r["delta"] == pytest.approx(max(0.05, math.expm1(floor)))
