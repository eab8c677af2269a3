"""Durations in the unit that fits the number: 14 µs, 9.78 ms, 2.31 s — never "9.78e-03 ms".

Formatting only (the stored unit stays what the runner measured in). A value in a time unit is
shown in µs below 1 ms, in s from 1000 ms on; anything else (tokens/s, MB) is left as it is.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable

from harness.analysis.run_table import SANE_CEILING as CEILING  # beyond it a value is absurd: shown missing

EXPONENT = {"s": 0, "ms": -3, "us": -6, "µs": -6, "ns": -9}  # 10**EXPONENT seconds per unit
TO_SECONDS = {u: 10.0 ** e for u, e in EXPONENT.items()}
STEPS = (("s", 1.0), ("ms", 1e-3), ("µs", 1e-6), ("ns", 1e-9))


def is_time(unit: str | None) -> bool:
    return (unit or "") in TO_SECONDS


def fitting_unit(seconds: float) -> tuple[str, float]:
    """(unit, seconds per unit) for a duration given in seconds: the largest unit it is ≥ 1 of."""
    if not math.isfinite(seconds) or seconds == 0:
        return "ms", 1e-3
    for name, scale in STEPS:
        if abs(seconds) >= scale:
            return name, scale
    return "ns", 1e-9


def common_unit(values: Iterable[float | None], unit: str | None) -> tuple[str | None, float]:
    """One unit for several values (a chart axis): the one that fits their median; the factor
    turns a value in ``unit`` into it. Not a time unit: (unit, 1.0)."""
    if not is_time(unit):
        return unit, 1.0
    vals = sorted(abs(float(v)) for v in values if v is not None and math.isfinite(float(v)) and v != 0)
    if not vals:
        return unit, 1.0
    name, _ = fitting_unit(vals[len(vals) // 2] * TO_SECONDS[str(unit)])
    return name, _factor(str(unit), name)


def _factor(unit: str, into: str) -> float:
    """Exact powers of ten: 1e-3 / 1e-6 would be 1000.0000000000001."""
    return 10.0 ** (EXPONENT[unit] - EXPONENT[into])


def decimals(v: float, significant: int = 3) -> int:
    return 0 if v == 0 else max(0, significant - 1 - math.floor(math.log10(abs(v))))


def duration(value: float | None, unit: str | None, *, significant: int = 3) -> str:
    """``value`` in ``unit`` as text in the unit that fits it: "14.2 µs", "9.78 ms", "2.31 s";
    values in other units keep theirs, with 3 significant digits."""
    if value is None or not math.isfinite(value) or abs(value) > CEILING:
        return "–"
    if not is_time(unit):
        return f"{value:.{decimals(value, significant)}f}" + (f" {unit}" if unit else "")
    name, _ = fitting_unit(value * TO_SECONDS[str(unit)])
    v = value * _factor(str(unit), name)
    return f"{v:.{decimals(v, significant)}f} {name}"


def interval(low: float | None, high: float | None, value: float, unit: str | None) -> str | None:
    """A CI in the unit ``value`` is shown in, with as many decimals: "[13.9, 14.5]"."""
    if low is None or high is None or not all(math.isfinite(v) and abs(v) <= CEILING for v in (low, high, value)):
        return None
    factor = 1.0
    if is_time(unit) and math.isfinite(value):
        factor = _factor(str(unit), fitting_unit(value * TO_SECONDS[str(unit)])[0])
    d = decimals(value * factor)
    return f"[{low * factor:.{d}f}, {high * factor:.{d}f}]"


def shown_in(unit: str | None) -> str:
    """The unit a column header or label names for values shown with ``quantity``: none for a
    duration (each value says its own), else the unit itself."""
    return "" if is_time(unit) else (unit or "")


def quantity(value: float | None, unit: str | None, fallback: Callable[[float | None], str]) -> str:
    """A duration in the unit that fits it; any other value as ``fallback`` writes it."""
    return duration(value, unit) if is_time(unit) and value is not None else fallback(value)
