"""The essential line of an error: what a terminal shows while the store keeps the whole text."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from harness.errors import essential_line

ORT_LOAD = ("InvalidGraph: [ONNXRuntimeError] : 10 : INVALID_GRAPH : This is an invalid model. In Node, "
            "(\"b1_DequantizeLinear\", DequantizeLinear, \"\", -1) : (\"b1_quantized\": tensor(int32),) -> (\"b1\",) , "
            "Error Unrecognized attribute: axis for operator DequantizeLinear")


def test_ort_status_keeps_its_code_and_the_message_after_the_node_dump() -> None:
    assert essential_line(ORT_LOAD) == "INVALID_GRAPH: Unrecognized attribute: axis for operator DequantizeLinear"
    assert essential_line("Fail: [ONNXRuntimeError] : 1 : FAIL : Load model from /x.onnx failed:Protobuf parsing "
                          "failed.") == "FAIL: Protobuf parsing failed."


def test_traceback_gives_its_last_line_and_text_its_first() -> None:
    tb = "Traceback (most recent call last):\n  File \"a.py\", line 1, in <module>\n    f()\nValueError: bad feed\n"
    assert essential_line(tb) == "ValueError: bad feed"
    assert essential_line("agent exited 1 without a result: " + tb) == "ValueError: bad feed"
    assert essential_line("first line\nsecond line") == "first line"
    assert essential_line(None) == "" and essential_line("  \n ") == ""
    assert essential_line("x" * 500, limit=50) == "x" * 49 + "…"


@given(st.text(), st.integers(min_value=1, max_value=400))
def test_always_one_bounded_line(text: str, limit: int) -> None:
    line = essential_line(text, limit)
    assert "\n" not in line and len(line) <= limit
