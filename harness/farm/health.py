"""Farm health for one night, read back from the store (so every shard's runs merge into one view).

Per device: online / quarantined (preflight or N failures in a row) with the reason, cells
ok / failed / known-failing / skipped / missing, time spent (preflight + every cell's wall
time), and a noise score (median calibrated run-to-run σ_run, %) when `harness calibrate` has run.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from datetime import datetime, timezone
from typing import Any

from harness.farm.selection import KNOWN, PREFLIGHT
from harness.results.store import Store

FAILED = ("failed", "timeout", "accuracy_fail", "thermal_gated")


def night_runs(store: Store, farm: str, night: str) -> list[dict[str, Any]]:
    """Every nightly run of this farm and night (all shards, oldest first)."""
    runs = [r for r in store.list_runs() if r.get("kind") == "nightly"
            and (r.get("labels") or {}).get("farm") == farm and (r.get("labels") or {}).get("night") == night]
    return sorted(runs, key=lambda r: r["created_at"])


def _device_ok(run: dict[str, Any]) -> dict[str, bool]:
    """Per device of one nightly run: passed preflight and was not quarantined or unavailable mid-run."""
    ok = {pf["device"]: bool(pf["ok"]) for pf in (run.get("labels") or {}).get("preflight", [])}
    summary = run.get("summary") or {}
    for part in (summary, summary.get("previous") or {}):
        for name, stats in (part.get("devices") or {}).items():
            if name in ok and (stats.get("quarantined") or stats.get("error")):
                ok[name] = False
    return ok


def streaks(store: Store, farm: str, night: str) -> dict[str, dict[str, Any]]:
    """Per device: how many nights in a row up to ``night`` it was quarantined, and its last good night.

    A device sick for weeks must be loud, not silently absent from every night's results."""
    nights: dict[str, dict[str, bool]] = {}
    for r in store.list_runs():
        labels = r.get("labels") or {}
        if r.get("kind") == "nightly" and labels.get("farm") == farm and str(labels.get("night")) <= night:
            for dev, ok in _device_ok(r).items():
                per = nights.setdefault(str(labels["night"]), {})
                per[dev] = per.get(dev, True) and ok
    out: dict[str, dict[str, Any]] = {}
    for n in sorted(nights, reverse=True):  # newest first
        for dev, ok in nights[n].items():
            s = out.setdefault(dev, {"bad_nights": 0, "last_ok_night": None, "counting": True})
            if ok and s["last_ok_night"] is None:
                s["last_ok_night"] = n
            if s["counting"]:
                if ok:
                    s["counting"] = False
                else:
                    s["bad_nights"] += 1
    return {d: {k: v for k, v in s.items() if k != "counting"} for d, s in out.items()}


def _noise(store: Store) -> dict[str, float]:
    """Per device fingerprint: the median calibrated run-to-run σ_run across its series, in %."""
    from harness.views.noise import device_noise

    return {fp: round(v, 3) for fp, v in device_noise(store).items()}


def farm_health(store: Store, farm: str, night: str, expected: Sequence[str] = ()) -> dict[str, Any]:
    """``expected``: the farm's devices; one that no shard has run tonight is listed as ``no run``."""
    runs = night_runs(store, farm, night)
    cells = store.cells_frame([r["run_id"] for r in runs]) if runs else None
    noise = _noise(store)
    devices: dict[str, dict[str, Any]] = {}
    for run in runs:
        labels = run.get("labels") or {}
        for pf in labels.get("preflight", []):
            devices[pf["device"]] = {
                "device": pf["device"], "shard": labels.get("shard"), "run_id": run["run_id"],
                "state": "online" if pf["ok"] else "quarantined",
                "reason": None if pf["ok"] else PREFLIGHT + str(pf["reason"]),
                "preflight": pf.get("facts", {}), "preflight_s": pf.get("duration_s", 0.0),
                "planned": 0, "cells": {}, "known_failing": 0, "missing": 0, "time_s": pf.get("duration_s", 0.0),
                "noise_pct": None, "fingerprint": None,
            }
        done = set(cells.loc[cells["run_id"] == run["run_id"], "cell_key"]) if cells is not None else set()
        for c in run.get("plan", []):
            d = devices.get(c["device"])
            if d is None:
                continue
            d["planned"] += 1
            d["missing"] += c["key"] not in done
    if cells is not None:
        for row in cells.itertuples():
            d = devices.get(row.device)
            if d is None:
                continue
            d["cells"][row.status] = d["cells"].get(row.status, 0) + 1
            err = row.error or ""
            d["known_failing"] += row.status == "skipped" and err.startswith(KNOWN)
            if row.status == "skipped" and err.startswith("quarantined after"):
                d["state"], d["reason"] = "quarantined", err
            wall = float(row.wall_s) if row.wall_s is not None else 0.0
            d["time_s"] += wall if math.isfinite(wall) else 0.0
            if row.device_fingerprint:
                d["fingerprint"] = row.device_fingerprint
                d["noise_pct"] = noise.get(row.device_fingerprint)
    for name in expected:
        if name not in devices:
            devices[name] = {
                "device": name, "shard": None, "run_id": None, "state": "no run",
                "reason": "no nightly run has covered this device tonight (its shard has not reported)",
                "preflight": {}, "preflight_s": 0.0, "planned": 0, "cells": {}, "known_failing": 0, "missing": 0,
                "time_s": 0.0, "noise_pct": None, "fingerprint": None,
            }
    history = streaks(store, farm, night)
    for name, d in devices.items():
        d.update(history.get(name, {"bad_nights": 0, "last_ok_night": None}))
    order = {"quarantined": 0, "no run": 1, "online": 2}
    items = sorted(devices.values(), key=lambda d: (order[d["state"]], -d["bad_nights"], d["device"]))
    for d in items:
        d["time_s"] = round(d["time_s"], 3)
    statuses: Counter[str] = Counter()
    for d in items:
        statuses.update(d["cells"])
    known = sum(d["known_failing"] for d in items)
    return {
        "farm": farm,
        "night": night,
        "generated_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "runs": [{"run_id": r["run_id"], "shard": (r.get("labels") or {}).get("shard"), "status": r["status"],
                  "host": r.get("host"), "build_id": r.get("build_id"), "created_at": r["created_at"],
                  "finished_at": r.get("finished_at")} for r in runs],
        "totals": {
            "devices": len(items),
            "online": sum(d["state"] == "online" for d in items),
            "quarantined": sum(d["state"] == "quarantined" for d in items),
            "no_run": sum(d["state"] == "no run" for d in items),
            "cells_ok": statuses.get("ok", 0),
            "cells_failed": sum(statuses.get(s, 0) for s in FAILED),
            "cells_known_failing": known,
            "cells_skipped": statuses.get("skipped", 0) - known,
            "cells_missing": sum(d["missing"] for d in items),
            "cells_stored": sum(statuses.values()),
        },
        "devices": items,
    }


def quarantined(health: dict[str, Any]) -> Sequence[dict[str, Any]]:
    return [d for d in health["devices"] if d["state"] == "quarantined"]
