"""A seeded simulation of verdicts with known truth, driving the project's own decision code.

Model of a benchmark run: log(run median) = truth + run offset (σ_run) + within-run error, with the
within-run samples drawn from one of five shapes (``SHAPES``). A comparison draws k runs per side for
every row, estimates each run exactly as ``compare`` does (``analysis.within_run.estimate_run``) and
judges all rows together with ``analysis.compare.judge_noisy`` (Holm across rows), with σ_run taken
from the runs (k >= 3), from a simulated 10-run calibration (``analysis.noise.calibrate``), or
assumed from the thresholds. ``cli_agreement`` sends the same samples through `harness compare` as
pytest-benchmark JSON files and checks verdicts and exit codes agree. ``simulate_history`` runs the
history detector night by night (``analysis.changepoints.detect`` with the open alerts as known
steps), as `harness nightly` would.

Used by ``benchmarks/test_statistics_simulation.py`` (the table) and
``tests/analysis/test_statistics_quick.py`` (a quick variant with loose bounds).
"""

from __future__ import annotations

import contextlib
import io
import json
import math
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from harness.analysis import noise as N
from harness.analysis.changepoints import StepRule, detect
from harness.analysis.compare import Priors, Verdict, judge_noisy, noisy_row
from harness.analysis.thresholds import Thresholds
from harness.analysis.within_run import estimate_run

Shape = Callable[[np.random.Generator, int], np.ndarray]


def _lognormal(cv: float) -> Shape:
    return lambda rng, n: rng.lognormal(0.0, cv, n)


def _outliers(rng: np.random.Generator, n: int) -> np.ndarray:
    x = rng.lognormal(0.0, 0.03, n)
    hit = rng.random(n) < 0.05
    x[hit] *= rng.uniform(2.0, 5.0, int(hit.sum()))
    return x


def _bimodal(rng: np.random.Generator, n: int) -> np.ndarray:
    x = rng.lognormal(0.0, 0.03, n)
    return np.where(rng.random(n) < 0.30, 1.35 * x, x)


def _ar1_ramp(rng: np.random.Generator, n: int, phi: float = 0.7, cv: float = 0.03) -> np.ndarray:
    """AR(1) log noise (marginal σ = cv, lag-1 = phi) plus a +6 % linear ramp over the run (heating up)."""
    e = rng.normal(0.0, cv * math.sqrt(1.0 - phi * phi), n)
    z = np.empty(n)
    z[0] = rng.normal(0.0, cv)
    for i in range(1, n):
        z[i] = phi * z[i - 1] + e[i]
    return np.exp(z + np.linspace(0.0, math.log(1.06), n))


SHAPES: dict[str, Shape] = {
    "lognormal 3%": _lognormal(0.03),
    "lognormal 10%": _lognormal(0.10),
    "outliers 5% at 2-5x": _outliers,
    "bimodal 30% at 1.35x": _bimodal,
    "AR(1) + 6% ramp": _ar1_ramp,
}
KEY = ("w", "fp32", "cpu", "fp-sim", "latency_ms")


@dataclass(frozen=True)
class Scenario:
    shape: str = "lognormal 3%"
    sigma_run: float = 0.04  # true run-to-run σ of log medians
    n: int = 100  # samples per run
    rows: int = 20
    k: int = 3  # runs per side
    effect: float = 1.0  # true B/A ratio of every row (1.0: A/A)
    source: str = "runs"  # runs (k >= 3 estimate it), calibrated (10 simulated A/A runs) or assumed
    assumed: float = 0.05  # run_noise in the thresholds when source == "assumed"

    @property
    def label(self) -> str:
        src = {"runs": "runs", "calibrated": "calib", "assumed": f"assumed {self.assumed:.0%}"}[self.source]
        return (f"{self.shape:<20} σ_run {self.sigma_run:>4.0%} n {self.n:>4} rows {self.rows:>2} k {self.k} "
                f"{src:<12} B/A {self.effect:.2f}")


