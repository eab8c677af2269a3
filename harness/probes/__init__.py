"""Probes: what the device can tell about power, heat, memory and clocks.

The session calls three hooks per cell (see harness/session):
  plan_probes(cfg, transport) -> ProbePlan          what the agent should sample
  thermal_gate(cfg, transport) -> GateResult        wait (bounded) for a cool start
  interpret(cfg, plan, result, inferences) -> ProbeOutcome   raw samples -> metrics
"""

from harness.probes.hooks import GateResult, ProbeOutcome, ProbePlan, interpret, plan_probes, thermal_gate

__all__ = ["GateResult", "ProbeOutcome", "ProbePlan", "interpret", "plan_probes", "thermal_gate"]
