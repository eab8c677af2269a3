"""Cell flags: what a reader must know beside a cell's numbers. Pure decisions, no I/O.

A flag is stored in the cell's ``result_json["flags"]`` as ``{"code": str, "message": str,
...extra}``. Stores written before flags were objects hold plain strings ("EP fallback: ...",
"throttled: ..."): ``parse_flags`` reads both. ``label`` is the short form tables show beside
the cell; ``message`` is the whole sentence.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from harness.analysis.autocorrelation import LAG1_LIMIT, is_autocorrelated, lag1_autocorrelation
from harness.analysis.thresholds import higher_is_better
from harness.records import (  # the stored form of a flag is a record: results reads it too
    AUTOCORRELATED,
    BUDGET_MISSED,
    CONTENTION,
    EP_FALLBACK,
    NOTE,
    PROBE,
    SLOWER_THAN_FP32,
    THROTTLED,
    VARIANT_UNCHANGED,
    Flag,
    codes,
    flags_json,
    labels,
    parse_flag,
    parse_flags,
)

__all__ = ["AUTOCORRELATED", "BUDGET_MISSED", "CONTENTION", "EP_FALLBACK", "NOTE", "PROBE", "SLOWER_THAN_FP32",
           "THROTTLED", "VARIANT_UNCHANGED", "Flag", "codes", "flags_json", "labels", "parse_flag", "parse_flags",
           "SLOWER_RATIO", "CONTENTION_CORES", "AUTOCORRELATION_LAG1", "AUTOCORRELATION_MIN_SAMPLES",
           "slower_than_fp32", "ep_fallback", "variant_unchanged", "budget_missed", "contention", "autocorrelated",
           "lag1_autocorrelation"]

# A precision this much slower than fp32 on the same device and backend is flagged: above the
# 2-8 % a median moves from process to process on a shared host (measured), so noise alone
# does not raise it.
SLOWER_RATIO = 1.10
# Other processes using more than this share of one core during the steady windows.
CONTENTION_CORES = 0.25
# Two cells of one run on a quiet device differ by this much beyond their in-run errors (process to
# process: allocations, thread placement), so "slower than fp32" needs a ratio above it to be judged.
CELL_NOISE = 0.03
# Lag-1 autocorrelation of the steady samples above which they drift (a device heating up).
AUTOCORRELATION_LAG1 = LAG1_LIMIT
AUTOCORRELATION_MIN_SAMPLES = 20


# ---------------------------------------------------------------------------- decisions
def slower_than_fp32(metric: str, value: float | None, fp32_value: float | None, unit: str,
                     backend: str, *, samples: Sequence[float] | np.ndarray | None = None,
                     fp32_samples: Sequence[float] | np.ndarray | None = None, cores: float | None = None,
                     fp32_cores: float | None = None) -> Flag | None:
    """The cell's headline median against fp32's on the same device and backend, in the same run.

    A judgment, not a bare ratio: with both cells' samples, the ratio's 95 % interval from each cell's
    in-run error (``analysis.within_run``) and CELL_NOISE between two cells of one run must lie above 1
    as well as the ratio reach SLOWER_RATIO. When either cell was measured under contention the two
    cells did not share conditions: the cell says the ratio is not judged (a note) instead."""
    if value is None or not fp32_value or fp32_value <= 0 or not np.isfinite(value):
        return None
    if higher_is_better(metric):  # a rate (tok/s of an llm cell): slower is fewer per second
        if value <= 0:
            return None
        ratio = fp32_value / value
        samples, fp32_samples = fp32_samples, samples
    else:
        ratio = value / fp32_value
    if ratio < SLOWER_RATIO:
        return None
    busy = [f"{who} {c:.2f} cores" for who, c in (("this cell", cores), ("fp32", fp32_cores))
            if c is not None and np.isfinite(c) and c > CONTENTION_CORES]
    if busy:
        return Flag(NOTE, f"{ratio:.2f}× fp32's {metric} on {backend}, but measured under contention (others took "
                          f"{', '.join(busy)}): slower than fp32 not judged", {"ratio": round(ratio, 4),
                                                                                "metric": metric})
    extra: dict[str, Any] = {"ratio": round(ratio, 4), "metric": metric, "fp32": fp32_value, "value": value}
    why = ""
    if samples is not None and fp32_samples is not None:
        judged = _in_run_ratio(samples, fp32_samples)
        if judged is not None:
            low, high = judged
            if low <= 1.0:
                return None
            extra.update({"ci_low": round(low, 4), "ci_high": round(high, 4)})
            why = (f" (95 % CI {low:.2f}–{high:.2f}× from both cells' in-run errors and "
                   f"{CELL_NOISE:.0%} between cells of one run)")
    return Flag(SLOWER_THAN_FP32,
                f"{ratio:.2f}× slower than fp32 on {backend}: {metric} median {value:.4g} {unit} vs {fp32_value:.4g} "
                f"{unit}{why}", extra)


def _in_run_ratio(samples: Sequence[float] | np.ndarray, fp32_samples: Sequence[float] | np.ndarray
                  ) -> tuple[float, float] | None:
    """95 % interval of median / fp32 median from both cells' samples (None: too few to say)."""
    from harness.analysis.within_run import estimate_run, sample_problem  # scipy: only when judging

    x, f = np.asarray(samples, dtype=float), np.asarray(fp32_samples, dtype=float)
    if sample_problem(x) or sample_problem(f) or np.any(x <= 0) or np.any(f <= 0):
        return None
    ex, ef = estimate_run(x), estimate_run(f)
    d = ex.log_median - ef.log_median
    se = float(np.sqrt(ex.se**2 + ef.se**2 + np.log1p(CELL_NOISE) ** 2))
    return float(np.exp(d - 1.96 * se)), float(np.exp(d + 1.96 * se))


