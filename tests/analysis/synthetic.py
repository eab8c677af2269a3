"""Synthetic result stores for analysis / report / command tests (real Store, real SQLite)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from harness.records import CellRecord, MetricValue
from harness.results.store import Store


@dataclass(frozen=True)
class CellSpec:
    device: str = "pixel"
    workload: str = "resnet"
    precision: str = "fp32"
    backend: str = "cpu"
    fingerprint: str = "fp-pixel"
    base_ms: float = 10.0
    rss_mb: float = 100.0


DEFAULT_CELLS = (
    CellSpec(),
    CellSpec(workload="bert", base_ms=20.0),
    CellSpec(workload="resnet", precision="int8", base_ms=6.0),
    CellSpec(device="pi5", fingerprint="fp-pi5", workload="resnet", base_ms=40.0),
)


def cell_key(spec: CellSpec) -> str:
    return f"{spec.device}/{spec.workload}/{spec.precision}/{spec.backend}"


def record_run(
    store: Store,
    run_id: str,
    *,
    build_id: str = "build-a",
    cells: Iterable[CellSpec] = DEFAULT_CELLS,
    shift: float | Mapping[str, float] = 1.0,
    n: int = 200,
    sigma: float = 0.05,
    seed: int = 0,
    created_at: str | None = None,
    status: Mapping[str, str] | None = None,
    rss_shift: float = 1.0,
    unit: str = "ms",
    artifact: str = "sha-1",
    result: Mapping[str, Any] | None = None,
    extra_metrics: Iterable[MetricValue] = (),
    method: str = "perf_counter",
    kind: str = "run",
    offset: float = 1.0,
) -> None:
    """One finished run; ``shift`` multiplies latency (per workload when a mapping); ``result`` is every
    cell's result_json (identity, session settings, flags)."""
    rng = np.random.default_rng(seed)
    cells = list(cells)
    store.create_run(run_id, [{"cell_key": cell_key(c)} for c in cells], build_id=build_id, kind=kind)
    if created_at:
        store.update_run(run_id, created_at=created_at)
    for c in cells:
        k = offset * (shift.get(c.workload, 1.0) if isinstance(shift, Mapping) else shift)
        st = (status or {}).get(c.workload, "ok")
        lat = c.base_ms * k * rng.lognormal(0.0, sigma, n)
        tps = 1000.0 / lat
        ok = st in ("ok", "accuracy_fail")
        store.record_cell(
            run_id,
            CellRecord(
                cell_key=cell_key(c),
                device=c.device,
                workload=c.workload,
                precision=c.precision,
                backend=c.backend,
                status=st,
                error=None if ok else "boom: the agent crashed",
                device_fingerprint=c.fingerprint,
                build_id=build_id,
                artifact_sha256=artifact,
                ep_requested="CPUExecutionProvider",
                result=dict(result or {}),
                metrics=[
                    MetricValue("latency_ms@b1", float(np.median(lat)), unit, "noisy", method),
                    MetricValue("tokens_per_s", float(np.median(tps)), "1/s", "noisy", method),
                    MetricValue("peak_rss_mb", c.rss_mb * rss_shift, "MB", "deterministic", "VmHWM"),
                    MetricValue("latency_ms@b1.p90", float(np.percentile(lat, 90)), unit, "info"),
                    *extra_metrics,
                ]
                if ok
                else [],
                samples={"latency_ms@b1": lat, "tokens_per_s": tps} if ok else {},
            ),
        )
    store.finish_run(run_id, summary={"wall_s": float(n) * 0.01, "bytes_pushed": 0})


def record_history(
    store: Store,
    runs: int,
    *,
    cells: Iterable[CellSpec] = DEFAULT_CELLS,
    levels: Mapping[tuple[str, str], Mapping[int, float]] | None = None,
    n: int = 40,
    sigma: float = 0.03,
    prefix: str = "night",
) -> list[str]:
    """``runs`` nightly runs, one day apart. levels[(device, workload)][i] = latency factor from run i on
    (a step); a factor keyed ``-i`` applies to run i only (an outlier)."""
    cells = list(cells)
    ids = []
    for i in range(runs):
        factors: dict[tuple[str, str], float] = {}
        for key, steps in (levels or {}).items():
            f = 1.0
            for at, factor in sorted(steps.items()):
                if at >= 0 and i >= at:
                    f = factor
            f = steps.get(-i, f) if i else f
            factors[key] = f
        run_id = f"{prefix}-{i:03d}"
        ids.append(run_id)
        record_run_factors(store, run_id, cells, factors, seed=i, n=n, sigma=sigma,
                           created_at=f"2026-01-{1 + i // 24:02d}T{i % 24:02d}:00:00+00:00", build_id=f"b{i:03d}")
    return ids


def record_run_factors(store: Store, run_id: str, cells: list[CellSpec], factors: Mapping[tuple[str, str], float],
                       **kw: object) -> None:
    shifted = [CellSpec(**{**c.__dict__, "base_ms": c.base_ms * factors.get((c.device, c.workload), 1.0)})
               for c in cells]
    record_run(store, run_id, cells=shifted, **kw)  # type: ignore[arg-type]


def record_runs(store: Store, prefix: str, k: int, *, run_sigma: float = 0.03, seed: int = 0,
                shift: float | Mapping[str, float] = 1.0, **kw: Any) -> list[str]:
    """``k`` runs of one build, each with its own run offset (lognormal, σ ``run_sigma``): the run-to-run
    noise a real device shows. Returns the run ids ``{prefix}-0`` ... in order."""
    rng = np.random.default_rng(10_000 + seed)
    ids = []
    for i in range(k):
        run_id = f"{prefix}-{i}"
        record_run(store, run_id, seed=seed * 100 + i, shift=shift, offset=float(rng.lognormal(0.0, run_sigma)), **kw)
        ids.append(run_id)
    return ids
