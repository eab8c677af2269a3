"""Orchestration overhead of `harness run`: (wall − Σ measured time) / wall, with its parts.

The default matrix (every built-in workload × precision on the local device, Python agent)
runs through the real `harness run` command in this process, with a cached build; each part
of the host's work is timed by wrapping the public function that does it:

- process start: the runner process outside its measured windows (interpreter and imports,
  EP placement, writing outputs) = Σ (agent exec wall − the cell's measured time); of which
  "interpreter + imports" is measured alone as ``agent.py --probe`` × cells. With prestart (the
  default for the Python agent) the next cell's agent does its imports while the current cell
  warms up (the handoff), so its exec wall counts from the job's delivery and the imports overlap;
- held: warm-up a cell went on with past its own rule, waiting for the next agent's start-up
  (the result's ``held_s``): inside the agent's measured time, but counted here as overhead;
- push: artifacts and inputs through the device cache, sha256 checks of the build included;
- reference: job inputs and the host's outputs of each precision (the fp32 fidelity reference
  and the cross-platform reference; cached beside the build, so a cached build's run reads them);
- store: committing each cell; report: the HTML page and the terminal summary;
- session: lock, runner install and probe, fingerprint; prepare: build reuse and the plan;
- other: the rest (job files, thermal gate, fidelity, pulling outputs, cleanup).

Measured time is what the agent counts as measurement (load + first inference + warm-up +
steady windows), less held. Target ≤ 10 %. A measurement, not an assert: numbers go to stdout and
extra_info. Run: .venv/bin/pytest benchmarks/test_orchestration_overhead.py --benchmark-enable -s
Without --benchmark-enable only the accounting itself is checked, on a two-cell run.
"""

from __future__ import annotations

import functools
import json
import statistics
import subprocess
import sys
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from harness.results.store import Store
from tests.commands.conftest import WORKLOAD
from tests.helpers import tiny_workloads

ROOT = Path(__file__).resolve().parents[1]
TARGET = 0.10


@dataclass
class Overhead:
    wall_s: float
    measured_s: float
    cells: int
    parts: dict[str, float] = field(default_factory=dict)
    imports_s: float = 0.0  # interpreter + numpy + onnxruntime, once per cell

    @property
    def overhead(self) -> float:
        return (self.wall_s - self.measured_s) / self.wall_s

    def lines(self) -> list[str]:
        out = [f"{self.cells} cells: wall {self.wall_s:.1f} s, measured {self.measured_s:.1f} s -> overhead "
               f"{self.overhead:.1%} (target <= {TARGET:.0%})"]
        for name, s in sorted(self.parts.items(), key=lambda kv: -kv[1]):
            extra = (f" (interpreter + imports alone ~{self.imports_s:.1f} s, mostly overlapped by prestart)"
                     if name == "process start" else "")
            out.append(f"  {name:14s} {s:6.2f} s  {s / self.wall_s:6.1%} of wall{extra}")
        return out


class PartTimers:
    """Wraps the public functions that do each part of the host's work; sums their wall time."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.spent: dict[str, float] = defaultdict(float)
        self.agent_exec: list[float] = []
        self._mp = monkeypatch

    def wrap(self, owner: Any, name: str, part: str) -> None:
        original: Callable[..., Any] = getattr(owner, name)
        spent = self.spent

        @functools.wraps(original)
        def timed(*args: Any, **kwargs: Any) -> Any:
            t0 = time.perf_counter()
            try:
                return original(*args, **kwargs)
            finally:
                spent[part] += time.perf_counter() - t0

        self._mp.setattr(owner, name, timed)

    def install(self) -> None:
        from harness.commands import run as run_cmd
        from harness.report import run_report
        from harness.session import device_session, host_cache, launch
        from harness.transport import base, local

        self.wrap(base.Transport, "push", "push")
        self.wrap(device_session, "verify_artifact", "push")
        self.wrap(host_cache.HostCache, "inputs", "reference")
        self.wrap(host_cache.HostCache, "host_outputs", "reference")  # reference() goes through it
        self.wrap(Store, "record_cell", "store")
        self.wrap(run_report, "write_run_report", "report")
        self.wrap(run_cmd, "render_summary", "report")
        self.wrap(device_session.DeviceSession, "open", "session")
        self.wrap(device_session.DeviceSession, "close", "session")
        self.wrap(launch, "prepare_run", "prepare")
        original_exec = local.LocalTransport.exec
        walls = self.agent_exec

        def exec_(transport: Any, argv: Sequence[str], timeout: float | None = None, **kw: Any) -> Any:
            res = original_exec(transport, argv, timeout, **kw)
            if str(argv[-1]).endswith("job.json"):
                walls.append(res.duration_s)
            return res

        self._mp.setattr(local.LocalTransport, "exec", exec_)
        original_run = local._LocalPrestarted.run

        def run_(ready: Any, stdin: str, timeout: float | None = None, **kw: Any) -> Any:  # a prestarted agent's job
            res = original_run(ready, stdin, timeout, **kw)
            walls.append(res.duration_s)
            return res

        self._mp.setattr(local._LocalPrestarted, "run", run_)


def imports_s(rounds: int = 3) -> float:
    """Median wall of the agent's environment probe: interpreter start + numpy + onnxruntime imports."""
    agent = ROOT / "harness" / "agent" / "agent.py"
    walls = []
    for _ in range(rounds):
        t0 = time.perf_counter()
        subprocess.run([sys.executable, str(agent), "--probe"], check=True, capture_output=True)
        walls.append(time.perf_counter() - t0)
    return statistics.median(walls)


