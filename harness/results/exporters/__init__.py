"""One exporter per output format (hyperfine-style). Each takes a RunBundle and a path.

Formats: csv and parquet (tidy: one row per cell x metric), json (the whole run with raw
samples; `harness compare` reads it back), pytest-benchmark. The markdown summary table is a rendering:
``report.run_markdown`` (`harness export --format markdown` reaches it).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from harness.results.store import Store


@dataclass
class RunBundle:
    run: dict[str, Any]
    cells: pd.DataFrame
    metrics: pd.DataFrame
    samples: dict[tuple[int, str], np.ndarray]

    @classmethod
    def load(cls, store: Store, run_id: str) -> RunBundle:
        cells = store.cells_frame([run_id])
        return cls(store.get_run(run_id), cells, store.metrics_frame([run_id]), store.samples_for(cells["id"].tolist()))


Exporter = Callable[[RunBundle, Path], Path]


def _registry() -> dict[str, Exporter]:
    from harness.results.exporters import json_export, tabular

    return {
        "csv": tabular.export_csv,
        "parquet": tabular.export_parquet,
        "json": json_export.export,
        "pytest-benchmark": _pytest_benchmark,
        "llama-bench": _llama_bench,
    }


def _llama_bench(bundle: RunBundle, path: Path) -> Path:
    import json

    from harness.results.exporters.llama_bench import to_llama_bench

    path.write_text(json.dumps(to_llama_bench(bundle.run, bundle.metrics, bundle.samples, bundle.cells), indent=2))
    return path


def _pytest_benchmark(bundle: RunBundle, path: Path) -> Path:
    import json

    from harness.results.exporters.pytest_benchmark import to_pytest_benchmark

    path.write_text(json.dumps(to_pytest_benchmark(bundle.run, bundle.metrics, bundle.samples, bundle.cells), indent=2))
    return path


FORMATS = ("csv", "json", "parquet", "pytest-benchmark", "llama-bench")
SUFFIX = {"csv": ".csv", "json": ".json", "parquet": ".parquet", "pytest-benchmark": ".json", "llama-bench": ".json"}


def export(bundle: RunBundle, fmt: str, path: Path) -> Path:
    return _registry()[fmt](bundle, path)
