"""CPU time of `harness --help`, `harness --version` and `harness compare --help` in a fresh process.

Goal (issue 24): <= 0.3 s of CPU for `--help` and `--version` on this machine (they took 1.3-1.5 s
when `import harness.cli` loaded pandas, SQLAlchemy and the exporters). CPU, not wall: the machine is
shared; the interpreter alone (`python -c pass`) is measured beside it as the floor. The figure is the
median of several fresh processes (user + system time of the child), after one warm-up that writes the
bytecode cache as any user's first call does (PYTHONDONTWRITEBYTECODE is dropped for the children:
compiling harness's modules from source on every call costs another ~0.05 s). Run:
  .venv/bin/pytest benchmarks/test_cli_startup.py -s --benchmark-enable
"""

from __future__ import annotations

import os
import resource
import statistics
import subprocess
import sys

GOAL_CPU_S = 0.3
ROUNDS = int(os.environ.get("HARNESS_BENCH_ROUNDS", "7"))
COMMANDS = {
    "python -c pass": ["-c", "pass"],
    "harness --help": ["-m", "harness", "--help"],
    "harness --version": ["-m", "harness", "--version"],
    "harness compare --help": ["-m", "harness", "compare", "--help"],
}


ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


def child_cpu_s(args: list[str]) -> float:
    """User + system CPU seconds of one fresh `python ARGS` (and its exit code checked)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    proc = subprocess.run([sys.executable, *args], capture_output=True, text=True, timeout=120, env=ENV)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def test_cli_startup_cpu(benchmark) -> None:
    medians: dict[str, float] = {}
    rounds = 1 if benchmark.disabled else ROUNDS  # timing off (CI): each command once, its exit code checked

    def body() -> None:
        for args in COMMANDS.values():
            child_cpu_s(args)  # warm-up: the bytecode cache
        for name, args in COMMANDS.items():
            medians[name] = statistics.median(child_cpu_s(args) for _ in range(rounds))

    benchmark.pedantic(body, rounds=1, iterations=1)
    lines = [f"CPU time of a fresh process, median of {rounds} (goal {GOAL_CPU_S} s for --help / --version):"]
    for name, cpu in medians.items():
        lines.append(f"  {name:<24} {cpu:.3f} s  (ratio to goal {cpu / GOAL_CPU_S:.2f})")
        benchmark.extra_info[name] = round(cpu, 3)
    print("\n" + "\n".join(lines))