@dataclass
class Outcome:
    scenario: Scenario
    trials: int
    any_regressed: float  # per comparison (any row)
    any_improved: float
    regressed_rows: float  # per row
    improved_rows: float
    unchanged_rows: float
    inconclusive_rows: float
    coverage: float  # per row: the 95 % CI holds the true ratio
    verdicts: list[list[str]] = field(default_factory=list)  # first few trials, for the CLI check


def draw_runs(rng: np.random.Generator, s: Scenario, ratio: float) -> list[np.ndarray]:
    shape = SHAPES[s.shape]
    return [ratio * math.exp(rng.normal(0.0, s.sigma_run)) * shape(rng, s.n) for _ in range(s.k)]


def _calibration(rng: np.random.Generator, s: Scenario) -> N.RunNoise:
    runs = [estimate_run(x) for x in draw_runs(rng, Scenario(**{**s.__dict__, "k": N.CALIBRATION_RUNS}), 1.0)]
    cal = N.calibrate([e.log_median for e in runs], [e.se for e in runs])
    assert cal is not None
    return N.RunNoise(cal.sigma, cal.df, "calibrated", cal.n_runs)


def thresholds_for(s: Scenario) -> Thresholds:
    return Thresholds.model_validate({"defaults": {"run_noise": s.assumed}})


def simulate_compare(s: Scenario, trials: int, seed: int = 0, keep: int = 0,
                     samples_out: list[list[tuple[list[np.ndarray], list[np.ndarray]]]] | None = None) -> Outcome:
    """``trials`` comparisons of ``s.rows`` rows; ``samples_out`` collects the first ``keep`` trials' samples."""
    rng = np.random.default_rng(seed)
    th = thresholds_for(s).resolve(*KEY[:3], KEY[4])
    counts = {v: 0 for v in Verdict}
    any_reg = any_imp = covered = 0
    kept: list[list[str]] = []
    for t in range(trials):
        items, calibrated, drawn = [], {}, []
        for r in range(s.rows):
            key = (f"w{r}", *KEY[1:])
            a, b = draw_runs(rng, s, 1.0), draw_runs(rng, s, s.effect)
            drawn.append((a, b))
            items.append(noisy_row(key, th, [estimate_run(x) for x in a], [estimate_run(x) for x in b]))
            if s.source == "calibrated":
                calibrated[key] = _calibration(rng, s)
        judge_noisy(items, Priors(calibrated=calibrated))
        verdicts = [it.row.verdict for it in items]
        for v in verdicts:
            counts[v] += 1
        any_reg += Verdict.REGRESSED in verdicts
        any_imp += Verdict.IMPROVED in verdicts
        covered += sum(it.row.ci_low <= s.effect <= it.row.ci_high for it in items)  # type: ignore[operator]
        if t < keep:
            kept.append([v.value for v in verdicts])
            if samples_out is not None:
                samples_out.append(drawn)
    rows = trials * s.rows
    return Outcome(s, trials, any_reg / trials, any_imp / trials, counts[Verdict.REGRESSED] / rows,
                   counts[Verdict.IMPROVED] / rows, counts[Verdict.UNCHANGED] / rows,
                   counts[Verdict.INCONCLUSIVE] / rows, covered / rows, kept)


# ---------------------------------------------------------------------------- the CLI, with files
def pytest_benchmark_file(path: Path, rows: Sequence[np.ndarray]) -> Path:
    """One run as any project's `pytest --benchmark-json --benchmark-save-data` file (seconds)."""
    benches = [{"name": f"test_w{r}", "fullname": f"bench.py::test_w{r}",
                "stats": {"median": float(np.median(x)) * 1e-3, "rounds": int(x.size),
                          "data": [float(v) * 1e-3 for v in x]}} for r, x in enumerate(rows)]
    path.write_text(json.dumps({"machine_info": {"node": "sim", "machine": "x86_64"}, "commit_info": {"id": path.stem},
                                "benchmarks": benches, "datetime": "2026-01-01T00:00:00", "version": "5.1.0"}))
    return path


def run_cli(args: Sequence[str]) -> tuple[int, str]:
    """`harness ARGS` in this process: (exit code, stdout)."""
    from harness.cli import main

    out = io.StringIO()
    old = sys.argv
    sys.argv = ["harness", *args]
    code = 0
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(io.StringIO()):
            main()
    except SystemExit as exc:
        code = int(exc.code or 0)
    finally:
        sys.argv = old
    return code, out.getvalue()


