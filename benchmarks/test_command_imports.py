"""CPU time of a fresh process importing what a command imports before it works (issue: the suite's wall time).

Every end-to-end test starts `harness` processes, several per test; their imports were ~2.8 s CPU each
(scipy.stats ~1.2 s at the import of any analysis module; onnx ~1.3 s, ~1.1 s of it ml_dtypes 0.7.0's
extension). The floor is what a command that reads the store cannot avoid: pandas + SQLAlchemy. Each
figure is the median of several fresh processes after one warm-up (the bytecode cache), with its ratio to
the floor. With timing off (CI) only the run command's imports run, once, and the libraries they load
are checked. Run:
  .venv/bin/pytest benchmarks/test_command_imports.py -s --benchmark-enable
"""

from __future__ import annotations

import json
import os
import resource
import statistics
import subprocess
import sys

ROUNDS = int(os.environ.get("HARNESS_BENCH_ROUNDS", "5"))
FLOOR = "import pandas, sqlalchemy"
IMPORTS = {
    "floor: pandas + sqlalchemy": FLOOR,
    # commands/run.py's deferred imports, in the order it makes them (a run of an already-built build)
    "harness run": "import harness.commands.run, harness.analysis.run_cost, harness.analysis.run_verdict, "
                   "harness.report.run_report, harness.results.run_refs, harness.session.cost, "
                   "harness.session.launch, harness.views.results_matrix",
    "harness compare": "import harness.commands.compare, harness.views.compare, harness.report.render_compare",
    "harness publish": "import harness.commands.publish, harness.report.site.publish",
    "import onnx": "import onnx",
}
NOT_LOADED = {"harness run": ("scipy.stats", "onnx"), "harness compare": ("scipy.stats", "onnx"),
              "harness publish": ("scipy.stats", "onnx")}
ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


def child_cpu_s(code: str) -> tuple[float, set[str]]:
    """User + system CPU seconds of one fresh `python -c CODE`, and the modules it loaded."""
    probe = f"{code}\nimport sys, json\nprint(json.dumps(sorted(sys.modules)))"
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    proc = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=300, env=ENV)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    assert proc.returncode == 0, proc.stderr[-2000:]
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return cpu, set(json.loads(proc.stdout.splitlines()[-1]))


def test_command_import_cpu(benchmark) -> None:
    medians: dict[str, float] = {}
    loaded: dict[str, set[str]] = {}
    rounds = 1 if benchmark.disabled else ROUNDS

    def body() -> None:
        for name, code in IMPORTS.items():
            if benchmark.disabled and name != "harness run":
                continue  # timing off: one process (tests/commands/test_cli_imports.py checks every module)
            _, loaded[name] = child_cpu_s(code)  # the first also writes the bytecode cache (a warm-up)
            if not benchmark.disabled:
                medians[name] = statistics.median(child_cpu_s(code)[0] for _ in range(rounds))

    benchmark.pedantic(body, rounds=1, iterations=1)
    for name, libs in NOT_LOADED.items():
        if name in loaded:
            assert not set(libs) & loaded[name], (name, sorted(set(libs) & loaded[name]))
    if benchmark.disabled:
        return
    floor = medians["floor: pandas + sqlalchemy"]
    lines = [f"CPU time of a fresh process importing a command's modules, median of {rounds}:"]
    for name, cpu in medians.items():
        lines.append(f"  {name:<28} {cpu:.3f} s  (ratio to the floor {cpu / floor:.2f})")
        benchmark.extra_info[name] = round(cpu, 3)
    print("\n" + "\n".join(lines))
