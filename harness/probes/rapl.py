"""Linux RAPL: ``/sys/class/powercap/intel-rapl:0/energy_uj``, a cumulative µJ counter.

The counter wraps to 0 after ``max_energy_range_uj``; a negative step means one wrap.
Power between two reads is ΔE/Δt, placed at the midpoint. Since 2020 kernels make
energy_uj root-only (CVE-2020-8694).
"""

from __future__ import annotations

import posixpath

import numpy as np

from harness.config.probes import PowerConfig
from harness.probes.power import PowerPlan, PowerSeries, probe_values, to_floats
from harness.transport.base import Transport


def unwrap(energy_uj: np.ndarray, max_range_uj: float | None) -> np.ndarray:
    """Per-step energy deltas in µJ, correcting counter wrap-arounds."""
    d = np.diff(energy_uj)
    if max_range_uj:
        d = np.where(d < 0, d + max_range_uj, d)
    return d


def power_from_counter(t: np.ndarray, energy_uj: np.ndarray, max_range_uj: float | None) -> tuple:
    """(midpoint times, watts) from cumulative counter reads."""
    if t.size < 2:
        return np.zeros(0), np.zeros(0)
    dt = np.diff(t)
    d = unwrap(energy_uj, max_range_uj)
    ok = dt > 0
    return ((t[1:] + t[:-1]) / 2.0)[ok], (d[ok] / 1e6) / dt[ok]


def plan(cfg: PowerConfig, transport: Transport) -> PowerPlan:
    max_path = cfg.max_energy_path or posixpath.join(posixpath.dirname(cfg.energy_path), "max_energy_range_uj")
    text = transport.read_text(max_path)
    pp = PowerPlan(
        source="rapl",
        tier=cfg.tier,
        detail=f"RAPL {cfg.energy_path} (ΔE/Δt)",
        specs=[{"name": "power.energy", "kind": "file", "path": cfg.energy_path, "interval_s": cfg.interval_s}],
    )
    try:
        pp.ctx["max_range_uj"] = float(text.split()[0]) if text else None
    except ValueError:
        pp.ctx["max_range_uj"] = None
    if pp.ctx["max_range_uj"] is None:
        pp.errors.append(f"power: cannot read {max_path}; counter wrap-around not corrected")
    return pp


def parse(cfg: PowerConfig, pp: PowerPlan, probes: dict) -> PowerSeries:
    t, raw, err = probe_values(probes, "power.energy")
    t, e = to_floats(raw, t)
    errors = [f"power: {cfg.energy_path}: {err} (energy_uj is root-only on recent kernels)"] if err else []
    tm, w = power_from_counter(t, e, pp.ctx.get("max_range_uj"))
    return PowerSeries(tm, w, errors)
