"""Where the agent's decode-step residual against the native runner lives, measured in one process.

test_decode_overhead.py compares the agent with the native runner, process against process. This
benchmark splits what is left: everything but the native runner runs inside pytest's own Python
process, on one CPU, the modes interleaved per round, every mode timing the same call per step (the
Run alone, on feeds made before it, the cache handed on after it, the argmax outside):

- **native runner**: the bundle's ort_runner, as test_decode_overhead runs it;
- **C loop**: benchmarks/decode_loop.c (built here with the host's cc against the headers the native
  runner is built with) on the library the native runner links (the onnxruntime wheel's
  ``libonnxruntime.so``), loaded with ctypes: decode steps with no interpreter between them, inside a
  Python process;
- **Python loop**: the same C functions on the same library, each step driven from Python —
  ``dl_feed``, a perf_counter around ``dl_run`` (the Run), ``dl_hand_on`` — the least interpreter a
  Python host can put between steps;
- **Python over the C API**: a decode loop written in Python over ORT's C API on that same library
  (benchmarks/ort_c_api.py, ctypes): what the agent would do if it left its binding for the native
  runner's library — the feeds, the cache's pointers, the releases and the argmax in Python;
- **agent**: the agent's default decode path (``kv_cache: iobinding``, its ``lm_generate``) on ORT's
  Python binding (its own build of ORT).

Read: native runner / C loop is the process (a Python process, its allocator, its other libraries);
C loop / Python loop is the least interpreter between steps on the very same code; C loop / Python
over the C API and C loop / agent are a Python decode loop on either library. Reported per precision,
as quartiles over rounds of each ratio of the rounds' p10 decode steps, and in microseconds a step.
Tokens of all five must agree (asserted); the timings are measurements, not asserts.

Run: .venv/bin/pytest benchmarks/test_decode_interpreter_cost.py --benchmark-enable -s   (about 3 minutes)
"""

from __future__ import annotations

import ctypes
import os
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import onnxruntime as ort
import pytest

from benchmarks.agent_module import load_agent
from benchmarks.cpu_pinning import taskset_prefix
from benchmarks.ort_c_api import CApi, CApiLoop
from benchmarks.test_decode_overhead import CPUS, GENERATE, PROMPT, QUICK, THREADS, TINY, _models, _run
from harness.builds.runner import build_runner, runners_root
from harness.builds.runner.parts import fetch_parts
from harness.builds.runner.targets import target_spec

SOURCE = Path(__file__).with_name("decode_loop.c")
MODES = ("native runner", "C loop", "Python loop", "Python over the C API", "agent")
ROUNDS = 12
#: per mode and round: generations until both are reached
MIN_GENERATIONS, MIN_SECONDS = 4, 0.5
#: the native runner's stopping rule here: as short as the in-process modes' (MIN_SECONDS)
MEASURE_NATIVE = {"warmup": 2, "warmup_s": 0.2, "min_iterations": MIN_GENERATIONS, "min_seconds": MIN_SECONDS,
                  "max_seconds": 1.5}
_TOKENS: dict[str, np.ndarray] = {}  # per precision, the first mode's tokens
#: the ratios reported, (numerator, denominator, what the ratio isolates)
SPLITS = (("native runner", "C loop", "the process"),
          ("C loop", "Python loop", "the least interpreter between steps"),
          ("C loop", "Python over the C API", "a Python decode loop on the native runner's library"),
          ("C loop", "agent", "the agent's decode loop on its binding"),
          ("native runner", "agent", "in all"))


