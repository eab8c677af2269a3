"""One cell of an llm workload: the GGUF file of its precision on the LLM runner (runner/llm/).

The LLM runner is its own bundle (``harness runner build --kind llm``), built on the host on first
need for the device's machine and installed beside the profile's runner; the profile's runner
(the agent or the ORT runner) is not involved. The job carries the fixed text's token ids (every
runtime gets the same ids), llama-bench's tests (pp/tg at KV depths) and the device's threads.
Each test is a raw series in tok/s (higher is better) under the workload's stopping rule, so
``compare`` judges it with the run-level model like any other series. Quality per precision was
measured at build time against the reference precision on the host and is attached here, with
the device's greedy tokens (kept, so runtimes and devices can be compared token for token).
"""

from __future__ import annotations

import json
import posixpath
from typing import TYPE_CHECKING, Any

import numpy as np

from harness.builds.manifest import verify_artifact
from harness.builds.runner.llm import build_llm_runner, llm_bundle_name
from harness.errors import HarnessError
from harness.probes import contention, interpret, plan_probes, thermal_gate
from harness.protocol import ProtocolError
from harness.records import CellRecord, MetricValue
from harness.session import intake
from harness.session.cell_result import agent_metrics, series_metrics
from harness.session.jobs import build_job
from harness.session.output_logs import cell_output, output_context
from harness.session.runner_env import install_bundle
from harness.transport.base import PullRefused

if TYPE_CHECKING:
    from harness.session.device_session import DeviceSession

MACHINE_TARGETS = {"x86_64": "linux-x86_64", "amd64": "linux-x86_64", "aarch64": "linux-aarch64",
                   "arm64": "linux-aarch64"}
#: quality numbers attached to each cell (from the build), with their units
QUALITY_METRICS = {"kl_mean": "nats", "kl_p99": "nats", "top1_agreement": "", "ppl": "", "greedy_match": ""}
QUALITY_METHOD = "vs the reference precision on the same token ids, on the host at build time"


def llm_runner_argv(s: DeviceSession) -> list[str]:
    """The LLM runner's launcher on the device (bundle built here for its machine, installed once)."""
    cached = getattr(s, "_llm_argv", None)
    if cached:
        return list(cached)
    t = s.transport
    assert t is not None
    machine = str(s.agent_env.get("machine") or "")
    if not machine:
        res = t.exec(["uname", "-m"], timeout=30)
        machine = res.stdout.strip()
    target = MACHINE_TARGETS.get(machine)
    if target is None:
        raise HarnessError(f"device {s.profile.name}: no LLM runner for its machine {machine!r} (known: "
                           f"{', '.join(sorted(MACHINE_TARGETS))})")
    built = build_llm_runner(target)
    argv = install_bundle(t, built.path, built.manifest, prefix=llm_bundle_name(target))
    s._llm_argv = argv  # type: ignore[attr-defined]
    return argv


def _quality_metrics(entry_io: dict[str, Any], precision: str) -> tuple[list[MetricValue], dict[str, Any]]:
    llm = entry_io.get("llm") or {}
    ref = llm.get("reference")
    q = (llm.get("quality") or {}).get(precision)
    if precision == ref:
        any_q = next(iter((llm.get("quality") or {}).values()), None)
        info = {"reference": ref, "note": llm.get("reference_note")}
        if any_q is None:
            return [], info
        return [MetricValue("ppl", float(any_q["ppl_reference"]), "", "deterministic", QUALITY_METHOD),
                MetricValue("kl_mean", 0.0, "nats", "deterministic", "the reference itself"),
                MetricValue("top1_agreement", 1.0, "", "deterministic", "the reference itself")], info
    if not q:
        return [], {"reference": ref, "error": f"no quality measured for {precision}"}
    metrics = [MetricValue(name, float(q[name]), unit, "deterministic", QUALITY_METHOD)
               for name, unit in QUALITY_METRICS.items() if q.get(name) is not None]
    return metrics, {"reference": ref, **{k: q[k] for k in ("positions", "n_ctx", "text", "text_tokens", "method",
                                                            "greedy_first_divergence", "ln_ppl_ratio")
                                          if k in q}}


