"""The three probe hooks the session calls around each cell."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from harness.config.probes import ProbesConfig
from harness.results.records import MetricValue
from harness.transport.base import Transport


@dataclass
class ProbePlan:
    specs: list[dict[str, Any]] = field(default_factory=list)  # agent job "probes"
    snapshots: dict[str, str] = field(default_factory=dict)  # agent job "snapshots"
    idle_s: float = 0.0


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


def plan_probes(cfg: ProbesConfig, transport: Transport) -> ProbePlan:
    """No power source declared and no thermal zones: nothing to sample."""
    return ProbePlan()


def thermal_gate(cfg: ProbesConfig, transport: Transport) -> GateResult:
    if cfg.thermal.max_start_temp_c is None:
        return GateResult(status="ok")
    return GateResult(status="unknown", reason="no thermal zones declared to read")


def interpret(cfg: ProbesConfig, plan: ProbePlan, result: dict[str, Any], inferences: int) -> ProbeOutcome:
    return ProbeOutcome()
