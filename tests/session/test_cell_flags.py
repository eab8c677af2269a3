"""Flags that need a cell's fp32 sibling, the fp32-first order, and every record's identity."""

from __future__ import annotations

import pandas as pd

from harness.analysis.flags import SLOWER_THAN_FP32
from harness.config.models import Backend, DeviceProfile, NativeRunner, Threads
from harness.plan import Cell
from harness.records import CellRecord, MetricValue
from harness.session.cell_flags import Fp32Headlines, fp32_first
from harness.session.identity import PYTHON_AGENT, cell_identity


def _rec(precision: str, p50: float, status: str = "ok", backend: str = "cpu") -> CellRecord:
    return CellRecord(f"d/w/{precision}/{backend}", "d", "w", precision, backend, status,
                      metrics=[MetricValue("latency_ms@b1", p50, "ms", "noisy"),
                               MetricValue("latency_ms@b4", p50 * 4, "ms", "noisy"),
                               MetricValue("peak_rss_mb", 50.0, "MB", "deterministic")],
                      result={"flags": [{"code": "contention", "message": "m", "cores": 0.5}]})


def test_a_precision_slower_than_its_fp32_is_flagged_with_the_ratio() -> None:
    seen = Fp32Headlines()
    fp32, int8, fp16 = _rec("fp32", 2.0), _rec("int8", 7.0), _rec("fp16", 2.1)
    for rec in (fp32, int8, fp16):
        seen.annotate(rec)
    codes = [f["code"] for f in int8.result["flags"]]
    assert codes == ["contention", SLOWER_THAN_FP32]  # kept what was there
    slow = int8.result["flags"][1]
    assert slow["ratio"] == 3.5 and slow["metric"] == "latency_ms@b1" and "on cpu" in slow["message"]
    assert [f["code"] for f in fp16.result["flags"]] == ["contention"]  # 5 % is noise
    other_backend = _rec("int8", 9.0, backend="xnnpack")
    failed = _rec("int8", 9.0, status="failed")
    seen.annotate(other_backend)
    seen.annotate(failed)
    assert len(other_backend.result["flags"]) == 1 and len(failed.result["flags"]) == 1


def test_a_resumed_run_compares_to_the_fp32_cell_already_stored() -> None:
    stored = pd.DataFrame([{"device": "d", "workload": "w", "backend": "cpu", "precision": "fp32", "status": "ok",
                            "metric": "latency_ms@b1", "value": 1.0, "unit": "ms", "kind": "noisy"}])
    seen = Fp32Headlines()
    seen.seed(stored)
    int8 = _rec("int8", 1.5)
    seen.annotate(int8)
    assert int8.result["flags"][-1]["ratio"] == 1.5


def test_fp32_runs_first_within_its_device_workload_and_backend() -> None:
    cells = [Cell("d", "w", p, b) for p in ("int8", "fp16", "fp32") for b in ("cpu", "xnn")] + [Cell("e", "w", "fp32", "cpu")]
    order = [(c.device, c.precision, c.backend) for c in fp32_first(cells)]
    assert order == [("d", "fp32", "cpu"), ("d", "int8", "cpu"), ("d", "fp16", "cpu"),
                     ("d", "fp32", "xnn"), ("d", "int8", "xnn"), ("d", "fp16", "xnn"), ("e", "fp32", "cpu")]


def test_identity_holds_session_settings_provider_and_runner() -> None:
    xnn = Backend(name="xnn", provider="XnnpackExecutionProvider", options={"intra_op_num_threads": 4})
    one = DeviceProfile(name="a", backends=[xnn], threads=Threads(intra_op=1))
    two = one.model_copy(update={"threads": Threads(intra_op=2, allow_spinning=False)})
    ident = cell_identity(one, xnn)
    assert ident == {"session": {"intra_op_num_threads": 1, "inter_op_num_threads": None, "allow_spinning": None,
                                 "graph_optimization_level": "all"},
                     "provider": "XnnpackExecutionProvider", "provider_options": {"intra_op_num_threads": 4},
                     "runner": PYTHON_AGENT}
    assert cell_identity(two, xnn)["session"] != ident["session"]
    native = one.model_copy(update={"runner": NativeRunner(kind="native", binary="/data/local/tmp/bin/ort_runner")})
    assert cell_identity(native, xnn)["runner"] == "native:ort_runner"
    assert cell_identity(native, xnn, {"target": "aarch64-linux-android"})["runner"] == "native:aarch64-linux-android"
