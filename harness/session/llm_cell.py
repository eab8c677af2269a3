"""One cell of an llm workload: the GGUF file of its precision on the LLM runner (runner/llm/), or
one of its ONNX precisions (the decoder built from the reference GGUF) on ONNX Runtime through the
profile's runner's job kind ``llm`` (native runner or Python agent), which gives the same series
from the same ids.

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

from harness.analysis.flags import flags_json
from harness.analysis.llm_table import TEST
from harness.builds.manifest import verify_artifact
from harness.builds.runner.llm import build_llm_runner, llm_bundle_name
from harness.errors import HarnessError
from harness.probes import contention, interpret, plan_probes, thermal_gate
from harness.probes.phase_energy import WindowGroup, group_energy
from harness.protocol import ProtocolError
from harness.records import CellRecord, MetricValue
from harness.runtimes.registry import ONNXRUNTIME, get_runtime
from harness.session import intake
from harness.session.cell_flags import cell_flags
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
#: an llm workload's ONNX precisions run on the profile's runner: the native runner (runner/, no
#: interpreter between decode steps) or the Python agent
ORT_RUNNERS = {
    "native": ("native-ort", "ONNX Runtime through the native runner's job kind llm: the KV cache stays in ONNX "
                         "Runtime's tensors between steps, no interpreter cost per call"),
    "python": ("python-agent", "ONNX Runtime through the Python agent's job kind llm, KV cache passed direct "
                               "(params.kv_cache): each decode step carries the interpreter's cost of driving it, "
                               "5-11 % of a text-lm step on that path here (README, LLMs on ONNX Runtime); a "
                               "native-runner profile has none"),
}
ORT_MEMORY_NOTE = "the runner's peak RSS (VmHWM): ONNX Runtime reads the model into memory (no mmap)"
QUALITY_METHOD = "vs the reference precision on the same token ids, on the host at build time"
#: energy per token of an llm cell, per phase: ``@tg`` per generated token, ``@pp`` per prompt token
ENERGY_METRIC = "energy_mj_per_token"
ENERGY_NOTE = ("energy per generated token (energy_mj_per_token@tg) = net energy of the tg windows / the tokens "
               "generated in them; per prompt token (@pp) = of the pp windows / the prompt tokens processed in them")
#: greedy tokens follow the ids' first GREEDY_PROMPT tokens, on every runtime (runners and devices compare them)
GREEDY_PROMPT = 32


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
                MetricValue("top1_agreement", 1.0, "", "deterministic", "the reference itself"),
                MetricValue("greedy_match", 1.0, "", "deterministic", "the reference itself")], info
    if not q:
        return [], {"reference": ref, "error": f"no quality measured for {precision}"}
    metrics = [MetricValue(name, float(q[name]), unit, "deterministic", QUALITY_METHOD)
               for name, unit in QUALITY_METRICS.items() if q.get(name) is not None]
    return metrics, {"reference": ref, **{k: q[k] for k in ("positions", "n_ctx", "text", "text_tokens", "method",
                                                            "greedy_first_divergence", "ln_ppl_ratio")
                                          if k in q}}


def run_llm_cell(s: DeviceSession, workload_name: str, precision: str, backend_name: str, key: str) -> CellRecord:
    """A GGUF type on the LLM runner (llama.cpp), or an ONNX precision of the workload's decoder on ONNX
    Runtime through the profile's runner (native, or the agent with its KV cache bound direct): the
    same tests, ids and series either way, and the result names its runner."""
    t = s.transport
    assert t is not None
    ctx = s.ctx
    workload, _ = ctx.workloads[workload_name]
    backend = s._backend(backend_name)
    params_cfg = workload.llm
    assert params_cfg is not None
    entry = ctx.manifest.workloads[workload_name]
    art = entry.precisions[precision].files["model"]
    on_ort = backend.provider is not None
    base: dict[str, Any] = dict(ep_requested=backend.provider or backend.runtime, artifact_sha256=art.sha256)
    argv: list[str] = []
    if not on_ort:
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
    if on_ort:
        params: dict[str, Any] = {"pp": params_cfg.pp, "tg": params_cfg.tg, "depths": params_cfg.depths, "ids": ids,
                                  "kv_cache": "direct", "greedy": params_cfg.greedy, "greedy_prompt": GREEDY_PROMPT,
                                  **_onnx_context(entry.io)}
        job = build_job(kind="llm", models={"model": model}, inputs=None, params=params, backend=backend,
                        threads=s.profile.threads.model_copy(update={"intra_op": threads}), measure=workload.measure,
                        out_dir=job_dir, probes=plan.specs, snapshots=plan.snapshots, idle_s=plan.idle_s,
                        save_outputs=params_cfg.greedy > 0, test_slowdown=ctx.test_slowdown)
    else:
        params = {"pp": params_cfg.pp, "tg": params_cfg.tg, "depths": params_cfg.depths, "greedy": params_cfg.greedy,
                  "greedy_prompt": GREEDY_PROMPT, "ids": ids, "threads": threads, "n_batch": params_cfg.n_batch,
                  "n_ubatch": params_cfg.n_ubatch}
        job = build_job(kind="llm", models={"model": model}, inputs=None, params=params, backend=backend,
                        threads=s.profile.threads, measure=workload.measure, out_dir=job_dir, probes=plan.specs,
                        snapshots=plan.snapshots, idle_s=plan.idle_s, save_outputs=params_cfg.greedy > 0,
                        runtime={"settings": {}, "io": {}})
    job_path = posixpath.join(job_dir, "job.json")
    t.write_text(job_path, json.dumps(job))
    timeout = workload.timeout_s or s.profile.cell_timeout_s
    log = cell_output(ctx.logs_dir, key)
    if on_ort:
        res = s._exec_runner(job_path, timeout, handoff=False, log=log)
        context: dict[str, Any] = {"thermal_gate": gate_info, "setup": s.setup_log, "agent_rc": res.rc,
                                   "runner": ORT_RUNNERS[s.profile.runner.kind][0],
                                   "runner_note": ORT_RUNNERS[s.profile.runner.kind][1],
                                   "runtime": {"name": backend.runtime, "provider": backend.provider,
                                               "meaning": get_runtime(ONNXRUNTIME).precisions.get(precision),
                                               "converter": entry.precisions[precision].converter},
                                   **output_context(res)}
    else:
        res = t.exec([*argv, job_path], timeout=timeout, env=s.profile.env or None, log=log)
        made = (entry.runtimes.get(backend.runtime) or {}).get(precision)
        context = {"thermal_gate": gate_info, "setup": s.setup_log, "agent_rc": res.rc,
                   "runner": "native-llm",
                   "runtime": {"name": backend.runtime, "meaning": made.meaning if made else None,
                               "converter": made.converter if made else None},
                   **output_context(res)}
    pulled = intake.Budget()
    answer = s._answer((key, workload_name, precision, backend_name), res, job, job_dir, context, base,
                       timeout=timeout, who="runner" if on_ort else "LLM runner", pulled=pulled)
    if isinstance(answer, CellRecord):
        return answer
    parsed, result = answer
    providers = result.get("providers") or {}
    if on_ort:
        base.update(ep_used=providers.get("used"), ep_fallback=providers.get("fallback"))
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
    # power and idle from every steady window; energy per token per phase (a prompt token and a
    # generated token cost differently), never one figure mixing both
    outcome = interpret(s.profile.probes, plan, result, 0)
    energy = group_energy(s.profile.probes, plan, result, token_groups(result.get("series") or {}))
    metrics += outcome.metrics + energy.metrics
    samples.update(outcome.samples)
    samples.update(energy.samples)
    load = contention.interpret(result)
    metrics += load.metrics
    quality, quality_info = _quality_metrics(entry.io, precision)
    metrics += quality
    greedy = outputs.get("greedy_tokens")
    memory_note = (ORT_MEMORY_NOTE if on_ort else "VmHWM counts the mmapped GGUF's file-backed pages the runner touched")
    result["llm"] = {"quality": quality_info, "greedy_tokens": greedy.astype(int).tolist() if greedy is not None else None,
                     "energy_note": ENERGY_NOTE, "memory_note": memory_note}
    flags = cell_flags(probe_flags=list(dict.fromkeys([*outcome.flags, *energy.flags])),
                       providers=providers if on_ort else None, unchanged_precision=None, violations=[],
                       contention=load.flag, samples=samples)
    result["flags"] = flags_json(flags)
    result["probe_info"] = outcome.info
    result["job_kind"] = "llm"
    return s._record(key, workload_name, precision, backend_name, "ok", result=result, metrics=metrics,
                     samples=samples, measure_s=result.get("measure_s"), **base)


def _onnx_context(io: dict[str, Any]) -> dict[str, int]:
    """The agent's params.n_ctx: the GGUF's context length (tests past it are skipped, as llama.cpp's)."""
    facts = ((io.get("llm") or {}).get("onnx_source") or {}).get("gguf") or {}
    n = facts.get("context_length")
    return {"n_ctx": int(n)} if isinstance(n, int) and n > 0 else {}


def token_groups(series: dict[str, Any]) -> dict[str, WindowGroup]:
    """The tg windows with the tokens generated in them and the pp windows with the prompt tokens
    processed in them: each ``pp<P>@d<D>`` / ``tg<T>@d<D>`` steady sample is one repetition of P or
    T tokens, and each such series has its own steady window of the same name."""
    names: dict[str, list[str]] = {"tg": [], "pp": []}
    tokens = {"tg": 0, "pp": 0}
    for name, s in series.items():
        m = TEST.match(name)
        if m is None:
            continue
        names[m["kind"]].append(name)
        tokens[m["kind"]] += int(m["n"]) * len(s.get("samples") or [])
    return {f"{ENERGY_METRIC}@{kind}": WindowGroup(names[kind], tokens[kind], what)
            for kind, what in (("tg", "generated tokens"), ("pp", "prompt tokens")) if names[kind]}


def _safe(key: str) -> str:
    from harness.session.device_session import _safe as safe

    return safe(key)
