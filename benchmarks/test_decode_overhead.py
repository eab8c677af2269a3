"""Decode steps without the host language's cost: the text-lm through the Python agent vs the native runner.

Each runner times the same thing per decode step: the Run call on feeds made before it, the KV
cache handed to the next step after it (runner/src/kinds.cpp, lm_generate; agent.py,
_BoundSteps.decode); the greedy argmax is outside on both sides. Per round, four runners generate
from the same prompt with the same model, their order rotating so drift hits each alike, all pinned
to one CPU (HARNESS_DECODE_CPUS): the native runner and the agent with each ``params.kv_cache``
path — ``iobinding`` (the default: before each step, untimed, the step's feeds and the last step's
present OrtValues are bound as inputs and the outputs bound to the CPU; the timed call is the
binding's Run alone), ``direct`` (the cache as OrtValues through ``run_with_ort_values``: the feed
dict is converted inside the call) and ``numpy`` (the public ``InferenceSession.run``). Reported per
precision (fp32, int8, int4 — the target's rows — and a tiny decoder of the same I/O whose steps
are nearly all per-call cost): the quartiles over rounds of native/agent per round (decode-step
medians and 10th percentiles; target: the default within +-5 % of 1), the per-step cost each agent
path adds over native in microseconds, and the host's load average before and after.
test_decode_interpreter_cost.py splits what is left, in one process.
Tokens must agree (asserted); the timings are measurements, not asserts.

Run: .venv/bin/pytest benchmarks/test_decode_overhead.py --benchmark-enable -s   (about 5 minutes)
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import onnx

from benchmarks.cpu_pinning import taskset_prefix
from benchmarks.rounds import median_ci95
from harness.builds import calibration, convert
from harness.builds.runner import build_runner, runners_root
from harness.builds.text_lm import LMConfig, build_text_lm
from harness.config.loader import load_workloads
from harness.session.jobs import agent_source

ROOT = Path(__file__).resolve().parents[1]
THREADS = {"intra_op_num_threads": 1, "inter_op_num_threads": 1}  # 2 threads collapse on a busy 2-core host
PROMPT, GENERATE = 16, 64
#: short runs, many rounds: the host changes speed for seconds at a stretch (one vCPU ran steps at twice
#: their time), and a round's ratio holds only while its four runs share one such stretch
MEASURE = {"warmup": 2, "warmup_s": 0.2, "min_iterations": 10, "min_seconds": 0.5, "max_seconds": 1.5}
ROUNDS = 16
QUICK = {"warmup": 1, "warmup_s": 0.0, "min_iterations": 2, "min_seconds": 0.0, "max_seconds": 4.0}
#: per run, the decode steps' median and 10th percentile: on a shared host the fastest tenth of the
#: steps is where other processes took the least, so a fixed per-call cost shows most plainly there
STATS = ("p10", "median")
RUNNERS = ("native", "agent: iobinding", "agent: direct", "agent: numpy")  # the agent's default first
TARGET = 0.05  # issue 21: the default path's text-lm decode steps within +-5 % of the native runner
#: HARNESS_DECODE_CPUS: the CPU every runner is pinned to (taskset -c; "auto", the default: the last CPU
#: this process may use; "none": unpinned). Unpinned, a round's runners can land on vCPUs that run apart.
CPUS = os.environ.get("HARNESS_DECODE_CPUS", "auto")


#: the rows issue 21's target is about: the built-in text-lm at each precision
TARGET_ROWS = ("fp32", "int8", "int4")
#: a 4-layer decoder of the same I/O (11 inputs, 9 outputs) with hardly any compute per step
TINY = LMConfig(vocab=64, hidden=32, heads=4, kv_heads=2, ffn=64, layers=4)


def _models(tmp: Path) -> dict[str, Path]:
    """The built-in text-lm (its workload YAML's options and seed) at fp32, int8 and int4, and the tiny decoder."""
    wl, _ = load_workloads(ROOT / "workloads")["text-lm"]
    cfg = LMConfig.from_options(dict(wl.model.options))
    model = build_text_lm(cfg, wl.seed)
    prompt = np.random.default_rng(1).integers(2, cfg.vocab, (1, PROMPT), dtype=np.int64)
    feeds = calibration.lm_feeds(model, {"p/input_ids": prompt}, 4)
    out = {}
    tiny = build_text_lm(TINY, wl.seed)  # compute next to nothing: the per-call cost alone
    quantized = [(prec, convert.convert(prec, model, feeds).model) for prec in ("int8", "int4")]
    for prec, m in (("fp32", model), *quantized, ("tiny fp32", tiny)):
        out[prec] = tmp / f"text-lm.{prec.replace(' ', '-')}.onnx"
        onnx.save(m, out[prec])
    return out


def _run(argv: list[str], model: Path, inputs: Path, out: Path, measure: dict[str, Any],
         kv_cache: str) -> dict[str, Any]:
    out.mkdir(parents=True)
    grid = [{"label": f"p{PROMPT}g{GENERATE}", "prompt": f"p{PROMPT}", "generate": GENERATE}]
    job = {"protocol": 1, "kind": "text-generation", "models": {"model": str(model)}, "inputs": str(inputs),
           "params": {"grid": grid, "kv_cache": kv_cache}, "session": THREADS, "measure": measure,
           "out_dir": str(out), "save_outputs": True}
    (out / "job.json").write_text(json.dumps(job))
    subprocess.run([*argv, str(out / "job.json")], check=True, capture_output=True)
    r = json.loads((out / "result.json").read_text())
    assert r["status"] == "ok", r["error"]
    with np.load(out / "outputs.npz") as z:
        tokens = z[f"p{PROMPT}g{GENERATE}/tokens"]
    steps = r["series"][f"decode_ms@p{PROMPT}g{GENERATE}"]["samples"]
    return {"decode_ms": {"p10": float(np.percentile(steps, 10)), "median": float(np.median(steps))},
            "tokens": tokens, "kv_cache": r["session"].get("kv_cache")}


def _rounds(models: dict[str, Path], native: list[str], tmp: Path, rounds: int, measure: dict[str, Any],
            pin: list[str]) -> dict:
    agent = [*pin, sys.executable, str(agent_source())]
    argv = {who: (native if who == "native" else agent, who.rpartition(" ")[2]) for who in RUNNERS}
    tmp.mkdir(parents=True, exist_ok=True)
    inputs = tmp / "inputs.npz"
    np.savez(inputs, **{f"p{PROMPT}/input_ids": np.random.default_rng(2).integers(2, TINY.vocab, (1, PROMPT))})
    report: dict[str, Any] = {}
    for prec, model in models.items():
        got: dict[str, list[dict[str, float]]] = {who: [] for who in RUNNERS}
        for i in range(rounds):
            order = RUNNERS[i % len(RUNNERS):] + RUNNERS[:i % len(RUNNERS)]
            res = {who: _run(argv[who][0], model, inputs, tmp / prec / f"{i}-{k}", measure, argv[who][1])
                   for k, who in enumerate(order)}
            for who in RUNNERS:
                np.testing.assert_array_equal(res[who]["tokens"], res["native"]["tokens"], err_msg=who)
                got[who].append(res[who]["decode_ms"])
                if who != "native":
                    assert res[who]["kv_cache"] == argv[who][1]
        report[prec] = {}
        for stat in STATS:
            native_ms = [g[stat] for g in got["native"]]
            report[prec][stat] = {"native_step_ms": statistics.median(native_ms), **{
                who: {"ratio_native_over_agent": _quartiles([n / a[stat] for n, a in zip(native_ms, got[who])]),
                      "median_ci95": median_ci95([n / a[stat] for n, a in zip(native_ms, got[who])]),
                      "added_us_per_step": statistics.median((a[stat] - n) * 1000 for n, a in zip(native_ms, got[who])),
                      "step_ms": statistics.median(a[stat] for a in got[who])}
                for who in RUNNERS[1:]}}
    return report


def _quartiles(values: list[float]) -> list[float]:
    """[25th, 50th, 75th] percentiles over rounds (one value: itself thrice)."""
    return [float(np.percentile(values, q)) for q in (25, 50, 75)]


def test_decode_steps_agent_vs_native(benchmark, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    bundle = build_runner("linux-x86_64", runners_root())  # what devices/local-native.yaml names
    pin, pinned = taskset_prefix(THREADS["intra_op_num_threads"], CPUS)
    native = [*pin, "sh", str(bundle.path / "run.sh")]
    models = _models(tmp_path)
    # without --benchmark-enable (CI): one quick round, for the token agreement of the three paths
    rounds, measure = (1, QUICK) if benchmark.disabled else (ROUNDS, MEASURE)
    load_before = os.getloadavg()
    report = benchmark.pedantic(_rounds, args=(models, native, tmp_path / "runs", rounds, measure, pin),
                                rounds=1, iterations=1)
    load = {"before": load_before, "after": os.getloadavg(), "cpus": os.cpu_count()}
    benchmark.extra_info.update({"rounds": rounds, "threads": THREADS, "decode": report, "loadavg": load,
                                 "cpus": pinned})
    print(f"\ntext-lm decode steps (p{PROMPT}, {GENERATE} tokens, {THREADS['intra_op_num_threads']} threads, CPU "
          f"{pinned}), {rounds} interleaved rounds; load average (1, 5, 15 min) before {_load(load['before'])}, "
          f"after {_load(load['after'])} on {load['cpus']} CPUs; native/agent as quartiles over rounds:")
    for prec, by_stat in report.items():
        for stat, r in by_stat.items():
            print(f"  {prec} ({stat} step): native {r['native_step_ms'] * 1000:.0f} us; " + "; ".join(
                f"{who} {r[who]['step_ms'] * 1000:.0f} us, native/agent "
                + "/".join(f"{q:.3f}" for q in r[who]["ratio_native_over_agent"])
                + f" ({r[who]['added_us_per_step']:+.1f} us)" for who in RUNNERS[1:]))
    default = RUNNERS[1]
    median = {prec: by_stat["p10"][default]["ratio_native_over_agent"][1] for prec, by_stat in report.items()}
    ci = {prec: by_stat["p10"][default]["median_ci95"] for prec, by_stat in report.items()}
    print(f"  {default} (the default), text-lm p10 step within +-{TARGET:.0%} of native (median over rounds, "
          "its 95 % bootstrap interval): " + "; ".join(
              f"{prec} {'yes' if abs(1 - q) <= TARGET else 'NO'} ({q:.3f}, {ci[prec][0]:.3f}-{ci[prec][1]:.3f})"
              for prec, q in median.items() if prec in TARGET_ROWS))
    print("  the per-call floor (not a target row: steps of nearly no compute, where the interpreter between "
          "steps weighs most): " + "; ".join(f"{prec} {q:.3f}" for prec, q in median.items()
                                             if prec not in TARGET_ROWS))


def _load(avg: tuple[float, ...]) -> str:
    return ", ".join(f"{x:.1f}" for x in avg)