def ep_fallback(providers: Mapping[str, Any] | None) -> Flag | None:
    p = providers or {}
    if not p.get("fallback"):
        return None
    frac = p.get("requested_fraction")
    share = f" ({frac:.0%} of nodes on the requested EP)" if isinstance(frac, (int, float)) else ""
    return Flag(EP_FALLBACK, f"EP fallback: {p.get('requested')} requested, most nodes ran on {p.get('used')}{share}",
                {"requested": p.get("requested"), "used": p.get("used"), "requested_fraction": frac})


def variant_unchanged(precision: str) -> Flag:
    return Flag(VARIANT_UNCHANGED,
                f"the quantizer changed nothing: this {precision} variant has the same ops and weights as fp32 "
                f"(subgraphs included), so its numbers are fp32's")


def budget_missed(violations: Sequence[str]) -> Flag | None:
    if not violations:
        return None
    return Flag(BUDGET_MISSED, "fidelity budget missed: " + "; ".join(violations), {"violations": list(violations)})


def contention(cores: float | None, threshold: float = CONTENTION_CORES) -> Flag | None:
    if cores is None or cores <= threshold:
        return None
    return Flag(CONTENTION,
                f"measured under contention: other processes used {cores:.2f} cores during the steady windows "
                f"(flagged above {threshold:g})", {"cores": round(cores, 3), "threshold": threshold})


def autocorrelated(metric: str, samples: Sequence[float] | np.ndarray) -> Flag | None:
    """Steady samples that drift: the rule compare uses to read a run's error from block medians
    (analysis.within_run: lag-1 of the log samples above LAG1_LIMIT and beyond chance for n)."""
    x = np.asarray(samples, dtype=float)
    x = x[np.isfinite(x) & (x > 0)]
    if x.size < AUTOCORRELATION_MIN_SAMPLES:
        return None
    r = lag1_autocorrelation(np.log(x))
    if not is_autocorrelated(r, int(x.size)):
        return None
    assert r is not None
    return Flag(AUTOCORRELATED,
                f"{metric}: steady samples drift (lag-1 autocorrelation {r:.2f} > {AUTOCORRELATION_LAG1:g}); "
                f"the device may be heating up or the load changed; compare reads this run's error from block "
                f"medians", {"lag1": round(r, 3), "metric": metric})
