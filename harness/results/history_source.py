"""Read what the history needs from the store: the noisy metrics of the history runs, and their samples.

Nothing here judges (``analysis.history`` builds the series and finds change points; ``views.history``
puts the two together and keeps alerts in sync).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from fnmatch import fnmatchcase

import numpy as np
import pandas as pd

from harness.records import throttle_note
from harness.results.store import Store

HISTORY_RUN_KINDS = ("run", "nightly")  # ab and calibrate runs are experiments, not history


def history_run_ids(store: Store, run_kinds: Sequence[str] = HISTORY_RUN_KINDS) -> list[str]:
    return [r["run_id"] for r in store.list_runs() if r.get("kind", "run") in run_kinds]


def history_frames(
    store: Store,
    *,
    workload: str = "*",
    device: str = "*",
    metric: str = "*",
    precision: str = "*",
    backend: str = "*",
    run_kinds: Sequence[str] = HISTORY_RUN_KINDS,
    with_samples: bool = True,
) -> tuple[pd.DataFrame, dict[tuple[int, str], np.ndarray]]:
    """Noisy metrics of every history run matching the globs, and their raw samples (when asked)."""
    runs = history_run_ids(store, run_kinds)
    if not runs:
        return pd.DataFrame(), {}
    metrics = store.metrics_frame(runs)
    metrics = _filter(metrics, workload=workload, device=device, metric=metric, precision=precision, backend=backend)
    noisy = metrics[metrics["kind"] == "noisy"]
    noisy = noisy.assign(throttle=noisy["cell_id"].map(_throttle_notes(store, runs)))
    samples = store.samples_for(noisy["cell_id"].unique().tolist()) if with_samples else {}
    return noisy, samples


def _throttle_notes(store: Store, runs: Sequence[str]) -> dict[int, str | None]:
    """cell id -> what its throttling probe said (None: no throttling flag)."""
    cells = store.cells_frame(runs)
    if cells.empty or "result_json" not in cells:
        return {}
    out: dict[int, str | None] = {}
    for cid, raw in zip(cells["id"], cells["result_json"], strict=True):
        try:
            result = json.loads(raw) if isinstance(raw, str) else raw
        except ValueError:
            continue
        flags = result.get("flags") if isinstance(result, dict) else None
        out[int(cid)] = throttle_note(flags if isinstance(flags, list) else None)
    return out


def _filter(frame: pd.DataFrame, **globs: str) -> pd.DataFrame:
    mask = pd.Series(True, index=frame.index)
    for col, pattern in globs.items():
        if pattern != "*":
            mask &= frame[col].astype(str).map(lambda v, p=pattern: fnmatchcase(v, p))
    return frame[mask]


def device_canaries() -> dict[str, str]:
    """device name -> canary workload, from ``labels: {canary: NAME}`` in devices/*.yaml (best effort:
    no devices folder, or invalid YAML that `harness validate` reports, means no canaries)."""
    out: dict[str, str] = {}
    try:
        from harness.config.loader import load_devices

        for name, (profile, _path) in load_devices().items():
            label = profile.labels.get("canary")
            if label:
                out[name] = label
    except Exception:
        return {}
    return out
