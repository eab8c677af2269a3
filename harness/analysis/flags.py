"""Cell flags: what a reader must know beside a cell's numbers. Pure decisions, no I/O.

A flag is stored in the cell's ``result_json["flags"]`` as ``{"code": str, "message": str,
...extra}``. Stores written before flags were objects hold plain strings ("EP fallback: ...",
"throttled: ..."): ``parse_flags`` reads both. ``label`` is the short form tables show beside
the cell; ``message`` is the whole sentence.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

SLOWER_THAN_FP32 = "slower_than_fp32"
EP_FALLBACK = "ep_fallback"
VARIANT_UNCHANGED = "variant_unchanged"
BUDGET_MISSED = "budget_missed"
CONTENTION = "contention"
AUTOCORRELATED = "autocorrelated"
THROTTLED = "throttled"
PROBE = "probe"  # a probe that could not say what it was asked (power, memory sources)
NOTE = "note"  # an old plain-string flag of no known kind

# A precision this much slower than fp32 on the same device and backend is flagged: above the
# 2-8 % a median moves from process to process on a shared host (measured), so noise alone
# does not raise it.
SLOWER_RATIO = 1.10
# Other processes using more than this share of one core during the steady windows.
CONTENTION_CORES = 0.25
# Lag-1 autocorrelation of the steady samples above which they drift (a device heating up).
AUTOCORRELATION_LAG1 = 0.2
AUTOCORRELATION_MIN_SAMPLES = 20

_LEGACY_PREFIXES = (("EP fallback", EP_FALLBACK), ("throttled", THROTTLED), ("power", PROBE), ("memory", PROBE))


@dataclass(frozen=True)
class Flag:
    code: str
    message: str
    extra: Mapping[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {**self.extra, "code": self.code, "message": self.message}

    @property
    def label(self) -> str:
        """A few words for a table cell; the message says the rest."""
        x = self.extra
        if self.code == SLOWER_THAN_FP32 and "ratio" in x:
            return f"{x['ratio']:.2g}× slower than fp32"
        if self.code == EP_FALLBACK and x.get("used"):
            return f"EP fallback to {x['used']}"
        if self.code == VARIANT_UNCHANGED:
            return "quantizer changed nothing"
        if self.code == BUDGET_MISSED:
            return "budget missed"
        if self.code == CONTENTION and "cores" in x:
            return f"contention {x['cores']:.2f} cores"
        if self.code == AUTOCORRELATED and "lag1" in x:
            return f"drifting (lag-1 r {x['lag1']:.2f})"
        return self.message


def parse_flag(raw: Any) -> Flag:
    """One stored flag: an object, or a plain string from a store written before flags had codes."""
    if isinstance(raw, Mapping):
        extra = {k: v for k, v in raw.items() if k not in ("code", "message")}
        return Flag(str(raw.get("code") or NOTE), str(raw.get("message") or raw.get("code") or ""), extra)
    text = str(raw)
    for prefix, code in _LEGACY_PREFIXES:
        if text.startswith(prefix):
            return Flag(code, text)
    return Flag(NOTE, text)


def parse_flags(raw: Iterable[Any] | None) -> list[Flag]:
    return [parse_flag(r) for r in (raw or [])]


def flags_json(flags: Iterable[Flag]) -> list[dict[str, Any]]:
    return [f.to_json() for f in flags]


def labels(flags: Iterable[Flag]) -> str:
    return "; ".join(f.label for f in flags)


def codes(flags: Iterable[Flag]) -> str:
    return ",".join(f.code for f in flags)


# ---------------------------------------------------------------------------- decisions
def slower_than_fp32(metric: str, value: float | None, fp32_value: float | None, unit: str,
                     backend: str) -> Flag | None:
    """The cell's headline median against fp32's on the same device and backend."""
    if value is None or not fp32_value or fp32_value <= 0 or not np.isfinite(value):
        return None
    ratio = value / fp32_value
    if ratio < SLOWER_RATIO:
        return None
    return Flag(SLOWER_THAN_FP32,
                f"{ratio:.2f}× slower than fp32 on {backend}: {metric} median {value:.4g} {unit} vs {fp32_value:.4g} {unit}",
                {"ratio": round(ratio, 4), "metric": metric, "fp32": fp32_value, "value": value})


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


def lag1_autocorrelation(samples: Sequence[float] | np.ndarray) -> float | None:
    x = np.asarray(samples, dtype=float)
    if x.size < AUTOCORRELATION_MIN_SAMPLES:
        return None
    d = x - x.mean()
    denom = float(np.dot(d, d))
    return None if denom == 0 else float(np.dot(d[:-1], d[1:]) / denom)


def autocorrelated(metric: str, samples: Sequence[float] | np.ndarray) -> Flag | None:
    r = lag1_autocorrelation(samples)
    if r is None or r <= AUTOCORRELATION_LAG1:
        return None
    return Flag(AUTOCORRELATED,
                f"{metric}: steady samples drift (lag-1 autocorrelation {r:.2f} > {AUTOCORRELATION_LAG1:g}); "
                f"the device may be heating up or the load changed", {"lag1": round(r, 3), "metric": metric})
