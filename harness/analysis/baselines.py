"""Which earlier cell a cell's change is judged against: the last comparable *successful* one.

Pure: cells frames in, a mapping out. A baseline is the newest earlier cell of the same
device, workload, precision and backend (and device fingerprint, when the new cell knows
it) that measured (ok or accuracy_fail) with the same session settings. Failed, timed-out
or skipped cells are never baselines; a cell with no baseline has "no baseline yet" (not
"incomparable"): nothing earlier says what it should be.
"""

from __future__ import annotations

import json
from typing import Any

import pandas as pd

from harness.analysis.compare import MEASURED

KEY = ("device", "workload", "precision", "backend")


def identity_of(result_json: Any) -> dict[str, Any] | None:
    """The cell's configuration identity: result_json["identity"] (session settings, provider and
    its options, runner), else the agent's applied session settings of older stores; None when
    neither is known."""
    if not isinstance(result_json, str) or not result_json:
        return None
    try:
        result = json.loads(result_json)
    except ValueError:
        return None
    if not isinstance(result, dict):
        return None
    ident = result.get("identity") or ({"session": result["session"]} if result.get("session") else None)
    return ident if isinstance(ident, dict) else None


def same_configuration(a: dict[str, Any] | None, b: dict[str, Any] | None) -> bool:
    """Comparable unless a part both cells know differs (a store from before `identity` existed
    knows only the session settings: those are compared, not the parts it never recorded)."""
    if a is None or b is None:
        return True
    return all(a[k] == b[k] for k in a.keys() & b.keys())


def pick_baselines(history: pd.DataFrame, latest: pd.DataFrame) -> dict[int, int]:
    """latest cell id -> its baseline's cell id (cells without one are left out).

    Both frames carry Store.cells_frame columns (id, run_id, run_created_at, device, workload,
    precision, backend, device_fingerprint, status, result_json)."""
    if history.empty or latest.empty:
        return {}
    h = history[history["status"].isin(MEASURED)].copy()
    h["_ident"] = h["result_json"].map(identity_of)
    h = h.sort_values(["run_created_at", "id"], ascending=False)
    groups = {k: g for k, g in h.groupby(list(KEY), sort=False)}
    out: dict[int, int] = {}
    for c in latest.itertuples(index=False):
        cands = groups.get(tuple(getattr(c, k) for k in KEY))
        if cands is None:
            continue
        cands = cands[(cands["run_created_at"] < c.run_created_at) & (cands["run_id"] != c.run_id)]
        fp = c.device_fingerprint
        if isinstance(fp, str) and fp:
            cands = cands[cands["device_fingerprint"] == fp]
        ident = identity_of(c.result_json)
        for cid, other in zip(cands["id"], cands["_ident"]):
            if same_configuration(ident, other):
                out[int(c.id)] = int(cid)
                break
    return out