def run_llm_cell(s: DeviceSession, workload_name: str, precision: str, backend_name: str, key: str) -> CellRecord:
    t = s.transport
    assert t is not None
    ctx = s.ctx
    workload, _ = ctx.workloads[workload_name]
    backend = s._backend(backend_name)
    params_cfg = workload.llm
    assert params_cfg is not None
    entry = ctx.manifest.workloads[workload_name]
    art = entry.precisions[precision].files["model"]
    base: dict[str, Any] = dict(ep_requested=backend.runtime, artifact_sha256=art.sha256)
    try:
        argv = llm_runner_argv(s)
    except HarnessError as exc:
        return s._record(key, workload_name, precision, backend_name, "failed", error=str(exc), **base)
    model = t.push(verify_artifact(ctx.build_dir, art), sha256=art.sha256).remote
    ids_art = (entry.io.get("llm") or {}).get("ids")
    ids = np.load(ctx.build_dir / ids_art["path"]).astype(int).tolist() if ids_art else []
    gate = thermal_gate(s.profile.probes, t)
    gate_info = {"status": gate.status, "waited_s": gate.waited_s, "start_temp_c": gate.start_temp_c}
    if gate.status == "gated":
        return s._record(key, workload_name, precision, backend_name, "thermal_gated",
                         error=gate.reason or "device too hot to start", result={"thermal_gate": gate_info}, **base)
    s._run_setup("cell")
    plan = plan_probes(s.profile.probes, t)
    job_dir = posixpath.join(t.workdir, "jobs", _safe(ctx.run_id), _safe(key))
    t.makedirs(job_dir)
    threads = params_cfg.threads or s.profile.threads.intra_op or 1
    params = {"pp": params_cfg.pp, "tg": params_cfg.tg, "depths": params_cfg.depths, "greedy": params_cfg.greedy,
              "greedy_prompt": 32, "ids": ids, "threads": threads, "n_batch": params_cfg.n_batch,
              "n_ubatch": params_cfg.n_ubatch}
    job = build_job(kind="llm", models={"model": model}, inputs=None, params=params, backend=backend,
                    threads=s.profile.threads, measure=workload.measure, out_dir=job_dir, probes=plan.specs,
                    snapshots=plan.snapshots, idle_s=plan.idle_s, save_outputs=params_cfg.greedy > 0,
                    runtime={"settings": {}, "io": {}})
    job_path = posixpath.join(job_dir, "job.json")
    t.write_text(job_path, json.dumps(job))
    timeout = workload.timeout_s or s.profile.cell_timeout_s
    res = t.exec([*argv, job_path], timeout=timeout, env=s.profile.env or None, log=cell_output(ctx.logs_dir, key))
    made = (entry.runtimes.get(backend.runtime) or {}).get(precision)
    context: dict[str, Any] = {"thermal_gate": gate_info, "setup": s.setup_log, "agent_rc": res.rc,
                               "runner": "native-llm",
                               "runtime": {"name": backend.runtime, "meaning": made.meaning if made else None,
                                           "converter": made.converter if made else None},
                               **output_context(res)}
    pulled = intake.Budget()
    answer = s._answer((key, workload_name, precision, backend_name), res, job, job_dir, context, base,
                       timeout=timeout, who="LLM runner", pulled=pulled)
    if isinstance(answer, CellRecord):
        return answer
    parsed, result = answer
    if result.get("status") != "ok":
        s._cleanup(job_dir)
        return s._record(key, workload_name, precision, backend_name, "failed", error=result.get("error"),
                         result=result, measure_s=result.get("measure_s"), **base)
    try:
        reference = {"greedy_tokens": np.zeros((params_cfg.greedy,), dtype=np.int32)} if params_cfg.greedy else {}
        outputs = intake.fetch_outputs(t, job_dir, parsed, s._tmp / f"{_safe(key)}-outputs.npz", reference, pulled)
    except (ProtocolError, PullRefused) as exc:
        s._cleanup(job_dir)
        return s._invalid(key, workload_name, precision, backend_name, exc, result, base)
    s._cleanup(job_dir)
    metrics, samples = series_metrics(result.get("series") or {})
    metrics += agent_metrics(result)
    tokens = _timed_tokens(result.get("series") or {})
    outcome = interpret(s.profile.probes, plan, result, tokens)
    metrics += outcome.metrics
    samples.update(outcome.samples)
    metrics += contention.interpret(result).metrics
    quality, quality_info = _quality_metrics(entry.io, precision)
    metrics += quality
    greedy = outputs.get("greedy_tokens")
    result["llm"] = {"quality": quality_info, "greedy_tokens": greedy.astype(int).tolist() if greedy is not None else None,
                     "energy_note": "energy per inference = per token processed in the steady windows (pp and tg)",
                     "memory_note": "VmHWM counts the mmapped GGUF's file-backed pages the runner touched"}
    result["job_kind"] = "llm"
    return s._record(key, workload_name, precision, backend_name, "ok", result=result, metrics=metrics,
                     samples=samples, measure_s=result.get("measure_s"), **base)


def _timed_tokens(series: dict[str, Any]) -> int:
    """Tokens processed in the steady windows: each pp<P>/tg<T> sample is one repetition of P or T tokens."""
    total = 0
    for name, s in series.items():
        head = name.split("@", 1)[0]
        if head[:2] in ("pp", "tg") and head[2:].isdigit():
            total += int(head[2:]) * len(s.get("samples") or [])
    return max(total, 1)


def _safe(key: str) -> str:
    from harness.session.device_session import _safe as safe

    return safe(key)