def cli_agreement(s: Scenario, trials: int, folder: Path, seed: int = 0) -> tuple[int, int]:
    """(agreeing trials, trials): verdict of every row and the exit code, decision code vs the CLI."""
    samples: list[list[tuple[list[np.ndarray], list[np.ndarray]]]] = []
    direct = simulate_compare(s, trials, seed=seed, keep=trials, samples_out=samples)
    th = folder / "thresholds.yaml"
    th.write_text(f"defaults: {{run_noise: {s.assumed}}}\n")
    agree = 0
    for t, drawn in enumerate(samples):
        sides = []
        for side in (0, 1):
            files = [pytest_benchmark_file(folder / f"t{t}-{'ab'[side]}{i}.json", [d[side][i] for d in drawn])
                     for i in range(s.k)]
            sides.append(",".join(str(f) for f in files))
        code, out = run_cli(["compare", *sides, "--format", "json", "--thresholds", str(th),
                             "--store", str(folder / "absent.db")])
        doc = json.loads(out) if out.strip().startswith("{") else {"rows": []}
        got = [r["verdict"] for r in sorted(doc["rows"], key=lambda r: int(r["workload"].rsplit("_w", 1)[1]))]
        want = direct.verdicts[t]
        want_code = 1 if "REGRESSED" in want else 0
        agree += got == want and code == want_code
    return agree, trials


# ---------------------------------------------------------------------------- history
@dataclass(frozen=True)
class HistoryScenario:
    sigma_run: float = 0.05
    nights: int = 60
    step: float = 1.0  # B/A of the step (1.0: none)
    step_at: int = 30
    threshold: float = 0.05
    n: int = 50  # samples per run (lognormal 3 %)

    @property
    def label(self) -> str:
        step = f"step {self.step - 1:+.0%} at night {self.step_at}" if self.step != 1.0 else "no step"
        return f"σ_run {self.sigma_run:>3.0%}, {self.nights} nights, {step}, threshold {self.threshold:.0%}"


@dataclass
class HistoryOutcome:
    scenario: HistoryScenario
    series: int
    false_alerts_per_series: float  # worse alerts ever raised away from the step (not in STEP_NEAR of it)
    raised_within_4: float  # share of series whose step was raised (STEP_AT of it) by its 4th run at the new level
    dropped_per_series: float  # alerts raised, later no longer detected (flicker)


STEP_AT = (-1, 2)  # an alert this many runs from the step's first run, raised in time, found the step
STEP_NEAR = (-2, 3)  # an alert this close to the step is the step, dated a little off: not a false alert


def simulate_history(h: HistoryScenario, series: int, seed: int = 0) -> HistoryOutcome:
    rng = np.random.default_rng(seed)
    rule = StepRule(threshold=h.threshold)
    false = raised_in_time = dropped = 0
    for _ in range(series):
        levels = np.where(np.arange(h.nights) >= h.step_at, h.step, 1.0) if h.step != 1.0 else np.ones(h.nights)
        med = np.array([lvl * math.exp(rng.normal(0.0, h.sigma_run)) * float(np.median(rng.lognormal(0, 0.03, h.n)))
                        for lvl in levels])
        ever: set[int] = set()
        open_: set[int] = set()
        in_time = False
        for t in range(6, h.nights + 1):
            found = {c.index for c in detect(med[:t], rule=rule, known=open_) if c.worse}
            dropped += len(open_ - found)
            open_ = found
            ever |= found
            if h.step != 1.0 and t <= h.step_at + 4 and any(STEP_AT[0] <= i - h.step_at <= STEP_AT[1] for i in found):
                in_time = True
        near = {i for i in ever if h.step != 1.0 and STEP_NEAR[0] <= i - h.step_at <= STEP_NEAR[1]}
        false += len(ever - near)
        raised_in_time += in_time
    return HistoryOutcome(h, series, false / series, raised_in_time / series, dropped / series)
