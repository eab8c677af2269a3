"""`harness calibrate` end to end on the local device: A/A runs -> σ_run per series -> compare applies it."""

from __future__ import annotations

import json

import pytest

from harness.results.analysis_tables import load_run_noise
from harness.results.store import Store
from tests.commands import test_ab as _ab
from tests.commands.test_compare import harness

built = _ab.built  # the fixture: a tiny fp32 build


@pytest.mark.slow
def test_calibrate_stores_run_noise_that_compare_applies(built, monkeypatch, capsys) -> None:
    build_id, workloads = built
    assert harness(monkeypatch, "calibrate", "--build", build_id, "--workloads-dir", workloads, "--device", "local",
                   "--runs", "3") == 0
    out = capsys.readouterr().out
    assert "run-to-run noise σ_run" in out and "tiny-mlp" in out and "runs/side for ±δ" in out
    store = Store()
    cals = load_run_noise(store)
    assert cals and {c.workload for c in cals} == {"tiny-mlp"} and all(c.n_runs == 3 and c.df == 2 for c in cals)
    assert all(0 <= c.low <= c.sigma <= c.high for c in cals)
    a, b = (r["run_id"] for r in store.list_runs()[:2])
    # one calibration run per side: σ_run comes from the calibration, and the output says so
    assert harness(monkeypatch, "compare", a, b, "--format", "json") != 2
    doc = json.loads(capsys.readouterr().out)
    assert any(n.startswith("calibration applied") for n in doc["notes"])
    calibrated = {c.key for c in cals}
    judged = [r for r in doc["rows"] if r["sigma_source"]]
    assert judged and all(r["sigma_source"] == "calibrated" for r in judged
                          if (r["workload"], r["precision"], r["backend"], r["device_fingerprint"], r["metric"])
                          in calibrated)
    assert all(r["delta"] == 0.05 for r in judged)  # calibration sets the variance, never δ
    assert harness(monkeypatch, "calibrate", "--build", build_id, "--runs", "2") == 2  # fewer than 3 cannot calibrate
