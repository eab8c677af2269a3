"""The statistics simulation, quick: a few scenarios of benchmarks/statsim.py with loose bounds.

The full table (every condition of issue 22: heavy-tailed, thermal and whole-device run offsets, stale
calibrations, k_A != k_B, AR(1) samples, contention on one side, σ_run 2-12 % against the assumed default,
MDE checks) is benchmarks/test_statistics_simulation.py; this keeps the decision code honest on every
test run: run-to-run noise does not fake regressions, a real +10 % is found (one row, or the whole
device as one finding), the CLI agrees with the decision code, and history neither cries wolf nor misses
a step.
"""

from __future__ import annotations

from pathlib import Path

from benchmarks.statsim import (
    HistoryScenario,
    Scenario,
    cli_agreement,
    simulate_compare,
    simulate_history,
)

TRIALS = 20


def test_run_to_run_noise_does_not_fake_regressions() -> None:
    for s in (Scenario(sigma_run=0.08, k=3), Scenario(shape="AR(1) + 6% ramp", sigma_run=0.04, k=3),
              Scenario(sigma_run=0.04, k=1, source="calibrated", offsets="t3"),
              Scenario(sigma_run=0.04, k=1, source="calibrated", offsets="t3", shared=True),  # covered 89.8 % once
              Scenario(sigma_run=0.02, k=1, source="calibrated", stale=2.0),
              Scenario(sigma_run=0.12, k=1, source="assumed"),
              Scenario(sigma_run=0.04, k=3, offsets="thermal", shared=True),
              Scenario(sigma_run=0.04, k=5, k_b=1, offsets="t3"),
              Scenario(shape="AR(1) rho 0.9", n=10, sigma_run=0.02, k=1, source="calibrated"),
              Scenario(shape="outliers 5% at 2-5x", sigma_run=0.04, k=1, source="assumed", assumed=0.05)):
        o = simulate_compare(s, TRIALS, seed=11)
        assert o.any_regressed <= 0.05 and o.any_improved <= 0.05, s.label
        assert o.coverage >= 0.85, s.label


def test_contention_on_one_side_is_not_a_regression() -> None:
    o = simulate_compare(Scenario(sigma_run=0.02, k=3, contention=True), TRIALS, seed=17)
    assert o.any_regressed == 0 and o.any_improved == 0 and o.suspected == 0


def test_a_real_ten_percent_is_found_and_covered() -> None:
    o = simulate_compare(Scenario(sigma_run=0.02, k=5, effect=1.10), TRIALS, seed=12)
    assert o.found >= 0.85 and o.coverage >= 0.85  # every row moved: one common-shift finding
    assert o.regressed_rows == 0  # ... not 20 REGRESSED rows
    one = simulate_compare(Scenario(sigma_run=0.02, k=5, effect=1.10, changed="one"), TRIALS, seed=12)
    assert one.found >= 0.5 and one.coverage >= 0.85


def test_one_run_per_side_with_assumed_noise_is_never_regressed() -> None:
    o = simulate_compare(Scenario(sigma_run=0.04, k=1, effect=1.06, source="assumed", assumed=0.05), TRIALS, seed=13)
    assert o.any_regressed == 0 and o.inconclusive_rows >= 0.9  # +6 % is never called UNCHANGED either
    assert o.unchanged_rows <= 0.02


def test_cli_with_files_agrees_with_the_decision_code(tmp_path: Path) -> None:
    for s in (Scenario(sigma_run=0.02, k=3, rows=5, effect=1.10), Scenario(sigma_run=0.04, k=1, rows=5, source="assumed")):
        agree, n = cli_agreement(s, 3, tmp_path, seed=14)
        assert agree == n, s.label


def test_history_neither_cries_wolf_nor_misses_a_step() -> None:
    quiet = simulate_history(HistoryScenario(sigma_run=0.05, nights=40), 25, seed=15)
    assert quiet.false_alerts_per_series <= 0.08
    step = simulate_history(HistoryScenario(sigma_run=0.02, nights=40, step=1.10, step_at=25), 25, seed=16)
    assert step.raised_within_4 >= 0.8 and step.false_alerts_per_series <= 0.08


def test_throttling_evidence_finds_ten_percent_among_thermal_runs() -> None:
    # 10 % of runs +8 % on the whole device; the probes flag a hot run 4 times in 5 (and any run 3 in 100)
    s = Scenario(sigma_run=0.02, k=5, effect=1.10, offsets="thermal", shared=True)
    o = simulate_compare(s, TRIALS, seed=18)
    assert o.found >= 0.85 and o.regressed_rows == 0 and o.coverage >= 0.85
    aa = simulate_compare(Scenario(sigma_run=0.04, k=3, offsets="thermal", shared=True), TRIALS, seed=19)
    assert aa.any_regressed <= 0.05 and aa.any_improved <= 0.05
