"""The noise floor of a device from A/A runs: how far two runs of the SAME build drift apart.

floor = 99th percentile of |log(median_i / median_j)| over all pairs of A/A runs of each cell,
pooled per (device fingerprint, workload, metric). compare uses exp(floor) - 1 as the threshold
when it is larger than the default delta. With a single run, its samples are split into two
interleaved halves (a weaker estimate: it misses run-to-run drift; the report says so).
"""

from __future__ import annotations

from collections.abc import Mapping
from itertools import combinations
from typing import Any

import numpy as np
import pandas as pd

FLOOR_KEY = ("device_fingerprint", "workload", "metric")


def log_ratios(medians: list[float]) -> list[float]:
    return [abs(float(np.log(a / b))) for a, b in combinations(medians, 2) if a > 0 and b > 0]


def noise_floors(metrics: pd.DataFrame, samples: Mapping[tuple[int, str], np.ndarray]) -> list[dict[str, Any]]:
    """One dict per (fingerprint, workload, metric): floor, n_pairs, device, run_ids, method."""
    f = metrics[(metrics["kind"] == "noisy") & (metrics["status"] == "ok")].copy()
    if f.empty:
        return []
    f["device_fingerprint"] = f["device_fingerprint"].fillna("")
    out = []
    for key, g in f.groupby(list(FLOOR_KEY), sort=True):
        ratios: list[float] = []
        runs = sorted(set(g["run_id"]))
        method = "between runs" if len(runs) > 1 else "split halves of one run"
        for _, cell in g.groupby(["precision", "backend"]):
            meds = []
            for cid, metric, value in zip(cell["cell_id"], cell["metric"], cell["value"], strict=True):
                s = samples.get((int(cid), metric))
                if len(runs) == 1 and s is not None and len(s) >= 4:
                    ratios += log_ratios([float(np.median(s[0::2])), float(np.median(s[1::2]))])
                meds.append(float(np.median(s)) if s is not None and len(s) else float(value))
            ratios += log_ratios(meds)
        if not ratios:
            continue
        out.append({
            **dict(zip(FLOOR_KEY, (str(k) for k in key), strict=True)),
            "device": str(g["device"].iloc[0]),
            "floor": float(np.percentile(ratios, 99)),
            "n_pairs": len(ratios),
            "run_ids": runs,
            "method": method,
        })
    return out