def measure_overhead(monkeypatch: pytest.MonkeyPatch, tmp: Path, run_args: Sequence[str],
                     import_rounds: int = 3) -> Overhead:
    """`harness run` in this process with the parts timed; the store's cells give the measured time."""
    from harness.cli import app

    store_path = tmp / "store.db"
    monkeypatch.setenv("HARNESS_STORE", str(store_path))
    with pytest.MonkeyPatch.context() as wrapped:
        timers = PartTimers(wrapped)
        timers.install()
        t0 = time.perf_counter()
        app(["run", *run_args, "--report-dir", str(tmp / "reports" / "runs" / "bench")], standalone_mode=False)
        wall = time.perf_counter() - t0
    store = Store(store_path)
    cells = store.cells_frame([store.list_runs()[0]["run_id"]])
    store.close()
    agent_measured = float(cells["measure_s"].fillna(0).sum())
    held = sum(float(json.loads(r).get("held_s") or 0.0) for r in cells["result_json"])
    measured = agent_measured - held
    parts = dict(timers.spent)
    parts["process start"] = sum(timers.agent_exec) - agent_measured
    parts["held"] = held
    parts["other"] = wall - measured - sum(parts.values())
    return Overhead(wall, measured, len(cells), parts, imports_s(import_rounds) * len(timers.agent_exec))


def test_overhead_accounting_on_a_two_cell_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    workloads = tiny_workloads(tmp_path, WORKLOAD.format(precisions="[fp32, fp16]", min_seconds=0.2))
    monkeypatch.setenv("HARNESS_BUILDS", str(tmp_path / "builds"))
    # the accounting, not its figures: one import probe is enough here
    got = measure_overhead(monkeypatch, tmp_path, ["--workloads-dir", str(workloads)], import_rounds=1)
    print("\n" + "\n".join(got.lines()))
    assert got.cells == 2 and 0 < got.measured_s < got.wall_s
    assert set(got.parts) >= {"process start", "held", "push", "reference", "store", "report", "session", "prepare",
                              "other"}
    assert all(v >= 0 for k, v in got.parts.items() if k != "other")
    assert (tmp_path / "reports" / "runs" / "bench" / "index.html").is_file()


def test_overhead_of_the_default_matrix(benchmark, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    if benchmark.disabled:  # ~1-2 minutes on a 2-core host: only with --benchmark-enable / tox -e bench
        pytest.skip("measurement only; run with --benchmark-enable")
    from harness.builds.builder import build
    from harness.builds.manifest import load_manifest
    from harness.config.loader import load_workloads
    from harness.session.host_cache import HostCache

    monkeypatch.setenv("HARNESS_BUILDS", str(tmp_path / "builds"))
    workloads = load_workloads(ROOT / "workloads")
    build_dir = build(list(workloads.values()), tmp_path / "builds")  # the cached build
    host = HostCache(build_dir, load_manifest(build_dir), tmp_path / "host")
    for workload, path in workloads.values():  # its references, cached beside it by an earlier run
        for precision in load_manifest(build_dir).workloads[workload.name].precisions:
            host.host_outputs(workload, path, precision)
    got = benchmark.pedantic(measure_overhead, args=(monkeypatch, tmp_path, ["-d", "local"]), rounds=1, iterations=1)
    benchmark.extra_info.update({"wall_s": got.wall_s, "measured_s": got.measured_s, "overhead": got.overhead,
                                 "cells": got.cells, "imports_s": got.imports_s,
                                 **{f"part_{k.replace(' ', '_')}_s": v for k, v in got.parts.items()}})
    print("\n" + "\n".join(got.lines()))