class CLoop:
    """decode_loop.c loaded with ctypes on one libonnxruntime and one model."""

    def __init__(self, so: Path, library: Path, model: Path) -> None:
        self.lib = ctypes.CDLL(str(so))
        self.lib.dl_error.restype = ctypes.c_char_p
        i64p, i64 = ctypes.POINTER(ctypes.c_int64), ctypes.c_int64
        self.lib.dl_generate.argtypes = [i64p, i64, i64, ctypes.POINTER(ctypes.c_double), i64p]
        self.lib.dl_begin.argtypes = [i64p, i64, i64, i64p]
        self.lib.dl_feed.argtypes = self.lib.dl_hand_on.argtypes = [i64]
        self._check(self.lib.dl_init(str(library).encode(), str(model).encode(), THREADS["intra_op_num_threads"]))

    def _check(self, rc: int) -> None:
        if rc:
            raise RuntimeError(self.lib.dl_error().decode())

    def c_loop(self, prompt: np.ndarray) -> tuple[list[float], np.ndarray]:
        steps, tokens = (ctypes.c_double * (GENERATE - 1))(), np.zeros(GENERATE, dtype=np.int64)
        ids = np.ascontiguousarray(prompt.reshape(-1), dtype=np.int64)
        self._check(self.lib.dl_generate(ids.ctypes.data_as(ctypes.POINTER(ctypes.c_int64)), ids.size, GENERATE,
                                         steps, tokens.ctypes.data_as(ctypes.POINTER(ctypes.c_int64))))
        return list(steps), tokens

    def python_loop(self, prompt: np.ndarray) -> tuple[list[float], np.ndarray]:
        lib, clock = self.lib, time.perf_counter
        tokens = np.zeros(GENERATE, dtype=np.int64)
        ids = np.ascontiguousarray(prompt.reshape(-1), dtype=np.int64)
        self._check(lib.dl_begin(ids.ctypes.data_as(ctypes.POINTER(ctypes.c_int64)), ids.size, GENERATE,
                                 tokens.ctypes.data_as(ctypes.POINTER(ctypes.c_int64))))
        feed, run, hand_on, step_ms = lib.dl_feed, lib.dl_run, lib.dl_hand_on, []
        for s in range(1, GENERATE):
            if feed(s):
                self._check(1)
            t0 = clock()
            rc = run()
            step_ms.append((clock() - t0) * 1000.0)
            if rc or hand_on(s):
                self._check(1)
        return step_ms, tokens


def _build(tmp: Path, include: Path) -> Path:
    cc = shutil.which("cc") or shutil.which("gcc")
    if cc is None:
        pytest.skip("no C compiler (cc) to build benchmarks/decode_loop.c")
    so = tmp / "libdecode_loop.so"
    subprocess.run([cc, "-O2", "-shared", "-fPIC", f"-I{include}", str(SOURCE), "-o", str(so), "-ldl"], check=True,
                   capture_output=True)
    return so


def _generations(generate: Callable[[], tuple[list[float], np.ndarray]], measure: bool) -> tuple[float, np.ndarray]:
    """p10 of the decode steps over generations (at least MIN_GENERATIONS and MIN_SECONDS; one without
    measure), and the last generation's tokens."""
    steps: list[float] = []
    t_end, n = time.perf_counter() + (MIN_SECONDS if measure else 0.0), 0
    while n < (MIN_GENERATIONS if measure else 1) or time.perf_counter() < t_end:
        ms, tokens = generate()
        steps += ms
        n += 1
    return float(np.percentile(steps, 10)), np.asarray(tokens)


class _Timer:
    """The agent's timer interface (timed_call's), without its test-only slowdown."""

    slowdown = 0.0

    @staticmethod
    def call(fn: Callable[[], Any]) -> tuple[Any, float]:
        t0 = time.perf_counter()
        return fn(), (time.perf_counter() - t0) * 1000.0


def _in_process_modes(agent: Any, loop: CLoop, api: CApi, model: Path, prompt: np.ndarray
                      ) -> dict[str, Callable[[], Any]]:
    """The modes that run in this process: one generation each, (decode step ms, tokens)."""
    opts = ort.SessionOptions()
    opts.intra_op_num_threads, opts.inter_op_num_threads = THREADS["intra_op_num_threads"], 1
    sess = ort.InferenceSession(str(model), opts, providers=["CPUExecutionProvider"])
    past = next(i for i in sess.get_inputs() if i.name.startswith("past_key_values."))
    c_api = CApiLoop(api, model, THREADS["intra_op_num_threads"], [i.name for i in sess.get_inputs()],
                     [o.name for o in sess.get_outputs()], (past.shape[1], past.shape[3]),
                     sess.get_outputs()[0].shape[-1])

    def agent_generate() -> tuple[list[float], np.ndarray]:
        out = agent.lm_generate(np, sess, prompt, GENERATE, _Timer(), steps=agent.decode_steps(ort, np, sess, "iobinding"))
        return out["step_ms"], out["tokens"]

    return {"C loop": lambda: loop.c_loop(prompt), "Python loop": lambda: loop.python_loop(prompt),
            "Python over the C API": lambda: c_api.generate(prompt, GENERATE), "agent": agent_generate}


