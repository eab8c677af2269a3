"""The three probe hooks the session calls around each cell.

plan_probes  -> what the agent samples (specs), reads before/after (snapshots), idle window
thermal_gate -> a measured wait for a cool start, bounded; "gated" when still hot
interpret    -> raw samples -> metrics (each with method and quality tier), flags, info

Flags starting with "throttled:" mean the cell ran throttled (``ProbeOutcome.throttled``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from harness.config.probes import ProbesConfig
from harness.probes import clocks, memory, thermal, throttling
from harness.probes.power import PowerPlan, summarize_power
from harness.probes.sources import SOURCES
from harness.records import MetricValue
from harness.transport.base import Transport


@dataclass
class ProbePlan:
    specs: list[dict[str, Any]] = field(default_factory=list)  # agent job "probes"
    snapshots: dict[str, str] = field(default_factory=dict)  # agent job "snapshots"
    idle_s: float = 0.0
    power: PowerPlan | None = None
    zones: dict[str, str] = field(default_factory=dict)  # thermal temp path -> label
    policies: list[str] = field(default_factory=list)  # cpufreq policy dirs
    errors: list[str] = field(default_factory=list)
    info: dict[str, Any] = field(default_factory=dict)  # read on the host before the cell


@dataclass
class GateResult:
    status: str = "ok"  # ok / gated (still too hot after the bounded wait) / unknown
    waited_s: float = 0.0
    start_temp_c: float | None = None
    reason: str | None = None


@dataclass
class ProbeOutcome:
    metrics: list[MetricValue] = field(default_factory=list)
    samples: dict[str, np.ndarray] = field(default_factory=dict)
    flags: list[str] = field(default_factory=list)  # e.g. "throttled: cpu0 at 1.2/2.4 GHz"
    info: dict[str, Any] = field(default_factory=dict)

    @property
    def throttled(self) -> bool:
        return any(f.startswith("throttled") for f in self.flags)


def plan_probes(cfg: ProbesConfig, transport: Transport) -> ProbePlan:
    """Resolve every declared source on the device and build the agent's probe specs."""
    plan = ProbePlan()
    if cfg.power.source != "none":
        pp = SOURCES[cfg.power.source].plan(cfg.power, transport)
        plan.power = pp
        plan.specs += pp.specs
        plan.errors += pp.errors
        if pp.specs:
            plan.idle_s = cfg.power.idle_s
    if cfg.memory.pss:
        plan.specs.append(memory.pss_probe_spec(interval_s=cfg.memory.pss_interval_s))
    plan.zones = thermal.resolve_zones(cfg.thermal, transport)
    if cfg.thermal.zones and not plan.zones:
        plan.errors.append(f"thermal: no readable zone matches {cfg.thermal.zones} (types {cfg.thermal.zone_types})")
    specs, snaps = thermal.plan_specs(cfg.thermal, plan.zones)
    plan.specs += specs
    plan.snapshots.update(snaps)
    specs, snaps = throttling.plan_specs(cfg.throttling, transport)
    plan.specs += specs
    plan.snapshots.update(snaps)
    plan.policies = clocks.resolve_policies(cfg.clocks, transport)
    specs, snaps = clocks.plan_specs(cfg.clocks, plan.policies)
    plan.specs += specs
    plan.snapshots.update(snaps)
    if cfg.clocks.commands:
        plan.info["clock_commands"] = clocks.run_commands(cfg.clocks, transport)
    return plan


def thermal_gate(cfg: ProbesConfig, transport: Transport) -> GateResult:
    limit = cfg.thermal.max_start_temp_c
    if limit is None:
        return GateResult(status="ok")
    zones = thermal.resolve_zones(cfg.thermal, transport)
    if not zones:
        return GateResult(status="unknown", reason=f"no readable thermal zone matches {cfg.thermal.zones}")
    got = thermal.wait_cool(
        lambda: thermal.read_temps(transport, zones), limit, cfg.thermal.cooldown_max_s, cfg.thermal.cooldown_poll_s
    )
    return GateResult(status=got.status, waited_s=got.waited_s, start_temp_c=got.start_temp_c, reason=got.reason)


def power_method(plan: PowerPlan) -> str:
    """``<tier>:<source> <detail>`` — the tier first so tables can sort/filter by quality."""
    return f"{plan.tier}:{plan.source} {plan.detail}".strip()


def _overhead(result: dict[str, Any]) -> tuple[MetricValue | None, dict[str, float]]:
    per = {n: float(r.get("overhead_s") or 0.0) for n, r in (result.get("probes") or {}).items()}
    if not per:
        return None, per
    return MetricValue("probe_overhead_s", sum(per.values()), "s", "info", "agent sampler read time"), per


def interpret(cfg: ProbesConfig, plan: ProbePlan, result: dict[str, Any], inferences: int) -> ProbeOutcome:
    out = ProbeOutcome(flags=list(plan.errors), info=dict(plan.info))
    probes = result.get("probes") or {}
    windows = result.get("windows") or {}
    if plan.power is not None and plan.power.specs:
        series = SOURCES[plan.power.source].parse(cfg.power, plan.power, probes)
        slack = 2.0 * cfg.power.interval_s
        summary = summarize_power(series, windows, inferences, power_method(plan.power), slack_s=slack)
        out.metrics += summary.metrics
        out.samples.update(summary.samples)
        out.flags += summary.flags
        out.info["power"] = {"source": plan.power.source, "tier": plan.power.tier, **summary.info}
    if cfg.memory.pss:
        pss = memory.peak_pss_from_probe(result)
        if pss is not None:
            out.metrics.append(pss)
        else:
            rec = probes.get(memory.PSS_PROBE) or {}
            out.flags.append(f"memory: no PSS reading from dumpsys meminfo ({rec.get('error') or 'no TOTAL in its output'})")
    th = thermal.summarize(plan.zones, result)
    out.metrics += th.metrics
    if th.info:
        out.info["thermal"] = th.info
    flags, info = throttling.interpret(result)
    out.flags += flags
    if info:
        out.info["throttling"] = info
    flags, info = clocks.interpret(cfg.clocks, plan.policies, result)
    out.flags += flags
    if plan.policies or info.get("extra"):
        out.info["clocks"] = info
    metric, per = _overhead(result)
    if metric is not None:
        out.metrics.append(metric)
        out.info["probe_overhead_s"] = per
    return out
