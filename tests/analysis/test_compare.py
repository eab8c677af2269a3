"""Verdicts on synthetic samples with known shifts, on A/A, and on incomparable rows."""

from __future__ import annotations

import numpy as np
import pytest

from harness.analysis.compare import Verdict, compare
from harness.analysis.thresholds import Rule, Thresholds
from harness.results.sources import resolve_side, side_from_runs
from harness.results.store import Store
from tests.analysis.synthetic import CellSpec, record_run

ONE = (CellSpec(),)


@pytest.fixture
def store(tmp_path) -> Store:
    s = Store(tmp_path / "r.db")
    yield s
    s.close()


def _verdicts(cmp, metric="latency_ms@b1"):
    return {(r.workload, r.precision, r.device): r.verdict for r in cmp.rows if r.metric == metric}


def _run_pair(store, shift, *, seed_b=1, n=200, cells=ONE, **kw):
    record_run(store, "a", cells=cells, seed=0, n=n)
    record_run(store, "b", cells=cells, seed=seed_b, shift=shift, n=n, build_id="build-b", **kw)
    return compare(side_from_runs(store, ["a"], label="A"), side_from_runs(store, ["b"], label="B"))


def test_run_against_itself_is_unchanged_or_inconclusive_exit_0(store) -> None:
    record_run(store, "a", seed=0)
    side = resolve_side("a", store)
    cmp = compare(side, side)
    assert cmp.rows and {r.verdict for r in cmp.rows} <= {Verdict.UNCHANGED, Verdict.INCONCLUSIVE}
    assert not any(r.metric.endswith(".p90") for r in cmp.rows)  # info metrics are never judged
    assert cmp.exit_code() == 0 and cmp.exit_code(strict=True) in (0, 3)


def test_independent_aa_runs_never_regress(store) -> None:
    record_run(store, "a", seed=0)
    record_run(store, "b", seed=5)
    cmp = compare(resolve_side("a", store), resolve_side("b", store))
    assert not {Verdict.REGRESSED, Verdict.IMPROVED, Verdict.INCOMPARABLE} & {r.verdict for r in cmp.rows}
    assert cmp.exit_code() == 0


def test_ten_percent_slowdown_regresses_exit_1(store) -> None:
    cmp = _run_pair(store, 1.10)
    row = next(r for r in cmp.rows if r.metric == "latency_ms@b1")
    assert row.verdict is Verdict.REGRESSED
    assert row.ci_low < 1.10 < row.ci_high and row.p_holm < 0.01
    # tokens/s fell by the same 10 %: higher is better, so it regresses too
    assert next(r for r in cmp.rows if r.metric == "tokens_per_s").verdict is Verdict.REGRESSED
    assert cmp.exit_code() == 1


def test_ten_percent_speedup_improves(store) -> None:
    cmp = _run_pair(store, 1 / 1.10)
    assert _verdicts(cmp)[("resnet", "fp32", "pixel")] is Verdict.IMPROVED
    assert _verdicts(cmp, "tokens_per_s")[("resnet", "fp32", "pixel")] is Verdict.IMPROVED
    assert cmp.exit_code() == 0


def test_three_percent_shift_is_not_a_regression(store) -> None:
    # Significant with 2000 samples, but below the 5 % threshold: CI inside the band -> UNCHANGED.
    cmp = _run_pair(store, 1.03, n=2000)
    assert _verdicts(cmp)[("resnet", "fp32", "pixel")] is Verdict.UNCHANGED


def test_five_percent_shift_is_at_the_boundary(store) -> None:
    # True ratio exactly 1+delta: REGRESSED or INCONCLUSIVE depending on the draw, never UNCHANGED/IMPROVED.
    cmp = _run_pair(store, 1.05)
    assert _verdicts(cmp)[("resnet", "fp32", "pixel")] in (Verdict.REGRESSED, Verdict.INCONCLUSIVE)


def test_few_samples_make_a_ten_percent_shift_inconclusive(store) -> None:
    cmp = _run_pair(store, 1.10, n=5, sigma=0.3)
    assert _verdicts(cmp)[("resnet", "fp32", "pixel")] is Verdict.INCONCLUSIVE
    assert cmp.exit_code() == 0 and cmp.exit_code(strict=True) == 3


def test_per_workload_threshold_and_calibration_raise_the_bar(store) -> None:
    cells = (CellSpec(), CellSpec(workload="bert"))
    record_run(store, "a", cells=cells, seed=0)
    record_run(store, "b", cells=cells, seed=1, shift=1.10)
    a, b = resolve_side("a", store), resolve_side("b", store)
    th = Thresholds(rules=(Rule(workload="bert*", metric="latency_ms*", delta=0.15),))
    got = _verdicts(compare(a, b, th))
    assert got[("resnet", "fp32", "pixel")] is Verdict.REGRESSED
    assert got[("bert", "fp32", "pixel")] is not Verdict.REGRESSED
    calib = {("fp-pixel", "resnet", "latency_ms@b1"): float(np.log(1.2))}
    got = _verdicts(compare(a, b, calibration=calib))
    assert got[("resnet", "fp32", "pixel")] is not Verdict.REGRESSED
    # a calibrated floor below delta leaves delta in charge
    calib = {("fp-pixel", "resnet", "latency_ms@b1"): float(np.log(1.01))}
    assert _verdicts(compare(a, b, calibration=calib))[("resnet", "fp32", "pixel")] is Verdict.REGRESSED


