"""σ_run per series from A/A runs of one build: what `harness calibrate` measures and stores.

Each run's raw samples give its log median and within-run error (``analysis.within_run``); the
spread of the runs' log medians, less that within-run error, is σ_run (``analysis.noise.calibrate``),
per device fingerprint × workload × precision × backend × metric, with a 95 % interval.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from harness.analysis import noise as N
from harness.analysis.within_run import estimate_run, sample_problem
from harness.records import MEASURED, ROW_KEY, CalibratedNoise
from harness.results.store import Store


def calibrate_runs(store: Store, run_ids: Sequence[str]) -> list[CalibratedNoise]:
    """One calibration per noisy series the runs share (series with too few good runs are left out)."""
    metrics = store.metrics_frame(run_ids)
    noisy = metrics[(metrics["kind"] == "noisy") & metrics["status"].isin(list(MEASURED))]
    if noisy.empty:
        return []
    noisy = noisy.assign(device_fingerprint=noisy["device_fingerprint"].fillna(""))
    samples = store.samples_for(noisy["cell_id"].unique().tolist())
    out = []
    for key, g in noisy.groupby(list(ROW_KEY), sort=True):
        medians, errors, runs = [], [], []
        for rec in g.to_dict("records"):
            x = samples.get((int(rec["cell_id"]), rec["metric"]))
            if x is None or sample_problem(np.asarray(x, dtype=float)):
                continue
            est = estimate_run(x)
            medians.append(est.log_median)
            errors.append(est.se)
            runs.append(str(rec["run_id"]))
        cal = N.calibrate(medians, errors)
        if cal is None:
            continue
        workload, precision, backend, fingerprint, metric = (str(k) for k in key)
        out.append(CalibratedNoise(device_fingerprint=fingerprint, workload=workload, precision=precision,
                                   backend=backend, metric=metric, device=str(g["device"].iloc[0]), sigma=cal.sigma,
                                   low=cal.low, high=cal.high, df=cal.df, n_runs=cal.n_runs, within=cal.within,
                                   run_ids=tuple(runs)))
    return out
