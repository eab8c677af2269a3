"""The results schema (version SCHEMA_VERSION). Change it only together with a migration.

Tables:
- ``meta``: key/value, holds ``schema_version``.
- ``runs``: one row per ``harness run`` / nightly / ab invocation; ``plan_json`` holds the
  full cell list so ``--resume`` knows what is missing.
- ``cells``: one row per finished cell (device x workload x precision x backend). Committed
  atomically with its metrics and samples. ``result_json`` keeps the agent's full result.
- ``metrics``: long format, one scalar per (cell, metric): summaries and fidelity numbers.
  ``kind`` is ``noisy`` (has raw samples, judged statistically) or ``deterministic``
  (judged by tolerance).
- ``samples``: raw per-iteration samples per (cell, metric), float64 little-endian blob.
"""

from __future__ import annotations

from sqlalchemy import (
    Boolean,
    Column,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)

SCHEMA_VERSION = 1

CELL_STATUSES = ("ok", "failed", "timeout", "skipped", "accuracy_fail", "thermal_gated")

metadata = MetaData()

meta = Table(
    "meta",
    metadata,
    Column("key", String(64), primary_key=True),
    Column("value", Text, nullable=False),
)

runs = Table(
    "runs",
    metadata,
    Column("run_id", String(64), primary_key=True),
    Column("created_at", String(40), nullable=False),  # ISO 8601 UTC
    Column("finished_at", String(40)),
    Column("status", String(16), nullable=False),  # running / finished / interrupted
    Column("kind", String(16), nullable=False, default="run"),  # run / nightly / ab / calibrate
    Column("build_id", String(128)),
    Column("host", String(255)),
    Column("harness_version", String(32)),
    Column("argv_json", Text),
    Column("plan_json", Text, nullable=False),  # list of planned cells (dicts)
    Column("summary_json", Text),  # transport byte counts, wall time, ...
    Column("labels_json", Text),  # free-form tags: shard, farm, night
)

cells = Table(
    "cells",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("run_id", String(64), ForeignKey("runs.run_id"), nullable=False),
    Column("cell_key", String(512), nullable=False),
    Column("device", String(128), nullable=False),
    Column("workload", String(128), nullable=False),
    Column("precision", String(32), nullable=False),
    Column("backend", String(64), nullable=False),
    Column("status", String(16), nullable=False),
    Column("error", Text),
    Column("transport", String(16)),
    Column("device_fingerprint", String(64)),
    Column("fingerprint_json", Text),
    Column("build_id", String(128)),
    Column("artifact_sha256", String(64)),
    Column("ort_version", String(32)),
    Column("ep_requested", String(64)),
    Column("ep_used", String(64)),
    Column("ep_fallback", Boolean),
    Column("started_at", String(40)),
    Column("finished_at", String(40)),
    Column("wall_s", Float),
    Column("measure_s", Float),
    Column("attempts", Integer, default=1),
    Column("result_json", Text),
    UniqueConstraint("run_id", "cell_key", name="uq_cells_run_cell"),
)
Index("ix_cells_series", cells.c.workload, cells.c.precision, cells.c.backend, cells.c.device_fingerprint)

metrics = Table(
    "metrics",
    metadata,
    Column("cell_id", Integer, ForeignKey("cells.id", ondelete="CASCADE"), primary_key=True),
    Column("metric", String(128), primary_key=True),
    Column("value", Float),
    Column("unit", String(16)),
    Column("kind", String(16), nullable=False),  # noisy / deterministic / info
    Column("method", String(255)),  # how it was measured: "VmHWM", "perf_counter", "battery sysfs"
)

samples = Table(
    "samples",
    metadata,
    Column("cell_id", Integer, ForeignKey("cells.id", ondelete="CASCADE"), primary_key=True),
    Column("metric", String(128), primary_key=True),
    Column("n", Integer, nullable=False),
    Column("data", LargeBinary, nullable=False),  # float64 little-endian
)