def _rounds(models: dict[str, Path], so: Path, api: CApi, native: list[str], cpu: set[int] | None,
            tmp: Path, rounds: int, measure: bool) -> dict[str, Any]:
    agent = load_agent("decode_interpreter_cost_agent")
    tmp.mkdir(parents=True, exist_ok=True)
    inputs = tmp / "inputs.npz"
    prompt = np.random.default_rng(2).integers(2, TINY.vocab, (1, PROMPT))
    np.savez(inputs, **{f"p{PROMPT}/input_ids": prompt})
    report: dict[str, Any] = {}
    for prec, model in models.items():
        loop = CLoop(so, api.library, model)
        in_process = _in_process_modes(agent, loop, api, model, prompt)
        got: dict[str, list[float]] = {m: [] for m in MODES}
        for i in range(rounds):
            for k, mode in enumerate(MODES[i % len(MODES):] + MODES[:i % len(MODES)]):
                if mode == "native runner":
                    res = _run(native, model, inputs, tmp / prec.replace(" ", "-") / f"{i}-{k}",
                               QUICK if not measure else MEASURE_NATIVE, "iobinding")
                    p10, tokens = res["decode_ms"]["p10"], res["tokens"].reshape(-1)
                else:
                    before = os.sched_getaffinity(0)
                    if cpu:
                        os.sched_setaffinity(0, cpu)
                    try:
                        p10, tokens = _generations(in_process[mode], measure)
                    finally:
                        os.sched_setaffinity(0, before)
                first = _TOKENS.setdefault(prec, tokens.reshape(-1).copy())  # every mode generates the same
                np.testing.assert_array_equal(tokens.reshape(-1), first, err_msg=mode)
                got[mode].append(p10)
        report[prec] = {"p10_us": {m: 1000.0 * statistics.median(got[m]) for m in MODES}, "splits": {
            f"{a} / {b}": {"isolates": what, "ratio": _quartiles([x / y for x, y in zip(got[a], got[b])]),
                           "added_us": 1000.0 * statistics.median(y - x for x, y in zip(got[a], got[b]))}
            for a, b, what in SPLITS}}
    return report




def _quartiles(values: list[float]) -> list[float]:
    return [float(np.percentile(values, q)) for q in (25, 50, 75)]


def test_decode_steps_where_the_residual_is(benchmark, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    spec = target_spec("linux-x86_64")
    if spec.ort_from == "aar" or sys.platform != "linux":
        pytest.skip("the C loop runs on the host's own libonnxruntime (Linux)")
    parts = fetch_parts(spec)
    so = _build(tmp_path, parts.ort_include)
    bundle = build_runner("linux-x86_64", runners_root())
    pin, pinned = taskset_prefix(THREADS["intra_op_num_threads"], CPUS)
    cpu = set(int(c) for c in pinned.split(",")) if pin and "-" not in pinned else None
    native = [*pin, "sh", str(bundle.path / "run.sh")]
    models = _models(tmp_path)
    rounds = 1 if benchmark.disabled else ROUNDS
    _TOKENS.clear()
    load_before = os.getloadavg()
    api = CApi(parts.ort_library, parts.ort_include / "onnxruntime_c_api.h")
    report = benchmark.pedantic(_rounds, args=(models, so, api, native, cpu, tmp_path / "runs", rounds,
                                               not benchmark.disabled), rounds=1, iterations=1)
    load = {"before": load_before, "after": os.getloadavg()}
    benchmark.extra_info.update({"rounds": rounds, "cpus": pinned, "library": str(parts.ort_library),
                                 "decode": report, "loadavg": load})
    print(f"\ndecode steps (p{PROMPT}, {GENERATE} tokens, 1 thread, CPU {pinned}), {rounds} interleaved rounds, "
          f"load average before {load['before'][0]:.1f}, after {load['after'][0]:.1f}; library {parts.ort_library.name}; "
          "p10 step per mode (median over rounds), then each split as quartiles over rounds (a / b, b's added us):")
    for prec, r in report.items():
        print(f"  {prec}: " + ", ".join(f"{m} {us:.0f} us" for m, us in r["p10_us"].items()))
        for name, sp in r["splits"].items():
            print(f"    {name} ({sp['isolates']}): " + "/".join(f"{q:.3f}" for q in sp["ratio"])
                  + f" ({sp['added_us']:+.1f} us)")
