"""Verdicts on runs with known truth: the run is the unit of evidence, every row states it.

Stores are real SQLite written through the store's own API; each run gets its own run offset
(``record_runs``), as a real device does from process to process.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from harness.analysis.compare import Priors, Verdict, compare, method_definition
from harness.analysis.noise import RunNoise
from harness.analysis.thresholds import Rule, Thresholds
from harness.records import MetricValue
from harness.results.sources import resolve_side, side_from_runs
from harness.results.store import Store
from tests.analysis.synthetic import CellSpec, record_run, record_run_factors, record_runs

ONE = (CellSpec(),)
LAT = ("resnet", "fp32", "cpu", "fp-pixel", "latency_ms@b1")
SESSION = {"intra_op_num_threads": 2, "inter_op_num_threads": 1, "graph_optimization_level": "all",
           "allow_spinning": False}


@pytest.fixture
def store(tmp_path) -> Store:
    s = Store(tmp_path / "r.db")
    yield s
    s.close()


def _row(cmp, metric="latency_ms@b1", workload="resnet"):
    return next(r for r in cmp.rows if r.metric == metric and r.workload == workload)


def _sides(store, a, b, **kw):
    return compare(resolve_side(",".join(a), store), resolve_side(",".join(b), store), **kw)


def test_a_a_runs_with_run_to_run_noise_never_regress(store) -> None:
    # 8 % run-to-run noise: a pooled raw-sample test would call half of these rows changed
    cells = tuple(CellSpec(workload=f"w{i}") for i in range(10))
    a = record_runs(store, "a", 4, run_sigma=0.08, cells=cells, seed=1)
    b = record_runs(store, "b", 4, run_sigma=0.08, cells=cells, seed=2)
    cmp = _sides(store, a, b)
    noisy = [r for r in cmp.rows if r.kind == "noisy"]
    assert len(noisy) == 20
    assert not {Verdict.REGRESSED, Verdict.IMPROVED, Verdict.INCOMPARABLE} & {r.verdict for r in cmp.rows}
    assert all(r.runs_a == 4 and r.runs_b == 4 and r.sigma_source == "estimated" for r in noisy)
    assert np.median([r.sigma_run for r in noisy]) == pytest.approx(0.08, rel=0.5)
    assert cmp.exit_code() == 0


def test_ten_percent_slowdown_over_five_runs_regresses_with_its_evidence(store) -> None:
    a = record_runs(store, "a", 5, run_sigma=0.02, cells=ONE, seed=1)
    b = record_runs(store, "b", 5, run_sigma=0.02, cells=ONE, seed=2, shift=1.10)
    cmp = _sides(store, a, b)
    lat = _row(cmp)
    assert lat.verdict is Verdict.REGRESSED and lat.p_holm < 0.01
    assert lat.ci_low < 1.10 < lat.ci_high and lat.ratio == pytest.approx(1.10, abs=0.03)
    assert (lat.runs_a, lat.runs_b, lat.sigma_source) == (5, 5, "estimated")
    assert 0 < lat.mde < 0.10 and lat.n_a == 5 * 200
    assert _row(cmp, "tokens_per_s").verdict is Verdict.REGRESSED  # higher is better: the same step, worse
    assert cmp.exit_code() == 1


def test_one_run_per_side_is_inconclusive_and_says_how_many_runs_would_decide(store) -> None:
    record_run(store, "a", cells=ONE, seed=0)
    record_run(store, "b", cells=ONE, seed=1, shift=1.10)
    lat = _row(_sides(store, ["a"], ["b"]))
    # one run per side, no calibration, no history: σ_run is the declared default, and the row says so
    assert lat.verdict is Verdict.INCONCLUSIVE and lat.sigma_source == "assumed"
    assert lat.sigma_run == pytest.approx(0.05) and lat.runs_needed is not None and lat.runs_needed > 1
    assert f"about {lat.runs_needed} runs per side ({lat.runs_needed - 1} more) would decide it" in lat.reason
    assert any("assumed 5 %" in n for n in lat.notes)
    lat = _row(_sides(store, ["a"], ["b"], thresholds=Thresholds.model_validate({"defaults": {"run_noise": 0.005}})))
    assert lat.verdict is Verdict.REGRESSED and lat.sigma_run == pytest.approx(0.005)  # a quiet device, declared


def test_sigma_run_sources_in_order(store) -> None:
    record_runs(store, "a", 3, cells=ONE, seed=1)
    record_run(store, "b", cells=ONE, seed=9)
    calibrated = RunNoise(0.01, 9, "calibrated", 10)
    history = RunNoise(0.03, 12, "history", 20)
    a3, a1, b1 = resolve_side("a-0,a-1,a-2", store), resolve_side("a-0", store), resolve_side("b", store)
    assert _row(compare(a3, b1, priors=Priors({LAT: calibrated}))).sigma_source == "estimated"  # runs first
    assert _row(compare(a1, b1, priors=Priors({LAT: calibrated}, {LAT: history}))).sigma_source == "calibrated"
    assert _row(compare(a1, b1, priors=Priors({}, {LAT: history}))).sigma_source == "history"
    assert _row(compare(a1, b1)).sigma_source == "assumed"


def test_unchanged_only_by_equivalence_and_calibration_never_widens_delta(store) -> None:
    a = record_runs(store, "a", 6, run_sigma=0.005, cells=ONE, seed=1)
    b = record_runs(store, "b", 6, run_sigma=0.005, cells=ONE, seed=2, shift=1.02)
    lat = _row(_sides(store, a, b))
    assert lat.verdict is Verdict.UNCHANGED and "inside ±5%" in lat.reason
    # +6 % against a noisy device's calibration: wide interval, so INCONCLUSIVE, never "UNCHANGED within ±16 %"
    record_run(store, "c", cells=ONE, seed=3)
    record_run(store, "d", cells=ONE, seed=4, shift=1.06)
    noisy = Priors({LAT: RunNoise(0.08, 9, "calibrated", 10)})
    lat = _row(compare(resolve_side("c", store), resolve_side("d", store), priors=noisy))
    assert lat.verdict is Verdict.INCONCLUSIVE and lat.delta == 0.05 and lat.ci_high > 1.06 > 1.05


def test_per_workload_threshold(store) -> None:
    cells = (CellSpec(), CellSpec(workload="bert"))
    a = record_runs(store, "a", 5, run_sigma=0.01, cells=cells, seed=1)
    b = record_runs(store, "b", 5, run_sigma=0.01, cells=cells, seed=2, shift=1.10)
    th = Thresholds(rules=(Rule(workload="bert*", metric="latency_ms*", delta=0.15),))
    cmp = _sides(store, a, b, thresholds=th)
    assert _row(cmp).verdict is Verdict.REGRESSED
    assert _row(cmp, workload="bert").verdict is not Verdict.REGRESSED


def test_holm_adjusts_across_all_rows(store) -> None:
    cells = tuple(CellSpec(workload=f"w{i}") for i in range(6))
    a = record_runs(store, "a", 3, cells=cells, seed=1)
    b = record_runs(store, "b", 3, cells=cells, seed=2, shift=1.02)
    noisy = [r for r in _sides(store, a, b).rows if r.kind == "noisy"]
    assert len(noisy) == 12
    assert all(r.p_holm >= r.p for r in noisy) and max(r.p_holm for r in noisy) <= 1.0


def test_paired_rounds(store) -> None:
    # each round's runs share a drift (A B | B A on one device): pairing cancels it
    rounds = {}
    for i, drift in enumerate((1.0, 1.12, 0.9, 1.05, 0.95)):
        record_run(store, f"a{i}", cells=ONE, seed=2 * i, offset=drift)
        record_run(store, f"b{i}", cells=ONE, seed=2 * i + 1, offset=drift * 1.06)
        rounds[f"a{i}"] = rounds[f"b{i}"] = i + 1
    a = side_from_runs(store, [f"a{i}" for i in range(5)], label="A", rounds=rounds)
    b = side_from_runs(store, [f"b{i}" for i in range(5)], label="B", rounds=rounds)
    paired, unpaired = _row(compare(a, b, paired=True)), _row(compare(a, b))
    assert paired.paired and paired.verdict is Verdict.REGRESSED and paired.runs_a == 5
    assert unpaired.verdict is Verdict.INCONCLUSIVE  # the drift between rounds hides it unpaired
    assert paired.mde < unpaired.mde


def test_fingerprint_change_is_incomparable_exit_2(store) -> None:
    record_run(store, "a", cells=ONE)
    record_run(store, "b", cells=(CellSpec(fingerprint="fp-pixel-new-os"),), seed=1)
    cmp = _sides(store, ["a"], ["b"])
    assert {r.verdict for r in cmp.rows} == {Verdict.INCOMPARABLE}
    assert all("fingerprint differs" in r.reason for r in cmp.rows)
    assert len(cmp.rows) == 3  # latency, tokens/s, rss: each reported once
    assert cmp.exit_code() == 2


def test_failed_in_b_is_failed_and_one_sided_cells_are_listed_not_judged(store) -> None:
    cells = (CellSpec(), CellSpec(workload="bert"))
    record_run(store, "a", cells=cells)
    record_run(store, "b", cells=cells, seed=1, status={"bert": "failed"})
    cmp = _sides(store, ["a"], ["b"])
    bert = [r for r in cmp.rows if r.workload == "bert"]
    assert [(r.verdict, r.metric) for r in bert] == [(Verdict.FAILED, "latency_ms@b1")]  # one row per cell
    assert bert[0].reason.startswith("failed in B: run b: boom") and bert[0].a is not None
    assert cmp.exit_code() == 1 and not cmp.one_sided
    # the device never answered: its failed cell has no fingerprint, and is still FAILED, not "only in A"
    record_run(store, "offline", cells=(CellSpec(), CellSpec(workload="bert", fingerprint=None)),  # type: ignore[arg-type]
               seed=2, status={"bert": "failed"})
    assert [r.verdict for r in _sides(store, ["a"], ["offline"]).rows if r.workload == "bert"] == [Verdict.FAILED]
    back = _sides(store, ["b"], ["a"])  # failed in A, measured in B: a fix, not a finding
    assert Verdict.FAILED not in {r.verdict for r in back.rows} and back.exit_code() == 0
    assert [(o.side, o.workload, o.reason.split(":")[0]) for o in back.one_sided] == [("B", "bert", "failed in A")]
    record_run(store, "small", cells=(CellSpec(),), seed=4)  # planned fewer cells: listed, exit unchanged
    small = _sides(store, ["a"], ["small"])
    assert [(o.side, o.workload, o.reason) for o in small.one_sided] == [("A", "bert", "only in A")]
    assert {r.workload for r in small.rows} == {"resnet"} and small.exit_code() == 0 and small.exit_code(True) == 2
    record_run(store, "c", cells=ONE, seed=2, unit="s")
    assert "unit differs" in _row(_sides(store, ["a"], ["c"])).reason
    record_run(store, "d", cells=ONE, seed=3, artifact="sha-2")
    a, d = resolve_side("a", store), resolve_side("d", store)
    assert all(r.verdict is Verdict.INCOMPARABLE and "artifact" in r.reason
               for r in compare(a, d).rows if r.workload == "resnet")
    assert Verdict.INCOMPARABLE not in {r.verdict for r in compare(a, d, allow_artifact_change=True).rows
                                        if r.workload == "resnet"}


def test_a_run_that_failed_among_several_is_noted_not_fatal(store) -> None:
    cells = (CellSpec(), CellSpec(workload="bert"))
    a = record_runs(store, "a", 3, cells=cells, seed=1)
    record_run(store, "b-0", cells=cells, seed=5)
    record_run(store, "b-1", cells=cells, seed=6, status={"bert": "timeout"})
    record_run(store, "b-2", cells=cells, seed=7)
    bert = _row(_sides(store, a, ["b-0", "b-1", "b-2"]), workload="bert")
    assert bert.verdict is not Verdict.INCOMPARABLE and bert.runs_b == 2
    assert any("1 of 3 runs of B did not measure" in n and "timeout" in n for n in bert.notes)


def test_method_strings_with_counts_and_stop_reasons_are_one_definition(store) -> None:
    # stores written before the method string lost its counts: an A/A of one config is never INCOMPARABLE
    old = "perf_counter, median of {} ({}), {} warm-up"
    record_run(store, "a", cells=ONE, seed=1, method=old.format(361, "min_iterations+min_seconds", 2))
    record_run(store, "b", cells=ONE, seed=2, method=old.format(2178, "max_seconds", 3))
    cmp = _sides(store, ["a"], ["b"])
    assert Verdict.INCOMPARABLE not in {r.verdict for r in cmp.rows}
    from harness.session.cell_result import SERIES_METHOD

    assert method_definition(old.format(361, "max_seconds", 2)) == method_definition(SERIES_METHOD)
    assert method_definition(old.format(10, "max_seconds", 2)) == method_definition(old.format(99, "x", 1))
    assert method_definition("VmHWM") != method_definition("ru_maxrss")
    record_run(store, "c", cells=ONE, seed=3, method="rdtsc")
    assert "measurement method differs" in _row(_sides(store, ["a"], ["c"])).reason


def test_session_settings_and_runner_are_part_of_the_identity(store) -> None:
    record_run(store, "old", cells=ONE, seed=1, result={"session": SESSION})  # written before "identity"
    identity = {"session": SESSION, "provider": "CPUExecutionProvider", "provider_options": {},
                "runner": "python-agent"}
    record_run(store, "new", cells=ONE, seed=2, result={"identity": identity})
    assert Verdict.INCOMPARABLE not in {r.verdict for r in _sides(store, ["old"], ["new"]).rows}
    one_thread = {**identity, "session": {**SESSION, "intra_op_num_threads": 1}}
    record_run(store, "t1", cells=ONE, seed=3, result={"identity": one_thread})
    lat = _row(_sides(store, ["new"], ["t1"]))
    assert lat.verdict is Verdict.INCOMPARABLE and "session.intra_op_num_threads 2 vs 1" in lat.reason
    assert "--allow-config-change" in lat.reason
    lat = _row(_sides(store, ["new"], ["t1"], allow_config_change=True))
    assert lat.verdict is not Verdict.INCOMPARABLE
    assert any(n.startswith("configuration changed: session.intra_op_num_threads 2 vs 1") for n in lat.notes)
    record_run(store, "native", cells=ONE, seed=4, result={"identity": {**identity, "runner": "native:android-arm64"}})
    assert "runner" in _row(_sides(store, ["new"], ["native"])).reason


def test_contention_and_autocorrelation_are_noted_on_the_row(store) -> None:
    flags = [{"code": "contention", "message": "others used 1.20 cores"}]
    record_run(store, "a", cells=ONE, seed=1)
    record_run(store, "b", cells=ONE, seed=2, result={"flags": flags},
               extra_metrics=[MetricValue("host_contention_cores", 1.2, "cores", "info")])
    lat = _row(_sides(store, ["a"], ["b"]))
    assert any(n == "measured under contention: B run b, others used 1.20 cores" for n in lat.notes)
    record_run(store, "c", cells=ONE, seed=3, result={"flags": ["EP fallback: CUDA requested, most nodes ran on CPU"]})
    row = _row(_sides(store, ["a"], ["c"]))  # an old store's plain-string flag is read, and is no contention
    assert row.verdict is not Verdict.INCOMPARABLE and not any("contention" in n for n in row.notes)


def test_nan_too_few_and_missing_samples_make_the_row_incomparable(store) -> None:
    record_run(store, "a", cells=ONE, seed=1)
    record_run(store, "b", cells=ONE, seed=2)
    a, b = resolve_side("a", store), resolve_side("b", store)
    at = int(np.flatnonzero(b.metrics["metric"] == "latency_ms@b1")[0])

    def judged(samples):
        b.metrics.at[at, "samples"] = samples
        return _row(compare(a, b))

    row = judged(np.array([1.0, np.nan, 2.0, 3.0]))
    assert row.verdict is Verdict.INCOMPARABLE and "B run b: 1 of 4 samples are NaN" in row.reason
    assert "fewer than 3" in judged(np.array([1.0, 2.0])).reason
    assert "B run b: no raw samples" in judged(None).reason


def test_deterministic_memory_by_tolerance_and_budget(store) -> None:
    record_run(store, "a", cells=ONE)
    record_run(store, "b", cells=ONE, seed=1, rss_shift=1.2)
    record_run(store, "c", cells=ONE, seed=2, rss_shift=1.01)
    a = resolve_side("a", store)
    rss = lambda cmp: _row(cmp, "peak_rss_mb")  # noqa: E731
    assert rss(compare(a, resolve_side("b", store))).verdict is Verdict.REGRESSED
    assert rss(compare(a, resolve_side("c", store))).verdict is Verdict.UNCHANGED
    budget = Thresholds(rules=(Rule(metric="peak_rss_mb", budget=100.5),))
    got = rss(compare(a, resolve_side("c", store), budget))
    assert got.verdict is Verdict.REGRESSED and "budget" in got.reason


def test_build_id_means_all_its_runs(store) -> None:
    for i in range(3):
        record_run(store, f"old-{i}", build_id="b1", cells=ONE, seed=i, offset=math.exp(0.02 * (i - 1)))
        record_run(store, f"base-{i}", build_id="b0", cells=ONE, seed=10 + i, offset=math.exp(0.02 * (1 - i)))
    a, b = resolve_side("b0", store), resolve_side("b1", store)
    assert a.label == "build b0 (3 runs)" and len(b.runs) == 3
    lat = _row(compare(a, b))
    assert lat.runs_a == lat.runs_b == 3 and lat.sigma_source == "estimated"
    assert lat.verdict in (Verdict.UNCHANGED, Verdict.INCONCLUSIVE)


def test_two_devices_on_one_machine_stay_apart_and_a_renamed_device_pairs(store) -> None:
    twins = (CellSpec(device="host-a", fingerprint="fp-box"), CellSpec(device="host-b", fingerprint="fp-box"))
    record_run(store, "a", cells=twins, seed=1)
    record_run(store, "b", cells=twins, seed=2)
    lat = [r for r in _sides(store, ["a"], ["b"]).rows if r.metric == "latency_ms@b1"]
    assert sorted(r.device for r in lat) == ["host-a", "host-b"] and all(r.runs_a == 1 for r in lat)
    record_run(store, "renamed", cells=(CellSpec(device="pixel-8"),), seed=3)
    record_run(store, "before", cells=(CellSpec(device="pixel"),), seed=4)
    row = _row(_sides(store, ["before"], ["renamed"]))
    assert row.verdict is not Verdict.INCOMPARABLE
    assert "device renamed: pixel in A, pixel-8 in B (same fingerprint)" in row.notes


# ---------------------------------------------------------------------------- issue 22: real devices
TEN = tuple(CellSpec(workload=f"w{i}") for i in range(10))  # 20 noisy rows on one device


def test_a_whole_device_shift_is_one_finding_not_twenty_regressed_rows(store) -> None:
    a = record_runs(store, "a", 3, run_sigma=0.01, cells=TEN, seed=1)
    b = record_runs(store, "b", 3, run_sigma=0.01, cells=TEN, seed=2, shift=1.10)  # a new runtime: every row
    cmp = _sides(store, a, b)
    assert len(cmp.shifts) == 1 and cmp.shifts[0].verdict is Verdict.REGRESSED and cmp.shifts[0].applied
    assert cmp.shifts[0].ratio == pytest.approx(1.10, abs=0.03) and cmp.shifts[0].rows == 20
    assert not any(r.verdict is Verdict.REGRESSED for r in cmp.rows)  # judged relative to the shift
    assert cmp.exit_code() == 1  # still caught
    assert any("every row (20) is" in n and "slower in B" in n for n in cmp.notes)
    assert all(r.shift is not None and "common shift" in r.reason for r in cmp.rows if r.kind == "noisy")


def test_one_row_that_moved_on_its_own_stands_out_of_the_device(store) -> None:
    a = record_runs(store, "a", 3, run_sigma=0.04, cells=TEN, seed=3)
    b = record_runs(store, "b", 3, run_sigma=0.04, cells=TEN, seed=4, shift={"w3": 1.25})
    cmp = _sides(store, a, b)
    regressed = {(r.workload, r.metric) for r in cmp.rows if r.verdict is Verdict.REGRESSED}
    assert regressed == {("w3", "latency_ms@b1"), ("w3", "tokens_per_s")}
    assert cmp.shifts and cmp.shifts[0].verdict is not Verdict.REGRESSED


def test_a_single_run_change_is_suspected_not_regressed(store) -> None:
    record_run(store, "a", cells=ONE, seed=0)
    record_run(store, "b", cells=ONE, seed=1, shift=1.30)
    cmp = _sides(store, ["a"], ["b"])
    lat = _row(cmp)
    assert lat.verdict is Verdict.SUSPECTED and lat.runs_needed and lat.runs_needed >= 2
    assert "single run" in lat.reason and f"about {lat.runs_needed} runs per side" in lat.reason
    assert cmp.exit_code() == 0 and cmp.exit_code(strict=True) == 3
    # a change far beyond what any device's run offsets do is REGRESSED even so
    record_run(store, "c", cells=ONE, seed=2, shift=5.0)
    assert _row(_sides(store, ["a"], ["c"])).verdict is Verdict.REGRESSED


def test_a_single_run_interval_is_on_the_tail_its_verdict_assumes(store) -> None:
    # one run per side against a calibration worth 9 dof: the interval is Student t with 3 dof (TAIL_DF),
    # as the verdict's; the calibration's own 9 dof covered 89.8 % of rows under Student-t (3) run offsets
    from scipy import stats

    record_run(store, "a", cells=ONE, seed=0)
    record_run(store, "b", cells=ONE, seed=1, shift=1.03)
    cal = Priors({LAT: RunNoise(0.02, 9, "calibrated", 10)})
    lat = _row(compare(resolve_side("a", store), resolve_side("b", store), priors=cal))
    half = (math.log(lat.ci_high) - math.log(lat.ci_low)) / 2.0
    se = half / float(stats.t.ppf(0.975, 3))
    assert math.log(lat.ratio) == pytest.approx((math.log(lat.ci_high) + math.log(lat.ci_low)) / 2.0)
    assert se == pytest.approx(math.sqrt(2) * 0.02, rel=0.05)  # σ_run on each side; within-run error is small
    assert lat.verdict is Verdict.INCONCLUSIVE  # +3 % with ±14 %: never UNCHANGED on one heavy-tailed draw
    assert lat.sigma_df == 9  # the calibration's worth is still what the row states


def test_a_stale_calibration_is_replaced_by_what_the_runs_show_and_says_so(store) -> None:
    rng = np.random.default_rng(7)
    for side in ("a", "b"):  # one run per side, each row with its own 4 % run offset
        factors = {("pixel", c.workload): float(rng.lognormal(0.0, 0.04)) for c in TEN}
        record_run_factors(store, side, list(TEN), factors, seed=ord(side))
    cal = {(c.workload, "fp32", "cpu", "fp-pixel", m): RunNoise(0.005, 9.0, "calibrated", 10, "10 A/A runs",
                                                                 "2026-11-30")
           for c in TEN for m in ("latency_ms@b1", "tokens_per_s")}
    cmp = _sides(store, ["a"], ["b"], priors=Priors(calibrated=cal))
    noisy = [r for r in cmp.rows if r.kind == "noisy"]
    assert all(r.sigma_stale and r.sigma_run > 0.02 for r in noisy)
    assert all(any("calibration stale (observed" in n and "calibrated 0.5 % on 2026-11-30" in n for n in r.notes)
               for r in noisy)
    assert not any(r.verdict in (Verdict.REGRESSED, Verdict.IMPROVED) for r in noisy)
    assert all((r.sigma_runs, r.sigma_date) == (10, "2026-11-30") for r in noisy)


def _contended(store, prefix: str, k: int, cores: float, **kw) -> list[str]:
    extra = (MetricValue("host_contention_cores", cores, "cores", "info"),
             MetricValue("host_cpu_count", 2.0, "cores", "info"))
    return record_runs(store, prefix, k, run_sigma=0.01, extra_metrics=extra, **kw)


def test_a_change_measured_beside_a_busy_neighbour_is_inconclusive_unless_it_survives_it(store) -> None:
    a = _contended(store, "a", 3, 0.05, cells=ONE, seed=1)
    b = _contended(store, "b", 3, 1.50, cells=ONE, seed=2, shift=1.60)
    lat = _row(_sides(store, a, b))
    assert lat.verdict is Verdict.INCONCLUSIVE and "differ in contention (A 0.05, B 1.50 cores)" in lat.reason
    assert "at most ×3.90 on 2 cores" in lat.reason  # (2 - 0.05) / (2 - 1.50)
    c = _contended(store, "c", 3, 1.50, cells=ONE, seed=3, shift=8.0)
    lat = _row(_sides(store, a, c))
    assert lat.verdict is Verdict.REGRESSED and "survives the most that can explain" in lat.reason
    # the busier side got faster: contention explains nothing of that
    d = _contended(store, "d", 3, 1.50, cells=ONE, seed=4, shift=0.70)
    assert _row(_sides(store, d, a)).verdict is Verdict.REGRESSED


HOT = {"flags": [{"code": "throttled", "message": "throttled: Pi get_throttled reports soft temperature limit during "
                                                  "the cell"}]}


def test_a_throttled_run_is_set_aside_and_named_when_enough_unflagged_runs_remain(store) -> None:
    a = record_runs(store, "a", 3, run_sigma=0.01, cells=TEN, seed=5)
    b = record_runs(store, "b", 3, run_sigma=0.01, cells=TEN, seed=6)
    record_run(store, "b-hot", cells=TEN, seed=7, offset=1.25, result=HOT)  # B's 4th run ran hot: every row +25 %
    cmp = _sides(store, a, [*b, "b-hot"])
    assert cmp.exit_code() == 0 and cmp.shifts[0].verdict is Verdict.UNCHANGED
    assert [(t.device, [(f.side, f.run_id) for f in t.set_aside]) for t in cmp.throttled] == [("pixel", [("B", "b-hot")])]
    note = "pixel: throttled run(s) set aside: B run b-hot (throttled: Pi get_throttled reports soft temperature limit"
    assert any(n.startswith(note) for n in cmp.notes)
    lat = _row(cmp, workload="w0")
    assert (lat.runs_a, lat.runs_b) == (3, 3) and any(n.startswith(note) for n in lat.notes)
    assert cmp.to_dict()["throttled"][0]["set_aside"][0]["run_id"] == "b-hot"
    # the same samples without the probe's flag: the hot run is evidence like any other, and moves the device
    record_run(store, "b-warm", cells=TEN, seed=7, offset=1.25)
    blind = _sides(store, a, [*b, "b-warm"])
    assert blind.shifts[0].verdict is not Verdict.UNCHANGED and not blind.throttled


def test_a_real_regression_with_a_throttled_run_is_still_caught_and_too_few_unflagged_runs_keep_it(store) -> None:
    a = record_runs(store, "a", 3, run_sigma=0.01, cells=TEN, seed=8)
    b = record_runs(store, "b", 3, run_sigma=0.01, cells=TEN, seed=9, shift=1.10)
    record_run(store, "b-hot", cells=TEN, seed=10, shift=1.10, offset=1.08, result=HOT)
    cmp = _sides(store, a, [*b, "b-hot"])
    assert cmp.shifts[0].verdict is Verdict.REGRESSED and cmp.exit_code() == 1
    assert "1 throttled run(s) set aside" in cmp.shifts[0].explanation
    # one unflagged run of B left: the hot run stays in, and the comparison says what the verdict rests on
    kept = _sides(store, a, [b[0], "b-hot"])
    assert not kept.throttled[0].set_aside and [f.run_id for f in kept.throttled[0].kept] == ["b-hot"]
    assert any("the verdict rests on throttled runs: B run b-hot" in n for n in kept.notes)
    assert _row(kept, workload="w0").runs_b == 2


def test_a_hot_run_the_probes_missed_is_set_aside_and_the_interval_spans_both_readings(store) -> None:
    # B: 4 quiet runs, one flagged hot run and one hot run the probes missed (every row +25 %); A: 5 quiet runs
    a = record_runs(store, "a", 5, run_sigma=0.01, cells=TEN, seed=11)
    b = record_runs(store, "b", 4, run_sigma=0.01, cells=TEN, seed=12)
    record_run(store, "b-hot", cells=TEN, seed=13, offset=1.25, result=HOT)
    record_run(store, "b-missed", cells=TEN, seed=14, offset=1.25)
    cmp = _sides(store, a, [*b, "b-hot", "b-missed"])
    t = cmp.throttled[0]
    assert t.missed is not None and (t.missed.side, t.missed.run_id) == ("B", "b-missed")
    assert {f.run_id for f in t.set_aside} == {"b-hot", "b-missed"}
    assert any("B run b-missed (not flagged, " in n and "the probes missed" in n for n in cmp.notes)
    assert cmp.exit_code() == 0 and cmp.shifts[0].verdict is Verdict.UNCHANGED
    lat = _row(cmp, workload="w0")
    assert (lat.runs_a, lat.runs_b) == (5, 4)
    assert lat.ci_high > 1.05 > lat.ratio  # the interval with the run put back reaches where it points
    # on a device with no flag the same run is judged as it is
    blind = _sides(store, a, [*b, "b-missed"])
    assert not blind.throttled and _row(blind, workload="w0").runs_b == 5
