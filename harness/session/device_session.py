"""One device's session: connect, check the runner, push the agent, run cells one at a time.

A cell's life: verify artifacts (sha256) -> push through the device cache -> thermal gate ->
write job.json -> exec the agent with the cell timeout -> read result.json -> pull outputs ->
fidelity vs the fp32 reference -> a CellRecord (status ok / failed / timeout /
accuracy_fail / thermal_gated). Transport faults are retried once with backoff;
deterministic failures (a model that fails to load) are not.
"""

from __future__ import annotations

import hashlib
import json
import platform
import posixpath
import re
import tempfile
import threading
import time
import traceback
from collections import Counter
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from harness.analysis.fidelity import XPLAT_HOST_METHOD, budget_violations, fidelity_metrics, xplat_metrics
from harness.analysis.flags import flags_json
from harness.analysis.workload_metrics import derived_metrics, derived_series
from harness.builds.manifest import Manifest, verify_artifact
from harness.config.models import Backend, DeviceProfile, Workload
from harness.errors import HarnessError, TransportError
from harness.probes import contention, interpret, plan_probes, thermal_gate
from harness.protocol import JOB_FROM_STDIN, Job, ProtocolError, Result
from harness.records import CellRecord, MetricValue
from harness.results.kept_outputs import KEEP_OUTPUTS_MAX_BYTES, keepable
from harness.results.store import utcnow
from harness.session import intake
from harness.session.cell_flags import Fp32Headlines, cell_flags, model_origin
from harness.session.cell_result import agent_metrics, series_metrics, timed_inferences
from harness.session.fingerprint import fingerprint
from harness.session.host_cache import HostCache
from harness.session.identity import cell_identity
from harness.session.jobs import build_job
from harness.session.output_logs import cell_output, output_context, where_output
from harness.session.runner_env import install_runner, probe_runner, provider_missing
from harness.session.runtime_cells import runtime_artifacts, runtime_missing
from harness.transport.base import ExecResult, Prestarted, PullRefused, Transport
from harness.transport.capture import OutputFiles
from harness.transport.factory import open_transport
from harness.transport.host_lock import host_side_lock
from harness.transport.lock import DeviceBusy, device_lock
from harness.transport.orphans import end_orphans

RETRY_BACKOFF_S = 2.0
#: how long a handoff job's runner may hold its warm-up, and how long the host waits for the
#: next runner's start-up within it (less, so the host always answers first)
HANDOFF_S = 60.0
HANDOFF_READY_S = 45.0


@dataclass
class RunContext:
    """What every device worker of one run shares."""

    run_id: str
    build_dir: Path
    manifest: Manifest
    workloads: dict[str, tuple[Workload, Path]]
    host: HostCache
    test_slowdown: float = 0.0
    retries: int = 1
    extra_result: dict[str, Any] = field(default_factory=dict)
    fp32: Fp32Headlines = field(default_factory=Fp32Headlines)  # for slower_than_fp32 flags
    lock_wait_s: float = 0.0  # a busy device: 0 fails at once (nightly), else wait this long for it
    logs_dir: Path | None = None  # the run's folder of runner output on the host (None: kept in memory only)


