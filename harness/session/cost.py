"""The cost of a prepared run before it starts: its cells' estimates from the store and the
workloads' measure settings (the arithmetic lives in analysis.run_cost)."""

from __future__ import annotations

from harness.analysis.run_cost import RunCost, cell_cost, run_cost, settings_floor_s
from harness.config.models import Workload
from harness.results.cell_walls import earlier_walls
from harness.session.launch import PreparedRun


def measured_windows(workload: Workload) -> int:
    """How many warm-up + steady windows one cell of the workload measures (one per series group)."""
    if workload.kind == "text-generation" and workload.generation is not None:
        return len(workload.generation.prompt) * len(workload.generation.generate)
    if workload.kind == "translation" and workload.translation is not None:
        return len(workload.translation.source_len)
    if workload.kind == "llm" and workload.llm is not None:  # every pp and tg test at every depth: its own window
        return len(workload.llm.depths) * (len(workload.llm.pp) + len(workload.llm.tg))
    return len(workload.batch_sizes)


def estimate_run(prep: PreparedRun) -> RunCost:
    """Every cell still to run, from earlier runs of it in the store or from its measure settings."""
    history = earlier_walls(prep.store, [(c.device, c.workload, c.precision, c.backend) for c in prep.todo])
    costs = []
    for c in prep.todo:
        workload = prep.ctx.workloads[c.workload][0]
        m = workload.measure
        floor = settings_floor_s(measured_windows(workload), m.warmup_s, m.min_seconds)
        costs.append(cell_cost(c.key, c.device, floor, history.get((c.device, c.workload, c.precision, c.backend), [])))
    return run_cost(costs)
