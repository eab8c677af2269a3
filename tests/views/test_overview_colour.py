"""The overview heatmap colours the change in the bad direction: a throughput drop is red."""

from __future__ import annotations

from harness.analysis.compare import Row, Verdict
from harness.views.site import overview_cell as _worst


def row(metric: str, ratio: float, verdict: Verdict, higher_is_better: bool) -> Row:
    return Row("text-lm", "int8", "cpu", "local", "fp", metric, "1/s", "noisy", verdict, ratio=ratio,
               higher_is_better=higher_is_better)


def test_throughput_drop_is_coloured_as_a_regression() -> None:
    z, label = _worst([row("prefill_tokens_per_s@p16", 0.758, Verdict.REGRESSED, True)])
    assert z is not None and z > 20 and label.startswith("-24.2% prefill_tokens_per_s@p16") and "regressed" in label


def test_latency_drop_is_coloured_as_an_improvement() -> None:
    z, label = _worst([row("latency_ms@b1", 0.9, Verdict.IMPROVED, False)])
    assert z is not None and z < -9 and label.startswith("-10.0% latency_ms@b1") and "improved" in label


def test_a_regression_outranks_a_bigger_improvement() -> None:
    z, _ = _worst([row("latency_ms@b1", 0.5, Verdict.IMPROVED, False), row("items_per_s@b4", 0.9, Verdict.REGRESSED, True)])
    assert z is not None and z > 0
