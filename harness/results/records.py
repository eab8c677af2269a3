"""Plain records passed between the session (which measures) and the store (which keeps)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np


@dataclass(frozen=True)
class MetricValue:
    name: str
    value: float | None
    unit: str
    kind: str = "noisy"  # noisy (has samples) / deterministic (tolerance) / info (never judged)
    method: str | None = None


@dataclass
class CellRecord:
    cell_key: str
    device: str
    workload: str
    precision: str
    backend: str
    status: str
    error: str | None = None
    transport: str | None = None
    device_fingerprint: str | None = None
    fingerprint: dict[str, Any] = field(default_factory=dict)
    build_id: str | None = None
    artifact_sha256: str | None = None
    ort_version: str | None = None
    ep_requested: str | None = None
    ep_used: str | None = None
    ep_fallback: bool | None = None
    started_at: str | None = None
    finished_at: str | None = None
    wall_s: float | None = None
    measure_s: float | None = None
    attempts: int = 1
    result: dict[str, Any] = field(default_factory=dict)
    metrics: list[MetricValue] = field(default_factory=list)
    samples: dict[str, np.ndarray] = field(default_factory=dict)
    outputs: dict[str, np.ndarray] = field(default_factory=dict)  # kept for cross-device agreement
    inputs_sha256: str | None = None  # the inputs the outputs came from
