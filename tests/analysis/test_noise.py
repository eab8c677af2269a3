"""Noise floors from A/A runs: the 99th percentile of |log ratio| of per-run medians."""

from __future__ import annotations

import numpy as np
import pytest

from harness.analysis.noise import log_ratios, noise_floors
from harness.results.store import Store
from tests.analysis.synthetic import CellSpec, record_run


def test_log_ratios_of_all_pairs() -> None:
    assert log_ratios([1.0, 2.0, 4.0]) == pytest.approx([np.log(2), np.log(4), np.log(2)])


def test_floor_grows_with_run_to_run_drift(tmp_path) -> None:
    store = Store(tmp_path / "n.db")
    cells = (CellSpec(), CellSpec(device="pi5", fingerprint="fp-pi5"))
    drift = {"pixel": [1.0, 1.01, 0.99, 1.0], "pi5": [1.0, 1.15, 0.9, 1.1]}
    for i in range(4):
        for c in cells:
            record_run(store, f"r{i}-{c.device}", cells=(c,), shift=drift[c.device][i], seed=i, n=400, sigma=0.02)
    metrics = store.metrics_frame()
    floors = noise_floors(metrics, store.samples_for(metrics["cell_id"].unique().tolist()))
    by = {(f["device"], f["metric"]): f for f in floors}
    quiet, noisy = by[("pixel", "latency_ms@b1")], by[("pi5", "latency_ms@b1")]
    assert quiet["n_pairs"] == 6 and quiet["method"] == "between runs"
    assert quiet["floor"] < 0.03 < np.log(1.15 / 0.9) * 0.9 < noisy["floor"] <= np.log(1.15 / 0.9) + 0.01
    assert {f["workload"] for f in floors} == {"resnet"}


def test_single_run_uses_split_halves(tmp_path) -> None:
    store = Store(tmp_path / "one.db")
    record_run(store, "only", cells=(CellSpec(),), n=200, sigma=0.05)
    metrics = store.metrics_frame()
    floors = noise_floors(metrics, store.samples_for(metrics["cell_id"].unique().tolist()))
    lat = next(f for f in floors if f["metric"] == "latency_ms@b1")
    assert lat["method"] == "split halves of one run" and lat["n_pairs"] == 1 and 0 <= lat["floor"] < 0.05