def test_holm_adjusts_across_all_rows(store) -> None:
    cmp = _run_pair(store, 1.02, cells=tuple(CellSpec(workload=f"w{i}") for i in range(6)))
    noisy = [r for r in cmp.rows if r.kind == "noisy"]
    assert len(noisy) == 12
    assert all(r.p_holm >= r.p for r in noisy)
    assert max(r.p_holm for r in noisy) <= 1.0


def test_fingerprint_change_is_incomparable_exit_2(store) -> None:
    record_run(store, "a", cells=ONE)
    record_run(store, "b", cells=(CellSpec(fingerprint="fp-pixel-new-os"),), seed=1)
    cmp = compare(resolve_side("a", store), resolve_side("b", store))
    assert {r.verdict for r in cmp.rows} == {Verdict.INCOMPARABLE}
    assert all("fingerprint differs" in r.reason for r in cmp.rows)
    assert len(cmp.rows) == 3  # latency, tokens/s, rss: each reported once
    assert cmp.exit_code() == 2


def test_failed_side_unit_and_artifact_change_are_incomparable(store) -> None:
    cells = (CellSpec(), CellSpec(workload="bert"))
    record_run(store, "a", cells=cells)
    record_run(store, "b", cells=cells, seed=1, status={"bert": "failed"})
    cmp = compare(resolve_side("a", store), resolve_side("b", store))
    bert = [r for r in cmp.rows if r.workload == "bert"]
    assert bert and all(r.verdict is Verdict.INCOMPARABLE and r.reason.startswith("B failed: boom") for r in bert)
    record_run(store, "c", cells=ONE, seed=2, unit="s")
    rows = compare(resolve_side("a", store), resolve_side("c", store)).rows
    lat = next(r for r in rows if r.metric == "latency_ms@b1" and r.workload == "resnet")
    assert lat.verdict is Verdict.INCOMPARABLE and "unit differs" in lat.reason
    record_run(store, "d", cells=ONE, seed=3, artifact="sha-2")
    a, d = resolve_side("a", store), resolve_side("d", store)
    rows = [r for r in compare(a, d).rows if r.workload == "resnet"]
    assert all(r.verdict is Verdict.INCOMPARABLE and "artifact" in r.reason for r in rows)
    rows = [r for r in compare(a, d, allow_artifact_change=True).rows if r.workload == "resnet"]
    assert Verdict.INCOMPARABLE not in {r.verdict for r in rows}


def test_deterministic_memory_by_tolerance_and_budget(store) -> None:
    record_run(store, "a", cells=ONE)
    record_run(store, "b", cells=ONE, seed=1, rss_shift=1.2)
    record_run(store, "c", cells=ONE, seed=2, rss_shift=1.01)
    a = resolve_side("a", store)
    rss = lambda cmp: next(r for r in cmp.rows if r.metric == "peak_rss_mb")  # noqa: E731
    assert rss(compare(a, resolve_side("b", store))).verdict is Verdict.REGRESSED
    assert rss(compare(a, resolve_side("c", store))).verdict is Verdict.UNCHANGED
    budget = Thresholds(rules=(Rule(metric="peak_rss_mb", budget=100.5),))
    got = rss(compare(a, resolve_side("c", store), budget))
    assert got.verdict is Verdict.REGRESSED and "budget" in got.reason


def test_build_id_takes_latest_run_per_cell(store) -> None:
    record_run(store, "old", build_id="b1", cells=ONE, shift=2.0, created_at="2026-01-01T00:00:00+00:00")
    record_run(store, "new", build_id="b1", cells=ONE, seed=1, created_at="2026-01-02T00:00:00+00:00")
    record_run(store, "base", build_id="b0", cells=ONE, seed=2, created_at="2026-01-01T00:00:00+00:00")
    cmp = compare(resolve_side("b0", store), resolve_side("b1", store))
    assert _verdicts(cmp)[("resnet", "fp32", "pixel")] in (Verdict.UNCHANGED, Verdict.INCONCLUSIVE)


def test_method_definition_ignores_counts_but_not_the_method() -> None:
    from harness.analysis.compare import method_definition

    assert method_definition("perf_counter, median of 361, 2 warm-up") == method_definition(
        "perf_counter, median of 2178, 3 warm-up")
    assert method_definition("VmHWM") != method_definition("ru_maxrss")
