"""A seeded simulation of verdicts with known truth, driving the project's own decision code.

Model of a benchmark run: log(run median) = truth + run offset (σ_run) + within-run error, with the
within-run samples drawn from one of five shapes (``SHAPES``). A comparison draws k runs per side for
every row, estimates each run exactly as ``compare`` does (``analysis.within_run.estimate_run``) and
judges all rows together with ``analysis.compare.judge_noisy`` (Holm across rows), with σ_run taken
from the runs (k >= 3), from a simulated 10-run calibration (``analysis.noise.calibrate``), or
assumed from the thresholds. ``cli_agreement`` sends the same samples through `harness compare` as
pytest-benchmark JSON files and checks verdicts and exit codes agree. ``simulate_history`` runs the
history detector night by night (``analysis.changepoints.detect_set_aside`` with the open alerts as
known steps and the nights the probes flagged set aside), as `harness nightly` would. Thermal run offsets
come with the probes' throttling flags (``draw_flags``), which compare and history act on.

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

from harness.analysis import device_shift as DS
from harness.analysis import noise as N
from harness.analysis.changepoints import StepRule, detect_set_aside
from harness.analysis.compare import Comparison, Priors, Verdict, judge_noisy, noisy_row
from harness.analysis.thresholds import Thresholds
from harness.analysis.throttled_runs import history_set_aside
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


def _ar1_ramp(rng: np.random.Generator, n: int, phi: float = 0.7, cv: float = 0.03, ramp: float = 1.06) -> np.ndarray:
    """AR(1) log noise (marginal σ = cv, lag-1 = phi) plus a linear ramp over the run (heating up)."""
    e = rng.normal(0.0, cv * math.sqrt(1.0 - phi * phi), n)
    z = np.empty(n)
    z[0] = rng.normal(0.0, cv)
    for i in range(1, n):
        z[i] = phi * z[i - 1] + e[i]
    return np.exp(z + np.linspace(0.0, math.log(ramp), n))


SHAPES: dict[str, Shape] = {
    "lognormal 3%": _lognormal(0.03),
    "lognormal 10%": _lognormal(0.10),
    "outliers 5% at 2-5x": _outliers,
    "bimodal 30% at 1.35x": _bimodal,
    "AR(1) + 6% ramp": _ar1_ramp,
    "AR(1) rho 0.9": lambda rng, n: _ar1_ramp(rng, n, phi=0.9, ramp=1.0),
}
OFFSETS = ("normal", "t3", "thermal")  # run offsets: normal, Student t 3 dof, 10 % of runs +8 %
THERMAL = (0.10, math.log(1.08))
# What the probes record with it: a hot run carries a throttling flag with FLAG_DETECT, any run falsely with
# FLAG_FALSE (compare sets flagged runs aside: analysis.throttled_runs); Scenario.evidence False: nothing recorded
FLAG_DETECT, FLAG_FALSE = 0.80, 0.03
CONTENDED = (1.4, 2, (0.05, 0.40))  # cores others take on a side under contention, device cores, slowdown range
KEY = ("w", "fp32", "cpu", "fp-sim", "latency_ms")


@dataclass(frozen=True)
class Scenario:
    shape: str = "lognormal 3%"
    sigma_run: float = 0.04  # true run-to-run σ of log medians (the calibration's, when it goes stale)
    n: int = 100  # samples per run
    rows: int = 20
    k: int = 3  # runs of A
    effect: float = 1.0  # true B/A ratio of the changed rows (1.0: A/A)
    source: str = "runs"  # runs (k >= 3 estimate it), calibrated (10 simulated A/A runs) or assumed
    assumed: float = 0.05  # run_noise in the thresholds when source == "assumed" (declared when != 5 %)
    offsets: str = "normal"  # OFFSETS
    shared: bool = False  # one offset per run shared by all its rows (clocks, thermal state, load)
    changed: str = "all"  # which rows the effect moves: "all" or "one"
    k_b: int = 0  # runs of B (0: as A)
    stale: float = 1.0  # σ_run of the compared runs / the calibration's
    contention: bool = False  # B's runs measured while others took CONTENDED cores, and slowed by it
    evidence: bool = True  # the probes record throttling flags (FLAG_DETECT, FLAG_FALSE); False: nothing recorded

    @property
    def kb(self) -> int:
        return self.k_b or self.k

    @property
    def label(self) -> str:
        src = {"runs": "runs", "calibrated": "calib", "assumed": f"assumed {self.assumed:.0%}"}[self.source]
        extra = "".join([f" {self.offsets}" if self.offsets != "normal" else "", " shared" if self.shared else "",
                         f" σx{self.stale:g}" if self.stale != 1.0 else "", " contention B" if self.contention else "",
                         " one row" if self.changed == "one" and self.effect != 1.0 else "",
                         " no evidence" if not self.evidence else ""])
        return (f"{self.shape:<20} σ_run {self.sigma_run:>4.0%} n {self.n:>4} rows {self.rows:>2} k {self.k}v{self.kb} "
                f"{src:<12} B/A {self.effect:.2f}{extra}")


@dataclass
class Outcome:
    scenario: Scenario
    trials: int
    any_regressed: float  # per comparison (any row, or the common shift)
    any_improved: float
    regressed_rows: float  # per row: REGRESSED, or covered by a REGRESSED common shift
    improved_rows: float
    unchanged_rows: float
    inconclusive_rows: float
    coverage: float  # per row: the 95 % CI holds the true ratio
    suspected: float = 0.0  # per comparison: a SUSPECTED row or shift
    found: float = 0.0  # changed rows found (REGRESSED, or their device's shift REGRESSED), per changed row
    mde_row: float = float("nan")  # median printed MDE of the changed row (one) / of the common shift (all)
    mde_shift: float = float("nan")
    verdicts: list[list[str]] = field(default_factory=list)  # first few trials, for the CLI check
    codes: list[int] = field(default_factory=list)
    # per trial, for the MDE check: runs per side the changed row (first row) / the common shift was judged on
    # after throttled runs were set aside, the MDE it printed, and the share of changed rows found
    used_row: list[tuple[int, int]] = field(default_factory=list)
    used_shift: list[tuple[int, int]] = field(default_factory=list)
    trial_mde_row: list[float] = field(default_factory=list)
    trial_mde_shift: list[float] = field(default_factory=list)
    trial_found: list[float] = field(default_factory=list)

    @property
    def reg_upper(self) -> float:
        return wilson(self.any_regressed, self.trials)[1]

    @property
    def imp_upper(self) -> float:
        return wilson(self.any_improved, self.trials)[1]


def wilson(p: float, n: int, z: float = 1.959964) -> tuple[float, float]:
    """Wilson 95 % interval of a proportion p seen in n trials."""
    if n <= 0:
        return 0.0, 1.0
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return max(0.0, centre - half), min(1.0, centre + half)


def _offsets(rng: np.random.Generator, s: Scenario | HistoryScenario, sigma: float,
             size: tuple[int, ...]) -> np.ndarray:
    return _offsets_hot(rng, s, sigma, size)[0]


def _offsets_hot(rng: np.random.Generator, s: Scenario | HistoryScenario, sigma: float,
                 size: tuple[int, ...]) -> tuple[np.ndarray, np.ndarray]:
    """(run offsets, which of them ran hot: the thermal mixture's +8 % draws)."""
    if s.offsets == "t3":
        return rng.standard_t(3, size) * sigma / math.sqrt(3.0), np.zeros(size, dtype=bool)
    if s.offsets == "thermal":
        hot = rng.random(size) < THERMAL[0]
        return rng.normal(0.0, sigma, size) + np.where(hot, THERMAL[1], 0.0), hot
    return rng.normal(0.0, sigma, size), np.zeros(size, dtype=bool)


def draw_flags(rng: np.random.Generator, hot: np.ndarray, evidence: bool) -> np.ndarray:
    """The probes' throttling flags for offsets of shape (rows or 1, runs) or (nights,): a hot draw is
    flagged with probability FLAG_DETECT, and every run (night), hot or not, falsely with FLAG_FALSE
    (a device-wide reading, so shared by the run's rows). All False when no evidence is recorded."""
    if not evidence:
        return np.zeros(hot.shape, dtype=bool)
    false = rng.random(hot.shape[-1:]) < FLAG_FALSE
    return (hot & (rng.random(hot.shape) < FLAG_DETECT)) | false


def draw_side(rng: np.random.Generator, s: Scenario, k: int, ratios: np.ndarray, sigma: float,
              contended: bool = False, flags_out: list[np.ndarray] | None = None,
              flag_rng: np.random.Generator | None = None) -> list[list[np.ndarray]]:
    """[row][run] samples of one side: k runs of every row, each with its run offset (shared or per row);
    ``flags_out`` gets the (rows, k) throttling flags the probes recorded with them, drawn from ``flag_rng``
    (its own stream: the samples are the same draws with evidence or without)."""
    off, hot = _offsets_hot(rng, s, sigma, (1, k) if s.shared else (s.rows, k))
    flags = draw_flags(flag_rng or rng, hot, s.evidence)
    off = np.broadcast_to(off, (s.rows, k))
    if flags_out is not None:
        flags_out.append(np.broadcast_to(flags, (s.rows, k)))
    if contended:
        off = off + rng.uniform(*CONTENDED[2], (1, k))  # contention slows every row of a run
    shape = SHAPES[s.shape]
    return [[ratios[r] * math.exp(off[r, j]) * shape(rng, s.n) for j in range(k)] for r in range(s.rows)]


def draw_runs(rng: np.random.Generator, s: Scenario, ratio: float) -> list[np.ndarray]:
    """k runs of one row (calibration runs: every run its own offset)."""
    off = _offsets(rng, s, s.sigma_run, (s.k,))
    return [ratio * math.exp(o) * SHAPES[s.shape](rng, s.n) for o in off]


def _calibration(rng: np.random.Generator, s: Scenario) -> N.RunNoise:
    runs = [estimate_run(x) for x in draw_runs(rng, Scenario(**{**s.__dict__, "k": N.CALIBRATION_RUNS}), 1.0)]
    cal = N.calibrate([e.log_median for e in runs], [e.se for e in runs])
    assert cal is not None
    return N.RunNoise(cal.sigma, cal.df, "calibrated", cal.n_runs, date="2026-11-30")


def thresholds_for(s: Scenario) -> Thresholds:
    return Thresholds.model_validate({"defaults": {"run_noise": s.assumed}} if s.assumed != 0.05 else {})


def _infos(side: str, k: int, contended: bool, flags: np.ndarray) -> list[DS.RunInfo]:
    """One row's runs as compare sees them: run id, contention, the throttling flag of that cell."""
    cores, count = (CONTENDED[0], CONTENDED[1]) if contended else (0.05, CONTENDED[1])
    return [DS.RunInfo(f"{side}{j}", cores, bool(flags[j]), count,
                       "throttled: simulated thermal status" if flags[j] else "") for j in range(k)]


def simulate_compare(s: Scenario, trials: int, seed: int = 0, keep: int = 0,
                     samples_out: list[list[tuple[list[np.ndarray], list[np.ndarray]]]] | None = None) -> Outcome:
    """``trials`` comparisons of ``s.rows`` rows; ``samples_out`` collects the first ``keep`` trials' samples."""
    rng = np.random.default_rng(seed)
    frng = np.random.default_rng([seed, 1])  # the probes' flags: a stream of their own
    th = thresholds_for(s).resolve(*KEY[:3], KEY[4])
    counts = {v: 0 for v in Verdict}
    any_reg = any_imp = any_sus = covered = found = 0
    mdes_row: list[float] = []
    mdes_shift: list[float] = []
    used_row: list[tuple[int, int]] = []
    used_shift: list[tuple[int, int]] = []
    trial_found: list[float] = []
    kept: list[list[str]] = []
    codes: list[int] = []
    truth = np.ones(s.rows)
    if s.effect != 1.0:
        truth[:] = 1.0
        truth[: (1 if s.changed == "one" else s.rows)] = s.effect
    sigma = s.sigma_run * s.stale
    for t in range(trials):
        flags: list[np.ndarray] = []
        a_all = draw_side(rng, s, s.k, np.ones(s.rows), sigma, contended=False, flags_out=flags, flag_rng=frng)
        b_all = draw_side(rng, s, s.kb, truth, sigma, contended=s.contention, flags_out=flags, flag_rng=frng)
        items, calibrated = [], {}
        for r in range(s.rows):
            key = (f"w{r}", *KEY[1:])
            items.append(noisy_row(key, th, [estimate_run(x) for x in a_all[r]], [estimate_run(x) for x in b_all[r]],
                                   a_info=_infos("a", s.k, False, flags[0][r]),
                                   b_info=_infos("b", s.kb, s.contention, flags[1][r])))
            if s.source == "calibrated":
                calibrated[key] = _calibration(rng, s)
        shifts = judge_noisy(items, Priors(calibrated=calibrated))
        verdicts = [it.row.verdict for it in items]
        shift_reg = any(sh.verdict is Verdict.REGRESSED for sh in shifts)
        for v in verdicts:
            counts[v] += 1
        any_reg += Verdict.REGRESSED in verdicts or shift_reg
        any_imp += Verdict.IMPROVED in verdicts or any(sh.verdict is Verdict.IMPROVED for sh in shifts)
        any_sus += Verdict.SUSPECTED in verdicts or any(sh.verdict is Verdict.SUSPECTED for sh in shifts)
        covered += sum(it.row.ci_low <= truth[i] <= it.row.ci_high for i, it in enumerate(items))  # type: ignore[operator]
        changed = [i for i in range(s.rows) if truth[i] != 1.0]
        hits = sum(verdicts[i] is Verdict.REGRESSED or (shift_reg and len(changed) > 1) for i in changed)
        found += hits
        trial_found.append(hits / len(changed) if changed else math.nan)
        mdes_row.append(items[0].row.mde or math.nan)  # the row that changes when one does
        used_row.append((items[0].row.runs_a, items[0].row.runs_b))
        mdes_shift.append(shifts[0].mde if shifts else math.nan)
        used_shift.append((shifts[0].runs_a, shifts[0].runs_b) if shifts else (0, 0))
        if t < keep:
            kept.append([v.value for v in verdicts])
            codes.append(Comparison("a", "b", [it.row for it in items], shifts=shifts).exit_code())
            if samples_out is not None:
                samples_out.append([(a_all[r], b_all[r]) for r in range(s.rows)])
    rows = trials * s.rows
    n_changed = trials * int((truth != 1.0).sum())
    return Outcome(s, trials, any_reg / trials, any_imp / trials, counts[Verdict.REGRESSED] / rows,
                   counts[Verdict.IMPROVED] / rows, counts[Verdict.UNCHANGED] / rows,
                   counts[Verdict.INCONCLUSIVE] / rows, covered / rows, any_sus / trials,
                   found / n_changed if n_changed else math.nan,
                   float(np.nanmedian(mdes_row)) if mdes_row else math.nan,
                   float(np.nanmedian(mdes_shift)) if np.isfinite(mdes_shift).any() else math.nan, kept, codes,
                   used_row, used_shift, mdes_row, mdes_shift, trial_found)


@dataclass(frozen=True)
class MdeCheck:
    """The printed MDE against the empirical 80 %-power point, like with like: the comparisons judged on
    the same runs per side (the most common: a flagged run set aside leaves fewer, and those print a
    larger MDE of their own)."""

    mde: float  # median MDE printed by the comparisons judged on ``runs``
    low: float  # power at 0.8 x it, among comparisons judged on ``runs``
    high: float  # power at 1.2 x it
    runs: tuple[int, int]  # runs per side (A, B) behind the changed row's / the common shift's verdict
    share: float  # of the pilot's comparisons judged on ``runs``

    @property
    def met(self) -> bool:
        return self.low < 0.80 < self.high


def mde_check(s: Scenario, trials: int, seed: int = 0) -> MdeCheck:
    """The printed MDE is the 80 %-power point within ±20 % when the power at 0.8 x it is below 80 % and
    at 1.2 x above. One changed row: the row's MDE and verdict; all rows: the common shift's MDE and
    verdict. Each comparison prints the MDE of the runs it was judged on, so the median MDE and both
    powers are read from the comparisons judged on the most common runs per side."""
    one = s.changed == "one"

    def view(o: Outcome) -> tuple[list[tuple[int, int]], list[float]]:
        return (o.used_row, o.trial_mde_row) if one else (o.used_shift, o.trial_mde_shift)

    pilot = simulate_compare(s, trials, seed=seed)  # the median printed MDE: a small pilot moves it ±20 %
    used, mdes = view(pilot)
    runs = max(set(used), key=used.count)
    mde = float(np.nanmedian([m for u, m in zip(used, mdes, strict=True) if u == runs]))
    if not math.isfinite(mde):
        return MdeCheck(math.nan, math.nan, math.nan, runs, 0.0)
    powers = []
    for f in (0.8, 1.2):
        o = simulate_compare(Scenario(**{**s.__dict__, "effect": 1.0 + f * mde}), trials, seed=seed + 1)
        u2, _ = view(o)
        hits = [h for u, h in zip(u2, o.trial_found, strict=True) if u == runs]
        powers.append(float(np.mean(hits)) if hits else math.nan)
    return MdeCheck(mde, powers[0], powers[1], runs, used.count(runs) / len(used))


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
    s = Scenario(**{**s.__dict__, "evidence": False})  # pytest-benchmark files carry no probe evidence
    direct = simulate_compare(s, trials, seed=seed, keep=trials, samples_out=samples)
    th = folder / "thresholds.yaml"
    th.write_text(f"defaults: {{run_noise: {s.assumed}}}\n" if s.assumed != 0.05 else "defaults: {}\n")
    agree = 0
    for t, drawn in enumerate(samples):
        sides = []
        for side in (0, 1):
            files = [pytest_benchmark_file(folder / f"t{t}-{'ab'[side]}{i}.json", [d[side][i] for d in drawn])
                     for i in range((s.k, s.kb)[side])]
            sides.append(",".join(str(f) for f in files))
        code, out = run_cli(["compare", *sides, "--format", "json", "--thresholds", str(th),
                             "--store", str(folder / "absent.db")])
        doc = json.loads(out) if out.strip().startswith("{") else {"rows": []}
        got = [r["verdict"] for r in sorted(doc["rows"], key=lambda r: int(r["workload"].rsplit("_w", 1)[1]))]
        want = direct.verdicts[t]
        want_code = direct.codes[t]
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
    offsets: str = "normal"  # OFFSETS
    shared: bool = False  # the series of a device (10 of them) share each night's offset
    evidence: bool = True  # nights carry throttling flags (FLAG_DETECT, FLAG_FALSE); False: nothing recorded

    @property
    def label(self) -> str:
        step = f"step {self.step - 1:+.0%} at night {self.step_at}" if self.step != 1.0 else "no step"
        extra = (f", offsets {self.offsets}" if self.offsets != "normal" else "") + (", shared" if self.shared else "") \
            + ("" if self.evidence else ", no evidence")
        return f"σ_run {self.sigma_run:>3.0%}, {self.nights} nights, {step}, threshold {self.threshold:.0%}{extra}"


@dataclass
class HistoryOutcome:
    scenario: HistoryScenario
    series: int
    false_alerts_per_series: float  # worse alerts ever raised away from the step (not in STEP_NEAR of it)
    raised_within_4: float  # share of series whose step was raised (STEP_AT of it) by its 4th run at the new level
    # (nights set aside as throttled not counted: a step cannot be confirmed on them)
    dropped_per_series: float  # alerts raised, later no longer detected (flicker)


STEP_AT = (-1, 2)  # an alert this many runs from the step's first run, raised in time, found the step
STEP_NEAR = (-2, 3)  # an alert this close to the step is the step, dated a little off: not a false alert


def simulate_history(h: HistoryScenario, series: int, seed: int = 0) -> HistoryOutcome:
    rng = np.random.default_rng(seed)
    rule = StepRule(threshold=h.threshold)
    false = raised_in_time = dropped = 0
    shape = Scenario(sigma_run=h.sigma_run, offsets=h.offsets)
    frng = np.random.default_rng([seed, 1])  # the probes' flags: a stream of their own
    device = _offsets_hot(rng, shape, h.sigma_run, (h.nights,))
    device_flags = draw_flags(frng, device[1], h.evidence)
    for i in range(series):
        levels = np.where(np.arange(h.nights) >= h.step_at, h.step, 1.0) if h.step != 1.0 else np.ones(h.nights)
        if h.shared and i % 10 == 0:
            device = _offsets_hot(rng, shape, h.sigma_run, (h.nights,))
            device_flags = draw_flags(frng, device[1], h.evidence)
        if h.shared:
            off, flags = device[0], device_flags
        else:
            off, hot = _offsets_hot(rng, shape, h.sigma_run, (h.nights,))
            flags = draw_flags(frng, hot, h.evidence)
        med = np.array([lvl * math.exp(o) * float(np.median(rng.lognormal(0, 0.03, h.n)))
                        for lvl, o in zip(levels, off, strict=True)])
        ever: set[int] = set()
        open_: set[int] = set()
        in_time = False
        for t in range(6, h.nights + 1):
            aside = history_set_aside(flags[:t].tolist())
            found = {c.index for c in detect_set_aside(med[:t], aside, rule=rule, known=open_) if c.worse}
            dropped += len(open_ - found)
            open_ = found
            ever |= found
            late = sum(i >= h.step_at for i in aside)  # nights set aside since the step: they confirm nothing
            if h.step != 1.0 and t - late <= h.step_at + 4 and \
                    any(STEP_AT[0] <= i - h.step_at <= STEP_AT[1] for i in found):
                in_time = True
        near = {i for i in ever if h.step != 1.0 and STEP_NEAR[0] <= i - h.step_at <= STEP_NEAR[1]}
        false += len(ever - near)
        raised_in_time += in_time
    return HistoryOutcome(h, series, false / series, raised_in_time / series, dropped / series)