def _safe(key: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", key)


def combined_sha(files: dict[str, str]) -> str:
    """One hash for a cell's artifacts (translation has three files)."""
    if len(files) == 1:
        return next(iter(files.values()))
    return hashlib.sha256(json.dumps(sorted(files.items())).encode()).hexdigest()


class DeviceSession:
    def __init__(
        self,
        profile: DeviceProfile,
        ctx: RunContext,
        transport_factory: Callable[[DeviceProfile], Transport] = open_transport,
        on_lock_wait: Callable[[DeviceBusy, float], None] | None = None,
    ) -> None:
        self.profile = profile
        self.ctx = ctx
        self._factory = transport_factory
        self.transport: Transport | None = None
        self.runner_argv: list[str] = []  # preflight.agent_argv (python -c boot agent.py) or [native binary]
        self.agent_env: dict[str, Any] = {}
        self.fingerprint: str | None = None
        self.facts: dict[str, Any] = {}
        self.setup_log: list[dict[str, Any]] = []
        self.push_stats: Counter[str] = Counter()  # survives reconnects
        self.notes: list[str] = []  # what the runner should tell the user (e.g. an orphan ended)
        self._held = ExitStack()  # the device lock, released on close
        self._on_lock_wait = on_lock_wait
        self._aborted = threading.Event()  # Ctrl-C: also ends a wait for a busy device
        self._next_runner: Prestarted | None = None  # the next cell's agent, already started (prestart)
        self._last = False  # the cell being run is the session's last: nothing to prestart after it
        self._handoff: dict[str, Any] = {}  # the last cell's handoff, as the host saw it
        self._tmp = Path(tempfile.mkdtemp(prefix=f"harness-{_safe(profile.name)}-", dir=ctx.host.workdir))

    # ---- connection -----------------------------------------------------------------
    def open(self) -> None:
        self.transport = self._factory(self.profile)
        t = self.transport
        owner = f"harness run {self.ctx.run_id} ({self.profile.name})"  # the lock adds host, pid and since
        host_side = host_side_lock(self.profile)  # the board, whatever workdir this profile names
        for where in ([host_side] if host_side else []) + [t]:
            self._held.enter_context(device_lock(where, owner, wait_s=self.ctx.lock_wait_s,
                                                 on_wait=self._on_lock_wait, stop=self._aborted))
        # two runs never share a device
        # Holding the lock, every pidfile left in the workdir is a dead run's: end its runner
        # before anything is measured beside it.
        self.notes += [e.describe(self.profile.name) for e in end_orphans(t)]
        self.runner_argv = install_runner(t, self.profile)
        self.agent_env = probe_runner(t, self.profile, self.runner_argv)
        self.fingerprint, self.facts = fingerprint(t.info(), self.agent_env)
        self._run_setup("session")

    def close(self) -> None:
        if self.transport is not None:
            t = self.transport
            self.push_stats.update(
                bytes_pushed=t.bytes_pushed, files_pushed=t.files_pushed, files_cached=t.files_cached
            )
            self.transport = None
            try:
                try:
                    self._discard_next_runner()  # before the lock goes: nothing of ours outlives it
                finally:
                    self._held.close()
            finally:
                t.close()

    def abort(self) -> None:
        """Called from another thread on Ctrl-C: kill what runs on the device."""
        self._aborted.set()
        if self.transport is not None:
            self.transport.abort()

    def _run_setup(self, when: str) -> None:
        assert self.transport is not None
        for cmd in self.profile.setup:
            if cmd.when != when:
                continue
            res = self.transport.exec(cmd.argv, timeout=120)
            self.setup_log.append({"argv": cmd.argv, "rc": res.rc, "out": (res.stdout + res.stderr)[-500:], "when": when})
            if cmd.check and res.rc != 0:
                raise HarnessError(
                    f"device {self.profile.name}: setup command {cmd.argv} exited {res.rc}: {res.stderr.strip()[-300:]}"
                )

    # ---- cells ----------------------------------------------------------------------
    def run_cell(self, device: str, workload: str, precision: str, backend_name: str, key: str, *,
                 last: bool = False) -> CellRecord:
        """Run one cell; transport faults are retried (once by default) after reconnecting.
        ``last``: no cell follows on this device, so no next runner is started for one."""
        self._last = last
        attempts = 0
        while True:
            attempts += 1
            started = utcnow()
            t0 = time.monotonic()
            try:
                if self.transport is None:
                    self.open()
                rec = self._run_cell_once(workload, precision, backend_name, key)
            except TransportError as exc:
                self.close()
                if exc.retryable and attempts <= self.ctx.retries:
                    time.sleep(RETRY_BACKOFF_S * attempts)
                    continue
                rec = self._record(key, workload, precision, backend_name, "failed", error=f"transport: {exc}")
            except HarnessError as exc:
                rec = self._record(key, workload, precision, backend_name, "failed", error=str(exc))
            except Exception as exc:  # noqa: BLE001 - a cell's bug is data (a failed cell), never the end of the run
                rec = self._record(key, workload, precision, backend_name, "failed",
                                   error=f"{type(exc).__name__}: {exc}", result=crash_result(exc))
            rec.attempts = attempts
            rec.started_at = started
            rec.wall_s = time.monotonic() - t0
            return rec

    def _record(self, key: str, workload: str, precision: str, backend: str, status: str, **kw: Any) -> CellRecord:
        kw["result"] = {**self._cell_context(workload, backend), **(kw.get("result") or {})}
        return CellRecord(
            cell_key=key,
            device=self.profile.name,
            workload=workload,
            precision=precision,
            backend=backend,
            status=status,
            transport=self.profile.transport.kind,
            device_fingerprint=self.fingerprint,
            fingerprint=self.facts,
            build_id=self.ctx.manifest.build_id,
            ort_version=self.agent_env.get("onnxruntime"),
            **kw,
        )

    def _cell_context(self, workload: str, backend: str) -> dict[str, Any]:
        """What every record of a cell carries: its configuration identity and the model's origin."""
        out: dict[str, Any] = {}
        be = next((b for b in self.profile.backends if b.name == backend), None)
        if be is not None:
            out["identity"] = cell_identity(self.profile, be, self.agent_env)
        entry = self.ctx.manifest.workloads.get(workload)
        if entry is not None:
            out["model_source"] = model_origin(entry)
        return out

    def _backend(self, name: str) -> Backend:
        for b in self.profile.backends:
            if b.name == name:
                return b
        raise HarnessError(f"device {self.profile.name} has no backend {name!r}")

    def _run_cell_once(self, workload_name: str, precision: str, backend_name: str, key: str) -> CellRecord:
        t = self.transport
        assert t is not None and self.runner_argv
        ctx = self.ctx
        workload, workload_path = ctx.workloads[workload_name]
        backend = self._backend(backend_name)
        if workload.kind == "llm":  # its own runner (runner/llm/), not the profile's
            from harness.session.llm_cell import run_llm_cell

            return run_llm_cell(self, workload_name, precision, backend_name, key)
        lacking = (provider_missing(self.profile, self.agent_env, backend.provider) if backend.provider
                   else runtime_missing(self.profile, self.agent_env, backend.runtime))
        if lacking:  # a runner without this EP or runtime: skipped with the reason, never a failure streak
            return self._record(key, workload_name, precision, backend_name, "skipped", error=lacking,
                                ep_requested=backend.provider or backend.runtime)
        entry = ctx.manifest.workloads[workload_name]
        files, job_runtime, runtime_info = runtime_artifacts(entry, backend, precision, self.agent_env)
        shas = {role: art.sha256 for role, art in files.items()}
        base: dict[str, Any] = dict(ep_requested=backend.provider or backend.runtime, artifact_sha256=combined_sha(shas))

        # Artifacts: sha256 verified on the host, then pushed through the device cache.
        repairs = t.cache_repairs
        models = {
            role: t.push(verify_artifact(ctx.build_dir, art), sha256=art.sha256).remote for role, art in files.items()
        }
        prepared = ctx.host.inputs(workload, workload_path)
        remote_inputs = t.push(prepared.npz, sha256=prepared.sha256).remote
        if t.cache_repairs > repairs:
            self.notes.append(f"device {self.profile.name}: {t.cache_repairs - repairs} cached file(s) failed sha256 "
                              f"re-verification on the device and were sent again ({key})")

        gate = thermal_gate(self.profile.probes, t)
        gate_info = {"status": gate.status, "waited_s": gate.waited_s, "start_temp_c": gate.start_temp_c}
        if gate.status == "gated":
            return self._record(
                key, workload_name, precision, backend_name, "thermal_gated",
                error=gate.reason or "device too hot to start", result={"thermal_gate": gate_info}, **base,
            )
        self._run_setup("cell")
        plan = plan_probes(self.profile.probes, t)

        job_dir = posixpath.join(t.workdir, "jobs", _safe(ctx.run_id), _safe(key))
        t.makedirs(job_dir)
        job = build_job(
            kind=prepared.job.kind,
            models=models,
            inputs=remote_inputs,
            params=prepared.job.params,
            backend=backend,
            threads=self.profile.threads,
            measure=workload.measure,
            out_dir=job_dir,
            probes=plan.specs,
            snapshots=plan.snapshots,
            idle_s=plan.idle_s,
            handoff_s=HANDOFF_S if self._hands_off() else 0.0,
            test_slowdown=ctx.test_slowdown,
            runtime=job_runtime,
        )
        job_path = posixpath.join(job_dir, "job.json")
        t.write_text(job_path, json.dumps(job))
        pulled = intake.Budget()  # what this cell may pull back, all files together
        timeout = workload.timeout_s or self.profile.cell_timeout_s
        res = self._exec_runner(job_path, timeout, handoff=bool(job.get("handoff_s")),
                                log=cell_output(ctx.logs_dir, key))
        context = {"thermal_gate": gate_info, "setup": self.setup_log, "agent_rc": res.rc, **runtime_info,
                   **({"handoff": self._handoff} if self._handoff else {}), **output_context(res)}
        answer = self._answer((key, workload_name, precision, backend_name), res, job, job_dir, context, base,
                              timeout=timeout, who="agent", pulled=pulled)
        if isinstance(answer, CellRecord):
            return answer
        parsed, result = answer
        providers = result.get("providers") or {}
        base.update(ep_used=providers.get("used"), ep_fallback=providers.get("fallback"))
        if result.get("status") != "ok":
            self._cleanup(job_dir)
            return self._record(
                key, workload_name, precision, backend_name, "failed", error=result.get("error"), result=result,
                measure_s=result.get("measure_s"), **base,
            )
        try:
            reference = ctx.host.reference(workload, workload_path) if parsed.outputs else {}
            outputs = intake.fetch_outputs(t, job_dir, parsed, self._tmp / f"{_safe(key)}-outputs.npz", reference,
                                           pulled)
        except (ProtocolError, PullRefused) as exc:
            self._cleanup(job_dir)
            return self._invalid(key, workload_name, precision, backend_name, exc, result, base)
        self._cleanup(job_dir)
        return self._interpret(key, workload, workload_path, precision, backend_name, result, outputs, plan, base)

    def _answer(self, cell: tuple[str, str, str, str], res: ExecResult, job: dict[str, Any], job_dir: str,
                context: dict[str, Any], base: dict[str, Any], *, timeout: float, who: str,
                pulled: intake.Budget) -> CellRecord | tuple[Result, dict[str, Any]]:
        """What a runner (``who``) left in ``job_dir``: its validated result with ``context`` added, or the
        record that ends the cell (timed out, an invalid result, or none at all)."""
        assert self.transport is not None
        key, workload_name, precision, backend_name = cell
        if res.timed_out:
            self._cleanup(job_dir)
            return self._record(
                key, workload_name, precision, backend_name, "timeout",
                error=f"cell exceeded its {timeout:g} s timeout; the {who}'s process group was killed on the device",
                result=context, **base,
            )
        try:  # the device's answer is untrusted: pulled within limits, validated before anything is kept
            fetched = intake.fetch_result(self.transport, job_dir, Job.model_validate(job),
                                          self._tmp / f"{_safe(key)}-result.json", pulled)
        except (ProtocolError, PullRefused) as exc:
            self._cleanup(job_dir)
            return self._invalid(key, workload_name, precision, backend_name, exc, context, base)
        if fetched is None:
            self._cleanup(job_dir)
            return self._record(
                key, workload_name, precision, backend_name, "failed",
                error=f"{who} exited {res.rc} without a result: {res.stderr.strip()[-1500:]}{where_output(res)}",
                result=context, **base,
            )
        parsed, result = fetched
        result.update(context)
        return parsed, result

    def _prestarts(self) -> bool:
        """The runner is started before its cell, unless the transport cannot, the profile says not
        to, it runs per-cell setup commands (they must come before the runner starts), or it has a
        backend of another runtime than ONNX Runtime (a prestarted agent imports ONNX Runtime before
        it knows its job: that runtime's peak memory would hold ORT's libraries)."""
        t = self.transport
        return (t is not None and t.can_prestart and self.profile.runner.prestart
                and not any(cmd.when == "cell" for cmd in self.profile.setup)
                and all(b.provider is not None for b in self.profile.backends))

    def _hands_off(self) -> bool:
        """The next cell's runner starts while this cell warms up (a cell follows, and prestart is on)."""
        return self._prestarts() and not self._last

    def _exec_runner(self, job_path: str, timeout: float, *, handoff: bool, log: OutputFiles | None) -> ExecResult:
        """Run one job. With prestart, the runner did its start-up before its cell (each cell
        still gets its own fresh process, so its peak memory is its own). With a handoff, the
        next cell's runner starts while this one warms up, and this one's steady windows wait
        until that start-up is over; otherwise it starts when this one ends."""
        t = self.transport
        assert t is not None
        self._handoff = {}
        ready, self._next_runner = self._next_runner, None
        if ready is None and self._prestarts():
            ready = self._prestart_runner()
        if ready is None:
            return t.exec([*self.runner_argv, job_path], timeout=timeout, env=self.profile.env or None, log=log)
        wait_s = min(HANDOFF_READY_S, timeout / 4)  # a slow next start-up never times this cell out
        res = ready.run(job_path + "\n", timeout, on_warm_up=(lambda: self._start_next_runner(wait_s)) if handoff else None,
                        log=log)
        if self._next_runner is None and self._hands_off():  # it never announced a warm-up
            self._next_runner = self._prestart_runner()
        return res

    def _start_next_runner(self, wait_s: float) -> None:
        """On this cell's ``warm-up``: start the next cell's runner and wait for its ``ready``.
        One not ready in ``wait_s`` is ended, so the steady windows never share the device with
        it; the next cell then starts its runner as before. Nothing here fails this cell."""
        t0 = time.monotonic()
        nxt: Prestarted | None = None
        self._handoff = {"next_runner_started": t0, "next_runner_ready": None}
        try:
            nxt = self._prestart_runner()
            if nxt is not None and nxt.wait_ready(wait_s):
                self._handoff["next_runner_ready"] = time.monotonic()
                self._next_runner, nxt = nxt, None
            else:
                self._handoff["error"] = f"the next runner was not ready within {wait_s:g} s"
        except Exception as exc:  # noqa: BLE001 - the next cell starts its runner itself
            self._handoff["error"] = f"{type(exc).__name__}: {exc}"
        finally:
            if nxt is not None:
                nxt.discard()

    def _prestart_runner(self) -> Prestarted | None:
        assert self.transport is not None
        return self.transport.prestart([*self.runner_argv, JOB_FROM_STDIN], env=self.profile.env or None)

    def _discard_next_runner(self) -> None:
        ready, self._next_runner = self._next_runner, None
        if ready is not None:
            ready.discard()

    def _invalid(self, key: str, workload: str, precision: str, backend: str, exc: HarnessError,
                 context: dict[str, Any], base: dict[str, Any]) -> CellRecord:
        """A result the host refused: a failed cell naming the field and why; nothing of it is kept
        but the context the host itself gathered."""
        keep = {k: context[k] for k in ("thermal_gate", "setup", "agent_rc") if k in context}
        where = getattr(exc, "where", "") or None
        return self._record(key, workload, precision, backend, "failed", error=f"invalid result from the runner: {exc}",
                            result={**keep, "invalid_result": {"field": where, "error": str(exc)}}, **base)

    def _cleanup(self, job_dir: str) -> None:
        assert self.transport is not None
        self.transport.exec(["rm", "-rf", job_dir], timeout=60)

    def _interpret(
        self,
        key: str,
        workload: Workload,
        workload_path: Path,
        precision: str,
        backend_name: str,
        result: dict[str, Any],
        outputs: dict[str, np.ndarray],
        plan: Any,
        base: dict[str, Any],
    ) -> CellRecord:
        prepared = self.ctx.host.inputs(workload, workload_path)
        metrics, samples = series_metrics(result.get("series") or {})
        metrics += agent_metrics(result)
        raw = _raw_series(result)
        metrics += derived_metrics(prepared.job.kind, raw, prepared.job.params)
        samples.update({k: np.asarray(v, dtype=float) for k, v in
                        derived_series(prepared.job.kind, raw, prepared.job.params).items()})
        outcome = interpret(self.profile.probes, plan, result, timed_inferences(result))
        metrics += outcome.metrics
        samples.update(outcome.samples)
        load = contention.interpret(result)
        metrics += load.metrics
        status, error = "ok", None
        reference = self.ctx.host.reference(workload, workload_path)
        fid = fidelity_metrics(prepared.job.kind, reference, outputs) if outputs else []
        metrics += fid
        violations = budget_violations(fid, workload.budgets.get(precision))  # type: ignore[call-overload]
        if violations:
            status, error = "accuracy_fail", "; ".join(violations)
        pe = self.ctx.manifest.workloads[workload.name].precisions.get(precision)
        check = pe.check if pe is not None and "runtime" not in result else None
        flags = cell_flags(
            probe_flags=outcome.flags, providers=result.get("providers"),
            unchanged_precision=precision if check is not None and check.unchanged else None,
            violations=violations, contention=load.flag, samples=samples,
        )
        xplat, result["xplat"] = self._xplat(prepared.job.kind, workload, workload_path, precision, outputs)
        metrics += xplat
        kept = keepable(outputs)
        result["flags"] = flags_json(flags)
        result["probe_info"] = outcome.info
        result["job_kind"] = prepared.job.kind  # how another device's outputs are compared to these
        result["inputs_sha256"] = prepared.sha256
        result["outputs_kept"] = kept or (f"no: over {KEEP_OUTPUTS_MAX_BYTES} bytes" if outputs else "no: none saved")
        return self._record(
            key, workload.name, precision, backend_name, status, error=error, result=_slim(result),
            metrics=_dedupe(metrics), samples=samples, measure_s=result.get("measure_s"),
            outputs=outputs if kept else {}, inputs_sha256=prepared.sha256, **base,
        )

    def _xplat(self, kind: str, workload: Workload, workload_path: Path, precision: str,
               outputs: dict[str, np.ndarray]) -> tuple[list[MetricValue], dict[str, Any]]:
        """Cross-platform agreement with the host CPU EP running this precision's artifact on the
        same inputs. The host failing to run it is recorded, never a failure of the cell."""
        info: dict[str, Any] = {"reference": "host", "method": XPLAT_HOST_METHOD, "host": platform.node()}
        if not outputs:
            return [], {**info, "error": "the cell saved no outputs"}
        try:
            return xplat_metrics(kind, self.ctx.host.host_outputs(workload, workload_path, precision), outputs), info
        except (HarnessError, ValueError) as exc:
            return [], {**info, "error": str(exc)}


MAX_TRACEBACK_CHARS = 8000


def crash_result(exc: BaseException) -> dict[str, Any]:
    """What a failed cell stores about an unexpected exception: its type and traceback (the tail)."""
    tb = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
    return {"error_type": type(exc).__name__, "traceback": tb[-MAX_TRACEBACK_CHARS:]}


def _raw_series(result: dict[str, Any]) -> dict[str, list[float]]:
    return {name: s.get("samples") or [] for name, s in (result.get("series") or {}).items()}


def _slim(result: dict[str, Any]) -> dict[str, Any]:
    """The stored result keeps everything but the raw series (they live in `samples`)."""
    out = dict(result)
    out["series"] = {
        name: {k: v for k, v in s.items() if k != "samples"} for name, s in (result.get("series") or {}).items()
    }
    probes = out.get("probes") or {}
    out["probes"] = {name: {k: v for k, v in p.items() if k not in ("t", "v")} | {"n": len(p.get("v", []))}
                     for name, p in probes.items()}
    return out


def _dedupe(metrics: list[MetricValue]) -> list[MetricValue]:
    seen: dict[str, MetricValue] = {}
    for m in metrics:
        seen[m.name] = m
    return list(seen.values())
