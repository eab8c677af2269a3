"""Cell flags: decisions at their thresholds, and readers that take old plain-string flags."""

from __future__ import annotations

import json

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from harness.analysis import flags as F


def test_old_string_flags_read_as_codes() -> None:
    got = F.parse_flags(["EP fallback: QNNExecutionProvider requested, most nodes ran on CPUExecutionProvider",
                         "throttled: cpu0 at 1.2/2.4 GHz in the measured window", "power: source produced no samples",
                         "something else"])
    assert [f.code for f in got] == [F.EP_FALLBACK, F.THROTTLED, F.PROBE, F.NOTE]
    assert got[1].label == "throttled: cpu0 at 1.2/2.4 GHz in the measured window"


def test_objects_round_trip_through_json() -> None:
    flag = F.slower_than_fp32("latency_ms@b1", 6.0, 2.0, "ms", "cpu")
    assert flag is not None
    back = F.parse_flag(json.loads(json.dumps(flag.to_json())))
    assert back == F.Flag(F.SLOWER_THAN_FP32, flag.message, {"ratio": 3.0, "metric": "latency_ms@b1", "fp32": 2.0,
                                                              "value": 6.0})
    assert back.label == "3× slower than fp32"
    assert flag.message == "3.00× slower than fp32 on cpu: latency_ms@b1 median 6 ms vs 2 ms"


def test_slower_than_fp32_only_beyond_the_noise_threshold() -> None:
    assert F.slower_than_fp32("m", 1.09, 1.0, "ms", "cpu") is None
    assert F.slower_than_fp32("m", F.SLOWER_RATIO, 1.0, "ms", "cpu") is not None
    assert F.slower_than_fp32("m", 5.0, None, "ms", "cpu") is None and F.slower_than_fp32("m", None, 1.0, "ms", "c") is None
    assert F.slower_than_fp32("m", float("nan"), 1.0, "ms", "cpu") is None


def test_a_rate_is_slower_when_it_is_lower() -> None:
    """tok/s (higher is better): int8 at 2.7x fp32's rate is no slower; at a third of it, it is."""
    assert F.slower_than_fp32("tg16@d0", 15.0, 5.5, "tok/s", "cpu") is None
    flag = F.slower_than_fp32("tg16@d0", 5.0, 15.0, "tok/s", "cpu")
    assert flag is not None and flag.extra["ratio"] == 3.0 and "3.00× slower than fp32" in flag.message


def test_contention_and_budget_and_fallback() -> None:
    assert F.contention(F.CONTENTION_CORES) is None and F.contention(None) is None
    flag = F.contention(0.8)
    assert flag is not None and flag.label == "contention 0.80 cores" and flag.extra["threshold"] == F.CONTENTION_CORES
    assert F.budget_missed([]) is None
    assert F.budget_missed(["rel_l2 0.2 > budget 0.1"]).extra["violations"] == ["rel_l2 0.2 > budget 0.1"]  # type: ignore[union-attr]
    assert F.ep_fallback({"fallback": False}) is None
    fb = F.ep_fallback({"fallback": True, "requested": "XnnpackExecutionProvider", "used": "CPUExecutionProvider",
                        "requested_fraction": 0.25})
    assert fb is not None and fb.label == "EP fallback to CPUExecutionProvider" and "25% of nodes" in fb.message


def test_drifting_samples_are_autocorrelated_and_independent_ones_are_not() -> None:
    rng = np.random.default_rng(3)
    iid = 10 + rng.standard_normal(400)
    assert F.autocorrelated("latency_ms", iid) is None
    heating = 10 + np.linspace(0, 3, 400) + 0.3 * rng.standard_normal(400)
    flag = F.autocorrelated("latency_ms", heating)
    assert flag is not None and flag.extra["lag1"] > 0.8
    assert F.lag1_autocorrelation([1.0] * 50) is None and F.lag1_autocorrelation([1.0, 2.0]) is None


def test_the_drift_threshold_is_scipys_normal_quantile_to_the_last_digit() -> None:
    from scipy import stats

    from harness.analysis.autocorrelation import Z975

    assert float(stats.norm.ppf(0.975)) == Z975


json_values = st.recursive(st.none() | st.booleans() | st.floats() | st.integers() | st.text(),
                           lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(), inner, max_size=3),
                           max_leaves=10)


@given(st.lists(json_values | st.dictionaries(st.sampled_from(["code", "message", "ratio", "cores"]), json_values),
                max_size=5))
def test_any_stored_flags_parse_and_label(raw: list) -> None:
    for flag in F.parse_flags(raw):
        assert isinstance(flag.code, str) and isinstance(flag.message, str)
        assert isinstance(flag.label, str)


def test_slower_than_fp32_is_judged_with_both_cells_in_run_evidence() -> None:
    rng = np.random.default_rng(5)
    fp32 = rng.lognormal(0.0, 0.30, 15)  # a noisy fp32 cell: a 1.12 ratio of medians is within its error
    same = rng.lognormal(0.0, 0.30, 15)
    value = 1.12 * float(np.median(fp32))
    same *= value / float(np.median(same))
    assert F.slower_than_fp32("m", value, float(np.median(fp32)), "ms", "cpu", samples=same,
                              fp32_samples=fp32) is None
    quiet = rng.lognormal(0.0, 0.01, 400)
    slow = 1.5 * rng.lognormal(0.0, 0.01, 400)
    flag = F.slower_than_fp32("m", float(np.median(slow)), float(np.median(quiet)), "ms", "cpu", samples=slow,
                              fp32_samples=quiet)
    assert flag is not None and flag.code == F.SLOWER_THAN_FP32 and 1.4 < flag.extra["ci_low"] < 1.5
    assert "95 % CI" in flag.message


def test_slower_than_fp32_under_contention_is_not_judged_and_says_so() -> None:
    flag = F.slower_than_fp32("latency_ms", 1.69, 1.0, "ms", "cpu", cores=1.4, fp32_cores=0.1)
    assert flag is not None and flag.code == F.NOTE and "not judged" in flag.message and "1.40 cores" in flag.message
    assert F.slower_than_fp32("latency_ms", 1.05, 1.0, "ms", "cpu", cores=1.4) is None  # nothing to say
