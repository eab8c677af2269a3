"""Energy per unit of work of groups of steady windows, e.g. an llm cell's phases.

The power probe's ``energy_mj_per_inference`` spreads the net energy of every steady window over
every inference. For an llm cell that would mix a prompt token (prefill: one batched call for many
tokens) with a generated token (one decode step each), which cost very differently. Here each
group of windows gets its own figure: the net energy of its windows (power above the idle
baseline x window length, the same window arithmetic as ``power.summarize_power``) divided by the
units of work timed in them. An llm cell's groups are its ``tg`` windows with the tokens generated
in them and its ``pp`` windows with the prompt tokens processed in them (session.llm_cell).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from harness.config.probes import ProbesConfig
from harness.probes.hooks import ProbePlan, power_method
from harness.probes.power import summarize_power
from harness.probes.sources import SOURCES
from harness.records import MetricValue


@dataclass(frozen=True)
class WindowGroup:
    """Steady windows (names in the result's ``windows``) and the units of work timed in them."""

    windows: Sequence[str]
    units: int
    what: str  # e.g. "generated tokens", in the metric's method


@dataclass
class GroupEnergy:
    metrics: list[MetricValue] = field(default_factory=list)
    samples: dict[str, np.ndarray] = field(default_factory=dict)
    flags: list[str] = field(default_factory=list)


def group_energy(cfg: ProbesConfig, plan: ProbePlan, result: Mapping[str, Any],
                 groups: Mapping[str, WindowGroup]) -> GroupEnergy:
    """{metric name: group} -> one mJ-per-unit metric per group the power source covered, net of
    idle when the job had an idle window (the method says which)."""
    out = GroupEnergy()
    if plan.power is None or not plan.power.specs:
        return out
    series = SOURCES[plan.power.source].parse(cfg.power, plan.power, dict(result.get("probes") or {}))
    windows = dict(result.get("windows") or {})
    method = power_method(plan.power)
    for name, group in groups.items():
        picked = {w: windows[w] for w in group.windows if windows.get(w)}
        if not picked or group.units <= 0:
            continue
        if windows.get("idle"):
            picked["idle"] = windows["idle"]
        summary = summarize_power(series, picked, group.units, method, slack_s=2.0 * cfg.power.interval_s)
        energy = next((m for m in summary.metrics if m.name == "energy_mj_per_inference"), None)
        out.flags += [f for f in summary.flags if f not in out.flags]
        if energy is None:
            continue
        out.metrics.append(MetricValue(name, energy.value, "mJ", "noisy",
                                       f"{energy.method}; the {', '.join(sorted(group.windows))} windows' energy / "
                                       f"{group.units} {group.what} timed in them"))
        out.samples[name] = summary.samples["energy_mj_per_inference"]
    return out
